"""Stage gate pages: the list with state badges, the manager's form, the gate page (checklist,
evidence, approvers, the approvers' decision form, the log), the warnings on the board and in
planning, the refusals of an enforcing project, and the status table on the dashboard, the
public share page and milestone pages."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from planner.domain.sharing import create_share_link
from planner.domain.sprints import create_sprint
from planner.models import Gate, GateCriterion, GateDecision, Milestone, Project, Stage, Story
from planner.timeutil import utcnow
from tests import factories
from tests.conftest import sign_in

OPEN_WARNING = (
    "Evaluation gate 'Ready for pilot' is open: decide it before starting Deployment work."
)


@pytest.fixture
def po(db_session, team):
    pat = factories.account(db_session, "pat@example.com", "Pat Quinn")
    factories.member(db_session, team.project, pat, "edit", ["product_owner"])
    db_session.commit()
    return pat


@pytest.fixture
def pat(app, po):
    return sign_in(app, po)


def api_gate(client, **overrides) -> dict:
    body = {
        "stage": "evaluation",
        "name": "Ready for pilot",
        "criteria": ["Recall measured on held-out set", "Fairness review signed"],
        "approvers": ["helen@example.com", "product_owner"],
        **overrides,
    }
    answer = client.api("POST", "/api/v1/projects/FRAUD/gates", body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def decide(client, gate_id, decision, reason="ok", conditions=None):
    body = {"decision": decision, "reason": reason}
    if conditions:
        body["conditions"] = conditions
    answer = client.api("POST", f"/api/v1/gates/{gate_id}/decisions", body)
    assert answer.status_code == 201, answer.get_json()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def sprint(db_session, team):
    row = create_sprint(
        db_session, team.project, {"name": "Sprint 7", "start": "2026-03-02", "end": "2026-03-13"}
    )
    db_session.commit()
    return row


# --- list and form ------------------------------------------------------------------------------


def test_the_list_shows_each_gate_with_its_state(clients, db_session, team, po, pat):
    first = api_gate(clients["manage"])
    api_gate(clients["manage"], stage="deployment", name="Ready for production")
    decide(pat, first["id"], "conditional", conditions="5% of traffic")
    page = clients["view"].get("/projects/FRAUD/gates")
    assert page.status_code == 200
    body = text(page)
    rows = re.findall(r'<tr data-gate="(\d+)">.*?data-state="(\w+)">([^<]+)<', body, re.S)
    assert [(state, words) for _, state, words in rows] == [
        ("conditional", "Conditional go"),
        ("open", "Open"),
    ]
    assert "New gate…" not in body  # view access
    assert "New gate…" in text(clients["manage"].get("/projects/FRAUD/gates"))
    assert ">Gates</a>" in body  # the project's tabs link the page
    assert clients["none"].get("/projects/FRAUD/gates").status_code == 404


def test_a_manager_adds_a_gate_with_the_form(clients, db_session, team, po):
    assert clients["manage"].get("/projects/FRAUD/gates/new").status_code == 200
    assert clients["edit"].get("/projects/FRAUD/gates/new").status_code == 403
    assert clients["view"].get("/projects/FRAUD/gates/new").status_code == 403
    answer = clients["manage"].post_form(
        "/projects/FRAUD/gates/new",
        {
            "stage": "evaluation",
            "name": "Ready for pilot",
            "criteria": "Recall measured\r\n\r\n  Fairness review signed  \r\n",
            "approvers": ["helen@example.com"],
            "approver_roles": ["product_owner", "domain_expert"],
            "required_links": ["document", "mlflow_run"],
            "required_risk_categories": ["privacy"],
        },
    )
    assert answer.status_code == 302, text(answer)[:2000]
    gate = db_session.scalar(select(Gate))
    assert answer.headers["Location"].endswith(f"/projects/FRAUD/gates/{gate.id}")
    assert (gate.name, gate.required_links, gate.required_risk_categories) == (
        "Ready for pilot",
        "document mlflow_run",
        "privacy",
    )
    criteria = db_session.scalars(select(GateCriterion.text).order_by(GateCriterion.position))
    assert list(criteria) == ["Recall measured", "Fairness review signed"]
    shown = clients["view"].get(f"/api/v1/gates/{gate.id}").get_json()
    assert shown["approvers"] == [
        {"email": "helen@example.com", "name": "Helen Brooks"},
        {"role": "product_owner"},
        {"role": "domain_expert"},
    ]


def test_bad_form_input_says_what_keeps_the_input_and_saves_nothing(clients, db_session, team, po):
    answer = clients["manage"].post_form(
        "/projects/FRAUD/gates/new",
        {"stage": "evaluation", "name": "", "criteria": "Keep me\nAnd me"},
    )
    assert answer.status_code == 422
    body = text(answer)
    assert "Name the gate." in body
    assert "Name at least one approver: a member's e-mail or a functional role." in body
    assert "Keep me\nAnd me" in body
    assert '<option selected value="evaluation">' in body or (
        '<option value="evaluation" selected>' in body
    )
    assert count(db_session, Gate) == 0
    # A forged stage is refused too.
    forged = clients["manage"].post_form(
        "/projects/FRAUD/gates/new",
        {"stage": "nowhere", "name": "x", "approver_roles": ["product_owner"]},
    )
    assert forged.status_code == 422
    assert "The project has no stage 'nowhere'." in text(forged)
    assert count(db_session, Gate) == 0


# --- the gate page -------------------------------------------------------------------------------


def test_approvers_decide_from_the_page_and_the_log_keeps_every_decision(
    clients, db_session, team, po, pat
):
    gate = api_gate(clients["manage"], required_links=["document"])
    url = f"/projects/FRAUD/gates/{gate['id']}"
    # The manager is not an approver: no form, and a forged post is refused.
    assert "Record decision" not in text(clients["manage"].get(url))
    refused = clients["manage"].post_form(
        f"{url}/decisions", {"decision": "go", "reason": "Looks fine"}
    )
    assert refused.status_code == 403
    # Helen (view access, named) sees the form; a conditional go needs its conditions.
    page = text(clients["view"].get(url))
    assert "Record decision" in page
    assert "Not decided yet" in page
    assert "No story, epic or milestone of this stage links a Document." in page
    bad = clients["view"].post_form(
        f"{url}/decisions", {"decision": "conditional", "reason": "Recall 0.86"}
    )
    assert bad.status_code == 422
    assert "State the conditions of a conditional go." in text(bad)
    assert "Recall 0.86" in text(bad)  # the reason typed is kept
    assert count(db_session, GateDecision) == 0

    no_go = clients["view"].post_form(
        f"{url}/decisions", {"decision": "no_go", "reason": "Gap for new customers"}
    )
    assert no_go.status_code == 302
    done = pat.post_form(
        f"{url}/decisions",
        {
            "decision": "conditional",
            "reason": "Gap explained by thin data",
            "conditions": "Pilot limited to 5% of traffic",
        },
    )
    assert done.status_code == 302
    page = text(clients["view"].get(url))
    assert 'data-state="conditional"' in page
    assert re.search(r"data-conditions><strong>Conditions:</strong> Pilot limited to 5%", page)
    log = re.findall(
        r'<tr data-decision="\d+">.*?"Who">([^<]+)</td>.*?<span class="chip \w+">([^<]+)</span>'
        r'.*?"Reason" class="small">([^<]*)</td>.*?"Conditions" class="small">([^<]*)</td>',
        page,
        re.S,
    )
    assert log == [  # newest first
        (
            "Pat Quinn",
            "Conditional go",
            "Gap explained by thin data",
            "Pilot limited to 5% of traffic",
        ),
        ("Helen Brooks", "No-go", "Gap for new customers", ""),
    ]
    # The page has no way to edit or delete a decision.
    assert "/decisions/" not in page


def test_criteria_are_ticked_from_the_page(clients, db_session, team, po):
    gate = api_gate(clients["manage"], approvers=["product_owner"])
    first = gate["criteria"][0]["id"]
    url = f"/projects/FRAUD/gates/{gate['id']}/criteria/{first}"
    assert clients["view"].post_form(url, {"done": "1"}).status_code == 403  # not an approver
    assert 'class="gate-tick"' not in text(clients["view"].get(url.rsplit("/criteria", 1)[0]))
    ticked = clients["edit"].post_form(url, {"done": "1"})
    assert ticked.status_code == 302
    assert db_session.get(GateCriterion, first).done is True
    db_session.expire_all()
    assert clients["edit"].post_form(url, {"done": "maybe"}).status_code == 302
    assert db_session.get(GateCriterion, first).done is True  # refused: unchanged
    clients["edit"].post_form(url, {"done": "0"})
    db_session.expire_all()
    assert db_session.get(GateCriterion, first).done is False
    assert clients["edit"].post_form(url + "9", {"done": "1"}).status_code == 404


def test_the_gate_pages_cost_the_same_queries_however_many_decisions(
    clients, db_session, team, po, pat, count_queries
):
    gate = api_gate(clients["manage"], required_risk_categories=["privacy"])
    decide(pat, gate["id"], "no_go")
    with count_queries() as few_page:
        clients["view"].get(f"/projects/FRAUD/gates/{gate['id']}")
    with count_queries() as few_list:
        clients["view"].get("/projects/FRAUD/gates")
    for n in range(4):
        decide(pat, gate["id"], "go", reason=f"round {n}")
        api_gate(clients["manage"], name=f"Gate {n}", required_links=["dataset"])
    with count_queries() as many_page:
        clients["view"].get(f"/projects/FRAUD/gates/{gate['id']}")
    with count_queries() as many_list:
        clients["view"].get("/projects/FRAUD/gates")
    assert many_page.count == few_page.count
    assert many_list.count == few_list.count + 1  # the first list needed no link query


# --- warnings and enforcement --------------------------------------------------------------------


@pytest.fixture
def deploy_work(db_session, team, sprint):
    """FRAUD-1 Deployment in progress, FRAUD-2 Deployment to do, FRAUD-3 Evaluation in progress,
    all in Sprint 7 (created before any gate)."""
    made = [
        factories.story(
            db_session,
            team.project,
            team.editor,
            title=title,
            stage=stage,
            status=status,
            sprint=sprint.id,
        )
        for title, stage, status in [
            ("Scoring endpoint", "deployment", "in_progress"),
            ("Shadow mode", "deployment", "todo"),
            ("Held-out evaluation", "evaluation", "in_progress"),
        ]
    ]
    db_session.commit()
    return made


def card(page: str, number: int) -> str:
    match = re.search(rf'<li class="board-card[^"]*" id="c{number}".*?</li>', page, re.S)
    assert match, number
    return match.group(0)


def test_the_board_warns_on_work_started_behind_an_open_or_no_go_gate(
    clients, db_session, team, po, pat, sprint, deploy_work
):
    board = f"/projects/FRAUD/board?sprint={sprint.id}"
    assert "data-gate-warning" not in text(clients["edit"].get(board))  # no gate yet
    gate = api_gate(clients["manage"])
    page = text(clients["edit"].get(board))
    assert OPEN_WARNING in card(page, 1)
    assert "data-gate-warning" not in card(page, 2)  # not started
    assert "data-gate-warning" not in card(page, 3)  # the gate's own stage
    # The board's refresh draws changed cards the same way.
    clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", {"points": 3, "version": 1})
    changes = (
        clients["edit"]
        .get(f"/projects/FRAUD/board/changes?sprint={sprint.id}&since=2000-01-01T00:00:00Z")
        .get_json()
    )
    (changed,) = [c for c in changes["changed"] if c["number"] == 1]
    assert OPEN_WARNING in html.unescape(changed["html"])

    decide(clients["view"], gate["id"], "no_go")
    assert "was decided no-go: it needs a new decision before starting Deployment work" in card(
        text(clients["view"].get(board)), 1
    )
    decide(pat, gate["id"], "conditional", conditions="5% of traffic")
    assert "data-gate-warning" not in text(clients["view"].get(board))
    decide(pat, gate["id"], "go")
    assert "data-gate-warning" not in text(clients["view"].get(board))


def test_planning_lists_the_sprint_stories_behind_a_gate(
    clients, db_session, team, po, sprint, deploy_work
):
    api_gate(clients["manage"])
    page = text(clients["manage"].get(f"/projects/FRAUD/sprints/{sprint.id}/plan"))
    section = re.search(r"<section[^>]*data-gate-warnings>.*?</section>", page, re.S).group(0)
    lines = re.findall(r'<li class="warn-line">(.*?)</li>', section, re.S)
    assert [re.sub(r"<[^>]+>", "", line) for line in lines] == [
        f"FRAUD-1 Scoring endpoint: {OPEN_WARNING}",
        f"FRAUD-2 Shadow mode: {OPEN_WARNING}",
    ]
    assert "A warning only" in section


def test_an_enforcing_project_refuses_the_board_move_and_the_story_page(
    clients, db_session, team, po, sprint, deploy_work
):
    db_session.get(Project, team.project.id).enforce_gates = True
    db_session.commit()
    api_gate(clients["manage"])
    message = OPEN_WARNING + " This project enforces stage gates."
    moved = clients["edit"].post_form(
        "/projects/FRAUD/board/2", {"status": "in_progress", "version": "1"}
    )
    assert moved.status_code == 302
    board = text(clients["edit"].get(f"/projects/FRAUD/board?sprint={sprint.id}"))
    assert f"FRAUD-2 not moved: {message}" in board
    saved = clients["edit"].post_form(
        "/projects/FRAUD/stories/2", {"version": "1", "status": "review"}
    )
    assert saved.status_code == 422
    assert message in text(saved)
    db_session.expire_all()
    assert db_session.get(Story, deploy_work[1].id).status == "todo"
    assert db_session.get(Story, deploy_work[1].id).version == 1
    plan = text(clients["manage"].get(f"/projects/FRAUD/sprints/{sprint.id}/plan"))
    assert "This project enforces gates" in plan


# --- status tables -------------------------------------------------------------------------------


def gate_rows(page: str) -> list[tuple[str, str, str]]:
    section = re.search(r'<section class="card" id="gates".*?</section>', page, re.S)
    if section is None:
        return []
    return re.findall(
        r'"After stage">([^<]+)</td>\s*<td data-label="Gate">(?:<a [^>]+>)?([^<]+)(?:</a>)?</td>'
        r'\s*<td data-label="State"><span class="chip [\w-]+" data-state="(\w+)"',
        section.group(0),
    )


def test_dashboard_share_page_and_milestones_show_gate_status(clients, db_session, team, po, pat):
    assert gate_rows(text(clients["view"].get("/projects/FRAUD/dashboard"))) == []
    modeling = api_gate(clients["manage"], stage="modeling", name="Baseline beaten")
    evaluation = api_gate(clients["manage"])
    decide(pat, modeling["id"], "go")
    decide(pat, evaluation["id"], "conditional", conditions="Pilot limited to 5% of traffic")
    expected = [
        ("Modeling & training", "Baseline beaten", "go"),
        ("Evaluation", "Ready for pilot", "conditional"),
    ]
    dashboard = text(clients["view"].get("/projects/FRAUD/dashboard"))
    assert gate_rows(dashboard) == expected
    assert "Pilot limited to 5% of traffic" in dashboard
    assert f'href="/projects/FRAUD/gates/{evaluation["id"]}"' in dashboard

    project = db_session.get(Project, team.project.id)
    _, token = create_share_link(
        db_session, project, "Sponsor", by_id=team.manager.id, now=utcnow()
    )
    db_session.commit()
    shared = text(clients["none"].get(f"/share/{token}"))
    assert gate_rows(shared) == expected
    assert "/gates/" not in shared  # the public page links nowhere it cannot open

    modeling_id = db_session.scalar(
        select(Stage.id).where(Stage.project_id == project.id, Stage.key == "modeling")
    )
    early = Milestone(
        project_id=project.id, name="Baseline", baseline=date(2026, 5, 1), stage_id=modeling_id
    )
    anywhere = Milestone(project_id=project.id, name="Launch", baseline=date(2026, 9, 1))
    db_session.add_all([early, anywhere])
    db_session.commit()
    page = text(clients["view"].get(f"/projects/FRAUD/milestones/{early.id}"))
    assert gate_rows(page) == expected[:1]  # the gates up to the milestone's stage
    page = text(clients["view"].get(f"/projects/FRAUD/milestones/{anywhere.id}"))
    assert gate_rows(page) == expected  # no stage: every gate


def test_the_dashboard_costs_the_same_queries_for_one_gate_or_many(
    clients, db_session, team, po, pat, count_queries
):
    first = api_gate(clients["manage"])
    decide(pat, first["id"], "go")
    clients["view"].get("/projects/FRAUD/dashboard")
    with count_queries() as one:
        clients["view"].get("/projects/FRAUD/dashboard")
    for n in range(4):
        gate = api_gate(clients["manage"], name=f"Gate {n}", stage="deployment")
        decide(pat, gate["id"], "conditional", conditions=f"condition {n}")
    with count_queries() as many:
        page = text(clients["view"].get("/projects/FRAUD/dashboard"))
    assert len(gate_rows(page)) == 5
    assert many.count == one.count
