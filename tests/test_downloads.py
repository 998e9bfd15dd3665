"""Every download goes through planner.downloads: a Content-Disposition that werkzeug and gunicorn
accept whatever the sprint is called, with a file name the user cannot steer to another
extension, and CSV cells that cannot become spreadsheet formulas. Expected headers and CSV are
written out by hand."""

from __future__ import annotations

import email.message
import email.utils
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from werkzeug.http import parse_options_header

from planner.downloads import content_disposition, csv_text, download
from tests import factories
from tests.conftest import sign_in
from tests.fuzzing import Session
from tests.ports import free_port as _free_port

ROOT = Path(__file__).resolve().parent.parent

SNOWMAN = "Sprint ☃ 1"
NEWLINE = "a\nb"
QUOTE = 'x"; filename=evil.exe'
FORMULA = '=HYPERLINK("http://evil")'


def parsed_names(header: str) -> list[str]:
    """Every file name a client could take from the header, read by two independent parsers:
    werkzeug's parse_options_header (which prefers filename*), and the standard library's
    RFC 2231 reader (both the ASCII fallback and the UTF-8 name)."""
    _, options = parse_options_header(header)
    message = email.message.Message()
    message["Content-Disposition"] = header
    params = message.get_params(header="content-disposition")
    assert params[0] == ("attachment", "")
    names = [options["filename"]]
    names += [email.utils.collapse_rfc2231_value(v) for k, v in params[1:] if k == "filename"]
    return names


# --- the helper ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "header"),
    [
        (
            SNOWMAN,
            "attachment; filename=\"Sprint_1.csv\"; filename*=UTF-8''Sprint_%E2%98%83_1.csv",
        ),
        (NEWLINE, 'attachment; filename="a_b.csv"'),
        ("a\r\n\x00b", 'attachment; filename="a_b.csv"'),
        (QUOTE, 'attachment; filename="x_filename=evil.exe.csv"'),
        (FORMULA, 'attachment; filename="=HYPERLINK(_http_evil_).csv"'),
        ("report.exe", 'attachment; filename="report.exe.csv"'),
        ("..\\..\\boot.ini", 'attachment; filename="boot.ini.csv"'),
        ("%0d%0aSet-Cookie: x", 'attachment; filename="0d_0aSet-Cookie_x.csv"'),
        # Invisible characters: a right-to-left override would show "aexe.csv" as "avsc.exe".
        ("a\u202eexe", 'attachment; filename="aexe.csv"'),
        ("zero\u200bwidth\ufeff", 'attachment; filename="zerowidth.csv"'),
        ("lone\ud800surrogate", 'attachment; filename="lonesurrogate.csv"'),
        ("private\ue000use", 'attachment; filename="privateuse.csv"'),
        ("line\u2028separator\x85next", 'attachment; filename="line_separator_next.csv"'),
        # Decomposed é is composed first, so the UTF-8 name is the usual one.
        ("E\u0301te\u0301", "attachment; filename=\"Ete.csv\"; filename*=UTF-8''%C3%89t%C3%A9.csv"),
        ("☃☃", "attachment; filename=\"download.csv\"; filename*=UTF-8''%E2%98%83%E2%98%83.csv"),
        ("", 'attachment; filename="download.csv"'),
    ],
)
def test_the_file_name_is_safe_ascii_with_a_utf8_name_beside_it(stem, header):
    assert content_disposition(stem, "csv") == header
    assert header.isascii() and not re.search(r"[\x00-\x1f\x7f]", header)
    names = parsed_names(header)
    assert len(names) == (3 if "filename*=" in header else 2)
    for name in names:
        assert name.endswith(".csv") and not re.search(r'[/\\"\x00-\x1f]', name), name


def test_download_answers_an_attachment_werkzeug_accepts():
    response = download("a,b\r\n", SNOWMAN, "csv", "text/csv")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Sprint_1.csv\"; filename*=UTF-8''Sprint_%E2%98%83_1.csv"
    )
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == b"a,b\r\n"
    assert parsed_names(response.headers["Content-Disposition"]) == [
        "Sprint_☃_1.csv",
        "Sprint_1.csv",
        "Sprint_☃_1.csv",
    ]


def test_csv_text_quotes_formula_text_and_keeps_numbers():
    """Only text is neutralised: -3 and -2.5 are numbers and stay numbers; the text "-3" could be
    read as a formula by a spreadsheet, so it gets the quote like any other text."""
    text = csv_text(
        ["=Sprint", "Points"],
        [
            [FORMULA, -3],
            ["+cmd|' /C calc'!A0", -2.5],
            ["-3", 0],
            ["@SUM(A1:A9)", None],
            ["\t=1+1", True],
            ["\r=1+1", date(2026, 3, 2)],
            [NEWLINE, 1],
            [QUOTE, 2],
            [SNOWMAN, 3],
            [" =not a formula", 4],
        ],
    )
    assert text == (
        "'=Sprint,Points\r\n"
        '"\'=HYPERLINK(""http://evil"")",-3\r\n'
        "'+cmd|' /C calc'!A0,-2.5\r\n"
        "'-3,0\r\n"
        "'@SUM(A1:A9),\r\n"
        "'\t=1+1,True\r\n"
        '"\'\r=1+1",2026-03-02\r\n'
        '"a\nb",1\r\n'
        '"x""; filename=evil.exe",2\r\n'
        "Sprint ☃ 1,3\r\n"
        " =not a formula,4\r\n"
    )


