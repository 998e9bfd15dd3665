"""Milestone slip, forecasts and risk levels, by the rules of docs/rules.md. Pure: plain values in,
plain values out (no Flask, no SQL)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

# --- milestones --------------------------------------------------------------------------------

STATUS_WORDS = {"on_track": "On track", "at_risk": "At risk", "late": "Late"}


@dataclass(frozen=True)
class ForecastPoint:
    reported_on: date
    forecast: date
    note: str | None = None


@dataclass(frozen=True)
class SlipStep:
    """One re-forecast (or the achieved date) and how many days it moved the date."""

    reported_on: date | None  # None for the achieved date
    forecast: date
    days: int  # against the date before it (the baseline for the first)
    note: str | None


@dataclass(frozen=True)
class MilestoneState:
    baseline: date
    current: date  # the achieved date, else the latest forecast, else the baseline
    slip_days: int
    status: str  # on_track | at_risk | late (whether or not achieved)
    achieved: date | None
    slipping_since: date | None  # first report of the current run of reports later than baseline
    reason: str | None  # the note of the forecast that decides `current`, if any
    # Every move of the date since the baseline, in report order; their days add up to the slip.
    steps: tuple[SlipStep, ...] = ()

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.status]


def current_forecast(
    baseline: date, forecasts: Sequence[ForecastPoint], achieved: date | None
) -> tuple[date, ForecastPoint | None]:
    """The achieved date if set, else the forecast with the latest reported_on (on a tie, the one
    recorded last: `forecasts` are in recording order), else the baseline."""
    if achieved is not None:
        return achieved, None
    latest: ForecastPoint | None = None
    for point in forecasts:
        if latest is None or point.reported_on >= latest.reported_on:
            latest = point
    return (latest.forecast, latest) if latest else (baseline, None)


def slip_status(slip_days: int, tolerance_days: int) -> str:
    """on_track (slip <= 0), at_risk (0 < slip <= tolerance) or late (slip > tolerance)."""
    if slip_days <= 0:
        return "on_track"
    if slip_days <= tolerance_days:
        return "at_risk"
    return "late"


def milestone_state(
    baseline: date,
    forecasts: Sequence[ForecastPoint],
    achieved: date | None,
    tolerance_days: int,
) -> MilestoneState:
    """Everything the dashboard says about one milestone."""
    current, deciding = current_forecast(baseline, forecasts, achieved)
    slip = (current - baseline).days
    ordered = sorted(enumerate(forecasts), key=lambda item: (item[1].reported_on, item[0]))
    since = None
    for _, point in ordered:
        if point.forecast > baseline:
            since = since or point.reported_on
        else:
            since = None
    if slip <= 0:
        since = None
    reason = deciding.note if deciding else None
    if reason is None and achieved is None and ordered:
        reason = ordered[-1][1].note
    steps: list[SlipStep] = []
    previous = baseline
    for _, point in ordered:
        if point.forecast != previous:
            steps.append(
                SlipStep(
                    point.reported_on, point.forecast, (point.forecast - previous).days, point.note
                )
            )
        previous = point.forecast
    if achieved is not None and achieved != previous:
        steps.append(SlipStep(None, achieved, (achieved - previous).days, "reached"))
    return MilestoneState(
        baseline,
        current,
        slip,
        slip_status(slip, tolerance_days),
        achieved,
        since,
        reason,
        tuple(steps),
    )


def move_words(days: int) -> str:
    """Say one move of a date: "2 weeks later", "3 days earlier"."""
    return slip_words(days).replace(" late", " later").replace(" early", " earlier")


def slip_words(days: int) -> str:
    """Say a slip in plain words: "on plan", "3 days late", "2 weeks early"."""
    if days == 0:
        return "on plan"
    size = abs(days)
    if size % 7 == 0:
        amount = f"{size // 7} week{'s' if size != 7 else ''}"
    else:
        amount = f"{size} day{'s' if size != 1 else ''}"
    return f"{amount} {'late' if days > 0 else 'early'}"


# --- forecasting from velocity -----------------------------------------------------------------


@dataclass(frozen=True)
class VelocityForecast:
    remaining: int
    velocity: float | None
    sprints_needed: float | None  # remaining / velocity
    finish: date | None  # the end of the sprint in which the work is expected to be done


def velocity_forecast(
    remaining: int, velocity: float | None, sprint_days: Callable[[int], Sequence[date]]
) -> VelocityForecast:
    """sprints needed = remaining / average velocity; the finish is the working day of the sprint
    that completes it by which its share is done at an even pace (`sprint_days(k)` are the working
    days of the k-th future sprint, k >= 1)."""
    if remaining <= 0:
        return VelocityForecast(remaining, velocity, 0.0, sprint_days(1)[0])
    if not velocity:
        return VelocityForecast(remaining, velocity, None, None)
    needed = remaining / velocity
    sprint = max(1, math.ceil(needed - 1e-9))
    days = sprint_days(sprint)
    finish = days[finish_day(needed - (sprint - 1), len(days)) - 1]
    return VelocityForecast(remaining, velocity, needed, finish)


@dataclass(frozen=True)
class MonteCarlo:
    runs: int
    samples: tuple[int, ...]  # completed points of past closed sprints drawn from
    p50_sprints: int | None  # the future sprint (1 = the first) the P50 date falls in
    p85_sprints: int | None
    p50: date | None
    p85: date | None
    capped: bool  # some runs never finished within the cap (a past sprint completed nothing)


MAX_SPRINTS = 100


def percentile(sorted_values: Sequence, share: float):
    """The smallest value with at least `share` of the values at or below it."""
    index = max(0, math.ceil(share * len(sorted_values)) - 1)
    return sorted_values[index]


def finish_day(share: float, working_days: int) -> int:
    """The working day (1-based) of a sprint by which `share` of its points are done, at an even
    pace through its working days: the first day whose end reaches the share."""
    return max(1, min(working_days, math.ceil(share * working_days - 1e-9)))


def monte_carlo(
    remaining: int,
    completed: Sequence[int],
    sprint_days: Callable[[int], Sequence[date]],
    *,
    runs: int = 10_000,
    seed: int = 2026,
) -> MonteCarlo:
    """Draw each future sprint's completed points from past closed sprints (with replacement) and
    count the sprints until `remaining` is done; the run finishes inside its last sprint on the
    working day by which the points still needed are done at that sprint's drawn pace
    (`sprint_days(k)` are the working days of the k-th future sprint). Repeat `runs` times with a
    fixed seed; report the 50th and 85th percentiles of the finish date and the sprint it is in."""
    samples = tuple(completed)
    if remaining <= 0:
        first = sprint_days(1)
        return MonteCarlo(runs, samples, 1, 1, first[0], first[0], False)
    if not samples or not any(samples):
        return MonteCarlo(runs, samples, None, None, None, None, True)
    rng = random.Random(seed)
    finishes: list[tuple[int, int]] = []
    capped = False
    lengths: dict[int, int] = {}
    for _ in range(runs):
        left, sprint, drawn = remaining, 0, 0
        while left > 0 and sprint < MAX_SPRINTS:
            drawn = rng.choice(samples)
            sprint += 1
            if drawn >= left:
                break
            left -= drawn
        if drawn < left:  # the cap: counted as the last day of the last sprint
            capped = True
            left = drawn = 1
        if sprint not in lengths:
            lengths[sprint] = len(sprint_days(sprint))
        finishes.append((sprint, finish_day(left / drawn, lengths[sprint])))
    finishes.sort()
    p50, p85 = percentile(finishes, 0.50), percentile(finishes, 0.85)

    def day_of(finish: tuple[int, int]) -> date:
        return sprint_days(finish[0])[finish[1] - 1]

    return MonteCarlo(runs, samples, p50[0], p85[0], day_of(p50), day_of(p85), capped)


# --- risks -------------------------------------------------------------------------------------

LEVELS = (("low", 1, 4), ("medium", 5, 9), ("high", 10, 16), ("critical", 20, 25))
ACTIVE_RISK_STATUSES = ("open", "mitigating")


def risk_level(likelihood: int, impact: int) -> str:
    """low 1-4, medium 5-9, high 10-16, critical 20-25 (score = likelihood x impact)."""
    score = likelihood * impact
    for name, low, high in LEVELS:
        if low <= score <= high:
            return name
    raise ValueError(f"likelihood {likelihood} and impact {impact} are outside 1-5")


def heat_map(risks: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Counts per cell: rows are likelihood 1..5, columns impact 1..5."""
    cells = [[0] * 5 for _ in range(5)]
    for likelihood, impact in risks:
        cells[likelihood - 1][impact - 1] += 1
    return cells
