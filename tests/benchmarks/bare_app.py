"""The bare app of the web benchmark: Flask alone, no database, no sign-in (not a test).

    gunicorn --preload 'tests.benchmarks.bare_app:create_bare_app()'

GET /bytes/<size> answers `size` bytes of HTML made once and kept in memory: the cost of
gunicorn, Flask and the network for an answer as large as a planner page, and nothing else.
"""

from __future__ import annotations

from flask import Flask, Response

MAX_SIZE = 64 * 1024 * 1024


def body_of(size: int) -> bytes:
    """`size` bytes of plain HTML-ish text."""
    line = b"<p>planner bench bare body, the same size as the page it stands for.</p>\n"
    return (line * (size // len(line) + 1))[:size]


def create_bare_app() -> Flask:
    app = Flask("planner_bench_bare")
    bodies: dict[int, bytes] = {}

    @app.get("/bytes/<int:size>")
    def blob(size: int) -> Response:
        if size > MAX_SIZE:
            return Response("too large\n", status=404, mimetype="text/plain")
        body = bodies.get(size)
        if body is None:
            body = bodies[size] = body_of(size)
        return Response(body, mimetype="text/html")

    return app
