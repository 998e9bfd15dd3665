"""API: the audit pack as a JSON bundle, for a project or one milestone (?milestone=ID). Any
member may read it; it is built only from what planner recorded (planner/domain/audit.py)."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from planner import db
from planner.api import bp, schemas
from planner.api.spec import answers, spec
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.audit import audit_pack, pack_json
from planner.timeutil import utcnow


@bp.get("/projects/<key>/audit")
@project_route()
@spec.validate(
    query=schemas.AuditQuery, resp=answers(200, schemas.AuditPack, 404, 422), tags=["audit"]
)
def audit(access: ProjectAccess):
    """The audit pack (format planner-audit-pack, version 1): scope, milestones and forecasts,
    experiments and their outcome records, linked artefacts, risks and their history, gates and
    their decisions. Every row carries the id of its record."""
    pack = audit_pack(
        db.session(),
        access.project,
        milestone=request.args.get("milestone"),
        by=current_user,
        now=utcnow(),
    )
    return jsonify(pack_json(pack))
