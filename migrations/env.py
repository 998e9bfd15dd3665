"""Alembic environment. The URL is resolved the way the app resolves it: `planner db ...` passes
the app's engine; plain `alembic` (with -x nothing) builds the app from the environment."""

from __future__ import annotations

from alembic import context

from planner.models import Base, UTCDateTime, search_include_name

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj, autogen_context):
    """Write UTCDateTime as the plain timezone-aware DateTime it stores, so revisions stay frozen
    and never import planner's code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _engine():
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    from planner import create_app
    from planner.db import get_db

    return get_db(create_app()).engine


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        include_name=search_include_name,  # search objects: not in the models
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them; a no-op elsewhere
            compare_type=True,
            compare_server_default=False,
            render_item=render_item,
            include_name=search_include_name,  # search objects: not in the models
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
