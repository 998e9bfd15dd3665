"""Starting a sprint through its confirmation: today proposed as the start, the commitment against
velocity and capacity, the dates confirmed are the dates kept (issue 14). Expectations by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from planner.models import Sprint
from planner.timeutil import local_date, utcnow
from tests import factories


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _last_weekday_within(first, days: int):
    """The last Monday-Friday day of the `days` calendar days from `first`."""
    day = first + timedelta(days=days - 1)
    while day.isoweekday() > 5 and day > first:
        day -= timedelta(days=1)
    return day


def _planned_later(db_session, team):
    """A 12-day sprint planned to start 8 days from today, holding 5 + 3 points and one
    unestimated story; Priya has 6 points of capacity."""
    today = local_date(utcnow(), team.project.timezone)
    sprint = factories.sprint(
        db_session,
        team.project,
        "Sprint 5",
        today + timedelta(days=8),
        today + timedelta(days=19),
    )
    for points in (5, 3, None):
        factories.story(db_session, team.project, team.manager, points=points, sprint=sprint.id)
    db_session.commit()
    return sprint, today


def test_the_confirmation_proposes_today_and_shows_the_commitment(db_session, clients, team):
    sprint, today = _planned_later(db_session, team)
    url = f"/projects/FRAUD/sprints/{sprint.id}/start"
    page = clients["manage"].get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Today, and the planned length of 12 days from today ending on a working day.
    assert f'name="start" type="date" value="{today.isoformat()}"' in html
    end = _last_weekday_within(today, 12)
    assert f'name="end" type="date" value="{end.isoformat()}"' in html
    words = text_of(page)
    assert "The commitment: 8 points in 3 stories" in words
    assert "1 story is unestimated (counted as 0 points)." in words
    # No capacity saved and no history: the suggested capacity is 0, so 8 points are over it.
    assert "Over capacity by 8 points" in words
    assert 'data-commitment="over"' in html
    # Nothing changed by looking.
    db_session.expire_all()
    assert db_session.get(Sprint, sprint.id).state == "planned"


def test_starting_keeps_the_confirmed_dates_and_commitment(db_session, clients, team):
    sprint, today = _planned_later(db_session, team)
    url = f"/projects/FRAUD/sprints/{sprint.id}/start"
    client = clients["manage"]
    seen = re.search(r'name="seen" value="([^"]*)"', client.get(url).get_data(as_text=True))
    end = today + timedelta(days=9)
    response = client.post_form(
        url, {"start": today.isoformat(), "end": end.isoformat(), "seen": seen.group(1)}
    )
    assert response.status_code == 302
    db_session.expire_all()
    started = db_session.get(Sprint, sprint.id)
    assert (started.state, started.start_date, started.end_date) == ("active", today, end)
    summary = text_of(client.get(f"/projects/FRAUD/sprints/{sprint.id}"))
    assert "Committed 8 pts 3 stories at the start" in summary


def test_a_start_in_the_future_or_an_end_in_the_past_is_refused(db_session, clients, team):
    sprint, today = _planned_later(db_session, team)
    url = f"/projects/FRAUD/sprints/{sprint.id}/start"
    client = clients["manage"]
    tomorrow = today + timedelta(days=1)
    late = client.post_form(
        url, {"start": tomorrow.isoformat(), "end": (today + timedelta(days=10)).isoformat()}
    )
    assert late.status_code == 422
    assert f"{tomorrow} has not come yet: a sprint starts today ({today}) or earlier" in text_of(
        late
    )
    past = client.post_form(
        url,
        {
            "start": (today - timedelta(days=5)).isoformat(),
            "end": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert past.status_code == 422
    assert "is already past: the sprint would end before today" in text_of(past)
    nonsense = client.post_form(url, {"start": "soon", "end": ""})
    assert nonsense.status_code == 422 and "YYYY-MM-DD" in text_of(nonsense)
    db_session.expire_all()
    kept = db_session.get(Sprint, sprint.id)
    assert (kept.state, kept.start_date) == ("planned", today + timedelta(days=8))


def test_a_sprint_changed_since_the_confirmation_is_shown_again(db_session, clients, team):
    sprint, today = _planned_later(db_session, team)
    url = f"/projects/FRAUD/sprints/{sprint.id}/start"
    client = clients["manage"]
    seen = re.search(r'name="seen" value="([^"]*)"', client.get(url).get_data(as_text=True))
    # Someone adds a 13-point story meanwhile.
    factories.story(db_session, team.project, team.editor, points=13, sprint=sprint.id)
    db_session.commit()
    response = client.post_form(
        url,
        {
            "start": today.isoformat(),
            "end": (today + timedelta(days=9)).isoformat(),
            "seen": seen.group(1),
        },
    )
    assert response.status_code == 409
    assert "changed while you were looking at it: it now holds 4 stories and 21 points" in (
        text_of(response)
    )
    db_session.expire_all()
    assert db_session.get(Sprint, sprint.id).state == "planned"


def test_another_active_sprint_is_refused_with_a_link_to_close_it(db_session, clients, team):
    sprint, today = _planned_later(db_session, team)
    running = factories.sprint(
        db_session,
        team.project,
        "Sprint 4",
        today - timedelta(days=10),
        today + timedelta(days=3),
        state="active",
        started_at=datetime.now(UTC) - timedelta(days=10),
    )
    db_session.commit()
    url = f"/projects/FRAUD/sprints/{sprint.id}/start"
    page = clients["manage"].get(url)
    assert "Sprint 4 is still active" in text_of(page)
    assert f'href="/projects/FRAUD/sprints/{running.id}/close"' in page.get_data(as_text=True)
    refused = clients["manage"].post_form(
        url, {"start": today.isoformat(), "end": (today + timedelta(days=9)).isoformat()}
    )
    assert refused.status_code == 409
    db_session.expire_all()
    states = [s.state for s in db_session.scalars(select(Sprint).order_by(Sprint.id))]
    assert states == ["planned", "active"]


def test_only_managers_start_sprints(db_session, clients, team):
    sprint, today = _planned_later(db_session, team)
    url = f"/projects/FRAUD/sprints/{sprint.id}/start"
    assert clients["none"].get(url).status_code == 404
    assert clients["view"].post_form(url, {"start": today.isoformat()}).status_code == 403
    assert clients["edit"].post_form(url, {"start": today.isoformat()}).status_code == 403
    db_session.expire_all()
    assert db_session.get(Sprint, sprint.id).state == "planned"
