"""Stage gates: the list (state badges), the form a manager puts a gate with, and the gate page:
its checklist, required evidence, approvers, the decision form for approvers and the decision log
(never editable). docs/rules.md, "Stage gates", has the rules."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from planner import db
from planner.authz import project_route
from planner.domain import AccessDenied, DomainError
from planner.domain.access import TALK, ProjectAccess
from planner.domain.context import ProjectContext, load_context
from planner.domain.gates import (
    create_gate,
    decide_gate,
    evidence_of,
    gate_of,
    gates_of,
    kinds_of,
    may_decide,
    may_tick,
    state_of,
    tick_criterion,
)
from planner.models import Gate
from planner.signin import require_login
from planner.timeutil import local_today, utcnow
from planner.urls import absolute_url
from planner.vocab import GATE_DECISIONS, LINK_KINDS, RISK_CATEGORIES, ROLES
from planner.web.forms import EmptyForm, MultiCheckboxField, attach_errors, options

bp = Blueprint("gates", __name__)
bp.before_request(require_login)

# How each state looks: the chip classes planner already has (green, amber, red, grey).
STATE_CHIPS = {"open": "status-todo", "go": "ok", "conditional": "warn", "no_go": "over"}


class GateForm(FlaskForm):
    stage = SelectField("After stage", validate_choice=False)
    name = StringField("Name", description="What passing it means, like 'Ready for pilot'.")
    description = TextAreaField("Description")
    criteria = TextAreaField("Criteria", description="The checklist: one criterion per line.")
    approvers = MultiCheckboxField("Approvers: these members", validate_choice=False)
    approver_roles = MultiCheckboxField(
        "Approvers: any member holding", choices=options(ROLES), validate_choice=False
    )
    required_links = MultiCheckboxField(
        "Required evidence: links of these kinds",
        choices=options(LINK_KINDS),
        validate_choice=False,
        description="A story, epic or milestone of the stage must link one of each kind.",
    )
    required_risk_categories = MultiCheckboxField(
        "Required evidence: risks of these categories reviewed",
        choices=options(RISK_CATEGORIES),
        validate_choice=False,
        description="Each risk of the category that is not closed has a mitigation and a "
        "review date not in the past.",
    )


class DecisionForm(FlaskForm):
    decision = SelectField(
        "Decision",
        choices=options([("", "Choose…"), *GATE_DECISIONS.items()]),
        validate_choice=False,
    )
    reason = TextAreaField("Reason")
    conditions = TextAreaField(
        "Conditions", description="For a conditional go: what must hold, and by when."
    )


def _gate(access: ProjectAccess, gate_id: int) -> Gate:
    found = gate_of(db.session(), access.project, gate_id)
    if found is None:
        abort(404)
    return found


def _form(ctx: ProjectContext) -> GateForm:
    form = GateForm()
    form.stage.choices = options(
        [("", "Choose a stage"), *((s.key, s.name) for s in ctx.stages.values() if not s.archived)]
    )
    members = sorted(ctx.members.values(), key=lambda m: m.account.name.lower())
    form.approvers.choices = options(
        (m.account.email, f"{m.account.name} ({', '.join(ROLES[r] for r in m.roles) or 'no role'})")
        for m in members
    )
    return form


@bp.get("/projects/<key>/gates")
@project_route()
def index(access: ProjectAccess):
    session = db.session()
    gates = gates_of(session, access.project)
    evidence = evidence_of(
        session, access.project, gates, today=local_today(access.project.timezone)
    )
    return render_template(
        "gates/index.html",
        access=access,
        project=access.project,
        gates=gates,
        evidence=evidence,
        state_of=state_of,
        chips=STATE_CHIPS,
    )


@bp.route("/projects/<key>/gates/new", methods=["GET", "POST"])
@project_route(write="manage")
def new(access: ProjectAccess):
    """A manager puts a gate at the end of a stage. Bad input: the form again, nothing saved."""
    access.require("manage")
    session = db.session()
    ctx = load_context(session, access.project)
    form = _form(ctx)
    status = 200
    if request.method == "POST" and form.validate():
        values = {
            "stage": form.stage.data or "",
            "name": form.name.data or "",
            "description": form.description.data,
            "criteria": (form.criteria.data or "").splitlines(),
            "approvers": [*(form.approvers.data or []), *(form.approver_roles.data or [])],
            "required_links": form.required_links.data or [],
            "required_risk_categories": form.required_risk_categories.data or [],
        }
        try:
            gate = create_gate(session, ctx, values, by=current_user, now=utcnow())
        except DomainError as exc:
            session.rollback()
            for message in attach_errors(form, exc.details or {"": exc.message}):
                flash(message, "error")
            status = 422
        else:
            session.commit()
            flash(f"Gate {gate.name} added.", "success")
            return redirect(url_for("gates.show", key=access.project.key, gate_id=gate.id))
    elif request.method == "POST":
        status = 422
    return (
        render_template("gates/new.html", access=access, project=access.project, form=form),
        status,
    )


def _page(access: ProjectAccess, gate: Gate, decision_form: DecisionForm, status: int = 200):
    session = db.session()
    ctx = load_context(session, access.project)
    evidence = evidence_of(
        session, access.project, [gate], today=local_today(access.project.timezone)
    )[gate.id]
    holders = {
        a.role: sorted(m.account.name for m in ctx.members.values() if a.role in m.roles)
        for a in gate.approvers
        if a.role
    }
    return (
        render_template(
            "gates/show.html",
            access=access,
            project=access.project,
            gate=gate,
            state=state_of(gate),
            chips=STATE_CHIPS,
            evidence=evidence,
            required_links=kinds_of(gate.required_links),
            required_risks=kinds_of(gate.required_risk_categories),
            holders=holders,
            can_decide=may_decide(access.membership, gate),
            can_tick=may_tick(access, gate),
            form=decision_form,
            button=EmptyForm(),
        ),
        status,
    )


@bp.get("/projects/<key>/gates/<int:gate_id>")
@project_route()
def show(access: ProjectAccess, gate_id: int):
    return _page(access, _gate(access, gate_id), DecisionForm(formdata=None))


@bp.post("/projects/<key>/gates/<int:gate_id>/decisions")
@project_route(write=TALK)  # approvers decide whatever their access; decide_gate checks
def decide(access: ProjectAccess, gate_id: int):
    session = db.session()
    gate = _gate(access, gate_id)
    form = DecisionForm()
    if not may_decide(access.membership, gate):
        abort(403, description="Only the gate's approvers may decide it.")
    if not form.validate():
        return _page(access, gate, form, 422)
    try:
        row = decide_gate(
            session,
            access,
            gate,
            {
                "decision": form.decision.data,
                "reason": form.reason.data,
                "conditions": form.conditions.data,
            },
            by=current_user,
            now=utcnow(),
            today=local_today(access.project.timezone),
            url=absolute_url("gates.show", key=access.project.key, gate_id=gate.id),
        )
    except DomainError as exc:
        session.rollback()
        for message in attach_errors(form, exc.details or {"": exc.message}):
            flash(message, "error")
        return _page(access, _gate(access, gate_id), form, 422)
    session.commit()
    flash(f"{GATE_DECISIONS[row.decision]} recorded for {gate.name}.", "success")
    return redirect(url_for("gates.show", key=access.project.key, gate_id=gate.id) + "#decisions")


@bp.post("/projects/<key>/gates/<int:gate_id>/criteria/<int:criterion_id>")
@project_route(write=TALK)  # edit access or an approver; tick_criterion checks
def tick(access: ProjectAccess, gate_id: int, criterion_id: int):
    session = db.session()
    gate = _gate(access, gate_id)
    if not any(c.id == criterion_id for c in gate.criteria):
        abort(404)
    done = request.form.get("done")
    back = url_for("gates.show", key=access.project.key, gate_id=gate.id) + "#criteria"
    if done not in ("0", "1"):
        flash("Criterion not changed: send done=1 or done=0.", "error")
        return redirect(back)
    try:
        tick_criterion(
            session, access, gate, criterion_id, done == "1", by=current_user, now=utcnow()
        )
    except AccessDenied as exc:
        abort(403, description=str(exc))
    session.commit()
    return redirect(back)
