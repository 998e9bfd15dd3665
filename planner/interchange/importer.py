"""Import an interchange document: check everything, then write it all or nothing.

Import restores a project's recorded past, so it writes story rows with their history verbatim
(after `validate` has proven every field's chain of events consistent) rather than replaying edits
through `domain.stories`, which records new changes as they happen.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from planner.domain import DomainError, ValidationError
from planner.domain import projects as project_rules
from planner.domain.accounts import DEFAULT_HASH_METHOD, create_account, find_account
from planner.inputs import JSONInputError, parse_json
from planner.interchange import MAX_FILE_BYTES, ImportRefused, Problem
from planner.interchange.jsonfile import JSONFile, Stories
from planner.interchange.plan import Plan, RiskPlan, SprintPlan, StoryPlan
from planner.interchange.story_checks import StoryRefs
from planner.interchange.validate import (
    ReadWhole,
    check_after_stories,
    check_document,
    check_outline,
    checked_stories,
)
from planner.models import (
    Account,
    Comment,
    Epic,
    Label,
    Milestone,
    MilestoneForecast,
    Project,
    Risk,
    Sprint,
    SprintCapacity,
    Stage,
    Story,
    StoryEvent,
    risk_story,
    story_label,
    touch,
)
from planner.timeutil import local_start_of, utcnow

EPIC_NUMBER_RE = re.compile(r"^E(\d+)$")
# Rows handed to the database at a time by `bulk_insert` (and reported to `progress`).
BULK_CHUNK = 5000

Progress = Callable[[str, int], object]


def read_document(path: str | Path) -> Any:
    """Read a JSON file of at most MAX_FILE_BYTES; raise ImportRefused with a readable problem
    when it cannot be imported."""
    return parse_document(read_upload(path, MAX_FILE_BYTES))


def read_upload(path: str | Path, limit: int) -> bytes:
    """Read a file of at most `limit` bytes; raise ImportRefused saying why it cannot be read."""
    return _read_file(path, limit, limit + 1)


def read_head(path: str | Path, limit: int, size: int = 4096) -> bytes:
    """The first `size` bytes of a file, refused as `read_upload` refuses it before reading
    (no such file, a folder, unreadable, over `limit` bytes by its size)."""
    return _read_file(path, limit, min(size, limit + 1))


def _read_file(path: str | Path, limit: int, size: int) -> bytes:
    # Read one byte past the limit: a file that grows, or a device whose size says 0 (like
    # /dev/zero), is refused too instead of being read into memory.
    with _source(Path(path), limit) as stream:
        data = _read_at_most(stream, size)
    if len(data) > limit:
        raise ImportRefused([_too_large(None, limit)])
    return data


@contextmanager
def _source(path: Path, limit: int) -> Iterator[BinaryIO]:
    """The file at `path` open for reading; ImportRefused saying why when it cannot be (no such
    file, a folder, unreadable, over `limit` bytes by its size)."""
    try:
        check_size(b"", limit, size=path.stat().st_size)
        with path.open("rb") as stream:
            yield stream
    except FileNotFoundError:
        raise ImportRefused([Problem("$", f"no file at {path}")]) from None
    except IsADirectoryError:
        raise ImportRefused([Problem("$", f"{path} is a folder, not a file")]) from None
    except OSError as exc:
        raise ImportRefused([Problem("$", f"cannot read {path}: {exc.strerror}")]) from None


@contextmanager
def private_copy(path: str | Path, limit: int) -> Iterator[Path]:
    """A copy of the file at `path` (at most `limit` bytes, refused as `read_upload` refuses),
    in a temporary folder of this process's own, removed afterwards. A streamed import reads its
    file several times: from the copy, every reading reads the same bytes, even when the file is
    a pipe (`/dev/stdin`) or is replaced or rewritten while the import runs. Copied a megabyte
    at a time, so it needs no more memory than that."""
    with tempfile.TemporaryDirectory(prefix="planner-import-") as folder:
        copy = Path(folder) / "import"
        with _source(Path(path), limit) as stream, copy.open("wb") as target:
            copied = 0
            while chunk := stream.read(2**20):
                copied += len(chunk)
                if copied > limit:
                    raise ImportRefused([_too_large(None, limit)])
                target.write(chunk)
        yield copy


def _read_at_most(stream, size: int) -> bytes:
    """Read up to `size` bytes a megabyte at a time: `read(size)` would set aside all of `size`
    (50 MB) at once, however small the file."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        part = stream.read(min(left, 2**20))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def check_size(data: bytes, limit: int, *, size: int | None = None) -> bytes:
    """Return `data` when it (or `size`) is within `limit` bytes; else raise ImportRefused."""
    size = len(data) if size is None else size
    if size > limit:
        raise ImportRefused([_too_large(size, limit)])
    return data


