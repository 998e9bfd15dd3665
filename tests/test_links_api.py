"""Artefact links through the API: each kind, a run by its MLflow UI address, the messages per
field, repeats, removal, who may do what, live details from a real MLflow (or why not), the
project's MLflow settings, and a bounded number of queries. Expected answers are written out by
hand from what each test sent or logged."""

from __future__ import annotations

import socket
import sys
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from planner import mlflow_reader
from planner.models import ArtefactLink, Project
from tests.ports import free_port as _free_port

STORY = "/api/v1/stories/FRAUD-1"
LINKS = f"{STORY}/links"
EPIC_LINKS = "/api/v1/projects/FRAUD/epics/E1/links"
MILESTONE_LINKS = "/api/v1/milestones/1/links"
NO_URI = (
    "No MLflow tracking URI is set: a manager sets it in the project's settings "
    "(or the site sets PLANNER_MLFLOW_TRACKING_URI)."
)


def _point(db_session, team, uri: str | None) -> None:
    project = db_session.get(Project, team.project.id)
    project.mlflow_tracking_uri = uri
    db_session.commit()


def _post(client, url, body):
    return client.api("POST", url, body)


def _without_times(link: dict) -> dict:
    assert link["created_at"].endswith("Z")
    return {k: v for k, v in link.items() if k != "created_at"}


@pytest.fixture(autouse=True)
def _clean_cache():
    mlflow_reader.clear_cache()
    yield
    mlflow_reader.clear_cache()


# --- each kind ---------------------------------------------------------------------------------


def test_each_kind_is_created_with_its_fields(clients, story_one, team):
    editor = clients["edit"]
    run = _post(editor, LINKS, {"kind": "mlflow_run", "run_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90"})
    assert run.status_code == 201
    assert _without_times(run.json) == {
        "id": run.json["id"],
        "kind": "mlflow_run",
        "run_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "tracking_uri": None,
        "created_by": team.editor.email,
        "details": None,
        "error": NO_URI,  # the project has no tracking URI, nor the site
    }
    model = _post(
        editor, LINKS, {"kind": "mlflow_model_version", "name": "fraud-gbm", "version": 3}
    )
    assert model.status_code == 201
    assert (model.json["name"], model.json["version"]) == ("fraud-gbm", "3")
    assert model.json["error"] == NO_URI
    alias = _post(
        editor, LINKS, {"kind": "mlflow_model_version", "name": "fraud-gbm", "version": "champion"}
    )
    assert alias.json["version"] == "champion"
    dataset = _post(
        editor,
        LINKS,
        {"kind": "dataset", "uri": "s3://fraud/transactions/2026-03", "version": "md5:9f86d081"},
    )
    assert dataset.status_code == 201
    assert _without_times(dataset.json) == {
        "id": dataset.json["id"],
        "kind": "dataset",
        "uri": "s3://fraud/transactions/2026-03",
        "version": "md5:9f86d081",
        "created_by": team.editor.email,
        "details": None,
        "error": None,
    }
    commit = _post(
        editor, LINKS, {"kind": "commit", "url": "https://git.example.com/fraud/-/commit/9fceb02"}
    )
    assert commit.status_code == 201
    assert commit.json["url"] == "https://git.example.com/fraud/-/commit/9fceb02"
    assert (commit.json["details"], commit.json["error"]) == (None, None)
    document = _post(
        editor,
        LINKS,
        {"kind": "document", "url": "https://wiki.example.com/model-card", "title": "Model card"},
    )
    assert document.status_code == 201
    assert (document.json["url"], document.json["title"]) == (
        "https://wiki.example.com/model-card",
        "Model card",
    )
    ids = [r.json["id"] for r in (run, model, alias, dataset, commit, document)]
    listed = editor.get(LINKS).json["links"]
    assert [link["id"] for link in listed] == ids  # in the order they were added
    assert [link["kind"] for link in listed] == [
        "mlflow_run",
        "mlflow_model_version",
        "mlflow_model_version",
        "dataset",
        "commit",
        "document",
    ]


