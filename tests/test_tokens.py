"""Personal access tokens: made on the account page or with the CLI, shown once, stored as a
digest; they act as their owner and never more; refused at once when revoked, expired or when the
owner is deactivated; no CSRF header with a token; limited per token."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from planner.domain.accounts import set_active
from planner.models import ApiToken, Story
from tests import factories

CREATED = re.compile(r'class="token-secret" type="text" readonly value="(plnr_[A-Za-z0-9_-]+)"')


def make_token(client, name="training pipeline", scope="write", expires_on="") -> str:
    page = client.post_form(
        "/account/tokens", {"name": name, "scope": scope, "expires_on": expires_on}
    )
    assert page.status_code == 201, page.get_data(as_text=True)[:500]
    (secret,) = CREATED.findall(page.get_data(as_text=True))
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def anonymous(app):
    """A client with no session at all, as a script is."""
    return app.test_client()


def test_a_token_is_shown_once_and_only_its_digest_is_kept(clients, db_session, team):
    secret = make_token(clients["edit"])
    assert secret.startswith("plnr_") and len(secret) > 40
    row = db_session.scalar(select(ApiToken))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.prefix == secret[:12] and row.scope == "write" and row.account_id == team.editor.id
    again = clients["edit"].get("/account").get_data(as_text=True)
    assert secret not in again and f"{secret[:12]}…" in again  # listed by how it starts
    assert "training pipeline" in again


def test_a_token_reads_and_writes_as_its_owner_without_a_csrf_header(
    anonymous, clients, db_session, team, story_one_linked
):
    secret = make_token(clients["edit"])
    me = anonymous.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert (me.json["email"], me.json["token"]["name"], me.json["token"]["scope"]) == (
        "priya@example.com",
        "training pipeline",
        "write",
    )
    moved = anonymous.patch(
        "/api/v1/stories/FRAUD-1", json={"version": 1, "status": "review"}, headers=bearer(secret)
    )
    assert moved.status_code == 200 and moved.json["status"] == "review"
    db_session.expire_all()
    assert db_session.get(Story, 1).status == "review"
    assert db_session.scalar(select(ApiToken)).last_used_at is not None
    # A stale version is refused with the other person's change, as for the board.
    stale = anonymous.patch(
        "/api/v1/stories/FRAUD-1", json={"version": 1, "status": "done"}, headers=bearer(secret)
    )
    assert stale.status_code == 409
    # The session still needs its CSRF header for the same write.
    no_header = clients["edit"].patch("/api/v1/stories/FRAUD-1", json={"version": 2})
    assert no_header.status_code == 400


def test_a_token_never_has_more_access_than_its_owner(anonymous, clients, story_one_linked):
    editor = make_token(clients["edit"])
    forecast = anonymous.post(
        "/api/v1/milestones/1/forecasts",
        json={"reported_on": "2026-03-04", "forecast": "2026-04-30"},
        headers=bearer(editor),
    )
    assert forecast.status_code == 403  # forecasts need manage; Priya has edit
    outsider = make_token(clients["none"])
    assert anonymous.get("/api/v1/projects/FRAUD", headers=bearer(outsider)).status_code == 404


def test_a_read_token_reads_and_is_refused_every_write(anonymous, app, clients, story_one_linked):
    secret = make_token(clients["manage"], scope="read")
    assert anonymous.get("/api/v1/projects/FRAUD", headers=bearer(secret)).status_code == 200
    refused = anonymous.patch(
        "/api/v1/stories/FRAUD-1", json={"version": 1, "status": "review"}, headers=bearer(secret)
    )
    assert refused.status_code == 403
    assert "read-only" in refused.json["error"]["message"]
    # Every write route of the API, with this manager's read token: never carried out.
    ids = {
        "key": "FRAUD",
        "story_key": "FRAUD-1",
        "sprint_id": 1,
        "milestone_id": 1,
        "comment_id": 1,
        "epic_key": "E1",
        "risk_id": 1,
        "email": "priya@example.com",
        "stage_key": "modeling",
        "link_id": 1,
        "webhook_id": 1,
        "delivery_id": 1,
        "blocker_key": "FRAUD-2",
        "item_id": 1,
        "gate_id": 1,
        "criterion_id": 1,
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<{name}>", str(ids[name]))
                url = re.sub(rf"<\w+:{name}>", str(ids[name]), url)
            answer = anonymous.open(url, method=method, json={}, headers=bearer(secret))
            assert answer.status_code == 403, (method, url, answer.status_code)


@pytest.mark.parametrize(
    "header, reason",
    [
        ("Bearer plnr_not-a-real-token", "not known"),
        ("Bearer ", "Send the token as Authorization: Bearer"),
        ("Basic bWF5YTpzZWNyZXQ=", "Send the token as Authorization: Bearer"),
    ],
)
def test_a_bad_token_is_401_in_the_json_shape_with_www_authenticate(
    anonymous, clients, header, reason
):
    answer = anonymous.get("/api/v1/me", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json["error"]["code"] == "invalid_token"
    assert reason in answer.json["error"]["message"]
    # A signed-in session does not rescue a request that sends a bad token.
    with_session = clients["edit"].get("/api/v1/me", headers={"Authorization": header})
    assert with_session.status_code == 401


def test_revoking_stops_a_token_at_once(anonymous, clients, db_session):
    secret = make_token(clients["edit"])
    assert anonymous.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    token_id = db_session.scalar(select(ApiToken.id))
    revoked = clients["edit"].post_form(f"/account/tokens/{token_id}/revoke", {})
    assert revoked.status_code == 302
    answer = anonymous.get("/api/v1/me", headers=bearer(secret))
    assert answer.status_code == 401 and "revoked" in answer.json["error"]["message"]
    # Someone else's token is not found, and revoking needs the CSRF token like any page write.
    assert clients["manage"].post_form(f"/account/tokens/{token_id}/revoke", {}).status_code == 404
    assert clients["edit"].post(f"/account/tokens/{token_id}/revoke").status_code == 400


def test_an_expired_token_and_a_deactivated_owner_are_refused(anonymous, clients, db_session, team):
    secret = make_token(clients["edit"], expires_on=datetime.now(UTC).date().isoformat())
    row = db_session.scalar(select(ApiToken))
    # It works through its last day (UTC): it expires at the next midnight.
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert row.expires_at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)
    assert anonymous.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.commit()
    expired = anonymous.get("/api/v1/me", headers=bearer(secret))
    assert expired.status_code == 401 and "expired" in expired.json["error"]["message"]

    other = make_token(clients["edit"], name="notebook")
    admin = factories.account(db_session, "root@example.com", "Root", admin=True)
    set_active(db_session, db_session.merge(team.editor), False, by=admin)
    db_session.commit()
    gone = anonymous.get("/api/v1/me", headers=bearer(other))
    assert gone.status_code == 401 and "deactivated" in gone.json["error"]["message"]


def test_bad_token_forms_say_what_and_change_nothing(clients, db_session):
    page = clients["edit"].post_form(
        "/account/tokens", {"name": " ", "scope": "admin", "expires_on": "2020-01-01"}
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "Name the token" in html
    assert "The scope is one of read, write." in html
    assert "Choose today or a later day" in html
    assert db_session.scalar(select(ApiToken)) is None


def test_token_requests_are_limited_per_token(anonymous, app, clients):
    app.config["API_TOKEN_LIMIT"] = "3 per minute"
    first, second = make_token(clients["edit"]), make_token(clients["edit"], name="other")
    for _ in range(3):
        assert anonymous.get("/api/v1/me", headers=bearer(first)).status_code == 200
    limited = anonymous.get("/api/v1/me", headers=bearer(first))
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json["error"]["code"] == "rate_limited"
    assert anonymous.get("/api/v1/me", headers=bearer(second)).status_code == 200


def test_the_cli_creates_lists_and_revokes_tokens(app, anonymous, db_session, team):
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "tokens",
            "create",
            "priya@example.com",
            "--name",
            "ci",
            "--scope",
            "read",
            "--expires",
            "2099-12-31",
        ]
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert secret.startswith("plnr_")
    me = anonymous.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json["token"]["scope"] == "read"
    listed = runner.invoke(args=["tokens", "list", "priya@example.com"])
    token_id = db_session.scalar(select(ApiToken.id))
    assert f"{token_id}\tactive\tread\tci\t{secret[:12]}..." in listed.output
    assert "until 2099-12-31" in listed.output
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    assert anonymous.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    refused = runner.invoke(args=["tokens", "create", "nobody@example.com", "--name", "x"])
    assert refused.exit_code != 0 and "There is no account nobody@example.com" in refused.output
    bad = runner.invoke(
        args=["tokens", "create", "priya@example.com", "--name", "x", "--expires", "soon"]
    )
    assert bad.exit_code != 0 and "--expires: Enter a date as YYYY-MM-DD." in bad.output


def test_a_tokens_use_is_written_once_a_minute_and_kept_when_the_request_fails(
    anonymous, clients, db_session, app
):
    from sqlalchemy import event

    from planner.db import get_db

    secret = make_token(clients["edit"])
    commits: list[str] = []
    engine = get_db(app).engine

    def listener(conn) -> None:
        commits.append("commit")

    event.listen(engine, "commit", listener)
    try:
        first = anonymous.get("/api/v1/stories/FRAUD-999", headers=bearer(secret))
        assert first.status_code == 404
        assert commits == ["commit"]  # its last use, written although the request failed
        db_session.expire_all()
        used = db_session.scalar(select(ApiToken)).last_used_at
        assert used is not None
        commits.clear()
        again = anonymous.get("/api/v1/me", headers=bearer(secret))
        assert again.status_code == 200
        assert commits == []  # within the minute: nothing written, one transaction throughout
    finally:
        event.remove(engine, "commit", listener)
    db_session.expire_all()
    assert db_session.scalar(select(ApiToken)).last_used_at == used
