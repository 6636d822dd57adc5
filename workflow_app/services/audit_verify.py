"""Checking the audit log: chains, signed checkpoints of their heads, and a replay of appraisals.

``verify_all`` streams the whole log once, ordered by (entity, entity_id, seq), and reports per
chain:

* a row whose HMAC does not match its content (changed row, or a chain recomputed with plain
  SHA-256 or with a key that is not ours), and unkeyed legacy rows;
* a seq gap or a ``prev_hash`` that is not the previous row's hash (a row removed in the middle);
* a head below the newest checkpoint, a row at a checkpoint's seq with another hash, or an empty
  chain that has a checkpoint (rows removed at the end, a whole chain removed); checkpoints come
  from the ``audit_checkpoints`` table and from the mirror named by ``AUDIT_CHECKPOINT_FILE`` /
  ``AUDIT_CHECKPOINT_REDIS_KEY``; a checkpoint whose signature is wrong is reported itself;
* an appraisal whose state, ratings or predikat differ from a replay of its log.

``record_checkpoints`` (with ``mirror`` after the commit) is the sweep step: one signed checkpoint for every chain whose head moved
since its last checkpoint, found with one set-based query, then mirrored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import aliased

from state_machines import APPRAISAL
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import Appraisal, AuditCheckpoint, Cycle, TransitionLog
from workflow_app.redis_conn import get_redis
from workflow_app.services.audit import (
    GENESIS,
    LEGACY_KEY_ID,
    append_only_suspended,
    legacy_hash,
    row_hash,
    signing_key,
    sync_heads,
    verification_keys,
)

log = logging.getLogger(__name__)

RATING_FIELDS = ("rating_hasil_kerja", "rating_perilaku", "predikat")
STREAM_BATCH = 5000
_ROW_COLUMNS = (
    TransitionLog.entity,
    TransitionLog.entity_id,
    TransitionLog.seq,
    TransitionLog.event,
    TransitionLog.from_state,
    TransitionLog.to_state,
    TransitionLog.actor_user_id,
    TransitionLog.actor_role,
    TransitionLog.on_behalf_of_user_id,
    TransitionLog.comment,
    TransitionLog.payload,
    TransitionLog.machine_version,
    TransitionLog.created_at,
    TransitionLog.prev_hash,
    TransitionLog.hash,
    TransitionLog.key_id,
)


# --- one chain --------------------------------------------------------------------------------


def check_chain_rows(rows: Iterable, keys: dict[str, bytes]) -> list[str]:
    """Problems of one chain's rows, given in seq order; empty when intact and fully keyed."""
    problems: list[str] = []
    prev, expected, keyed_seen, legacy = GENESIS, 1, False, []
    for row in rows:
        if row.seq > expected:
            missing = f"{expected}" if row.seq == expected + 1 else f"{expected}-{row.seq - 1}"
            problems.append(f"seq {missing} missing: row removed from the middle of the chain")
        elif row.seq < expected:
            problems.append(f"seq {row.seq}: out of order (expected {expected})")
        if row.prev_hash != prev:
            problems.append(f"seq {row.seq}: prev_hash is not the previous row's hash (chain broken)")
        if row.key_id == LEGACY_KEY_ID:
            if keyed_seen:
                problems.append(
                    f"seq {row.seq}: unkeyed SHA-256 row after HMAC rows (chain recomputed without the key)"
                )
            elif legacy_hash(row) != row.hash:
                problems.append(f"seq {row.seq}: legacy SHA-256 hash does not match the row's content")
            else:
                legacy.append(row.seq)
        else:
            keyed_seen = True
            key = keys.get(row.key_id)
            if key is None:
                problems.append(
                    f"seq {row.seq}: signed with unknown key {row.key_id!r} "
                    "(neither AUDIT_KEY nor AUDIT_KEYS_PREVIOUS: chain recomputed with another key?)"
                )
            elif not hmac.compare_digest(row_hash(row, key), row.hash):
                problems.append(
                    f"seq {row.seq}: HMAC does not match the row's content "
                    "(row changed, or chain recomputed without the audit key)"
                )
        prev, expected = row.hash, row.seq + 1
    if legacy:
        problems.append(
            f"seq {legacy[0]}-{legacy[-1]}: {len(legacy)} unkeyed legacy SHA-256 row(s) from before "
            "migration 0004 (anyone could have recomputed them); check, then 'flask audit reseal-legacy'"
        )
    return problems