def test_a_run_given_by_its_mlflow_ui_address(app, clients, story_one, team, db_session):
    _point(db_session, team, "https://mlflow.example.invalid")
    editor = clients["edit"]
    # Another server than the project's: only one the site allows.
    refused = _post(
        editor,
        LINKS,
        {
            "kind": "mlflow_run",
            "url": "http://mlflow.research.invalid:5000/#/experiments/7/runs/fedcba9876543210",
        },
    )
    assert refused.status_code == 422
    assert refused.json["error"]["details"] == {
        "url": "planner reads MLflow only from the servers the site allows (none yet); the "
        "site's operator adds others to PLANNER_MLFLOW_ALLOWED_HOSTS."
    }
    app.config["MLFLOW_ALLOWED_HOSTS"] = "mlflow.research.invalid, mlflow.other.invalid"
    same = _post(
        editor,
        LINKS,
        {
            "kind": "mlflow_run",
            "url": "https://mlflow.example.invalid/#/experiments/4/runs/0123456789abcdef0123456789abcdef",
        },
    )
    assert same.status_code == 201
    # the project's own server: not repeated on the link
    assert (same.json["run_id"], same.json["tracking_uri"]) == (
        "0123456789abcdef0123456789abcdef",
        None,
    )
    other = _post(
        editor,
        LINKS,
        {
            "kind": "mlflow_run",
            "url": "http://mlflow.research.invalid:5000/#/experiments/7/runs/fedcba9876543210",
        },
    )
    assert other.status_code == 201
    assert (other.json["run_id"], other.json["tracking_uri"]) == (
        "fedcba9876543210",
        "http://mlflow.research.invalid:5000",
    )
    explicit = _post(
        editor,
        LINKS,
        {
            "kind": "mlflow_run",
            "run_id": "abc123",
            "tracking_uri": "https://mlflow.other.invalid/",
        },
    )
    assert explicit.json["tracking_uri"] == "https://mlflow.other.invalid"


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (
            {"kind": "wiki"},
            {"kind": "Choose a kind: mlflow_run, mlflow_model_version, dataset, commit, document."},
        ),
        (
            {"kind": "mlflow_run"},
            {"run_id": "Enter the run's id, or its address in the MLflow UI as url."},
        ),
        (
            {
                "kind": "mlflow_run",
                "run_id": "abc",
                "url": "https://m.example/#/experiments/1/runs/abc",
            },
            {"url": "Give the run's id or its address, not both."},
        ),
        (
            {"kind": "mlflow_run", "run_id": "not a run!"},
            {"run_id": "An MLflow run id is letters and digits (32 in MLflow's own), up to 64."},
        ),
        (
            {"kind": "mlflow_run", "url": "https://mlflow.example.com/#/models"},
            {
                "url": "This is not a run's address in the MLflow UI "
                "(…/#/experiments/ID/runs/RUN_ID): copy it from the run's page."
            },
        ),
        (
            {"kind": "mlflow_run", "run_id": "abc", "tracking_uri": "sqlite:///tmp/mlflow.db"},
            {
                "tracking_uri": "Enter the http(s) address of your MLflow tracking server, like "
                "https://mlflow.example.com. Local stores (file:, sqlite:, a path) are not "
                "accepted here: the site's operator sets one with PLANNER_MLFLOW_TRACKING_URI."
            },
        ),
        (
            {"kind": "mlflow_model_version", "version": "v2"},
            {
                "name": "Enter the registered model's name.",
                "version": "v2 is reserved by MLflow: give the number, or a real alias.",
            },
        ),
        (
            {"kind": "mlflow_model_version", "name": "m", "version": 0},
            {"version": "A model version number is 1 or more."},
        ),
        (
            {"kind": "dataset", "uri": "s3://bucket/my data"},
            {
                "uri": "A URI has no spaces (s3://bucket/path, dvc://…, lakefs://…).",
                "version": "Enter the dataset's version or content hash "
                "(a DVC hash, a lakeFS commit, a tag).",
            },
        ),
        (
            {"kind": "commit", "url": "ftp://git.example.com/c/1"},
            {"url": "Enter an address starting with http:// or https://."},
        ),
        (
            {"kind": "commit", "url": "https://git.example.com/c/1", "title": "Fix"},
            {"title": "A commit link takes url; not title."},
        ),
        (
            {"kind": "document", "url": "https://wiki.example.com/dpia"},
            {"title": "Enter a title (like Model card v2)."},
        ),
        (
            {"kind": "document", "url": "https://wiki.example.com/dpia", "title": "DPIA\nv2"},
            {
                "title": "Remove the line breaks or control characters: "
                "this field is plain one line."
            },
        ),
        (
            {"kind": "document", "url": "https://x.example/" + "a" * 2000, "title": "Long"},
            {"url": "Keep it to 2,000 characters (it has 2,018)."},
        ),
    ],
)
def test_bad_links_are_refused_per_field_and_nothing_is_stored(
    clients, story_one, db_session, body, details
):
    answer = _post(clients["edit"], LINKS, body)
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "invalid"
    assert answer.json["error"]["details"] == details
    assert db_session.scalars(select(ArtefactLink)).all() == []


