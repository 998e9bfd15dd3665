"""User text is inert in every figure: names, keys and notes go into Plotly titles, legends,
ticks, hover text and `text`, where Plotly renders a subset of HTML (links, bold, line breaks),
and into nothing that Plotly reads as a template. Each figure builder in planner.charts is built
here with hostile text in every slot that takes user text, and every string of the figure is
walked."""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, date, datetime

import plotly.graph_objects as go
import pytest

from planner import charts
from planner.forecasting import ForecastPoint
from planner.metrics import Calendar, Change, SprintInfo, StoryInfo, sweep, velocity
from planner.planning import check_plan

HOSTILE = '<a href="https://evil.example/">x</a> <b>%{x}</b><br>%{y:$.2f} &amp; ok'
# Plotly decodes entities once, so this is what it shows: the user's text, character for
# character. It is written out by hand, not computed with html.escape.
SHOWN = (
    '&lt;a href="https://evil.example/"&gt;x&lt;/a&gt; &lt;b&gt;%{x}&lt;/b&gt;&lt;br&gt;%{y:$.2f}'
    " &amp;amp; ok"
)
# Plotly's own markup that planner writes: line breaks, and the hover box's <extra> part.
OURS = re.compile(r"<br>|</?extra>")
TEMPLATES = ("hovertemplate", "texttemplate")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hostile(label: str) -> str:
    return f"{HOSTILE} {label}"


def shown(label: str) -> str:
    return f"{SHOWN} {label}"


