"""The board poll's ETag: "has anything this answer shows changed?" for the price of one indexed
query after sign-in, which reads the project's change_version (planner.models.versioning) with
the membership.

The ETag names what the answer is made of, except the moment it is asked about (`since`):
- the project and its change_version, bumped in the transaction of every write its pages show;
- who asks (account id, access level, a read-only token), since cards are drawn for them;
- the project's local date, since cards show their age in days;
- the query string without `since`, order aside (filters, lanes, sprint, `here`);
- which answer (the API's JSON or the page's cards).
A matching If-None-Match is answered 304 with no body before the route's own access check and
anything else runs; the client keeps the `since` it sent (its last `now`), as nothing changed
after it. Otherwise the route answers as always, with the ETag. The version is read before the
route reads the board, so an answer is never newer-tagged than its content: a write committed in
between makes the next poll answer in full once more, never miss the write.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from flask import Response, make_response, request
from flask_login import current_user

from planner import db
from planner.domain import ValidationError
from planner.domain.access import PollState, poll_state, required_level
from planner.domain.board import since_of
from planner.signin import current_bearer
from planner.timeutil import local_today
from planner.vocab import ACCESS_RANK


def board_poll(kind: str) -> Callable:
    """Decorate a board poll route taking `key` or `sprint_id`, above its access check: 304 when
    the request's If-None-Match is the board's ETag as it is; else the route, with the ETag."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**kwargs: Any):
            etag = _etag_now(kind, kwargs)
            if etag is not None and _since_is_valid() and request.if_none_match.contains_weak(etag):
                return tagged(Response(status=304), etag)
            response = make_response(view(**kwargs))
            if etag is not None and response.status_code == 200:
                tagged(response, etag)
            return response

        return wrapper

    return decorator


def _etag_now(kind: str, kwargs: dict[str, Any]) -> str | None:
    """The ETag of the board as it is, or None when the route must decide (not a member, no such
    project or sprint): it answers 404 as it always has."""
    if not current_user.is_authenticated:
        return None
    state = poll_state(
        db.session(), current_user, project_key=kwargs.get("key"), sprint_id=kwargs.get("sprint_id")
    )
    if state is None:
        return None
    if ACCESS_RANK[state.level] < ACCESS_RANK[required_level(request.method, "edit")]:
        return None  # (a GET needs view access, which every member has)
    return board_etag(state, kind)


def _since_is_valid() -> bool:
    """A bad `since` is never answered 304: the route says what is wrong with it (422)."""
    try:
        since_of(request.args)
    except ValidationError:
        return False
    return True


def board_etag(state: PollState, kind: str) -> str:
    """The (weak) ETag value of the board poll `kind` ("api" or "page") for this request."""
    bearer = current_bearer()
    return etag_of(
        kind,
        project_id=state.project_id,
        version=state.change_version,
        account_id=current_user.id,
        level=state.level,
        read_only=bool(bearer is not None and bearer.read_only),
        today=local_today(state.timezone),
        args=request.args.items(multi=True),
    )


def etag_of(
    kind: str,
    *,
    project_id: int,
    version: int,
    account_id: int,
    level: str,
    read_only: bool,
    today: date,
    args: Iterable[tuple[str, str]],
) -> str:
    """The ETag value of these inputs: the query string without `since`, order aside."""
    params = sorted((k, v) for k, v in args if k != "since")
    parts = [kind, project_id, version, account_id, level, read_only, today.isoformat(), params]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def tagged(response: Response, etag: str) -> Response:
    """Give an answer its weak ETag."""
    response.set_etag(etag, weak=True)
    return response
