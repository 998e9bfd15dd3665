"""Files and figures made from user data: one download helper (RFC 6266/5987 names, formula-safe
CSV), user text made inert in every Plotly figure, date arithmetic that cannot overflow, and a
milestone page that renders whatever its epics and sprints hold."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from planner.domain.sharing import create_share_link
from planner.downloads import content_disposition, csv_text, safe_stem
from planner.models import Epic, Milestone, MilestoneForecast, Sprint, Stage
from tests import factories
from tests.conftest import sign_in

EVIL = '<a href="https://evil.example/">x</a> %{x}'


# --- the download helper ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "header"),
    [
        ("FRAUD-Sprint 4-burndown", 'attachment; filename="FRAUD-Sprint_4-burndown.csv"'),
        (
            "FRAUD-Sprint ☃ 1-burndown",
            'attachment; filename="FRAUD-Sprint_1-burndown.csv"; '
            "filename*=UTF-8''FRAUD-Sprint_%E2%98%83_1-burndown.csv",
        ),
        ("a\r\nb", 'attachment; filename="a_b.csv"'),
        ('x"; filename=evil.exe', 'attachment; filename="x_filename=evil.exe.csv"'),
        ("../../etc/passwd", 'attachment; filename="etc_passwd.csv"'),
        ("\x00\x01", 'attachment; filename="download.csv"'),
        ("Épreuve", "attachment; filename=\"Epreuve.csv\"; filename*=UTF-8''%C3%89preuve.csv"),
    ],
)
def test_download_names_are_safe_and_keep_their_extension(stem, header):
    assert content_disposition(stem, "csv") == header


def test_a_stem_is_bounded():
    assert len(safe_stem("s" * 500)) == 120


def test_csv_cells_cannot_become_formulas_but_numbers_stay_numbers():
    text = csv_text(
        ["Sprint", "Done"],
        [
            ['=HYPERLINK("http://evil")', -3],
            ["+1", 0],
            ["-x", None],
            ["@SUM(A1)", 2.5],
            ["\tTab", 1],
            ["\rCR", 1],
            ["Sprint 4", 21],
        ],
    )
    assert text == (
        "Sprint,Done\r\n"
        '"\'=HYPERLINK(""http://evil"")",-3\r\n'
        "'+1,0\r\n"
        "'-x,\r\n"
        "'@SUM(A1),2.5\r\n"
        "'\tTab,1\r\n"
        '"\'\rCR",1\r\n'
        "Sprint 4,21\r\n"
    )


@pytest.fixture
def hostile(db_session, team):
    """FRAUD with user text meant to be markup everywhere a figure shows it."""
    team.project.created_at = datetime(2026, 1, 5, tzinfo=UTC)
    stage = db_session.scalar(select(Stage).where(Stage.key == "modeling"))
    stage.name = EVIL
    closed = factories.sprint(
        db_session,
        team.project,
        '=HYPERLINK("http://evil") ☃\n' + EVIL,
        date(2026, 3, 2),
        date(2026, 3, 13),
    )
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="t",
        points=3,
        stage="modeling",
        role="ml_engineer",
        sprint=closed.id,
        now=datetime(2026, 3, 1, tzinfo=UTC),
    )
    closed.state = "closed"
    closed.started_at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    closed.closed_at = datetime(2026, 3, 13, 17, tzinfo=UTC)
    milestone = Milestone(project_id=team.project.id, name=EVIL, baseline=date(2026, 4, 24))
    db_session.add(milestone)
    db_session.flush()
    db_session.add(
        MilestoneForecast(
            milestone_id=milestone.id,
            reported_on=date(2026, 3, 4),
            forecast=date(2026, 5, 1),
            note=EVIL,
        )
    )
    _, token = create_share_link(
        db_session, team.project, "Board", by_id=team.manager.id, now=datetime.now(UTC)
    )
    db_session.commit()
    return {"sprint": closed, "milestone": milestone, "token": token}


def test_report_csv_downloads_are_named_and_neutralised_end_to_end(app, team, hostile):
    client = sign_in(app, team.manager)
    sprint = hostile["sprint"]
    response = client.get(f"/projects/FRAUD/reports/{sprint.id}/velocity.csv")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "\n" not in disposition and "\r" not in disposition
    # Quotes, slashes, colons, <, >, % and the line break become underscores; the snowman is
    # only in the UTF-8 name.
    assert disposition == (
        'attachment; filename="FRAUD-=HYPERLINK(_http_evil_)_a_href=_https_evil.example_x_a_{x}'
        "-velocity.csv\"; filename*=UTF-8''FRAUD-%3DHYPERLINK%28_http_evil_%29_%E2%98%83_a_href"
        "%3D_https_evil.example_x_a_%7Bx%7D-velocity.csv"
    )
    first_cell = response.get_data(as_text=True).splitlines()[1]
    assert first_cell.startswith("\"'=HYPERLINK(")


def figures_in(page: str) -> list[dict]:
    blocks = re.findall(
        r'<script type="application/json" id="fig(?:ure)?-[^"]+">(.*?)</script>', page, re.S
    )
    return [json.loads(block) for block in blocks]


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_user_text_is_inert_in_every_figure_of_every_page(app, team, hostile):
    client = sign_in(app, team.manager)
    sprint_id = hostile["sprint"].id
    pages = [
        f"/projects/FRAUD/reports?sprint={sprint_id}",
        f"/projects/FRAUD/sprints/{sprint_id}",
        "/projects/FRAUD/milestones",
        f"/projects/FRAUD/milestones/{hostile['milestone'].id}",
        "/projects/FRAUD/dashboard",
        "/projects/FRAUD/risks",
        f"/share/{hostile['token']}",
    ]
    seen = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        for figure in figures_in(response.get_data(as_text=True)):
            seen += 1
            for text in strings(figure):
                assert "<a" not in text and "</a>" not in text, (url, text)
            for trace in figure["data"]:
                template = trace.get("hovertemplate", "")
                assert "evil" not in template and "x</a>" not in template, (url, template)
    assert seen >= 10
    milestones = client.get("/projects/FRAUD/milestones").get_data(as_text=True)
    names = {t["name"] for f in figures_in(milestones) for t in f["data"]}
    # Escaped once: Plotly shows the entities as the literal characters < and >.
    assert '&lt;a href="https://evil.example/"&gt;x&lt;/a&gt; %{x}' in names


# --- dates that cannot overflow -------------------------------------------------------------


@pytest.mark.parametrize("far", [date(9999, 12, 31), date(1, 1, 2)])
def test_a_stored_far_forecast_breaks_no_page(app, db_session, team, far):
    """Stored before dates were bounded: the trend chart's padding must not overflow."""
    milestone = Milestone(project_id=team.project.id, name="Launch", baseline=date(2026, 6, 30))
    db_session.add(milestone)
    db_session.flush()
    db_session.add(
        MilestoneForecast(
            milestone_id=milestone.id, reported_on=date(2026, 3, 4), forecast=far, note="typo"
        )
    )
    _, token = create_share_link(
        db_session, team.project, "Board", by_id=team.manager.id, now=datetime.now(UTC)
    )
    db_session.commit()
    client = sign_in(app, team.manager)
    for url in (
        "/projects/FRAUD/dashboard",
        "/projects/FRAUD/milestones",
        f"/projects/FRAUD/milestones/{milestone.id}",
        f"/share/{token}",
        "/api/v1/projects/FRAUD/milestones",
    ):
        assert client.get(url).status_code == 200, url


