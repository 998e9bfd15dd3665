"""Sprint pages: the list with a new-sprint form, editing, the planning view (backlog beside the
sprint, capacity per member, load by role, velocity), start, close with carry-over, and a sprint's
summary."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from planner import db
from planner.authz import project_route
from planner.domain import parse_id
from planner.domain.access import ProjectAccess
from planner.domain.backlog import move_to_sprint, stories_by_keys
from planner.domain.context import ProjectContext, load_context
from planner.domain.dependencies import plan_warnings
from planner.domain.gates import UNDER_WAY, gate_warnings
from planner.domain.history import calendar_of, load_series
from planner.domain.sprints import (
    capacity_plan,
    close_problem,
    close_sprint,
    create_sprint,
    project_sprints,
    set_capacity,
    start_dates,
    start_sprint,
    suggest_sprint,
    update_sprint,
)
from planner.metrics import summarize, velocity
from planner.models import Sprint, Story
from planner.planning import check_plan
from planner.signin import require_login
from planner.timeutil import local_date, utcnow
from planner.web.forms import EmptyForm, SprintForm, act, submit
from planner.web.reports import build_report

bp = Blueprint("sprints", __name__)
bp.before_request(require_login)


def _sprint(ctx: ProjectContext, sprint_id: int) -> Sprint:
    sprint = ctx.sprints.get(sprint_id)
    if sprint is None:
        abort(404)
    return sprint


def _form_values(form: SprintForm) -> dict:
    return {
        "name": form.name.data or "",
        "goal": form.goal.data,
        "start": form.start.data or "",
        "end": form.end.data or "",
    }


@bp.route("/projects/<key>/sprints", methods=["GET", "POST"])
@project_route(write="manage")
def index(access: ProjectAccess):
    session = db.session()
    project = access.project
    sprints = project_sprints(session, project)
    calendar = calendar_of(session, project)
    form = SprintForm()
    status = 200
    if request.method == "POST":
        outcome = submit(
            form,
            lambda: create_sprint(session, project, _form_values(form)),
            done=lambda sprint: f"{sprint.name} created. Plan it: pick stories and check capacity.",
            then=lambda sprint: url_for("sprints.plan", key=project.key, sprint_id=sprint.id),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        sprints = project_sprints(session, project)
    else:
        draft = suggest_sprint(project, sprints, calendar, local_date(utcnow(), project.timezone))
        form.name.data, form.start.data, form.end.data = (
            draft.name,
            draft.start.isoformat(),
            draft.end.isoformat(),
        )
    shown = [s for s in sprints if s.state != "planned"]
    series = load_series(session, project, shown, now=utcnow(), calendar=calendar)
    counts = _story_counts(session, project)
    return (
        render_template(
            "sprints/index.html",
            access=access,
            project=project,
            sprints=list(reversed(sprints)),
            series=series,
            summaries={sid: summarize(s) for sid, s in series.items()},
            velocity=velocity(series.values()),
            counts=counts,
            form=form,
        ),
        status,
    )


def _story_counts(session, project) -> dict[int, tuple[int, int]]:
    """Current stories and points per sprint."""
    rows = session.execute(
        select(Story.sprint_id, func.count(Story.id), func.coalesce(func.sum(Story.points), 0))
        .where(Story.project_id == project.id, Story.sprint_id.is_not(None))
        .group_by(Story.sprint_id)
    )
    return {sprint_id: (count, int(points)) for sprint_id, count, points in rows}


@bp.route("/projects/<key>/sprints/<int:sprint_id>/edit", methods=["GET", "POST"])
@project_route(write="manage")
def edit(access: ProjectAccess, sprint_id: int):
    access.require("manage")
    session = db.session()
    ctx = load_context(session, access.project)
    sprint = _sprint(ctx, sprint_id)
    form = SprintForm()
    status = 200
    if request.method == "GET":
        form.name.data, form.goal.data = sprint.name, sprint.goal or ""
        form.start.data, form.end.data = sprint.start_date.isoformat(), sprint.end_date.isoformat()
    else:
        outcome = submit(
            form,
            lambda: update_sprint(session, access.project, sprint, _form_values(form)),
            done=lambda _: f"{sprint.name} saved.",
            then=url_for("sprints.plan", key=access.project.key, sprint_id=sprint.id),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
    return (
        render_template(
            "sprints/edit.html", access=access, project=access.project, sprint=sprint, form=form
        ),
        status,
    )


def _capacity_view(session, ctx: ProjectContext, sprint: Sprint, calendar):
    """Capacity rows, history-based defaults and velocity for the planning view."""
    closed = [s for s in ctx.sprints.values() if s.state == "closed"]
    history = load_series(session, ctx.project, closed, now=utcnow(), calendar=calendar)
    plan = capacity_plan(session, ctx, sprint, list(history.values()))
    takers = sorted(
        (m for m in ctx.members.values() if m.access != "view"), key=lambda m: m.account.name
    )
    return {
        "takers": takers,
        "saved": plan.saved,
        "defaults": plan.defaults,
        "effective": plan.effective,
        "velocity": velocity(history.values()),
    }


@bp.route("/projects/<key>/sprints/<int:sprint_id>/plan", methods=["GET", "POST"])
@project_route(write="manage")
def plan(access: ProjectAccess, sprint_id: int):
    """One screen: the backlog beside the sprint, capacity per member, load by role, velocity."""
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    sprint = _sprint(ctx, sprint_id)
    if request.method == "POST":
        return _plan_action(session, access, ctx, sprint)
    calendar = calendar_of(session, project)
    stories = list(
        session.scalars(
            select(Story)
            .where(Story.project_id == project.id)
            .where((Story.sprint_id == sprint.id) | Story.sprint_id.is_(None))
            .order_by(Story.rank, Story.id)
        )
    )
    in_sprint = [s for s in stories if s.sprint_id == sprint.id]
    backlog = [s for s in stories if s.sprint_id is None]
    capacity = _capacity_view(session, ctx, sprint, calendar)
    check = _plan_check(ctx, in_sprint, capacity)
    return render_template(
        "sprints/plan.html",
        access=access,
        project=project,
        ctx=ctx,
        sprint=sprint,
        in_sprint=in_sprint,
        backlog=backlog,
        check=check,
        button=EmptyForm(),
        dependency_warnings=plan_warnings(  # story_parts: blockers planned too late
            session, sprint, in_sprint, project.key, current_user
        ),
        gate_warnings=gate_warnings(  # gates: planned work behind an open or no-go gate
            session, ctx, in_sprint, statuses=("todo", *UNDER_WAY)
        ),
        **capacity,
    )


def _plan_action(session, access: ProjectAccess, ctx: ProjectContext, sprint: Sprint):
    back = url_for("sprints.plan", key=access.project.key, sprint_id=sprint.id)
    action = request.form.get("action")
    if action in ("add", "remove"):
        numbers = [n for n in map(parse_id, request.form.getlist("story")) if n is not None]
        if not numbers:
            flash("Tick the stories first.", "error")
            return redirect(back)
        where = f"to {sprint.name}" if action == "add" else "back to the backlog"
        return act(
            lambda: move_to_sprint(
                session,
                ctx,
                stories_by_keys(session, ctx, numbers),
                sprint.id if action == "add" else None,
                by=current_user,
                now=utcnow(),
            ),
            done=lambda moved: f"Moved {moved} stor{'y' if moved == 1 else 'ies'} {where}.",
            then=back,
        )
    if action == "capacity":
        points = {
            m.account_id: request.form.get(f"capacity-{m.account_id}")
            for m in ctx.members.values()
            if m.access != "view" and f"capacity-{m.account_id}" in request.form
        }
        return act(
            lambda: set_capacity(session, ctx, sprint, points), done="Capacity saved.", then=back
        )
    abort(400, description=f"Unknown planning action {action!r:.40}.")


def _commitment(session, ctx: ProjectContext, sprint: Sprint, calendar):
    """The sprint's stories, the capacity view and the plan check: what starting commits to."""
    stories = list(
        session.scalars(
            select(Story).where(Story.sprint_id == sprint.id).order_by(Story.rank, Story.id)
        )
    )
    capacity = _capacity_view(session, ctx, sprint, calendar)
    return stories, capacity, _plan_check(ctx, stories, capacity)


