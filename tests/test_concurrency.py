"""Nothing is lost under concurrent updates: real concurrent transactions on separate connections
(PostgreSQL in CI, SQLite too), in the domain and through the HTTP API of a live server."""

from __future__ import annotations

import http.cookiejar
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from planner.db import get_db
from planner.domain import StaleVersionError
from planner.domain.context import load_context
from planner.domain.stories import update_story
from planner.models import Account, MembershipRole, Project, Story, StoryEvent
from tests import factories

ROUNDS = 20


def _writer(sessionmaker, story_id, status, account_id, base, barrier, results) -> None:
    """Load the story, wait for the other writer to have loaded it too, then try the change."""
    session = sessionmaker()
    try:
        project = session.scalar(select(Project).where(Project.key == "FRAUD"))
        ctx = load_context(session, project)
        row = session.get(Story, story_id)
        assert row.version == base
        barrier.wait(timeout=10)
        update_story(
            session,
            ctx,
            row,
            {"status": status},
            by=session.get(Account, account_id),
            now=datetime.now(UTC),
            base_version=base,
        )
        session.commit()
        results.append(("won", status))
    except StaleVersionError:
        session.rollback()
        results.append(("stale", status))
    finally:
        session.close()


def test_two_writers_from_the_same_version_exactly_one_wins(app, db_session, team):
    """Each round: two transactions load version v, then both try to move the story at once.
    Exactly one commits; the other is told its version is stale; one event is written."""
    story = factories.story(db_session, team.project, team.editor, title="Contended")
    db_session.commit()
    sessionmaker = get_db(app).sessionmaker
    for round_number in range(ROUNDS):
        barrier = threading.Barrier(2)
        results: list[tuple[str, str]] = []
        base = db_session.scalar(select(Story.version).where(Story.id == story.id))
        current = db_session.scalar(select(Story.status).where(Story.id == story.id))
        targets = [s for s in ("todo", "in_progress", "review") if s != current]
        threads = [
            threading.Thread(
                target=_writer,
                args=(sessionmaker, story.id, targets[0], team.editor.id, base, barrier, results),
            ),
            threading.Thread(
                target=_writer,
                args=(sessionmaker, story.id, targets[1], team.manager.id, base, barrier, results),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(kind for kind, _ in results) == ["stale", "won"], (round_number, results)
        winner = next(status for kind, status in results if kind == "won")
        db_session.expire_all()
        row = db_session.get(Story, story.id)
        assert (row.version, row.status) == (base + 1, winner)
    events = db_session.scalars(
        select(StoryEvent).where(StoryEvent.story_id == story.id).order_by(StoryEvent.id)
    ).all()
    assert len(events) == ROUNDS  # one event per round: the winner's
    assert_consistent_chain(events, first="todo")


def assert_consistent_chain(events, first: str) -> None:
    """Each event starts where the previous one ended: no change was made from a stale state."""
    previous = first
    for event in events:
        assert event.from_value == previous, (event.id, event.from_value, previous)
        previous = event.to_value


class HttpClient:
    """A browser-like HTTP client with its own cookies: signs in, then speaks the JSON API."""

    def __init__(self, base: str, email: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = self.opener.open(f"{base}/login", timeout=10).read().decode()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"csrf_token": token, "email": email, "password": factories.PASSWORD, "next": ""}
        ).encode()
        page = self.opener.open(f"{base}/login", data=form, timeout=10).read().decode()
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self.token,
                "Accept": "application/json",
            },
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


NEXT = {"todo": "in_progress", "in_progress": "review", "review": "todo"}


