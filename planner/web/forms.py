"""Flask-WTF forms. They parse and carry CSRF; the domain decides what is valid, and its per-field
messages are attached back to these fields so they show next to the input."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Response, flash, redirect, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from planner import db
from planner.domain import DomainError
from planner.domain.context import ProjectContext
from planner.domain.stories import EDITABLE_FIELDS, create_story
from planner.models import Story
from planner.timeutil import utcnow
from planner.vocab import (
    ACCESS_LEVELS,
    OUTCOMES,
    POINTS_SCALE,
    RISK_CATEGORIES,
    RISK_STATUSES,
    ROLES,
    STATUSES,
    STORY_TYPES,
    WEEKDAY_NAMES,
)


def options(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs, or a key -> name mapping, into select options."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [SelectChoice(value, label) for value, label in items]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def attach_errors(form: FlaskForm, errors: Mapping[str, str]) -> list[str]:
    """Put domain messages on the matching fields; return those that match no field."""
    unmatched = []
    for name, message in errors.items():
        field: Field | None = getattr(form, name, None)
        if isinstance(field, Field):
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        else:
            unmatched.append(message)
    return unmatched


class StoryForm(FlaskForm):
    title = StringField("Title")
    type = SelectField("Type", choices=options(STORY_TYPES), validate_choice=False)
    stage = SelectField("ML stage", validate_choice=False)
    role = SelectField("Role needed", validate_choice=False)
    points = SelectField(
        "Points",
        choices=options([("", "Unestimated"), *[(str(p), str(p)) for p in POINTS_SCALE]]),
        validate_choice=False,
    )
    status = SelectField("Status", choices=options(STATUSES), validate_choice=False)
    assignee = SelectField("Assignee", validate_choice=False)
    sprint = SelectField("Sprint", validate_choice=False)
    epic = SelectField("Epic", validate_choice=False)
    blocked = BooleanField("Blocked")
    description = TextAreaField("Description")
    hypothesis = TextAreaField("Hypothesis")
    metric = StringField("Metric")
    target = StringField("Target")
    outcome = SelectField(
        "Outcome", choices=options([("", "—"), *OUTCOMES.items()]), validate_choice=False
    )
    result = TextAreaField("Result")
    version = HiddenField()

    FIELDS = tuple(sorted(EDITABLE_FIELDS))

    def fill_choices(self, ctx: ProjectContext, story: Story | None = None) -> None:
        """Offer the project's stages, members, open sprints and epics, plus the story's own
        current values even when archived, closed or no longer a member, so saving an unrelated
        field never changes them."""
        stages = [
            (s.key, s.name + (" (archived)" if s.archived else ""))
            for s in ctx.stages.values()
            if not s.archived or (story is not None and s.id == story.stage_id)
        ]
        self.stage.choices = options([("", "No stage (cross-cutting)"), *stages])
        self.role.choices = options([("", "Any role"), *ROLES.items()])
        members = sorted(
            (m for m in ctx.members.values() if m.access != "view"),
            key=lambda m: m.account.name.lower(),
        )
        assignees = [(str(m.account_id), m.account.name) for m in members]
        if (
            story is not None
            and story.assignee_id
            and story.assignee_id not in {m.account_id for m in members}
        ):
            current = ctx.members.get(story.assignee_id)
            name = current.account.name if current else "Former member"
            assignees.append((str(story.assignee_id), name))
        self.assignee.choices = options([("", "Nobody"), *assignees])
        sprints = [
            (str(s.id), f"{s.name} ({s.state})")
            for s in ctx.sprints.values()
            if s.state != "closed" or (story is not None and s.id == story.sprint_id)
        ]
        self.sprint.choices = options([("", "Backlog"), *sprints])
        epics = [
            (e.key, f"{e.key} · {e.title}")
            for e in ctx.epics.values()
            if not e.archived or (story is not None and e.id == story.epic_id)
        ]
        self.epic.choices = options([("", "No epic"), *epics])

    def load(self, ctx: ProjectContext, story: Story) -> None:
        """Fill the form from a story."""
        stage = ctx.stage_by_id(story.stage_id)
        epic = ctx.epic_by_id(story.epic_id)
        self.title.data = story.title
        self.type.data = story.type
        self.stage.data = stage.key if stage else ""
        self.role.data = story.role or ""
        self.points.data = "" if story.points is None else str(story.points)
        self.status.data = story.status
        self.assignee.data = str(story.assignee_id) if story.assignee_id else ""
        self.sprint.data = str(story.sprint_id) if story.sprint_id else ""
        self.epic.data = epic.key if epic else ""
        self.blocked.data = story.blocked
        self.description.data = story.description or ""
        self.hypothesis.data = story.hypothesis or ""
        self.metric.data = story.metric or ""
        self.target.data = story.target or ""
        self.outcome.data = story.outcome or ""
        self.result.data = story.result or ""
        self.version.data = str(story.version)

    def values(self) -> dict:
        """Return the submitted values in the form the domain accepts. Fields the request left out
        are left out (not cleared); an unchecked checkbox is never sent, so it counts as False."""
        return {
            name: self[name].data
            for name in self.FIELDS
            if self[name].name in request.form or isinstance(self[name], BooleanField)
        }


class QuickStoryForm(FlaskForm):
    """The one-line create form on the project page and the backlog."""

    title = StringField("New story")
    type = SelectField("Type", choices=options(STORY_TYPES), validate_choice=False)
    stage = SelectField("Stage", validate_choice=False)
    points = SelectField(
        "Points",
        choices=options([("", "–"), *[(str(p), str(p)) for p in POINTS_SCALE]]),
        validate_choice=False,
    )

    @classmethod
    def for_project(cls, ctx: ProjectContext) -> QuickStoryForm:
        """Build the form with the project's open stages to pick from."""
        form = cls()
        form.stage.choices = options(
            [("", "No stage"), *((s.key, s.name) for s in ctx.stages.values() if not s.archived)]
        )
        return form

    def values(self) -> dict:
        return {
            "title": self.title.data or "",
            "type": self.type.data,
            "stage": self.stage.data,
            "points": self.points.data,
        }


