"""Check an interchange document completely, before anything is written.

`check_document` walks the whole document, collects every problem with its JSON path, and returns
a normalised `Plan` (typed values, references resolved to names that exist in the document) that
`importer.write_plan` can write without further checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from planner.domain import ONE_LINE
from planner.domain.accounts import check_email, normalise_email
from planner.domain.projects import PROJECT_KEY_RE, STAGE_KEY_RE
from planner.domain.stories import needs_outcome
from planner.inputs import (
    SPRINT_MAX_DAYS,
    TEXT_LIMITS,
    date_problem,
    datetime_problem,
    text_problem,
)
from planner.interchange import FORMAT, VERSION, Problem
from planner.timeutil import is_timezone, parse_iso_date, parse_iso_datetime
from planner.vocab import (
    ACCESS_LEVELS,
    DEFAULT_SLIP_TOLERANCE_DAYS,
    DEFAULT_SPRINT_LENGTH_DAYS,
    DEFAULT_STAGES,
    OUTCOMES,
    POINTS_SCALE,
    RISK_CATEGORIES,
    RISK_STATUSES,
    ROLES,
    SPRINT_STATES,
    STATUSES,
    STORY_TYPES,
    TRACKED_FIELDS,
)

EPIC_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_MISSING = object()


# --- the normalised plan -----------------------------------------------------------------------


@dataclass
class StagePlan:
    key: str
    name: str
    archived: bool


@dataclass
class MemberPlan:
    email: str
    name: str
    access: str
    roles: list[str]


@dataclass
class EpicPlan:
    key: str
    title: str
    description: str | None
    stage: str | None
    milestone: str | None
    archived: bool


@dataclass
class SprintPlan:
    name: str
    goal: str | None
    start: date
    end: date
    state: str
    started_at: datetime | None
    closed_at: datetime | None
    capacity: list[tuple[str, int]]


@dataclass
class EventPlan:
    at: datetime
    field: str
    from_value: Any
    to_value: Any
    by: str | None


@dataclass
class CommentPlan:
    author: str | None
    at: datetime
    body: str


@dataclass
class StoryPlan:
    number: int
    title: str
    description: str | None
    type: str
    stage: str | None
    role: str | None
    points: int | None
    status: str
    epic: str | None
    sprint: str | None
    assignee: str | None
    rank: int
    created_at: datetime
    blocked: bool
    hypothesis: str | None
    metric: str | None
    target: str | None
    outcome: str | None
    result: str | None
    history: list[EventPlan]
    comments: list[CommentPlan]


@dataclass
class ForecastPlan:
    reported_on: date
    forecast: date
    note: str | None
    by: str | None


@dataclass
class MilestonePlan:
    name: str
    description: str | None
    stage: str | None
    baseline: date
    achieved: date | None
    forecasts: list[ForecastPlan]


@dataclass
class RiskPlan:
    title: str
    description: str | None
    category: str
    likelihood: int
    impact: int
    owner: str | None
    mitigation: str | None
    status: str
    stories: list[int]
    milestone: str | None
    review_on: date | None


@dataclass
class Plan:
    key: str
    name: str
    description: str | None
    timezone: str
    working_days: list[int]
    holidays: list[date]
    sprint_length_days: int
    slip_tolerance_days: int
    created_at: datetime | None
    stages: list[StagePlan]
    members: list[MemberPlan] = field(default_factory=list)
    epics: list[EpicPlan] = field(default_factory=list)
    sprints: list[SprintPlan] = field(default_factory=list)
    stories: list[StoryPlan] = field(default_factory=list)
    milestones: list[MilestonePlan] = field(default_factory=list)
    risks: list[RiskPlan] = field(default_factory=list)


# --- the checker -------------------------------------------------------------------------------


class _Checker:
    """Collects problems; every reader returns a value or _MISSING after recording why."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def fields(
        self, path: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict | None:
        if not isinstance(value, dict):
            self.add(path, f"expected an object, found {_kind(value)}")
            return None
        for name in required:
            if name not in value:
                self.add(f"{path}.{name}", "missing (required)")
        known = set(required) | set(optional)
        for name in value:
            if name not in known:
                self.add(_field_path(path, name), f"unknown field {_shown(name)}")
        return value

    def text(
        self,
        path: str,
        value: Any,
        *,
        kind: str,
        required: bool = True,
        max_len: int | None = None,
    ) -> Any:
        """Free text by the rules every entry point applies (planner.inputs): one line for names,
        titles and short values; at most TEXT_LIMITS[kind] (or `max_len`) characters."""
        if value is None:
            if required:
                self.add(path, "must not be empty")
                return _MISSING
            return None
        if not isinstance(value, str):
            self.add(path, f"expected a string, found {_kind(value)}")
            return _MISSING
        stripped = value.strip()
        if required and not stripped:
            self.add(path, "must not be empty")
            return _MISSING
        limit = max_len if max_len is not None else TEXT_LIMITS[kind]
        if problem := text_problem(stripped, multiline=kind not in ONE_LINE, max_len=limit):
            self.add(path, problem)
            return _MISSING
        return stripped if stripped else None

    def choice(self, path: str, value: Any, choices, what: str, *, nullable: bool = False) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str) or value not in choices:
            self.add(path, f"unknown {what} {_shown(value)} (one of {', '.join(choices)})")
            return _MISSING
        return value

    def integer(self, path: str, value: Any, low: int, high: int) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"expected a whole number, found {_kind(value)}")
            return _MISSING
        if not low <= value <= high:
            self.add(path, f"{_shown(value)} is outside {low}..{high}")
            return _MISSING
        return value

    def boolean(self, path: str, value: Any) -> Any:
        if not isinstance(value, bool):
            self.add(path, f"expected true or false, found {_kind(value)}")
            return _MISSING
        return value

    def a_date(self, path: str, value: Any, *, nullable: bool = False) -> Any:
        if value is None and nullable:
            return None
        try:
            day = parse_iso_date(value)
        except (ValueError, TypeError):
            self.add(path, f"{_shown(value)} is not a date in the form YYYY-MM-DD")
            return _MISSING
        if problem := date_problem(day):
            self.add(path, problem)
            return _MISSING
        return day

    def a_timestamp(self, path: str, value: Any, *, nullable: bool = False) -> Any:
        if value is None and nullable:
            return None
        try:
            moment = parse_iso_datetime(value)
        except (ValueError, TypeError, OverflowError):
            self.add(path, _timestamp_problem(value))
            return _MISSING
        if problem := datetime_problem(moment):
            self.add(path, problem)
            return _MISSING
        return moment

    def a_list(self, path: str, value: Any) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, f"expected a list, found {_kind(value)}")
            return []
        return value


