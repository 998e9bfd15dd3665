"""Sign-in resists guessing: failed attempts are limited per account and per client address
(429 with Retry-After, even for the right password), shared across processes through Redis;
signing out ends the session on the server; signing in starts a fresh session."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import redis

import config
from planner import create_app
from tests import factories
from tests.conftest import CSRF_META, Client

RIGHT = factories.PASSWORD


def attempt(client, email: str, password: str, **kwargs):
    return client.post_form("/login", {"email": email, "password": password}, **kwargs)


def fresh(app) -> Client:
    app.test_client_class = Client
    return app.test_client()


def test_five_failures_lock_the_account_even_for_the_right_password(app, team):
    client = fresh(app)
    for _ in range(5):
        assert attempt(client, "priya@example.com", "wrong guess").status_code == 422
    response = attempt(client, "priya@example.com", RIGHT)
    assert response.status_code == 429
    # A 15-minute moving window: at most 900 seconds to wait.
    assert 0 < int(response.headers["Retry-After"]) <= 900
    page = response.get_data(as_text=True)
    assert "Too many failed sign-ins for this account; try again in 15 minutes." in page
    assert "Traceback" not in page
    # The email is compared as typed in any case.
    assert attempt(client, "PRIYA@example.com", RIGHT).status_code == 429


def test_successful_sign_ins_are_not_counted(app, team):
    for _ in range(8):
        client = fresh(app)
        assert attempt(client, "priya@example.com", RIGHT).status_code == 302


def test_a_sign_in_that_carries_changes_is_not_counted(app, team, story_one):
    """Signing in with fields kept from an ended session answers 200 (the page that sends them
    again), not a redirect: still a success."""
    for _ in range(6):
        client = fresh(app)
        carried = {
            "replay": '[["body", "Kept comment"]]',
            "replay_to": "/projects/FRAUD/stories/1/comments",
        }
        response = client.post_form(
            "/login", {"email": "priya@example.com", "password": RIGHT, **carried}
        )
        assert response.status_code == 200
        assert "Kept comment" in response.get_data(as_text=True)
    assert attempt(fresh(app), "priya@example.com", RIGHT).status_code == 302


def test_the_throttled_page_still_carries_the_kept_changes(app, team, story_one):
    client = fresh(app)
    carried = {
        "replay": '[["body", "Kappa is 0.74 <re-label>"]]',
        "replay_to": "/projects/FRAUD/stories/1/comments",
    }
    for _ in range(5):
        client.post_form("/login", {"email": "priya@example.com", "password": "no", **carried})
    response = client.post_form(
        "/login", {"email": "priya@example.com", "password": RIGHT, **carried}
    )
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Your session ended before your changes were saved." in page
    assert (
        '<input type="hidden" name="replay" value="[[&#34;body&#34;, '
        '&#34;Kappa is 0.74 &lt;re-label&gt;&#34;]]">' in page
    )
    assert '<input type="hidden" name="replay_to" value="/projects/FRAUD/stories/1/comments">' in (
        page
    )


def test_forms_refused_before_the_password_is_checked_are_not_counted(app, team):
    client = fresh(app)
    for _ in range(6):
        assert attempt(client, "priya@example.com", "").status_code == 422
    assert attempt(client, "priya@example.com", RIGHT).status_code == 302


def test_the_page_says_how_long_is_left_to_wait(app, team, monkeypatch):
    client = fresh(app)
    for _ in range(5):
        attempt(client, "priya@example.com", "wrong guess")
    # Ten and a half minutes later the first failure leaves the 15-minute window in 4.5 minutes.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 630)
    response = attempt(client, "priya@example.com", RIGHT)
    assert response.status_code == 429
    assert 240 <= int(response.headers["Retry-After"]) <= 271
    assert "try again in 5 minutes." in response.get_data(as_text=True)


def test_the_account_limit_does_not_lock_other_accounts(app, team):
    client = fresh(app)
    for _ in range(5):
        attempt(client, "priya@example.com", "wrong guess")
    assert attempt(fresh(app), "maya@example.com", RIGHT).status_code == 302


def test_the_address_limit_stops_guessing_across_many_accounts(app, team):
    app.config["LOGIN_LIMIT_ADDRESS"] = "6 per 15 minutes"
    client = fresh(app)
    for n in range(6):
        assert attempt(client, f"nobody{n}@example.com", "guess").status_code == 422
    blocked = attempt(client, "maya@example.com", RIGHT)
    assert blocked.status_code == 429
    assert "Too many failed sign-ins from your address; try again in 15 minutes." in (
        blocked.get_data(as_text=True)
    )
    # Another address is not affected.
    other = fresh(app)
    response = attempt(other, "maya@example.com", RIGHT, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 302


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(database_url, _schema, tmp_path):
    def make(hops: int):
        app = create_app(
            "testing",
            DATABASE_URL=database_url,
            INSTANCE_PATH=str(tmp_path / f"i{hops}"),
            TRUSTED_PROXIES=hops,
            LOGIN_LIMIT_ADDRESS="2 per 15 minutes",
        )
        return app

    untrusted = fresh(make(0))
    for n in range(2):
        attempt(untrusted, f"a{n}@example.com", "x", headers={"X-Forwarded-For": f"10.1.1.{n}"})
    # Without a trusted proxy, X-Forwarded-For is ignored: both came from the same address.
    assert attempt(untrusted, "b@example.com", "x").status_code == 429

    trusted = fresh(make(1))
    for n in range(3):
        response = attempt(
            trusted, f"c{n}@example.com", "x", headers={"X-Forwarded-For": f"10.2.2.{n}"}
        )
        assert response.status_code == 422  # three different clients, one attempt each


def test_workers_share_the_count_through_redis(database_url, _schema, tmp_path, team):
    """Two apps (two gunicorn workers, or two hosts) with the same Redis see one count."""
    prefix = f"planner-test-{uuid.uuid4().hex}"
    url = "redis://127.0.0.1:6379/0"
    redis.Redis.from_url(url).ping()  # a real Redis is required, as CI provides
    workers = [
        create_app(
            "testing",
            DATABASE_URL=database_url,
            INSTANCE_PATH=str(tmp_path / f"w{n}"),
            RATELIMIT_STORAGE_URI=url,
            RATELIMIT_KEY_PREFIX=prefix,
        )
        for n in (1, 2)
    ]
    try:
        for n in range(5):
            client = fresh(workers[n % 2])
            assert attempt(client, "priya@example.com", "wrong").status_code == 422
        assert attempt(fresh(workers[0]), "priya@example.com", RIGHT).status_code == 429
        assert attempt(fresh(workers[1]), "priya@example.com", RIGHT).status_code == 429
    finally:
        connection = redis.Redis.from_url(url)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


def test_without_redis_each_process_counts_alone(database_url, _schema, tmp_path, team):
    apps = [
        create_app("testing", DATABASE_URL=database_url, INSTANCE_PATH=str(tmp_path / f"m{n}"))
        for n in (1, 2)
    ]
    for _ in range(5):
        attempt(fresh(apps[0]), "priya@example.com", "wrong")
    assert attempt(fresh(apps[0]), "priya@example.com", RIGHT).status_code == 429
    assert attempt(fresh(apps[1]), "priya@example.com", RIGHT).status_code == 302


# --- settings ---------------------------------------------------------------------------------


def test_the_settings_come_from_the_environment(monkeypatch):
    defaults = config.load("testing")
    assert defaults["RATELIMIT_STORAGE_URI"] is None  # in memory
    assert defaults["TRUSTED_PROXIES"] == 0  # X-Forwarded-For ignored
    assert defaults["BASE_URL"] is None  # links from the request
    assert defaults["LOGIN_LIMIT_ACCOUNT"] == "5 per 15 minutes"
    assert defaults["LOGIN_LIMIT_ADDRESS"] == "30 per 15 minutes"
    monkeypatch.setenv("PLANNER_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("PLANNER_LOGIN_LIMIT_ACCOUNT", "3 per 10 minutes")
    monkeypatch.setenv("PLANNER_LOGIN_LIMIT_ADDRESS", "50 per hour")
    monkeypatch.setenv("PLANNER_TRUSTED_PROXIES", "2")
    monkeypatch.setenv("PLANNER_BASE_URL", "https://planner.example.com")
    settings = config.load("testing")
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    assert settings["LOGIN_LIMIT_ACCOUNT"] == "3 per 10 minutes"
    assert settings["LOGIN_LIMIT_ADDRESS"] == "50 per hour"
    assert settings["TRUSTED_PROXIES"] == 2
    assert settings["BASE_URL"] == "https://planner.example.com"


@pytest.mark.parametrize("value", ["one", "-1"])
def test_a_wrong_number_of_proxies_is_refused(monkeypatch, value):
    monkeypatch.setenv("PLANNER_TRUSTED_PROXIES", value)
    with pytest.raises(RuntimeError, match="PLANNER_TRUSTED_PROXIES is a number of proxies"):
        config.load("testing")


@pytest.mark.parametrize("value", ["five a minute", "0 per 15 minutes", ""])
def test_a_limit_that_cannot_be_read_stops_the_start(database_url, _schema, tmp_path, value):
    """Flask-Limiter itself only logs a limit it cannot read, and then does not limit at all."""
    with pytest.raises(RuntimeError, match="PLANNER_LOGIN_LIMIT_ADDRESS=.* is not a limit like"):
        create_app(
            "testing",
            DATABASE_URL=database_url,
            INSTANCE_PATH=str(tmp_path / "bad"),
            LOGIN_LIMIT_ADDRESS=value,
        )


# --- sessions ---------------------------------------------------------------------------------


def cookies_of(client) -> dict[str, str]:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


@pytest.mark.parametrize("remember", [False, True])
def test_a_copied_cookie_stops_working_after_sign_out(app, team, remember):
    client = fresh(app)
    form = {"email": "priya@example.com", "password": RIGHT}
    if remember:
        form["remember"] = "y"
    assert client.post_form("/login", form).status_code == 302
    copied = cookies_of(client)
    assert ("remember_token" in copied) is remember
    thief = fresh(app)
    for key, value in copied.items():
        thief.set_cookie(key, value)
    assert thief.get("/").status_code == 200  # the copy works while the owner is signed in
    client._csrf = None
    assert client.post_form("/logout").status_code == 302
    assert thief.get("/").status_code == 302  # signed out on the server: back to the sign-in
    if remember:
        # Without the session cookie, the remember cookie alone does not sign in either.
        only_remember = fresh(app)
        only_remember.set_cookie("remember_token", copied["remember_token"])
        assert only_remember.get("/").status_code == 302


def test_signing_in_starts_a_fresh_session_with_a_new_csrf_token(app, team):
    client = fresh(app)
    page = client.get("/login").get_data(as_text=True)
    before = CSRF_META.search(page).group(1)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    client.post(
        "/login", data={"csrf_token": before, "email": "priya@example.com", "password": RIGHT}
    )
    with client.session_transaction() as session:
        assert "planted" not in session
    after = CSRF_META.search(client.get("/").get_data(as_text=True)).group(1)
    assert after != before
    # The token from before sign-in no longer works for a write.
    response = client.post("/logout", data={"csrf_token": before})
    assert response.status_code == 400
    assert re.search(r"security token", response.get_data(as_text=True))