def test_the_shape_is_checked_before_the_words(clients, story_one):
    unknown = _post(clients["edit"], LINKS, {"kind": "commit", "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json["error"]["details"] == {
        "colour": "Unknown field: send only the fields the API document lists."
    }
    not_json = clients["edit"].api("POST", LINKS, None, data="[]", content_type="application/json")
    assert not_json.status_code == 400


def test_the_same_link_twice_on_one_owner_is_refused(app, clients, story_one, team):
    app.config["MLFLOW_ALLOWED_HOSTS"] = "m2.example.invalid"
    editor = clients["edit"]
    body = {"kind": "mlflow_run", "run_id": "abc123"}
    assert _post(editor, LINKS, body).status_code == 201
    again = _post(editor, LINKS, body)
    assert again.status_code == 422
    assert again.json["error"]["details"] == {"run_id": "This story already links it."}
    document = {"kind": "document", "url": "https://wiki.example.com/card", "title": "Card"}
    assert _post(editor, LINKS, document).status_code == 201
    renamed = _post(editor, LINKS, {**document, "title": "Model card"})
    assert renamed.json["error"]["details"] == {"url": "This story already links it."}
    # the same run on another server, or on another owner, is another link
    elsewhere = {**body, "tracking_uri": "https://m2.example.invalid"}
    assert _post(editor, LINKS, elsewhere).status_code == 201
    assert _post(editor, EPIC_LINKS, body).status_code == 201
    assert len(editor.get(LINKS).json["links"]) == 3


def test_a_link_is_removed(clients, story_one):
    editor = clients["edit"]
    link_id = _post(editor, LINKS, {"kind": "commit", "url": "https://g.example/c/1"}).json["id"]
    assert editor.api("DELETE", f"/api/v1/links/{link_id}").status_code == 204
    assert editor.get(LINKS).json["links"] == []
    assert editor.api("DELETE", f"/api/v1/links/{link_id}").status_code == 404


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "writer"),
    [(LINKS, "edit"), (EPIC_LINKS, "edit"), (MILESTONE_LINKS, "manage")],
)
def test_who_may_read_add_and_remove(clients, story_one, url, writer):
    body = {"kind": "commit", "url": "https://g.example/c/1"}
    created = _post(clients["manage"], url, body)
    assert created.status_code == 201
    delete = f"/api/v1/links/{created.json['id']}"
    expected = {
        "none": (404, 404, 404),
        "view": (200, 403, 403),
        "edit": (200, 201 if writer == "edit" else 403, 204 if writer == "edit" else 403),
    }
    for level, (read, add, remove) in expected.items():
        client = clients[level]
        assert client.get(url).status_code == read, (level, url)
        added = _post(client, url, {"kind": "commit", "url": f"https://g.example/c/{level}"})
        assert added.status_code == add, (level, url)
        assert client.api("DELETE", delete).status_code == remove, (level, url)
    if writer == "manage":
        assert clients["manage"].api("DELETE", delete).status_code == 204


def test_an_unknown_epic_or_milestone_is_404(clients, story_one):
    manager = clients["manage"]
    assert manager.get("/api/v1/projects/FRAUD/epics/E9/links").status_code == 404
    assert manager.get("/api/v1/milestones/999/links").status_code == 404
    assert _post(manager, "/api/v1/stories/FRAUD-99/links", {"kind": "commit"}).status_code == 404


# --- live details ------------------------------------------------------------------------------