def _timestamp_problem(value: Any) -> str:
    """Say why parse_iso_datetime refused `value`: not a timestamp with an offset at all, or one
    so far out that converting it to UTC overflows (0001-01-01T00:00:00+14:00)."""
    moment = None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
    if moment is not None and moment.tzinfo is not None:
        # Comparing aware moments cannot overflow where converting them can.
        if problem := datetime_problem(moment):
            return problem
    return (
        f"{_shown(value)} is not an ISO 8601 timestamp with an offset (like 2026-03-02T09:30:00Z)"
    )


def _shown(value: Any, width: int = 60) -> str:
    """Quote a value from the document in a problem, cut to `width` characters: a 50 MB string
    must not become a 50 MB message."""
    if isinstance(value, list | dict):
        return _kind(value)
    if isinstance(value, str) and len(value) > width:
        return f"{value[:width]!r}... ({len(value):,} characters)"
    try:
        text = repr(value)
    except ValueError:  # an integer too long to write out in decimal
        return "a number too long to show"
    return text if len(text) <= width else f"{text[:width]}..."


def _field_path(path: str, name: Any) -> str:
    """The path of a field of the object at `path`, its name cut short when it is no identifier."""
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,59}", name):
        return f"{path}.{name}"
    return f"{path}[{_shown(name)}]"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _ok(*values: Any) -> bool:
    return all(value is not _MISSING for value in values)


def check_document(
    document: Any, *, existing_project_keys: set[str] | frozenset[str] = frozenset()
) -> tuple[Plan | None, list[Problem]]:
    """Check a whole document; return (plan, []) when it can be imported, else (None, problems)."""
    c = _Checker()
    top = c.fields(
        "$",
        document,
        ("format", "version", "project", "members"),
        ("epics", "sprints", "stories", "milestones", "risks"),
    )
    if top is None:
        return None, c.problems
    if top.get("format") != FORMAT:
        c.add("$.format", f"expected {FORMAT!r}, found {_shown(top.get('format'))}")
    if top.get("version") != VERSION or isinstance(top.get("version"), bool):
        found = _shown(top.get("version"))
        c.add("$.version", f"this planner reads version {VERSION}, found {found}")
        return None, c.problems
    plan = _check_project(c, top.get("project"), existing_project_keys)
    if plan is None:
        return None, c.problems
    stage_keys = [stage.key for stage in plan.stages]
    members = _check_members(c, top.get("members"))
    plan.members = list(members.values())
    milestone_names = _collect_names(c, "$.milestones", top.get("milestones"), "name")
    sprint_names = _collect_names(c, "$.sprints", top.get("sprints"), "name")
    plan.epics = _check_epics(c, top.get("epics"), stage_keys, milestone_names)
    epic_keys = {epic.key for epic in plan.epics}
    plan.sprints = _check_sprints(c, top.get("sprints"), members)
    plan.stories = _check_stories(
        c, top.get("stories"), plan.key, stage_keys, members, epic_keys, sprint_names
    )
    # References are checked against what the document lists, so one invalid story does not
    # also make every risk that names it report "not found".
    story_numbers = _listed_story_numbers(top.get("stories"), plan.key)
    plan.milestones = _check_milestones(c, top.get("milestones"), stage_keys, members)
    plan.risks = _check_risks(
        c, top.get("risks"), plan.key, members, story_numbers, milestone_names
    )
    if c.problems:
        return None, c.problems
    return plan, []


