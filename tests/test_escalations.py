"""Working-day SLAs and the reminder/escalation ladder, with frozen clocks.

Timeline (WITA, UTC+8: the staff member's seksi is in Makassar time): the plan is submitted on Tue 22 Dec 2026. Five working days skip
24 Dec (cuti bersama Natal), 25 Dec (Natal) and the weekend, so the assessor's deadline is
Thu 31 Dec. The reminder comes two working days before (Tue 29 Dec), level 1 after the deadline,
and level 2 five working days later: 1 Jan (Tahun Baru), the weekend and 5 Jan (Isra Mikraj)
are skipped, so after Mon 11 Jan.
"""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from tests import factories
from tests.conftest import drain
from workflow_app.clock import end_of_local_day
from workflow_app.extensions import db
from workflow_app.jobs.sweeps import escalation_sweep
from workflow_app.models import Appraisal, Notification
from workflow_app.services import appraisals, cycles
from workflow_app.services.access import Actor
from workflow_app.services.calendar import WorkCalendar


def wita(y, m, d, h=9, minute=0) -> datetime:
    """A WITA wall-clock time as naive UTC."""
    return datetime(y, m, d, h, minute) - timedelta(hours=8)


@pytest.fixture
def submitted(app, org):
    """The staff member's plan, submitted on Tue 22 Dec 2026 at 10:00 WIB."""
    with time_machine.travel(wita(2026, 12, 22, 10), tick=False):
        # The other plans are due long after this timeline, so only this one climbs the ladder.
        cycle = factories.cycle(org.dinas, today=date(2026, 12, 22), plan_due=date(2027, 3, 31))
        cycles.launch(cycle, wita(2026, 12, 22, 10))
        aid = db.session.scalar(select(Appraisal.id).where(Appraisal.employee_id == org.staff.id))
        staff = Actor.from_user(org.u_staff)
        appraisals.update_plan(staff, aid, factories.plan_body(1))
        appraisals.fire_event(staff, aid, "submit_plan", {"version": 2})
        db.session.commit()
        drain(emails=False)
    return aid


