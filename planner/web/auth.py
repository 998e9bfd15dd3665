"""Sign in, sign out, and a person's own account (password change, personal access tokens)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from planner import db, limits
from planner.domain import NotFoundError, ValidationError
from planner.domain.accounts import (
    MIN_PASSWORD_LENGTH,
    authenticate,
    end_sessions,
    set_password,
)
from planner.domain.tokens import (
    TOKEN_SCOPES,
    create_token,
    find_token,
    last_day,
    revoke_token,
    token_state,
    tokens_of,
)
from planner.timeutil import utcnow
from planner.web import resubmit
from planner.web.forms import EmptyForm, act, attach_errors, options

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class TokenForm(FlaskForm):
    name = StringField("Name", description="What will use it, for example: training pipeline.")
    scope = SelectField(
        "Scope", choices=options(TOKEN_SCOPES), default="write", validate_choice=False
    )
    expires_on = StringField(
        "Last day",
        render_kw={"type": "date"},
        description="It stops working after this day (UTC). Leave empty for no end date.",
    )


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your password.")])
    new = PasswordField(
        "New password",
        validators=[
            DataRequired("Enter a new password."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[EqualTo("new", message="The two new passwords differ.")],
    )


NEXT_MAX = 2000  # characters: longer is not a page of planner's, and would not fit a header


def safe_next(target: str | None, method: str = "GET") -> str | None:
    """Return `target` when it is a path on this site that answers `method`, else None: no open
    redirects, and no landing on a POST-only address (a 405) after signing in."""
    if not target or len(target) > NEXT_MAX:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    try:
        current_app.url_map.bind("localhost").match(parts.path, method=method)
    except HTTPException:  # NotFound, MethodNotAllowed, or a redirect to a canonical path
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("projects.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        account = authenticate(db.session(), form.email.data, form.password.data)
        if account is None:
            limits.record_failed_sign_in()
            form.password.errors.append("That email and password do not match an account.")
        else:
            target = safe_next(form.next.data)
            # A fresh session (and so a fresh CSRF token) for the signed-in user: nothing set
            # before sign-in, by whoever prepared this browser, carries over.
            session.clear()
            g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
            login_user(account, remember=form.remember.data)
            # Fields of a form sent after the session ended, carried through sign-in.
            replay_to = safe_next(request.form.get("replay_to"), "POST")
            if replay_to and (fields := resubmit.decode(request.form.get("replay"))):
                return resubmit.resubmit_page(
                    fields,
                    replay_to,
                    reason="You are signed in again. What you typed before your session ended "
                    "has not been saved yet.",
                    status=200,
                )
            return redirect(target or url_for("projects.index"))
    return login_page(form, 200 if request.method == "GET" or not form.errors else 422)


def login_page(form: LoginForm, status: int):
    """The sign-in page, still carrying the fields kept from an ended session, if any."""
    replay_to = safe_next(request.form.get("replay_to"), "POST")
    replay = request.form.get("replay") if replay_to else None
    return render_template("auth/login.html", form=form, replay=replay, replay_to=replay_to), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Rotate the token the session and remember cookies carry: a copied cookie stops working
        # at once, on every device (signing out ends every session of the account).
        end_sessions(current_user._get_current_object())
        db.session().commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.password_hash or not check_password_hash(
            current_user.password_hash, form.current.data
        ):
            form.current.errors.append("That is not your current password.")
        else:
            try:
                set_password(
                    current_user,
                    form.new.data,
                    hash_method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"),
                )
            except ValidationError as exc:
                form.new.errors.append(exc.errors["password"])
            else:
                db.session().commit()
                # The session token changed: sign in again with it so this browser stays in.
                login_user(current_user._get_current_object())
                flash("Your password is changed. Other devices have been signed out.", "success")
                return redirect(url_for("auth.account"))
    status = 200 if request.method == "GET" or not form.errors else 422
    return account_page(form=form, status=status)


def account_page(*, form=None, token_form=None, created: str | None = None, status: int = 200):
    """The account page: password, and personal access tokens (a new one's secret shown once)."""
    return (
        render_template(
            "auth/account.html",
            form=form or PasswordForm(formdata=None),
            token_form=token_form or TokenForm(formdata=None),
            tokens=tokens_of(db.session(), current_user),
            created=created,
            now=utcnow(),
            token_state=token_state,
            token_last_day=last_day,
            button=EmptyForm(),
        ),
        status,
    )


@bp.post("/account/tokens")
@login_required
def create_api_token():
    form = TokenForm()
    if not form.validate():
        return account_page(token_form=form, status=422)
    try:
        _, secret = create_token(
            db.session(),
            current_user,
            name=form.name.data,
            scope=form.scope.data,
            expires_on=form.expires_on.data,
            now=utcnow(),
        )
    except ValidationError as exc:
        db.session().rollback()
        attach_errors(form, exc.errors)
        return account_page(token_form=form, status=422)
    db.session().commit()
    # Shown on this answer only: it is not stored, not flashed (the session cookie would carry
    # it) and not redirected to.
    return account_page(created=secret, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    session = db.session()
    try:
        token = find_token(session, token_id, owner=current_user)
    except NotFoundError:
        abort(404)
    return act(
        lambda: revoke_token(session, token, now=utcnow()),
        done=f"The token {token.name} is revoked: it opens nothing any more.",
        then=url_for("auth.account") + "#tokens",
    )
