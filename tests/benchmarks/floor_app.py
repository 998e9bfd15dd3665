"""The floor of the web benchmark: planner's own app with two routes added that sign the request
in exactly as planner does and then run one indexed query (not a test).

    gunicorn -c deploy/gunicorn.conf.py 'tests.benchmarks.floor_app:create_floor_app()'

- GET /__floor/<key>: a page's sign-in (Flask-Login's session cookie, planner.signin.require_login)
  then the project's name by its key; a small text body.
- GET or PATCH /api/v1/__floor/<key>: the API's sign-in (planner.signin.require_api_user: a Bearer
  token, or the session) then the same query; a small JSON body.

Every app-wide hook of planner runs for them as for any planner route (request checks, CSRF,
security headers, the session closed at teardown). What a planner endpoint costs beyond its floor
is its own work: its queries, its domain code and its template.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify
from sqlalchemy import select

from planner import create_app, db
from planner.models import Project
from planner.signin import require_api_user, require_login


def _project_name(key: str) -> str:
    name = db.session().scalar(select(Project.name).where(Project.key == key))
    if name is None:
        abort(404)
    return name


def floor_page(key: str):
    refused = require_login()
    if refused is not None:
        return refused
    return (
        f"floor {key}: {_project_name(key)}\n",
        200,
        {"Content-Type": "text/plain; charset=utf-8"},
    )


def floor_api(key: str):
    refused = require_api_user()
    if refused is not None:
        return refused
    return jsonify({"key": key, "name": _project_name(key)})


def add_floor(app: Flask) -> Flask:
    """Add the floor routes to a planner app (before it serves its first request)."""
    app.add_url_rule("/__floor/<key>", "bench_floor_page", floor_page)
    app.add_url_rule(
        "/api/v1/__floor/<key>", "bench_floor_api", floor_api, methods=["GET", "PATCH"]
    )
    return app


def create_floor_app(config: str | None = None, **overrides: Any) -> Flask:
    """planner's app (create_app, configured from the environment as wsgi.py's) with the floor."""
    return add_floor(create_app(config, **overrides))
