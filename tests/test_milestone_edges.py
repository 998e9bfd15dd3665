"""The milestone pages answer for whatever is stored: dates at the very ends of the calendar in
any milestone date (stored before planner bounded them), and a re-forecast suggestion for every
mix of linked epics, points left and past pace, each said in a plain sentence."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from planner.domain.sharing import create_share_link
from planner.models import Epic, Milestone, MilestoneForecast
from tests import factories
from tests.conftest import sign_in

FAR = [date(9999, 12, 31), date(9999, 12, 30), date(1, 1, 1), date(1, 1, 2)]


def _pages(app, db_session, team, milestone) -> dict[str, int]:
    _, token = create_share_link(
        db_session, team.project, "Board", by_id=team.manager.id, now=datetime.now(UTC)
    )
    db_session.commit()
    client = sign_in(app, team.manager)
    urls = (
        "/projects/FRAUD/dashboard",
        "/projects/FRAUD/milestones",
        f"/projects/FRAUD/milestones/{milestone.id}",
        f"/share/{token}",
        "/api/v1/projects/FRAUD/milestones",
    )
    return {url: client.get(url).status_code for url in urls}


@pytest.mark.parametrize("far", FAR, ids=str)
@pytest.mark.parametrize("where", ["forecast", "reported_on", "baseline", "achieved", "all"])
def test_a_stored_date_at_either_end_of_the_calendar_breaks_no_page(
    app, db_session, team, where, far
):
    """Written straight to the database, past the date window the forms and API enforce."""
    sane = date(2026, 6, 30)
    milestone = Milestone(
        project_id=team.project.id,
        name="Launch",
        baseline=far if where in ("baseline", "all") else sane,
        achieved=far if where in ("achieved", "all") else None,
    )
    db_session.add(milestone)
    db_session.flush()
    db_session.add(
        MilestoneForecast(
            milestone_id=milestone.id,
            reported_on=far if where in ("reported_on", "all") else date(2026, 3, 4),
            forecast=far if where in ("forecast", "all") else date(2026, 7, 10),
            note="typo",
        )
    )
    # A second, sane milestone on the same charts: the far one must not break its neighbours.
    other = Milestone(project_id=team.project.id, name="Pilot", baseline=date(2026, 5, 1))
    db_session.add(other)
    db_session.flush()
    statuses = _pages(app, db_session, team, milestone)
    assert statuses == dict.fromkeys(statuses, 200)


# --- the re-forecast suggestion ----------------------------------------------------------------


def _closed_sprint(db_session, team, completed: int | None):
    """A closed sprint of 2-13 February 2026; `completed` points of it done, or no story at all."""
    sprint = factories.sprint(
        db_session,
        team.project,
        "Sprint 1",
        date(2026, 2, 2),
        date(2026, 2, 13),
    )
    if completed is not None:
        factories.story(
            db_session,
            team.project,
            team.editor,
            title="Done in sprint 1",
            points=completed,
            sprint=sprint.id,
            now=datetime(2026, 2, 1, tzinfo=UTC),
        )
    sprint.state = "closed"
    sprint.started_at = datetime(2026, 2, 2, 9, tzinfo=UTC)
    sprint.closed_at = datetime(2026, 2, 13, 17, tzinfo=UTC)
    return sprint


def _suggestion(app, db_session, team, *, epic: bool, stories, sprint_completed) -> str:
    team.project.created_at = datetime(2026, 1, 5, tzinfo=UTC)
    milestone = Milestone(project_id=team.project.id, name="Pilot", baseline=date(2026, 6, 30))
    db_session.add(milestone)
    db_session.flush()
    if epic:
        db_session.add(
            Epic(project_id=team.project.id, key="E1", title="Scoring", milestone_id=milestone.id)
        )
        db_session.flush()
    for points in stories:
        factories.story(db_session, team.project, team.editor, points=points, epic="E1")
    if sprint_completed != "none":
        _closed_sprint(db_session, team, sprint_completed)
    db_session.commit()
    response = sign_in(app, team.manager).get(f"/projects/FRAUD/milestones/{milestone.id}")
    assert response.status_code == 200
    page = re.sub(r"\s+", " ", response.get_data(as_text=True))
    block = re.search(r'<div class="suggestion small">(.*?)</div>', page)
    assert block, "the suggestion block is missing"
    return block.group(1)


SENTENCES = {
    "no epic": "No epic is linked to this milestone, so there is no remaining work to forecast "
    "from. Link the epics that deliver it below.",
    "nothing left": "No points are left in the linked epics: the pace of the team says nothing "
    "about when they finish.",
    "zero left": "No points are left in the linked epics (2 open stories, all unestimated or 0 "
    "points): the pace of the team says nothing about when they finish.",
    "no sprint": "Velocity: no closed sprint yet, so no velocity to forecast from",
    "no pace": "Velocity: the closed sprints completed no points, so there is no pace to "
    "forecast from",
    "no monte carlo": "Monte Carlo: not possible without completed work in past sprints",
}


@pytest.mark.parametrize(
    ("epic", "stories", "sprint_completed", "expected"),
    [
        # No epic linked, with or without a past sprint.
        (False, [], "none", ["no epic"]),
        (False, [], 5, ["no epic"]),
        # Epics linked but nothing open: no sprint, an empty closed sprint, one that did work.
        (True, [], "none", ["nothing left"]),
        (True, [], None, ["nothing left"]),
        (True, [], 5, ["nothing left"]),
        # Open stories worth 0 points (unestimated or 0).
        (True, [None, 0], "none", ["zero left"]),
        (True, [None, 0], 5, ["zero left"]),
        # Points left but no pace: no closed sprint, a closed sprint with no story, one whose
        # only story was left at 0 points.
        (True, [3], "none", ["no sprint", "no monte carlo"]),
        (True, [3], None, ["no pace", "no monte carlo"]),
        (True, [3], 0, ["no pace", "no monte carlo"]),
    ],
    ids=[
        "no-epic",
        "no-epic-with-pace",
        "empty-epic",
        "empty-epic-empty-sprint",
        "empty-epic-with-pace",
        "zero-points",
        "zero-points-with-pace",
        "no-closed-sprint",
        "closed-sprint-without-stories",
        "closed-sprint-completing-0",
    ],
)
def test_every_suggestion_is_a_plain_sentence(
    app, db_session, team, epic, stories, sprint_completed, expected
):
    block = _suggestion(
        app, db_session, team, epic=epic, stories=stories, sprint_completed=sprint_completed
    )
    for key in expected:
        assert SENTENCES[key] in block, (key, block)
    assert "None" not in block and "nan" not in block.lower()
