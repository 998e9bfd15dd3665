"""The demo's MLflow runs, written into a local MLflow store by MLflow's own client.

`planner demo` and `planner quickstart` call `log_demo_runs(folder, shift)`: when MLflow's client
can be imported (mlflow-skinny or the whole of mlflow), it creates a SQLite database store,
`sqlite:///<folder>/mlflow.db`, and logs the recall experiment below into it, dated like the rest
of the demo (the shipped dates moved by `shift`), plus one registered model version
(fraud-detector, version 1, alias "champion"). The demo project's tracking URI points there.

Why a SQLite database store, not MLflow's file store (`./mlruns`): the database store is what a
team runs behind `mlflow server` (docs/mlflow.md); MLflow 3 keeps the file store in maintenance
mode and refuses it without MLFLOW_ALLOW_FILE_STORE=true; and reading a model version from a file
registry makes MLflow open its default store, creating ./mlflow.db in the working directory. The
database store needs SQLAlchemy and Alembic besides mlflow-skinny; planner depends on both, so
`pip install "planner[mlflow]"` is enough for it.

Without MLflow nothing is written: the demo links runs by fixed placeholder ids, and the pages say
that MLflow is not installed. Writing is idempotent: runs already in the store with the same name
and start time are reused, so a second install into the same folder adds nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from planner.mlflow_reader import installed

EXPERIMENT = "fraud-detector/recall-at-1pct-fpr"
MODEL_NAME = "fraud-detector"
MODEL_ALIAS = "champion"
METRIC = "val_recall"
TARGET = ">= 0.85"
STORE_FILE = "mlflow.db"


def _at(text: str) -> datetime:
    """A moment on the shipped demo calendar (UTC), like the times in demo.json."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class DemoRun:
    name: str
    user: str  # the handle of who ran it (mlflow.user)
    start: datetime  # on the shipped calendar; moved by the demo's shift
    end: datetime | None  # None: still running
    params: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "RUNNING" if self.end is None else "FINISHED"


_LR = {"model": "logistic_regression", "lr": "0.01", "class_weight": "balanced"}
_LGBM = {"model": "lightgbm", "class_weight": "balanced"}

# The recall experiment: val_recall (recall at a 1% false-positive rate on the validation months)
# rises 0.71 -> 0.76 -> 0.79 -> 0.81 -> 0.82 over five weeks and has not reached 0.85. Nothing is
# later than the demo's last event (Thursday of the active sprint's first week, 14:05 UTC).
DEMO_RUNS: tuple[DemoRun, ...] = (
    DemoRun(
        "lr-velocity-01",
        "tom",
        _at("2026-02-06 10:05"),
        _at("2026-02-06 10:48"),
        {**_LR, "features": "velocity", "labels": "batches 1-2"},
        {METRIC: 0.71, "val_pr_auc": 0.33},
    ),
    DemoRun(
        "lr-merchant-03",
        "chen",
        _at("2026-02-12 09:20"),
        _at("2026-02-12 10:11"),
        {**_LR, "features": "velocity+merchant", "labels": "batches 1-4"},
        {METRIC: 0.76, "val_pr_auc": 0.37},
    ),
    DemoRun(
        "lr-baseline-07",
        "priya",
        _at("2026-02-26 10:30"),
        _at("2026-02-26 11:22"),
        {**_LR, "features": "velocity+merchant (point in time)", "labels": "gold v1.0"},
        {METRIC: 0.79, "val_pr_auc": 0.41},
    ),
    DemoRun(
        "lgbm-default-11",
        "chen",
        _at("2026-03-02 13:02"),
        _at("2026-03-02 14:31"),
        {
            **_LGBM,
            "lr": "0.1",
            "num_leaves": "31",
            "features": "velocity+merchant (point in time)",
            "labels": "gold v1.0",
        },
        {METRIC: 0.81, "val_pr_auc": 0.49},
    ),
    DemoRun(
        "lgbm-tuned-14",
        "chen",
        _at("2026-03-03 08:10"),
        _at("2026-03-03 10:55"),
        {
            **_LGBM,
            "lr": "0.05",
            "num_leaves": "63",
            "seeds": "5",
            "features": "velocity+merchant (point in time)",
            "labels": "gold v1.0",
        },
        {METRIC: 0.82, "val_pr_auc": 0.509},
    ),
    # Chen's first focal-loss run for FRAUD-37, still going: no val_recall yet.
    DemoRun(
        "lgbm-focal-01",
        "chen",
        _at("2026-03-05 11:20"),
        None,
        {
            **_LGBM,
            "class_weight": "none",
            "loss": "focal",
            "focal_gamma": "2.0",
            "lr": "0.05",
            "features": "velocity+merchant (point in time)",
            "labels": "gold v1.0",
        },
    ),
)
CHAMPION_RUN = "lgbm-tuned-14"


def store_uri(folder: Path) -> str:
    """The demo store's tracking URI: a SQLite database store in `folder`."""
    return f"sqlite:///{(Path(folder) / STORE_FILE).resolve()}"


