"""Read a Jira CSV export ("Export -> CSV (all fields)" or "current fields") exactly as Jira
Cloud and Jira Data Center write it, into one `JiraIssue` per row.

What real exports do, and how it is read (docs/import-jira.md):
- a UTF-8 byte-order mark, CRLF line ends, quoted cells over several lines with doubled quotes:
  the csv module reads them as Excel writes them;
- repeated column names, one column per value (`Sprint,Sprint`, `Labels,Labels,Labels`,
  `Comment,...`): every column of a name is kept, in order, none overwrites another;
- rows with more cells than the header: extra non-empty cells belong to the last column when
  that column repeats (Jira writes one more value than it declared), and are otherwise reported;
- dates as `d/MMM/yy h:mm a` (Cloud), `yyyy-MM-dd HH:mm` (Data Center) or `dd.MM.yyyy HH:mm`,
  read in the site's timezone chosen at import and stored in UTC;
- empty trailing cells.

Pure: no database. Problems a row can survive are collected with their row and column; a file
that cannot be read at all raises ImportRefused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from planner.domain.labels import LABEL_MAX, LABELS_PER_STORY
from planner.inputs import TEXT_LIMITS, storable
from planner.interchange import ImportRefused, Problem
from planner.interchange.jira_markup import wiki_to_markdown
from planner.timeutil import zone

MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_CSV_ROWS = 20_000
REQUIRED_COLUMNS = ("Summary", "Issue key")
POINTS_COLUMNS = ("Custom field (Story Points)", "Custom field (Story point estimate)")
EPIC_LINK_COLUMNS = ("Custom field (Epic Link)", "Parent", "Parent id", "Parent key")
RANK_COLUMNS = ("Custom field (Rank)", "Rank")

# Every cell is read with the text limits the rest of planner applies.
csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_BYTES))

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "jän", "janv"),
            ("feb", "fév", "févr", "fev"),
            ("mar", "mär", "mars", "mrz"),
            ("apr", "avr"),
            ("may", "mai", "mei"),
            ("jun", "juin"),
            ("jul", "juil"),
            ("aug", "aoû", "août"),
            ("sep", "sept"),
            ("oct", "okt"),
            ("nov",),
            ("dec", "dez", "déc"),
        ],
        start=1,
    )
    for name in names
}
_CLOUD_DATE = re.compile(
    r"^(\d{1,2})/([^\W\d_]{3,5})\.?/(\d{2}|\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
MULTILINE_COLUMNS = frozenset({"Description", "Comment", "Environment"})
# Control characters other than tab and line feed, which no planner text may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
DATE_STYLES = "12/Mar/24 9:41 AM, 2024-03-12 09:41 or 12.03.2024 09:41"


@dataclass(frozen=True)
class RowProblem(Problem):
    """A problem in one cell: its spreadsheet row (the header is row 1) and column."""

    row: int = 0
    column: str = ""


def row_problem(row: int, column: str, message: str) -> RowProblem:
    return RowProblem(f"row {row}, {column}", message, row=row, column=column)


@dataclass
class JiraComment:
    at: datetime | None
    author: str | None
    body: str
    # The cell's own text, hashed: how a re-import knows the comments it brought before.
    digest: str = ""


@dataclass
class JiraIssue:
    row: int
    key: str
    issue_id: str | None
    summary: str
    issue_type: str
    status: str
    status_category: str | None
    points: float | None
    points_text: str | None
    points_column: str
    parents: list[str]
    sprints: list[str]
    assignee: str | None
    reporter: str | None
    labels: list[str]
    created: datetime | None
    updated: datetime | None
    resolved: datetime | None
    description: str | None
    priority: str | None
    rank: str | None
    comments: list[JiraComment] = field(default_factory=list)


@dataclass
class JiraFile:
    issues: list[JiraIssue]
    problems: list[RowProblem]
    columns: list[str]
    timezone: str
    # Account ids (Cloud's "Assignee Id" etc.) to the display names beside them.
    people_ids: dict[str, str] = field(default_factory=dict)


def looks_like_jira_csv(data: bytes) -> bool:
    """Tell a Jira CSV from a planner-export JSON document by its first line."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith((b"{", b"[")):
        return False
    first = head.split(b"\n", 1)[0]
    return b"Summary" in first or b"Issue key" in first


def decode(data: bytes, name: str) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise ImportRefused(
            [
                Problem(
                    name,
                    f"the file is {len(data) / 2**20:.1f} MB; planner imports Jira CSV files of "
                    f"at most {MAX_CSV_BYTES // 2**20} MB and {MAX_CSV_ROWS:,} issues",
                )
            ]
        )
    if not data.strip():
        raise ImportRefused([Problem(name, "the file is empty")])
    if b"\x00" in data[:65536]:
        raise ImportRefused([Problem(name, "this is not a CSV file: it holds binary data")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            [
                Problem(
                    name,
                    f"this is not UTF-8 text (byte {exc.start + 1} cannot be read); export the "
                    "CSV from Jira again, which writes UTF-8",
                )
            ]
        ) from None
    if not storable(text):
        raise ImportRefused([Problem(name, "the file holds characters that cannot be stored")])
    return text


def read_jira_csv(data: bytes, *, timezone: str, name: str = "file") -> JiraFile:
    """Read `data` (the file's bytes) as a Jira CSV export; dates are in `timezone`."""
    text = decode(data, name)
    tz = zone(timezone)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ImportRefused(
            [
                Problem(
                    name,
                    f"this is not a well-formed CSV file near line {reader.line_num}: {exc}",
                )
            ]
        ) from None
    if not records:
        raise ImportRefused([Problem(name, "the file is empty")])
    header = [cell.strip() for cell in records[0]]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ImportRefused(
            [
                Problem(
                    name,
                    "this is not a Jira CSV export: its first line has no "
                    + " and no ".join(f"“{column}”" for column in missing)
                    + " column. In Jira, use Export → Export CSV (all fields).",
                )
            ]
        )
    data_rows = [
        (number, cells)
        for number, cells in enumerate(records[1:], start=2)
        if any(cell.strip() for cell in cells)
    ]
    if len(data_rows) > MAX_CSV_ROWS:
        raise ImportRefused(
            [
                Problem(
                    name,
                    f"the file has {len(data_rows):,} issues; planner imports at most "
                    f"{MAX_CSV_ROWS:,} at a time. Export a filter of fewer issues and import "
                    "each part: a re-import adds what is new and changes nothing else.",
                )
            ]
        )
    if not data_rows:
        raise ImportRefused([Problem(name, "the file has a header but no issues")])
    reading = _Reader(header, tz)
    issues = [issue for number, cells in data_rows if (issue := reading.issue(number, cells))]
    seen: dict[str, int] = {}
    unique: list[JiraIssue] = []
    for issue in issues:
        if issue.key in seen:
            reading.problem(
                issue.row,
                "Issue key",
                f"{issue.key} is also on row {seen[issue.key]}; this row was skipped",
            )
            continue
        seen[issue.key] = issue.row
        unique.append(issue)
    return JiraFile(
        issues=unique,
        problems=reading.problems,
        columns=header,
        timezone=timezone,
        people_ids=reading.people_ids,
    )


class _Reader:
    def __init__(self, header: list[str], tz) -> None:
        self.header = header
        self.tz = tz
        self.positions: dict[str, list[int]] = {}
        for index, column in enumerate(header):
            self.positions.setdefault(column, []).append(index)
        last = header[-1] if header else ""
        self.overflow_column = last if len(self.positions.get(last, [])) > 1 else None
        self.problems: list[RowProblem] = []
        self.people_ids: dict[str, str] = {}

    def problem(self, row: int, column: str, message: str) -> None:
        self.problems.append(row_problem(row, column, message))

    def values(self, cells: list[str], column: str) -> list[str]:
        """The non-empty values of every column called `column`, in order, without control
        characters (line breaks stay only in the multi-line columns)."""
        found = [cells[i] for i in self.positions.get(column, []) if i < len(cells)]
        if column == self.overflow_column:
            found += cells[len(self.header) :]
        if column in MULTILINE_COLUMNS:
            cleaned = [_CONTROL.sub("", value.replace("\r\n", "\n")).strip() for value in found]
        else:
            cleaned = [" ".join(_CONTROL.sub(" ", value).split()) for value in found]
        return [value for value in cleaned if value]

    def one(self, cells: list[str], column: str) -> str | None:
        values = self.values(cells, column)
        return values[0] if values else None

    def first_of(self, cells: list[str], columns: tuple[str, ...]) -> tuple[str | None, str]:
        for column in columns:
            if (value := self.one(cells, column)) is not None:
                return value, column
        return None, columns[0]

    def text(self, row: int, column: str, value: str | None, kind: str) -> str | None:
        if value is None:
            return None
        limit = TEXT_LIMITS[kind]
        if len(value) > limit:
            self.problem(row, column, f"longer than {limit:,} characters; the rest was cut")
            value = value[:limit].rstrip()
        return value or None

    def short(self, row: int, column: str, value: str | None, limit: int) -> str | None:
        """A one-line value of at most `limit` characters; a longer one is cut, and said."""
        if value is not None and len(value) > limit:
            self.problem(row, column, f"longer than {limit} characters; cut to “{value[:30]}…”")
            value = value[:limit].strip()
        return value or None

    def labels(self, row: int, values: list[str]) -> list[str]:
        """Labels as planner keeps them: no commas (they separate labels here), at most 60
        characters, each once, at most 20 a story."""
        labels: list[str] = []
        for value in values:
            if "," in value:
                self.problem(row, "Labels", f"“{value[:30]}” holds a comma; it became a space")
                value = " ".join(value.replace(",", " ").split())
            label = self.short(row, "Labels", value, LABEL_MAX)
            if label and label not in labels:
                labels.append(label)
        if len(labels) > LABELS_PER_STORY:
            self.problem(
                row,
                "Labels",
                f"{len(labels)} labels; planner keeps the first {LABELS_PER_STORY}",
            )
            labels = labels[:LABELS_PER_STORY]
        return labels

    def when(self, row: int, column: str, value: str | None) -> datetime | None:
        if value is None:
            return None
        moment = parse_jira_datetime(value, self.tz)
        if moment is None:
            self.problem(
                row, column, f"“{value[:40]}” is not a date planner can read ({DATE_STYLES})"
            )
        return moment

    def issue(self, row: int, cells: list[str]) -> JiraIssue | None:
        extra = cells[len(self.header) :]
        if self.overflow_column is None and any(cell.strip() for cell in extra):
            self.problem(
                row,
                f"column {len(self.header) + 1}",
                f"the row has {len(cells) - len(self.header)} cell(s) more than the header; "
                "they were ignored",
            )
        key = (self.one(cells, "Issue key") or "").upper()
        summary = self.one(cells, "Summary")
        if not key:
            self.problem(row, "Issue key", "empty; the row was skipped")
            return None
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,49}-\d{1,9}", key):
            self.problem(row, "Issue key", f"“{key[:40]}” is not an issue key; row skipped")
            return None
        if not summary:
            self.problem(row, "Summary", f"{key} has no summary; the row was skipped")
            return None
        for id_column, name_column in (
            ("Assignee Id", "Assignee"),
            ("Reporter Id", "Reporter"),
            ("Creator Id", "Creator"),
        ):
            account_id, person = self.one(cells, id_column), self.one(cells, name_column)
            if account_id and person:
                self.people_ids[account_id] = person
        points_text, points_column = self.first_of(cells, POINTS_COLUMNS)
        points = None
        if points_text is not None:
            try:
                points = float(points_text.replace(",", "."))
                if points != points or points < 0 or points in (float("inf"),):
                    raise ValueError
            except ValueError:
                self.problem(
                    row,
                    points_column,
                    f"“{points_text[:40]}” is not a number of points; left unestimated",
                )
                points = None
        description = self.one(cells, "Description")
        if description is not None:
            description = self.text(
                row, "Description", wiki_to_markdown(description), "description"
            )
        created = self.when(row, "Created", self.one(cells, "Created"))
        issue = JiraIssue(
            row=row,
            key=key,
            issue_id=self.one(cells, "Issue id"),
            summary=self.text(row, "Summary", " ".join(summary.split()), "title") or key,
            issue_type=self.short(row, "Issue Type", self.one(cells, "Issue Type"), 60) or "Story",
            status=self.short(row, "Status", self.one(cells, "Status"), 60) or "",
            status_category=self.short(
                row, "Status Category", self.one(cells, "Status Category"), 60
            ),
            points=points,
            points_text=points_text,
            points_column=points_column,
            parents=[v for column in EPIC_LINK_COLUMNS for v in self.values(cells, column)],
            sprints=list(
                dict.fromkeys(
                    self.short(row, "Sprint", name, 80) for name in self.values(cells, "Sprint")
                )
            ),
            assignee=self.short(row, "Assignee", self.one(cells, "Assignee"), 120),
            reporter=self.short(row, "Reporter", self.one(cells, "Reporter"), 120),
            labels=self.labels(row, self.values(cells, "Labels")),
            created=created,
            updated=self.when(row, "Updated", self.one(cells, "Updated")),
            resolved=self.when(row, "Resolved", self.one(cells, "Resolved")),
            description=description,
            priority=self.one(cells, "Priority"),
            rank=self.first_of(cells, RANK_COLUMNS)[0],
        )
        for text in self.values(cells, "Comment"):
            issue.comments.append(self.comment(row, text))
        return issue

    def comment(self, row: int, text: str) -> JiraComment:
        """A `Comment` cell: `date;author;text`, the text possibly holding more semicolons."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        parts = text.split(";", 2)
        if len(parts) == 3:
            at = parse_jira_datetime(parts[0].strip(), self.tz)
            if at is not None:
                body = self.text(row, "Comment", wiki_to_markdown(parts[2]), "comment")
                author = " ".join(parts[1].split())[:120] or None
                return JiraComment(at=at, author=author, body=body or "", digest=digest)
        body = self.text(row, "Comment", wiki_to_markdown(text), "comment")
        return JiraComment(at=None, author=None, body=body or "", digest=digest)


def parse_jira_datetime(text: str, tz) -> datetime | None:
    """Read a Jira date in the site's timezone `tz`; return it in UTC, or None."""
    text = " ".join(text.split())
    try:
        if match := _CLOUD_DATE.match(text):
            day, month_name, year, hour, minute, second, half = match.groups()
            month = MONTHS.get(month_name.lower())
            if month is None:
                return None
            year = int(year) + (2000 if len(year) == 2 else 0)
            hour = int(hour or 0)
            if half:
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if half.lower() == "pm" else 0)
            local = datetime(year, month, int(day), hour, int(minute or 0), int(second or 0))
        elif match := _ISO_DATE.match(text):
            year, month, day, hour, minute, second = match.groups()
            local = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        elif match := _DOTTED_DATE.match(text):
            day, month, year, hour, minute, second = match.groups()
            local = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        else:
            return None
    except ValueError:
        return None
    if not 2000 <= local.year <= 2099:
        return None
    return local.replace(tzinfo=tz).astimezone(UTC)