def _too_large(size: int | None, limit_bytes: int = MAX_FILE_BYTES) -> Problem:
    limit = f"{limit_bytes / 2**20:g} MB ({limit_bytes:,} bytes)"
    found = f"is {size / 2**20:.1f} MB ({size:,} bytes)" if size is not None else "is larger"
    return Problem("$", f"the file {found}; planner imports files of at most {limit}")


def parse_document(data: str | bytes) -> Any:
    """Parse JSON with planner's one reader (depth, duplicate keys, NUL and unpaired surrogates
    refused); raise ImportRefused saying what and where."""
    try:
        return parse_json(data)
    except JSONInputError as exc:
        raise ImportRefused([Problem(exc.path, exc.message)]) from None


def import_document(
    session: Session,
    document: Any,
    *,
    hash_method: str = DEFAULT_HASH_METHOD,
    progress: Progress | None = None,
) -> Project:
    """Check `document` and write the project it describes; raise ImportRefused on any problem.

    The caller commits, or rolls back on ImportRefused (when only writing failed, part of the
    project may be in the session). `progress(part, rows)` is called as stories and events
    are written, with the number of rows written since the last call.
    """
    existing = set(session.scalars(select(Project.key)))
    plan, problems = check_document(document, existing_project_keys=existing)
    if plan is None:
        raise ImportRefused(problems)
    return _writing(lambda: write_plan(session, plan, hash_method=hash_method, progress=progress))


def _writing(write: Callable[[], Project]) -> Project:
    """Run `write`, turning a rule the domain refuses into ImportRefused."""
    try:
        return write()
    except ValidationError as exc:
        # check_document applies the rules the domain does, so this is a safety net: a rule
        # added to the domain alone still ends in the problem list, not a traceback.
        raise ImportRefused(
            [Problem("$", f"{field}: {message}") for field, message in exc.errors.items()]
        ) from None
    except DomainError as exc:
        raise ImportRefused([Problem("$", exc.message)]) from None


# --- a file, read in parts --------------------------------------------------------------------
# `planner import` reads a file three times rather than holding it: once for everything but the
# stories, once to check the stories one at a time, keeping only their numbers and label names,
# and, once checked, to write the stories (story rows first: the events need their ids) and then
# their events, comments and labels, again one story at a time. Memory grows with the stories'
# count (their numbers and ids), not with their history. Any doubt in the first two readings
# (a problem, or what the part-wise reader cannot vouch for) sends the file down the path of a
# whole document instead, which reports the problems exactly as it always has.


@dataclass
class CheckedFile:
    """What `check_file` found importable. `path` is None when the file was read whole: `plan`
    then holds everything; else `plan` holds all but the stories, which are read again."""

    plan: Plan
    stories: int
    events: int
    path: Path | None = None
    refs: StoryRefs | None = None
    digest: str = ""
    labels: list[str] = field(default_factory=list)
    latest: datetime | None = None


def check_file(
    session: Session, path: str | Path, *, read_whole: Callable[[], Any] | None = None
) -> CheckedFile:
    """Check the planner-export file at `path` for import, a story at a time when it can be;
    raise ImportRefused with every problem when it cannot be imported.

    `read_whole()` returns the parsed document (or raises ImportRefused) for the files that
    are checked whole; by default `read_document(path)`.
    """
    existing = set(session.scalars(select(Project.key)))
    try:
        return _check_in_parts(Path(path), existing)
    except ReadWhole:
        pass
    document = read_whole() if read_whole is not None else read_document(path)
    plan, problems = check_document(document, existing_project_keys=existing)
    if plan is None:
        raise ImportRefused(problems)
    return CheckedFile(plan, len(plan.stories), sum(len(s.history) for s in plan.stories))


