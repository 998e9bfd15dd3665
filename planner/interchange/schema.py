"""The interchange document's structure as a JSON Schema (draft 2020-12), and its problems in
planner's words.

`build_schema()` states the shape: which fields exist and which are required, their JSON types,
the closed vocabularies (statuses, roles, ...), number ranges, key patterns and text lengths. It is
built from the same constants the domain uses (`planner.vocab`, `planner.inputs`), and published as
`docs/interchange.schema.json` so that other tools can check a file before sending it; a test keeps
the published copy equal to this one.

`shape_problems()` runs the `jsonschema` validator and turns each error into a `Problem` with its
JSON path and a plain reason. What a schema cannot say (references between parts, history chains,
calendar dates that exist, text that cannot be stored) is `validate.py`'s semantic pass.

Two keywords of our own ride along, which JSON Schema treats as annotations:
- `x-what` names an enumeration in messages ("unknown status 'x' (one of ...)");
- `x-problem` is the whole message for any failure of that node; `{value}` stands for the value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from planner.inputs import SPRINT_MAX_DAYS, TEXT_LIMITS
from planner.interchange import FORMAT, VERSION, Problem
from planner.vocab import (
    ACCESS_LEVELS,
    DEFAULT_STAGES,
    OUTCOMES,
    POINTS_SCALE,
    RISK_CATEGORIES,
    RISK_STATUSES,
    ROLES,
    SPRINT_STATES,
    STATUSES,
    STORY_TYPES,
    TRACKED_FIELDS,
)

SCHEMA_ID = "https://planner.invalid/schemas/interchange-v1.json"
PROJECT_KEY_PATTERN = "^[A-Z][A-Z0-9]{1,9}$"
STAGE_KEY_PATTERN = "^[a-z][a-z0-9_]{0,39}$"
EPIC_KEY_PATTERN = "^[A-Za-z0-9_-]{1,40}$"
STORY_KEY_PATTERN = "^[A-Z][A-Z0-9]{1,9}-[1-9][0-9]{0,8}$"

# --- building blocks ---------------------------------------------------------------------------


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }


def _text(kind: str, *, nullable: bool = False, max_len: int | None = None) -> dict:
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string"}
    schema["maxLength"] = max_len if max_len is not None else TEXT_LIMITS[kind]
    if not nullable:
        schema["pattern"] = "\\S"  # not empty once blanks are stripped
    return schema


def _enum(what: str, choices, *, nullable: bool = False) -> dict:
    values = list(choices) + ([None] if nullable else [])
    return {"enum": values, "x-what": what}


def _integer(low: int, high: int) -> dict:
    return {"type": "integer", "minimum": low, "maximum": high}


def _list(items: dict) -> dict:
    return {"type": ["array", "null"], "items": items}


# What the source said at the last import, as JSON text (planner/interchange/jira_import.py).
SOURCE_FIELDS_MAX = 200_000
_DATE = {"type": "string", "format": "date"}
_DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_TIMESTAMP_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_EMAIL = {"type": "string", "format": "email"}
_EMAIL_OR_NULL = {"type": ["string", "null"], "format": "email"}
_NAME_OR_NULL = {"type": ["string", "null"]}
_BOOLEAN = {"type": "boolean"}
_WEEKDAYS = "expected a non-empty list of distinct ISO weekdays 1-7 (1 = Monday)"
_POINTS = {
    "enum": [*POINTS_SCALE, None],
    "x-problem": "{value} is not on the points scale "
    + ", ".join(map(str, POINTS_SCALE))
    + " (or null)",
}


def _event() -> dict:
    """A history event; what its `from` and `to` may hold depends on its `field`."""
    values = {
        "status": _enum("status", STATUSES),
        "points": _POINTS,
        "sprint": _NAME_OR_NULL,
        "stage": _NAME_OR_NULL,
        "role": _enum("functional role", ROLES, nullable=True),
        "assignee": _EMAIL_OR_NULL,
    }
    event = _object(
        {"at": _TIMESTAMP, "field": _enum("field", TRACKED_FIELDS), "from": {}, "to": {}},
        {"by": _EMAIL_OR_NULL},
    )
    event["allOf"] = [
        {
            "if": {"properties": {"field": {"const": name}}, "required": ["field"]},
            "then": {"properties": {"from": value, "to": value}},
        }
        for name, value in values.items()
    ]
    return event


def build_schema() -> dict:
    """The JSON Schema of an interchange document, version 1."""
    stage = {
        "if": {"type": "string"},
        "then": {
            "enum": list(DEFAULT_STAGES),
            "x-problem": "{value} is not a default stage; write a custom stage as "
            '{"key": ..., "name": ...}',
        },
        "else": _object(
            {
                "key": {
                    "type": "string",
                    "pattern": STAGE_KEY_PATTERN,
                    "x-problem": "{value} is not a stage key (lowercase, digits, _)",
                },
                "name": _text("name", max_len=80),
            },
            {"archived": _BOOLEAN},
        ),
    }
    project = _object(
        {
            "key": {
                "type": "string",
                "pattern": PROJECT_KEY_PATTERN,
                "x-problem": "{value} is not a project key (2-10 capital letters or digits)",
            },
            "name": _text("name"),
            "timezone": {
                "type": "string",
                "x-problem": "{value} is not a known IANA timezone (like Europe/Berlin)",
            },
            "working_days": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {**_integer(1, 7), "x-problem": _WEEKDAYS, "x-at": "list"},
                "x-problem": _WEEKDAYS,
            },
        },
        {
            "description": _text("description", nullable=True),
            "holidays": _list(_DATE),
            "sprint_length_days": _integer(1, SPRINT_MAX_DAYS),
            "slip_tolerance_days": _integer(0, 365),
            "created_at": _TIMESTAMP_OR_NULL,
            "stages": _list(stage),
        },
    )
    member = _object(
        {
            "email": _EMAIL,
            "name": _text("name"),
            "access": _enum("access level", ACCESS_LEVELS),
        },
        {"roles": _list(_enum("functional role", ROLES))},
    )
    epic = _object(
        {
            "key": {
                "type": "string",
                "pattern": EPIC_KEY_PATTERN,
                "x-problem": "{value} is not an epic key (letters, digits, _ and -)",
            },
            "title": _text("title"),
        },
        {
            "description": _text("description", nullable=True),
            "stage": _NAME_OR_NULL,
            "milestone": _NAME_OR_NULL,
            "archived": _BOOLEAN,
            "imported_from": _text("short", nullable=True, max_len=100),
        },
    )
    sprint = _object(
        {
            "name": _text("name", max_len=80),
            "start": _DATE,
            "end": _DATE,
            "state": _enum("sprint state", SPRINT_STATES),
        },
        {
            "goal": _text("goal", nullable=True),
            "started_at": _TIMESTAMP_OR_NULL,
            "closed_at": _TIMESTAMP_OR_NULL,
            "imported_at": _TIMESTAMP_OR_NULL,
            "imported_from": _text("name", nullable=True, max_len=80),
            "capacity": _list(_object({"member": _EMAIL, "points": _integer(0, 1000)})),
        },
    )
    event = _event()
    comment = _object(
        {"at": _TIMESTAMP, "body": _text("comment")},
        {"author": _EMAIL_OR_NULL},
    )
    story = _object(
        {
            "key": {
                "type": "string",
                "pattern": STORY_KEY_PATTERN,
                "x-problem": "{value} is not a story key (like FRAUD-42)",
            },
            "title": _text("title"),
            "type": _enum("story type", STORY_TYPES),
            "status": _enum("status", STATUSES),
            "created_at": _TIMESTAMP,
        },
        {
            "description": _text("description", nullable=True),
            "stage": _NAME_OR_NULL,
            "role": _enum("functional role", ROLES, nullable=True),
            "points": _POINTS,
            "epic": _NAME_OR_NULL,
            "sprint": _NAME_OR_NULL,
            "assignee": _EMAIL_OR_NULL,
            "rank": _integer(-(2**31), 2**31 - 1),
            "blocked": _BOOLEAN,
            "hypothesis": _text("long", nullable=True),
            "metric": _text("short", nullable=True),
            "target": _text("short", nullable=True),
            "outcome": _enum("outcome", OUTCOMES, nullable=True),
            "result": _text("long", nullable=True),
            "history": _list(event),
            "comments": _list(comment),
            "labels": _list(_text("short", max_len=60)),
            "imported_from": _text("short", nullable=True, max_len=100),
            "imported_at": _TIMESTAMP_OR_NULL,
            "source_updated": _TIMESTAMP_OR_NULL,
            "source_fields": _text("description", nullable=True, max_len=SOURCE_FIELDS_MAX),
        },
    )
    forecast = _object(
        {"reported_on": _DATE, "forecast": _DATE},
        {"note": _text("note", nullable=True), "by": _EMAIL_OR_NULL},
    )
    milestone = _object(
        {"name": _text("name"), "baseline": _DATE},
        {
            "description": _text("description", nullable=True),
            "stage": _NAME_OR_NULL,
            "achieved": _DATE_OR_NULL,
            "forecasts": _list(forecast),
        },
    )
    risk = _object(
        {
            "title": _text("title"),
            "category": _enum("risk category", RISK_CATEGORIES),
            "likelihood": _integer(1, 5),
            "impact": _integer(1, 5),
            "status": _enum("risk status", RISK_STATUSES),
        },
        {
            "description": _text("description", nullable=True),
            "owner": _EMAIL_OR_NULL,
            "mitigation": _text("long", nullable=True),
            "stories": _list({"type": "string"}),
            "milestone": _NAME_OR_NULL,
            "review_on": _DATE_OR_NULL,
        },
    )
    document = _object(
        {
            "format": {"const": FORMAT, "x-problem": f"expected {FORMAT!r}, found {{value}}"},
            "version": {
                "type": "integer",
                "const": VERSION,
                "x-problem": f"this planner reads version {VERSION}, found {{value}}",
            },
            "project": project,
            "members": _list(member),
        },
        {
            "epics": _list(epic),
            "sprints": _list(sprint),
            "stories": _list(story),
            "milestones": _list(milestone),
            "risks": _list(risk),
        },
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "planner interchange document, version 1",
        "description": "One whole project: see docs/export-format.md. Rules a schema cannot "
        "state (references, history chains, real calendar dates) are in that document too.",
        **document,
    }


def schema_text() -> str:
    """The schema as published in docs/interchange.schema.json."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


