"""The audit pack page: one printable document for a project or one milestone (?milestone=ID),
the same content as the JSON bundle (planner/domain/audit.py), for any member."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.audit import BY_HAND, audit_pack
from planner.models import Milestone, Stage
from planner.signin import require_login
from planner.timeutil import utcnow

bp = Blueprint("audit", __name__)
bp.before_request(require_login)


@bp.get("/projects/<key>/audit")
@project_route()
def pack(access: ProjectAccess):
    """Show the audit pack, ready to print (print stylesheet: static/css/print-audit.css)."""
    session = db.session()
    project = access.project
    found = audit_pack(
        session, project, milestone=request.args.get("milestone"), by=current_user, now=utcnow()
    )
    choices = session.execute(
        select(Milestone.id, Milestone.name)
        .where(Milestone.project_id == project.id)
        .order_by(Milestone.baseline, Milestone.id)
    ).all()
    return render_template(
        "audit/pack.html",
        access=access,
        project=project,
        pack=found,
        choices=choices,
        by_hand=BY_HAND,
        pretty_json=lambda value: json.dumps(value, indent=2, ensure_ascii=False),
        milestone_names={milestone_id: name for milestone_id, name in choices},
        stage_names={
            key: name
            for key, name in session.execute(
                select(Stage.key, Stage.name).where(Stage.project_id == project.id)
            )
        },
    )
