"""API: milestones with their slip and forecasts, and re-forecasting (manage access)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.api import bp, schemas
from planner.api.links import owner_links_json
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import milestone_route, project_route
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.domain.metric_trend import metric_trend
from planner.domain.milestones import (
    add_forecast,
    create_milestone,
    delete_milestone,
    milestones_of,
    set_achieved,
    state_of,
    update_milestone,
)
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
        "metric": milestone.metric,
        "target": milestone.target,
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


def _loaded(access: ProjectAccess, milestone_id: int) -> Milestone:
    """The milestone with its forecasts loaded."""
    return next(m for m in milestones_of(db.session(), access.project) if m.id == milestone_id)


def _answer(access: ProjectAccess, milestone_id: int) -> dict:
    keys = _stage_keys(db.session(), access.project)
    return milestone_json(_loaded(access, milestone_id), access.project, keys)


@bp.post("/projects/<key>/milestones")
@project_route(write="manage")
@spec.validate(
    json=schemas.MilestoneCreate,
    resp=answers(201, schemas.MilestoneOut, 400, 403, 404, 422),
    tags=["milestones"],
)
def create_milestone_json(access: ProjectAccess):
    """Add a milestone with its baseline (the date first promised) and the epics that deliver
    it."""
    session = db.session()
    milestone = create_milestone(session, load_context(session, access.project), json_body())
    session.commit()
    return jsonify(_answer(access, milestone.id)), 201


@bp.get("/milestones/<int:milestone_id>")
@milestone_route()
@spec.validate(resp=answers(200, schemas.MilestoneOut, 404), tags=["milestones"])
def milestone(access: ProjectAccess, milestone: Milestone):
    """A milestone with its current forecast, slip, status, every forecast recorded and its
    artefact links (live details)."""
    links = owner_links_json(access.project, milestone)
    return jsonify({**_answer(access, milestone.id), "links": links})


@bp.get("/milestones/<int:milestone_id>/metric-trend")
@milestone_route()
@spec.validate(resp=answers(200, schemas.MetricTrendOut, 404), tags=["milestones"])
def metric_trend_json(access: ProjectAccess, milestone: Milestone):
    """The milestone's metric against its target (docs/rules.md, "Metric-to-target trend"): the
    best value so far after each counted run, the extrapolation and the dashboard's sentence;
    `error` holds the reader's message when MLflow cannot be read."""
    return jsonify(metric_trend(db.session(), access.project, milestone).as_json())


@bp.patch("/milestones/<int:milestone_id>")
@milestone_route(write="manage")
@spec.validate(
    json=schemas.MilestonePatch,
    resp=answers(200, schemas.MilestoneOut, 400, 403, 404, 422),
    tags=["milestones"],
)
def update_milestone_json(access: ProjectAccess, milestone: Milestone):
    """Change a milestone; `achieved` marks it reached on a day (null clears it). The baseline
    is what was promised: re-forecast with POST .../forecasts to say it moved."""
    session = db.session()
    values = dict(json_body())
    has_achieved = "achieved" in values
    achieved = values.pop("achieved", None)
    update_milestone(session, load_context(session, access.project), milestone, values)
    if has_achieved:
        today = local_date(utcnow(), access.project.timezone)
        set_achieved(session, access.project, milestone, achieved, today=today, by=current_user)
    session.commit()
    return jsonify(_answer(access, milestone.id))


@bp.delete("/milestones/<int:milestone_id>")
@milestone_route(write="manage")
@spec.validate(resp=answers(204, None, 403, 404), tags=["milestones"])
def delete_milestone_json(access: ProjectAccess, milestone: Milestone):
    """Delete a milestone and its forecasts (204); its epics and risks keep going without it."""
    session = db.session()
    delete_milestone(session, milestone)
    session.commit()
    return "", 204
