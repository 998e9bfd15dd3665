"""Who may do what in a project, decided here and nowhere else.

A non-member sees nothing of a project (NotFoundError, answered 404, so a project's existence does
not leak); `view` members read; `edit` members change stories and epics; `manage` members also
change sprints, capacity, milestones, risks, members and settings. Any write needs at least `edit`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from planner.domain import AccessDenied, NotFoundError, parse_id
from planner.models import Account, Membership, Project, Sprint, Story
from planner.vocab import ACCESS_RANK


@dataclass(frozen=True)
class ProjectAccess:
    """A project together with the signed-in person's membership in it."""

    project: Project
    membership: Membership

    @property
    def level(self) -> str:
        return self.membership.access

    def can(self, level: str) -> bool:
        """Tell whether this membership reaches `level` (view < edit < manage)."""
        return ACCESS_RANK[self.membership.access] >= ACCESS_RANK[level]

    @property
    def can_edit(self) -> bool:
        return self.can("edit")

    @property
    def can_manage(self) -> bool:
        return self.can("manage")

    def require(self, level: str) -> None:
        """Raise AccessDenied unless this membership reaches `level`."""
        if not self.can(level):
            raise AccessDenied(
                f"This needs {level} access to {self.project.key}; you have {self.level} access."
            )


# The writes a stakeholder (view access) may make (docs/rules.md, "Access"): comment on a story,
# to ask, and watch it. Routes that allow them ask for this level; every other write needs edit.
TALK = "talk"


def required_level(method: str, write_level: str) -> str:
    """Return the access a request needs: reads need view, every write at least edit, except
    the few writes of TALK (commenting and watching), which view access may make."""
    if method in ("GET", "HEAD", "OPTIONS") or write_level == TALK:
        return "view"
    if ACCESS_RANK[write_level] < ACCESS_RANK["edit"]:
        return "edit"
    return write_level


# The account's (`account_id`) memberships with their projects, and each membership's functional
# roles joined in the same statement (a row per role): read whole, with `_rows`. Built once, as
# are the statements below made from it (every request of a project runs one of them).
_MEMBERSHIPS = (
    select(Project, Membership)
    .join(Membership, Membership.project_id == Project.id)
    .where(Membership.account_id == bindparam("account_id"))
    .options(joinedload(Membership.role_rows))
)
_BY_PROJECT_KEY = _MEMBERSHIPS.where(Project.key == bindparam("key"))
_BY_SPRINT_ID = (
    _MEMBERSHIPS.add_columns(Sprint)
    .join(Sprint, Sprint.project_id == Project.id)
    .where(Sprint.id == bindparam("sprint_id"))
)
_BY_STORY_KEY = (
    _MEMBERSHIPS.add_columns(Story)
    .join(Story, Story.project_id == Project.id)
    .where(Project.key == bindparam("key"), Story.number == bindparam("number"))
)
_ALL_BY_NAME = _MEMBERSHIPS.order_by(Project.name)


def _rows(session: Session, account: Account, query, **values) -> list:
    """The rows of one of the statements above for `account`, one per membership: every row of
    the statement is read, so that each membership's roles are all loaded (a collection joined
    in repeats its parent)."""
    return session.execute(query, {"account_id": account.id, **values}).unique().all()


@dataclass(frozen=True)
class PollState:
    """What the board poll's ETag needs of the project and the membership (planner/etags.py)."""

    project_id: int
    timezone: str
    change_version: int
    level: str


_POLL_COLUMNS = (Project.id, Project.timezone, Project.change_version, Membership.access)
# Built once: the poll runs them every few seconds per open board.
_POLL_BY_KEY = (
    select(*_POLL_COLUMNS)
    .join(Membership, Membership.project_id == Project.id)
    .where(Membership.account_id == bindparam("account_id"), Project.key == bindparam("key"))
)
_POLL_BY_SPRINT = (
    select(*_POLL_COLUMNS)
    .join(Membership, Membership.project_id == Project.id)
    .join(Sprint, Sprint.project_id == Project.id)
    .where(Membership.account_id == bindparam("account_id"), Sprint.id == bindparam("sprint_id"))
)


def poll_state(
    session: Session,
    account: Account,
    *,
    project_key: str | None = None,
    sprint_id: int | None = None,
) -> PollState | None:
    """The account's membership level and the project's change version, for the project
    `project_key` or the project of the sprint `sprint_id`, in one query; None for a non-member
    (or no such project or sprint), whom the route itself then answers 404."""
    if sprint_id is not None:
        row = session.execute(_POLL_BY_SPRINT, {"account_id": account.id, "sprint_id": sprint_id})
    else:
        row = session.execute(
            _POLL_BY_KEY, {"account_id": account.id, "key": (project_key or "").upper()}
        )
    found = row.first()
    return None if found is None else PollState(*found)


def project_access(session: Session, account: Account, project_key: str) -> ProjectAccess:
    """Return the account's access to the project `project_key`, or raise NotFoundError."""
    rows = _rows(session, account, _BY_PROJECT_KEY, key=project_key.upper())
    if not rows:
        raise NotFoundError(f"No project {project_key}.")
    row = rows[0]
    return ProjectAccess(project=row[0], membership=row[1])


def sprint_access(
    session: Session, account: Account, sprint_id: int
) -> tuple[ProjectAccess, Sprint]:
    """Return the access to the sprint's project and the sprint, or raise NotFoundError."""
    rows = _rows(session, account, _BY_SPRINT_ID, sprint_id=sprint_id)
    if not rows:
        raise NotFoundError(f"No sprint {sprint_id}.")
    row = rows[0]
    return ProjectAccess(project=row[0], membership=row[1]), row[2]


def split_story_key(story_key: str) -> tuple[str, int]:
    """Split FRAUD-42 into ("FRAUD", 42); raise NotFoundError when it is not a story key."""
    project_key, sep, text = story_key.rpartition("-")
    number = parse_id(text)
    if not sep or not project_key or number is None:
        raise NotFoundError(f"{story_key!r} is not a story key like FRAUD-42.")
    return project_key.upper(), number


def story_access(session: Session, account: Account, story_key: str) -> tuple[ProjectAccess, Story]:
    """Return the account's access to the story's project and the story, or raise NotFoundError."""
    project_key, number = split_story_key(story_key)
    rows = _rows(session, account, _BY_STORY_KEY, key=project_key, number=number)
    if not rows:
        raise NotFoundError(f"No story {story_key}.")
    row = rows[0]
    return ProjectAccess(project=row[0], membership=row[1]), row[2]


def projects_of(session: Session, account: Account) -> list[ProjectAccess]:
    """Return every project the account is a member of, by name."""
    rows = _rows(session, account, _ALL_BY_NAME)
    return [ProjectAccess(project=p, membership=m) for p, m in rows]