class ProjectForm(FlaskForm):
    key = StringField("Key", description="2 to 10 capital letters or digits, like FRAUD.")
    name = StringField("Name")
    description = TextAreaField("Description")
    timezone = StringField(
        "Timezone", default="UTC", description="IANA name, like Europe/Berlin or America/Chicago."
    )
    working_days = MultiCheckboxField(
        "Working days",
        choices=options((str(n), name) for n, name in WEEKDAY_NAMES.items()),
        default=["1", "2", "3", "4", "5"],
        validate_choice=False,
    )
    holidays = TextAreaField(
        "Holidays", description="One date per line, as YYYY-MM-DD. Sprint charts skip them."
    )
    sprint_length_days = IntegerField(
        "Default sprint length (days)", default=14, validators=[Optional()]
    )
    slip_tolerance_days = IntegerField(
        "Milestone slip tolerance (days)",
        default=7,
        validators=[Optional()],
        description="A milestone slipping more than this is late rather than at risk.",
    )
    # Settings page only (templates/projects/settings.html, "MLflow and gates").
    mlflow_tracking_uri = StringField(
        "MLflow tracking server",
        description="The http(s) address of your team's MLflow server, like "
        "https://mlflow.example.com. Blank: the site's default.",
    )
    enforce_gates = BooleanField("Refuse to start stories behind an open or failed gate")


class MemberForm(FlaskForm):
    email = EmailField("Email")
    access = SelectField(
        "Access", choices=options(ACCESS_LEVELS), default="edit", validate_choice=False
    )
    roles = MultiCheckboxField("Functional roles", choices=options(ROLES), validate_choice=False)


class MemberEditForm(FlaskForm):
    access = SelectField("Access", choices=options(ACCESS_LEVELS), validate_choice=False)
    roles = MultiCheckboxField("Functional roles", choices=options(ROLES), validate_choice=False)


class StageForm(FlaskForm):
    key = StringField("Key", description="Lowercase, like safety_review. It never changes.")
    name = StringField("Name")


