"""API: milestones with their slip and forecasts, and re-forecasting (manage access)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import milestone_route, project_route
from planner.domain.access import ProjectAccess
from planner.domain.milestones import add_forecast, milestones_of, state_of
from planner.models import Milestone, Project, Stage
from planner.timeutil import local_date, utcnow


def milestone_json(milestone: Milestone, project: Project, stage_keys: dict[int, str]) -> dict:
    state = state_of(milestone, project.slip_tolerance_days)
    return {
        "id": milestone.id,
        "name": milestone.name,
        "stage": stage_keys.get(milestone.stage_id),
        "baseline": milestone.baseline.isoformat(),
        "forecast": state.current.isoformat(),
        "achieved": milestone.achieved.isoformat() if milestone.achieved else None,
        "slip_days": state.slip_days,
        "status": state.status,
        "forecasts": [
            {
                "reported_on": f.reported_on.isoformat(),
                "forecast": f.forecast.isoformat(),
                "note": f.note,
            }
            for f in milestone.forecasts
        ],
    }


def _stage_keys(session, project: Project) -> dict[int, str]:
    rows = session.execute(select(Stage.id, Stage.key).where(Stage.project_id == project.id))
    return dict(rows.all())


@bp.get("/projects/<key>/milestones")
@project_route()
@spec.validate(resp=answers(200, schemas.MilestoneList, 404), tags=["milestones"])
def milestones(access: ProjectAccess):
    """Each milestone with baseline, current forecast, achieved, slip_days, status, forecasts."""
    session = db.session()
    keys = _stage_keys(session, access.project)
    return jsonify(
        {
            "milestones": [
                milestone_json(m, access.project, keys)
                for m in milestones_of(session, access.project)
            ]
        }
    )


@bp.post("/milestones/<int:milestone_id>/forecasts")
@milestone_route(write="manage")
@spec.validate(
    json=schemas.ForecastCreate,
    resp=answers(201, schemas.MilestoneOut, 400, 403, 404, 422),
    tags=["milestones"],
)
def forecast(access: ProjectAccess, milestone: Milestone):
    """{"forecast": "2026-05-15", "reported_on": "2026-03-04" (default today), "note": "..."}:
    record a forecast; 201 with the milestone, 422 with per-field messages."""
    session = db.session()
    milestone = next(m for m in milestones_of(session, access.project) if m.id == milestone.id)
    add_forecast(
        session,
        access.project,
        milestone,
        json_body(),
        by_id=current_user.id,
        today=local_date(utcnow(), access.project.timezone),
    )
    session.commit()
    keys = _stage_keys(session, access.project)
    return jsonify(milestone_json(milestone, access.project, keys)), 201
