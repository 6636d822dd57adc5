"""Authentication use cases: issue, resolve and revoke bearer tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from workflow_app import problems
from workflow_app.clock import utcnow
from workflow_app.extensions import db
from workflow_app.models import ApiToken, RoleAssignment, User
from workflow_app.security import dummy_verify, new_token, token_digest, verify_password


def issue_token(username: str, password: str) -> tuple[str, ApiToken]:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        dummy_verify(password)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise problems.Problem(401, "invalid-credentials", detail="Unknown username or wrong password.")
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
