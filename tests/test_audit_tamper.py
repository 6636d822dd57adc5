"""Tampering with the audit log is refused by the database, or found by 'flask audit verify'.

Each attack goes around the append-only triggers the way the table's owner could (ALTER TABLE …
DISABLE TRIGGER on PostgreSQL, DROP TRIGGER on SQLite, inside the test's transaction), then
changes rows with plain SQL. Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.test_lifecycle import drive_to_final_review, launch, staff_appraisal
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.jobs.sweeps import checkpoint_sweep as write_checkpoints
from workflow_app.models import Appraisal, AuditCheckpoint, Cycle, TransitionLog
from workflow_app.services import audit
from workflow_app.services.audit_verify import verify_all

WRONG_KEY = "an-attackers-own-key-of-thirty-two-chars!"


@pytest.fixture
def ledger(app, api, org, tmp_path, monkeypatch):
    """A scored appraisal (and the cycle's chain), checkpointed to the table and a file."""
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_REDIS_KEY", "")
    cycle, _ = launch(api, org)
    aid = staff_appraisal(org, cycle)
    drive_to_final_review(api, org, aid)
    r = api.fire(
        aid,
        "score",
        org.u_kasi,
        rating_hasil_kerja="di_bawah",
        rating_perilaku="sesuai",
        justification="Target tidak tercapai",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["predikat"] == "butuh_perbaikan"
    assert api.fire(aid, "give_feedback", org.u_kasi, feedback="Perlu pendampingan").status_code == 200
    result = write_checkpoints()
    assert result["written"] == 2 and result["mirrored"] == ["file"]
    n = len(rows_of("appraisal", aid))  # transitions and audited edits (plan, progress)
    return {"aid": aid, "cycle_id": cycle.id, "file": tmp_path / "checkpoints.jsonl", "n": n}


def rows_of(entity: str, entity_id: int) -> list[TransitionLog]:
    db.session.expire_all()
    return db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.entity == entity, TransitionLog.entity_id == entity_id)
        .order_by(TransitionLog.seq)
    ).all()


def as_owner(statement) -> None:
    """Run a statement with the append-only triggers lifted, as a table owner could."""
    with audit.append_only_suspended(db.session.connection()):
        db.session.execute(statement)


def problems_of(entity: str, entity_id: int) -> list[str]:
    report = verify_all()
    return report.problems.get((entity, entity_id), [])


def recompute_chain(entity: str, entity_id: int, sign) -> None:
    """Re-link and re-hash a whole chain with ``sign(row) -> (key_id, hash)``, as an attacker would."""
    prev = audit.GENESIS
    with audit.append_only_suspended(db.session.connection()):
        for row in rows_of(entity, entity_id):
            row.prev_hash = prev
            row.key_id, row.hash = sign(row)
            db.session.flush()
            prev = row.hash


def sha256_signer(row):
    row.key_id = audit.LEGACY_KEY_ID
    return audit.LEGACY_KEY_ID, audit.legacy_hash(row)


def key_signer(key: str, claimed_key_id: str | None = None):
    def sign(row):
        row.key_id = claimed_key_id or audit.key_id_for(key)
        return row.key_id, audit.row_hash(row, key.encode())

    return sign


# --- the database refuses -----------------------------------------------------------------------


@pytest.mark.parametrize("table", ["transition_log", "audit_checkpoints"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET hash = hash", "DELETE FROM {t}"])
def test_the_database_refuses_update_and_delete(ledger, table, statement):
    savepoint = db.session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement.format(t=table)))
    savepoint.rollback()
    assert len(rows_of("appraisal", ledger["aid"])) == ledger["n"]


# --- nothing touched ----------------------------------------------------------------------------


def test_an_untouched_database_verifies_clean(ledger, app):
    report = verify_all()
    assert report.ok, list(report.lines())
    assert report.rows == ledger["n"] + 1 and report.checkpoints == 2  # and the cycle's launch
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "0 with problems" in result.output
    assert "Checkpoints also read from the file" in result.output


