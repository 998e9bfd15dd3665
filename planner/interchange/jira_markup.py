"""Convert Jira wiki markup (Description and Comment cells of a Jira CSV export) to the
CommonMark planner renders (markdown-it-py "commonmark" preset, raw HTML off).

Converted: headings `h1.`..`h6.` -> `#`..`######`; `*bold*` -> `**bold**`; `_italic_` ->
`*italic*`; `-strike-` -> `~~strike~~` (between word boundaries only, so `re-train`, dates and
list dashes stay; commonmark shows the tildes as text); `+inserted+` -> its text; `{{mono}}` ->
a code span; `{code}`, `{code:python}`, `{code:title=x|language=java}`, `{noformat}` -> fenced
blocks with their content untouched; `{quote}` and `bq.` -> `>` lines; `[text|url]` ->
`[text](url)`, `[url]` -> `<url>`, `[~user]` / `[~accountid:id]` -> `@user` / `@id`, `[^file]`
-> `file`; `!a.png|thumbnail!` -> `(image: a.png)`; lists `*`, `-`, `#`, nested and mixed
(`##`, `#*`) -> `-` / `1.` items indented as CommonMark nests them; tables `||h||` / `|c|` ->
pipe rows, `| --- |` after a header row, set apart by blank lines (commonmark shows them as
text); `\\\\` -> a hard line break; `----` -> `---`; `{color:x}a{color}` -> `a`; `{panel}`
markers dropped. CRLF becomes LF; trailing whitespace is trimmed; no input raises.

Markdown already (Jira Cloud's new editor) stays as it is: a text with no wiki-only construct
(h1., {code}, {noformat}, {quote}, {{ }}, [x|y], ||, bq., [~user], nested/mixed or consecutive
`#` list markers) but a Markdown one (`**`, `__`, fences, code spans, `[a](b)`, `# `, `>`) only
gets its bare-url links, images, strike and inserted text converted; Markdown code fences and
code spans are never touched.
"""

from __future__ import annotations

import re

__all__ = ["wiki_to_markdown"]

_WIKI_SIGNS = re.compile(
    r"^[ \t]*(?:h[1-6]\.\s|bq\.\s|\|\||\*{2,}[ \t]|[*#]*(?:\*#|#\*)[*#]*[ \t]"
    r"|#+[ \t].*\n[ \t]*#+[ \t])|\{(?:code|noformat|quote|panel|color)[:}]"
    r"|\{\{(?:(?!\{\{|\}\}).)+\}\}|\[~[^\]\n]+\]|\[[^\[\]\n]*\|[^\[\]\n]*\]",
    re.M,
)
_MD_SIGNS = re.compile(r"\*\*\S|__\S|\]\(|`[^`\n]+`|^[ \t]*(?:```|~~~|#{1,6}[ \t]|>)", re.M)
_BLOCK = re.compile(
    r"\{(code|noformat)(?::([^}\n]*))?\}|^[ \t]{0,3}(`{3,}(?=[^`\n]*$)|~{3,})", re.M
)
_QUOTE = re.compile(r"\{quote\}")
_MACRO = re.compile(r"\{(?:color|panel)(?::[^}\n]*)?\}")
_HEADING = re.compile(r"h([1-6])\.(?:\s+(.*))?$")
_CLOSING_HASHES = re.compile(r"(?:^|(?<=\s))(#+)$")  # CommonMark would drop them from a heading
_BQ = re.compile(r"bq\.(?:\s+(.*))?$")
_HR = re.compile(r"-{4,}$")
_LIST = re.compile(r"([*#]+|-)\s+(.*)$")
_LITERAL = re.compile(r">|\+(?:\s|$)|\*$|=+$|-{1,3}$")  # Markdown would read these as blocks
_CELL = re.compile(r"\[[^\[\]\n]*\]|\{\{(?:(?!\{\{|\}\}).)*\}\}|\|\|?|[^|\[{]+|.")
_MONO = re.compile(r"\{\{((?:(?!\{\{|\}\}).)+)\}\}")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)")
_MD_LINK = re.compile(r"!?\[[^\[\]\n]*\]\([^)\n]*\)|<[A-Za-z][\w+.-]*:[^\s<>]*>")
_IMAGE = re.compile(
    r"!([^!|\s][^!|\n]*?\.(?:png|jpe?g|gif|bmp|svg|webp)|https?://[^\s!|]+)(?:\|[^!\n]*)?!", re.I
)
_LINK = re.compile(r"\[([^\[\]\n]+)\]")
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\[\]|]+")
_SCHEME = re.compile(r"(?:[A-Za-z][\w+.-]*://|mailto:)\S+$")
_URLISH = re.compile(r"[A-Za-z][\w+.-]*:|www\.|/|#")
_BREAK = re.compile(r"[ \t]*\\\\[ \t]*")
_BOLD = re.compile(r"(?<![\w*])\*([^\s*](?:[^*\n]*[^\s*])?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^\s_](?:[^_\n]*[^\s_])?)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w-])-([^\s-](?:(?:[^\n-]|(?<=\w)-(?=\w))*[^\s-])?)-(?![\w-])")
_INSERT = re.compile(r"(?<![\w+])\+([^\s+](?:[^+\n]*[^\s+])?)\+(?![\w+])")


