"""The README gives exactly two commands, and CI runs the same test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/planner quickstart"
TEST = 'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/pytest'


def test_the_readme_opens_with_the_run_and_test_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert blocks[0].strip() == RUN
    assert blocks[1].strip() == TEST


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST + ' "$@"' in ci
    # It runs once (install + collect everything), then both databases run the suite side by side.
    assert "readme_test_command --collect-only" in ci
    assert 'PLANNER_TEST_DATABASE_URL="$PG_URL" .venv/bin/pytest' in ci
