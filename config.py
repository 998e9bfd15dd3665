"""Configuration classes. Secrets and URLs come from the environment, never from code.

PLANNER_ENV picks the class (development, production, testing); PLANNER_DATABASE_URL and
PLANNER_SECRET_KEY override the defaults. Nothing here is read at import time: `load()` reads
the environment when the app is created.
"""

from __future__ import annotations

import os
from datetime import timedelta


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    DATABASE_URL: str | None = None  # None: a SQLite file in the instance folder
    SECRET_KEY: str | None = None
    SQL_ECHO = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_ENABLED = True
    # planner.signin.check_csrf checks instead, so that API requests with a token need none.
    WTF_CSRF_CHECK_DEFAULT = False
    # No page or API call needs more than this (a story at its longest is well under 1 MB); an
    # upload route that needs more raises it for itself and says so.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    PASSWORD_HASH_METHOD = "scrypt"
    # Failed sign-ins allowed per account (email typed) and per client address in a moving
    # window; then 429 until the window passes (planner/limits.py).
    LOGIN_LIMIT_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_ADDRESS = "30 per 15 minutes"
    # Requests allowed per personal access token in a moving window; then 429 with Retry-After.
    API_TOKEN_LIMIT = "600 per minute"
    RATELIMIT_STORAGE_URI: str | None = None  # None: in memory, per process
    RATELIMIT_KEY_PREFIX = "planner"
    TRUSTED_PROXIES = 0  # proxies in front of planner whose X-Forwarded-* headers are trusted
    BASE_URL: str | None = None  # e.g. https://planner.example.com; links in share URLs, mail
    # Notifications and webhooks (planner/delivery, docs/notifications.md).
    SMTP_URL: str | None = None  # smtp://user:password@host:587 or smtps://…; None: no e-mail
    MAIL_FROM = "planner <planner@localhost>"
    WEBHOOK_ALLOW_PRIVATE = False  # True lets webhooks call loopback and private addresses
    WEBHOOK_TIMEOUT_SECONDS = 10.0  # also the SMTP timeout
    DELIVERY_MAX_ATTEMPTS = 8  # then a delivery has failed (and its webhook is disabled)
    DELIVERY_BACKOFF_SECONDS = 30.0  # wait after the first failure; doubled after each next one
    DELIVERY_LEASE_SECONDS = 300.0  # a claimed delivery is retried by others after this
    OUTBOX_RETENTION_DAYS = 30.0  # finished deliveries and dispatched events are purged after
    WORKER_PAUSE_AFTER_CLAIM = 0.0  # seconds; only for tests that kill a worker mid-delivery
    # MLflow (planner/mlflow_reader.py): the tracking URI of projects that set none, how long a
    # read may take, and how long what was read is kept (an unreachable server: a quarter of it).
    MLFLOW_TRACKING_URI: str | None = None
    # Hosts planner may read MLflow from besides the default's (comma-separated); none listed:
    # a project's own server may be any host, a link's server only its project's.
    MLFLOW_ALLOWED_HOSTS: str | None = None
    MLFLOW_TIMEOUT_SECONDS = 3.0
    MLFLOW_CACHE_SECONDS = 60.0
    # Reads one page or API call may spend on MLflow; links past it say "reload to see the rest".
    MLFLOW_REQUEST_BUDGET_SECONDS = 10.0
    # Check every API answer against its declared schema (planner/api/spec.py): on in
    # development and tests, off in production, where it only costs time
    # (PLANNER_API_VALIDATE_RESPONSES=1 turns it on, e.g. on a staging server).
    API_VALIDATE_RESPONSES = True
    # Megabytes of whole pages each worker keeps while nothing they show has changed
    # (planner/pagecache.py; PLANNER_PAGE_CACHE_MB, 0 turns it off).
    PAGE_CACHE_MB = 32.0
    # Each worker keeps a copy of each project's context (stages, members, sprints, epics) under
    # the project's context stamp (planner/domain/context.py); the query-count tests turn it off
    # to count what a request costs when the context has just changed.
    CONTEXT_COPIES = True


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-not-secret"
    # Hashing strength is not what the tests are about; scrypt would make each account ~80 ms.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"


