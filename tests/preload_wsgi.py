"""The production app for the preload test's gunicorn, over plain HTTP on loopback, after a query
in the master: with `preload_app` the forked workers inherit that pooled connection, which the
post_fork hook of deploy/gunicorn.conf.py must drop."""

from sqlalchemy import text

from planner import create_app
from planner.db import get_db

app = create_app("production", SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False)
with get_db(app).engine.connect() as connection:
    connection.execute(text("SELECT 1"))
