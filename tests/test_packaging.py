"""A wheel built from the repository carries templates/, static/, migrations/, the configuration
and the demo file, and the installed copy finds them and runs its migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (path,) = out.glob("planner-*.whl")
    return path


def test_the_wheel_contains_the_app_resources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "planner/templates/base.html",
        "planner/static/css/planner.css",
        "planner/migrations/env.py",
        "planner/migrations/script.py.mako",
        "planner/migrations/versions/0001_initial_schema.py",
        "planner/_config.py",
        "planner/demo/demo.json",
        "planner/docs/rules.md",
        "planner/docs/interchange.schema.json",
    ):
        assert expected in names, expected
    assert not any(name.startswith(("tests/", "tools/", "config.py", "wsgi.py")) for name in names)
    # The demo generator is a development tool: only the file it writes ships.
    assert not any("generate" in name for name in names)


def test_the_installed_wheel_finds_its_resources_and_migrates(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    script = (
        "import planner, planner.paths as p;"
        "from planner import create_app;"
        "from planner.cli import upgrade_database;"
        "app = create_app('testing', DATABASE_URL='sqlite:///' + r'%s');"
        "upgrade_database(app);"
        "print(planner.__file__); print(p.resource_dir('templates'));"
        "print(p.resource_dir('migrations'));"
        "print(app.config['ENV_NAME'])"
    ) % (tmp_path / "installed.sqlite3")
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert all(line.startswith(str(target)) for line in lines[:3]), lines
    assert lines[3] == "testing"
    assert (tmp_path / "installed.sqlite3").stat().st_size > 0