def kinds(user):
    return list(
        db.session.scalars(
            select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def sweep_at(moment: datetime) -> dict:
    with time_machine.travel(moment, tick=False):
        result = escalation_sweep(moment)
        drain(emails=False)
        return result


def test_calendar_skips_weekends_holidays_and_cuti_bersama():
    cal = WorkCalendar()
    assert not cal.is_working_day(date(2026, 12, 24))  # cuti bersama
    assert not cal.is_working_day(date(2026, 12, 25))  # Natal
    assert not cal.is_working_day(date(2026, 12, 26))  # Saturday
    assert cal.add_working_days(date(2026, 12, 22), 5) == date(2026, 12, 31)
    assert not cal.is_working_day(date(2027, 1, 5))  # Isra Mikraj
    assert cal.add_working_days(date(2026, 12, 31), 5) == date(2027, 1, 11)
    # A cycle may override the national calendar.
    custom = WorkCalendar(add=[date(2026, 12, 30)], remove=[date(2026, 12, 24)])
    assert custom.add_working_days(date(2026, 12, 22), 5) == date(2026, 12, 31)


def test_due_at_counts_working_days_in_the_unit_time_zone(app, org, submitted):
    a = db.session.get(Appraisal, submitted)
    assert a.due_at == end_of_local_day(date(2026, 12, 31), "WITA") == datetime(2026, 12, 31, 15, 59, 59)
    assert a.sla_working_days == 5


def test_reminder_then_level_1_then_level_2_each_once(app, org, submitted):
    kasi, kabid, hr, staff = org.u_kasi, org.u_kabid, org.u_hr, org.u_staff
    base = {u: kinds(u) for u in (kasi, kabid, hr)}

    def new(u):
        return kinds(u)[len(base[u]) :]

    assert sweep_at(wita(2026, 12, 28, 16)) == {"reminder": 0, "escalation_1": 0, "escalation_2": 0}
    assert sweep_at(wita(2026, 12, 29, 8)) == {"reminder": 1, "escalation_1": 0, "escalation_2": 0}
    assert new(kasi) == ["reminder"] and new(kabid) == []
    assert sweep_at(wita(2026, 12, 30, 8))["reminder"] == 0  # idempotent
    assert sweep_at(wita(2026, 12, 31, 23, 0))["escalation_1"] == 0  # due at the end of the day
    assert sweep_at(wita(2027, 1, 1, 0, 30))["escalation_1"] == 1
    assert new(kasi) == ["reminder", "escalation_1"] and new(kabid) == ["escalation_1"] and new(hr) == []
    assert sweep_at(wita(2027, 1, 11, 12))["escalation_2"] == 0  # five working days not yet over
    assert sweep_at(wita(2027, 1, 12, 0, 30))["escalation_2"] == 1
    assert new(hr) == ["escalation_2"]
    assert sweep_at(wita(2027, 1, 14, 9)) == {"reminder": 0, "escalation_1": 0, "escalation_2": 0}
    assert "escalation_2" not in kinds(staff)
    a = db.session.get(Appraisal, submitted)
    assert (a.escalation_level, a.version) == (2, 3)  # sweeps never bump the optimistic-lock version


def test_a_transition_resets_the_ladder(app, org, submitted):
    sweep_at(wita(2027, 1, 1, 0, 30))
    a = db.session.get(Appraisal, submitted)
    assert a.escalation_level == 1
    with time_machine.travel(wita(2027, 1, 4, 9), tick=False):
        appraisals.fire_event(Actor.from_user(org.u_kasi), a.id, "approve_plan", {"version": a.version})
        db.session.commit()
    a = db.session.get(Appraisal, submitted)
    assert (a.escalation_level, a.reminder_sent_at) == (0, None)


def test_leave_pauses_the_clock(api, org, submitted):
    # The assessor is on leave Mon 28 – Wed 30 Dec: three working days lost.
    with time_machine.travel(wita(2026, 12, 23, 9), tick=False):
        r = api.post(
            f"/api/v1/employees/{org.kasi.id}/leave",
            org.u_hr,
            json={"start_date": "2026-12-28", "end_date": "2026-12-30", "kind": "cuti_tahunan"},
        )
        assert r.status_code == 201, r.get_json()
        # The plan waiting on the assessor, and the assessor's own draft plan (due 31 Mar).
        assert r.get_json()["rescheduled"] == 2
    a = db.session.get(Appraisal, submitted)
    # After 31 Dec: 1 Jan, the weekend and 5 Jan are holidays; 4, 6 and 7 Jan make up the three.
    assert a.due_at == end_of_local_day(date(2027, 1, 7), "WITA")
    assert sweep_at(wita(2027, 1, 1, 0, 30))["escalation_1"] == 0
    assert sweep_at(wita(2027, 1, 8, 0, 30))["escalation_1"] == 1
    # Removing the leave restores the original deadline.
    leave_id = api.get(f"/api/v1/employees/{org.kasi.id}/leave", org.u_hr).get_json()[0]["id"]
    with time_machine.travel(wita(2027, 1, 8, 9), tick=False):
        api.tokens.clear()
        assert (
            api.call("DELETE", f"/api/v1/employees/{org.kasi.id}/leave/{leave_id}", org.u_hr).status_code
            == 204
        )
    assert db.session.get(Appraisal, submitted).due_at == end_of_local_day(date(2026, 12, 31), "WITA")


def test_leave_is_recorded_by_hr_only(api, org, submitted):
    body = {"start_date": "2026-12-28", "end_date": "2026-12-30"}
    with time_machine.travel(wita(2026, 12, 23, 9), tick=False):
        assert api.post(f"/api/v1/employees/{org.kasi.id}/leave", org.u_kasi, json=body).status_code == 403
        assert (
            api.post(f"/api/v1/employees/{org.kasi.id}/leave", org.u_outsider, json=body).status_code == 404
        )
        bad = {"start_date": "2026-12-30", "end_date": "2026-12-28"}
        assert api.post(f"/api/v1/employees/{org.kasi.id}/leave", org.u_hr, json=bad).status_code == 422


def test_each_unit_is_due_at_the_end_of_its_own_day(app, org):
    with time_machine.travel(wita(2026, 12, 22, 10), tick=False):
        cycle = factories.cycle(org.dinas, today=date(2026, 12, 22))
        cycles.launch(cycle, wita(2026, 12, 22, 10))
        due = {
            a.employee_id: a.due_at
            for a in db.session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id))
        }
        day = cycle.plan_due
        assert due[org.staff.id] == datetime(day.year, day.month, day.day, 15, 59, 59)  # WITA seksi
        assert due[org.kabid.id] == datetime(day.year, day.month, day.day, 16, 59, 59)  # WIB bidang


