"""The API's contract, with SpecTree: each route declares its query, body and answers with the
pydantic models of schemas.py; SpecTree checks requests and answers against them and writes the
OpenAPI 3.1 document served at /api/v1/openapi.json (read at /api/docs).

Requests are always checked (they are input). Answers are checked against their declared model
when API_VALIDATE_RESPONSES is on: in development and in the tests, where a route answering
outside its contract fails loudly (500 with the mismatch); production skips that check, which
costs a second parse of every answer (docs/performance.md).

Why SpecTree: it decorates the Flask views planner already has (no second framework, no second
router), takes pydantic v2 models, and writes OpenAPI 3.1. Its own documentation pages load their
renderer from a CDN, so planner turns them off and serves a vendored Swagger UI (web/apidocs.py).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, make_response, request
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from spectree.plugins.flask_plugin import FlaskPlugin

from planner import __version__
from planner.api import schemas

SECURITY_SCHEMES = [
    SecurityScheme(
        name="token",
        data=SecuritySchemeData(
            type="http",
            scheme="bearer",
            description="A personal access token (account page, or `planner tokens create`). "
            "No CSRF header. A read token is refused every write (403).",
        ),
    ),
    SecurityScheme(
        name="session",
        data=SecuritySchemeData(
            type="apiKey",
            field_in="cookie",
            name="session",
            description="A signed-in browser session. Every write also sends the "
            "X-CSRFToken header (the csrf-token meta tag of any page).",
        ),
    ),
]

_MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field: send only the fields the API document lists.",
    "int_type": "Send a whole number.",
    "string_type": "Send a string.",
    "bool_type": "Send true or false.",
    "float_type": "Send a number.",
    "list_type": "Send a list.",
    "none_required": "Send null.",
}


def _field_message(error: dict[str, Any]) -> str:
    if error["type"] == "literal_error":
        return f"Choose one of: {error['ctx']['expected']}."
    return _MESSAGES.get(error["type"], error["msg"])


def _field_name(loc: tuple) -> str:
    # A union (str | int) reports each member as one more step ("assignee.str"): the field is
    # the first step.
    return str(loc[0]) if loc else ""


def planner_errors(req, resp, req_validation_error, instance, model_adapter) -> None:
    """SpecTree's `before` hook: when a request fails its declaration, answer in planner's error
    shape, {"error": {"code", "message", "details": {field: message}}}, with 422 (400 when the
    body is not a JSON object at all)."""
    if req_validation_error is None or resp is None:
        return
    from planner.errors import error_body

    if request.is_json:
        # A body planner's JSON reader refuses (too deep, a duplicate key, a NUL) is answered by
        # that reader's own error, which says what and where; SpecTree read it silently.
        request.get_json()

    if request.method in ("POST", "PATCH", "PUT") and not isinstance(
        request.get_json(silent=True), dict
    ):
        message = "Send a JSON object with Content-Type: application/json."
        resp.status_code = 400
        resp.set_data(error_body(400, message))
        return
    details: dict[str, str] = {}
    for error in req_validation_error.errors():
        details.setdefault(_field_name(error["loc"]), _field_message(error))
    first = next(iter(details.items()))
    resp.status_code = 422
    resp.set_data(error_body(422, f"{first[0]}: {first[1]}", details))


class PlannerFlaskPlugin(FlaskPlugin):
    """SpecTree's Flask plugin, checking answers only where API_VALIDATE_RESPONSES is on."""

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        if not current_app.config.get("API_VALIDATE_RESPONSES", True):
            return make_response(resp), None
        return super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)


spec = SpecTree(
    "flask",
    backend=PlannerFlaskPlugin,
    title="planner API",
    version=__version__,
    description="Plan and track an ML team's work: projects, stories, sprints, charts, "
    "milestones. Rules and formulas: /rules. Examples: docs/api.md.",
    # SpecTree leaves out of the document every route under its own path, so its path is not
    # /api/v1; planner serves the document at /api/v1/openapi.json itself (register below).
    path="api/spec",
    filename="openapi.json",
    page_templates={},
    mode="strict",
    openapi_version="3.1.0",
    security_schemes=SECURITY_SCHEMES,
    security=[{"token": []}, {"session": []}],
    before=planner_errors,
    validation_error_model=schemas.Error,  # the 422 it documents has planner's error shape
    annotations=False,
    naming_strategy=lambda model: model.__name__,
)

# Every call may answer these: 413 for a body over 2 MB; 414 comes from the server before planner
# reads the request (a request line over its limit), without a body planner writes.
COMMON_ERRORS = {
    "HTTP_401": schemas.Error,
    "HTTP_413": schemas.Error,
    "HTTP_414": None,
    "HTTP_429": schemas.Error,
}


def answers(ok: int = 200, model: type | None = None, *errors: int) -> Response:
    """The answers a route declares: `ok` with `model`, 401/429 always, and `errors`."""
    declared: dict[str, Any] = {f"HTTP_{ok}": model, **COMMON_ERRORS}
    for code in errors:
        declared[f"HTTP_{code}"] = schemas.Error
    return Response(**declared)


def register(app) -> None:
    """Attach the contract to the app and serve it at /api/v1/openapi.json (public: it holds
    no data)."""
    spec.register(app)

    @app.get("/api/v1/openapi.json", endpoint="api_openapi_json")
    def openapi_json():
        return app.json.response(spec.spec)
