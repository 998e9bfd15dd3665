"""Reports: the six charts for a sprint (burndown, burnup, cumulative flow, velocity, points by
ML stage, load by role), each with its numbers in a table and as CSV, from one sweep of the
project's history. Shown on the project reports page and on each sprint's page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy.orm import Session

from planner import charts, db, scope_changes
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext, load_context
from planner.domain.reports import points_by_stage, sprint_report
from planner.domain.series import series_for
from planner.domain.sprints import choose_sprint
from planner.downloads import csv_text, download
from planner.metrics import SprintSeries, Velocity, summarize
from planner.models import Sprint
from planner.pagecache import kept_page
from planner.planning import PlanCheck
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.vocab import STATUSES

bp = Blueprint("reports", __name__)
bp.before_request(require_login)

CHARTS = ("burndown", "burnup", "flow", "velocity", "stages", "roles")
UNITS = ("points", "stories")


@dataclass
class ChartBlock:
    """One chart, and the table of its numbers (the same rows go out as CSV)."""

    id: str
    title: str
    figure: dict[str, Any]
    headers: list[str]
    rows: list[list[Any]]
    description: str
    notes: list[str] = field(default_factory=list)
    more: int = 0  # notes left off the page (planner.scope_changes.PAGE_ROWS); all in the CSV
    summary: list[str] = field(default_factory=list)  # per-day lines, when notes are cut


@dataclass
class Report:
    sprint: Sprint
    series: SprintSeries
    unit: str
    velocity: Velocity
    check: PlanCheck
    blocks: list[ChartBlock]

    @property
    def summary(self):
        return summarize(self.series)

    def block(self, chart: str) -> ChartBlock:
        return next(b for b in self.blocks if b.id == chart)


@bp.app_template_filter("cell")
def _n(value: Any) -> Any:
    """A table cell: None (a day still to come) shows as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return value


def build_report(
    session: Session, ctx: ProjectContext, sprint: Sprint, unit: str = "points"
) -> Report:
    """Compute every chart of the report for `sprint`, from one sweep of the history."""
    unit = unit if unit in UNITS else "points"
    data = sprint_report(session, ctx, sprint)
    series, in_order, v, plan, check = (
        data.series,
        data.in_order,
        data.velocity,
        data.plan,
        data.check,
    )
    stages = [(s.key, s.name) for s in ctx.stages.values()]
    blocks = [
        _burndown_block(series, unit),
        _burnup_block(series, unit),
        _flow_block(series),
        _velocity_block(v, sprint),
        _stages_block(in_order, stages),
        _roles_block(series, check, plan.suggested),
    ]
    return Report(sprint, series, unit, v, check, blocks)


def _day_rows(series: SprintSeries) -> list[str]:
    return [charts.START, *(d.isoformat() for d in series.days)]


def _burndown_block(series: SprintSeries, unit: str) -> ChartBlock:
    s = series.series(unit)
    labels = _day_rows(series)
    start = [
        charts.START,
        series.committed.scope(unit),
        series.committed.done(unit),
        s["committed"],
        s["committed"],
    ]
    rows = [start] + [
        [labels[i + 1], s["scope"][i], s["done"][i], s["remaining"][i], round(s["ideal"][i], 2)]
        for i in range(len(series.days))
    ]
    changes = series.scope_changes
    notes = [
        f"{c.day.isoformat()}: {c.story} {c.change} ({c.points:+d} points)"
        for c in changes[: scope_changes.PAGE_ROWS]
    ]
    more = max(0, len(changes) - scope_changes.PAGE_ROWS)
    summary = [d.sentence() for d in scope_changes.per_day(changes)] if more else []
    return ChartBlock(
        "burndown",
        "Burndown",
        charts.burndown_figure(series, unit),
        ["Day", f"Scope ({unit})", f"Done ({unit})", f"Remaining ({unit})", "Ideal"],
        rows,
        f"Work remaining at the end of each sprint day, from the recorded history, against the "
        f"ideal line from the commitment ({s['committed']} {unit}) to zero. Days still to "
        "come are empty; diamonds mark scope changes after the start.",
        notes,
        more,
        summary,
    )


def _burnup_block(series: SprintSeries, unit: str) -> ChartBlock:
    s = series.series(unit)
    labels = _day_rows(series)
    rows = [[charts.START, series.committed.scope(unit), series.committed.done(unit)]] + [
        [labels[i + 1], s["scope"][i], s["done"][i]] for i in range(len(series.days))
    ]
    return ChartBlock(
        "burnup",
        "Burnup",
        charts.burnup_figure(series, unit),
        ["Day", f"Scope ({unit})", f"Done ({unit})"],
        rows,
        "Scope and work done at the end of each sprint day: a rising scope line is work added "
        "after the start.",
    )


def _flow_block(series: SprintSeries) -> ChartBlock:
    rows = [
        [series.days[i].isoformat(), *(t.by_status if series.visible(i) else (None,) * 4)]
        for i, t in enumerate(series.per_day)
    ]
    return ChartBlock(
        "flow",
        "Cumulative flow",
        charts.cumulative_flow_figure(series),
        ["Day", *STATUSES.values()],
        rows,
        "Stories in the sprint by status at the end of each day. A widening middle band means "
        "work piles up in progress or review.",
    )


