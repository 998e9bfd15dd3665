"""planner.mlflow_reader against a real MLflow (an `mlflow server` on loopback over SQLite, runs
written by MLflow's own client in each test): run details, missing runs, an unreachable server
(and that its failure is cached: no second attempt), local stores that do not exist, MLflow not
installed. Expected values are the ones each test wrote."""

from __future__ import annotations

import socket
import sys
import threading
from datetime import UTC, datetime

import pytest

from planner import mlflow_reader
from planner.mlflow_reader import MlflowError, Reader
from tests.ports import free_port as _free_port


@pytest.fixture
def fresh_cache():
    mlflow_reader.clear_cache()
    yield
    mlflow_reader.clear_cache()


def test_a_run_reads_with_status_times_latest_metrics_and_params(mlflow_store):
    exp = mlflow_store.experiment()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    end = datetime(2026, 3, 2, 9, 45, 30, tzinfo=UTC)
    run_id = mlflow_store.log_run(
        exp,
        name="lr-baseline-07",
        # logged in this order: the latest is 0.80, not the best (0.85)
        metrics={
            "val_recall": [
                (0.70, datetime(2026, 3, 2, 9, 10, tzinfo=UTC)),
                (0.85, datetime(2026, 3, 2, 9, 20, tzinfo=UTC)),
                (0.80, datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
            ],
            "val_loss": 0.31,
        },
        params={"lr": "0.01", "model": "xgboost"},
        start=start,
        end=end,
    )
    details = Reader(mlflow_store.uri).run(run_id)
    assert details.status == "FINISHED"
    assert details.finished
    assert details.name == "lr-baseline-07"
    assert details.start_time == start
    assert details.end_time == end
    assert details.metrics == {"val_loss": 0.31, "val_recall": 0.80}
    assert details.params == {"lr": "0.01", "model": "xgboost"}
    assert details.ui_url == f"{mlflow_store.uri}/#/experiments/{exp}/runs/{run_id}"
    body = details.as_json()
    assert body["start_time"] == "2026-03-02T09:00:00Z"
    assert body["end_time"] == "2026-03-02T09:45:30Z"
    assert body["status"] == "FINISHED"


def test_a_running_run_has_no_end(mlflow_store):
    exp = mlflow_store.experiment()
    run_id = mlflow_store.log_run(exp, metrics={"val_recall": 0.5}, status="RUNNING")
    details = Reader(mlflow_store.uri).run(run_id)
    assert (details.status, details.end_time, details.finished) == ("RUNNING", None, False)


def test_a_missing_run_is_an_error_saying_so(mlflow_store):
    with pytest.raises(MlflowError) as caught:
        Reader(mlflow_store.uri).run("0" * 32)
    assert str(caught.value).startswith(
        f"MLflow at {mlflow_store.uri} has no such run or model version."
    )


def test_a_model_version_reads_by_number_and_by_alias(mlflow_store):
    exp = mlflow_store.experiment()
    run_id = mlflow_store.log_run(exp, metrics={"auc": 0.9})
    name = f"fraud-{exp}"
    version = mlflow_store.register_model(name, run_id, alias="champion")
    assert version == "1"  # a new model's first version
    by_alias = Reader(mlflow_store.uri).model_version(name, "champion")
    by_number = Reader(mlflow_store.uri).model_version(name, "1")
    for found in (by_alias, by_number):
        assert (found.name, found.version, found.run_id) == (name, "1", run_id)
        assert found.aliases == ("champion",)
        assert found.ui_url == f"{mlflow_store.uri}/#/models/{name}/versions/1"


def test_an_unreachable_server_is_said_once_then_cached_without_a_new_attempt(fresh_cache):
    port = _free_port()  # nothing listens there
    uri = f"http://127.0.0.1:{port}"
    reader = Reader(uri, timeout=1)
    with pytest.raises(MlflowError) as first:
        reader.run("a" * 32)
    assert str(first.value) == (
        f"MLflow at {uri} cannot be reached right now; details will show when it can."
    )
    # Now something listens on that port and counts who connects: a second read (another run,
    # even) must answer from the cache, quickly, without connecting.
    connections = []
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        server.settimeout(0.1)
        stop = threading.Event()

        def accept():  # until the read below is over, count every connection
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                connections.append(conn)

        listener = threading.Thread(target=accept)
        listener.start()
        with pytest.raises(MlflowError) as second:
            Reader(uri, timeout=1).run("b" * 32)
        stop.set()
        listener.join()
        for conn in connections:
            conn.close()
    assert str(second.value) == str(first.value)
    assert connections == []


def test_clearing_the_cache_tries_again(fresh_cache):
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    with pytest.raises(MlflowError):
        Reader(uri, timeout=1).run("a" * 32)
    mlflow_reader.clear_cache()
    connections = []
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()

        def accept_and_hang_up():
            conn, _ = server.accept()
            connections.append(conn)
            conn.close()

        listener = threading.Thread(target=accept_and_hang_up)
        listener.start()
        with pytest.raises(MlflowError):
            Reader(uri, timeout=1).run("a" * 32)
        listener.join(timeout=5)
    assert len(connections) == 1


def test_local_stores_that_do_not_exist_are_refused_and_not_created(tmp_path, fresh_cache):
    database = tmp_path / "nothing.db"
    with pytest.raises(MlflowError) as caught:
        Reader(f"sqlite:///{database}").run("a" * 32)
    assert str(caught.value) == f"There is no MLflow database at {database}."
    assert not database.exists()
    folder = tmp_path / "mlruns"
    with pytest.raises(MlflowError) as caught:
        Reader(f"file://{folder}").run("a" * 32)
    assert str(caught.value) == f"There is no MLflow store at {folder}."
    assert not folder.exists()


def test_a_sqlite_file_that_is_not_mlflows_is_refused(tmp_path, fresh_cache):
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE story (id INTEGER)")
    connection.close()
    with pytest.raises(MlflowError) as caught:
        Reader(f"sqlite:///{other}").run("a" * 32)
    assert str(caught.value) == f"{other} is not a database MLflow wrote."


def test_without_mlflow_installed_every_read_says_so(mlflow_store, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now fails, as uninstalled
    assert mlflow_reader.installed() is False
    with pytest.raises(MlflowError) as caught:
        Reader(mlflow_store.uri).run("a" * 32)
    assert str(caught.value).startswith("MLflow is not installed on this server")


def test_without_a_tracking_uri_the_read_says_where_to_set_one(fresh_cache):
    with pytest.raises(MlflowError) as caught:
        Reader(None).run("a" * 32)
    assert str(caught.value).startswith("No MLflow tracking URI is set")


class _Talkative:
    """An HTTP server that is not MLflow: it answers every request with a secret in the body and
    keeps the Authorization headers it was sent."""

    def __init__(self, status: int) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.authorizations = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (http.server's hook)
                seen.append(self.headers.get("Authorization"))
                body = b"SECRET-INTERNAL-DATA instance-id i-0abc"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize(
    ("status", "said"),
    [
        # a server error: up but failing, so "right now" (older MLflow clients retried it and
        # said "max retries"; 3.18 says "error code 500 != 200")
        (500, "cannot be reached right now; details will show when it can."),
        (503, "cannot be reached right now; details will show when it can."),
        (403, "could not be read (MlflowException)."),
    ],
)
def test_what_another_server_answers_is_never_shown(fresh_cache, status, said):
    server = _Talkative(status)
    try:
        with pytest.raises(MlflowError) as caught:
            Reader(server.uri, timeout=2).run("a" * 32)
    finally:
        server.close()
    assert "SECRET" not in str(caught.value)
    assert str(caught.value) == f"MLflow at {server.uri} {said}"  # planner's own sentence


def test_the_sites_credentials_go_only_to_servers_it_allows(app, monkeypatch, fresh_cache):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "operator-secret-token")
    server = _Talkative(404)
    try:
        with app.app_context():
            with pytest.raises(MlflowError) as caught:
                Reader(server.uri, timeout=2).run("a" * 32)
            assert str(caught.value) == (
                f"planner does not send the site's MLflow credentials to {server.uri}: the "
                "site's operator lists the servers it trusts in PLANNER_MLFLOW_ALLOWED_HOSTS."
            )
            assert server.authorizations == []  # not even asked
            app.config["MLFLOW_ALLOWED_HOSTS"] = "127.0.0.1"
            mlflow_reader.clear_cache()
            with pytest.raises(MlflowError):
                Reader(server.uri, timeout=2).run("a" * 32)
    finally:
        server.close()
    assert server.authorizations and server.authorizations[0] == "Bearer operator-secret-token"


def test_one_request_stops_reading_mlflow_when_its_budget_is_spent(app, mlflow_store):
    exp = mlflow_store.experiment()
    run_id = mlflow_store.log_run(exp, name="budget", metrics={"val_recall": 0.5})
    mlflow_reader.clear_cache()
    app.config["MLFLOW_REQUEST_BUDGET_SECONDS"] = 0.0
    with app.test_request_context("/"):
        with pytest.raises(MlflowError) as caught:
            Reader(mlflow_store.uri).run(run_id)
    assert str(caught.value) == (
        "Not read yet: planner stops asking MLflow after 0 s on one page; reload to see the rest."
    )
    # Nothing was remembered: the next request with time left reads it.
    app.config["MLFLOW_REQUEST_BUDGET_SECONDS"] = 10.0
    with app.test_request_context("/"):
        assert Reader(mlflow_store.uri).run(run_id).metrics == {"val_recall": 0.5}