def _plan_check(ctx: ProjectContext, stories: list[Story], capacity: dict):
    """The plan check of `stories` against the capacity view: one place for planning and start."""
    return check_plan(
        [(s.role, s.points) for s in stories],
        capacity["effective"],
        {m.account_id: m.roles for m in ctx.members.values()},
        {m.account_id: m.account.name for m in ctx.members.values()},
        capacity["velocity"].average,
    )


def _fingerprint(stories: list[Story]) -> str:
    """What the person confirming saw: the stories and their points, in a short stable form."""
    return ",".join(
        f"{s.id}:{s.points if s.points is not None else '-'}"
        for s in sorted(stories, key=lambda s: s.id)
    )


@bp.route("/projects/<key>/sprints/<int:sprint_id>/start", methods=["GET", "POST"])
@project_route(write="manage")
def start(access: ProjectAccess, sprint_id: int):
    """Start a sprint through a confirmation: today as the proposed start, the commitment against
    velocity and capacity, and the chance to adjust the dates or the plan first."""
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    sprint = _sprint(ctx, sprint_id)
    calendar = calendar_of(session, project)
    today = local_date(utcnow(), project.timezone)
    form = SprintForm()
    status = 200
    running = next(
        (s for s in ctx.sprints.values() if s.state == "active" and s.id != sprint.id), None
    )
    stories, capacity, check = _commitment(session, ctx, sprint, calendar)
    seen = _fingerprint(stories)
    changed = False
    if request.method == "GET" or sprint.state != "planned" or running is not None:
        form.start.data, form.end.data = (
            d.isoformat() for d in start_dates(calendar, sprint, today)
        )
    if request.method == "POST" and sprint.state == "planned" and running is None:
        if request.form.get("seen", seen) != seen:
            changed = True
            status = 409
        else:
            outcome = submit(
                form,
                lambda: start_sprint(
                    session,
                    project,
                    sprint,
                    now=utcnow(),
                    by=current_user,
                    # A post without dates (a script, an older page) keeps the planned ones,
                    # as the API does.
                    dates={"start": form.start.data or "", "end": form.end.data or ""}
                    if "start" in request.form or "end" in request.form
                    else None,
                ),
                done=lambda _: f"{sprint.name} started. What it holds now is the commitment.",
                then=url_for("sprints.show", key=project.key, sprint_id=sprint.id),
            )
            if outcome.response:
                return outcome.response
            status = outcome.status
    elif request.method == "POST":
        status = 409
    return (
        render_template(
            "sprints/start.html",
            access=access,
            project=project,
            sprint=sprint,
            form=form,
            stories=stories,
            check=check,
            saved=capacity["saved"],
            velocity=capacity["velocity"],
            running=running,
            seen=seen,
            changed=changed,
            planned=(sprint.start_date, sprint.end_date),
            today=today,
        ),
        status,
    )


