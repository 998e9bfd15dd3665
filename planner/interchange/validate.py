"""Check an interchange document completely, before anything is written.

Two passes, and every problem of both is reported at once, with its JSON path:

1. the shape, by the JSON Schema of `schema.py` (published as docs/interchange.schema.json):
   fields, types, vocabularies, ranges, key patterns, text lengths;
2. the meaning, here: text that cannot be stored, dates that do not exist or fall outside the
   date window, references between parts (members, stages, epics, sprints, milestones, stories),
   uniqueness, sprint states and their times, and the history rules of docs/rules.md.

The semantic pass reads only values the shape pass accepted: a value at a path the schema already
refused is skipped silently (`Checker.take`), so each path gets one problem.

`check_document` returns a normalised `Plan` (plan.py) that `importer.write_plan` can write without
further checks.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from datetime import datetime
from typing import Any

from planner.domain.accounts import check_email, normalise_email
from planner.inputs import (
    SPRINT_MAX_DAYS,
)
from planner.interchange import Problem
from planner.interchange.checker import MISSING, Checker, ok
from planner.interchange.plan import (
    EpicPlan,
    ForecastPlan,
    MemberPlan,
    MilestonePlan,
    Plan,
    RiskPlan,
    SprintPlan,
    StagePlan,
    StoryPlan,
)
from planner.interchange.schema import document_order, shape_problems, shown, story_shape
from planner.interchange.story_checks import StoryRefs, check_stories, each_story
from planner.timeutil import is_timezone
from planner.vocab import (
    DEFAULT_SLIP_TOLERANCE_DAYS,
    DEFAULT_SPRINT_LENGTH_DAYS,
    DEFAULT_STAGES,
)


def check_document(
    document: Any, *, existing_project_keys: set[str] | frozenset[str] = frozenset()
) -> tuple[Plan | None, list[Problem]]:
    """Check a whole document; return (plan, []) when it can be imported, else (None, problems)."""
    shape = shape_problems(document)
    if not isinstance(document, dict) or any(p.path == "$.version" for p in shape):
        # Not a document of this version: what else the schema says would only confuse.
        return None, [p for p in shape if "." not in p.path[2:] and "[" not in p.path[1:]]
    c = Checker({problem.path for problem in shape})
    plan = _check_project(c, document.get("project"), existing_project_keys)
    if plan is not None:
        _check_parts(c, plan, document)
    problems = _merge(shape, c.problems)
    if problems or plan is None:
        return None, problems or [Problem("$.project", "the project could not be read")]
    return plan, []


def _merge(shape: list[Problem], semantic: list[Problem]) -> list[Problem]:
    """Both passes' problems, one per path, the shape's first."""
    seen = {problem.path for problem in shape}
    merged = list(shape)
    for problem in semantic:
        if problem.path not in seen:
            seen.add(problem.path)
            merged.append(problem)
    return sorted(merged, key=document_order)


def _check_parts(c: Checker, plan: Plan, top: dict) -> None:
    refs = _check_referred(c, plan, top)
    plan.stories = check_stories(c, top.get("stories"), refs)
    story_numbers = _listed_story_numbers(top.get("stories"), plan.key)
    _check_after_stories(c, plan, top, story_numbers)


def _check_referred(c: Checker, plan: Plan, top: dict) -> StoryRefs:
    """Check the members, epics and sprints; return what stories may refer to."""
    stage_keys = [stage.key for stage in plan.stages]
    members = _check_members(c, top.get("members"))
    plan.members = list(members.values())
    # References are checked against what the document lists, so one invalid member, epic or
    # story does not also make everything that names it report "not found".
    listed = _listed_emails(top.get("members"))
    milestone_names = _names(top.get("milestones"), "name")
    sprint_names = _names(top.get("sprints"), "name")
    plan.epics = _check_epics(c, top.get("epics"), stage_keys, milestone_names)
    epic_keys = _names(top.get("epics"), "key")
    plan.sprints = _check_sprints(c, top.get("sprints"), listed)
    return StoryRefs(plan.key, stage_keys, listed, epic_keys, sprint_names)


def _check_after_stories(c: Checker, plan: Plan, top: dict, story_numbers: set[int]) -> None:
    stage_keys = [stage.key for stage in plan.stages]
    listed = _listed_emails(top.get("members"))
    milestone_names = _names(top.get("milestones"), "name")
    plan.milestones = _check_milestones(c, top.get("milestones"), stage_keys, listed)
    plan.risks = _check_risks(c, top.get("risks"), plan.key, listed, story_numbers, milestone_names)


# --- a document read in parts (importer.check_file) ---------------------------------------------
# Its stories are read from the file one at a time, the rest (`outline`: the document without
# its `stories` list) at once. These functions only ever say "no problem" where check_document
# would find none in the whole document, and then give the same plan; at the first doubt they
# raise ReadWhole, and the caller checks the whole document, which says what is wrong.


class ReadWhole(Exception):
    """The document cannot be vouched for in parts: check it whole."""


def check_outline(
    outline: dict, *, existing_project_keys: set[str] | frozenset[str] = frozenset()
) -> tuple[Plan, StoryRefs]:
    """The plan of everything but the stories, milestones and risks, and what stories may refer
    to; ReadWhole when any of it has a problem."""
    if shape_problems(outline):
        raise ReadWhole
    c = Checker(set())
    plan = _check_project(c, outline.get("project"), existing_project_keys)
    if plan is None:
        raise ReadWhole
    refs = _check_referred(c, plan, outline)
    if c.problems:
        raise ReadWhole
    return plan, refs


def checked_stories(refs: StoryRefs, items: Iterable[Any]) -> Iterator[StoryPlan]:
    """Each story's plan, checked as check_document checks the document's stories (shape, then
    meaning); ReadWhole at the first story with a problem."""
    valid = story_shape()
    c = Checker(set())

    def shaped() -> Iterator[Any]:
        for item in items:
            if not valid(item):
                raise ReadWhole
            yield item

    for plan in each_story(c, shaped(), refs):
        if plan is None or c.problems:
            raise ReadWhole
        yield plan


def check_after_stories(plan: Plan, outline: dict, story_numbers: set[int]) -> None:
    """Check the milestones and risks (which may name any story) into `plan`; ReadWhole when
    they have a problem."""
    c = Checker(set())
    _check_after_stories(c, plan, outline, story_numbers)
    if c.problems:
        raise ReadWhole


def _listed_story_numbers(items: Any, project_key: str) -> set[int]:
    numbers: set[int] = set()
    prefix = f"{project_key}-"
    for item in items if isinstance(items, list) else []:
        key = item.get("key") if isinstance(item, dict) else None
        if isinstance(key, str) and key.startswith(prefix) and key[len(prefix) :].isdigit():
            numbers.add(int(key[len(prefix) :]))
    return numbers


def _listed_emails(items: Any) -> set[str]:
    return {normalise_email(email) for email in _names(items, "email")}


def _names(items: Any, name_field: str) -> set[str]:
    return {
        item[name_field].strip()
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and isinstance(item.get(name_field), str)
    }


def _check_project(c: Checker, value: Any, existing: set[str] | frozenset[str]) -> Plan | None:
    path = "$.project"
    p = value if isinstance(value, dict) and path not in c.refused else None
    if p is None:
        return None
    key = c.take(f"{path}.key", p.get("key"))
    if key in existing:
        c.add(f"{path}.key", f"a project {key} already exists in this planner")
    name = c.text(f"{path}.name", p.get("name"), kind="name")
    description = c.text(f"{path}.description", p.get("description"), kind="description")
    timezone = c.take(f"{path}.timezone", p.get("timezone"))
    if isinstance(timezone, str) and not is_timezone(timezone):
        c.add(
            f"{path}.timezone",
            f"{shown(timezone)} is not a known IANA timezone (like Europe/Berlin)",
        )
        timezone = MISSING
    working_days = c.take(f"{path}.working_days", p.get("working_days"))
    holidays = []
    for i, raw in enumerate(c.items(f"{path}.holidays", p.get("holidays"))):
        day = c.a_date(f"{path}.holidays[{i}]", raw)
        if day in holidays:
            c.add(f"{path}.holidays[{i}]", f"{raw} is listed twice")
        if day is not MISSING:
            holidays.append(day)
    sprint_length = c.take(
        f"{path}.sprint_length_days", p.get("sprint_length_days", DEFAULT_SPRINT_LENGTH_DAYS)
    )
    tolerance = c.take(
        f"{path}.slip_tolerance_days", p.get("slip_tolerance_days", DEFAULT_SLIP_TOLERANCE_DAYS)
    )
    created_at = c.a_timestamp(f"{path}.created_at", p.get("created_at"))
    stages = _check_stages(c, p.get("stages"))
    if not ok(key, name, description, timezone, working_days, sprint_length, tolerance, created_at):
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


def _check_stages(c: Checker, value: Any) -> list[StagePlan]:
    path = "$.project.stages"
    if value is None:
        return [StagePlan(key, name, False) for key, name in DEFAULT_STAGES.items()]
    stages: list[StagePlan] = []
    for i, item in enumerate(c.items(path, value)):
        item_path = f"{path}[{i}]"
        if c.take(item_path, item) is MISSING:
            continue
        if isinstance(item, str):
            stage = StagePlan(item, DEFAULT_STAGES[item], False)
        else:
            name = c.text(f"{item_path}.name", item["name"], kind="name", max_len=80)
            if name is MISSING:
                continue
            stage = StagePlan(item["key"], name, item.get("archived", False))
        if any(existing.key == stage.key for existing in stages):
            c.add(item_path, f"the stage {stage.key!r} is listed twice")
            continue
        stages.append(stage)
    return stages


def _check_members(c: Checker, value: Any) -> dict[str, MemberPlan]:
    members: Container[str] = {}
    items = c.items("$.members", value)
    for i, item in enumerate(items):
        path = f"$.members[{i}]"
        obj = c.obj(path, item)
        if obj is None:
            continue
        email = normalise_email(obj["email"])
        if problem := check_email(email):
            c.add(f"{path}.email", problem)
            continue
        if email in members:
            c.add(f"{path}.email", f"{email} is listed twice")
            continue
        name = c.text(f"{path}.name", obj["name"], kind="name")
        roles: list[str] = []
        for j, role in enumerate(obj.get("roles") or []):
            if role in roles:
                c.add(f"{path}.roles[{j}]", f"the role {role} is listed twice")
            roles.append(role)
        if ok(name):
            members[email] = MemberPlan(email, name, obj["access"], list(dict.fromkeys(roles)))
    if items and not any(isinstance(m, dict) and m.get("access") == "manage" for m in items):
        c.add(
            "$.members", "no member has manage access; someone must be able to manage the project"
        )
    if not items and "$.members" not in c.refused:
        c.add("$.members", "list at least one member with manage access")
    return members


def _check_epics(
    c: Checker, value: Any, stage_keys: list[str], milestone_names: set[str]
) -> list[EpicPlan]:
    epics: list[EpicPlan] = []
    for i, item in enumerate(c.items("$.epics", value)):
        path = f"$.epics[{i}]"
        obj = c.obj(path, item)
        if obj is None:
            continue
        key = obj["key"]
        if any(epic.key == key for epic in epics):
            c.add(f"{path}.key", f"duplicate epic key {shown(key)}")
            continue
        title = c.text(f"{path}.title", obj["title"], kind="title")
        description = c.text(f"{path}.description", obj.get("description"), kind="description")
        stage = c.stage(f"{path}.stage", obj.get("stage"), stage_keys)
        milestone = c.ref(
            f"{path}.milestone",
            obj.get("milestone"),
            milestone_names,
            "milestone {value} not found in $.milestones",
        )
        imported_from = c.text(
            f"{path}.imported_from", obj.get("imported_from"), kind="short", max_len=100
        )
        if imported_from not in (None, MISSING) and any(
            e.imported_from == imported_from for e in epics
        ):
            c.add(f"{path}.imported_from", f"two epics were imported from {imported_from}")
            imported_from = MISSING
        if ok(title, description, stage, milestone, imported_from):
            epics.append(
                EpicPlan(
                    key,
                    title,
                    description,
                    stage,
                    milestone,
                    obj.get("archived", False),
                    imported_from,
                )
            )
    return epics


def _check_sprints(c: Checker, value: Any, members: Container[str]) -> list[SprintPlan]:
    sprints: list[SprintPlan] = []
    active_seen: str | None = None
    for i, item in enumerate(c.items("$.sprints", value)):
        path = f"$.sprints[{i}]"
        obj = c.obj(path, item)
        if obj is None:
            continue
        name = c.text(f"{path}.name", obj["name"], kind="name", max_len=80)
        if name is not MISSING and any(s.name == name for s in sprints):
            c.add(f"{path}.name", f"duplicate sprint name {name!r}")
            name = MISSING
        goal = c.text(f"{path}.goal", obj.get("goal"), kind="goal")
        start = c.a_date(f"{path}.start", obj["start"])
        end = c.a_date(f"{path}.end", obj["end"])
        if ok(start, end) and end < start:
            c.add(f"{path}.end", f"the sprint ends ({end}) before it starts ({start})")
        elif ok(start, end) and (end - start).days + 1 > SPRINT_MAX_DAYS:
            c.add(
                f"{path}.end",
                f"the sprint lasts {(end - start).days + 1} days; at most {SPRINT_MAX_DAYS}",
            )
        state = obj["state"]
        started_at = c.a_timestamp(f"{path}.started_at", obj.get("started_at"))
        closed_at = c.a_timestamp(f"{path}.closed_at", obj.get("closed_at"))
        _check_sprint_times(c, path, state, started_at, closed_at)
        if state == "active":
            if active_seen is not None:
                c.add(
                    f"{path}.state",
                    f"a second active sprint ({active_seen!r} is active already); "
                    "a project has at most one",
                )
            active_seen = name if isinstance(name, str) else "?"
        capacity: list[tuple[str, int]] = []
        for j, entry in enumerate(obj.get("capacity") or []):
            entry_path = f"{path}.capacity[{j}]"
            member = c.member(f"{entry_path}.member", entry["member"], members)
            if member is not MISSING and any(m == member for m, _ in capacity):
                c.add(f"{entry_path}.member", f"{member} has two capacity entries")
            elif member is not MISSING:
                capacity.append((member, entry["points"]))
        imported_at = c.a_timestamp(f"{path}.imported_at", obj.get("imported_at"))
        source = c.text(f"{path}.imported_from", obj.get("imported_from"), kind="name", max_len=80)
        if ok(name, goal, start, end, started_at, closed_at, imported_at, source):
            sprints.append(
                SprintPlan(
                    name,
                    goal,
                    start,
                    end,
                    state,
                    started_at,
                    closed_at,
                    capacity,
                    imported_at,
                    source,
                )
            )
    return sprints


def _check_sprint_times(c: Checker, path: str, state: str, started_at, closed_at) -> None:
    """A sprint's state and its start and close times agree (docs/rules.md, "Sprints")."""
    if state in ("active", "closed") and started_at is None:
        c.add(f"{path}.started_at", f"a {state} sprint needs the time it was started")
    if state == "closed" and closed_at is None:
        c.add(f"{path}.closed_at", "a closed sprint needs the time it was closed")
    if state != "closed" and closed_at not in (None, MISSING):
        c.add(f"{path}.closed_at", f"a {state} sprint has no closing time")
    if state == "planned" and started_at not in (None, MISSING):
        c.add(f"{path}.started_at", "a planned sprint has not been started")
    if isinstance(started_at, datetime) and isinstance(closed_at, datetime):
        if closed_at < started_at:
            c.add(f"{path}.closed_at", "the sprint was closed before it was started")


