"""The README's first command, for real: `planner quickstart` migrates an empty SQLite database,
installs the demo, prints the sign-ins and serves planner; the printed sign-in works."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.ports import free_port


def test_quickstart_serves_the_demo_and_the_printed_sign_in_works(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "PLANNER_INSTANCE_PATH": str(tmp_path / "instance"),
        "PLANNER_ENV": "development",
    }
    env.pop("PLANNER_DATABASE_URL", None)  # the default: a SQLite file in the instance folder
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from planner.cli import main; main()",
            "quickstart",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl+C to stop." in line:
                break
        text = "".join(output)
        assert "Demo project FRAUD imported" in text, text
        match = re.search(r"(\S+@example\.com) / (\S+)", text)
        assert match, text
        email, password = match.groups()

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        login_page = ""
        for _ in range(50):
            try:
                login_page = opener.open(f"{base}/login", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert login_page, f"nothing answered on {base}/login:\n{text}"
        token = re.search(r'name="csrf-token" content="([^"]+)"', login_page).group(1)
        form = urllib.parse.urlencode(
            {"csrf_token": token, "email": email, "password": password, "next": ""}
        ).encode()
        projects = opener.open(f"{base}/login", data=form, timeout=10).read().decode()
        assert "Card fraud detection" in projects
        database = tmp_path / "instance" / "planner.sqlite3"
        assert database.exists()

        # The worker thread of the same process delivers: an assignment reaches the bell.
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', projects).group(1)
        story = json.loads(opener.open(f"{base}/api/v1/stories/FRAUD-1", timeout=10).read())
        change = urllib.request.Request(
            f"{base}/api/v1/stories/FRAUD-1",
            data=json.dumps(
                {"version": story["version"], "assignee": "priya@example.com"}
            ).encode(),
            method="PATCH",
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        )
        assert json.loads(opener.open(change, timeout=10).read())["assignee"] == "priya@example.com"
        lines: list[str] = []
        for _ in range(50):  # the thread makes a pass every 2 s
            with sqlite3.connect(database) as connection:
                lines = [row[0] for row in connection.execute("SELECT text FROM notification")]
            if lines:
                break
            time.sleep(0.2)
        assert email == "maya@example.com"  # the first printed sign-in: the scrum master
        assert lines == ["Maya Okafor assigned FRAUD-1 to you"], lines
    finally:
        process.terminate()
        process.wait(timeout=10)