def _check_in_parts(path: Path, existing: set[str]) -> CheckedFile:
    first = JSONFile(path, MAX_FILE_BYTES)
    outline = {key: value for key, value in first.entries() if not isinstance(value, Stories)}
    plan, refs = check_outline(outline, existing_project_keys=existing)
    checked = CheckedFile(plan, 0, 0, path=path, refs=refs, digest=first.digest)
    numbers: set[int] = set()
    labels: set[str] = set()
    second = JSONFile(path, MAX_FILE_BYTES)
    for _, value in second.entries():
        if isinstance(value, Stories):
            for story in checked_stories(refs, value):
                checked.stories += 1
                checked.events += len(story.history)
                numbers.add(story.number)
                labels.update(story.labels)
                moment = max(_moments(story))
                if checked.latest is None or moment > checked.latest:
                    checked.latest = moment
    if second.digest != first.digest:
        raise ReadWhole  # it changed between the readings
    check_after_stories(plan, outline, numbers)
    checked.labels = sorted(labels)
    return checked


def write_checked(
    session: Session,
    checked: CheckedFile,
    *,
    hash_method: str = DEFAULT_HASH_METHOD,
    progress: Progress | None = None,
) -> Project:
    """Write what `check_file` checked in the session's transaction and return the new project.
    The caller commits, or rolls back on ImportRefused (raised too when the file changed after
    it was checked)."""
    if checked.path is None:
        return _writing(
            lambda: write_plan(session, checked.plan, hash_method=hash_method, progress=progress)
        )
    return _writing(lambda: _write_in_parts(session, checked, hash_method, progress))


def _write_in_parts(
    session: Session, checked: CheckedFile, hash_method: str, progress: Progress | None
) -> Project:
    plan = checked.plan
    writer = _PlanWriter(session, plan, hash_method=hash_method)
    bulk_insert(
        session,
        Story.__table__,
        (writer.story_row(s) for s in _stories_again(checked)),
        progress=progress and (lambda n: progress("stories", n)),
    )
    writer.stories_written()
    if checked.labels:
        writer.labels(checked.labels)
    batches = _Batches(session)
    events = progress and (lambda n: progress("events", n))
    try:
        for s in _stories_again(checked):
            batches.add(StoryEvent.__table__, writer.event_rows(s), events)
            batches.add(Comment.__table__, writer.comment_rows(s))
            batches.add(story_label, writer.label_rows(s))
    except KeyError:
        # a story or label the checked file did not have: the file changed in between (the
        # digest says so only at the end of the reading)
        raise _changed(checked.path) from None
    batches.close()
    touch(session, [writer.project.id])
    latest = [checked.latest] if checked.latest is not None else []
    writer.risks(plan.risks, _latest([], plan.sprints, latest))
    return writer.project


def _stories_again(checked: CheckedFile) -> Iterator[StoryPlan]:
    """The stories' plans, from the file read once more; ImportRefused when it is not the file
    that was checked."""
    reader = JSONFile(checked.path, MAX_FILE_BYTES)
    try:
        for _, value in reader.entries():
            if isinstance(value, Stories):
                yield from checked_stories(checked.refs, value)
    except ReadWhole:
        raise _changed(checked.path) from None
    if reader.digest != checked.digest:
        raise _changed(checked.path)


def _changed(path: Path) -> ImportRefused:
    return ImportRefused(
        [Problem("$", f"{path} changed while it was being imported; import it again")]
    )


