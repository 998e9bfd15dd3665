"""The rules page: docs/rules.md, the reference for every rule and formula, served as a page so
that "How is this computed?" links on the reports, milestones, risks and the dashboard open it."""

from __future__ import annotations

import functools
import re

from flask import Blueprint, render_template
from markdown_it import MarkdownIt
from markupsafe import Markup

from planner.paths import resource_dir

bp = Blueprint("rules", __name__)

_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def slug(title: str) -> str:
    """A heading's anchor, as GitHub writes it: 'Sprint charts' -> 'sprint-charts'."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def rules_html() -> Markup:
    """docs/rules.md as HTML, each heading with its anchor."""
    return doc_html("rules")


@functools.cache
def doc_html(name: str) -> Markup:
    """docs/<name>.md as HTML, each heading with its anchor (read and rendered once)."""
    text = (resource_dir("docs") / f"{name}.md").read_text(encoding="utf-8")
    tokens = _markdown.parse(text)
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open":
            opening.attrSet("id", slug(inline.content))
    return Markup(_markdown.renderer.render(tokens, _markdown.options, {}))


@bp.get("/rules")
def page():
    """Public: it holds no project's data, and shared dashboards link to it too."""
    return render_template("rules.html", rules=rules_html())


@bp.get("/docs/webhooks")
def webhooks_doc():
    """docs/webhooks.md: every event's payload and how to check a signature. Public."""
    return render_template("rules.html", rules=doc_html("webhooks"), title="Webhooks")


@bp.get("/docs/import-jira")
def import_doc():
    """docs/import-jira.md: how a Jira CSV export maps onto planner. Public."""
    return render_template("rules.html", rules=doc_html("import-jira"), title="Importing from Jira")


@bp.get("/docs/export-format")
def export_format_doc():
    """docs/export-format.md: planner's own interchange format. Public."""
    return render_template("rules.html", rules=doc_html("export-format"), title="Export format")