def _listed_story_numbers(items: Any, project_key: str) -> set[int]:
    numbers: set[int] = set()
    prefix = f"{project_key}-"
    if isinstance(items, list):
        for item in items:
            key = item.get("key") if isinstance(item, dict) else None
            if isinstance(key, str) and key.startswith(prefix) and key[len(prefix) :].isdigit():
                numbers.add(int(key[len(prefix) :]))
    return numbers


def _collect_names(c: _Checker, path: str, items: Any, name_field: str) -> set[str]:
    names: set[str] = set()
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get(name_field), str):
                names.add(item[name_field].strip())
    return names


def _check_project(c: _Checker, value: Any, existing: set[str] | frozenset[str]) -> Plan | None:
    path = "$.project"
    p = c.fields(
        path,
        value,
        ("key", "name", "timezone", "working_days"),
        (
            "description",
            "holidays",
            "sprint_length_days",
            "slip_tolerance_days",
            "created_at",
            "stages",
        ),
    )
    if p is None:
        return None
    key = p.get("key")
    if not isinstance(key, str) or not PROJECT_KEY_RE.match(key):
        c.add(f"{path}.key", f"{_shown(key)} is not a project key (2-10 capital letters or digits)")
        key = _MISSING
    elif key in existing:
        c.add(f"{path}.key", f"a project {key} already exists in this planner")
    name = c.text(f"{path}.name", p.get("name"), kind="name")
    description = c.text(
        f"{path}.description", p.get("description"), kind="description", required=False
    )
    timezone = p.get("timezone")
    if not isinstance(timezone, str) or not is_timezone(timezone):
        c.add(
            f"{path}.timezone",
            f"{_shown(timezone)} is not a known IANA timezone (like Europe/Berlin)",
        )
        timezone = _MISSING
    working_days = p.get("working_days")
    if (
        not isinstance(working_days, list)
        or not working_days
        or any(
            isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in working_days
        )
        or len(set(working_days)) != len(working_days)
    ):
        c.add(
            f"{path}.working_days",
            "expected a non-empty list of distinct ISO weekdays 1-7 (1 = Monday)",
        )
        working_days = _MISSING
    holidays = []
    for i, raw in enumerate(c.a_list(f"{path}.holidays", p.get("holidays"))):
        day = c.a_date(f"{path}.holidays[{i}]", raw)
        if day is not _MISSING:
            if day in holidays:
                c.add(f"{path}.holidays[{i}]", f"{raw} is listed twice")
            holidays.append(day)
    sprint_length = p.get("sprint_length_days", DEFAULT_SPRINT_LENGTH_DAYS)
    sprint_length = c.integer(f"{path}.sprint_length_days", sprint_length, 1, SPRINT_MAX_DAYS)
    tolerance = p.get("slip_tolerance_days", DEFAULT_SLIP_TOLERANCE_DAYS)
    tolerance = c.integer(f"{path}.slip_tolerance_days", tolerance, 0, 365)
    created_at = c.a_timestamp(f"{path}.created_at", p.get("created_at"), nullable=True)
    stages = _check_stages(c, p.get("stages", _MISSING))
    if not _ok(
        key, name, description, timezone, working_days, sprint_length, tolerance, created_at
    ):
        return None
    return Plan(
        key=key,
        name=name,
        description=description,
        timezone=timezone,
        working_days=sorted(working_days),
        holidays=sorted(holidays),
        sprint_length_days=sprint_length,
        slip_tolerance_days=tolerance,
        created_at=created_at,
        stages=stages,
    )


