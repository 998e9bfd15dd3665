"""The layers hold, checked from the imports themselves: the API and the domain never import the
pages, and the pure modules (metrics, charts, forecasting, planning, inputs) import nothing that
knows about Flask, the database or the pages."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "planner"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (function-local imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def files(area: str) -> list[Path]:
    target = PACKAGE / area
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


def offenders(areas: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for area in areas
        for path in files(area)
        for module in sorted(imports_of(path))
        if module.startswith(forbidden) or module in {f.rstrip(".") for f in forbidden}
    ]


def test_the_api_and_the_domain_do_not_stand_on_the_pages():
    assert offenders(["api", "domain"], ("planner.web",)) == []


def test_the_pure_modules_know_nothing_of_domain_pages_api_models_flask_or_sql():
    forbidden = (
        "planner.domain",
        "planner.web",
        "planner.api",
        "planner.models",
        "planner.db",
        "flask",
        "sqlalchemy",
    )
    pure = ["metrics", "charts", "forecasting", "planning", "inputs", "numbers"]
    assert offenders(pure, forbidden) == []


def test_the_checker_sees_violations():
    # A guard against a checker that can never fail: the pages do import the domain.
    assert offenders(["web"], ("planner.domain",)) != []
