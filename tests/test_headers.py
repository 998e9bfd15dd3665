"""Headers: a strict Content-Security-Policy (no inline styles anywhere, so templates carry
none), no caching of anything shown to a signed-in person, and plotly's own stylesheet served
so that it injects no inline style."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_no_template_carries_an_inline_style():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in TEMPLATES.rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bstyle=|<style", line)
    ]
    assert offenders == []


def test_the_policy_allows_no_inline_style_or_script(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy
    assert "style-src 'self';" in policy and "script-src 'self';" in policy


def test_signed_in_pages_and_api_answers_are_never_stored(clients, story_one):
    for url in ("/projects/FRAUD", "/projects/FRAUD/board", "/api/v1/projects/FRAUD"):
        assert clients["view"].get(url).headers["Cache-Control"] == "no-store", url


def test_assets_stay_cacheable(clients, client):
    css = clients["view"].get("/static/css/planner.css")
    assert css.status_code == 200
    assert "no-store" not in css.headers.get("Cache-Control", "")
    plotly_css = client.get("/assets/plotly.css")
    assert plotly_css.status_code == 200
    assert plotly_css.mimetype == "text/css"
    assert "max-age=86400" in plotly_css.headers["Cache-Control"]
    text = plotly_css.get_data(as_text=True)
    # plotly's rule table: X stands for ".js-plotly-plot .plotly", Y for ".plotly-notifier".
    assert ".js-plotly-plot .plotly,.js-plotly-plot .plotly div { direction:ltr;" in text
    assert ".plotly-notifier .notifier-close:hover {" in text
    assert "X " not in text.split("{")[0]


def test_pages_tell_plotly_its_styles_are_already_there(client):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(
        r'<link rel="stylesheet" id="plotly.js-style-global" class="no-inline-styles" '
        r'href="/assets/plotly\.css\?v=[0-9a-f]{16}">',
        page,
    )


def test_assets_a_signed_in_person_fetches_are_compressed_and_shared_cacheable(clients):
    person = clients["view"]
    page = person.get("/account").get_data(as_text=True)
    url = re.search(r'href="(/static/css/planner\.css\?v=[0-9a-f]{16})"', page).group(1)
    response = person.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # The same bytes for everyone: no session cookie, nothing that varies by cookie.
    assert response.headers["Vary"] == "Accept-Encoding"
    assert "Set-Cookie" not in response.headers
    assert response.headers["ETag"].startswith('"') and "no-store" not in str(response.headers)
    # Pages still vary by the person's cookie.
    assert "Cookie" in person.get("/account").headers["Vary"]
