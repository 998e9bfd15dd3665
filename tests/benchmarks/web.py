"""Benchmark: planner's pages and API under load, beside a floor and a bare app (not a test).

    python -m tests.benchmarks.web                 # PostgreSQL database bench_web (dropped first)
    python -m tests.benchmarks.web --quick         # 2 s per endpoint, no warm-up run
    python -m tests.benchmarks.web --only demo-board --only story-patch
    python -m tests.benchmarks.web --url postgresql+psycopg://postgres@127.0.0.1/other

It creates a fresh database, runs planner's migrations, installs the demo (planner.demo) and
imports a big project through planner's importer (tests/benchmarks/bigproject.py: 2,000 stories,
200 in the active sprint, 50,000 events). Then it starts four servers under gunicorn, each with
2 sync workers on 127.0.0.1:

- planner: wsgi:app with deploy/gunicorn.conf.py (preload, the pool emptied after the fork), in
  production mode;
- drawn: the same with kept pages off (PLANNER_PAGE_CACHE_MB=0), for the HTML pages: what a
  page costs when it is drawn anew (the first view after a change);
- floor: the same app and config, plus routes that sign the request in as planner does and run
  one indexed query (tests/benchmarks/floor_app.py);
- bare: Flask alone answering bytes from memory, as many as planner's answer
  (tests/benchmarks/bare_app.py), with gunicorn's --preload.

It signs in as the demo's maya@example.com through the sign-in form (CSRF token and all) and
makes her an API token; each endpoint is fetched once (it must answer 2xx; its size is noted),
then loaded with wrk against planner, the floor and the bare app, and the table prints requests/s,
p50 and p99 latency, the ratios, the answers that were not 2xx, and each worker's memory.
Planner, the floor and the drawn pages are loaded in turns, in rounds (--rounds, 3 of the
duration's 7 s, 2 s each): a shared machine's speed drifts within a run, and the turns spread the
drift over the three alike. A row's requests/s is its rounds' requests over their seconds, its
p50 the median of theirs, its p99 the highest.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import html
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/bench_web"
FAST_HASH = "pbkdf2:sha256:1000"  # the demo accounts' passwords: sign-in speed is not measured
USER_AGENT = "planner-web-bench"  # the same for requests and wrk (Flask-Login's session check)
DEMO_EMAIL, DEMO_PASSWORD = "maya@example.com", "planner-demo"
TOKEN_LIMIT = "10000000 per minute"  # the default (600) would answer 429 within a second
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


# --- wrk's output ---------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int  # wrk's "Non-2xx or 3xx responses"
    socket_errors: dict[str, int] = field(default_factory=dict)
    lua_ok: int | None = None  # counted by the PATCH script (2xx answers)
    lua_bad: int | None = None  # ... and the others, 3xx included
    seconds: float = 0.0  # how long wrk ran ("... requests in 7.01s")

    @property
    def errors(self) -> int:
        """Answers that were not 2xx, and requests that got no answer."""
        bad = self.lua_bad if self.lua_bad is not None else self.non_2xx
        return bad + sum(self.socket_errors.values())


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def duration_ms(text: str) -> float:
    """A wrk duration ("812.00us", "9.80ms", "1.20s", "2.00m") in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, the 50% and 99% latencies and the error counts from `wrk --latency`."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"wrk's output has no {pattern!r}:\n{output}")
        return match

    rate = float(find(r"^Requests/sec:\s+([\d.]+)").group(1))
    p50 = duration_ms(find(r"^\s+50%\s+(\S+)").group(1))
    p99 = duration_ms(find(r"^\s+99%\s+(\S+)").group(1))
    done = find(r"^\s+(\d+) requests in ([\d.]+(?:us|ms|s|m|h)),")
    requests = int(done.group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = {}
    if sockets:
        errors = dict(
            zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True)
        )
    lua = re.search(r"^bench-status ok=(\d+) bad=(\d+)", output, re.MULTILINE)
    return WrkResult(
        requests_per_second=rate,
        p50_ms=p50,
        p99_ms=p99,
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors,
        lua_ok=int(lua.group(1)) if lua else None,
        lua_bad=int(lua.group(2)) if lua else None,
        seconds=duration_ms(done.group(2)) / 1000,
    )


