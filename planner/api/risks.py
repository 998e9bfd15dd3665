"""API: the ML risk register: list, add, change, and take risks off it (manage access to write,
as on the risk page)."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext, load_context
from planner.domain.risks import create_risk, delete_risk, risk_history, risks_of, update_risk
from planner.forecasting import risk_level
from planner.models import Risk, RiskChange
from planner.timeutil import iso_utc, utcnow


def risk_change_json(change: RiskChange) -> dict:
    return {
        "id": change.id,
        "field": change.field,
        "from": change.from_value,
        "to": change.to_value,
        "at": iso_utc(change.at),
        "by": change.by.email if change.by else None,
    }


def risk_json(ctx: ProjectContext, risk: Risk, history: list[RiskChange] | None = None) -> dict:
    owner = ctx.members.get(risk.owner_id) if risk.owner_id else None
    return {
        "id": risk.id,
        "title": risk.title,
        "description": risk.description,
        "category": risk.category,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "score": risk.likelihood * risk.impact,
        "level": risk_level(risk.likelihood, risk.impact),
        "owner": owner.account.email if owner else None,
        "mitigation": risk.mitigation,
        "status": risk.status,
        "milestone": risk.milestone_id,
        "review_on": risk.review_on.isoformat() if risk.review_on else None,
        "stories": sorted(
            (s.key_in(ctx.project.key) for s in risk.stories), key=lambda k: int(k.split("-")[1])
        ),
        "created_at": iso_utc(risk.created_at),
        "updated_at": iso_utc(risk.updated_at),
        "history": [risk_change_json(change) for change in history or []],
    }


def _risk_with_history(ctx: ProjectContext, access: ProjectAccess, risk_id: int) -> dict:
    found = _risk(access, risk_id)
    return risk_json(ctx, found, risk_history(db.session(), [found.id]).get(found.id))


def _risk(access: ProjectAccess, risk_id: int) -> Risk:
    risk = db.session().scalar(
        select(Risk)
        .where(Risk.id == risk_id, Risk.project_id == access.project.id)
        .options(selectinload(Risk.stories))
    )
    if risk is None:
        abort(404)
    return risk


@bp.get("/projects/<key>/risks")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.RiskList, 404), tags=["risks"])
def risks(access: ProjectAccess):
    """The register, highest score first."""
    session = db.session()
    ctx = load_context(session, access.project)
    found = risks_of(session, access.project)
    history = risk_history(session, [r.id for r in found])
    return jsonify({"risks": [risk_json(ctx, r, history.get(r.id)) for r in found]})


@bp.post("/projects/<key>/risks")
@project_route(write="manage")
@spec.validate(
    json=schemas.RiskCreate,
    resp=answers(201, schemas.RiskOut, 400, 403, 404, 422),
    tags=["risks"],
)
def create_risk_json(access: ProjectAccess):
    """Add a risk: title, category, likelihood and impact (1-5), and what else is known."""
    session = db.session()
    ctx = load_context(session, access.project)
    risk = create_risk(session, ctx, json_body(), now=utcnow(), by=current_user)
    session.commit()
    return jsonify(_risk_with_history(ctx, access, risk.id)), 201


@bp.get("/projects/<key>/risks/<int:risk_id>")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.RiskOut, 404), tags=["risks"])
def risk(access: ProjectAccess, risk_id: int):
    ctx = load_context(db.session(), access.project)
    return jsonify(_risk_with_history(ctx, access, risk_id))


@bp.patch("/projects/<key>/risks/<int:risk_id>")
@project_route(write="manage")
@spec.validate(
    json=schemas.RiskFields,
    resp=answers(200, schemas.RiskOut, 400, 403, 404, 422),
    tags=["risks"],
)
def update_risk_json(access: ProjectAccess, risk_id: int):
    """Change any field of a risk; `stories` replaces its list of stories."""
    session = db.session()
    ctx = load_context(session, access.project)
    found = _risk(access, risk_id)
    update_risk(session, ctx, found, json_body(), now=utcnow(), by=current_user)
    session.commit()
    return jsonify(_risk_with_history(ctx, access, risk_id))


@bp.delete("/projects/<key>/risks/<int:risk_id>")
@project_route(write="manage")
@spec.validate(resp=answers(204, None, 403, 404), tags=["risks"])
def delete_risk_json(access: ProjectAccess, risk_id: int):
    """Take a risk off the register (204). Closing it instead keeps it on record."""
    session = db.session()
    delete_risk(session, _risk(access, risk_id))
    session.commit()
    return "", 204
