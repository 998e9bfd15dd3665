"""What planner accepts from outside, decided once for forms, the API, imports and the CLI.

- one text cleaner (`text_problem`): no NUL or other control characters (tabs and line breaks
  only in multi-line text), no unpaired UTF-16 surrogates, and a documented maximum length per
  kind of field (`TEXT_LIMITS`);
- one date window (`DATE_MIN`..`DATE_MAX`, `date_problem`, `datetime_problem`) and a cap on a
  sprint's length (`SPRINT_MAX_DAYS`);
- one JSON reader (`parse_json`) that refuses documents nested deeper than `JSON_MAX_DEPTH`,
  duplicate keys and text the cleaner refuses, each with the JSON path where it was found.

Pure: no Flask, no SQL. The limits are documented in docs/rules.md ("Limits").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

# --- text -------------------------------------------------------------------------------------

# The most characters each kind of free text may hold. Names and titles are one line.
TEXT_LIMITS: dict[str, int] = {
    "title": 200,  # story, epic, risk titles
    "name": 120,  # project, sprint, milestone, stage and person names, share-link labels
    "description": 20_000,  # story, epic, milestone, risk and project descriptions
    "long": 5_000,  # hypothesis, result, mitigation
    "goal": 1_000,  # a sprint's goal
    "note": 2_000,  # the reason given with a forecast
    "comment": 10_000,  # a comment on a story
    "short": 200,  # metric, target, and other one-line values
}

# C0 controls except tab, line feed and carriage return, plus DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool = True, max_len: int | None = None) -> str | None:
    """Return why `value` cannot be stored as text, or None when it can.

    Refused: NUL and other control characters (multi-line text may hold tabs and line breaks),
    unpaired surrogates (they are not characters and cannot be written as UTF-8), and text longer
    than `max_len` characters.
    """
    if "\x00" in value:
        return "Remove the NUL character (\\0): it cannot be stored in text."
    if _SURROGATE.search(value):
        return "Remove the invalid character (an unpaired UTF-16 surrogate)."
    if (_CONTROL if multiline else _LINE_CONTROL).search(value):
        what = "control characters" if multiline else "line breaks or control characters"
        return f"Remove the {what}: this field is plain {'text' if multiline else 'one line'}."
    if max_len is not None and len(value) > max_len:
        return f"Keep it to {max_len:,} characters (it has {len(value):,})."
    return None


def storable(value: str) -> bool:
    """Tell whether text could be stored at all (no NUL, no unpaired surrogate)."""
    return "\x00" not in value and not _SURROGATE.search(value)


# --- dates ------------------------------------------------------------------------------------

DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2099, 12, 31)
DATETIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
DATETIME_MAX = datetime(2100, 1, 1, tzinfo=UTC)
SPRINT_MAX_DAYS = 56  # eight weeks from the first day to the last, both included


def date_problem(day: date) -> str | None:
    """Return why a user-entered date is outside the window planner works in, or None."""
    if not DATE_MIN <= day <= DATE_MAX:
        return f"Enter a date between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."
    return None


def datetime_problem(moment: datetime) -> str | None:
    """Return why an aware timestamp is outside the window planner works in, or None."""
    if not DATETIME_MIN <= moment < DATETIME_MAX:
        return (
            f"Give a moment between {DATETIME_MIN.date().isoformat()} and "
            f"{DATE_MAX.isoformat()} (UTC)."
        )
    return None


# --- JSON -------------------------------------------------------------------------------------

JSON_MAX_DEPTH = 32


class JSONInputError(ValueError):
    """A JSON document planner refuses. `path` says where ($ is the whole document); `syntax` is
    True when it is not JSON at all (or too deep to read), False when it is JSON holding
    something planner cannot accept (a duplicate key, a NUL, an unpaired surrogate)."""

    def __init__(self, message: str, path: str = "$", *, syntax: bool = False) -> None:
        super().__init__(f"{path}: {message}" if path != "$" else message)
        self.message = message
        self.path = path
        self.syntax = syntax

    @property
    def field(self) -> str:
        """The top-level field the problem is in ("title" for $.title[2]), or "" for $."""
        match = re.match(r"^\$\.([^.\[]+)", self.path)
        return match.group(1) if match else ""


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _Pairs(list):
    """An object as its list of (key, value) pairs, duplicates kept (for finding them)."""


def _duplicate_path(text: str) -> str:
    """The path of the first object, in document order, that says a key twice."""
    try:
        document = json.loads(text, object_pairs_hook=_Pairs)
    except ValueError:  # a number too long, after the duplicate
        return "$"
    stack: list[tuple[str, Any]] = [("$", document)]
    while stack:
        here, item = stack.pop(0)
        if isinstance(item, _Pairs):
            keys = [key for key, _ in item]
            if len(set(keys)) != len(keys):
                return here
            stack[:0] = [
                (_key_path(here, key) if storable(key) else f"{here}[?]", child)
                for key, child in item
            ]
        elif isinstance(item, list):
            stack[:0] = [(f"{here}[{index}]", child) for index, child in enumerate(item)]
    return "$"


def _no_constant(name: str) -> Any:
    raise JSONInputError(f"{name} is not a JSON number; send a number or null.", syntax=True)


def _depth_before_parsing(text: str) -> int:
    """The deepest nesting of [ and { outside strings, counted without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > JSON_MAX_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f"{path}[{key!r}]"


def _walk(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Yield (path, text) for every string in a parsed document, keys included."""
    stack = [(path, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, str):
            yield here, item
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = _key_path(here, key) if storable(key) else f"{here}[?]"
                yield child_path, key
                stack.append((child_path, child))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((f"{here}[{index}]", child))


def parse_json(data: str | bytes) -> Any:
    """Read a JSON document the way every entry point of planner reads one, or raise
    JSONInputError saying what is wrong and where."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JSONInputError(
                f"The document is not UTF-8 (byte {exc.start}).", syntax=True
            ) from None
    else:
        text = data[1:] if data.startswith("\ufeff") else data
    if _depth_before_parsing(text) > JSON_MAX_DEPTH:
        raise JSONInputError(
            f"The document is nested more than {JSON_MAX_DEPTH} levels deep.", syntax=True
        )
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as exc:
        raise JSONInputError(
            f"The key {exc.key!r:.60} appears twice in one object; say each key once.",
            _duplicate_path(text),
        ) from None
    except json.JSONDecodeError as exc:
        raise JSONInputError(
            # Python's "Unterminated string starting at" names its place itself.
            f"Not valid JSON: {exc.msg.removesuffix(' at')} at line {exc.lineno}, "
            f"column {exc.colno}.",
            syntax=True,
        ) from None
    except JSONInputError:
        raise
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise JSONInputError(
            "Not valid JSON: a number in it is too long to read.", syntax=True
        ) from None
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise JSONInputError("The document is nested too deeply.", syntax=True) from None
    for path, text_value in _walk(document):
        if not storable(text_value):
            raise JSONInputError(text_problem(text_value) or "Invalid text.", path)
    return document
