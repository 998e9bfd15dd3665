"""Whole pages kept per worker process and answered again while nothing they show has changed
(docs/rules.md, "Kept pages").

A project page that opts in with `@kept_page` is kept under a key made of everything it depends
on besides the project's rows:

- the project's change version (planner.models.versioning bumps it in the transaction of every
  write any page of the project shows, names of members included), read with the access check,
  so a kept page costs no query of its own;
- the page's address (host, path and query), the person (id, admin or not, their unread count,
  whether a read-only token signs the request; nobody, for a share link's dashboard) and the
  project's local date.

What else a page shows that can change without a write is bounded where it is read:
- "5 minutes ago", "page made 10:42": rendered against `page_now()`, the start of the current
  minute; a page that used it is kept until the minute ends;
- live MLflow details: kept no longer than planner.mlflow_reader keeps what it read
  (`keep_until`), and not at all when a read was cut short by the page's MLflow budget
  (`dont_keep`);
- a dependency on a story of another project: shown by key or not as the person is a member
  there, which is that project's version, so such a page is not kept (`shows_story_of`).

The CSRF token is per session, so a kept page holds a placeholder where the token goes and each
answer puts in a token of its own. A page is not kept when the request wrote anything (its
version moved), when a flashed message is waiting (the page shows it once), or when it is not a
plain 200. Each worker keeps at most PAGE_CACHE_MB megabytes (least recently used go first);
0 turns kept pages off.
"""

from __future__ import annotations

import functools
import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response, current_app, g, has_request_context, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from planner.timeutil import add_days, local_date, local_start_of, utcnow

# Stands for the CSRF token in a kept page; random per process, so no text can spell it.
_TOKEN = "planner-csrf-" + secrets.token_hex(16)


def clock() -> float:
    """Wall-clock seconds, as kept pages' lifetimes are counted (tests move it on)."""
    return time.time()


@dataclass
class _Render:
    """What one page's render depended on beyond its key."""

    now: datetime
    project_id: int
    expires: float = float("inf")  # wall-clock seconds
    keep: bool = True
    minute: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.minute = self.now.replace(second=0, microsecond=0)


@dataclass
class _Kept:
    body: str
    expires: float
    headers: dict[str, str] = field(default_factory=dict)
    size: int = field(init=False)

    def __post_init__(self) -> None:
        # What the text takes in memory: Python keeps 1, 2 or 4 bytes a character, as its
        # widest character needs (a page with a "–" takes two a character).
        self.size = sys.getsizeof(self.body)


class _Store:
    """A least-recently-used map from keys to pages, bounded in characters."""

    def __init__(self) -> None:
        self.pages: OrderedDict[tuple, _Kept] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key: tuple, now: float) -> _Kept | None:
        with self.lock:
            kept = self.pages.get(key)
            if kept is None:
                return None
            if kept.expires <= now:
                self._drop(key)
                return None
            self.pages.move_to_end(key)
            return kept

    def put(self, key: tuple, kept: _Kept, limit: int) -> None:
        if kept.size > limit // 4:  # one page never pushes out most of the others
            return
        with self.lock:
            if key in self.pages:
                self._drop(key)
            self.pages[key] = kept
            self.size += kept.size
            while self.size > limit:
                self._drop(next(iter(self.pages)))

    def _drop(self, key: tuple) -> None:
        self.size -= self.pages.pop(key).size

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()
            self.size = 0


def _store() -> _Store:
    """The app's store (one per app and process: a database of its own, pages of their own)."""
    return current_app.extensions.setdefault("planner.pagecache", _Store())


def clear() -> None:
    """Forget every kept page of this app in this process (after restoring its database from a
    backup, restart the server instead: every worker forgets)."""
    _store().clear()


def _limit() -> int:
    return int(float(current_app.config.get("PAGE_CACHE_MB", 0)) * 2**20)


def _render() -> _Render | None:
    return g.get("planner_page_render") if has_request_context() else None


def page_now() -> datetime:
    """Now, as a page says it ("5 minutes ago", "page made at"): while a kept page renders, the
    start of the current minute, and the page is then kept only until that minute ends."""
    render = _render()
    if render is None:
        return utcnow()
    keep_until(render.minute.timestamp() + 60)
    return render.minute


