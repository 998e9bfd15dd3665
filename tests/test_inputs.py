"""planner.inputs: the one text cleaner, the one date window and the one JSON reader, as pure
functions (the request and domain layers that use them are tested in test_input_limits.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from planner.domain import date_value, required_text, text_value
from planner.inputs import (
    JSON_MAX_DEPTH,
    JSONInputError,
    date_problem,
    datetime_problem,
    parse_json,
    text_problem,
)
from planner.timeutil import parse_iso_datetime


@pytest.mark.parametrize(
    ("value", "multiline", "expected"),
    [
        ("Gold labels", False, None),
        ("Line one\nline two\ttabbed\r\n", True, None),
        ("Line one\nline two", False, "Remove the line breaks or control characters"),
        ("a\x00b", True, "Remove the NUL character"),
        ("bell\x07", True, "Remove the control characters"),
        ("C1 \x85 control", True, "Remove the control characters"),
        ("lone \ud800 surrogate", True, "unpaired UTF-16 surrogate"),
        ("snow ☃ and 🙂 are fine", False, None),
    ],
)
def test_text_problem_refuses_what_cannot_be_stored(value, multiline, expected):
    problem = text_problem(value, multiline=multiline)
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


def test_text_length_is_counted_in_characters_up_to_the_limit_inclusive():
    assert text_problem("é" * 200, max_len=200) is None
    assert text_problem("é" * 201, max_len=200) == "Keep it to 200 characters (it has 201)."


def test_domain_text_helpers_use_the_cleaner_and_the_kind_limits():
    assert required_text("  Sprint 5 ", max_len=80, empty="Enter a name.") == ("Sprint 5", None)
    assert required_text("   ", max_len=80, empty="Enter a name.") == (None, "Enter a name.")
    assert required_text("a\x00", max_len=80, empty="x")[1].startswith("Remove the NUL")
    assert text_value("", "description") == (None, None)
    assert text_value(None, "description") == (None, None)
    assert text_value(42, "description") == (None, "Enter text.")
    assert text_value("x" * 20_000, "description") == ("x" * 20_000, None)
    assert text_value("x" * 20_001, "description") == (
        None,
        "Keep it to 20,000 characters (it has 20,001).",
    )
    # "short" text is one line; "long" text may hold line breaks.
    assert text_value("a\nb", "short")[1].startswith("Remove the line breaks")
    assert text_value("a\nb", "long") == ("a\nb", None)


@pytest.mark.parametrize(
    ("day", "ok"),
    [
        (date(2000, 1, 1), True),
        (date(2099, 12, 31), True),
        (date(1999, 12, 31), False),
        (date(2100, 1, 1), False),
        (date(9999, 12, 31), False),
        (date(1, 1, 1), False),
    ],
)
def test_the_date_window_is_2000_to_2099(day, ok):
    assert (date_problem(day) is None) is ok
    assert (date_value(day.isoformat())[1] is None) is ok


def test_date_value_says_what_is_wrong():
    assert date_value("") == (None, "Enter a date as YYYY-MM-DD.")
    assert date_value("", required=False) == (None, None)
    assert date_value("2026-13-45") == (None, "Enter a date as YYYY-MM-DD.")
    assert date_value("9999-12-31") == (
        None,
        "Enter a date between 2000-01-01 and 2099-12-31.",
    )
    assert date_value(" 2026-03-02 ") == (date(2026, 3, 2), None)


def test_timestamps_outside_the_window_and_overflowing_offsets():
    assert datetime_problem(datetime(2026, 3, 2, tzinfo=UTC)) is None
    assert datetime_problem(datetime(1999, 12, 31, 23, 59, tzinfo=UTC)) is not None
    assert datetime_problem(datetime(2100, 1, 1, tzinfo=UTC)) is not None
    with pytest.raises(ValueError, match="outside the range"):
        parse_iso_datetime("0001-01-01T00:00:00+14:00")


def test_parse_json_reads_ordinary_documents_and_a_byte_order_mark():
    assert parse_json('{"title": "Gold labels", "points": [1, 2.5, null, true]}') == {
        "title": "Gold labels",
        "points": [1, 2.5, None, True],
    }
    assert parse_json(b'\xef\xbb\xbf{"a": "\\u2603"}') == {"a": "☃"}


def test_parse_json_refuses_deep_nesting_without_recursing():
    at_limit = "[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH
    assert JSON_MAX_DEPTH == 32
    assert parse_json(at_limit) is not None
    with pytest.raises(JSONInputError) as refused:
        parse_json("[" * 100_000)
    assert refused.value.syntax
    assert refused.value.message == "The document is nested more than 32 levels deep."
    # Brackets inside strings are text, not nesting.
    assert parse_json('{"t": "' + "[" * 100 + '"}') == {"t": "[" * 100}


@pytest.mark.parametrize(
    ("document", "path", "syntax", "fragment"),
    [
        ('{"a": 1, "a": 2}', "$", False, "The key 'a' appears twice"),
        ('{"s": [{"x": 1}, {"y": 1, "y": 2}]}', "$.s[1]", False, "The key 'y' appears twice"),
        ('{"n": ' + "9" * 5000 + "}", "$", True, "Not valid JSON: a number in it is too long"),
        ('{"title": "\\ud800"}', "$.title", False, "unpaired UTF-16 surrogate"),
        ('{"stories": [{"t": "ok"}, {"t": "a\\u0000b"}]}', "$.stories[1].t", False, "NUL"),
        ('{"a\\u0000": 1}', "$[?]", False, "NUL"),
        ('{"x": NaN}', "$", True, "NaN is not a JSON number"),
        ('{"x": Infinity}', "$", True, "Infinity is not a JSON number"),
        ('{"x": ', "$", True, "Not valid JSON"),
        (
            '{"title": "open',
            "$",
            True,
            "Not valid JSON: Unterminated string starting at line 1, column 11.",
        ),
        ('{"t": "a\tb"}', "$", True, "Not valid JSON: Invalid control character at line 1, col"),
        (b"\xff\xfe{}", "$", True, "not UTF-8"),
    ],
)
def test_parse_json_says_what_and_where(document, path, syntax, fragment):
    with pytest.raises(JSONInputError) as refused:
        parse_json(document)
    assert refused.value.path == path
    assert refused.value.syntax is syntax
    assert fragment in refused.value.message


def test_a_json_problem_names_its_top_level_field():
    with pytest.raises(JSONInputError) as refused:
        parse_json('{"stories": [{"t": "a\\u0000b"}]}')
    assert refused.value.field == "stories"
