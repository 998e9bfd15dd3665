"""Nothing a user can send produces a 500: every route of the access matrix, as a manager, with
garbage in every field and in the query string (through the test client; test_fuzz_gunicorn does
the same and more over HTTP against gunicorn in production mode)."""

from __future__ import annotations

import pytest

from tests.test_access import ROUTES, call

GARBAGE = [
    "",
    " ",
    "²",
    "٣",
    "x" * 5000,
    "-1",
    "0",
    "99999999999999999999",
    "2026-13-45",
    "<script>",
    "null",
    "true",
    "../../etc",
    "FRAUD-0",
    "🙂",
    "a\x00b",
    "9999-12-31",
    "0001-01-01",
    "1999-12-31",
    "y" * 30_000,
]


def garbled(payload: dict | None, value) -> dict:
    if not payload:
        return {"action": value, "title": value, "status": value}
    return {key: ([value] if isinstance(v, list) else value) for key, v in payload.items()}


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_in_every_write_never_answers_500(clients, story_one, value):
    for method, url, payload, _ in ROUTES:
        if method.endswith("GET"):
            continue
        response = call(clients["manage"], method, url, garbled(payload, value))
        assert response.status_code < 500, (method, url, value, response.status_code)


QUERIES = [
    "sprint=abc",
    "sprint=-1",
    "sprint=999",
    "unit=hours",
    "lanes=x&role=y&stage=z",
    "since=yesterday",
    "since=2026-13-01T00:00:00Z",
    "likelihood=9&impact=0&status=x",
    "group=x&q=%00",
    "archived=maybe",
    "mine=2",
    "sprint=%00",
    "since=0001-01-01T00:00:00%2B14:00",
]


@pytest.mark.parametrize("query", QUERIES)
def test_odd_query_strings_never_answer_500(clients, story_one, query):
    for method, url, _, _ in ROUTES:
        if not method.endswith("GET"):
            continue
        joiner = "&" if "?" in url else "?"
        response = clients["manage"].get(f"{url}{joiner}{query}")
        assert response.status_code < 500, (url, query, response.status_code)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/sprints/99999999999999999999",
        "/api/v1/sprints/99999999999999999999/burndown",
        "/projects/FRAUD/stories/99999999999999999999",
        "/api/v1/stories/FRAUD-99999999999999999999",
        "/projects/FRAUD/sprints/4294967296/plan",
        "/api/v1/milestones/99999999999999999999/forecasts",
    ],
)
def test_absurd_ids_in_urls_are_not_found(clients, story_one, url):
    response = clients["manage"].get(url)
    assert response.status_code in (404, 405), (url, response.status_code)
