"""Sign-in, sign-out, sessions and the safety of redirects."""

from __future__ import annotations

import pytest

from planner.models import Account
from tests import factories
from tests.conftest import sign_in


def login(client, email, password, next_=""):
    response = client.post_form("/login", {"email": email, "password": password, "next": next_})
    # Signing in starts a fresh session with a new CSRF token; pages read the new one.
    client._csrf = None
    return response


def test_sign_in_lands_on_the_projects_page(client, team):
    response = login(client, "priya@example.com", factories.PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Card fraud detection" in page


def test_email_is_matched_in_any_case(client, team):
    response = login(client, "  PRIYA@Example.com ", factories.PASSWORD)
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("priya@example.com", "wrong password"), ("nobody@example.com", factories.PASSWORD)],
)
def test_a_wrong_password_or_unknown_email_gets_the_same_message(client, team, email, password):
    response = login(client, email, password)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That email and password do not match an account." in page
    assert f'value="{email}"' in page  # the email is kept
    assert client.get("/").status_code == 302  # still signed out


def test_an_empty_form_says_what_is_missing(client, team):
    response = login(client, "", "")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter your email address." in page and "Enter your password." in page


def test_an_account_without_a_password_cannot_sign_in(client, db_session, team):
    factories.account(db_session, "imported@example.com", "Imported", password=None)
    db_session.commit()
    assert login(client, "imported@example.com", "").status_code == 422
    assert login(client, "imported@example.com", "anything at all").status_code == 422


def test_a_deactivated_account_cannot_sign_in_and_its_sessions_end(app, db_session, team):
    signed_in = sign_in(app, team.editor)
    assert signed_in.get("/").status_code == 200
    account = db_session.get(Account, team.editor.id)
    account.is_active_account = False
    db_session.commit()
    assert signed_in.get("/").status_code == 302
    fresh = app.test_client()
    assert login(fresh, "priya@example.com", factories.PASSWORD).status_code == 422


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/projects/FRAUD", "/projects/FRAUD"),
        ("/projects/FRAUD?x=1", "/projects/FRAUD?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("projects", "/"),
    ],
)
def test_after_sign_in_only_local_paths_are_followed(client, team, target, expected):
    response = login(client, "priya@example.com", factories.PASSWORD, next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_a_page_that_needs_sign_in_sends_you_to_it_and_back(client, team):
    response = client.get("/projects/FRAUD")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/projects/FRAUD")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/projects/FRAUD"' in page


def test_session_cookie_is_httponly_and_samesite_lax(client, team):
    response = login(client, "priya@example.com", factories.PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    from planner import create_app

    monkeypatch.setenv("PLANNER_SECRET_KEY", "x" * 64)
    app = create_app(
        "production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite3'}",
        INSTANCE_PATH=str(tmp_path),
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_sign_out_needs_a_post_with_the_csrf_token(client, team):
    login(client, "priya@example.com", factories.PASSWORD)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    assert client.get("/").status_code == 200  # still signed in
    response = client.post_form("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_login_post_without_csrf_token_is_refused(client, team):
    response = client.post(
        "/login", data={"email": "priya@example.com", "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_changing_the_password_signs_out_other_sessions(app, client, team):
    other_device = sign_in(app, team.editor)
    login(client, "priya@example.com", factories.PASSWORD)
    response = client.post_form(
        "/account",
        {
            "current": factories.PASSWORD,
            "new": "a much newer password",
            "confirm": "a much newer password",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other_device.get("/").status_code == 302  # the other one is signed out
    fresh = app.test_client()
    assert login(fresh, "priya@example.com", "a much newer password").status_code == 302


def test_a_wrong_current_password_changes_nothing(app, client, team):
    login(client, "priya@example.com", factories.PASSWORD)
    response = client.post_form(
        "/account", {"current": "not it", "new": "another password", "confirm": "another password"}
    )
    assert response.status_code == 422
    assert "That is not your current password." in response.get_data(as_text=True)
    assert login(app.test_client(), "priya@example.com", factories.PASSWORD).status_code == 302


def test_an_unknown_session_token_is_simply_signed_out(app, team):
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = "not-a-token"
    assert client.get("/").status_code == 302


def test_signed_in_answers_are_not_stored_but_assets_stay_cacheable(clients, story_one):
    person = clients["edit"]
    for url in ("/", "/account", "/projects/FRAUD/stories/1", "/api/v1/projects/FRAUD"):
        assert person.get(url).headers["Cache-Control"] == "no-store", url
    # The same for everyone: a signed-in person's browser may keep them.
    for url, max_age in (
        ("/static/css/planner.css", None),
        ("/assets/plotly.min.js", "max-age=86400"),
        ("/assets/plotly.css", "max-age=86400"),
    ):
        response = person.get(url)
        assert response.status_code == 200, url
        cache_control = response.headers.get("Cache-Control", "")
        assert "no-store" not in cache_control, url
        if max_age:
            assert max_age in cache_control, url
