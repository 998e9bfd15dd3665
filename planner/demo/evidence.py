"""The demo's evidence and decisions, which the interchange format does not carry: artefact links
(MLflow runs and the registered model, dataset versions, commits, documents), the recorded
outcomes of two experiments, two stage gates with their decisions, the model milestone's metric
and target, and the mitigation history of three risks.

Every moment is on the shipped demo calendar (UTC, like demo.json) and is moved by the same whole
weeks as the rest of the demo; none is later than the demo's last event. The rows are written
directly (the demo is an operator's action, like an import), with the values a person would have
entered through the pages.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.demo.mlflow_runs import METRIC, MODEL_ALIAS, MODEL_NAME, TARGET, LoggedRuns
from planner.models import (
    Account,
    ArtefactLink,
    Epic,
    Gate,
    GateApprover,
    GateCriterion,
    GateDecision,
    Milestone,
    OutcomeRecord,
    Project,
    Risk,
    RiskChange,
    Stage,
    Story,
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


MODEL_MILESTONE = "Model meets target: recall >= 0.85 at 1% FPR"
GOLD_MILESTONE = "Gold-label set ready"
GOLD_SET = ("s3://fraud-data/labels/gold", "v1.0")
# The point-in-time feature table, versioned in lakeFS: the commit the baseline was trained on.
FEATURES = (
    "lakefs://fraud-features/main/point_in_time/",
    "9f4c2e71b8a3d05e6c1f7a92b4d8e3f05a6c7b1d2e9f8a3c4b5d6e7f8091a2b3",
)
REPO = "https://git.example.com/fraud-analytics/fraud-model"
WIKI = "https://wiki.example.com/fraud-analytics"

# (owner, kind, fields, created at, by). Owners: ("story", number), ("epic", key),
# ("milestone", name). Runs are named as in mlflow_runs.DEMO_RUNS.
LINKS: list[tuple[tuple[str, Any], str, dict[str, str], str, str]] = [
    # The early runs on partial labels count for the model milestone through its epic.
    (("epic", "E4"), "mlflow_run", {"run": "lr-velocity-01"}, "2026-02-06 11:02", "tom"),
    (("epic", "E4"), "mlflow_run", {"run": "lr-merchant-03"}, "2026-02-12 10:20", "chen"),
    (("story", 20), "mlflow_run", {"run": "lr-velocity-01"}, "2026-02-06 11:00", "tom"),
    (("story", 21), "mlflow_run", {"run": "lr-merchant-03"}, "2026-02-12 10:18", "chen"),
    (("story", 23), "mlflow_run", {"run": "lr-baseline-07"}, "2026-02-26 11:30", "priya"),
    (("story", 23), "dataset", {"uri": GOLD_SET[0], "version": GOLD_SET[1]},
     "2026-02-26 11:31", "priya"),
    (("story", 23), "dataset", {"uri": FEATURES[0], "version": FEATURES[1]},
     "2026-02-26 11:32", "priya"),
    (("story", 24), "mlflow_run", {"run": "lgbm-default-11"}, "2026-03-02 14:40", "chen"),
    (("story", 24), "mlflow_run", {"run": "lgbm-tuned-14"}, "2026-03-03 11:02", "chen"),
    (("story", 24), "commit", {"url": f"{REPO}/-/merge_requests/57"}, "2026-03-03 11:40", "chen"),
    (("story", 31), "mlflow_run", {"run": "lgbm-tuned-14"}, "2026-03-04 14:20", "priya"),
    (("story", 37), "mlflow_run", {"run": "lgbm-focal-01"}, "2026-03-05 11:25", "chen"),
    (("story", 22), "dataset", {"uri": GOLD_SET[0], "version": GOLD_SET[1]},
     "2026-02-24 09:40", "lukas"),
    (("story", 42), "dataset", {"uri": FEATURES[0], "version": FEATURES[1]},
     "2026-02-25 13:15", "tom"),
    (("story", 56), "commit",
     {"url": f"{REPO}/-/commit/4be2d9c1a07f3e58d6b1c9a2e4f70853d1c6b9ae"},
     "2026-02-27 10:05", "priya"),
    (("story", 47), "document",
     {"url": f"{WIKI}/labeling-guidelines-v2", "title": "Labeling guidelines v2"},
     "2026-02-09 14:00", "greta"),
    (("story", 28), "document",
     {"url": f"{WIKI}/pilot-go-no-go", "title": "Pilot go/no-go criteria, agreed with Fraud Ops"},
     "2026-03-02 11:05", "elena"),
    (("story", 57), "document",
     {"url": f"{WIKI}/dpia-alert-queue", "title": "DPIA: cardholder details in the alert queue"},
     "2026-03-02 14:56", "jonas"),
    (("story", 58), "document",
     {"url": f"{WIKI}/model-card-fraud-detector", "title": "Model card: fraud-detector (draft)"},
     "2026-03-03 14:10", "elena"),
    (("story", 58), "mlflow_model_version", {"name": MODEL_NAME, "version": "1"},
     "2026-03-03 14:12", "elena"),
    (("milestone", GOLD_MILESTONE), "dataset", {"uri": GOLD_SET[0], "version": GOLD_SET[1]},
     "2026-02-24 09:45", "maya"),
    (("milestone", MODEL_MILESTONE), "mlflow_model_version",
     {"name": MODEL_NAME, "version": MODEL_ALIAS}, "2026-03-04 10:30", "jonas"),
]  # fmt: skip

# story number, outcome, run, value, target, reason, decided at, by (the story's outcome in
# demo.json is the same).
OUTCOMES = [
    (23, "confirmed", "lr-baseline-07", 0.79, ">= 0.75",
     "lr-baseline-07 logged val_recall 0.79, which meets >= 0.75.",
     "2026-02-26 13:20", "priya"),
    (24, "refuted", "lgbm-tuned-14", 0.82, TARGET,
     "Best of the 2 finished runs: lgbm-tuned-14 logged val_recall 0.82, short of >= 0.85.",
     "2026-03-04 10:12", "chen"),
]  # fmt: skip

# Gates: stage, name, description, required link kinds, required risk categories, created at,
# by, criteria (text, done at or None, by), approvers (role keys and e-mails), decisions
# (decision, reason, conditions, decided at, by).
GATES = [
    {
        "stage": "data_labeling",
        "name": "Gold labels signed off",
        "description": "The gold set is good enough to train and evaluate on.",
        "links": "dataset",
        "risks": "",
        "at": "2026-01-19 09:30",
        "by": "maya",
        "criteria": [
            ("5,000 transactions labeled (batches 1-5)", "2026-02-23 12:00", "lukas"),
            ("Cohen's kappa >= 0.75 on a double-labeled batch", "2026-02-18 08:50", "lukas"),
            ("Every *unsure* label adjudicated by a fraud investigator", "2026-02-23 15:00",
             "greta"),
            ("Gold set v1.0 frozen and versioned", "2026-02-24 09:41", "lukas"),
        ],
        "approvers": ["product_owner", "greta@example.com"],
        "decisions": [
            ("go",
             "Kappa 0.81 on batch 4 with guidelines v2; all 5,000 transactions labeled, the 37 "
             "unsure ones adjudicated by Greta; gold set v1.0 frozen in DVC.",
             None, "2026-02-24 10:30", "jonas"),
        ],
    },
    {
        "stage": "evaluation",
        "name": "Ready for pilot",
        "description": "The model may go to the three pilot investigators, next to the rules "
        "engine.",
        "links": "mlflow_run mlflow_model_version document",
        "risks": "bias_fairness",
        "at": "2026-03-02 11:30",
        "by": "jonas",
        "criteria": [
            ("Go/no-go criteria agreed with Fraud Ops", "2026-03-02 11:07", "elena"),
            ("The rules engine keeps deciding during the pilot (rollback = switch off)",
             "2026-03-02 11:35", "jonas"),
            ("Recall >= 0.85 at 1% FPR on the validation months", None, None),
            ("Recall within 5 points across card-holder age groups", None, None),
            ("Model card drafted for model risk management", None, None),
        ],
        "approvers": ["product_owner", "helen@example.com"],
        "decisions": [
            ("conditional",
             "LightGBM reaches recall 0.82 at 1% FPR (lgbm-tuned-14), short of 0.85 but well "
             "ahead of the rules engine. The pilot runs next to the rules engine, so a miss "
             "costs investigator time, not blocked payments.",
             "Recall >= 0.85 on the December test month before full rollout; shadow mode for 2 "
             "weeks before any investigator sees an alert; per-age-group recall reported before "
             "the pilot starts.",
             "2026-03-05 13:10", "jonas"),
        ],
    },
]  # fmt: skip

# Risk histories: title, created at, by, the values it was created with (those not given are
# the current ones), then changes (at, by, {field: new value}) ending at the current values.
RISK_HISTORIES = [
    ("Annotators disagree on friendly-fraud disputes", "2026-01-22 10:00", "lukas",
     {"likelihood": "2", "status": "open", "review_on": "2026-02-06",
      "mitigation": "Guidelines with worked examples; double-label 200 transactions of batch 2 "
                    "and check kappa."},
     [("2026-02-06 09:20", "lukas", {"likelihood": "4", "status": "realised",
                                     "review_on": None}),
      ("2026-02-18 09:00", "lukas", {"mitigation": None})]),
    ("Lower recall for older card holders", "2026-01-21 14:00", "priya",
     {"status": "open",
      "mitigation": "Per-group recall at the alert threshold in every evaluation."},
     [("2026-03-04 14:18", "priya", {"status": "mitigating"}),
      ("2026-03-05 13:05", "priya", {"mitigation": None})]),
    ("Cardholder data exposed in the alert queue or in logs", "2026-01-26 10:30", "jonas",
     {"status": "open", "review_on": "2026-03-06",
      "mitigation": "Tokenised PAN everywhere and a DPIA before the pilot."},
     [("2026-03-02 14:55", "jonas", {"status": "mitigating", "mitigation": None,
                                     "review_on": None})]),
]  # fmt: skip
# In a change, None for mitigation or review_on means "the current value" (the value shipped in
# demo.json), except where the current value is itself empty.


def add_evidence(session: Session, project: Project, runs: LoggedRuns, shift: timedelta) -> None:
    """Write the demo's links, outcomes, gates, milestone target and risk histories. The caller
    commits."""
    days = shift
    people = {
        a.email.split("@")[0]: a
        for a in session.scalars(select(Account).where(Account.email.like("%@example.com")))
    }

    def at(text: str) -> datetime:
        return _at(text) + days

    def person(handle: str | None) -> int | None:
        return people[handle].id if handle else None

    stories = {
        s.number: s for s in session.scalars(select(Story).where(Story.project_id == project.id))
    }
    epics = {e.key: e for e in session.scalars(select(Epic).where(Epic.project_id == project.id))}
    milestones = {
        m.name: m
        for m in session.scalars(select(Milestone).where(Milestone.project_id == project.id))
    }
    stages = {
        s.key: s for s in session.scalars(select(Stage).where(Stage.project_id == project.id))
    }

    project.mlflow_tracking_uri = runs.uri
    model = milestones[MODEL_MILESTONE]
    model.metric, model.target = METRIC, TARGET

    for (owner_kind, owner), kind, fields, when, by in LINKS:
        if kind == "mlflow_model_version" and runs.logged and runs.model_version is None:
            continue  # the store took the runs but has no model registry
        owner_id = {"story": stories, "epic": epics, "milestone": milestones}[owner_kind][owner].id
        values = dict(fields)
        if "run" in values:
            values["run_id"] = runs.run_ids[values.pop("run")]
        session.add(
            ArtefactLink(
                project_id=project.id,
                kind=kind,
                created_at=at(when),
                created_by_id=person(by),
                **{f"{owner_kind}_id": owner_id},
                **values,
            )
        )

    for number, outcome, run, value, target, reason, when, by in OUTCOMES:
        session.add(
            OutcomeRecord(
                story_id=stories[number].id,
                outcome=outcome,
                run_id=runs.run_ids[run],
                tracking_uri=runs.uri,
                metric=METRIC,
                target=target,
                value=value,
                reason=reason,
                decided_at=at(when),
                decided_by_id=person(by),
            )
        )

    for spec in GATES:
        gate = Gate(
            project_id=project.id,
            stage_id=stages[spec["stage"]].id,
            name=spec["name"],
            description=spec["description"],
            required_links=spec["links"],
            required_risk_categories=spec["risks"],
            created_at=at(spec["at"]),
            created_by_id=person(spec["by"]),
        )
        session.add(gate)
        session.flush()
        criteria = []
        for position, (text, done_at, by) in enumerate(spec["criteria"]):
            criterion = GateCriterion(
                gate_id=gate.id,
                position=position,
                text=text,
                done=done_at is not None,
                done_at=at(done_at) if done_at else None,
                done_by_id=person(by),
            )
            session.add(criterion)
            criteria.append(criterion)
        for approver in spec["approvers"]:
            if "@" in approver:
                session.add(
                    GateApprover(gate_id=gate.id, account_id=person(approver.split("@")[0]))
                )
            else:
                session.add(GateApprover(gate_id=gate.id, role=approver))
        session.flush()
        # What the approver saw: the checklist then, and the required evidence (all present).
        evidence = {
            "criteria": [{"id": c.id, "text": c.text, "done": c.done} for c in criteria],
            "evidence": {
                "links": {kind: True for kind in spec["links"].split()},
                "risks": {category: True for category in spec["risks"].split()},
            },
        }
        for decision, reason, conditions, when, by in spec["decisions"]:
            session.add(
                GateDecision(
                    gate_id=gate.id,
                    decision=decision,
                    reason=reason,
                    conditions=conditions,
                    evidence=json.dumps(evidence),
                    decided_at=at(when),
                    decided_by_id=person(by),
                )
            )

    risks = {r.title: r for r in session.scalars(select(Risk).where(Risk.project_id == project.id))}
    for title, created, by, initial, changes in RISK_HISTORIES:
        risk = risks[title]
        current = _risk_values(risk, people)
        values = {**current, **{f: _moved(f, v, days) for f, v in initial.items()}}
        risk.created_at = at(created)
        for field, value in values.items():
            if value is not None:
                session.add(
                    RiskChange(
                        risk_id=risk.id,
                        field=field,
                        from_value=None,
                        to_value=value,
                        at=at(created),
                        by_id=person(by),
                    )
                )
        for when, who, changed in changes:
            for field, value in changed.items():
                new = current[field] if value is None else _moved(field, value, days)
                session.add(
                    RiskChange(
                        risk_id=risk.id,
                        field=field,
                        from_value=values[field],
                        to_value=new,
                        at=at(when),
                        by_id=person(who),
                    )
                )
                values[field] = new
            risk.updated_at = at(when)
        assert values == current, f"the history of {title!r} must end at its current values"
    session.flush()


def _risk_values(risk: Risk, people: dict[str, Account]) -> dict[str, str | None]:
    """The risk's fields as the risk API writes them into its history (planner/domain/risks.py)."""
    owner = next((a.email for a in people.values() if a.id == risk.owner_id), None)
    return {
        "title": risk.title,
        "category": risk.category,
        "likelihood": str(risk.likelihood),
        "impact": str(risk.impact),
        "status": risk.status,
        "mitigation": risk.mitigation,
        "owner": owner,
        "review_on": risk.review_on.isoformat() if risk.review_on else None,
        "milestone": str(risk.milestone_id) if risk.milestone_id else None,
    }


def _moved(field: str, value: str | None, days: timedelta) -> str | None:
    """A review date on the shipped calendar, moved like the rest of the demo."""
    if field == "review_on" and value is not None:
        return (date.fromisoformat(value) + days).isoformat()
    return value
