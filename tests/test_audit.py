"""The audit pack: the JSON bundle's exact contents for a seeded project (every value written out
by hand from the seed below), the same figures on the printable page, scoping to one milestone,
who may read it, bad input, and a query count that does not grow with the data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from planner.domain.audit import DEFINITION_OF_DONE, audit_pack, pack_json
from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.domain.risks import create_risk, update_risk
from planner.models import (
    ArtefactLink,
    Gate,
    GateApprover,
    GateCriterion,
    GateDecision,
    Milestone,
    MilestoneForecast,
    OutcomeRecord,
    RiskChange,
    Stage,
    StoryTextChange,
)
from tests import factories

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T_HYP = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
T_REC1 = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
T_REC2 = datetime(2026, 3, 17, 15, 45, tzinfo=UTC)
T_LINK = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
T_RISK_EDIT = datetime(2026, 3, 12, 16, 0, tzinfo=UTC)
T_NOGO = datetime(2026, 3, 18, 9, 30, tzinfo=UTC)
T_COND = datetime(2026, 3, 25, 13, 15, tzinfo=UTC)
T_F1 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
T_F2 = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
EVIDENCE = {"criteria": {"Recall >= 0.85 on holdout": True}, "links": {"dataset": True}}


@dataclass
class Seed:
    pilot: Milestone
    prod: Milestone
    ids: dict[str, int]


def person(account) -> dict:
    return {"id": account.id, "email": account.email, "name": account.name}


@pytest.fixture
def seed(db_session, team) -> Seed:
    """FRAUD: milestone Pilot (evaluation, 2 forecasts) with epic E1; milestone Production
    (deployment) with epic E2; experiments FRAUD-1 (refuted by a run, after an inconclusive set by
    hand), FRAUD-2 (confirmed by hand, no record), FRAUD-3 (pending, in E2); a feature FRAUD-4;
    four links; a risk on each milestone; a gate after Evaluation (no-go, then conditional) and
    one after Deployment (no decision)."""
    project, manager, editor = team.project, team.manager, team.editor
    stages = {
        s.key: s for s in db_session.scalars(select(Stage).where(Stage.project_id == project.id))
    }
    pilot = Milestone(
        project_id=project.id,
        name="Pilot ready",
        description="Pilot with three banks",
        stage_id=stages["evaluation"].id,
        baseline=date(2026, 4, 24),
        metric="val_recall",
        target=">= 0.85",
    )
    prod = Milestone(
        project_id=project.id,
        name="Production",
        stage_id=stages["deployment"].id,
        baseline=date(2026, 6, 30),
    )
    db_session.add_all([pilot, prod])
    db_session.flush()
    f1 = MilestoneForecast(
        milestone_id=pilot.id,
        reported_on=date(2026, 3, 10),
        forecast=date(2026, 5, 1),
        note="Labeling vendor late",
        by_id=manager.id,
        created_at=T_F1,
    )
    f2 = MilestoneForecast(
        milestone_id=pilot.id,
        reported_on=date(2026, 3, 20),
        forecast=date(2026, 5, 8),
        note="GPU quota cut",
        by_id=manager.id,
        created_at=T_F2,
    )
    db_session.add_all([f1, f2])
    ctx = load_context(db_session, project)
    e1 = create_epic(db_session, ctx, {"title": "Model v2", "stage": "modeling"})
    e2 = create_epic(db_session, ctx, {"title": "Serving"})
    e1.milestone_id, e2.milestone_id = pilot.id, prod.id
    db_session.flush()
    x1 = factories.story(
        db_session, project, editor, now=T0, title="GBM beats LR", type="experiment",
        epic="E1", stage="modeling", hypothesis="GBM lifts recall by 5 points",
        metric="val_recall", target=">= 0.85",
    )  # fmt: skip
    x2 = factories.story(
        db_session, project, editor, now=T0, title="Feature X helps", type="experiment",
        epic="E1", hypothesis="Merchant age adds signal",
    )  # fmt: skip
    x3 = factories.story(
        db_session, project, manager, now=T0, title="Canary latency", type="experiment", epic="E2"
    )
    feature = factories.story(db_session, project, editor, now=T0, title="Feature store", epic="E1")
    # FRAUD-1's hypothesis was edited once by the manager, and its result written by hand.
    x1.hypothesis = "GBM lifts recall to 0.85"
    hyp = StoryTextChange(
        story_id=x1.id,
        field="hypothesis",
        from_text="GBM lifts recall by 5 points",
        to_text="GBM lifts recall to 0.85",
        at=T_HYP,
        by_id=manager.id,
    )
    db_session.add(hyp)
    rec1 = OutcomeRecord(
        story_id=x1.id, outcome="inconclusive", reason="Runs still going",
        decided_at=T_REC1, decided_by_id=editor.id,
    )  # fmt: skip
    rec2 = OutcomeRecord(
        story_id=x1.id, outcome="refuted", run_id="run-a", metric="val_recall", target=">= 0.85",
        value=0.81, reason="Best finished run 0.81 < 0.85", decided_at=T_REC2,
        decided_by_id=editor.id,
    )  # fmt: skip
    db_session.add_all([rec1, rec2])
    x1.outcome, x2.outcome = "refuted", "confirmed"
    db_session.flush()
    run = ArtefactLink(
        project_id=project.id, story_id=x1.id, kind="mlflow_run", run_id="run-a",
        created_at=T_LINK, created_by_id=editor.id,
    )  # fmt: skip
    data = ArtefactLink(
        project_id=project.id, epic_id=e1.id, kind="dataset", uri="s3://fraud/train",
        version="v3", created_at=T_LINK, created_by_id=editor.id,
    )  # fmt: skip
    model = ArtefactLink(
        project_id=project.id, milestone_id=pilot.id, kind="mlflow_model_version",
        name="fraud-gbm", version="4", created_at=T_LINK, created_by_id=manager.id,
    )  # fmt: skip
    dpia = ArtefactLink(
        project_id=project.id, epic_id=e2.id, kind="document", url="https://example.com/dpia",
        title="DPIA", created_at=T_LINK, created_by_id=manager.id,
    )  # fmt: skip
    db_session.add_all([run, data, model, dpia])
    db_session.flush()
    r1 = create_risk(
        db_session, ctx,
        {"title": "Label noise", "category": "labeling_quality", "likelihood": 3, "impact": 4,
         "milestone": str(pilot.id)},
        now=T0, by=manager,
    )  # fmt: skip
    update_risk(
        db_session, ctx, r1,
        {"mitigation": "Double-label 10%", "status": "mitigating", "review_on": "2026-04-10"},
        now=T_RISK_EDIT, by=editor,
    )  # fmt: skip
    r2 = create_risk(
        db_session, ctx,
        {"title": "Latency SLA", "category": "delivery", "likelihood": 2, "impact": 2,
         "milestone": str(prod.id)},
        now=T0, by=manager,
    )  # fmt: skip
    g1 = Gate(
        project_id=project.id, stage_id=stages["evaluation"].id, name="Ready for pilot",
        required_links="dataset mlflow_run", required_risk_categories="labeling_quality",
        created_at=T0, created_by_id=manager.id,
    )  # fmt: skip
    g2 = Gate(
        project_id=project.id, stage_id=stages["deployment"].id, name="Go live",
        created_at=T0, created_by_id=manager.id,
    )  # fmt: skip
    db_session.add_all([g1, g2])
    db_session.flush()
    crit = GateCriterion(
        gate_id=g1.id, position=0, text="Recall >= 0.85 on holdout", done=True,
        done_at=T_NOGO, done_by_id=editor.id,
    )  # fmt: skip
    a1 = GateApprover(gate_id=g1.id, account_id=manager.id)
    a2 = GateApprover(gate_id=g1.id, role="product_owner")
    db_session.add_all([crit, a1, a2])
    db_session.flush()
    d1 = GateDecision(
        gate_id=g1.id, decision="no_go", reason="Recall short", decided_at=T_NOGO,
        decided_by_id=manager.id,
    )  # fmt: skip
    db_session.add(d1)
    db_session.flush()
    d2 = GateDecision(
        gate_id=g1.id, decision="conditional", reason="Pilot on 1 bank",
        conditions="Weekly recall report", evidence=json.dumps(EVIDENCE), decided_at=T_COND,
        decided_by_id=manager.id,
    )  # fmt: skip
    db_session.add(d2)
    db_session.commit()
    changes = {(c.risk_id, c.field, c.at): c.id for c in db_session.scalars(select(RiskChange))}
    ids = {
        "f1": f1.id, "f2": f2.id, "e1": e1.id, "e2": e2.id, "x1": x1.id, "x2": x2.id,
        "x3": x3.id, "feature": feature.id, "hyp": hyp.id, "rec1": rec1.id, "rec2": rec2.id,
        "run": run.id, "data": data.id, "model": model.id, "dpia": dpia.id, "r1": r1.id,
        "r2": r2.id, "g1": g1.id, "g2": g2.id, "crit": crit.id, "a1": a1.id, "a2": a2.id,
        "d1": d1.id, "d2": d2.id, "pilot_stage": stages["evaluation"].id,
    }  # fmt: skip
    for field in ("title", "category", "likelihood", "impact", "status", "milestone"):
        ids[f"r1_{field}"] = changes[r1.id, field, T0]
        ids[f"r2_{field}"] = changes[r2.id, field, T0]
    for field in ("status", "mitigation", "review_on"):
        ids[f"r1_{field}_edit"] = changes[r1.id, field, T_RISK_EDIT]
    return Seed(pilot, prod, ids)


def expected_pilot(seed: Seed, team) -> dict:
    i, maya = seed.ids, person(team.manager)
    return {
        "id": seed.pilot.id,
        "name": "Pilot ready",
        "description": {
            "text": "Pilot with three banks",
            "recorded_by": None,
            "recorded_at": None,
            "change": None,
            "change_id": None,
        },
        "stage": "evaluation",
        "baseline": "2026-04-24",
        "achieved": None,
        "metric": "val_recall",
        "target": ">= 0.85",
        # latest report 20 Mar: 8 May; 8 May - 24 Apr = 14 days > tolerance 7: late
        "current_forecast": "2026-05-08",
        "slip_days": 14,
        "status": "late",
        "epics": ["E1"],
        "forecasts": [
            {
                "id": i["f1"], "reported_on": "2026-03-10", "forecast": "2026-05-01",
                "slip_days": 7, "note": "Labeling vendor late", "by": maya,
                "created_at": "2026-03-10T08:00:00Z",
            },
            {
                "id": i["f2"], "reported_on": "2026-03-20", "forecast": "2026-05-08",
                "slip_days": 14, "note": "GPU quota cut", "by": maya,
                "created_at": "2026-03-20T08:00:00Z",
            },
        ],
    }  # fmt: skip


def expected_x1(seed: Seed, team) -> dict:
    i, priya, maya = seed.ids, person(team.editor), person(team.manager)
    return {
        "story_id": i["x1"],
        "key": "FRAUD-1",
        "title": "GBM beats LR",
        "status": "todo",
        "stage": "modeling",
        "epic": "E1",
        "hypothesis": {
            "text": "GBM lifts recall to 0.85",
            "recorded_by": maya,
            "recorded_at": "2026-03-03T10:00:00Z",
            "change": "story_text_change",
            "change_id": i["hyp"],
        },
        "metric": "val_recall",
        "target": ">= 0.85",
        "outcome": "refuted",
        "outcome_basis": "run",
        "outcome_note": f"decided by run run-a (outcome record {i['rec2']})",
        "deciding_record_id": i["rec2"],
        "result": None,
        "outcome_records": [
            {
                "id": i["rec1"], "outcome": "inconclusive", "run_id": None, "tracking_uri": None,
                "metric": None, "target": None, "value": None, "reason": "Runs still going",
                "decided_by": priya, "decided_at": "2026-03-10T11:00:00Z",
            },
            {
                "id": i["rec2"], "outcome": "refuted", "run_id": "run-a", "tracking_uri": None,
                "metric": "val_recall", "target": ">= 0.85", "value": 0.81,
                "reason": "Best finished run 0.81 < 0.85", "decided_by": priya,
                "decided_at": "2026-03-17T15:45:00Z",
            },
        ],
        "runs": [{"link_id": i["run"], "run_id": "run-a", "tracking_uri": None}],
    }  # fmt: skip


def expected_x2(seed: Seed, team) -> dict:
    i = seed.ids
    return {
        "story_id": i["x2"],
        "key": "FRAUD-2",
        "title": "Feature X helps",
        "status": "todo",
        "stage": None,
        "epic": "E1",
        "hypothesis": {
            "text": "Merchant age adds signal",
            "recorded_by": person(team.editor),  # who created the story, when
            "recorded_at": "2026-03-02T09:00:00Z",
            "change": None,
            "change_id": None,
        },
        "metric": None,
        "target": None,
        "outcome": "confirmed",
        # set with no outcome record (before planner kept them, or imported): not vouched for
        "outcome_basis": "unrecorded",
        "outcome_note": "no outcome record: planner cannot say who set it or on what evidence",
        "deciding_record_id": None,
        "result": None,
        "outcome_records": [],
        "runs": [],
    }


def link_row(seed, team, key, kind, owner, by, **values) -> dict:
    row = {
        "id": seed.ids[key], "kind": kind, "owner": owner, "run_id": None, "tracking_uri": None,
        "name": None, "version": None, "uri": None, "url": None, "title": None,
        "linked_by": person(by), "linked_at": "2026-03-04T12:00:00Z",
    }  # fmt: skip
    row.update(values)
    return row


def change(id_, field, from_, to, at, by) -> dict:
    return {"id": id_, "field": field, "from": from_, "to": to, "at": at, "by": by}


def expected_r1(seed: Seed, team) -> dict:
    i, maya, priya = seed.ids, person(team.manager), person(team.editor)
    created = "2026-03-02T09:00:00Z"
    edited = "2026-03-12T16:00:00Z"
    return {
        "id": i["r1"],
        "title": "Label noise",
        "category": "labeling_quality",
        "likelihood": 3,
        "impact": 4,
        "score": 12,
        "level": "high",
        "status": "mitigating",
        "owner": None,
        "milestone_id": seed.pilot.id,
        "review_on": "2026-04-10",
        "description": None,
        "mitigation": {
            "text": "Double-label 10%",
            "recorded_by": priya,
            "recorded_at": edited,
            "change": "risk_change",
            "change_id": i["r1_mitigation_edit"],
        },
        "stories": [],
        "created_at": created,
        "updated_at": edited,
        "history": [
            change(i["r1_title"], "title", None, "Label noise", created, maya),
            change(i["r1_category"], "category", None, "labeling_quality", created, maya),
            change(i["r1_likelihood"], "likelihood", None, "3", created, maya),
            change(i["r1_impact"], "impact", None, "4", created, maya),
            change(i["r1_status"], "status", None, "open", created, maya),
            change(i["r1_milestone"], "milestone", None, str(seed.pilot.id), created, maya),
            change(i["r1_status_edit"], "status", "open", "mitigating", edited, priya),
            change(i["r1_mitigation_edit"], "mitigation", None, "Double-label 10%", edited, priya),
            change(i["r1_review_on_edit"], "review_on", None, "2026-04-10", edited, priya),
        ],
    }  # fmt: skip


def expected_g1(seed: Seed, team) -> dict:
    i, maya, priya = seed.ids, person(team.manager), person(team.editor)
    return {
        "id": i["g1"],
        "name": "Ready for pilot",
        "stage": "evaluation",
        "stage_name": "Evaluation",
        "description": None,
        "state": "conditional",
        "state_name": "Conditional go",
        "deciding_decision_id": i["d2"],
        "required_links": ["dataset", "mlflow_run"],
        "required_risk_categories": ["labeling_quality"],
        "criteria": [
            {"id": i["crit"], "text": "Recall >= 0.85 on holdout", "done": True,
             "done_at": "2026-03-18T09:30:00Z", "done_by": priya},
        ],
        "approvers": [
            {"id": i["a1"], "person": maya, "role": None, "role_name": None},
            {"id": i["a2"], "person": None, "role": "product_owner", "role_name": "Product owner"},
        ],
        "decisions": [
            {"id": i["d1"], "decision": "no_go", "reason": "Recall short", "conditions": None,
             "decided_by": maya, "decided_at": "2026-03-18T09:30:00Z", "evidence": None},
            {"id": i["d2"], "decision": "conditional", "reason": "Pilot on 1 bank",
             "conditions": "Weekly recall report", "decided_by": maya,
             "decided_at": "2026-03-25T13:15:00Z", "evidence": EVIDENCE},
        ],
        "created_at": "2026-03-02T09:00:00Z",
        "created_by": maya,
    }  # fmt: skip


def test_the_milestone_pack_holds_exactly_what_was_recorded(db_session, team, seed):
    pack = pack_json(
        audit_pack(db_session, team.project, milestone=str(seed.pilot.id), by=team.viewer, now=NOW)
    )
    i = seed.ids
    assert pack["format"] == "planner-audit-pack"
    assert pack["version"] == 1
    assert pack["generated_at"] == "2026-03-30T07:00:00Z"
    assert pack["generated_by"] == person(team.viewer)
    assert pack["project"] == {
        "id": team.project.id,
        "key": "FRAUD",
        "name": "Card fraud detection",
        "description": None,
        "timezone": "UTC",
        "mlflow_tracking_uri": None,
        "slip_tolerance_days": 7,
        "created_at": team.project.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert pack["scope"] == {
        "level": "milestone",
        "milestone_id": seed.pilot.id,
        "name": "Pilot ready",
        "description": {
            "text": "Pilot with three banks",
            "recorded_by": None,
            "recorded_at": None,
            "change": None,
            "change_id": None,
        },
        "stage": "evaluation",
        "metric": "val_recall",
        "target": ">= 0.85",
        "gates_up_to_stage": "evaluation",
        "epics": [
            {
                "id": i["e1"],
                "key": "E1",
                "title": "Model v2",
                "stage": "modeling",
                "milestone_id": seed.pilot.id,
                "archived": False,
            }
        ],
        "definition_of_done": list(DEFINITION_OF_DONE),
    }
    assert pack["milestones"] == [expected_pilot(seed, team)]
    # FRAUD-3 is in E2 (Production) and FRAUD-4 is no experiment: both left out.
    assert pack["experiments"] == [expected_x1(seed, team), expected_x2(seed, team)]
    # Ordered by kind (mlflow_run, mlflow_model_version, dataset, ...); the DPIA on E2 is out.
    assert pack["artefacts"] == [
        link_row(seed, team, "run", "mlflow_run",
                 {"type": "story", "id": i["x1"], "key": "FRAUD-1"}, team.editor, run_id="run-a"),
        link_row(seed, team, "model", "mlflow_model_version",
                 {"type": "milestone", "id": seed.pilot.id, "key": "Pilot ready"}, team.manager,
                 name="fraud-gbm", version="4"),
        link_row(seed, team, "data", "dataset", {"type": "epic", "id": i["e1"], "key": "E1"},
                 team.editor, uri="s3://fraud/train", version="v3"),
    ]  # fmt: skip
    assert pack["risks"] == [expected_r1(seed, team)]
    # Gates up to Evaluation: "Go live" (after Deployment) is left out.
    assert pack["gates"] == [expected_g1(seed, team)]


def test_the_project_pack_holds_everything(db_session, team, seed):
    pack = pack_json(audit_pack(db_session, team.project, by=team.manager, now=NOW))
    i = seed.ids
    assert pack["scope"]["level"] == "project"
    assert pack["scope"]["milestone_id"] is None
    assert pack["scope"]["name"] == "Card fraud detection"
    assert pack["scope"]["gates_up_to_stage"] is None
    assert [e["key"] for e in pack["scope"]["epics"]] == ["E1", "E2"]
    # By baseline: Pilot (24 Apr) then Production (30 Jun), never re-forecast: on track.
    assert [m["name"] for m in pack["milestones"]] == ["Pilot ready", "Production"]
    prod = pack["milestones"][1]
    assert (prod["current_forecast"], prod["slip_days"], prod["status"], prod["forecasts"]) == (
        "2026-06-30",
        0,
        "on_track",
        [],
    )
    assert pack["experiments"][:2] == [expected_x1(seed, team), expected_x2(seed, team)]
    x3 = pack["experiments"][2]
    assert (x3["key"], x3["outcome"], x3["outcome_basis"], x3["outcome_note"]) == (
        "FRAUD-3",
        "pending",
        "pending",
        "no outcome yet",
    )
    assert x3["hypothesis"] is None
    assert [a["id"] for a in pack["artefacts"]] == [i["run"], i["model"], i["data"], i["dpia"]]
    assert pack["artefacts"][3]["owner"] == {"type": "epic", "id": i["e2"], "key": "E2"}
    # Highest score first: 12 then 4.
    assert [r["id"] for r in pack["risks"]] == [i["r1"], i["r2"]]
    assert pack["risks"][0] == expected_r1(seed, team)
    assert [h["field"] for h in pack["risks"][1]["history"]] == [
        "title", "category", "likelihood", "impact", "status", "milestone",
    ]  # fmt: skip
    assert pack["gates"][0] == expected_g1(seed, team)
    g2 = pack["gates"][1]
    assert (g2["id"], g2["state"], g2["state_name"], g2["deciding_decision_id"]) == (
        i["g2"],
        "open",
        "Open",
        None,
    )
    assert g2["decisions"] == [] and g2["approvers"] == [] and g2["criteria"] == []


def test_the_api_answers_the_bundle_for_any_member(clients, team, seed):
    for level in ("manage", "edit", "view"):
        answer = clients[level].get(f"/api/v1/projects/FRAUD/audit?milestone={seed.pilot.id}")
        assert answer.status_code == 200, (level, answer.get_json())
        body = answer.get_json()
        assert body["generated_by"] == person(team.account(level))
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["generated_at"])
        assert body["milestones"] == [expected_pilot(seed, team)]
        assert body["experiments"] == [expected_x1(seed, team), expected_x2(seed, team)]
        assert body["risks"] == [expected_r1(seed, team)]
        assert body["gates"] == [expected_g1(seed, team)]
    whole = clients["view"].get("/api/v1/projects/FRAUD/audit").get_json()
    assert len(whole["milestones"]) == 2 and len(whole["gates"]) == 2
    assert clients["none"].get("/api/v1/projects/FRAUD/audit").status_code == 404
    assert clients["none"].get("/projects/FRAUD/audit").status_code == 404
    assert clients["view"].get("/api/v1/projects/NOPE/audit").status_code == 404


def test_bad_scopes_are_refused_with_a_message(clients, team, seed, db_session):
    api = clients["view"]
    answer = api.get("/api/v1/projects/FRAUD/audit?milestone=abc")
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"] == {
        "milestone": "'abc' is not a milestone id: send a whole number."
    }
    assert api.get("/api/v1/projects/FRAUD/audit?milestone=999999").status_code == 404
    assert api.get("/projects/FRAUD/audit?milestone=abc").status_code == 422
    assert api.get("/projects/FRAUD/audit?milestone=999999").status_code == 404
    # Another project's milestone is not found here either.
    other = factories.project(db_session, "OTHER", "Other", owner=team.viewer)
    elsewhere = Milestone(project_id=other.id, name="Elsewhere", baseline=date(2026, 5, 1))
    db_session.add(elsewhere)
    db_session.commit()
    assert api.get(f"/api/v1/projects/FRAUD/audit?milestone={elsewhere.id}").status_code == 404
    assert api.get(f"/projects/FRAUD/audit?milestone={elsewhere.id}").status_code == 404


def test_the_page_shows_every_figure_with_its_record(clients, team, seed):
    i = seed.ids
    page = clients["view"].get(f"/projects/FRAUD/audit?milestone={seed.pilot.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for expected in (
        "<h1>Pilot ready</h1>",
        f"forecast #{i['f1']}",
        f"forecast #{i['f2']}",
        "Labeling vendor late",
        "GPU quota cut",
        "Fri 8 May 2026",
        "+14 days",
        f"outcome record #{i['rec1']}",
        f"outcome record #{i['rec2']}",
        'decided by run <span class="mono audit-id">run-a</span>',
        "set by hand, no run recorded",
        "no outcome record: planner cannot say who set it or on what evidence",
        "0.81",
        f"link #{i['run']}",
        f"link #{i['model']}",
        f"link #{i['data']}",
        "s3://fraud/train",
        "fraud-gbm",
        f"risk #{i['r1']}",
        f"risk change #{i['r1_mitigation_edit']}",
        "Double-label 10%",
        "Fri 10 Apr 2026",
        f"gate #{i['g1']}",
        f"decision #{i['d1']}",
        f"decision #{i['d2']}",
        "Conditional go",
        "Weekly recall report",
        "any member holding the role Product owner",
        f"story text change #{i['hyp']}",
        "Recorded text",
        "GBM lifts recall to 0.85",
        "An experiment is done only with an outcome other than pending",
        "data-print",
        f"/api/v1/projects/FRAUD/audit?milestone={seed.pilot.id}",
        "css/print-audit.css",
    ):
        assert expected in html, expected
    # Scoped to the pilot: nothing of Production.
    for absent in ("Canary latency", "Latency SLA", "Go live", "DPIA", "FRAUD-3"):
        assert absent not in html, absent
    whole = clients["view"].get("/projects/FRAUD/audit").get_data(as_text=True)
    for present in ("Canary latency", "Latency SLA", "Go live", "DPIA", "whole project"):
        assert present in whole, present
    assert "<script>" not in html and ' style="' not in html


def seed_many(db_session, team, n: int) -> None:
    """n more of everything: experiments with records, links, risks with history, gates with
    decisions, milestones with forecasts (all in the project scope)."""
    project = team.project
    ctx = load_context(db_session, project)
    stage = db_session.scalar(select(Stage).where(Stage.project_id == project.id).limit(1))
    for k in range(n):
        milestone = Milestone(
            project_id=project.id, name=f"M{k}-{n}", baseline=date(2026, 5, 1), stage_id=stage.id
        )
        db_session.add(milestone)
        db_session.flush()
        db_session.add(
            MilestoneForecast(
                milestone_id=milestone.id, reported_on=date(2026, 3, 10),
                forecast=date(2026, 5, 5), note="n", by_id=team.manager.id,
            )
        )  # fmt: skip
        story = factories.story(
            db_session, project, team.editor, title=f"X{k}", type="experiment", hypothesis="h"
        )
        db_session.add(
            OutcomeRecord(story_id=story.id, outcome="refuted", run_id=f"r{k}", value=0.5,
                          decided_by_id=team.editor.id)
        )  # fmt: skip
        db_session.add(
            StoryTextChange(story_id=story.id, field="hypothesis", from_text="g", to_text="h",
                            by_id=team.manager.id)
        )  # fmt: skip
        story.outcome = "refuted"
        db_session.add(
            ArtefactLink(project_id=project.id, story_id=story.id, kind="mlflow_run",
                         run_id=f"r{k}", created_by_id=team.editor.id)
        )  # fmt: skip
        risk = create_risk(
            db_session, ctx,
            {"title": f"R{k}", "category": "privacy", "likelihood": 2, "impact": 3,
             "owner": "priya@example.com", "stories": [story.key_in("FRAUD")]},
            now=T0, by=team.manager,
        )  # fmt: skip
        update_risk(db_session, ctx, risk, {"mitigation": "m"}, now=T0, by=team.editor)
        gate = Gate(project_id=project.id, stage_id=stage.id, name=f"G{k}")
        db_session.add(gate)
        db_session.flush()
        db_session.add_all(
            [
                GateCriterion(gate_id=gate.id, text="c", done=True, done_by_id=team.editor.id),
                GateApprover(gate_id=gate.id, account_id=team.manager.id),
                GateApprover(gate_id=gate.id, role="product_owner"),
                GateDecision(gate_id=gate.id, decision="go", reason="ok", evidence="{}",
                             decided_by_id=team.viewer.id),
            ]
        )  # fmt: skip
    db_session.commit()


@pytest.mark.parametrize("url", ["/api/v1/projects/FRAUD/audit", "/projects/FRAUD/audit"])
def test_the_query_count_does_not_grow_with_the_data(clients, team, db_session, count_queries, url):
    client = clients["view"]
    seed_many(db_session, team, 1)
    assert client.get(url).status_code == 200  # warm up
    with count_queries() as one:
        assert client.get(url).status_code == 200
    seed_many(db_session, team, 6)
    with count_queries() as many:
        answer = client.get(url)
        assert answer.status_code == 200
    if url.startswith("/api/"):
        body = answer.get_json()
        assert len(body["experiments"]) == 7 and len(body["gates"]) == 7
        assert len(body["risks"]) == 7 and len(body["milestones"]) == 7
    assert one.count == many.count, (one.statements, many.statements)


def test_the_dashboard_and_the_milestone_page_link_the_pack(clients, seed):
    dashboard = clients["view"].get("/projects/FRAUD/dashboard").get_data(as_text=True)
    assert 'href="/projects/FRAUD/audit">Audit pack</a>' in dashboard
    page = clients["view"].get(f"/projects/FRAUD/milestones/{seed.pilot.id}")
    assert (
        f'href="/projects/FRAUD/audit?milestone={seed.pilot.id}">Audit pack for this milestone</a>'
        in page.get_data(as_text=True)
    )
