"""Benchmark: how long the `planner` command takes to answer --help and --version (not a test).

    python -m tests.benchmarks.cli_startup
    python -m tests.benchmarks.cli_startup --runs 20

Side by side in one run, each a fresh process started the way a user starts it (wall time of
the subprocess, median of --runs runs, after one unmeasured warm-up run of each):
- the floor: `python -c pass` with the same interpreter (starting Python and nothing else);
- `planner --help`, `planner --version`, `planner db --help` and `planner import --help`,
  through the installed console script beside this interpreter (`.venv/bin/planner`), or
  `python -m planner.cli` when there is none.
It also counts the modules each one imports, and says whether Flask, SQLAlchemy, Alembic,
plotly, MLflow or planner.models were among them (they should not be: none of these answers
needs the app).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("flask", "sqlalchemy", "alembic", "plotly", "mlflow", "planner.models")
COMMANDS = (["--help"], ["--version"], ["db", "--help"], ["import", "--help"])
# Prints the modules a `planner ...` run imported, after it exits (click exits with SystemExit).
WRAPPER = (
    "import atexit, sys; "
    "atexit.register(lambda: sys.__stderr__.write('MODULES ' + ' '.join(sorted(sys.modules)))); "
    "sys.argv = ['planner'] + sys.argv[1:]; "
    "from planner.cli import main; main()"
)


def planner_command() -> list[str]:
    """The console script installed beside this interpreter, else `python -m planner.cli`."""
    script = Path(sys.executable).with_name("planner")
    if script.exists():
        return [str(script)]
    found = shutil.which("planner")
    return [found] if found else [sys.executable, "-m", "planner.cli"]


def median_seconds(argv: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def imported(args: list[str], env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args], env=env, capture_output=True, text=True, check=True
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return set(line.split()[1:])


def heavy_ones(modules: set[str]) -> list[str]:
    return [name for name in HEAVY if name in modules]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="planner-bench-"))
    env = dict(os.environ)
    # A database and instance folder of its own, which no answer here should touch.
    env["PLANNER_DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    env["PLANNER_INSTANCE_PATH"] = str(folder / "instance")
    planner = planner_command()
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs, env)
    print(f"python: {sys.executable} ({sys.version.split()[0]}); planner: {' '.join(planner)}")
    print(f"median of {args.runs} runs, subprocess wall time")
    print()
    print(
        f"| {'command':<22} | {'time':>8} | {'x python -c pass':>16} | modules | heavy imported |"
    )
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 18}|{'-' * 9}|{'-' * 16}|")
    print(
        f"| {'python -c pass':<22} | {baseline * 1000:6.0f} ms | {1:>16.1f} | {'':>7} | {'':<14} |"
    )
    for command in COMMANDS:
        seconds = median_seconds([*planner, *command], args.runs, env)
        modules = imported(command, env)
        heavy = ", ".join(heavy_ones(modules)) or "none"
        label = "planner " + " ".join(command)
        print(
            f"| {label:<22} | {seconds * 1000:6.0f} ms | {seconds / baseline:>16.1f} |"
            f" {len(modules):>7} | {heavy:<14} |"
        )


if __name__ == "__main__":
    main()
