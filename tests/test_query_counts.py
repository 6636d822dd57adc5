"""No N+1: every list and page issues as many SQL statements for 20 rows as for 1.

Each case requests the same page twice in the same database — once where it shows 1 row, once
where it shows 20 — and counts the statements the request sends (a ``before_cursor_execute``
listener on the engine). A page that loads something per row sends more the second time.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from tests import factories
from tests.test_api_misc import appraisal_of, launch
from tests.web.conftest import Web, fresh_g_per_request  # noqa: F401 - the web tests' fresh g, autouse
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, Notification, PlanItem

MANY = 20


@contextmanager
def statements():
    """Count the statements sent inside the block: ``with statements() as n: …; n[0]``."""
    seen = [0]

    def count(*_args):
        seen[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def sent(fn) -> int:
    fn()  # warm: a first request may fill per-process caches (tokens, templates)
    with statements() as n:
        response = fn()
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return n[0]


@pytest.fixture
def world(api, org):
    """The org with MANY more staff under the kasi; a cycle over the dinas, one over Dishub."""
    extra = [factories.employee(f"Staf Tambahan {i}", org.seksi, org.kasi) for i in range(MANY)]
    # Dishub's few appraisals have an assessor and a superior too (a query loads each, once)
    kadishub = factories.employee("Kepala Dishub", org.other, org.kadis)
    org.outsider.superior_id = kadishub.id
    db.session.flush()
    org.u_hr_other.employee_id = kadishub.id  # the page names the signed-in person, as for org.u_hr
    db.session.commit()
    dinas = launch(api, org)
    dishub = launch(api, org, scope=org.other)
    now = utcnow()
    # the kasi holds MANY plans to approve, the kabid one (the kasi's own)
    ids = [appraisal_of(dinas, e).id for e in [*extra, org.kasi]]
    db.session.execute(update(Appraisal).where(Appraisal.id.in_(ids)).values(state="plan_submitted"))
    # everything is past due: Dishub's HR has 1 stuck appraisal, the dinas' HR more than MANY
    db.session.execute(update(Appraisal).values(due_at=now - timedelta(days=2)))
    for e in (org.staff, org.outsider):  # first in the stuck lists: they have every relation
        db.session.execute(
            update(Appraisal).where(Appraisal.employee_id == e.id).values(due_at=now - timedelta(days=3))
        )
    one = appraisal_of(dinas, org.staff)
    many = appraisal_of(dinas, org.peer)
    for a, k in ((one, 1), (many, MANY)):
        for i in range(k):
            db.session.add(PlanItem(appraisal_id=a.id, position=i, rhk=f"RHK {i}", indicator="Indikator"))
    for user, k in ((org.u_staff, 1), (org.u_peer, MANY)):
        for i in range(k):
            db.session.add(
                Notification(
                    user_id=user.id,
                    kind="plan_submitted",
                    appraisal_id=one.id,
                    context={},
                    dedupe_key=f"qc:{user.id}:{i}",
                )
            )
    db.session.commit()
    return {"dinas": dinas, "dishub": dishub, "one": one, "many": many}


@pytest.mark.parametrize(
    "path, few, more",
    [
        ("/api/v1/appraisals?per_page=1", "admin", None),
        ("/api/v1/tasks", "kabid", "kasi"),
        ("/api/v1/monitoring/summary", "hr_dishub", "hr"),
        ("/api/v1/monitoring/stuck?per_page=50", "hr_dishub", "hr"),
        ("/api/v1/notifications", "staf", "rekan"),
    ],
)
def test_api_lists(api, world, path, few, more):
    if more is None:  # the same caller, one row per page against MANY
        counts = [
            sent(lambda: api.get(path, few)),
            sent(lambda: api.get(path.replace("=1", f"={MANY}"), few)),
        ]
        body = api.get(path.replace("=1", f"={MANY}"), few).get_json()
        assert len(body["items"]) == MANY
    else:
        counts = [sent(lambda: api.get(path, few)), sent(lambda: api.get(path, more))]
        rows = []
        for who in (few, more):
            body = api.get(path, who).get_json()
            rows.append(
                len(body) if isinstance(body, list) else len(body.get("items", body.get("by_unit", [])))
            )
        assert rows[0] < rows[1], rows
    assert counts[0] == counts[1], f"{path}: {counts[0]} statements for the few, {counts[1]} for the many"


def web_as(app, user) -> Web:
    web = Web(app.test_client())
    assert web.login(user).status_code in (302, 303)
    return web


def test_web_pages(app, org, world):
    def pair(path_few, user_few, path_more, user_more) -> list[int]:
        few, more = web_as(app, user_few), web_as(app, user_more)
        return [sent(lambda: few.get(path_few)), sent(lambda: more.get(path_more))]

    checks = {
        "/ (inbox)": pair("/", org.u_kabid, "/", org.u_kasi),
        "/monitoring": pair("/monitoring", org.u_hr_other, "/monitoring", org.u_hr),
        "/appraisals/{id}": pair(
            f"/appraisals/{world['one'].id}", org.u_admin, f"/appraisals/{world['many'].id}", org.u_admin
        ),
        "/cycles/{id}": pair(
            f"/cycles/{world['dishub'].id}", org.u_admin, f"/cycles/{world['dinas'].id}", org.u_admin
        ),
    }
    assert all(a == b for a, b in checks.values()), checks
