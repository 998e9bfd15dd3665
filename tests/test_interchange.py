"""The interchange format: round trips, and broken files refused whole with every problem named."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from planner.domain.accounts import find_account
from planner.interchange import ImportRefused
from planner.interchange.export import export_project
from planner.interchange.importer import import_document
from planner.models import (
    Account,
    Comment,
    Epic,
    Membership,
    Milestone,
    MilestoneForecast,
    Project,
    Risk,
    Sprint,
    SprintCapacity,
    Stage,
    Story,
    StoryEvent,
)
from tests import factories
from tests.samples import full_document, normalised

ALL_TABLES = (
    Account,
    Project,
    Membership,
    Stage,
    Epic,
    Sprint,
    SprintCapacity,
    Story,
    StoryEvent,
    Comment,
    Milestone,
    MilestoneForecast,
    Risk,
)


def row_counts(session) -> dict[str, int]:
    return {
        t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in ALL_TABLES
    }


def test_a_document_with_every_field_set_round_trips(db_session):
    project = import_document(db_session, full_document(), hash_method=factories.HASH)
    db_session.commit()
    exported = export_project(db_session, project)
    assert normalised(exported) == normalised(full_document())


def test_import_writes_the_history_exactly(db_session):
    project = import_document(db_session, full_document(), hash_method=factories.HASH)
    story = db_session.scalar(
        select(Story).where(Story.project_id == project.id, Story.number == 3)
    )
    sprints = {s.name: s.id for s in db_session.scalars(select(Sprint))}
    events = db_session.scalars(
        select(StoryEvent).where(StoryEvent.story_id == story.id).order_by(StoryEvent.id)
    ).all()
    assert [(e.field, e.from_value, e.to_value) for e in events] == [
        ("sprint", None, str(sprints["Sprint 1"])),
        ("stage", "modeling", "safety_review"),
        ("role", "ml_engineer", "data_scientist"),
        ("status", "todo", "in_progress"),
        ("sprint", str(sprints["Sprint 1"]), str(sprints["Sprint 2"])),
    ]
    assert events[-1].by_id is None
    assert project.story_counter == 7  # the next story is CHURN-8
    assert project.epic_counter == 2
    assert (project.working_days, project.slip_tolerance_days) == ("1234", 3)


def test_members_are_matched_by_email_and_new_ones_have_no_password(db_session):
    existing = factories.account(db_session, "BEN@example.com", "Benjamin Ode")
    db_session.commit()
    import_document(db_session, full_document(), hash_method=factories.HASH)
    db_session.commit()
    assert db_session.scalar(select(func.count(Account.id))) == 4
    ben = find_account(db_session, "ben@example.com")
    assert ben.id == existing.id and ben.name == "Benjamin Ode" and ben.password_hash
    assert find_account(db_session, "ana@example.com").password_hash is None


def mutate(path: str, value):
    """Return a copy of the full document with the value at `path` (dotted, [i]) replaced."""
    doc = full_document()
    parts = path.replace("[", ".").replace("]", "").split(".")
    target = doc
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return doc


DELETE = object()

BROKEN = [
    ("format", "csv", "$.format", "expected 'planner-export'"),
    ("project.key", "churn", "$.project.key", "is not a project key"),
    ("project.timezone", "Mars/Base", "$.project.timezone", "not a known IANA timezone"),
    ("project.working_days", [0, 8], "$.project.working_days", "ISO weekdays 1-7"),
    (
        "project.holidays[0]",
        "25/05/2026",
        "$.project.holidays[0]",
        "not a date in the form YYYY-MM-DD",
    ),
    ("project.stages[1]", "labelling", "$.project.stages[1]", "not a default stage"),
    ("members[0].access", "admin", "$.members[0].access", "unknown access level 'admin'"),
    ("members[1].email", "ana@example.com", "$.members[1].email", "listed twice"),
    ("members[1].roles", ["wizard"], "$.members[1].roles[0]", "unknown functional role 'wizard'"),
    ("epics[0].milestone", "Nope", "$.epics[0].milestone", "milestone 'Nope' not found"),
    ("sprints[0].end", "2026-05-01", "$.sprints[0].end", "ends (2026-05-01) before it starts"),
    ("sprints[2].state", "active", "$.sprints[2].state", "a second active sprint"),
    ("sprints[0].closed_at", None, "$.sprints[0].closed_at", "needs the time it was closed"),
    (
        "sprints[0].capacity[0].member",
        "zed@example.com",
        "$.sprints[0].capacity[0].member",
        "unknown member",
    ),
    ("stories[0].stage", "labelling", "$.stories[0].stage", "unknown stage 'labelling'"),
    ("stories[0].points", 4, "$.stories[0].points", "not on the points scale"),
    ("stories[0].sprint", "Sprint 9", "$.stories[0].sprint", "sprint 'Sprint 9' not found"),
    (
        "stories[0].assignee",
        "zed@example.com",
        "$.stories[0].assignee",
        "unknown member 'zed@example.com'",
    ),
    ("stories[0].epic", "E9", "$.stories[0].epic", "epic 'E9' not found"),
    ("stories[1].key", "CHURN-1", "$.stories[1].key", "duplicate story key"),
    ("stories[0].key", "FRAUD-1", "$.stories[0].key", "not a story key of CHURN"),
    ("stories[0].created_at", "2026-04-20 15:00", "$.stories[0].created_at", "with an offset"),
    ("stories[0].colour", "red", "$.stories[0].colour", "unknown field 'colour'"),
    ("stories[0].title", DELETE, "$.stories[0].title", "missing (required)"),
    (
        "stories[0].history[2].to",
        "review",
        "$.stories[0].history[4].from",
        "inconsistent history: 'from' is 'in_progress' but the status was 'review'",
    ),
    (
        "stories[0].history[4].from",
        "review",
        "$.stories[0].history[4].from",
        "inconsistent history: 'from' is 'review' but the status was 'in_progress'",
    ),
    (
        "stories[0].history[4].to",
        "review",
        "$.stories[0].history[4].to",
        "the last status change ends at 'review' but the story's status is 'done'",
    ),
    (
        "stories[0].history[0].at",
        "2026-04-01T00:00:00Z",
        "$.stories[0].history[0].at",
        "before created_at",
    ),
    (
        "stories[0].history[4].at",
        "2026-05-05T00:00:00Z",
        "$.stories[0].history[4].at",
        "chronological order",
    ),
    (
        "stories[0].history[1].field",
        "title",
        "$.stories[0].history[1].field",
        "unknown field 'title'",
    ),
    ("stories[0].history[1].by", "zed@example.com", "$.stories[0].history[1].by", "unknown member"),
    ("stories[1].outcome", "maybe", "$.stories[1].outcome", "unknown outcome 'maybe'"),
    ("milestones[0].baseline", "soon", "$.milestones[0].baseline", "not a date"),
    ("milestones[1].name", "Labels ready", "$.milestones[1].name", "duplicate milestone name"),
    ("risks[0].likelihood", 6, "$.risks[0].likelihood", "6 is outside 1..5"),
    ("risks[0].category", "weather", "$.risks[0].category", "unknown risk category 'weather'"),
    ("risks[0].stories", ["CHURN-99"], "$.risks[0].stories[0]", "story 'CHURN-99' not found"),
]


@pytest.mark.parametrize(("path", "value", "where", "why"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_file_is_refused_whole_with_its_path_and_reason(
    db_session, path, value, where, why
):
    factories.account(db_session, "ben@example.com", "Ben Ode")
    db_session.commit()
    before = row_counts(db_session)
    with pytest.raises(ImportRefused) as refused:
        import_document(db_session, mutate(path, value), hash_method=factories.HASH)
    db_session.rollback()
    problems = [str(p) for p in refused.value.problems]
    assert any(p.startswith(f"{where}:") and why in p for p in problems), problems
    assert row_counts(db_session) == before


def test_every_problem_is_reported_not_only_the_first(db_session):
    doc = full_document()
    doc["stories"][0]["stage"] = "nope"
    doc["stories"][2]["points"] = 7
    doc["risks"][1]["impact"] = 0
    with pytest.raises(ImportRefused) as refused:
        import_document(db_session, doc, hash_method=factories.HASH)
    paths = [p.path for p in refused.value.problems]
    assert paths == ["$.stories[0].stage", "$.stories[2].points", "$.risks[1].impact"]


def test_an_existing_project_key_is_refused(db_session):
    factories.project(db_session, "CHURN", "Already here")
    db_session.commit()
    with pytest.raises(ImportRefused) as refused:
        import_document(db_session, full_document(), hash_method=factories.HASH)
    assert [str(p) for p in refused.value.problems] == [
        "$.project.key: a project CHURN already exists in this planner"
    ]


@pytest.mark.parametrize("document", [[], "text", None, {"format": "planner-export"}])
def test_documents_of_the_wrong_shape_are_refused(db_session, document):
    with pytest.raises(ImportRefused) as refused:
        import_document(db_session, document, hash_method=factories.HASH)
    assert refused.value.problems


def test_the_export_is_plain_json(db_session):
    project = import_document(db_session, full_document(), hash_method=factories.HASH)
    text = json.dumps(export_project(db_session, project))
    assert json.loads(text)["project"]["key"] == "CHURN"


def test_export_runs_a_bounded_number_of_queries(app, db_session, count_queries):
    project = import_document(db_session, full_document(), hash_method=factories.HASH)
    db_session.commit()
    with count_queries() as small:
        export_project(db_session, project)
    for n in range(8, 60):
        factories.story(
            db_session, project, None, title=f"more {n}", points=2, status="in_progress"
        )
    db_session.commit()
    db_session.expire_all()
    project = db_session.get(Project, project.id)
    with count_queries() as large:
        export_project(db_session, project)
    assert large.count == small.count


ODD_VALUES = [None, True, 1.5, -1, [], {}, ["x"], {"a": 1}, "", "x" * 5000]
# Values a hostile file (or a caller passing a document directly) can hold.
HOSTILE_VALUES = [
    "a\x00b",
    "\ud800",
    "x" * 100_000,
    "localtime",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31",
    float("nan"),
    float("inf"),
    10**5000,
    {"x" * 10_000: 1},
]


def _leaf_paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))
    yield path


def test_any_odd_value_anywhere_gets_problems_never_a_crash():
    """Replace every node of the full document, one at a time, with odd values: the checker
    answers with problems (or accepts), and never raises."""
    from planner.interchange.validate import check_document

    paths = list(_leaf_paths(full_document()))
    assert len(paths) > 200
    for path in paths:
        if not path:
            continue
        for odd in ODD_VALUES:
            doc = full_document()
            target = doc
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = odd
            plan, problems = check_document(doc)
            assert (plan is None) == bool(problems), (path, odd)


def test_hostile_values_anywhere_get_short_problems_never_a_crash():
    """The same with what an attacker would put in a file: NUL, lone surrogates, huge text and
    numbers, far and overflowing dates, server timezones. Every problem stays short."""
    from planner.interchange.validate import check_document

    for path in _leaf_paths(full_document()):
        if not path:
            continue
        for hostile in HOSTILE_VALUES:
            doc = full_document()
            target = doc
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = hostile
            plan, problems = check_document(doc)
            assert (plan is None) == bool(problems), (path, hostile)
            assert all(len(str(p)) < 1_000 for p in problems), (path, problems)
