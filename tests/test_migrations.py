"""Migrations are the schema's only path outside tests: one head, down and up again, and no
difference from the models. Runs in a scratch SQLite file or a scratch PostgreSQL schema."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from planner.cli import alembic_config
from planner.models import Base, search_include_name


@pytest.fixture
def scratch_engine(tmp_path):
    url = os.environ.get("PLANNER_TEST_DATABASE_URL")
    if not url:
        engine = create_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}")
        yield engine
        engine.dispose()
        return
    schema = f"migration_check_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def config_for(app, engine):
    cfg = alembic_config(app)
    cfg.attributes["engine"] = engine
    return cfg


def test_there_is_exactly_one_head(app):
    script = ScriptDirectory.from_config(alembic_config(app))
    assert len(script.get_heads()) == 1


def test_upgrade_downgrade_upgrade_and_no_difference_from_the_models(app, scratch_engine):
    cfg = config_for(app, scratch_engine)
    command.upgrade(cfg, "head")
    tables = set(inspect(scratch_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables

    command.downgrade(cfg, "base")
    assert set(inspect(scratch_engine).get_table_names()) <= {"alembic_version"}

    command.upgrade(cfg, "head")
    with scratch_engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": search_include_name}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_the_partial_index_keeps_one_active_sprint_after_migrating(app, scratch_engine):
    command.upgrade(config_for(app, scratch_engine), "head")
    with scratch_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO project (key, name, timezone, working_days, sprint_length_days, "
                "slip_tolerance_days, story_counter, epic_counter, created_at) VALUES "
                "('X', 'x', 'UTC', '12345', 14, 7, 0, 0, '2026-03-02 09:00:00')"
            )
        )
    insert = text(
        "INSERT INTO sprint "
        "(project_id, name, start_date, end_date, state, started_at, created_at) "
        "SELECT id, :name, '2026-03-02', '2026-03-13', 'active', "
        "'2026-03-02 09:00:00', '2026-03-02 09:00:00' FROM project"
    )
    with scratch_engine.begin() as conn:
        conn.execute(insert, {"name": "A"})
    with pytest.raises(Exception, match="(?i)unique"):
        with scratch_engine.begin() as conn:
            conn.execute(insert, {"name": "B"})


def test_projects_stored_with_a_server_timezone_are_set_to_utc(app, scratch_engine):
    cfg = config_for(app, scratch_engine)
    command.upgrade(cfg, "0002_share_link_expiry")
    with scratch_engine.begin() as conn:
        for key, zone_name in (
            ("GOOD", "Europe/Berlin"),
            ("LOCAL", "localtime"),
            ("POSIX", "posixrules"),
            ("PATH", "/etc/localtime"),
        ):
            conn.execute(
                text(
                    "INSERT INTO project (key, name, timezone, working_days, sprint_length_days, "
                    "slip_tolerance_days, story_counter, epic_counter, created_at) VALUES "
                    "(:key, 'x', :zone, '12345', 14, 7, 0, 0, '2026-03-02 09:00:00')"
                ),
                {"key": key, "zone": zone_name},
            )
    command.upgrade(cfg, "head")
    with scratch_engine.connect() as conn:
        zones = dict(conn.execute(text("SELECT key, timezone FROM project")).all())
    assert zones == {"GOOD": "Europe/Berlin", "LOCAL": "UTC", "POSIX": "UTC", "PATH": "UTC"}


def test_existing_projects_get_random_context_stamps(app, scratch_engine):
    cfg = config_for(app, scratch_engine)
    command.upgrade(cfg, "0012_series_active")
    with scratch_engine.begin() as conn:
        for key in ("ONE", "TWO", "THREE"):
            conn.execute(
                text(
                    "INSERT INTO project (key, name, timezone, working_days, sprint_length_days, "
                    "slip_tolerance_days, story_counter, epic_counter, created_at) VALUES "
                    "(:key, 'x', 'UTC', '12345', 14, 7, 0, 0, '2026-03-02 09:00:00')"
                ),
                {"key": key},
            )
    command.upgrade(cfg, "head")
    with scratch_engine.connect() as conn:
        stamps = conn.scalars(text("SELECT context_stamp FROM project")).all()
    # three different stamps, none of them the column's default; each fits in 62 bits
    assert len(set(stamps)) == 3
    assert all(0 < stamp < 2**62 for stamp in stamps)