def replay(rows: Iterable) -> dict:
    """State and ratings of an appraisal as its log tells them (rows in seq order)."""

    result = {"state": APPRAISAL.initial, **dict.fromkeys(RATING_FIELDS)}
    for row in rows:
        if row.event not in APPRAISAL.transitions:
            continue  # delegate, reassign, plan_updated, …: the state is kept
        result["state"] = row.to_state
        payload = row.payload or {}
        if row.event == "score" or (
            row.event == "resolve_objection" and payload.get("decision") == "amended"
        ):
            for name in RATING_FIELDS:
                if name in payload:
                    result[name] = payload[name]
    return result


# --- checkpoints ------------------------------------------------------------------------------


def checkpoint_signature(key: bytes, entity: str, entity_id: int, seq: int, hash_: str, at: str) -> str:
    material = json.dumps(
        {"entity": entity, "entity_id": entity_id, "seq": seq, "hash": hash_, "at": at},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def _at(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Checkpoint:
    entity: str
    entity_id: int
    seq: int
    hash: str
    created_at: str
    key_id: str
    signature: str
    source: str

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in ("entity", "entity_id", "seq", "hash", "created_at")}
        data.update(key_id=self.key_id, signature=self.signature)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, source: str) -> Checkpoint:
        d = json.loads(text)
        return cls(
            str(d["entity"]),
            int(d["entity_id"]),
            int(d["seq"]),
            str(d["hash"]),
            str(d["created_at"]),
            str(d["key_id"]),
            str(d["signature"]),
            source,
        )

    def signature_ok(self, keys: dict[str, bytes]) -> bool | None:
        """True/False, or None when the key is unknown."""
        key = keys.get(self.key_id)
        if key is None:
            return None
        expected = checkpoint_signature(
            key, self.entity, self.entity_id, self.seq, self.hash, self.created_at
        )
        return hmac.compare_digest(expected, self.signature)


def record_checkpoints(now: datetime | None = None) -> tuple[dict, list]:
    """Sign the head of every chain that moved since its last checkpoint (flushed, not committed).

    Returns the counts and the new checkpoints, which the caller mirrors (``mirror``) once its
    unit of work has committed them.

    A chain whose row at its last checkpoint's seq no longer has that hash (or is gone) gets no
    new checkpoint: that would bless the tampering; 'audit verify' reports it.
    """
    now = (now or utcnow()).replace(microsecond=0)
    tl, head_row, at_cp = TransitionLog, aliased(TransitionLog), aliased(TransitionLog)
    cp = aliased(AuditCheckpoint)
    heads = (
        select(tl.entity, tl.entity_id, func.max(tl.seq).label("seq"))
        .group_by(tl.entity, tl.entity_id)
        .subquery()
    )
    last = (
        select(AuditCheckpoint.entity, AuditCheckpoint.entity_id, func.max(AuditCheckpoint.seq).label("seq"))
        .group_by(AuditCheckpoint.entity, AuditCheckpoint.entity_id)
        .subquery()
    )
    query = (
        select(heads.c.entity, heads.c.entity_id, heads.c.seq, head_row.hash, cp.hash, at_cp.hash)
        .join(
            head_row,
            and_(
                head_row.entity == heads.c.entity,
                head_row.entity_id == heads.c.entity_id,
                head_row.seq == heads.c.seq,
            ),
        )
        .outerjoin(last, and_(last.c.entity == heads.c.entity, last.c.entity_id == heads.c.entity_id))
        .outerjoin(
            cp, and_(cp.entity == last.c.entity, cp.entity_id == last.c.entity_id, cp.seq == last.c.seq)
        )
        .outerjoin(
            at_cp,
            and_(at_cp.entity == last.c.entity, at_cp.entity_id == last.c.entity_id, at_cp.seq == last.c.seq),
        )
        .where((last.c.seq.is_(None)) | (heads.c.seq > last.c.seq))
    )
    candidates: dict[tuple[str, int], dict] = {}
    matches: dict[tuple[str, int], bool] = {}
    for entity, entity_id, seq, head_hash, cp_hash, row_hash_at_cp in db.session.execute(query):
        chain = (entity, entity_id)
        candidates[chain] = {"seq": seq, "hash": head_hash}
        if cp_hash is not None:
            # Several checkpoints may share the last seq (re-signed legacy rows): one must match.
            matches[chain] = matches.get(chain, False) or cp_hash == row_hash_at_cp
    refused = {chain for chain, ok in matches.items() if not ok}
    for entity, entity_id in sorted(refused):
        log.warning("audit: %s %s no longer matches its last checkpoint; not checkpointed", entity, entity_id)
    heads_to_sign = {chain: c for chain, c in candidates.items() if chain not in refused}
    checkpoints = _record_checkpoints(heads_to_sign, now)
    return {"written": len(checkpoints), "refused": len(refused)}, checkpoints


