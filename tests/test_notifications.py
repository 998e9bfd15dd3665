"""Notifications, e-mail and webhooks, end to end with a real SMTP server and a real HTTP receiver
on loopback: who hears what, exactly once, and nothing for a change that rolled back."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from planner.delivery.worker import PassReport, Worker
from planner.domain.context import load_context
from planner.domain.milestones import create_milestone
from planner.domain.stories import create_story
from planner.models import (
    Delivery,
    DeliveryAttempt,
    EmailPreference,
    Notification,
    OutboxEvent,
    Project,
    Story,
    Webhook,
)
from planner.timeutil import utcnow
from tests import factories
from tests.receivers import html_of, text_of

SECRET = "a-receiver-secret-of-32-characters"


@pytest.fixture
def wired(app, smtp_server, receiver):
    """The app sending mail to the loopback SMTP server, allowed to call the loopback receiver."""
    app.config.update(
        SMTP_URL=smtp_server.url,
        MAIL_FROM="planner <planner@example.com>",
        BASE_URL="http://planner.test",
        WEBHOOK_ALLOW_PRIVATE=True,
        DELIVERY_BACKOFF_SECONDS=0,
    )
    return app


def register_hook(client, receiver, events, secret=SECRET):
    """A manager registers the loopback receiver for `events` through the API."""
    return client.api(
        "POST",
        "/api/v1/projects/FRAUD/webhooks",
        {"url": receiver.url(), "events": events, **({"secret": secret} if secret else {})},
    )


def run_worker(app, now=None):
    return Worker(app).run_once(now)


@pytest.fixture
def story(db_session, team):
    """FRAUD-1, created by Maya (so she watches it), unassigned."""
    made = factories.story(db_session, team.project, team.manager, title="Label 5k chargebacks")
    db_session.commit()
    return made


def count(db_session, model, *where) -> int:
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


# --- the "Done when" of the issue ----------------------------------------------------------------


def test_an_assignment_reaches_the_assignees_bell_and_mailbox_once(
    wired,
    clients,
    story,
    smtp_server,
):
    answer = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"assignee": "maya@example.com", "version": 1}
    )
    assert answer.status_code == 200, answer.get_json()
    report = run_worker(wired)
    assert report.dispatched == 2  # the story's creation, then the assignment

    page = clients["manage"].get("/notifications").get_data(as_text=True)
    assert "Priya Raman assigned FRAUD-1 to you" in page
    assert '<span class="bell-count">1</span>' in page
    mails = smtp_server.to("maya@example.com")
    assert len(mails) == 1
    assert mails[0]["Subject"] == "[FRAUD] Priya Raman assigned FRAUD-1 to you"
    assert mails[0]["From"] == "planner <planner@example.com>"
    assert "http://planner.test/projects/FRAUD/stories/1" in text_of(mails[0])
    assert 'href="http://planner.test/projects/FRAUD/stories/1"' in html_of(mails[0])
    assert mails[0]["List-Unsubscribe"].startswith("<http://planner.test/unsubscribe/")
    assert mails[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The one who made the change hears nothing; the stakeholder does not watch the story.
    assert smtp_server.to("priya@example.com") == []
    assert smtp_server.to("helen@example.com") == []
    assert '<span class="bell-count">' not in clients["edit"].get("/notifications").get_data(
        as_text=True
    )

    run_worker(wired)
    assert len(smtp_server.to("maya@example.com")) == 1  # nothing is sent twice


def test_a_stakeholder_is_mentioned_asks_back_and_the_commenters_hear_it(
    wired,
    clients,
    story,
    smtp_server,
):
    sent = clients["edit"].post_form(
        "/projects/FRAUD/stories/1/comments", {"body": "@helen does this need DPIA sign-off?"}
    )
    assert sent.status_code == 302
    run_worker(wired)
    helen = clients["view"].get("/notifications").get_data(as_text=True)
    assert "Priya Raman mentioned you on FRAUD-1" in helen
    assert "does this need DPIA sign-off?" in helen
    assert [m["Subject"] for m in smtp_server.to("helen@example.com")] == [
        "[FRAUD] Priya Raman mentioned you on FRAUD-1"
    ]
    # Maya created the story, so she watches it and hears about the comment.
    maya = clients["manage"].get("/notifications").get_data(as_text=True)
    assert "Priya Raman commented on FRAUD-1" in maya

    # The stakeholder answers with a comment of her own: view access may comment.
    reply = clients["view"].post_form(
        "/projects/FRAUD/stories/1/comments", {"body": "Yes, before the pilot."}
    )
    assert reply.status_code == 302
    run_worker(wired)
    priya = clients["edit"].get("/notifications").get_data(as_text=True)
    assert "Helen Brooks commented on FRAUD-1" in priya  # Priya watches since she commented
    # Helen wrote it: she is not told about her own comment.
    assert "Helen Brooks commented" not in clients["view"].get("/notifications").get_data(
        as_text=True
    )


def test_a_change_that_rolls_back_sends_nothing(
    wired,
    clients,
    db_session,
    team,
    story,
    smtp_server,
    receiver,
):
    manager = clients["manage"]
    hook = register_hook(manager, receiver, ["story.created", "story.updated"])
    assert hook.status_code == 201, hook.get_json()
    before = count(db_session, OutboxEvent)

    # A domain change rolled back by its caller.
    ctx = load_context(db_session, team.project)
    create_story(
        db_session,
        ctx,
        {"title": "Never", "assignee": "maya@example.com"},
        by=team.editor,
        now=utcnow(),
    )
    assert count(db_session, OutboxEvent) == before + 1  # written in the same transaction
    db_session.rollback()
    assert count(db_session, OutboxEvent) == before

    # Refused requests: a stale version (409) and an experiment done without outcome (422).
    stale = clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", {"title": "X", "version": 7})
    assert stale.status_code == 409
    bad = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"type": "experiment", "status": "done", "version": 1}
    )
    assert bad.status_code == 422
    assert count(db_session, OutboxEvent) == before

    run_worker(wired)
    assert receiver.calls == []
    assert smtp_server.messages == []
    assert count(db_session, Notification) == 0


def planner_command() -> str:
    found = shutil.which("planner") or str(Path(sys.executable).with_name("planner"))
    assert Path(found).exists(), found
    return found


def worker_process(database_url: str, tmp_path: Path, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "PLANNER_ENV": "testing",
        "PLANNER_DATABASE_URL": database_url,
        "PLANNER_INSTANCE_PATH": str(tmp_path / "worker-instance"),
        "PLANNER_WEBHOOK_ALLOW_PRIVATE": "1",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    return subprocess.Popen(
        [planner_command(), "worker", "--once"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_reforecast_reaches_the_receiver_signed_exactly_once_though_a_worker_was_killed(
    wired,
    clients,
    db_session,
    team,
    receiver,
    database_url,
    tmp_path,
):
    project = db_session.get(Project, team.project.id)
    project.slip_tolerance_days = 5
    today = utcnow().date()
    baseline = today + timedelta(days=30)
    milestone = create_milestone(
        db_session,
        load_context(db_session, project),
        {"name": "Production launch", "baseline": baseline.isoformat()},
    )
    db_session.commit()
    hook = register_hook(clients["manage"], receiver, ["milestone.forecast_changed"])
    assert hook.status_code == 201
    page = clients["manage"].post_form(
        f"/projects/FRAUD/milestones/{milestone.id}",
        {
            "action": "forecast",
            "f-forecast": (baseline + timedelta(days=7)).isoformat(),
            "f-note": "DPIA review added two rounds",
        },
    )
    assert page.status_code == 302, page.get_data(as_text=True)[:400]

    # The first worker claims the delivery and is killed before it sends anything.
    first = worker_process(
        database_url,
        tmp_path,
        PLANNER_WORKER_PAUSE_AFTER_CLAIM="60",
        PLANNER_DELIVERY_LEASE_SECONDS="3",
        PLANNER_WEBHOOK_TIMEOUT="1",
    )
    deadline = time.monotonic() + 60
    seen = ""
    while "claimed deliveries" not in seen and time.monotonic() < deadline:
        line = first.stdout.readline()
        if not line:
            break
        seen += line
    assert "claimed deliveries" in seen, seen
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    db_session.expire_all()
    (delivery,) = db_session.scalars(select(Delivery).where(Delivery.channel == "webhook")).all()
    assert delivery.state == "pending" and delivery.claimed_by is not None
    assert receiver.calls == []

    # While its lease runs, nobody else takes the row; once it expired, the next worker does.
    wired.config["DELIVERY_LEASE_SECONDS"] = 3
    run_worker(wired)
    assert receiver.calls == []
    time.sleep(3.2)
    run_worker(wired)
    run_worker(wired)
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    assert call.headers["x-planner-event"] == "milestone.forecast_changed"
    assert call.headers["x-planner-delivery"] == str(delivery.id)
    expected = "sha256=" + hmac.new(SECRET.encode(), call.body, hashlib.sha256).hexdigest()
    assert call.headers["x-planner-signature"] == expected
    body = call.json
    assert body["event"] == "milestone.forecast_changed"
    assert body["project"] == "FRAUD"
    assert body["id"] == delivery.event_id
    data = body["data"]
    assert data["milestone"]["name"] == "Production launch"
    assert data["old"] == {"forecast": baseline.isoformat(), "slip_days": 0, "status": "on_track"}
    assert data["new"] == {
        "forecast": (baseline + timedelta(days=7)).isoformat(),
        "slip_days": 7,
        "status": "late",  # 7 days > the 5 days of tolerance
    }
    assert data["note"] == "DPIA review added two rounds"
    assert data["actor"] == {"email": "maya@example.com", "name": "Maya Okafor"}
    attempts = db_session.scalars(select(DeliveryAttempt)).all()
    assert [(a.ok, a.status_code) for a in attempts] == [(True, 200)]


@pytest.mark.skipif(
    not os.environ.get("PLANNER_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locks (SKIP LOCKED) exist on PostgreSQL: runs in the PostgreSQL phase of CI",
)
def test_two_workers_on_postgresql_never_deliver_one_row_twice(
    wired,
    clients,
    db_session,
    team,
    receiver,
    database_url,
    tmp_path,
):
    hook = register_hook(clients["manage"], receiver, ["story.created"])
    assert hook.status_code == 201
    for n in range(40):
        factories.story(db_session, team.project, team.editor, title=f"S{n}", now=utcnow())
    db_session.commit()
    receiver.delay = 0.1
    # The first worker holds each batch of 10 it claims for 3 s before sending; the second starts
    # once the first has claimed, so both surely work side by side, however slow the machine.
    first = worker_process(database_url, tmp_path, PLANNER_WORKER_PAUSE_AFTER_CLAIM="3")
    head = []
    while not any(line.startswith("claimed deliveries") for line in head):
        line = first.stdout.readline()
        assert line, "the first worker ended before claiming anything"
        head.append(line)
    workers = [first, worker_process(database_url, tmp_path)]
    outputs = [w.communicate(timeout=180)[0] for w in workers]
    outputs[0] = "".join(head) + outputs[0]
    assert [w.returncode for w in workers] == [0, 0], outputs
    ids = [c.headers["x-planner-delivery"] for c in receiver.calls]
    assert len(ids) == 40
    assert len(set(ids)) == 40  # every delivery exactly once
    workers_seen = db_session.scalars(select(DeliveryAttempt.worker).distinct()).all()
    assert len(workers_seen) == 2, outputs  # both really worked, side by side
    assert count(db_session, Delivery, Delivery.state == "delivered") == 40


# --- retries, disabling, the guard against forgery ----------------------------------------------


def test_failures_back_off_then_disable_the_webhook_and_tell_its_managers(
    wired,
    clients,
    db_session,
    team,
    receiver,
    smtp_server,
):
    receiver.status = 500
    wired.config.update(DELIVERY_MAX_ATTEMPTS=2, DELIVERY_BACKOFF_SECONDS=30)
    created = register_hook(clients["manage"], receiver, ["story.created"], secret=None).get_json()
    assert len(created["secret"]) == 48  # made by planner when none is given
    factories.story(db_session, team.project, team.editor, title="Trigger", now=utcnow())
    db_session.commit()
    start = utcnow()
    run_worker(wired, start)
    assert len(receiver.calls) == 1
    run_worker(wired, start + timedelta(seconds=29))  # the back-off has not passed
    assert len(receiver.calls) == 1
    run_worker(wired, start + timedelta(seconds=31))
    assert len(receiver.calls) == 2
    assert (
        receiver.calls[0].headers["x-planner-delivery"]
        == receiver.calls[1].headers["x-planner-delivery"]
    )
    db_session.expire_all()
    hook = db_session.get(Webhook, created["id"])
    assert hook.active is False
    assert "failed 2 times: The receiver answered 500." in hook.disabled_reason
    delivery = db_session.scalar(select(Delivery).where(Delivery.webhook_id == hook.id))
    assert (delivery.state, delivery.attempts) == ("failed", 2)
    codes = db_session.scalars(
        select(DeliveryAttempt.status_code).where(DeliveryAttempt.delivery_id == delivery.id)
    ).all()
    assert codes == [500, 500]
    mails = smtp_server.to("maya@example.com")
    assert [m["Subject"] for m in mails] == [
        f"[FRAUD] Webhook {receiver.url()} was disabled after repeated failures"
    ]
    page = clients["manage"].get("/projects/FRAUD/settings/webhooks").get_data(as_text=True)
    assert "Disabled" in page and ">500<" in page

    # Redeliver after fixing the receiver: same delivery id, delivered.
    receiver.status = 204
    clients["manage"].post_form(f"/projects/FRAUD/settings/webhooks/{hook.id}/enable")
    again = clients["manage"].post_form(
        f"/projects/FRAUD/settings/webhooks/{hook.id}/redeliver", {"delivery": str(delivery.id)}
    )
    assert again.status_code == 302
    run_worker(wired, start + timedelta(seconds=40))
    assert receiver.calls[-1].headers["x-planner-delivery"] == str(delivery.id)
    db_session.expire_all()
    assert db_session.get(Delivery, delivery.id).state == "delivered"


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1, a loopback, private or link-local"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://[::1]/hook", "::1"),
        ("ftp://ci.example.com/hook", "Enter an http:// or https:// URL"),
        ("https://user:pw@93.184.216.34/hook", "Put no user or password in the URL"),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe"),  # the metadata IP via NAT64
        ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1"),
        ("https://ci.example.com/hook/é", "Write the URL in ASCII"),
        ("http://[::1/hook", "check the brackets"),
    ],
)
def test_webhooks_refuse_urls_inside_the_network(app, clients, db_session, url, words):
    answer = clients["manage"].api(
        "POST", "/api/v1/projects/FRAUD/webhooks", {"url": url, "events": ["story.created"]}
    )
    assert answer.status_code == 422
    assert words in answer.get_json()["error"]["details"]["url"]
    page = clients["manage"].post_form(
        "/projects/FRAUD/settings/webhooks", {"url": url, "events": "story.created"}
    )
    assert page.status_code == 422 and words.split(",")[0] in page.get_data(as_text=True)
    assert count(db_session, Webhook) == 0


def test_webhook_input_is_checked_field_by_field(app, clients, db_session):
    answer = clients["manage"].api(
        "POST",
        "/api/v1/projects/FRAUD/webhooks",
        {"url": "https://93.184.216.34/hook", "secret": "short", "events": ["story.deleted"]},
    )
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["details"]
    assert fields["secret"].startswith("Use a secret of 16 to 200 printable characters")
    assert fields["events"].startswith("'story.deleted' is not an event")
    assert (
        clients["edit"]
        .api(
            "POST",
            "/api/v1/projects/FRAUD/webhooks",
            {"url": "https://93.184.216.34/h", "events": ["story.created"]},
        )
        .status_code
        == 403
    )
    assert clients["edit"].get("/api/v1/projects/FRAUD/webhooks").status_code == 403
    assert clients["none"].get("/api/v1/projects/FRAUD/webhooks").status_code == 404
    assert count(db_session, Webhook) == 0


# --- digests, choices, unsubscribe --------------------------------------------------------------


def test_stakeholders_get_milestone_slips_in_a_weekly_digest(
    wired,
    clients,
    db_session,
    team,
    smtp_server,
):
    today = utcnow().date()
    baseline = today + timedelta(days=40)
    milestone = create_milestone(
        db_session,
        load_context(db_session, team.project),
        {"name": "Pilot", "baseline": baseline.isoformat()},
    )
    db_session.commit()
    clients["manage"].post_form(
        f"/projects/FRAUD/milestones/{milestone.id}",
        {
            "action": "forecast",
            "f-forecast": (baseline + timedelta(days=14)).isoformat(),
            "f-note": "Labeling vendor late",
        },
    )
    now = utcnow()
    run_worker(wired, now)
    assert "Milestone Pilot slipped 2 weeks (now 2 weeks late)" in clients["view"].get(
        "/notifications"
    ).get_data(as_text=True)
    assert smtp_server.to("helen@example.com") == []  # not yet: it waits for the digest
    run_worker(wired, now + timedelta(days=6, hours=23))
    assert smtp_server.to("helen@example.com") == []
    run_worker(wired, now + timedelta(days=7, minutes=1))
    (digest,) = smtp_server.to("helen@example.com")
    assert digest["Subject"] == "[FRAUD] Weekly digest: 1 update"
    text = text_of(digest)
    assert "Milestones\n- Milestone Pilot slipped 2 weeks (now 2 weeks late)" in text
    assert "Why: Labeling vendor late" in text
    run_worker(wired, now + timedelta(days=15))
    assert len(smtp_server.to("helen@example.com")) == 1
    # Maya (manage) made the change; Priya (edit) hears about milestones only in the bell.
    assert smtp_server.to("priya@example.com") == []


def test_one_click_unsubscribe_stops_that_kind_of_mail_but_not_the_bell(
    wired,
    clients,
    story,
    db_session,
    smtp_server,
    app,
):
    clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"assignee": "maya@example.com", "version": 1}
    )
    run_worker(wired)
    (mail,) = smtp_server.to("maya@example.com")
    link = mail["List-Unsubscribe"].strip("<>").removeprefix("http://planner.test")
    anonymous = app.test_client()
    assert "Stop these e-mails?" in anonymous.get(link).get_data(as_text=True)
    done = anonymous.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "Unsubscribed" in done.get_data(as_text=True)
    assert db_session.get(EmailPreference, (mail_account(db_session), "assigned")).mode == "never"
    assert anonymous.post(link[:-3] + "xyz").status_code == 404

    clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", {"assignee": None, "version": 2})
    clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"assignee": "maya@example.com", "version": 3}
    )
    run_worker(wired)
    assert len(smtp_server.to("maya@example.com")) == 1
    kinds = db_session.scalars(select(Notification.kind).order_by(Notification.id)).all()
    assert kinds == ["assigned", "updated", "assigned"]  # all in her bell; one e-mail


def mail_account(db_session) -> int:
    from planner.models import Account

    return db_session.scalar(select(Account.id).where(Account.email == "maya@example.com"))


def test_email_choices_are_saved_per_kind_and_checked(wired, clients, db_session, story):
    page = clients["edit"].get("/account/email").get_data(as_text=True)
    assert "Someone @mentions you" in page
    saved = clients["edit"].post_form(
        "/account/email", {"mentioned": "daily", "commented": "never", "assigned": "default"}
    )
    assert saved.status_code == 302
    modes = dict(db_session.execute(select(EmailPreference.kind, EmailPreference.mode)).all())
    assert modes == {"mentioned": "daily", "commented": "never"}
    bad = clients["edit"].post_form("/account/email", {"mentioned": "hourly"})
    assert bad.status_code == 302
    assert "Not saved: Choose one of: default, immediate, daily, weekly, never." in clients[
        "edit"
    ].get("/account/email").get_data(as_text=True)
    db_session.expire_all()
    modes = dict(db_session.execute(select(EmailPreference.kind, EmailPreference.mode)).all())
    assert modes == {"mentioned": "daily", "commented": "never"}  # the refused save changed nothing


# --- the inbox --------------------------------------------------------------------------------


def test_marking_one_and_all_read(wired, clients, db_session, team, story):
    for n in range(3):
        clients["edit"].post_form("/projects/FRAUD/stories/1/comments", {"body": f"note {n}"})
    run_worker(wired)
    maya = clients["manage"]
    assert '<span class="bell-count">3</span>' in maya.get("/").get_data(as_text=True)
    first = db_session.scalars(select(Notification.id).order_by(Notification.id)).first()
    opened = maya.post_form(f"/notifications/{first}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"].startswith("/projects/FRAUD/stories/1#comment-")
    assert '<span class="bell-count">2</span>' in maya.get("/").get_data(as_text=True)
    assert maya.post_form("/notifications/read-all").status_code == 302
    assert '<span class="bell-count">' not in maya.get("/").get_data(as_text=True)
    # Someone else's notification is not yours to open.
    assert clients["edit"].post_form(f"/notifications/{first}/open").status_code == 404
    api = maya.api("POST", "/api/v1/notifications/read", {"all": True}).get_json()
    assert api == {"marked": 0, "unread": 0}
    listed = maya.get("/api/v1/notifications").get_json()
    assert [n["text"] for n in listed["notifications"]] == ["Priya Raman commented on FRAUD-1"] * 3
    assert listed["notifications"][0]["url"].startswith("http://planner.test/projects/FRAUD/")


def test_the_inbox_costs_the_same_few_queries_however_long(
    wired, clients, db_session, team, story, count_queries
):
    def add(n):
        for i in range(n):
            db_session.add(
                Notification(
                    account_id=team.manager.id,
                    project_id=team.project.id,
                    kind="commented",
                    text=f"line {i}",
                    link="/projects/FRAUD/stories/1",
                    created_at=utcnow(),
                )
            )
        db_session.commit()

    add(3)
    maya = clients["manage"]
    maya.get("/notifications")
    with count_queries() as few:
        maya.get("/notifications")
    add(120)
    with count_queries() as many:
        page = maya.get("/notifications").get_data(as_text=True)
    assert many.count == few.count
    assert page.count('class="inbox-line') == 50  # a page; "Older" leads on
    assert "Older" in page


# --- the events -------------------------------------------------------------------------------


def events(db_session, name):
    return [
        json.loads(e.data)
        for e in db_session.scalars(
            select(OutboxEvent).where(OutboxEvent.event == name).order_by(OutboxEvent.id)
        )
    ]


def test_sprints_risks_and_milestones_write_their_events(app, clients, db_session, team):
    from planner.domain.history import calendar_of
    from planner.domain.milestones import set_achieved
    from planner.domain.risks import create_risk, update_risk
    from planner.domain.sprints import close_sprint, start_sprint

    project = db_session.get(Project, team.project.id)
    sprint = factories.sprint(db_session, project, "Sprint 1", date(2026, 3, 2), date(2026, 3, 13))
    ctx = load_context(db_session, project)
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    a = factories.story(
        db_session, project, team.editor, now=t0, title="A", points=3, sprint=sprint.id
    )
    factories.story(db_session, project, team.editor, now=t0, title="B", points=5, sprint=sprint.id)
    start_sprint(
        db_session, project, sprint, now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), by=team.manager
    )
    ctx = load_context(db_session, project)
    from planner.domain.stories import update_story

    update_story(
        db_session,
        ctx,
        a,
        {"status": "done"},
        by=team.editor,
        now=datetime(2026, 3, 5, 10, 0, tzinfo=UTC),
    )
    calendar = calendar_of(db_session, project)
    close_sprint(
        db_session,
        ctx,
        sprint,
        {},
        calendar=calendar,
        by=team.manager,
        now=datetime(2026, 3, 13, 17, 0, tzinfo=UTC),
    )
    db_session.commit()
    (started,) = events(db_session, "sprint.started")
    assert started["sprint"]["name"] == "Sprint 1"
    assert started["actor"]["email"] == "maya@example.com"
    (closed,) = events(db_session, "sprint.closed")
    assert (closed["committed_points"], closed["completed_points"]) == (8, 3)
    assert closed["to_next"] == ["FRAUD-2"]
    updated = events(db_session, "story.updated")
    assert updated[0]["changes"] == {"status": {"from": "todo", "to": "done"}}
    assert updated[1]["story"]["key"] == "FRAUD-2"
    assert list(updated[1]["changes"]) == ["sprint"]

    risk = create_risk(
        db_session,
        ctx,
        {"title": "Label noise", "category": "labeling_quality", "likelihood": "2", "impact": "2"},
        now=utcnow(),
        by=team.manager,
    )
    update_risk(db_session, ctx, risk, {"mitigation": "Double-label 10%"}, now=utcnow())
    update_risk(db_session, ctx, risk, {"likelihood": "4", "impact": "4"}, now=utcnow())
    db_session.commit()
    risks = events(db_session, "risk.changed")
    assert [(r["risk"]["level"], r["old_level"], r["created"]) for r in risks] == [
        ("low", None, True),  # 2 x 2 = 4
        ("high", "low", False),  # 4 x 4 = 16; the mitigation alone changed no level
    ]
    milestone = create_milestone(db_session, ctx, {"name": "Go", "baseline": "2026-03-10"})
    project.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    set_achieved(
        db_session, project, milestone, "2026-03-12", today=date(2026, 3, 20), by=team.manager
    )
    db_session.commit()
    (achieved,) = events(db_session, "milestone.achieved")
    assert (achieved["achieved"], achieved["slip_days"]) == ("2026-03-12", 2)


def test_the_worker_purges_what_is_older_than_the_retention(wired, db_session, team, story):
    run_worker(wired)  # dispatches FRAUD-1's story.created
    old = utcnow() - timedelta(days=45)
    db_session.add(
        Delivery(
            channel="email",
            account_id=team.manager.id,
            event="digest",
            payload="{}",
            state="delivered",
            created_at=old,
            next_attempt_at=old,
        )
    )
    db_session.commit()
    report = run_worker(wired, utcnow() + timedelta(days=31))
    assert report.purged == 2  # the old delivery and the dispatched event
    assert count(db_session, OutboxEvent) == 0
    assert count(db_session, Delivery) == 0


def test_worker_command_runs_once_and_refuses_a_bad_smtp_url(app, story, tmp_path, database_url):
    done = worker_process(database_url, tmp_path)
    out, _ = done.communicate(timeout=60)
    assert done.returncode == 0, out
    assert "dispatched 1 events" in out
    bad = worker_process(database_url, tmp_path, PLANNER_SMTP_URL="http://mail.example.com")
    out, _ = bad.communicate(timeout=60)
    assert bad.returncode == 1
    assert "PLANNER_SMTP_URL starts with smtp:// or smtps://" in out
    assert "Traceback" not in out


def test_stories_are_watched_by_creator_assignee_and_commenters(
    wired, clients, db_session, team, story
):
    clients["edit"].post_form("/projects/FRAUD/stories/1/comments", {"body": "On it"})
    watchers = clients["view"].get("/api/v1/stories/FRAUD-1/watchers").get_json()
    assert watchers == {"watching": False, "watchers": ["maya@example.com", "priya@example.com"]}
    assert clients["view"].api("PUT", "/api/v1/stories/FRAUD-1/watch").get_json()["watching"]
    assert (
        clients["manage"].post_form("/projects/FRAUD/stories/1/watch", {"watch": "0"}).status_code
        == 302
    )
    after = clients["view"].get("/api/v1/stories/FRAUD-1/watchers").get_json()
    assert after == {"watching": True, "watchers": ["helen@example.com", "priya@example.com"]}
    assert clients["none"].post_form("/projects/FRAUD/stories/1/watch").status_code == 404
    assert db_session.scalar(select(Story.id)) is not None


def test_a_receiver_that_answers_garbage_is_a_recorded_failure_not_a_crash(
    wired, clients, db_session, team
):
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def answer_garbage():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"garbage\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    hook = clients["manage"].api(
        "POST",
        "/api/v1/projects/FRAUD/webhooks",
        {"url": f"http://127.0.0.1:{port}/hook", "events": ["story.created"]},
    )
    assert hook.status_code == 201
    factories.story(db_session, team.project, team.editor, title="Trigger", now=utcnow())
    db_session.commit()
    report = run_worker(wired)
    thread.join(timeout=5)
    listener.close()
    assert (report.delivered, report.retried) == (0, 1)
    (attempt,) = db_session.scalars(select(DeliveryAttempt)).all()
    assert attempt.ok is False and attempt.status_code is None
    assert attempt.error.startswith("No answer: BadStatusLine")


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(
    wired, clients, db_session, team, receiver
):
    assert register_hook(clients["manage"], receiver, ["story.created"]).status_code == 201
    factories.story(db_session, team.project, team.editor, title="Trigger", now=utcnow())
    db_session.commit()
    first, second = Worker(wired, name="first"), Worker(wired, name="second")
    with wired.app_context():
        first.dispatch(PassReport(), None)
    now = utcnow()
    (claimed,) = first.claim(now)
    assert second.claim(now) == []  # taken: not even on SQLite does a second worker get it
    assert second.claim(now + timedelta(seconds=299)) == []
    assert second.claim(now + timedelta(seconds=301)) == [claimed]  # the first one died
    # The first worker, back, no longer holds it: it sends nothing.
    first.deliver_one(claimed, PassReport(), now + timedelta(seconds=302))
    assert receiver.calls == []
    second.deliver_one(claimed, PassReport(), now + timedelta(seconds=302))
    assert len(receiver.calls) == 1
