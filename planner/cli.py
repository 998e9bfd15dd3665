"""The `planner` command: Flask's run, shell and routes, plugin commands, and planner's own.

It answers `planner --help`, `planner --version` and `planner <command> --help` without
importing Flask, SQLAlchemy, Alembic or the app: the group below lists the commands from what it
knows here, every import a command needs is made inside the command when it runs, and the app is
created only by a command that needs it (see `with_appcontext`). Run, shell, routes and plugin
commands (the `flask.commands` entry points, like Flask-Limiter's `limiter`) are loaded when one
of them is asked for. Behaviour is otherwise Flask's `FlaskGroup` (tests/test_cli_startup.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import update_wrapper
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planner.interchange import MAX_FILE_BYTES

# Copies of values defined beside the models, which the help and the options of `import` and
# `tokens create` show: importing their modules would load SQLAlchemy and the models for a
# --help. tests/test_cli_startup.py checks that each equals its original.
IMPORT_FORMATS = ("jira-csv", "planner-export")  # planner.models.transfer.IMPORT_FORMATS
MAX_CSV_BYTES = 20 * 1024 * 1024  # planner.interchange.jira_csv.MAX_CSV_BYTES
MAX_CSV_ROWS = 20_000  # planner.interchange.jira_csv.MAX_CSV_ROWS
TOKEN_SCOPES = ("read", "write")  # the keys of planner.domain.tokens.TOKEN_SCOPES

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from flask import Flask
    from flask.cli import ScriptInfo

    from planner.models import Account


def _create_app() -> Flask:
    from planner import create_app

    return create_app()


def script_info(ctx: click.Context) -> ScriptInfo:
    """Return the Flask ScriptInfo of this invocation, made (as FlaskGroup makes it) on first use.

    A test runner's own ScriptInfo (passed as `obj`) is found and used as it is."""
    from flask.cli import ScriptInfo

    info = ctx.find_object(ScriptInfo)
    if info is None:
        info = ScriptInfo(create_app=_create_app, set_debug_flag=True, load_dotenv_defaults=False)
        context: click.Context | None = ctx
        while context is not None:
            if context.obj is None:
                context.obj = info
            context = context.parent
    return info


def with_appcontext(f: Callable[..., Any]) -> Callable[..., Any]:
    """flask.cli.with_appcontext, importing Flask and creating the app only when `f` runs."""

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        from flask import current_app

        if not current_app:
            app = script_info(ctx).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)


def _load(where: str) -> Any:
    """Import "module:attribute" and return the attribute."""
    from importlib import import_module

    module, _, attribute = where.partition(":")
    return getattr(import_module(module), attribute)


class DeferredCommand(click.Command):
    """Stands for a command defined elsewhere ("module:attribute") in the list of commands, with
    its short help known here; the real command is imported when it is asked for (its own help,
    or running it) and takes over from there."""

    def __init__(
        self, name: str, where: str, short_help: str | None = None, help: str | None = None
    ) -> None:
        super().__init__(name, short_help=short_help, help=help)
        self.where = where

    def load(self) -> click.Command:
        return _load(self.where)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        command = self.load()
        if parent is not None:
            script_info(parent)  # flask's own commands look for it
        return command.make_context(info_name, args, parent=parent, **extra)


# Flask's commands (FlaskGroup adds them), with their short help as Flask writes it.
FLASK_COMMANDS = {
    "run": DeferredCommand("run", "flask.cli:run_command", short_help="Run a development server."),
    "shell": DeferredCommand(
        "shell", "flask.cli:shell_command", short_help="Run a shell in the app context."
    ),
    "routes": DeferredCommand(
        "routes", "flask.cli:routes_command", short_help="Show the routes for the app."
    ),
}

# The short help of plugin commands known here, by entry point; another plugin is imported to
# list it (as FlaskGroup does for every plugin).
KNOWN_PLUGINS = {
    "flask_limiter.commands:cli": {"help": "Flask-Limiter maintenance & utility commands"},
}


def _plugin_commands() -> dict[str, click.Command]:
    from importlib.metadata import entry_points

    commands: dict[str, click.Command] = {}
    for ep in entry_points(group="flask.commands"):
        known = KNOWN_PLUGINS.get(ep.value)
        commands[ep.name] = DeferredCommand(ep.name, ep.value, **known) if known else ep.load()
    return commands


