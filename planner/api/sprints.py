"""API: a sprint's numbers and a project's velocity, by the burndown rules of docs/rules.md."""

from __future__ import annotations

import dataclasses

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import select

from planner import db, scope_changes
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.serialize import sprint_json
from planner.api.spec import answers, spec
from planner.authz import project_route, sprint_route
from planner.domain import ValidationError
from planner.domain.access import ProjectAccess
from planner.domain.backlog import move_to_sprint, stories_by_keys
from planner.domain.context import load_context
from planner.domain.history import calendar_of, load_series
from planner.domain.reports import points_by_stage, sprint_report
from planner.domain.series import series_for, series_for_many
from planner.domain.sprints import (
    capacity_plan,
    close_sprint,
    create_sprint,
    project_sprints,
    set_capacity,
    start_sprint,
    update_sprint,
)
from planner.metrics import STATUS_KEYS, summarize, velocity
from planner.models import Sprint, Story
from planner.timeutil import utcnow


def _unique(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))


@bp.get("/sprints/<int:sprint_id>")
@sprint_route()
@spec.validate(resp=answers(200, schemas.SprintNumbers, 404), tags=["sprints"])
def sprint(access: ProjectAccess, sprint: Sprint):
    """The sprint with committed (at the start), scope, completed and remaining (at the last
    sprint day's moment) in points, and the stories added and removed after the start."""
    return jsonify(sprint_numbers(access, sprint))


def sprint_numbers(access: ProjectAccess, sprint: Sprint) -> dict:
    series = load_series(db.session(), access.project, [sprint], now=utcnow())[sprint.id]
    final = series.final
    return {
        **sprint_json(sprint),
        "committed": series.committed.remaining("points"),
        "scope": final.scope_points,
        "completed": final.done_points,
        "remaining": final.remaining("points"),
        "added": _unique([c.story for c in series.added()]),
        "removed": _unique([c.story for c in series.removed()]),
    }


@bp.post("/projects/<key>/sprints")
@project_route(write="manage")
@spec.validate(
    json=schemas.SprintCreate,
    resp=answers(201, schemas.SprintOut, 400, 403, 404, 409, 422),
    tags=["sprints"],
)
def create_sprint_json(access: ProjectAccess):
    """Plan a sprint: name, first and last day (at most 56 days), goal."""
    session = db.session()
    sprint = create_sprint(session, access.project, json_body())
    session.commit()
    return jsonify(sprint_json(sprint)), 201


@bp.patch("/sprints/<int:sprint_id>")
@sprint_route(write="manage")
@spec.validate(
    json=schemas.SprintPatch,
    resp=answers(200, schemas.SprintOut, 400, 403, 404, 409, 422),
    tags=["sprints"],
)
def update_sprint_json(access: ProjectAccess, sprint: Sprint):
    """Rename a sprint or change its goal; its dates only while it is planned."""
    session = db.session()
    update_sprint(session, access.project, sprint, json_body())
    session.commit()
    return jsonify(sprint_json(sprint))


@bp.post("/sprints/<int:sprint_id>/start")
@sprint_route(write="manage")
@spec.validate(resp=answers(200, schemas.SprintNumbers, 403, 404, 409), tags=["sprints"])
def start_sprint_json(access: ProjectAccess, sprint: Sprint):
    """Start a planned sprint: what it holds now is its commitment (409 while another runs)."""
    session = db.session()
    start_sprint(session, access.project, sprint, now=utcnow(), by=current_user)
    session.commit()
    return jsonify(sprint_numbers(access, sprint))


@bp.post("/sprints/<int:sprint_id>/close")
@sprint_route(write="manage")
@spec.validate(
    json=schemas.SprintClose,
    resp=answers(200, schemas.SprintClosed, 400, 403, 404, 409, 422),
    tags=["sprints"],
)
def close_sprint_json(access: ProjectAccess, sprint: Sprint):
    """Close the active sprint. Each unfinished story goes to the next sprint or back to the top
    of the backlog, moved at the closing moment, so the closed sprint's charts never change."""
    session = db.session()
    ctx = load_context(session, access.project)
    body = json_body()
    default = body.get("default", "next")
    decisions = {}
    for story_key, where in (body.get("stories") or {}).items():
        number = _number_in(access.project.key, story_key)
        story_id = _story_id(session, access.project.id, number)
        if story_id is None:
            raise ValidationError({"stories": f"{story_key!r:.60} is not a story of this sprint."})
        decisions[story_id] = where
    unfinished = [s.id for s in _unfinished(session, sprint)]
    decisions = {story_id: decisions.get(story_id, default) for story_id in unfinished} | decisions
    result = close_sprint(
        session,
        ctx,
        sprint,
        decisions,
        calendar=calendar_of(session, access.project),
        by=current_user,
        now=utcnow(),
    )
    session.commit()
    key = access.project.key
    return jsonify(
        {
            "sprint": sprint_numbers(access, sprint),
            "next_sprint": sprint_json(result.next_sprint) if result.next_sprint else None,
            "to_next": [s.key_in(key) for s in result.to_next],
            "to_backlog": [s.key_in(key) for s in result.to_backlog],
        }
    )


