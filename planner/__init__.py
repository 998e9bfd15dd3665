"""planner: an Agile sprint planner for machine-learning teams.

`create_app()` builds everything (configuration, database, sign-in, CSRF, blueprints, CLI and
error handlers); importing this package does nothing else.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Flask is imported in create_app: `planner --help` must not import it
    from flask import Flask

__version__ = "0.1.0"


def _config_module():
    try:  # installed from a wheel: config.py ships inside the package
        from planner import _config as config_module
    except ImportError:  # a checkout or an editable install: config.py at the top level
        import config as config_module
    return config_module


def create_app(config: str | None = None, **overrides: Any) -> Flask:
    """Build the planner app for the environment `config` (default: $PLANNER_ENV or development).

    Keyword overrides replace settings, e.g. create_app("testing", DATABASE_URL="sqlite:///x.db").
    """
    from flask import Flask

    from planner import cli, db, errors, limits, requests, web
    from planner.api import bp as api_bp
    from planner.api.spec import register as register_api_spec
    from planner.converters import BoundedInt
    from planner.paths import resource_dir

    settings = _config_module().load(config)
    settings.update(overrides)
    instance_path = os.environ.get("PLANNER_INSTANCE_PATH") or settings.get("INSTANCE_PATH")
    app = Flask(
        "planner",
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.config.update(settings)
    app.url_map.converters["int"] = BoundedInt
    app.config["PLANNER_VERSION"] = __version__
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)
    url = app.config.get("DATABASE_URL")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = db.default_sqlite_url(app.instance_path)
    app.config["DATABASE_URL"] = url

    db.init_app(app, url)
    web.init_app(app)
    limits.init_app(app)
    app.register_blueprint(api_bp)
    register_api_spec(app)  # /api/v1/openapi.json
    errors.init_app(app)
    requests.init_app(app)
    cli.init_app(app)
    return app


def _instance_secret_key(app: Flask) -> str:
    """Return the development secret key kept in the instance folder, creating it once."""
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