def combine(rounds: list[WrkResult]) -> WrkResult:
    """One result of several rounds of the same load: requests/s over all of them (their
    requests over their seconds), the median of their p50s, the highest of their p99s, and
    every error of each."""
    if len(rounds) == 1:
        return rounds[0]
    requests = sum(r.requests for r in rounds)
    seconds = sum(r.seconds for r in rounds)
    sockets: dict[str, int] = {}
    for r in rounds:
        for kind, count in r.socket_errors.items():
            sockets[kind] = sockets.get(kind, 0) + count
    counted = all(r.lua_ok is not None for r in rounds)
    return WrkResult(
        requests_per_second=requests / seconds,
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=max(r.p99_ms for r in rounds),
        requests=requests,
        non_2xx=sum(r.non_2xx for r in rounds),
        socket_errors=sockets,
        lua_ok=sum(r.lua_ok or 0 for r in rounds) if counted else None,
        lua_bad=sum(r.lua_bad or 0 for r in rounds) if counted else None,
        seconds=seconds,
    )


# The PATCH load: one connection per wrk thread, each editing its own story's title, sending the
# version its last answer gave (planner's optimistic locking; the floor ignores it). It counts
# 2xx answers and the others itself, and prints them for parse_wrk.
PATCH_SCRIPT = r"""
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  ok, bad, n = 0, 0, 0
  local spec = args[((id - 1) % #args) + 1]
  path, version = spec:match("^(.+)|(%d+)$")
  version = tonumber(version)
end

function request()
  n = n + 1
  local body = string.format('{"version": %d, "title": "Bench edit %d.%d"}', version, id, n)
  return wrk.format("PATCH", path, nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
  -- The story's version is the last "version" of the answer (keys are sorted; a 409 carries
  -- the current story last): send it with the next edit.
  local last = nil
  for v in string.gmatch(body, '"version":%s*(%d+)') do last = v end
  if last then version = tonumber(last) end
end

function done(summary, latency, requests)
  local good, wrong = 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    wrong = wrong + thread:get("bad")
  end
  io.write(string.format("bench-status ok=%d bad=%d\n", good, wrong))
end
"""


def run_wrk(
    url: str,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int,
    threads: int,
    script: Path | None = None,
    script_args: list[str] | None = None,
    keep: Path | None = None,
) -> WrkResult:
    """Run wrk and read its output (kept in the file `keep` when given)."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    command += ["--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    if keep is not None:
        keep.write_text(f"{' '.join(command)}\n\n{done.stdout}")
    return parse_wrk(done.stdout)


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn master in its own process group, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"gunicorn-{name}.log"
        command = [GUNICORN, *args, "--workers", "2", "--worker-class", "sync"]
        command += ["--bind", f"127.0.0.1:{self.port}"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                if len(self.worker_pids()) >= 2:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == self.process.pid:
                    pids.append(int(entry.name))
        return sorted(pids)

    def cpu_ticks(self) -> int:
        """CPU time (user and system, in clock ticks) its workers have used so far."""
        total = 0
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until the workers have used no CPU for 0.3 s (what was queued is answered)."""
        deadline = time.monotonic() + timeout
        last, quiet = self.cpu_ticks(), 0
        while quiet < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.cpu_ticks()
            quiet = quiet + 1 if now == last else 0
            last = now

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def memory_kib(pid: int) -> tuple[int, int | None]:
    """A process's resident set (VmRSS) and its proportional share (Pss: pages shared with the
    master and the other worker counted in part), in KiB."""
    rss = pss = None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss or 0, pss


# --- the database ------------------------------------------------------------------------------


@dataclass
class Prepared:
    token: str
    closed_sprint: int  # the demo's latest closed sprint
    big_closed: int
    big_active: int
    patch_stories: list[str]  # demo stories outside running and closed sprints
    seconds: dict[str, float]
    share_token: str = ""  # a live share link of the demo's dashboard (no sign-in)


