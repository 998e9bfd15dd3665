"""Bulk import and streaming export (issue 16): the rows a small file writes, checked by hand;
all or nothing when the database refuses a row half-way; export -> import round trips; the
streamed export's exact text; progress on standard error only; the fast shape check agreeing
with jsonschema. Run on SQLite and, with PLANNER_TEST_DATABASE_URL, on PostgreSQL (COPY)."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from planner import cli
from planner.interchange.export import export_project, export_text
from planner.interchange.importer import import_document, write_plan
from planner.interchange.schema import _PlainValidator, _valid, _validator
from planner.interchange.validate import check_document
from planner.models import (
    Account,
    Comment,
    Epic,
    Label,
    Project,
    Sprint,
    Stage,
    Story,
    StoryEvent,
    story_label,
)
from tests import factories
from tests.samples import full_document, normalised


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def small_document() -> dict:
    """Three stories: one with every field set (history with nulls, labels, comments, Jira
    provenance), one with the least, one with a null author and a null `by`."""
    return {
        "format": "planner-export",
        "version": 1,
        "project": {
            "key": "SMALL",
            "name": "Small",
            "timezone": "Europe/Berlin",
            "working_days": [1, 2, 3, 4, 5],
            "created_at": "2026-03-01T08:00:00Z",
        },
        "members": [
            {"email": "ana@example.com", "name": "Ana", "access": "manage", "roles": []},
            {"email": "ben@example.com", "name": "Ben", "access": "edit", "roles": []},
        ],
        "epics": [{"key": "E1", "title": "Data", "stage": "modeling"}],
        "sprints": [
            {
                "name": "S1",
                "start": "2026-03-02",
                "end": "2026-03-13",
                "state": "closed",
                "started_at": "2026-03-02T09:00:00Z",
                "closed_at": "2026-03-13T16:00:00Z",
            }
        ],
        "stories": [
            {
                "key": "SMALL-1",
                "title": "Try gradient boosting",
                "description": "Does it beat the *baseline*?",
                "type": "experiment",
                "stage": "modeling",
                "role": "data_scientist",
                "points": 5,
                "status": "done",
                "epic": "E1",
                "sprint": "S1",
                "assignee": "ben@example.com",
                "rank": 10,
                "created_at": "2026-03-01T10:00:00Z",
                "blocked": True,
                "hypothesis": "Boosting lifts AUC",
                "metric": "AUC",
                "target": ">= 0.80",
                "outcome": "confirmed",
                "result": "0.83",
                "history": [
                    {
                        "at": "2026-03-02T08:00:00Z",
                        "field": "sprint",
                        "from": None,
                        "to": "S1",
                        "by": "ana@example.com",
                    },
                    {
                        "at": "2026-03-02T08:00:00Z",
                        "field": "points",
                        "from": None,
                        "to": 5,
                        "by": "ana@example.com",
                    },
                    {
                        "at": "2026-03-03T09:30:00Z",
                        "field": "assignee",
                        "from": None,
                        "to": "ben@example.com",
                        "by": None,
                    },
                    {
                        "at": "2026-03-03T09:30:00Z",
                        "field": "status",
                        "from": "todo",
                        "to": "in_progress",
                        "by": "ben@example.com",
                    },
                    {
                        "at": "2026-03-10T15:00:00Z",
                        "field": "status",
                        "from": "in_progress",
                        "to": "done",
                        "by": "ben@example.com",
                    },
                ],
                "comments": [
                    {"author": "ana@example.com", "at": "2026-03-04T10:00:00Z", "body": "Go"},
                    {"author": None, "at": "2026-03-05T10:00:00Z", "body": "Line 1\nLine 2"},
                ],
                "labels": ["needs-data", "gdpr"],
                "imported_from": "ML-7",
                "imported_at": "2026-03-01T12:00:00Z",
                "source_updated": "2026-03-01T11:00:00Z",
                "source_fields": '{"Summary": "Try gradient boosting"}',
            },
            {
                "key": "SMALL-2",
                "title": "Tidy notebooks",
                "type": "chore",
                "status": "todo",
                "rank": 20,
                "created_at": "2026-03-01T10:05:00Z",
                "history": [],
            },
            {
                "key": "SMALL-4",
                "title": "Label 500 tickets",
                "type": "feature",
                "stage": "data_labeling",
                "points": 3,
                "status": "review",
                "rank": 5,
                "created_at": "2026-03-01T10:10:00Z",
                "history": [
                    {
                        "at": "2026-03-06T10:00:00Z",
                        "field": "status",
                        "from": "todo",
                        "to": "review",
                        "by": None,
                    },
                    {
                        "at": "2026-03-06T10:00:00Z",
                        "field": "stage",
                        "from": None,
                        "to": "data_labeling",
                        "by": None,
                    },
                ],
                "labels": ["gdpr"],
            },
        ],
    }


def test_the_imported_rows_are_the_files_rows(db_session):
    project = import_document(db_session, small_document(), hash_method=factories.HASH)
    db_session.commit()
    ana = db_session.scalar(select(Account.id).where(Account.email == "ana@example.com"))
    ben = db_session.scalar(select(Account.id).where(Account.email == "ben@example.com"))
    s1 = db_session.scalar(select(Sprint.id).where(Sprint.project_id == project.id))
    e1 = db_session.scalar(select(Epic.id).where(Epic.project_id == project.id))
    stage = dict(
        db_session.execute(select(Stage.key, Stage.id).where(Stage.project_id == project.id)).all()
    )

    stories = db_session.execute(
        select(
            Story.number,
            Story.title,
            Story.description,
            Story.type,
            Story.stage_id,
            Story.role,
            Story.points,
            Story.status,
            Story.rank,
            Story.assignee_id,
            Story.sprint_id,
            Story.epic_id,
            Story.blocked,
            Story.hypothesis,
            Story.metric,
            Story.target,
            Story.outcome,
            Story.result,
            Story.version,
            Story.created_by_id,
            Story.created_at,
            Story.updated_at,
            Story.external_ref,
            Story.imported_at,
            Story.external_updated,
            Story.external_snapshot,
        )
        .where(Story.project_id == project.id)
        .order_by(Story.number)
    ).all()
    assert [tuple(row) for row in stories] == [
        (
            1,
            "Try gradient boosting",
            "Does it beat the *baseline*?",
            "experiment",
            stage["modeling"],
            "data_scientist",
            5,
            "done",
            10,
            ben,
            s1,
            e1,
            True,
            "Boosting lifts AUC",
            "AUC",
            ">= 0.80",
            "confirmed",
            "0.83",
            1,
            None,
            at("2026-03-01T10:00:00Z"),
            at("2026-03-10T15:00:00Z"),  # its last event
            "ML-7",
            at("2026-03-01T12:00:00Z"),
            at("2026-03-01T11:00:00Z"),
            '{"Summary": "Try gradient boosting"}',
        ),
        (2, "Tidy notebooks", None, "chore", None, None, None, "todo", 20, None, None, None)
        + (False, None, None, None, None, None, 1, None)
        + (at("2026-03-01T10:05:00Z"), at("2026-03-01T10:05:00Z"), None, None, None, None),
        (4, "Label 500 tickets", None, "feature", stage["data_labeling"], None, 3, "review", 5)
        + (None, None, None, False, None, None, None, None, None, 1, None)
        + (at("2026-03-01T10:10:00Z"), at("2026-03-06T10:00:00Z"), None, None, None, None),
    ]
    # A story's datetimes come back aware, in UTC, on both databases.
    assert stories[0].created_at.utcoffset().total_seconds() == 0
    assert project.story_counter == 4  # the next story is SMALL-5

    events = db_session.execute(
        select(
            Story.number,
            StoryEvent.field,
            StoryEvent.from_value,
            StoryEvent.to_value,
            StoryEvent.at,
            StoryEvent.by_id,
        )
        .join(Story, Story.id == StoryEvent.story_id)
        .where(Story.project_id == project.id)
        .order_by(StoryEvent.id)
    ).all()
    assert [tuple(row) for row in events] == [
        (1, "sprint", None, str(s1), at("2026-03-02T08:00:00Z"), ana),
        (1, "points", None, "5", at("2026-03-02T08:00:00Z"), ana),
        (1, "assignee", None, str(ben), at("2026-03-03T09:30:00Z"), None),
        (1, "status", "todo", "in_progress", at("2026-03-03T09:30:00Z"), ben),
        (1, "status", "in_progress", "done", at("2026-03-10T15:00:00Z"), ben),
        (4, "status", "todo", "review", at("2026-03-06T10:00:00Z"), None),
        (4, "stage", None, "data_labeling", at("2026-03-06T10:00:00Z"), None),
    ]
    comments = db_session.execute(
        select(Story.number, Comment.author_id, Comment.body, Comment.created_at)
        .join(Story, Story.id == Comment.story_id)
        .order_by(Comment.id)
    ).all()
    assert [tuple(row) for row in comments] == [
        (1, ana, "Go", at("2026-03-04T10:00:00Z")),
        (1, None, "Line 1\nLine 2", at("2026-03-05T10:00:00Z")),
    ]
    labels = db_session.execute(
        select(Story.number, Label.name)
        .join(story_label, story_label.c.story_id == Story.id)
        .join(Label, Label.id == story_label.c.label_id)
        .order_by(Story.number, Label.name)
    ).all()
    assert [tuple(row) for row in labels] == [(1, "gdpr"), (1, "needs-data"), (4, "gdpr")]
    assert db_session.scalar(select(func.count(Label.id))) == 2


def test_event_ids_come_from_the_sequence_after_the_ones_already_there(db_session):
    """Stored sprint series compare `last_event_id`: ids of imported events must be new, higher
    ids, as any insert's are."""
    first = import_document(db_session, small_document(), hash_method=factories.HASH)
    db_session.commit()
    before = db_session.scalar(select(func.max(StoryEvent.id)))
    second = renamed(small_document(), "OTHER")
    import_document(db_session, second, hash_method=factories.HASH)
    db_session.commit()
    ids = db_session.scalars(
        select(StoryEvent.id)
        .join(Story, Story.id == StoryEvent.story_id)
        .where(Story.project_id != first.id)
        .order_by(StoryEvent.id)
    ).all()
    assert len(ids) == 7
    assert min(ids) > before
    assert len(set(ids)) == 7


