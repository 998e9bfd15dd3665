"""The demo project: shipped as an interchange file, moved by whole weeks so that its active sprint
is running today, idempotent, and round-tripping through export."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from planner.demo import (
    DEMO_PASSWORD,
    dated_demo,
    install_demo,
    latest_moment,
    load_demo_document,
    shift_document,
    weeks_to_shift,
)
from planner.domain.accounts import authenticate
from planner.interchange.export import export_project
from planner.interchange.validate import check_document
from planner.models import (
    Account,
    ChecklistItem,
    Membership,
    Project,
    Sprint,
    Story,
    StoryDependency,
    StoryEvent,
)
from planner.vocab import ROLES
from tests import factories
from tests.samples import normalised

ACTIVE_START = date(2026, 3, 2)  # Monday; the shipped file's Sprint 4


@pytest.mark.parametrize(
    ("today", "shift"),
    [
        (date(2026, 3, 6), 0),  # Friday of week 1 = day 4: as shipped
        (date(2026, 3, 12), 0),  # Thursday of week 2 = day 10
        (date(2026, 3, 13), 7),  # Friday of week 2 would be day 11: move a week, now day 4
        (date(2026, 3, 5), -7),  # Thursday of week 1 would be day 3: a week back, day 10
        (date(2026, 11, 22), 259),  # a Sunday 265 days on: 37 weeks, landing on day 6
    ],
)
def test_weeks_to_shift_puts_today_on_days_4_to_10(today, shift):
    assert weeks_to_shift(ACTIVE_START, today) == shift
    assert 4 <= (today - (ACTIVE_START + timedelta(days=shift))).days <= 10


def test_the_shipped_file_is_a_valid_document_with_the_promised_cast():
    document = load_demo_document()
    plan, problems = check_document(document)
    assert problems == []
    roles = {role for member in document["members"] for role in member["roles"]}
    assert roles == set(ROLES)
    states = [s["state"] for s in document["sprints"]]
    assert states.count("closed") == 3 and states.count("active") == 1
    assert len(document["milestones"]) >= 5 and len(document["risks"]) >= 8
    assert any(len(m["forecasts"]) >= 3 for m in document["milestones"])


@pytest.mark.parametrize("weekday", range(7))
def test_on_any_day_the_active_sprint_is_running_and_nothing_is_in_the_future(weekday):
    now = datetime(2026, 11, 16, 10, 0, tzinfo=UTC) + timedelta(days=weekday)
    document = dated_demo(now)
    active = next(s for s in document["sprints"] if s["state"] == "active")
    start, end = date.fromisoformat(active["start"]), date.fromisoformat(active["end"])
    assert start <= now.date() <= end + timedelta(days=2)  # weekends after the last day count
    assert (now.date() - start).days in range(4, 11)
    assert latest_moment(document) <= now
    assert start.isoweekday() == 1  # whole weeks: the sprint still starts on a Monday


def test_shifting_moves_every_date_by_the_same_days():
    original = load_demo_document()
    moved = shift_document(original, 14)
    assert (
        moved["sprints"][0]["start"]
        == (date.fromisoformat(original["sprints"][0]["start"]) + timedelta(days=14)).isoformat()
    )
    assert moved["project"]["holidays"] == [
        (date.fromisoformat(d) + timedelta(days=14)).isoformat()
        for d in original["project"]["holidays"]
    ]
    assert shift_document(moved, -14) == original


def test_install_demo_is_idempotent_and_gives_the_demo_accounts_a_password(db_session):
    now = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    first = install_demo(db_session, hash_method=factories.HASH, now=now)
    db_session.commit()
    assert first.created
    counts = (
        db_session.scalar(select(func.count(Story.id))),
        db_session.scalar(select(func.count(StoryEvent.id))),
        db_session.scalar(select(func.count(Account.id))),
    )
    second = install_demo(db_session, hash_method=factories.HASH, now=now)
    db_session.commit()
    assert not second.created
    assert counts == (
        db_session.scalar(select(func.count(Story.id))),
        db_session.scalar(select(func.count(StoryEvent.id))),
        db_session.scalar(select(func.count(Account.id))),
    )
    maya = authenticate(db_session, "maya@example.com", DEMO_PASSWORD)
    assert maya is not None and maya.is_admin
    assert authenticate(db_session, "helen@example.com", DEMO_PASSWORD) is not None
    assert any("maya@example.com / planner-demo" in line for line in first.sign_ins())
    active = db_session.scalar(select(Sprint).where(Sprint.state == "active"))
    assert active.start_date <= now.date() <= active.end_date


def test_existing_accounts_keep_their_own_password(db_session):
    factories.account(db_session, "maya@example.com", "Maya Okafor", password="my own password")
    db_session.commit()
    install_demo(db_session, hash_method=factories.HASH, now=datetime(2026, 11, 19, tzinfo=UTC))
    db_session.commit()
    assert authenticate(db_session, "maya@example.com", "my own password") is not None
    assert authenticate(db_session, "maya@example.com", DEMO_PASSWORD) is None


def test_the_demo_round_trips_through_export(db_session):
    now = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    install_demo(db_session, hash_method=factories.HASH, now=now)
    db_session.commit()
    project = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    assert normalised(export_project(db_session, project)) == normalised(dated_demo(now))


def test_the_demo_cli_prints_sign_ins_and_is_idempotent(app, db_session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo project FRAUD imported" in first.output
    assert "maya@example.com / planner-demo" in first.output
    again = runner.invoke(args=["demo"])
    assert "already there; nothing changed" in again.output
    assert db_session.scalar(select(func.count(Project.id))) == 1
    assert db_session.scalar(select(func.count(Membership.id))) == 15


def test_the_shipped_demo_file_is_exactly_what_the_generator_writes():
    """demo.json is generated by tools/generate_demo.py (not shipped in the package); the file in
    the package must not drift from it."""
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("generate_demo", root / "tools/generate_demo.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    written = json.dumps(generator.build_document(), indent=2, ensure_ascii=False) + "\n"
    assert written == (root / "planner/demo/demo.json").read_text(encoding="utf-8")


def test_the_demo_has_blocker_chains_and_checklists(db_session):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    number = {
        s.id: s.number
        for s in db_session.scalars(select(Story).where(Story.project_id.is_not(None)))
    }
    pairs = {
        (number[d.blocked_id], number[d.blocker_id])
        for d in db_session.scalars(select(StoryDependency))
    }
    assert (60, 57) in pairs and (60, 34) in pairs and (23, 22) in pairs
    assert len(pairs) == 11
    dpia = [
        (i.text, i.done)
        for i in db_session.scalars(
            select(ChecklistItem)
            .join(Story, Story.id == ChecklistItem.story_id)
            .where(Story.number == 57)
            .order_by(ChecklistItem.position)
        )
    ]
    assert [done for _, done in dpia] == [True, True, False, False]
