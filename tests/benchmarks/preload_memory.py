"""Benchmark: what gunicorn's preload saves in memory (not a test).

    python -m tests.benchmarks.preload_memory      # PostgreSQL database bench_web (dropped first)
    python -m tests.benchmarks.preload_memory --url postgresql+psycopg://postgres@127.0.0.1/other

It prepares the database as the web benchmark does (migrations, the demo, the big project) and
starts planner twice under gunicorn, each with 2 sync workers, side by side:

- preload: `gunicorn -c deploy/gunicorn.conf.py` (the app loaded once in the master, the workers
  forked from it, the inherited database pool emptied after the fork), as deployed;
- baseline: `gunicorn wsgi:app`, the same app without the config file, each worker loading it.

Kept pages are off in both (PLANNER_PAGE_CACHE_MB=0), so what is measured is the code and what
it reads, not kept pages. Both are signed in to as the demo's maya and sent the same requests
(each page and API call of the web benchmark, from four threads, so both workers of each answer
them), then each process's memory is read from /proc: RSS; PSS, where a page shared by several
processes counts in part (the memory the machine gives the process); and USS, the pages only it
holds. The ratio is preload / baseline, per worker and for the whole server (master and
workers), for PSS.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.benchmarks.web import (
    DEFAULT_URL,
    ROOT,
    USER_AGENT,
    Server,
    prepare,
    server_environment,
    sign_in,
)

ROUNDS = 10  # each request, per server


def memory(pid: int) -> dict[str, int]:
    """A process's RSS, PSS and USS (private clean + dirty), in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
            found[name] = int(rest.split()[0])
    return {
        "rss": found["Rss"],
        "pss": found["Pss"],
        "uss": found["Private_Clean"] + found["Private_Dirty"],
    }


def paths(prepared) -> list[str]:
    return [
        "/projects/FRAUD/board",
        "/projects/FRAUD/backlog",
        "/projects/FRAUD/dashboard",
        f"/projects/FRAUD/reports?sprint={prepared.closed_sprint}",
        "/projects/FRAUD/risks",
        "/projects/FRAUD/milestones",
        "/projects/BIG/backlog",
        "/projects/BIG/board",
        f"/share/{prepared.share_token}",
        f"/api/v1/sprints/{prepared.big_closed}/burndown",
        f"/api/v1/sprints/{prepared.big_active}/burndown",
        "/api/v1/stories/FRAUD-1",
    ]


def exercise(server: Server, prepared) -> int:
    """Send every request ROUNDS times from four threads; return how many were not 2xx."""
    import requests

    cookie = sign_in(server.base).cookie
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT}
    api = {"Authorization": f"Bearer {prepared.token}", "User-Agent": USER_AGENT}

    def fetch(path: str) -> int:
        answer = requests.get(
            server.base + path, headers=api if path.startswith("/api/") else headers, timeout=120
        )
        return answer.status_code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(fetch, paths(prepared) * ROUNDS))
    return sum(1 for code in codes if not 200 <= code < 300)


def table(servers: dict[str, Server]) -> tuple[str, dict[str, dict[str, float]]]:
    lines = [
        "| server | process | RSS MiB | PSS MiB | USS MiB |",
        "|---|---|---:|---:|---:|",
    ]
    summary: dict[str, dict[str, float]] = {}
    for name, server in servers.items():
        workers = []
        total = 0
        for label, pid in [("master", server.process.pid)] + [
            (f"worker {pid}", pid) for pid in server.worker_pids()
        ]:
            with contextlib.suppress(OSError):
                used = memory(pid)
                total += used["pss"]
                if label != "master":
                    workers.append(used)
                lines.append(
                    f"| {name} | {label} | {used['rss'] / 1024:.1f} | {used['pss'] / 1024:.1f} "
                    f"| {used['uss'] / 1024:.1f} |"
                )
        summary[name] = {
            "worker_pss": statistics.mean(w["pss"] for w in workers) / 1024,
            "worker_uss": statistics.mean(w["uss"] for w in workers) / 1024,
            "total_pss": total / 1024,
        }
    return "\n".join(lines), summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"database (default {DEFAULT_URL})")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="planner-preload-bench-"))
    env = server_environment(args.url, folder, PLANNER_PAGE_CACHE_MB="0")
    print(f"database: {args.url.split('@')[-1]}; logs in {folder}", flush=True)
    prepared = prepare(args.url, 1)
    servers: dict[str, Server] = {}
    try:
        servers["preload"] = Server(
            "preload", ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")], env, folder
        )
        servers["baseline"] = Server("baseline", ["wsgi:app"], env, folder)
        for server in servers.values():
            server.wait_ready()
        failed = {name: exercise(server, prepared) for name, server in servers.items()}
        for server in servers.values():
            server.wait_idle()
        shown, summary = table(servers)
    finally:
        for server in servers.values():
            server.stop()
    count = len(paths(prepared)) * ROUNDS
    print(f"\n{count} requests to each server (2 sync workers, kept pages off)")
    print(f"not 2xx: {failed}\n")
    print(shown)
    pre, base = summary["preload"], summary["baseline"]
    print()
    print("| per server | preload | baseline (no preload) | preload / baseline |")
    print("|---|---:|---:|---:|")
    for key, label in (
        ("worker_pss", "PSS per worker, MiB"),
        ("worker_uss", "USS per worker, MiB"),
        ("total_pss", "PSS of master and workers, MiB"),
    ):
        print(f"| {label} | {pre[key]:.1f} | {base[key]:.1f} | {pre[key] / base[key]:.2f} |")
    return 1 if any(failed.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
