"""A sprint with 130 scope changes: the burndown API pages them and sums them per day, the report
and sprint pages list the first 50 and say how many more, the CSV download has all 130.
Every expected number is worked out by hand from the fixture's story."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from planner.domain.context import load_context
from planner.domain.history import calendar_of
from planner.domain.sprints import close_sprint, create_sprint, start_sprint
from planner.domain.stories import update_story
from tests import factories


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def keys(first: int, last: int) -> list[str]:
    return [f"FRAUD-{n}" for n in range(first, last + 1)]


@pytest.fixture
def busy(db_session, team):
    """Sprint 1, 2-13 March 2026 (UTC, Monday to Friday), closed at 16:00 on the 13th.

    FRAUD-1 (3 points) is committed at the start (Mon 2nd, 09:00). FRAUD-2..71 (2 points each)
    wait in the backlog. Tue 3rd: all 70 are added, one a second from 10:00 (70 changes, +2 each).
    Wed 4th: FRAUD-2..41 are removed (40 changes, -2 each). Thu 5th: FRAUD-42..61 are
    re-estimated from 2 to 3 (20 changes, +1 each). 70 + 40 + 20 = 130 scope changes.
    """
    project, by = team.project, team.manager
    sprint = create_sprint(
        db_session, project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    ctx = load_context(db_session, project)
    first = factories.story(
        db_session, project, by, title="S0", points=3, now=t("2026-02-25T10:00")
    )
    update_story(db_session, ctx, first, {"sprint": sprint.id}, by=by, now=t("2026-02-26T10:00"))
    made = [
        factories.story(db_session, project, by, title=f"S{n}", points=2, now=t("2026-02-25T11:00"))
        for n in range(1, 71)
    ]
    start_sprint(db_session, project, sprint, now=t("2026-03-02T09:00"))
    for i, story in enumerate(made):
        at = t("2026-03-03T10:00") + timedelta(seconds=i)
        update_story(db_session, ctx, story, {"sprint": sprint.id}, by=by, now=at)
    for i, story in enumerate(made[:40]):
        at = t("2026-03-04T10:00") + timedelta(seconds=i)
        update_story(db_session, ctx, story, {"sprint": None}, by=by, now=at)
    for i, story in enumerate(made[40:60]):
        at = t("2026-03-05T10:00") + timedelta(seconds=i)
        update_story(db_session, ctx, story, {"points": 3}, by=by, now=at)
    close_sprint(
        db_session,
        ctx,
        sprint,
        {},
        calendar=calendar_of(db_session, project),
        by=by,
        now=t("2026-03-13T16:00"),
    )
    db_session.commit()
    return sprint


ADDED = [{"day": "2026-03-03", "story": k, "change": "added", "points": 2} for k in keys(2, 71)]
REMOVED = [
    {"day": "2026-03-04", "story": k, "change": "removed", "points": -2} for k in keys(2, 41)
]
REESTIMATED = [
    {"day": "2026-03-05", "story": k, "change": "re-estimated", "points": 1} for k in keys(42, 61)
]
SUMMARY = [
    {
        "day": "2026-03-03",
        "added": 70,
        "removed": 0,
        "re_estimated": 0,
        "points_added": 140,
        "points_removed": 0,
        "points_re_estimated": 0,
        "points": 140,
    },
    {
        "day": "2026-03-04",
        "added": 0,
        "removed": 40,
        "re_estimated": 0,
        "points_added": 0,
        "points_removed": -80,
        "points_re_estimated": 0,
        "points": -80,
    },
    {
        "day": "2026-03-05",
        "added": 0,
        "removed": 0,
        "re_estimated": 20,
        "points_added": 0,
        "points_removed": 0,
        "points_re_estimated": 20,
        "points": 20,
    },
]


def test_the_api_answers_the_first_100_with_the_total_and_the_summary(clients, busy):
    body = clients["view"].get(f"/api/v1/sprints/{busy.id}/burndown").json
    # Scope: 3 at the start; +140 on the 3rd = 143; -80 on the 4th = 63; +20 on the 5th = 83.
    assert body["scope"] == [3, 143, 63, 83, 83, 83, 83, 83, 83, 83]
    assert body["scope_changes"] == ADDED + REMOVED[:30]
    assert body["scope_changes_total"] == 130
    assert (body["scope_offset"], body["scope_limit"], body["scope_next_offset"]) == (0, 100, 100)
    assert body["scope_summary"] == SUMMARY


def test_the_api_pages_with_offset_and_limit(clients, busy):
    url = f"/api/v1/sprints/{busy.id}/burndown"
    second = clients["view"].get(f"{url}?scope_offset=100").json
    assert second["scope_changes"] == REMOVED[30:] + REESTIMATED
    assert second["scope_changes_total"] == 130 and second["scope_next_offset"] is None
    assert second["scope_summary"] == SUMMARY  # the summary always counts every change
    five = clients["view"].get(f"{url}?scope_offset=120&scope_limit=5&unit=stories").json
    assert five["scope_changes"] == REESTIMATED[10:15]
    assert [c["story"] for c in five["scope_changes"]] == keys(52, 56)
    assert five["scope_next_offset"] == 125 and five["unit"] == "stories"
    everything = clients["view"].get(f"{url}?scope_limit=1000").json
    assert everything["scope_changes"] == ADDED + REMOVED + REESTIMATED
    assert everything["scope_next_offset"] is None
    past = clients["view"].get(f"{url}?scope_offset=500").json
    assert past["scope_changes"] == [] and past["scope_changes_total"] == 130


@pytest.mark.parametrize(
    "query, field",
    [
        ("scope_limit=0", "scope_limit"),
        ("scope_limit=-1", "scope_limit"),
        ("scope_limit=1001", "scope_limit"),
        ("scope_limit=99999999999999999999", "scope_limit"),
        ("scope_limit=ten", "scope_limit"),
        ("scope_limit=1.5", "scope_limit"),
        ("scope_limit=", "scope_limit"),
        ("scope_offset=-1", "scope_offset"),
        ("scope_offset=1e3", "scope_offset"),
        ("scope_offset=99999999999999999999", "scope_offset"),
        ("scope_offset=next", "scope_offset"),
    ],
)
def test_bad_paging_is_refused_naming_the_field(clients, busy, query, field):
    response = clients["view"].get(f"/api/v1/sprints/{busy.id}/burndown?{query}")
    assert response.status_code == 422, response.data
    assert field in response.json["error"]["details"]


def _section(html: str, start: str, end: str = "</section>") -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


NOTE = re.compile(r"<li>2026-03-0\d: (FRAUD-\d+) (added|removed|re-estimated) \([+-]\d points\)")


def test_the_report_page_lists_50_and_says_how_many_more(clients, busy):
    html = clients["view"].get(f"/projects/FRAUD/reports?sprint={busy.id}").get_data(as_text=True)
    burndown = _section(html, 'id="chart-burndown"')
    # The first 50 changes are the first 50 added: FRAUD-2..51. 130 - 50 = 80 more.
    assert [m.group(1) for m in NOTE.finditer(burndown)] == keys(2, 51)
    assert "and 80 more — " in burndown
    assert f'href="/projects/FRAUD/reports/{busy.id}/scope-changes.csv"' in burndown
    assert "download the CSV for all" in burndown
    assert "2026-03-03: 70 added (+140 points); net +140 points" in burndown
    assert "2026-03-04: 40 removed (-80 points); net -80 points" in burndown
    assert "2026-03-05: 20 re-estimated (+20 points); net +20 points" in burndown
    # The chart's hover text names at most 20 changes a day: 70 on the 3rd -> 20 and 50 more;
    # 40 on the 4th -> 20 and 20 more; exactly 20 on the 5th.
    figure = json.loads(
        _section(html, '<script type="application/json" id="figure-burndown">', "</script>")
        .split(">", 1)[1]
        .replace("&#34;", '"')
    )
    markers = next(trace for trace in figure["data"] if trace["name"] == "Scope change")
    lines = [text.split("<br>") for text in markers["text"]]
    assert [len(day) for day in lines] == [21, 21, 20]
    assert lines[0][0] == "FRAUD-2 added (+2)" and lines[0][-1] == "and 50 more"
    assert lines[1][-1] == "and 20 more"
    assert lines[2][-1] == "FRAUD-61 re-estimated (+1)"


def test_the_sprint_page_lists_50_and_says_how_many_more(clients, busy):
    html = clients["view"].get(f"/projects/FRAUD/sprints/{busy.id}").get_data(as_text=True)
    changes = _section(html, 'id="changes-title"')
    rows = re.findall(r'<td class="mono small">(FRAUD-\d+)</td>', changes)
    assert rows == keys(2, 51)
    assert "and 80 more — " in changes
    assert f'href="/projects/FRAUD/reports/{busy.id}/scope-changes.csv"' in changes
    assert "Wed 4 Mar 2026: 40 removed (-80 points); net -80 points" in changes


def test_the_csv_has_all_130(clients, busy):
    response = clients["view"].get(f"/projects/FRAUD/reports/{busy.id}/scope-changes.csv")
    assert response.status_code == 200
    assert 'filename="FRAUD-Sprint_1-scope-changes.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Day", "Story", "Change", "Points"]
    expected = [
        [c["day"], c["story"], c["change"], str(c["points"])] for c in ADDED + REMOVED + REESTIMATED
    ]
    assert rows[1:] == expected and len(rows) == 131
    assert (
        clients["none"].get(f"/projects/FRAUD/reports/{busy.id}/scope-changes.csv").status_code
        == 404
    )
    assert (
        clients["view"].get("/projects/FRAUD/reports/999999/scope-changes.csv").status_code == 404
    )


def test_a_small_sprint_keeps_its_full_list_and_no_more_sentence(clients, db_session, team):
    project, by = team.project, team.manager
    sprint = create_sprint(
        db_session, project, {"name": "Small", "start": "2026-03-02", "end": "2026-03-06"}
    )
    ctx = load_context(db_session, project)
    a = factories.story(db_session, project, by, title="A", points=5, now=t("2026-02-25T10:00"))
    start_sprint(db_session, project, sprint, now=t("2026-03-02T09:00"))
    update_story(db_session, ctx, a, {"sprint": sprint.id}, by=by, now=t("2026-03-03T10:00"))
    db_session.commit()
    body = clients["view"].get(f"/api/v1/sprints/{sprint.id}/burndown").json
    assert body["scope_changes"] == [
        {"day": "2026-03-03", "story": "FRAUD-1", "change": "added", "points": 5}
    ]
    assert body["scope_changes_total"] == 1 and body["scope_next_offset"] is None
    html = clients["view"].get(f"/projects/FRAUD/reports?sprint={sprint.id}").get_data(as_text=True)
    assert "more — " not in html and "per sprint day:" not in html


def test_paging_costs_no_extra_queries(clients, busy, count_queries):
    url = f"/api/v1/sprints/{busy.id}/burndown"
    client = clients["view"]
    assert client.get(url).status_code == 200  # the first read stores the closed sprint's series
    counts = []
    for query in ("", "?scope_offset=100", "?scope_limit=1000", "?scope_offset=125&scope_limit=1"):
        with count_queries() as counter:
            assert client.get(url + query).status_code == 200
        counts.append(counter.count)
    assert len(set(counts)) == 1, counts
    with count_queries() as csv_counter:
        client.get(f"/projects/FRAUD/reports/{busy.id}/scope-changes.csv")
    # The CSV reads the stored series like the API: no query per change (130 would show).
    assert csv_counter.count <= counts[0] + 1, (csv_counter.count, counts)


def test_the_csv_of_another_projects_sprint_is_not_found_under_this_one(clients, db_session, team):
    other = factories.project(db_session, "CHURN", "Churn model", owner=team.manager)
    elsewhere = factories.sprint(
        db_session, other, "Other 1", datetime(2026, 3, 2).date(), datetime(2026, 3, 6).date()
    )
    db_session.commit()
    url = f"/projects/FRAUD/reports/{elsewhere.id}/scope-changes.csv"
    assert clients["manage"].get(url).status_code == 404
    own = f"/projects/CHURN/reports/{elsewhere.id}/scope-changes.csv"
    response = clients["manage"].get(own)
    assert response.status_code == 200
    assert response.get_data(as_text=True).splitlines() == ["Day,Story,Change,Points"]


def _hover(figure: dict) -> list[list[str]]:
    (markers,) = [t for t in figure["data"] if t["name"] == "Scope change"]
    return [text.split("<br>") for text in markers["text"]]


@pytest.mark.parametrize("read_whole", [1_000, 0])
def test_the_chart_names_each_days_first_20_and_counts_the_rest(
    db_session, team, busy, monkeypatch, read_whole
):
    """Read whole (130 <= 1,000) or a slice per day of the stored list (as a sprint of more than
    1,000 changes is): the same hover text, worked out from the fixture's story."""
    from planner import scope_changes
    from planner.charts import burndown_figure
    from planner.domain.series import series_for

    monkeypatch.setattr(scope_changes, "READ_WHOLE", read_whole)
    now = t("2026-03-20T12:00")
    series_for(db_session, team.project, busy, now=now)  # the first read stores it
    stored = series_for(db_session, team.project, busy, now=now)
    assert stored.scope_changes.summary is not None  # read back from the stored row
    points, stories = burndown_figure(stored, "points"), burndown_figure(stored, "stories")
    assert _hover(points) == [
        [f"{k} added (+2)" for k in keys(2, 21)] + ["and 50 more"],
        [f"{k} removed (-2)" for k in keys(2, 21)] + ["and 20 more"],
        [f"{k} re-estimated (+1)" for k in keys(42, 61)],
    ]
    # In stories, a re-estimate changes no count: Thursday has no marker.
    assert _hover(stories) == [
        [f"{k} added (+1)" for k in keys(2, 21)] + ["and 50 more"],
        [f"{k} removed (-1)" for k in keys(2, 21)] + ["and 20 more"],
    ]


def test_a_slice_per_day_reads_three_slices_not_the_list(db_session, team, busy, monkeypatch):
    """Three days with changes: three reads of a slice, whatever the number of changes."""
    from sqlalchemy import event

    from planner import scope_changes
    from planner.charts import burndown_figure
    from planner.domain.series import series_for

    monkeypatch.setattr(scope_changes, "READ_WHOLE", 0)
    now = t("2026-03-20T12:00")
    series_for(db_session, team.project, busy, now=now)
    stored = series_for(db_session, team.project, busy, now=now)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        burndown_figure(stored, "points")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3, statements
    assert all("substr" in s.lower() for s in statements), statements
