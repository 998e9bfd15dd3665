"""Sign-in plumbing shared by the pages and the API: the login manager (sessions carry an
account's rotating session token), CSRF protection, personal access tokens for the API, and
`require_login` for blueprints whose every route needs a signed-in person. Signed out, the API
answers 401 JSON; a page GET goes to the sign-in page; a page POST keeps its fields through
sign-in (planner/web/resubmit.py).

Two ways into the API, decided here:
- a browser session: every write carries the X-CSRFToken header;
- `Authorization: Bearer <token>`: no CSRF token (a browser cannot be tricked into sending that
  header to another site), the token's owner as the user, capped at view access for a `read`
  token (planner/authz.py), rate-limited per token (planner/limits.py). A request that sends the
  header is judged by the token alone: a bad one is 401 even beside a valid session cookie.
"""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select

from planner import db
from planner.domain.tokens import Bearer, TokenRefused, authenticate
from planner.errors import error_response, wants_json
from planner.models import Account, Notification
from planner.timeutil import utcnow

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


# Pages' GETs that draw no layout (the board's refresh every few seconds): no bell to count.
NO_BELL = frozenset({"board.changes"})


@login_manager.user_loader
def load_account(session_token: str) -> Account | None:
    """Return the active account whose current session token this is; None signs the user out.

    A page (a GET of a page blueprint: not the API, not an app-wide route such as an asset) also
    shows the bell, so the same query counts the account's unread notifications for it
    (planner.web.notifications.bell reads g.planner_unread): one round trip instead of two.
    Nothing in a GET marks notifications read."""
    if not session_token:
        return None
    query = select(Account).where(
        Account.session_token == session_token, Account.is_active_account.is_(True)
    )
    if request.method != "GET" or request.blueprint in (None, "api") or request.endpoint in NO_BELL:
        return db.session().scalar(query)
    unread = (
        select(func.count(Notification.id))
        .where(Notification.account_id == Account.id, Notification.read_at.is_(None))
        .scalar_subquery()
    )
    row = db.session().execute(query.add_columns(unread)).first()
    if row is None:
        return None
    g.planner_unread = row[1]
    return row[0]


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json():
        return error_response(401, "Sign in to use the API.")
    if request.method == "POST":
        from planner.web.resubmit import sign_in_keeping_fields

        return sign_in_keeping_fields()
    from flask import flash, redirect, url_for

    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def signed_in() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # the user could not be loaded (the database failed): not signed in
        return False


def require_login() -> None:
    """before_request hook for blueprints whose every page needs a signed-in user."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def bearer_secret() -> str | None:
    """The token an API request sends (Authorization: Bearer ...), "" when the header is there but
    says nothing usable, None when there is no such header (a browser session, perhaps)."""
    header = request.headers.get("Authorization")
    if header is None or not request.path.startswith("/api/"):
        return None
    scheme, _, secret = header.strip().partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def check_csrf() -> None:
    """before_request for the whole app (WTF_CSRF_CHECK_DEFAULT is off so that this runs instead):
    every session write carries a CSRF token; a token request needs none."""
    if current_app.config.get("WTF_CSRF_ENABLED", True) and bearer_secret() is None:
        csrf.protect(apply_exemptions=True)


def _token_refused(message: str):
    response, status = error_response(401, message, error="invalid_token")
    response.headers["WWW-Authenticate"] = 'Bearer realm="planner", error="invalid_token"'
    return response, status


def current_bearer() -> Bearer | None:
    """The token this API request was made with, or None (a session, or no API request)."""
    return g.get("planner_bearer")


def require_api_user():
    """before_request for the API: a valid token, or a signed-in session."""
    secret = bearer_secret()
    if secret is None:
        if current_user.is_authenticated:
            return None
        response, status = error_response(401, "Sign in, or send Authorization: Bearer <token>.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="planner"'
        return response, status
    if not secret:
        return _token_refused("Send the token as Authorization: Bearer <token>.")
    try:
        bearer = authenticate(db.session(), secret, now=utcnow())
    except TokenRefused as exc:
        db.session().rollback()
        return _token_refused(str(exc))
    if bearer.recorded_use:
        # Kept even when the request fails. Otherwise the request goes on in the transaction
        # that read the token (a commit would cost a round trip, and the next query a new one).
        db.session().commit()
    from planner.limits import token_request_allowed

    if (wait := token_request_allowed(bearer.token.id)) is not None:
        return wait
    g.planner_bearer = bearer
    login_manager._update_request_context_with_user(bearer.account)
    return None