def renamed(document: dict, key: str) -> dict:
    """The document with the project key `key`, in story keys and risks' story references."""
    document["project"]["key"] = key
    for item in document["stories"]:
        item["key"] = f"{key}-{item['key'].rsplit('-', 1)[1]}"
    for risk in document.get("risks", []):
        risk["stories"] = [f"{key}-{story.rsplit('-', 1)[1]}" for story in risk["stories"]]
    return document


def row_counts(session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (Account, Project, Sprint, Epic, Story, StoryEvent, Comment, Label)
    }


def test_a_row_the_database_refuses_half_way_leaves_nothing(db_session):
    """The stories are written (COPY on PostgreSQL) before the database refuses an event: the
    rollback takes the stories, the project and the new accounts with it."""
    factories.account(db_session, "someone@example.com", "Someone")
    db_session.commit()
    before = row_counts(db_session)
    plan, problems = check_document(small_document())
    assert plan is not None, problems
    # A value no check lets through, so only the database's CHECK constraint refuses it.
    plan.stories[2].history[1].field = "colour"
    with pytest.raises(IntegrityError):
        write_plan(db_session, plan, hash_method=factories.HASH)
    db_session.rollback()
    assert row_counts(db_session) == before
    # And the session is usable again: the same file imports whole.
    import_document(db_session, small_document(), hash_method=factories.HASH)
    db_session.commit()
    assert row_counts(db_session)["story_event"] == 7


