"""Benchmark: importing and exporting 2,000 stories with 50,000 events (not a test: run it).

    python -m tests.benchmarks.bulk_import                    # SQLite in a temporary folder
    python -m tests.benchmarks.bulk_import --url postgresql+psycopg://postgres@127.0.0.1/bench_bulk

Side by side in one run, on the same file (tests.benchmarks.burndown.document: one closed sprint,
2,000 stories, 25 events each, 5.4 MB):
- the floors: `json.loads` of the file, and the raw write of the same 50,000 event rows into a
  scratch table (COPY on PostgreSQL, one executemany on SQLite);
- planner's import, whole (read, parse, check, write, commit), and its steps: parsing the file
  with planner's JSON reader, checking the document, writing the checked plan (committed);
- planner's export of the imported project to a file (streamed);
each as milliseconds and as a ratio to `json.loads`. Times are medians of --runs runs (each import
into a fresh project).

Then peak memory: each of import and export runs in a child process at 10,000 and at 50,000
events, which reports its own ru_maxrss; "over idle" subtracts a child that only loads planner
and connects. Neither peak should grow with the file: export streams its rows, and import
(as `planner import` runs it, importer.check_file + write_checked) reads the file a story at a
time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

STORIES = 2000
EVENTS_PER_STORY = 25
MEMORY_SIZES = (5, 25)  # events per story: 10,000 and 50,000 events
HASH = "pbkdf2:sha256:1000"


def median_ms(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def renamed(document: dict, key: str) -> dict:
    """The document with another project key (each import needs a key not taken yet)."""
    document["project"]["key"] = key
    for item in document["stories"]:
        item["key"] = f"{key}-{item['key'].rsplit('-', 1)[1]}"
    return document


def write_file(folder: Path, key: str, events_per_story: int) -> Path:
    from tests.benchmarks.burndown import document

    path = folder / f"{key}.json"
    path.write_text(json.dumps(renamed(document(STORIES, events_per_story), key)))
    return path


def make_app(url: str, folder: Path):
    from planner import create_app

    return create_app("testing", DATABASE_URL=url, INSTANCE_PATH=str(folder))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=("idle", "import", "export"), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from planner.cli import upgrade_database
    from planner.db import get_db
    from planner.interchange.export import export_text
    from planner.interchange.importer import (
        check_file,
        import_document,
        parse_document,
        read_document,
        write_checked,
        write_plan,
    )
    from planner.interchange.validate import check_document
    from planner.models import Project, StoryEvent

    folder = Path(tempfile.mkdtemp())
    url = args.url or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = make_app(url, folder)
    database = get_db(app)
    if database.dialect == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade_database(app)
    path = write_file(folder, "BENCH", EVENTS_PER_STORY)
    data = path.read_bytes()
    counter = iter(range(1, 1000))
    timings: dict[str, float] = {}
    with app.app_context():
        session = database.sessionmaker()

        def floor() -> None:
            json.loads(data)

        timings["json.loads of the file (floor)"] = median_ms(floor, args.runs)

        events = [
            {
                "story_id": n // EVENTS_PER_STORY + 1,
                "field": "status",
                "from_value": None if n % 3 else "todo",
                "to_value": "done",
                "at": _moment(n),
                "by_id": None if n % 2 else 1,
            }
            for n in range(STORIES * EVENTS_PER_STORY)
        ]
        scratch_write = raw_writer(session, StoryEvent.__table__)
        timings["raw write of the 50,000 event rows"] = median_ms(
            lambda: scratch_write(events), args.runs
        )

        keys = []

        def whole_import() -> None:
            key = f"B{next(counter)}"
            document = renamed(read_document(path), key)
            import_document(session, document, hash_method=HASH)
            session.commit()
            keys.append(key)

        timings["planner import, whole, committed"] = median_ms(whole_import, args.runs)

        # As `planner import` runs: the file read in parts (each run's file written untimed).
        parts_times = []
        for _ in range(args.runs):
            source = write_file(folder, f"P{next(counter)}", EVENTS_PER_STORY)
            started = time.perf_counter()
            write_checked(session, check_file(session, source), hash_method=HASH)
            session.commit()
            parts_times.append((time.perf_counter() - started) * 1000)
        timings["planner import of the file in parts"] = statistics.median(parts_times)
        timings["  parse (planner's JSON reader)"] = median_ms(
            lambda: parse_document(data), args.runs
        )
        document = parse_document(data)
        timings["  check the document"] = median_ms(lambda: check_document(document), args.runs)

        # The write alone: the plan is checked outside the timing.
        write_times = []
        for _ in range(args.runs):
            plan, problems = check_document(renamed(document, f"W{next(counter)}"))
            assert plan is not None, problems
            started = time.perf_counter()
            write_plan(session, plan, hash_method=HASH)
            session.commit()
            write_times.append((time.perf_counter() - started) * 1000)
        timings["  write the checked plan, committed"] = statistics.median(write_times)

        project = session.query(Project).filter_by(key=keys[0]).one()
        out = folder / "export.json"

        def export() -> None:
            with out.open("w", encoding="utf-8") as stream:
                for chunk in export_text(session, project):
                    stream.write(chunk)
            session.rollback()

        timings["planner export to a file (streamed)"] = median_ms(export, args.runs)
        exported = json.loads(out.read_text())
        assert len(exported["stories"]) == STORIES
        assert sum(len(s["history"]) for s in exported["stories"]) == STORIES * EVENTS_PER_STORY

    floor_ms = timings["json.loads of the file (floor)"]
    print(
        f"{STORIES:,} stories, {STORIES * EVENTS_PER_STORY:,} events, "
        f"{len(data) / 2**20:.1f} MB, {database.dialect}, median of {args.runs}"
    )
    print(f"{'step':40} {'ms':>9} {'x floor':>8}")
    for name, ms in timings.items():
        print(f"{name:40} {ms:9.0f} {ms / floor_ms:8.1f}")
    print()
    memory(url, folder)


def _moment(n: int):
    from datetime import UTC, datetime, timedelta

    return datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(seconds=n)


def raw_writer(session, table) -> Callable[[list[dict]], None]:
    """The floor of writing rows: the same rows into an empty scratch table shaped like `table`
    (no indexes, no foreign keys), COPY on PostgreSQL, executemany elsewhere, then dropped."""
    columns = ["story_id", "field", "from_value", "to_value", "at", "by_id"]

    def write(rows: list[dict]) -> None:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("CREATE TEMP TABLE bench_event AS SELECT * FROM story_event WITH NO DATA")
            )
            cursor = connection.connection.driver_connection.cursor()
            with cursor.copy(f"COPY bench_event ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        else:
            connection.execute(
                text("CREATE TEMP TABLE bench_event AS SELECT * FROM story_event WHERE 0")
            )
            connection.exec_driver_sql(
                f"INSERT INTO bench_event ({', '.join(columns)}) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    tuple(
                        row[c].replace(tzinfo=None).isoformat(" ") if c == "at" else row[c]
                        for c in columns
                    )
                    for row in rows
                ],
            )
        connection.execute(text("DROP TABLE bench_event"))
        session.commit()

    return write


def memory(url: str, folder: Path) -> None:
    """Peak memory of import and export in child processes, at two file sizes: the peak of
    Python's allocations during the step (tracemalloc) and the process's ru_maxrss."""
    _, idle = run_child("idle", url, folder)
    print(f"peak memory in a child process, MB (an idle child's ru_maxrss: {idle:.0f} MB)")
    print(
        f"{'events':>8} {'file':>6} {'import: traced':>15} {'maxrss':>7} "
        f"{'export: traced':>15} {'maxrss':>7}"
    )
    for n, per_story in enumerate(MEMORY_SIZES):
        key = f"M{n}"
        path = write_file(folder, key, per_story)
        imported = run_child("import", url, folder, path=path, key=key)
        exported = run_child("export", url, folder, key=key)
        print(
            f"{STORIES * per_story:8,} {path.stat().st_size / 2**20:6.1f} "
            f"{imported[0]:15.1f} {imported[1]:7.0f} {exported[0]:15.1f} {exported[1]:7.0f}"
        )


def run_child(
    what: str, url: str, folder: Path, path: Path | None = None, key: str = ""
) -> tuple[float, float]:
    command = [sys.executable, "-m", "tests.benchmarks.bulk_import", "--child", what, "--url", url]
    if path is not None:
        command += ["--file", str(path)]
    if key:
        command += ["--key", key]
    answer = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path.cwd())
    if answer.returncode != 0:
        raise SystemExit(f"child {what} failed:\n{answer.stderr}")
    traced, maxrss = answer.stdout.split()[-2:]
    return float(traced), float(maxrss)


def child(args: argparse.Namespace) -> None:
    """Run one step and print this process's peak resident memory in MB (Linux: ru_maxrss KB)."""
    from planner.db import get_db

    folder = Path(tempfile.mkdtemp())
    app = make_app(args.url, folder)
    database = get_db(app)
    with app.app_context():
        session = database.sessionmaker()
        session.execute(text("SELECT 1"))
        tracemalloc.start()
        if args.child == "idle":
            # What every child does before its work: planner's modules loaded, a connection.
            from planner.interchange import export, importer  # noqa: F401

        elif args.child == "import":
            # As `planner import` does: the file read in parts (importer.check_file).
            from planner.interchange.importer import check_file, write_checked

            checked = check_file(session, args.file)
            assert checked.path is not None, "the file was read whole"
            write_checked(session, checked, hash_method=HASH)
            session.commit()
        else:
            from sqlalchemy import select

            from planner.interchange.export import export_text
            from planner.models import Project

            project = session.scalar(select(Project).where(Project.key == args.key))
            with (folder / "out.json").open("w", encoding="utf-8") as stream:
                for chunk in export_text(session, project):
                    stream.write(chunk)
        traced = tracemalloc.get_traced_memory()[1]
    print(traced / 2**20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
