"""Jira wiki markup to CommonMark, for descriptions and comments of a Jira CSV export.

Converts: headings (`h1.`-`h6.`), `*bold*`, `_italic_`, `-strike-`, `{{monospace}}`, `{code}` and
`{noformat}` blocks (their insides untouched), `{quote}` and `bq.`, links `[text|url]` and `[url]`,
mentions `[~name]`, `*`/`#` lists at any depth, tables, `\\\\` line breaks, `----` rules, and drops
`{color}` and `{panel}` markers. Text already written in Markdown (Jira Cloud's new editor) passes
through unchanged. Never raises.
"""

from __future__ import annotations

import re

_WIKI_SIGNS = re.compile(
    r"(?m)^h[1-6]\.\s|\{code|\{noformat|\{quote\}|\[[^\]\n]*\|[^\]\n]*\]|^\|\||\{\{|^bq\.\s"
    r"|^[*#]+\s|\{color|\{panel"
)
_HEADING = re.compile(r"^h([1-6])\.\s*(.*)$")
_LIST = re.compile(r"^([*#-]+)\s+(.*)$")
_FENCE_OPEN = re.compile(r"^\s*\{(code|noformat)(?::([^}]*))?\}(.*)$")
_LINK = re.compile(r"\[([^\]|\n]+)\|([^\]\n]+)\]")
_BARE_LINK = re.compile(r"\[((?:https?|mailto|ftp):[^\]\s]+)\]")
_MENTION = re.compile(r"\[~(?:accountid:)?([^\]\n]+)\]")
_MONO = re.compile(r"\{\{(.+?)\}\}")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w-])-(?=[^\s\d-])([^-\n]+?)(?<=\S)-(?![\w-])")
_INSERT = re.compile(r"(?<![\w+])\+(?=\S)([^+\n]+?)(?<=\S)\+(?![\w+])")
_IMAGE = re.compile(r"!([^!\s|]+\.\w{2,5})(?:\|[^!]*)?!")
_COLOR = re.compile(r"\{color(?::[^}]*)?\}")
_PANEL = re.compile(r"\{panel(?::[^}]*)?\}")


def wiki_to_markdown(text: str) -> str:
    """Return `text` (Jira wiki markup, or Markdown already) as CommonMark."""
    try:
        return _convert(text)
    except Exception:  # noqa: BLE001 - a description is never worth a failed import
        return text.replace("\r\n", "\n").strip()


def _convert(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not _WIKI_SIGNS.search(text):
        return "\n".join(line.rstrip() for line in text.split("\n")).strip()
    out: list[str] = []
    fence: str | None = None
    in_quote = False
    table_header_done = False
    previous_kind = ""
    for raw in text.split("\n"):
        if fence is not None:
            end = raw.find("{" + fence + "}")
            if end >= 0:
                if raw[:end].strip():
                    out.append(raw[:end].rstrip())
                out.append("```")
                fence = None
                rest = raw[end + len(fence or "") + 2 :].strip() if False else ""
                if rest:
                    out.append(rest)
            else:
                out.append(raw.rstrip())
            continue
        line = raw.rstrip()
        if match := _FENCE_OPEN.match(line):
            kind, params, rest = match.groups()
            language = ""
            if kind == "code" and params:
                for part in params.split("|"):
                    key, _, value = part.partition("=")
                    if not value and key and "=" not in part:
                        language = key.strip()
                    elif key.strip() == "language":
                        language = value.strip()
            _blank(out, previous_kind, "fence")
            out.append("```" + language)
            close = rest.find("{" + kind + "}")
            if close >= 0:
                if rest[:close].strip():
                    out.append(rest[:close])
                out.append("```")
            else:
                if rest.strip():
                    out.append(rest)
                fence = kind
            previous_kind = "fence"
            continue
        if line.strip() == "{quote}":
            in_quote = not in_quote
            previous_kind = "quote"
            continue
        if line.startswith("bq. "):
            out.append("> " + _inline(line[4:]))
            previous_kind = "quote"
            continue
        if match := _HEADING.match(line):
            _blank(out, previous_kind, "heading")
            out.append("#" * int(match.group(1)) + " " + _inline(match.group(2)).strip())
            out.append("")
            previous_kind = "heading"
            continue
        if line.strip() == "----":
            _blank(out, previous_kind, "rule")
            out.append("---")
            previous_kind = "rule"
            continue
        if line.startswith("||") or (line.startswith("|") and line.endswith("|")):
            cells = [c.strip() for c in re.split(r"\|\|?", line.strip("|"))]
            _blank(out, previous_kind, "table")
            out.append("| " + " | ".join(_inline(c) for c in cells) + " |")
            if line.startswith("||") and not table_header_done:
                out.append("|" + " --- |" * len(cells))
                table_header_done = True
            previous_kind = "table"
            continue
        table_header_done = False
        if (match := _LIST.match(line)) and not line.startswith("---"):
            marks, body = match.groups()
            depth = len(marks) - 1
            numbered = marks[-1] == "#"
            _blank(out, previous_kind, "list")
            out.append("   " * depth + ("1. " if numbered else "- ") + _inline(body))
            previous_kind = "list"
            continue
        if not line.strip():
            out.append("")
            previous_kind = ""
            continue
        _blank(out, previous_kind, "text")
        converted = _inline(line).replace("\\\\", "  \n")
        out.append(("> " + converted) if in_quote else converted)
        previous_kind = "text"
    if fence is not None:
        out.append("```")
    result = "\n".join(out)
    result = re.sub(r"\n{3,}", "\n\n", result)
    return result.strip()


def _blank(out: list[str], previous: str, current: str) -> None:
    """A blank line between blocks of different kinds, as CommonMark needs."""
    if previous and previous != current and out and out[-1] != "":
        out.append("")


def _inline(text: str) -> str:
    codes: list[str] = []

    def keep(match: re.Match) -> str:
        codes.append("`" + match.group(1) + "`")
        return f"\x00{len(codes) - 1}\x00"

    text = _MONO.sub(keep, text)
    text = _IMAGE.sub(lambda m: f"(image: {m.group(1)})", text)
    text = _MENTION.sub(lambda m: "@" + m.group(1), text)
    links: list[str] = []

    def link(match: re.Match) -> str:
        links.append(f"[{match.group(1).strip()}]({match.group(2).strip()})")
        return f"\x01{len(links) - 1}\x01"

    text = _LINK.sub(link, text)
    text = _BARE_LINK.sub(lambda m: f"<{m.group(1)}>", text)
    text = _COLOR.sub("", text)
    text = _PANEL.sub("", text)
    text = _BOLD.sub(r"**\1**", text)
    text = _ITALIC.sub(r"*\1*", text)
    text = _STRIKE.sub(r"~~\1~~", text)
    text = _INSERT.sub(r"\1", text)
    text = re.sub("\x01(\\d+)\x01", lambda m: links[int(m.group(1))], text)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)
