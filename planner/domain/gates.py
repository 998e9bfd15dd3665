"""Stage gates: a go/no-go checkpoint at the end of a lifecycle stage, with a checklist, required
evidence and approvers, decided by append-only decisions (docs/rules.md, "Stage gates").

- A gate's state is its latest decision (`go`, `conditional`, `no_go`), `open` before the first.
- A gate at the end of stage S blocks the stages positioned after S while it is open or no-go:
  stories of those stages that are under way get a warning, and a project that enforces gates
  refuses to move them to in progress, review or done (`check_start`, called by the stories).
- Only approvers decide: a member named on the gate, or a member holding one of its roles,
  whatever their access (a stakeholder with view access may decide a gate they approve).
- Required evidence is computed from what planner holds (`evidence_of`): artefact links of the
  stage's stories, epics and milestones, and the risk register.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from planner.domain import (
    AccessDenied,
    DomainError,
    ValidationError,
    outbox,
    required_text,
    text_value,
)
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext
from planner.inputs import TEXT_LIMITS, text_problem
from planner.models import (
    Account,
    ArtefactLink,
    Epic,
    Gate,
    GateApprover,
    GateCriterion,
    GateDecision,
    Membership,
    Milestone,
    Project,
    Risk,
    Stage,
    Story,
)
from planner.vocab import GATE_DECISIONS, GATE_STATES, LINK_KINDS, RISK_CATEGORIES, ROLES

NAME_MAX = TEXT_LIMITS["name"]  # 120, the column's size
CRITERION_MAX = 300
MAX_CRITERIA = 50
MAX_APPROVERS = 50
# Moves a project that enforces gates refuses for a stage behind an open or no-go gate.
STARTED_STATUSES = ("in_progress", "review", "done")
# Stories the board warns about: work under way behind such a gate.
UNDER_WAY = ("in_progress", "review")
BLOCKING_STATES = ("open", "no_go")


class GateClosedError(DomainError):
    """A story of a later stage may not start while a gate before it is open or no-go."""

    code = "gate_closed"


# --- reading -------------------------------------------------------------------------------------


def state_of(gate: Gate) -> str:
    """The gate's state: its latest decision, or `open` before the first."""
    return gate.decisions[-1].decision if gate.decisions else "open"


def _gates_query(project: Project):
    return (
        select(Gate)
        .join(Stage, Stage.id == Gate.stage_id)
        .where(Gate.project_id == project.id)
        .options(
            selectinload(Gate.stage),
            selectinload(Gate.criteria),
            selectinload(Gate.approvers).selectinload(GateApprover.account),
            selectinload(Gate.decisions).selectinload(GateDecision.decided_by),
        )
        .order_by(Stage.position, Gate.id)
    )


def gates_of(session: Session, project: Project) -> list[Gate]:
    """The project's gates in stage order, with criteria, approvers and decisions (7 queries)."""
    return list(session.scalars(_gates_query(project)))


def gate_of(session: Session, project: Project, gate_id: int) -> Gate | None:
    """One gate of the project, loaded like `gates_of`, or None."""
    return session.scalar(_gates_query(project).where(Gate.id == gate_id))


def project_key_of_gate(session: Session, gate_id: int) -> str | None:
    """The key of the project a gate belongs to (None when there is no such gate)."""
    return session.scalar(
        select(Project.key).join(Gate, Gate.project_id == Project.id).where(Gate.id == gate_id)
    )


def kinds_of(text: str) -> list[str]:
    """The keys stored space-separated in required_links / required_risk_categories."""
    return [k for k in (text or "").split() if k]


def approver_labels(gate: Gate) -> list[str]:
    """Who may decide, as people read it: names, then "any Product owner"."""
    people = [a.account.name for a in gate.approvers if a.account is not None]
    roles = [f"any {ROLES[a.role]}" for a in gate.approvers if a.role]
    return people + roles


def may_decide(membership: Membership | None, gate: Gate) -> bool:
    """Tell whether this member is one of the gate's approvers (named, or holding its role)."""
    if membership is None:
        return False
    named = {a.account_id for a in gate.approvers if a.account_id is not None}
    roles = {a.role for a in gate.approvers if a.role}
    return membership.account_id in named or bool(roles & set(membership.roles))


def may_tick(access: ProjectAccess, gate: Gate) -> bool:
    """Criteria are ticked by members with edit access and by the gate's approvers."""
    return access.can_edit or may_decide(access.membership, gate)