class AccountForm(FlaskForm):
    email = EmailField("Email")
    name = StringField("Name")
    password = PasswordField(
        "Password", description="At least 8 characters. Leave empty to set it later."
    )
    is_admin = BooleanField("Site admin")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[InputRequired("Enter a password.")])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for buttons that post."""


class SprintForm(FlaskForm):
    name = StringField("Name")
    goal = TextAreaField("Goal", description="One sentence the team can check at the review.")
    start = StringField("Start date", render_kw={"type": "date"})
    end = StringField("End date", render_kw={"type": "date"})


class EpicForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("Description")
    stage = SelectField("ML stage", validate_choice=False)
    milestone = SelectField("Milestone it delivers", validate_choice=False)


class MilestoneForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description", description="What 'done' means for it.")
    stage = SelectField("ML stage", validate_choice=False)
    baseline = StringField(
        "Baseline date",
        render_kw={"type": "date"},
        description="The date first promised. It never changes with forecasts.",
    )
    epics = MultiCheckboxField("Epics that deliver it", validate_choice=False)
    metric = StringField(
        "Target metric", description="The metric's name as MLflow logs it, like val_recall."
    )
    target = StringField("Target", description="A comparison and a number, like >= 0.85.")


class ForecastForm(FlaskForm):
    reported_on = StringField("Reported on", render_kw={"type": "date"})
    forecast = StringField("Forecast date", render_kw={"type": "date"})
    note = TextAreaField("Why", description="Say what changed: stakeholders read this.")


class AchievedForm(FlaskForm):
    achieved = StringField(
        "Achieved on",
        render_kw={"type": "date"},
        description="Leave empty to mark it not achieved.",
    )


class RiskForm(FlaskForm):
    title = StringField("Title")
    category = SelectField("Category", choices=options(RISK_CATEGORIES), validate_choice=False)
    likelihood = SelectField(
        "Likelihood",
        choices=options([(str(n), f"{n} of 5") for n in range(1, 6)]),
        validate_choice=False,
    )
    impact = SelectField(
        "Impact",
        choices=options([(str(n), f"{n} of 5") for n in range(1, 6)]),
        validate_choice=False,
    )
    status = SelectField("Status", choices=options(RISK_STATUSES), validate_choice=False)
    owner = SelectField("Owner", validate_choice=False)
    milestone = SelectField("Threatens milestone", validate_choice=False)
    review_on = StringField("Review on", render_kw={"type": "date"})
    description = TextAreaField("Description")
    mitigation = TextAreaField("Mitigation")
    stories = StringField("Linked stories", description="Story keys, like FRAUD-12 FRAUD-40.")

    FIELDS = (
        "title",
        "category",
        "likelihood",
        "impact",
        "status",
        "owner",
        "milestone",
        "review_on",
        "description",
        "mitigation",
        "stories",
    )


class ShareLinkForm(FlaskForm):
    label = StringField("Who is it for?", description="For example: Steering committee, Q2.")
    expires_on = StringField(
        "Works until",
        render_kw={"type": "date"},
        description="The last day it opens the dashboard. Leave empty for no end date.",
    )


@dataclass
class Submitted:
    """What `submit` did: `response` is the redirect after a success (return it); otherwise the
    page renders again with `status` and the messages next to the fields."""

    response: Response | None
    status: int
    error: DomainError | None = None  # the refusal, when the page wants to say more about it


def submit(
    form: FlaskForm,
    action: Callable[[], Any],
    *,
    done: str | Callable[[Any], str],
    then: str | Callable[[Any], str],
    blame: str = "",
    handled: tuple[type[DomainError], ...] = (),
) -> Submitted:
    """The one path of a page form: check the fields, run the domain action in the request's
    transaction, then either commit, say what happened and redirect (`then`), or roll back and
    put each message next to its field (422; messages for no field are flashed). A refusal that
    names no field is put on `blame`, when given. Refusals of the `handled` kinds are only
    returned (with their own status), for the page to show its way."""
    session = db.session()
    if not form.validate():  # CSRFProtect has checked the token; these are the fields' own checks
        return Submitted(None, 422)
    try:
        result = action()
    except DomainError as exc:
        session.rollback()
        if isinstance(exc, handled):
            return Submitted(None, exc.status_code, exc)
        for message in attach_errors(form, exc.details or {blame: exc.message}):
            flash(message, "error")
        return Submitted(None, 422, exc)
    session.commit()
    flash(done(result) if callable(done) else done, "success")
    return Submitted(redirect(then(result) if callable(then) else then), 302)


def act(
    action: Callable[[], Any],
    *,
    then: str | Callable[[Any], str],
    done: str | Callable[[Any], str | None] | None = None,
    failed: str = "",
    failed_then: str | None = None,
) -> Response:
    """The one path of a button (a post that carries no form of its own to show again): run the
    domain action in the request's transaction, then commit, say `done` and redirect to `then`;
    or roll back, flash each reason after `failed`, and redirect to `failed_then` (or `then`)."""
    session = db.session()
    try:
        result = action()
    except DomainError as exc:
        session.rollback()
        for message in (exc.details or {"": exc.message}).values():
            flash(f"{failed}{message}", "error")
        return redirect(failed_then or (then if isinstance(then, str) else then(None)))
    session.commit()
    if text := (done(result) if callable(done) else done):
        flash(text, "success")
    return redirect(then(result) if callable(then) else then)


def quick_create(
    ctx: ProjectContext, form: FlaskForm, *, done: str, then: Callable[[Any], str]
) -> Submitted:
    """Add a story from a page's one-line form (the project page, the backlog). `done` may name
    the new story as {key}."""
    return submit(
        form,
        lambda: create_story(db.session(), ctx, form.values(), by=current_user, now=utcnow()),
        done=lambda story: done.format(key=story.key_in(ctx.project.key)),
        then=then,
    )
