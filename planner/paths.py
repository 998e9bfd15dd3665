"""Where templates/, static/ and migrations/ live: inside the package when installed from a wheel,
at the top of the repository when run from a checkout or an editable install."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory `name` (templates, static or migrations) wherever it was installed."""
    inside = PACKAGE_DIR / name
    if inside.is_dir():
        return inside
    beside = PACKAGE_DIR.parent / name
    if beside.is_dir():
        return beside
    raise RuntimeError(
        f"planner cannot find its {name}/ directory (looked in {inside} and {beside})."
    )