# --- blocking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """The first gate (in stage order) standing before a stage: open or decided no-go."""

    gate_id: int
    gate_name: str
    gate_stage: str  # the stage the gate ends, by name
    state: str

    def message(self, later_stage: str) -> str:
        """ "Evaluation gate 'Ready for pilot' is open: decide it before starting Deployment
        work." """
        head = f"{self.gate_stage} gate '{self.gate_name}'"
        if self.state == "no_go":
            return (
                f"{head} was decided no-go: it needs a new decision before starting "
                f"{later_stage} work."
            )
        return f"{head} is open: decide it before starting {later_stage} work."


def _latest_decisions(project_id: int):
    """A subquery of (gate_id, last_id): each of the project's gates' latest decision id."""
    return (
        select(GateDecision.gate_id, func.max(GateDecision.id).label("last_id"))
        .join(Gate, Gate.id == GateDecision.gate_id)
        .where(Gate.project_id == project_id)
        .group_by(GateDecision.gate_id)
        .subquery()
    )


def blocks_by_stage(session: Session, ctx: ProjectContext) -> dict[int, Block]:
    """For each stage id behind an open or no-go gate, the first such gate (one query).

    A gate at the end of stage S blocks every stage positioned after S; the first is the one of
    the earliest stage (then the first created)."""
    latest = _latest_decisions(ctx.project.id)
    rows = session.execute(
        select(Gate.id, Gate.name, Gate.stage_id, GateDecision.decision)
        .outerjoin(latest, latest.c.gate_id == Gate.id)
        .outerjoin(GateDecision, GateDecision.id == latest.c.last_id)
        .where(Gate.project_id == ctx.project.id)
    ).all()
    stages = {s.id: s for s in ctx.stages.values()}
    blocking = sorted(
        (
            (stages[stage_id].position, gate_id, name, stages[stage_id].name, decision or "open")
            for gate_id, name, stage_id, decision in rows
            if stage_id in stages and (decision or "open") in BLOCKING_STATES
        ),
    )
    found: dict[int, Block] = {}
    for stage in stages.values():
        for position, gate_id, name, stage_name, state in blocking:
            if position < stage.position:
                found[stage.id] = Block(gate_id, name, stage_name, state)
                break
    return found


def story_warnings(
    blocks: Mapping[int, Block], ctx: ProjectContext, stories: Iterable[Story], statuses=UNDER_WAY
) -> dict[int, str]:
    """The warning of each story (by id) in `statuses` whose stage is behind a blocking gate."""
    found = {}
    for story in stories:
        block = blocks.get(story.stage_id) if story.stage_id else None
        if block is not None and story.status in statuses:
            found[story.id] = block.message(ctx.stage_by_id(story.stage_id).name)
    return found


def gate_warnings(
    session: Session, ctx: ProjectContext, stories: Sequence[Story], statuses=UNDER_WAY
) -> dict[int, str]:
    """The warning of each story (by id) in `statuses` behind a blocking gate; one query, and none
    when no such story has a stage (nothing to warn about)."""
    if not any(s.stage_id is not None and s.status in statuses for s in stories):
        return {}
    return story_warnings(blocks_by_stage(session, ctx), ctx, stories, statuses)


def check_start(
    session: Session, ctx: ProjectContext, story: Story | None, cleaned: Mapping[str, Any]
) -> None:
    """Refuse, in a project that enforces gates, to put a story (new, or changing its status or
    stage) in progress, review or done while its stage is behind an open or no-go gate."""
    if not ctx.project.enforce_gates:
        return
    status = cleaned.get("status", story.status if story else "todo")
    if "stage" in cleaned:
        stage_id = cleaned["stage"].id if cleaned["stage"] is not None else None
    else:
        stage_id = story.stage_id if story else None
    if status not in STARTED_STATUSES or stage_id is None:
        return
    if story is not None and status == story.status and stage_id == story.stage_id:
        return  # nothing moves
    block = blocks_by_stage(session, ctx).get(stage_id)
    if block is not None:
        raise GateClosedError(
            block.message(ctx.stage_by_id(stage_id).name) + " This project enforces stage gates.",
            field="status",
        )


# --- evidence ------------------------------------------------------------------------------------


