"""`planner import` reads a planner-export file a part at a time (issue 16): the same rows as the
whole-document import, the same problems for bad files (which are checked whole), nothing
written when the file changes half-way, and a peak of memory that does not grow with the number
of history events. Run on SQLite and, with PLANNER_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import copy
import json
import os
import threading
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select

from planner.interchange import ImportRefused
from planner.interchange.export import export_project
from planner.interchange.importer import (
    check_file,
    import_document,
    parse_document,
    write_checked,
)
from planner.interchange.validate import check_document
from planner.models import Project, Sprint, Story, StoryEvent
from tests import factories
from tests.benchmarks.burndown import document as burndown_document
from tests.samples import full_document, normalised
from tests.test_bulk_import import _mutations, _replaced, renamed, row_counts, small_document


def import_file(session, path):
    checked = check_file(session, path)
    project = write_checked(session, checked, hash_method=factories.HASH)
    return checked, project


def events_of(session, project) -> list[tuple]:
    """The project's events in id order, sprints by name (their ids differ between projects)."""
    sprint = {
        str(id_): name
        for id_, name in session.execute(
            select(Sprint.id, Sprint.name).where(Sprint.project_id == project.id)
        )
    }

    def named(field, value):
        return sprint[value] if field == "sprint" and value is not None else value

    return [
        (number, field, named(field, old), named(field, new), at, by)
        for number, field, old, new, at, by in session.execute(
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
        )
    ]


@pytest.mark.parametrize("make", [small_document, full_document], ids=["small", "full"])
def test_a_file_read_in_parts_writes_what_the_whole_document_writes(db_session, tmp_path, make):
    whole = import_document(db_session, make(), hash_method=factories.HASH)
    db_session.commit()
    path = tmp_path / "in.json"
    path.write_text(json.dumps(renamed(make(), "PARTS")), encoding="utf-8")
    checked, parts = import_file(db_session, path)
    db_session.commit()
    assert checked.path is not None  # read in parts, not whole
    document = make()
    assert checked.stories == len(document["stories"])
    assert checked.events == sum(len(s.get("history") or []) for s in document["stories"])
    exported = renamed(export_project(db_session, parts), whole.key)
    assert normalised(exported) == normalised(export_project(db_session, whole))
    assert events_of(db_session, parts) == events_of(db_session, whole)
    assert parts.story_counter == whole.story_counter


def problems_of_file(session, path) -> list[tuple[str, str]]:
    with pytest.raises(ImportRefused) as refused:
        check_file(session, path)
    return [(p.path, p.message) for p in refused.value.problems]


def problems_of_whole(session, data: bytes) -> list[tuple[str, str]]:
    try:
        document = parse_document(data)
    except ImportRefused as exc:
        return [(p.path, p.message) for p in exc.problems]
    plan, problems = check_document(document)
    assert plan is None
    return [(p.path, p.message) for p in problems]


