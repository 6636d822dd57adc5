"""Authentication use cases: bearer tokens, browser sessions, password changes.

A browser session is a row (``WebSession``) whose secret the signed cookie carries, so signing
out revokes it on the server: a copied cookie is worthless afterwards.

A bearer token is resolved in one query (token, user, roles and their units' paths) into a
``TokenIdentity``, kept in a small per-process cache for ``TOKEN_CACHE_SECONDS``. Anything that
changes who a token stands for — a revoked token, a password change, a deactivation, a changed
employee link, a role or a unit's path — is noticed when it is flushed, and after its commit
clears this process's cache and bumps a generation counter in Redis, which every process
compares on each cache hit: a revoked token is refused at once everywhere. Without Redis (no
``REDIS_URL``), other processes notice within ``TOKEN_CACHE_SECONDS``; with Redis unreachable,
the cache is bypassed.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

from flask import current_app, has_app_context
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, joinedload

from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import ApiToken, RoleAssignment, Unit, User, WebSession
from workflow_app.security import dummy_verify, hash_password, new_token, token_digest, verify_password
from workflow_app.services.access import Actor

log = logging.getLogger(__name__)


def check_credentials(username: str, password: str) -> User:
    """The active user with this username and password, else 401 (in the same time either way)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        dummy_verify(password)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise problems.Problem(401, "invalid-credentials", detail=N_("Unknown username or wrong password."))
    return user


def issue_token(username: str, password: str) -> tuple[str, ApiToken]:
    user = check_credentials(username, password)
    token = new_token()
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + timedelta(hours=current_app.config["TOKEN_TTL_HOURS"]),
    )
    db.session.add(row)
    db.session.flush()
    return token, row


# --- bearer tokens: one query, a short per-process cache that revocation clears -----------------

GENERATION_KEY = "kinerja:auth:generation"
_CHANGED = "kinerja.auth_changed"
REDIS_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True)
class TokenIdentity:
    """Who a live bearer token stands for: enough for a request, no ORM row attached."""

    token_id: int
    user_id: int
    expires_at: datetime
    actor: Actor


class _TokenCache:
    """digest → (identity, cached at, generation); bounded, least recently used evicted first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, tuple[TokenIdentity, float, int]] = OrderedDict()
        self.redis_down_until = 0.0

    def get(self, digest: str, generation: int, ttl: float) -> TokenIdentity | None:
        with self.lock:
            entry = self.entries.get(digest)
            if entry is None:
                return None
            identity, cached_at, gen = entry
            if gen != generation or time.monotonic() - cached_at >= ttl:
                del self.entries[digest]
                return None
            self.entries.move_to_end(digest)
            return identity

    def put(self, digest: str, identity: TokenIdentity, generation: int, size: int) -> None:
        with self.lock:
            self.entries[digest] = (identity, time.monotonic(), generation)
            self.entries.move_to_end(digest)
            while len(self.entries) > size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_cache = _TokenCache()


def _redis():
    from workflow_app.redis_conn import get_redis

    return get_redis()


def _generation() -> int | None:
    """The shared revocation generation (0 without Redis); None when Redis cannot say."""
    if not current_app.config.get("REDIS_URL"):
        return 0
    if time.monotonic() < _cache.redis_down_until:
        return None
    try:
        value = _redis().get(GENERATION_KEY)
    except Exception as exc:  # noqa: BLE001 - Redis trouble: read tokens from the database
        _cache.redis_down_until = time.monotonic() + REDIS_BACKOFF_SECONDS
        log.warning("token cache bypassed: revocation generation unreadable (%s)", exc)
        return None
    return int(value or 0)


def _load_identity(digest: str) -> TokenIdentity | None:
    """The live token's identity in one query (token ⋈ user ⟕ roles ⟕ units), or None."""
    rows = db.session.execute(
        select(
            ApiToken.id,
            ApiToken.expires_at,
            User.id,
            User.username,
            User.employee_id,
            RoleAssignment.role,
            Unit.path,
        )
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
        .outerjoin(Unit, Unit.id == RoleAssignment.unit_id)
        .where(
            ApiToken.token_hash == digest,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > utcnow(),
            User.active.is_(True),
        )
    ).all()
    if not rows:
        return None
    token_id, expires_at, user_id, username, employee_id = rows[0][:5]
    roles = [(role, path) for *_, role, path in rows if role is not None]
    actor = Actor(
        user_id,
        employee_id,
        username,
        hr_paths=tuple(sorted({path for role, path in roles if role == "hr"})),
        admin_paths=tuple(sorted({path for role, path in roles if role == "admin"})),
        roles=tuple(sorted({role for role, _ in roles})),
    )
    return TokenIdentity(token_id, user_id, expires_at, actor)


