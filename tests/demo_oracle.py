"""The naive oracle's expectations for the demo as imported into the database, and the maps from
the database's ids to the oracle's (through sprint names, member emails and story keys): shared by
the tests that check stored series against tests/test_metrics_oracle.py's oracle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from planner.models import Account, Sprint
from tests.test_metrics_oracle import demo_inputs, histories, naive


@dataclass
class DemoOracle:
    expected: dict  # oracle sprint id -> Expected
    sprints: list  # the oracle's SprintInfo
    sprint_ids: dict[str, int]  # sprint name -> oracle sprint id
    story_row: Callable  # a StoryState row with the database's ids, in the oracle's ids
    person: Callable  # an account id -> the oracle's person id

    def expected_for(self, row: Sprint):
        return self.expected[self.sprint_ids[row.name]]


def demo_oracle(session, document: dict, rows: Sequence[Sprint], now: datetime) -> DemoOracle:
    """The oracle's expectations at `now` for the demo `document` imported as `rows`."""
    calendar, sprints, stories, changes = demo_inputs(document)
    by_story = histories(changes)
    expected = {s.id: naive(calendar, s, stories, by_story, now) for s in sprints}
    sprint_ids = {s.name: s.id for s in sprints}
    sprint_of = {r.id: sprint_ids[r.name] for r in rows}
    people = {m["email"]: i for i, m in enumerate(document["members"], start=1)}
    person_of = {
        account_id: people[email]
        for account_id, email in session.execute(select(Account.id, Account.email))
        if email in people
    }

    def person(account_id):
        return None if account_id is None else person_of[account_id]

    def story_row(r):
        number = int(r[1].rsplit("-", 1)[1])
        sprint = None if r[5] is None else sprint_of[r[5]]
        return (number, *r[1:5], sprint, r[6], r[7], person(r[8]))

    return DemoOracle(expected, sprints, sprint_ids, story_row, person)
