"""The pieces of the web benchmark (tests/benchmarks/web.py) work: its floor routes sign in as
planner does and run one query, the bare app answers the bytes asked for, the big project is a
document planner imports, wrk's output is read right, and the PATCH script edits a story again
and again with the versions planner asks for. Nothing here is timed."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from planner.domain.tokens import create_token
from planner.interchange.importer import import_document
from planner.models import Project, Sprint, Story, StoryEvent
from tests import factories
from tests.benchmarks.bare_app import create_bare_app
from tests.benchmarks.bigproject import big_document, count_events
from tests.benchmarks.floor_app import add_floor
from tests.benchmarks.web import PATCH_SCRIPT, combine, duration_ms, parse_wrk, run_wrk
from tests.conftest import sign_in

NOW = datetime(2026, 3, 11, 10, tzinfo=UTC)  # a Wednesday

# Real outputs of wrk 4.1.0 (Debian), copied from runs of the benchmark and of wrk by hand.
PATCH_SAMPLE = """\
Running 2s test @ http://127.0.0.1:41805/api/v1/stories/FRAUD-32
  8 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   807.81ms  218.81ms   1.21s    75.00%
    Req/Sec     0.81      0.54     2.00     68.75%
  Latency Distribution
     50%  831.42ms
     75%    1.00s\x20
     90%    1.02s\x20
     99%    1.21s\x20
  16 requests in 2.04s, 17.98KB read
Requests/sec:      7.83
Transfer/sec:      8.80KB
bench-status ok=16 bad=0
"""
NOT_FOUND_SAMPLE = """\
Running 1s test @ http://127.0.0.1:18777/bytes/99999999999
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.40ms    6.16ms  37.31ms   76.51%
    Req/Sec   291.35    205.24   831.00     85.00%
  Latency Distribution
     50%    7.21ms
     75%   11.85ms
     90%   15.80ms
     99%   26.75ms
  589 requests in 1.03s, 98.36KB read
  Non-2xx or 3xx responses: 589
Requests/sec:    572.62
Transfer/sec:     95.62KB
"""
SOCKET_ERRORS_SAMPLE = """\
Running 1s test @ http://127.0.0.1:18781/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   295.20us  757.94us   9.30ms   91.48%
    Req/Sec     5.40k     2.56k    9.00k    63.64%
  Latency Distribution
     50%   78.00us
     75%  107.00us
     90%  715.00us
     99%    3.44ms
  5911 requests in 1.10s, 340.58KB read
  Socket errors: connect 0, read 2956, write 0, timeout 0
