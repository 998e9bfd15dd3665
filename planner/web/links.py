"""The "Links" section of the story, epic and milestone pages: artefact links with their live
MLflow details (or why planner could not read them), a small form per kind to add one, and a
Remove button. Forms post here and come back to the page; a refused link is shown again on a page
of its own with the message next to the field (nothing is stored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.authz import project_route
from planner.domain import DomainError, NotFoundError
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.domain.links import (
    LinkView,
    create_link,
    delete_link,
    find_link,
    links_of_owner,
    live,
    owner_kind,
    write_level,
)
from planner.domain.targets import format_number
from planner.models import Epic, Milestone, Story
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.vocab import LINK_KINDS

bp = Blueprint("links", __name__)
bp.before_request(require_login)

# The fields of each kind's form, as (name, label, hint). A run takes its id or its address in
# one field ("run"); the domain gets run_id or url.
FORM_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "mlflow_run": (
        ("run", "Run id or MLflow address", "The run's id, or its page's address in MLflow."),
        ("tracking_uri", "Tracking server", "Blank: the project's. An http(s) address."),
    ),
    "mlflow_model_version": (
        ("name", "Registered model", ""),
        ("version", "Version or alias", "A number (3) or an alias (champion)."),
    ),
    "dataset": (
        ("uri", "Dataset URI", "s3://…, dvc://…, lakefs://…, a table"),
        ("version", "Version or content hash", ""),
    ),
    "commit": (("url", "Commit or merge request address", "https://…"),),
    "document": (
        ("title", "Document title", "Model card, DPIA, evaluation report…"),
        ("url", "Address", "https://…"),
    ),
}
SHOWN = 8  # metrics and params shown before "n more"


@dataclass
class LinksSection:
    """What templates/links/_section.html shows for one story, epic or milestone."""

    owner_kind: str
    label: str
    add_url: str
    can_change: bool
    views: list[LinkView]
    timezone: str
    focus: str | None = None  # the owner's metric (an experiment's, a milestone's target)
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    open_kind: str | None = None

    def metric_rows(self, metrics: dict[str, float]) -> list[tuple[str, float, bool]]:
        """(key, latest value, is the owner's metric): the owner's metric first, then A to Z."""
        rows = sorted(metrics.items(), key=lambda item: (item[0] != self.focus, item[0]))
        return [(key, value, key == self.focus) for key, value in rows]

    def param_rows(self, params: dict[str, str]) -> list[tuple[str, str, bool]]:
        """(key, value, False), A to Z (rows shaped as metric_rows' for the template)."""
        return [(key, value, False) for key, value in sorted(params.items())]


def took(start: datetime | None, end: datetime | None) -> str:
    """How long a run took: "41 min", "2 h 5 min", "12 s"; "" when not finished."""
    if start is None or end is None or end < start:
        return ""
    seconds = int((end - start).total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _label(owner, project_key: str) -> str:
    if isinstance(owner, Story):
        return owner.key_in(project_key)
    if isinstance(owner, Epic):
        return owner.key
    return owner.name


def _add_url(owner, project_key: str) -> str:
    if isinstance(owner, Story):
        return url_for("links.add_story_link", key=project_key, number=owner.number)
    if isinstance(owner, Epic):
        return url_for("links.add_epic_link", key=project_key, epic_key=owner.key)
    return url_for("links.add_milestone_link", key=project_key, milestone_id=owner.id)


def _page_url(owner, project_key: str) -> str:
    if isinstance(owner, Story):
        return url_for("stories.show", key=project_key, number=owner.number)
    if isinstance(owner, Epic):
        return url_for("epics.edit", key=project_key, epic_key=owner.key)
    return url_for("milestones.show", key=project_key, milestone_id=owner.id)


def _can_change(access: ProjectAccess, owner) -> bool:
    return access.can("manage" if isinstance(owner, Milestone) else "edit")


def section_for(access: ProjectAccess, owner, **extra) -> LinksSection:
    """The section of one owner: its links (one query) with their live details."""
    project = access.project
    return LinksSection(
        owner_kind=owner_kind(owner),
        label=_label(owner, project.key),
        add_url=_add_url(owner, project.key),
        can_change=_can_change(access, owner),
        views=live(project, links_of_owner(db.session(), owner)),
        timezone=project.timezone,
        focus=getattr(owner, "metric", None) or None,
        **extra,
    )


@bp.app_context_processor
def link_loaders() -> dict:
    """links_section(access, owner) for templates/links/_section.html, so that any page holding
    a story, an epic or a milestone can include it."""
    return {
        "links_section": section_for,
        "link_form_fields": FORM_FIELDS,
        "link_kinds": LINK_KINDS,
        "metric_value": format_number,
        "links_shown": SHOWN,
        "run_took": took,
    }


# --- adding --------------------------------------------------------------------------------------


def _values(kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """(what the form sent for `kind`, the domain's values from it)."""
    sent = {name: (request.form.get(name) or "") for name, _, _ in FORM_FIELDS.get(kind, ())}
    values: dict[str, str] = {"kind": kind}
    for name, text in sent.items():
        if name == "run":
            text = text.strip()
            values["url" if text.lower().startswith(("http://", "https://")) else "run_id"] = text
        elif text.strip():
            values[name] = text
    return sent, values


def _form_errors(errors: dict[str, str], kind: str) -> dict[str, str]:
    """The domain's fields as the form's: a run's id and address are one field."""
    shown: dict[str, str] = {}
    names = {name for name, _, _ in FORM_FIELDS.get(kind, ())}
    for name, message in errors.items():
        name = "run" if kind == "mlflow_run" and name in ("run_id", "url") else name
        shown.setdefault(name if name in names else "kind", message)
    return shown


def _add(access: ProjectAccess, owner):
    session = db.session()
    project = access.project
    kind = request.form.get("kind", "")
    sent, values = _values(kind)
    try:
        create_link(session, project, owner, values, by=current_user, now=utcnow())
    except DomainError as exc:
        session.rollback()
        section = section_for(
            access,
            owner,
            values=sent,
            errors=_form_errors(exc.details or {"kind": exc.message}, kind),
            open_kind=kind if kind in LINK_KINDS else None,
        )
        page = render_template(
            "links/add.html",
            access=access,
            project=project,
            section=section,
            back=_page_url(owner, project.key),
        )
        return page, 422
    session.commit()
    flash(f"{_label(owner, project.key)}: {LINK_KINDS[kind]} linked.", "success")
    return redirect(_page_url(owner, project.key) + "#links")


@bp.post("/projects/<key>/stories/<int:number>/links")
@project_route(write="edit")
def add_story_link(access: ProjectAccess, number: int):
    story = db.session().scalar(
        select(Story).where(Story.project_id == access.project.id, Story.number == number)
    )
    if story is None:
        abort(404)
    return _add(access, story)


@bp.post("/projects/<key>/epics/<epic_key>/links")
@project_route(write="edit")
def add_epic_link(access: ProjectAccess, epic_key: str):
    epic = load_context(db.session(), access.project).epics.get(epic_key)
    if epic is None:
        abort(404)
    return _add(access, epic)


@bp.post("/projects/<key>/milestones/<int:milestone_id>/links")
@project_route(write="manage")
def add_milestone_link(access: ProjectAccess, milestone_id: int):
    milestone = db.session().scalar(
        select(Milestone).where(
            Milestone.project_id == access.project.id, Milestone.id == milestone_id
        )
    )
    if milestone is None:
        abort(404)
    return _add(access, milestone)


# --- removing ------------------------------------------------------------------------------------


@bp.post("/projects/<key>/links/<int:link_id>/delete")
@project_route(write="edit")
def remove_link(access: ProjectAccess, link_id: int):
    session = db.session()
    try:
        link, project_key = find_link(session, link_id)
    except NotFoundError:
        abort(404)
    if project_key != access.project.key:
        abort(404)
    if write_level(link) == "manage" and not access.can_manage:
        abort(403, description="Only members with manage access change a milestone's links.")
    if link.story_id is not None:
        owner = session.get(Story, link.story_id)
    elif link.epic_id is not None:
        owner = session.get(Epic, link.epic_id)
    else:
        owner = session.get(Milestone, link.milestone_id)
    delete_link(session, link)
    session.commit()
    flash(f"{_label(owner, project_key)}: {LINK_KINDS[link.kind]} link removed.", "success")
    return redirect(_page_url(owner, project_key) + "#links")