# --- checking -----------------------------------------------------------------------------------


def _pattern(validator, pattern: str, instance: Any, schema: dict):
    """`pattern` with ECMA 262's meaning of `$` (the end of the text), which Python's `$` is not:
    it also matches before a final line break, so 'AB\\n' would pass as a project key."""
    if validator.is_type(instance, "string"):
        python = pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern
        if not re.search(python, instance):
            yield ValidationError("pattern")


def _same(a: Any, b: Any) -> bool:
    """JSON equality as planner reads numbers: true is not 1, and 3.0 is not 3 (a whole number is
    written as one, as for the "integer" type)."""
    return (
        a == b
        and isinstance(a, bool) == isinstance(b, bool)
        and isinstance(a, float) == isinstance(b, float)
    )


def _unique(items: list) -> bool:
    return not any(_same(a, b) for i, a in enumerate(items) for b in items[i + 1 :])


def _keyword(name: str, holds):
    """A keyword whose error carries no copy of the value: jsonschema's own messages quote it
    with repr(), which is slow for a 50 MB string and fails for a 5,000-digit number. Our
    problems are written by `_problems`, from the value and the schema."""

    def check(validator, expected: Any, instance: Any, schema: dict):
        if not holds(validator, expected, instance):
            yield ValidationError(name)

    return check


