"""Every file planner hands out goes through here: one safe file name, one safe CSV.

- `download()` answers with `Content-Disposition: attachment` and an RFC 6266 file name: an ASCII
  fallback (`filename="..."`) plus the UTF-8 name (`filename*=UTF-8''...`, RFC 5987). Names are
  made from user data (sprint and project names), so they are cleaned of quotes, slashes, control
  characters, line breaks and invisible characters (bidi overrides such as U+202E, which could show
  a name as ending in another extension, zero-width characters, lone surrogates), and the
  extension is always the caller's. The header is plain ASCII, as werkzeug and gunicorn require.
- `csv_text()` writes CSV whose text cells cannot become spreadsheet formulas: a text cell starting
  with =, +, -, @, a tab or a carriage return is prefixed with a single quote (OWASP's advice for
  CSV injection). Numbers are written as numbers, so -3 stays -3.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\/:*?<>|;%]+')
_SPACES = re.compile(r"[\s_]+")
# Format (bidi, zero-width), surrogate, private-use and unassigned characters: invisible or
# unencodable, never wanted in a file name.
_INVISIBLE = frozenset({"Cf", "Cs", "Co", "Cn"})
STEM_MAX = 120


def safe_stem(name: str) -> str:
    """A file name stem from user text: no path, quote, control, invisible character or line
    break, spaces as underscores, at most 120 characters; "download" when nothing is left."""
    visible = "".join(ch for ch in name if unicodedata.category(ch) not in _INVISIBLE)
    cleaned = _UNSAFE.sub(" ", unicodedata.normalize("NFC", visible))
    cleaned = _SPACES.sub("_", cleaned).strip("._-")
    return cleaned[:STEM_MAX].rstrip("._-") or "download"


def content_disposition(stem: str, extension: str) -> str:
    """`attachment; filename="ascii.ext"; filename*=UTF-8''utf-8.ext` for a user-made stem."""
    name = f"{safe_stem(stem)}.{extension}"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_stem = safe_stem(ascii_name.rsplit(".", 1)[0])
    header = f'attachment; filename="{ascii_stem}.{extension}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def download(body: str | bytes, stem: str, extension: str, mimetype: str) -> Response:
    """Answer with `body` as a file to save, named from `stem` (user text) and `extension`."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(stem, extension)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def csv_cell(value: Any) -> Any:
    """A cell as it may go into a CSV file: None is empty, formula-like text is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (RFC 4180, CRLF line ends) with every cell made safe by `csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue()
