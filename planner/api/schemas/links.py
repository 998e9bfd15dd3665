"""API bodies: artefact links of stories, epics and milestones (planner/domain/links.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt, StrictStr

from planner.api.schemas.base import Body, Moment, Out, _one_of, text
from planner.vocab import LINK_KINDS


class LinkCreate(Body):
    """A link: its kind and that kind's fields (others are refused, field by field)."""

    kind: StrictStr = Field(**_one_of(LINK_KINDS))
    run_id: StrictStr | None = Field(
        None, description="mlflow_run: the run's id (or send `url` instead)."
    )
    url: text(2000) | None = Field(
        None,
        description="mlflow_run: the run's address in the MLflow UI "
        "(…/#/experiments/ID/runs/RUN_ID); commit and document: their http(s) address.",
    )
    tracking_uri: text(500) | None = Field(
        None,
        description="mlflow_run: the http(s) tracking server, when not the project's.",
    )
    name: text(200) | None = Field(None, description="mlflow_model_version: the model's name.")
    version: StrictStr | StrictInt | None = Field(
        None,
        description="mlflow_model_version: a version number or an alias; "
        "dataset: a version or content hash.",
    )
    uri: text(1000) | None = Field(None, description="dataset: its URI (s3://…, dvc://…).")
    title: text(200) | None = Field(None, description="document: its title.")


class LinkOut(Out):
    id: int
    kind: str = Field(**_one_of(LINK_KINDS))
    run_id: str | None = Field(None, description="mlflow_run.")
    tracking_uri: str | None = Field(
        None, description="mlflow_run: null when the run is on the project's tracking server."
    )
    name: str | None = Field(None, description="mlflow_model_version.")
    version: str | None = Field(None, description="mlflow_model_version and dataset.")
    uri: str | None = Field(None, description="dataset.")
    url: str | None = Field(None, description="commit and document.")
    title: str | None = Field(None, description="document.")
    created_at: Moment
    created_by: str | None = Field(description="The e-mail of who added it.")
    details: dict[str, Any] | None = Field(
        description="What MLflow says now: for a run status, start_time, end_time, metrics "
        "(the latest value per key), params, name, ui_url; for a model version its version, "
        "aliases, status, run_id, source, ui_url. Null for other kinds or when MLflow could not "
        "be read."
    )
    error: str | None = Field(description="Why MLflow could not be read; null otherwise.")


class LinkList(Out):
    links: list[LinkOut]
