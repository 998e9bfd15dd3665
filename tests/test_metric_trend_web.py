"""The metric-to-target trend on the milestone page, the dashboard, a share link and the API, with
a real MLflow server on loopback: the target metric on the milestone form and the API (refused
with a clear message and nothing saved when incomplete or not a target), what the pages say
when MLflow cannot be read, who may see it, and a bounded number of queries. The pages use the
real today, so runs are logged relative to it and the dates worked out by hand from it."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.domain.sharing import create_share_link
from planner.models import ArtefactLink, Milestone
from planner.timeutil import utcnow
from tests import factories

NO_LINKS = "No MLflow runs are linked to this milestone, its epics or their stories yet."


def words(day: date) -> str:
    """How pages write a date: Fri 10 Apr 2026."""
    return f"{day:%a} {day.day} {day:%b} {day.year}"


def today() -> date:
    return utcnow().date()  # FRAUD's timezone is UTC


def days_ago(days: int, hour: int = 12) -> datetime:
    return datetime.combine(today() - timedelta(days=days), time(hour), tzinfo=UTC)


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


class Seeded:
    """FRAUD pointed at the loopback MLflow; milestone "Model meets target" (val_recall >= 0.85)
    delivered by epic E1, with story S in E1."""

    def __init__(self, db_session, team, store):
        self.session, self.project, self.store = db_session, team.project, store
        self.project.mlflow_tracking_uri = store.uri
        self.milestone = Milestone(
            project_id=self.project.id,
            name="Model meets target",
            baseline=today() + timedelta(days=60),
            metric="val_recall",
            target=">= 0.85",
        )
        db_session.add(self.milestone)
        db_session.flush()
        self.epic = create_epic(db_session, load_context(db_session, self.project), {"title": "R"})
        self.epic.milestone_id = self.milestone.id
        db_session.flush()
        self.story = factories.story(db_session, self.project, team.editor, epic=self.epic.key)
        db_session.commit()
        self.experiment = store.experiment()
        self.url = f"/projects/FRAUD/milestones/{self.milestone.id}"
        self.api_url = f"/api/v1/milestones/{self.milestone.id}/metric-trend"

    def run(self, owner, name, value, ended, status="FINISHED"):
        run_id = self.store.log_run(
            self.experiment,
            name=name,
            metrics={"val_recall": value},
            start=ended - timedelta(hours=1),
            end=ended,
            status=status,
        )
        column = {"Milestone": "milestone_id", "Epic": "epic_id", "Story": "story_id"}
        self.session.add(
            ArtefactLink(
                project_id=self.project.id,
                kind="mlflow_run",
                run_id=run_id,
                **{column[type(owner).__name__]: owner.id},
            )
        )
        self.session.commit()
        return run_id

    def four_runs(self):
        """0.70 (30 days ago), 0.76 (24), 0.79 (10), 0.82 (3): the window of the last 21 days
        starts on today - 21, when the best was 0.76; 0.06 gained in 21 days; 0.03 to go takes
        10.5 days, rounded up to 11: the line reaches 0.85 on today + 11."""
        self.run(self.milestone, "r-070", 0.70, days_ago(30))
        self.run(self.epic, "r-076", 0.76, days_ago(24))
        self.run(self.story, "r-079", 0.79, days_ago(10))
        self.run(self.story, "r-082", 0.82, days_ago(3))
        self.run(self.milestone, "r-still-going", 0.99, days_ago(1), status="RUNNING")

    def two_sprints(self):
        """Sprint A started 16 days ago (closed), sprint B 2 days ago (active): the last two
        sprints start 16 days ago, when the best was 0.76 (the runs of 30 and 24 days ago)."""
        for name, start, state in (("A", 16, "closed"), ("B", 2, "active")):
            begin = today() - timedelta(days=start)
            factories.sprint(
                self.session,
                self.project,
                name,
                begin,
                begin + timedelta(days=11),
                state=state,
                started_at=datetime.combine(begin, time(9), tzinfo=UTC),
                closed_at=datetime.combine(begin + timedelta(days=13), time(9), tzinfo=UTC)
                if state == "closed"
                else None,
            )
        self.session.commit()


@pytest.fixture
def seeded(db_session, team, mlflow_store):
    return Seeded(db_session, team, mlflow_store)


def words_of(response) -> str:
    """The page's text without its tags."""
    return re.sub(
        r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))
    )


