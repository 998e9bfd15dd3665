"""Benchmark: importing a Jira CSV of 5,000 issues (not a test: run it).

    python -m tests.benchmarks.jira_import                     # SQLite in a temporary folder
    python -m tests.benchmarks.jira_import --url postgresql+psycopg://postgres@127.0.0.1/bench

Side by side in one run, on the same 5,000 issues (multi-line wiki descriptions, sprints,
labels, a comment each):
- the floor: the standard library's csv reader alone over the same bytes;
- reading the file as planner does (columns, dates, points, wiki markup to Markdown);
- the whole import into an empty project, in one transaction, committed;
- the same file again (every story found unchanged);
- planner's own JSON import of the same project (its export), the native path to compare with.
Times are medians of three runs (each import into a fresh project).
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

ISSUES = 5000


def jira_csv(issues: int = ISSUES) -> bytes:
    header = (
        "Summary,Issue key,Issue id,Issue Type,Status,Priority,Assignee,Reporter,Created,Updated,"
        "Resolved,Labels,Labels,Description,Custom field (Story point estimate),Sprint,Sprint,"
        "Status Category,Comment"
    )
    lines = [header]
    for n in range(1, issues + 1):
        status = ("To Do", "In Progress", "In Review", "Done")[n % 4]
        resolved = "14/Mar/24 5:00 PM" if status == "Done" else ""
        first, last = (
            (f"BENCH Sprint {1 + n % 6}", f"BENCH Sprint {2 + n % 6}") if n % 3 else ("", "")
        )
        lines.append(
            f"Story {n} of the backlog,BENCH-{n},{10000 + n},Story,{status},Medium,Maya Chen,"
            f"Maya Chen,1/Mar/24 9:00 AM,14/Mar/24 5:00 PM,{resolved},data,l{n % 40},"
            f'"h2. Goal\r\nLabel batch {n}: the *hard* cases, see [runbook|https://wiki.example.com/{n}]'
            f'\r\n* first\r\n* second\r\n{{code}}\r\nrun({n})\r\n{{code}}",{n % 10},{first},{last},'
            f'To Do,"2/Mar/24 10:00 AM;Maya Chen;Checked {n}; fine"'
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def median_ms(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()

    from planner import create_app
    from planner.cli import upgrade_database
    from planner.db import get_db
    from planner.domain.accounts import create_account
    from planner.domain.projects import create_project
    from planner.interchange.export import export_project
    from planner.interchange.importer import import_document
    from planner.interchange.jira_csv import read_jira_csv
    from planner.interchange.jira_import import import_jira

    folder = Path(tempfile.mkdtemp())
    url = args.url or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = create_app("testing", DATABASE_URL=url, INSTANCE_PATH=str(folder))
    data = jira_csv()
    database = get_db(app)
    if database.dialect == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade_database(app)
    with app.app_context():
        session = database.sessionmaker()
        maya = create_account(session, email="maya@example.com", name="Maya Chen", password=None)
        session.commit()
        counter = iter(range(1, 100))
        now = datetime(2024, 3, 20, 12, tzinfo=UTC)

        def floor() -> None:
            list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))

        def read() -> None:
            read_jira_csv(data, timezone="Europe/Berlin")

        projects = []

        def whole_import() -> None:
            project = create_project(session, key=f"B{next(counter)}", name="Bench", owner=maya)
            jira = read_jira_csv(data, timezone="Europe/Berlin")
            outcome = import_jira(session, project, jira, by=maya, now=now)
            session.commit()
            assert outcome.stories_created == ISSUES
            projects.append(project)

        def again() -> None:
            jira = read_jira_csv(data, timezone="Europe/Berlin")
            outcome = import_jira(session, projects[0], jira, by=maya, now=now)
            session.commit()
            assert outcome.stories_unchanged == ISSUES and not outcome.changed

        timings = {
            "csv reader alone (floor)": median_ms(floor),
            "planner reads the file": median_ms(read),
            "whole import, committed": median_ms(whole_import),
            "the same file again": median_ms(again),
        }
        document = export_project(session, projects[0])

        def native() -> None:
            document["project"]["key"] = f"N{next(counter)}"
            for item in document["stories"]:
                item["key"] = document["project"]["key"] + "-" + item["key"].rsplit("-", 1)[1]
                item.pop("imported_from", None)
            import_document(session, document, hash_method="pbkdf2:sha256:1000")
            session.commit()

        timings["planner's own JSON import of it"] = median_ms(native)

    floor_ms = timings["csv reader alone (floor)"]
    native_ms = timings["planner's own JSON import of it"]
    print(f"{ISSUES:,} issues, {len(data) / 2**20:.1f} MB, {url.split(':')[0]}")
    print(f"{'step':34} {'ms':>9} {'x floor':>8} {'x native':>9}")
    for name, ms in timings.items():
        print(f"{name:34} {ms:9.0f} {ms / floor_ms:8.1f} {ms / native_ms:9.2f}")


if __name__ == "__main__":
    main()