BAD_TEXTS = {
    "duplicate key in a story": lambda t: t.replace('"rank": 10', '"rank": 10, "rank": 11'),
    "duplicate top-level key": lambda t: t.replace('"epics":', '"stories": [], "epics":'),
    "NaN in a story": lambda t: t.replace('"rank": 10', '"rank": NaN'),
    "NUL in an event": lambda t: t.replace('"to": "S1"', '"to": "S\\u0000"'),
    "lone surrogate in a key": lambda t: t.replace('"rank": 10', '"\\ud800": 10'),
    "nested too deep in a story": lambda t: t.replace(
        '"rank": 10', '"rank": ' + "[" * 31 + "]" * 31
    ),
    "trailing data": lambda t: t + " {}",
    "cut short": lambda t: t[: len(t) // 2],
    "a story that is not an object": lambda t: t.replace('"stories": [', '"stories": [1, '),
    "history out of order": lambda t: t.replace("2026-03-10T15:00:00Z", "2026-03-02T07:00:00Z"),
    "unknown sprint in an event": lambda t: t.replace('"to": "S1"', '"to": "S9"'),
    "two stories with one key": lambda t: t.replace('"SMALL-4"', '"SMALL-2"'),
}


@pytest.mark.parametrize("spoil", BAD_TEXTS.values(), ids=BAD_TEXTS.keys())
def test_a_bad_file_has_the_problems_of_the_whole_document(db_session, tmp_path, spoil):
    text = spoil(json.dumps(small_document()))
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    found = problems_of_file(db_session, path)
    assert found  # every spoiled text above has a problem
    assert found == problems_of_whole(db_session, text.encode())


def test_shape_and_meaning_problems_are_those_of_the_whole_document(db_session, tmp_path):
    """A sample of the mutations the fast shape check is tested with, each as a file."""
    document = small_document()
    path = tmp_path / "mutated.json"
    compared = 0
    for n, (where, value) in enumerate(_mutations(document)):
        if n % 7:
            continue
        candidate = _replaced(document, where, value)
        data = json.dumps(candidate).encode()
        path.write_bytes(data)
        expected = problems_of_whole(db_session, data) if _refused(candidate) else None
        if expected is None:
            assert check_file(db_session, path).stories >= 0
        else:
            assert problems_of_file(db_session, path) == expected, (where, value)
        compared += 1
    assert compared > 100


def _refused(document) -> bool:
    return check_document(copy.deepcopy(document))[0] is None


def assert_refused_as_changed(db_session, path, change, *, while_writing: bool) -> None:
    """Check the small document at `path`, apply `change` to a copy of it, write that copy over
    the file (after the check, or once the story rows are written), then write what was
    checked: refused as changed, nothing kept."""
    before = row_counts(db_session)
    path.write_text(json.dumps(small_document()), encoding="utf-8")
    checked = check_file(db_session, path)
    changed = small_document()
    change(changed)

    def rewrite() -> None:
        path.write_text(json.dumps(changed), encoding="utf-8")

    def progress(part: str, rows: int) -> None:
        if part == "stories":
            rewrite()

    if not while_writing:
        rewrite()
    with pytest.raises(ImportRefused) as refused:
        write_checked(
            db_session,
            checked,
            hash_method=factories.HASH,
            progress=progress if while_writing else None,
        )
    assert [(p.path, p.message) for p in refused.value.problems] == [
        ("$", f"{path} changed while it was being imported; import it again")
    ]
    db_session.rollback()
    assert row_counts(db_session) == before


def test_a_file_changed_after_it_was_checked_writes_nothing(db_session, tmp_path):
    def retitle(document):
        document["stories"][1]["title"] = "Tidy the notebooks"

    assert_refused_as_changed(db_session, tmp_path / "in.json", retitle, while_writing=False)


def test_a_file_changed_while_its_stories_are_written_writes_nothing(db_session, tmp_path):
    # The change lands after the story rows are written and before the file is read again for
    # their events: a label the checked file did not have is found first, not the digest.
    def relabel(document):
        document["stories"][0]["labels"] = ["brand-new-label"]

    assert_refused_as_changed(db_session, tmp_path / "in.json", relabel, while_writing=True)


def peak_of_import(session, path) -> int:
    tracemalloc.start()
    try:
        import_file(session, path)
        session.commit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_events(db_session, tmp_path):
    """200 stories with 25 events each (5,000) and with 200 each (40,000), in files of 0.6 and
    4.6 MB. Held whole, 35,000 more events cost over 20 MB (about 600 bytes each as parsed
    JSON, more as plans and rows). Read in parts, what grows is the largest story (200 events
    instead of 25, about 0.2 MB parsed and planned); the rows waiting to be written are at most
    BULK_CHUNK (5,000) events in both. So the bigger file's peak may exceed the smaller's by
    1 MB at most."""
    paths = {}
    for key, per_story in (("WARM", 2), ("SMALL", 25), ("LARGE", 200)):
        document = burndown_document(200, per_story)
        paths[key] = tmp_path / f"{key}.json"
        paths[key].write_text(json.dumps(renamed(document, key)), encoding="utf-8")
    import_file(db_session, paths["WARM"])  # caches filled, not measured
    db_session.commit()
    small = peak_of_import(db_session, paths["SMALL"])
    large = peak_of_import(db_session, paths["LARGE"])
    written = db_session.scalar(
        select(func.count(StoryEvent.id))
        .join(Story, Story.id == StoryEvent.story_id)
        .join(Project, Project.id == Story.project_id)
        .where(Project.key == "LARGE")
    )
    assert written == 40_000
    assert large - small < 2**20, (small, large)


def _through_a_pipe(tmp_path, data: bytes):
    """A FIFO that a thread fills with `data` once it is opened, as `cat file | planner import
    /dev/stdin` gives planner a pipe it can read only once."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def fill() -> None:
        with fifo.open("wb") as stream:
            stream.write(data)

    thread = threading.Thread(target=fill, daemon=True)
    thread.start()
    return fifo, thread


def test_a_file_read_from_a_pipe_imports(app, db_session, tmp_path):
    fifo, thread = _through_a_pipe(tmp_path, json.dumps(full_document()).encode())
    result = app.test_cli_runner().invoke(args=["import", str(fifo)])
    thread.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert "Imported project CHURN (Churn prediction)." in result.output
    assert db_session.scalar(select(func.count(Story.id))) == len(full_document()["stories"])


def test_a_jira_csv_read_from_a_pipe_imports(app, db_session, team, tmp_path):
    source = Path(__file__).parent / "fixtures" / "jira" / "cloud.csv"
    fifo, thread = _through_a_pipe(tmp_path, source.read_bytes())
    args = ["import", str(fifo), "--project", "FRAUD", "--timezone", "UTC", "--dry-run"]
    result = app.test_cli_runner().invoke(args=args)
    thread.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "14 issues" in result.output
    assert db_session.scalar(select(func.count(Story.id))) == 0
