"""Typed text is never lost when a session ends.

A page form posted without a signed-in user (the session expired, or the person signed out in
another tab), or with a security token from an earlier session, is not thrown away:

- signed out: the sign-in page answers (401) carrying the submitted fields; after signing in, a
  "Send your changes again" page shows them and posts them, with a fresh token, where they were
  going;
- signed in with an out-of-date token: that same page answers at once (400).

Nothing is sent without the person pressing the button. File uploads are not carried.
"""

from __future__ import annotations

import json

from flask import render_template, request, url_for

from planner.inputs import JSONInputError, parse_json

SKIPPED = {"csrf_token", "replay", "replay_to"}
MAX_FIELDS = 200
TECHNICAL = {"version", "next", "here", "action"}  # carried, not worth showing


def submitted_fields() -> list[tuple[str, str]]:
    """The form fields of this request, in order, without its security token."""
    return [
        (name, value)
        for name, values in request.form.lists()
        if name not in SKIPPED and "password" not in name  # never carry a password around
        for value in values
    ][:MAX_FIELDS]


def encode(fields: list[tuple[str, str]]) -> str:
    return json.dumps(fields, ensure_ascii=False)


def decode(text: str | None) -> list[tuple[str, str]]:
    """Fields carried through sign-in; anything malformed carries nothing."""
    if not text:
        return []
    try:
        data = parse_json(text)
    except JSONInputError:
        return []
    if not isinstance(data, list):
        return []
    pairs = [
        (pair[0], pair[1])
        for pair in data[:MAX_FIELDS]
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(item, str) for item in pair)
    ]
    return pairs


def target_of_this_request() -> str:
    return request.full_path.rstrip("?")


def sign_in_keeping_fields():
    """401: the sign-in page, carrying this request's fields to send after signing in."""
    from planner.web.auth import LoginForm

    form = LoginForm(formdata=None)
    return (
        render_template(
            "auth/login.html",
            form=form,
            replay=encode(submitted_fields()),
            replay_to=target_of_this_request(),
        ),
        401,
    )


def resubmit_page(fields: list[tuple[str, str]], target: str, *, reason: str, status: int):
    """The page that shows carried fields and sends them again with a fresh token."""
    from planner.web.auth import safe_next

    shown = [(name, value) for name, value in fields if value.strip() and name not in TECHNICAL]
    back = safe_next(target) or url_for("projects.index")
    return (
        render_template(
            "auth/resubmit.html",
            fields=fields,
            shown=shown,
            target=target,
            back=back,
            reason=reason,
        ),
        status,
    )
