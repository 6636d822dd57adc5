"""The HMAC-chained transition log and the outbox, written in the caller's transaction.

Each log row's ``hash`` is HMAC-SHA-256, under ``AUDIT_KEY`` (never stored in the database),
of the row's content and the previous row's hash; ``key_id`` names the key by fingerprint so
that rows signed before a rotation verify with ``AUDIT_KEYS_PREVIOUS``. Rows written before
migration 0004 carry ``key_id = "sha256-legacy"`` and a plain SHA-256 hash. The database refuses
UPDATE and DELETE on the log (triggers); ``append_only_suspended`` is the one explicit way
around them, for wiping a demo or test database and re-signing legacy rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from contextlib import contextmanager
from datetime import date, datetime

from flask import current_app
from sqlalchemy import inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value

from workflow_app.extensions import db
from workflow_app.models import LOG_GENESIS, Appraisal, Cycle, OutboxMessage, TransitionLog

GENESIS = LOG_GENESIS
LEGACY_KEY_ID = "sha256-legacy"
APPEND_ONLY_TABLES = ("transition_log", "audit_checkpoints")


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical_payload(payload: dict) -> dict:
    """The payload as it will read back from the database (dates as ISO strings)."""
    return json.loads(json.dumps(payload, default=_json_default, sort_keys=True))


def key_id_for(key: str) -> str:
    """The public fingerprint of an audit key: first 16 hex of HMAC(key, "kinerja-audit-key-id")."""
    return hmac.new(key.encode(), b"kinerja-audit-key-id", hashlib.sha256).hexdigest()[:16]


def signing_key() -> tuple[str, bytes]:
    """(key_id, key) that signs every new row and checkpoint: AUDIT_KEY."""
    key = current_app.config.get("AUDIT_KEY") or ""
    if not key:
        raise RuntimeError("AUDIT_KEY is not configured")
    return key_id_for(key), key.encode()


def verification_keys() -> dict[str, bytes]:
    """key_id -> key for AUDIT_KEY and every key of AUDIT_KEYS_PREVIOUS."""
    previous = current_app.config.get("AUDIT_KEYS_PREVIOUS") or []
    if isinstance(previous, str):
        previous = previous.split(",")
    keys = {key_id_for(k.strip()): k.strip().encode() for k in previous if k.strip()}
    key_id, key = signing_key()
    keys[key_id] = key
    return keys


def _material(row) -> bytes:
    """The canonical bytes a log row's hash covers (works for ORM rows and result rows)."""
    created_at = row.created_at
    material = {
        "entity": row.entity,
        "entity_id": row.entity_id,
        "seq": row.seq,
        "event": row.event,
        "from": row.from_state,
        "to": row.to_state,
        "actor": row.actor_user_id,
        "role": row.actor_role,
        "on_behalf_of": row.on_behalf_of_user_id,
        "comment": row.comment,
        "payload": row.payload,
        "machine_version": row.machine_version,
        "at": created_at.replace(microsecond=0).isoformat(),
        "prev": row.prev_hash,
    }
    if row.key_id != LEGACY_KEY_ID:
        material["key_id"] = row.key_id
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def legacy_hash(row) -> str:
    """The plain SHA-256 of rows written before migration 0004 (no key: anyone can recompute it)."""
    return hashlib.sha256(_material(row)).hexdigest()


def row_hash(row, key: bytes) -> str:
    """HMAC-SHA-256 of the row's content and its predecessor's hash under ``key``."""
    return hmac.new(key, _material(row), hashlib.sha256).hexdigest()


# Chains whose head (seq, hash) lives on the entity's own row (``log_seq``, ``log_hash``,
# migration 0008): an append reads it from the locked row and writes it back with the row.
HEAD_ON_ROW = {"appraisal": Appraisal, "cycle": Cycle}


class HeadNotOnRow(RuntimeError):
    """An append to an appraisal's or a cycle's chain that did not go through its row."""


def head(entity: str, entity_id: int, row=None) -> tuple[int, str]:
    """The last (seq, hash) of an entity's chain; call with the entity row locked.

    Appraisals and cycles keep it on their row (pass ``row``); other chains are queried.
    """
    if entity in HEAD_ON_ROW:
        if row is None or not isinstance(row, HEAD_ON_ROW[entity]) or row.id != entity_id:
            raise HeadNotOnRow(f"an append to the {entity} chain must pass its locked row (row=)")
        return row.log_seq, row.log_hash
    # No autoflush: the caller flushes the whole step once, where a lost race becomes a 409.
    with db.session.no_autoflush:
        found = _head_query(entity, entity_id)
    return (found.seq, found.hash) if found else (0, GENESIS)


def _head_query(entity: str, entity_id: int):
    return db.session.execute(
        select(TransitionLog.seq, TransitionLog.hash)
        .where(TransitionLog.entity == entity, TransitionLog.entity_id == entity_id)
        .order_by(TransitionLog.seq.desc())
        .limit(1)
    ).first()


