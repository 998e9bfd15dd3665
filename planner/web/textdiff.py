"""Readable word-level differences between two versions of a story's text, as escaped HTML
(<del> for what was removed, <ins> for what was added), for the story's history."""

from __future__ import annotations

import difflib
import re

from markupsafe import Markup, escape

# Words and the whitespace between them, so the text comes back exactly as it was written.
_TOKENS = re.compile(r"\s+|[^\s]+")
# Unchanged text longer than this many tokens is shortened to its ends around an ellipsis.
CONTEXT = 12


def _tokens(text: str | None) -> list[str]:
    return _TOKENS.findall((text or "").replace("\r\n", "\n"))


def _kept(tokens: list[str], *, first: bool, last: bool) -> str:
    """Unchanged tokens, shortened in the middle when long (not at the start or the end)."""
    if len(tokens) <= 2 * CONTEXT + 1:
        return str(escape("".join(tokens)))
    head = [] if first else tokens[:CONTEXT]
    tail = [] if last else tokens[-CONTEXT:]
    return f'{escape("".join(head))}<span class="diff-gap">…</span>{escape("".join(tail))}'


# Matching costs up to the product of both sides' lengths: beyond this the changed middle of a
# long text is shown as removed and added as a whole (it was rewritten anyway).
MATCH_BUDGET = 1_000_000


def _opcodes(before: list[str], after: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes, with the common start and end taken off first (a one-word edit of a
    long description costs its length, not its square) and a budget on what is left."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while (
        end < min(len(before), len(after)) - start
        and before[len(before) - 1 - end] == after[len(after) - 1 - end]
    ):
        end += 1
    a, b = before[start : len(before) - end], after[start : len(after) - end]
    codes: list[tuple[str, int, int, int, int]] = []
    if start:
        codes.append(("equal", 0, start, 0, start))
    if a or b:
        if len(a) * len(b) > MATCH_BUDGET:
            middle = [("replace", 0, len(a), 0, len(b))]
        else:
            middle = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
        codes.extend(
            (tag, i1 + start, i2 + start, j1 + start, j2 + start) for tag, i1, i2, j1, j2 in middle
        )
    if end:
        codes.append(("equal", len(before) - end, len(before), len(after) - end, len(after)))
    return codes


def word_diff(old: str | None, new: str | None) -> Markup:
    """Return the change from `old` to `new` word by word, HTML-escaped, with <del> and <ins>."""
    before, after = _tokens(old), _tokens(new)
    # (removed, added) for a change, or (kept tokens, None) for unchanged text.
    chunks: list[tuple[list[str], list[str] | None]] = []
    for tag, i1, i2, j1, j2 in _opcodes(before, after):
        if tag == "equal":
            chunks.append((before[i1:i2], None))
            continue
        removed, added = before[i1:i2], after[j1:j2]
        # A lone space between two changes reads better as part of one change.
        if (
            len(chunks) >= 2
            and chunks[-1][1] is None
            and "".join(chunks[-1][0]).isspace()
            and chunks[-2][1] is not None
        ):
            space = chunks.pop()[0]
            last_removed, last_added = chunks.pop()
            removed = last_removed + space + removed
            added = last_added + space + added  # type: ignore[operator]
        chunks.append((removed, added))
    parts: list[str] = []
    for index, (tokens, added) in enumerate(chunks):
        if added is None:
            parts.append(_kept(tokens, first=index == 0, last=index == len(chunks) - 1))
            continue
        if "".join(tokens).strip():
            parts.append(f"<del>{escape(''.join(tokens))}</del>")
        if "".join(added).strip():
            parts.append(f"<ins>{escape(''.join(added))}</ins>")
        elif not "".join(tokens).strip():
            parts.append(str(escape("".join(added or tokens))))
    return Markup("".join(parts))


def short_change(old: str | None, new: str | None) -> Markup:
    """Return a one-line change as "<del>old</del> → <ins>new</ins>", escaped; none as "–"."""
    was = Markup("<del>{}</del>").format(old) if old else Markup('<span class="faint">–</span>')
    now = Markup("<ins>{}</ins>").format(new) if new else Markup('<span class="faint">–</span>')
    return Markup("{} → {}").format(was, now)
