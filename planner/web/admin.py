"""Site administration: site admins create accounts, set passwords, deactivate and reactivate."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.domain import DomainError, ValidationError
from planner.domain.accounts import create_account, set_password
from planner.models import Account
from planner.models.account import new_session_token
from planner.web import require_login
from planner.web.forms import AccountForm, EmptyForm, ResetPasswordForm, attach_errors

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
        if form.validate():
            try:
                account = create_account(
                    session,
                    email=form.email.data or "",
                    name=form.name.data or "",
                    password=form.password.data or None,
                    is_admin=form.is_admin.data,
                    hash_method=_hash_method(),
                )
            except DomainError as exc:
                session.rollback()
                attach_errors(form, exc.details or {"email": exc.message})
                status = 422
            else:
                session.commit()
                flash(f"Account for {account.email} created.", "success")
                return redirect(url_for("admin.users"))
        else:
            status = 400
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
    session = db.session()
    account = session.get(Account, account_id)
    if account is None:
        abort(404)
    action = request.form.get("action", "")
    if action == "password":
        form = ResetPasswordForm()
        if not form.validate():
            flash("Enter a password.", "error")
            return redirect(url_for("admin.users"))
        try:
            set_password(account, form.password.data, hash_method=_hash_method())
        except ValidationError as exc:
            flash(f"Password for {account.email} not set: {exc.message}", "error")
            return redirect(url_for("admin.users"))
        message = f"Password for {account.email} set; their other sessions are signed out."
    elif action in ("deactivate", "activate"):
        if not EmptyForm().validate():
            abort(400)
        if account.id == current_user.id and action == "deactivate":
            flash("You cannot deactivate your own account.", "error")
            return redirect(url_for("admin.users"))
        account.is_active_account = action == "activate"
        account.session_token = new_session_token()
        message = f"{account.email} {'reactivated' if action == 'activate' else 'deactivated'}."
    else:
        abort(400, description=f"Unknown action {action!r}.")
    session.commit()
    flash(message, "success")
    return redirect(url_for("admin.users"))
