"""gunicorn settings for planner in production:

    gunicorn -c deploy/gunicorn.conf.py --workers 3 --bind 0.0.0.0:8000

The app is loaded once in the master (`preload_app`) and the workers are forked from it, so the
code and templates they share are in memory once instead of once per worker. A
forked worker must never use a database connection it inherited (two processes writing on one
socket corrupt each other's conversation), so each worker empties the engine's pool it inherited
right after the fork (`post_fork`) and opens its own connections. Command-line options override
these settings; `gunicorn wsgi:app` without this file still works, without preloading.
"""

from __future__ import annotations

import gc

wsgi_app = "wsgi:app"
preload_app = True

# Python's garbage collector writes into every object it examines, so a worker's collections
# would copy, page by page, what it shares with the master. gc.freeze() moves the master's
# objects (the loaded app) out of every later collection just before each fork: in the workers
# they stay shared (tests/benchmarks/preload_memory.py: a worker's own memory, USS, 0.58 of a
# worker that loaded the app itself, where without the freeze it was 0.91). The master keeps
# collecting what it makes after a fork.


def pre_fork(server, worker) -> None:
    gc.freeze()


def post_fork(server, worker) -> None:
    """Drop the connections the worker inherited from the master, without closing them (closing
    would end them for the master too): the worker connects anew on its first query."""
    from planner.db import get_db

    engine = get_db(server.app.wsgi()).engine
    checkedin = getattr(engine.pool, "checkedin", None)  # QueuePool, planner's default
    inherited = checkedin() if checkedin else "any"
    engine.dispose(close=False)
    server.log.info(
        "planner: worker %s dropped %s inherited database connection(s)", worker.pid, inherited
    )
