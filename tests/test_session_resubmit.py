"""Typed text survives the end of a session: a page form sent signed-out, or with a security
token from an earlier session, comes back after sign-in on a page that sends it again; and a
`next` that only accepts POST never lands on a 405."""

from __future__ import annotations

import html
import re

from planner.models import Account, Story
from planner.models.account import new_session_token
from tests import factories
from tests.conftest import CSRF_META, Client, sign_in

EDIT = {
    "title": "Label the March batch",
    "description": "Kappa must reach 0.8 <before> we train & ship.\nSecond line.",
    "type": "feature",
    "status": "todo",
    "points": "5",
    "version": "1",
}


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return html.unescape(match.group(1))


def end_session_on_the_server(db_session, account) -> None:
    db_session.get(Account, account.id).session_token = new_session_token()
    db_session.commit()


def test_an_edit_sent_after_the_session_ended_is_saved_after_signing_in(
    app, db_session, team, story_one
):
    client = sign_in(app, team.editor)
    token = CSRF_META.search(client.get("/projects/FRAUD/stories/1").get_data(as_text=True))
    end_session_on_the_server(db_session, team.editor)  # e.g. signed out in another tab
    response = client.post("/projects/FRAUD/stories/1", data={"csrf_token": token.group(1), **EDIT})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Your session ended before your changes were saved." in page
    assert hidden(page, "replay_to") == "/projects/FRAUD/stories/1"
    db_session.expire_all()
    assert db_session.get(Story, story_one.id).title == "Original"

    signed_in = client.post(
        "/login",
        data={
            "csrf_token": CSRF_META.search(page).group(1),
            "email": "priya@example.com",
            "password": factories.PASSWORD,
            "replay": hidden(page, "replay"),
            "replay_to": hidden(page, "replay_to"),
        },
    )
    assert signed_in.status_code == 200
    again = signed_in.get_data(as_text=True)
    assert "Send your changes again" in again
    # The text is shown as text, escaped, and carried in hidden fields.
    assert "Kappa must reach 0.8 &lt;before&gt; we train &amp; ship." in again
    assert hidden(again, "title") == "Label the March batch"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', again))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    saved = client.post("/projects/FRAUD/stories/1", data=fields)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-3000:]
    db_session.expire_all()
    story = db_session.get(Story, story_one.id)
    assert (story.title, story.points) == ("Label the March batch", 5)
    assert story.description.replace("\r\n", "\n") == EDIT["description"]


def test_a_form_from_an_earlier_session_shows_the_text_instead_of_losing_it(
    app, db_session, team, story_one
):
    old = sign_in(app, team.editor)
    stale_token = CSRF_META.search(old.get("/projects/FRAUD").get_data(as_text=True)).group(1)
    fresh = sign_in(app, team.editor)  # signed in again elsewhere: another session
    fresh.get("/projects/FRAUD")
    response = fresh.post(
        "/projects/FRAUD/stories/1/comments",
        data={"csrf_token": stale_token, "body": "Batch 2 kappa is 0.74 – we need a re-label."},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "out of date" in page
    assert "Batch 2 kappa is 0.74 – we need a re-label." in page
    assert 'action="/projects/FRAUD/stories/1/comments"' in page


def test_a_form_sent_with_no_session_at_all_goes_through_sign_in(app, team, story_one):
    app.test_client_class = Client
    stranger = app.test_client()
    response = stranger.post(
        "/projects/FRAUD/stories/1/comments", data={"csrf_token": "x", "body": "Kept text"}
    )
    assert response.status_code == 401
    assert "Kept text" in hidden(response.get_data(as_text=True), "replay")


def test_passwords_are_never_carried(app, db_session, team):
    admin = factories.account(db_session, "root@example.com", "Root", admin=True)
    db_session.commit()
    client = sign_in(app, admin)
    token = CSRF_META.search(client.get("/admin/users").get_data(as_text=True)).group(1)
    end_session_on_the_server(db_session, admin)
    response = client.post(
        f"/admin/users/{team.editor.id}",
        data={"csrf_token": token, "action": "password", "password": "secret-to-keep"},
    )
    assert response.status_code == 401
    assert "secret-to-keep" not in response.get_data(as_text=True)


def test_a_next_that_only_accepts_post_lands_on_the_projects_page(client, team, story_one):
    page = client.get("/login?next=/projects/FRAUD/backlog/rank").get_data(as_text=True)
    token = CSRF_META.search(page).group(1)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "maya@example.com",
            "password": factories.PASSWORD,
            "next": "/projects/FRAUD/backlog/rank",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # A page that answers GET is still honoured.
    client._csrf = None
    client.post_form("/logout")
    page = client.get("/login?next=/projects/FRAUD/board").get_data(as_text=True)
    response = client.post(
        "/login",
        data={
            "csrf_token": CSRF_META.search(page).group(1),
            "email": "maya@example.com",
            "password": factories.PASSWORD,
            "next": "/projects/FRAUD/board",
        },
    )
    assert response.headers["Location"] == "/projects/FRAUD/board"
