"""A real MLflow for the tests: `mlflow server` on loopback over a SQLite database store, the
way a team runs it (planner talks to it over HTTP with MLflow's own client). Runs are written by
MLflow's client in each test; nothing about MLflow is mocked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.ports import free_port as _free_port


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class MlflowStore:
    uri: str

    @property
    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment(self, name: str | None = None) -> str:
        return self.client.create_experiment(name or f"test-{uuid.uuid4().hex[:12]}")

    def log_run(
        self,
        experiment_id: str,
        *,
        name: str = "run",
        metrics: Mapping[str, float | Sequence[tuple[float, datetime]]] | None = None,
        params: Mapping[str, str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        status: str = "FINISHED",
    ) -> str:
        """Write a run through MLflow's client; return its id. A metric given as a list of
        (value, time) pairs is logged as that history, step by step."""
        client = self.client
        run = client.create_run(
            experiment_id, run_name=name, start_time=_ms(start) if start else None
        )
        run_id = run.info.run_id
        for key, value in (metrics or {}).items():
            if isinstance(value, int | float):
                client.log_metric(run_id, key, float(value), step=0)
            else:
                for step, (number, at) in enumerate(value):
                    client.log_metric(run_id, key, float(number), timestamp=_ms(at), step=step)
        for key, value in (params or {}).items():
            client.log_param(run_id, key, value)
        if status != "RUNNING":
            client.set_terminated(run_id, status, end_time=_ms(end) if end else None)
        return run_id

    def register_model(self, name: str, run_id: str, alias: str | None = None) -> str:
        client = self.client
        try:
            client.create_registered_model(name)
        except Exception:  # already registered by an earlier test: add a version
            pass
        version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
        if alias:
            client.set_registered_model_alias(name, alias, version.version)
        return str(version.version)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> Iterator[MlflowStore]:
    import mlflow  # noqa: F401  (the test extra installs it; no MLflow, no run of these tests)

    folder: Path = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        env={**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            raise RuntimeError(
                "mlflow server did not start:\n" + (folder / "server.log").read_text()[-3000:]
            )
        time.sleep(0.3)
    try:
        yield MlflowStore(uri)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def mlflow_store(mlflow_server: MlflowStore) -> Iterator[MlflowStore]:
    """The loopback MLflow, with planner's read cache emptied before and after the test."""
    from planner import mlflow_reader

    mlflow_reader.clear_cache()
    yield mlflow_server
    mlflow_reader.clear_cache()
