"""API: a sprint's numbers and a project's velocity, by the burndown rules of docs/rules.md."""

from __future__ import annotations

from flask import jsonify, request

from planner import db
from planner.api import bp, schemas
from planner.api.serialize import sprint_json
from planner.api.spec import answers, spec
from planner.authz import project_route, sprint_route
from planner.domain import ValidationError
from planner.domain.access import ProjectAccess
from planner.domain.history import load_series
from planner.domain.sprints import project_sprints
from planner.metrics import velocity
from planner.models import Sprint
from planner.timeutil import utcnow


def _unique(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(keys))


@bp.get("/sprints/<int:sprint_id>")
@sprint_route()
@spec.validate(resp=answers(200, schemas.SprintNumbers, 404), tags=["sprints"])
def sprint(access: ProjectAccess, sprint: Sprint):
    """The sprint with committed (at the start), scope, completed and remaining (at the last
    sprint day's moment) in points, and the stories added and removed after the start."""
    row = sprint
    series = load_series(db.session(), access.project, [row], now=utcnow())[row.id]
    final = series.final
    return jsonify(
        {
            **sprint_json(row),
            "committed": series.committed.remaining("points"),
            "scope": final.scope_points,
            "completed": final.done_points,
            "remaining": final.remaining("points"),
            "added": _unique([c.story for c in series.added()]),
            "removed": _unique([c.story for c in series.removed()]),
        }
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
    for days still to come) and the scope changes after the start, in points or stories."""
    unit = request.args.get("unit", "points")
    if unit not in ("points", "stories"):
        raise ValidationError({"unit": "Use unit=points or unit=stories."})
    row = sprint
    series = load_series(db.session(), access.project, [row], now=utcnow())[row.id]
    data = series.series(unit)
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
            "scope_changes": [
                {
                    "day": change.day.isoformat(),
                    "story": change.story,
                    "change": change.change,
                    "points": change.points,
                }
                for change in series.scope_changes
            ],
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
    v = velocity(load_series(session, access.project, closed, now=utcnow()).values())
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