def _number_in(project_key: str, story_key: str) -> int | None:
    prefix = f"{project_key}-"
    tail = story_key[len(prefix) :] if story_key.startswith(prefix) else ""
    return int(tail) if tail.isdigit() and len(tail) <= 9 else None


def _story_id(session, project_id: int, number: int | None) -> int | None:
    if number is None:
        return None
    return session.scalar(
        select(Story.id).where(Story.project_id == project_id, Story.number == number)
    )


def _unfinished(session, sprint: Sprint) -> list[Story]:
    return list(
        session.scalars(select(Story).where(Story.sprint_id == sprint.id, Story.status != "done"))
    )


@bp.get("/projects/<key>/sprints")
@project_route()
@spec.validate(resp=answers(200, schemas.SprintList, 404), tags=["sprints"])
def project_sprint_list(access: ProjectAccess):
    """The project's sprints, oldest first: id, name, dates, state."""
    return jsonify(
        {"sprints": [sprint_json(s) for s in project_sprints(db.session(), access.project)]}
    )


@bp.get("/sprints/<int:sprint_id>/burndown")
@sprint_route()
@spec.validate(
    query=schemas.BurndownQuery, resp=answers(200, schemas.Burndown, 404, 422), tags=["charts"]
)
def burndown(access: ProjectAccess, sprint: Sprint):
    """The burndown series of docs/rules.md: days, committed, ideal, scope, done, remaining (null
    for days still to come) and the scope changes after the start, in points or stories. The
    scope changes come a page at a time (`scope_limit`, default 100, at most 1000; `scope_offset`)
    with their total and a summary per day that counts them all."""
    unit = request.args.get("unit", "points")
    if unit not in ("points", "stories"):
        raise ValidationError({"unit": "Use unit=points or unit=stories."})
    limit, offset = scope_changes.page_args(request.args)
    row = sprint
    session = db.session()
    series = series_for(session, access.project, row, now=utcnow())  # stored when closed
    session.commit()  # keeps a closed sprint's series computed just now
    data = series.series(unit)
    total = len(series.scope_changes)
    page = series.scope_changes[offset : offset + limit]
    return jsonify(
        {
            "sprint": sprint_json(row),
            "unit": unit,
            "days": data["days"],
            "committed": data["committed"],
            "ideal": [round(value, 4) for value in data["ideal"]],
            "scope": data["scope"],
            "done": data["done"],
            "remaining": data["remaining"],
            "scope_changes": [scope_changes.change_json(c) for c in page],
            "scope_changes_total": total,
            "scope_offset": offset,
            "scope_limit": limit,
            "scope_next_offset": offset + limit if offset + limit < total else None,
            "scope_summary": [d.as_json() for d in scope_changes.per_day(series.scope_changes)],
        }
    )


@bp.get("/projects/<key>/velocity")
@project_route()
@spec.validate(resp=answers(200, schemas.Velocity, 404), tags=["charts"])
def project_velocity(access: ProjectAccess):
    """Committed and completed points of each closed sprint, and the average completed of the
    last three."""
    session = db.session()
    closed = [s for s in project_sprints(session, access.project) if s.state == "closed"]
    v = velocity(series_for_many(session, access.project, closed, now=utcnow()).values())
    session.commit()  # keeps the closed sprints' series computed just now
    return jsonify(
        {
            "sprints": [
                {
                    **sprint_json(_by_id(closed, e.sprint.id)),
                    "committed": e.committed,
                    "completed": e.completed,
                }
                for e in v.sprints
            ],
            "average": round(v.average, 2) if v.average is not None else None,
            "average_of": [e.sprint.name for e in v.window],
        }
    )


def _by_id(sprints, sprint_id):
    return next(s for s in sprints if s.id == sprint_id)


@bp.get("/sprints/<int:sprint_id>/summary")
@sprint_route()
@spec.validate(resp=answers(200, schemas.SprintSummaryOut, 404), tags=["charts"])
def sprint_summary(access: ProjectAccess, sprint: Sprint):
    """What happened to the sprint's scope: committed, added, removed, re-estimated, completed,
    carried over (docs/rules.md, "Sprint charts")."""
    series = load_series(db.session(), access.project, [sprint], now=utcnow())[sprint.id]
    return jsonify({"sprint": sprint_json(sprint), **dataclasses.asdict(summarize(series))})


@bp.get("/sprints/<int:sprint_id>/flow")
@sprint_route()
@spec.validate(resp=answers(200, schemas.Flow, 404), tags=["charts"])
def sprint_flow(access: ProjectAccess, sprint: Sprint):
    """Cumulative flow: stories per status on each sprint day."""
    series = load_series(db.session(), access.project, [sprint], now=utcnow())[sprint.id]
    stories = {
        status: [
            totals.by_status[index] if series.visible(day) else None
            for day, totals in enumerate(series.per_day)
        ]
        for index, status in enumerate(STATUS_KEYS)
    }
    return jsonify(
        {
            "sprint": sprint_json(sprint),
            "days": [d.isoformat() for d in series.days],
            "stories": stories,
        }
    )