@bp.route("/projects/<key>/sprints/<int:sprint_id>/close", methods=["GET", "POST"])
@project_route(write="manage")
def close(access: ProjectAccess, sprint_id: int):
    access.require("manage")
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    sprint = _sprint(ctx, sprint_id)
    if problem := close_problem(sprint):
        flash(problem, "error")
        return redirect(url_for("sprints.show", key=project.key, sprint_id=sprint_id))
    unfinished = list(
        session.scalars(
            select(Story)
            .where(Story.sprint_id == sprint.id, Story.status != "done")
            .order_by(Story.rank, Story.id)
        )
    )
    calendar = calendar_of(session, project)
    if request.method == "POST":
        everything = request.form.get("all")
        decisions = {
            story.id: everything or request.form.get(f"decision-{story.id}", "next")
            for story in unfinished
        }
        return act(
            lambda: close_sprint(
                session, ctx, sprint, decisions, calendar=calendar, by=current_user, now=utcnow()
            ),
            done=lambda result: _closed_message(sprint, result),
            then=url_for("sprints.show", key=project.key, sprint_id=sprint_id),
            failed_then=url_for("sprints.close", key=project.key, sprint_id=sprint_id),
        )
    planned = sorted(
        (s for s in ctx.sprints.values() if s.state == "planned"),
        key=lambda s: (s.start_date, s.id),
    )
    upcoming = planned[0] if planned else None
    draft = None
    if upcoming is None:
        draft = suggest_sprint(
            project, list(ctx.sprints.values()), calendar, local_date(utcnow(), project.timezone)
        )
    return render_template(
        "sprints/close.html",
        access=access,
        project=project,
        ctx=ctx,
        sprint=sprint,
        unfinished=unfinished,
        upcoming=upcoming,
        draft=draft,
        button=EmptyForm(),
    )


@bp.get("/projects/<key>/sprints/<int:sprint_id>")
@project_route(write="manage")
def show(access: ProjectAccess, sprint_id: int):
    """A sprint's summary (commitment, scope changes, completion, carry-over) and its charts."""
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    sprint = _sprint(ctx, sprint_id)
    report = build_report(session, ctx, sprint, request.args.get("unit", "points"))
    series = report.series
    current = (
        {
            s.id: s
            for s in session.scalars(
                select(Story).where(Story.id.in_([st.id for st in series.final_stories]))
            )
        }
        if series.final_stories
        else {}
    )
    return render_template(
        "sprints/show.html",
        access=access,
        project=project,
        ctx=ctx,
        sprint=sprint,
        series=series,
        summary=report.summary,
        report=report,
        current=current,
        button=EmptyForm(),
    )


def _closed_message(sprint, result) -> str:
    parts = [f"{sprint.name} closed."]
    if result.to_next:
        parts.append(f"{len(result.to_next)} carried over to {result.next_sprint.name}.")
    if result.to_backlog:
        parts.append(f"{len(result.to_backlog)} back at the top of the backlog.")
    return " ".join(parts)