def figure_json(page: str, fig_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="fig-{fig_id}">(.*?)</script>', page)
    assert match, f"no figure {fig_id}"
    return json.loads(html.unescape(match.group(1)))


def test_the_milestone_page_shows_the_trend_the_table_and_the_extrapolation(clients, seeded):
    seeded.four_runs()
    response = clients["view"].get(seeded.url)
    assert response.status_code == 200
    page, shown = text_of(response), words_of(response)
    assert "val_recall against its target" in shown
    assert "Best so far: 0.82 (run r-082, ended" in shown
    reaches = today() + timedelta(days=11)
    assert (
        "Extrapolation at the current rate, not a forecast: at the current rate (0.0029 a day "
        f"since {words(today() - timedelta(days=21))}) val_recall would reach 0.85 on "
        f"{words(reaches)}."
    ) in shown
    figure = figure_json(response.get_data(as_text=True), "metric-trend")
    assert [t["name"] for t in figure["data"]] == [
        "Target ≥ 0.85",
        "Best so far",
        "Each run's value",
        "Extrapolation at the current rate<br>(not a forecast)",
    ]
    assert figure["data"][1]["y"] == [0.70, 0.76, 0.79, 0.82, 0.82]
    # The table beside it: each counted run with its value and the best so far.
    table = re.findall(
        r'<th scope="row">(?:<a [^>]*>)?(r-\d+)(?:</a>)?<br>.*?</th><td class="num">([\d.]+)</td>',
        page,
    )
    assert table == [("r-070", "0.7"), ("r-076", "0.76"), ("r-079", "0.79"), ("r-082", "0.82")]
    assert "1 linked run does not count" in shown and "r-still-going: running" in shown


def test_the_api_answers_the_series_extrapolation_and_sentence(clients, seeded):
    seeded.four_runs()
    seeded.two_sprints()
    answer = clients["view"].get(seeded.api_url)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["metric"], body["target"], body["error"]) == ("val_recall", ">= 0.85", None)
    assert [(p["name"], p["value"], p["best"]) for p in body["series"]] == [
        ("r-070", 0.70, 0.70),
        ("r-076", 0.76, 0.76),
        ("r-079", 0.79, 0.79),
        ("r-082", 0.82, 0.82),
    ]
    assert body["series"][0]["end_time"] == days_ago(30).isoformat().replace("+00:00", "Z")
    assert [(s["name"], s["reason"]) for s in body["skipped"]] == [("r-still-going", "running")]
    ex = body["extrapolation"]
    assert (ex["state"], ex["best_then"], ex["best_now"]) == ("projected", 0.76, 0.82)
    assert ex["reaches_on"] == (today() + timedelta(days=11)).isoformat()
    assert ex["label"] == "extrapolation at the current rate, not a forecast"
    assert body["summary"]["sentence"] == (
        "val_recall 0.76 → 0.82 in the last two sprints; target 0.85"
    )
    assert body["summary"]["sprints"] == ["A", "B"]


def test_the_dashboard_and_a_share_link_show_the_sentence(
    clients, client, seeded, db_session, team
):
    seeded.four_runs()
    seeded.two_sprints()
    sentence = "val_recall 0.76 → 0.82 in the last two sprints; target 0.85."
    page = text_of(clients["view"].get("/projects/FRAUD/dashboard"))
    assert sentence in page
    assert "Model meets target: val_recall against its target" in page
    assert f'id="fig-metric-trend-{seeded.milestone.id}"' in page
    _, token = create_share_link(
        db_session, team.project, "Steering", by_id=team.manager.id, now=utcnow()
    )
    db_session.commit()
    shared = client.get(f"/share/{token}")
    assert shared.status_code == 200
    public = text_of(shared)
    assert sentence in public
    assert seeded.store.uri not in public  # the team's MLflow address stays inside


