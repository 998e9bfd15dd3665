"""The Content-Security-Policy allows no inline style (style-src 'self'), so nothing planner sends
may carry one: no template, no form field's attributes, no script and no rendered page. The
browser blocks an inline style under this policy without a word to the user, so a leftover one
shows only as a page that looks wrong (tests/browser/test_csp.py watches the real browser)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from planner.demo import SITE_ADMIN, install_demo
from planner.domain.sharing import create_share_link
from planner.models import Account, Project
from tests import factories
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
SCRIPTS = ROOT / "static" / "js"

# An inline style in a template: an attribute, a <style> element, or a `style` key handed to a
# form field (`field(f, attrs={'style': ...})`, `f(style=...)`), which the field renders as an
# attribute.
TEMPLATE_STYLE = re.compile(r"""\bstyle\s*=|<\s*style\b|['"]style['"]\s*:""", re.IGNORECASE)
# A script that styles an element itself instead of switching a class of planner.css.
SCRIPT_STYLE = re.compile(
    r"""\.style\b|setAttribute\(\s*['"]style|\bstyle\s*=|<\s*style\b|cssText|insertRule"""
    r"""|createElement\(\s*['"]style""",
    re.IGNORECASE,
)


def _offenders(paths, pattern: re.Pattern[str], root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(paths)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line) and not line.lstrip().startswith("//")
    ]


def test_the_patterns_find_every_way_of_writing_an_inline_style():
    for line in (
        '<p style="margin:0">',
        "<p STYLE = 'margin:0'>",
        "<style>p { margin: 0 }</style>",
        "{{ field(form.key, attrs={'maxlength': 10, 'style': 'text-transform: uppercase'}) }}",
        '{{ form.key(style="width: 4rem") }}',
    ):
        assert TEMPLATE_STYLE.search(line), line
    for line in (
        "bar.style.width = pct + '%';",
        "el.setAttribute('style', 'width: 4px');",
        "el.style.cssText = 'width: 4px';",
        "holder.innerHTML = '<span style=\"color: red\">';",
        "document.createElement('style');",
    ):
        assert SCRIPT_STYLE.search(line), line
    for line in (
        '<p class="muted u-mt1">',
        "{{ field(form.key, attrs={'class': 'u-uppercase'}) }}",
    ):
        assert not TEMPLATE_STYLE.search(line), line


def test_no_template_styles_an_element_inline():
    assert _offenders(TEMPLATES.rglob("*.html"), TEMPLATE_STYLE, TEMPLATES) == []


def test_no_script_styles_an_element_itself():
    assert _offenders(SCRIPTS.glob("*.js"), SCRIPT_STYLE, SCRIPTS) == []


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_every_kind_of_answer_carries_the_strict_policy(client, clients, story_one):
    answers = {
        "sign-in page": client.get("/login"),
        "signed-in page": clients["manage"].get("/projects/FRAUD/board"),
        "page with charts": clients["manage"].get("/projects/FRAUD/dashboard"),
        "API answer": clients["manage"].get("/api/v1/projects/FRAUD"),
        "missing page": clients["manage"].get("/projects/FRAUD/stories/999"),
        "plotly's stylesheet": client.get("/assets/plotly.css"),
    }
    for what, answer in answers.items():
        assert answer.status_code in (200, 404), what
        policy = answer.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy, what
        assert "unsafe-eval" not in policy, what
        directives = _directives(policy)
        assert directives["style-src"] == ["'self'"], what
        assert directives["script-src"] == ["'self'"], what
        assert directives["default-src"] == ["'self'"], what
        # Images: planner's own, and the ones plotly draws while saving a chart as a PNG.
        assert directives["img-src"] == ["'self'", "data:", "blob:"], what
        # No narrower directive lets inline styles back in.
        assert not {"style-src-attr", "style-src-elem"} & directives.keys(), what


class _InlineStyles(HTMLParser):
    """Elements of a page that carry a style attribute, and <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "style" or any(name == "style" for name, _ in attrs):
            self.found.append(self.get_starttag_text() or tag)

    handle_startendtag = handle_starttag


def _inline_styles(html: str) -> list[str]:
    parser = _InlineStyles()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_parser_finds_inline_styles_but_not_text_about_them():
    assert _inline_styles('<p>style="x"</p><input id="key" style="text-transform: uppercase">') == [
        '<input id="key" style="text-transform: uppercase">'
    ]
    assert _inline_styles("<style>p{}</style><svg><rect style='fill:red'/></svg>") == [
        "<style>",
        "<rect style='fill:red'/>",
    ]
    assert _inline_styles('<script type="application/json">{"a": "<b style=x>"}</script>') == []


def test_no_rendered_page_carries_an_inline_style(app, db_session):
    """Every page a site admin and manager can reach from the start page (up to two of each kind,
    e.g. two story pages), the public share page, a form shown again with its errors and an error
    page: rendered with the demo project, none has a style attribute or a <style> element (this
    also covers attributes given to form fields in Python, and HTML built outside templates)."""
    install_demo(db_session, hash_method=factories.HASH)
    maya = db_session.scalar(select(Account).where(Account.email == SITE_ADMIN))
    fraud = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    _, token = create_share_link(
        db_session, fraud, "Steering group", by_id=maya.id, now=datetime.now(UTC)
    )
    db_session.commit()
    client = sign_in(app, maya)
    adapter = app.url_map.bind("localhost")
    per_endpoint: dict[str, int] = {}
    seen: set[str] = set()
    queue = ["/", "/account", "/admin/users", "/my-work", "/projects/new", f"/share/{token}"]
    found: dict[str, list[str]] = {}
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            endpoint, _ = adapter.match(urlsplit(url).path)
        except HTTPException:
            continue
        if endpoint in ("static", "plotly_js", "plotly_css") or per_endpoint.get(endpoint, 0) >= 2:
            continue
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        answer = client.get(url)
        if answer.mimetype != "text/html":
            continue
        assert answer.status_code == 200, url
        html = answer.get_data(as_text=True)
        if styles := _inline_styles(html):
            found[url] = styles
        for href in re.findall(r'href="(/[^"#]*)', html):
            if "/api/" not in href and not href.endswith(".csv") and href not in seen:
                queue.append(href.replace("&amp;", "&"))
    # The crawl reached the pages that matter (charts, board, backlog, stories, forms, admin).
    for endpoint in (
        "projects.index",
        "projects.new",
        "projects.settings",
        "projects.members",
        "board.index",
        "backlog.index",
        "stories.show",
        "sprints.show",
        "sprints.plan",
        "reports.index",
        "dashboard.index",
        "dashboard.links",
        "share.dashboard",
        "milestones.index",
        "milestones.show",
        "milestones.risks",
        "milestones.risk",
        "epics.index",
        "epics.edit",
        "admin.users",
        "auth.account",
    ):
        assert per_endpoint.get(endpoint), endpoint

    refused = client.post_form("/projects/new", {"key": "1 bad", "name": ""})
    assert refused.status_code == 422
    if styles := _inline_styles(refused.get_data(as_text=True)):
        found["/projects/new (refused)"] = styles
    missing = client.get("/projects/FRAUD/stories/999")
    assert missing.status_code == 404
    if styles := _inline_styles(missing.get_data(as_text=True)):
        found["a missing story"] = styles
    assert found == {}
