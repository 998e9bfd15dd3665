"""Projects: settings and calendar, members and their roles, lifecycle stages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from planner import mlflow_reader
from planner.domain import DomainError, ValidationError, required_text, text_value
from planner.domain.accounts import check_email, find_account, normalise_email
from planner.domain.context import lock_project
from planner.domain.links import tracking_uri_problem
from planner.inputs import SPRINT_MAX_DAYS, TEXT_LIMITS, date_problem
from planner.models import Account, Holiday, Membership, MembershipRole, Project, Stage
from planner.timeutil import is_timezone
from planner.vocab import (
    ACCESS_LEVELS,
    DEFAULT_SLIP_TOLERANCE_DAYS,
    DEFAULT_SPRINT_LENGTH_DAYS,
    DEFAULT_STAGES,
    DEFAULT_WORKING_DAYS,
    ROLES,
)

PROJECT_KEY_RE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
STAGE_NAME_MAX = 80
STAGE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def check_project_key(key: str) -> str | None:
    """Return a message when `key` cannot be a project key, else None."""
    if not key:
        return "Enter a key, like FRAUD."
    if not PROJECT_KEY_RE.fullmatch(key):
        return "Use 2 to 10 capital letters or digits, starting with a letter (like FRAUD or CV2)."
    return None


def check_settings(values: dict, *, stored_uri: str | None = None) -> dict[str, str]:
    """Return per-field messages for project settings that cannot be accepted."""
    errors: dict[str, str] = {}
    if "name" in values:
        _, problem = required_text(
            values["name"], max_len=TEXT_LIMITS["name"], empty="Enter a name."
        )
        if problem:
            errors["name"] = problem
    if "description" in values:
        _, problem = text_value(values["description"], "description")
        if problem:
            errors["description"] = problem
    if "timezone" in values and not is_timezone(values["timezone"] or ""):
        errors["timezone"] = (
            f"{values['timezone']!r:.80} is not a known IANA timezone (for example Europe/Berlin)."
        )
    if "working_days" in values:
        days = values["working_days"]
        if (
            not days
            or any(not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= 7 for d in days)
            or len(set(days)) != len(days)
        ):
            errors["working_days"] = "Pick at least one working weekday (1 = Monday .. 7 = Sunday)."
    if "sprint_length_days" in values:
        length = values["sprint_length_days"]
        if (
            not isinstance(length, int)
            or isinstance(length, bool)
            or not 1 <= length <= SPRINT_MAX_DAYS
        ):
            errors["sprint_length_days"] = f"A sprint lasts 1 to {SPRINT_MAX_DAYS} days."
    if "slip_tolerance_days" in values:
        tolerance = values["slip_tolerance_days"]
        if (
            not isinstance(tolerance, int)
            or isinstance(tolerance, bool)
            or not 0 <= tolerance <= 365
        ):
            errors["slip_tolerance_days"] = "The slip tolerance is 0 to 365 days."
    if "mlflow_tracking_uri" in values:  # an http(s) server; blank: the site's default
        uri = values["mlflow_tracking_uri"]
        if uri is not None and not isinstance(uri, str):
            errors["mlflow_tracking_uri"] = "Send the address as text."
        elif (
            uri
            and uri.strip()
            # what an operator stored (the demo's local store) stays, though a form could not set it
            and uri.strip().rstrip("/") != stored_uri
            and (problem := tracking_uri_problem(uri.strip()))
        ):
            errors["mlflow_tracking_uri"] = problem
    if "enforce_gates" in values and not isinstance(values["enforce_gates"], bool):
        errors["enforce_gates"] = "Send true or false."
    return errors


def working_days_text(days: Iterable[int]) -> str:
    """Encode ISO weekday numbers as the stored digit string ("12345")."""
    return "".join(str(d) for d in sorted(set(days)))


def create_project(
    session: Session,
    *,
    key: str,
    name: str,
    owner: Account | None = None,
    description: str | None = None,
    timezone: str = "UTC",
    working_days: Sequence[int] = DEFAULT_WORKING_DAYS,
    holidays: Iterable[date] = (),
    sprint_length_days: int = DEFAULT_SPRINT_LENGTH_DAYS,
    slip_tolerance_days: int = DEFAULT_SLIP_TOLERANCE_DAYS,
    stages: Sequence[tuple[str, str]] | None = None,
    mlflow_tracking_uri: str | None = None,
    enforce_gates: bool = False,
) -> Project:
    """Add a project with the default ML lifecycle stages; `owner` becomes a manage member."""
    key = (key or "").strip().upper()
    errors = check_settings(
        {
            "name": name,
            "timezone": timezone,
            "working_days": list(working_days),
            "sprint_length_days": sprint_length_days,
            "slip_tolerance_days": slip_tolerance_days,
            "mlflow_tracking_uri": mlflow_tracking_uri,
            "enforce_gates": enforce_gates,
        }
    )
    if problem := check_project_key(key):
        errors["key"] = problem
    holidays = list(holidays)
    if problem := holiday_problem(holidays):
        errors["holidays"] = problem
    if errors:
        raise ValidationError(errors)
    if session.scalar(select(Project.id).where(Project.key == key)) is not None:
        raise DomainError(f"A project with the key {key} already exists.", field="key")
    project = Project(
        key=key,
        name=name.strip(),
        description=(description or "").strip() or None,
        timezone=timezone,
        working_days=working_days_text(working_days),
        sprint_length_days=sprint_length_days,
        slip_tolerance_days=slip_tolerance_days,
        mlflow_tracking_uri=(mlflow_tracking_uri or "").strip().rstrip("/") or None,
        enforce_gates=enforce_gates,
        story_counter=0,
        epic_counter=0,
    )
    session.add(project)
    session.flush()
    for day in sorted(set(holidays)):
        session.add(Holiday(project_id=project.id, day=day))
    for position, (stage_key, stage_name) in enumerate(stages or DEFAULT_STAGES.items()):
        if not STAGE_KEY_RE.fullmatch(stage_key):
            raise ValidationError(
                {"stages": f"{stage_key!r} is not a stage key (like data_labeling)."}
            )
        session.add(Stage(project_id=project.id, key=stage_key, name=stage_name, position=position))
    if owner is not None:
        add_member(session, project, owner, access="manage", roles=["scrum_master"])
    session.flush()
    return project


def update_settings(session: Session, project: Project, values: dict) -> None:
    """Change a project's name, description, timezone, working days, sprint length, tolerance,
    MLflow tracking URI or gate enforcement."""
    if errors := check_settings(values, stored_uri=project.mlflow_tracking_uri):
        raise ValidationError(errors)
    if "name" in values:
        project.name = values["name"].strip()
    if "description" in values:
        project.description = (values["description"] or "").strip() or None
    if "timezone" in values:
        project.timezone = values["timezone"]
    if "working_days" in values:
        project.working_days = working_days_text(values["working_days"])
    if "sprint_length_days" in values:
        project.sprint_length_days = values["sprint_length_days"]
    if "slip_tolerance_days" in values:
        project.slip_tolerance_days = values["slip_tolerance_days"]
    if "mlflow_tracking_uri" in values:
        uri = (values["mlflow_tracking_uri"] or "").strip().rstrip("/") or None
        if uri != project.mlflow_tracking_uri:
            project.mlflow_tracking_uri = uri
            mlflow_reader.clear_cache()  # reads of the old server say nothing of the new one
    if "enforce_gates" in values:
        project.enforce_gates = values["enforce_gates"]
    session.flush()


def holiday_problem(days: Iterable[date]) -> str | None:
    """Return why holidays cannot be accepted (a date outside planner's window), or None."""
    for day in sorted(set(days)):
        if problem := date_problem(day):
            return f"{day.isoformat()}: {problem}"
    return None


def set_holidays(session: Session, project: Project, days: Iterable[date]) -> None:
    """Replace the project's holidays with `days`."""
    wanted = set(days)
    if problem := holiday_problem(wanted):
        raise ValidationError({"holidays": problem})
    existing = {
        h.day: h for h in session.scalars(select(Holiday).where(Holiday.project_id == project.id))
    }
    for day, holiday in existing.items():
        if day not in wanted:
            session.delete(holiday)
    for day in wanted - existing.keys():
        session.add(Holiday(project_id=project.id, day=day))
    session.flush()


def holidays_of(session: Session, project: Project) -> list[date]:
    """Return the project's holidays in date order."""
    return list(
        session.scalars(
            select(Holiday.day).where(Holiday.project_id == project.id).order_by(Holiday.day)
        )
    )


def addable_accounts(session: Session, project: Project, by: Account) -> list[Account]:
    """The people `by` may add to `project` without a site admin: members of another project
    `by` manages, who are not in `project` yet, by name."""
    managed = select(Membership.project_id).where(
        Membership.account_id == by.id, Membership.access == "manage"
    )
    already = select(Membership.account_id).where(Membership.project_id == project.id)
    return list(
        session.scalars(
            select(Account)
            .join(Membership, Membership.account_id == Account.id)
            .where(
                Membership.project_id.in_(managed),
                Membership.project_id != project.id,
                Account.id.not_in(already),
                Account.is_active_account.is_(True),
            )
            .distinct()
            .order_by(Account.name, Account.id)
        )
    )


def account_to_add(session: Session, project: Project, by: Account, email: str) -> Account:
    """Return the account `by` may add to `project` by `email`, or raise DomainError.

    A site admin may add anyone with an account; a manager, people who already work on another
    project they manage. The refusal is the same whether or not an account exists, so the form
    cannot be used to find out who has one."""
    address = normalise_email(email)
    if problem := check_email(address):
        raise ValidationError({"email": problem})
    if by.is_admin:
        account = find_account(session, address)
        if account is None:
            raise DomainError(
                f"There is no account for {address} yet. Create it under Site admin, then add "
                "it here.",
                field="email",
            )
        return account
    # The project's own members are listed on its members page: saying so reveals nothing.
    member = session.scalar(
        select(Account)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.project_id == project.id, Account.email == address)
    )
    if member is not None:
        raise DomainError(f"{address} is already a member of {project.key}.", field="email")
    account = next((a for a in addable_accounts(session, project, by) if a.email == address), None)
    if account is None:
        raise DomainError(
            "You can't add that address here: managers add people who already work on another "
            "project they manage. A site admin can add anyone with an account, or create one.",
            field="email",
        )
    return account