def test_pages_render_and_say_so_when_mlflow_cannot_be_read(
    clients, client, seeded, db_session, team
):
    seeded.four_runs()
    seeded.project.mlflow_tracking_uri = "http://127.0.0.1:9"  # nothing listens on the discard port
    db_session.commit()
    _, token = create_share_link(
        db_session, team.project, "Steering", by_id=team.manager.id, now=utcnow()
    )
    db_session.commit()
    milestone_page = clients["view"].get(seeded.url)
    assert milestone_page.status_code == 200
    text = text_of(milestone_page)
    assert "The trend cannot be drawn: MLflow at http://127.0.0.1:9 cannot be reached" in text
    assert 'id="fig-metric-trend"' not in text
    dashboard = text_of(clients["view"].get("/projects/FRAUD/dashboard"))
    assert "val_recall: MLflow could not be read; target 0.85." in dashboard
    shared = client.get(f"/share/{token}")
    assert shared.status_code == 200
    assert "The trend cannot be drawn: MLflow could not be read right now." in text_of(shared)
    answer = clients["view"].get(seeded.api_url)
    assert answer.status_code == 200 and "cannot be reached" in answer.json["error"]


def test_no_links_says_so(clients, seeded):
    page = text_of(clients["view"].get(seeded.url))
    assert NO_LINKS in page
    assert clients["view"].get(seeded.api_url).json["message"] == NO_LINKS


def test_a_milestone_without_a_target_metric(clients, seeded, db_session):
    seeded.milestone.metric = seeded.milestone.target = None
    db_session.commit()
    assert "No target metric: give this milestone one" in text_of(clients["manage"].get(seeded.url))
    answer = clients["view"].get(seeded.api_url).json
    assert (answer["metric"], answer["series"], answer["message"]) == (
        None,
        [],
        "This milestone has no target metric.",
    )


@pytest.mark.parametrize("level, status", [("manage", 200), ("view", 200), ("none", 404)])
def test_who_sees_the_trend(clients, seeded, level, status):
    assert clients[level].get(seeded.url).status_code == status
    assert clients[level].get(seeded.api_url).status_code == status


def test_an_unknown_milestone_is_404(clients, seeded):
    assert clients["view"].get("/api/v1/milestones/999999/metric-trend").status_code == 404


# --- the form and the API: metric and target together, a target that parses --------------------


def count_milestones(db_session) -> int:
    db_session.expire_all()
    return len(db_session.scalars(select(Milestone.id)).all())


@pytest.mark.parametrize(
    "metric, target, field, message",
    [
        (
            "val_recall",
            "",
            "target",
            "Give the target val_recall must reach, like >= 0.85, or clear the metric.",
        ),
        (
            "",
            ">= 0.85",
            "metric",
            "Name the metric the target >= 0.85 is about, like val_recall, or clear the target.",
        ),
        (
            "val_recall",
            "about 0.85",
            "target",
            "'about 0.85' is not a target: write one of >=, >, <=, < and a number, like >= 0.85.",
        ),
    ],
)
def test_the_new_milestone_form_refuses_half_a_target(
    clients, team, db_session, metric, target, field, message
):
    before = count_milestones(db_session)
    response = clients["manage"].post_form(
        "/projects/FRAUD/milestones",
        {"name": "Recall", "baseline": "2027-05-28", "metric": metric, "target": target},
    )
    assert response.status_code == 422
    page = text_of(response)
    assert f'<span class="error" id="{field}-error">{message}</span>' in page
    assert count_milestones(db_session) == before


