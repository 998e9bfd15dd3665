"""Benchmark: how the charts read a sprint's stories, as columns or as Story entities (not a test).

    python -m tests.benchmarks.series_stories      # PostgreSQL database bench_web (dropped first)
    python -m tests.benchmarks.series_stories --url postgresql+psycopg://postgres@127.0.0.1/other

It prepares the database as the web benchmark does (migrations, the demo, the big project) and
times, in one process, the statement `planner.domain.history.load_series` runs for the stories
of a project's sprints, two ways, alternately (seven rounds, medians):

- columns: the ten columns the sweep reads (`history.sweep_stories`, what load_series runs);
- entities (the baseline): the same rows loaded as Story entities with the stage's key, as
  load_series read them before 2026-12-07 18:10 UTC.

The session is emptied after each read, so every round loads the rows anew. It prints the rows,
the milliseconds of each way and columns / entities.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.benchmarks.web import DEFAULT_URL, prepare, server_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"database (default {DEFAULT_URL})")
    args = parser.parse_args(argv)
    server_environment(args.url, Path(tempfile.mkdtemp(prefix="planner-series-stories-")))
    prepare(args.url, 1)

    from sqlalchemy import select

    from planner import create_app, db
    from planner.domain.history import sweep_stories
    from planner.models import Project, Sprint, Stage, Story

    app = create_app()
    with app.app_context():
        session = db.session()
        print("| project | stories | entities ms (baseline) | columns ms | columns / entities |")
        print("|---|---:|---:|---:|---:|")
        for key, reads in (("FRAUD", 40), ("BIG", 5)):
            project = session.scalar(select(Project).where(Project.key == key))
            sprints = select(Sprint.id).where(Sprint.project_id == project.id)
            involved = select(Story.id).where(
                Story.project_id == project.id, Story.sprint_id.in_(sprints)
            )
            entities = (
                select(Story, Stage.key)
                .outerjoin(Stage, Stage.id == Story.stage_id)
                .where(Story.id.in_(involved))
            )
            columns = sweep_stories(involved)  # what load_series runs

            def timed(statement, times: int) -> tuple[float, int]:
                begin = time.perf_counter()
                for _ in range(times):
                    rows = session.execute(statement).all()
                    session.expunge_all()
                return (time.perf_counter() - begin) / times * 1000, len(rows)

            timed(entities, 2)
            timed(columns, 2)
            slow, fast = [], []
            for _ in range(7):
                slow.append(timed(entities, reads)[0])
                fast.append(timed(columns, reads)[0])
            count = timed(columns, 1)[1]
            before, after = statistics.median(slow), statistics.median(fast)
            print(f"| {key} | {count:,} | {before:.2f} | {after:.2f} | {after / before:.2f} |")
    db.get_db(app).dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