def _is(validator, instance: Any, kind: str) -> bool:
    return validator.is_type(instance, kind)


# A whole number is written as one: 10, not 10.0, as the API asks ("Send a whole number").
# Draft 2020-12 counts 10.0 as an integer; planner's domain does not, so the check says it here,
# at the value's path, rather than a refusal later that names the range.
_whole_numbers = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, x: isinstance(x, int) and not isinstance(x, bool)
)

_Validator = validators.extend(
    Draft202012Validator,
    type_checker=_whole_numbers,
    validators={
        "pattern": _pattern,
        "type": _keyword(
            "type",
            lambda v, kinds, x: any(
                _is(v, x, k) for k in ([kinds] if isinstance(kinds, str) else kinds)
            ),
        ),
        "enum": _keyword("enum", lambda v, choices, x: any(_same(x, c) for c in choices)),
        "const": _keyword("const", lambda v, value, x: _same(x, value)),
        "minimum": _keyword("minimum", lambda v, low, x: not _is(v, x, "number") or x >= low),
        "maximum": _keyword("maximum", lambda v, high, x: not _is(v, x, "number") or x <= high),
        "minItems": _keyword("minItems", lambda v, n, x: not _is(v, x, "array") or len(x) >= n),
        "maxLength": _keyword("maxLength", lambda v, n, x: not _is(v, x, "string") or len(x) <= n),
        "uniqueItems": _keyword(
            "uniqueItems", lambda v, on, x: not on or not _is(v, x, "array") or _unique(x)
        ),
    },
)


