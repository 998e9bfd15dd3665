"""`planner import` turns every bad file into the problem list (JSON path and reason), exit code
1 and an unchanged database, never a traceback: deep nesting, duplicate keys, NaN, NUL bytes,
unpaired surrogates, non-UTF-8 files, far dates and overflowing timestamps, over-long text in
every free-text field, sprints over 56 days, server-dependent timezones and oversized files. Site
admins made members are named in the summary."""

from __future__ import annotations

import json
import os

import pytest

from planner.interchange import importer
from tests import factories
from tests.samples import full_document
from tests.test_interchange import mutate, row_counts

NOTHING_CHANGED = "not imported, nothing was changed"
WINDOW = "Enter a date between 2000-01-01 and 2099-12-31."
MOMENT_WINDOW = "Give a moment between 2000-01-01 and 2099-12-31 (UTC)."


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def before(db_session, team):
    """The row counts of every table with a project (FRAUD and its team) already in place."""
    return row_counts(db_session)


def run_import(runner, tmp_path, text: str | bytes):
    source = tmp_path / "project.json"
    if isinstance(text, bytes):
        source.write_bytes(text)
    else:
        source.write_text(text, encoding="utf-8")
    return runner.invoke(args=["import", str(source)])


def refused(result, db_session, before, *expected: str) -> None:
    """The import exited 1 with the problem list holding every `expected` line fragment, and
    wrote nothing."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert NOTHING_CHANGED in result.output
    for fragment in expected:
        assert fragment in result.output, result.output
    db_session.expire_all()
    assert row_counts(db_session) == before


def document_with(path: str, value) -> str:
    return json.dumps(mutate(path, value))


# --- reading the file -------------------------------------------------------------------------


def test_deep_nesting_is_a_problem_not_a_recursion_error(runner, tmp_path, db_session, before):
    result = run_import(runner, tmp_path, "[" * 100_000)
    refused(result, db_session, before, "$: The document is nested more than 32 levels deep.")


def test_deep_nesting_inside_a_valid_document_is_refused(runner, tmp_path, db_session, before):
    text = document_with("project.description", "PLACEHOLDER").replace(
        '"PLACEHOLDER"', "[" * 40 + "]" * 40
    )
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, before, "$: The document is nested more than 32 levels deep.")


@pytest.mark.parametrize(
    ("original", "repeated", "key"),
    [
        ('"format": "planner-export"', '"format": "planner-export", "format": "x"', "format"),
        ('"key": "CHURN-1"', '"key": "CHURN-1", "key": "CHURN-9"', "key"),
        ('"name": "Ana Lima"', '"name": "Ana Lima", "name": "Ana"', "name"),
    ],
)
def test_duplicate_keys_are_refused(runner, tmp_path, db_session, before, original, repeated, key):
    text = json.dumps(full_document())
    assert original in text
    result = run_import(runner, tmp_path, text.replace(original, repeated, 1))
    refused(result, db_session, before, f"The key '{key}' appears twice in one object")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(runner, tmp_path, db_session, before, constant):
    text = document_with("stories[0].rank", 123456789).replace("123456789", constant)
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, before, f"{constant} is not a JSON number; send a number or null.")


def test_a_number_too_long_to_read_is_a_problem(runner, tmp_path, db_session, before):
    text = document_with("stories[0].rank", 123456789).replace("123456789", "9" * 5000)
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, before, "$: Not valid JSON: a number in it is too long to read.")


@pytest.mark.parametrize(
    ("path", "raw", "where", "reason"),
    [
        ("project.name", "a\\u0000b", "$.project.name", "Remove the NUL character"),
        ("project.name", "\\ud800", "$.project.name", "unpaired UTF-16 surrogate"),
        (
            "stories[0].comments[0].body",
            "ok\\u0000",
            "$.stories[0].comments[0].body",
            "Remove the NUL character",
        ),
        ("members[0].email", "ana\\udfff@example.com", "$.members[0].email", "UTF-16 surrogate"),
        ("project.holidays[0]", "\\udc00", "$.project.holidays[0]", "UTF-16 surrogate"),
    ],
)
def test_nul_and_lone_surrogates_are_problems_with_their_path(
    runner, tmp_path, db_session, before, path, raw, where, reason
):
    text = document_with(path, "PLACEHOLDER").replace("PLACEHOLDER", raw)
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, before, f"{where}: ", reason)


def test_a_nul_in_a_key_is_a_problem(runner, tmp_path, db_session, before):
    text = json.dumps(full_document()).replace('"key": "CHURN"', '"key": "CHURN", "a\\u0000": 1')
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, before, "$.project[?]: Remove the NUL character")


@pytest.mark.parametrize(
    "data",
    [
        b'{"format": "\xff"}',
        "\ufeff{}".encode("utf-16"),
        b'{"format": "\xed\xa0\x80"}',  # a surrogate written as UTF-8 bytes
    ],
    ids=["latin-1 byte", "utf-16", "utf-8-encoded surrogate"],
)
def test_a_file_that_is_not_utf8_is_refused(runner, tmp_path, db_session, before, data):
    result = run_import(runner, tmp_path, data)
    refused(result, db_session, before, "$: ", "The document is not UTF-8")


# --- the size of the file ---------------------------------------------------------------------


def test_a_file_over_50_mb_is_refused_before_it_is_read(runner, tmp_path, db_session, before):
    source = tmp_path / "huge.json"
    with source.open("wb") as stream:  # sparse: 50 MiB and one byte of nothing, never written
        stream.truncate(50 * 1024 * 1024 + 1)
    result = runner.invoke(args=["import", str(source)])
    # Had the zeros been read, the message would be "Not valid JSON".
    refused(
        result,
        db_session,
        before,
        "$: the file is 50.0 MB (52,428,801 bytes); planner imports files of at most 50 MB "
        "(52,428,800 bytes)",
    )


def test_a_file_of_50_mb_is_read(runner, tmp_path, db_session, before):
    document = full_document()
    document["project"]["description"] = ""
    padding = 50 * 1024 * 1024 - len(json.dumps(document).encode())
    document["project"]["description"] = "x" * padding
    text = json.dumps(document)
    assert len(text.encode()) == 50 * 1024 * 1024
    result = run_import(runner, tmp_path, text)
    refused(result, db_session, before, "$.project.description: Keep it to 20,000 characters")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_without_a_size_is_read_no_further_than_the_limit(
    runner, db_session, before, monkeypatch
):
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 1000)
    result = runner.invoke(args=["import", "/dev/zero"])
    refused(result, db_session, before, "$: the file is larger; planner imports files of at most")


def test_a_50_mb_project_description_is_refused_with_its_path(runner, tmp_path, db_session, before):
    result = run_import(runner, tmp_path, document_with("project.description", "x" * 50_000_000))
    refused(
        result,
        db_session,
        before,
        "$.project.description: Keep it to 20,000 characters (it has 50,000,000).",
    )
    assert len(result.output) < 2_000


def test_huge_values_are_quoted_short_in_the_problems(runner, tmp_path, db_session, before):
    document = full_document()
    document["project"]["k" * 1_000_000] = 1
    document["stories"][0]["status"] = "s" * 1_000_000
    result = run_import(runner, tmp_path, json.dumps(document))
    refused(
        result,
        db_session,
        before,
        f"$.project[{'k' * 60!r}... (1,000,000 characters)]: unknown field {'k' * 60!r}... "
        "(1,000,000 characters)",
        f"$.stories[0].status: unknown status {'s' * 60!r}... (1,000,000 characters) (one of",
    )
    assert len(result.output) < 2_000


def test_a_huge_project_key_is_quoted_short(runner, tmp_path, db_session, before):
    result = run_import(runner, tmp_path, document_with("project.key", "K" * 1_000_000))
    refused(
        result,
        db_session,
        before,
        f"$.project.key: {'K' * 60!r}... (1,000,000 characters) is not a project key",
    )
    assert len(result.output) < 1_000


# --- values outside the limits ----------------------------------------------------------------

# Every free-text field of the format, with the most characters it may hold (docs/rules.md).
TEXT_FIELDS = [
    ("project.name", 120),
    ("project.description", 20_000),
    ("project.stages[2].name", 80),
    ("members[0].name", 120),
    ("epics[0].title", 200),
    ("epics[0].description", 20_000),
    ("sprints[0].name", 80),
    ("sprints[0].goal", 1_000),
    ("stories[0].title", 200),
    ("stories[0].description", 20_000),
    ("stories[1].hypothesis", 5_000),
    ("stories[1].metric", 200),
    ("stories[1].target", 200),
    ("stories[1].result", 5_000),
    ("stories[0].comments[0].body", 10_000),
    ("milestones[0].name", 120),
    ("milestones[0].description", 20_000),
    ("milestones[0].forecasts[0].note", 2_000),
    ("risks[0].title", 200),
    ("risks[0].description", 20_000),
    ("risks[0].mitigation", 5_000),
]
ONE_LINE_FIELDS = [
    "project.name",
    "project.stages[2].name",
    "members[0].name",
    "epics[0].title",
    "sprints[0].name",
    "stories[0].title",
    "stories[1].metric",
    "stories[1].target",
    "milestones[0].name",
    "risks[0].title",
]


@pytest.mark.parametrize(("path", "limit"), TEXT_FIELDS, ids=[f[0] for f in TEXT_FIELDS])
def test_every_text_field_has_its_limit(runner, tmp_path, db_session, before, path, limit):
    result = run_import(runner, tmp_path, document_with(path, "y" * (limit + 1)))
    refused(
        result,
        db_session,
        before,
        f"$.{path}: Keep it to {limit:,} characters (it has {limit + 1:,}).",
    )


def test_text_at_its_limit_is_imported(runner, tmp_path, db_session):
    document = full_document()
    for path, limit in TEXT_FIELDS:
        if path.endswith("name"):
            continue  # names are referred to elsewhere in the document
        document = _set(document, path, "z" * limit)
    result = run_import(runner, tmp_path, json.dumps(document))
    assert result.exit_code == 0, result.output


def _set(document, path, value):
    parts = path.replace("[", ".").replace("]", "").split(".")
    target = document
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    target[parts[-1]] = value
    return document


@pytest.mark.parametrize("path", ONE_LINE_FIELDS)
def test_one_line_fields_refuse_line_breaks(runner, tmp_path, db_session, before, path):
    result = run_import(runner, tmp_path, document_with(path, "line one\nline two"))
    refused(result, db_session, before, f"$.{path}: Remove the line breaks")


def test_multi_line_text_refuses_control_characters(runner, tmp_path, db_session, before):
    result = run_import(runner, tmp_path, document_with("risks[0].mitigation", "ring\x07"))
    refused(result, db_session, before, "$.risks[0].mitigation: Remove the control characters")


DATES = [
    ("project.holidays[0]", "9999-12-31", WINDOW),
    ("milestones[0].baseline", "1900-01-01", WINDOW),
    ("milestones[0].achieved", "2100-01-01", WINDOW),
    ("milestones[0].forecasts[0].forecast", "9999-12-31", WINDOW),
    ("milestones[0].forecasts[0].reported_on", "1999-12-31", WINDOW),
    ("risks[0].review_on", "9999-12-31", WINDOW),
    ("sprints[0].start", "0001-01-01", WINDOW),
    ("sprints[0].end", "9999-12-31", WINDOW),
    ("stories[0].created_at", "0001-01-01T00:00:00+14:00", MOMENT_WINDOW),
    ("stories[0].created_at", "9999-12-31T23:59:59-14:00", MOMENT_WINDOW),
    ("stories[0].created_at", "2150-01-01T00:00:00Z", MOMENT_WINDOW),
    ("project.created_at", "0001-01-01T00:00:00+14:00", MOMENT_WINDOW),
    ("sprints[0].started_at", "1999-12-31T23:59:59Z", MOMENT_WINDOW),
    ("sprints[0].closed_at", "9999-12-31T23:59:59-14:00", MOMENT_WINDOW),
    ("stories[0].history[0].at", "0001-01-01T00:00:00+14:00", MOMENT_WINDOW),
    ("stories[0].comments[0].at", "0001-01-01T00:00:00+14:00", MOMENT_WINDOW),
    (
        "stories[0].created_at",
        "2026-04-20T15:00:00",
        "'2026-04-20T15:00:00' is not an ISO 8601 timestamp with an offset",
    ),
    ("sprints[0].end", "2026-12-31", "the sprint lasts 242 days; at most 56"),
    ("sprints[0].end", "2026-06-29", "the sprint lasts 57 days; at most 56"),
    ("project.sprint_length_days", 57, "57 is outside 1..56"),
]


@pytest.mark.parametrize(("path", "value", "reason"), DATES, ids=[f"{p}={v}" for p, v, _ in DATES])
def test_dates_outside_the_window_are_problems_with_their_path(
    runner, tmp_path, db_session, before, path, value, reason
):
    result = run_import(runner, tmp_path, document_with(path, value))
    refused(result, db_session, before, f"$.{path}: {reason}")


def test_a_sprint_of_56_days_is_imported(runner, tmp_path, db_session):
    result = run_import(runner, tmp_path, document_with("sprints[0].end", "2026-06-28"))
    assert result.exit_code == 0, result.output


# --- timezones --------------------------------------------------------------------------------

SERVER_ZONES = [
    "localtime",
    "posixrules",
    "Factory",
    "/etc/localtime",
    "/usr/share/zoneinfo/Europe/Berlin",
    "../../../../etc/localtime",
    "Europe/Berlin/",
]


@pytest.mark.parametrize("name", SERVER_ZONES)
def test_only_iana_timezones_are_imported(runner, tmp_path, db_session, before, name):
    result = run_import(runner, tmp_path, document_with("project.timezone", name))
    refused(
        result, db_session, before, f"$.project.timezone: {name!r} is not a known IANA timezone"
    )


def test_an_iana_timezone_is_imported(runner, tmp_path, db_session):
    result = run_import(runner, tmp_path, document_with("project.timezone", "Pacific/Kiritimati"))
    assert result.exit_code == 0, result.output


def test_timezones_that_depend_on_the_server_are_refused_in_settings(db_session, clients, team):
    for name in SERVER_ZONES:
        response = clients["manage"].post_form(
            "/projects/FRAUD/settings",
            {
                "name": "Card fraud detection",
                "timezone": name,
                "working_days": ["1", "2", "3", "4", "5"],
                "sprint_length_days": "14",
                "slip_tolerance_days": "7",
            },
        )
        assert response.status_code == 422, name
        assert "is not a known IANA timezone" in response.get_data(as_text=True), name
    db_session.expire_all()
    assert team.project.timezone == "UTC"


def test_the_timezone_picker_offers_only_iana_names(clients, team):
    page = clients["manage"].get("/projects/FRAUD/settings").get_data(as_text=True)
    assert '<option value="Europe/Berlin">' in page
    for name in ("localtime", "posixrules", "Factory"):
        assert f'<option value="{name}">' not in page


# --- the summary ------------------------------------------------------------------------------


def test_the_import_summary_names_site_admins_made_members(runner, tmp_path, db_session):
    factories.account(db_session, "ana@example.com", "Ana Lima", admin=True)
    factories.account(db_session, "ben@example.com", "Ben Ode")
    db_session.commit()
    result = run_import(runner, tmp_path, json.dumps(full_document()))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "Note: ana@example.com is a site admin and is now a member of CHURN with manage access."
    ]


def test_the_import_summary_has_no_note_without_site_admins(runner, tmp_path, db_session):
    result = run_import(runner, tmp_path, json.dumps(full_document()))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["Imported project CHURN (Churn prediction)."]
