"""Import an interchange document: check everything, then write it all or nothing.

Import restores a project's recorded past, so it writes story rows with their history verbatim
(after `validate` has proven every field's chain of events consistent) rather than replaying edits
through `domain.stories`, which records new changes as they happen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from planner.domain import DomainError, ValidationError
from planner.domain import projects as project_rules
from planner.domain.accounts import DEFAULT_HASH_METHOD, create_account, find_account
from planner.inputs import JSONInputError, parse_json
from planner.interchange import MAX_FILE_BYTES, ImportRefused, Problem
from planner.interchange.plan import Plan
from planner.interchange.validate import check_document
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
    path = Path(path)
    try:
        check_size(b"", limit, size=path.stat().st_size)
        # Read one byte past the limit: a file that grows, or a device whose size says 0 (like
        # /dev/zero), is refused too instead of being read into memory.
        with path.open("rb") as stream:
            data = _read_at_most(stream, limit + 1)
    except FileNotFoundError:
        raise ImportRefused([Problem("$", f"no file at {path}")]) from None
    except IsADirectoryError:
        raise ImportRefused([Problem("$", f"{path} is a folder, not a file")]) from None
    except OSError as exc:
        raise ImportRefused([Problem("$", f"cannot read {path}: {exc.strerror}")]) from None
    if len(data) > limit:
        raise ImportRefused([_too_large(None, limit)])
    return data


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
    try:
        return write_plan(session, plan, hash_method=hash_method, progress=progress)
    except ValidationError as exc:
        # check_document applies the rules the domain does, so this is a safety net: a rule
        # added to the domain alone still ends in the problem list, not a traceback.
        raise ImportRefused(
            [Problem("$", f"{field}: {message}") for field, message in exc.errors.items()]
        ) from None
    except DomainError as exc:
        raise ImportRefused([Problem("$", exc.message)]) from None


def write_plan(
    session: Session,
    plan: Plan,
    *,
    hash_method: str = DEFAULT_HASH_METHOD,
    progress: Progress | None = None,
) -> Project:
    """Write a checked plan in the session's transaction and return the new project."""
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
    session.flush()

    def encode(field: str, value: Any) -> str | None:
        if value is None:
            return None
        if field == "sprint":
            return str(sprints[value].id)
        if field == "assignee":
            return str(accounts[value].id)
        return str(value)

    # Risks carry no timestamps in the format: date them at the last moment the document
    # records, so "last change" on the dashboard reflects the team's history, not the import.
    recorded = [s.created_at for s in plan.stories]
    recorded += [e.at for s in plan.stories for e in s.history]
    recorded += [c.at for s in plan.stories for c in s.comments]
    recorded += [t for sp in plan.sprints for t in (sp.started_at, sp.closed_at) if t]
    now = max(recorded, default=None) or utcnow()
    session.flush()  # the rows below refer to the project, sprints, epics and accounts
    # Plain ids from here on: an attribute of an ORM object costs more, row after row.
    account_ids = {email: account.id for email, account in accounts.items()}

    def account_id(email: str | None) -> int | None:
        return account_ids[email] if email is not None else None

    # Stories, their history, comments and labels are most of a big project: they go in as
    # uniform rows (every row the same columns, None written out) by `bulk_insert`, COPY on
    # PostgreSQL, one executemany elsewhere; ids come from the tables' sequences as always.
    story_table = Story.__table__
    bulk_insert(
        session,
        story_table,
        (
            {
                "project_id": project.id,
                "number": s.number,
                "title": s.title,
                "description": s.description,
                "type": s.type,
                "stage_id": stages[s.stage].id if s.stage else None,
                "role": s.role,
                "points": s.points,
                "status": s.status,
                "rank": s.rank,
                "assignee_id": account_id(s.assignee),
                "sprint_id": sprints[s.sprint].id if s.sprint else None,
                "epic_id": epics[s.epic].id if s.epic else None,
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
            for s in plan.stories
        ),
        progress=progress and (lambda n: progress("stories", n)),
    )
    # One query for the ids the sequence gave the stories just written.
    story_id: dict[int, int] = dict(
        session.execute(
            select(story_table.c.number, story_table.c.id).where(
                story_table.c.project_id == project.id
            )
        ).all()
    )
    project.story_counter = max(story_id, default=0)

    bulk_insert(
        session,
        StoryEvent.__table__,
        (
            {
                "story_id": story_id[s.number],
                "field": event.field,
                "from_value": encode(event.field, event.from_value),
                "to_value": encode(event.field, event.to_value),
                "at": event.at,
                "by_id": account_id(event.by),
            }
            for s in plan.stories
            for event in s.history
        ),
        progress=progress and (lambda n: progress("events", n)),
    )
    bulk_insert(
        session,
        Comment.__table__,
        (
            {
                "story_id": story_id[s.number],
                "author_id": account_id(comment.author),
                "body": comment.body,
                "created_at": comment.at,
            }
            for s in plan.stories
            for comment in s.comments
        ),
    )
    # The rows above bypass the session's hooks, so say the project changed ourselves (its
    # change_version goes up once at commit; it does anyway, as a new project).
    touch(session, [project.id])
    names = sorted({name for s in plan.stories for name in s.labels})
    if names:
        session.execute(insert(Label), [{"project_id": project.id, "name": n} for n in names])
        label_id = dict(
            session.execute(
                select(Label.name, Label.id).where(Label.project_id == project.id)
            ).all()
        )
        bulk_insert(
            session,
            story_label,
            (
                {"story_id": story_id[s.number], "label_id": label_id[name]}
                for s in plan.stories
                for name in s.labels
            ),
        )

    for r in plan.risks:
        risk = Risk(
            project_id=project.id,
            title=r.title,
            description=r.description,
            category=r.category,
            likelihood=r.likelihood,
            impact=r.impact,
            owner_id=account_id(r.owner),
            mitigation=r.mitigation,
            status=r.status,
            milestone_id=milestones[r.milestone].id if r.milestone else None,
            review_on=r.review_on,
            created_at=now,
            updated_at=now,
        )
        session.add(risk)
        session.flush()
        if r.stories:
            session.execute(
                insert(risk_story),
                [{"risk_id": risk.id, "story_id": story_id[n]} for n in r.stories],
            )
    session.flush()
    return project


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