def _check_milestones(
    c: Checker, value: Any, stage_keys: list[str], members: Container[str]
) -> list[MilestonePlan]:
    milestones: list[MilestonePlan] = []
    for i, item in enumerate(c.items("$.milestones", value)):
        path = f"$.milestones[{i}]"
        obj = c.obj(path, item)
        if obj is None:
            continue
        name = c.text(f"{path}.name", obj["name"], kind="name")
        if name is not MISSING and any(m.name == name for m in milestones):
            c.add(f"{path}.name", f"duplicate milestone name {name!r}")
            name = MISSING
        description = c.text(f"{path}.description", obj.get("description"), kind="description")
        stage = c.stage(f"{path}.stage", obj.get("stage"), stage_keys)
        baseline = c.a_date(f"{path}.baseline", obj["baseline"])
        achieved = c.a_date(f"{path}.achieved", obj.get("achieved"))
        forecasts: list[ForecastPlan] = []
        for j, entry in enumerate(obj.get("forecasts") or []):
            entry_path = f"{path}.forecasts[{j}]"
            reported_on = c.a_date(f"{entry_path}.reported_on", entry["reported_on"])
            forecast = c.a_date(f"{entry_path}.forecast", entry["forecast"])
            note = c.text(f"{entry_path}.note", entry.get("note"), kind="note")
            by = c.member(f"{entry_path}.by", entry.get("by"), members)
            if ok(reported_on, forecast, note, by):
                forecasts.append(ForecastPlan(reported_on, forecast, note, by))
        if ok(name, description, stage, baseline, achieved):
            milestones.append(
                MilestonePlan(name, description, stage, baseline, achieved, forecasts)
            )
    return milestones


