"""The demo with MLflow: `planner demo` logs its recall experiment into a local SQLite MLflow
store through MLflow's own client, links the runs from its stories, epics and milestones, and
records two experiment outcomes, two gate decisions and three risks' mitigation history. Without
MLflow the same demo installs, with the same links, and the links say MLflow is missing.

The runs are read back with MLflow's client, not planner's. Every expected value is worked out by
hand from the shipped calendar: with now = Thursday 2026-11-19 12:00 UTC, the active sprint (Monday
2026-03-02 in demo.json) moves 36 weeks (252 days) to Monday 2026-11-09, so today is its day 10.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from planner.demo import install_demo
from planner.demo.evidence import GATES, LINKS, OUTCOMES, RISK_HISTORIES
from planner.demo.mlflow_runs import DEMO_RUNS, log_demo_runs
from planner.models import (
    Account,
    ArtefactLink,
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
from tests import factories
from tests.conftest import sign_in

NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
SHIFT_DAYS = 252
RECALLS = [
    ("lr-velocity-01", 0.71),
    ("lr-merchant-03", 0.76),
    ("lr-baseline-07", 0.79),
    ("lgbm-default-11", 0.81),
    ("lgbm-tuned-14", 0.82),
]
EXPERIMENT = "fraud-detector/recall-at-1pct-fpr"


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def client_for(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def runs_by_name(uri: str) -> dict[str, object]:
    client = client_for(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    return {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}


@pytest.fixture(scope="module")
def store_folder(tmp_path_factory):
    """One MLflow store for the module: MLflow creates its tables in seconds, so the demos after
    the first log into the same store, which reuses the runs it already holds (same names, same
    start times)."""
    return tmp_path_factory.mktemp("demo") / "mlflow"


@pytest.fixture
def demo(db_session, store_folder):
    pytest.importorskip("mlflow")
    result = install_demo(
        db_session, hash_method=factories.HASH, now=NOW, mlflow_folder=store_folder
    )
    db_session.commit()
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    return result, project, f"sqlite:///{store_folder / 'mlflow.db'}"


def test_the_runs_are_in_a_local_sqlite_store_the_project_points_at(demo, store_folder):
    result, project, uri = demo
    assert (store_folder / "mlflow.db").is_file()
    assert project.mlflow_tracking_uri == uri
    assert f"Its MLflow runs are in {uri}" in result.summary()

    runs = runs_by_name(uri)
    assert set(runs) == {name for name, _ in RECALLS} | {"lgbm-focal-01"}
    finished = sorted(
        (run for run in runs.values() if run.info.status == "FINISHED"),
        key=lambda run: run.info.start_time,
    )
    assert [(r.info.run_name, r.data.metrics["val_recall"]) for r in finished] == RECALLS
    assert max(value for _, value in RECALLS) < 0.85  # the target is not reached

    # Shipped 2026-02-06 10:05-10:48 UTC, plus 252 days: Friday 2026-10-16.
    first = runs["lr-velocity-01"].info
    assert first.start_time == ms(datetime(2026, 10, 16, 10, 5, tzinfo=UTC))
    assert first.end_time == ms(datetime(2026, 10, 16, 10, 48, tzinfo=UTC))
    # Shipped 2026-03-03 08:10-10:55 UTC: Tuesday 2026-11-10, in the active sprint.
    tuned = runs["lgbm-tuned-14"]
    assert tuned.info.start_time == ms(datetime(2026, 11, 10, 8, 10, tzinfo=UTC))
    assert tuned.info.end_time == ms(datetime(2026, 11, 10, 10, 55, tzinfo=UTC))
    assert tuned.data.params["model"] == "lightgbm"
    assert tuned.data.params["lr"] == "0.05"
    assert tuned.data.params["features"] == "velocity+merchant (point in time)"
    assert runs["lr-baseline-07"].data.params["model"] == "logistic_regression"
    assert all(run.info.end_time is None or run.info.end_time <= ms(NOW) for run in runs.values())

    focal = runs["lgbm-focal-01"]
    assert focal.info.status == "RUNNING" and "val_recall" not in focal.data.metrics

    champion = client_for(uri).get_model_version_by_alias("fraud-detector", "champion")
    assert str(champion.version) == "1"
    assert champion.run_id == tuned.info.run_id


def test_stories_epics_and_milestones_link_the_runs_the_store_holds(demo, db_session):
    _, project, uri = demo
    runs = runs_by_name(uri)
    name_of = {run.info.run_id: name for name, run in runs.items()}
    links = db_session.scalars(
        select(ArtefactLink).where(ArtefactLink.project_id == project.id)
    ).all()
    assert len(links) == len(LINKS) == 22
    number = {
        s.id: s.number
        for s in db_session.scalars(select(Story).where(Story.project_id == project.id))
    }
    linked_runs = sorted(
        (number[link.story_id], name_of[link.run_id])
        for link in links
        if link.kind == "mlflow_run" and link.story_id
    )
    assert linked_runs == [
        (20, "lr-velocity-01"),
        (21, "lr-merchant-03"),
        (23, "lr-baseline-07"),
        (24, "lgbm-default-11"),
        (24, "lgbm-tuned-14"),
        (31, "lgbm-tuned-14"),
        (37, "lgbm-focal-01"),
    ]
    epic_runs = sorted(name_of[link.run_id] for link in links if link.epic_id)
    assert epic_runs == ["lr-merchant-03", "lr-velocity-01"]
    assert all(link.tracking_uri is None for link in links)  # the project's URI applies
    kinds = sorted({link.kind for link in links})
    assert kinds == ["commit", "dataset", "document", "mlflow_model_version", "mlflow_run"]
    datasets = {(link.uri, link.version) for link in links if link.kind == "dataset"}
    assert ("s3://fraud-data/labels/gold", "v1.0") in datasets
    documents = {link.title for link in links if link.kind == "document"}
    assert "DPIA: cardholder details in the alert queue" in documents
    assert "Model card: fraud-detector (draft)" in documents
    assert all(link.url.startswith("https://") for link in links if link.kind == "commit")

    model = db_session.scalar(
        select(Milestone).where(Milestone.name == "Model meets target: recall >= 0.85 at 1% FPR")
    )
    assert (model.metric, model.target) == ("val_recall", ">= 0.85")
    version_links = [(link.name, link.version) for link in links if link.milestone_id == model.id]
    assert version_links == [("fraud-detector", "champion")]


def test_one_experiment_is_decided_by_its_best_run_and_one_is_still_pending(demo, db_session):
    _, project, uri = demo
    runs = runs_by_name(uri)
    stories = {
        s.number: s for s in db_session.scalars(select(Story).where(Story.project_id == project.id))
    }
    lgbm = stories[24]
    assert (lgbm.metric, lgbm.target, lgbm.outcome) == ("val_recall", ">= 0.85", "refuted")
    record = db_session.scalar(select(OutcomeRecord).where(OutcomeRecord.story_id == lgbm.id))
    # The better of its two runs, 0.82 (lgbm-tuned-14) over 0.81, is short of 0.85: refuted.
    assert (record.outcome, record.value, record.metric, record.target) == (
        "refuted",
        0.82,
        "val_recall",
        ">= 0.85",
    )
    assert record.run_id == runs["lgbm-tuned-14"].info.run_id
    assert record.tracking_uri == uri
    # Shipped 2026-03-04 10:12 UTC: Wednesday 2026-11-11.
    assert record.decided_at == datetime(2026, 11, 11, 10, 12, tzinfo=UTC)
    chen = db_session.scalar(select(Account).where(Account.email == "chen@example.com"))
    assert record.decided_by_id == chen.id

    baseline = db_session.scalar(
        select(OutcomeRecord).where(OutcomeRecord.story_id == stories[23].id)
    )
    assert (baseline.outcome, baseline.value, baseline.target) == ("confirmed", 0.79, ">= 0.75")
    assert baseline.run_id == runs["lr-baseline-07"].info.run_id

    focal = stories[37]
    assert (focal.metric, focal.target, focal.outcome) == ("val_recall", ">= 0.85", "pending")
    assert (
        db_session.scalar(select(OutcomeRecord).where(OutcomeRecord.story_id == focal.id)) is None
    )
    assert len(OUTCOMES) == 2


def test_the_gates_are_go_after_labeling_and_conditional_after_evaluation(demo, db_session):
    _, project, _ = demo
    rows = db_session.execute(
        select(Gate, Stage.key).join(Stage, Stage.id == Gate.stage_id).order_by(Gate.id)
    ).all()
    assert [(gate.name, stage) for gate, stage in rows] == [
        ("Gold labels signed off", "data_labeling"),
        ("Ready for pilot", "evaluation"),
    ]
    jonas = db_session.scalar(select(Account).where(Account.email == "jonas@example.com"))
    helen = db_session.scalar(select(Account).where(Account.email == "helen@example.com"))
    greta = db_session.scalar(select(Account).where(Account.email == "greta@example.com"))
    labels, pilot = (gate for gate, _ in rows)

    def decisions(gate):
        return db_session.scalars(
            select(GateDecision).where(GateDecision.gate_id == gate.id).order_by(GateDecision.id)
        ).all()

    def criteria(gate):
        return db_session.scalars(
            select(GateCriterion)
            .where(GateCriterion.gate_id == gate.id)
            .order_by(GateCriterion.position)
        ).all()

    def approvers(gate):
        return {
            (a.role, a.account_id)
            for a in db_session.scalars(select(GateApprover).where(GateApprover.gate_id == gate.id))
        }

    [go] = decisions(labels)
    assert (go.decision, go.decided_by_id, go.conditions) == ("go", jonas.id, None)
    assert go.decided_at == datetime(2026, 11, 3, 10, 30, tzinfo=UTC)  # shipped 02-24 10:30
    assert [c.done for c in criteria(labels)] == [True, True, True, True]
    assert approvers(labels) == {("product_owner", None), (None, greta.id)}
    assert labels.required_links == "dataset"

    [conditional] = decisions(pilot)
    assert conditional.decision == "conditional"
    assert conditional.decided_by_id == jonas.id
    assert conditional.decided_at == datetime(2026, 11, 12, 13, 10, tzinfo=UTC)  # 03-05 13:10
    assert conditional.decided_at <= NOW
    assert "Recall >= 0.85 on the December test month before full rollout" in conditional.conditions
    assert "shadow mode for 2 weeks" in conditional.conditions
    assert [c.done for c in criteria(pilot)] == [True, True, False, False, False]
    assert approvers(pilot) == {("product_owner", None), (None, helen.id)}
    assert pilot.required_risk_categories == "bias_fairness"
    assert len(GATES) == 2


def test_three_risks_carry_their_mitigation_history(demo, db_session):
    _, project, _ = demo
    fairness = db_session.scalar(
        select(Risk).where(Risk.title == "Lower recall for older card holders")
    )
    changes = db_session.scalars(
        select(RiskChange)
        .where(RiskChange.risk_id == fairness.id)
        .order_by(RiskChange.at, RiskChange.id)
    ).all()
    status = [(c.from_value, c.to_value, c.at) for c in changes if c.field == "status"]
    assert status == [
        (None, "open", datetime(2026, 9, 30, 14, 0, tzinfo=UTC)),  # shipped 01-21 14:00
        ("open", "mitigating", datetime(2026, 11, 11, 14, 18, tzinfo=UTC)),  # 03-04 14:18
    ]
    mitigation = [(c.from_value, c.to_value) for c in changes if c.field == "mitigation"]
    assert mitigation == [
        (None, "Per-group recall at the alert threshold in every evaluation."),
        (
            "Per-group recall at the alert threshold in every evaluation.",
            "Per-group recall at the alert threshold in every evaluation; oversample 75+ in "
            "the next labeling batch if the gap exceeds 5 points.",
        ),
    ]
    assert fairness.mitigation == mitigation[-1][1]

    privacy = db_session.scalar(
        select(Risk).where(Risk.title == "Cardholder data exposed in the alert queue or in logs")
    )
    review = [
        (c.from_value, c.to_value)
        for c in db_session.scalars(
            select(RiskChange)
            .where(RiskChange.risk_id == privacy.id, RiskChange.field == "review_on")
            .order_by(RiskChange.at, RiskChange.id)
        )
    ]
    # Shipped 2026-03-06, then 2026-03-20; 252 days later: 2026-11-13 and 2026-11-27.
    assert review == [(None, "2026-11-13"), ("2026-11-13", "2026-11-27")]
    assert privacy.review_on.isoformat() == "2026-11-27"
    assert len(RISK_HISTORIES) == 3
    assert all(change.at <= NOW for change in db_session.scalars(select(RiskChange)))


def test_a_second_log_into_the_same_store_reuses_the_runs(tmp_path):
    pytest.importorskip("mlflow")
    from datetime import timedelta

    first = log_demo_runs(tmp_path / "store", timedelta(days=SHIFT_DAYS))
    again = log_demo_runs(tmp_path / "store", timedelta(days=SHIFT_DAYS))
    assert first.logged and again.logged
    assert again.run_ids == first.run_ids
    assert (first.model_version, again.model_version) == ("1", "1")
    # A week later (a new database, the same instance folder): new runs on the new dates; the old
    # ones are deleted, not left to double the trend.
    later = log_demo_runs(tmp_path / "store", timedelta(days=SHIFT_DAYS + 7))
    assert set(later.run_ids.values()).isdisjoint(first.run_ids.values())
    assert len(runs_by_name(later.uri)) == len(DEMO_RUNS) == 6
    assert later.model_version == "2"  # a new version from the new champion run


def test_the_demo_command_puts_the_store_in_the_instance_folder(app, db_session):
    pytest.importorskip("mlflow")
    from pathlib import Path

    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    store = Path(app.instance_path) / "mlflow" / "mlflow.db"
    assert store.is_file()
    assert f"Its MLflow runs are in sqlite:///{store}" in result.output
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    assert project.mlflow_tracking_uri == f"sqlite:///{store}"
    assert len(runs_by_name(f"sqlite:///{store}")) == 6


def test_the_api_shows_the_live_run_details_of_the_demo(demo, app, db_session):
    _, _, uri = demo
    maya = db_session.scalar(select(Account).where(Account.email == "maya@example.com"))
    body = sign_in(app, maya).get("/api/v1/stories/FRAUD-24").get_json()
    runs = [link for link in body["links"] if link["kind"] == "mlflow_run"]
    assert [link["error"] for link in runs] == [None, None]
    assert sorted(link["details"]["metrics"]["val_recall"] for link in runs) == [0.81, 0.82]
    assert {link["details"]["status"] for link in runs} == {"FINISHED"}


def test_without_mlflow_the_demo_installs_with_the_same_links(
    app, db_session, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now fails: not installed
    result = install_demo(
        db_session, hash_method=factories.HASH, now=NOW, mlflow_folder=tmp_path / "mlflow"
    )
    db_session.commit()
    assert result.created
    assert "MLflow is not installed" in result.summary()
    assert not (tmp_path / "mlflow").exists()  # nothing was written
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    assert project.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    links = db_session.scalars(select(ArtefactLink)).all()
    assert len(links) == 22
    run_ids = {link.run_id for link in links if link.kind == "mlflow_run"}
    assert len(run_ids) == 6
    assert all(len(r) == 32 and int(r, 16) >= 0 for r in run_ids)  # hex, like MLflow's ids
    assert db_session.scalar(select(OutcomeRecord.value).where(OutcomeRecord.outcome == "refuted"))
    states = [
        d.decision for d in db_session.scalars(select(GateDecision).order_by(GateDecision.id))
    ]
    assert states == ["go", "conditional"]

    maya = db_session.scalar(select(Account).where(Account.email == "maya@example.com"))
    response = sign_in(app, maya).get("/api/v1/stories/FRAUD-24")
    assert response.status_code == 200
    runs = [link for link in response.get_json()["links"] if link["kind"] == "mlflow_run"]
    assert len(runs) == 2
    assert all(link["details"] is None for link in runs)
    assert all("MLflow is not installed" in link["error"] for link in runs)
