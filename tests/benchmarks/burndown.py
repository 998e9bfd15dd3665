"""Benchmark: a sprint's series from 2,000 stories and 50,000 events (not a test: run it).

    python -m tests.benchmarks.burndown                       # SQLite in a temporary folder
    python -m tests.benchmarks.burndown --url postgresql+psycopg://postgres@127.0.0.1/bench

It writes an interchange document (2,000 stories in one sprint, 25 events each), imports it,
then times, at 10,000 / 25,000 / 50,000 events: loading the history (and counting queries),
computing the burndown series, building all six figures of the report, and the burndown API.
Then the closed-sprint path of stored series (planner.domain.series): the first read (a sweep,
then the upsert of the stored row) and the second read (the stored row), each timed at the domain
level (series_for) and through the burndown API, beside the fresh sweep (load_series) as the
baseline, as a ratio, with the second read's query count.
Then the same sprint made active, read on its last day (Friday 13 March, 17:00 UTC, after every
event; at 50,000 events about 2,000 are dated that day, at the smaller sizes hardly any): the
fresh sweep (the baseline), the first read (a sweep that stores the state at the end of
Thursday), the second read (the stored state and that day's events), a read after five new
events that day, and the burndown API's second read (the API reads with the real clock: no event
is dated "today" there, so it reads the stored state alone).
Times are medians of several runs; the query count must not grow with the data.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select, text

STATUS_CYCLE = ["todo", "in_progress", "review", "done", "todo"]
POINTS_CYCLE = [1, 2, 3, 5, 8]
EVENTS_PER_STORY = (5, 12, 25)  # 10,000, 24,000 and 50,000 events


def document(stories: int, events_per_story: int) -> dict:
    """An interchange document: one closed two-week sprint holding every story."""
    start = date(2026, 3, 2)
    started = datetime(2026, 3, 2, 9, tzinfo=UTC)
    closed = datetime(2026, 3, 13, 16, tzinfo=UTC)
    window = (closed - started).total_seconds() - 3600
    items = []
    for n in range(1, stories + 1):
        history = [
            {
                "at": "2026-03-02T08:00:00Z",
                "field": "sprint",
                "from": None,
                "to": "Sprint 1",
                "by": "bench@example.com",
            }
        ]
        status, points = "todo", 3
        for k in range(events_per_story - 1):
            at = started + timedelta(seconds=window * (k + 1) / events_per_story + n % 60)
            if k % 2 == 0:
                new = STATUS_CYCLE[(STATUS_CYCLE.index(status) + 1) % 4]
                history.append(
                    {
                        "at": at.isoformat().replace("+00:00", "Z"),
                        "field": "status",
                        "from": status,
                        "to": new,
                        "by": "bench@example.com",
                    }
                )
                status = new
            else:
                new = POINTS_CYCLE[(POINTS_CYCLE.index(points) + 1) % len(POINTS_CYCLE)]
                history.append(
                    {
                        "at": at.isoformat().replace("+00:00", "Z"),
                        "field": "points",
                        "from": points,
                        "to": new,
                        "by": "bench@example.com",
                    }
                )
                points = new
        items.append(
            {
                "key": f"BENCH-{n}",
                "title": f"Story {n}",
                "type": "feature",
                "status": status,
                "points": points,
                "sprint": "Sprint 1",
                "rank": n,
                "created_at": "2026-02-27T10:00:00Z",
                "history": history,
            }
        )
    return {
        "format": "planner-export",
        "version": 1,
        "project": {
            "key": "BENCH",
            "name": "Benchmark",
            "timezone": "Europe/Berlin",
            "working_days": [1, 2, 3, 4, 5],
        },
        "members": [
            {
                "email": "bench@example.com",
                "name": "Bench",
                "access": "manage",
                "roles": ["ml_engineer"],
            }
        ],
        "sprints": [
            {
                "name": "Sprint 1",
                "start": start.isoformat(),
                "end": "2026-03-13",
                "state": "closed",
                "started_at": "2026-03-02T09:00:00Z",
                "closed_at": "2026-03-13T16:00:00Z",
            }
        ],
        "stories": items,
    }


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        action()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def measure(url: str, folder: Path, events_per_story: int, runs: int) -> None:
    """Import a fresh document of 2,000 stories and print the timings for it."""
    from planner import charts, create_app
    from planner.cli import upgrade_database
    from planner.db import get_db
    from planner.domain.context import load_context
    from planner.domain.history import load_series
    from planner.domain.series import series_for
    from planner.interchange.importer import import_document
    from planner.models import Project, Sprint
    from planner.web.reports import build_report

    app = create_app("testing", DATABASE_URL=url, INSTANCE_PATH=str(folder))
    database = get_db(app)
    if database.dialect == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        (folder / "bench.sqlite3").unlink(missing_ok=True)
    upgrade_database(app)
    session = database.sessionmaker()
    begin = time.perf_counter()
    import_document(session, document(2000, events_per_story), hash_method="pbkdf2:sha256:1000")
    session.commit()
    imported = time.perf_counter() - begin
    if database.dialect == "postgresql":
        session.execute(text("ANALYZE"))  # the planner's statistics, as autovacuum would
        session.commit()
    project = session.scalar(select(Project).where(Project.key == "BENCH"))
    sprint = session.scalar(select(Sprint).where(Sprint.project_id == project.id))
    now = datetime(2026, 4, 1, tzinfo=UTC)

    statements: list[str] = []

    def count(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    series = load_series(session, project, [sprint], now=now)[sprint.id]
    event.remove(database.engine, "before_cursor_execute", count)

    load = median_seconds(lambda: load_series(session, project, [sprint], now=now), runs)
    compute = median_seconds(lambda: series.series("points"), runs)
    figure = median_seconds(lambda: charts.burndown_figure(series), runs)
    ctx = load_context(session, project)

    def whole_report() -> None:
        build_report(session, ctx, sprint)
        session.commit()  # the closed sprint's series, stored on the first run (as the page does)

    report = median_seconds(whole_report, runs)
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = next(iter(ctx.members.values())).account.session_token
    api = median_seconds(lambda: client.get(f"/api/v1/sprints/{sprint.id}/burndown"), runs)
    print(
        f"{2000 * events_per_story:>6} events: import {imported:6.2f} s"
        f" | history load {load * 1000:7.1f} ms in {len(statements)} queries"
        f" | series {compute * 1000:5.1f} ms | burndown figure {figure * 1000:5.1f} ms"
        f" | whole report {report * 1000:7.1f} ms | burndown API {api * 1000:7.1f} ms"
        " (both stored after their first run: the sprint is closed)"
        f" | remaining at close {series.series()['remaining'][-1]}"
    )
    stored = stored_series_path(database, session, project, sprint, now, client, runs, series_for)
    print(
        f"{'':>6}   closed sprint, stored series: fresh sweep {load * 1000:7.1f} ms"
        f" | first read {stored['first'] * 1000:7.1f} ms"
        f" | second read {stored['second'] * 1000:6.2f} ms in {stored['queries']} queries"
        f" ({load / stored['second']:5.0f}x faster than the sweep)"
        f" | burndown API first {stored['api_first'] * 1000:7.1f} ms"
        f", second {stored['api_second'] * 1000:6.1f} ms"
        f" ({stored['api_first'] / stored['api_second']:4.1f}x)"
        f" | stored {stored['payload'] / 1e6:4.2f} MB"
    )
    active = active_series_path(database, session, project, sprint, client, runs)
    print(
        f"{'':>6}   active sprint, stored state: fresh sweep {active['fresh'] * 1000:7.1f} ms"
        f" | first read {active['first'] * 1000:7.1f} ms"
        f" | second read {active['second'] * 1000:6.1f} ms in {active['queries']} queries"
        f" ({active['fresh'] / active['second']:4.1f}x faster than the sweep)"
        f" | after 5 new events {active['after'] * 1000:6.1f} ms"
        f" ({active['fresh'] / active['after']:4.1f}x)"
        f" | burndown API second {active['api_second'] * 1000:6.1f} ms"
        f" | events swept {active['swept']}"
    )
    session.close()
    database.dispose()


def active_series_path(database, session, project, sprint, client, runs) -> dict:
    """Reopen the sprint as active and time its reads on its last day (see the module doc)."""
    from planner.domain.history import load_series
    from planner.domain.series import series_for
    from planner.models import Sprint, StoredSeries, Story, StoryEvent

    session.execute(
        Sprint.__table__.update()
        .where(Sprint.id == sprint.id)
        .values(state="active", closed_at=None)
    )
    session.execute(StoredSeries.__table__.delete())
    session.commit()
    session.expire_all()
    now = datetime(2026, 3, 13, 17, tzinfo=UTC)
    fresh = median_seconds(lambda: load_series(session, project, [sprint], now=now), runs)
    expected = load_series(session, project, [sprint], now=now)[sprint.id]

    def forget() -> None:
        session.execute(StoredSeries.__table__.delete())
        session.commit()

    times = []
    for _ in range(runs):
        forget()
        begin = time.perf_counter()
        series_for(session, project, sprint, now=now)
        session.commit()
        times.append(time.perf_counter() - begin)
    later = now + timedelta(hours=1)
    second = median_seconds(lambda: series_for(session, project, sprint, now=later), runs * 2)
    assert series_for(session, project, sprint, now=later) == expected  # the oracle, once
    statements: list[str] = []

    def count(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    series_for(session, project, sprint, now=later)
    event.remove(database.engine, "before_cursor_execute", count)
    # Five moves on the board that evening, recorded as planner records them.
    stories = list(session.scalars(select(Story).where(Story.sprint_id == sprint.id).limit(5)))
    for k, story in enumerate(stories):
        new = "done" if story.status != "done" else "review"
        session.add(
            StoryEvent(
                story_id=story.id,
                field="status",
                from_value=story.status,
                to_value=new,
                at=now + timedelta(minutes=10 + k),
            )
        )
        story.status = new
    session.commit()
    after = median_seconds(lambda: series_for(session, project, sprint, now=later), runs * 2)
    expected = load_series(session, project, [sprint], now=later)[sprint.id]
    assert series_for(session, project, sprint, now=later) == expected
    since = datetime(2026, 3, 12, 23, tzinfo=UTC)  # the end of Thursday in Europe/Berlin
    swept = session.scalar(
        select(func.count()).select_from(StoryEvent).where(StoryEvent.at >= since)
    )
    url = f"/api/v1/sprints/{sprint.id}/burndown"
    client.get(url)
    api_second = median_seconds(lambda: client.get(url), runs * 2)
    return {
        "fresh": fresh,
        "first": statistics.median(times),
        "second": second,
        "queries": len(statements),
        "after": after,
        "api_second": api_second,
        "swept": swept,
    }


def stored_series_path(database, session, project, sprint, now, client, runs, series_for) -> dict:
    """Time the first read (compute and store) and the second read (stored) of a closed sprint."""
    from planner.models import StoredSeries

    def forget() -> None:
        session.execute(StoredSeries.__table__.delete())
        session.commit()

    def first() -> None:
        forget()
        begin = time.perf_counter()
        series_for(session, project, sprint, now=now)
        session.commit()
        times.append(time.perf_counter() - begin)

    times: list[float] = []
    for _ in range(runs):
        first()
    first_read = statistics.median(times)
    second = median_seconds(lambda: series_for(session, project, sprint, now=now), runs * 4)
    statements: list[str] = []

    def count(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    series_for(session, project, sprint, now=now)
    event.remove(database.engine, "before_cursor_execute", count)
    payload = sum(
        len(part or "")
        for part in session.execute(
            select(StoredSeries.payload, StoredSeries.changes, StoredSeries.stories)
        ).one()
    )
    url = f"/api/v1/sprints/{sprint.id}/burndown"
    api_times = []
    for _ in range(runs):
        forget()
        begin = time.perf_counter()
        client.get(url)
        api_times.append(time.perf_counter() - begin)
    api_second = median_seconds(lambda: client.get(url), runs * 2)
    return {
        "first": first_read,
        "second": second,
        "queries": len(statements),
        "api_first": statistics.median(api_times),
        "api_second": api_second,
        "payload": payload,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--events-per-story",
        type=int,
        choices=EVENTS_PER_STORY,
        help="one size only (default: all three)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="planner-bench-"))
    url = args.url or f"sqlite:///{folder / 'bench.sqlite3'}"
    print(f"database: {url.split('@')[-1]}")
    for events_per_story in [args.events_per_story] if args.events_per_story else EVENTS_PER_STORY:
        measure(url, folder, events_per_story, args.runs)


if __name__ == "__main__":
    main()