@dataclass
class Evidence:
    """Whether each required link kind is present and each required risk category reviewed,
    with what is missing in words (for the gate page)."""

    links: dict[str, bool] = field(default_factory=dict)
    risks: dict[str, bool] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # link kind or category -> why not

    def as_json(self) -> dict[str, dict[str, bool]]:
        return {"links": dict(self.links), "risks": dict(self.risks)}

    @property
    def complete(self) -> bool:
        return all(self.links.values()) and all(self.risks.values())


def _risk_problem(risk: Risk, today: date) -> str | None:
    if risk.status == "closed":
        return None
    lacks = []
    if not (risk.mitigation or "").strip():
        lacks.append("no mitigation")
    if risk.review_on is None:
        lacks.append("no review date")
    elif risk.review_on < today:
        lacks.append(f"review date {risk.review_on.isoformat()} has passed")
    return f"'{risk.title}': {' and '.join(lacks)}" if lacks else None


def evidence_of(
    session: Session, project: Project, gates: Sequence[Gate], *, today: date
) -> dict[int, Evidence]:
    """The required evidence of each gate, at most two queries whatever the data.

    A link kind is present when a story, an epic or a milestone of the gate's stage links an
    artefact of that kind. A risk category is reviewed when the register holds at least one risk
    of it and every one of them that is not closed has a mitigation and a review date that is
    today or later (in the project's timezone)."""
    need_links = {k for g in gates for k in kinds_of(g.required_links)}
    need_risks = {c for g in gates for c in kinds_of(g.required_risk_categories)}
    present: set[tuple[int | None, str]] = set()
    if need_links:
        owner_stage = func.coalesce(Story.stage_id, Epic.stage_id, Milestone.stage_id)
        present = {
            (stage_id, kind)
            for kind, stage_id in session.execute(
                select(ArtefactLink.kind, owner_stage)
                .outerjoin(Story, Story.id == ArtefactLink.story_id)
                .outerjoin(Epic, Epic.id == ArtefactLink.epic_id)
                .outerjoin(Milestone, Milestone.id == ArtefactLink.milestone_id)
                .where(ArtefactLink.project_id == project.id, ArtefactLink.kind.in_(need_links))
                .group_by(ArtefactLink.kind, owner_stage)
            )
        }
    by_category: dict[str, list[Risk]] = {c: [] for c in need_risks}
    if need_risks:
        for risk in session.scalars(
            select(Risk)
            .where(Risk.project_id == project.id, Risk.category.in_(need_risks))
            .order_by(Risk.id)
        ):
            by_category[risk.category].append(risk)
    result: dict[int, Evidence] = {}
    for gate in gates:
        evidence = Evidence()
        for kind in kinds_of(gate.required_links):
            evidence.links[kind] = (gate.stage_id, kind) in present
            if not evidence.links[kind]:
                evidence.missing[kind] = (
                    f"No story, epic or milestone of this stage links a {LINK_KINDS[kind]}."
                )
        for category in kinds_of(gate.required_risk_categories):
            risks = by_category.get(category, [])
            problems = [p for p in (_risk_problem(r, today) for r in risks) if p]
            evidence.risks[category] = bool(risks) and not problems
            if not risks:
                evidence.missing[category] = "No risk of this category is on the register."
            elif problems:
                evidence.missing[category] = "; ".join(problems) + "."
        result[gate.id] = evidence
    return result


def snapshot(gate: Gate, evidence: Evidence) -> dict[str, Any]:
    """What the approver saw when deciding: the checklist and the required evidence."""
    return {
        "criteria": [{"id": c.id, "text": c.text, "done": c.done} for c in gate.criteria],
        "evidence": evidence.as_json(),
    }


# --- creating ------------------------------------------------------------------------------------


def _keys(
    values: Mapping[str, Any], name: str, allowed: Mapping[str, str], what: str
) -> tuple[list[str], str | None]:
    raw = values.get(name)
    if raw is None:
        return [], None
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        return [], "Send a list of keys."
    keys: list[str] = []
    for value in raw:
        key = value.strip()
        if key not in allowed:
            return [], f"{value[:40]!r} is not {what}; choose from: {', '.join(allowed)}."
        if key not in keys:
            keys.append(key)
    return keys, None


