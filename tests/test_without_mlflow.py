"""Without MLflow installed (simulated by hiding the module, not by mocking it), every page and
call still works; only the live run details are missing, and the pages say so."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from planner import mlflow_reader
from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.models import ArtefactLink, Milestone, Story
from tests import factories

NOT_INSTALLED = "MLflow is not installed on this server"


@pytest.fixture
def without_mlflow(monkeypatch):
    mlflow_reader.clear_cache()
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now fails
    yield
    mlflow_reader.clear_cache()


def test_pages_and_calls_work_and_say_what_is_missing(db_session, team, clients, without_mlflow):
    project = team.project
    project.mlflow_tracking_uri = "https://mlflow.example.invalid"
    milestone = Milestone(
        project_id=project.id,
        name="Model meets target",
        baseline=datetime(2026, 4, 24, tzinfo=UTC).date(),
        metric="val_recall",
        target=">= 0.85",
    )
    db_session.add(milestone)
    db_session.flush()
    ctx = load_context(db_session, project)
    epic = create_epic(db_session, ctx, {"title": "Models", "milestone": milestone.id})
    story = factories.story(
        db_session,
        project,
        team.editor,
        title="Focal loss",
        type="experiment",
        metric="val_recall",
        target=">= 0.85",
        epic=epic.key,
    )
    db_session.add_all(
        [
            ArtefactLink(
                project_id=project.id, story_id=story.id, kind="mlflow_run", run_id="a" * 32
            ),
            ArtefactLink(
                project_id=project.id,
                story_id=story.id,
                kind="document",
                url="https://wiki.example.com/dpia",
                title="DPIA",
            ),
        ]
    )
    db_session.commit()
    viewer, editor = clients["view"], clients["edit"]

    page = editor.get(f"/projects/FRAUD/stories/{story.number}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert NOT_INSTALLED in text
    assert "DPIA" in text  # links that need no MLflow show as ever
    proposal = editor.get(f"/api/v1/stories/FRAUD-{story.number}/outcome-proposal").json
    assert proposal["outcome"] == "inconclusive"
    assert NOT_INSTALLED in proposal["reason"]
    for url in (
        f"/projects/FRAUD/milestones/{milestone.id}",
        "/projects/FRAUD/dashboard",
        "/projects/FRAUD/audit",
        "/projects/FRAUD/gates",
    ):
        answer = viewer.get(url)
        assert answer.status_code == 200, url
    assert NOT_INSTALLED in viewer.get(f"/projects/FRAUD/milestones/{milestone.id}").get_data(
        as_text=True
    )
    trend = viewer.get(f"/api/v1/milestones/{milestone.id}/metric-trend").json
    assert trend["error"].startswith(NOT_INSTALLED)
    # Writes that need no MLflow still work: a link, an outcome set by hand.
    added = editor.api(
        "POST",
        f"/api/v1/stories/FRAUD-{story.number}/links",
        {"kind": "commit", "url": "https://git.example.com/fraud/-/commit/1"},
    )
    assert added.status_code == 201
    db_session.expire_all()
    version = db_session.scalar(select(Story.version).where(Story.id == story.id))
    changed = editor.api(
        "PATCH",
        f"/api/v1/stories/FRAUD-{story.number}",
        {"version": version, "outcome": "refuted"},
    )
    assert changed.status_code == 200
    assert changed.json["outcome_record"]["run_id"] is None
