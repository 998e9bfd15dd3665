"""Absolute links to planner, for share links (and later e-mail and webhooks): built from
PLANNER_BASE_URL when it is set, so a forged Host header cannot choose where they point; from the
request otherwise (fine for a single host in development)."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of `endpoint`, on PLANNER_BASE_URL when it is configured."""
    base = current_app.config.get("BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
