"""The hash-chained transition log and the outbox, written in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from sqlalchemy import select

from workflow_app.extensions import db
from workflow_app.models import OutboxMessage, TransitionLog

GENESIS = "0" * 64


def _json_default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical_payload(payload: dict) -> dict:
    """The payload as it will read back from the database (dates as ISO strings)."""
    return json.loads(json.dumps(payload, default=_json_default, sort_keys=True))


def row_hash(row: TransitionLog) -> str:
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
        "at": row.created_at.replace(microsecond=0).isoformat(),
        "prev": row.prev_hash,
    }
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def head(entity: str, entity_id: int) -> tuple[int, str]:
    """The last (seq, hash) of an entity's chain; call with the entity row locked."""
    # No autoflush: the caller flushes the whole step once, where a lost race becomes a 409.
    with db.session.no_autoflush:
        row = _head_query(entity, entity_id)
    return (row.seq, row.hash) if row else (0, GENESIS)


def _head_query(entity: str, entity_id: int):
    return db.session.execute(
        select(TransitionLog.seq, TransitionLog.hash)
        .where(TransitionLog.entity == entity, TransitionLog.entity_id == entity_id)
        .order_by(TransitionLog.seq.desc())
        .limit(1)
    ).first()


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
) -> TransitionLog:
    seq, prev = head(entity, entity_id)
    row = TransitionLog(
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
    )
    row.hash = row_hash(row)
    db.session.add(row)
    return row


def verify_chain(entity: str, entity_id: int) -> list[str]:
    """Problems found in an entity's chain; empty when it is intact."""
    rows = db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.entity == entity, TransitionLog.entity_id == entity_id)
        .order_by(TransitionLog.seq)
    ).all()
    problems = []
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            problems.append(f"seq {row.seq}: expected {expected_seq}")
        if row.prev_hash != prev:
            problems.append(f"seq {row.seq}: prev_hash does not match the previous row")
        if row_hash(row) != row.hash:
            problems.append(f"seq {row.seq}: hash does not match the row's content")
        prev = row.hash
    return problems


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
    return append(
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