def _check_risks(
    c: Checker,
    value: Any,
    project_key: str,
    members: Container[str],
    story_numbers: set[int],
    milestone_names: set[str],
) -> list[RiskPlan]:
    risks: list[RiskPlan] = []
    for i, item in enumerate(c.items("$.risks", value)):
        path = f"$.risks[{i}]"
        obj = c.obj(path, item)
        if obj is None:
            continue
        title = c.text(f"{path}.title", obj["title"], kind="title")
        description = c.text(f"{path}.description", obj.get("description"), kind="description")
        owner = c.member(f"{path}.owner", obj.get("owner"), members)
        mitigation = c.text(f"{path}.mitigation", obj.get("mitigation"), kind="long")
        numbers: list[int] = []
        prefix = f"{project_key}-"
        for j, story_key in enumerate(obj.get("stories") or []):
            tail = story_key[len(prefix) :] if story_key.startswith(prefix) else ""
            number = int(tail) if tail.isdigit() else None
            if number is None or number not in story_numbers:
                c.add(f"{path}.stories[{j}]", f"story {shown(story_key)} not found in $.stories")
            elif number in numbers:
                c.add(f"{path}.stories[{j}]", f"story {story_key} is listed twice")
            else:
                numbers.append(number)
        milestone = c.ref(
            f"{path}.milestone",
            obj.get("milestone"),
            milestone_names,
            "milestone {value} not found in $.milestones",
        )
        review_on = c.a_date(f"{path}.review_on", obj.get("review_on"))
        if ok(title, description, owner, mitigation, milestone, review_on):
            risks.append(
                RiskPlan(
                    title,
                    description,
                    obj["category"],
                    obj["likelihood"],
                    obj["impact"],
                    owner,
                    mitigation,
                    obj["status"],
                    numbers,
                    milestone,
                    review_on,
                )
            )
    return risks
