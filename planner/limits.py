"""Rate limits, with Flask-Limiter: one limiter per app, whose counts live in memory by default and
in Redis (or any storage Flask-Limiter knows) when PLANNER_RATELIMIT_STORAGE_URL is set, so that
several gunicorn workers and hosts share them.

Sign-in: failed attempts (a password that does not match, as the sign-in view reports with
`record_failed_sign_in`) are counted per account (the email typed) and per client address. Once
either limit is reached, every attempt, even with the right password, answers 429 with
Retry-After until the window has passed. Successful sign-ins, whatever page they answer with, are
not counted; neither are forms refused before any password was checked.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

EXTENSION_KEY = "planner.limiter"


def client_address() -> str:
    """The client's address (the proxy's unless PLANNER_TRUSTED_PROXIES says how many to trust)."""
    return request.remote_addr or "unknown"


def _typed_email() -> str:
    email = request.form.get("email", "") if request.mimetype else ""
    return email.strip().lower()[:254]


def record_failed_sign_in() -> None:
    """Count this request against the sign-in limits: its email and password did not match."""
    g.planner_sign_in_failed = True


def _login_failed(response) -> bool:
    # Only a password that was checked and did not match counts; a success may redirect or show
    # the page that sends carried changes again (web/resubmit.py), and must not count either way.
    return bool(g.get("planner_sign_in_failed"))


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_ACCOUNT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_ADDRESS"]


def get_limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions[EXTENSION_KEY]


def _too_many(exc: RateLimitExceeded):
    """429 in the shape of the page asked for: the login form says when to try again."""
    from planner.errors import error_response, wants_json

    minutes = _minutes_to_wait(exc)
    whose = "from your address" if exc.limit.scope == "login-address" else "for this account"
    message = (
        f"Too many failed sign-ins {whose}; try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''}."
    )
    if wants_json():
        response, status = error_response(429, message, error="rate_limited")
    elif request.endpoint == "auth.login":
        from planner.web.auth import LoginForm, login_page

        form = LoginForm()
        form.password.errors = [message]
        response, status = login_page(form, 429)  # still carrying any kept changes
    else:
        response, status = error_response(429, message)
    response = current_app.make_response((response, status))
    return response


def _minutes_to_wait(exc: RateLimitExceeded) -> int:
    """Whole minutes until the breached limit lets an attempt through (what Retry-After says, in
    seconds), rounded up."""
    current = get_limiter().current_limit
    if current is not None and current.breached:
        seconds = current.reset_at - time.time()
    else:
        seconds = exc.limit.limit.get_expiry()
    return max(1, -(-int(seconds) // 60))


def check_limit(text: str, setting: str) -> None:
    """Refuse to start with a limit Flask-Limiter cannot read (it would log the error and leave
    sign-in unthrottled) or one that allows no attempt at all."""
    try:
        items = parse_many(str(text))
    except ValueError:
        items = []
    if not items or any(item.amount < 1 for item in items):
        raise RuntimeError(
            f"PLANNER_{setting}={text!r} is not a limit like '5 per 15 minutes' (at least 1)."
        )


def init_app(app: Flask) -> Limiter:
    """Attach the app's limiter and limit the sign-in form."""
    for setting in ("LOGIN_LIMIT_ACCOUNT", "LOGIN_LIMIT_ADDRESS", "API_TOKEN_LIMIT"):
        check_limit(app.config[setting], setting)
    if app.config.get("TRUSTED_PROXIES"):
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    limiter = Limiter(
        client_address,
        app=app,
        storage_uri=app.config.get("RATELIMIT_STORAGE_URI") or "memory://",
        headers_enabled=True,
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "planner"),
        strategy="moving-window",
        enabled=app.config.get("RATELIMIT_ENABLED", True),
    )
    app.extensions[EXTENSION_KEY] = limiter
    login = app.view_functions["auth.login"]
    for scope, limit, key in (
        ("login-account", _account_limit, _typed_email),
        ("login-address", _address_limit, client_address),
    ):
        login = limiter.limit(
            limit,
            key_func=lambda scope=scope, key=key: f"{scope}:{key()}",
            methods=["POST"],
            deduct_when=_login_failed,
            scope=scope,
        )(login)
    app.view_functions["auth.login"] = login
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter


def token_request_allowed(token_id: int):
    """Count one request against the token's limit (API_TOKEN_LIMIT) in the app's limiter, the
    one sign-in uses; return None when it may go on, else the 429 answer with Retry-After."""
    from planner.errors import error_response

    limiter = get_limiter()
    if not limiter.enabled:
        return None
    (item,) = parse_many(current_app.config["API_TOKEN_LIMIT"])[:1]
    key = (current_app.config.get("RATELIMIT_KEY_PREFIX", "planner"), "token", str(token_id))
    if limiter.limiter.hit(item, *key):
        return None
    reset_at = limiter.limiter.get_window_stats(item, *key).reset_time
    seconds = max(1, int(reset_at - time.time() + 0.999))
    response, status = error_response(
        429,
        f"Too many requests with this token; try again in {seconds} seconds.",
        error="rate_limited",
    )
    response.headers["Retry-After"] = str(seconds)
    return response, status
