"""Reports pages, CSV downloads and the burndown API, with hand-computed numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from planner.domain.backlog import move_to_sprint
from planner.domain.context import load_context
from planner.domain.history import calendar_of
from planner.domain.sprints import close_sprint, create_sprint, set_capacity, start_sprint
from planner.domain.stories import update_story
from planner.models import Sprint
from tests import factories


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def closed(db_session, team):
    """Sprint 1, 2-13 March 2026, UTC, Monday to Friday, closed at 16:00 on the 13th.

    Planned before the start: S1 5 (data_scientist), S2 3 (annotator), S3 8 (data_scientist).
    Tue 3: S1 done. Wed 4: S4 (2, no role) added. Thu 5: S2 removed. Mon 9: S3 re-estimated to 13.
    Close: S3 and S4 unfinished, carried to Sprint 2.
    """
    project, by = team.project, team.manager
    sprint = create_sprint(
        db_session, project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    ctx = load_context(db_session, project)
    made = [
        factories.story(
            db_session,
            project,
            by,
            title=f"S{n}",
            points=p,
            role=r,
            stage=st,
            now=t("2026-02-25T10:00"),
        )
        for n, p, r, st in [
            (1, 5, "data_scientist", "modeling"),
            (2, 3, "annotator", "data_labeling"),
            (3, 8, "data_scientist", "modeling"),
            (4, 2, None, None),
        ]
    ]
    move_to_sprint(db_session, ctx, made[:3], sprint.id, by=by, now=t("2026-03-02T08:00"))
    set_capacity(db_session, ctx, sprint, {team.editor.id: 10, team.manager.id: 3})
    start_sprint(db_session, project, sprint, now=t("2026-03-02T09:00"))
    update_story(db_session, ctx, made[0], {"status": "done"}, by=by, now=t("2026-03-03T10:00"))
    update_story(db_session, ctx, made[3], {"sprint": sprint.id}, by=by, now=t("2026-03-04T10:00"))
    update_story(db_session, ctx, made[1], {"sprint": None}, by=by, now=t("2026-03-05T10:00"))
    update_story(db_session, ctx, made[2], {"points": 13}, by=by, now=t("2026-03-09T10:00"))
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


# Committed 5 + 3 + 8 = 16. Day by day (scope, done, remaining):
# 2nd 16/0/16, 3rd 16/5/11, 4th 18/5/13, 5th 15/5/10, 6th 15/5/10, 9th 20/5/15, then 20/5/15.
EXPECTED_REMAINING = [16, 11, 13, 10, 10, 15, 15, 15, 15, 15]
EXPECTED_SCOPE = [16, 16, 18, 15, 15, 20, 20, 20, 20, 20]


def test_burndown_api_follows_the_rules(clients, closed):
    body = clients["view"].get(f"/api/v1/sprints/{closed.id}/burndown").json
    assert body["sprint"]["name"] == "Sprint 1" and body["unit"] == "points"
    assert body["days"] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
        "2026-03-13",
    ]
    assert body["committed"] == 16
    assert body["remaining"] == EXPECTED_REMAINING
    assert body["scope"] == EXPECTED_SCOPE
    assert body["done"] == [0] + [5] * 9
    # 16 points over 10 sprint days, 16 / 10 = 1.6 less each day: 14.4, 12.8, ... 1.6, 0.
    assert body["ideal"] == pytest.approx([14.4, 12.8, 11.2, 9.6, 8.0, 6.4, 4.8, 3.2, 1.6, 0.0])
    assert body["scope_changes"] == [
        {"day": "2026-03-04", "story": "FRAUD-4", "change": "added", "points": 2},
        {"day": "2026-03-05", "story": "FRAUD-2", "change": "removed", "points": -3},
        {"day": "2026-03-09", "story": "FRAUD-3", "change": "re-estimated", "points": 5},
    ]
    stories = clients["view"].get(f"/api/v1/sprints/{closed.id}/burndown?unit=stories").json
    # 3 stories committed; S1 done on the 3rd; S4 in on the 4th; S2 out on the 5th.
    assert stories["committed"] == 3
    assert stories["remaining"][:5] == [3, 2, 3, 2, 2]
    # 3 stories over 10 sprint days, 3 / 10 = 0.3 less each day: 2.7, 2.4, ... 0.3, 0.
    assert stories["ideal"] == pytest.approx([2.7, 2.4, 2.1, 1.8, 1.5, 1.2, 0.9, 0.6, 0.3, 0.0])
    bad = clients["view"].get(f"/api/v1/sprints/{closed.id}/burndown?unit=hours")
    assert bad.status_code == 422 and "unit" in bad.json["error"]["details"]
    assert clients["none"].get(f"/api/v1/sprints/{closed.id}/burndown").status_code == 404


def test_sprint_list_api(clients, closed):
    body = clients["view"].get("/api/v1/projects/FRAUD/sprints").json
    assert [(s["name"], s["state"], s["start"], s["end"]) for s in body["sprints"]] == [
        ("Sprint 1", "closed", "2026-03-02", "2026-03-13"),
        ("Sprint 2", "planned", "2026-03-16", "2026-03-27"),
    ]
    assert clients["none"].get("/api/v1/projects/FRAUD/sprints").status_code == 404


def table_rows(page: str, chart: str) -> list[list[str]]:
    start = page.index(f'id="chart-{chart}"')
    body = page[page.index("<tbody>", start) : page.index("</tbody>", start)]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>.*?</t[hd]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_reports_page_shows_six_charts_with_their_numbers(clients, closed):
    page = clients["view"].get(f"/projects/FRAUD/reports?sprint={closed.id}").get_data(as_text=True)
    for chart in ("burndown", "burnup", "flow", "velocity", "stages", "roles"):
        assert f'data-figure="figure-{chart}"' in page
        figure = json.loads(re.search(rf'id="figure-{chart}">(.*?)</script>', page, re.S).group(1))
        assert figure["data"] and figure["layout"]["title"]["text"]
    assert re.search(r'<script src="/assets/plotly\.min\.js\?v=[0-9a-f]{16}" defer></script>', page)
    burndown = table_rows(page, "burndown")
    assert burndown[0] == ["Start", "16", "0", "16", "16"]
    assert [row[3] for row in burndown[1:]] == [str(v) for v in EXPECTED_REMAINING]
    assert table_rows(page, "velocity") == [["Sprint 1", "16", "5"]]
    # At the close: S1 5 and S3 13 in modeling, S4 2 without a stage.
    assert table_rows(page, "stages")[0] == ["Sprint 1", "18", "2", "20"]
    # Data scientist work (5 + 13) against Priya's 10: over by 8; any role: 2; total 20 vs 13.
    roles = table_rows(page, "roles")
    assert ["Data scientist", "18", "10", "8"] in roles
    assert roles[-1] == ["All roles", "20", "13", "7"]
    assert "2026-03-05: FRAUD-2 removed (-3 points)" in page


def test_each_chart_downloads_as_csv_with_the_table_rows(clients, closed):
    response = clients["view"].get(f"/projects/FRAUD/reports/{closed.id}/burndown.csv")
    assert response.mimetype == "text/csv"
    assert 'filename="FRAUD-Sprint_1-burndown.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Day", "Scope (points)", "Done (points)", "Remaining (points)", "Ideal"]
    assert rows[1] == ["Start", "16", "0", "16", "16"]
    assert rows[2] == ["2026-03-02", "16", "0", "16", "14.4"]
    assert [r[3] for r in rows[2:]] == [str(v) for v in EXPECTED_REMAINING]
    # The ideal column: 16 at the start, then 1.6 less each of the 10 days (two decimals).
    assert [r[4] for r in rows[1:]] == [
        "16",
        "14.4",
        "12.8",
        "11.2",
        "9.6",
        "8.0",
        "6.4",
        "4.8",
        "3.2",
        "1.6",
        "0.0",
    ]
    flow = list(
        csv.reader(
            io.StringIO(
                clients["view"]
                .get(f"/projects/FRAUD/reports/{closed.id}/flow.csv")
                .get_data(as_text=True)
            )
        )
    )
    assert flow[0] == ["Day", "To do", "In progress", "Review", "Done"]
    assert flow[1] == ["2026-03-02", "3", "0", "0", "0"]
    assert flow[4] == ["2026-03-05", "2", "0", "0", "1"]  # S3 and S4 to do, S1 done
    assert clients["view"].get(f"/projects/FRAUD/reports/{closed.id}/pie.csv").status_code == 404
    assert clients["view"].get("/projects/FRAUD/reports/999/burndown.csv").status_code == 404
    assert (
        clients["none"].get(f"/projects/FRAUD/reports/{closed.id}/burndown.csv").status_code == 404
    )


def test_days_to_come_are_empty_in_the_table_and_the_csv(db_session, clients, team):
    sprint = create_sprint(
        db_session, team.project, {"name": "Future", "start": "2099-01-05", "end": "2099-01-09"}
    )
    factories.story(db_session, team.project, team.editor, points=3, sprint=sprint.id)
    db_session.commit()
    rows = list(
        csv.reader(
            io.StringIO(
                clients["view"]
                .get(f"/projects/FRAUD/reports/{sprint.id}/burndown.csv")
                .get_data(as_text=True)
            )
        )
    )
    assert rows[1] == ["Start", "3", "0", "3", "3"]
    assert rows[2] == ["2099-01-05", "", "", "", "2.4"]
    page = clients["view"].get(f"/projects/FRAUD/reports?sprint={sprint.id}").get_data(as_text=True)
    assert table_rows(page, "burndown")[1] == ["2099-01-05", "–", "–", "–", "2.4"]


def test_reports_without_sprints_say_so(clients, team):
    page = clients["view"].get("/projects/FRAUD/reports").get_data(as_text=True)
    assert "reports appear once the first sprint is planned" in page


def test_summary_and_flow_apis_follow_the_rules(clients, closed):
    summary = clients["view"].get(f"/api/v1/sprints/{closed.id}/summary").json
    # By hand, from the fixture's story: committed S1 5 + S2 3 + S3 8; S4 (2) added; S2 (3)
    # removed; S3 re-estimated 8 -> 13 (+5); S1 done; S3 13 + S4 2 carried; scope S1 + S3 + S4.
    assert {k: v for k, v in summary.items() if k != "sprint"} == {
        "committed_points": 16,
        "committed_stories": 3,
        "added_points": 2,
        "added_stories": 1,
        "removed_points": 3,
        "removed_stories": 1,
        "reestimated_points": 5,
        "completed_points": 5,
        "completed_stories": 1,
        "carried_points": 15,
        "carried_stories": 2,
        "scope_points": 20,
        "scope_stories": 3,
    }
    flow = clients["view"].get(f"/api/v1/sprints/{closed.id}/flow").json
    # To do: S1 S2 S3 on the 2nd; S1 done on the 3rd; S4 in on the 4th; S2 out on the 5th.
    assert flow["stories"] == {
        "todo": [3, 2, 3, 2, 2, 2, 2, 2, 2, 2],
        "in_progress": [0] * 10,
        "review": [0] * 10,
        "done": [0] + [1] * 9,
    }
    assert clients["none"].get(f"/api/v1/sprints/{closed.id}/summary").status_code == 404


def test_planning_stories_and_capacity_over_the_api(clients, closed, db_session):
    capacity = clients["view"].get(f"/api/v1/sprints/{closed.id}/capacity").json
    assert capacity["saved"] is True
    assert [(m["email"], m["points"]) for m in capacity["members"]] == [
        ("maya@example.com", 3),
        ("priya@example.com", 10),
    ]
    next_sprint = db_session.scalar(select(Sprint).where(Sprint.state == "planned"))
    manager = clients["manage"]
    url = f"/api/v1/sprints/{next_sprint.id}"
    # Sprint 2 holds S3 and S4 (carried at the close); bring S2 back, send S4 to the backlog.
    planned = manager.api("POST", f"{url}/stories", {"add": ["FRAUD-2"], "remove": ["FRAUD-4"]})
    assert planned.status_code == 200, planned.json
    assert planned.json["stories"] == ["FRAUD-2", "FRAUD-3"]
    saved = manager.api(
        "PUT", f"{url}/capacity", {"capacity": {"priya@example.com": 8, "maya@example.com": None}}
    )
    assert saved.status_code == 200
    assert [(m["email"], m["points"]) for m in saved.json["members"]] == [
        ("maya@example.com", None),
        ("priya@example.com", 8),
    ]
    bad = manager.api("PUT", f"{url}/capacity", {"capacity": {"priya@example.com": 2000}})
    assert bad.status_code == 422
    stranger = manager.api("PUT", f"{url}/capacity", {"capacity": {"x@example.com": 1}})
    assert stranger.status_code == 422 and "not a member" in stranger.json["error"]["message"]
    assert clients["edit"].api("POST", f"{url}/stories", {"add": ["FRAUD-1"]}).status_code == 403


def test_stage_and_role_apis_follow_the_rules(clients, closed):
    stages = clients["view"].get(f"/api/v1/sprints/{closed.id}/stages").json
    # At the last day: S1 5 and S3 13 in modeling, S4 2 without a stage (S2 left on the 5th).
    assert stages["stages"] == [
        {"stage": "modeling", "name": "Modeling & training", "points": 18},
        {"stage": None, "name": "No stage", "points": 2},
    ]
    roles = clients["view"].get(f"/api/v1/sprints/{closed.id}/roles").json
    # Capacity saved: Priya (data scientist) 10, Maya (scrum master) 3. Needed: data scientist
    # S1 5 + S3 13 = 18, over by 8; any role S4 2. Total 20 against 13: over by 7. Velocity:
    # the one closed sprint completed 5.
    assert roles["capacity_source"] == "saved"
    assert [(r["role"], r["needed"], r["capacity"], r["over_by"]) for r in roles["roles"]] == [
        ("scrum_master", 0, 3, 0),
        ("data_scientist", 18, 10, 8),
        (None, 2, None, 0),
    ]
    assert (roles["needed"], roles["capacity"], roles["over_capacity_by"]) == (20, 13, 7)
    assert roles["velocity"] == 5.0
