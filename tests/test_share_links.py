"""Share links open the dashboard only while their creator is an active manager of the project,
through their last day, and until revoked; their URLs come from PLANNER_BASE_URL when set."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from planner.domain.projects import update_member
from planner.models import Account, Membership, ShareLink
from planner.timeutil import local_date, utcnow
from tests import factories


def make_link(clients, **extra) -> str:
    response = clients["manage"].post_form(
        "/projects/FRAUD/share", {"label": "Steering committee", **extra}
    )
    assert response.status_code == 200
    match = re.search(r'value="(https?://[^"]+/share/[^"]+)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return match.group(1)


def path_of(url: str) -> str:
    return "/share/" + url.rsplit("/share/", 1)[1]


def test_a_link_works_while_its_creator_manages_the_project(clients, client, team):
    url = make_link(clients)
    assert client.get(path_of(url)).status_code == 200


@pytest.mark.parametrize("change", ["demoted", "deactivated", "removed"])
def test_a_link_stops_when_its_creator_no_longer_manages(clients, client, db_session, team, change):
    url = make_link(clients)
    second = factories.account(db_session, "sam@example.com", "Sam Second")
    factories.member(db_session, team.project, second, "manage")
    membership = db_session.scalar(
        select(Membership)
        .where(Membership.account_id == team.manager.id)
        .options(selectinload(Membership.role_rows))
    )
    if change == "demoted":
        update_member(db_session, team.project, membership, access="edit", roles=[])
    elif change == "deactivated":
        db_session.get(Account, team.manager.id).is_active_account = False
    else:
        db_session.delete(membership)
    db_session.commit()
    assert client.get(path_of(url)).status_code == 404
    if change == "demoted":
        # Restoring manage access brings the link back: it was never revoked.
        update_member(db_session, team.project, membership, access="manage", roles=[])
        db_session.commit()
        assert client.get(path_of(url)).status_code == 200


def test_the_share_page_says_why_a_link_stopped(app, clients, db_session, team):
    make_link(clients)
    second = factories.account(db_session, "sam@example.com", "Sam Second")
    factories.member(db_session, team.project, second, "manage")
    membership = db_session.scalar(
        select(Membership)
        .where(Membership.account_id == team.manager.id)
        .options(selectinload(Membership.role_rows))
    )
    update_member(db_session, team.project, membership, access="edit", roles=[])
    db_session.commit()
    from tests.conftest import sign_in

    page = sign_in(app, second).get("/projects/FRAUD/share").get_data(as_text=True)
    assert "stopped: creator no longer manages" in page


def test_a_link_works_through_its_last_day_and_not_after(clients, client, db_session, team):
    today = local_date(utcnow(), "UTC")
    url = make_link(clients, expires_on=today.isoformat())
    assert client.get(path_of(url)).status_code == 200
    link = db_session.scalar(select(ShareLink))
    link.expires_on = today - timedelta(days=1)
    db_session.commit()
    assert client.get(path_of(url)).status_code == 404
    page = clients["manage"].get("/projects/FRAUD/share").get_data(as_text=True)
    assert '<span class="chip">expired</span>' in page


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001-01-01", "2001-01-01 has passed: give a day from today on."),
        ("9999-12-31", "Enter a date between 2000-01-01 and 2099-12-31."),
        ("soon", "Enter a date as YYYY-MM-DD."),
    ],
)
def test_an_expiry_in_the_past_or_out_of_range_is_refused(
    clients, db_session, team, value, message
):
    response = clients["manage"].post_form(
        "/projects/FRAUD/share", {"label": "Board", "expires_on": value}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(select(ShareLink.id)) is None


def test_share_urls_are_built_from_the_configured_base_url(app, clients, team):
    app.config["BASE_URL"] = "https://planner.example.com/"
    url = make_link(clients)
    # The request came to http://localhost/: the link still points at the configured site.
    assert url.startswith("https://planner.example.com/share/")
    app.config["BASE_URL"] = None
    assert make_link(clients).startswith("http://localhost/share/")


def test_project_for_token_decides_in_one_query(app, db_session, team, count_queries):
    """Live, revoked, expired, a stopped creator, an unknown token: each answer is one query
    (or none, for a token that cannot be one)."""
    from datetime import UTC, datetime

    from planner.domain.sharing import create_share_link, project_for_token, revoke_share_link

    now = datetime(2026, 5, 4, 10, tzinfo=UTC)
    _, live = create_share_link(db_session, team.project, "Live", by_id=team.manager.id, now=now)
    revoked_link, revoked = create_share_link(
        db_session, team.project, "Revoked", by_id=team.manager.id, now=now
    )
    revoke_share_link(db_session, revoked_link, now=now)
    _, by_editor = create_share_link(
        db_session, team.project, "Made by Priya", by_id=team.editor.id, now=now
    )
    db_session.commit()
    expected = {
        live: "FRAUD",
        revoked: None,
        by_editor: None,  # Priya only edits FRAUD: her link never opens it
        "no-such-token": None,
    }
    for token, key in expected.items():
        with count_queries() as counter:
            project = project_for_token(db_session, token, now=now)
        assert (project.key if project else None) == key, token
        assert len(counter.statements) == 1, counter.statements
    with count_queries() as counter:
        assert project_for_token(db_session, "x" * 101, now=now) is None
        assert project_for_token(db_session, "tøken", now=now) is None
        assert project_for_token(db_session, "", now=now) is None
    assert counter.statements == []


def test_the_last_day_is_the_projects_local_day(db_session, team):
    """Kiritimati is UTC+14: its 2026-05-05 begins at 2026-05-04 10:00 UTC."""
    from datetime import UTC, date, datetime

    from planner.domain.sharing import create_share_link, project_for_token

    team.project.timezone = "Pacific/Kiritimati"
    _, token = create_share_link(
        db_session,
        team.project,
        "Board",
        by_id=team.manager.id,
        now=datetime(2026, 5, 4, 9, tzinfo=UTC),
        expires_on="2026-05-04",
    )
    db_session.commit()
    assert db_session.scalar(select(ShareLink.expires_on)) == date(2026, 5, 4)
    # 2026-05-04 09:59 UTC is 23:59 on the 4th in Kiritimati: the last day, still open.
    assert project_for_token(db_session, token, now=datetime(2026, 5, 4, 9, 59, tzinfo=UTC))
    # 10:00 UTC is midnight starting the 5th there: closed, though it is still the 4th in UTC.
    assert project_for_token(db_session, token, now=datetime(2026, 5, 4, 10, tzinfo=UTC)) is None