# FlaskGroup's options, with Flask's help texts; each hands over to Flask's own callback when
# it is given a value (tests/test_cli_startup.py compares them with Flask's).


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    # Flask's callback loads default .env files only when load_dotenv is on; it is off here.
    if value is None:
        return None
    from flask.cli import _env_file_callback

    script_info(ctx)
    return _env_file_callback(ctx, param, value)


def _app_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return None
    script_info(ctx).app_import_path = value
    return value


def _debug_callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool | None:
    source = ctx.get_parameter_source(param.name)  # type: ignore[arg-type]
    if source is None or source in (
        click.core.ParameterSource.DEFAULT,
        click.core.ParameterSource.DEFAULT_MAP,
    ):
        return None
    from flask.cli import _set_debug

    return _set_debug(ctx, param, value)


def _version_callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import platform
    from importlib.metadata import version

    click.echo(
        f"Python {platform.python_version()}\n"
        f"Flask {version('flask')}\n"
        f"Werkzeug {version('werkzeug')}",
        color=ctx.color,
    )
    ctx.exit()


GROUP_OPTIONS = [
    click.Option(
        ["-e", "--env-file"],
        type=click.Path(exists=True, dir_okay=False),
        help=(
            "Load environment variables from this file, taking precedence over"
            " those set by '.env' and '.flaskenv'. Variables set directly in the"
            " environment take highest precedence. python-dotenv must be installed."
        ),
        is_eager=True,
        expose_value=False,
        callback=_env_file_callback,
    ),
    click.Option(
        ["-A", "--app"],
        metavar="IMPORT",
        help=(
            "The Flask application or factory function to load, in the form 'module:name'."
            " Module can be a dotted import or file path. Name is not required if it is"
            " 'app', 'application', 'create_app', or 'make_app', and can be 'name(args)' to"
            " pass arguments."
        ),
        is_eager=True,
        expose_value=False,
        callback=_app_callback,
    ),
    click.Option(
        ["--debug/--no-debug"],
        help="Set debug mode.",
        expose_value=False,
        callback=_debug_callback,
    ),
    click.Option(
        ["--version"],
        help="Show the Flask version.",
        expose_value=False,
        callback=_version_callback,
        is_flag=True,
        is_eager=True,
    ),
]


class PlannerGroup(click.Group):
    """FlaskGroup's behaviour (options, Flask's and plugin commands first, then the app's),
    with the app's commands known here instead of read from a created app."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["params"] = [*(kwargs.get("params") or ()), *GROUP_OPTIONS]
        kwargs.setdefault("context_settings", {}).setdefault("auto_envvar_prefix", "FLASK")
        super().__init__(**kwargs)
        self.app_commands: dict[str, click.Command] = {}
        self._plugins: dict[str, click.Command] | None = None

    def _builtin_and_plugins(self) -> dict[str, click.Command]:
        if self._plugins is None:
            self._plugins = {**FLASK_COMMANDS, **self.commands, **_plugin_commands()}
        return self._plugins

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._builtin_and_plugins().get(name) or self.app_commands.get(name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self._builtin_and_plugins()) | set(self.app_commands))

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # As FlaskGroup: makes app.run() a no-op if an imported module calls it.
        os.environ["FLASK_RUN_FROM_CLI"] = "true"
        return super().make_context(info_name, args, parent=parent, **extra)


def alembic_config(app: Flask) -> AlembicConfig:
    """Return an Alembic configuration for this app's database (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig

    from planner import db
    from planner.paths import resource_dir

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    cfg.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    cfg.attributes["engine"] = db.get_db(app).engine
    return cfg


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Bring the app's database to `revision` (default: the latest)."""
    from alembic import command as alembic_command

    alembic_command.upgrade(alembic_config(app), revision)