def keep_until(wall_seconds: float) -> None:
    """Say that what the page being rendered shows is good until `wall_seconds` (clock())."""
    render = _render()
    if render is not None:
        render.expires = min(render.expires, wall_seconds)


def shows_story_of(project_id: int) -> None:
    """Say that the page being rendered shows a story of `project_id` (a dependency's other
    end). How it shows one of another project depends on whether the person is a member there,
    which that project's version tracks, not this one's: such a page is not kept."""
    render = _render()
    if render is not None and project_id != render.project_id:
        render.keep = False


def dont_keep() -> None:
    """Say that the page being rendered is incomplete or one-off: answer it, but keep it not."""
    render = _render()
    if render is not None:
        render.keep = False


def _reader() -> tuple:
    """Who reads the page, as far as it shows: the person (id, admin or not, their unread
    count, whether a read-only token signs the request), or nobody (a share link's reader)."""
    from planner.signin import current_bearer

    if not current_user.is_authenticated:
        return (None, False, None, False)
    bearer = current_bearer()
    return (
        current_user.id,
        bool(current_user.is_admin),
        g.get("planner_unread"),
        bool(bearer is not None and bearer.read_only),
    )


def _key(project, today, query: bool) -> tuple:
    return (
        request.endpoint,
        request.host_url,
        request.full_path if query else request.path,
        project.id,
        project.change_version,
        *_reader(),
        today,
    )


_VERSION = 4  # where the project's change version stands in a key


def _csrf_field() -> str:
    """Where Flask-WTF keeps the request's token in g: its field name."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _with_token(body: str) -> str:
    g.pop(_csrf_field(), None)
    if _TOKEN not in body:
        return body  # a page with no form: no token, and no session made for one
    return body.replace(_TOKEN, generate_csrf())


def kept(project, draw: Callable[[], Any], *, query: bool = True) -> Any:
    """Answer a GET of a page of `project` from the kept copy while its key holds (see the
    module's doc), else `draw()` it and keep it. `draw` answers a text, (text, status) or
    (text, status, headers as a dict); anything else is answered as it is, never kept.
    `query=False` for a page that reads no query string: one copy whatever it says, so that
    nobody fills the store with variants of one address."""
    limit = _limit()
    if request.method != "GET" or limit <= 0 or session.get("_flashes"):
        return draw()
    now = utcnow()
    today = local_date(now, project.timezone)
    key = _key(project, today, query)
    found = _store().get(key, clock())
    if found is not None:
        body = _with_token(found.body)
        return (body, 200, found.headers) if found.headers else body
    render = g.planner_page_render = _Render(now, project.id)
    # The key holds today's date: kept at most until the project's midnight.
    keep_until(local_start_of(add_days(today, 1), project.timezone).timestamp())
    field_name = _csrf_field()
    setattr(g, field_name, _TOKEN)
    try:
        answer = draw()
    finally:
        g.pop("planner_page_render", None)
        if g.get(field_name) == _TOKEN:
            g.pop(field_name)
    parts = answer if isinstance(answer, tuple) else (answer,)
    body, status = parts[0], parts[1] if len(parts) > 1 else 200
    headers = parts[2] if len(parts) > 2 else None
    if not isinstance(body, str) or len(parts) > 3 or not isinstance(headers, dict | None):
        if isinstance(body, Response) and not body.direct_passthrough:
            body.set_data(_with_token(body.get_data(as_text=True)))
        elif isinstance(body, str):
            return (_with_token(body), *parts[1:])
        return answer
    if (
        status == 200
        and render.keep
        and project.change_version == key[_VERSION]
        and not session.get("_flashes")
    ):
        _store().put(key, _Kept(body, render.expires, dict(headers or {})), limit)
    return (_with_token(body), *parts[1:]) if len(parts) > 1 else _with_token(body)


def kept_page(view: Callable) -> Callable:
    """Decorate a project page's view (below `project_route`, so it receives `access`): its GETs
    are kept and answered again while its key holds, as `kept` does."""

    @functools.wraps(view)
    def wrapper(*, access, **kwargs: Any):
        return kept(access.project, lambda: view(access=access, **kwargs))

    return wrapper