def _criteria(raw: Any) -> tuple[list[str], str | None]:
    if raw is None:
        return [], None
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        return [], "Send the criteria as a list of texts."
    texts = [v.strip() for v in raw if v.strip()]
    if len(texts) > MAX_CRITERIA:
        return [], f"A gate holds at most {MAX_CRITERIA} criteria; you sent {len(texts)}."
    for number, text in enumerate(texts, 1):
        problem = text_problem(text, multiline=False, max_len=CRITERION_MAX)
        if problem:
            return [], f"Criterion {number}: {problem}"
    return texts, None


def _approvers(ctx: ProjectContext, raw: Any) -> tuple[list[tuple[str, Any]], str | None]:
    """Each approver as ("role", key) or ("person", membership)."""
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        return [], "Send the approvers as a list of member e-mails or role keys."
    found: list[tuple[str, Any]] = []
    for value in raw:
        text = value.strip()
        if not text:
            continue
        if text in ROLES:
            item: tuple[str, Any] = ("role", text)
        else:
            member = ctx.member_by_email(text) if "@" in text else None
            if member is None:
                return [], (
                    f"{text[:80]!r} is neither a member of {ctx.project.key} (by e-mail) nor a "
                    f"functional role key ({', '.join(ROLES)})."
                )
            item = ("person", member)
        if not any(k == item[0] and _same(v, item[1]) for k, v in found):
            found.append(item)
    if not found:
        return [], "Name at least one approver: a member's e-mail or a functional role."
    if len(found) > MAX_APPROVERS:
        return [], f"A gate has at most {MAX_APPROVERS} approvers."
    return found, None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Membership) and isinstance(b, Membership):
        return a.account_id == b.account_id
    return a == b


def create_gate(
    session: Session,
    ctx: ProjectContext,
    values: Mapping[str, Any],
    *,
    by: Account | None,
    now: datetime,
) -> Gate:
    """Put a gate at the end of a stage: stage, name, criteria, approvers, required evidence."""
    errors: dict[str, str] = {}
    stage_key = values.get("stage")
    stage = ctx.stages.get(stage_key) if isinstance(stage_key, str) else None
    if not stage_key:
        errors["stage"] = "Choose the stage the gate ends."
    elif stage is None:
        errors["stage"] = f"The project has no stage {str(stage_key)[:40]!r}."
    elif stage.archived:
        errors["stage"] = f"The stage {stage.name} is archived."
    name, problem = required_text(values.get("name"), max_len=NAME_MAX, empty="Name the gate.")
    if problem:
        errors["name"] = problem
    description, problem = text_value(values.get("description"), "description")
    if problem:
        errors["description"] = problem
    criteria, problem = _criteria(values.get("criteria"))
    if problem:
        errors["criteria"] = problem
    approvers, problem = _approvers(ctx, values.get("approvers"))
    if problem:
        errors["approvers"] = problem
    links, problem = _keys(values, "required_links", LINK_KINDS, "a link kind")
    if problem:
        errors["required_links"] = problem
    categories, problem = _keys(
        values, "required_risk_categories", RISK_CATEGORIES, "a risk category"
    )
    if problem:
        errors["required_risk_categories"] = problem
    if errors:
        raise ValidationError(errors)
    gate = Gate(
        project_id=ctx.project.id,
        stage_id=stage.id,
        name=name,
        description=description,
        required_links=" ".join(links),
        required_risk_categories=" ".join(categories),
        created_at=now,
        created_by_id=by.id if by else None,
    )
    session.add(gate)
    session.flush()
    session.add_all(
        GateCriterion(gate_id=gate.id, position=i, text=text) for i, text in enumerate(criteria)
    )
    session.add_all(
        GateApprover(gate_id=gate.id, role=v)
        if k == "role"
        else GateApprover(gate_id=gate.id, account_id=v.account_id)
        for k, v in approvers
    )
    session.flush()
    return gate


# --- ticking and deciding ------------------------------------------------------------------------


def tick_criterion(
    session: Session,
    access: ProjectAccess,
    gate: Gate,
    criterion_id: int,
    done: Any,
    *,
    by: Account,
    now: datetime,
) -> GateCriterion:
    """Tick or untick one line of the checklist (edit access, or an approver)."""
    if not may_tick(access, gate):
        raise AccessDenied(
            "Criteria are ticked by members with edit access and by the gate's approvers."
        )
    criterion = next((c for c in gate.criteria if c.id == criterion_id), None)
    if criterion is None:
        raise ValidationError({"criterion": f"Gate {gate.name} has no criterion {criterion_id}."})
    if not isinstance(done, bool):
        raise ValidationError({"done": "Send true or false."})
    if criterion.done != done:
        criterion.done = done
        criterion.done_at = now if done else None
        criterion.done_by_id = by.id if done else None
        session.flush()
    return criterion