def recreate_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        if target.database:
            Path(target.database).unlink(missing_ok=True)
        return
    if target.get_backend_name() != "postgresql":
        raise SystemExit(f"--url: a PostgreSQL (or SQLite) database, not {target.drivername}.")
    name = target.database
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SystemExit(f"--url: name the database in plain letters and digits, not {name!r}.")
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def prepare(url: str, patch_count: int) -> Prepared:
    """Migrate, install the demo, import the big project, make maya's API token."""
    from sqlalchemy import select, text

    from planner import create_app, db
    from planner.cli import upgrade_database
    from planner.demo import install_demo
    from planner.domain.accounts import find_account
    from planner.domain.sharing import create_share_link
    from planner.domain.tokens import create_token
    from planner.interchange.importer import import_document
    from planner.models import Project, Sprint, Story
    from planner.timeutil import utcnow
    from tests.benchmarks.bigproject import ACTIVE, CLOSED, big_document, count_events

    seconds: dict[str, float] = {}
    recreate_database(url)
    app = create_app()  # production, from the environment main() set
    with app.app_context():
        begin = time.perf_counter()
        upgrade_database(app)
        seconds["migrations"] = time.perf_counter() - begin
        session = db.session()
        begin = time.perf_counter()
        install_demo(session, hash_method=FAST_HASH, mlflow_folder=None)
        session.commit()
        seconds["demo"] = time.perf_counter() - begin
        document = big_document(utcnow())
        assert count_events(document) == 50_000, count_events(document)
        begin = time.perf_counter()
        import_document(session, document, hash_method=FAST_HASH)
        session.commit()
        seconds["big import"] = time.perf_counter() - begin
        maya = find_account(session, DEMO_EMAIL)
        _, secret = create_token(session, maya, name="web benchmark", scope="write", now=utcnow())
        fraud = session.scalar(select(Project).where(Project.key == "FRAUD"))
        _, share_token = create_share_link(
            session, fraud, "Steering committee", by_id=maya.id, now=utcnow()
        )
        session.commit()
        if session.bind.dialect.name == "postgresql":
            # The statistics autovacuum would gather soon after a bulk import: without them the
            # first minutes after the import are measured with plans made for empty tables.
            session.execute(text("ANALYZE"))
            session.commit()

        def sprint_id(key: str, **where) -> int:
            query = select(Sprint.id).join(Project, Project.id == Sprint.project_id)
            query = query.where(Project.key == key)
            for column, value in where.items():
                query = query.where(getattr(Sprint, column) == value)
            return session.scalars(query.order_by(Sprint.start_date.desc())).first()

        movable = session.scalars(
            select(Story.number)
            .outerjoin(Sprint, Sprint.id == Story.sprint_id)
            .where(Story.project_id == fraud.id)
            .where((Story.sprint_id.is_(None)) | (Sprint.state == "planned"))
            .order_by(Story.number)
        ).all()
        if len(movable) < patch_count:
            raise SystemExit(
                f"The demo has {len(movable)} stories outside running and closed sprints; "
                f"use --connections {len(movable)} or fewer for the PATCH load."
            )
        prepared = Prepared(
            token=secret,
            closed_sprint=sprint_id("FRAUD", state="closed"),
            big_closed=sprint_id("BIG", name=CLOSED),
            big_active=sprint_id("BIG", name=ACTIVE),
            patch_stories=[f"FRAUD-{n}" for n in movable[:patch_count]],
            seconds=seconds,
            share_token=share_token,
        )
    db.get_db(app).dispose()
    return prepared


# --- signing in and the endpoints ---------------------------------------------------------------


@dataclass
class Browser:
    cookie: str  # the Cookie header of the signed-in session
    csrf: str