Requests/sec:   5370.21
Transfer/sec:    309.42KB
"""


def test_wrk_output_with_the_patch_scripts_counts():
    result = parse_wrk(PATCH_SAMPLE)
    assert result.requests_per_second == 7.83
    assert result.p50_ms == 831.42
    assert result.p99_ms == 1210.0
    assert result.requests == 16
    assert (result.lua_ok, result.lua_bad, result.non_2xx) == (16, 0, 0)
    assert result.errors == 0


def test_wrk_output_with_answers_that_are_not_2xx():
    result = parse_wrk(NOT_FOUND_SAMPLE)
    assert (result.requests_per_second, result.p50_ms, result.p99_ms) == (572.62, 7.21, 26.75)
    assert result.requests == 589
    assert result.non_2xx == 589
    assert result.lua_ok is None
    assert result.errors == 589


def test_wrk_output_with_socket_errors():
    result = parse_wrk(SOCKET_ERRORS_SAMPLE)
    assert result.requests_per_second == 5370.21
    assert result.p50_ms == pytest.approx(0.078)
    assert result.p99_ms == 3.44
    assert result.socket_errors == {"connect": 0, "read": 2956, "write": 0, "timeout": 0}
    assert result.errors == 2956


def test_rounds_combine_into_one_rate_over_their_requests_and_seconds():
    patch = parse_wrk(PATCH_SAMPLE)  # 16 requests in 2.04 s, p50 831.42, p99 1,210 ms
    not_found = parse_wrk(NOT_FOUND_SAMPLE)  # 589 in 1.03 s, p50 7.21, p99 26.75
    sockets = parse_wrk(SOCKET_ERRORS_SAMPLE)  # 5,911 in 1.10 s, p50 0.078, p99 3.44
    assert (patch.seconds, not_found.seconds, sockets.seconds) == (2.04, 1.03, 1.1)
    both = combine([not_found, sockets])
    assert both.requests == 6500 and both.seconds == pytest.approx(2.13)
    assert both.requests_per_second == pytest.approx(6500 / 2.13)  # 3,051.6, not (572.6+5,370.2)/2
    assert (both.p50_ms, both.p99_ms) == (pytest.approx((7.21 + 0.078) / 2), 26.75)
    assert both.non_2xx == 589 and both.errors == 589 + 2956
    assert both.lua_ok is None  # only one round was counted by the script
    three = combine([patch, patch, not_found])
    assert three.requests == 621 and three.p50_ms == 831.42 and three.p99_ms == 1210.0
    assert combine([patch, patch]).lua_ok == 32
    assert combine([sockets]) is sockets


def test_wrk_durations_and_output_that_is_not_wrks():
    assert duration_ms("812.00us") == pytest.approx(0.812)
    assert duration_ms("2.00m") == 120_000.0
    with pytest.raises(ValueError, match="not a wrk duration"):
        duration_ms("fast")
    with pytest.raises(ValueError, match="Requests/sec"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_floor_page_signs_in_and_runs_one_query(app, team, count_queries):
    add_floor(app)
    client = sign_in(app, team.manager)
    with count_queries() as counter:
        answer = client.get("/__floor/FRAUD")
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == "floor FRAUD: Card fraud detection\n"
    # The account by its session token (Flask-Login), then the project by its key.
    assert counter.count == 2
    assert app.test_client().get("/__floor/FRAUD").status_code == 302  # to the sign-in page
    assert client.get("/__floor/NOPE").status_code == 404


def test_floor_api_takes_a_bearer_token(app, db_session, team, count_queries):
    add_floor(app)
    _, secret = create_token(db_session, team.manager, name="bench", now=datetime.now(UTC))
    db_session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    first = client.patch("/api/v1/__floor/FRAUD", json={"version": 0}, headers=headers)
    assert first.status_code == 200
    assert first.get_json() == {"key": "FRAUD", "name": "Card fraud detection"}
    with count_queries() as counter:
        again = client.get("/api/v1/__floor/FRAUD", headers=headers)
    assert again.status_code == 200
    # The token with its owner, then the project (the token's last use is a minute old at most,
    # so it is not written again).
    assert counter.count == 2
    assert client.get("/api/v1/__floor/FRAUD").status_code == 401


def test_bare_app_answers_the_bytes_asked_for():
    client = create_bare_app().test_client()
    answer = client.get("/bytes/1000")
    assert answer.status_code == 200
    assert len(answer.data) == 1000
    assert client.get("/bytes/1000").data == answer.data
    assert client.get("/bytes/0").data == b""
    assert client.get(f"/bytes/{64 * 1024 * 1024 + 1}").status_code == 404


def test_big_project_is_a_document_planner_imports(db_session):
    document = big_document(NOW, stories=20, closed=8, active=2, events=200)
    assert count_events(document) == 200
    import_document(db_session, document, hash_method="pbkdf2:sha256:1000")
    db_session.commit()
    project = db_session.scalar(select(Project).where(Project.key == "BIG"))
    sprints = {
        s.name: s for s in db_session.scalars(select(Sprint).where(Sprint.project_id == project.id))
    }
    assert {name: s.state for name, s in sprints.items()} == {
        "Sprint 1": "closed",
        "Sprint 2": "active",
    }
    # 2026-03-11 is a Wednesday: the active sprint started on Monday the 9th.
    assert sprints["Sprint 2"].start_date.isoformat() == "2026-03-09"
    stories = db_session.scalars(select(Story).where(Story.project_id == project.id)).all()
    in_sprint = [s.sprint_id for s in stories]
    assert in_sprint.count(sprints["Sprint 1"].id) == 8
    assert in_sprint.count(sprints["Sprint 2"].id) == 2
    assert in_sprint.count(None) == 10
    events = db_session.scalars(
        select(StoryEvent).where(StoryEvent.story_id.in_([s.id for s in stories]))
    ).all()
    assert len(events) == 200
    assert max(e.at for e in events) < NOW


def test_big_project_at_full_size_has_50000_events():
    document = big_document(NOW)
    assert len(document["stories"]) == 2000
    assert count_events(document) == 50_000
    assert sum(1 for s in document["stories"] if s.get("sprint") == "Sprint 2") == 200


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_patch_script_edits_with_the_version_planner_gives(
    app, db_session, team, live_server, tmp_path
):
    story = factories.story(db_session, team.project, team.manager, title="Original", points=3)
    _, secret = create_token(db_session, team.manager, name="bench", now=datetime.now(UTC))
    db_session.commit()
    number, version = story.number, story.version
    script = tmp_path / "patch.lua"
    script.write_text(PATCH_SCRIPT)
    path = f"/api/v1/stories/FRAUD-{number}"
    result = run_wrk(
        live_server + path,
        {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        seconds=1,
        connections=1,
        threads=1,
        script=script,
        script_args=[f"{path}|{version}"],
    )
    assert result.lua_bad == 0
    assert result.lua_ok >= 2  # each edit went through with the version the last one answered
    db_session.expire_all()
    edited = db_session.get(Story, story.id)
    # wrk may stop while one more edit is on its way: the server still makes it.
    applied = edited.version - version
    assert applied in (result.lua_ok, result.lua_ok + 1)
    # Before the run wrk calls the first thread's request() once to check the script (that
    # request is not sent), so thread 1's edits are numbered from 2.
    assert edited.title == f"Bench edit 1.{applied + 1}"