def walk(value, path=()):
    """Every (path, string) in a figure dict."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))


def assert_inert(figure: dict, expected_shown: set[str]) -> None:
    """No tag but planner's own <br>/<extra>, no link, user text only ever escaped, never inside a
    template; and each piece of user text the figure should show is there, escaped once."""
    strings = list(walk(figure))
    for path, text in strings:
        bare = OURS.sub(" ", text)
        assert "<" not in bare and ">" not in bare, (path, text)
        # "href" only as shown text, right after an escaped "<a" (a wrap may split the two).
        assert "href" not in re.sub(r"&lt;a\s+href=", "", bare), (path, text)
        assert "&amp;lt;" not in text, ("escaped twice", path, text)
        if path and path[-1] in TEMPLATES:
            assert "evil" not in text and "%{x}</b>" not in text and "$.2f" not in text, path
            assert "%{fullData.name}" in text or "name" not in text, path
    everything = "\n".join(text for _, text in strings)
    for piece in expected_shown:
        assert piece in everything, piece


# --- inputs with hostile text in every slot ------------------------------------------------------

SPRINT = SprintInfo(
    1,
    hostile("sprint"),
    date(2026, 3, 2),
    date(2026, 3, 13),
    "active",
    started_at=at("2026-03-02T09:00"),
)
CLOSED = SprintInfo(
    2,
    hostile("closed"),
    date(2026, 2, 16),
    date(2026, 2, 27),
    "closed",
    started_at=at("2026-02-16T09:00"),
    closed_at=at("2026-02-27T16:00"),
)
STAGES = [("modeling", hostile("stage"))]


def story(id_, points, status, sprint, stage=None, role=None):
    return StoryInfo(
        id=id_,
        key=hostile(f"key{id_}"),
        created_at=at("2026-02-01T10:00"),
        status=status,
        points=points,
        sprint=sprint,
        stage=stage,
        role=role,
        title=hostile(f"title{id_}"),
    )


@pytest.fixture(scope="module")
def series():
    """The active sprint: two stories planned, a third added on Wednesday (a scope change whose
    hover text names the story's key); the closed sprint: one story done."""
    stories = [
        story(1, 5, "done", 1, "modeling", "ml_engineer"),
        story(2, 3, "todo", 1),
        story(3, 2, "todo", 1, "modeling"),
        story(4, 8, "done", 2, "modeling", "ml_engineer"),
    ]
    changes = [
        Change(1, at("2026-03-02T08:00"), "sprint", None, 1),
        Change(2, at("2026-03-02T08:00"), "sprint", None, 1),
        Change(1, at("2026-03-03T15:00"), "status", "todo", "done"),
        Change(3, at("2026-03-04T11:00"), "sprint", None, 1),
        Change(4, at("2026-02-16T08:00"), "sprint", None, 2),
        Change(4, at("2026-02-17T15:00"), "status", "todo", "done"),
    ]
    return sweep(Calendar("UTC"), [SPRINT, CLOSED], stories, changes, now=at("2026-03-06T12:00"))


def _burndown(series):
    figure = charts.burndown_figure(series[1], "points")
    changes = next(t for t in figure["data"] if t["name"] == "Scope change")
    assert changes["text"] == [f"{shown('key3')} added (+2)"]
    return figure, {shown("sprint"), shown("key3")}


def _burndown_stories(series):
    return charts.burndown_figure(series[1], "stories"), {shown("sprint"), shown("key3")}


def _burnup(series):
    return charts.burnup_figure(series[1]), {shown("sprint")}


def _flow(series):
    return charts.cumulative_flow_figure(series[1]), {shown("sprint")}


def _velocity(series):
    v = velocity([series[2]])
    return charts.velocity_figure(v, highlight=2), {shown("closed")}


def _stages(series):
    figure = charts.stage_points_figure([series[2], series[1]], STAGES)
    return figure, {shown("closed"), shown("sprint"), shown("stage")}


def _roles(series):
    check = check_plan(
        [("ml_engineer", 5), ("data_scientist", 3)],
        {7: 10},
        {7: ["ml_engineer"]},
        {7: hostile("person")},
        None,
    )
    figure = charts.role_load_figure(check, hostile("roles title"))
    return figure, {shown("roles title")}


def _trend(series):
    milestones = [
        (
            hostile("milestone"),
            [ForecastPoint(date(2026, 3, 4), date(2026, 5, 1), hostile("note"))],
            None,
        ),
        (hostile("achieved"), [], date(2026, 3, 6)),
    ]
    return charts.trend_figure(milestones), {shown("milestone"), shown("note"), shown("achieved")}


def _slip(series):
    figure = charts.slip_figure([(hostile("slip"), 5, "at_risk")])
    # Escaped first, then wrapped at words: the <br> between lines is planner's own.
    expected = (
        '&lt;a<br>href="https://evil.example/"&gt;x&lt;/a&gt;<br>&lt;b&gt;%{x}&lt;/b&gt;&lt;br&gt;'
        "%{y:$.2f}<br>&amp;amp; ok slip"
    )
    assert figure["data"][0]["y"] == [expected]
    return figure, set()


def _heat_map(series):
    cells = [[0] * 5 for _ in range(5)]
    cells[2][3] = 2
    return charts.heat_map_figure(cells), set()


BUILDERS = {
    "burndown_figure": [_burndown, _burndown_stories],
    "burnup_figure": [_burnup],
    "cumulative_flow_figure": [_flow],
    "velocity_figure": [_velocity],
    "stage_points_figure": [_stages],
    "role_load_figure": [_roles],
    "trend_figure": [_trend],
    "slip_figure": [_slip],
    "heat_map_figure": [_heat_map],
}


def test_every_figure_builder_is_covered_here():
    """A figure added to planner.charts must be added to BUILDERS, with hostile text in it."""
    made = {
        name
        for name, value in inspect.getmembers(charts, inspect.isfunction)
        if name.endswith("_figure") and value.__module__.startswith(charts.__name__)
    }
    assert made == set(BUILDERS)


@pytest.mark.parametrize(
    "build", [b for builds in BUILDERS.values() for b in builds], ids=lambda b: b.__name__[1:]
)
def test_user_text_is_inert_in_the_figure(series, build):
    figure, expected = build(series)
    go.Figure(figure)  # still a valid figure
    assert_inert(figure, expected)


def test_plain_escapes_once_and_leaves_quotes():
    assert charts.plain(HOSTILE) == SHOWN
    assert charts.plain('Tom & Jerry\'s "pilot"') == 'Tom &amp; Jerry\'s "pilot"'
    assert charts.plain("") == ""


def test_the_assertion_catches_raw_user_text():
    """The walker is not vacuous: a figure with the user's text as-is fails it."""
    raw = {"data": [{"type": "bar", "name": HOSTILE, "x": [1], "y": [1]}], "layout": {}}
    with pytest.raises(AssertionError):
        assert_inert(raw, set())
    spliced = {
        "data": [{"type": "bar", "name": "a", "hovertemplate": f"{SHOWN}: %{{y}}"}],
        "layout": {},
    }
    with pytest.raises(AssertionError):
        assert_inert(spliced, set())


def test_user_text_equal_to_a_plotly_template_stays_text():
    """A name like %{x} goes into hover text through the trace or the point, never through the
    template, so Plotly shows it as typed."""
    figure = charts.trend_figure(
        [("%{x}", [ForecastPoint(date(2026, 3, 4), date(2026, 5, 1), "%{y}")], None)]
    )
    trace = figure["data"][1]
    assert trace["name"] == "%{x}" and trace["text"] == ["%{y}"]
    assert trace["hovertemplate"] == (
        "Reported %{x}<br>Forecast %{y}<br>%{text}<extra>%{fullData.name}</extra>"
    )


# --- the pages, public share page included --------------------------------------------------------

WEB = '<a href="https://evil.example/">x</a>%{x}'  # fits the 80 characters of a sprint name
WEB_SHOWN = '&lt;a href="https://evil.example/"&gt;x&lt;/a&gt;%{x}'


def figures_in(page: str) -> list[dict]:
    """Every figure a page hands to Plotly: the JSON script blocks that hold data and layout,
    whatever their id (reports use figure-*, other pages fig-*)."""
    blocks = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S)
    found = [json.loads(block) for block in blocks]
    return [f for f in found if isinstance(f, dict) and "data" in f and "layout" in f]