def placeholder_run_id(name: str) -> str:
    """The run id the demo links when MLflow is not there to log the run: fixed, 32 hex digits
    like MLflow's own."""
    return hashlib.sha256(f"planner demo run {name}".encode()).hexdigest()[:32]


@dataclass
class LoggedRuns:
    """What the demo could put into MLflow: the store's URI, each run's id (MLflow's, or a
    placeholder), the registered model version (None when none was registered), and a sentence
    for the person who ran the command."""

    uri: str | None  # None: no store was meant (install_demo outside the CLI)
    run_ids: dict[str, str]
    model_version: str | None
    logged: bool
    note: str | None


def log_demo_runs(folder: Path, shift: timedelta) -> LoggedRuns:
    """Log the demo runs into the SQLite store in `folder` (created if missing), moved by `shift`.
    Never raises: without MLflow, or when the store cannot be written, the demo goes on with
    placeholder run ids and says why."""
    uri = store_uri(folder)
    placeholders = {run.name: placeholder_run_id(run.name) for run in DEMO_RUNS}
    if not installed():
        return LoggedRuns(
            uri,
            placeholders,
            None,
            False,
            "MLflow is not installed, so the demo's runs were not logged; its run links show "
            'no details (pip install "planner[mlflow]", then a fresh demo, to see them).',
        )
    try:
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  (the database store)
    except ImportError as error:
        return LoggedRuns(
            uri,
            placeholders,
            None,
            False,
            f"MLflow's database store cannot be loaded here ({error}), so the demo's runs "
            "were not logged.",
        )
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with _quiet_mlflow():
            run_ids, version = _write(uri, Path(folder), shift)
    except Exception as error:  # a read-only folder, a locked or foreign database…
        return LoggedRuns(
            uri,
            placeholders,
            None,
            False,
            f"The demo's runs could not be written to MLflow at {uri} "
            f"({type(error).__name__}: {str(error)[:200]}).",
        )
    return LoggedRuns(
        uri,
        run_ids,
        version,
        True,
        f"Its MLflow runs are in {uri}; to browse them: "
        f"mlflow server --backend-store-uri {uri} (needs the whole of mlflow).",
    )


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _write(uri: str, folder: Path, shift: timedelta) -> tuple[dict[str, str], str | None]:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        experiment_id = client.create_experiment(
            EXPERIMENT,
            artifact_location=(folder / "artifacts").resolve().as_uri(),
            tags={"team": "fraud analytics", "target": f"{METRIC} {TARGET}"},
        )
    else:
        experiment_id = experiment.experiment_id
    run_ids: dict[str, str] = {}
    for run in DEMO_RUNS:
        start = run.start + shift
        end = run.end + shift if run.end is not None else None
        reuse = None
        for found in client.search_runs(
            [experiment_id], filter_string=f"attributes.run_name = '{run.name}'"
        ):
            if found.info.start_time == _ms(start) and reuse is None:
                reuse = found.info.run_id
            else:  # logged by an earlier demo on other dates
                client.delete_run(found.info.run_id)
        if reuse is not None:
            run_ids[run.name] = reuse
            continue
        created = client.create_run(
            experiment_id,
            start_time=_ms(start),
            tags={"mlflow.user": run.user, "mlflow.source.name": "train.py"},
            run_name=run.name,
        )
        run_id = created.info.run_id
        at = _ms(end if end is not None else start + timedelta(minutes=20))
        client.log_batch(
            run_id,
            metrics=[Metric(key, value, at, 0) for key, value in run.metrics.items()],
            params=[Param(key, value) for key, value in run.params.items()],
            tags=[RunTag("planner.demo", "true")],
        )
        if end is not None:
            client.set_terminated(run_id, "FINISHED", end_time=_ms(end))
        run_ids[run.name] = run_id
    version = _register(client, run_ids[CHAMPION_RUN], MlflowException)
    return run_ids, version


def _register(client, run_id: str, mlflow_exception: type[Exception]) -> str | None:
    """fraud-detector version 1 from the champion run, with the alias "champion"; an existing
    version of that run is reused. None when the store has no model registry."""
    try:
        try:
            client.get_registered_model(MODEL_NAME)
        except mlflow_exception:
            client.create_registered_model(
                MODEL_NAME, description="Card fraud detection: LightGBM on the gold set."
            )
        for existing in client.search_model_versions(f"name = '{MODEL_NAME}'"):
            if existing.run_id == run_id:
                client.set_registered_model_alias(MODEL_NAME, MODEL_ALIAS, existing.version)
                return str(existing.version)
        version = client.create_model_version(
            MODEL_NAME,
            f"runs:/{run_id}/model",
            run_id=run_id,
            tags={"validation": "pending model risk review"},
        )
        client.set_registered_model_alias(MODEL_NAME, MODEL_ALIAS, version.version)
        return str(version.version)
    except mlflow_exception:
        return None


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow and Alembic announce every table they create; the demo prints its own summary."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
