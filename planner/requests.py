"""Every request is read through the same door: the rules of planner.inputs applied to paths,
query strings, form fields and JSON bodies before any view runs.

- A path holding NUL or control characters names nothing: 404.
- A query-string or form value (or name) that cannot be stored as text (NUL, an unpaired
  surrogate) is refused with 422 and the field named, so no view and no database ever sees it.
- JSON bodies are read with planner.inputs.parse_json: too deep or not JSON answers 400, a
  duplicate key or unstorable text answers 422, each saying where.

Request sizes are bounded by MAX_CONTENT_LENGTH (413), set in config.py; a view marked with
`planner.web.imports.accepts_upload` takes a larger file.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from planner.domain import ValidationError
from planner.errors import error_response, wants_json
from planner.inputs import JSONInputError, parse_json, storable, text_problem

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class PlannerJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that reading goes through planner.inputs.parse_json."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


class PlannerRequest(Request):
    """A request whose JSON problems say what is wrong and where, instead of a bare 400."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JSONInputError):
            if e.syntax:
                raise BadRequest(description=e.message)
            raise ValidationError({e.field or "body": e.message}, message=str(e))
        if e is None:
            raise BadRequest(description="Send a JSON object with Content-Type: application/json.")
        raise BadRequest(description=f"The body is not valid JSON: {e}")


def _refuse(field: str, problem: str):
    if wants_json():
        raise ValidationError({field: problem}, message=f"{field}: {problem}")
    return error_response(
        422,
        f"The field “{field[:60]}” cannot be accepted: {problem} Go back, correct it and send "
        "it again.",
    )


def check_request():
    """before_request: refuse what no view could store, naming the field."""
    if not storable(request.path) or any(ord(ch) < 32 or ord(ch) == 127 for ch in request.path):
        abort(404)
    view = current_app.view_functions.get(request.endpoint or "")
    if (limit := getattr(view, "upload_limit", None)) is not None:
        request.max_content_length = limit  # an import upload (planner.web.imports)
    sources = [request.args]
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in FORM_TYPES:
        sources.append(request.form)
    for source in sources:
        for key, values in source.lists():
            for value in (key, *values):
                if not storable(value):
                    return _refuse(key if storable(key) else "?", text_problem(value) or "")
    return None


def init_app(app: Flask) -> None:
    """Make `app` read requests through planner.inputs."""
    app.request_class = PlannerRequest
    app.json = PlannerJSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