@pytest.fixture
def hostile_project(db_session, team):
    """FRAUD with WEB in a stage, a closed and an active sprint (one story added after the start:
    a scope change), a milestone and its forecast note; a share link."""
    from sqlalchemy import select

    from planner.domain.sharing import create_share_link
    from planner.models import Milestone, MilestoneForecast, Stage
    from tests import factories

    team.project.created_at = datetime(2026, 1, 5, tzinfo=UTC)
    db_session.scalar(select(Stage).where(Stage.key == "modeling")).name = WEB + " stage"
    closed = factories.sprint(
        db_session, team.project, WEB + " closed", date(2026, 2, 16), date(2026, 2, 27)
    )
    active = factories.sprint(
        db_session, team.project, WEB + " active", date(2026, 3, 2), date(2026, 3, 13)
    )
    for sprint, when in ((closed, "2026-02-15T10:00"), (active, "2026-03-01T10:00")):
        factories.story(
            db_session,
            team.project,
            team.editor,
            points=3,
            stage="modeling",
            role="ml_engineer",
            sprint=sprint.id,
            now=at(when),
        )
    factories.story(
        db_session,
        team.project,
        team.editor,
        points=2,
        sprint=active.id,
        now=at("2026-03-04T10:00"),
    )
    closed.state, active.state = "closed", "active"
    closed.started_at, closed.closed_at = at("2026-02-16T09:00"), at("2026-02-27T16:00")
    active.started_at = at("2026-03-02T09:00")
    milestone = Milestone(project_id=team.project.id, name=WEB + " ms", baseline=date(2026, 4, 24))
    db_session.add(milestone)
    db_session.flush()
    db_session.add(
        MilestoneForecast(
            milestone_id=milestone.id,
            reported_on=date(2026, 3, 4),
            forecast=date(2026, 5, 1),
            note=WEB + " note",
        )
    )
    _, token = create_share_link(
        db_session, team.project, "Board", by_id=team.manager.id, now=datetime.now(UTC)
    )
    db_session.commit()
    return {"closed": closed.id, "active": active.id, "milestone": milestone.id, "token": token}


def test_no_page_puts_live_user_markup_in_a_figure(app, team, hostile_project):
    from tests.conftest import sign_in

    client = sign_in(app, team.manager)
    h = hostile_project
    pages = [
        f"/projects/FRAUD/reports?sprint={h['active']}",
        f"/projects/FRAUD/reports?sprint={h['closed']}&unit=stories",
        f"/projects/FRAUD/sprints/{h['active']}",
        f"/projects/FRAUD/sprints/{h['closed']}",
        "/projects/FRAUD/dashboard",
        "/projects/FRAUD/milestones",
        f"/projects/FRAUD/milestones/{h['milestone']}",
        "/projects/FRAUD/risks",
        f"/share/{h['token']}",
    ]
    figures = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        figures[url] = figures_in(response.get_data(as_text=True))
        assert figures[url], url
        for figure in figures[url]:
            assert_inert(figure, set())
    seen = "\n".join(t for f in sum(figures.values(), []) for _, t in walk(f))
    for label in ("stage", "closed", "active", "ms", "note"):
        assert f"{WEB_SHOWN} {label}" in seen, label
    # The public page too: the milestone and its note, shown as typed.
    share = "\n".join(t for f in figures[f"/share/{h['token']}"] for _, t in walk(f))
    assert f"{WEB_SHOWN} ms" in share and f"{WEB_SHOWN} note" in share


def test_chart_labels_for_screen_readers_say_the_name_as_typed(app, team, hostile_project):
    """The figure title is escaped for Plotly; the page's label and table caption must not
    escape it a second time (a screen reader would read out "&lt;a")."""
    from tests.conftest import sign_in

    page = sign_in(app, team.manager).get(
        f"/projects/FRAUD/reports?sprint={hostile_project['active']}"
    )
    html_text = page.get_data(as_text=True)
    as_typed = "&lt;a href=&#34;https://evil.example/&#34;&gt;x&lt;/a&gt;%{x} active"
    assert f'aria-label="{as_typed}: burndown (points). The numbers' in html_text
    assert f'<caption class="sr-only">{as_typed}: burndown (points)</caption>' in html_text
    assert "&amp;lt;" not in html_text
