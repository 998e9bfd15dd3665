"""The stakeholder dashboard (what view members land on), its read-only share links, and the
public page a share link opens."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from planner import charts, db
from planner.authz import project_route
from planner.domain import DomainError, parse_id
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext, load_context
from planner.domain.gates import status_rows as gate_status_rows
from planner.domain.history import load_series
from planner.domain.milestones import (
    milestones_of,
)
from planner.domain.sharing import (
    create_share_link,
    last_change,
    link_state,
    project_for_token,
    revoke_share_link,
    share_links_of,
    sharers,
)
from planner.forecasting import ACTIVE_RISK_STATUSES, heat_map, risk_level
from planner.models import Project, Risk, ShareLink, Story
from planner.pagecache import kept, kept_page, page_now
from planner.signin import require_login
from planner.timeutil import local_date, utcnow
from planner.urls import absolute_url
from planner.web.forms import EmptyForm, ShareLinkForm, act, attach_errors
from planner.web.milestones import metric_trend_blocks, milestone_rows, trend_and_slip

bp = Blueprint("dashboard", __name__)
bp.before_request(require_login)
public = Blueprint("share", __name__)  # no sign-in: the token is the permission
SHARED_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class StageProgress:
    name: str
    points_done: int
    points_total: int
    stories_done: int
    stories_total: int

    @property
    def percent(self) -> int:
        if self.points_total:
            return round(100 * self.points_done / self.points_total)
        return round(100 * self.stories_done / self.stories_total) if self.stories_total else 0


def stage_progress(session, ctx: ProjectContext) -> list[StageProgress]:
    """Done and total points and stories per ML lifecycle stage, from the stories as they are."""
    done = Story.status == "done"
    rows = {
        stage_id: (int(pd), int(pt), int(sd or 0), int(st))
        for stage_id, pd, pt, sd, st in session.execute(
            select(
                Story.stage_id,
                func.coalesce(func.sum(case((done, Story.points), else_=0)), 0),
                func.coalesce(func.sum(Story.points), 0),
                func.sum(case((done, 1), else_=0)),
                func.count(Story.id),
            )
            .where(Story.project_id == ctx.project.id)
            .group_by(Story.stage_id)
        )
    }
    result = [
        StageProgress(stage.name, *rows[stage.id])
        for stage in ctx.stages.values()
        if stage.id in rows
    ]
    if None in rows:
        result.append(StageProgress("Cross-cutting (no stage)", *rows[None]))
    return result


def open_risks(session, project: Project) -> list[Risk]:
    """The project's open and mitigating risks, biggest first (as the register orders them),
    each with its owner, in one query."""
    return list(
        session.scalars(
            select(Risk)
            .where(Risk.project_id == project.id, Risk.status.in_(ACTIVE_RISK_STATUSES))
            .options(joinedload(Risk.owner))
            .order_by((Risk.likelihood * Risk.impact).desc(), Risk.id)
        )
    )


def dashboard_data(session, project: Project) -> dict:
    """Everything the dashboard shows, in a bounded number of queries."""
    ctx = load_context(session, project)
    rows = milestone_rows(milestones_of(session, project), project.slip_tolerance_days)
    trend, slip = trend_and_slip(rows)
    active = next((s for s in ctx.sprints.values() if s.state == "active"), None)
    sprint = None
    if active is not None:
        series = load_series(session, project, [active], now=utcnow())[active.id]
        today = local_date(utcnow(), project.timezone)
        sprint = {
            "sprint": active,
            "series": series,
            "figure": charts.burndown_figure(series),
            "done": series.final.done_points,
            "scope": series.final.scope_points,
            "days_left": max((active.end_date - today).days, 0),
        }
    risks = open_risks(session, project)
    cells = heat_map([(r.likelihood, r.impact) for r in risks])
    return {
        "project": project,
        "ctx": ctx,
        "rows": rows,
        "trend": trend,
        "slip": slip,
        "stages": stage_progress(session, ctx),
        "current": sprint,
        "top_risks": risks[:5],
        "open_risk_count": len(risks),
        "cells": cells,
        "heat": charts.heat_map_figure(cells),
        "level": risk_level,
        "metric_trends": metric_trend_blocks(session, project, [m for m, _ in rows], ctx),
        "gate_rows": gate_status_rows(session, project),  # gates: their states for stakeholders
        "updated": last_change(session, project),
        "generated": page_now(),
    }


@bp.get("/projects/<key>/dashboard")
@project_route()
@kept_page
def index(access: ProjectAccess):
    data = dashboard_data(db.session(), access.project)
    return render_template("dashboard/index.html", access=access, public=False, **data)


@bp.route("/projects/<key>/share", methods=["GET", "POST"])
@project_route(write="manage")
def links(access: ProjectAccess):
    access.require("manage")
    session = db.session()
    form = ShareLinkForm()
    created_url = None
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "revoke":
            link = session.scalar(
                select(ShareLink).where(
                    ShareLink.id == (parse_id(request.form.get("link")) or -1),
                    ShareLink.project_id == access.project.id,
                )
            )
            if link is None:
                abort(404)
            return act(
                lambda: revoke_share_link(session, link, now=utcnow()),
                done=f"The link for {link.label} is revoked: it opens nothing any more.",
                then=url_for("dashboard.links", key=access.project.key),
            )
        if not form.validate():
            abort(400)
        try:
            link, token = create_share_link(
                session,
                access.project,
                form.label.data or "",
                by_id=current_user.id,
                now=utcnow(),
                expires_on=form.expires_on.data,
            )
        except DomainError as exc:
            session.rollback()
            attach_errors(form, exc.details)
            status = 422
        else:
            session.commit()
            created_url = absolute_url("share.dashboard", token=token)
            form = ShareLinkForm(formdata=None)
    return (
        render_template(
            "dashboard/share.html",
            access=access,
            project=access.project,
            links=share_links_of(session, access.project),
            sharers=sharers(session, access.project),
            today=local_date(utcnow(), access.project.timezone),
            link_state=link_state,
            form=form,
            button=EmptyForm(),
            created_url=created_url,
        ),
        status,
    )


@public.get("/share/<token>")
def dashboard(token: str):
    """The dashboard, read-only, for whoever holds a live share link; 404 once revoked."""
    session = db.session()
    project = project_for_token(session, token, now=utcnow())
    if project is None:
        abort(404)

    def draw():
        data = dashboard_data(session, project)
        response = render_template("dashboard/index.html", access=None, public=True, **data)
        return response, 200, SHARED_PAGE_HEADERS

    # Kept like the members' dashboard: the link is checked above on every request (revoked,
    # expired, its maker no longer a manager), the page is answered from the kept copy. It
    # reads no query string: anyone holding the link gets the one copy, whatever they add.
    return kept(project, draw, query=False)