@bp.post("/sprints/<int:sprint_id>/stories")
@sprint_route(write="manage")
@spec.validate(
    json=schemas.SprintStories,
    resp=answers(200, schemas.SprintStoryKeys, 400, 403, 404, 409, 422),
    tags=["sprints"],
)
def plan_sprint_stories(access: ProjectAccess, sprint: Sprint):
    """Bring stories into the sprint or send them back to the backlog (a started sprint records
    the change as scope added or removed)."""
    session = db.session()
    ctx = load_context(session, access.project)
    body = json_body()
    for keys, target in ((body.get("add") or [], sprint.id), (body.get("remove") or [], None)):
        numbers = [_number_in(access.project.key, key) for key in keys]
        if None in numbers:
            bad = keys[numbers.index(None)]
            raise ValidationError({"add" if target else "remove": f"{bad!r:.60} is no story key."})
        if numbers:
            stories = stories_by_keys(session, ctx, numbers)
            move_to_sprint(session, ctx, stories, target, by=current_user, now=utcnow())
    session.commit()
    rows = session.scalars(
        select(Story).where(Story.sprint_id == sprint.id).order_by(Story.rank, Story.id)
    )
    return jsonify({"stories": [s.key_in(access.project.key) for s in rows]})


def _capacity(access: ProjectAccess, sprint: Sprint) -> dict:
    session = db.session()
    ctx = load_context(session, access.project)
    closed = [s for s in project_sprints(session, access.project) if s.state == "closed"]
    plan = capacity_plan(
        session,
        ctx,
        sprint,
        list(load_series(session, access.project, closed, now=utcnow()).values()),
    )
    takers = sorted(
        (m for m in ctx.members.values() if m.access != "view"), key=lambda m: m.account.email
    )
    return {
        "saved": not plan.suggested,
        "members": [
            {
                "email": m.account.email,
                "points": plan.saved.get(m.account_id),
                "suggested": plan.defaults.get(m.account_id),
            }
            for m in takers
        ],
    }


@bp.get("/sprints/<int:sprint_id>/capacity")
@sprint_route()
@spec.validate(resp=answers(200, schemas.CapacityOut, 404), tags=["sprints"])
def sprint_capacity(access: ProjectAccess, sprint: Sprint):
    """Planned points per member who takes work, with the suggestion from recent sprints."""
    return jsonify(_capacity(access, sprint))


@bp.put("/sprints/<int:sprint_id>/capacity")
@sprint_route(write="manage")
@spec.validate(
    json=schemas.CapacityIn,
    resp=answers(200, schemas.CapacityOut, 400, 403, 404, 409, 422),
    tags=["sprints"],
)
def set_sprint_capacity(access: ProjectAccess, sprint: Sprint):
    """Replace the sprint's planned capacity (members left out have none)."""
    session = db.session()
    ctx = load_context(session, access.project)
    points: dict[int, object] = {}
    for email, value in json_body()["capacity"].items():
        member = ctx.member_by_email(email)
        if member is None:
            raise ValidationError({"capacity": f"{email!r:.60} is not a member of this project."})
        points[member.account_id] = value
    set_capacity(session, ctx, sprint, points)
    session.commit()
    return jsonify(_capacity(access, sprint))


@bp.get("/sprints/<int:sprint_id>/stages")
@sprint_route()
@spec.validate(resp=answers(200, schemas.StagesReport, 404), tags=["charts"])
def sprint_stage_points(access: ProjectAccess, sprint: Sprint):
    """Where the sprint's points went across the ML lifecycle (its stories at the last day)."""
    session = db.session()
    ctx = load_context(session, access.project)
    totals = points_by_stage(sprint_report(session, ctx, sprint).series)
    names = {s.key: s.name for s in ctx.stages.values()}
    order = [*names, None]
    return jsonify(
        {
            "sprint": sprint_json(sprint),
            "stages": [
                {"stage": key, "name": names.get(key, "No stage"), "points": totals[key]}
                for key in order
                if key in totals
            ],
        }
    )


@bp.get("/sprints/<int:sprint_id>/roles")
@sprint_route()
@spec.validate(resp=answers(200, schemas.RolesReport, 404), tags=["charts"])
def sprint_role_load(access: ProjectAccess, sprint: Sprint):
    """Points the sprint's stories need by functional role, against the capacity of the members
    holding it (saved capacity, or suggested from history when none is saved)."""
    session = db.session()
    report = sprint_report(session, load_context(session, access.project), sprint)
    check = report.check
    return jsonify(
        {
            "sprint": sprint_json(sprint),
            "capacity_source": "suggested" if report.plan.suggested else "saved",
            "roles": [
                {
                    "role": line.role,
                    "name": line.name,
                    "needed": line.needed,
                    "capacity": line.capacity,
                    "over_by": line.over_by,
                }
                for line in check.lines
            ],
            "needed": check.needed,
            "capacity": check.capacity,
            "over_capacity_by": check.over_capacity_by,
            "velocity": round(check.velocity, 2) if check.velocity is not None else None,
        }
    )