class _Batches:
    """Rows for several tables, each written by `bulk_insert` when BULK_CHUNK of them wait."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: dict[Table, list[dict[str, Any]]] = {}
        self.progress: dict[Table, Callable[[int], object] | None] = {}

    def add(
        self,
        table: Table,
        rows: Iterable[dict[str, Any]],
        progress: Callable[[int], object] | None = None,
    ) -> None:
        waiting = self.rows.setdefault(table, [])
        self.progress.setdefault(table, progress)
        for row in rows:
            waiting.append(row)
            if len(waiting) >= BULK_CHUNK:
                self._write(table)
                waiting = self.rows[table]

    def close(self) -> None:
        for table, waiting in self.rows.items():
            if waiting:
                self._write(table)

    def _write(self, table: Table) -> None:
        bulk_insert(self.session, table, self.rows[table], progress=self.progress[table])
        self.rows[table] = []


def write_plan(
    session: Session,
    plan: Plan,
    *,
    hash_method: str = DEFAULT_HASH_METHOD,
    progress: Progress | None = None,
) -> Project:
    """Write a checked plan in the session's transaction and return the new project."""
    writer = _PlanWriter(session, plan, hash_method=hash_method)
    now = _latest(plan.stories, plan.sprints)
    # Stories, their history, comments and labels are most of a big project: they go in as
    # uniform rows (every row the same columns, None written out) by `bulk_insert`, COPY on
    # PostgreSQL, one executemany elsewhere; ids come from the tables' sequences as always.
    bulk_insert(
        session,
        Story.__table__,
        (writer.story_row(s) for s in plan.stories),
        progress=progress and (lambda n: progress("stories", n)),
    )
    writer.stories_written()
    bulk_insert(
        session,
        StoryEvent.__table__,
        (row for s in plan.stories for row in writer.event_rows(s)),
        progress=progress and (lambda n: progress("events", n)),
    )
    bulk_insert(
        session,
        Comment.__table__,
        (row for s in plan.stories for row in writer.comment_rows(s)),
    )
    # The rows above bypass the session's hooks, so say the project changed ourselves (its
    # change_version goes up once at commit; it does anyway, as a new project).
    touch(session, [writer.project.id])
    names = sorted({name for s in plan.stories for name in s.labels})
    if names:
        writer.labels(names)
        bulk_insert(
            session,
            story_label,
            (row for s in plan.stories for row in writer.label_rows(s)),
        )
    writer.risks(plan.risks, now)
    return writer.project


def _latest(
    stories: Iterable[StoryPlan], sprints: Iterable[SprintPlan], more: Iterable[datetime] = ()
) -> datetime:
    """The last moment the document records, or now when it records none. Risks carry no
    timestamps in the format: they are dated at it, so "last change" on the dashboard reflects
    the team's history, not the import."""
    recorded = [moment for s in stories for moment in _moments(s)]
    recorded += [t for sp in sprints for t in (sp.started_at, sp.closed_at) if t]
    recorded += more
    return max(recorded, default=None) or utcnow()


def _moments(story: StoryPlan) -> list[datetime]:
    return [story.created_at, *(e.at for e in story.history), *(c.at for c in story.comments)]


