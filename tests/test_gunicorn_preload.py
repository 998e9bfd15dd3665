"""deploy/gunicorn.conf.py under real gunicorn (2 sync workers, --preload from the file) over the
test database (PostgreSQL when PLANNER_TEST_DATABASE_URL is set, SQLite otherwise): each forked
worker drops the database connection it inherited from the master, and both workers then answer
requests that query the database, none failing."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from planner.domain.tokens import create_token
from tests.gunicorn_server import ROOT, gunicorn_serving

CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def _get(url: str, secret: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def preloaded(app, db_session, database_url, tmp_path, team):
    _token, secret = create_token(
        db_session, team.viewer, name="preload test", scope="read", now=datetime.now(UTC)
    )
    db_session.commit()
    access = tmp_path / "access.log"
    options = ("-c", str(CONFIG), "--timeout", "60", "--log-level", "info")
    options += ("--access-logfile", str(access), "--access-logformat", "%(p)s %(s)s %(U)s")
    with gunicorn_serving(
        "tests.preload_wsgi:app", database_url, tmp_path, *options, secret="preload-test"
    ) as (base, log):
        yield base, secret, log, access


def test_preloaded_workers_drop_inherited_connections_and_all_answer(preloaded):
    base, secret, log, access = preloaded
    # Both workers have forked once the master logged two "Booting worker" lines.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(re.findall(r"dropped", log.read_text())) < 2:
        time.sleep(0.1)
    text = log.read_text()
    booted = set(re.findall(r"Booting worker with pid: (\d+)", text))
    dropped = dict(re.findall(r"planner: worker (\d+) dropped (\S+) inherited", text))
    assert len(booted) == 2 and set(dropped) == booted, text
    # tests/preload_wsgi.py ran one query in the master: each worker inherited that connection.
    assert set(dropped.values()) == {"1"}, text

    # 8 clients at once against 2 sync workers: both take requests; each request reads the
    # token from the database (and /api/v1/me the account), none may fail.
    urls = [f"{base}/api/v1/me"] * 200 + [f"{base}/healthz"] * 40
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda url: _get(url, secret), urls))
    assert statuses == [200] * 240

    time.sleep(0.5)  # gunicorn writes the access log line after the answer
    lines = [line.split() for line in access.read_text().splitlines()]
    me = [pid.strip("<>") for pid, status, path in lines if path == "/api/v1/me"]
    assert len(me) == 200
    assert set(me) == booted, "both workers answered database requests"
    assert "Traceback" not in log.read_text()