# --- planner db ---------------------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """Create and migrate the database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: head)."""
    from alembic.util.exc import CommandError
    from flask import current_app

    try:
        upgrade_database(current_app, revision)
    except CommandError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Database at {revision}.")


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION (default: one step back; 'base' removes everything)."""
    from alembic import command as alembic_command
    from alembic.util.exc import CommandError
    from flask import current_app

    try:
        alembic_command.downgrade(alembic_config(current_app), revision)
    except CommandError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Database downgraded to {revision}.")


@db_group.command("check")
@with_appcontext
def db_check() -> None:
    """Exit non-zero when the models and the migrations differ (upgrades a scratch copy first)."""
    from alembic import command as alembic_command
    from alembic.util.exc import AutogenerateDiffsDetected, CommandError
    from flask import current_app

    cfg = alembic_config(current_app)
    try:
        alembic_command.check(cfg)
    except AutogenerateDiffsDetected as exc:
        click.echo(f"The models and the migrations differ:\n{exc}", err=True)
        sys.exit(1)
    except CommandError as exc:
        click.echo(f"Cannot compare: {exc}", err=True)
        sys.exit(1)
    click.echo("The models and the migrations agree.")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@with_appcontext
def db_revision(message: str) -> None:
    """Autogenerate a new revision from the difference between the models and the database."""
    from alembic import command as alembic_command
    from flask import current_app

    alembic_command.revision(alembic_config(current_app), message=message, autogenerate=True)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the database's current revision."""
    from alembic import command as alembic_command
    from flask import current_app

    alembic_command.current(alembic_config(current_app), verbose=False)


# --- planner users ------------------------------------------------------------------------------


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name as others see it.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when left out.",
)
@click.option("--admin", is_flag=True, help="Make the account a site admin.")
@with_appcontext
def users_create(email: str, name: str, password: str, admin: bool) -> None:
    """Create an account that signs in with EMAIL."""
    from flask import current_app

    from planner import db
    from planner.domain import DomainError
    from planner.domain.accounts import create_account

    session = db.session()
    try:
        account = create_account(
            session,
            email=email,
            name=name,
            password=password,
            is_admin=admin,
            hash_method=current_app.config["PASSWORD_HASH_METHOD"],
        )
    except DomainError as exc:
        session.rollback()
        details = "; ".join(f"{field}: {message}" for field, message in exc.details.items())
        raise click.ClickException(details or exc.message) from exc
    session.commit()
    kind = "site admin" if admin else "user"
    click.echo(f"Created {kind} {account.email}.")


@click.group("tokens")
def tokens_group() -> None:
    """Personal access tokens for the API (Authorization: Bearer <token>)."""


def _account_or_fail(session, email: str) -> Account:
    from planner.domain.accounts import find_account

    account = find_account(session, email)
    if account is None:
        raise click.ClickException(f"There is no account {email}.")
    return account


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What will use it, for example: training pipeline.")
@click.option(
    "--scope",
    type=click.Choice(TOKEN_SCOPES),
    default="write",
    show_default=True,
    help="read: reads only (writes answer 403); write: whatever the owner may do.",
)
@click.option(
    "--expires",
    metavar="YYYY-MM-DD",
    default=None,
    help="The last day it works (UTC). Left out: no end date.",
)
@with_appcontext
def tokens_create(email: str, name: str, scope: str, expires: str | None) -> None:
    """Make a token that acts as EMAIL and print it, once: only its digest is kept."""
    from planner import db
    from planner.domain import AccessDenied, ValidationError
    from planner.domain.tokens import create_token, last_day
    from planner.timeutil import utcnow

    session = db.session()
    account = _account_or_fail(session, email)
    try:
        token, secret = create_token(
            session, account, name=name, scope=scope, expires_on=expires, now=utcnow()
        )
    except ValidationError as exc:
        session.rollback()
        problems = "; ".join(
            f"--{field.replace('_on', '')}: {m}" for field, m in exc.errors.items()
        )
        raise click.ClickException(problems) from exc
    except AccessDenied as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(secret)
    until = f"through {last_day(token)} (UTC)" if token.expires_at else "with no end date"
    click.echo(
        f"Token {token.id} ({token.name}, {token.scope}) for {account.email}, {until}. "
        "Copy it now: it is not shown again.",
        err=True,
    )


