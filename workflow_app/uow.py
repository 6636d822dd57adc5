"""The unit of work: the one place a request, a CLI command or a job commits.

Services only flush; the front door wraps each use case in ``unit_of_work()``:

    with unit_of_work():
        appraisal = appraisals.fire_event(actor, appraisal_id, event, data)

It commits once at the end, turns a lost race (a stale version, a unique key taken by a
concurrent writer, a serialisation failure) into a 409 problem, rolls everything back on any
error, and after a successful commit runs the after-commit hooks (the outbox kick, registered by
``create_app``), so a new front door needs nothing from ``api``. A failed item inside a
savepoint (``savepoint()``) rolls back that savepoint alone.

The session remembers the outbox rows it wrote: a flush notes each new ``OutboxMessage``'s id
and topic, a commit makes them "committed", a rollback forgets them. The outbox kick takes the
committed ones (``take_committed_outbox``) and hands exactly those to the workers, so the
request path never scans the outbox table. A service that writes outbox rows with a Core
statement (no ORM object) names them with ``note_outbox``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError, ResourceClosedError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflow_app import problems
from workflow_app.extensions import db
from workflow_app.models import OutboxMessage

log = logging.getLogger(__name__)
HOOKS_KEY = "kinerja.after_commit"
# PostgreSQL's serialization_failure and deadlock_detected: a concurrent writer won.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
# session.info keys: outbox rows (id, topic) flushed in the open transaction / committed since
# the last kick took them.
OUTBOX_FLUSHED = "kinerja.outbox.flushed"
OUTBOX_COMMITTED = "kinerja.outbox.committed"


@event.listens_for(Session, "after_flush")
def _note_new_outbox_rows(session, flush_context) -> None:
    rows = [(obj.id, obj.topic) for obj in session.new if isinstance(obj, OutboxMessage)]
    if rows:
        session.info.setdefault(OUTBOX_FLUSHED, []).extend(rows)


@event.listens_for(Session, "after_commit")
def _outbox_rows_committed(session) -> None:
    rows = session.info.pop(OUTBOX_FLUSHED, None)
    if rows:
        session.info.setdefault(OUTBOX_COMMITTED, []).extend(rows)


@event.listens_for(Session, "after_rollback")
def _outbox_rows_rolled_back(session) -> None:
    session.info.pop(OUTBOX_FLUSHED, None)


def note_outbox(rows: list[tuple[int, str]]) -> None:
    """Name outbox rows (id, topic) written without the ORM, so the kick after commit sends them."""
    if rows:
        db.session.info.setdefault(OUTBOX_FLUSHED, []).extend(rows)


def take_committed_outbox() -> list[tuple[int, str]]:
    """The outbox rows (id, topic) committed since the last call, in the order written."""
    return db.session.info.pop(OUTBOX_COMMITTED, None) or []


def conflict_of(exc: Exception) -> problems.Problem | None:
    """The 409 problem for an error that means "someone else changed it first", else None."""
    if isinstance(exc, StaleDataError):
        return problems.version_conflict(None)
    if isinstance(exc, IntegrityError):
        text = str(exc.orig)
        if "transition_log" in text or "uq_transition_log_entity_seq" in text:
            return problems.version_conflict(None)
        return None
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return problems.version_conflict(None)
    return None


def flush() -> None:
    """Flush, turning a lost race into 409 version-conflict; the boundary rolls back."""
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as exc:
        problem = conflict_of(exc)
        if problem is None:
            raise
        raise problem from None


def flush_unique(field: str, message: str) -> None:
    """Flush; a unique key already taken becomes a 422 on ``field``."""
    try:
        db.session.flush()
    except IntegrityError:
        raise problems.validation_error({field: [message]}) from None


def after_commit(app, hook: Callable[[], None]) -> None:
    """Register ``hook`` to run after each successful unit of work of ``app``."""
    app.extensions.setdefault(HOOKS_KEY, []).append(hook)


@contextmanager
def unit_of_work(*, hooks: bool = True) -> Iterator[None]:
    """Commit once when the block ends; roll back and map the error when it raises."""
    try:
        yield
        db.session.commit()
    except problems.Problem:
        db.session.rollback()
        raise
    except Exception as exc:
        db.session.rollback()
        problem = conflict_of(exc)
        if problem is not None:
            raise problem from None
        raise
    if hooks:
        for hook in current_app.extensions.get(HOOKS_KEY, ()):
            hook()
    else:
        take_committed_outbox()  # not handed over: the periodic relay delivers them


@contextmanager
def read_only() -> Iterator[None]:
    """A block that only reads: whatever it did is rolled back, so no transaction stays open."""
    try:
        yield
    finally:
        db.session.rollback()


@contextmanager
def savepoint(*, keep: bool = True) -> Iterator[None]:
    """One item of a bulk operation: a problem rolls back this savepoint alone, then re-raises.

    With ``keep=False`` (a dry run) the savepoint is rolled back even when the item succeeds.
    """
    nested = db.session.begin_nested()
    try:
        yield
    except Exception:
        # Also after a failed flush, which leaves the savepoint deactivated until rolled back;
        # only a savepoint already closed (rolled back by the error's own handling) is skipped.
        try:
            nested.rollback()
        except ResourceClosedError:
            pass
        raise
    if keep:
        nested.commit()
    else:
        nested.rollback()
