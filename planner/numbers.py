"""Numbers as people read them (metric values, targets): one formatter for pages, charts and
sentences. Imports nothing from planner."""

from __future__ import annotations

import math


def format_number(value: float) -> str:
    """A metric value as people write it: 0.85, 12, 0.8123 (at most 4 decimals, no trailing 0);
    very large or small numbers in short scientific form (1e+300); NaN and infinities by name."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-4):
        return f"{value:.6g}"
    if value == int(value):
        return str(int(value))
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"