def wiki_to_markdown(text: str) -> str:
    """Return `text`, Jira wiki markup or Markdown, as CommonMark."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    wiki = bool(_WIKI_SIGNS.search(text)) or not _MD_SIGNS.search(text)
    writer = _Writer(text, wiki)
    for kind, value in _segments(text):
        if kind == "code":
            writer.code(*value)
        elif kind == "raw":
            writer.block("code", value) if wiki else writer.emit(value)
        else:
            writer.text(value)
    return "\n".join(line.rstrip() for line in writer.lines).strip("\n")


def _segments(text: str):
    """Split into ("text", str), ("code", (language, body)) and ("raw", Markdown fence)."""
    pos = 0
    while match := _BLOCK.search(text, pos):
        yield "text", text[pos : match.start()]
        if match[1]:
            close = text.find("{" + match[1] + "}", match.end())
            end = len(text) if close < 0 else close
            yield "code", (_language(match[1], match[2]), text[match.end() : end])
            pos = end if close < 0 else close + len(match[1]) + 2
        else:
            fence = match[3]
            closer = re.compile(rf"^[ \t]{{0,3}}{fence[0]}{{{len(fence)},}}[ \t]*$", re.M)
            found = closer.search(text, match.end())
            pos = found.end() if found else len(text)
            yield "raw", text[match.start() : pos]
    yield "text", text[pos:]


def _language(kind: str, params: str | None) -> str:
    """The language of `{code:python}` or `{code:title=x|language=java}`, else ""."""
    for param in (params or "").split("|") if kind == "code" else ():
        key, eq, value = param.partition("=")
        if eq and key.strip().lower() != "language":
            continue
        language = (value if eq else key).strip()
        return language if re.fullmatch(r"[\w+#.-]+", language) else ""
    return ""


def _fence(text: str, least: int) -> str:
    """Backticks, at least `least`, longer than any run in `text`."""
    return "`" * max(least, 1 + max(map(len, re.findall(r"`+", text)), default=0))


def _code_span(text: str) -> str:
    pad = " " if text[:1] == "`" or text[-1:] == "`" else ""
    return f"{_fence(text, 1)}{pad}{text}{pad}{_fence(text, 1)}"


def _cells(row: str) -> list[str]:
    """The cells of `|a|b|` or `||a||b||`, not split at a pipe inside [text|url] or {{ }}."""
    # A row is one line, so "\n" can stand for the separators; [1:] drops what precedes the first.
    tokens = ("\n" if token in ("|", "||") else token for token in _CELL.findall(row))
    cells = "".join(tokens).split("\n")[1:]
    if len(cells) > 1 and not cells[-1].strip():
        cells.pop()
    return cells or [""]


class _Writer:
    """Output lines, with the open list levels, the {quote} state and the last block's kind."""

    def __init__(self, text: str, wiki: bool) -> None:
        self.wiki = wiki
        self.lines: list[str] = []
        self.quoting = False
        self.prev = "blank"
        self.stack: list[str] = []  # "-" or "1." per open list level
        # Protected pieces wait as mark+index+mark, the mark a character absent from the text.
        self.mark = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), "\x00")
        self.stashed = re.compile(re.escape(self.mark) + r"(\d{1,6})" + re.escape(self.mark))

    def emit(self, text: str) -> None:
        for line in text.split("\n"):
            self.lines.append(("> " + line if line else ">") if self.quoting else line)

    def block(self, kind: str, text: str) -> None:
        """Write a block, after a blank line unless it continues the previous one."""
        if self.prev != "blank" and (kind != self.prev or kind in ("heading", "hr", "code")):
            self.emit("")
        self.emit(text)
        self.prev = kind
        if kind != "list":
            self.stack = []

    def code(self, language: str, body: str) -> None:
        body = body.strip("\n")
        fence = _fence(body, 3)
        self.block("code", f"{fence}{language}\n{body}\n{fence}" if body else f"{fence}\n{fence}")

    def text(self, chunk: str) -> None:
        for number, piece in enumerate(_QUOTE.split(chunk) if self.wiki else [chunk]):
            if number:  # a {quote} marker, opening or closing a quote after a blank line
                if self.lines and self.lines[-1]:
                    self.lines.append("")
                self.quoting, self.prev, self.stack = not self.quoting, "blank", []
            lines = piece.split("\n")
            # The first and last lines are parts of lines shared with a block marker.
            if lines and not lines[-1].strip():
                lines.pop()
            if lines and not lines[0].strip():
                lines.pop(0)
            for line in lines:
                if self.wiki:
                    self.wiki_line(line)
                else:
                    self.emit(self.inline(line))

    def wiki_line(self, raw: str) -> None:
        line = _MACRO.sub("", raw).strip()
        if not line:
            if self.prev != "blank":
                self.emit("")
            self.prev, self.stack = "blank", []
        elif match := _HEADING.match(line):
            title = _CLOSING_HASHES.sub(r"\\\1", self.inline(match[2] or "", " "))
            self.block("heading", "#" * int(match[1]) + " " + title)
        elif match := _BQ.match(line):
            self.block("quote", "> " + self.inline(match[1] or ""))
        elif _HR.match(line):
            self.block("hr", "---")
        elif match := _LIST.match(line):
            kinds = ["1." if mark == "#" else "-" for mark in match[1]]
            kinds = self.stack[: min(len(kinds), len(self.stack) + 1) - 1] + kinds[-1:]
            indent = " " * sum(len(kind) + 1 for kind in kinds[:-1])
            self.block("list", f"{indent}{kinds[-1]} {self.inline(match[2])}")
            self.stack = kinds
        elif line.startswith("|"):
            cells = [self.inline(cell.strip(), " ").replace("|", "\\|") for cell in _cells(line)]
            first = self.prev != "table"
            self.block("table", "| " + " | ".join(cells) + " |")
            if first and line.startswith("||"):
                self.emit("| " + " | ".join("---" for _ in cells) + " |")
        else:
            text = self.inline(line)
            self.block("para", "\\" + text if _LITERAL.match(text) else text)

    def inline(self, text: str, breaks: str = "\\\n") -> str:
        """Convert the inline markup of one line; `breaks` replaces a forced line break."""
        stash: list[str] = []

        def keep(value: str) -> str:
            stash.append(value)
            return f"{self.mark}{len(stash) - 1}{self.mark}"

        def unstash(match: re.Match[str]) -> str:
            index = int(match[1])
            return stash[index] if index < len(stash) else match[0]

        text = _MONO.sub(lambda m: keep(_code_span(m[1])), text)
        text = _CODE_SPAN.sub(lambda m: keep(m[0]), text)
        text = _MD_LINK.sub(lambda m: keep(m[0]), text)
        text = _IMAGE.sub(lambda m: keep(f"(image: {m[1].strip()})"), text)
        text = _LINK.sub(lambda m: _link(m, keep), text)
        text = _URL.sub(lambda m: keep(m[0]), text)
        if self.wiki:
            text = breaks.join(part for part in _BREAK.split(text) if part)
            text = _BOLD.sub(r"**\1**", text)
            text = _ITALIC.sub(r"*\1*", text)
        text = _STRIKE.sub(r"~~\1~~", text)
        text = _INSERT.sub(r"\1", text)
        for _ in stash:  # a stashed piece may hold an earlier one
            if self.mark not in text:
                break
            text = self.stashed.sub(unstash, text)
        return text


def _link(match: re.Match[str], keep) -> str:
    body = match[1]
    if body.startswith("~"):
        return keep("@" + body[1:].removeprefix("accountid:").strip())
    if body.startswith("^"):
        return keep(body[1:].strip())
    label, pipe, target = body.partition("|")
    if not pipe:
        return keep(f"<{body}>") if _SCHEME.match(body) else match[0]
    label, target = label.strip(), target.split("|")[0].strip()
    if not _URLISH.match(target):
        return f"{label} ({target})" if label and target else label or target
    if target.lower().startswith("www."):
        target = "http://" + target
    if not label and _SCHEME.match(target):
        return keep(f"<{target}>")
    dest = target.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
    dest = f"<{dest}>" if "(" in dest or ")" in dest else dest
    return f"[{label or target}]({keep(dest)})"
