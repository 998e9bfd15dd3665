"""Serving planner's own files (static/, the plotly.js bundle, plotly's stylesheet) fast.

Each file is read once per process and kept with its content hash and, for text types, its gzip
form (compressed once, never per request). Templates get fingerprinted URLs from `url_for`
(`/static/css/planner.css?v=<hash>`): a request carrying the current hash may be cached for a
year as immutable; any other answer is cached for a day and revalidated with its ETag. A client
that accepts gzip gets the compressed bytes (`Content-Encoding: gzip`, `Vary: Accept-Encoding`);
a Range request gets the plain bytes, so byte offsets always mean what the client expects.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from pathlib import Path

from flask import Response, abort, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import safe_join

YEAR = 31_536_000
DAY = 86_400
COMPRESSIBLE = frozenset(
    {"application/javascript", "application/json", "image/svg+xml", "application/xml"}
)
SMALLEST_WORTH_COMPRESSING = 256


class Asset:
    """One file's bytes, fingerprint and (made on first need, then kept) gzip form."""

    def __init__(self, body: bytes, mimetype: str, stamp: tuple[int, int] = (0, 0)):
        self.body = body
        self.mimetype = mimetype
        self.stamp = stamp  # (mtime_ns, size) of the file it was read from
        self.digest = hashlib.sha256(body).hexdigest()[:16]  # the fingerprint in URLs
        self.compressible = len(body) >= SMALLEST_WORTH_COMPRESSING and (
            mimetype.startswith("text/") or mimetype in COMPRESSIBLE
        )
        self._gzipped: bytes | None = None
        self._lock = threading.Lock()

    @property
    def gzipped(self) -> bytes | None:
        """The gzip form, compressed once; None when compression does not help."""
        if not self.compressible:
            return None
        if self._gzipped is None:
            with self._lock:
                if self._gzipped is None:
                    packed = gzip.compress(self.body, compresslevel=9, mtime=0)
                    if len(packed) >= len(self.body) * 0.9:
                        self.compressible = False
                        return None
                    self._gzipped = packed
        return self._gzipped


# Shared by every app in the process (tests build many): path -> Asset.
_FILES: dict[str, Asset] = {}
_FILES_LOCK = threading.Lock()


class FileAssets:
    """Files under one folder, read on first use and read again only when the file changes on
    disk (its modification time or size differs)."""

    def __init__(self, folder: str | Path):
        self.folder = str(folder)

    def get(self, filename: str) -> Asset | None:
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            status = Path(path).stat()
        except (OSError, ValueError):
            return None
        if not Path(path).is_file():
            return None
        stamp = (status.st_mtime_ns, status.st_size)
        asset = _FILES.get(path)
        if asset is not None and asset.stamp == stamp:
            return asset
        with _FILES_LOCK:
            asset = _FILES.get(path)
            if asset is None or asset.stamp != stamp:
                mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
                asset = Asset(Path(path).read_bytes(), mimetype, stamp)
                _FILES[path] = asset
        return asset

    def digest(self, filename: str) -> str | None:
        asset = self.get(filename)
        return asset.digest if asset else None


def send_asset(asset: Asset | None) -> Response:
    """Answer with `asset`: gzip when accepted (and no Range asked), its ETag, a year of caching
    when the URL carries the current fingerprint; 304 when the client already has it."""
    if asset is None:
        abort(404)
    packed = asset.gzipped
    compressed = (
        packed is not None
        and request.accept_encodings["gzip"] > 0
        and "Range" not in request.headers
    )
    response = Response(packed if compressed else asset.body, mimetype=asset.mimetype)
    response.set_etag(f"{asset.digest}-gz" if compressed else asset.digest)
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    if packed is not None:
        response.vary.add("Accept-Encoding")
    response.cache_control.public = True
    if request.args.get("v") == asset.digest:
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = DAY
    # Ranges only over the plain bytes: a compressed answer is always whole.
    return response.make_conditional(
        request, accept_ranges=not compressed, complete_length=len(asset.body)
    )


class AssetSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that an asset's answer never carries the session:
    something read the session during the request (the sign-in machinery does), which would add
    `Vary: Cookie` and keep shared caches from storing a file that is the same for everyone."""

    def __init__(self, asset_endpoints: frozenset[str]):
        self.asset_endpoints = asset_endpoints

    def save_session(self, app, session, response) -> None:
        if request.endpoint in self.asset_endpoints and not session.modified:
            return
        super().save_session(app, session, response)
