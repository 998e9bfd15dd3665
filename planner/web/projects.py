"""Projects: the list of a person's projects, creating one, a project's stories by stage, its
settings, lifecycle stages and members."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from planner import db
from planner.authz import project_route
from planner.domain import DomainError
from planner.domain import projects as rules
from planner.domain.access import ProjectAccess, projects_of
from planner.domain.context import load_context
from planner.models import Membership, Sprint, Story
from planner.signin import require_login
from planner.timeutil import timezone_names
from planner.web.forms import (
    EmptyForm,
    MemberEditForm,
    MemberForm,
    ProjectForm,
    QuickStoryForm,
    StageForm,
    act,
    attach_errors,
    quick_create,
    submit,
)

bp = Blueprint("projects", __name__)
bp.before_request(require_login)


@bp.get("/")
def index():
    session = db.session()
    accesses = projects_of(session, current_user)
    ids = [a.project.id for a in accesses]
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"stories": 0, "open": 0})
    active: dict[int, Sprint] = {}
    if ids:
        for project_id, total, open_count in session.execute(
            select(
                Story.project_id,
                func.count(Story.id),
                func.sum(case((Story.status != "done", 1), else_=0)),
            )
            .where(Story.project_id.in_(ids))
            .group_by(Story.project_id)
        ):
            counts[project_id] = {"stories": total, "open": int(open_count or 0)}
        for sprint in session.scalars(
            select(Sprint).where(Sprint.project_id.in_(ids), Sprint.state == "active")
        ):
            active[sprint.project_id] = sprint
    return render_template("projects/index.html", accesses=accesses, counts=counts, active=active)


def _parse_holidays(text: str | None) -> tuple[list[date], str | None]:
    days: list[date] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            days.append(date.fromisoformat(line))
        except ValueError:
            return [], f"Line {number}: {line!r} is not a date in the form YYYY-MM-DD."
    return days, None


def _settings_values(form: ProjectForm) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    holidays, problem = _parse_holidays(form.holidays.data)
    if problem:
        errors["holidays"] = problem
    try:
        working_days = [int(day) for day in form.working_days.data or []]
    except ValueError:
        working_days = []
    values = {
        "name": form.name.data or "",
        "description": form.description.data,
        "timezone": (form.timezone.data or "").strip(),
        "working_days": working_days,
        "sprint_length_days": form.sprint_length_days.data,
        "slip_tolerance_days": form.slip_tolerance_days.data,
    }
    for field in ("sprint_length_days", "slip_tolerance_days"):
        if form[field].errors or values[field] is None:
            errors[field] = "Enter a whole number."
            form[field].errors = []
    # Report every problem at once, not only the ones the form itself could see.
    checked = {k: v for k, v in values.items() if k not in errors}
    errors = {**rules.check_settings(checked), **errors}
    return {**values, "holidays": holidays}, errors


@bp.route("/projects/new", methods=["GET", "POST"])
def new():
    form = ProjectForm()
    if request.method == "POST":
        form.validate()
        values, errors = _settings_values(form)
        if not errors:
            try:
                project = rules.create_project(
                    db.session(),
                    key=(form.key.data or "").strip().upper(),
                    owner=current_user,
                    **values,
                )
            except DomainError as exc:
                db.session().rollback()
                errors = exc.details or {"key": exc.message}
            else:
                db.session().commit()
                flash(f"Project {project.key} created. You manage it.", "success")
                return redirect(url_for("projects.show", key=project.key))
        attach_errors(form, errors)
        return render_template("projects/new.html", form=form, timezones=timezone_names()), 422
    return render_template("projects/new.html", form=form, timezones=timezone_names())


@bp.route("/projects/<key>", methods=["GET", "POST"])
@project_route(write="edit")
def show(access: ProjectAccess):
    """The project's stories grouped by ML stage; edit members add stories inline."""
    session = db.session()
    ctx = load_context(session, access.project)
    form = QuickStoryForm.for_project(ctx)
    status = 200
    if request.method == "POST":
        outcome = quick_create(
            ctx,
            form,
            done="{key} created.",
            then=lambda story: url_for("projects.show", key=ctx.project.key) + f"#s{story.number}",
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
    stories = list(
        session.scalars(
            select(Story)
            .where(Story.project_id == access.project.id)
            .order_by(Story.rank, Story.id)
        )
    )
    groups: dict[int | None, list[Story]] = defaultdict(list)
    for story in stories:
        groups[story.stage_id].append(story)
    sections = [(stage, groups.get(stage.id, [])) for stage in ctx.stages.values()]
    sections = [(stage, items) for stage, items in sections if items or not stage.archived]
    return (
        render_template(
            "projects/show.html",
            access=access,
            project=access.project,
            ctx=ctx,
            sections=sections,
            unstaged=groups.get(None, []),
            total=len(stories),
            form=form,
        ),
        status,
    )


@bp.route("/projects/<key>/settings", methods=["GET", "POST"])
@project_route(write="manage")
def settings(access: ProjectAccess):
    session = db.session()
    project = access.project
    if not access.can_manage:
        abort(403, description="Only members with manage access change a project's settings.")
    form = ProjectForm(obj=None)
    status = 200
    if request.method == "GET":
        form.name.data = project.name
        form.description.data = project.description or ""
        form.timezone.data = project.timezone
        form.working_days.data = [str(d) for d in project.working_weekdays]
        form.holidays.data = "\n".join(d.isoformat() for d in rules.holidays_of(session, project))
        form.sprint_length_days.data = project.sprint_length_days
        form.slip_tolerance_days.data = project.slip_tolerance_days
    else:
        form.validate()
        values, errors = _settings_values(form)
        holidays = values.pop("holidays")
        if not errors:
            try:
                rules.update_settings(session, project, values)
                rules.set_holidays(session, project, holidays)
            except DomainError as exc:
                session.rollback()
                errors = exc.details or {"name": exc.message}
            else:
                session.commit()
                flash("Settings saved.", "success")
                return redirect(url_for("projects.settings", key=project.key))
        attach_errors(form, errors)
        status = 422
    return (
        render_template(
            "projects/settings.html",
            access=access,
            project=project,
            form=form,
            stages=rules.stages_of(session, project),
            stage_form=StageForm(prefix="stage"),
            button=EmptyForm(),
            timezones=timezone_names(),
        ),
        status,
    )


@bp.post("/projects/<key>/stages")
@project_route(write="manage")
def add_stage(access: ProjectAccess):
    session = db.session()
    form = StageForm(prefix="stage")
    back = url_for("projects.settings", key=access.project.key) + "#stages"
    if not form.validate():
        return redirect(back)
    return act(
        lambda: rules.add_stage(
            session, access.project, key=form.key.data or "", name=form.name.data or ""
        ),
        done=lambda stage: f"Stage {stage.name} added.",
        failed="Stage not added: ",
        then=back,
    )


@bp.post("/projects/<key>/stages/<stage_key>")
@project_route(write="manage")
def edit_stage(access: ProjectAccess, stage_key: str):
    """Rename, move up or down, archive or restore one stage (the button pressed says which)."""
    session = db.session()
    stages = rules.stages_of(session, access.project)
    stage = next((s for s in stages if s.key == stage_key), None)
    if stage is None:
        abort(404)
    action = request.form.get("action", "")
    if action not in ("rename", "up", "down", "archive", "restore"):
        abort(400, description=f"Unknown stage action {action!r:.40}.")

    def change() -> None:
        if action == "rename":
            rules.rename_stage(session, stage, request.form.get("name", ""))
        elif action in ("up", "down"):
            keys = [s.key for s in stages]
            i = keys.index(stage_key)
            j = i - 1 if action == "up" else i + 1
            if 0 <= j < len(keys):
                keys[i], keys[j] = keys[j], keys[i]
                rules.reorder_stages(session, access.project, keys)
        else:
            rules.set_stage_archived(session, stage, action == "archive")

    return act(
        change,
        done=lambda _: f"Stage {stage.name} updated.",
        failed="Stage not changed: ",
        then=url_for("projects.settings", key=access.project.key) + "#stages",
    )


@bp.route("/projects/<key>/members", methods=["GET", "POST"])
@project_route(write="manage")
def members(access: ProjectAccess):
    session = db.session()
    project = access.project
    form = MemberForm(prefix="add")
    status = 200
    if request.method == "POST":

        def add():
            account = rules.account_to_add(session, project, current_user, form.email.data or "")
            rules.add_member(
                session, project, account, access=form.access.data, roles=form.roles.data or []
            )
            return account

        outcome = submit(
            form,
            add,
            done=lambda account: f"{account.name} added with {form.access.data} access.",
            then=url_for("projects.members", key=project.key),
            blame="email",
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
    memberships = rules.members_of(session, project)
    edit_forms = {}
    for membership in memberships:
        edit_form = MemberEditForm(prefix=f"m{membership.id}", formdata=None)
        edit_form.access.data = membership.access
        edit_form.roles.data = membership.roles
        edit_forms[membership.id] = edit_form
    return (
        render_template(
            "projects/members.html",
            access=access,
            project=project,
            memberships=memberships,
            form=form,
            edit_forms=edit_forms,
            button=EmptyForm(),
            addable=rules.addable_accounts(session, project, current_user)
            if access.can_manage
            else [],
        ),
        status,
    )


@bp.post("/projects/<key>/members/<int:membership_id>")
@project_route(write="manage")
def update_member(access: ProjectAccess, membership_id: int):
    session = db.session()
    membership = session.scalar(
        select(Membership)
        .where(Membership.id == membership_id, Membership.project_id == access.project.id)
        .options(selectinload(Membership.role_rows))
    )
    if membership is None:
        abort(404)
    form = MemberEditForm(prefix=f"m{membership.id}")
    if not form.validate():
        abort(400)
    back = url_for("projects.members", key=access.project.key)
    if request.form.get("action") == "remove":
        return act(
            lambda: rules.remove_member(session, access.project, membership),
            done="Member removed.",
            then=back,
        )
    return act(
        lambda: rules.update_member(
            session,
            access.project,
            membership,
            access=form.access.data,
            roles=form.roles.data or [],
        ),
        done="Member updated.",
        then=back,
    )
