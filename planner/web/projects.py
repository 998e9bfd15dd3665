"""Projects: the list of a person's projects, creating one, a project's stories by stage, its
settings, lifecycle stages and members."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from urllib.parse import parse_qsl, urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from wtforms import StringField

from planner import db
from planner.authz import project_route
from planner.domain import DomainError, views
from planner.domain import projects as rules
from planner.domain.access import ProjectAccess, projects_of
from planner.domain.accounts import check_email, create_account, find_account, normalise_email
from planner.domain.context import load_context
from planner.domain.story_filters import (
    STATUS_CHOICES,
    check_filters,
    filter_clauses,
    filter_query,
    label_choices,
)
from planner.models import Membership, Sprint, Story
from planner.signin import require_login
from planner.timeutil import timezone_names, utcnow
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
    """The Stories list: the project's stories, filtered (done hidden unless asked for), grouped
    by ML stage; saved views above it; edit members add stories inline."""
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
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
    labels = label_choices(ctx)
    filters, problems = check_filters(ctx, request.args, labels=[x.name for x in labels])
    shown = {"status": "open", **filters}  # done stories are hidden unless the filter says
    stories = list(
        session.scalars(
            select(Story)
            .where(Story.project_id == project.id, *filter_clauses(ctx, shown, current_user.id))
            .options(selectinload(Story.labels))
            .order_by(Story.rank, Story.id)
        )
    )
    total = session.scalar(select(func.count(Story.id)).where(Story.project_id == project.id))
    narrowed = any(name != "status" for name in filters)
    groups: dict[int | None, list[Story]] = defaultdict(list)
    for story in stories:
        groups[story.stage_id].append(story)
    sections = [(stage, groups.get(stage.id, [])) for stage in ctx.stages.values()]
    sections = [
        (stage, items) for stage, items in sections if items or not (stage.archived or narrowed)
    ]
    query = filter_query(filters)
    return (
        render_template(
            "projects/show.html",
            access=access,
            project=project,
            ctx=ctx,
            sections=sections,
            unstaged=groups.get(None, []),
            shown=len(stories),
            total=total,
            filters=filters,
            status_filter=shown["status"],
            problems=problems,
            narrowed=narrowed,
            labels=labels,
            statuses=STATUS_CHOICES,
            views=views.views_of(session, project),
            query=query,
            form=form,
            button=EmptyForm(),
        ),
        status,
    )


@bp.post("/projects/<key>/views")
@project_route(write="manage")
def save_view(access: ProjectAccess):
    """Save the Stories list's filter (sent as `query`, the list's query string) as a view."""
    session = db.session()
    ctx = load_context(session, access.project)
    query = request.form.get("query", "")
    args = MultiDict(parse_qsl(query[:2000]))
    # Back to the list as it was filtered, rebuilt from the parsed (and bounded) filter.
    filtered = urlencode(list(args.items(multi=True)))
    back = url_for("projects.show", key=access.project.key) + (f"?{filtered}" if filtered else "")
    return act(
        lambda: views.save_view(
            session, ctx, request.form.get("name"), args, by=current_user, now=utcnow()
        ),
        done=lambda view: f"View “{view.name}” saved; everyone in {access.project.key} sees it.",
        failed="View not saved: ",
        then=lambda view: (
            url_for("projects.show", key=access.project.key)
            + (f"?{view.query}" if view and view.query else "")
        ),
        failed_then=back,
    )


@bp.post("/projects/<key>/views/<int:view_id>/delete")
@project_route(write="manage")
def delete_view(access: ProjectAccess, view_id: int):
    session = db.session()
    view = views.view_by_id(session, access.project, view_id)
    if view is None:
        abort(404)
    name = view.name
    return act(
        lambda: views.delete_view(session, view),
        done=f"View “{name}” deleted.",
        then=url_for("projects.show", key=access.project.key),
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
        form.mlflow_tracking_uri.data = project.mlflow_tracking_uri or ""
        form.enforce_gates.data = project.enforce_gates
    else:
        form.validate()
        values, errors = _settings_values(form)
        holidays = values.pop("holidays")
        mlflow = {  # MLflow and gates (docs/rules.md, "Artefact links")
            "mlflow_tracking_uri": (form.mlflow_tracking_uri.data or "").strip(),
            "enforce_gates": bool(form.enforce_gates.data),
        }
        values.update(mlflow)
        errors = {
            **errors,
            **rules.check_settings(mlflow, stored_uri=project.mlflow_tracking_uri),
        }
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


class InviteMemberForm(MemberForm):
    """The add-member form of a site admin, who may also create the account (name) first."""

    name = StringField("Name")


@bp.route("/projects/<key>/members", methods=["GET", "POST"])
@project_route(write="manage")
def members(access: ProjectAccess):
    session = db.session()
    project = access.project
    form = (InviteMemberForm if current_user.is_admin else MemberForm)(prefix="add")
    status = 200
    invite = None  # an address with no account yet, which a site admin may create from here
    creating = request.method == "POST" and request.form.get("action") == "create"
    if creating and not current_user.is_admin:
        abort(403, description="Only site admins create accounts.")
    if request.method == "POST":

        def add():
            if creating:
                account = create_account(
                    session,
                    email=form.email.data or "",
                    name=form.name.data or "",
                    password=None,
                    hash_method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"),
                )
            else:
                account = rules.account_to_add(
                    session, project, current_user, form.email.data or ""
                )
            rules.add_member(
                session, project, account, access=form.access.data, roles=form.roles.data or []
            )
            return account

        outcome = submit(
            form,
            add,
            done=lambda account: (
                f"Account for {account.email} created without a password (set one under "
                f"Users) and added with {form.access.data} access."
                if creating
                else f"{account.name} added with {form.access.data} access."
            ),
            then=url_for("projects.members", key=project.key),
            blame="email",
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        address = normalise_email(form.email.data or "")
        if (
            current_user.is_admin
            and not check_email(address)
            and find_account(session, address) is None
        ):
            invite = address
            if not creating:
                form.email.errors = [f"There is no account for {address} yet."]
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
            invite=invite,
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
