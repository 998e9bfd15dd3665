"""planner under real gunicorn (2 workers, production settings) over the test database, for the
tests that need a real server: the fuzzer and the preload configuration's test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def gunicorn_serving(
    app: str, database_url: str, folder: Path, *options: str, secret: str
) -> Iterator[tuple[str, Path]]:
    """Start gunicorn on `app` (a wsgi path) with `options`, wait until it accepts connections,
    and yield (its base URL, its error log); stop it afterwards."""
    port = free_port()
    log = folder / "gunicorn.log"
    env = {
        **os.environ,
        "PLANNER_ENV": "production",
        "PLANNER_SECRET_KEY": secret + "-only-" + "x" * 32,
        "PLANNER_DATABASE_URL": database_url,
        "PLANNER_INSTANCE_PATH": str(folder / "instance"),
        # Tests send thousands of requests with one token: the per-token limit has its own test.
        "PLANNER_API_TOKEN_LIMIT": "1000000 per minute",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *options,
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--error-logfile",
            str(log),
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.terminate()
                pytest.fail("gunicorn did not start within 60 s")
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=30)
