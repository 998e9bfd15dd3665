"""Every asset is served by planner itself: nothing from a CDN, and plotly.js from the package."""

from __future__ import annotations

import re
from pathlib import Path

from planner.paths import resource_dir

EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


def test_plotly_js_is_served_from_the_plotly_package(client):
    response = client.get("/assets/plotly.min.js")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert len(response.data) > 1_000_000  # the full bundle, not a stub
    response.close()


def test_no_template_or_script_loads_anything_from_another_host():
    offenders = []
    for folder in (resource_dir("templates"), resource_dir("static")):
        for path in Path(folder).rglob("*"):
            if path.suffix in (".html", ".js", ".css") and "vendor" not in path.parts:
                text = path.read_text(encoding="utf-8")
                if EXTERNAL.search(text) or "@import url(" in text:
                    offenders.append(str(path))
    assert offenders == []


def test_pages_carry_the_csrf_meta_tag_and_local_assets(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<meta name="csrf-token" content="' in page
    assert 'href="/static/css/planner.css"' in page
    assert client.get("/static/css/planner.css").status_code == 200
    assert client.get("/static/js/planner.js").status_code == 200


def test_the_browser_is_told_to_load_nothing_from_elsewhere(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
