"""Kept pages (planner/pagecache.py, docs/rules.md "Kept pages"): the board, backlog, dashboard
and reports are answered again from a kept copy after the account and the access check, and never
once anything they show has changed: a write by anyone, a renamed member, the person's own unread
count, their access, a flashed message, the minute a "minutes ago" was counted in, or what MLflow
says once planner's reading of it has run out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from mlflow import MlflowClient
from sqlalchemy import select

from planner import pagecache
from planner.mlflow_reader import clear_cache
from planner.models import Account, Membership, Notification, Risk, ShareLink, Story
from tests import factories
from tests.test_metric_trend_web import Seeded

PAGES = ("board", "backlog", "dashboard", "reports")
TOKEN = re.compile(r'(name="csrf_token" value="|name="csrf-token" content=")([^"]+)"')


def tokens_of(page: str) -> set[str]:
    return {match.group(2) for match in TOKEN.finditer(page)}


def without_tokens(page: str) -> str:
    return TOKEN.sub(r'\1TOKEN"', page)


def statements_of(count_queries, client, url):
    with count_queries(kept=True) as counter:
        response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return counter.statements, response.get_data(as_text=True)


@pytest.mark.parametrize("page", PAGES)
def test_a_kept_page_costs_the_account_and_the_access_check(
    clients, story_one, count_queries, page
):
    url = f"/projects/FRAUD/{page}"
    drawn, first = statements_of(count_queries, clients["edit"], url)
    kept, again = statements_of(count_queries, clients["edit"], url)
    # 1 the account with its unread count; 2 the project with the membership and its roles
    assert len(kept) == 2, kept
    assert len(drawn) > 2
    assert "notification" in kept[0] and "JOIN membership_role" in kept[1]
    assert without_tokens(again) == without_tokens(first)
    assert tokens_of(again) and "planner-csrf-" not in again


def test_the_token_in_a_kept_page_is_the_readers_own(app, clients, team, story_one):
    from tests.conftest import sign_in

    url = "/projects/FRAUD/backlog"
    clients["edit"].get(url)  # kept from Priya's first session
    other = sign_in(app, team.editor)  # Priya again, in another browser
    page = other.get(url).get_data(as_text=True)
    (token,) = tokens_of(page)
    response = other.post(
        url,
        data={
            "csrf_token": token,
            "title": "Added from a kept page",
            "type": "feature",
            "points": "2",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "Added from a kept page" in other.get(url).get_data(as_text=True)


def test_a_change_by_someone_else_shows_at_once(clients, story_one, db_session):
    url = "/projects/FRAUD/board"
    assert "Original" in clients["view"].get(url).get_data(as_text=True)
    api = clients["edit"]
    version = api.get("/api/v1/stories/FRAUD-1").get_json()["version"]
    response = api.api("PATCH", "/api/v1/stories/FRAUD-1", {"version": version, "title": "Renamed"})
    assert response.status_code == 200
    page = clients["view"].get(url).get_data(as_text=True)
    assert "Renamed" in page and "Original" not in page
    # and a write made straight through the ORM, as a script or the worker would
    db_session.expire_all()
    story = db_session.scalar(select(Story).where(Story.id == story_one.id))
    story.title = "Renamed again"
    db_session.commit()
    assert "Renamed again" in clients["view"].get(url).get_data(as_text=True)


def assert_rename_shows(db_session, team, client, url: str) -> None:
    """`url` names Priya; once she renames herself, it shows the new name at once."""
    assert "Priya Raman" in client.get(url).get_data(as_text=True)
    account = db_session.get(Account, team.editor.id)
    account.name = "Priya Raman-Okoro"
    db_session.commit()
    assert "Priya Raman-Okoro" in client.get(url).get_data(as_text=True)


def test_a_renamed_member_shows_at_once(clients, story_one, db_session, team):
    assert_rename_shows(db_session, team, clients["view"], "/projects/FRAUD/board")


def test_each_person_and_level_has_a_page_of_their_own(clients, story_one):
    url = "/projects/FRAUD/board"
    for _ in range(2):  # drawn, then kept
        assert 'data-editable="yes"' in clients["edit"].get(url).get_data(as_text=True)
        assert 'data-editable="no"' in clients["view"].get(url).get_data(as_text=True)
        assert clients["none"].get(url).status_code == 404


def test_the_bell_shows_a_new_notification(clients, story_one, db_session, team):
    url = "/projects/FRAUD/dashboard"
    assert 'class="bell-count"' not in clients["edit"].get(url).get_data(as_text=True)
    db_session.add(
        Notification(
            account_id=team.editor.id,
            project_id=team.project.id,
            kind="assigned",
            text="FRAUD-1 is yours",
            link="/",
            created_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        )
    )
    db_session.commit()
    assert '<span class="bell-count">1</span>' in clients["edit"].get(url).get_data(as_text=True)


def test_a_flashed_message_shows_once_on_a_kept_page(clients, story_one):
    url = "/projects/FRAUD/backlog"
    client = clients["manage"]
    client.get(url)
    client.get(url)  # kept
    response = client.post_form("/projects/FRAUD/backlog/move", {}, follow_redirects=True)
    assert "Select the stories to move first." in response.get_data(as_text=True)
    assert "Select the stories to move first." not in client.get(url).get_data(as_text=True)


def test_a_page_with_a_minutes_ago_is_kept_until_its_minute_ends(
    app, clients, story_one, count_queries, monkeypatch
):
    from planner.timeutil import local_start_of, utcnow

    client = clients["edit"]
    dashboard, board = "/projects/FRAUD/dashboard", "/projects/FRAUD/board"
    before = pagecache.clock()
    first = client.get(dashboard).get_data(as_text=True)
    after = pagecache.clock()
    assert "Last change" in first and "ago" in first  # counted against page_now()
    client.get(board)  # the board says no "ago"
    with app.app_context():
        expires = {key[0]: kept.expires for key, kept in pagecache._store().pages.items()}
    # The dashboard lives until the end of a minute, the board until FRAUD's midnight (UTC).
    # (the end of the minute it was drawn in: a minute may end while the test runs)
    assert expires["dashboard.index"] % 60 == 0
    assert before < expires["dashboard.index"] <= after + 60
    tomorrow = utcnow().date() + timedelta(days=1)
    assert expires["board.index"] == local_start_of(tomorrow, "UTC").timestamp()
    assert expires["board.index"] >= expires["dashboard.index"]
    # Until then each is answered kept; from then on, drawn anew.
    url_name = {dashboard: "dashboard.index", board: "board.index"}
    for url in (dashboard, board):
        monkeypatch.setattr(pagecache, "clock", lambda url=url: expires[url_name[url]] - 0.001)
        kept, _ = statements_of(count_queries, client, url)
        assert len(kept) == 2
        monkeypatch.setattr(pagecache, "clock", lambda url=url: expires[url_name[url]])
        redrawn, _ = statements_of(count_queries, client, url)
        assert len(redrawn) > 3


def test_no_kept_pages_when_turned_off(app, clients, story_one, count_queries):
    app.config["PAGE_CACHE_MB"] = 0
    url = "/projects/FRAUD/board"
    clients["edit"].get(url)  # the worker's copy of the context (planner.domain.context)
    first, _ = statements_of(count_queries, clients["edit"], url)
    second, _ = statements_of(count_queries, clients["edit"], url)
    assert len(second) == len(first) > 3


def test_the_store_drops_the_least_recently_used_pages_past_its_size():
    # A text of 1,000 ASCII characters takes 1,049 bytes in CPython (49 of them its header).
    store = pagecache._Store()
    limit = 4 * 1049  # four such pages; one page may take at most a quarter of the store
    for name in "abcd":
        store.put((name,), pagecache._Kept(name * 1000, float("inf")), limit)
    assert store.size == 4196
    assert store.get(("a",), 0.0).body == "a" * 1000  # a is now the most recently used
    store.put(("e",), pagecache._Kept("e" * 1000, float("inf")), limit)
    assert store.get(("b",), 0.0) is None  # b went first
    assert [store.get((n,), 0.0) is not None for n in "acde"] == [True] * 4
    assert store.size == 4196
    store.put(("huge",), pagecache._Kept("h" * 1001, float("inf")), limit)  # 1,050 bytes
    assert store.get(("huge",), 0.0) is None and store.size == 4196
    store.put(("old",), pagecache._Kept("o", 10.0), limit)
    assert store.get(("old",), 9.9) is not None and store.get(("old",), 10.0) is None


def test_a_page_is_counted_at_what_it_takes_in_memory():
    # One "–" (U+2013) makes CPython keep every character of the text in two bytes.
    page = pagecache._Kept("a" * 999 + "–", float("inf"))
    assert page.size > 2000
    assert pagecache._Kept("a" * 1000, float("inf")).size < 1100


def test_a_risk_owner_who_left_is_renamed_at_once(clients, story_one, db_session, team):
    # Priya owns risk 1, then leaves FRAUD: the dashboard still names her as its owner.
    risk = db_session.scalar(select(Risk).where(Risk.project_id == team.project.id))
    risk.owner_id = team.editor.id
    db_session.commit()
    membership = db_session.scalar(
        select(Membership).where(
            Membership.project_id == team.project.id, Membership.account_id == team.editor.id
        )
    )
    db_session.delete(membership)
    db_session.commit()
    assert_rename_shows(db_session, team, clients["manage"], "/projects/FRAUD/dashboard")


def test_a_dashboard_with_mlflow_details_lives_no_longer_than_they_are_kept(
    clients, db_session, team, mlflow_store, count_queries, monkeypatch
):
    seeded = Seeded(db_session, team, mlflow_store)
    seeded.four_runs()
    seeded.two_sprints()
    url = "/projects/FRAUD/dashboard"
    client = clients["view"]
    assert "0.82" in client.get(url).get_data(as_text=True)
    kept, _ = statements_of(count_queries, client, url)
    assert len(kept) == 2
    # MLflow changes and planner writes nothing. planner keeps what it read of MLflow for 60 s
    # (MLFLOW_CACHE_SECONDS), and the page with it: within them the page says 0.82 still...
    mlflow = MlflowClient(mlflow_store.uri)
    (run,) = [r for r in mlflow.search_runs([seeded.experiment]) if r.info.run_name == "r-082"]
    mlflow.log_metric(run.info.run_id, "val_recall", 0.84)
    assert "0.84" not in client.get(url).get_data(as_text=True)
    # ...and once they are over (the reading forgotten, the clock 61 s on), it says 0.84.
    clear_cache()
    later = pagecache.clock() + 61
    monkeypatch.setattr(pagecache, "clock", lambda: later)
    assert "0.84" in client.get(url).get_data(as_text=True)


def test_a_board_showing_a_story_of_another_project_is_not_kept(
    clients, story_one, db_session, team, count_queries
):
    from planner.domain.dependencies import add_blocker

    ops = factories.project(db_session, "OPS", "Platform", owner=team.manager)
    blocker = factories.story(db_session, ops, team.manager, title="Feature store up")
    add_blocker(
        db_session, story_one, blocker, by=team.manager, now=datetime(2026, 3, 2, tzinfo=UTC)
    )
    db_session.commit()
    url = "/projects/FRAUD/board"
    # Priya is not in OPS: the blocker shows without its key...
    assert "OPS-1" not in clients["edit"].get(url).get_data(as_text=True)
    again, _ = statements_of(count_queries, clients["edit"], url)
    assert len(again) > 3  # drawn again: whether she may see OPS-1 is OPS's to say
    # ...and once she joins OPS (a write to OPS only), FRAUD's board names it.
    factories.member(db_session, ops, team.editor, "view")
    db_session.commit()
    assert "OPS-1" in clients["edit"].get(url).get_data(as_text=True)


def test_a_share_links_dashboard_is_kept_and_its_link_checked_every_time(
    clients, client, story_one, db_session, team, count_queries
):
    from tests.test_share_links import make_link, path_of

    url = path_of(make_link(clients))
    first = client.get(url)
    with count_queries(kept=True) as counter:
        again = client.get(url)
    # The link's check, nothing else: no one is signed in.
    assert len(counter.statements) == 1 and "share_link" in counter.statements[0]
    assert without_tokens(again.get_data(as_text=True)) == without_tokens(
        first.get_data(as_text=True)
    )
    for response in (first, again):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Robots-Tag"] == "noindex"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    # Whatever query string a holder of the link adds, it is the same kept page.
    with count_queries(kept=True) as counter:
        varied = client.get(url + "?n=1")
    assert len(counter.statements) == 1 and varied.status_code == 200
    # The team's change shows at once.
    risk = db_session.scalar(select(Risk).where(Risk.project_id == team.project.id))
    risk.title = "Chargeback labels arrive six weeks late"
    db_session.commit()
    assert "Chargeback labels arrive six weeks late" in client.get(url).get_data(as_text=True)
    # A revoked link opens nothing, kept page or not.
    link = db_session.scalar(select(ShareLink).where(ShareLink.project_id == team.project.id))
    link.revoked_at = datetime.now(UTC)
    db_session.commit()
    assert client.get(url).status_code == 404