def test_a_hundred_status_changes_from_several_clients_all_land_once(live_server, db_session, team):
    """Four signed-in clients change one story 25 times each, at the same time. Each reads the
    current version, asks for the next status, and on a 409 reads again and retries, as the
    board does. All 100 changes land, each recorded exactly once, in one unbroken chain."""
    extra = [factories.account(db_session, f"member{i}@example.com", f"Member {i}") for i in (1, 2)]
    for account in extra:
        factories.member(db_session, team.project, account, "edit")
    story = factories.story(db_session, team.project, team.editor, title="Hot story")
    db_session.commit()
    emails = ["maya@example.com", "priya@example.com", "member1@example.com", "member2@example.com"]
    clients = [HttpClient(live_server, email) for email in emails]
    per_client = 25
    conflicts: list[int] = []
    failures: list[str] = []

    def work(client: HttpClient) -> None:
        done = clashes = 0
        while done < per_client:
            status, current = client.call("GET", "/api/v1/stories/FRAUD-1")
            if status != 200:
                failures.append(f"GET {status}")
                return
            status, body = client.call(
                "PATCH",
                "/api/v1/stories/FRAUD-1",
                {"version": current["version"], "status": NEXT[current["status"]]},
            )
            if status == 200:
                done += 1
            elif status == 409:
                clashes += 1
            else:
                failures.append(f"PATCH {status}: {body}")
                return
        conflicts.append(clashes)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    assert len(conflicts) == 4
    db_session.expire_all()
    row = db_session.get(Story, story.id)
    events = db_session.scalars(
        select(StoryEvent)
        .where(StoryEvent.story_id == story.id)
        .order_by(StoryEvent.at, StoryEvent.id)
    ).all()
    assert len(events) == 100
    assert row.version == 101
    assert_consistent_chain(events, first="todo")
    assert events[-1].to_value == row.status
    assert {e.by_id for e in events} == {team.manager.id, team.editor.id, *(a.id for a in extra)}


def _demoter(sessionmaker, project_id, target_id, barrier, results) -> None:
    """Load the other manager's membership, wait for the rival to have loaded theirs, demote."""
    from planner.domain import DomainError
    from planner.domain.projects import update_member
    from planner.models import Membership

    session = sessionmaker()
    try:
        project = session.get(Project, project_id)
        membership = session.get(
            Membership, target_id, options=[selectinload(Membership.role_rows)]
        )
        assert membership.access == "manage"
        roles = [
            row.role
            for row in session.scalars(
                select(MembershipRole).where(MembershipRole.membership_id == target_id)
            )
        ]
        barrier.wait(timeout=10)
        update_member(session, project, membership, access="edit", roles=roles)
        session.commit()
        results.append("demoted")
    except DomainError:
        session.rollback()
        results.append("refused")
    finally:
        session.close()


