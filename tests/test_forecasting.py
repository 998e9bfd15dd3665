"""Milestone slip and status, forecasts from velocity and Monte Carlo, risk levels: by hand."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from planner.forecasting import (
    ForecastPoint,
    current_forecast,
    heat_map,
    milestone_state,
    monte_carlo,
    risk_level,
    slip_status,
    slip_words,
    velocity_forecast,
)

BASE = date(2026, 2, 13)


def F(reported: str, forecast: str, note: str | None = None) -> ForecastPoint:
    return ForecastPoint(date.fromisoformat(reported), date.fromisoformat(forecast), note)


def test_the_current_forecast_is_the_latest_report_and_ties_go_to_the_last_recorded():
    forecasts = [
        F("2026-01-30", "2026-02-13"),
        F("2026-02-27", "2026-03-06", "second that day"),
        F("2026-02-13", "2026-02-20"),
        F("2026-02-27", "2026-03-13", "recorded last"),
    ]
    current, deciding = current_forecast(BASE, forecasts, None)
    assert current == date(2026, 3, 13) and deciding.note == "recorded last"
    assert current_forecast(BASE, [], None) == (BASE, None)
    assert current_forecast(BASE, forecasts, date(2026, 2, 24))[0] == date(2026, 2, 24)


@pytest.mark.parametrize(
    ("slip", "tolerance", "status"),
    [
        (-5, 7, "on_track"),
        (0, 7, "on_track"),
        (1, 7, "at_risk"),
        (7, 7, "at_risk"),
        (8, 7, "late"),
        (1, 0, "late"),
        (0, 0, "on_track"),
    ],
)
def test_status_from_slip_and_tolerance(slip, tolerance, status):
    assert slip_status(slip, tolerance) == status


def test_an_achieved_milestone_keeps_its_slip_status():
    # Baseline 13 Feb, achieved 24 Feb: 11 days late, more than the 7-day tolerance.
    state = milestone_state(
        BASE, [F("2026-02-13", "2026-02-20", "kappa re-work")], date(2026, 2, 24), 7
    )
    assert (state.current, state.slip_days, state.status) == (date(2026, 2, 24), 11, "late")
    assert state.achieved == date(2026, 2, 24)


def test_slipping_since_is_the_first_report_of_the_current_late_run():
    forecasts = [
        F("2026-01-30", "2026-02-20", "late"),
        F("2026-02-06", "2026-02-13", "back"),
        F("2026-02-13", "2026-02-27", "feature leakage"),
        F("2026-02-20", "2026-03-06", "more leakage"),
    ]
    state = milestone_state(BASE, forecasts, None, 7)
    assert state.slip_days == 21 and state.status == "late"  # 6 March - 13 Feb
    assert state.slipping_since == date(2026, 2, 13)
    assert state.reason == "more leakage"
    pulled_in = milestone_state(BASE, forecasts[:2], None, 7)
    assert (pulled_in.slip_days, pulled_in.slipping_since) == (0, None)


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (0, "on plan"),
        (1, "1 day late"),
        (3, "3 days late"),
        (7, "1 week late"),
        (14, "2 weeks late"),
        (-1, "1 day early"),
        (-14, "2 weeks early"),
        (10, "10 days late"),
    ],
)
def test_slip_in_plain_words(days, words):
    assert slip_words(days) == words


def ends(k: int) -> date:
    """Sprint k ends on Friday 27 Nov 2026 plus 14 days per sprint."""
    return date(2026, 11, 27) + timedelta(days=14 * (k - 1))


def days(k: int) -> list[date]:
    """Sprint k's working days: Monday 16 Nov 2026 plus 14 days per sprint, two weeks of Monday
    to Friday (10 days)."""
    monday = date(2026, 11, 16) + timedelta(days=14 * (k - 1))
    return [monday + timedelta(days=w * 7 + d) for w in (0, 1) for d in range(5)]


def test_velocity_forecast():
    forecast = velocity_forecast(49, 30.7, days)
    assert forecast.sprints_needed == pytest.approx(49 / 30.7)  # 1.596
    # Sprint 2 (30 Nov - 11 Dec) does the last 0.596 of a sprint: ceil(5.96) = its 6th working
    # day, Monday 7 December.
    assert forecast.finish == date(2026, 12, 7)
    # Exactly two sprints: the last day of the second.
    assert velocity_forecast(60, 30, days).finish == date(2026, 12, 11)
    assert velocity_forecast(0, 30.7, days).finish == date(2026, 11, 16)
    assert velocity_forecast(10, None, days).finish is None


def test_monte_carlo_finishes_inside_the_last_sprint():
    # Any two of 28, 33, 31 cover 49 points and no single one does: always two sprints. The
    # second does the 49 - d1 points left at its drawn pace d2; the finish is working day
    # ceil(10 * (49 - d1) / d2) of it. The nine pairs, equally likely:
    #   left 21: /28 -> 8, /33 -> 7, /31 -> 7;  left 16: /28 -> 6, /33 -> 5, /31 -> 6;
    #   left 18: /28 -> 7, /33 -> 6, /31 -> 6.
    # Day 5: 1/9, day 6: 4/9 (cumulative 0.56), day 7: 3/9 (0.89), day 8: 1/9.
    # P50 = day 6 = Monday 7 Dec; P85 = day 7 = Tuesday 8 Dec: the dates differ by a day.
    tight = monte_carlo(49, [28, 33, 31], days, seed=1)
    assert (tight.p50_sprints, tight.p85_sprints) == (2, 2)
    assert (tight.p50, tight.p85) == (date(2026, 12, 7), date(2026, 12, 8))
    # 15 points from [10, 20, 20, 20]: a 20 first (3/4) finishes on day ceil(10 * 15/20) = 8 of
    # sprint 1 (Wed 25 Nov); a 10 first leaves 5 for sprint 2: with a 20 (3/16) day
    # ceil(2.5) = 3 (Wed 2 Dec), with a 10 (1/16) day 5. Cumulative: 0.75, 0.94, 1.
    mixed = monte_carlo(15, [10, 20, 20, 20], days, seed=3)
    assert (mixed.p50, mixed.p85) == (date(2026, 11, 25), date(2026, 12, 2))
    assert (mixed.p50_sprints, mixed.p85_sprints) == (1, 2)


def test_monte_carlo_with_a_fixed_seed_matches_the_distribution():
    # One sprint in four completes the 10 points (on its last day): P(done within k) =
    # 1 - 0.75^k, so k=2: 0.44, k=3: 0.58 -> P50 = 3; k=6: 0.82, k=7: 0.87 -> P85 = 7.
    chance = monte_carlo(10, [0, 0, 0, 10], days, seed=7)
    assert (chance.p50_sprints, chance.p85_sprints) == (3, 7)
    assert chance.p50 == ends(3)
    assert chance.p85 == date(2026, 11, 27) + timedelta(days=14 * 6)
    assert monte_carlo(10, [0, 0, 0, 10], days, seed=7) == chance  # seeded: repeatable
    nothing = monte_carlo(10, [0, 0], days)
    assert (nothing.p50, nothing.capped) == (None, True)


def test_p50_is_never_after_p85_whatever_the_history():
    rng = random.Random(2026)
    for _ in range(200):
        samples = [rng.choice([0, 1, 2, 3, 5, 8, 13, 21, 30]) for _ in range(rng.randint(1, 8))]
        if not any(samples):
            samples.append(1)
        result = monte_carlo(rng.randint(1, 300), samples, days, runs=500, seed=rng.randint(0, 99))
        assert result.p50_sprints <= result.p85_sprints
        assert result.p50 <= result.p85


@pytest.mark.parametrize(
    ("likelihood", "impact", "level"),
    [
        (1, 1, "low"),
        (1, 4, "low"),
        (2, 2, "low"),
        (1, 5, "medium"),
        (3, 3, "medium"),
        (2, 5, "high"),
        (4, 4, "high"),
        (4, 5, "critical"),
        (5, 5, "critical"),
    ],
)
def test_risk_levels(likelihood, impact, level):
    assert risk_level(likelihood, impact) == level


def test_heat_map_counts_per_cell():
    cells = heat_map([(4, 5), (4, 5), (1, 1), (3, 2)])
    assert cells[3][4] == 2 and cells[0][0] == 1 and cells[2][1] == 1
    assert sum(map(sum, cells)) == 4


def test_every_move_since_the_baseline_adds_up_to_the_slip():
    """Baseline 13 Feb. 30 Jan: to 20 Feb (+7, "late"); 6 Feb: back to 13 Feb (-7); 13 Feb: to
    27 Feb (+14, "feature leakage"); a report that keeps the date is no move; 20 Feb: to 6 Mar
    (+7, "more leakage"). Slip 21 = 7 - 7 + 14 + 7."""
    forecasts = [
        F("2026-01-30", "2026-02-20", "late"),
        F("2026-02-06", "2026-02-13", "back"),
        F("2026-02-13", "2026-02-27", "feature leakage"),
        F("2026-02-16", "2026-02-27", "still"),
        F("2026-02-20", "2026-03-06", "more leakage"),
    ]
    state = milestone_state(BASE, forecasts, None, 7)
    assert [(s.reported_on, s.days, s.note) for s in state.steps] == [
        (date(2026, 1, 30), 7, "late"),
        (date(2026, 2, 6), -7, "back"),
        (date(2026, 2, 13), 14, "feature leakage"),
        (date(2026, 2, 20), 7, "more leakage"),
    ]
    assert sum(s.days for s in state.steps) == state.slip_days == 21
    # Reached three days after the last forecast: that move is the last step.
    reached = milestone_state(BASE, forecasts, date(2026, 3, 9), 7)
    assert [(s.reported_on, s.days) for s in reached.steps][-1] == (None, 3)
    assert sum(s.days for s in reached.steps) == reached.slip_days == 24