def _check_stages(c: _Checker, value: Any) -> list[StagePlan]:
    path = "$.project.stages"
    if value is _MISSING or value is None:
        return [StagePlan(key, name, False) for key, name in DEFAULT_STAGES.items()]
    stages: list[StagePlan] = []
    for i, item in enumerate(c.a_list(path, value)):
        item_path = f"{path}[{i}]"
        if isinstance(item, str):
            if item not in DEFAULT_STAGES:
                c.add(
                    item_path,
                    f"{_shown(item)} is not a default stage; write a custom stage as "
                    '{"key": ..., "name": ...}',
                )
                continue
            stage = StagePlan(item, DEFAULT_STAGES[item], False)
        else:
            obj = c.fields(item_path, item, ("key", "name"), ("archived",))
            if obj is None:
                continue
            key = obj.get("key")
            if not isinstance(key, str) or not STAGE_KEY_RE.match(key):
                c.add(
                    f"{item_path}.key", f"{_shown(key)} is not a stage key (lowercase, digits, _)"
                )
                continue
            name = c.text(f"{item_path}.name", obj.get("name"), kind="name", max_len=80)
            archived = c.boolean(f"{item_path}.archived", obj.get("archived", False))
            if not _ok(name, archived):
                continue
            stage = StagePlan(key, name, archived)
        if any(existing.key == stage.key for existing in stages):
            c.add(item_path, f"the stage {stage.key!r} is listed twice")
            continue
        stages.append(stage)
    return stages


def _check_members(c: _Checker, value: Any) -> dict[str, MemberPlan]:
    members: dict[str, MemberPlan] = {}
    items = c.a_list("$.members", value)
    for i, item in enumerate(items):
        path = f"$.members[{i}]"
        obj = c.fields(path, item, ("email", "name", "access"), ("roles",))
        if obj is None:
            continue
        raw_email = obj.get("email")
        email = normalise_email(raw_email) if isinstance(raw_email, str) else ""
        if problem := check_email(email):
            c.add(f"{path}.email", problem)
            continue
        if email in members:
            c.add(f"{path}.email", f"{email} is listed twice")
            continue
        name = c.text(f"{path}.name", obj.get("name"), kind="name")
        access = c.choice(f"{path}.access", obj.get("access"), ACCESS_LEVELS, "access level")
        roles = []
        for j, role in enumerate(c.a_list(f"{path}.roles", obj.get("roles"))):
            role = c.choice(f"{path}.roles[{j}]", role, ROLES, "functional role")
            if role is not _MISSING:
                if role in roles:
                    c.add(f"{path}.roles[{j}]", f"the role {role} is listed twice")
                roles.append(role)
        if _ok(name, access):
            members[email] = MemberPlan(email, name, access, list(dict.fromkeys(roles)))
    if items and not any(m.access == "manage" for m in members.values()):
        c.add(
            "$.members", "no member has manage access; someone must be able to manage the project"
        )
    if not items:
        c.add("$.members", "list at least one member with manage access")
    return members


def _member_ref(c: _Checker, path: str, value: Any, members: dict[str, MemberPlan]) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or normalise_email(value) not in members:
        c.add(path, f"unknown member {_shown(value)} (not listed in $.members)")
        return _MISSING
    return normalise_email(value)


def _check_epics(
    c: _Checker, value: Any, stage_keys: list[str], milestone_names: set[str]
) -> list[EpicPlan]:
    epics: list[EpicPlan] = []
    for i, item in enumerate(c.a_list("$.epics", value)):
        path = f"$.epics[{i}]"
        obj = c.fields(
            path, item, ("key", "title"), ("description", "stage", "milestone", "archived")
        )
        if obj is None:
            continue
        key = obj.get("key")
        if not isinstance(key, str) or not EPIC_KEY_RE.match(key):
            c.add(f"{path}.key", f"{_shown(key)} is not an epic key (letters, digits, _ and -)")
            key = _MISSING
        elif any(epic.key == key for epic in epics):
            c.add(f"{path}.key", f"duplicate epic key {_shown(key)}")
            key = _MISSING
        title = c.text(f"{path}.title", obj.get("title"), kind="title")
        description = c.text(
            f"{path}.description", obj.get("description"), kind="description", required=False
        )
        stage = _stage_ref(c, f"{path}.stage", obj.get("stage"), stage_keys)
        milestone = obj.get("milestone")
        if milestone is not None and (
            not isinstance(milestone, str) or milestone.strip() not in milestone_names
        ):
            c.add(f"{path}.milestone", f"milestone {_shown(milestone)} not found in $.milestones")
            milestone = _MISSING
        archived = c.boolean(f"{path}.archived", obj.get("archived", False))
        if _ok(key, title, description, stage, milestone, archived):
            epics.append(
                EpicPlan(
                    key,
                    title,
                    description,
                    stage,
                    milestone.strip() if milestone else None,
                    archived,
                )
            )
    return epics


