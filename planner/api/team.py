"""API: a project's settings and calendar, its members and its stages (manage access to change
them, as on the settings and members pages), and making a project."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body, project_detail
from planner.api.spec import answers, spec
from planner.authz import project_route, resolve, writes
from planner.domain import ValidationError, date_value
from planner.domain import projects as rules
from planner.domain.access import ProjectAccess
from planner.models import Account, Membership


def _holidays(values: dict) -> list | None:
    """The `holidays` of a body as dates, or None when left out."""
    if values.get("holidays") is None:
        return None
    days = []
    for raw in values["holidays"]:
        day, problem = date_value(raw)
        if problem:
            raise ValidationError({"holidays": f"{raw!r:.40}: {problem}"})
        days.append(day)
    return days


def _detail(key: str) -> dict:
    access = resolve(key, write="view")
    body = project_detail(access)
    body["holidays"] = [d.isoformat() for d in rules.holidays_of(db.session(), access.project)]
    return body


@bp.post("/projects")
@writes
@spec.validate(
    json=schemas.ProjectCreate,
    resp=answers(201, schemas.ProjectCalendar, 400, 403, 404, 409, 422),
    tags=["projects"],
)
def create_project_json():
    """Make a project; you manage it. Its stages are the default ML lifecycle stages."""
    values = dict(json_body())
    holidays = _holidays(values) or []
    values.pop("holidays", None)
    key = values.pop("key")
    session = db.session()
    project = rules.create_project(
        session,
        key=key,
        owner=current_user,
        holidays=holidays,
        **{k: v for k, v in values.items() if v is not None},
    )
    session.commit()
    return jsonify(_detail(project.key)), 201


@bp.patch("/projects/<key>")
@project_route(write="manage")
@spec.validate(
    json=schemas.ProjectSettings,
    resp=answers(200, schemas.ProjectCalendar, 400, 403, 404, 422),
    tags=["projects"],
)
def update_project_json(access: ProjectAccess):
    """Change the settings and calendar: name, description, timezone, working days, holidays,
    sprint length, slip tolerance, MLflow tracking URI (http(s) only) and gate enforcement."""
    session = db.session()
    values = dict(json_body())
    holidays = _holidays(values)
    values.pop("holidays", None)
    rules.update_settings(session, access.project, values)
    if holidays is not None:
        rules.set_holidays(session, access.project, holidays)
    session.commit()
    return jsonify(_detail(access.project.key))


# --- members ----------------------------------------------------------------------------------


def member_json(membership: Membership) -> dict:
    return {
        "email": membership.account.email,
        "name": membership.account.name,
        "access": membership.access,
        "roles": membership.roles,
    }


def _membership(access: ProjectAccess, email: str) -> Membership:
    found = db.session().scalar(
        select(Membership)
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.project_id == access.project.id, Account.email == email.lower())
        .options(selectinload(Membership.role_rows), selectinload(Membership.account))
    )
    if found is None:
        abort(404)
    return found


def _member_answer(access: ProjectAccess, email: str) -> dict:
    return next(
        member_json(m)
        for m in rules.members_of(db.session(), access.project)
        if m.account.email == email.lower()
    )


@bp.get("/projects/<key>/members")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.MemberList, 404), tags=["members"])
def members(access: ProjectAccess):
    """Everyone in the project, with access and functional roles."""
    return jsonify(
        {"members": [member_json(m) for m in rules.members_of(db.session(), access.project)]}
    )


@bp.post("/projects/<key>/members")
@project_route(write="manage")
@spec.validate(
    json=schemas.MemberCreate,
    resp=answers(201, schemas.MemberOut, 400, 403, 404, 409, 422),
    tags=["members"],
)
def add_member_json(access: ProjectAccess):
    """Add someone with an account, with an access level and roles."""
    session = db.session()
    body = json_body()
    account = rules.account_to_add(session, access.project, current_user, body["email"])
    rules.add_member(
        session, access.project, account, access=body["access"], roles=body.get("roles") or []
    )
    session.commit()
    return jsonify(_member_answer(access, account.email)), 201


@bp.patch("/projects/<key>/members/<email>")
@project_route(write="manage")
@spec.validate(
    json=schemas.MemberPatch,
    resp=answers(200, schemas.MemberOut, 400, 403, 404, 409, 422),
    tags=["members"],
)
def update_member_json(access: ProjectAccess, email: str):
    """Change a member's access or roles (a project always keeps a manager: 409)."""
    session = db.session()
    membership = _membership(access, email)
    body = json_body()
    rules.update_member(
        session,
        access.project,
        membership,
        access=body.get("access") or membership.access,
        roles=body["roles"] if body.get("roles") is not None else membership.roles,
    )
    session.commit()
    return jsonify(_member_answer(access, email))


@bp.delete("/projects/<key>/members/<email>")
@project_route(write="manage")
@spec.validate(resp=answers(204, None, 403, 404, 409), tags=["members"])
def remove_member_json(access: ProjectAccess, email: str):
    """Take someone out of the project (204); the last manager stays (409)."""
    session = db.session()
    rules.remove_member(session, access.project, _membership(access, email))
    session.commit()
    return "", 204


# --- stages -----------------------------------------------------------------------------------


def _stages(access: ProjectAccess) -> dict:
    return {
        "stages": [
            {"key": s.key, "name": s.name, "archived": s.archived}
            for s in rules.stages_of(db.session(), access.project)
        ]
    }


@bp.get("/projects/<key>/stages")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.StageList, 404), tags=["stages"])
def stages(access: ProjectAccess):
    """The project's ML lifecycle stages in order (archived ones too, marked)."""
    return jsonify(_stages(access))


@bp.post("/projects/<key>/stages")
@project_route(write="manage")
@spec.validate(
    json=schemas.StageCreate,
    resp=answers(201, schemas.StageList, 400, 403, 404, 409, 422),
    tags=["stages"],
)
def add_stage_json(access: ProjectAccess):
    """Add a stage at the end; answers with every stage."""
    session = db.session()
    body = json_body()
    rules.add_stage(session, access.project, key=body["key"], name=body["name"])
    session.commit()
    return jsonify(_stages(access)), 201


@bp.patch("/projects/<key>/stages/<stage_key>")
@project_route(write="manage")
@spec.validate(
    json=schemas.StagePatch,
    resp=answers(200, schemas.StageList, 400, 403, 404, 422),
    tags=["stages"],
)
def update_stage_json(access: ProjectAccess, stage_key: str):
    """Rename a stage, archive it (it leaves pickers; its stories keep it) or restore it."""
    session = db.session()
    stage = next((s for s in rules.stages_of(session, access.project) if s.key == stage_key), None)
    if stage is None:
        abort(404)
    body = json_body()
    if body.get("name") is not None:
        rules.rename_stage(session, stage, body["name"])
    if body.get("archived") is not None:
        rules.set_stage_archived(session, stage, body["archived"])
    session.commit()
    return jsonify(_stages(access))


@bp.post("/projects/<key>/stages/order")
@project_route(write="manage")
@spec.validate(
    json=schemas.StageOrder,
    resp=answers(200, schemas.StageList, 400, 403, 404, 422),
    tags=["stages"],
)
def order_stages_json(access: ProjectAccess):
    """Put the stages in a new order: send every stage key once."""
    session = db.session()
    rules.reorder_stages(session, access.project, json_body()["keys"])
    session.commit()
    return jsonify(_stages(access))