def test_the_forms_save_a_target_and_the_edit_form_keeps_a_bad_one_out(clients, team, db_session):
    made = clients["manage"].post_form(
        "/projects/FRAUD/milestones",
        {"name": "Recall", "baseline": "2027-05-28", "metric": " val_recall ", "target": "≥0.85"},
    )
    assert made.status_code == 302
    milestone = db_session.scalar(select(Milestone).where(Milestone.name == "Recall"))
    assert (milestone.metric, milestone.target) == ("val_recall", ">= 0.85")
    url = f"/projects/FRAUD/milestones/{milestone.id}"
    edit = {"action": "edit", "name": "Recall", "baseline": "2027-05-28", "metric": "val_recall"}
    refused = clients["manage"].post_form(url, {**edit, "target": "0.9"})
    assert refused.status_code == 422
    assert "&#39;0.9&#39; is not a target" in refused.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Milestone, milestone.id).target == ">= 0.85"
    # The edit form shows what is stored.
    assert 'value="&gt;= 0.85"' in clients["manage"].get(url).get_data(as_text=True)
    cleared = clients["manage"].post_form(url, {**edit, "metric": "", "target": ""})
    assert cleared.status_code == 302
    db_session.expire_all()
    assert db_session.get(Milestone, milestone.id).metric is None


def test_the_api_takes_metric_and_target_together(clients, team, db_session):
    api = clients["manage"]
    half = api.api(
        "POST",
        "/api/v1/projects/FRAUD/milestones",
        json={"name": "Recall", "baseline": "2027-05-28", "metric": "val_recall"},
    )
    assert half.status_code == 422
    assert half.json["error"]["details"] == {
        "target": "Give the target val_recall must reach, like >= 0.85, or clear the metric."
    }
    assert count_milestones(db_session) == 0
    made = api.api(
        "POST",
        "/api/v1/projects/FRAUD/milestones",
        json={"name": "Recall", "baseline": "2027-05-28", "metric": "val_loss", "target": "<.2"},
    )
    assert made.status_code == 201, made.json
    assert (made.json["metric"], made.json["target"]) == ("val_loss", "< 0.2")
    url = f"/api/v1/milestones/{made.json['id']}"
    # A PATCH may change one of the two: the other is the stored one.
    assert api.api("PATCH", url, json={"target": "<= 0.25"}).json["target"] == "<= 0.25"
    bad = api.api("PATCH", url, json={"target": "lower"})
    assert bad.status_code == 422 and "is not a target" in bad.json["error"]["details"]["target"]
    orphan = api.api("PATCH", url, json={"metric": None})
    assert orphan.status_code == 422
    assert orphan.json["error"]["details"] == {
        "metric": "Name the metric the target <= 0.25 is about, like val_recall, "
        "or clear the target."
    }
    wrong_type = api.api("PATCH", url, json={"target": 0.85})
    assert wrong_type.status_code == 422
    read = clients["view"].get(url).json
    assert (read["metric"], read["target"]) == ("val_loss", "<= 0.25")
    both = api.api("PATCH", url, json={"metric": None, "target": None})
    assert (both.json["metric"], both.json["target"]) == (None, None)


# --- queries ------------------------------------------------------------------------------------


def test_pages_read_the_links_in_one_query_whatever_their_number(
    app, clients, seeded, count_queries
):
    seeded.run(seeded.story, "only", 0.7, days_ago(5))

    def counts():
        with count_queries() as page:
            assert clients["view"].get(seeded.url).status_code == 200
        with count_queries() as dash:
            assert clients["view"].get("/projects/FRAUD/dashboard").status_code == 200
        with count_queries() as api:
            assert clients["view"].get(seeded.api_url).status_code == 200
        return page.count, dash.count, api.count

    few = counts()
    for number in range(4):
        seeded.run(seeded.epic, f"more-{number}", 0.7, days_ago(4 - number))
        seeded.run(seeded.milestone, f"again-{number}", 0.7, days_ago(4 - number))
    assert counts() == few