def resolve_token(token: str) -> TokenIdentity | None:
    """The identity of a live bearer token (unknown, expired, revoked or deactivated: None)."""
    digest = token_digest(token)
    config = current_app.config
    ttl = float(config.get("TOKEN_CACHE_SECONDS", 30))
    generation = _generation() if ttl > 0 else None
    if generation is not None:
        hit = _cache.get(digest, generation, ttl)
        if hit is not None and hit.expires_at > utcnow():
            return hit
    identity = _load_identity(digest)
    if identity is not None and generation is not None:
        _cache.put(digest, identity, generation, int(config.get("TOKEN_CACHE_SIZE", 10_000)))
    return identity


def forget_tokens() -> None:
    """Who tokens stand for may have changed: clear this process's cache and tell the others."""
    _cache.clear()
    if not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    try:
        _redis().incr(GENERATION_KEY)
    except Exception as exc:  # noqa: BLE001 - the others notice within TOKEN_CACHE_SECONDS
        log.warning("token revocation not broadcast (%s); other processes notice within the TTL", exc)


_WATCHED_USER_FIELDS = ("active", "employee_id", "username", "password_hash")


def _changes_identity(session: Session, obj) -> bool:
    if isinstance(obj, RoleAssignment):
        return True
    if obj in session.new:
        return False  # a new token, user or unit changes nobody's existing token
    if isinstance(obj, ApiToken):
        return True
    attrs = inspect(obj).attrs
    if isinstance(obj, User):
        return any(attrs[name].history.has_changes() for name in _WATCHED_USER_FIELDS)
    if isinstance(obj, Unit):
        return attrs["path"].history.has_changes()
    return False


@event.listens_for(Session, "after_flush")
def _note_changes(session, flush_context) -> None:
    if session.info.get(_CHANGED):
        return
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, (RoleAssignment, ApiToken, User, Unit)) and _changes_identity(session, obj):
            session.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        if state.bind_mapper.class_ in (RoleAssignment, ApiToken, User, Unit):
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    if session.info.pop(_CHANGED, False):
        forget_tokens()


def revoke_token(token_id: int) -> None:
    """Revoke one bearer token (the caller's own, on sign-out)."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_all(user_id: int) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def open_session(user: User) -> str:
    """A new signed-in browser for ``user``: the key its cookie carries (``"<id>:<secret>"``)."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    hours = int(current_app.config["PERMANENT_SESSION_LIFETIME"]) // 3600 or 1
    row = WebSession(
        user_id=user.id,
        secret_hash=token_digest(secret),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(row)
    db.session.flush()
    return f"{row.id}:{secret}"


def _session_row(key: str) -> WebSession | None:
    session_id, _, secret = key.partition(":")
    if not session_id.isascii() or not session_id.isdigit() or len(session_id) > 10 or not secret:
        return None
    row = db.session.scalar(
        select(WebSession)
        .where(WebSession.id == int(session_id))
        # the user and their roles come along: every page asks for them (one round trip less)
        .options(joinedload(WebSession.user).selectinload(User.roles).joinedload(RoleAssignment.unit))
    )
    if row is None or not secrets.compare_digest(row.secret_hash, token_digest(secret)):
        return None
    return row


def resolve_session(key: str) -> User | None:
    """The active user of a live browser session, or None (signed out, expired, revoked)."""
    row = _session_row(key)
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row.user if row.user.active else None


def close_session(key: str) -> None:
    """Sign this browser out: its cookie, wherever it was copied to, no longer works."""
    row = _session_row(key)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: every browser session and every bearer token."""
    now = utcnow()
    db.session.execute(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    revoke_all(user.id)
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """The user's own password change: their other sessions and all their tokens end."""
    if not verify_password(user.password_hash, current):
        raise problems.validation_error({"current_password": [N_("The current password is wrong.")]})
    if len(new) < 8:
        raise problems.validation_error({"new_password": [N_("Use at least 8 characters.")]})
    if new == current:
        raise problems.validation_error({"new_password": [N_("Choose a password you have not used here.")]})
    user.password_hash = hash_password(new)
    end_sessions(user)
