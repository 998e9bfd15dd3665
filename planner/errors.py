"""One place that turns errors into answers: JSON under /api/, an error page elsewhere."""

from __future__ import annotations

import json
import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from planner import db
from planner.domain import AccessDenied, DomainError, NotFoundError

log = logging.getLogger(__name__)

PAGE_CODES = {400, 401, 403, 404, 405, 409, 413, 422, 500}
TITLES = {
    400: "That request could not be understood",
    401: "Please sign in",
    403: "You can look but not change this",
    404: "Nothing here",
    405: "Not allowed this way",
    409: "That clashes with the current state",
    413: "That upload is too large",
    422: "Those values cannot be accepted",
    500: "Something went wrong on our side",
}


def wants_json() -> bool:
    """Tell whether this request is for the JSON API."""
    return request.path.startswith("/api/")


def error_body(
    code: int, message: str, details: dict | None = None, error: str | None = None
) -> str:
    """The API's error shape, as JSON text."""
    body = {"error": {"code": error or _slug(code), "message": message, "details": details or {}}}
    return json.dumps(body, ensure_ascii=False)


def error_response(code: int, message: str, details: dict | None = None, error: str | None = None):
    """Answer with the error `code` as JSON (API) or as the error page (everything else)."""
    if wants_json():
        body = {
            "error": {"code": error or _slug(code), "message": message, "details": details or {}}
        }
        return jsonify(body), code
    template = f"errors/{code}.html" if code in PAGE_CODES else "errors/error.html"
    return (
        render_template(template, code=code, title=TITLES.get(code, "Error"), message=message),
        code,
    )


def _slug(code: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        422: "invalid",
        500: "internal_error",
    }.get(code, "error")


def init_app(app: Flask) -> None:
    """Register the app-wide error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if not wants_json() and request.method == "POST" and request.blueprint != "auth":
            # A page form from an ended or earlier session: keep what was typed.
            from flask_login import current_user

            from planner.web import resubmit

            if not current_user.is_authenticated:
                return resubmit.sign_in_keeping_fields()
            return resubmit.resubmit_page(
                resubmit.submitted_fields(),
                resubmit.target_of_this_request(),
                reason="The page you sent this from was out of date (its security token "
                "expired or belongs to an earlier sign-in), so nothing was saved yet.",
                status=400,
            )
        return error_response(
            400,
            "The form or request was missing its security token or it expired. Reload the page "
            "and try again.",
            error="csrf_failed",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Unhandled exceptions reach here as InternalServerError (Flask logs them first).
        code = exc.code or 500
        if code >= 500:
            _rollback()
        message = exc.description if _custom_description(exc) else TITLES.get(code, exc.name)
        if code == 413 and request.max_content_length:
            # Say the limit of this very request (an import upload takes more than a form).
            limit = request.max_content_length / 2**20
            message = f"The request is larger than {limit:.0f} MB, the most planner takes here."
        response = error_response(code, message)
        if code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(NotFoundError)
    def not_found(exc: NotFoundError):
        return error_response(404, TITLES[404])

    @app.errorhandler(AccessDenied)
    def access_denied(exc: AccessDenied):
        return error_response(403, str(exc))

    @app.errorhandler(IntegrityError)
    def clash(exc: IntegrityError):
        # Two identical submissions at the same moment (a double click) can both pass a domain
        # check and then meet the database's unique constraint: the second is told, not a 500.
        _rollback()
        log.info("Integrity clash answered 409: %s", exc.orig)
        return error_response(
            409,
            "Someone saved the same thing at the same moment, so this was not saved. Reload the "
            "page to see what is there now, then try again if it is still needed.",
            error="conflict",
        )

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        _rollback()
        return error_response(exc.status_code, exc.message, exc.details, exc.code)


def _rollback() -> None:
    try:
        db.session().rollback()
    except Exception:  # the session itself may be what broke; the error page must still render
        log.exception("Rollback after an error failed")


def _custom_description(exc: HTTPException) -> bool:
    """Tell whether abort() was given a message of its own rather than werkzeug's default."""
    return bool(exc.description) and exc.description != type(exc).description
