"""The ML loop as a team lives it, in Chromium, with a real MLflow server on loopback:

- a data scientist links two runs to an experiment; planner proposes "refuted" from the metric,
  and she confirms it;
- the milestone page shows the recall trend against its target;
- the product owner records a conditional go at the Evaluation gate;
- a stakeholder reads all of it on the dashboard and prints the audit pack, where the deciding run
  and value and the decision can be found.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from planner.demo import DEMO_PASSWORD, install_demo
from planner.domain.context import load_context
from planner.domain.gates import create_gate
from planner.models import Account, Milestone, OutcomeRecord, Project
from tests import factories
from tests.browser.conftest import sign_in

MILESTONE = "Model meets target: recall >= 0.85 at 1% FPR"


def test_runs_outcome_trend_gate_and_audit_pack(
    live_server, new_page, shots, db_session, mlflow_store
):
    install_demo(db_session, hash_method=factories.HASH, mlflow_folder=None)
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    project.mlflow_tracking_uri = mlflow_store.uri
    jonas = db_session.scalar(select(Account).where(Account.email == "jonas@example.com"))
    priya = db_session.scalar(select(Account).where(Account.email == "priya@example.com"))
    story = factories.story(
        db_session,
        project,
        priya,
        title="Focal loss against class imbalance",
        type="experiment",
        stage="modeling",
        epic="E4",
        hypothesis="Focal loss lifts recall at 1% FPR to the target.",
        metric="val_recall",
        target=">= 0.85",
    )
    gate = create_gate(
        db_session,
        load_context(db_session, project),
        {
            "stage": "evaluation",
            "name": "Ready for shadow mode",
            "criteria": ["Recall measured on the December test month"],
            "approvers": ["product_owner"],
        },
        by=jonas,
        now=datetime.now(UTC),
    )
    db_session.commit()
    key = f"FRAUD-{story.number}"

    # Two finished runs in the team's MLflow: recall 0.78 and 0.81, both short of 0.85.
    experiment = mlflow_store.experiment()
    ended = datetime.now(UTC) - timedelta(days=2)
    first = mlflow_store.log_run(
        experiment,
        name="focal-g2",
        metrics={"val_recall": 0.78},
        params={"gamma": "2"},
        start=ended - timedelta(hours=3),
        end=ended - timedelta(hours=2),
    )
    second = mlflow_store.log_run(
        experiment,
        name="focal-g3",
        metrics={"val_recall": 0.81},
        params={"gamma": "3"},
        start=ended - timedelta(hours=1),
        end=ended,
    )

    # Priya links both runs through the story page's forms, sees "Refuted" and confirms it.
    page = new_page()
    sign_in(page, live_server, "priya@example.com", DEMO_PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/stories/{story.number}")
    for run_id in (first, second):
        form = page.locator("details.link-form").filter(
            has=page.locator("summary", has_text=re.compile(r"^MLflow run$"))
        )
        form.locator("summary").click()
        form.get_by_label("Run id or MLflow address").fill(run_id)
        form.get_by_role("button", name="Add MLflow run").click()
        page.wait_for_load_state()
    links = page.locator("section#links")
    expect(links).to_contain_text("focal-g2")
    expect(links).to_contain_text("focal-g3")
    expect(links).to_contain_text("0.81")
    proposal = page.locator("#outcome-proposal")
    expect(proposal).to_contain_text("Refuted")
    expect(proposal).to_contain_text("focal-g3")
    expect(proposal).to_contain_text("0.81")
    shots.take(page, "experiment-proposal")
    proposal.get_by_role("button", name="Confirm refuted").click()
    page.wait_for_load_state()
    expect(page.locator("#outcome-proposal")).to_contain_text("Recorded")
    record = db_session.scalars(
        select(OutcomeRecord).where(OutcomeRecord.story_id == story.id)
    ).one()
    assert (record.outcome, record.run_id, record.value) == ("refuted", second, 0.81)
    assert record.decided_by_id == priya.id
    shots.take(page, "experiment-confirmed")

    # The milestone page draws the recall trend against the 0.85 target.
    milestone_id = db_session.scalar(select(Milestone.id).where(Milestone.name == MILESTONE))
    page.goto(f"{live_server}/projects/FRAUD/milestones/{milestone_id}")
    trend = page.locator("[data-figure^='fig-metric-trend']").first
    expect(trend).to_have_attribute("data-drawn", "yes", timeout=20_000)
    names = trend.evaluate("el => el.data.map(t => t.name)")
    assert any("target" in (name or "").lower() for name in names), names
    expect(page.locator("main")).to_contain_text("focal-g3")
    shots.take(page, "milestone-trend")

    # Jonas, the product owner, records a conditional go at the Evaluation gate.
    po = new_page()
    sign_in(po, live_server, "jonas@example.com", DEMO_PASSWORD)
    po.goto(f"{live_server}/projects/FRAUD/gates/{gate.id}")
    po.get_by_label("Decision", exact=True).select_option("conditional")
    po.get_by_label("Reason").fill("Recall 0.81 is short of 0.85 but ahead of the rules engine.")
    po.get_by_label("Conditions").fill("Shadow mode only; recall >= 0.85 before any alert is sent.")
    po.get_by_role("button", name="Record decision").click()
    po.wait_for_load_state()
    log = po.locator("#decisions")
    expect(log).to_contain_text("Conditional go")
    expect(log).to_contain_text("Jonas Weber")
    shots.take(po, "gate-conditional")

    # Helen, a stakeholder, reads it on the dashboard and prints the audit pack.
    helen = new_page()
    sign_in(helen, live_server, "helen@example.com", DEMO_PASSWORD)
    helen.goto(f"{live_server}/projects/FRAUD/dashboard")
    main = helen.locator("main")
    expect(main).to_contain_text("Ready for shadow mode")
    expect(main).to_contain_text("Shadow mode only")
    expect(main).to_contain_text(re.compile(r"val_recall [0-9.]+ .*→ 0\.81"))
    shots.take(helen, "dashboard")
    helen.get_by_role("link", name="Audit pack").click()
    helen.wait_for_load_state()
    expect(helen).to_have_url(re.compile(r"/projects/FRAUD/audit"))
    pack = helen.locator("main")
    expect(pack).to_contain_text(key)
    expect(pack).to_contain_text(second)  # the run that decided the outcome
    expect(pack).to_contain_text("0.81")
    expect(pack).to_contain_text("Ready for shadow mode")
    expect(pack).to_contain_text("Recall 0.81 is short of 0.85 but ahead of the rules engine.")
    shots.take(helen, "audit-pack")
    helen.emulate_media(media="print")
    expect(helen.locator("header, nav").first).to_be_hidden()
    shots.take(helen, "audit-pack-print")
