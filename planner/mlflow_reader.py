"""Reading runs, metrics and model versions from a team's MLflow, through MLflow's own client.

MLflow is optional (`pip install "planner[mlflow]"`, which is mlflow-skinny: the client). Nothing
here imports it at module level, so planner starts and works without it; every read then fails
with `MlflowError("MLflow is not installed …")`, which pages show in place of the details.

Reads time out quickly (PLANNER_MLFLOW_TIMEOUT, no retries) and are cached per process for
PLANNER_MLFLOW_CACHE_SECONDS; a failure is cached for a quarter of that, so an unreachable server
costs one timeout, not one per link on every page.

Local stores are read too (the demo's file store, a team's `sqlite:///…` database store), but
only when they exist: MLflow would otherwise create an empty store (or its tables inside some
other database) on first read.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, g, has_app_context, has_request_context

from planner import pagecache

DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_CACHE_SECONDS = 60.0
# A run's address in the MLflow UI: <tracking URI>/#/experiments/<id>/runs/<run id>.
RUN_URL = re.compile(
    r"^(?P<uri>https?://[^#?\s]+?)/*(?:#/|ml/)?experiments/(?P<exp>[^/\s]+)/runs/(?P<run>[0-9a-zA-Z]{1,64})/*"
    r"(?:[/?#].*)?$"
)
RUN_ID = re.compile(r"^[0-9a-zA-Z_-]{1,64}$")


class MlflowError(Exception):
    """A read from MLflow failed; the message says why, in words a page can show."""


@dataclass(frozen=True)
class RunDetails:
    run_id: str
    name: str | None
    experiment_id: str
    status: str  # RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_time: datetime | None
    end_time: datetime | None
    metrics: dict[str, float]  # the latest value of each metric key
    params: dict[str, str]
    ui_url: str | None

    @property
    def finished(self) -> bool:
        return self.status == "FINISHED"

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "name": self.name,
            "experiment_id": self.experiment_id,
            "status": self.status,
            "start_time": _iso(self.start_time),
            "end_time": _iso(self.end_time),
            "metrics": dict(self.metrics),
            "params": dict(self.params),
            "ui_url": self.ui_url,
        }


@dataclass(frozen=True)
class ModelVersionDetails:
    name: str
    version: str
    aliases: tuple[str, ...]
    status: str
    stage: str | None
    run_id: str | None
    source: str | None
    created: datetime | None
    ui_url: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "aliases": list(self.aliases),
            "status": self.status,
            "stage": self.stage,
            "run_id": self.run_id,
            "source": self.source,
            "created": _iso(self.created),
            "ui_url": self.ui_url,
        }


@dataclass(frozen=True)
class MetricPoint:
    value: float
    step: int
    at: datetime


def installed() -> bool:
    """True when MLflow's client can be imported."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def tracking_uri_for(project) -> str | None:
    """The project's tracking URI, or the site's default (PLANNER_MLFLOW_TRACKING_URI)."""
    if project is not None and project.mlflow_tracking_uri:
        return project.mlflow_tracking_uri
    if has_app_context():
        return current_app.config.get("MLFLOW_TRACKING_URI") or None
    return None


def _allowed_hosts() -> set[str]:
    """The hosts the site allows (PLANNER_MLFLOW_ALLOWED_HOSTS) and its default server's host."""
    config = current_app.config if has_app_context() else {}
    hosts = {
        host.strip().lower()
        for host in re.split(r"[,\s]+", config.get("MLFLOW_ALLOWED_HOSTS") or "")
        if host.strip()
    }
    default = config.get("MLFLOW_TRACKING_URI") or ""
    if default.startswith(("http://", "https://")) and (host := urlsplit(default).hostname):
        hosts.add(host.lower())
    return hosts


def host_allowed(uri: str, *, when_unset: bool = True) -> bool:
    """Whether planner may read MLflow at `uri`'s host: one the site allows, or any host
    (`when_unset`) while the site allows none."""
    hosts = _allowed_hosts()
    if not hosts:
        return when_unset
    try:
        host = (urlsplit(uri).hostname or "").lower()
    except ValueError:
        return False
    return host in hosts


def allowed_hosts_text() -> str:
    return ", ".join(sorted(_allowed_hosts())) or "none yet"


_CREDENTIALS = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
)


def parse_run_url(text: str) -> tuple[str, str] | None:
    """(tracking URI, run id) from a run's address in the MLflow UI, or None."""
    match = RUN_URL.match(text.strip())
    if match is None:
        return None
    return match.group("uri").rstrip("/"), match.group("run")


@dataclass
class _Entry:
    expires: float
    value: Any = None
    error: str | None = None


@dataclass
class _Cache:
    entries: dict[tuple, _Entry] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple) -> _Entry | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry.expires < time.monotonic():
                return None
            return entry

    def put(self, key: tuple, entry: _Entry) -> None:
        with self.lock:
            if len(self.entries) > 5000:  # bounded: drop what has expired, else everything
                now = time.monotonic()
                self.entries = {k: e for k, e in self.entries.items() if e.expires >= now}
                if len(self.entries) > 5000:
                    self.entries.clear()
            self.entries[key] = entry