def _items(validator, items: Any, instance: Any, schema: dict):
    """`items` (no `prefixItems` in this schema) that skips the items `_valid` accepts: a file
    of 50,000 history events is mostly valid ones, which jsonschema would walk keyword by
    keyword. An item the fast check refuses is walked as before, so its problems are unchanged."""
    if not validator.is_type(instance, "array") or items is True:
        return
    valid = _valid(items)
    for index, item in enumerate(instance):
        if not valid(item):
            yield from validator.descend(item, items, path=index)


# The keywords' meanings without the fast path, which the tests hold the fast check to.
_PlainValidator = _Validator
_Validator = validators.extend(_PlainValidator, {"items": _items})


@cache
def _validator():
    schema = build_schema()
    _Validator.check_schema(schema)
    return _Validator(schema)


# --- a fast yes/no check of the same schema ------------------------------------------------
# jsonschema-rs (Rust) answers "valid or not" for a 50,000-event document in about 50 ms, where
# jsonschema takes seconds; jsonschema then writes the problems, only for documents that have
# some. Both read the schema as draft 2020-12 with JSON's equality (true is not 1), integers as
# draft 2020-12 defines them, and `$` as the end of the text (what `_pattern` gives jsonschema).
# tests/test_bulk_import.py holds the two to the same verdict on thousands of broken documents.

_BIGGEST = 2**53  # integers beyond it, and floats that are not finite, jsonschema-rs may misjudge


def _plain_numbers(value: Any) -> bool:
    """Whether every number in `value` is an integer within ±2**53 or a finite float."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int):
            if not -_BIGGEST <= item <= _BIGGEST:
                return False
        elif isinstance(item, float) and (not math.isfinite(item) or item.is_integer()):
            return False  # 10.0: an integer to jsonschema-rs, not to planner (_whole_numbers)
    return True


# Python's `\s` (for text) is str.isspace(); ECMA 262's, which jsonschema-rs follows, leaves out
# a few (U+001C..U+001F, U+0085). Patterns reach jsonschema-rs with Python's meaning spelled out;
# a pattern using any other class whose meaning differs between the two is not handed over.
_DIFFERING = re.compile(r"\\[sSdDwWbB]")


@cache
def _python_space() -> str:
    return "".join(c for c in map(chr, range(0x110000)) if c.isspace())


class _Unsupported(Exception):
    pass


def _for_rust(node: Any) -> Any:
    """The schema with each `pattern` spelled so that jsonschema-rs reads it as Python does."""
    if isinstance(node, dict):
        return {
            key: _rust_pattern(value)
            if key == "pattern" and isinstance(value, str)
            else _for_rust(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_for_rust(item) for item in node]
    return node


def _rust_pattern(pattern: str) -> str:
    spelled = pattern.replace("\\S", f"[^{_python_space()}]")
    if _DIFFERING.search(spelled):
        raise _Unsupported
    return spelled


# By id() of the schema node, which the entry keeps alive so the id is never reused.
_compiled: dict[int, tuple[Any, Callable[[Any], bool]]] = {}


def _valid(schema: Any) -> Callable[[Any], bool]:
    """A predicate telling exactly whether a value is valid against `schema` (a part of
    `build_schema()`), compiled once per schema node."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        try:
            is_valid = jsonschema_rs.validator_for(_for_rust(schema)).is_valid
        except _Unsupported:
            is_valid = None

        def valid(value: Any) -> bool:
            if is_valid is None or not _plain_numbers(value):
                return False  # jsonschema decides
            try:
                return is_valid(value)
            except (ValueError, TypeError, OverflowError):
                # What Rust cannot hold (a lone surrogate, say): jsonschema decides it.
                return False

        entry = _compiled[id(schema)] = (schema, valid)
    return entry[1]


