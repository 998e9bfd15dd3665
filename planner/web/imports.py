"""Moving in from the web: upload a Jira CSV into a new or an existing project, or (site admins) a
planner-export document; see a preview of everything the import would do; then import it, all or
nothing. Also the download of a project's export from its settings.

The uploaded file waits in the database (`PendingImport`) between preview and import, so any web
process can finish what another began. A preview is the import itself, run in a savepoint that is
rolled back: what it counts is what the import writes.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wsgi import wrap_file

from planner import db
from planner.authz import project_route
from planner.domain import DomainError
from planner.domain import projects as project_rules
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.downloads import download
from planner.interchange import MAX_FILE_BYTES, ImportRefused
from planner.interchange.export import export_text
from planner.interchange.importer import import_document, parse_document
from planner.interchange.jira_csv import MAX_CSV_BYTES, MAX_CSV_ROWS, read_jira_csv
from planner.interchange.jira_import import (
    TYPE_CHOICES,
    import_jira,
    key_of,
    outcome_lines,
    propose,
)
from planner.interchange.validate import check_document
from planner.models import Account, Project
from planner.models.transfer import PendingImport
from planner.signin import require_login
from planner.timeutil import is_timezone, timezone_names, utcnow
from planner.vocab import STATUSES
from planner.web.forms import EmptyForm

bp = Blueprint("imports", __name__)
bp.before_request(require_login)

KEEP_FOR = timedelta(days=1)


def accepts_upload(limit: int):
    """Mark a view as taking a file of up to `limit` bytes (planner.requests raises the request's
    size limit for it before the form is read)."""

    def mark(view):
        view.upload_limit = limit + 64 * 1024  # the file plus the form around it
        return view

    return mark


def _read_file(limit: int) -> tuple[bytes | None, str, str | None]:
    """The uploaded file's bytes and name, or a message saying what is wrong."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, "", "Choose the file to import."
    data = upload.stream.read(limit + 1)
    name = (upload.filename or "upload")[:200]
    if len(data) > limit:
        return None, name, f"The file is larger than {limit // 2**20} MB, the most planner imports."
    if not data.strip():
        return None, name, "The file is empty."
    return data, name, None


def _keep(data: bytes, name: str, format_: str, project: Project | None, options: dict) -> str:
    session = db.session()
    session.execute(delete(PendingImport).where(PendingImport.created_at < utcnow() - KEEP_FOR))
    token = secrets.token_urlsafe(32)
    session.add(
        PendingImport(
            token=token,
            account_id=current_user.id,
            project_id=project.id if project else None,
            format=format_,
            filename=name,
            content=data,
            options=json.dumps(options),
        )
    )
    session.commit()
    return token


def _pending(token: str, project: Project | None, format_: str) -> PendingImport:
    """The caller's own pending upload (anyone else's, or a stale one, is 404)."""
    pending = db.session().scalar(
        select(PendingImport).where(
            PendingImport.token == token,
            PendingImport.account_id == current_user.id,
            PendingImport.format == format_,
            PendingImport.created_at >= utcnow() - KEEP_FOR,
        )
    )
    if pending is None or pending.project_id != (project.id if project else None):
        abort(404, description="This import is not here any more; upload the file again.")
    return pending


# --- Jira CSV ------------------------------------------------------------------------------------


def _jira_problem(data: bytes, timezone: str) -> str | None:
    try:
        read_jira_csv(data, timezone=timezone)
    except ImportRefused as exc:
        return "; ".join(p.message for p in exc.problems)
    return None


@bp.route("/projects/<key>/import", methods=["GET", "POST"])
@project_route(write="manage")
@accepts_upload(MAX_CSV_BYTES)
def jira_upload(access: ProjectAccess):
    project = access.project
    if not access.can_manage:
        abort(403, description="Only members with manage access import into a project.")
    errors: dict[str, str] = {}
    timezone = project.timezone
    if request.method == "POST":
        timezone = (request.form.get("timezone") or "").strip() or project.timezone
        if not is_timezone(timezone):
            errors["timezone"] = f"“{timezone[:60]}” is not an IANA timezone, like Europe/Berlin."
        data, name, problem = _read_file(MAX_CSV_BYTES)
        if problem is None and data is not None and not errors:
            problem = _jira_problem(data, timezone)
        if problem:
            errors["file"] = problem
        if not errors:
            token = _keep(data, name, "jira-csv", project, {"timezone": timezone})
            return redirect(url_for("imports.jira_preview", key=project.key, token=token))
    return render_template(
        "imports/jira_upload.html",
        project=project,
        new_project=False,
        errors=errors,
        values={"timezone": timezone},
        timezones=timezone_names(),
        form=EmptyForm(),
        limits=_limits(),
    ), (422 if errors else 200)