def test_two_managers_demoting_each_other_at_once_leave_one_manager(app, db_session, team):
    """The last-manager rule holds under concurrency: each round, the only two managers demote
    each other in two transactions at the same moment; exactly one demotion lands."""
    from planner.models import Membership

    second = factories.account(db_session, "sam@example.com", "Sam Second")
    factories.member(db_session, team.project, second, "manage", ["product_owner"])
    db_session.commit()
    managers = list(
        db_session.scalars(
            select(Membership).where(
                Membership.project_id == team.project.id, Membership.access == "manage"
            )
        )
    )
    assert len(managers) == 2
    sessionmaker = get_db(app).sessionmaker
    for round_number in range(ROUNDS):
        barrier = threading.Barrier(2)
        results: list[str] = []
        threads = [
            threading.Thread(
                target=_demoter,
                args=(sessionmaker, team.project.id, target.id, barrier, results),
            )
            for target in managers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        db_session.expire_all()
        left = db_session.scalar(
            select(func.count(Membership.id)).where(
                Membership.project_id == team.project.id, Membership.access == "manage"
            )
        )
        assert left == 1, (round_number, results)
        assert sorted(results) == ["demoted", "refused"], (round_number, results)
        for membership in managers:
            db_session.get(Membership, membership.id).access = "manage"
        db_session.commit()


def _deactivator(sessionmaker, target_id, by_id, barrier, results) -> None:
    """Load the other admin's account, wait for the rival to have loaded theirs, deactivate."""
    from planner.domain import DomainError
    from planner.domain.accounts import set_active

    session = sessionmaker()
    try:
        target = session.get(Account, target_id)
        by = session.get(Account, by_id)
        assert target.is_active_account and by.is_active_account
        barrier.wait(timeout=10)
        set_active(session, target, False, by=by)
        session.commit()
        results.append("deactivated")
    except DomainError:
        session.rollback()
        results.append("refused")
    finally:
        session.close()


def test_two_admins_deactivating_each_other_at_once_leave_one_admin(app, db_session):
    """The site keeps an active admin under concurrency too: each round, the only two site
    admins deactivate each other in two transactions at the same moment; exactly one lands."""
    ada = factories.account(db_session, "ada@example.com", "Ada Admin", admin=True)
    bob = factories.account(db_session, "bob@example.com", "Bob Admin", admin=True)
    db_session.commit()
    sessionmaker = get_db(app).sessionmaker
    for round_number in range(ROUNDS):
        barrier = threading.Barrier(2)
        results: list[str] = []
        threads = [
            threading.Thread(
                target=_deactivator, args=(sessionmaker, target.id, by.id, barrier, results)
            )
            for target, by in ((ada, bob), (bob, ada))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        db_session.expire_all()
        active = db_session.scalar(
            select(func.count(Account.id)).where(
                Account.is_admin.is_(True), Account.is_active_account.is_(True)
            )
        )
        assert active == 1, (round_number, results)
        assert sorted(results) == ["deactivated", "refused"], (round_number, results)
        for account in (ada, bob):
            db_session.get(Account, account.id).is_active_account = True
        db_session.commit()


def _race(sessionmaker, work, rounds_label) -> list[str]:
    """Run `work(session)` in two transactions that start it at the same moment; each says
    'saved' or the DomainError message it got. A database error is a failure of the test."""
    from planner.domain import DomainError

    barrier = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        session = sessionmaker()
        try:
            barrier.wait(timeout=10)
            work(session)
            session.commit()
            results.append("saved")
        except DomainError as exc:
            session.rollback()
            results.append(exc.message)
        except BaseException as exc:  # an IntegrityError here is the bug this guards against
            session.rollback()
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [], (rounds_label, errors)
    return results


def test_saving_the_same_capacity_twice_at_once_saves_it_once(app, db_session, team):
    """A double click on "Save capacity": both saves land, as one row per person."""
    from datetime import date

    from planner.domain.sprints import set_capacity
    from planner.models import Sprint, SprintCapacity

    sprint = factories.sprint(
        db_session, team.project, "Sprint 9", date(2026, 3, 2), date(2026, 3, 13)
    )
    db_session.commit()
    # Plain ids: the threads must not touch db_session's objects (that would share a session).
    project_id, sprint_id = team.project.id, sprint.id
    editor_id, manager_id = team.editor.id, team.manager.id
    sessionmaker = get_db(app).sessionmaker

    def save(session) -> None:
        project = session.get(Project, project_id)
        set_capacity(
            session,
            load_context(session, project),
            session.get(Sprint, sprint_id),
            {editor_id: "8", manager_id: "5"},
        )

    for round_number in range(5):
        assert _race(sessionmaker, save, round_number) == ["saved", "saved"]
        db_session.expire_all()
        rows = db_session.execute(
            select(SprintCapacity.account_id, SprintCapacity.points)
            .where(SprintCapacity.sprint_id == sprint_id)
            .order_by(SprintCapacity.account_id)
        ).all()
        assert sorted(rows) == sorted([(editor_id, 8), (manager_id, 5)])
        db_session.query(SprintCapacity).delete()
        db_session.commit()


def test_two_accounts_for_one_address_at_once_one_is_refused_with_a_message(app, db_session):
    from planner.domain.accounts import create_account

    sessionmaker = get_db(app).sessionmaker
    for round_number in range(5):
        email = f"twice{round_number}@example.com"
        results = _race(
            sessionmaker,
            lambda session, email=email: create_account(
                session, email=email, name="Twice", password=None
            ),
            round_number,
        )
        assert sorted(results) == [f"An account for {email} already exists.", "saved"]
        assert db_session.scalar(select(func.count()).where(Account.email == email)) == 1