def test_sweep_reads_only_rows_near_a_step(app, org, submitted):
    """The pre-filter bounds follow working days, so a province's far-off deadlines are not read."""
    from workflow_app.jobs.sweeps import _prefilter_bounds

    remind_until, level2_until = _prefilter_bounds(wita(2026, 12, 22, 10))
    # Two working days after Tue 22 Dec skip 24–27 Dec: Mon 28 Dec, plus a day of slack.
    assert remind_until == end_of_local_day(date(2026, 12, 29), "WIB")
    # Five working days before 22 Dec: Tue 15 Dec, plus a day of slack.
    assert level2_until == end_of_local_day(date(2026, 12, 16), "WIB")


def _statements(fn):
    """(result, number of SQL statements ``fn`` sent)."""
    from sqlalchemy import event

    engine = db.engine
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return result, len(seen)


def _make_due(cycle_id: int, count: int, moment: datetime) -> list[int]:
    from sqlalchemy import update

    ids = db.session.scalars(
        select(Appraisal.id).where(Appraisal.cycle_id == cycle_id).order_by(Appraisal.id).limit(count)
    ).all()
    db.session.execute(
        update(Appraisal)
        .where(Appraisal.id.in_(ids))
        .values(due_at=moment - timedelta(hours=1), escalation_level=0, reminder_sent_at=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return list(ids)


def test_the_sweep_is_set_based_its_statements_do_not_grow_with_the_rows_due(app, org):
    """One due appraisal or all of them: the same statements (a locking read, the holders'
    leave, one UPDATE, one outbox INSERT, the commit), not a round of them per row."""
    moment = wita(2026, 12, 22, 10)
    with time_machine.travel(moment, tick=False):
        cycle = factories.cycle(org.dinas, today=date(2026, 12, 22), plan_due=date(2027, 3, 31))
        cycles.launch(cycle, moment)
        db.session.commit()
        total = db.session.scalar(select(func.count()).where(Appraisal.cycle_id == cycle.id))
        assert total >= 4
        _make_due(cycle.id, 1, moment)
        one, one_statements = _statements(lambda: escalation_sweep(moment))
        _make_due(cycle.id, total, moment)
        many, many_statements = _statements(lambda: escalation_sweep(moment))
    assert one["escalation_1"] == 1
    assert many["escalation_1"] == total
    assert many_statements == one_statements


def test_a_step_already_recorded_for_a_deadline_does_not_stop_the_others(app, org):
    """A dedupe key taken (say by a sweep racing this one) skips that message, not the page."""
    from workflow_app.models import OutboxMessage

    moment = wita(2026, 12, 22, 10)
    with time_machine.travel(moment, tick=False):
        cycle = factories.cycle(org.dinas, today=date(2026, 12, 22), plan_due=date(2027, 3, 31))
        cycles.launch(cycle, moment)
        db.session.commit()
        ids = _make_due(cycle.id, 3, moment)
        first = db.session.get(Appraisal, ids[0])
        key = f"escalation_1:{first.id}:{first.state}:{first.state_entered_at.isoformat()}:{first.due_at.isoformat()}"
        db.session.add(OutboxMessage(topic="appraisal.escalation_1", payload={}, dedupe_key=key))
        db.session.commit()
        escalation_sweep(moment)
        levels = db.session.scalars(select(Appraisal.escalation_level).where(Appraisal.id.in_(ids))).all()
        messages = db.session.scalar(
            select(func.count()).where(
                OutboxMessage.topic == "appraisal.escalation_1",
                OutboxMessage.payload["appraisal_id"].as_integer().in_(ids),
            )
        )
    assert levels == [1, 1, 1]
    assert messages == 2  # the two new ones; the first's key was already taken