def advance_head(row, seq: int, digest: str) -> None:
    """Move the head kept on ``row`` to (seq, digest).

    A row with pending changes carries the head in its own UPDATE (one statement, its version
    bumped as for any change). An unchanged row (a nudge, say) gets a Core UPDATE of the two
    columns only: recording something about an appraisal is not an edit its holder must reload
    for, so its version stays. Either way the log's unique (entity, entity_id, seq) still turns a
    concurrent second writer into a conflict.
    """
    if inspect(row).modified:
        row.log_seq, row.log_hash = seq, digest
        return
    table = type(row).__table__
    db.session.execute(update(table).where(table.c.id == row.id).values(log_seq=seq, log_hash=digest))
    set_committed_value(row, "log_seq", seq)
    set_committed_value(row, "log_hash", digest)


def sync_heads(heads: dict[tuple[str, int], dict]) -> None:
    """After chains were re-signed in place (``reseal-legacy``): copy their new heads to the rows."""
    for (entity, entity_id), h in heads.items():
        model = HEAD_ON_ROW.get(entity)
        if model is not None:
            db.session.execute(
                update(model.__table__)
                .where(model.__table__.c.id == entity_id)
                .values(log_seq=h["seq"], log_hash=h["hash"])
            )


def append(
    *,
    entity: str,
    entity_id: int,
    event: str,
    from_state: str | None,
    to_state: str,
    actor_user_id: int | None,
    actor_role: str,
    machine_version: str,
    at: datetime,
    comment: str | None = None,
    payload: dict | None = None,
    on_behalf_of_user_id: int | None = None,
    row=None,
) -> TransitionLog:
    """Append one HMAC-chained row to ``entity``'s chain (``row``: the locked appraisal or cycle)."""
    seq, prev = head(entity, entity_id, row)
    key_id, key = signing_key()
    log = TransitionLog(
        entity=entity,
        entity_id=entity_id,
        seq=seq + 1,
        event=event,
        from_state=from_state,
        to_state=to_state,
        actor_user_id=actor_user_id,
        actor_role=actor_role,
        on_behalf_of_user_id=on_behalf_of_user_id,
        comment=comment,
        payload=canonical_payload(payload or {}),
        machine_version=machine_version,
        created_at=at.replace(microsecond=0),
        prev_hash=prev,
        key_id=key_id,
    )
    log.hash = row_hash(log, key)
    db.session.add(log)
    if entity in HEAD_ON_ROW:
        advance_head(row, log.seq, log.hash)
    return log


@contextmanager
def append_only_suspended(connection):
    """The explicit maintenance path around the append-only triggers, inside one transaction.

    PostgreSQL: ``ALTER TABLE … DISABLE TRIGGER`` (needs the table owner), re-enabled before the
    block ends; SQLite: the triggers are dropped and re-created from their stored definition.
    Both are transactional: if the caller rolls back, the triggers are back as they were.
    """
    if connection.dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        yield
        for table in APPEND_ONLY_TABLES:
            connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
        return
    names = ", ".join(f"'{t}'" for t in APPEND_ONLY_TABLES)
    triggers = connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({names})"
    ).all()
    for name, _ in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _, sql in triggers:
        connection.exec_driver_sql(sql)


def outbox(topic: str, payload: dict, dedupe_key: str, at: datetime) -> OutboxMessage:
    msg = OutboxMessage(
        topic=topic,
        payload=canonical_payload(payload),
        dedupe_key=dedupe_key,
        available_at=at,
        created_at=at,
    )
    db.session.add(msg)
    return msg


# Audited changes that are not transitions: the state columns name the entity's status, the
# machine version names this record format.
RECORD_VERSION = "record-1"


def record(
    entity: str,
    entity_id: int,
    event: str,
    actor,
    at: datetime,
    payload: dict | None = None,
    *,
    status: str = "active",
    comment: str | None = None,
    role: str | None = None,
) -> TransitionLog:
    """Append an audited change of a user, employee, delegation or plan to its entity's chain."""
    if role is None:
        role = "system" if actor.is_system else ("admin" if entity == "user" else "hr")
    row = append(
        entity=entity,
        entity_id=entity_id,
        event=event,
        from_state=status,
        to_state=status,
        actor_user_id=actor.user_id,
        actor_role=role,
        machine_version=RECORD_VERSION,
        at=at,
        comment=comment,
        payload=payload,
    )
    # Flushed at once: the next record of the same chain in this request sees this row's seq.
    db.session.flush()
    return row


def move(
    appraisal,
    event: str,
    actor,
    at: datetime,
    payload: dict,
    comment: str | None = None,
    role: str | None = None,
) -> TransitionLog:
    """An audited change of an appraisal that is not a transition (who holds it, its plan,
    progress or trainings): the state stays. ``role`` defaults to HR's (the system's for jobs)."""
    return append(
        entity="appraisal",
        entity_id=appraisal.id,
        event=event,
        from_state=appraisal.state,
        to_state=appraisal.state,
        actor_user_id=actor.user_id,
        actor_role=role or ("system" if actor.is_system else "hr"),
        machine_version=appraisal.machine_version,
        at=at,
        comment=comment,
        payload=payload,
        row=appraisal,
    )