@bp.route("/projects/import/jira", methods=["GET", "POST"])
@accepts_upload(MAX_CSV_BYTES)
def jira_new_upload():
    """Create a project from a Jira CSV: its key, name and timezone, then the same preview."""
    errors: dict[str, str] = {}
    values = {"key": "", "name": "", "timezone": "UTC"}
    if request.method == "POST":
        values = {
            "key": (request.form.get("key") or "").strip().upper(),
            "name": (request.form.get("name") or "").strip(),
            "timezone": (request.form.get("timezone") or "").strip() or "UTC",
        }
        errors.update(_new_project_problems(values))
        data, name, problem = _read_file(MAX_CSV_BYTES)
        if problem is None and data is not None and "timezone" not in errors:
            problem = _jira_problem(data, values["timezone"])
        if problem:
            errors["file"] = problem
        if not errors:
            token = _keep(data, name, "jira-csv", None, values)
            return redirect(url_for("imports.jira_new_preview", token=token))
    return render_template(
        "imports/jira_upload.html",
        project=None,
        new_project=True,
        errors=errors,
        values=values,
        timezones=timezone_names(),
        form=EmptyForm(),
        limits=_limits(),
    ), (422 if errors else 200)


def _new_project_problems(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    if problem := project_rules.check_project_key(values["key"]):
        errors["key"] = problem
    elif db.session().scalar(select(Project.id).where(Project.key == values["key"])):
        errors["key"] = f"There is already a project {values['key']}; choose another key."
    errors.update(
        project_rules.check_settings({"name": values["name"], "timezone": values["timezone"]})
    )
    return errors


def _limits() -> dict[str, Any]:
    return {
        "csv_mb": MAX_CSV_BYTES // 2**20,
        "csv_rows": MAX_CSV_ROWS,
        "json_mb": MAX_FILE_BYTES // 2**20,
    }


@bp.route("/projects/<key>/import/<token>", methods=["GET", "POST"])
@project_route(write="manage")
def jira_preview(access: ProjectAccess, token: str):
    if not access.can_manage:
        abort(403, description="Only members with manage access import into a project.")
    pending = _pending(token, access.project, "jira-csv")
    return _jira_step(pending, access.project)


@bp.route("/projects/import/jira/<token>", methods=["GET", "POST"])
def jira_new_preview(token: str):
    pending = _pending(token, None, "jira-csv")
    return _jira_step(pending, None)


def _jira_step(pending: PendingImport, project: Project | None):
    """Show the preview (GET); on POST keep the changed mapping and show it again, import, or
    cancel."""
    session = db.session()
    options = json.loads(pending.options)
    back = (
        url_for("imports.jira_preview", key=project.key, token=pending.token)
        if project
        else url_for("imports.jira_new_preview", token=pending.token)
    )
    action = request.form.get("action") if request.method == "POST" else None
    if request.method == "POST" and not EmptyForm().validate():
        abort(400, description="The form has expired; reload the page.")
    if action == "cancel":
        session.delete(pending)
        session.commit()
        flash("Import cancelled; nothing was changed.", "success")
        return redirect(
            url_for("projects.settings", key=project.key) if project else url_for("projects.index")
        )
    if action in ("refresh", "import"):
        options["chosen"] = _chosen_from_form()
        pending.options = json.dumps(options)
        session.commit()
    if action == "import":
        try:
            target, outcome = _run_jira(pending, project, options, preview=False)
        except (ImportRefused, DomainError, SQLAlchemyError) as exc:
            session.rollback()
            flash(f"Not imported, nothing was changed: {_why(exc)}", "error")
            return redirect(back)
        session.delete(pending)
        session.commit()
        for line in outcome_lines(outcome):
            flash(line, "success")
        flash(f"Imported {pending.filename} into {target.key}.", "success")
        return redirect(url_for("backlog.index", key=target.key))
    if action == "refresh":
        return redirect(back)
    try:
        target, outcome, proposal = _run_jira(pending, project, options, preview=True)
    except (ImportRefused, DomainError, SQLAlchemyError) as exc:
        session.rollback()
        return render_template(
            "imports/refused.html", pending=pending, project=project, reason=_why(exc)
        ), 422
    members = [] if project is None else project_rules.members_of(session, project)
    if project is None:
        members = []
        me = session.get(Account, current_user.id)
        member_choices = [(me.id, me.name)]
    else:
        member_choices = [(m.account_id, m.account.name) for m in members]
    return render_template(
        "imports/jira_preview.html",
        pending=pending,
        project=project,
        options=options,
        outcome=outcome,
        proposal=proposal,
        statuses=STATUSES,
        type_choices=TYPE_CHOICES,
        member_choices=member_choices,
        lines=outcome_lines(outcome),
        form=EmptyForm(),
        target_key=target.key,
    )


def _why(exc: Exception) -> str:
    if isinstance(exc, SQLAlchemyError):
        # A safety net: the checks above should have refused what the database refuses.
        return "the database refused part of it (" + type(exc).__name__ + "); please report it"
    if isinstance(exc, ImportRefused):
        return "; ".join(str(p.message) for p in exc.problems[:5])
    return getattr(exc, "message", str(exc))


def _chosen_from_form() -> dict[str, dict]:
    chosen: dict[str, dict] = {"statuses": {}, "types": {}, "people": {}}
    for name, value in request.form.items():
        for prefix, part in (("status:", "statuses"), ("type:", "types"), ("person:", "people")):
            if name.startswith(prefix):
                key = name[len(prefix) :]
                # Statuses and types are matched as the import matches them (any case, spaces).
                chosen[part][key if part == "people" else key_of(key)] = value
    return chosen


def _run_jira(pending: PendingImport, project: Project | None, options: dict, *, preview: bool):
    """Create the project (for a new one) and import the file into it; in a preview, inside a
    savepoint that is rolled back."""
    session = db.session()
    savepoint = session.begin_nested() if preview else None
    try:
        if project is None:
            project = project_rules.create_project(
                session,
                key=options["key"],
                name=options["name"],
                timezone=options["timezone"],
                owner=session.get(Account, current_user.id),
            )
        jira = read_jira_csv(pending.content, timezone=options["timezone"], name=pending.filename)
        ctx = load_context(session, project)
        proposal = propose(jira, ctx, options.get("chosen"))
        outcome = import_jira(
            session, project, jira, proposal.choices(), by=current_user, now=utcnow()
        )
    finally:
        if savepoint is not None:
            savepoint.rollback()
    if preview:
        session.expire_all()
        return project, outcome, proposal
    return project, outcome


# --- planner's own format ----------------------------------------------------------------------


# A project's export is kept in memory up to this size, on disk beyond it, while it is sent.
EXPORT_SPOOL_BYTES = 4 * 2**20


@bp.get("/projects/<key>/export.json")
@project_route(write="manage")
def export(access: ProjectAccess):
    if not access.can_manage:
        abort(403, description="Only members with manage access download the project's export.")
    # Written piece by piece into a file that stays in memory while small and moves to disk
    # when large, then sent from there: a big project is never one string in memory, and the
    # database session is done with before the first byte is sent (a download left unread must
    # not keep a transaction open).
    spool = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_BYTES)
    for piece in export_text(db.session(), access.project):
        spool.write(piece.encode("utf-8"))
    spool.seek(0)
    stem = f"{access.project.key}-planner-export-{utcnow():%Y-%m-%d}"
    response = download(wrap_file(request.environ, spool), stem, "json", "application/json")
    response.direct_passthrough = True
    return response


