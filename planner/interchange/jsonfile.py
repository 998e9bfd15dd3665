"""Read a planner-export file a part at a time: its top-level entries, and the items of its
`stories` list one by one, so that a file of 50,000 history events is never in memory at once.

The values are parsed by the same decoder as `planner.inputs.parse_json` (Python's json, with
duplicate keys and NaN/Infinity refused), and the reader's other rules are applied to each part:
the nesting depth counted from the top of the document, NUL characters and unpaired surrogates
in any text or key, UTF-8 with an optional byte order mark, nothing after the document. Whatever
the reader refuses or is unsure of (not an object at the top, a syntax error, more than
`limit` bytes) raises ReadWhole: the caller then reads the file whole with `parse_json`, which
says what is wrong and where. So this reader accepts nothing `parse_json` refuses, and gives the
same values.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from planner.inputs import JSON_MAX_DEPTH, storable
from planner.interchange.validate import ReadWhole

READ_BYTES = 2**16
_BLANK = " \t\n\r"  # JSON's whitespace, as Python's json reads it


class _Refused(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Refused("a key appears twice")
    return value


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)


class Stories:
    """The items of the document's `stories` list, each parsed when it is reached. One pass:
    read them before asking the reader for the next entry (the reader skips what is left)."""

    def __init__(self, reader: JSONFile) -> None:
        self._items = self._read(reader)

    def __iter__(self) -> Iterator[Any]:
        return self._items

    @staticmethod
    def _read(reader: JSONFile) -> Iterator[Any]:
        if reader._next() == "]":
            reader.pos += 1
            return
        while True:
            yield reader._value(depth=2)
            sign = reader._next()
            reader.pos += 1
            if sign == "]":
                return
            if sign != ",":
                raise ReadWhole


class JSONFile:
    """One reading of a file. `entries()` yields (key, value) for each top-level entry in file
    order, the value of `stories` as `Stories` when it is a list; `digest` is the SHA-256 of the
    bytes read, to tell that a second reading read the same file."""

    def __init__(self, path: str | Path, limit: int) -> None:
        self.path = Path(path)
        self.limit = limit
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.size = 0
        self._digest = hashlib.sha256()
        self._decode = codecs.getincrementaldecoder("utf-8-sig")()
        self._stream = None

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()

    def entries(self) -> Iterator[tuple[str, Any]]:
        try:
            with self.path.open("rb") as self._stream:
                yield from self._entries()
        except OSError:
            raise ReadWhole from None  # reading it whole says why it cannot be read

    def _entries(self) -> Iterator[tuple[str, Any]]:
        if self._next() != "{":
            raise ReadWhole
        self.pos += 1
        seen: set[str] = set()
        if self._next() == "}":
            self.pos += 1
        else:
            while True:
                if self._next() != '"':
                    raise ReadWhole
                key = self._value(depth=1)
                if key in seen:
                    raise ReadWhole
                seen.add(key)
                if self._next() != ":":
                    raise ReadWhole
                self.pos += 1
                if key == "stories" and self._next() == "[":
                    self.pos += 1
                    stories = Stories(self)
                    yield key, stories
                    for _ in stories:  # what the caller did not read
                        pass
                else:
                    yield key, self._value(depth=1)
                sign = self._next()
                self.pos += 1
                if sign == "}":
                    break
                if sign != ",":
                    raise ReadWhole
        if self._next() != "" or not self.eof:
            raise ReadWhole  # something after the document

    def _next(self) -> str:
        """The next character that is not whitespace ("" at the end of the file), not taken."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _BLANK:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if self.eof:
                return ""
            self._more(READ_BYTES)

    def _value(self, depth: int) -> Any:
        """Parse the value after `pos`, inside `depth` open objects and lists."""
        self._next()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except _Refused:
                raise ReadWhole from None
            except (ValueError, RecursionError):
                # Cut short by the end of the buffer, or wrong: read more (as much again, so a
                # long value is parsed a bounded number of times) and try again.
                if self.eof:
                    raise ReadWhole from None
                self._more(max(READ_BYTES, len(self.buffer) - self.pos))
                continue
            if end == len(self.buffer) and not self.eof:
                # A number may go on in the bytes not read yet.
                self._more(READ_BYTES)
                continue
            self.pos = end
            if not _acceptable(value, depth):
                raise ReadWhole
            return value

    def _more(self, size: int) -> None:
        if self.pos:
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        data = self._stream.read(size)
        self.size += len(data)
        if self.size > self.limit:
            raise ReadWhole  # reading it whole says how large it is
        self._digest.update(data)
        try:
            self.buffer += self._decode.decode(data, final=not data)
        except UnicodeDecodeError:
            raise ReadWhole from None
        if not data:
            self.eof = True


def _acceptable(value: Any, depth: int) -> bool:
    """Whether `value`, inside `depth` open objects and lists, is nested no deeper than planner
    reads and holds only text that can be stored (keys included)."""
    stack = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if not storable(item):
                return False
        elif isinstance(item, dict):
            if level + 1 > JSON_MAX_DEPTH:
                return False
            for key, child in item.items():
                if not storable(key):
                    return False
                stack.append((child, level + 1))
        elif isinstance(item, list):
            if level + 1 > JSON_MAX_DEPTH:
                return False
            stack.extend((child, level + 1) for child in item)
    return True
