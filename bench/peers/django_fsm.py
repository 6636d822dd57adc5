"""The django-fsm-2 peer: the same happy path on Django's ORM, on its own PostgreSQL database.

Its database is the benchmark database's name with ``_django`` appended, created if missing and
rebuilt (tables dropped and created) by ``setup``. Each transition is what a Django view would
do: ``transaction.atomic()``, ``select_for_update()`` of the appraisal (with its cycle), a version
check, ``can_proceed`` (the conditions read the plan), the ``@transition`` method, ``save()``, a
log row HMAC-chained through the head kept on the row, and an outbox row.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import make_url

from bench import run as benchrun
from bench import transitions as bt

_configured = False


def configure(url: str) -> None:
    """Configure Django once per process for the peer database ``url``."""
    global _configured
    if _configured:
        return
    import django
    from django.conf import settings

    u = make_url(url)
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": u.database,
                "USER": u.username or "postgres",
                "PASSWORD": u.password or "",
                "HOST": u.host or "127.0.0.1",
                "PORT": str(u.port or 5432),
                "CONN_MAX_AGE": None,
            }
        },
        INSTALLED_APPS=["bench.peers.fsm_peer"],
        USE_TZ=False,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    _configured = True


def peer_url(url: str) -> str:
    u = make_url(url)
    return u.set(database=f"{u.database}_django").render_as_string(hide_password=False)


class Peer:
    def __init__(self, url: str, log: Callable[[str], None] = print):
        self.url = peer_url(url)
        self.log = log
        self.ids: list[int] = []

    def setup(self, appraisals: int) -> None:
        from django.db import connection, connections

        benchrun.ensure_pg_database(self.url)
        configure(self.url)
        from bench.peers.fsm_peer import models as m

        tables = (m.Outbox, m.TransitionLog, m.Behaviour, m.PlanItem, m.Appraisal, m.Cycle)
        with connection.cursor() as cur:
            for model in tables:
                cur.execute(f'DROP TABLE IF EXISTS "{model._meta.db_table}" CASCADE')
        with connection.schema_editor() as editor:
            for model in reversed(tables):
                editor.create_model(model)
        from workflow_app.clock import utcnow

        t = utcnow().date()
        cycle = m.Cycle.objects.create(
            name="Bench transitions",
            midyear_start=t - timedelta(days=60),
            scoring_start=t - timedelta(days=5),
            scoring_end=t + timedelta(days=30),
        )
        rows = m.Appraisal.objects.bulk_create(
            [m.Appraisal(cycle=cycle, employee_name=f"Pegawai Bench {i}") for i in range(appraisals)]
        )
        items, behaviours = [], []
        for a in rows:
            for kind in ("utama", "tambahan"):
                items.append(
                    m.PlanItem(
                        appraisal=a,
                        kind=kind,
                        rhk="Tersusunnya laporan layanan",
                        indicator="Jumlah laporan yang disusun tepat waktu",
                        target_value="12",
                        midyear_realisation="6 laporan",
                        final_realisation="12 laporan",
                    )
                )
            behaviours += [
                m.Behaviour(appraisal=a, value=f"v{k}", expectation="Ekspektasi") for k in range(7)
            ]
        m.PlanItem.objects.bulk_create(items)
        m.Behaviour.objects.bulk_create(behaviours)
        with connection.cursor() as cur:
            for model in tables:
                cur.execute(f'ANALYZE "{model._meta.db_table}"')
        self.ids = [a.id for a in rows]
        connections.close_all()
        self.log(f"  django-fsm-2 peer: {len(self.ids)} appraisals in {make_url(self.url).database}")

    def run(self, round_: int, count: int, processes: int, threads: int) -> dict:
        from django.db import connections

        connections.close_all()
        size = count + processes
        ids = self.ids[round_ * size : (round_ + 1) * size]
        work = [{"id": i, "employee": _Who(1000 + i, "employee"), "assessor": _Who(7, "assessor"),
                 "hr": _Who(1, "hr")} for i in ids]  # fmt: skip
        many, warm = work[:count], work[count:]
        chunks = [many[i :: processes * threads] for i in range(processes * threads)]
        return bt.run_workers(_peer_process, chunks, processes, threads, (self.url,), warm)


class _Who:
    def __init__(self, user_id: int, username: str):
        self.user_id, self.username = user_id, username


def peer_path(item: dict, latencies: list[float]) -> None:
    from django.db import transaction
    from django_fsm import can_proceed

    from bench.peers.fsm_peer import models as m
    from workflow_app.clock import utcnow

    key = bt.AUDIT_KEY.encode()
    key_id = hmac.new(key, b"kinerja-audit-key-id", hashlib.sha256).hexdigest()[:16]
    version = 1
    for name, role, fields in bt.HAPPY_PATH:
        started = time.perf_counter()
        actor = item[role]
        now = utcnow().replace(microsecond=0)
        with transaction.atomic():
            a = m.Appraisal.objects.select_related("cycle").select_for_update(of=("self",)).get(pk=item["id"])
            if a.version != version:
                raise RuntimeError(f"version conflict on {a.id}")
            a.now = now
            method = getattr(a, name)
            if not can_proceed(method):
                raise RuntimeError(f"{name} not allowed on {a.id} in {a.state}")
            source = a.state
            method(**fields)
            a.version += 1
            seq = a.log_seq + 1
            payload = {k: v for k, v in fields.items() if k != "comment"}
            comment = fields.get("comment") or fields.get("feedback")
            material = {
                "entity": "appraisal", "entity_id": a.id, "seq": seq, "event": name, "from": source,
                "to": a.state, "actor": actor.user_id, "role": role, "on_behalf_of": None, "comment": comment,
                "payload": payload, "machine_version": "2026.1", "at": now.isoformat(), "prev": a.log_hash,
                "key_id": key_id,
            }  # fmt: skip
            digest = bt._digest(key, material)
            prev = a.log_hash
            a.log_seq, a.log_hash = seq, digest
            a.save()
            m.TransitionLog.objects.create(
                entity_id=a.id, seq=seq, event=name, from_state=source, to_state=a.state,
                actor_user_id=actor.user_id, actor_role=role, comment=comment, payload=payload,
                created_at=now, prev_hash=prev, hash=digest,
            )  # fmt: skip
            m.Outbox.objects.create(
                topic="appraisal.transitioned",
                payload={
                    "appraisal_id": a.id, "event": name, "from": source, "to": a.state, "seq": seq,
                    "actor_user_id": actor.user_id,
                    "context": {
                        "appraisal_id": a.id, "cycle": a.cycle.name, "employee": a.employee_name,
                        "state": a.state, "due": a.due_at.date().isoformat() if a.due_at else None,
                        "predikat": a.predikat, "actor": actor.username, "holder": a.employee_name,
                        "comment": comment,
                    },
                },
                dedupe_key=f"peer:{a.id}:{seq}",
                available_at=now,
                created_at=now,
            )  # fmt: skip
            version = a.version
        latencies.append(time.perf_counter() - started)


class _ThreadConnection:
    """Closes the thread's Django connection when the thread is done."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        from django.db import connection

        connection.close()


def _peer_process(args, parts, warm, ready, go, results) -> None:
    (url,) = args
    try:
        configure(url)
        from django.db import connection

        if warm is not None:
            peer_path(warm, [])
        connection.close()
    except Exception:  # noqa: BLE001 - reported to the parent
        ready.put(traceback.format_exc())
        return
    ready.put("ready")
    go.wait()
    results.put(bt.thread_pool(peer_path, parts, wrap=_ThreadConnection))