def story_shape() -> Callable[[Any], bool]:
    """Whether one item of `stories` is valid against the schema. False may also mean "cannot
    tell quickly" (numbers jsonschema-rs may misjudge): the caller then checks the whole
    document."""
    return _valid(_validator().schema["properties"]["stories"]["items"])


def shape_problems(document: Any) -> list[Problem]:
    """Every way `document` departs from the schema, one problem per path, in document order."""
    if _valid(_validator().schema)(document):
        return []
    problems: dict[str, Problem] = {}
    for error in _validator().iter_errors(document):
        for problem in _problems(error):
            problems.setdefault(problem.path, problem)
    return sorted(problems.values(), key=document_order)


_PARTS = ("format", "version", "project", "members", "epics", "sprints", "stories", "milestones")


def document_order(problem: Problem) -> tuple:
    """Order problems as the document reads: its parts in their usual order, then $.stories[2]
    before $.stories[10]."""
    part = re.match(r"\$\.?([a-z]*)", problem.path).group(1)
    rank = _PARTS.index(part) if part in _PARTS else len(_PARTS)
    steps = re.split(r"\[(\d+)\]", problem.path)
    return rank, [int(step) if step.isdigit() else step for step in steps]


def _problems(error: ValidationError) -> list[Problem]:
    path = json_path(error.absolute_path)
    schema, value, keyword = error.schema, error.instance, error.validator
    if "x-problem" in schema and keyword not in ("required", "additionalProperties"):
        if schema.get("x-at") == "list":
            path = json_path(list(error.absolute_path)[:-1])
        return [Problem(path, schema["x-problem"].replace("{value}", shown(value)))]
    if keyword == "required":
        return [
            Problem(field_path(path, name), "missing (required)")
            for name in error.validator_value
            if name not in value
        ]
    if keyword == "additionalProperties":
        known = schema.get("properties", {})
        return [
            Problem(field_path(path, name), f"unknown field {shown(name)}")
            for name in value
            if name not in known
        ]
    if keyword == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value if choice is not None)
        what = schema.get("x-what", "value")
        return [Problem(path, f"unknown {what} {shown(value)} (one of {choices})")]
    if keyword == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if value is None and "string" in wanted:
            return [Problem(path, "must not be empty")]
        expected = " or ".join(_TYPE_WORDS[name] for name in wanted if name != "null")
        return [Problem(path, f"expected {expected}, found {kind(value)}")]
    if keyword in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        return [Problem(path, f"{shown(value)} is outside {low}..{high}")]
    if keyword == "maxLength":
        limit = error.validator_value
        return [Problem(path, f"Keep it to {limit:,} characters (it has {len(value):,}).")]
    if keyword == "pattern" and error.validator_value == "\\S":
        return [Problem(path, "must not be empty")]
    if keyword == "pattern":
        return [Problem(path, f"{shown(value)} is not in the expected form")]
    return [Problem(path, error.message)]


_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


# --- how values and paths are written in problems ------------------------------------------------


def json_path(parts) -> str:
    path = "$"
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else field_path(path, part)
    return path


def field_path(path: str, name: Any) -> str:
    """The path of a field of the object at `path`, its name cut short when it is no identifier."""
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,59}", name):
        return f"{path}.{name}"
    return f"{path}[{shown(name)}]"


def shown(value: Any, width: int = 60) -> str:
    """Quote a value from the document in a problem, cut to `width` characters: a 50 MB string
    must not become a 50 MB message."""
    if isinstance(value, list | dict):
        return kind(value)
    if isinstance(value, str) and len(value) > width:
        return f"{value[:width]!r}... ({len(value):,} characters)"
    try:
        text = repr(value)
    except ValueError:  # an integer too long to write out in decimal
        return "a number too long to show"
    return text if len(text) <= width else f"{text[:width]}..."


def kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
