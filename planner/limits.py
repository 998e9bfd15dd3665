"""Rate limits, with Flask-Limiter: one limiter per app, whose counts live in memory by default and
in Redis (or any storage Flask-Limiter knows) when PLANNER_RATELIMIT_STORAGE_URL is set, so that
several gunicorn workers and hosts share them.

Sign-in: failed attempts are counted per account (the email typed) and per client address. Once
either limit is reached, every attempt, even with the right password, answers 429 with
Retry-After until the window has passed. Successful sign-ins are not counted.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

EXTENSION_KEY = "planner.limiter"


def client_address() -> str:
    """The client's address (the proxy's unless PLANNER_TRUSTED_PROXIES says how many to trust)."""
    return request.remote_addr or "unknown"


def _typed_email() -> str:
    email = request.form.get("email", "") if request.mimetype else ""
    return email.strip().lower()[:254]


def _login_failed(response) -> bool:
    # A successful sign-in redirects; everything else is a failed attempt.
    return response.status_code != 302


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_ACCOUNT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_ADDRESS"]


def get_limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions[EXTENSION_KEY]


def _too_many(exc: RateLimitExceeded):
    """429 in the shape of the page asked for: the login form says when to try again."""
    from planner.errors import error_response, wants_json

    minutes = _window_minutes(exc)
    message = (
        f"Too many failed sign-ins from here or for this account. Try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''}."
    )
    if wants_json():
        response, status = error_response(429, message, error="rate_limited")
    elif request.endpoint == "auth.login":
        from planner.web.auth import LoginForm

        form = LoginForm()
        form.password.errors = [message]
        response, status = render_template("auth/login.html", form=form), 429
    else:
        response, status = error_response(429, message)
    response = current_app.make_response((response, status))
    return response


def _window_minutes(exc: RateLimitExceeded) -> int:
    seconds = exc.limit.limit.get_expiry() if exc.limit is not None else 60
    return max(1, -(-seconds // 60))


def init_app(app: Flask) -> Limiter:
    """Attach the app's limiter and limit the sign-in form."""
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