def _stage_ref(c: _Checker, path: str, value: Any, stage_keys: list[str]) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or value not in stage_keys:
        c.add(
            path,
            f"unknown stage {_shown(value)} (the project's stages are {', '.join(stage_keys)})",
        )
        return _MISSING
    return value


def _check_sprints(c: _Checker, value: Any, members: dict[str, MemberPlan]) -> list[SprintPlan]:
    sprints: list[SprintPlan] = []
    active_seen: str | None = None
    for i, item in enumerate(c.a_list("$.sprints", value)):
        path = f"$.sprints[{i}]"
        obj = c.fields(
            path,
            item,
            ("name", "start", "end", "state"),
            ("goal", "started_at", "closed_at", "capacity"),
        )
        if obj is None:
            continue
        name = c.text(f"{path}.name", obj.get("name"), kind="name", max_len=80)
        if name is not _MISSING and any(s.name == name for s in sprints):
            c.add(f"{path}.name", f"duplicate sprint name {name!r}")
            name = _MISSING
        goal = c.text(f"{path}.goal", obj.get("goal"), kind="goal", required=False)
        start = c.a_date(f"{path}.start", obj.get("start"))
        end = c.a_date(f"{path}.end", obj.get("end"))
        if _ok(start, end) and end < start:
            c.add(f"{path}.end", f"the sprint ends ({end}) before it starts ({start})")
        elif _ok(start, end) and (end - start).days + 1 > SPRINT_MAX_DAYS:
            c.add(
                f"{path}.end",
                f"the sprint lasts {(end - start).days + 1} days; at most {SPRINT_MAX_DAYS}",
            )
        state = c.choice(f"{path}.state", obj.get("state"), SPRINT_STATES, "sprint state")
        started_at = c.a_timestamp(f"{path}.started_at", obj.get("started_at"), nullable=True)
        closed_at = c.a_timestamp(f"{path}.closed_at", obj.get("closed_at"), nullable=True)
        if state in ("active", "closed") and started_at is None:
            c.add(f"{path}.started_at", f"a {state} sprint needs the time it was started")
        if state == "closed" and closed_at is None:
            c.add(f"{path}.closed_at", "a closed sprint needs the time it was closed")
        if state != "closed" and closed_at not in (None, _MISSING):
            c.add(f"{path}.closed_at", f"a {state} sprint has no closing time")
        if state == "planned" and started_at not in (None, _MISSING):
            c.add(f"{path}.started_at", "a planned sprint has not been started")
        if (
            isinstance(started_at, datetime)
            and isinstance(closed_at, datetime)
            and closed_at < started_at
        ):
            c.add(f"{path}.closed_at", "the sprint was closed before it was started")
        if state == "active":
            if active_seen is not None:
                c.add(
                    f"{path}.state",
                    f"a second active sprint ({active_seen!r} is active already); "
                    "a project has at most one",
                )
            active_seen = name if isinstance(name, str) else "?"
        capacity: list[tuple[str, int]] = []
        for j, entry in enumerate(c.a_list(f"{path}.capacity", obj.get("capacity"))):
            entry_path = f"{path}.capacity[{j}]"
            cap = c.fields(entry_path, entry, ("member", "points"), ())
            if cap is None:
                continue
            member = _member_ref(c, f"{entry_path}.member", cap.get("member"), members)
            if member is None:
                c.add(f"{entry_path}.member", "must name a member")
                member = _MISSING
            points = c.integer(f"{entry_path}.points", cap.get("points"), 0, 1000)
            if member is not _MISSING and any(m == member for m, _ in capacity):
                c.add(f"{entry_path}.member", f"{member} has two capacity entries")
                continue
            if _ok(member, points):
                capacity.append((member, points))
        if _ok(name, goal, start, end, state, started_at, closed_at):
            sprints.append(
                SprintPlan(name, goal, start, end, state, started_at, closed_at, capacity)
            )
    return sprints