def _record_checkpoints(heads: dict[tuple[str, int], dict], now: datetime) -> list[Checkpoint]:
    """Insert signed checkpoints of ``heads`` ({chain: {seq, hash}}); the caller commits."""
    key_id, key = signing_key()
    at = _at(now)
    checkpoints = [
        Checkpoint(
            entity,
            entity_id,
            c["seq"],
            c["hash"],
            at,
            key_id,
            checkpoint_signature(key, entity, entity_id, c["seq"], c["hash"], at),
            "",
        )
        for (entity, entity_id), c in sorted(heads.items())
    ]
    if checkpoints:
        db.session.execute(
            insert(AuditCheckpoint),
            [
                {
                    "entity": c.entity,
                    "entity_id": c.entity_id,
                    "seq": c.seq,
                    "hash": c.hash,
                    "created_at": now,
                    "key_id": c.key_id,
                    "signature": c.signature,
                }
                for c in checkpoints
            ],
        )
    db.session.flush()
    return checkpoints


def mirror(checkpoints: list[Checkpoint]) -> list[str]:
    """Copy new checkpoints to the configured file and/or Redis hash; failures are logged."""
    done: list[str] = []
    if not checkpoints:
        return done
    path = current_app.config.get("AUDIT_CHECKPOINT_FILE")
    if path:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.writelines(c.to_json() + "\n" for c in checkpoints)
                fh.flush()
            done.append("file")
        except OSError:
            log.exception("audit: could not append checkpoints to %s", path)
    redis_key = current_app.config.get("AUDIT_CHECKPOINT_REDIS_KEY")
    if redis_key:
        try:
            redis = get_redis()
            if redis is None:
                raise RuntimeError("REDIS_URL is not set")
            for start in range(0, len(checkpoints), 1000):
                chunk = checkpoints[start : start + 1000]
                redis.hset(redis_key, mapping={f"{c.entity}:{c.entity_id}": c.to_json() for c in chunk})
            done.append("redis")
        except Exception:  # noqa: BLE001 - the table copy is written; the mirror catches up next move
            log.exception("audit: could not mirror checkpoints to Redis key %s", redis_key)
    return done


def _newest_table_checkpoints() -> dict[tuple[str, int], list[Checkpoint]]:
    ac = AuditCheckpoint
    newest = (
        select(ac.entity, ac.entity_id, func.max(ac.seq).label("seq"))
        .group_by(ac.entity, ac.entity_id)
        .subquery()
    )
    rows = db.session.execute(
        select(ac.entity, ac.entity_id, ac.seq, ac.hash, ac.created_at, ac.key_id, ac.signature).join(
            newest,
            and_(newest.c.entity == ac.entity, newest.c.entity_id == ac.entity_id, newest.c.seq == ac.seq),
        )
    )
    found: dict[tuple[str, int], list[Checkpoint]] = {}
    for entity, entity_id, seq, hash_, at, key_id, signature in rows:
        found.setdefault((entity, entity_id), []).append(
            Checkpoint(entity, entity_id, seq, hash_, _at(at), key_id, signature, "table")
        )
    return found


