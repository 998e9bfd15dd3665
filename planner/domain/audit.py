"""The audit pack: one document, for a project or one milestone, built only from what planner
recorded (docs/rules.md, "Audit pack"): scope and what done means, milestones with every
re-forecast, experiments with the outcome records that decided them, the linked artefacts, the risk
register with its history, and the gate decisions with their approvers.

Every row carries the id of the record it came from. Free text (descriptions, hypotheses,
mitigations) is passed on as recorded text, with who recorded it and when where planner knows.
The pack never calls MLflow: it lists what planner recorded about runs and models.

`audit_pack` returns plain values (dates and datetimes as such, for the page); `pack_json` turns
them into the JSON bundle. The number of queries does not grow with the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from planner.domain import NotFoundError, ValidationError, parse_id
from planner.domain.milestones import state_of
from planner.forecasting import risk_level
from planner.models import (
    Account,
    ArtefactLink,
    Epic,
    Gate,
    Milestone,
    OutcomeRecord,
    Project,
    Risk,
    RiskChange,
    Stage,
    Story,
    StoryTextChange,
)
from planner.timeutil import iso_utc
from planner.vocab import GATE_STATES, LINK_KINDS, ROLES

FORMAT = "planner-audit-pack"
VERSION = 1

# What "done" means, as docs/rules.md states it: the pack quotes these rules, it does not judge.
DEFINITION_OF_DONE: tuple[str, ...] = (
    "A story is done when its status is done.",
    "An experiment is done only with an outcome other than pending (confirmed, refuted or "
    "inconclusive); a refuted hypothesis is a finished experiment.",
    "An experiment's outcome is set by a person; its outcome record says which run and value "
    "decided it, or that it was set by hand with no run.",
    "A milestone is reached when its achieved date is set. Until then its current forecast is "
    "the forecast with the latest report date (on a tie, the last recorded), else the baseline; "
    "slip = current forecast - baseline, in calendar days.",
    "A gate's state is its latest decision (go, conditional go or no-go); before the first "
    "decision it is open. Decisions are never edited or deleted.",
)

BY_HAND = "set by hand, no run recorded"
UNRECORDED = "no outcome record: planner cannot say who set it or on what evidence"


def _person(accounts: dict[int, Account], account_id: int | None) -> dict | None:
    account = accounts.get(account_id) if account_id is not None else None
    if account is None:
        return None
    return {"id": account.id, "email": account.email, "name": account.name}


def _text(
    text: str | None,
    *,
    by: dict | None = None,
    at: datetime | None = None,
    change: str | None = None,
    change_id: int | None = None,
) -> dict | None:
    """Free text as recorded: planner vouches for who wrote it and when, not for what it says."""
    if text is None:
        return None
    return {
        "text": text,
        "recorded_by": by,
        "recorded_at": at,
        "change": change if change_id is not None else None,
        "change_id": change_id,
    }


def _scope_milestone(session: Session, project: Project, raw: object) -> Milestone | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    milestone_id = parse_id(raw)
    if milestone_id is None:
        raise ValidationError(
            {"milestone": f"{str(raw)[:40]!r} is not a milestone id: send a whole number."}
        )
    found = session.scalar(
        select(Milestone).where(Milestone.id == milestone_id, Milestone.project_id == project.id)
    )
    if found is None:
        raise NotFoundError(f"{project.key} has no milestone {milestone_id}.")
    return found


def audit_pack(
    session: Session,
    project: Project,
    *,
    milestone: object = None,
    by: Account,
    now: datetime,
) -> dict[str, Any]:
    """Assemble the audit pack of `project`, or of one of its milestones (its id in `milestone`):
    raise ValidationError for an id that is not a number, NotFoundError for an unknown one."""
    scoped = _scope_milestone(session, project, milestone)
    stages = {
        s.id: s
        for s in session.scalars(
            select(Stage).where(Stage.project_id == project.id).order_by(Stage.position, Stage.id)
        )
    }

    def stage_key(stage_id: int | None) -> str | None:
        return stages[stage_id].key if stage_id in stages else None

    milestones_q = select(Milestone).where(Milestone.project_id == project.id)
    epics_q = select(Epic).where(Epic.project_id == project.id)
    if scoped is not None:
        milestones_q = milestones_q.where(Milestone.id == scoped.id)
        epics_q = epics_q.where(Epic.milestone_id == scoped.id)
    milestones = list(
        session.scalars(
            milestones_q.options(selectinload(Milestone.forecasts)).order_by(
                Milestone.baseline, Milestone.id
            )
        )
    )
    epics = list(session.scalars(epics_q.order_by(Epic.id)))
    epic_keys = {e.id: e.key for e in epics}

    # Stories in scope: all of the project's, or those of the milestone's epics.
    in_scope = Story.project_id == project.id
    if scoped is not None:
        in_scope = in_scope & Story.epic_id.in_(
            select(Epic.id).where(Epic.milestone_id == scoped.id)
        )
    experiments = list(
        session.scalars(
            select(Story).where(in_scope, Story.type == "experiment").order_by(Story.number)
        )
    )
    experiment_ids = select(Story.id).where(in_scope, Story.type == "experiment")
    texts: dict[tuple[int, str], StoryTextChange] = {}
    for change in session.scalars(
        select(StoryTextChange)
        .where(
            StoryTextChange.story_id.in_(experiment_ids),
            StoryTextChange.field.in_(("hypothesis", "result")),
        )
        .order_by(StoryTextChange.id)
    ):
        texts[change.story_id, change.field] = change  # the last one wins
    records: dict[int, list[OutcomeRecord]] = {}
    for record in session.scalars(
        select(OutcomeRecord)
        .where(OutcomeRecord.story_id.in_(experiment_ids))
        .order_by(OutcomeRecord.id)
    ):
        records.setdefault(record.story_id, []).append(record)

    links_q = (
        select(ArtefactLink, Story.number, Epic.key, Milestone.name)
        .outerjoin(Story, Story.id == ArtefactLink.story_id)
        .outerjoin(Epic, Epic.id == ArtefactLink.epic_id)
        .outerjoin(Milestone, Milestone.id == ArtefactLink.milestone_id)
        .where(ArtefactLink.project_id == project.id)
    )
    if scoped is not None:
        links_q = links_q.where(
            or_(
                ArtefactLink.milestone_id == scoped.id,
                ArtefactLink.epic_id.in_(select(Epic.id).where(Epic.milestone_id == scoped.id)),
                ArtefactLink.story_id.in_(select(Story.id).where(in_scope)),
            )
        )
    links = list(session.execute(links_q.order_by(ArtefactLink.id)))

    risks_q = select(Risk).where(Risk.project_id == project.id)
    changes_q = select(RiskChange).join(Risk, Risk.id == RiskChange.risk_id)
    changes_q = changes_q.where(Risk.project_id == project.id)
    if scoped is not None:
        risks_q = risks_q.where(Risk.milestone_id == scoped.id)
        changes_q = changes_q.where(Risk.milestone_id == scoped.id)
    risks = list(
        session.scalars(
            risks_q.options(selectinload(Risk.stories)).order_by(
                (Risk.likelihood * Risk.impact).desc(), Risk.id
            )
        )
    )
    history: dict[int, list[RiskChange]] = {}
    for change in session.scalars(changes_q.order_by(RiskChange.at, RiskChange.id)):
        history.setdefault(change.risk_id, []).append(change)

    gates_q = select(Gate).where(Gate.project_id == project.id)
    up_to = stages.get(scoped.stage_id) if scoped is not None else None
    if up_to is not None:
        gates_q = gates_q.join(Stage, Stage.id == Gate.stage_id).where(
            Stage.position <= up_to.position
        )
    gates = list(
        session.scalars(
            gates_q.options(
                selectinload(Gate.criteria),
                selectinload(Gate.approvers),
                selectinload(Gate.decisions),
            ).order_by(Gate.id)
        )
    )

    accounts = _accounts(
        session,
        [
            by.id,
            *(f.by_id for m in milestones for f in m.forecasts),
            *(c.by_id for c in texts.values()),
            *(s.created_by_id for s in experiments),
            *(r.decided_by_id for rs in records.values() for r in rs),
            *(link.created_by_id for link, *_ in links),
            *(r.owner_id for r in risks),
            *(c.by_id for cs in history.values() for c in cs),
            *(g.created_by_id for g in gates),
            *(c.done_by_id for g in gates for c in g.criteria),
            *(a.account_id for g in gates for a in g.approvers),
            *(d.decided_by_id for g in gates for d in g.decisions),
        ],
    )

    run_links: dict[int, list[dict]] = {}
    artefacts = []
    for link, number, epic_key, milestone_name in sorted(
        links, key=lambda row: (list(LINK_KINDS).index(row[0].kind), row[0].id)
    ):
        if link.story_id is not None:
            owner = {"type": "story", "id": link.story_id, "key": f"{project.key}-{number}"}
        elif link.epic_id is not None:
            owner = {"type": "epic", "id": link.epic_id, "key": epic_key}
        else:
            owner = {"type": "milestone", "id": link.milestone_id, "key": milestone_name}
        row = {
            "id": link.id,
            "kind": link.kind,
            "owner": owner,
            "run_id": link.run_id,
            "tracking_uri": link.tracking_uri,
            "name": link.name,
            "version": link.version,
            "uri": link.uri,
            "url": link.url,
            "title": link.title,
            "linked_by": _person(accounts, link.created_by_id),
            "linked_at": link.created_at,
        }
        artefacts.append(row)
        if link.kind == "mlflow_run" and link.story_id is not None:
            run_links.setdefault(link.story_id, []).append(row)

    scope_epics = [
        {
            "id": e.id,
            "key": e.key,
            "title": e.title,
            "stage": stage_key(e.stage_id),
            "milestone_id": e.milestone_id,
            "archived": e.archived,
        }
        for e in epics
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": now,
        "generated_by": _person(accounts, by.id),
        "project": {
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "description": _text(project.description),
            "timezone": project.timezone,
            "mlflow_tracking_uri": project.mlflow_tracking_uri,
            "slip_tolerance_days": project.slip_tolerance_days,
            "created_at": project.created_at,
        },
        "scope": {
            "level": "milestone" if scoped else "project",
            "milestone_id": scoped.id if scoped else None,
            "name": scoped.name if scoped else project.name,
            "description": _text(scoped.description if scoped else project.description),
            "stage": stage_key(scoped.stage_id) if scoped else None,
            "metric": scoped.metric if scoped else None,
            "target": scoped.target if scoped else None,
            "gates_up_to_stage": up_to.key if up_to is not None else None,
            "epics": scope_epics,
            "definition_of_done": list(DEFINITION_OF_DONE),
        },
        "milestones": [_milestone_row(m, project, accounts, stage_key, epics) for m in milestones],
        "experiments": [
            _experiment_row(s, project, accounts, stage_key, epic_keys, texts, records, run_links)
            for s in experiments
        ],
        "artefacts": artefacts,
        "risks": [_risk_row(r, project, accounts, history.get(r.id, [])) for r in risks],
        "gates": [_gate_row(g, accounts, stages) for g in gates],
    }


def _accounts(session: Session, ids: Iterable[int | None]) -> dict[int, Account]:
    wanted = sorted({i for i in ids if i is not None})
    return {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(wanted)))}


def _milestone_row(milestone: Milestone, project: Project, accounts, stage_key, epics) -> dict:
    state = state_of(milestone, project.slip_tolerance_days)
    return {
        "id": milestone.id,
        "name": milestone.name,
        "description": _text(milestone.description),
        "stage": stage_key(milestone.stage_id),
        "baseline": milestone.baseline,
        "achieved": milestone.achieved,
        "metric": milestone.metric,
        "target": milestone.target,
        "current_forecast": state.current,
        "slip_days": state.slip_days,
        "status": state.status,
        "epics": [e.key for e in epics if e.milestone_id == milestone.id],
        "forecasts": [
            {
                "id": f.id,
                "reported_on": f.reported_on,
                "forecast": f.forecast,
                # The slip this forecast meant when it was the current one (docs/rules.md).
                "slip_days": (f.forecast - milestone.baseline).days,
                "note": f.note,
                "by": _person(accounts, f.by_id),
                "created_at": f.created_at,
            }
            for f in milestone.forecasts
        ],
    }


def _record_row(record: OutcomeRecord, accounts) -> dict:
    return {
        "id": record.id,
        "outcome": record.outcome,
        "run_id": record.run_id,
        "tracking_uri": record.tracking_uri,
        "metric": record.metric,
        "target": record.target,
        "value": record.value,
        "reason": record.reason,
        "decided_by": _person(accounts, record.decided_by_id),
        "decided_at": record.decided_at,
    }


def _experiment_row(
    story: Story, project: Project, accounts, stage_key, epic_keys, texts, records, run_links
) -> dict:
    def recorded(field: str) -> dict | None:
        change = texts.get((story.id, field))
        if change is not None:
            by, at, change_id = _person(accounts, change.by_id), change.at, change.id
        else:  # never edited since it was created: written by whoever created the story
            by, at, change_id = _person(accounts, story.created_by_id), story.created_at, None
        return _text(
            getattr(story, field), by=by, at=at, change="story_text_change", change_id=change_id
        )

    log = [_record_row(r, accounts) for r in records.get(story.id, [])]
    latest = log[-1] if log else None
    outcome = story.outcome or "pending"
    if outcome == "pending":
        basis, note = "pending", "no outcome yet"
    elif latest is not None and latest["outcome"] == outcome and latest["run_id"]:
        basis = "run"
        note = f"decided by run {latest['run_id']} (outcome record {latest['id']})"
    elif latest is not None and latest["outcome"] == outcome:
        basis, note = "by_hand", BY_HAND
    else:  # set before planner kept outcome records, or imported: nothing to vouch for it
        basis, note = "unrecorded", UNRECORDED
    return {
        "story_id": story.id,
        "key": story.key_in(project.key),
        "title": story.title,
        "status": story.status,
        "stage": stage_key(story.stage_id),
        "epic": epic_keys.get(story.epic_id),
        "hypothesis": recorded("hypothesis"),
        "metric": story.metric,
        "target": story.target,
        "outcome": outcome,
        "outcome_basis": basis,
        "outcome_note": note,
        "deciding_record_id": latest["id"] if basis == "run" else None,
        "result": recorded("result"),
        "outcome_records": log,
        "runs": [
            {"link_id": r["id"], "run_id": r["run_id"], "tracking_uri": r["tracking_uri"]}
            for r in run_links.get(story.id, [])
        ],
    }


def _risk_row(risk: Risk, project: Project, accounts, changes: list[RiskChange]) -> dict:
    last_mitigation = next((c for c in reversed(changes) if c.field == "mitigation"), None)
    return {
        "id": risk.id,
        "title": risk.title,
        "category": risk.category,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "score": risk.likelihood * risk.impact,
        "level": risk_level(risk.likelihood, risk.impact),
        "status": risk.status,
        "owner": _person(accounts, risk.owner_id),
        "milestone_id": risk.milestone_id,
        "review_on": risk.review_on,
        "description": _text(risk.description),
        "mitigation": _text(
            risk.mitigation,
            by=_person(accounts, last_mitigation.by_id) if last_mitigation else None,
            at=last_mitigation.at if last_mitigation else None,
            change="risk_change",
            change_id=last_mitigation.id if last_mitigation else None,
        ),
        "stories": [s.key_in(project.key) for s in sorted(risk.stories, key=lambda s: s.number)],
        "created_at": risk.created_at,
        "updated_at": risk.updated_at,
        "history": [
            {
                "id": c.id,
                "field": c.field,
                "from": c.from_value,
                "to": c.to_value,
                "at": c.at,
                "by": _person(accounts, c.by_id),
            }
            for c in changes
        ],
    }


def _evidence(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"unparsed": text}


def _gate_row(gate: Gate, accounts, stages: dict[int, Stage]) -> dict:
    stage = stages.get(gate.stage_id)
    decisions = [
        {
            "id": d.id,
            "decision": d.decision,
            "reason": d.reason,
            "conditions": d.conditions,
            "decided_by": _person(accounts, d.decided_by_id),
            "decided_at": d.decided_at,
            "evidence": _evidence(d.evidence),
        }
        for d in gate.decisions
    ]
    state = decisions[-1]["decision"] if decisions else "open"
    return {
        "id": gate.id,
        "name": gate.name,
        "stage": stage.key if stage else None,
        "stage_name": stage.name if stage else None,
        "description": _text(gate.description),
        "state": state,
        "state_name": GATE_STATES[state],
        "deciding_decision_id": decisions[-1]["id"] if decisions else None,
        "required_links": gate.required_links.split(),
        "required_risk_categories": gate.required_risk_categories.split(),
        "criteria": [
            {
                "id": c.id,
                "text": c.text,
                "done": c.done,
                "done_at": c.done_at,
                "done_by": _person(accounts, c.done_by_id),
            }
            for c in gate.criteria
        ],
        "approvers": [
            {
                "id": a.id,
                "person": _person(accounts, a.account_id),
                "role": a.role,
                "role_name": ROLES.get(a.role) if a.role else None,
            }
            for a in gate.approvers
        ],
        "decisions": decisions,
        "created_at": gate.created_at,
        "created_by": _person(accounts, gate.created_by_id),
    }


def pack_json(value: Any) -> Any:
    """The pack as JSON values: moments as ISO 8601 UTC with Z, days as YYYY-MM-DD."""
    if isinstance(value, dict):
        return {key: pack_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [pack_json(item) for item in value]
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