def _check_stories(
    c: _Checker,
    value: Any,
    project_key: str,
    stage_keys: list[str],
    members: dict[str, MemberPlan],
    epic_keys: set[str],
    sprint_names: set[str],
) -> list[StoryPlan]:
    stories: list[StoryPlan] = []
    numbers: set[int] = set()
    key_re = re.compile(rf"^{re.escape(project_key)}-([1-9][0-9]{{0,8}})$")
    for i, item in enumerate(c.a_list("$.stories", value)):
        path = f"$.stories[{i}]"
        obj = c.fields(
            path,
            item,
            ("key", "title", "type", "status", "created_at"),
            (
                "description",
                "stage",
                "role",
                "points",
                "epic",
                "sprint",
                "assignee",
                "rank",
                "blocked",
                "hypothesis",
                "metric",
                "target",
                "outcome",
                "result",
                "history",
                "comments",
            ),
        )
        if obj is None:
            continue
        key = obj.get("key")
        match = key_re.match(key) if isinstance(key, str) else None
        number: Any = _MISSING
        if match is None:
            c.add(
                f"{path}.key",
                f"{_shown(key)} is not a story key of {project_key} (like {project_key}-42)",
            )
        elif int(match.group(1)) in numbers:
            c.add(f"{path}.key", f"duplicate story key {_shown(key)}")
        else:
            number = int(match.group(1))
            numbers.add(number)
        title = c.text(f"{path}.title", obj.get("title"), kind="title")
        description = c.text(
            f"{path}.description", obj.get("description"), kind="description", required=False
        )
        type_ = c.choice(f"{path}.type", obj.get("type"), STORY_TYPES, "story type")
        stage = _stage_ref(c, f"{path}.stage", obj.get("stage"), stage_keys)
        role = c.choice(f"{path}.role", obj.get("role"), ROLES, "functional role", nullable=True)
        points = _points(c, f"{path}.points", obj.get("points"))
        status = c.choice(f"{path}.status", obj.get("status"), STATUSES, "status")
        epic = obj.get("epic")
        if epic is not None and (not isinstance(epic, str) or epic not in epic_keys):
            c.add(f"{path}.epic", f"epic {_shown(epic)} not found in $.epics")
            epic = _MISSING
        sprint = _sprint_ref(c, f"{path}.sprint", obj.get("sprint"), sprint_names)
        assignee = _member_ref(c, f"{path}.assignee", obj.get("assignee"), members)
        rank = c.integer(f"{path}.rank", obj.get("rank", 0), -(2**31), 2**31 - 1)
        created_at = c.a_timestamp(f"{path}.created_at", obj.get("created_at"))
        blocked = c.boolean(f"{path}.blocked", obj.get("blocked", False))
        hypothesis = c.text(
            f"{path}.hypothesis", obj.get("hypothesis"), kind="long", required=False
        )
        metric = c.text(f"{path}.metric", obj.get("metric"), kind="short", required=False)
        target = c.text(f"{path}.target", obj.get("target"), kind="short", required=False)
        result = c.text(f"{path}.result", obj.get("result"), kind="long", required=False)
        outcome = c.choice(
            f"{path}.outcome", obj.get("outcome"), OUTCOMES, "outcome", nullable=True
        )
        if type_ == "experiment" and outcome is None:
            outcome = "pending"
        if status == "done" and needs_outcome(type_, outcome):
            c.add(
                f"{path}.outcome",
                "a done experiment needs an outcome other than pending "
                "(confirmed, refuted or inconclusive)",
            )
        current = {
            "status": status,
            "points": points,
            "sprint": sprint,
            "stage": stage,
            "role": role,
            "assignee": assignee,
        }
        history = _check_history(
            c,
            f"{path}.history",
            obj.get("history"),
            current,
            created_at,
            stage_keys,
            members,
            sprint_names,
        )
        comments = _check_comments(c, f"{path}.comments", obj.get("comments"), members)
        if (
            _ok(
                number,
                title,
                description,
                type_,
                stage,
                role,
                points,
                status,
                epic,
                sprint,
                assignee,
                rank,
                created_at,
                blocked,
                hypothesis,
                metric,
                target,
                result,
                outcome,
            )
            and history is not None
        ):
            stories.append(
                StoryPlan(
                    number=number,
                    title=title,
                    description=description,
                    type=type_,
                    stage=stage,
                    role=role,
                    points=points,
                    status=status,
                    epic=epic,
                    sprint=sprint,
                    assignee=assignee,
                    rank=rank,
                    created_at=created_at,
                    blocked=blocked,
                    hypothesis=hypothesis,
                    metric=metric,
                    target=target,
                    outcome=outcome,
                    result=result,
                    history=history,
                    comments=comments,
                )
            )
    return stories