_cache = _Cache()


def clear_cache() -> None:
    """Forget every cached read (tests, and after a project's tracking URI changes)."""
    with _cache.lock:
        _cache.entries.clear()


class Reader:
    """Reads from one tracking URI; every public method raises MlflowError on failure."""

    def __init__(
        self,
        tracking_uri: str | None,
        *,
        timeout: float | None = None,
        cache_seconds: float | None = None,
    ) -> None:
        self.tracking_uri = (tracking_uri or "").strip() or None
        config = current_app.config if has_app_context() else {}
        self.timeout = float(
            timeout if timeout is not None else config.get("MLFLOW_TIMEOUT_SECONDS", 3.0)
        )
        self.cache_seconds = float(
            cache_seconds
            if cache_seconds is not None
            else config.get("MLFLOW_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
        )

    # -- public reads ----------------------------------------------------------------------------
    def run(self, run_id: str) -> RunDetails:
        return self._cached(("run", run_id), lambda client: self._read_run(client, run_id))

    def model_version(self, name: str, version: str) -> ModelVersionDetails:
        return self._cached(
            ("model_version", name, version),
            lambda client: self._read_model_version(client, name, version),
        )

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self._cached(
            ("history", run_id, key), lambda client: self._read_history(client, run_id, key)
        )

    def ui_url(self) -> str | None:
        """The MLflow UI's address: the tracking URI itself when it is an http(s) server."""
        if self.tracking_uri and self.tracking_uri.startswith(("http://", "https://")):
            return self.tracking_uri.rstrip("/")
        return None

    # -- plumbing --------------------------------------------------------------------------------
    def _cached(self, key: tuple, read: Callable[[Any], Any]) -> Any:
        full_key = (self.tracking_uri, *key)
        reachable = _cache.get((self.tracking_uri, "unreachable"))
        if reachable is not None and reachable.error:
            _shown_until(reachable)
            raise MlflowError(reachable.error)
        entry = _cache.get(full_key)
        if entry is not None:
            _shown_until(entry)
            if entry.error is not None:
                raise MlflowError(entry.error)
            return entry.value
        budget = _budget_left()
        if budget is not None and budget <= 0:
            # not cached: the next page asks again, and finds what this one did read cached
            pagecache.dont_keep()
            raise MlflowError(
                "Not read yet: planner stops asking MLflow after "
                f"{_budget_seconds():g} s on one page; reload to see the rest."
            )
        started = time.monotonic()
        try:
            value = read(self._client())
        except MlflowError as error:
            self._remember_failure(full_key, str(error), unreachable=False)
            raise
        except Exception as error:  # MLflow raises many types; each becomes one sentence
            message, unreachable = _describe(error, self.tracking_uri)
            self._remember_failure(full_key, message, unreachable=unreachable)
            raise MlflowError(message) from error
        finally:
            _spend(time.monotonic() - started)
        entry = _Entry(time.monotonic() + self.cache_seconds, value=value)
        _cache.put(full_key, entry)
        _shown_until(entry)
        return value

    def _remember_failure(self, key: tuple, message: str, *, unreachable: bool) -> None:
        expires = time.monotonic() + self.cache_seconds / 4
        _cache.put(key, _Entry(expires, error=message))
        pagecache.keep_until(pagecache.clock() + self.cache_seconds / 4)
        if unreachable:
            _cache.put((self.tracking_uri, "unreachable"), _Entry(expires, error=message))

    def _client(self):
        if self.tracking_uri is None:
            raise MlflowError(
                "No MLflow tracking URI is set: a manager sets it in the project's settings "
                "(or the site sets PLANNER_MLFLOW_TRACKING_URI)."
            )
        if not installed():
            raise MlflowError(
                'MLflow is not installed on this server: pip install "planner[mlflow]" to see '
                "run details."
            )
        _check_local_store(self.tracking_uri)
        if (
            self.tracking_uri.startswith(("http://", "https://"))
            and any(os.environ.get(name) for name in _CREDENTIALS)
            and not host_allowed(self.tracking_uri, when_unset=False)
        ):
            # MLflow sends the environment's credentials to whatever server it reads.
            raise MlflowError(
                f"planner does not send the site's MLflow credentials to {self.tracking_uri}: "
                "the site's operator lists the servers it trusts in PLANNER_MLFLOW_ALLOWED_HOSTS."
            )
        # MLflow reads these for every HTTP request; planner wants one quick try, not 120 s x 7.
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(max(1, math.ceil(self.timeout)))
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _read_run(self, client, run_id: str) -> RunDetails:
        if not RUN_ID.match(run_id or ""):
            raise MlflowError(f"{run_id!r} is not an MLflow run id.")
        run = client.get_run(run_id)
        info, data = run.info, run.data
        ui = self.ui_url()
        return RunDetails(
            run_id=info.run_id,
            name=getattr(info, "run_name", None),
            experiment_id=str(info.experiment_id),
            status=str(info.status),
            start_time=_from_ms(info.start_time),
            end_time=_from_ms(info.end_time),
            # NaN and infinities are not numbers a target can be compared with (nor JSON)
            metrics={
                key: float(value)
                for key, value in sorted(data.metrics.items())
                if math.isfinite(float(value))
            },
            params=dict(sorted(data.params.items())),
            ui_url=f"{ui}/#/experiments/{info.experiment_id}/runs/{info.run_id}" if ui else None,
        )

    def _read_model_version(self, client, name: str, version: str) -> ModelVersionDetails:
        if version.isdigit():
            found = client.get_model_version(name, version)
        else:
            found = client.get_model_version_by_alias(name, version)
        ui = self.ui_url()
        return ModelVersionDetails(
            name=found.name,
            version=str(found.version),
            aliases=tuple(getattr(found, "aliases", None) or ()),
            status=str(found.status),
            stage=getattr(found, "current_stage", None),
            run_id=found.run_id or None,
            source=found.source or None,
            created=_from_ms(found.creation_timestamp),
            ui_url=f"{ui}/#/models/{found.name}/versions/{found.version}" if ui else None,
        )

    def _read_history(self, client, run_id: str, key: str) -> list[MetricPoint]:
        if not RUN_ID.match(run_id or ""):
            raise MlflowError(f"{run_id!r} is not an MLflow run id.")
        points = client.get_metric_history(run_id, key)
        return sorted(
            (
                MetricPoint(float(p.value), int(p.step), _from_ms(p.timestamp))
                for p in points
                if math.isfinite(float(p.value))
            ),
            key=lambda p: (p.at, p.step),
        )


def _shown_until(entry: _Entry) -> None:
    """A kept page (planner.pagecache) that shows what `entry` holds lives no longer than it."""
    pagecache.keep_until(pagecache.clock() + (entry.expires - time.monotonic()))


def _budget_seconds() -> float:
    return float(current_app.config.get("MLFLOW_REQUEST_BUDGET_SECONDS", 10.0))


def _budget_left() -> float | None:
    """Seconds of MLflow reading this request has left (None outside a request)."""
    if not has_request_context():
        return None
    return _budget_seconds() - g.get("_mlflow_seconds", 0.0)


def _spend(seconds: float) -> None:
    if has_request_context():
        g._mlflow_seconds = g.get("_mlflow_seconds", 0.0) + seconds


def _check_local_store(uri: str) -> None:
    """Refuse a local store that does not exist, or a database that is not MLflow's."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https", "databricks", "databricks-uc", "uc"):
        return
    if parts.scheme in ("", "file"):
        path = unquote(parts.path if parts.scheme == "file" else uri)
        if not os.path.isdir(path):
            raise MlflowError(f"There is no MLflow store at {path}.")
        # A local file store: MLflow 3 keeps it in maintenance mode and wants this opt-in.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return
    if parts.scheme == "sqlite":
        path = unquote(uri[len("sqlite:///") :])
        if not path or not os.path.isfile(path):
            raise MlflowError(f"There is no MLflow database at {path or uri}.")
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
                tables = {
                    row[0]
                    for row in connection.execute(
                        "SELECT name FROM sqlite_master WHERE type='table'"
                    )
                }
        except sqlite3.Error as error:
            raise MlflowError(f"{path} is not a database MLflow wrote: {error}.") from error
        if not {"experiments", "runs", "metrics"} <= tables:
            raise MlflowError(f"{path} is not a database MLflow wrote.")
        return
    # postgresql://, mysql://: an MLflow database store a team runs; MLflow checks it.


def _describe(error: Exception, uri: str | None) -> tuple[str, bool]:
    """One sentence for a failed read, and whether the server itself could not be reached.

    Never the server's answer itself: a tracking URI may name a server that is not MLflow, and
    what it says is not planner's to show."""
    text = str(error)
    code = getattr(error, "error_code", "")
    if code == "RESOURCE_DOES_NOT_EXIST" or "RESOURCE_DOES_NOT_EXIST" in text:
        return f"MLflow at {uri} has no such run or model version.", False
    if code == "INVALID_PARAMETER_VALUE":
        return f"MLflow at {uri} refused the request as invalid.", False
    lowered = text.lower()
    # A server error (5xx): the server is up but failing, as good as unreachable for now. Older
    # MLflow clients retried it and said "max retries"; MLflow 3.18 says "error code 500 != 200".
    failing = re.search(r"error code 5\d\d\b", lowered) is not None
    if failing or any(
        word in lowered
        for word in ("connection", "timed out", "timeout", "max retries", "unreachable", "refused")
    ):
        return f"MLflow at {uri} cannot be reached right now; details will show when it can.", True
    return f"MLflow at {uri} could not be read ({type(error).__name__}).", False


def _from_ms(value: int | None) -> datetime | None:
    if value is None or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
