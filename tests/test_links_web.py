"""The Links section of the story, epic and milestone pages: adding and removing through the
forms (with the CSRF token), what view members see, live MLflow details from a real server (and
the message when it cannot be reached), a refused link shown again with its message, the project
settings for MLflow and gates, and a bounded number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from planner import mlflow_reader
from planner.domain.links import create_link
from planner.models import ArtefactLink, Epic, Milestone, Project, Story
from tests.ports import free_port as _free_port

PAGE = "/projects/FRAUD/stories/1"
ADD = f"{PAGE}/links"


def _point(db_session, team, uri: str | None) -> None:
    project = db_session.get(Project, team.project.id)
    project.mlflow_tracking_uri = uri
    db_session.commit()


def _links(db_session) -> list[tuple]:
    db_session.expire_all()
    return [
        (link.kind, link.story_id, link.epic_id, link.milestone_id, link.url or link.run_id)
        for link in db_session.scalars(select(ArtefactLink).order_by(ArtefactLink.id))
    ]


def _section(page: str) -> str:
    start = page.index('<section class="card links" id="links"')
    return page[start : page.index("</section>", start)]


def _link(db_session, team, owner, values) -> ArtefactLink:
    project = db_session.get(Project, owner.project_id)
    link = create_link(db_session, project, owner, values, by=team.editor)
    db_session.commit()
    return link


@pytest.fixture(autouse=True)
def _clean_cache():
    mlflow_reader.clear_cache()
    yield
    mlflow_reader.clear_cache()


def test_an_editor_adds_and_removes_a_link_through_the_forms(clients, story_one, db_session):
    editor = clients["edit"]
    page = editor.get(PAGE).get_data(as_text=True)
    section = _section(page)
    assert "No links yet" in section
    assert f'action="{ADD}"' in section
    for kind in ("mlflow_run", "mlflow_model_version", "dataset", "commit", "document"):
        assert f'name="kind" value="{kind}"' in section
    added = editor.post_form(
        ADD, {"kind": "commit", "url": "https://git.example.com/fraud/-/merge_requests/42"}
    )
    assert added.status_code == 302
    assert added.headers["Location"].endswith("/projects/FRAUD/stories/1#links")
    assert _links(db_session) == [
        ("commit", story_one.id, None, None, "https://git.example.com/fraud/-/merge_requests/42")
    ]
    page = editor.get(PAGE).get_data(as_text=True)
    assert "FRAUD-1: Code commit or merge request linked." in page
    section = _section(page)
    assert 'href="https://git.example.com/fraud/-/merge_requests/42"' in section
    link_id = db_session.scalar(select(ArtefactLink.id))
    remove = f"/projects/FRAUD/links/{link_id}/delete"
    assert f'action="{remove}"' in section
    removed = editor.post_form(remove)
    assert removed.status_code == 302
    assert removed.headers["Location"].endswith("/projects/FRAUD/stories/1#links")
    assert _links(db_session) == []
    assert "Code commit or merge request link removed." in editor.get(PAGE).get_data(as_text=True)


def test_a_run_goes_in_by_its_id_or_its_mlflow_address_in_one_field(
    app, clients, story_one, db_session
):
    app.config["MLFLOW_ALLOWED_HOSTS"] = "mlflow.team.invalid"  # a server beside the project's
    editor = clients["edit"]
    assert editor.post_form(ADD, {"kind": "mlflow_run", "run": " abc123 "}).status_code == 302
    by_address = editor.post_form(
        ADD,
        {
            "kind": "mlflow_run",
            "run": "https://mlflow.team.invalid/#/experiments/2/runs/def456",
            "tracking_uri": "",
        },
    )
    assert by_address.status_code == 302
    db_session.expire_all()
    rows = db_session.execute(
        select(ArtefactLink.run_id, ArtefactLink.tracking_uri).order_by(ArtefactLink.id)
    ).all()
    assert [tuple(r) for r in rows] == [("abc123", None), ("def456", "https://mlflow.team.invalid")]


def test_forms_without_the_csrf_token_change_nothing(clients, story_one, db_session, team):
    editor = clients["edit"]
    answer = editor.post(ADD, data={"kind": "commit", "url": "https://g.example/c/1"})
    assert answer.status_code == 400
    assert _links(db_session) == []
    link = _link(db_session, team, story_one, {"kind": "commit", "url": "https://g.example/c/1"})
    refused = editor.post(f"/projects/FRAUD/links/{link.id}/delete")
    assert refused.status_code == 400
    assert len(_links(db_session)) == 1


def test_a_refused_link_is_shown_again_with_the_message_by_its_field(
    clients, story_one, db_session
):
    answer = clients["edit"].post_form(
        ADD, {"kind": "document", "url": "https://wiki.example.com/dpia", "title": ""}
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Link not added to FRAUD-1" in page
    # the document form is open, keeps what was typed, and says what is missing by the title
    assert re.search(r'<details class="link-form" open>\s*<summary>Document</summary>', page)
    assert 'value="https://wiki.example.com/dpia"' in page
    assert (
        '<span class="error" id="link-document-title-error">Enter a title (like Model card v2).'
        "</span>"
    ) in page
    assert 'id="link-document-title" name="title" value=""' in page
    assert _links(db_session) == []
    # a run's problems show by its one field
    bad_run = clients["edit"].post_form(
        ADD, {"kind": "mlflow_run", "run": "https://x.invalid/runs"}
    )
    assert bad_run.status_code == 422
    assert (
        '<span class="error" id="link-mlflow_run-run-error">This is not a run&#39;s address in '
        "the MLflow UI"
    ) in bad_run.get_data(as_text=True)
    # a kind that does not exist is said at the top of the forms
    unknown = clients["edit"].post_form(ADD, {"kind": "wiki"})
    assert unknown.status_code == 422
    assert "Choose a kind: mlflow_run, mlflow_model_version, dataset, commit, document." in (
        unknown.get_data(as_text=True)
    )
    assert _links(db_session) == []


def test_a_repeat_is_refused_on_the_page(clients, story_one, db_session):
    body = {"kind": "dataset", "uri": "dvc://fraud/gold", "version": "a1b2c3"}
    assert clients["edit"].post_form(ADD, body).status_code == 302
    again = clients["edit"].post_form(ADD, body)
    assert again.status_code == 422
    assert (
        '<span class="error" id="link-dataset-uri-error">This story already links it.</span>'
        in again.get_data(as_text=True)
    )
    assert len(_links(db_session)) == 1


def test_view_members_read_the_links_without_forms(clients, story_one, db_session, team):
    link = _link(
        db_session,
        team,
        story_one,
        {"kind": "document", "url": "https://w.example/card", "title": "Model card"},
    )
    page = clients["view"].get(PAGE)
    assert page.status_code == 200
    section = _section(page.get_data(as_text=True))
    assert '<a href="https://w.example/card" rel="noopener noreferrer">Model card</a>' in section
    assert "Add a link" not in section
    assert "<form" not in section
    body = {"kind": "commit", "url": "https://g.example/c/1"}
    assert clients["view"].post_form(ADD, body).status_code == 403
    assert clients["view"].post_form(f"/projects/FRAUD/links/{link.id}/delete").status_code == 403
    assert clients["none"].post_form(ADD, body).status_code == 404
    assert clients["none"].post_form(f"/projects/FRAUD/links/{link.id}/delete").status_code == 404
    assert clients["none"].get(PAGE).status_code == 404
    assert len(_links(db_session)) == 1


def test_the_section_shows_a_runs_status_times_metrics_params_and_mlflow_link(
    clients, story_one, db_session, team, mlflow_store
):
    _point(db_session, team, mlflow_store.uri)
    exp = mlflow_store.experiment()
    metrics = {f"m{n:02d}": n / 100 for n in range(1, 11)}  # ten: eight shown, then "2 more"
    metrics["m01"] = [
        (0.5, datetime(2026, 3, 2, 9, 5, tzinfo=UTC)),
        (0.8123456, datetime(2026, 3, 2, 9, 15, tzinfo=UTC)),
    ]
    run_id = mlflow_store.log_run(
        exp,
        name="gbm-depth-8",
        metrics=metrics,
        params={"max_depth": "8", "learning_rate": "0.05"},
        start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        end=datetime(2026, 3, 2, 9, 40, tzinfo=UTC),
    )
    _link(db_session, team, story_one, {"kind": "mlflow_run", "run_id": run_id})
    section = _section(clients["view"].get(PAGE).get_data(as_text=True))
    assert "<strong>gbm-depth-8</strong>" in section
    assert f'<span class="mono small">{run_id}</span>' in section
    assert '<span class="chip run-finished">Finished</span>' in section
    assert "<dt>Started</dt><dd>Mon 2 Mar 2026, 09:00</dd>" in section  # the project is on UTC
    assert '<dt>Ended</dt><dd>Mon 2 Mar 2026, 09:40 <span class="muted">(40 min)</span></dd>' in (
        section
    )
    # metrics A to Z with their latest value (m01's last is 0.8123456, shown to 4 decimals)
    assert '<td class="mono">m01</td><td class="num mono">0.8123</td>' in section
    assert '<td class="mono">m08</td><td class="num mono">0.08</td>' in section
    assert "2 more metrics" in section
    assert '<td class="mono">m10</td><td class="num mono">0.1</td>' in section  # inside "more"
    assert '<td class="mono">learning_rate</td><td class="mono">0.05</td>' in section
    assert "more params" not in section
    assert (
        f'<a class="small" href="{mlflow_store.uri}/#/experiments/{exp}/runs/{run_id}" '
        'rel="noopener noreferrer">Open in MLflow</a>'
    ) in section
    # an experiment's own metric comes first, marked, whatever its name
    story = db_session.get(Story, story_one.id)
    story.metric = "m10"
    db_session.commit()
    section = _section(clients["view"].get(PAGE).get_data(as_text=True))
    assert re.search(
        r'<tbody>\s*<tr class="link-focus"><td class="mono">m10</td>'
        r'<td class="num mono">0.1</td></tr><tr><td class="mono">m01</td>',
        section,
    )


def test_the_page_renders_and_says_so_when_mlflow_cannot_be_reached(
    clients, story_one, db_session, team
):
    uri = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    _point(db_session, team, uri)
    for run_id in ("abc123", "def456"):
        _link(db_session, team, story_one, {"kind": "mlflow_run", "run_id": run_id})
    page = clients["edit"].get(PAGE)
    assert page.status_code == 200
    section = _section(page.get_data(as_text=True))
    message = f"MLflow at {uri} cannot be reached right now; details will show when it can."
    assert section.count(f'<p class="link-error small">{message}</p>') == 2
    assert "Open in MLflow" not in section


def test_without_a_tracking_uri_the_section_says_where_to_set_it(
    clients, story_one, db_session, team
):
    _link(db_session, team, story_one, {"kind": "mlflow_run", "run_id": "abc123"})
    section = _section(clients["edit"].get(PAGE).get_data(as_text=True))
    assert (
        "No MLflow tracking URI is set: a manager sets it in the project&#39;s settings" in section
    )


def test_epic_and_milestone_pages_have_links_too(clients, story_one, db_session, team):
    epic = db_session.scalar(select(Epic).where(Epic.project_id == team.project.id))
    milestone = db_session.scalar(select(Milestone).where(Milestone.project_id == team.project.id))
    epic_add = f"/projects/FRAUD/epics/{epic.key}/links"
    milestone_add = f"/projects/FRAUD/milestones/{milestone.id}/links"
    body = {"kind": "document", "url": "https://w.example/dpia", "title": "DPIA"}
    added = clients["edit"].post_form(epic_add, body)
    assert added.status_code == 302
    assert added.headers["Location"].endswith(f"/projects/FRAUD/epics/{epic.key}#links")
    assert "DPIA" in _section(clients["view"].get(f"/projects/FRAUD/epics/{epic.key}").text)
    # a milestone's links are the managers' to change, as everything else on a milestone
    assert clients["edit"].post_form(milestone_add, body).status_code == 403
    manager_page = clients["manage"].get(f"/projects/FRAUD/milestones/{milestone.id}").text
    assert f'action="{milestone_add}"' in _section(manager_page)
    editor_page = clients["edit"].get(f"/projects/FRAUD/milestones/{milestone.id}").text
    assert "<form" not in _section(editor_page)
    assert clients["manage"].post_form(milestone_add, body).status_code == 302
    link_id = db_session.scalar(
        select(ArtefactLink.id).where(ArtefactLink.milestone_id == milestone.id)
    )
    remove = f"/projects/FRAUD/links/{link_id}/delete"
    assert clients["edit"].post_form(remove).status_code == 403
    assert clients["manage"].post_form(remove).status_code == 302
    assert [row[2:4] for row in _links(db_session)] == [(epic.id, None)]


def test_a_link_of_another_project_is_not_found_here(clients, story_one, db_session, team):
    from tests import factories

    other = factories.project(db_session, "OTHER", "Other", owner=team.editor)
    story = factories.story(db_session, other, team.editor, title="Elsewhere")
    db_session.commit()
    link = _link(db_session, team, story, {"kind": "commit", "url": "https://g.example/c/9"})
    assert clients["edit"].post_form(f"/projects/FRAUD/links/{link.id}/delete").status_code == 404
    assert len(_links(db_session)) == 1


def test_the_story_page_costs_the_same_queries_with_one_link_or_ten(
    clients, story_one, db_session, team, count_queries
):
    _point(db_session, team, f"http://127.0.0.1:{_free_port()}")
    _link(db_session, team, story_one, {"kind": "mlflow_run", "run_id": "run0"})
    editor = clients["edit"]
    editor.get(PAGE)
    with count_queries() as one:
        assert editor.get(PAGE).status_code == 200
    for n in range(1, 10):
        values = (
            {"kind": "mlflow_run", "run_id": f"run{n}"}
            if n % 2
            else {"kind": "dataset", "uri": f"dvc://set/{n}", "version": "v1"}
        )
        _link(db_session, team, db_session.get(Story, story_one.id), values)
    with count_queries() as ten:
        page = editor.get(PAGE).get_data(as_text=True)
    assert _section(page).count('class="link-item"') == 10
    assert ten.count == one.count


# --- project settings ----------------------------------------------------------------------------


def _settings_form(client, **changes) -> dict:
    page = client.get("/projects/FRAUD/settings").get_data(as_text=True)
    values = {
        "name": "Card fraud detection",
        "timezone": "UTC",
        "working_days": ["1", "2", "3", "4", "5"],
        "sprint_length_days": "14",
        "slip_tolerance_days": "7",
        "holidays": "",
        "description": "",
    }
    assert 'name="mlflow_tracking_uri"' in page and 'name="enforce_gates"' in page
    values.update(changes)
    return values


def test_a_manager_sets_the_tracking_uri_and_gate_enforcement(clients, story_one, db_session):
    manager = clients["manage"]
    saved = manager.post_form(
        "/projects/FRAUD/settings",
        _settings_form(
            manager, mlflow_tracking_uri="https://mlflow.example.com", enforce_gates="y"
        ),
    )
    assert saved.status_code == 302
    db_session.expire_all()
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    assert (project.mlflow_tracking_uri, project.enforce_gates) == (
        "https://mlflow.example.com",
        True,
    )
    page = manager.get("/projects/FRAUD/settings").get_data(as_text=True)
    assert 'value="https://mlflow.example.com"' in page
    assert re.search(
        r'<input[^>]*checked[^>]*name="enforce_gates"|name="enforce_gates"[^>]*checked', page
    )
    # blank goes back to the site's default; an unticked box turns enforcement off
    manager.post_form("/projects/FRAUD/settings", _settings_form(manager, mlflow_tracking_uri=""))
    db_session.expire_all()
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    assert (project.mlflow_tracking_uri, project.enforce_gates) == (None, False)


def test_a_local_store_is_refused_on_the_settings_page(clients, story_one, db_session):
    manager = clients["manage"]
    answer = manager.post_form(
        "/projects/FRAUD/settings",
        _settings_form(
            manager,
            mlflow_tracking_uri="sqlite:////srv/mlflow.db",
            name="Renamed",
            enforce_gates="y",
        ),
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert (
        "Local stores (file:, sqlite:, a path) are not accepted here: the site&#39;s operator"
        in (page)
    )
    assert 'value="sqlite:////srv/mlflow.db"' in page  # kept, to correct
    db_session.expire_all()
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    assert (project.name, project.mlflow_tracking_uri, project.enforce_gates) == (
        "Card fraud detection",
        None,
        False,
    )
