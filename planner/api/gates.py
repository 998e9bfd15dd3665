"""API: stage gates. List and read them (view access), create one (manage access), tick a
criterion (edit access or an approver), and record a decision (the gate's approvers only, whatever
their access: a stakeholder named as approver may decide)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, jsonify
from flask_login import current_user

from planner import db
from planner.api import bp
from planner.api.projects import json_body
from planner.api.schemas import gates as schemas
from planner.api.spec import answers, spec
from planner.authz import project_route, resolve
from planner.domain.access import TALK, ProjectAccess
from planner.domain.context import load_context
from planner.domain.gates import (
    Evidence,
    create_gate,
    decide_gate,
    evidence_of,
    gate_of,
    gates_of,
    kinds_of,
    may_decide,
    may_tick,
    project_key_of_gate,
    state_of,
    tick_criterion,
)
from planner.domain.outbox import person
from planner.models import Gate
from planner.timeutil import iso_utc, local_today, utcnow
from planner.urls import absolute_url


def gate_json(gate: Gate, evidence: Evidence) -> dict:
    """A gate as the API shows it (schemas.GateOut)."""
    return {
        "id": gate.id,
        "stage": gate.stage.key,
        "name": gate.name,
        "description": gate.description,
        "state": state_of(gate),
        "criteria": [{"id": c.id, "text": c.text, "done": c.done} for c in gate.criteria],
        "approvers": [
            {"role": a.role} if a.role else person(a.account)
            for a in gate.approvers
            if a.role or a.account is not None
        ],
        "required_links": kinds_of(gate.required_links),
        "required_risk_categories": kinds_of(gate.required_risk_categories),
        "evidence": evidence.as_json(),
        "decisions": [
            {
                "id": d.id,
                "decision": d.decision,
                "reason": d.reason,
                "conditions": d.conditions,
                "decided_by": person(d.decided_by),
                "decided_at": iso_utc(d.decided_at),
            }
            for d in gate.decisions
        ],
    }


def _one(access: ProjectAccess, gate: Gate) -> dict:
    session = db.session()
    evidence = evidence_of(
        session, access.project, [gate], today=local_today(access.project.timezone)
    )
    return gate_json(gate, evidence[gate.id])


def _resolve_gate(gate_id: int, write: str) -> tuple[ProjectAccess, Gate]:
    """The access to the gate's project (404 for a non-member or no such gate) and the gate."""
    session = db.session()
    key = project_key_of_gate(session, gate_id)
    if key is None:
        abort(404)
    access = resolve(key, write=write)
    gate = gate_of(session, access.project, gate_id)
    if gate is None:
        abort(404)
    return access, gate


def gate_route(write: str = "edit", allowed: Callable[[ProjectAccess, Gate], bool] | None = None):
    """Decorate a view taking `gate_id`: it receives `access` and `gate`, checked before the body
    is read (an outsider gets 404, and someone `allowed` refuses 403, whatever the body says)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(gate_id: int, **kwargs: Any):
            access, gate = _resolve_gate(gate_id, write)
            if allowed is not None and not allowed(access, gate):
                abort(403, description=_REFUSALS[allowed])
            return view(access=access, gate=gate, **kwargs)

        return wrapper

    return decorator


def _approver(access: ProjectAccess, gate: Gate) -> bool:
    return may_decide(access.membership, gate)


_REFUSALS = {
    _approver: "Only the gate's approvers may decide it.",
    may_tick: "Criteria are ticked by members with edit access and by the gate's approvers.",
}


@bp.get("/projects/<key>/gates")
@project_route()
@spec.validate(resp=answers(200, schemas.GateList, 404), tags=["gates"])
def gates(access: ProjectAccess):
    """The project's gates in stage order, each with its state and evidence."""
    session = db.session()
    found = gates_of(session, access.project)
    evidence = evidence_of(
        session, access.project, found, today=local_today(access.project.timezone)
    )
    return jsonify({"gates": [gate_json(g, evidence[g.id]) for g in found]})


@bp.post("/projects/<key>/gates")
@project_route(write="manage")
@spec.validate(
    json=schemas.GateCreate,
    resp=answers(201, schemas.GateOut, 400, 403, 404, 422),
    tags=["gates"],
)
def create_gate_json(access: ProjectAccess):
    """Put a gate at the end of a stage: stage, name, criteria, approvers (e-mails or role
    keys), and optionally required link kinds and risk categories."""
    session = db.session()
    ctx = load_context(session, access.project)
    gate = create_gate(session, ctx, json_body(), by=current_user, now=utcnow())
    session.commit()
    return jsonify(_one(access, gate_of(session, access.project, gate.id))), 201


@bp.get("/gates/<int:gate_id>")
@gate_route()
@spec.validate(resp=answers(200, schemas.GateOut, 404), tags=["gates"])
def gate(access: ProjectAccess, gate: Gate):
    """A gate with its criteria, approvers, evidence, state and every decision."""
    return jsonify(_one(access, gate))


@bp.post("/gates/<int:gate_id>/decisions")
@gate_route(write=TALK, allowed=_approver)  # approvers decide whatever their access
@spec.validate(
    json=schemas.GateDecisionCreate,
    resp=answers(201, schemas.GateOut, 400, 403, 404, 422),
    tags=["gates"],
)
def decide(access: ProjectAccess, gate: Gate):
    """Record a decision (approvers only; 403 for anyone else): go, conditional (with its
    conditions) or no_go, with a reason. Answers the gate, whose state is now this decision.
    Decisions are never edited or deleted: a new decision supersedes the last one."""
    session = db.session()
    decide_gate(
        session,
        access,
        gate,
        json_body(),
        by=current_user,
        now=utcnow(),
        today=local_today(access.project.timezone),
        url=absolute_url("gates.show", key=access.project.key, gate_id=gate.id),
    )
    session.commit()
    return jsonify(_one(access, gate)), 201


@bp.patch("/gates/<int:gate_id>/criteria/<int:criterion_id>")
@gate_route(write=TALK, allowed=may_tick)  # edit access, or an approver
@spec.validate(
    json=schemas.GateCriterionPatch,
    resp=answers(200, schemas.GateOut, 400, 403, 404, 422),
    tags=["gates"],
)
def tick(access: ProjectAccess, gate: Gate, criterion_id: int):
    """Tick ({"done": true}) or untick one criterion (edit access, or an approver)."""
    session = db.session()
    if not any(c.id == criterion_id for c in gate.criteria):
        abort(404)
    tick_criterion(
        session, access, gate, criterion_id, json_body().get("done"), by=current_user, now=utcnow()
    )
    session.commit()
    return jsonify(_one(access, gate))
