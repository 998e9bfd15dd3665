"""Sign-in plumbing shared by the pages and the API: the login manager (sessions carry an
account's rotating session token), CSRF protection, and `require_login` for blueprints whose every
route needs a signed-in person. Signed out, the API answers 401 JSON; a page GET goes to the
sign-in page; a page POST keeps its fields through sign-in (planner/web/resubmit.py)."""

from __future__ import annotations

from flask import request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from planner import db
from planner.errors import error_response, wants_json
from planner.models import Account

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_account(session_token: str) -> Account | None:
    """Return the active account whose current session token this is; None signs the user out."""
    if not session_token:
        return None
    return db.session().scalar(
        select(Account).where(
            Account.session_token == session_token, Account.is_active_account.is_(True)
        )
    )


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
