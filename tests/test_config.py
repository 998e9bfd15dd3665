"""Configuration comes from the environment; production refuses to start without a secret."""

from __future__ import annotations

import stat

import pytest

from planner import create_app
from planner.db import get_db


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("PLANNER_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="PLANNER_SECRET_KEY is not set"):
        create_app("production", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")


def test_development_keeps_a_generated_secret_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PLANNER_SECRET_KEY", raising=False)
    monkeypatch.setenv("PLANNER_INSTANCE_PATH", str(tmp_path / "instance"))
    first = create_app("development")
    second = create_app("development")
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # The default database is a SQLite file in the instance folder.
    assert first.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'planner.sqlite3'}"
    for app in (first, second):
        get_db(app).dispose()


def test_environment_variables_override(monkeypatch, tmp_path):
    monkeypatch.setenv("PLANNER_ENV", "production")
    monkeypatch.setenv("PLANNER_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    app = create_app()
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SECRET_KEY"] == "s" * 40
    assert app.config["DATABASE_URL"].endswith("env.sqlite3")
    get_db(app).dispose()


def test_an_unknown_environment_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PLANNER_ENV", "staging")
    with pytest.raises(RuntimeError, match="PLANNER_ENV='staging' is not one of"):
        create_app()


def test_wsgi_exposes_an_app_for_gunicorn(monkeypatch, tmp_path):
    import importlib

    monkeypatch.setenv("PLANNER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite3'}")
    wsgi = importlib.import_module("wsgi")
    wsgi = importlib.reload(wsgi)
    assert wsgi.app.name == "planner"
    get_db(wsgi.app).dispose()
