"""`planner --help` and `--version` answer without loading the app (issue 16, start-up).

What a help or version run imports is counted in a fresh process; the help must be the one
Flask's FlaskGroup gave before, and the commands must still run through the console script.
"""

from __future__ import annotations

import contextvars
import os
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup

from planner import cli

HEAVY = ("flask", "werkzeug", "sqlalchemy", "alembic", "plotly", "mlflow", "planner.models")

# Read from `planner --help` before start-up was made lazy (FlaskGroup over the created app).
COMMANDS = [
    "db",
    "demo",
    "export",
    "import",
    "limiter",
    "quickstart",
    "routes",
    "run",
    "shell",
    "tokens",
    "users",
    "worker",
]
SUBCOMMANDS = {
    "db": ["check", "current", "downgrade", "revision", "upgrade"],
    "users": ["create"],
    "tokens": ["create", "list", "revoke"],
    "limiter": ["clear", "config", "limits"],
}

# Prints, after the command exits, every module the run imported.
WRAPPER = (
    "import atexit, sys; "
    "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + ' '.join(sorted(sys.modules)))); "
    "sys.argv = ['planner'] + sys.argv[1:]; "
    "from planner.cli import main; main()"
)


def isolated_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PLANNER_DATABASE_URL", None)
    env["PLANNER_INSTANCE_PATH"] = str(tmp_path / "instance")
    env["PLANNER_ENV"] = "development"
    return env


def run_planner(args: list[str], env: dict[str, str]) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    head, _, modules = done.stderr.rpartition("\nMODULES ")
    return done.stdout, set(modules.split())


def listed(help_text: str) -> list[str]:
    """The command names in the Commands: section of a help text."""
    lines = help_text.split("\nCommands:\n", 1)[1].splitlines()
    return [line.split()[0] for line in lines if line.startswith("  ") and line[2] != " "]


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["db", "--help"], ["import", "--help"], ["tokens", "--help"]],
    ids=" ".join,
)
def test_help_and_version_import_no_heavy_module(args, tmp_path):
    output, modules = run_planner(args, isolated_env(tmp_path))
    assert output
    loaded = sorted(
        name for name in modules if any(name == h or name.startswith(h + ".") for h in HEAVY)
    )
    assert loaded == []
    assert not (tmp_path / "instance").exists()  # the app was not created


def test_the_help_lists_every_command_of_before(tmp_path):
    output, _ = run_planner(["--help"], isolated_env(tmp_path))
    assert listed(output) == COMMANDS
    for name in ("--env-file", "--app", "--debug / --no-debug", "--version", "--help"):
        assert name in output
    for group, names in SUBCOMMANDS.items():
        output, _ = run_planner([group, "--help"], isolated_env(tmp_path))
        assert listed(output) == names


def test_version_prints_python_flask_and_werkzeug(tmp_path):
    output, _ = run_planner(["--version"], isolated_env(tmp_path))
    assert output == (
        f"Python {platform.python_version()}\n"
        f"Flask {version('flask')}\nWerkzeug {version('werkzeug')}\n"
    )


def every_path(group: click.Group, ctx: click.Context) -> list[list[str]]:
    paths = []
    for name in group.list_commands(ctx):
        paths.append([name])
        command = group.get_command(ctx, name)
        if isinstance(command, cli.DeferredCommand):
            command = command.load()
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in command.list_commands(ctx)]
    return paths


def test_every_help_is_the_one_flaskgroup_gave(app):
    """The group as it was (FlaskGroup creating the app) and the lazy group print the same help
    for the group and for every command and subcommand, and the same errors."""
    before = FlaskGroup(
        name="planner",
        help=cli.main.help,
        create_app=lambda: app,
        add_version_option=True,
        load_dotenv=False,
    )
    runner = CliRunner()
    with cli.main.make_context("planner", ["--help"], resilient_parsing=True) as ctx:
        paths = every_path(cli.main, ctx)
    assert len(paths) == len(COMMANDS) + sum(map(len, SUBCOMMANDS.values()))
    cases = [[], ["--help"], ["--version"], ["nosuch"], ["--bogus"], ["db", "nosuch"]]
    cases += [[*path, "--help"] for path in paths]
    for args in cases:
        # FlaskGroup leaves the app context it pushes while listing commands for a help pushed
        # (click closes no context when parsing exits): keep it out of the other tests.
        old = contextvars.copy_context().run(runner.invoke, before, args, prog_name="planner")
        new = contextvars.copy_context().run(runner.invoke, cli.main, args, prog_name="planner")
        assert (new.output, new.exit_code) == (old.output, old.exit_code), args
        assert new.output


@pytest.mark.parametrize("limit", [10, 30, 45, 64, 200])
def test_deferred_commands_have_the_short_help_of_the_real_ones(limit):
    with cli.main.make_context("planner", ["--help"], resilient_parsing=True) as ctx:
        deferred = [cli.main.get_command(ctx, name) for name in cli.main.list_commands(ctx)]
    deferred = [command for command in deferred if isinstance(command, cli.DeferredCommand)]
    assert sorted(command.name for command in deferred) == ["limiter", "routes", "run", "shell"]
    for command in deferred:
        assert command.get_short_help_str(limit) == command.load().get_short_help_str(limit)


def test_the_copied_values_equal_their_originals():
    from planner.domain.tokens import TOKEN_SCOPES
    from planner.interchange.jira_csv import MAX_CSV_BYTES, MAX_CSV_ROWS
    from planner.models.transfer import IMPORT_FORMATS

    assert cli.IMPORT_FORMATS == IMPORT_FORMATS
    assert cli.MAX_CSV_BYTES == MAX_CSV_BYTES
    assert cli.MAX_CSV_ROWS == MAX_CSV_ROWS
    assert cli.TOKEN_SCOPES == tuple(TOKEN_SCOPES)


def test_commands_still_run_through_the_console_script(tmp_path):
    """The app is created when a command needs it: from PLANNER_* settings read from -e's env
    file, for planner's own commands and for Flask's (routes)."""
    env = isolated_env(tmp_path)
    database = tmp_path / "cli.db"
    env_file = tmp_path / "planner.env"
    env_file.write_text(f"PLANNER_DATABASE_URL=sqlite:///{database}\n")
    script = Path(sys.executable).with_name("planner")  # the console script, as users run it
    command = [str(script)] if script.exists() else [sys.executable, "-m", "planner.cli"]
    planner = [*command, "-e", str(env_file)]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*planner, *args], env=env, capture_output=True, text=True, timeout=120
        )

    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == "Database at head.\n"
    assert database.exists()
    created = run("users", "create", "ana@example.com", "--name", "Ana", "--password", "pw long 1")
    assert created.returncode == 0, created.stderr
    assert created.stdout == "Created user ana@example.com.\n"
    tokens = run("tokens", "list", "ana@example.com")
    assert tokens.stdout == "ana@example.com has no tokens.\n"
    refused = run("tokens", "create", "ana@example.com", "--name", "ci", "--scope", "admin")
    assert refused.returncode == 2
    assert "'admin' is not one of 'read', 'write'" in refused.stderr
    routes = run("routes")
    assert routes.returncode == 0, routes.stderr
    assert "/api/v1/openapi.json" in routes.stdout