def _velocity_block(v: Velocity, sprint: Sprint) -> ChartBlock:
    rows = [[e.sprint.name, e.committed, e.completed] for e in v.sprints]
    notes = []
    if v.average is not None:
        notes.append(
            f"Average completed over {', '.join(e.sprint.name for e in v.window)}: "
            f"{v.average:.1f} points."
        )
    return ChartBlock(
        "velocity",
        "Velocity",
        charts.velocity_figure(v, highlight=sprint.id),
        ["Sprint", "Committed", "Completed"],
        rows,
        "Points committed at each closed sprint's start and completed by its end; the dotted "
        "line is the average of the last three, what planning counts on.",
        notes,
    )


def _stages_block(in_order: list[SprintSeries], stages: list[tuple[str, str]]) -> ChartBlock:
    used = [
        (key, name)
        for key, name in [*stages, (None, "No stage")]
        if any(st.stage == key for s in in_order for st in s.final_stories)
    ]
    rows = []
    for s in in_order:
        totals = points_by_stage(s)
        values = [totals.get(key, 0) for key, _ in used]
        rows.append([s.sprint.name, *values, sum(values)])
    return ChartBlock(
        "stages",
        "Points by ML stage",
        charts.stage_points_figure(in_order, stages),
        ["Sprint", *(name for _, name in used), "Total"],
        rows,
        "Where each sprint's points went across the ML lifecycle (the stories in the sprint at "
        "its last day).",
    )


def _roles_block(series: SprintSeries, check: PlanCheck, suggested: bool) -> ChartBlock:
    rows = [
        [line.name, line.needed, "–" if line.capacity is None else line.capacity, line.over_by]
        for line in check.lines
    ]
    rows.append(["All roles", check.needed, check.capacity, check.over_capacity_by])
    source = "suggested from history (none saved)" if suggested else "as planned"
    return ChartBlock(
        "roles",
        "Load by functional role",
        charts.role_load_figure(check, f"{series.sprint.name}: load by functional role"),
        ["Role", "Needed", "Capacity", "Over by"],
        rows,
        f"Points the sprint's stories need by the role named on them, against the capacity of "
        f"members holding that role ({source}).",
    )


def report_context(access: ProjectAccess, sprint_id: str | None):
    session = db.session()
    ctx = load_context(session, access.project)
    sprint = choose_sprint(ctx.sprints.values(), sprint_id, ("active", "closed"))
    if sprint is None:
        return ctx, None
    report = build_report(session, ctx, sprint, request.args.get("unit", "points"))
    session.commit()  # keeps a closed sprint's series computed just now (planner.domain.series)
    return ctx, report


@bp.get("/projects/<key>/reports")
@project_route()
@kept_page
def index(access: ProjectAccess):
    ctx, report = report_context(access, request.args.get("sprint"))
    return render_template(
        "reports/index.html", access=access, project=access.project, ctx=ctx, report=report
    )


@bp.get("/projects/<key>/reports/<int:sprint_id>/<chart>.csv")
@project_route()
def chart_csv(access: ProjectAccess, sprint_id: int, chart: str):
    """The numbers of one chart as CSV, the same rows as the table under it."""
    if chart not in CHARTS:
        abort(404)
    session = db.session()
    ctx = load_context(session, access.project)
    sprint = ctx.sprints.get(sprint_id)
    if sprint is None:
        abort(404)
    block = build_report(session, ctx, sprint, request.args.get("unit", "points")).block(chart)
    rows = ([None if cell == "–" else cell for cell in row] for row in block.rows)
    return download(
        csv_text(block.headers, rows),
        f"{access.project.key}-{sprint.name}-{chart}",
        "csv",
        "text/csv",
    )


@bp.get("/projects/<key>/reports/<int:sprint_id>/scope-changes.csv")
@project_route()
def scope_changes_csv(access: ProjectAccess, sprint_id: int):
    """Every scope change of the sprint after its start, as CSV (pages show the first rows)."""
    session = db.session()
    sprint = session.get(Sprint, sprint_id)
    if sprint is None or sprint.project_id != access.project.id:
        abort(404)
    series = series_for(session, access.project, sprint, now=utcnow())
    session.commit()  # keeps a closed sprint's series computed just now
    rows = ([c.day.isoformat(), c.story, c.change, c.points] for c in series.scope_changes)
    return download(
        csv_text(["Day", "Story", "Change", "Points"], rows),
        f"{access.project.key}-{sprint.name}-scope-changes",
        "csv",
        "text/csv",
    )


@bp.app_template_global()
def scope_csv_url(project_key: str, sprint_id: int) -> str:
    return url_for("reports.scope_changes_csv", key=project_key, sprint_id=sprint_id)


@bp.app_template_global()
def scope_rows_shown() -> int:
    return scope_changes.PAGE_ROWS


@bp.app_template_global()
def scope_per_day(changes) -> list:
    return scope_changes.per_day(changes)


@bp.app_template_filter("merge_args")
def merge_args(args: dict, **changes: Any) -> str:
    """The query string of `args` with `changes` applied (for links that switch one setting)."""
    return urlencode({**args, **changes})


@bp.app_template_global()
def csv_url(project_key: str, sprint_id: int, chart: str, unit: str) -> str:
    return url_for(
        "reports.chart_csv", key=project_key, sprint_id=sprint_id, chart=chart, unit=unit
    )
