"""The JSON interchange format v1 (docs/export-format.md): export and import of a whole project."""

from __future__ import annotations

from dataclasses import dataclass

FORMAT = "planner-export"
VERSION = 1

# The largest file `planner import` reads, checked before reading (docs/export-format.md, "Limits").
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """One reason a document cannot be imported, at a JSON path like $.stories[3].stage."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ImportRefused(Exception):
    """The document was not imported; `problems` says every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the import file")
        self.problems = problems

    def report(self, limit: int | None = None) -> str:
        """Return the problems one per line, at most `limit` of them."""
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [str(problem) for problem in shown]
        if limit is not None and len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more")
        return "\n".join(lines)
