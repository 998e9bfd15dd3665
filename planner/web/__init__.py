"""HTML pages, one blueprint per area, and what every page shares (sign-in, CSRF, helpers)."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from pathlib import Path

import plotly
from flask import Flask, request
from markdown_it import MarkdownIt
from markupsafe import Markup

from planner import vocab
from planner.domain.stories import needs_outcome
from planner.forecasting import move_words, slip_words
from planner.pagecache import page_now
from planner.signin import check_csrf, csrf, login_manager, signed_in
from planner.timeutil import as_utc, zone
from planner.web import assets

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
PLOTLY_JS_DIR = Path(plotly.__file__).resolve().parent / "package_data"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


# Files that are the same for everyone: cacheable even when a signed-in person asks for them.
ASSET_ENDPOINTS = frozenset({"static", "plotly_js", "plotly_css"})


_PLOTLY_RULE = re.compile(
    r'(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_$][\w$]*)):'
    r'(?:\'((?:[^\'\\]|\\.)*)\'|"((?:[^"\\]|\\.)*)")(,|})'
)


@functools.cache
def _plotly_css_asset() -> assets.Asset | None:
    css = _plotly_css()
    return None if css is None else assets.Asset(css.encode("utf-8"), "text/css")


def _plotly_css() -> str | None:
    """The style rules plotly.js would add to the page itself, read once from the served bundle:
    its rule table (selectors written with X for .js-plotly-plot .plotly and Y for
    .plotly-notifier) turned into CSS."""
    bundle = PLOTLY_JS_DIR / "plotly.min.js"
    if not bundle.is_file():
        return None
    text = bundle.read_text(encoding="utf-8")
    start = text.find('{"X,X div":')
    if start < 0:
        return None
    rules, position = [], start + 1
    while True:
        match = _PLOTLY_RULE.match(text, position)
        if match is None:
            return None
        key = match.group(1) if match.group(1) is not None else match.group(2)
        selector = key.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        body = match.group(3) if match.group(3) is not None else match.group(4)
        rules.append(f"{selector} {{ {body} }}")
        if match.group(5) == "}":
            return "\n".join(rules) + "\n"
        position = match.end()


_GUARDED_STYLE = re.compile(
    r'if\(!document\.getElementById\("([^"]+)"\)\)\{var \w+=document\.createElement\("style"\)'
)


@functools.cache
def plotly_style_guards() -> tuple[str, ...]:
    """Ids of the <style> elements plotly.js adds at load unless an element with that id exists
    (the map traces' stylesheet): planner draws no maps, so pages hold an empty element with each
    id and no inline style is attempted."""
    bundle = PLOTLY_JS_DIR / "plotly.min.js"
    if not bundle.is_file():
        return ()
    return tuple(_GUARDED_STYLE.findall(bundle.read_text(encoding="utf-8")))


def render_markdown(text: str | None) -> Markup:
    """Render Markdown to HTML with raw HTML escaped (never passed through)."""
    if not text:
        return Markup("")
    return Markup(_markdown.render(text))


def init_app(app: Flask) -> None:
    """Attach sign-in, CSRF, template helpers, asset routes and the page blueprints."""
    from planner.web import (
        admin,
        apidocs,
        audit,
        auth,
        backlog,
        board,
        dashboard,
        epics,
        experiments,
        gates,
        imports,
        labels,
        links,
        milestones,
        notifications,
        outcomes,
        projects,
        reports,
        rules,
        search,
        sprints,
        stories,
        story_parts,
        webhooks,
    )

    csrf.init_app(app)
    app.before_request(check_csrf)
    login_manager.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(stories.bp)
    app.register_blueprint(story_parts.bp)
    app.register_blueprint(outcomes.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(backlog.bp)
    app.register_blueprint(sprints.bp)
    app.register_blueprint(epics.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(milestones.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(dashboard.public)
    app.register_blueprint(rules.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(apidocs.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(notifications.public)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(labels.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(experiments.bp)
    app.register_blueprint(gates.bp)
    app.register_blueprint(audit.bp)
    app.context_processor(notifications.bell)

    app.session_interface = assets.AssetSessionInterface(ASSET_ENDPOINTS)
    static_files = assets.FileAssets(app.static_folder)
    plotly_files = assets.FileAssets(PLOTLY_JS_DIR)
    app.view_functions["static"] = lambda filename: assets.send_asset(static_files.get(filename))

    @app.get("/assets/plotly.min.js")
    def plotly_js():
        """Serve the plotly.js bundle that ships inside the plotly package (no CDN)."""
        return assets.send_asset(plotly_files.get("plotly.min.js"))

    @app.get("/assets/plotly.css")
    def plotly_css():
        """plotly.js's own style rules as a stylesheet, so that it never injects inline styles
        (the CSP forbids them): pages link it as #plotly.js-style-global.no-inline-styles."""
        return assets.send_asset(_plotly_css_asset())

    @app.url_defaults
    def fingerprint(endpoint: str, values: dict) -> None:
        """url_for of an asset carries its content hash (?v=...), so it can be cached for good."""
        if "v" in values:
            return
        if endpoint == "static" and "filename" in values:
            digest = static_files.digest(values["filename"])
        elif endpoint == "plotly_js":
            digest = plotly_files.digest("plotly.min.js")
        elif endpoint == "plotly_css":
            asset = _plotly_css_asset()
            digest = asset.digest if asset else None
        else:
            return
        if digest:
            values["v"] = digest

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    app.jinja_env.globals.update(
        vocab=vocab, plotly_style_guards=plotly_style_guards, needs_outcome=needs_outcome
    )
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["local_time"] = _local_time
    app.jinja_env.filters["points"] = _points
    app.jinja_env.filters["plural"] = _plural
    app.jinja_env.filters["signed"] = _signed
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.filters["slip_words"] = slip_words
    app.jinja_env.filters["move_words"] = move_words
    app.jinja_env.filters["nice_date"] = nice_date
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime

    @app.after_request
    def security_headers(response):
        # Everything comes from planner itself; the browser refuses anything else.
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in ASSET_ENDPOINTS and signed_in():
            # Pages and API answers for a signed-in person never sit in a shared or back cache.
            response.headers["Cache-Control"] = "no-store"
        return response


def _local_time(value: datetime | None, tz: str = "UTC", fmt: str | None = None) -> str:
    """A moment in the timezone `tz`, written as the `datetime` filter does; `fmt` only for
    machine-readable values (pages show dates with the `date` and `datetime` filters)."""
    if value is None:
        return ""
    if fmt is None:
        return format_datetime(value, tz)
    return as_utc(value).astimezone(zone(tz)).strftime(fmt)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """Say how long ago a moment was: "just now", "5 minutes ago", "yesterday", "3 days ago"."""
    if value is None:
        return ""
    seconds = int(((now or page_now()) - as_utc(value)).total_seconds())
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return "1 minute ago" if minutes == 1 else f"{minutes} minutes ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return "1 hour ago" if hours == 1 else f"{hours} hours ago"
    days = round(seconds / 86400)
    if days == 1:
        return "yesterday"
    if days < 30:
        return f"{days} days ago"
    months = round(days / 30)
    if months < 12:
        return "1 month ago" if months == 1 else f"{months} months ago"
    return f"{round(days / 365)} years ago" if days >= 548 else "1 year ago"


# One way to write dates on every page: weekday, day, month name, year ("Mon 30 Nov 2026"), which
# no reader can take for another date, whatever their locale's order of day and month (planner
# does not guess a locale from Accept-Language: the same page reads the same for everyone).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(value: date | datetime | None, tz: str = "UTC") -> str:
    """Mon 30 Nov 2026; a moment is first put in the timezone `tz` (the project's)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = as_utc(value).astimezone(zone(tz)).date()
    return f"{WEEKDAYS[value.weekday()]} {value.day} {MONTHS[value.month - 1]} {value.year}"


def format_datetime(value: datetime | None, tz: str = "UTC") -> str:
    """Mon 30 Nov 2026, 14:05 in the timezone `tz` (the project's)."""
    if value is None:
        return ""
    local = as_utc(value).astimezone(zone(tz))
    return f"{format_date(local.date())}, {local:%H:%M}"


def nice_date(value: date | None) -> str:
    """The same as the `date` filter (kept for templates that still use its name)."""
    return format_date(value)


def _plural(count: int, one: str, many: str) -> str:
    """Return "1 story" or "3 stories"."""
    return f"{count} {one if count == 1 else many}"


def _signed(value: int) -> str:
    """Return +3, −2 (a real minus sign) or 0."""
    if value > 0:
        return f"+{value}"
    if value < 0:
        return f"\u2212{-value}"
    return "0"


def _points(value: int | None) -> str:
    return "–" if value is None else str(value)