def _points(c: _Checker, path: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in POINTS_SCALE:
        c.add(
            path,
            f"{_shown(value)} is not on the points scale "
            f"{', '.join(map(str, POINTS_SCALE))} (or null)",
        )
        return _MISSING
    return value


def _sprint_ref(c: _Checker, path: str, value: Any, sprint_names: set[str]) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip() not in sprint_names:
        c.add(path, f"sprint {_shown(value)} not found in $.sprints")
        return _MISSING
    return value.strip()


def _event_value(
    c: _Checker,
    path: str,
    field_name: str,
    value: Any,
    stage_keys: list[str],
    members: dict[str, MemberPlan],
    sprint_names: set[str],
) -> Any:
    if field_name == "status":
        return c.choice(path, value, STATUSES, "status")
    if field_name == "points":
        return _points(c, path, value)
    if field_name == "sprint":
        return _sprint_ref(c, path, value, sprint_names)
    if field_name == "stage":
        return _stage_ref(c, path, value, stage_keys)
    if field_name == "role":
        return c.choice(path, value, ROLES, "functional role", nullable=True)
    return _member_ref(c, path, value, members)


def _check_history(
    c: _Checker,
    path: str,
    value: Any,
    current: dict[str, Any],
    created_at: Any,
    stage_keys: list[str],
    members: dict[str, MemberPlan],
    sprint_names: set[str],
) -> list[EventPlan] | None:
    before = len(c.problems)
    events: list[EventPlan] = []
    last_at: datetime | None = None
    for i, item in enumerate(c.a_list(path, value)):
        event_path = f"{path}[{i}]"
        obj = c.fields(event_path, item, ("at", "field", "from", "to"), ("by",))
        if obj is None:
            continue
        at = c.a_timestamp(f"{event_path}.at", obj.get("at"))
        field_name = c.choice(f"{event_path}.field", obj.get("field"), TRACKED_FIELDS, "field")
        by = _member_ref(c, f"{event_path}.by", obj.get("by"), members)
        if field_name is _MISSING:
            continue
        old = _event_value(
            c, f"{event_path}.from", field_name, obj.get("from"), stage_keys, members, sprint_names
        )
        new = _event_value(
            c, f"{event_path}.to", field_name, obj.get("to"), stage_keys, members, sprint_names
        )
        if isinstance(at, datetime):
            if isinstance(created_at, datetime) and at < created_at:
                c.add(f"{event_path}.at", "inconsistent history: the event is before created_at")
            if last_at is not None and at < last_at:
                c.add(
                    f"{event_path}.at",
                    "inconsistent history: events must be in chronological order",
                )
            last_at = at
        if _ok(at, old, new, by):
            if old == new:
                c.add(event_path, f"inconsistent history: 'from' and 'to' are both {old!r}")
            events.append(EventPlan(at, field_name, old, new, by))
    if len(c.problems) != before:
        return None
    # Each field's chain: from = previous to; the last to = the current value.
    last_index: dict[str, int] = {}
    previous: dict[str, Any] = {}
    for i, event in enumerate(events):
        if event.field in previous and event.from_value != previous[event.field]:
            c.add(
                f"{path}[{i}].from",
                f"inconsistent history: 'from' is {event.from_value!r} but the {event.field} "
                f"was {previous[event.field]!r}",
            )
        previous[event.field] = event.to_value
        last_index[event.field] = i
    for field_name, i in last_index.items():
        if field_name in current and current[field_name] is not _MISSING:
            if previous[field_name] != current[field_name]:
                c.add(
                    f"{path}[{i}].to",
                    f"inconsistent history: the last {field_name} change ends at "
                    f"{previous[field_name]!r} but the story's {field_name} is "
                    f"{current[field_name]!r}",
                )
    if len(c.problems) != before:
        return None
    return events


def _check_comments(
    c: _Checker, path: str, value: Any, members: dict[str, MemberPlan]
) -> list[CommentPlan]:
    comments: list[CommentPlan] = []
    for i, item in enumerate(c.a_list(path, value)):
        item_path = f"{path}[{i}]"
        obj = c.fields(item_path, item, ("at", "body"), ("author",))
        if obj is None:
            continue
        author = _member_ref(c, f"{item_path}.author", obj.get("author"), members)
        at = c.a_timestamp(f"{item_path}.at", obj.get("at"))
        body = c.text(f"{item_path}.body", obj.get("body"), kind="comment")
        if _ok(author, at, body):
            comments.append(CommentPlan(author, at, body))
    return comments


def _check_milestones(
    c: _Checker, value: Any, stage_keys: list[str], members: dict[str, MemberPlan]
) -> list[MilestonePlan]:
    milestones: list[MilestonePlan] = []
    for i, item in enumerate(c.a_list("$.milestones", value)):
        path = f"$.milestones[{i}]"
        obj = c.fields(
            path, item, ("name", "baseline"), ("description", "stage", "achieved", "forecasts")
        )
        if obj is None:
            continue
        name = c.text(f"{path}.name", obj.get("name"), kind="name")
        if name is not _MISSING and any(m.name == name for m in milestones):
            c.add(f"{path}.name", f"duplicate milestone name {name!r}")
            name = _MISSING
        description = c.text(
            f"{path}.description", obj.get("description"), kind="description", required=False
        )
        stage = _stage_ref(c, f"{path}.stage", obj.get("stage"), stage_keys)
        baseline = c.a_date(f"{path}.baseline", obj.get("baseline"))
        achieved = c.a_date(f"{path}.achieved", obj.get("achieved"), nullable=True)
        forecasts: list[ForecastPlan] = []
        for j, entry in enumerate(c.a_list(f"{path}.forecasts", obj.get("forecasts"))):
            entry_path = f"{path}.forecasts[{j}]"
            f = c.fields(entry_path, entry, ("reported_on", "forecast"), ("note", "by"))
            if f is None:
                continue
            reported_on = c.a_date(f"{entry_path}.reported_on", f.get("reported_on"))
            forecast = c.a_date(f"{entry_path}.forecast", f.get("forecast"))
            note = c.text(f"{entry_path}.note", f.get("note"), kind="note", required=False)
            by = _member_ref(c, f"{entry_path}.by", f.get("by"), members)
            if _ok(reported_on, forecast, note, by):
                forecasts.append(ForecastPlan(reported_on, forecast, note, by))
        if _ok(name, description, stage, baseline, achieved):
            milestones.append(
                MilestonePlan(name, description, stage, baseline, achieved, forecasts)
            )
    return milestones


def _check_risks(
    c: _Checker,
    value: Any,
    project_key: str,
    members: dict[str, MemberPlan],
    story_numbers: set[int],
    milestone_names: set[str],
) -> list[RiskPlan]:
    risks: list[RiskPlan] = []
    for i, item in enumerate(c.a_list("$.risks", value)):
        path = f"$.risks[{i}]"
        obj = c.fields(
            path,
            item,
            ("title", "category", "likelihood", "impact", "status"),
            ("description", "owner", "mitigation", "stories", "milestone", "review_on"),
        )
        if obj is None:
            continue
        title = c.text(f"{path}.title", obj.get("title"), kind="title")
        description = c.text(
            f"{path}.description", obj.get("description"), kind="description", required=False
        )
        category = c.choice(
            f"{path}.category", obj.get("category"), RISK_CATEGORIES, "risk category"
        )
        likelihood = c.integer(f"{path}.likelihood", obj.get("likelihood"), 1, 5)
        impact = c.integer(f"{path}.impact", obj.get("impact"), 1, 5)
        owner = _member_ref(c, f"{path}.owner", obj.get("owner"), members)
        mitigation = c.text(
            f"{path}.mitigation", obj.get("mitigation"), kind="long", required=False
        )
        status = c.choice(f"{path}.status", obj.get("status"), RISK_STATUSES, "risk status")
        numbers: list[int] = []
        for j, story_key in enumerate(c.a_list(f"{path}.stories", obj.get("stories"))):
            prefix = f"{project_key}-"
            number = None
            if isinstance(story_key, str) and story_key.startswith(prefix):
                tail = story_key[len(prefix) :]
                number = int(tail) if tail.isdigit() else None
            if number is None or number not in story_numbers:
                c.add(f"{path}.stories[{j}]", f"story {_shown(story_key)} not found in $.stories")
            elif number in numbers:
                c.add(f"{path}.stories[{j}]", f"story {story_key} is listed twice")
            else:
                numbers.append(number)
        milestone = obj.get("milestone")
        if milestone is not None and (
            not isinstance(milestone, str) or milestone.strip() not in milestone_names
        ):
            c.add(f"{path}.milestone", f"milestone {_shown(milestone)} not found in $.milestones")
            milestone = _MISSING
        review_on = c.a_date(f"{path}.review_on", obj.get("review_on"), nullable=True)
        if _ok(
            title,
            description,
            category,
            likelihood,
            impact,
            owner,
            mitigation,
            status,
            milestone,
            review_on,
        ):
            risks.append(
                RiskPlan(
                    title,
                    description,
                    category,
                    likelihood,
                    impact,
                    owner,
                    mitigation,
                    status,
                    numbers,
                    milestone.strip() if milestone else None,
                    review_on,
                )
            )
    return risks
