"""Milestones (list with the trend and slip charts, detail with re-forecasting and a suggested
date) and the risk register (heat map, list, create and edit)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from planner import charts, db
from planner.authz import project_route
from planner.charts.metric_trend import metric_trend_figure
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext, load_context
from planner.domain.gates import status_rows as gate_status_rows
from planner.domain.history import calendar_of, load_series
from planner.domain.metric_trend import metric_trends
from planner.domain.milestones import (
    add_forecast,
    create_milestone,
    milestones_of,
    set_achieved,
    state_of,
    suggest_forecast,
    update_milestone,
)
from planner.domain.risks import (
    create_risk,
    risk_history,
    risk_story_keys,
    risks_of,
    update_risk,
)
from planner.forecasting import ACTIVE_RISK_STATUSES, heat_map, risk_level
from planner.metrics import velocity
from planner.models import Milestone, Risk
from planner.signin import require_login
from planner.timeutil import local_today, utcnow
from planner.vocab import RISK_CATEGORIES, RISK_STATUSES
from planner.web import format_date
from planner.web.forms import (
    AchievedForm,
    ForecastForm,
    MilestoneForm,
    RiskForm,
    options,
    submit,
)

bp = Blueprint("milestones", __name__)
bp.before_request(require_login)


def today_for(project) -> object:
    return local_today(project.timezone)


def milestone_rows(milestones, tolerance: int):
    return [(m, state_of(m, tolerance)) for m in milestones]


def trend_and_slip(rows):
    trend = charts.trend_figure([(m.name, m.forecasts, m.achieved) for m, _ in rows])
    slip = charts.slip_figure([(m.name, s.slip_days, s.status) for m, s in rows])
    return trend, slip


def metric_trend_blocks(session, project, milestones, ctx: ProjectContext, today=None) -> list:
    """(milestone, trend, figure or None) for each milestone with a target metric, for the
    milestone page and the dashboard: one query for the run links of them all."""
    sprints = ctx.sprints.values()
    trends = metric_trends(
        session, project, milestones, today=today, sprints=sprints, day_text=format_date
    )
    by_id = {m.id: m for m in milestones}
    return [
        (by_id[t.milestone_id], t, metric_trend_figure(t) if t.has_chart else None) for t in trends
    ]


def _milestone_form(ctx: ProjectContext) -> MilestoneForm:
    form = MilestoneForm()
    form.stage.choices = options(
        [("", "No stage"), *((s.key, s.name) for s in ctx.stages.values() if not s.archived)]
    )
    form.epics.choices = options(
        (e.key, f"{e.key} · {e.title}") for e in ctx.epics.values() if not e.archived
    )
    return form


def _milestone_values(form: MilestoneForm) -> dict:
    return {
        "name": form.name.data or "",
        "description": form.description.data,
        "stage": form.stage.data,
        "baseline": form.baseline.data or "",
        "epics": form.epics.data or [],
        "metric": form.metric.data or "",
        "target": form.target.data or "",
    }


@bp.route("/projects/<key>/milestones", methods=["GET", "POST"])
@project_route(write="manage")
def index(access: ProjectAccess):
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    form = _milestone_form(ctx)
    status = 200
    if request.method == "POST":
        outcome = submit(
            form,
            lambda: create_milestone(session, ctx, _milestone_values(form)),
            done=lambda m: f"Milestone {m.name} added with baseline {m.baseline}.",
            then=lambda m: url_for("milestones.show", key=project.key, milestone_id=m.id),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        ctx = load_context(session, project)
    rows = milestone_rows(milestones_of(session, project), project.slip_tolerance_days)
    trend, slip = trend_and_slip(rows)
    return (
        render_template(
            "milestones/index.html",
            access=access,
            project=project,
            ctx=ctx,
            rows=rows,
            trend=trend,
            slip=slip,
            form=form,
        ),
        status,
    )


def _milestone(session, access: ProjectAccess, milestone_id: int) -> Milestone:
    found = next((m for m in milestones_of(session, access.project) if m.id == milestone_id), None)
    if found is None:
        abort(404)
    return found


@bp.route("/projects/<key>/milestones/<int:milestone_id>", methods=["GET", "POST"])
@project_route(write="manage")
def show(access: ProjectAccess, milestone_id: int):
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    milestone = _milestone(session, access, milestone_id)
    today = today_for(project)
    form = _milestone_form(ctx)
    forecast_form = ForecastForm(prefix="f")
    achieved_form = AchievedForm(prefix="a")
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "")
        if action == "forecast":
            sent, run, done = (
                forecast_form,
                lambda: add_forecast(
                    session,
                    project,
                    milestone,
                    {
                        "reported_on": forecast_form.reported_on.data,
                        "forecast": forecast_form.forecast.data,
                        "note": forecast_form.note.data,
                    },
                    by_id=current_user.id,
                    today=today,
                ),
                lambda row: f"Forecast {row.forecast} recorded (reported {row.reported_on}).",
            )
        elif action == "achieved":
            sent, run, done = (
                achieved_form,
                lambda: set_achieved(
                    session,
                    project,
                    milestone,
                    achieved_form.achieved.data,
                    today=today,
                    by=current_user,
                ),
                lambda _: (
                    f"{milestone.name} marked achieved on {milestone.achieved}."
                    if milestone.achieved
                    else f"{milestone.name} is no longer achieved."
                ),
            )
        elif action == "edit":
            sent, run, done = (
                form,
                lambda: update_milestone(session, ctx, milestone, _milestone_values(form)),
                lambda _: f"{milestone.name} saved.",
            )
        else:
            abort(400, description=f"Unknown milestone action {action!r:.40}.")
        outcome = submit(
            sent,
            run,
            done=done,
            then=url_for("milestones.show", key=project.key, milestone_id=milestone_id),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        ctx = load_context(session, project)
        milestone = _milestone(session, access, milestone_id)
    if request.method == "GET" or status == 422 and request.form.get("action") != "edit":
        stage = ctx.stage_by_id(milestone.stage_id)
        form.name.data, form.description.data = milestone.name, milestone.description or ""
        form.stage.data = stage.key if stage else ""
        form.baseline.data = milestone.baseline.isoformat()
        form.epics.data = [e.key for e in ctx.epics.values() if e.milestone_id == milestone.id]
        form.metric.data, form.target.data = milestone.metric or "", milestone.target or ""
    if not forecast_form.reported_on.data:
        forecast_form.reported_on.data = today.isoformat()
    if request.method == "GET" and milestone.achieved:
        achieved_form.achieved.data = milestone.achieved.isoformat()
    suggestion = None
    if access.can_manage and milestone.achieved is None:
        closed = [s for s in ctx.sprints.values() if s.state == "closed"]
        history = load_series(
            session, project, closed, now=utcnow(), calendar=calendar_of(session, project)
        )
        v = velocity(history.values())
        active = next((s for s in ctx.sprints.values() if s.state == "active"), None)
        suggestion = suggest_forecast(
            session,
            ctx,
            milestone,
            completed=[e.completed for e in v.sprints],
            window=[e.sprint.name for e in v.window],
            average=v.average,
            calendar=calendar_of(session, project),
            active=active,
            today=today,
        )
    state = state_of(milestone, project.slip_tolerance_days)
    trend, _ = trend_and_slip([(milestone, state)])
    metric_block = metric_trend_blocks(session, project, [milestone], ctx, today) or [(0, 0, 0)]
    return (
        render_template(
            "milestones/show.html",
            access=access,
            project=project,
            ctx=ctx,
            milestone=milestone,
            state=state,
            trend=trend,
            form=form,
            forecast_form=forecast_form,
            achieved_form=achieved_form,
            suggestion=suggestion,
            today=today,
            metric_trend=metric_block[0][1] or None,
            metric_figure=metric_block[0][2] or None,
            gate_rows=gate_status_rows(  # gates of the stages up to the milestone's (or all)
                session, project, up_to=ctx.stage_by_id(milestone.stage_id)
            ),
        ),
        status,
    )


# --- risks -------------------------------------------------------------------------------------


def _risk_form(ctx: ProjectContext, milestones) -> RiskForm:
    form = RiskForm()
    form.owner.choices = options(
        [
            ("", "Nobody yet"),
            *(
                (str(m.account_id), m.account.name)
                for m in sorted(ctx.members.values(), key=lambda m: m.account.name)
            ),
        ]
    )
    form.milestone.choices = options([("", "None"), *((str(m.id), m.name) for m in milestones)])
    return form


def _risk_values(form: RiskForm) -> dict:
    return {name: form[name].data for name in RiskForm.FIELDS}


def risk_filters(args) -> dict:
    wanted = {
        "status": args.get("status", ""),
        "category": args.get("category", ""),
        "likelihood": args.get("likelihood", ""),
        "impact": args.get("impact", ""),
    }
    valid = {
        "status": set(RISK_STATUSES) | {"active"},
        "category": set(RISK_CATEGORIES),
        "likelihood": {str(n) for n in range(1, 6)},
        "impact": {str(n) for n in range(1, 6)},
    }
    return {k: v for k, v in wanted.items() if v in valid[k]}


def keep(risk: Risk, filters: dict) -> bool:
    if filters.get("status") == "active" and risk.status not in ACTIVE_RISK_STATUSES:
        return False
    if filters.get("status") not in (None, "active") and risk.status != filters["status"]:
        return False
    if "category" in filters and risk.category != filters["category"]:
        return False
    if "likelihood" in filters and str(risk.likelihood) != filters["likelihood"]:
        return False
    return "impact" not in filters or str(risk.impact) == filters["impact"]


@bp.route("/projects/<key>/risks", methods=["GET", "POST"])
@project_route(write="manage")
def risks(access: ProjectAccess):
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    milestones = milestones_of(session, project)
    form = _risk_form(ctx, milestones)
    status = 200
    if request.method == "POST":
        outcome = submit(
            form,
            lambda: create_risk(session, ctx, _risk_values(form), now=utcnow(), by=current_user),
            done=lambda risk: f"Risk “{risk.title}” added.",
            then=url_for("milestones.risks", key=project.key),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        ctx = load_context(session, project)
    everything = risks_of(session, project)
    filters = risk_filters(request.args)
    shown = [r for r in everything if keep(r, filters)]
    active = [r for r in everything if r.status in ACTIVE_RISK_STATUSES]
    cells = heat_map([(r.likelihood, r.impact) for r in active])
    return (
        render_template(
            "milestones/risks.html",
            access=access,
            project=project,
            ctx=ctx,
            risks=shown,
            total=len(everything),
            filters=filters,
            cells=cells,
            heat=charts.heat_map_figure(cells),
            keys=risk_story_keys(session, project),
            milestones={m.id: m for m in milestones},
            level=risk_level,
            form=form,
        ),
        status,
    )


@bp.route("/projects/<key>/risks/<int:risk_id>", methods=["GET", "POST"])
@project_route(write="manage")
def risk(access: ProjectAccess, risk_id: int):
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    found = next((r for r in risks_of(session, project) if r.id == risk_id), None)
    if found is None:
        abort(404)
    milestones = milestones_of(session, project)
    form = _risk_form(ctx, milestones)
    status = 200
    if request.method == "GET":
        form.title.data, form.description.data = found.title, found.description or ""
        form.category.data, form.status.data = found.category, found.status
        form.likelihood.data, form.impact.data = str(found.likelihood), str(found.impact)
        form.owner.data = str(found.owner_id) if found.owner_id else ""
        form.milestone.data = str(found.milestone_id) if found.milestone_id else ""
        form.mitigation.data = found.mitigation or ""
        form.review_on.data = found.review_on.isoformat() if found.review_on else ""
        form.stories.data = " ".join(risk_story_keys(session, project).get(found.id, []))
    else:
        outcome = submit(
            form,
            lambda: update_risk(
                session, ctx, found, _risk_values(form), now=utcnow(), by=current_user
            ),
            done=lambda _: f"Risk “{found.title}” saved.",
            then=url_for("milestones.risks", key=project.key),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
    return (
        render_template(
            "milestones/risk.html",
            access=access,
            project=project,
            risk=found,
            form=form,
            level=risk_level,
            history=risk_history(session, [found.id]).get(found.id, []),
        ),
        status,
    )
