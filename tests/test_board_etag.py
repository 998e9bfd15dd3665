"""The board poll (the API's and the page's) answers 304 when nothing it shows changed, after two
queries: the signed-in account (Flask-Login) and one query of the membership and the project's
change_version. Anything that changes the answer changes the ETag."""

from __future__ import annotations

import re
from datetime import date

import pytest

from planner.domain.sprints import create_sprint
from planner.etags import etag_of
from tests import factories
from tests.test_tokens import bearer, make_token

WEAK = re.compile(r'^W/"[0-9a-f]{32}"$')


@pytest.fixture
def sprint(db_session, team):
    row = create_sprint(
        db_session,
        team.project,
        {"name": "Sprint 7", "start": "2026-03-02", "end": "2026-03-13", "goal": "Gold set"},
    )
    for title, status in (("Label batch", "todo"), ("Train baseline", "in_progress")):
        factories.story(
            db_session, team.project, team.manager, title=title, status=status, sprint=row.id
        )
    db_session.commit()
    return row


def urls(sprint) -> dict[str, str]:
    return {
        "api": f"/api/v1/sprints/{sprint.id}/board",
        "page": f"/projects/FRAUD/board/changes?sprint={sprint.id}",
    }


def join(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.mark.parametrize("kind", ["api", "page"])
def test_nothing_changed_is_304_after_two_queries(clients, sprint, count_queries, kind):
    client = clients["view"]
    url = urls(sprint)[kind]
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert WEAK.match(etag), etag
    since = first.json["now"]
    # `since` is not part of the ETag: the client keeps its last one on a 304.
    with count_queries() as counter:
        again = client.get(join(url, f"since={since}"), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert counter.count == 2, counter.statements
    account, access = counter.statements
    assert "FROM account" in account and "session_token" in account
    assert "change_version" in access and "JOIN membership" in access
    # A list of ETags, or the ETag written strong, matches too (the comparison is weak).
    listed = client.get(join(url, f"since={since}"), headers={"If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304
    strong = client.get(join(url, f"since={since}"), headers={"If-None-Match": etag[2:]})
    assert strong.status_code == 304


@pytest.mark.parametrize("kind", ["api", "page"])
def test_a_change_by_someone_else_answers_200_with_a_new_etag(clients, sprint, kind):
    watcher = clients["view"]
    url = urls(sprint)[kind]
    first = watcher.get(url)
    etag, since = first.headers["ETag"], first.json["now"]
    moved = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "status": "in_progress"}
    )
    assert moved.status_code == 200
    after = watcher.get(join(url, f"since={since}"), headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    assert [(c["number"], c["status"]) for c in after.json["changed"]] == [(1, "in_progress")]
    # The new ETag is quiet again until the next change.
    quiet = watcher.get(
        join(url, f"since={after.json['now']}"), headers={"If-None-Match": after.headers["ETag"]}
    )
    assert quiet.status_code == 304


def test_a_change_to_another_project_keeps_the_304(clients, db_session, team, sprint):
    other = factories.project(db_session, "OTHER", "Other work", owner=team.manager)
    db_session.commit()
    url = urls(sprint)["api"]
    first = clients["manage"].get(url)
    factories.story(db_session, other, team.manager, title="Elsewhere")
    db_session.commit()
    again = clients["manage"].get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_the_etag_differs_by_view_person_and_answer_but_not_by_since(clients, sprint):
    api, page = urls(sprint)["api"], urls(sprint)["page"]
    view, edit = clients["view"], clients["edit"]
    plain = view.get(api).headers["ETag"]
    assert view.get(join(api, "since=2026-03-02T09:00:00Z")).headers["ETag"] == plain
    assert view.get(join(api, "lanes=stage")).headers["ETag"] != plain
    assert (
        view.get(join(api, "lanes=stage&mine=1")).headers["ETag"]
        == (
            view.get(join(api, "mine=1&lanes=stage")).headers["ETag"]  # order aside
        )
    )
    assert edit.get(api).headers["ETag"] != plain  # drawn for another person
    assert view.get(page).headers["ETag"] != plain  # the page's answer is another one
    # Someone else's ETag is not ours: it is answered in full.
    assert view.get(api, headers={"If-None-Match": edit.get(api).headers["ETag"]}).status_code == (
        200
    )


def test_a_new_day_changes_the_etag():
    inputs = {
        "project_id": 1,
        "version": 7,
        "account_id": 3,
        "level": "view",
        "read_only": False,
        "args": [("lanes", "stage"), ("since", "2026-03-02T09:00:00Z")],
    }
    monday = etag_of("api", today=date(2026, 3, 2), **inputs)
    assert etag_of("api", today=date(2026, 3, 3), **inputs) != monday  # card ages move on
    assert etag_of("api", today=date(2026, 3, 2), **inputs) == monday
    moved_since = {**inputs, "args": [("lanes", "stage"), ("since", "2026-03-02T10:00:00Z")]}
    assert etag_of("api", today=date(2026, 3, 2), **moved_since) == monday
    assert etag_of("api", today=date(2026, 3, 2), **{**inputs, "version": 8}) != monday


def test_outsiders_bad_input_and_tokens_behave_as_before(app, clients, sprint):
    url = urls(sprint)["api"]
    etag = clients["view"].get(url).headers["ETag"]
    # A non-member is 404, whatever ETag they send.
    assert clients["none"].get(url, headers={"If-None-Match": etag}).status_code == 404
    assert (
        clients["none"].get(urls(sprint)["page"], headers={"If-None-Match": "*"}).status_code == 404
    )
    # A bad `since` is 422 even with a matching ETag.
    bad = clients["view"].get(join(url, "since=yesterday"), headers={"If-None-Match": etag})
    assert bad.status_code == 422 and "since" in bad.json["error"]["details"]
    # A read token reads the board, and gets its 304.
    token = bearer(make_token(clients["view"], scope="read"))
    api = app.test_client()
    first = api.get(url, headers=token)
    assert first.status_code == 200
    again = api.get(url, headers={**token, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert api.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 401


def test_the_page_poll_draws_cards_after_a_304(clients, sprint):
    """The slow path still has the membership's roles and everything the cards need."""
    client = clients["edit"]
    url = urls(sprint)["page"]
    first = client.get(url)
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    clients["manage"].api("PATCH", "/api/v1/stories/FRAUD-2", {"version": 1, "title": "Retrain"})
    redrawn = client.get(join(url, f"since={first.json['now']}"))
    assert redrawn.status_code == 200
    (card,) = redrawn.json["changed"]
    assert card["number"] == 2 and "Retrain" in card["html"]