def test_the_story_shows_its_runs_with_details_from_mlflow(
    clients, story_one, team, db_session, mlflow_store
):
    _point(db_session, team, mlflow_store.uri)
    exp = mlflow_store.experiment()
    run_id = mlflow_store.log_run(
        exp,
        name="gbm-depth-8",
        metrics={
            "val_recall": [
                (0.74, datetime(2026, 3, 3, 10, 5, tzinfo=UTC)),
                (0.79, datetime(2026, 3, 3, 10, 20, tzinfo=UTC)),
            ],
            "val_auc": 0.91,
        },
        params={"max_depth": "8"},
        start=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        end=datetime(2026, 3, 3, 10, 30, tzinfo=UTC),
    )
    version = mlflow_store.register_model(f"fraud-{exp}", run_id, alias="candidate")
    editor = clients["edit"]
    assert _post(editor, LINKS, {"kind": "mlflow_run", "run_id": run_id}).status_code == 201
    assert (
        _post(
            editor,
            LINKS,
            {"kind": "mlflow_model_version", "name": f"fraud-{exp}", "version": "candidate"},
        ).status_code
        == 201
    )
    story = editor.get(STORY).json
    run_link, model_link = story["links"]
    assert run_link["error"] is None
    assert run_link["details"] == {
        "run_id": run_id,
        "name": "gbm-depth-8",
        "experiment_id": exp,
        "status": "FINISHED",
        "start_time": "2026-03-03T10:00:00Z",
        "end_time": "2026-03-03T10:30:00Z",
        "metrics": {"val_auc": 0.91, "val_recall": 0.79},
        "params": {"max_depth": "8"},
        "ui_url": f"{mlflow_store.uri}/#/experiments/{exp}/runs/{run_id}",
    }
    assert model_link["error"] is None
    assert model_link["details"]["version"] == version == "1"
    assert model_link["details"]["run_id"] == run_id
    assert model_link["details"]["aliases"] == ["candidate"]
    # a run that does not exist says so, next to the others
    missing = _post(editor, LINKS, {"kind": "mlflow_run", "run_id": "0" * 32})
    assert missing.json["details"] is None
    assert missing.json["error"].startswith(
        f"MLflow at {mlflow_store.uri} has no such run or model version."
    )


def test_epic_and_milestone_answers_carry_their_links(clients, story_one):
    manager = clients["manage"]
    _post(manager, EPIC_LINKS, {"kind": "dataset", "uri": "dvc://gold", "version": "v3"})
    _post(
        manager, MILESTONE_LINKS, {"kind": "document", "url": "https://w.example/d", "title": "D"}
    )
    epic = manager.get("/api/v1/projects/FRAUD/epics/E1").json
    assert [(link["kind"], link["uri"]) for link in epic["links"]] == [("dataset", "dvc://gold")]
    milestone = manager.get("/api/v1/milestones/1").json
    assert [(link["kind"], link["title"]) for link in milestone["links"]] == [("document", "D")]
    assert "links" not in manager.get("/api/v1/projects/FRAUD/epics").json["epics"][0]


def test_an_unreachable_server_is_an_error_not_a_failure(clients, story_one, team, db_session):
    uri = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    _point(db_session, team, uri)
    editor = clients["edit"]
    _post(editor, LINKS, {"kind": "mlflow_run", "run_id": "abc123"})
    _post(editor, LINKS, {"kind": "commit", "url": "https://g.example/c/1"})
    answer = editor.get(STORY)
    assert answer.status_code == 200
    run, commit = answer.json["links"]
    assert run["details"] is None
    assert run["error"] == (
        f"MLflow at {uri} cannot be reached right now; details will show when it can."
    )
    assert (commit["details"], commit["error"]) == (None, None)


def test_without_mlflow_installed_details_are_null_and_say_why(
    clients, story_one, team, db_session, mlflow_store, monkeypatch
):
    _point(db_session, team, mlflow_store.uri)
    run_id = mlflow_store.log_run(mlflow_store.experiment(), metrics={"val_recall": 0.8})
    _post(clients["edit"], LINKS, {"kind": "mlflow_run", "run_id": run_id})
    mlflow_reader.clear_cache()
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if MLflow were not installed
    (link,) = clients["edit"].get(STORY).json["links"]
    assert link["run_id"] == run_id
    assert link["details"] is None
    assert link["error"] == (
        'MLflow is not installed on this server: pip install "planner[mlflow]" to see run details.'
    )


def test_a_story_with_ten_links_costs_the_queries_of_one(
    clients, story_one, count_queries, team, db_session
):
    uri = f"http://127.0.0.1:{_free_port()}"
    _point(db_session, team, uri)
    editor = clients["edit"]
    _post(editor, LINKS, {"kind": "mlflow_run", "run_id": "run0"})
    editor.get(STORY)  # warm: the sign-in, and the unreachable server remembered
    with count_queries() as one:
        assert editor.get(STORY).status_code == 200
    for n in range(1, 10):
        body = (
            {"kind": "mlflow_run", "run_id": f"run{n}"}
            if n % 2
            else {"kind": "commit", "url": f"https://g.example/c/{n}"}
        )
        assert _post(editor, LINKS, body).status_code == 201
    with count_queries() as ten:
        answer = editor.get(STORY)
    assert len(answer.json["links"]) == 10
    assert ten.count == one.count


# --- the project's MLflow settings -------------------------------------------------------------