# --- the milestone page whatever the epics hold ------------------------------------------------


@pytest.mark.parametrize(
    ("stories", "closed_sprint", "expected"),
    [
        ([], False, "No points are left in the linked epics"),
        ([None, 0], False, "No points are left in the linked epics (2 open stories"),
        ([3], False, "no closed sprint yet, so no velocity to forecast from"),
        ([None], True, "No points are left in the linked epics (1 open story"),
    ],
)
def test_the_milestone_page_renders_every_kind_of_suggestion(
    app, db_session, team, stories, closed_sprint, expected
):
    team.project.created_at = datetime(2026, 1, 5, tzinfo=UTC)
    milestone = Milestone(project_id=team.project.id, name="Pilot", baseline=date(2026, 6, 30))
    db_session.add(milestone)
    db_session.flush()
    epic = Epic(project_id=team.project.id, key="E1", title="Scoring", milestone_id=milestone.id)
    db_session.add(epic)
    db_session.flush()
    for points in stories:
        factories.story(db_session, team.project, team.editor, points=points, epic="E1")
    if closed_sprint:
        factories.sprint(
            db_session,
            team.project,
            "Sprint 1",
            date(2026, 2, 2),
            date(2026, 2, 13),
            state="closed",
            started_at=datetime(2026, 2, 2, 9, tzinfo=UTC),
            closed_at=datetime(2026, 2, 13, 17, tzinfo=UTC),
        )
    db_session.commit()
    response = sign_in(app, team.manager).get(f"/projects/FRAUD/milestones/{milestone.id}")
    assert response.status_code == 200
    assert expected in response.get_data(as_text=True)
    assert db_session.scalar(select(Sprint.id).where(Sprint.name == "nothing")) is None