def test_every_download_in_the_package_goes_through_the_helper():
    """No second way to write a file: headers and CSV writers live in planner/downloads.py."""
    found = []
    for path in (ROOT / "planner").rglob("*.py"):
        if path.name == "downloads.py":
            continue
        text = path.read_text()
        for needle in ("Content-Disposition", "csv.writer", "csv.DictWriter", "send_file"):
            if needle.lower() in text.lower():
                found.append((path.relative_to(ROOT).as_posix(), needle))
        if re.search(r"""["']attachment""", text):
            found.append((path.relative_to(ROOT).as_posix(), "attachment"))
    assert found == []


# --- end to end through the report CSV route ----------------------------------------------------


@pytest.fixture
def named_sprints(db_session, team):
    """Four closed sprints named as the probes named them, written straight to the database (the
    text cleaner refuses a line break in a name today; older rows may hold one). Each committed
    one 3-point story and completed none."""
    team.project.created_at = datetime(2026, 1, 5, tzinfo=UTC)
    made = {}
    for week, name in enumerate((SNOWMAN, NEWLINE, QUOTE, FORMULA)):
        start = date(2026, 2, 2 + 7 * week)
        sprint = factories.sprint(db_session, team.project, name, start, start)
        factories.story(
            db_session,
            team.project,
            team.editor,
            title=f"Story {week}",
            points=3,
            sprint=sprint.id,
            now=datetime(2026, 2, 1, tzinfo=UTC),
        )
        sprint.state = "closed"
        sprint.started_at = datetime(start.year, start.month, start.day, 9, tzinfo=UTC)
        sprint.closed_at = datetime(start.year, start.month, start.day, 17, tzinfo=UTC)
        made[name] = sprint.id
    db_session.commit()
    return made


EXPECTED_HEADERS = {
    SNOWMAN: 'attachment; filename="FRAUD-Sprint_1-velocity.csv"; '
    "filename*=UTF-8''FRAUD-Sprint_%E2%98%83_1-velocity.csv",
    NEWLINE: 'attachment; filename="FRAUD-a_b-velocity.csv"',
    QUOTE: 'attachment; filename="FRAUD-x_filename=evil.exe-velocity.csv"',
    FORMULA: 'attachment; filename="FRAUD-=HYPERLINK(_http_evil_)-velocity.csv"',
}
# The velocity table: every closed sprint, by start date, 3 committed, 0 completed.
EXPECTED_CSV = (
    "Sprint,Committed,Completed\r\n"
    "Sprint ☃ 1,3,0\r\n"
    '"a\nb",3,0\r\n'
    '"x""; filename=evil.exe",3,0\r\n'
    '"\'=HYPERLINK(""http://evil"")",3,0\r\n'
)


def test_report_csv_of_each_hostile_sprint_name(app, team, named_sprints):
    client = sign_in(app, team.manager)
    for name, sprint_id in named_sprints.items():
        response = client.get(f"/projects/FRAUD/reports/{sprint_id}/velocity.csv")
        assert response.status_code == 200, name
        header = response.headers["Content-Disposition"]
        assert header == EXPECTED_HEADERS[name]
        assert all(n.endswith("-velocity.csv") for n in parsed_names(header))
        assert response.get_data(as_text=True) == EXPECTED_CSV


def test_gunicorn_serves_the_report_csv_of_each_hostile_sprint_name(
    team, named_sprints, database_url, tmp_path
):
    """The production app under real gunicorn, which refused the old headers outright."""
    port = _free_port()
    env = {
        **os.environ,
        "PLANNER_ENV": "production",
        "PLANNER_SECRET_KEY": "downloads-only-" + "x" * 32,
        "PLANNER_DATABASE_URL": database_url,
        "PLANNER_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--error-logfile",
            str(log),
            "tests.fuzz_wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(150):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        session = Session(f"http://127.0.0.1:{port}")
        session.sign_in(team.manager.email, factories.PASSWORD)
        for name, sprint_id in named_sprints.items():
            url = f"{session.base}/projects/FRAUD/reports/{sprint_id}/velocity.csv"
            with session.opener.open(url, timeout=60) as response:
                assert response.status == 200, name
                assert response.headers["Content-Disposition"] == EXPECTED_HEADERS[name]
                assert response.read().decode("utf-8") == EXPECTED_CSV
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in log.read_text()