def sign_in(base: str) -> Browser:
    """Sign in through the form, as a browser does: GET the page for its CSRF token, POST it."""
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT

    def insecure() -> None:  # production marks cookies Secure; this is plain HTTP on loopback
        for cookie in s.cookies:
            cookie.secure = False

    page = s.get(f"{base}/login", timeout=30)
    insecure()
    token = CSRF_META.search(page.text)
    if page.status_code != 200 or token is None:
        raise RuntimeError(f"the sign-in page answered {page.status_code} without a CSRF token")
    form = {"csrf_token": token.group(1), "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    answer = s.post(f"{base}/login", data=form, allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"signing in answered {answer.status_code}, not a redirect")
    insecure()
    landing = s.get(f"{base}{answer.headers['Location']}", timeout=30)
    insecure()
    csrf = CSRF_META.search(landing.text)
    if landing.status_code != 200 or csrf is None:
        raise RuntimeError(f"after signing in, {landing.url} answered {landing.status_code}")
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    return Browser(cookie=cookie, csrf=csrf.group(1))


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    floor_path: str
    floor_headers: dict[str, str]
    patch: bool = False
    page: bool = False  # an HTML page planner may keep: measured drawn anew too
    writes_every: float | None = None  # seconds between story edits made while it is loaded


def endpoints(
    prepared: Prepared, browser: Browser, base: str, only: list[str] | None = None
) -> list[Endpoint]:
    """What is measured, in order (the PATCH load last: it changes demo stories); with `only`,
    just those."""
    page = {"Cookie": browser.cookie}
    api = {"Authorization": f"Bearer {prepared.token}"}
    floor_page = "/__floor/FRAUD"
    floor_api = "/api/v1/__floor/FRAUD"
    report = f"/projects/FRAUD/reports?sprint={prepared.closed_sprint}"
    found = [
        Endpoint("demo-board", "GET", "/projects/FRAUD/board", page, floor_page, page, page=True),
        Endpoint(
            "demo-backlog", "GET", "/projects/FRAUD/backlog", page, floor_page, page, page=True
        ),
        Endpoint("demo-report", "GET", report, page, floor_page, page, page=True),
        Endpoint(
            "demo-dashboard", "GET", "/projects/FRAUD/dashboard", page, floor_page, page, page=True
        ),
        # the dashboard a share link opens (a steering committee after a slip e-mail): no
        # sign-in, the link checked in one query; its floor is the signed-in page's
        Endpoint(
            "demo-share-dashboard",
            "GET",
            f"/share/{prepared.share_token}",
            {},
            floor_page,
            page,
            page=True,
        ),
        # the board while the team works: a story of FRAUD edited every second, each edit
        # making both workers draw the board anew once
        Endpoint(
            "demo-board-writes",
            "GET",
            "/projects/FRAUD/board",
            page,
            floor_page,
            page,
            writes_every=1.0,
        ),
    ]
    for name, key in (("board-poll", "FRAUD"), ("big-board-poll", "BIG")):
        if only and name not in only:
            continue  # reading its path costs a board page
        poll_headers = {**page, "Accept": "application/json", "X-CSRFToken": browser.csrf}
        found.append(
            Endpoint(name, "GET", board_poll_path(base, key, page), poll_headers, floor_page, page)
        )
    found += [
        Endpoint("big-backlog", "GET", "/projects/BIG/backlog", page, floor_page, page, page=True),
        Endpoint("big-board", "GET", "/projects/BIG/board", page, floor_page, page, page=True),
        Endpoint(
            "big-burndown-closed",
            "GET",
            f"/api/v1/sprints/{prepared.big_closed}/burndown",
            api,
            floor_api,
            api,
        ),
        Endpoint(
            "big-burndown-active",
            "GET",
            f"/api/v1/sprints/{prepared.big_active}/burndown",
            api,
            floor_api,
            api,
        ),
    ]
    json_api = {**api, "Content-Type": "application/json"}
    found.append(
        Endpoint(
            "story-patch",
            "PATCH",
            f"/api/v1/stories/{prepared.patch_stories[0]}",
            json_api,
            floor_api,
            json_api,
            patch=True,
        )
    )
    return [e for e in found if not only or e.name in only]


def board_poll_path(base: str, key: str, headers: dict[str, str]) -> str:
    """The URL board.js polls, read from the board page as the script reads it: data-changes
    with the page's query, the sprint, `since` = data-now (so nothing has changed) and `here`."""
    import requests

    page = requests.get(
        f"{base}/projects/{key}/board", headers={**headers, "User-Agent": USER_AGENT}, timeout=60
    )
    page.raise_for_status()

    def data(name: str) -> str:
        match = re.search(rf'data-{name}="([^"]*)"', page.text)
        if match is None:
            raise RuntimeError(f"the {key} board page has no data-{name}")
        return html.unescape(match.group(1))

    query = dict(re.findall(r"([^&=]+)=([^&]*)", data("query")))
    query.update({"sprint": data("sprint"), "since": data("now"), "here": data("here")})
    return f"{data('changes')}?{urlencode(query)}"


@dataclass
class Fetched:
    status: int
    body_bytes: int
    wire_bytes: int  # as sent: smaller than body_bytes when the server compressed it
    encoding: str | None
    etag: str | None


def fetch_once(base: str, method: str, path: str, headers: dict[str, str], body=None) -> Fetched:
    """One request as wrk will send it (plus Accept-Encoding: gzip, as browsers send)."""
    import requests

    answer = requests.request(
        method,
        base + path,
        headers={**headers, "User-Agent": USER_AGENT, "Accept-Encoding": "gzip"},
        data=body,
        allow_redirects=False,
        stream=True,
        timeout=120,
    )
    wire = answer.raw.read(decode_content=False)
    encoding = answer.headers.get("Content-Encoding")
    raw = gzip.decompress(wire) if encoding == "gzip" else wire
    return Fetched(answer.status_code, len(raw), len(wire), encoding, answer.headers.get("ETag"))


def story_version(base: str, key: str, token: str) -> int:
    import requests

    answer = requests.get(
        f"{base}/api/v1/stories/{key}",
        headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
        timeout=60,
    )
    answer.raise_for_status()
    return int(answer.json()["version"])


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Row:
    endpoint: Endpoint
    fetched: Fetched
    planner: WrkResult
    floor: WrkResult
    bare: WrkResult
    drawn: WrkResult | None = None  # planner with kept pages off (PLANNER_PAGE_CACHE_MB=0)
    edits: int = 0  # story edits made during the load (writes_every)


class EndpointFailed(Exception):
    """An endpoint that could not be measured (its first answer was not 2xx, say)."""


def load(
    server: Server, path: str, headers: dict[str, str], args: argparse.Namespace, **extra
) -> WrkResult:
    """Load `server` with wrk, then wait until its workers are idle again: requests still queued
    when wrk stops must not slow the next measurement."""
    threads = extra.pop("threads", min(args.threads, args.connections))
    try:
        return run_wrk(
            server.base + path,
            {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", **headers},
            seconds=extra.pop("seconds", args.duration),
            connections=args.connections,
            threads=threads,
            **extra,
        )
    finally:
        server.wait_idle()


def measure(
    endpoint: Endpoint,
    servers: dict[str, Server],
    prepared: Prepared,
    args: argparse.Namespace,
    folder: Path,
) -> Row:
    planner, floor, bare = servers["planner"], servers["floor"], servers["bare"]

    def keep(server: str) -> Path:
        return folder / f"wrk-{endpoint.name}-{server}.txt"

    headers = dict(endpoint.headers)
    body = None
    edits: list[float] = []  # the edits made while it was loaded (writes_every)
    if endpoint.patch:
        key = prepared.patch_stories[0]
        version = story_version(planner.base, key, prepared.token)
        body = f'{{"version": {version}, "title": "Bench edit 0.0"}}'
    fetched = fetch_once(planner.base, endpoint.method, endpoint.path, headers, body)
    if not 200 <= fetched.status < 300:
        planner.wait_idle()
        raise EndpointFailed(f"planner answered {fetched.status} (see {planner.log})")
    if fetched.etag and endpoint.method == "GET":
        headers["If-None-Match"] = fetched.etag  # as the browser would send it again
    floor_check = fetch_once(floor.base, endpoint.method, endpoint.floor_path,
                             endpoint.floor_headers, body if endpoint.patch else None)  # fmt: skip
    if floor_check.status != 200:
        raise EndpointFailed(f"the floor answered {floor_check.status} (see {floor.log})")
    bare_path = f"/bytes/{fetched.body_bytes}"
    for _ in range(4):  # both workers of the floor and the bare app have answered once
        fetch_once(bare.base, "GET", bare_path, {})
        fetch_once(floor.base, "GET", endpoint.floor_path, endpoint.floor_headers)
    loads: dict[str, Callable[[str, float], WrkResult]] = {}
    if endpoint.patch:
        script = folder / "patch.lua"
        script.write_text(PATCH_SCRIPT)

        def stories() -> list[str]:
            return [
                f"/api/v1/stories/{key}|{story_version(planner.base, key, prepared.token)}"
                for key in prepared.patch_stories
            ]

        # One connection per wrk thread: each thread edits its own story in turn.
        patch = {"threads": args.connections, "script": script}
        if args.warmup:
            load(planner, endpoint.path, headers, args, seconds=args.warmup,
                 script_args=stories(), **patch)  # fmt: skip
        loads["planner"] = lambda name, seconds: load(
            planner, endpoint.path, headers, args, seconds=seconds, script_args=stories(),
            keep=keep(name), **patch)  # fmt: skip
        loads["floor"] = lambda name, seconds: load(
            floor, endpoint.floor_path, endpoint.floor_headers, args, seconds=seconds,
            script_args=[f"{endpoint.floor_path}|0"], keep=keep(name), **patch)  # fmt: skip
    else:
        if args.warmup:
            load(planner, endpoint.path, headers, args, seconds=args.warmup)

        def planner_load(name: str, seconds: float) -> WrkResult:
            with editing(planner.base, prepared, endpoint.writes_every) as made:
                result = load(planner, endpoint.path, headers, args, seconds=seconds,
                              keep=keep(name))  # fmt: skip
            edits.extend(made)
            return result

        loads["planner"] = planner_load
        loads["floor"] = lambda name, seconds: load(
            floor, endpoint.floor_path, endpoint.floor_headers, args, seconds=seconds,
            keep=keep(name))  # fmt: skip
    if endpoint.page:
        drawn = servers["drawn"]
        if args.warmup:
            load(drawn, endpoint.path, headers, args, seconds=args.warmup)
        loads["drawn"] = lambda name, seconds: load(
            drawn, endpoint.path, headers, args, seconds=seconds, keep=keep(name))  # fmt: skip
    # Planner, the floor and the drawn pages in turns, each load split into rounds: a machine
    # whose speed drifts during the run (a shared virtual machine's does) slows them alike.
    seconds = max(1.0, round(args.duration / args.rounds))
    rounds: dict[str, list[WrkResult]] = {name: [] for name in loads}
    for turn in range(args.rounds):
        for name, run in loads.items():
            suffix = f"-{turn + 1}" if args.rounds > 1 else ""
            rounds[name].append(run(f"{name}{suffix}", seconds))
    planner_result, floor_result = combine(rounds["planner"]), combine(rounds["floor"])
    drawn_result = combine(rounds["drawn"]) if "drawn" in rounds else None
    bare_result = load(bare, bare_path, {}, args, keep=keep("bare"))
    return Row(endpoint, fetched, planner_result, floor_result, bare_result, drawn_result,
               len(edits))  # fmt: skip


@contextlib.contextmanager
def editing(base: str, prepared: Prepared, every: float | None) -> Iterator[list[float]]:
    """While the block runs, edit a demo story's title through the API every `every` seconds
    (none when None); yields the list of edits made, as they are made."""
    import threading

    import requests

    made: list[float] = []
    if every is None:
        yield made
        return
    stop = threading.Event()
    key = prepared.patch_stories[-1]
    headers = {"Authorization": f"Bearer {prepared.token}", "User-Agent": USER_AGENT}

    def edit() -> None:
        while not stop.wait(every):
            version = story_version(base, key, prepared.token)
            answer = requests.patch(
                f"{base}/api/v1/stories/{key}",
                json={"version": version, "title": f"Edited while loaded {len(made)}"},
                headers=headers,
                timeout=60,
            )
            answer.raise_for_status()
            made.append(time.monotonic())

    thread = threading.Thread(target=edit, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        stop.set()
        thread.join(timeout=60)


def size_text(fetched: Fetched) -> str:
    if fetched.encoding:
        return f"{fetched.body_bytes:,} ({fetched.encoding} {fetched.wire_bytes:,})"
    return f"{fetched.body_bytes:,}"


def cells(result: WrkResult) -> str:
    return f"{result.requests_per_second:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f}"


def ratio(a: float, b: float, digits: int) -> str:
    return f"{a / b:.{digits}f}" if b else "–"


def table(rows: list[Row | tuple[Endpoint, str]]) -> str:
    lines = [
        "| endpoint | bytes | planner req/s | p50 ms | p99 ms | floor req/s | p50 ms | p99 ms "
        "| bare req/s | planner/floor | planner/bare | drawn req/s | drawn/floor "
        "| not 2xx (planner/floor/bare) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if isinstance(row, tuple):
            endpoint, why = row
            lines.append(f"| {endpoint.name} | not measured: {why} |" + " |" * 12)
            continue
        p, f, b, d = row.planner, row.floor, row.bare, row.drawn
        name = row.endpoint.name + (f" ({row.edits} edits)" if row.endpoint.writes_every else "")
        lines.append(
            f"| {name} | {size_text(row.fetched)} | {cells(p)} | {cells(f)} "
            f"| {b.requests_per_second:,.0f} "
            f"| {ratio(p.requests_per_second, f.requests_per_second, 2)} "
            f"| {ratio(p.requests_per_second, b.requests_per_second, 3)} "
            + (
                f"| {d.requests_per_second:,.0f} "
                f"| {ratio(d.requests_per_second, f.requests_per_second, 2)} "
                if d is not None
                else "| – | – "
            )
            + f"| {p.errors}/{f.errors}/{b.errors} |"
        )
    return "\n".join(lines)


def error_notes(rows: list[Row | tuple[Endpoint, str]]) -> list[str]:
    notes = []
    for row in rows:
        if isinstance(row, tuple):
            notes.append(f"{row[0].name}: not measured, {row[1]}")
            continue
        measured = [("planner", row.planner), ("floor", row.floor), ("bare", row.bare)]
        measured += [("drawn", row.drawn)] if row.drawn is not None else []
        for server, result in measured:
            if result.errors:
                notes.append(
                    f"{row.endpoint.name} on {server}: {result.errors} of {result.requests} "
                    f"requests not 2xx (non-2xx {result.lua_bad if result.lua_bad is not None else result.non_2xx}, "  # noqa: E501
                    f"socket errors {result.socket_errors})"
                )
    return notes


def memory_table(servers: dict[str, Server]) -> str:
    lines = ["| server | process | RSS MiB | PSS MiB |", "|---|---|---:|---:|"]
    for name, server in servers.items():
        for label, pid in [("master", server.process.pid)] + [
            (f"worker {pid}", pid) for pid in server.worker_pids()
        ]:
            with contextlib.suppress(OSError):
                rss, pss = memory_kib(pid)
                shown = f"{pss / 1024:.1f}" if pss is not None else "?"
                lines.append(f"| {name} | {label} | {rss / 1024:.1f} | {shown} |")
    return "\n".join(lines)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"database (default {DEFAULT_URL})")
    parser.add_argument("--duration", type=float, default=7.0, help="seconds per load (7)")
    parser.add_argument("--warmup", type=float, default=1.0, help="planner warm-up seconds (1)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2; PATCH: one each)")
    parser.add_argument("--only", action="append", metavar="NAME", help="only this endpoint")
    parser.add_argument(
        "--rounds", type=int, default=3, help="planner, floor and drawn loads taken in turns (3)"
    )
    parser.add_argument("--quick", action="store_true", help="2 s per load, no warm-up run")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds = 2.0, 0.0, 1
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("--duration is at least 1 s; --connections and --threads at least 1.")
    if args.rounds < 1 or args.rounds > args.duration:
        parser.error("--rounds: at least 1, and at most --duration (wrk runs whole seconds).")
    if args.warmup and args.warmup < 1:
        args.warmup = 1.0  # wrk counts whole seconds
    return args


NAMES = (
    "demo-board", "demo-backlog", "demo-report", "demo-dashboard", "demo-share-dashboard",
    "demo-board-writes",
    "board-poll", "big-board-poll",
    "big-backlog", "big-board", "big-burndown-closed", "big-burndown-active", "story-patch",
)  # fmt: skip


@contextlib.contextmanager
def running(env: dict[str, str], folder: Path) -> Iterator[dict[str, Server]]:
    """The three servers, stopped (their whole process groups) however the run ends."""
    servers: dict[str, Server] = {}
    try:
        config = ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
        servers["planner"] = Server("planner", config, env, folder)
        servers["drawn"] = Server("drawn", config, {**env, "PLANNER_PAGE_CACHE_MB": "0"}, folder)
        servers["floor"] = Server(
            "floor", [*config, "tests.benchmarks.floor_app:create_floor_app()"], env, folder
        )
        servers["bare"] = Server(
            "bare", ["--preload", "tests.benchmarks.bare_app:create_bare_app()"], env, folder
        )
        for server in servers.values():
            server.wait_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def server_environment(url: str, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's servers (production, the database `url`, an instance
    folder in `folder`, the token limit raised), set in this process too, where prepare() runs:
    `extra` adds or overrides variables."""
    env = {
        **os.environ,
        "PLANNER_ENV": "production",
        "PLANNER_SECRET_KEY": secrets.token_hex(32),
        "PLANNER_DATABASE_URL": url,
        "PLANNER_INSTANCE_PATH": str(folder / "instance"),
        "PLANNER_API_TOKEN_LIMIT": TOKEN_LIMIT,
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    os.environ.update(env)
    return env


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    unknown = sorted(set(args.only or ()) - set(NAMES))
    if unknown:
        raise SystemExit(f"--only: unknown {', '.join(unknown)}; the names: {', '.join(NAMES)}.")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk).")
    folder = Path(tempfile.mkdtemp(prefix="planner-web-bench-"))
    env = server_environment(args.url, folder)
    started = time.perf_counter()
    print(f"database: {args.url.split('@')[-1]}; logs in {folder}", flush=True)
    prepared = prepare(args.url, args.connections)
    print("set up: " + ", ".join(f"{k} {v:.1f} s" for k, v in prepared.seconds.items()), flush=True)
    rows: list[Row | tuple[Endpoint, str]] = []
    with running(env, folder) as servers:
        browser = sign_in(servers["planner"].base)
        for endpoint in endpoints(prepared, browser, servers["planner"].base, args.only):
            try:
                row = measure(endpoint, servers, prepared, args, folder)
            except EndpointFailed as exc:
                print(f"  {endpoint.name}: not measured, {exc}", flush=True)
                rows.append((endpoint, str(exc)))
                continue
            rows.append(row)
            print(
                f"  {endpoint.name}: planner {row.planner.requests_per_second:,.0f} req/s, "
                f"floor {row.floor.requests_per_second:,.0f}, bare {row.bare.requests_per_second:,.0f}",  # noqa: E501
                flush=True,
            )
        memory = memory_table(servers)
    print()
    print(
        f"wrk -c{args.connections} -t{args.threads} (PATCH: -t{args.connections}) "
        f"-d{args.duration:.0f}s --latency, planner/floor/drawn in {args.rounds} rounds of "
        f"{max(1.0, round(args.duration / args.rounds)):.0f} s taken in turns; "
        "gunicorn 2 sync workers each; "
        f"whole run {time.perf_counter() - started:.0f} s"
    )
    print()
    print(table(rows))
    print()
    notes = error_notes(rows)
    print("Answers not 2xx: " + ("none" if not notes else ""))
    for note in notes:
        print(f"- {note}")
    print()
    print("Memory after the load:")
    print()
    print(memory)
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