@tokens_group.command("list")
@click.argument("email")
@with_appcontext
def tokens_list(email: str) -> None:
    """List EMAIL's tokens: id, state, scope, name, how it starts, last use."""
    from planner import db
    from planner.domain.tokens import last_day, token_state, tokens_of
    from planner.timeutil import iso_utc, utcnow

    session = db.session()
    now = utcnow()
    tokens = tokens_of(session, _account_or_fail(session, email))
    if not tokens:
        click.echo(f"{email} has no tokens.")
    for token in tokens:
        used = iso_utc(token.last_used_at) if token.last_used_at else "never used"
        until = f"until {last_day(token)}" if token.expires_at else "no end date"
        click.echo(
            f"{token.id}\t{token_state(token, now)}\t{token.scope}\t{token.name}\t"
            f"{token.prefix}...\t{used}\t{until}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke the token TOKEN_ID (see `planner tokens list`): it stops working at once."""
    from planner import db
    from planner.domain import NotFoundError
    from planner.domain.tokens import find_token, revoke_token
    from planner.timeutil import utcnow

    session = db.session()
    try:
        token = find_token(session, token_id)
    except NotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    revoke_token(session, token, now=utcnow())
    session.commit()
    click.echo(f"Token {token.id} ({token.name}) is revoked.")


# --- import / export / demo ---------------------------------------------------------------------


# A progress line on standard error when it is a terminal is rewritten at most this often; when
# it is not (a log, a pipe), a plain line is written at most this often, so a quick run says
# nothing and a long one says how far it is.
PROGRESS_TTY_SECONDS = 0.1
PROGRESS_LOG_SECONDS = 5.0


class Progress:
    """Counts of rows done out of a total, per part ("stories 1,200/2,000, events ..."), shown on
    standard error and never on standard output, which may be the exported file."""

    def __init__(self, label: str, totals: dict[str, int], stream: Any = None) -> None:
        import time

        self.label = label
        self.totals = totals
        self.done = dict.fromkeys(totals, 0)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.every = PROGRESS_TTY_SECONDS if self.tty else PROGRESS_LOG_SECONDS
        self.clock = time.monotonic
        self.last = self.clock()
        self.shown = False
        self.step = ""

    def __call__(self, part: str, rows: int) -> None:
        self.done[part] = self.done.get(part, 0) + rows
        self.step = ""
        self._show()

    def note(self, step: str) -> None:
        """Say what is being done while no rows are counted (reading, checking); on a terminal
        at once, as nothing may be counted for a while."""
        self.step = step
        if self.tty:
            self.last = float("-inf")
        self._show()

    def line(self) -> str:
        counts = ", ".join(
            f"{part} {self.done[part]:,}/{total:,}" for part, total in self.totals.items()
        )
        step = f"({self.step})" if self.step else ""
        return f"{self.label}: " + " ".join(part for part in (counts, step) if part)

    def close(self) -> None:
        """Show the final counts when anything was shown (a quick run stays quiet)."""
        if self.shown:
            self.step = ""
            self._write(self.line())
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()

    def stop(self) -> None:
        """End the line of a terminal's progress, so what is said next starts on a line of its
        own."""
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()

    def _show(self) -> None:
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.shown = True
            self._write(self.line())

    def _write(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def admin_notes(session, project) -> list[str]:
    """Say which site admins an import made members of the project, and with what access."""
    from sqlalchemy import select

    from planner.models import Account, Membership

    rows = session.execute(
        select(Account.email, Membership.access)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.project_id == project.id, Account.is_admin.is_(True))
        .order_by(Account.email)
    )
    return [
        f"Note: {email} is a site admin and is now a member of {project.key} with {access} access."
        for email, access in rows
    ]


@click.command(
    "import",
    help="Import FILE: a planner-export JSON document (docs/export-format.md), which creates "
    "its project, or a Jira CSV export (docs/import-jira.md) into the existing project KEY. "
    "The format is recognised from the content unless --format says it. All of it or nothing: "
    f"a JSON file may hold at most {MAX_FILE_BYTES // 2**20} MB, a Jira CSV "
    f"{MAX_CSV_BYTES // 2**20} MB and {MAX_CSV_ROWS:,} issues; every problem is listed with "
    "where it is.",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(IMPORT_FORMATS),
    help="The file's format; recognised from its content when left out.",
)
@click.option("--project", "project_key", help="Jira CSV: the key of the project to import into.")
@click.option(
    "--timezone",
    help="Jira CSV: the Jira site's timezone (IANA name), in which the file's dates are written. "
    "Default: the project's timezone.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the file and say what the import would do, then change nothing.",
)
@with_appcontext
def import_command(
    file: Path, format_: str | None, project_key: str | None, timezone: str | None, dry_run: bool
) -> None:
    """Import a planner-export document or a Jira CSV (the help text above says how)."""
    from flask import current_app
    from sqlalchemy.exc import SQLAlchemyError

    from planner import db
    from planner.interchange import ImportRefused
    from planner.interchange.importer import (
        check_file,
        check_size,
        parse_document,
        private_copy,
        read_head,
        read_upload,
        write_checked,
    )
    from planner.interchange.jira_csv import MAX_CSV_BYTES, looks_like_jira_csv

    session = db.session()
    progress: Progress | None = None
    limit = max(MAX_FILE_BYTES, MAX_CSV_BYTES)
    try:
        # The file is read several times (a planner-export file a part at a time): from a copy
        # of its own, so a pipe works and a change to the file meanwhile changes nothing.
        with private_copy(file, limit) as copy:
            # The first bytes tell the format.
            head = read_head(copy, limit)
            format_ = format_ or ("jira-csv" if looks_like_jira_csv(head) else "planner-export")
            if format_ == "jira-csv":
                data = read_upload(copy, limit)
                _import_jira(session, file, data, project_key, timezone, dry_run)
                return
            if project_key or timezone:
                raise click.UsageError("--project and --timezone are for --format jira-csv.")
            # Nothing is counted while the file is checked (its totals are learnt then).
            progress = Progress("import", {})
            progress.note("checking")
            checked = check_file(
                session,
                copy,
                read_whole=lambda: parse_document(
                    check_size(read_upload(copy, limit), MAX_FILE_BYTES)
                ),
            )
            progress.stop()
            progress = Progress("import", {"stories": checked.stories, "events": checked.events})
            project = write_checked(
                session,
                checked,
                hash_method=current_app.config["PASSWORD_HASH_METHOD"],
                progress=progress,
            )
            progress.close()
    except SQLAlchemyError as exc:
        # A safety net: the checks should have refused what the database refuses.
        session.rollback()
        if progress is not None:
            progress.stop()
        click.echo(
            f"{file}: not imported, nothing was changed: the database refused part of it "
            f"({type(exc).__name__}); please report it.",
            err=True,
        )
        sys.exit(1)
    except ImportRefused as exc:
        session.rollback()
        if progress is not None:
            progress.stop()
        click.echo(
            f"{file}: not imported, nothing was changed. {len(exc.problems)} problem(s):", err=True
        )
        click.echo(exc.report(limit=200), err=True)
        sys.exit(1)
    if dry_run:
        session.rollback()
        click.echo(f"Dry run: {file} would create project {project.key} ({project.name}).")
        return
    session.commit()
    click.echo(f"Imported project {project.key} ({project.name}).")
    for line in admin_notes(session, project):
        click.echo(line)


def _import_jira(session, file, data, project_key, timezone, dry_run) -> None:
    from sqlalchemy import select

    from planner.interchange.jira_csv import read_jira_csv
    from planner.interchange.jira_import import import_jira, outcome_lines
    from planner.models import Project
    from planner.timeutil import is_timezone, utcnow

    if not project_key:
        raise click.UsageError(
            "A Jira CSV is imported into an existing project: add --project KEY (create the "
            "project in the web first, or import a planner-export file)."
        )
    project = session.scalar(select(Project).where(Project.key == project_key.strip().upper()))
    if project is None:
        raise click.ClickException(f"No project with the key {project_key.strip().upper()}.")
    timezone = timezone or project.timezone
    if not is_timezone(timezone):
        raise click.BadParameter(
            f"{timezone!r} is not an IANA timezone name, like Europe/Berlin.",
            param_hint="--timezone",
        )
    jira = read_jira_csv(data, timezone=timezone, name=str(file))
    with click.progressbar(
        length=len(jira.issues), label=f"Importing {len(jira.issues):,} issues", file=sys.stderr
    ) as bar:
        outcome = import_jira(session, project, jira, by=None, now=utcnow(), progress=bar.update)
    for line in outcome_lines(outcome):
        click.echo(line)
    for problem in outcome.problems[:200]:
        click.echo(f"{file}: {problem}", err=True)
    if len(outcome.problems) > 200:
        click.echo(f"... and {len(outcome.problems) - 200} more", err=True)
    if dry_run:
        session.rollback()
        click.echo(f"Dry run: nothing was written to {project.key}.")
        return
    session.commit()
    click.echo(f"Imported {file} into {project.key}.")


@click.command("export")
@click.argument("key")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of to standard output.",
)
@with_appcontext
def export_command(key: str, output: Path | None) -> None:
    """Export the project KEY as an interchange document."""
    from sqlalchemy import select

    from planner import db
    from planner.interchange.export import export_size, export_text
    from planner.models import Project

    session = db.session()
    project = session.scalar(select(Project).where(Project.key == key.upper()))
    if project is None:
        raise click.ClickException(f"No project with the key {key.upper()}.")
    stories, events = export_size(session, project)
    progress = Progress("export", {"stories": stories, "events": events})
    chunks = export_text(session, project, progress=progress)
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        progress.close()
    else:
        with output.open("w", encoding="utf-8") as stream:
            for chunk in chunks:
                stream.write(chunk)
        progress.close()
        click.echo(f"Wrote {project.key} to {output}.", err=True)


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Import the demo ML project, dated so its active sprint is running today (idempotent)."""
    from flask import current_app

    from planner import db
    from planner.demo import install_demo

    result = install_demo(db.session(), hash_method=current_app.config["PASSWORD_HASH_METHOD"])
    db.session().commit()
    click.echo(result.summary())
    for line in result.sign_ins():
        click.echo(line)


@click.command("quickstart")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def quickstart_command(host: str, port: int) -> None:
    """Upgrade the database, add the demo project if the database is empty, print the demo
    sign-ins and serve planner."""
    from flask import current_app

    from planner import db
    from planner.demo import install_demo
    from planner.domain.accounts import count_accounts

    app = current_app._get_current_object()
    upgrade_database(app)
    session = db.session()
    if count_accounts(session) == 0:
        result = install_demo(session, hash_method=app.config["PASSWORD_HASH_METHOD"])
        session.commit()
        click.echo(result.summary())
    else:
        from planner.demo import demo_sign_ins

        result = None
        click.echo("The database already has accounts; the demo was not added again.")
    lines = result.sign_ins() if result else demo_sign_ins(session)
    session.close()
    click.echo("")
    click.echo(f"planner is running at http://{host}:{port}/")
    for line in lines:
        click.echo(line)
    click.echo("Press Ctrl+C to stop.")
    # Flask ignores app.run() inside its own CLI, so serve with werkzeug directly (no reloader,
    # no debugger: this is for trying planner out, `gunicorn wsgi:app` is for production).
    from werkzeug.serving import run_simple

    from planner.delivery.worker import start_thread

    if not app.config.get("BASE_URL"):
        app.config["BASE_URL"] = f"http://{host}:{port}"
    start_thread(app)  # notifications, e-mail and webhooks, in this same process
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit (for cron and tests).")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between passes when running on.",
)
@with_appcontext
def worker_command(once: bool, interval: float) -> None:
    """Deliver notifications, e-mails and webhooks from the outbox. Run it beside gunicorn;
    several may run at once on PostgreSQL."""
    from flask import current_app

    from planner.delivery.mail import MailSettingsError, smtp_settings
    from planner.delivery.worker import Worker

    app = current_app._get_current_object()
    try:
        smtp_settings(app.config.get("SMTP_URL"))
    except MailSettingsError as exc:
        raise click.ClickException(str(exc)) from None
    worker = Worker(app, out=sys.stdout)
    if once:
        report = worker.run_once()
        click.echo(report.summary())
        return
    click.echo(f"planner worker {worker.name}: a pass every {interval:g} s; Ctrl+C stops.")
    try:
        worker.run_forever(interval)
    except KeyboardInterrupt:
        click.echo("Stopped.")


PLANNER_COMMANDS = (
    db_group,
    users_group,
    tokens_group,
    import_command,
    export_command,
    demo_command,
    quickstart_command,
    worker_command,
)


def init_app(app: Flask) -> None:
    """Register planner's commands on the app, for `flask --app planner` and the test runner."""
    for cmd in PLANNER_COMMANDS:
        app.cli.add_command(cmd)


@click.group(cls=PlannerGroup)
def main() -> None:
    """planner: an Agile sprint planner for machine-learning teams."""


main.app_commands.update((cmd.name, cmd) for cmd in PLANNER_COMMANDS)


if __name__ == "__main__":
    main()