def decide_gate(
    session: Session,
    access: ProjectAccess,
    gate: Gate,
    values: Mapping[str, Any],
    *,
    by: Account,
    now: datetime,
    today: date,
    url: str | None = None,
) -> GateDecision:
    """Record a go, conditional go or no-go with its reason (and conditions), snapshot what the
    approver saw, and emit gate.decided in the same transaction. Approvers only (AccessDenied)."""
    if not may_decide(access.membership, gate):
        who = ", ".join(approver_labels(gate)) or "nobody"
        raise AccessDenied(f"Only the gate's approvers may decide it ({who}).")
    errors: dict[str, str] = {}
    decision = values.get("decision")
    if decision not in GATE_DECISIONS:
        errors["decision"] = "Choose a decision: go, conditional (go) or no_go."
    reason, problem = required_text(
        values.get("reason"),
        max_len=TEXT_LIMITS["long"],
        empty="Give the reason for the decision.",
        multiline=True,
    )
    if problem:
        errors["reason"] = problem
    conditions, problem = text_value(values.get("conditions"), "long")
    if problem:
        errors["conditions"] = problem
    elif decision == "conditional" and not conditions:
        errors["conditions"] = "State the conditions of a conditional go."
    elif decision in ("go", "no_go") and conditions:
        errors["conditions"] = (
            "Only a conditional go has conditions: clear them, or choose conditional."
        )
    if errors:
        raise ValidationError(errors)
    previous = state_of(gate)
    evidence = evidence_of(session, access.project, [gate], today=today)[gate.id]
    row = GateDecision(
        gate_id=gate.id,
        decision=decision,
        reason=reason,
        conditions=conditions,
        evidence=json.dumps(snapshot(gate, evidence)),
        decided_at=now,
        decided_by_id=by.id,
        decided_by=by,
    )
    gate.decisions.append(row)  # loaded with the gate: the state is now this decision
    session.flush()
    outbox.gate_decided(session, access.project, gate, row, previous, by=by, now=now, url=url)
    return row


def state_words(state: str) -> str:
    return GATE_STATES.get(state, state)


# --- status tables (dashboard, milestone pages) -------------------------------------------------


@dataclass(frozen=True)
class GateRow:
    """One line of a gate status table."""

    id: int
    stage: str
    name: str
    state: str
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    conditions: str | None
    criteria_done: int
    criteria_total: int


def status_rows(session: Session, project: Project, *, up_to: Stage | None = None) -> list[GateRow]:
    """The project's gates as status lines, in stage order, in one query; with `up_to`, only the
    gates of stages positioned up to that stage (the gates a milestone of that stage passes)."""
    latest = _latest_decisions(project.id)
    checklist = (
        select(
            GateCriterion.gate_id,
            func.count(GateCriterion.id).label("total"),
            func.sum(case((GateCriterion.done.is_(True), 1), else_=0)).label("done"),
        )
        .join(Gate, Gate.id == GateCriterion.gate_id)
        .where(Gate.project_id == project.id)
        .group_by(GateCriterion.gate_id)
        .subquery()
    )
    query = (
        select(
            Gate.id,
            Stage.name,
            Gate.name,
            GateDecision.decision,
            GateDecision.decided_at,
            Account.name,
            GateDecision.reason,
            GateDecision.conditions,
            checklist.c.done,
            checklist.c.total,
        )
        .join(Stage, Stage.id == Gate.stage_id)
        .outerjoin(latest, latest.c.gate_id == Gate.id)
        .outerjoin(GateDecision, GateDecision.id == latest.c.last_id)
        .outerjoin(Account, Account.id == GateDecision.decided_by_id)
        .outerjoin(checklist, checklist.c.gate_id == Gate.id)
        .where(Gate.project_id == project.id)
        .order_by(Stage.position, Gate.id)
    )
    if up_to is not None:
        query = query.where(Stage.position <= up_to.position)
    return [
        GateRow(*row[:3], row[3] or "open", *row[4:8], int(row[8] or 0), int(row[9] or 0))
        for row in session.execute(query)
    ]