def _check_access_and_roles(access: str, roles: Iterable[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if access not in ACCESS_LEVELS:
        errors["access"] = f"{access!r} is not an access level ({', '.join(ACCESS_LEVELS)})."
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        errors["roles"] = f"Unknown functional role {unknown[0]!r}."
    return errors


def add_member(
    session: Session, project: Project, account: Account, *, access: str, roles: Iterable[str] = ()
) -> Membership:
    """Give `account` access to `project` with the given functional roles."""
    roles = list(dict.fromkeys(roles))
    if errors := _check_access_and_roles(access, roles):
        raise ValidationError(errors)
    existing = session.scalar(
        select(Membership).where(
            Membership.project_id == project.id, Membership.account_id == account.id
        )
    )
    if existing is not None:
        raise DomainError(f"{account.email} is already a member of {project.key}.", field="email")
    membership = Membership(project_id=project.id, account_id=account.id, access=access)
    membership.role_rows = [MembershipRole(role=role) for role in roles]
    session.add(membership)
    session.flush()
    return membership


def _leaves_no_manager(session: Session, project: Project, membership: Membership) -> bool:
    """Tell whether taking manage access from `membership` would leave the project without a
    manager, deciding under the project's lock so two managers demoting each other at once cannot
    both succeed."""
    lock_project(session, project)
    session.refresh(membership, ["access"])
    return membership.access == "manage" and _count_managers(session, project) <= 1


def _count_managers(session: Session, project: Project) -> int:
    return (
        session.scalar(
            select(func.count(Membership.id)).where(
                Membership.project_id == project.id, Membership.access == "manage"
            )
        )
        or 0
    )


def update_member(
    session: Session, project: Project, membership: Membership, *, access: str, roles: Iterable[str]
) -> None:
    """Change a member's access and functional roles; a project keeps at least one manager."""
    roles = list(dict.fromkeys(roles))
    if errors := _check_access_and_roles(access, roles):
        raise ValidationError(errors)
    if access != "manage" and _leaves_no_manager(session, project, membership):
        raise DomainError("A project needs at least one member with manage access.", field="access")
    membership.access = access
    current = {row.role: row for row in membership.role_rows}
    for role, row in current.items():
        if role not in roles:
            membership.role_rows.remove(row)
    for role in roles:
        if role not in current:
            membership.role_rows.append(MembershipRole(role=role))
    session.flush()


def remove_member(session: Session, project: Project, membership: Membership) -> None:
    """Take a member out of the project; a project keeps at least one manager."""
    if _leaves_no_manager(session, project, membership):
        raise DomainError("A project needs at least one member with manage access.")
    session.delete(membership)
    session.flush()


def members_of(session: Session, project: Project) -> list[Membership]:
    """Return the project's memberships with accounts and roles, by name."""
    return list(
        session.scalars(
            select(Membership)
            .join(Account, Account.id == Membership.account_id)
            .where(Membership.project_id == project.id)
            .options(selectinload(Membership.role_rows), selectinload(Membership.account))
            .order_by(Account.name)
        )
    )


def stages_of(session: Session, project: Project, *, include_archived: bool = True) -> list[Stage]:
    """Return the project's stages in their order."""
    query = select(Stage).where(Stage.project_id == project.id).order_by(Stage.position, Stage.id)
    if not include_archived:
        query = query.where(Stage.archived.is_(False))
    return list(session.scalars(query))


def _stage_name(value: object) -> tuple[str | None, str | None]:
    return required_text(
        value, max_len=STAGE_NAME_MAX, empty=f"Enter a name of at most {STAGE_NAME_MAX} characters."
    )


def add_stage(session: Session, project: Project, *, key: str, name: str) -> Stage:
    """Append a custom stage to the project's lifecycle."""
    key = (key or "").strip().lower()
    errors: dict[str, str] = {}
    if not STAGE_KEY_RE.fullmatch(key):
        errors["key"] = "Use lowercase letters, digits and underscores, starting with a letter."
    name, problem = _stage_name(name)
    if problem:
        errors["name"] = problem
    if errors:
        raise ValidationError(errors)
    stages = stages_of(session, project)
    if any(stage.key == key for stage in stages):
        raise DomainError(f"The stage {key} already exists.", field="key")
    stage = Stage(
        project_id=project.id,
        key=key,
        name=name,
        position=max((s.position for s in stages), default=-1) + 1,
    )
    session.add(stage)
    session.flush()
    return stage


def rename_stage(session: Session, stage: Stage, name: str) -> None:
    """Give a stage a new display name; its key, and so every report, stays the same."""
    name, problem = _stage_name(name)
    if problem:
        raise ValidationError({"name": problem})
    stage.name = name
    session.flush()


def reorder_stages(session: Session, project: Project, keys: Sequence[str]) -> None:
    """Put the project's stages in the order of `keys` (every stage exactly once)."""
    stages = {stage.key: stage for stage in stages_of(session, project)}
    if sorted(keys) != sorted(stages):
        raise ValidationError({"stages": "List every stage of the project exactly once."})
    for position, key in enumerate(keys):
        stages[key].position = position
    session.flush()


def set_stage_archived(session: Session, stage: Stage, archived: bool) -> None:
    """Archive a stage (no new work takes it) or bring it back; existing labels stay."""
    stage.archived = archived
    session.flush()