def test_export_then_import_round_trips(db_session):
    full = import_document(db_session, full_document(), hash_method=factories.HASH)
    small = import_document(db_session, small_document(), hash_method=factories.HASH)
    db_session.commit()
    # The full document sets every field, so its export is the document itself.
    assert normalised(json.loads("".join(export_text(db_session, full)))) == normalised(
        full_document()
    )
    for source in (full, small):
        exported = json.loads("".join(export_text(db_session, source)))
        again = import_document(
            db_session, renamed(copy.deepcopy(exported), "AGAIN"), hash_method=factories.HASH
        )
        db_session.commit()
        back = json.loads("".join(export_text(db_session, again)))
        assert normalised(renamed(back, source.key)) == normalised(exported)
        db_session.delete(again)
        db_session.commit()
        # SQLite hands the deleted rows' ids out again: forget the objects that had them.
        db_session.expunge_all()


EXPECTED_TINY = """{
  "format": "planner-export",
  "version": 1,
  "project": {
    "key": "TINY",
    "name": "Tiny – ü",
    "description": null,
    "timezone": "UTC",
    "working_days": [
      1,
      2
    ],
    "holidays": [],
    "sprint_length_days": 14,
    "slip_tolerance_days": 7,
    "created_at": "2026-03-01T08:00:00Z",
    "stages": [
      "problem_framing",
      "data_collection",
      "data_labeling",
      "data_preparation",
      "modeling",
      "evaluation",
      "deployment",
      "monitoring"
    ]
  },
  "members": [
    {
      "email": "ana@example.com",
      "name": "Ana",
      "access": "manage",
      "roles": []
    }
  ],
  "epics": [],
  "sprints": [],
  "stories": [
    {
      "key": "TINY-1",
      "title": "One",
      "description": null,
      "type": "bug",
      "stage": null,
      "role": null,
      "points": 2,
      "status": "in_progress",
      "epic": null,
      "sprint": null,
      "assignee": null,
      "rank": 1,
      "created_at": "2026-03-02T10:00:00Z",
      "blocked": false,
      "hypothesis": null,
      "metric": null,
      "target": null,
      "outcome": null,
      "result": null,
      "history": [
        {
          "at": "2026-03-03T10:00:00Z",
          "field": "status",
          "from": "todo",
          "to": "in_progress",
          "by": "ana@example.com"
        }
      ],
      "comments": [
        {
          "author": null,
          "at": "2026-03-03T11:00:00Z",
          "body": "a \\"quote\\"\\nand a line"
        }
      ]
    },
    {
      "key": "TINY-2",
      "title": "Two",
      "description": null,
      "type": "chore",
      "stage": null,
      "role": null,
      "points": null,
      "status": "todo",
      "epic": null,
      "sprint": null,
      "assignee": null,
      "rank": 2,
      "created_at": "2026-03-02T10:00:00Z",
      "blocked": false,
      "hypothesis": null,
      "metric": null,
      "target": null,
      "outcome": null,
      "result": null,
      "history": [],
      "comments": [],
      "labels": [
        "x"
      ]
    }
  ],
  "milestones": [],
  "risks": []
}
"""


