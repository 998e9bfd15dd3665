"""Every asset is served by planner itself: nothing from a CDN, and plotly.js from the package."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

from planner.paths import resource_dir
from planner.web import PLOTLY_JS_DIR

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
    assert re.search(r'href="/static/css/planner\.css\?v=[0-9a-f]{16}"', page)
    assert client.get("/static/css/planner.css").status_code == 200
    assert client.get("/static/js/planner.js").status_code == 200


def test_the_browser_is_told_to_load_nothing_from_elsewhere(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


# Compression, fingerprints and caching --------------------------------------------------------

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
YEAR = "max-age=31536000"


def fingerprinted(page: str, path: str) -> str:
    """The URL a page uses for `path`, e.g. /static/css/planner.css?v=0123456789abcdef."""
    match = re.search(rf'"({re.escape(path)}\?v=[0-9a-f]{{16}})"', page)
    assert match, f"{path} is not linked with a fingerprint"
    return match.group(1)


def test_urls_carry_the_sha256_of_the_file(client):
    page = client.get("/login").get_data(as_text=True)
    css = (resource_dir("static") / "css" / "planner.css").read_bytes()
    expected = hashlib.sha256(css).hexdigest()[:16]
    assert f'href="/static/css/planner.css?v={expected}"' in page


def test_plotly_js_goes_over_the_wire_gzipped_and_unpacks_to_the_exact_bundle(client):
    original = (PLOTLY_JS_DIR / "plotly.min.js").read_bytes()
    assert len(original) > 4_000_000  # the 4.8 MB bundle
    response = client.get("/assets/plotly.min.js", headers=GZIP)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.data) < 1_600_000
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert gzip.decompress(response.data) == original


def test_every_static_text_file_unpacks_to_its_exact_bytes(client):
    for name in ("css/planner.css", "js/planner.js", "js/board.js", "img/favicon.svg"):
        original = (resource_dir("static") / name).read_bytes()
        response = client.get(f"/static/{name}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, name
        assert response.headers["Content-Encoding"] == "gzip", name
        assert gzip.decompress(response.data) == original, name


def test_no_content_encoding_for_a_client_that_does_not_accept_gzip(client):
    original = (resource_dir("static") / "css" / "planner.css").read_bytes()
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
        response = client.get("/static/css/planner.css", headers=headers)
        assert response.status_code == 200, headers
        assert "Content-Encoding" not in response.headers, headers
        assert response.data == original, headers
        assert "Accept-Encoding" in response.headers["Vary"], headers


def test_fingerprinted_urls_are_cached_for_a_year_as_immutable(client):
    page = client.get("/login").get_data(as_text=True)
    for path in ("/static/css/planner.css", "/static/js/planner.js", "/assets/plotly.css"):
        cache_control = client.get(fingerprinted(page, path), headers=GZIP).headers["Cache-Control"]
        assert "public" in cache_control and YEAR in cache_control, path
        assert "immutable" in cache_control, path


def test_plotly_js_url_is_fingerprinted_and_immutable(clients, story_one):
    page = clients["view"].get("/projects/FRAUD/dashboard").get_data(as_text=True)
    url = fingerprinted(page, "/assets/plotly.min.js")
    digest = hashlib.sha256((PLOTLY_JS_DIR / "plotly.min.js").read_bytes()).hexdigest()[:16]
    assert url == f"/assets/plotly.min.js?v={digest}"
    response = clients["view"].get(url, headers=GZIP)
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_an_unversioned_or_stale_url_is_not_cached_for_good(client):
    for url in ("/static/css/planner.css", "/static/css/planner.css?v=0000000000000000"):
        cache_control = client.get(url).headers["Cache-Control"]
        assert "immutable" not in cache_control and YEAR not in cache_control, url
        assert "max-age=86400" in cache_control, url


def test_a_client_with_the_file_gets_304_without_a_body(client):
    first = client.get("/static/js/planner.js", headers=GZIP)
    etag = first.headers["ETag"]
    again = client.get("/static/js/planner.js", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    # The plain and the gzip forms are different representations with different tags.
    plain = client.get("/static/js/planner.js")
    assert plain.headers["ETag"] != etag
    assert client.get("/static/js/planner.js", headers={"If-None-Match": etag}).status_code == 200


def test_head_answers_headers_only(client):
    original = (resource_dir("static") / "css" / "planner.css").read_bytes()
    packed = client.get("/static/css/planner.css", headers=GZIP)
    head = client.head("/static/css/planner.css", headers=GZIP)
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == str(len(packed.data))
    plain = client.head("/static/css/planner.css")
    assert plain.headers["Content-Length"] == str(len(original))


def test_a_range_request_gets_the_plain_bytes_it_asked_for(client):
    original = (resource_dir("static") / "css" / "planner.css").read_bytes()
    response = client.get("/static/css/planner.css", headers={**GZIP, "Range": "bytes=10-19"})
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.data == original[10:20]
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(original)}"
    beyond = client.get("/static/css/planner.css", headers={"Range": "bytes=99999999-"})
    assert beyond.status_code == 416


def test_images_are_not_compressed_again(client):
    png = next((resource_dir("static")).rglob("*.png"), None)
    if png is None:
        return
    name = png.relative_to(resource_dir("static")).as_posix()
    response = client.get(f"/static/{name}", headers=GZIP)
    assert "Content-Encoding" not in response.headers
    assert response.data == png.read_bytes()


def test_paths_outside_static_and_missing_files_are_404(client):
    assert client.get("/static/../config.py").status_code == 404
    assert client.get("/static/css/nothing-here.css").status_code == 404
    assert client.get("/static/%2e%2e/config.py").status_code == 404
