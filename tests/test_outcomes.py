"""Experiments that resolve themselves, over the API: the outcome planner proposes from an
experiment's linked MLflow runs (a real `mlflow server` on loopback, runs written by MLflow's own
client), and a person's confirmation of it, recorded with the run and the value that decided it.

Every expected outcome, run and value below is worked out by hand from the values logged."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from planner.models import ArtefactLink, OutboxEvent, OutcomeRecord, Story, StoryEvent
from tests import factories

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def experiment(db_session, team, *, metric="val_recall", target=">= 0.85", **values) -> Story:
    values.setdefault("title", "Merchant embeddings lift recall")
    story = factories.story(
        db_session,
        team.project,
        team.editor,
        type="experiment",
        metric=metric,
        target=target,
        **values,
    )
    db_session.commit()
    return story


def link(db_session, story: Story, run_id: str, *, minutes: int = 0, uri: str | None = None):
    """Link a run to the story as the links API would store it, `minutes` after T0."""
    row = ArtefactLink(
        project_id=story.project_id,
        story_id=story.id,
        kind="mlflow_run",
        run_id=run_id,
        tracking_uri=uri,
        created_at=T0 + timedelta(minutes=minutes),
    )
    db_session.add(row)
    db_session.commit()
    return row


@pytest.fixture
def mlflow(db_session, team, mlflow_store):
    """The project points at the loopback MLflow; yields (store, experiment id)."""
    team.project.mlflow_tracking_uri = mlflow_store.uri
    db_session.commit()
    return mlflow_store, mlflow_store.experiment()


def proposal(client, key: str):
    answer = client.get(f"/api/v1/stories/{key}/outcome-proposal")
    assert answer.status_code == 200, answer.json
    return answer.json


def records(db_session, story: Story) -> list[OutcomeRecord]:
    db_session.expire_all()
    return list(
        db_session.scalars(
            select(OutcomeRecord)
            .where(OutcomeRecord.story_id == story.id)
            .order_by(OutcomeRecord.id)
        )
    )


def fresh(db_session, story: Story) -> Story:
    db_session.expire_all()
    return db_session.get(Story, story.id)


# --- the scenario --------------------------------------------------------------------


def test_two_runs_below_target_propose_refuted_and_the_scientist_confirms_it(
    db_session, team, clients, mlflow
):
    store, exp = mlflow
    story = experiment(db_session, team)
    first = store.log_run(exp, name="lr-baseline-07", metrics={"val_recall": 0.78})
    second = store.log_run(exp, name="lr-embeddings-02", metrics={"val_recall": 0.81})
    link(db_session, story, first, minutes=1)
    link(db_session, story, second, minutes=2)
    editor = clients["edit"]

    proposed = proposal(editor, "FRAUD-1")
    # By hand: the best of 0.78 and 0.81 for ">=" is 0.81; 0.81 < 0.85, so refuted by run two.
    assert proposed == {
        "outcome": "refuted",
        "run_id": second,
        "metric": "val_recall",
        "value": 0.81,
        "target": ">= 0.85",
        "reason": f"Run {second[:8]}… (lr-embeddings-02) logged val_recall 0.81, the best of 2 "
        "finished runs, which is below the target >= 0.85.",
    }
    # Reading the proposal changed nothing.
    story_now = fresh(db_session, story)
    assert (story_now.outcome, story_now.version) == ("pending", 1)
    assert records(db_session, story) == []

    confirmed = editor.api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "refuted", "run_id": second}
    )
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["outcome"] == "refuted"
    assert confirmed.json["version"] == 2
    record = confirmed.json["outcome_record"]
    assert record["decided_at"]
    assert {k: v for k, v in record.items() if k != "decided_at"} == {
        "outcome": "refuted",
        "run_id": second,
        "metric": "val_recall",
        "target": ">= 0.85",
        "value": 0.81,
        "reason": proposed["reason"],
        "decided_by": {"email": "priya@example.com", "name": "Priya Raman"},
    }

    story_now = fresh(db_session, story)
    assert (story_now.outcome, story_now.version) == ("refuted", 2)
    (row,) = records(db_session, story)  # one record: the run's, not also a "by hand" one
    assert (row.outcome, row.run_id, row.value, row.metric, row.target) == (
        "refuted",
        second,
        0.81,
        "val_recall",
        ">= 0.85",
    )
    assert row.tracking_uri == store.uri and row.decided_by_id == team.editor.id
    # Like any outcome change: a story.updated event for the webhooks and notifications.
    updated = db_session.scalars(
        select(OutboxEvent).where(OutboxEvent.event == "story.updated")
    ).all()
    assert (
        len(updated) == 1 and '"outcome": {"from": "pending", "to": "refuted"}' in updated[0].data
    )

    # GET /stories/KEY carries the record too, for anyone who may read the story.
    read = clients["view"].get("/api/v1/stories/FRAUD-1")
    assert read.status_code == 200 and read.json["outcome_record"]["run_id"] == second
    assert read.json["outcome_record"]["value"] == 0.81


def test_a_run_meeting_the_target_proposes_confirmed(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team)
    low = store.log_run(exp, name="a", metrics={"val_recall": 0.86})
    high = store.log_run(exp, name="b", metrics={"val_recall": 0.91})
    link(db_session, story, high, minutes=1)
    link(db_session, story, low, minutes=2)

    proposed = proposal(clients["view"], "FRAUD-1")
    # By hand: max(0.86, 0.91) = 0.91 >= 0.85.
    assert (proposed["outcome"], proposed["run_id"], proposed["value"]) == ("confirmed", high, 0.91)
    assert proposed["reason"].endswith(
        "logged val_recall 0.91, the best of 2 finished runs, which meets the target >= 0.85."
    )
    answer = clients["edit"].api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "confirmed", "run_id": high}
    )
    assert answer.status_code == 200 and answer.json["outcome"] == "confirmed"
    assert [(r.outcome, r.run_id, r.value) for r in records(db_session, story)] == [
        ("confirmed", high, 0.91)
    ]


def test_a_lower_is_better_target_takes_the_minimum(db_session, team, clients, mlflow):
    store, exp = mlflow
    experiment(db_session, team, metric="val_loss", target="<= 0.30")
    story = fresh(db_session, db_session.scalar(select(Story)))
    runs = [
        store.log_run(exp, name=f"loss-{value}", metrics={"val_loss": value})
        for value in (0.35, 0.28, 0.31)
    ]
    for minutes, run_id in enumerate(runs):
        link(db_session, story, run_id, minutes=minutes)
    proposed = proposal(clients["edit"], "FRAUD-1")
    # By hand: min(0.35, 0.28, 0.31) = 0.28 <= 0.30: confirmed by the second run.
    assert (proposed["outcome"], proposed["run_id"], proposed["value"]) == (
        "confirmed",
        runs[1],
        0.28,
    )
    assert "the best of 3 finished runs, which meets the target <= 0.3." in proposed["reason"]


def test_a_strict_lower_target_missed_is_refuted_by_the_lowest(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team, metric="fpr", target="< 0.2")
    high = store.log_run(exp, name="h", metrics={"fpr": 0.25})
    low = store.log_run(exp, name="l", metrics={"fpr": 0.2})
    link(db_session, story, high, minutes=0)
    link(db_session, story, low, minutes=1)
    proposed = proposal(clients["edit"], "FRAUD-1")
    # By hand: min is 0.2, and 0.2 < 0.2 is false: refuted by run l.
    assert (proposed["outcome"], proposed["run_id"], proposed["value"]) == ("refuted", low, 0.2)
    assert proposed["reason"].endswith("which is not below the target < 0.2.")


def test_a_tie_goes_to_the_run_linked_first(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team)
    made_first = store.log_run(exp, name="made-first", metrics={"val_recall": 0.9})
    made_second = store.log_run(exp, name="made-second", metrics={"val_recall": 0.9})
    link(db_session, story, made_second, minutes=1)  # linked first
    link(db_session, story, made_first, minutes=5)
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert (proposed["outcome"], proposed["run_id"]) == ("confirmed", made_second)


# --- runs that do not count --------------------------------------------------------------------


def test_a_running_run_is_not_counted_and_is_named(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team)
    done = store.log_run(exp, name="finished-one", metrics={"val_recall": 0.8})
    going = store.log_run(
        exp, name="lr-still-going", metrics={"val_recall": 0.95}, status="RUNNING"
    )
    link(db_session, story, done, minutes=0)
    link(db_session, story, going, minutes=1)
    proposed = proposal(clients["edit"], "FRAUD-1")
    # Only finished runs count: 0.8 is the best, short of 0.85. But the running run may still
    # meet the target, so the hypothesis is not refuted yet: inconclusive, naming both.
    assert (proposed["outcome"], proposed["run_id"], proposed["value"]) == (
        "inconclusive",
        None,
        None,
    )
    assert proposed["reason"] == (
        "No finished run meets the target yet, but linked runs may still: "
        f"Run {done[:8]}… (finished-one) logged val_recall 0.8, which is below the target "
        f">= 0.85. Not counted: run {going[:8]}… (lr-still-going) is still running."
    )
    # Once it finishes below the target, the finished runs refute it.
    store.client.set_terminated(going, "FINISHED")
    store.client.log_metric(going, "val_recall", 0.83)
    from planner import mlflow_reader

    mlflow_reader.clear_cache()
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert (proposed["outcome"], proposed["run_id"], proposed["value"]) == (
        "refuted",
        going,
        0.83,
    )


def test_only_running_runs_are_inconclusive_naming_them(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team)
    a = store.log_run(exp, name="sweep-a", metrics={"val_recall": 0.9}, status="RUNNING")
    b = store.log_run(exp, name="sweep-b", status="RUNNING")
    failed = store.log_run(exp, name="oom", metrics={"val_recall": 0.99}, status="FAILED")
    for minutes, run_id in enumerate((a, b, failed)):
        link(db_session, story, run_id, minutes=minutes)
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert (proposed["outcome"], proposed["run_id"], proposed["value"]) == (
        "inconclusive",
        None,
        None,
    )
    assert proposed["reason"] == (
        "No finished run linked to FRAUD-1 logged val_recall. "
        f"Runs {a[:8]}… (sweep-a) and {b[:8]}… (sweep-b) are still running. "
        f"Run {failed[:8]}… (oom) ended FAILED without finishing."
    )


def test_a_run_without_the_metric_is_inconclusive(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team)
    run = store.log_run(exp, name="wrong-key", metrics={"loss": 0.4, "val_precision": 0.7})
    link(db_session, story, run)
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert proposed["outcome"] == "inconclusive" and proposed["run_id"] is None
    assert proposed["reason"] == (
        "No finished run linked to FRAUD-1 logged val_recall. "
        f"Run {run[:8]}… (wrong-key) finished without logging val_recall "
        "(it logged loss, val_precision)."
    )


def test_no_links_is_inconclusive(db_session, team, clients, mlflow):
    experiment(db_session, team)
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert proposed == {
        "outcome": "inconclusive",
        "run_id": None,
        "metric": "val_recall",
        "value": None,
        "target": ">= 0.85",
        "reason": "No MLflow run is linked to FRAUD-1: link the runs that test its hypothesis, "
        "then planner proposes an outcome from their val_recall.",
    }


def test_a_target_that_does_not_parse_says_how_to_write_one(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team, target="+0.02")
    link(db_session, story, store.log_run(exp, metrics={"val_recall": 0.9}))
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert proposed["outcome"] == "inconclusive" and proposed["target"] == "+0.02"
    assert proposed["reason"] == (
        "FRAUD-1's target cannot be read, so no run can decide it. '+0.02' is not a target: "
        "write one of >=, >, <=, < and a number, like >= 0.85."
    )


def test_no_metric_says_how_to_state_one(db_session, team, clients):
    experiment(db_session, team, metric=None, target=None)
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert proposed["outcome"] == "inconclusive" and proposed["metric"] is None
    assert proposed["reason"].startswith("FRAUD-1 states no metric, so no run can decide it:")
    assert "like >= 0.85" in proposed["reason"] and "like val_recall" in proposed["reason"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket closes


def test_an_unreachable_mlflow_is_inconclusive_with_the_readers_message(
    db_session, team, clients, mlflow_store
):
    uri = f"http://127.0.0.1:{_closed_port()}"
    team.project.mlflow_tracking_uri = uri
    story = experiment(db_session, team)
    link(db_session, story, "0123456789abcdef0123456789abcdef")
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert proposed["outcome"] == "inconclusive"
    assert proposed["reason"] == (
        "No finished run linked to FRAUD-1 logged val_recall. Run 01234567… could not be read: "
        f"MLflow at {uri} cannot be reached right now; details will show when it can."
    )


def test_no_tracking_uri_at_all_is_inconclusive_and_says_where_to_set_it(
    db_session, team, clients, mlflow_store
):
    story = experiment(db_session, team)
    link(db_session, story, "0123456789abcdef0123456789abcdef")
    proposed = proposal(clients["edit"], "FRAUD-1")
    assert proposed["outcome"] == "inconclusive"
    assert "No MLflow tracking URI is set" in proposed["reason"]


def test_a_story_that_is_not_an_experiment_has_no_proposal_to_confirm(db_session, team, clients):
    factories.story(db_session, team.project, team.editor, title="Build the API")
    db_session.commit()
    answer = clients["edit"].get("/api/v1/stories/FRAUD-1/outcome-proposal")
    assert answer.status_code == 200
    assert answer.json["outcome"] == "inconclusive"
    assert answer.json["run_id"] is None
    assert answer.json["reason"] == (
        "FRAUD-1 is a feature, not an experiment: only an experiment has an outcome to propose. "
        "Change its type to Experiment to state a metric and a target."
    )
    posted = clients["edit"].api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "confirmed", "run_id": "abc"}
    )
    assert posted.status_code == 409
    assert fresh(db_session, db_session.scalar(select(Story))).outcome is None


# --- confirming --------------------------------------------------------------------------------


def test_a_stale_confirmation_answers_409_with_the_current_proposal_and_changes_nothing(
    db_session, team, clients, mlflow
):
    store, exp = mlflow
    story = experiment(db_session, team)
    first = store.log_run(exp, name="first", metrics={"val_recall": 0.78})
    link(db_session, story, first)
    editor = clients["edit"]
    assert proposal(editor, "FRAUD-1")["run_id"] == first
    # Meanwhile a better run is linked: the person still confirms what they saw.
    better = store.log_run(exp, name="better", metrics={"val_recall": 0.88})
    link(db_session, story, better, minutes=3)
    answer = editor.api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "refuted", "run_id": first}
    )
    assert answer.status_code == 409
    error = answer.json["error"]
    assert error["code"] == "stale_proposal"
    assert error["details"]["current"]["outcome"] == "confirmed"
    assert error["details"]["current"]["run_id"] == better
    assert error["details"]["current"]["value"] == 0.88
    assert error["message"].startswith(
        f"The proposal for FRAUD-1 has changed since you read it: it is now confirmed by run "
        f"{better[:8]}… (better). Run {better[:8]}… (better) logged val_recall 0.88"
    )
    story_now = fresh(db_session, story)
    assert (story_now.outcome, story_now.version) == ("pending", 1)
    assert records(db_session, story) == []
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event == "story.updated")
        )
        == 0
    )

    # The right outcome with the wrong run is stale too.
    wrong_run = editor.api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "confirmed", "run_id": first}
    )
    assert wrong_run.status_code == 409
    assert records(db_session, story) == []


def test_an_inconclusive_proposal_cannot_be_confirmed(db_session, team, clients):
    experiment(db_session, team)  # no links
    answer = clients["edit"].api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "inconclusive", "run_id": None}
    )
    assert answer.status_code == 422
    assert answer.json["error"]["details"]["outcome"].startswith(
        "No run decides FRAUD-1 yet, so there is nothing to confirm: No MLflow run is linked"
    )
    assert answer.json["error"]["details"]["outcome"].endswith(
        "You can still set its outcome by hand."
    )
    assert fresh(db_session, db_session.scalar(select(Story))).outcome == "pending"


def test_confirming_the_outcome_the_story_already_has_only_records_the_run(
    db_session, team, clients, mlflow
):
    store, exp = mlflow
    story = experiment(db_session, team)
    run = store.log_run(exp, name="r", metrics={"val_recall": 0.8})
    link(db_session, story, run)
    editor = clients["edit"]
    by_hand = editor.api(
        "PATCH", "/api/v1/stories/FRAUD-1", json={"version": 1, "outcome": "refuted"}
    )
    assert by_hand.status_code == 200 and by_hand.json["version"] == 2
    answer = editor.api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "refuted", "run_id": run}
    )
    assert answer.status_code == 200
    assert answer.json["version"] == 2  # the story itself did not change
    assert answer.json["outcome_record"]["run_id"] == run
    assert [(r.outcome, r.run_id, r.value) for r in records(db_session, story)] == [
        ("refuted", None, None),
        ("refuted", run, 0.8),
    ]


def test_an_outcome_set_by_hand_records_no_run(db_session, team, clients):
    story = experiment(db_session, team)
    editor = clients["edit"]
    answer = editor.api(
        "PATCH", "/api/v1/stories/FRAUD-1", json={"version": 1, "outcome": "inconclusive"}
    )
    assert answer.status_code == 200
    record = answer.json["outcome_record"]
    assert (record["outcome"], record["run_id"], record["value"], record["reason"]) == (
        "inconclusive",
        None,
        None,
        None,
    )
    assert record["decided_by"] == {"email": "priya@example.com", "name": "Priya Raman"}
    (row,) = records(db_session, story)
    assert (row.outcome, row.run_id, row.value, row.decided_by_id) == (
        "inconclusive",
        None,
        None,
        team.editor.id,
    )


def test_becoming_an_experiment_is_not_an_outcome_decision(db_session, team, clients):
    story = factories.story(db_session, team.project, team.editor, title="Try a GBM")
    db_session.commit()
    answer = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", json={"version": 1, "type": "experiment"}
    )
    # The automatic "pending" of a new experiment is not somebody's decision.
    assert answer.status_code == 200 and answer.json["outcome"] == "pending"
    assert answer.json["outcome_record"] is None
    assert records(db_session, story) == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "outcome"),
        ({"outcome": "refuted"}, 422, "run_id"),
        ({"outcome": 5, "run_id": None}, 422, "outcome"),
        ({"outcome": "maybe", "run_id": None}, 422, "outcome"),
        ({"outcome": "pending", "run_id": None}, 422, "outcome"),
        ({"outcome": "refuted", "run_id": 42}, 422, "run_id"),
        ({"outcome": "refuted", "run_id": None, "extra": 1}, 422, "extra"),
    ],
)
def test_bad_confirmations_say_what_is_wrong_and_change_nothing(
    db_session, team, clients, body, status, field
):
    story = experiment(db_session, team)
    answer = clients["edit"].api("POST", "/api/v1/stories/FRAUD-1/outcome", json=body)
    assert answer.status_code == status, answer.json
    assert field in answer.json["error"]["details"]
    assert records(db_session, story) == [] and fresh(db_session, story).version == 1


def test_a_body_that_is_not_json_answers_400(db_session, team, clients):
    experiment(db_session, team)
    answer = clients["edit"].api(
        "POST",
        "/api/v1/stories/FRAUD-1/outcome",
        data="outcome=refuted",
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status_code == 400


# --- access ------------------------------------------------------------------------------------


def test_access_outsiders_404_viewers_read_but_cannot_confirm(db_session, team, clients, mlflow):
    store, exp = mlflow
    story = experiment(db_session, team)
    run = store.log_run(exp, name="r", metrics={"val_recall": 0.9})
    link(db_session, story, run)
    body = {"outcome": "confirmed", "run_id": run}
    outsider = clients["none"]
    assert outsider.get("/api/v1/stories/FRAUD-1/outcome-proposal").status_code == 404
    assert outsider.api("POST", "/api/v1/stories/FRAUD-1/outcome", json=body).status_code == 404
    viewer = clients["view"]
    assert proposal(viewer, "FRAUD-1")["outcome"] == "confirmed"
    refused = viewer.api("POST", "/api/v1/stories/FRAUD-1/outcome", json=body)
    assert refused.status_code == 403
    # A signed-in session's write without its CSRF header is refused.
    no_csrf = clients["edit"].post("/api/v1/stories/FRAUD-1/outcome", json=body)
    assert no_csrf.status_code == 400 and no_csrf.json["error"]["code"] == "csrf_failed"
    assert records(db_session, story) == [] and fresh(db_session, story).outcome == "pending"
    # A read token reads the proposal and is refused the confirmation.
    from tests.test_tokens import bearer, make_token

    reader = bearer(make_token(clients["edit"], scope="read"))
    api = clients["edit"].application.test_client()
    assert api.get("/api/v1/stories/FRAUD-1/outcome-proposal", headers=reader).status_code == 200
    assert api.post("/api/v1/stories/FRAUD-1/outcome", json=body, headers=reader).status_code == 403
    writer = bearer(make_token(clients["edit"]))
    assert api.post("/api/v1/stories/FRAUD-1/outcome", json=body, headers=writer).status_code == 200
    assert fresh(db_session, story).outcome == "confirmed"


# --- queries -----------------------------------------------------------------------------------


def test_the_proposal_reads_links_in_one_query_whatever_their_number(
    db_session, team, clients, mlflow, count_queries
):
    store, exp = mlflow
    story = experiment(db_session, team)
    editor = clients["edit"]
    link(db_session, story, store.log_run(exp, name="r0", metrics={"val_recall": 0.5}))
    proposal(editor, "FRAUD-1")  # warm the session's sign-in
    with count_queries() as one:
        proposal(editor, "FRAUD-1")
    for n in range(1, 6):
        run = store.log_run(exp, name=f"r{n}", metrics={"val_recall": 0.5 + n / 100})
        link(db_session, story, run, minutes=n)
    with count_queries() as six:
        answer = proposal(editor, "FRAUD-1")
    assert answer["value"] == 0.55  # by hand: 0.50 .. 0.55, the highest
    assert six.count == one.count
    links = [s for s in six.statements if "artefact_link" in s]
    assert len(links) == 1


def test_history_records_no_event_for_the_outcome(db_session, team, clients, mlflow):
    """The outcome is not a tracked field: confirming it writes no chart event."""
    store, exp = mlflow
    story = experiment(db_session, team)
    run = store.log_run(exp, name="r", metrics={"val_recall": 0.9})
    link(db_session, story, run)
    clients["edit"].api(
        "POST", "/api/v1/stories/FRAUD-1/outcome", json={"outcome": "confirmed", "run_id": run}
    )
    assert (
        db_session.scalar(
            select(func.count()).select_from(StoryEvent).where(StoryEvent.story_id == story.id)
        )
        == 0
    )