def tiny_document(stories: bool = True) -> dict:
    return {
        "format": "planner-export",
        "version": 1,
        "project": {
            "key": "TINY",
            "name": "Tiny – ü",
            "timezone": "UTC",
            "working_days": [1, 2],
            "created_at": "2026-03-01T08:00:00Z",
        },
        "members": [{"email": "ana@example.com", "name": "Ana", "access": "manage", "roles": []}],
        "stories": [
            {
                "key": "TINY-1",
                "title": "One",
                "type": "bug",
                "points": 2,
                "status": "in_progress",
                "rank": 1,
                "created_at": "2026-03-02T10:00:00Z",
                "history": [
                    {
                        "at": "2026-03-03T10:00:00Z",
                        "field": "status",
                        "from": "todo",
                        "to": "in_progress",
                        "by": "ana@example.com",
                    }
                ],
                "comments": [
                    {"author": None, "at": "2026-03-03T11:00:00Z", "body": 'a "quote"\nand a line'}
                ],
            },
            {
                "key": "TINY-2",
                "title": "Two",
                "type": "chore",
                "status": "todo",
                "rank": 2,
                "created_at": "2026-03-02T10:00:00Z",
                "history": [],
                "labels": ["x"],
            },
        ]
        if stories
        else [],
    }


def test_the_streamed_export_is_exactly_the_documents_text(db_session):
    project = import_document(db_session, tiny_document(), hash_method=factories.HASH)
    db_session.commit()
    pieces = list(export_text(db_session, project))
    assert "".join(pieces) == EXPECTED_TINY
    assert len(pieces) > 2  # written story by story, not as one string


def test_the_streamed_export_of_a_project_without_stories(db_session):
    project = import_document(db_session, tiny_document(stories=False), hash_method=factories.HASH)
    db_session.commit()
    text = "".join(export_text(db_session, project))
    assert '\n  "sprints": [],\n  "stories": [],\n  "milestones": [],\n' in text
    assert json.loads(text)["stories"] == []


def test_import_and_export_progress_go_to_stderr_and_stdout_stays_the_file(
    app, db_session, tmp_path, monkeypatch
):
    monkeypatch.setattr(cli, "PROGRESS_LOG_SECONDS", 0.0)  # a line at every step
    runner = app.test_cli_runner()
    source = tmp_path / "small.json"
    source.write_text(json.dumps(small_document()))
    imported = runner.invoke(args=["import", str(source)])
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == "Imported project SMALL (Small).\n"
    assert "import: stories 3/3, events 7/7\n" in imported.stderr

    exported = runner.invoke(args=["export", "SMALL"])
    assert exported.exit_code == 0, exported.output
    project = db_session.scalar(select(Project).where(Project.key == "SMALL"))
    assert json.loads(exported.stdout) == export_project(db_session, project)
    assert "stories" not in exported.stdout.split('"stories"')[0]  # nothing before the JSON
    assert exported.stdout.startswith("{\n")
    assert exported.stderr.splitlines()[-1] == "export: stories 3/3, events 7/7"

    target = tmp_path / "out.json"
    to_file = runner.invoke(args=["export", "SMALL", "-o", str(target)])
    assert to_file.stdout == ""
    assert to_file.stderr.endswith("Wrote SMALL to " + str(target) + ".\n")
    assert target.read_text(encoding="utf-8") == exported.stdout