def test_the_project_shows_and_changes_its_mlflow_settings(clients, story_one):
    manager = clients["manage"]
    project = manager.get("/api/v1/projects/FRAUD").json
    assert (project["mlflow_tracking_uri"], project["enforce_gates"]) == (None, False)
    changed = manager.api(
        "PATCH",
        "/api/v1/projects/FRAUD",
        {"mlflow_tracking_uri": "https://mlflow.example.com/", "enforce_gates": True},
    )
    assert changed.status_code == 200
    assert (changed.json["mlflow_tracking_uri"], changed.json["enforce_gates"]) == (
        "https://mlflow.example.com",
        True,
    )
    assert manager.get("/api/v1/projects/FRAUD").json["mlflow_tracking_uri"] == (
        "https://mlflow.example.com"
    )
    cleared = manager.api("PATCH", "/api/v1/projects/FRAUD", {"mlflow_tracking_uri": ""})
    assert cleared.json["mlflow_tracking_uri"] is None
    assert cleared.json["enforce_gates"] is True  # left out: unchanged


@pytest.mark.parametrize(
    "uri",
    ["sqlite:////srv/mlflow/mlflow.db", "file:///srv/mlruns", "/srv/mlruns", "ftp://m.example"],
)
def test_local_stores_are_not_set_through_the_api(clients, story_one, uri):
    answer = clients["manage"].api("PATCH", "/api/v1/projects/FRAUD", {"mlflow_tracking_uri": uri})
    assert answer.status_code == 422
    assert answer.json["error"]["details"] == {
        "mlflow_tracking_uri": "Enter the http(s) address of your MLflow tracking server, like "
        "https://mlflow.example.com. Local stores (file:, sqlite:, a path) are not accepted here: "
        "the site's operator sets one with PLANNER_MLFLOW_TRACKING_URI."
    }
    assert clients["manage"].get("/api/v1/projects/FRAUD").json["mlflow_tracking_uri"] is None


def test_only_managers_change_the_mlflow_settings(clients, story_one):
    body = {"enforce_gates": True}
    assert clients["edit"].api("PATCH", "/api/v1/projects/FRAUD", body).status_code == 403
    assert clients["view"].api("PATCH", "/api/v1/projects/FRAUD", body).status_code == 403
    assert clients["none"].api("PATCH", "/api/v1/projects/FRAUD", body).status_code == 404
    wrong = clients["manage"].api("PATCH", "/api/v1/projects/FRAUD", {"enforce_gates": "yes"})
    assert wrong.status_code == 422
    assert wrong.json["error"]["details"] == {"enforce_gates": "Send true or false."}


def test_changing_the_tracking_uri_forgets_what_was_read(clients, story_one, team, db_session):
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    _point(db_session, team, uri)
    manager = clients["manage"]
    _post(manager, LINKS, {"kind": "mlflow_run", "run_id": "abc123"})  # fails; remembered
    # Something now listens on that port and counts who connects.
    connections = []
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        server.settimeout(0.1)
        stop = threading.Event()

        def accept_and_hang_up():  # until the pages below are served, count connections
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                connections.append(conn)
                conn.close()

        listener = threading.Thread(target=accept_and_hang_up)
        listener.start()
        manager.get(STORY)
        remembered = len(connections)
        # pointing elsewhere and back forgets the failure: the next page tries again
        for value in ("https://mlflow.example.invalid", uri):
            assert (
                manager.api(
                    "PATCH", "/api/v1/projects/FRAUD", {"mlflow_tracking_uri": value}
                ).status_code
                == 200
            )
        manager.get(STORY)
        stop.set()
        listener.join()
    assert remembered == 0
    assert len(connections) >= 1


def test_a_dataset_version_may_be_a_number(clients, story_one):
    answer = _post(
        clients["edit"], LINKS, {"kind": "dataset", "uri": "delta://fraud/labels", "version": 12}
    )
    assert answer.status_code == 201
    assert (answer.json["uri"], answer.json["version"]) == ("delta://fraud/labels", "12")


def test_a_nan_metric_is_left_out_not_a_failure(clients, story_one, team, db_session, mlflow_store):
    _point(db_session, team, mlflow_store.uri)
    exp = mlflow_store.experiment()
    run_id = mlflow_store.log_run(
        exp, name="diverged", metrics={"val_recall": float("nan"), "val_loss": 0.4}
    )
    assert (
        _post(clients["edit"], LINKS, {"kind": "mlflow_run", "run_id": run_id}).status_code == 201
    )
    story = clients["view"].get("/api/v1/stories/FRAUD-1")
    assert story.status_code == 200
    assert story.json["links"][0]["details"]["metrics"] == {"val_loss": 0.4}
    assert clients["view"].get("/projects/FRAUD/stories/1").status_code == 200