def test_without_a_mirror_verify_says_the_table_is_the_only_copy(ledger, app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", "")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "from the audit_checkpoints table only" in result.output


def test_other_entities_and_non_transition_events_verify(ledger):
    a = db.session.get(Appraisal, ledger["aid"])
    now = utcnow()
    common = {"actor_user_id": None, "actor_role": "hr", "machine_version": "1", "at": now}
    audit.append(
        entity="appraisal",
        entity_id=a.id,
        event="plan_updated",
        from_state=a.state,
        to_state=a.state,
        row=a,
        **common,
    )
    audit.append(entity="employee", entity_id=7, event="leave_added", from_state=None, to_state="-", **common)
    audit.append(
        entity="user",
        entity_id=3,
        event="roles_changed",
        from_state=None,
        to_state="-",
        payload={"roles": ["hr"]},
        **common,
    )  # noqa: E501
    audit.append(
        entity="delegation", entity_id=1, event="delegate", from_state="active", to_state="active", **common
    )
    db.session.flush()
    report = verify_all()
    assert report.ok, list(report.lines())
    assert write_checkpoints()["written"] == 4  # only the chains whose head moved
    assert write_checkpoints()["written"] == 0


def test_the_sweep_writes_checkpoints(ledger):
    from workflow_app.jobs.sweeps import checkpoint_sweep

    assert checkpoint_sweep()["written"] == 0
    lines = ledger["file"].read_text().splitlines()
    assert {json.loads(line)["entity"] for line in lines} == {"appraisal", "cycle"}


# --- changed rows -------------------------------------------------------------------------------


def test_an_edited_comment_is_found(ledger, app):
    row = rows_of("appraisal", ledger["aid"])[2]
    as_owner(update(TransitionLog).where(TransitionLog.id == row.id).values(comment="Sudah sesuai"))
    problems = problems_of("appraisal", ledger["aid"])
    assert problems == [
        "seq 3: HMAC does not match the row's content (row changed, or chain recomputed without the audit key)"
    ]

    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"appraisal {ledger['aid']}: seq 3: HMAC does not match" in result.output
    assert "1 with problems" in result.output


def test_an_edited_payload_is_found(ledger):
    row = rows_of("appraisal", ledger["aid"])[-2]
    assert row.event == "score"
    payload = {**row.payload, "rating_hasil_kerja": "di_atas", "predikat": "sangat_baik"}
    as_owner(update(TransitionLog).where(TransitionLog.id == row.id).values(payload=payload))
    problems = problems_of("appraisal", ledger["aid"])
    assert any(p.startswith(f"seq {row.seq}: HMAC does not match") for p in problems), problems
    # The appraisal row still says butuh_perbaikan: the replay of the edited log disagrees too.
    assert any(p.startswith("predikat is 'butuh_perbaikan' but a replay") for p in problems), problems


def test_an_edit_with_the_chain_recomputed_in_plain_sha256_is_found(ledger):
    aid = ledger["aid"]
    as_owner(
        update(TransitionLog)
        .where(TransitionLog.entity_id == aid, TransitionLog.seq == 3)
        .values(comment="x")
    )

    def sha_keeping_our_key_id(row):
        return row.key_id, audit.legacy_hash(row)

    recompute_chain("appraisal", aid, sha_keeping_our_key_id)
    problems = problems_of("appraisal", aid)
    assert sum("HMAC does not match" in p for p in problems) == ledger["n"], problems


def test_a_chain_recomputed_as_legacy_sha256_is_not_passed(ledger):
    aid = ledger["aid"]
    as_owner(
        update(TransitionLog)
        .where(TransitionLog.entity_id == aid, TransitionLog.seq == 3)
        .values(comment="x")
    )
    recompute_chain("appraisal", aid, sha256_signer)
    problems = problems_of("appraisal", aid)
    assert any("unkeyed legacy SHA-256 row(s)" in p for p in problems), problems
    # The checkpoint holds the real head's HMAC: the recomputed head differs.
    assert any("hash differs from the table checkpoint" in p for p in problems), problems


def test_an_edit_with_the_chain_recomputed_under_another_key_is_found(ledger):
    aid = ledger["aid"]
    recompute_chain("appraisal", aid, key_signer(WRONG_KEY))
    problems = problems_of("appraisal", aid)
    assert sum("signed with unknown key" in p for p in problems) == ledger["n"], problems

    ours = audit.key_id_for(audit.signing_key()[1].decode())
    recompute_chain("appraisal", aid, key_signer(WRONG_KEY, claimed_key_id=ours))
    problems = problems_of("appraisal", aid)
    assert sum("HMAC does not match" in p for p in problems) == ledger["n"], problems


# --- removed rows -------------------------------------------------------------------------------


def test_a_row_removed_from_the_middle_is_found(ledger):
    aid = ledger["aid"]
    as_owner(delete(TransitionLog).where(TransitionLog.entity_id == aid, TransitionLog.seq == 4))
    problems = problems_of("appraisal", aid)
    assert "seq 4 missing: row removed from the middle of the chain" in problems
    assert "seq 5: prev_hash is not the previous row's hash (chain broken)" in problems


def test_the_newest_row_removed_is_found_by_the_checkpoint(ledger):
    aid = ledger["aid"]
    as_owner(delete(TransitionLog).where(TransitionLog.entity_id == aid, TransitionLog.seq == ledger["n"]))
    problems = problems_of("appraisal", aid)
    assert any(
        p.startswith(f"head is seq {ledger['n'] - 1} but the table checkpoint of")
        and p.endswith("newest row(s) removed")
        for p in problems
    ), problems
    # …and the sweep does not bless the shorter chain with a new checkpoint.
    assert write_checkpoints()["written"] == 0


def test_a_whole_chain_removed_is_found_by_the_checkpoint(ledger):
    as_owner(delete(TransitionLog).where(TransitionLog.entity == "cycle"))
    problems = problems_of("cycle", ledger["cycle_id"])
    assert any(
        "chain is empty but the table checkpoint" in p and "whole chain removed" in p for p in problems
    )
    assert any("chain is empty but the file checkpoint" in p for p in problems), problems

    as_owner(
        delete(TransitionLog).where(
            TransitionLog.entity == "appraisal", TransitionLog.entity_id == ledger["aid"]
        )
    )
    problems = problems_of("appraisal", ledger["aid"])
    assert any("whole chain removed" in p for p in problems), problems
    assert "state is 'feedback_given' but a replay of its 0 log row(s) gives 'plan_drafted'" in problems


# --- checkpoints --------------------------------------------------------------------------------


def test_a_checkpoint_with_a_wrong_signature_is_found(ledger):
    aid = ledger["aid"]
    # Hide a removed newest row by moving the checkpoint back one step, without the key.
    as_owner(delete(TransitionLog).where(TransitionLog.entity_id == aid, TransitionLog.seq == ledger["n"]))
    head = rows_of("appraisal", aid)[-1]
    as_owner(
        update(AuditCheckpoint)
        .where(AuditCheckpoint.entity == "appraisal", AuditCheckpoint.entity_id == aid)
        .values(seq=ledger["n"] - 1, hash=head.hash)
    )
    problems = problems_of("appraisal", aid)
    assert any(
        p.startswith("table checkpoint of")
        and p.endswith("signature does not match (checkpoint forged or altered)")
        for p in problems
    ), problems
    assert any(p.startswith(f"head is seq {ledger['n'] - 1} but the file checkpoint") for p in problems), (
        problems
    )


def test_checkpoints_deleted_from_the_table_are_still_found_in_the_file(ledger):
    aid = ledger["aid"]
    as_owner(delete(AuditCheckpoint))
    as_owner(delete(TransitionLog).where(TransitionLog.entity_id == aid, TransitionLog.seq == ledger["n"]))
    problems = problems_of("appraisal", aid)
    assert problems and all("table checkpoint" not in p for p in problems)
    assert any(p.startswith(f"head is seq {ledger['n'] - 1} but the file checkpoint") for p in problems), (
        problems
    )


def test_checkpoints_are_mirrored_to_redis(ledger, app, monkeypatch):
    from workflow_app.redis_conn import get_redis

    key = f"kinerja:test:audit:{uuid.uuid4().hex}"
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", "")
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_REDIS_KEY", key)
    aid = ledger["aid"]
    try:
        as_owner(delete(AuditCheckpoint))
        assert write_checkpoints()["mirrored"] == ["redis"]
        assert get_redis().hexists(key, f"appraisal:{aid}")
        as_owner(delete(AuditCheckpoint))
        as_owner(
            delete(TransitionLog).where(TransitionLog.entity_id == aid, TransitionLog.seq == ledger["n"])
        )
        problems = problems_of("appraisal", aid)
        assert any(
            p.startswith(f"head is seq {ledger['n'] - 1} but the redis checkpoint") for p in problems
        ), problems
    finally:
        get_redis().delete(key)


# --- the appraisal row against its log ----------------------------------------------------------


@pytest.mark.parametrize(
    "column, value, message",
    [
        (
            "predikat",
            "sangat_baik",
            "predikat is 'sangat_baik' but a replay of its {n} log row(s) gives 'butuh_perbaikan'",
        ),
        (
            "rating_hasil_kerja",
            "di_atas",
            "rating_hasil_kerja is 'di_atas' but a replay of its {n} log row(s) gives 'di_bawah'",
        ),
        ("state", "closed", "state is 'closed' but a replay of its {n} log row(s) gives 'feedback_given'"),
    ],
)
def test_an_appraisal_edited_directly_disagrees_with_its_log(ledger, app, column, value, message):
    message = message.format(n=ledger["n"])
    db.session.execute(
        update(Appraisal.__table__).where(Appraisal.id == ledger["aid"]).values({column: value})
    )
    assert problems_of("appraisal", ledger["aid"]) == [message]
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"appraisal {ledger['aid']}: {message}" in result.output


# --- keys ---------------------------------------------------------------------------------------


def test_rows_signed_before_a_key_rotation_verify_with_the_previous_key(ledger, app, monkeypatch):
    old = app.config["AUDIT_KEY"]
    new = "a-brand-new-audit-key-of-at-least-32-chars"
    monkeypatch.setitem(app.config, "AUDIT_KEY", new)
    monkeypatch.setitem(app.config, "AUDIT_KEYS_PREVIOUS", [])
    assert any("signed with unknown key" in p for p in problems_of("appraisal", ledger["aid"]))
    monkeypatch.setitem(app.config, "AUDIT_KEYS_PREVIOUS", [old])
    report = verify_all()
    assert report.ok, list(report.lines())
    log = audit.append(
        entity="cycle", entity_id=ledger["cycle_id"], event="note", from_state="x", to_state="x",
        actor_user_id=None, actor_role="hr", machine_version="1", at=utcnow(),
        row=db.session.get(Cycle, ledger["cycle_id"]),
    )  # fmt: skip
    assert log.key_id == audit.key_id_for(new)
    db.session.flush()
    assert verify_all().ok


def test_legacy_rows_are_reported_until_resealed(ledger, app, monkeypatch):
    aid = ledger["aid"]
    # As a chain written before migration 0004 looks, checkpointed by a sweep before the reseal.
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_FILE", "")
    as_owner(delete(AuditCheckpoint))
    recompute_chain("appraisal", aid, sha256_signer)
    assert write_checkpoints()["written"] == 2
    problems = problems_of("appraisal", aid)
    assert problems == [
        f"seq 1-{ledger['n']}: {ledger['n']} unkeyed legacy SHA-256 row(s) from before migration 0004 (anyone could have "
        "recomputed them); check, then 'flask audit reseal-legacy'"
    ]
    runner = app.test_cli_runner()
    assert f"{ledger['n']} legacy rows" in runner.invoke(args=["audit", "reseal-legacy"]).output
    result = runner.invoke(args=["audit", "reseal-legacy", "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 chains resealed, 0 refused" in result.output
    db.session.expire_all()
    report = verify_all()
    assert [r.key_id for r in rows_of("appraisal", aid)] == [audit.signing_key()[0]] * ledger["n"]
    assert report.ok, list(report.lines())


def test_checkpoint_signature_is_an_hmac_under_the_audit_key(ledger):
    line = json.loads(ledger["file"].read_text().splitlines()[0])
    key = audit.signing_key()[1]
    material = json.dumps(
        {k: line[k] for k in ("entity", "entity_id", "seq", "hash")} | {"at": line["created_at"]},
        sort_keys=True,
        separators=(",", ":"),
    )
    assert line["signature"] == hmac.new(key, material.encode(), hashlib.sha256).hexdigest()
