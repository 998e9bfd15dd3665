"""What a sprint's report is computed from, for the reports page and the API alike: one sweep
of the history for the sprint and the sprints shown beside it, velocity, the capacity the plan is
checked against, and the load by functional role (docs/rules.md, "Sprint charts")."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from planner.domain.context import ProjectContext
from planner.domain.history import calendar_of
from planner.domain.series import series_for_many
from planner.domain.sprints import CapacityPlan, capacity_plan
from planner.metrics import SprintSeries, Velocity, velocity
from planner.models import Sprint
from planner.planning import PlanCheck, check_plan
from planner.timeutil import utcnow


@dataclass(frozen=True)
class SprintReport:
    series: SprintSeries  # the sprint's own
    in_order: list[SprintSeries]  # every started sprint and this one, by start
    velocity: Velocity
    plan: CapacityPlan
    check: PlanCheck  # the stories at the last day's moment against the capacity


def sprint_report(session: Session, ctx: ProjectContext, sprint: Sprint) -> SprintReport:
    project = ctx.project
    calendar = calendar_of(session, project)
    shown = [s for s in ctx.sprints.values() if s.state != "planned" or s.id == sprint.id]
    # Closed sprints from their stored series (the caller commits what was computed).
    all_series = series_for_many(session, project, shown, now=utcnow(), calendar=calendar)
    series = all_series[sprint.id]
    closed = [s for s in all_series.values() if s.sprint.state == "closed"]
    v = velocity(closed)
    plan = capacity_plan(session, ctx, sprint, closed)
    check = check_plan(
        [(st.role, st.points) for st in series.final_stories],
        plan.effective,
        {m.account_id: m.roles for m in ctx.members.values()},
        {m.account_id: m.account.name for m in ctx.members.values()},
        v.average,
    )
    in_order = sorted(all_series.values(), key=lambda s: (s.sprint.start, s.sprint.id))
    return SprintReport(series, in_order, v, plan, check)


def points_by_stage(series: SprintSeries) -> dict[str | None, int]:
    """Points of the sprint's stories at its last day's moment, by stage key (None: no stage)."""
    totals: dict[str | None, int] = {}
    for story in series.final_stories:
        totals[story.stage] = totals.get(story.stage, 0) + story.weight
    return totals
