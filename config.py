"""Configuration profiles, read from environment variables.

``KINERJA_ENV`` picks the profile: ``development`` (default), ``test`` or ``production``.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("KINERJA_INSTANCE_DIR", BASE_DIR / "instance"))
DEV_SECRET_KEY = "dev-only-not-secret"
# Development/test only: production refuses to start with it (see ProductionConfig.check).
DEV_AUDIT_KEY = "dev-only-audit-key-not-secret-0000000000"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Accept the common postgres:// spelling and route PostgreSQL through psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'kinerja.db'}")
    # Explicit engine options win over the pool settings below (workflow_app.extensions).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # PostgreSQL pool: 0 sizes it from the web worker's gunicorn threads (5 elsewhere);
    # -1 picks the overflow (4 in a web worker, 10 elsewhere).
    DB_POOL_SIZE = _int("DB_POOL_SIZE", 0)
    DB_MAX_OVERFLOW = _int("DB_MAX_OVERFLOW", -1)
    DB_POOL_RECYCLE = _int("DB_POOL_RECYCLE", 1800)
    DB_POOL_TIMEOUT = _int("DB_POOL_TIMEOUT", 30)
    # Ping a pooled connection at checkout only after it idled this long (-1: never).
    DB_PING_AFTER_IDLE = _int("DB_PING_AFTER_IDLE", 10)
    REDIS_URL = os.environ.get("REDIS_URL", "")
    PORT = _int("PORT", 5000)
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{_int('PORT', 5000)}")

    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = _int("SMTP_PORT", 1025)
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TLS = os.environ.get("SMTP_TLS", "none")  # none | starttls | ssl
    SMTP_SENDER = os.environ.get("SMTP_SENDER", "Kinerja <kinerja@localhost>")
    SMTP_REPLY_TO = os.environ.get("SMTP_REPLY_TO", "")

    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 1024 * 1024)
    TOKEN_TTL_HOURS = _int("TOKEN_TTL_HOURS", 12)
    # Per-process cache of resolved bearer tokens (services.auth): seconds (0: off) and entries.
    # A revocation clears it at once in every process through Redis; without Redis, within this TTL.
    TOKEN_CACHE_SECONDS = _int("TOKEN_CACHE_SECONDS", 30)
    TOKEN_CACHE_SIZE = _int("TOKEN_CACHE_SIZE", 10000)
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 10)
    LOGIN_FAILURE_WINDOW_SECONDS = _int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
    # Failed logins from one client address, whatever the usernames (credential stuffing).
    LOGIN_MAX_FAILURES_PER_ADDRESS = _int("LOGIN_MAX_FAILURES_PER_ADDRESS", 100)
    # Reverse proxies in front of the app whose X-Forwarded-For is believed (0: none).
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 65536)
    STUCK_AFTER_DAYS = _int("STUCK_AFTER_DAYS", 14)
    # Jobs: RQ retry delays (seconds) before a delivery becomes an incident.
    JOB_RETRY_INTERVALS = [int(x) for x in os.environ.get("JOB_RETRY_INTERVALS", "10,60,300,1800").split(",")]
    EMAIL_MAX_ATTEMPTS = _int("EMAIL_MAX_ATTEMPTS", 5)
    JOB_TIMEOUT = _int("JOB_TIMEOUT", 60)
    JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", 120)
    BULK_MAX_IDS = _int("BULK_MAX_IDS", 500)
    PAGE_SIZE_MAX = 200

    # Audit log: HMAC-SHA-256 key of the transition-log chain (never stored in the database),
    # older keys still accepted by 'flask audit verify' after a rotation, and where the sweep
    # mirrors its signed checkpoints of each chain's head (besides the audit_checkpoints table).
    AUDIT_KEY = os.environ.get("AUDIT_KEY", DEV_AUDIT_KEY)
    AUDIT_KEYS_PREVIOUS = [k for k in os.environ.get("AUDIT_KEYS_PREVIOUS", "").split(",") if k.strip()]
    AUDIT_CHECKPOINT_FILE = os.environ.get("AUDIT_CHECKPOINT_FILE", "")
    AUDIT_CHECKPOINT_REDIS_KEY = os.environ.get("AUDIT_CHECKPOINT_REDIS_KEY", "")

    # flask-smorest / OpenAPI
    API_TITLE = "Kinerja API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "v1/openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
    PROBLEM_TYPE_BASE = "https://kinerja.example/problems/"

    # Web UI: a signed session cookie (HttpOnly, SameSite=Lax; Secure unless turned off for
    # plain-http development), CSRF on every form, Bahasa Indonesia by default.
    SESSION_COOKIE_NAME = "kinerja_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = _int("SESSION_HOURS", 12) * 3600
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None
    # Strict-Transport-Security on every response (production only: a browser remembers it).
    HSTS_SECONDS = _int("HSTS_SECONDS", 0)

    @classmethod
    def check(cls) -> None:
        """Refuse configurations that must never run."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # make run serves plain http on 127.0.0.1: a Secure cookie would not come back over it.
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = _database_url("sqlite://")
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8192
    # Tests fail many logins from one address; the throttle test lowers this itself.
    LOGIN_MAX_FAILURES = 1_000_000
    LOGIN_MAX_FAILURES_PER_ADDRESS = 1_000_000
    SESSION_COOKIE_SECURE = False  # the test client and the browser tests speak plain http


class ProductionConfig(Config):
    ENV_NAME = "production"
    HSTS_SECONDS = _int("HSTS_SECONDS", 31536000)

    @classmethod
    def check(cls) -> None:
        key = os.environ.get("SECRET_KEY", "")
        if not key or key == DEV_SECRET_KEY or len(key) < 32:
            raise RuntimeError(
                "production refuses to start without a real SECRET_KEY "
                "(set SECRET_KEY to a random string of at least 32 characters)"
            )
        audit_key = os.environ.get("AUDIT_KEY", "")
        if not audit_key or audit_key == DEV_AUDIT_KEY or len(audit_key) < 32:
            raise RuntimeError(
                "production refuses to start without a real AUDIT_KEY "
                "(set AUDIT_KEY to a random string of at least 32 characters, kept outside the database)"
            )
        if audit_key == key:
            raise RuntimeError("AUDIT_KEY must differ from SECRET_KEY")


PROFILES = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = name or os.environ.get("KINERJA_ENV", "development")
    try:
        return PROFILES[name]
    except KeyError:
        raise RuntimeError(f"unknown KINERJA_ENV {name!r}; use one of {sorted(PROFILES)}") from None
