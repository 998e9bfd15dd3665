"""Metric targets: ">= 0.85" on an experiment or a milestone (docs/rules.md, "Metric targets").

A target is a comparison (>=, >, <=, <) and a number. The comparison also says which way is
better: for >= and > higher values are better, for <= and < lower ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from planner.numbers import format_number
from planner.vocab import COMPARISONS

_TARGET = re.compile(r"^\s*(>=|<=|>|<|≥|≤)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_UNICODE = {"≥": ">=", "≤": "<="}
EXAMPLE = ">= 0.85"


@dataclass(frozen=True)
class Target:
    comparison: str  # one of COMPARISONS
    value: float

    @property
    def higher_is_better(self) -> bool:
        return self.comparison in (">=", ">")

    def met_by(self, value: float) -> bool:
        return {
            ">=": value >= self.value,
            ">": value > self.value,
            "<=": value <= self.value,
            "<": value < self.value,
        }[self.comparison]

    def better(self, a: float, b: float) -> bool:
        """True when `a` is strictly better than `b` in this target's direction."""
        return a > b if self.higher_is_better else a < b

    def best(self, values):
        """The best of `values` in this target's direction (max or min)."""
        return max(values) if self.higher_is_better else min(values)

    def __str__(self) -> str:
        return f"{self.comparison} {format_number(self.value)}"


class TargetError(ValueError):
    """The text is not a target; the message says what one looks like."""


def parse_target(text: str | None) -> Target:
    """Parse ">= 0.85"; raise TargetError with a sentence for anything else."""
    if text is None or not text.strip():
        raise TargetError(f"No target is set: write a comparison and a number, like {EXAMPLE}.")
    match = _TARGET.match(text)
    if match is None:
        raise TargetError(
            f"{text.strip()[:60]!r} is not a target: write one of "
            f"{', '.join(COMPARISONS)} and a number, like {EXAMPLE}."
        )
    value = float(match.group(2))
    if not math.isfinite(value):
        raise TargetError(f"{text.strip()[:60]!r} is not a finite number.")
    comparison = _UNICODE.get(match.group(1), match.group(1))
    return Target(comparison, value)


def try_parse_target(text: str | None) -> Target | None:
    try:
        return parse_target(text)
    except TargetError:
        return None