class _PlanWriter:
    """Writes a checked plan: the project and the small parts at once, then the rows of its
    stories as it is given them (all at once, or story by story from a file)."""

    def __init__(self, session: Session, plan: Plan, *, hash_method: str) -> None:
        self.session = session
        project = project_rules.create_project(
            session,
            key=plan.key,
            name=plan.name,
            description=plan.description,
            timezone=plan.timezone,
            working_days=plan.working_days,
            holidays=plan.holidays,
            sprint_length_days=plan.sprint_length_days,
            slip_tolerance_days=plan.slip_tolerance_days,
            stages=[(stage.key, stage.name) for stage in plan.stages],
        )
        if plan.created_at is not None:
            project.created_at = plan.created_at
        stages: dict[str, Stage] = {
            stage.key: stage
            for stage in session.scalars(select(Stage).where(Stage.project_id == project.id))
        }
        for stage_plan in plan.stages:
            stages[stage_plan.key].archived = stage_plan.archived

        accounts: dict[str, Account] = {}
        for member in plan.members:
            account = find_account(session, member.email)
            if account is None:
                account = create_account(
                    session,
                    email=member.email,
                    name=member.name,
                    password=None,
                    hash_method=hash_method,
                )
            accounts[member.email] = account
            project_rules.add_member(
                session, project, account, access=member.access, roles=member.roles
            )

        def account_id(email: str | None) -> int | None:
            return accounts[email].id if email is not None else None

        milestones: dict[str, Milestone] = {}
        for m in plan.milestones:
            milestone = Milestone(
                project_id=project.id,
                name=m.name,
                description=m.description,
                stage_id=stages[m.stage].id if m.stage else None,
                baseline=m.baseline,
                achieved=m.achieved,
            )
            milestone.forecasts = [
                MilestoneForecast(
                    reported_on=f.reported_on,
                    forecast=f.forecast,
                    note=f.note,
                    by_id=account_id(f.by),
                    # The format keeps the report day, not the instant: take its local midday.
                    created_at=local_start_of(f.reported_on, plan.timezone) + timedelta(hours=12),
                )
                for f in m.forecasts
            ]
            session.add(milestone)
            milestones[m.name] = milestone

        epics: dict[str, Epic] = {}
        for e in plan.epics:
            epic = Epic(
                project_id=project.id,
                key=e.key,
                title=e.title,
                description=e.description,
                stage_id=stages[e.stage].id if e.stage else None,
                archived=e.archived,
                external_ref=e.imported_from,
            )
            if e.milestone:
                epic.milestone = milestones[e.milestone]
            session.add(epic)
            epics[e.key] = epic
        project.epic_counter = max(
            (int(m.group(1)) for key in epics if (m := EPIC_NUMBER_RE.match(key))), default=0
        )

        sprints: dict[str, Sprint] = {}
        for s in plan.sprints:
            sprint = Sprint(
                project_id=project.id,
                name=s.name,
                goal=s.goal,
                start_date=s.start,
                end_date=s.end,
                state=s.state,
                started_at=s.started_at,
                closed_at=s.closed_at,
                imported_at=s.imported_at,
                external_ref=s.imported_from,
            )
            sprint.capacities = [
                SprintCapacity(account_id=account_id(email), points=points)
                for email, points in s.capacity
            ]
            session.add(sprint)
            sprints[s.name] = sprint
        session.flush()  # the rows below refer to the project, sprints, epics and accounts
        self.project = project
        # Plain ids from here on: an attribute of an ORM object costs more, row after row.
        self.project_id = project.id
        self.account_ids = {email: account.id for email, account in accounts.items()}
        self.stage_ids = {key: stage.id for key, stage in stages.items()}
        self.sprint_ids = {name: sprint.id for name, sprint in sprints.items()}
        self.epic_ids = {key: epic.id for key, epic in epics.items()}
        self.milestone_ids = {name: milestone.id for name, milestone in milestones.items()}
        self.story_id: dict[int, int] = {}
        self.label_id: dict[str, int] = {}

    def account_id(self, email: str | None) -> int | None:
        return self.account_ids[email] if email is not None else None

    def encode(self, field: str, value: Any) -> str | None:
        if value is None:
            return None
        if field == "sprint":
            return str(self.sprint_ids[value])
        if field == "assignee":
            return str(self.account_ids[value])
        return str(value)

    def story_row(self, s: StoryPlan) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "number": s.number,
            "title": s.title,
            "description": s.description,
            "type": s.type,
            "stage_id": self.stage_ids[s.stage] if s.stage else None,
            "role": s.role,
            "points": s.points,
            "status": s.status,
            "rank": s.rank,
            "assignee_id": self.account_id(s.assignee),
            "sprint_id": self.sprint_ids[s.sprint] if s.sprint else None,
            "epic_id": self.epic_ids[s.epic] if s.epic else None,
            "blocked": s.blocked,
            "hypothesis": s.hypothesis,
            "metric": s.metric,
            "target": s.target,
            "outcome": s.outcome,
            "result": s.result,
            "version": 1,
            "created_by_id": None,
            "created_at": s.created_at,
            "updated_at": max([s.created_at, *(event.at for event in s.history)]),
            "updated_by_id": None,
            "external_ref": s.imported_from,
            "imported_at": s.imported_at,
            "external_updated": s.source_updated,
            "external_snapshot": s.source_fields,
        }

    def stories_written(self) -> None:
        """Learn the ids the sequence gave the stories just written, in one query."""
        story_table = Story.__table__
        self.story_id = dict(
            self.session.execute(
                select(story_table.c.number, story_table.c.id).where(
                    story_table.c.project_id == self.project_id
                )
            ).all()
        )
        self.project.story_counter = max(self.story_id, default=0)

    def event_rows(self, s: StoryPlan) -> Iterator[dict[str, Any]]:
        story_id = self.story_id[s.number]
        for event in s.history:
            yield {
                "story_id": story_id,
                "field": event.field,
                "from_value": self.encode(event.field, event.from_value),
                "to_value": self.encode(event.field, event.to_value),
                "at": event.at,
                "by_id": self.account_id(event.by),
            }

    def comment_rows(self, s: StoryPlan) -> Iterator[dict[str, Any]]:
        story_id = self.story_id[s.number]
        for comment in s.comments:
            yield {
                "story_id": story_id,
                "author_id": self.account_id(comment.author),
                "body": comment.body,
                "created_at": comment.at,
            }

    def labels(self, names: list[str]) -> None:
        """Write the project's labels (sorted names) and learn their ids."""
        self.session.execute(
            insert(Label), [{"project_id": self.project_id, "name": n} for n in names]
        )
        self.label_id = dict(
            self.session.execute(
                select(Label.name, Label.id).where(Label.project_id == self.project_id)
            ).all()
        )

    def label_rows(self, s: StoryPlan) -> Iterator[dict[str, Any]]:
        story_id = self.story_id[s.number]
        for name in s.labels:
            yield {"story_id": story_id, "label_id": self.label_id[name]}

    def risks(self, risks: list[RiskPlan], now: datetime) -> None:
        session = self.session
        for r in risks:
            risk = Risk(
                project_id=self.project_id,
                title=r.title,
                description=r.description,
                category=r.category,
                likelihood=r.likelihood,
                impact=r.impact,
                owner_id=self.account_id(r.owner),
                mitigation=r.mitigation,
                status=r.status,
                milestone_id=self.milestone_ids[r.milestone] if r.milestone else None,
                review_on=r.review_on,
                created_at=now,
                updated_at=now,
            )
            session.add(risk)
            session.flush()
            if r.stories:
                session.execute(
                    insert(risk_story),
                    [{"risk_id": risk.id, "story_id": self.story_id[n]} for n in r.stories],
                )
        session.flush()