def _require_admin() -> None:
    if not current_user.is_admin:
        abort(403, description="Only site admins create projects from a planner-export file.")


@bp.route("/admin/import", methods=["GET", "POST"])
@accepts_upload(MAX_FILE_BYTES)
def export_upload():
    _require_admin()
    error = None
    if request.method == "POST":
        data, name, error = _read_file(MAX_FILE_BYTES)
        if error is None and data is not None:
            token = _keep(data, name, "planner-export", None, {})
            return redirect(url_for("imports.export_preview", token=token))
    return render_template(
        "imports/export_upload.html", error=error, form=EmptyForm(), limits=_limits()
    ), (422 if error else 200)


@bp.route("/admin/import/<token>", methods=["GET", "POST"])
def export_preview(token: str):
    _require_admin()
    session = db.session()
    pending = _pending(token, None, "planner-export")
    plan, problems = None, []
    try:
        document = parse_document(pending.content)
        existing = set(session.scalars(select(Project.key)))
        plan, problems = check_document(document, existing_project_keys=existing)
    except ImportRefused as exc:
        problems = exc.problems
    if request.method == "POST":
        if not EmptyForm().validate():
            abort(400, description="The form has expired; reload the page.")
        if request.form.get("action") == "cancel" or plan is None:
            session.delete(pending)
            session.commit()
            flash("Import cancelled; nothing was changed.", "success")
            return redirect(url_for("imports.export_upload"))
        try:
            project = import_document(
                session, document, hash_method=current_app.config["PASSWORD_HASH_METHOD"]
            )
        except ImportRefused as exc:
            session.rollback()
            problems = exc.problems
        else:
            session.delete(pending)
            session.commit()
            flash(f"Imported project {project.key} ({project.name}).", "success")
            return redirect(url_for("projects.show", key=project.key))
    return render_template(
        "imports/export_preview.html",
        pending=pending,
        plan=plan,
        problems=problems[:500],
        more=max(len(problems) - 500, 0),
        form=EmptyForm(),
    ), (422 if problems else 200)
