"""Stage gates through the API: creating one (manage), who may decide (its approvers only, a
stakeholder among them), decisions that are never edited, required evidence computed from links
and the risk register, enforcement of gates on story moves, and gate.decided reaching a real
webhook receiver and the approvers' and managers' bells. Expectations are worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from planner.delivery.worker import Worker
from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.models import (
    ArtefactLink,
    Gate,
    GateDecision,
    Milestone,
    Notification,
    OutboxEvent,
    Project,
    Risk,
    Story,
)
from planner.models.evidence import ImmutableRecordError
from tests import factories
from tests.test_tokens import bearer, make_token

CRITERIA = ["Recall at 1% FPR measured on the held-out set", "Per-group recall gap reviewed"]
OPEN_MESSAGE = (
    "Evaluation gate 'Ready for pilot' is open: decide it before starting Deployment work."
)
NO_GO_MESSAGE = (
    "Evaluation gate 'Ready for pilot' was decided no-go: it needs a new decision before "
    "starting Deployment work."
)
ENFORCED = " This project enforces stage gates."


@pytest.fixture
def po(db_session, team):
    """Pat, a product owner with edit access: an approver by role."""
    pat = factories.account(db_session, "pat@example.com", "Pat Quinn")
    factories.member(db_session, team.project, pat, "edit", ["product_owner"])
    db_session.commit()
    return pat


@pytest.fixture
def pat(app, po):
    from tests.conftest import sign_in

    return sign_in(app, po)


def make_gate(client, **overrides):
    body = {
        "stage": "evaluation",
        "name": "Ready for pilot",
        "description": "Go to the bank's pilot.",
        "criteria": CRITERIA,
        "approvers": ["helen@example.com", "product_owner"],
        **overrides,
    }
    return client.api("POST", "/api/v1/projects/FRAUD/gates", body)


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def story(db_session, team, stage, title="Scoring endpoint", **values):
    made = factories.story(
        db_session, team.project, team.editor, title=title, stage=stage, **values
    )
    db_session.commit()
    return made


# --- creating ------------------------------------------------------------------------------------


def test_a_manager_creates_a_gate_and_everyone_in_the_project_reads_it(clients, po):
    answer = make_gate(
        clients["manage"], required_links=["document"], required_risk_categories=["privacy"]
    )
    assert answer.status_code == 201, answer.get_json()
    gate = answer.get_json()
    first, second = gate["criteria"]
    assert gate == {
        "id": gate["id"],
        "stage": "evaluation",
        "name": "Ready for pilot",
        "description": "Go to the bank's pilot.",
        "state": "open",
        "criteria": [
            {"id": first["id"], "text": CRITERIA[0], "done": False},
            {"id": second["id"], "text": CRITERIA[1], "done": False},
        ],
        "approvers": [
            {"email": "helen@example.com", "name": "Helen Brooks"},
            {"role": "product_owner"},
        ],
        "required_links": ["document"],
        "required_risk_categories": ["privacy"],
        # Nothing links a document and no privacy risk is on the register.
        "evidence": {"links": {"document": False}, "risks": {"privacy": False}},
        "decisions": [],
    }
    for level in ("manage", "edit", "view"):
        listed = clients[level].get("/api/v1/projects/FRAUD/gates")
        assert listed.status_code == 200
        assert listed.get_json() == {"gates": [gate]}
        assert clients[level].get(f"/api/v1/gates/{gate['id']}").get_json() == gate
    assert clients["none"].get("/api/v1/projects/FRAUD/gates").status_code == 404
    assert clients["none"].get(f"/api/v1/gates/{gate['id']}").status_code == 404
    assert clients["view"].get("/api/v1/gates/999").status_code == 404


def test_only_managers_create_gates(clients, db_session, po):
    assert make_gate(clients["edit"]).status_code == 403
    assert make_gate(clients["view"]).status_code == 403
    assert make_gate(clients["none"]).status_code == 404
    assert count(db_session, Gate) == 0


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"stage": "shipping"}, "stage", "The project has no stage 'shipping'."),
        ({"stage": ""}, "stage", "Choose the stage the gate ends."),
        ({"name": "  "}, "name", "Name the gate."),
        ({"name": "x" * 121}, "name", None),
        ({"approvers": []}, "approvers", None),
        ({"approvers": ["  "]}, "approvers", None),
        ({"approvers": ["otto@example.com"]}, "approvers", None),
        ({"approvers": ["wizard"]}, "approvers", None),
        ({"criteria": ["ok", "x" * 301]}, "criteria", None),
        ({"criteria": ["line\nbreak"]}, "criteria", None),
        ({"criteria": [f"c{n}" for n in range(51)]}, "criteria", None),
        ({"required_links": ["slides"]}, "required_links", None),
        ({"required_risk_categories": ["weather"]}, "required_risk_categories", None),
        ({"criteria": "one"}, "criteria", "Send a list."),
        ({"approvers": "helen@example.com"}, "approvers", "Send a list."),
        ({"surprise": 1}, "surprise", None),
    ],
)
def test_bad_gates_are_refused_field_by_field_and_nothing_is_saved(
    clients, db_session, po, changes, field, message
):
    answer = make_gate(clients["manage"], **changes)
    assert answer.status_code == 422, answer.get_json()
    details = answer.get_json()["error"]["details"]
    assert field in details, details
    if message:
        assert details[field] == message
    assert count(db_session, Gate) == 0


def test_approver_messages_say_what_is_wrong(clients, po):
    outsider = make_gate(clients["manage"], approvers=["otto@example.com"]).get_json()
    assert outsider["error"]["details"]["approvers"].startswith(
        "'otto@example.com' is neither a member of FRAUD (by e-mail) nor a functional role key"
    )
    empty = make_gate(clients["manage"], approvers=[]).get_json()
    assert empty["error"]["details"]["approvers"] == (
        "Name at least one approver: a member's e-mail or a functional role."
    )
    kind = make_gate(clients["manage"], required_links=["slides"]).get_json()
    assert kind["error"]["details"]["required_links"] == (
        "'slides' is not a link kind; choose from: mlflow_run, mlflow_model_version, dataset, "
        "commit, document."
    )


def test_the_json_body_must_be_an_object(clients, po):
    answer = clients["manage"].api("POST", "/api/v1/projects/FRAUD/gates", ["stage"])
    assert answer.status_code == 400


# --- deciding ------------------------------------------------------------------------------------


def test_only_approvers_decide_a_stakeholder_among_them(clients, pat, db_session, po):
    gate_id = make_gate(clients["manage"]).get_json()["id"]
    url = f"/api/v1/gates/{gate_id}/decisions"
    body = {"decision": "go", "reason": "Looks fine"}
    # The manager and the data scientist are not approvers; the outsider sees nothing.
    assert clients["manage"].api("POST", url, body).status_code == 403
    assert clients["edit"].api("POST", url, body).status_code == 403
    assert clients["none"].api("POST", url, body).status_code == 404
    # Even a nonsense body is refused for who sends it, before what it says.
    assert clients["edit"].api("POST", url, {"nonsense": 1}).status_code == 403
    assert count(db_session, GateDecision) == 0

    # Helen (view access, a named approver) says no-go.
    no_go = clients["view"].api(
        "POST", url, {"decision": "no_go", "reason": "Recall gap for new customers unexplained"}
    )
    assert no_go.status_code == 201, no_go.get_json()
    assert no_go.get_json()["state"] == "no_go"
    # Pat (product owner by role) revisits it with a conditional go.
    conditional = pat.api(
        "POST",
        url,
        {
            "decision": "conditional",
            "reason": "Gap explained by thin data; acceptable for a pilot",
            "conditions": "Pilot limited to 5% of traffic; recall gap re-measured in 4 weeks",
        },
    )
    assert conditional.status_code == 201, conditional.get_json()
    gate = conditional.get_json()
    assert gate["state"] == "conditional"
    first, second = gate["decisions"]
    assert (first["decision"], first["reason"], first["conditions"]) == (
        "no_go",
        "Recall gap for new customers unexplained",
        None,
    )
    assert first["decided_by"] == {"email": "helen@example.com", "name": "Helen Brooks"}
    assert second["decision"] == "conditional"
    assert second["conditions"] == (
        "Pilot limited to 5% of traffic; recall gap re-measured in 4 weeks"
    )
    assert second["decided_by"] == {"email": "pat@example.com", "name": "Pat Quinn"}
    assert second["id"] > first["id"]
    assert datetime.fromisoformat(second["decided_at"]) >= datetime.fromisoformat(
        first["decided_at"]
    )
    # The old no-go stays in the log; the API has no way to change or remove a decision.
    assert clients["view"].get(f"/api/v1/gates/{gate_id}").get_json()["decisions"] == [
        first,
        second,
    ]
    assert pat.api("DELETE", url).status_code == 405
    assert pat.api("PATCH", f"{url}/{first['id']}", {"reason": "x"}).status_code == 404


def test_a_read_token_of_an_approver_decides_nothing(clients, db_session, po):
    gate_id = make_gate(clients["manage"]).get_json()["id"]
    token = make_token(clients["view"], scope="read")
    answer = (
        clients["view"]
        .application.test_client()
        .post(
            f"/api/v1/gates/{gate_id}/decisions",
            json={"decision": "go", "reason": "ok"},
            headers=bearer(token),
        )
    )
    assert answer.status_code == 403
    assert count(db_session, GateDecision) == 0


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"decision": "go"}, "reason", "This field is required."),
        ({"decision": "go", "reason": "   "}, "reason", "Give the reason for the decision."),
        (
            {"decision": "conditional", "reason": "ok"},
            "conditions",
            "State the conditions of a conditional go.",
        ),
        (
            {"decision": "conditional", "reason": "ok", "conditions": " "},
            "conditions",
            "State the conditions of a conditional go.",
        ),
        (
            {"decision": "go", "reason": "ok", "conditions": "Only on Mondays"},
            "conditions",
            "Only a conditional go has conditions: clear them, or choose conditional.",
        ),
        ({"decision": "maybe", "reason": "ok"}, "decision", None),
        ({"decision": "go", "reason": "x" * 5001}, "reason", None),
        ({"decision": "go", "reason": 5}, "reason", "Send a string."),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_recorded(
    clients, db_session, po, body, field, message
):
    gate_id = make_gate(clients["manage"]).get_json()["id"]
    answer = clients["view"].api("POST", f"/api/v1/gates/{gate_id}/decisions", body)
    assert answer.status_code == 422, answer.get_json()
    details = answer.get_json()["error"]["details"]
    if message:
        assert details[field] == message
    else:
        assert field in details
    assert count(db_session, GateDecision) == 0
    assert count(db_session, OutboxEvent) == 0  # nothing happened, nothing is announced


def test_decisions_are_append_only_in_the_database(clients, db_session, po):
    gate_id = make_gate(clients["manage"]).get_json()["id"]
    clients["view"].api(
        "POST", f"/api/v1/gates/{gate_id}/decisions", {"decision": "go", "reason": "ok"}
    )
    decision = db_session.scalar(select(GateDecision))
    decision.reason = "rewritten"
    with pytest.raises(ImmutableRecordError):
        db_session.flush()
    db_session.rollback()
    db_session.delete(db_session.scalar(select(GateDecision)))
    with pytest.raises(ImmutableRecordError):
        db_session.flush()
    db_session.rollback()


# --- criteria ------------------------------------------------------------------------------------


def test_criteria_are_ticked_by_editors_and_approvers_only(clients, db_session, team, po):
    gate = make_gate(clients["manage"]).get_json()
    first, second = (c["id"] for c in gate["criteria"])
    url = f"/api/v1/gates/{gate['id']}/criteria/{first}"
    ticked = clients["edit"].api("PATCH", url, {"done": True})
    assert ticked.status_code == 200, ticked.get_json()
    assert [c["done"] for c in ticked.get_json()["criteria"]] == [True, False]
    # Helen (view) is an approver: she may tick; Pat's role makes him one too.
    url2 = f"/api/v1/gates/{gate['id']}/criteria/{second}"
    assert clients["view"].api("PATCH", url2, {"done": True}).status_code == 200
    untick = clients["view"].api("PATCH", url, {"done": False})
    assert [c["done"] for c in untick.get_json()["criteria"]] == [False, True]
    assert clients["none"].api("PATCH", url, {"done": True}).status_code == 404
    assert clients["edit"].api("PATCH", url, {"done": "yes"}).status_code == 422
    assert clients["edit"].api("PATCH", url, {}).status_code == 422
    assert clients["edit"].api("PATCH", url + "0", {"done": True}).status_code == 404


def test_a_viewer_who_is_not_an_approver_ticks_nothing(app, clients, db_session, team, po):
    gate = make_gate(clients["manage"], approvers=["product_owner"]).get_json()
    url = f"/api/v1/gates/{gate['id']}/criteria/{gate['criteria'][0]['id']}"
    answer = clients["view"].api("PATCH", url, {"done": True})
    assert answer.status_code == 403
    assert "edit access" in answer.get_json()["error"]["message"]


# --- evidence ------------------------------------------------------------------------------------


def test_evidence_counts_links_of_the_stage_and_reviewed_risk_categories(
    clients, db_session, team, po
):
    project = db_session.get(Project, team.project.id)
    today = datetime.now(UTC).date()  # the project's timezone is UTC
    ctx = load_context(db_session, project)
    evaluation = ctx.stages["evaluation"]
    on_evaluation = story(db_session, team, "evaluation", title="Held-out evaluation")
    on_modeling = story(db_session, team, "modeling", title="Baseline")
    epic = create_epic(db_session, ctx, {"title": "Pilot readiness", "stage": "evaluation"})
    milestone = Milestone(
        project_id=project.id, name="Pilot", baseline=date(2026, 6, 1), stage_id=evaluation.id
    )
    db_session.add(milestone)
    db_session.flush()
    pid = project.id
    db_session.add_all(
        [
            ArtefactLink(
                project_id=pid, story_id=on_evaluation.id, kind="document", url="https://x/card"
            ),
            # A run of the modeling stage is not evidence for the evaluation gate.
            ArtefactLink(project_id=pid, story_id=on_modeling.id, kind="mlflow_run", run_id="r1"),
            ArtefactLink(
                project_id=pid, epic_id=epic.id, kind="dataset", uri="s3://d", version="v3"
            ),
            ArtefactLink(
                project_id=pid, milestone_id=milestone.id, kind="commit", url="https://git/c/1"
            ),
        ]
    )

    def risk(title, category, status="open", mitigation=None, review_on=None):
        now = datetime(2026, 3, 2, tzinfo=UTC)
        db_session.add(
            Risk(
                project_id=pid,
                title=title,
                category=category,
                likelihood=3,
                impact=3,
                status=status,
                mitigation=mitigation,
                review_on=review_on,
                created_at=now,
                updated_at=now,
            )
        )

    # privacy: the open risk is mitigated and due for review today; the closed one has neither.
    risk("PII in features", "privacy", mitigation="Hash card numbers", review_on=today)
    risk("Old export", "privacy", status="closed")
    # bias_fairness: one mitigating risk is fine, the other's review date has passed.
    risk("Gap for new customers", "bias_fairness", "mitigating", "Reweight", today)
    risk("Age proxy", "bias_fairness", mitigation="Drop feature", review_on=today - timedelta(1))
    # labeling_quality: a review date but no mitigation.
    risk("Annotator drift", "labeling_quality", review_on=today + timedelta(7))
    # data_quality: nothing on the register.
    db_session.commit()

    answer = make_gate(
        clients["manage"],
        required_links=["mlflow_run", "document", "dataset", "commit"],
        required_risk_categories=["privacy", "bias_fairness", "labeling_quality", "data_quality"],
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["evidence"] == {
        "links": {"mlflow_run": False, "document": True, "dataset": True, "commit": True},
        "risks": {
            "privacy": True,
            "bias_fairness": False,
            "labeling_quality": False,
            "data_quality": False,
        },
    }

    # The decision keeps what the approver saw, whatever changes later.
    gate_id = answer.get_json()["id"]
    criteria = answer.get_json()["criteria"]
    clients["edit"].api(
        "PATCH", f"/api/v1/gates/{gate_id}/criteria/{criteria[0]['id']}", {"done": True}
    )
    decided = clients["view"].api(
        "POST",
        f"/api/v1/gates/{gate_id}/decisions",
        {"decision": "conditional", "reason": "Close", "conditions": "Link the run by Friday"},
    )
    assert decided.status_code == 201
    snapshot = json.loads(db_session.scalar(select(GateDecision.evidence)))
    assert snapshot == {
        "criteria": [
            {"id": criteria[0]["id"], "text": CRITERIA[0], "done": True},
            {"id": criteria[1]["id"], "text": CRITERIA[1], "done": False},
        ],
        "evidence": {
            "links": {"mlflow_run": False, "document": True, "dataset": True, "commit": True},
            "risks": {
                "privacy": True,
                "bias_fairness": False,
                "labeling_quality": False,
                "data_quality": False,
            },
        },
    }


def test_the_gate_list_costs_the_same_queries_for_one_gate_or_many(
    clients, db_session, team, po, count_queries
):
    def one_more():
        gate = make_gate(
            clients["manage"], required_links=["document"], required_risk_categories=["privacy"]
        ).get_json()
        clients["view"].api(
            "POST", f"/api/v1/gates/{gate['id']}/decisions", {"decision": "go", "reason": "ok"}
        )

    one_more()
    with count_queries() as few:
        assert clients["view"].get("/api/v1/projects/FRAUD/gates").status_code == 200
    for _ in range(4):
        one_more()
    with count_queries() as many:
        listed = clients["view"].get("/api/v1/projects/FRAUD/gates")
    assert len(listed.get_json()["gates"]) == 5
    assert many.count == few.count
    assert many.count <= 14


# --- enforcement ---------------------------------------------------------------------------------


def enforce(db_session, team, on=True):
    db_session.get(Project, team.project.id).enforce_gates = on
    db_session.commit()


def patch_status(client, key, status, version):
    return client.api("PATCH", f"/api/v1/stories/{key}", {"status": status, "version": version})


def test_an_enforcing_project_refuses_to_start_work_behind_an_open_or_no_go_gate(
    clients, pat, db_session, team, po
):
    deploy = story(db_session, team, "deployment")
    evaluation = story(db_session, team, "evaluation", title="Held-out evaluation")
    crosscut = story(db_session, team, None, title="Docs")
    enforce(db_session, team)
    gate_id = make_gate(clients["manage"]).get_json()["id"]

    refused = patch_status(clients["edit"], "FRAUD-1", "in_progress", 1)
    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "gate_closed"
    assert error["message"] == OPEN_MESSAGE + ENFORCED
    assert error["details"] == {"status": OPEN_MESSAGE + ENFORCED}
    db_session.expire_all()
    assert (db_session.get(Story, deploy.id).status, db_session.get(Story, deploy.id).version) == (
        "todo",
        1,
    )
    # The gate's own stage and cross-cutting work are not behind it.
    assert patch_status(clients["edit"], "FRAUD-2", "in_progress", 1).status_code == 200
    assert patch_status(clients["edit"], "FRAUD-3", "done", 1).status_code == 200
    # Nor can a story be created already started, or moved into the blocked stage while started.
    created = clients["edit"].api(
        "POST",
        "/api/v1/projects/FRAUD/stories",
        {"title": "Shadow mode", "stage": "deployment", "status": "review"},
    )
    assert created.status_code == 409
    assert created.get_json()["error"]["message"] == OPEN_MESSAGE + ENFORCED
    moved = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-2", {"stage": "deployment", "version": 2}
    )
    assert moved.status_code == 409
    # Back to "to do" is never refused.
    assert patch_status(clients["edit"], "FRAUD-1", "todo", 1).status_code == 200

    url = f"/api/v1/gates/{gate_id}/decisions"
    clients["view"].api("POST", url, {"decision": "no_go", "reason": "Recall gap"})
    no_go = patch_status(clients["edit"], "FRAUD-1", "in_progress", 1)
    assert no_go.status_code == 409
    assert no_go.get_json()["error"]["message"] == NO_GO_MESSAGE + ENFORCED

    pat.api("POST", url, {"decision": "conditional", "reason": "ok", "conditions": "5% only"})
    assert patch_status(clients["edit"], "FRAUD-1", "in_progress", 1).status_code == 200
    assert evaluation.id and crosscut.id


def test_without_enforcement_the_move_happens(clients, db_session, team, po):
    story(db_session, team, "deployment")
    make_gate(clients["manage"])
    assert patch_status(clients["edit"], "FRAUD-1", "in_progress", 1).status_code == 200


def test_the_first_blocking_gate_in_stage_order_is_named(clients, db_session, team, po):
    story(db_session, team, "deployment")
    story(db_session, team, "monitoring", title="Drift watch")
    enforce(db_session, team)
    # A gate after Deployment blocks Monitoring only; one after Modeling blocks both later stages.
    make_gate(clients["manage"], stage="deployment", name="Ready for production")
    make_gate(clients["manage"], stage="modeling", name="Baseline beaten")
    make_gate(clients["manage"], stage="monitoring", name="Retrain policy")  # blocks nothing
    first = patch_status(clients["edit"], "FRAUD-1", "in_progress", 1).get_json()
    assert first["error"]["message"] == (
        "Modeling & training gate 'Baseline beaten' is open: decide it before starting "
        "Deployment work." + ENFORCED
    )
    second = patch_status(clients["edit"], "FRAUD-2", "in_progress", 1).get_json()
    assert second["error"]["message"].startswith("Modeling & training gate 'Baseline beaten'")


# --- gate.decided: webhooks and notifications ----------------------------------------------------


def test_a_decision_reaches_the_webhook_and_the_approvers_and_managers(
    app, clients, pat, db_session, team, po, receiver
):
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, BASE_URL="http://planner.test")
    hook = clients["manage"].api(
        "POST",
        "/api/v1/projects/FRAUD/webhooks",
        {"url": receiver.url(), "events": ["gate.decided"]},
    )
    assert hook.status_code == 201, hook.get_json()
    gate_id = make_gate(clients["manage"]).get_json()["id"]
    # A refused decision announces nothing.
    pat.api("POST", f"/api/v1/gates/{gate_id}/decisions", {"decision": "conditional"})
    answer = pat.api(
        "POST",
        f"/api/v1/gates/{gate_id}/decisions",
        {
            "decision": "conditional",
            "reason": "Recall 0.86 on the held-out set",
            "conditions": "Pilot limited to 5% of traffic",
        },
    )
    assert answer.status_code == 201
    decided_at = answer.get_json()["decisions"][0]["decided_at"]
    Worker(app).run_once()
    Worker(app).run_once()
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert call.headers["x-planner-event"] == "gate.decided"
    body = call.json
    assert body["event"] == "gate.decided"
    assert body["project"] == "FRAUD"
    assert body["data"] == {
        "gate": {
            "id": gate_id,
            "name": "Ready for pilot",
            "stage": "evaluation",
            "path": f"/projects/FRAUD/gates/{gate_id}",
        },
        "decision": "conditional",
        "reason": "Recall 0.86 on the held-out set",
        "conditions": "Pilot limited to 5% of traffic",
        "previous_state": "open",
        "decided_at": decided_at,
        "approvers": [
            {"email": "helen@example.com", "name": "Helen Brooks"},
            {"role": "product_owner"},
        ],
        "url": f"http://planner.test/projects/FRAUD/gates/{gate_id}",
        "actor": {"email": "pat@example.com", "name": "Pat Quinn"},
    }
    # Bells: the manager and the other approver; not the one who decided, not the editor.
    lines = {
        (n.account_id, n.kind, n.text, n.link, n.detail)
        for n in db_session.scalars(select(Notification))
    }
    text = "Pat Quinn decided gate Ready for pilot: Conditional go"
    link = f"/projects/FRAUD/gates/{gate_id}"
    assert lines == {
        (team.manager.id, "gate", text, link, "Pilot limited to 5% of traffic"),
        (team.viewer.id, "gate", text, link, "Pilot limited to 5% of traffic"),
    }

    # A later no-go by Helen says what it superseded; Pat (role approver) now hears of it.
    clients["view"].api(
        "POST", f"/api/v1/gates/{gate_id}/decisions", {"decision": "no_go", "reason": "Drift"}
    )
    Worker(app).run_once()
    Worker(app).run_once()
    assert len(receiver.calls) == 2
    second = receiver.calls[1].json["data"]
    assert (second["decision"], second["previous_state"], second["conditions"]) == (
        "no_go",
        "conditional",
        None,
    )
    pats = db_session.scalars(select(Notification).where(Notification.account_id == po.id)).all()
    assert [(n.text, n.detail) for n in pats] == [
        ("Helen Brooks decided gate Ready for pilot: No-go", "Drift")
    ]
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.account_id == team.editor.id)
        )
        == 0
    )