def bulk_insert(
    session: Session,
    table: Table,
    rows: Iterable[dict[str, Any]],
    *,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Insert `rows` (dicts with the same keys, None written out) into `table` in the session's
    transaction, `BULK_CHUNK` at a time; return how many.

    On PostgreSQL through psycopg 3 the rows go in by COPY; elsewhere by one executemany per
    chunk: uniform rows are what lets SQLAlchemy batch them (rows with different keys would be
    split into one statement per key set). Values pass through the columns' own bind
    processing either way, so they are stored exactly as an ORM insert stores them. Neither
    path runs ORM hooks: the caller does what those would have done.
    """
    total = 0
    connection = session.connection()
    copying = connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"
    for chunk in _chunks(rows, BULK_CHUNK):
        if copying:
            _copy(connection, table, chunk)
        else:
            connection.execute(insert(table), chunk)
        total += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return total


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _copy(connection, table: Table, rows: list[dict[str, Any]]) -> None:
    names = list(rows[0])
    dialect = connection.dialect
    processors = [table.c[name].type.bind_processor(dialect) for name in names]
    columns = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN"
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(
                        [
                            row[name] if process is None else process(row[name])
                            for name, process in zip(names, processors, strict=True)
                        ]
                    )
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy reports the driver's errors (IntegrityError, ...), so callers catch
        # one kind whichever path wrote the rows.
        raise DBAPIError.instance(
            statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