class ProductionConfig(Config):
    ENV_NAME = "production"
    API_VALIDATE_RESPONSES = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load(env_name: str | None = None) -> dict[str, object]:
    """Return the settings for `env_name` (default: $PLANNER_ENV or development) as a dict."""
    name = (env_name or os.environ.get("PLANNER_ENV") or "development").strip().lower()
    if name not in CONFIGS:
        raise RuntimeError(f"PLANNER_ENV={name!r} is not one of {', '.join(sorted(CONFIGS))}.")
    cls = CONFIGS[name]
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    if os.environ.get("PLANNER_DATABASE_URL"):
        settings["DATABASE_URL"] = os.environ["PLANNER_DATABASE_URL"]
    if os.environ.get("PLANNER_SECRET_KEY"):
        settings["SECRET_KEY"] = os.environ["PLANNER_SECRET_KEY"]
    for variable, key in (
        ("PLANNER_RATELIMIT_STORAGE_URL", "RATELIMIT_STORAGE_URI"),
        ("PLANNER_LOGIN_LIMIT_ACCOUNT", "LOGIN_LIMIT_ACCOUNT"),
        ("PLANNER_LOGIN_LIMIT_ADDRESS", "LOGIN_LIMIT_ADDRESS"),
        ("PLANNER_API_TOKEN_LIMIT", "API_TOKEN_LIMIT"),
        ("PLANNER_BASE_URL", "BASE_URL"),
        ("PLANNER_SMTP_URL", "SMTP_URL"),
        ("PLANNER_MAIL_FROM", "MAIL_FROM"),
        ("PLANNER_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        ("PLANNER_MLFLOW_ALLOWED_HOSTS", "MLFLOW_ALLOWED_HOSTS"),
    ):
        if os.environ.get(variable):
            settings[key] = os.environ[variable].strip()
    if os.environ.get("PLANNER_WEBHOOK_ALLOW_PRIVATE"):
        flag = os.environ["PLANNER_WEBHOOK_ALLOW_PRIVATE"].strip().lower()
        settings["WEBHOOK_ALLOW_PRIVATE"] = flag in ("1", "true", "yes", "on")
    if os.environ.get("PLANNER_API_VALIDATE_RESPONSES"):
        flag = os.environ["PLANNER_API_VALIDATE_RESPONSES"].strip().lower()
        settings["API_VALIDATE_RESPONSES"] = flag in ("1", "true", "yes", "on")
    for variable, key in (
        ("PLANNER_WEBHOOK_TIMEOUT", "WEBHOOK_TIMEOUT_SECONDS"),
        ("PLANNER_MLFLOW_TIMEOUT", "MLFLOW_TIMEOUT_SECONDS"),
        ("PLANNER_MLFLOW_CACHE_SECONDS", "MLFLOW_CACHE_SECONDS"),
        ("PLANNER_MLFLOW_REQUEST_BUDGET", "MLFLOW_REQUEST_BUDGET_SECONDS"),
        ("PLANNER_DELIVERY_MAX_ATTEMPTS", "DELIVERY_MAX_ATTEMPTS"),
        ("PLANNER_DELIVERY_BACKOFF_SECONDS", "DELIVERY_BACKOFF_SECONDS"),
        ("PLANNER_DELIVERY_LEASE_SECONDS", "DELIVERY_LEASE_SECONDS"),
        ("PLANNER_OUTBOX_RETENTION_DAYS", "OUTBOX_RETENTION_DAYS"),
        ("PLANNER_WORKER_PAUSE_AFTER_CLAIM", "WORKER_PAUSE_AFTER_CLAIM"),
        ("PLANNER_PAGE_CACHE_MB", "PAGE_CACHE_MB"),
    ):
        if os.environ.get(variable):
            try:
                number = float(os.environ[variable])
            except ValueError:
                number = -1.0
            if number < 0:
                raise RuntimeError(f"{variable} is a number of at least 0, like 30.")
            settings[key] = number
    if os.environ.get("PLANNER_TRUSTED_PROXIES"):
        try:
            hops = int(os.environ["PLANNER_TRUSTED_PROXIES"])
        except ValueError:
            hops = -1
        if hops < 0:
            raise RuntimeError("PLANNER_TRUSTED_PROXIES is a number of proxies, like 1 (0: none).")
        settings["TRUSTED_PROXIES"] = hops
    if settings["DELIVERY_LEASE_SECONDS"] < 2 * settings["WEBHOOK_TIMEOUT_SECONDS"]:
        raise RuntimeError(
            "PLANNER_DELIVERY_LEASE_SECONDS must be at least twice PLANNER_WEBHOOK_TIMEOUT: a "
            "worker holds a delivery that long, and another would send it again after."
        )
    if settings["DELIVERY_MAX_ATTEMPTS"] < 1:
        raise RuntimeError("PLANNER_DELIVERY_MAX_ATTEMPTS is a number of tries, at least 1.")
    if name == "production" and not settings.get("SECRET_KEY"):
        raise RuntimeError(
            "PLANNER_SECRET_KEY is not set. Production refuses to start without a secret key: "
            "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    return settings
