"""A small black-box fuzzer for planner over real HTTP: it signs in like a browser, crawls every
page it can reach, learns every form from the HTML, and fills every route of the app's URL map
(pages and API), then sends hostile values to each field in turn. Used by test_fuzz_gunicorn."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser

MAX_REQUEST_BYTES = 2 * 1024 * 1024  # config.MAX_CONTENT_LENGTH
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

# Values each form field and JSON field gets in turn (bytes are sent as raw form bytes).
MUTATIONS: list[tuple[str, str | bytes]] = [
    ("nul", "a\x00b"),
    ("invalid-utf8", b"\xed\xa0\x80\xff"),
    ("far-date", "9999-12-31"),
    ("first-date", "0001-01-01"),
    ("huge-number", "99999999999999999999"),
    ("negative", "-1"),
    ("markup", '☃ <a href="https://evil.example/">x</a> %{x}'),
    ("long-text", "y" * 300_000),
    ("empty", ""),
]
QUERY_MUTATIONS = [
    "sprint=%00",
    "q=%ED%A0%80",
    "since=0001-01-01T00:00:00%2B14:00",
    "unit=%ff&lanes=%00",
    "sprint=99999999999999999999",
]
JSON_BODIES: list[tuple[str, bytes]] = [
    ("deep", b"[" * 100_000),
    ("duplicate-keys", b'{"title": "a", "title": "b", "version": 1}'),
    ("lone-surrogate", b'{"title": "\\ud800", "version": 1}'),
    ("nul", b'{"title": "a\\u0000", "description": "\\u0000", "version": 1}'),
    (
        "far-dates",
        b'{"forecast": "9999-12-31", "reported_on": "0001-01-01", "start": "0001-01-01", '
        b'"end": "9999-12-31", "version": 1}',
    ),
    ("nan", b'{"points": NaN, "version": 1}'),
    ("wrong-types", b'{"title": [], "points": {}, "status": 7, "version": "x", "story": []}'),
    ("huge", b'{"description": "' + b"x" * (3 * 1024 * 1024) + b'"}'),
    ("not-json", b"<xml/>"),
]


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]]  # (name, default value) for every field with a name


@dataclass
class Failure:
    method: str
    url: str
    what: str
    status: int
    excerpt: str

    def __str__(self) -> str:
        return f"{self.status} {self.method} {self.url} [{self.what}] {self.excerpt}"


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            action = urllib.parse.urljoin(self.page_url, a.get("action") or self.page_url)
            self._form = Form(action, (a.get("method") or "get").upper(), [])
        elif self._form is not None and tag in ("input", "button") and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                return
            if kind in ("checkbox", "radio") and "checked" not in a and tag == "input":
                if kind == "radio":
                    return
            self._form.fields.append((a["name"], a.get("value") or ""))
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select, self._select_first = a["name"], None
        elif self._select is not None and tag == "option":
            if self._select_first is None or "selected" in a:
                self._select_first = a.get("value") or ""
        elif self._form is not None and tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form.fields.append((a["name"], ""))

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append((self._select, self._select_first or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def pattern_of(url: str) -> str:
    """/projects/FRAUD/stories/12?x=1 -> /projects/FRAUD/stories/N (one visit per shape)."""
    path = urllib.parse.urlsplit(url).path
    return re.sub(r"\d+", "N", path)


@dataclass
class Session:
    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    csrf: str = ""
    sent: int = 0
    last_size: int = 0

    def __post_init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, method: str, url: str, body: bytes | None = None, headers=None):
        url = url if url.startswith("http") else self.base + url
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        self.sent += 1
        self.last_size = len(body or b"")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            try:
                return error.code, error.read().decode("utf-8", "replace")
            except (OSError, ConnectionError):
                return error.code, ""
        except (urllib.error.URLError, ConnectionError) as error:
            # The server hung up: fine for a body over the size limit (it answers 413 before
            # reading it all), a failure anywhere else.
            return -1, f"connection closed: {error}"

    def get(self, url: str):
        status, text = self.request("GET", url)
        if match := CSRF_META.search(text):
            self.csrf = match.group(1)
        return status, text

    def post_form(self, url: str, pairs: list[tuple[str, str | bytes]]):
        parts = []
        for name, value in pairs:
            raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
            parts.append(f"{urllib.parse.quote(name)}={urllib.parse.quote_from_bytes(raw)}")
        body = "&".join(parts).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", url, body, headers)

    def send_json(self, method: str, url: str, body: bytes):
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.csrf}
        return self.request(method, url, body, headers)

    def sign_in(self, email: str, password: str) -> None:
        self.get("/login")
        status, _ = self.post_form(
            "/login", [("csrf_token", self.csrf), ("email", email), ("password", password)]
        )
        assert status == 302, f"could not sign in as {email}: {status}"
        self.get("/")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Fuzzer:
    """Crawl, then mutate every form and route; collect every 5xx or traceback."""

    def __init__(self, session: Session, url_rules, params: dict[str, str], budget: float):
        self.s = session
        self.rules = url_rules
        self.params = params
        self.deadline = time.monotonic() + budget
        self.failures: list[Failure] = []
        self.pages: dict[str, str] = {}
        self.forms: dict[tuple, Form] = {}

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self, method: str, url: str, what: str, status: int, text: str) -> None:
        if status == -1 and self.s.last_size > MAX_REQUEST_BYTES:
            return  # over the request limit: the server answered 413 before reading it all
        if status >= 500 or status == -1 or "Traceback (most recent call last)" in text:
            self.failures.append(Failure(method, url, what, status, text[:200].replace("\n", " ")))

    def crawl(self, start: str = "/", per_pattern: int = 2, max_pages: int = 200) -> None:
        queue, seen, shapes = [start], set(), {}
        while queue and len(self.pages) < max_pages and not self.out_of_time():
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            shape = pattern_of(url)
            if shapes.get(shape, 0) >= per_pattern:
                continue
            shapes[shape] = shapes.get(shape, 0) + 1
            status, text = self.s.get(url)
            self.check("GET", url, "crawl", status, text)
            if status != 200 or "text/html" not in "text/html":
                continue
            self.pages[url] = text
            parser = _FormParser(self.s.base + url)
            parser.feed(text)
            for form in parser.forms:
                action = urllib.parse.urlsplit(form.action)
                key = (
                    form.method,
                    pattern_of(action.path),
                    tuple(sorted(n for n, _ in form.fields)),
                )
                self.forms.setdefault(key, form)
            for href in parser.links:
                target = urllib.parse.urljoin(self.s.base + url, href)
                parts = urllib.parse.urlsplit(target)
                if target.startswith(self.s.base) and "/logout" not in parts.path:
                    local = parts.path + (f"?{parts.query}" if parts.query else "")
                    if not parts.path.endswith(".csv") or shapes.get(pattern_of(local), 0) < 1:
                        queue.append(local)

    def fill(self, rule: str) -> str | None:
        url = rule
        for name in re.findall(r"<(?:\w+:)?(\w+)>", rule):
            if name not in self.params:
                return None
            url = re.sub(rf"<(?:\w+:)?{name}>", self.params[name], url)
        return url

    def every_route(self) -> None:
        """GET every page and API route of the URL map (with odd query strings), and send the
        hostile JSON bodies to every API write route."""
        for rule, methods in self.rules:
            if self.out_of_time():
                return
            if "/logout" in rule or rule.startswith("/static"):
                continue
            url = self.fill(rule)
            if url is None:
                continue
            if "GET" in methods:
                for query in ["", *QUERY_MUTATIONS]:
                    full = f"{url}?{query}" if query else url
                    status, text = self.s.get(full)
                    self.check("GET", full, "route", status, text)
            if url.startswith("/api/"):
                for verb in sorted(methods - {"GET", "HEAD", "OPTIONS"}):
                    for name, body in JSON_BODIES:
                        status, text = self.s.send_json(verb, url, body)
                        self.check(verb, url, f"json:{name}", status, text)

    def every_form(self) -> None:
        for form in list(self.forms.values()):
            if form.method != "POST" or "/logout" in form.action:
                continue
            base = [(n, v) for n, v in form.fields if n != "csrf_token"]
            names = list(dict.fromkeys(n for n, _ in base)) or ["title"]
            for name in names:
                for label, value in MUTATIONS:
                    if self.out_of_time():
                        return
                    pairs = [("csrf_token", self.s.csrf)] + [
                        (n, value if n == name else v) for n, v in base
                    ]
                    if name not in (n for n, _ in base):
                        pairs.append((name, value))
                    status, text = self.s.post_form(form.action, pairs)
                    self.check("POST", form.action, f"{name}={label}", status, text)
            status, text = self.s.post_form(
                form.action, [("csrf_token", self.s.csrf), ("title", "x" * (3 * 1024 * 1024))]
            )
            self.check("POST", form.action, "huge-body", status, text)


def summary(failures: list[Failure]) -> str:
    lines = [str(f) for f in failures[:60]]
    if len(failures) > 60:
        lines.append(f"... and {len(failures) - 60} more")
    return "\n".join(lines)


def json_dumps(value) -> bytes:
    return json.dumps(value).encode()