def _mirror_checkpoints(notes: list[str], problems: dict) -> dict[tuple[str, int], list[Checkpoint]]:
    """Newest checkpoint per chain from the file and the Redis hash that are configured."""
    found: dict[tuple[str, int], list[Checkpoint]] = {}

    def keep(c: Checkpoint) -> None:
        """Keep, per chain and source, the checkpoints at the highest seq."""
        kept = found.setdefault((c.entity, c.entity_id), [])
        current = [x for x in kept if x.source == c.source]
        if current and current[0].seq > c.seq:
            return
        if current and current[0].seq < c.seq:
            kept[:] = [x for x in kept if x.source != c.source]
        kept.append(c)

    path = current_app.config.get("AUDIT_CHECKPOINT_FILE")
    redis_key = current_app.config.get("AUDIT_CHECKPOINT_REDIS_KEY")
    if not path and not redis_key:
        notes.append(
            "No AUDIT_CHECKPOINT_FILE or AUDIT_CHECKPOINT_REDIS_KEY configured: checkpoints were read "
            "from the audit_checkpoints table only, which a database administrator can delete."
        )
    if path:
        file = Path(path)
        if not file.exists():
            notes.append(f"Checkpoint file {path} does not exist yet (no sweep has written to it).")
        else:
            with file.open(encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        keep(Checkpoint.from_json(line, "file"))
                    except (ValueError, KeyError, TypeError):
                        problems.setdefault(("checkpoint-file", number), []).append(
                            f"{path} line {number} is not a checkpoint"
                        )
            notes.append(f"Checkpoints also read from the file {path}.")
    if redis_key:
        redis = get_redis()
        if redis is None:
            notes.append(f"AUDIT_CHECKPOINT_REDIS_KEY={redis_key} is set but REDIS_URL is not: skipped.")
        else:
            for name, value in redis.hgetall(redis_key).items():
                try:
                    keep(Checkpoint.from_json(value.decode(), "redis"))
                except (ValueError, KeyError, TypeError):
                    problems.setdefault(("checkpoint-redis", 0), []).append(
                        f"Redis {redis_key} field {name.decode(errors='replace')} is not a checkpoint"
                    )
            notes.append(f"Checkpoints also read from the Redis hash {redis_key}.")
    return found


def _check_against_checkpoints(
    checkpoints: list[Checkpoint], head_seq: int, hashes_at: dict[int, str], keys: dict[str, bytes]
) -> list[str]:
    """The chain's head against the newest validly signed checkpoint of each source."""
    problems = []
    for source in ("table", "file", "redis"):
        valid = []
        for c in (c for c in checkpoints if c.source == source):
            ok = c.signature_ok(keys)
            if ok is None:
                problems.append(
                    f"{source} checkpoint of {c.created_at} at seq {c.seq}: signed with unknown key {c.key_id!r}"
                )
            elif not ok:
                problems.append(
                    f"{source} checkpoint of {c.created_at} at seq {c.seq}: "
                    "signature does not match (checkpoint forged or altered)"
                )
            else:
                valid.append(c)
        if not valid:
            continue
        top = max(c.seq for c in valid)
        at_top = [c for c in valid if c.seq == top]
        newest = max(at_top, key=lambda c: c.created_at)
        label = f"{source} checkpoint of {newest.created_at} at seq {top}"
        if head_seq == 0:
            problems.append(f"chain is empty but the {label} saw it: whole chain removed")
        elif head_seq < top:
            problems.append(f"head is seq {head_seq} but the {label} saw more: newest row(s) removed")
        elif top in hashes_at and all(c.hash != hashes_at[top] for c in at_top):
            problems.append(f"seq {top}: hash differs from the {label} (row replaced)")
        elif top not in hashes_at:
            problems.append(f"seq {top}: row missing although the {label} saw it")
    return problems


# --- the whole log ----------------------------------------------------------------------------


@dataclass
class VerifyReport:
    chains: int = 0
    rows: int = 0
    appraisals: int = 0
    checkpoints: int = 0
    problems: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> Iterator[str]:
        for (entity, entity_id), problems in sorted(self.problems.items()):
            for problem in problems:
                yield f"{entity} {entity_id}: {problem}"


def _stream_chains() -> Iterator[tuple[tuple[str, int], list]]:
    rows = db.session.execute(
        select(*_ROW_COLUMNS)
        .order_by(TransitionLog.entity, TransitionLog.entity_id, TransitionLog.seq)
        .execution_options(yield_per=STREAM_BATCH)
    )
    for chain, group in groupby(rows, key=lambda r: (r.entity, r.entity_id)):
        yield chain, list(group)


def verify_all() -> VerifyReport:
    """Check every chain, checkpoint and appraisal; read-only."""
    report = VerifyReport()
    keys = verification_keys()
    appraisals = {
        row[0]: dict(zip(("state", *RATING_FIELDS), row[1:], strict=True))
        for row in db.session.execute(
            select(
                Appraisal.id,
                Appraisal.state,
                Appraisal.rating_hasil_kerja,
                Appraisal.rating_perilaku,
                Appraisal.predikat,
            )
        )
    }
    report.appraisals = len(appraisals)
    cycles = set(db.session.scalars(select(Cycle.id)))
    checkpoints = _newest_table_checkpoints()
    report.checkpoints = len(checkpoints)
    for chain, found in _mirror_checkpoints(report.notes, report.problems).items():
        checkpoints.setdefault(chain, []).extend(found)

    seen: set[tuple[str, int]] = set()
    for chain, rows in _stream_chains():
        seen.add(chain)
        report.rows += len(rows)
        problems = check_chain_rows(rows, keys)
        problems += _check_against_checkpoints(
            checkpoints.get(chain, []), rows[-1].seq, {r.seq: r.hash for r in rows}, keys
        )
        if chain[0] == "appraisal" and chain[1] in appraisals:
            problems += _replay_problems(appraisals[chain[1]], rows)
        if problems:
            report.problems[chain] = problems
    # Chains without a single row: a checkpoint or an appraisal that moved says rows were there.
    empty = set(checkpoints) | {("appraisal", i) for i in appraisals} | {("cycle", i) for i in cycles}
    for chain in sorted(empty - seen):
        problems = _check_against_checkpoints(checkpoints.get(chain, []), 0, {}, keys)
        if chain[0] == "appraisal" and chain[1] in appraisals:
            problems += _replay_problems(appraisals[chain[1]], [])
        if problems:
            report.problems[chain] = problems
    report.chains = len(seen | empty)
    return report


def _replay_problems(current: dict, rows: list) -> list[str]:
    replayed = replay(rows)
    return [
        f"{name} is {current[name]!r} but a replay of its {len(rows)} log row(s) gives {replayed[name]!r}"
        for name in ("state", *RATING_FIELDS)
        if current[name] != replayed[name]
    ]


# --- legacy rows ------------------------------------------------------------------------------


def reseal_legacy() -> dict:
    """Re-sign, in place, the chains that still hold unkeyed SHA-256 rows from before 0004.

    Only chains whose rows all verify (legacy SHA-256 prefix intact, keyed rows valid) are
    re-signed, each row with AUDIT_KEY and re-linked; the others are left for a person to look at.
    Goes through the explicit maintenance path around the append-only triggers.
    """

    keys = verification_keys()
    key_id, key = signing_key()
    legacy_chains = {
        (e, i)
        for e, i in db.session.execute(
            select(TransitionLog.entity, TransitionLog.entity_id)
            .where(TransitionLog.key_id == LEGACY_KEY_ID)
            .distinct()
        )
    }
    resealed, refused = [], []
    heads: dict[tuple[str, int], dict] = {}
    connection = db.session.connection()
    with append_only_suspended(connection):
        for chain in sorted(legacy_chains):
            rows = db.session.scalars(
                select(TransitionLog)
                .where(TransitionLog.entity == chain[0], TransitionLog.entity_id == chain[1])
                .order_by(TransitionLog.seq)
            ).all()
            problems = [p for p in check_chain_rows(rows, keys) if "unkeyed legacy" not in p]
            if problems:
                refused.append(chain)
                continue
            prev = GENESIS
            for row in rows:
                values = {"prev_hash": prev, "key_id": key_id}
                probe = _Probe(row, values)
                values["hash"] = row_hash(probe, key)
                db.session.execute(update(TransitionLog).where(TransitionLog.id == row.id).values(**values))
                prev = values["hash"]
            resealed.append(chain)
            heads[chain] = {"seq": rows[-1].seq, "hash": prev}
        sync_heads(heads)  # appraisals and cycles keep their chain's head on their row
    # Fresh checkpoints of the re-signed heads (older ones at the same seq keep the legacy hash).
    checkpoints = _record_checkpoints(heads, utcnow().replace(microsecond=0))
    return {"resealed": resealed, "refused": refused, "checkpoints": checkpoints}


class _Probe:
    """A row with some attributes replaced (to hash a row before updating it)."""

    def __init__(self, row, overrides: dict):
        self._row, self._overrides = row, overrides

    def __getattr__(self, name):
        if name in self._overrides:
            return self._overrides[name]
        return getattr(self._row, name)


def verify_chain(entity: str, entity_id: int) -> list[str]:
    """Problems found in one entity's chain (rows only; no checkpoints, no replay)."""
    rows = db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.entity == entity, TransitionLog.entity_id == entity_id)
        .order_by(TransitionLog.seq)
    ).all()
    return check_chain_rows(rows, verification_keys())
