"""Site administration: site admins create accounts, set passwords, deactivate and reactivate."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.domain.accounts import create_account, reset_password, set_active
from planner.models import Account
from planner.signin import require_login
from planner.web.forms import AccountForm, EmptyForm, ResetPasswordForm, act, submit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def only_admins():
    if (response := require_login()) is not None:
        return response
    if not current_user.is_admin:
        abort(403, description="Only site admins manage user accounts.")
    return None


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


@bp.route("/users", methods=["GET", "POST"])
def users():
    session = db.session()
    form = AccountForm()
    status = 200
    if request.method == "POST":
        outcome = submit(
            form,
            lambda: create_account(
                session,
                email=form.email.data or "",
                name=form.name.data or "",
                password=form.password.data or None,
                is_admin=form.is_admin.data,
                hash_method=_hash_method(),
            ),
            done=lambda account: f"Account for {account.email} created.",
            then=url_for("admin.users"),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
    accounts = list(session.scalars(select(Account).order_by(Account.name)))
    return (
        render_template(
            "admin/users.html",
            form=form,
            accounts=accounts,
            reset_form=ResetPasswordForm(formdata=None),
            button=EmptyForm(),
        ),
        status,
    )


@bp.post("/users/<int:account_id>")
def update_user(account_id: int):
    """Set a password, deactivate or reactivate an account (the button pressed says which)."""
    session = db.session()
    account = session.get(Account, account_id)
    if account is None:
        abort(404)
    action = request.form.get("action", "")
    if action == "password":
        return act(
            lambda: reset_password(
                account, request.form.get("password", ""), hash_method=_hash_method()
            ),
            done=f"Password for {account.email} set; their other sessions are signed out.",
            failed=f"{account.email}: ",
            then=url_for("admin.users"),
        )
    if action in ("deactivate", "activate"):
        return act(
            lambda: set_active(session, account, action == "activate", by=current_user),
            done=f"{account.email} {'reactivated' if action == 'activate' else 'deactivated'}.",
            failed=f"{account.email}: ",
            then=url_for("admin.users"),
        )
    abort(400, description=f"Unknown action {action!r:.40}.")
