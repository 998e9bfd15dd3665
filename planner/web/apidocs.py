"""/api/docs: the OpenAPI document (/api/v1/openapi.json) read with a vendored Swagger UI, so it
works without internet. Public, like the document: it holds no data. "Try it out" sends requests
as the signed-in person (with the CSRF header) or with a token typed into "Authorize"."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("apidocs", __name__)


@bp.get("/api/docs")
def page():
    return render_template("apidocs.html")
