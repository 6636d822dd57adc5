"""Authentication use cases: bearer tokens, browser sessions, password changes.

A browser session is a row (``WebSession``) whose secret the signed cookie carries, so signing
out revokes it on the server: a copied cookie is worthless afterwards.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.i18n import N_
from workflow_app.models import ApiToken, RoleAssignment, User, WebSession
from workflow_app.security import dummy_verify, hash_password, new_token, token_digest, verify_password


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


def resolve_token(token: str) -> tuple[User, ApiToken] | None:
    row = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == token_digest(token))
        .options(selectinload(ApiToken.user).selectinload(User.roles).joinedload(RoleAssignment.unit))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    if not row.user.active:
        return None
    return row.user, row


def revoke(token_row: ApiToken) -> None:
    token_row.revoked_at = utcnow()
    db.session.flush()


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