def test_a_quick_run_shows_no_progress(app, db_session, tmp_path):
    runner = app.test_cli_runner()
    source = tmp_path / "small.json"
    source.write_text(json.dumps(small_document()))
    imported = runner.invoke(args=["import", str(source)])
    assert imported.exit_code == 0, imported.output
    assert imported.stderr == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_one_line_rewritten():
    terminal = Terminal()
    progress = cli.Progress("import", {"stories": 2, "events": 3}, stream=terminal)
    progress.every = 0.0
    progress("stories", 2)
    progress("events", 3)
    progress.close()
    assert terminal.getvalue() == (
        "\rimport: stories 2/2, events 0/3\x1b[K"
        "\rimport: stories 2/2, events 3/3\x1b[K"
        "\rimport: stories 2/2, events 3/3\x1b[K\n"
    )


def test_bulk_writes_take_a_fixed_number_of_statements(app, db_session, count_queries):
    """Rows go in batches (COPY on PostgreSQL, executemany elsewhere), not one statement per
    row nor per shape of row: ten times the stories and events, the same statements."""
    with count_queries() as small:
        import_document(db_session, small_document(), hash_method=factories.HASH)
    db_session.rollback()
    larger = small_document()
    for n in range(5, 35):
        item = copy.deepcopy(larger["stories"][n % 3])
        item["key"] = f"SMALL-{n}"
        item.pop("imported_from", None)
        larger["stories"].append(item)
    with count_queries() as large:
        import_document(db_session, larger, hash_method=factories.HASH)
    db_session.rollback()
    assert large.count == small.count


def _mutations(value, path=()):
    """(path, replacement) for every node of `value` and a few values of the wrong shape."""
    odd = [None, True, False, 0, 1.0, 3, 2.5, -1, 10**400, "", "AB\n", "x" * 300, [], {}, {"x": 1}]
    odd += ["2026-02-30", [1, True], [1, 1.0]]
    # Whitespace to Python, not to ECMA 262 (U+001F, U+0085), and to both (U+3000).
    odd += ["\x1f", "\x85", "\u3000", "\x1c\x1d\x1e"]
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _mutations(item, (*path, key))
        yield (*path, "unknown_field"), 1
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _mutations(item, (*path, index))
    for replacement in odd:
        yield path, replacement


def _replaced(document, path, value):
    document = copy.deepcopy(document)
    if not path:
        return value
    node = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return document


def test_the_fast_shape_check_agrees_with_jsonschema():
    """The fast yes/no check may skip the validator only where the validator finds nothing."""
    schema = _validator().schema
    fast = _valid(schema)
    plain = _PlainValidator(schema)
    checked = 0
    for document in (full_document(), small_document()):
        for path, value in _mutations(document):
            candidate = _replaced(document, path, value)
            expected = not any(True for _ in plain.iter_errors(candidate))
            assert fast(candidate) == expected, (path, value)
            checked += 1
    assert checked > 1000


def test_python_whitespace_is_what_the_fast_check_is_told():
    """The fast check is given Python's `\\s` spelled out: the same characters as `re`'s."""
    import re

    from planner.interchange.schema import _python_space

    spaces = {chr(c) for c in range(0x110000) if re.match(r"\s", chr(c))}
    assert set(_python_space()) == spaces
    assert {"\x1c", "\x1f", "\x85", "\u3000", " "} <= spaces


@pytest.mark.parametrize("title", ["\x1f", "\x85", "\x1c \x1d", "\u3000"])
def test_a_title_of_whitespace_only_is_refused_where_it_is(title):
    """A story title must hold something other than whitespace, as Python reads whitespace
    (U+001F and U+0085 are whitespace to Python and not to ECMA 262)."""
    document = small_document()
    document["stories"][0]["title"] = title
    plan, problems = check_document(document)
    assert plan is None
    assert [(p.path, p.message) for p in problems] == [("$.stories[0].title", "must not be empty")]
