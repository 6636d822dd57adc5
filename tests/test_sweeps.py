"""Cycle phase automation, auto-close, the generated docs, and a single acting scheduler."""

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests import factories
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.jobs.scheduler import LOCK_KEY, Scheduler
from workflow_app.jobs.sweeps import phase_sweep
from workflow_app.models import Appraisal, Cycle
from workflow_app.notifications.docs import render_notification_docs
from workflow_app.services import cycles

ROOT = Path(__file__).resolve().parent.parent


def test_docs_notifications_md_is_generated_from_the_rules():
    assert (ROOT / "docs" / "notifications.md").read_text() == render_notification_docs()


def test_phase_sweep_opens_midyear_then_scoring_and_closes_finished_appraisals(app, org):
    today = utcnow().date()
    cycle = factories.cycle(
        org.dinas,
        midyear_start=today + timedelta(days=10),
        midyear_end=today + timedelta(days=20),
        scoring_start=today + timedelta(days=30),
    )
    cycle.state = "planning"
    cycles.launch(cycle, utcnow())
    staff = db.session.scalar(select(Appraisal).where(Appraisal.employee_id == org.staff.id))
    staff.state = "plan_approved"
    db.session.commit()

    assert phase_sweep(utcnow())["cycles"] == 0  # the mid-year window has not opened
    later = utcnow() + timedelta(days=11)
    result = phase_sweep(later)
    assert result["cycles"] == 1
    assert db.session.get(Cycle, cycle.id).state == "midyear"
    assert db.session.get(Appraisal, staff.id).state == "midyear_review"
    assert phase_sweep(later)["cycles"] == 0  # idempotent
    assert phase_sweep(utcnow() + timedelta(days=31))["cycles"] == 1
    assert db.session.get(Cycle, cycle.id).state == "assessment"

    # A good result with feedback given closes by itself once the objection window is over.
    peer = db.session.scalar(select(Appraisal).where(Appraisal.employee_id == org.peer.id))
    peer.state, peer.predikat, peer.scored_at = "feedback_given", "baik", utcnow() - timedelta(days=15)
    weak = db.session.scalar(select(Appraisal).where(Appraisal.employee_id == org.kasi.id))
    weak.state, weak.predikat, weak.scored_at = "feedback_given", "kurang", utcnow() - timedelta(days=15)
    db.session.commit()
    assert phase_sweep(utcnow())["closed"] == 1
    assert db.session.get(Appraisal, peer.id).state == "closed"
    assert db.session.get(Appraisal, weak.id).state == "feedback_given"  # training first


def test_only_one_scheduler_acts(base_app):
    from workflow_app.redis_conn import get_redis

    with base_app.app_context():
        redis = get_redis()
        redis.delete(LOCK_KEY)
        first, second = Scheduler(base_app, interval=5), Scheduler(base_app, interval=5)
        second.identity = "other-host:1"
        assert first.is_leader(redis)
        assert not second.is_leader(redis)
        assert first.is_leader(redis)  # renews its own lock
        redis.delete(LOCK_KEY)  # the first died and its lock expired
        assert second.is_leader(redis)
        assert not first.is_leader(redis)
        redis.delete(LOCK_KEY)


def test_the_ladders_index_covers_every_held_state():
    """The partial index's predicate is fixed by a migration: a definition with another set of
    held states needs a new one (models.LADDER_STATES and migration 0007)."""
    from state_machines import APPRAISAL
    from workflow_app.jobs.sweeps import HELD_STATES
    from workflow_app.models import LADDER_STATES

    assert set(HELD_STATES) == set(LADDER_STATES) == set(APPRAISAL.open_states)
