"""The semantic pass over stories: keys, references, the outcome rule, comments, and history
chains by the rules of docs/rules.md ("Story history")."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator
from datetime import datetime
from typing import Any

from planner.domain.stories import needs_outcome
from planner.interchange.checker import MISSING, Checker, ok
from planner.interchange.plan import CommentPlan, EventPlan, StoryPlan
from planner.interchange.schema import SOURCE_FIELDS_MAX, shown
from planner.vocab import STORY_TYPES


class StoryRefs:
    """What a story may refer to."""

    def __init__(self, project_key, stage_keys, members, epic_keys, sprint_names) -> None:
        self.project_key = project_key
        self.stage_keys = stage_keys
        self.members = members
        self.epic_keys = epic_keys
        self.sprint_names = sprint_names

    def sprint(self, c: Checker, path: str, value: Any) -> Any:
        return c.ref(path, value, self.sprint_names, "sprint {value} not found in $.sprints")

    def value(self, c: Checker, path: str, field_name: str, value: Any) -> Any:
        """A history event's `from` or `to`, checked as the story's own field is (the schema
        has checked statuses, points and roles)."""
        if field_name == "sprint":
            return self.sprint(c, path, value)
        if field_name == "stage":
            return c.stage(path, value, self.stage_keys)
        if field_name == "assignee":
            return c.member(path, value, self.members)
        return c.take(path, value)


def check_stories(c: Checker, value: Any, refs: StoryRefs) -> list[StoryPlan]:
    return [plan for plan in each_story(c, c.items("$.stories", value), refs) if plan is not None]


def each_story(c: Checker, items: Iterable[Any], refs: StoryRefs) -> Iterator[StoryPlan | None]:
    """Check the stories one at a time, as `items` gives them (a list, or a file read story by
    story): yield each one's plan, or None for a story that cannot be planned. What one story
    checks against the others (duplicate keys and sources) is kept as numbers and names."""
    numbers: set[int] = set()
    imported_refs: set[str] = set()
    key_re = re.compile(rf"{re.escape(refs.project_key)}-([1-9][0-9]{{0,8}})")
    for i, item in enumerate(items):
        path = f"$.stories[{i}]"
        obj = c.obj(path, item)
        if obj is None:
            yield None
            continue
        key = c.take(f"{path}.key", obj["key"])
        match = key_re.fullmatch(key) if isinstance(key, str) else None
        number: Any = MISSING
        if match is None and key is not MISSING:
            c.add(
                f"{path}.key",
                f"{shown(key)} is not a story key of {refs.project_key} "
                f"(like {refs.project_key}-42)",
            )
        elif match is not None and int(match.group(1)) in numbers:
            c.add(f"{path}.key", f"duplicate story key {shown(key)}")
        elif match is not None:
            number = int(match.group(1))
            numbers.add(number)
        texts = {
            name: c.text(f"{path}.{name}", obj.get(name), kind=kind)
            for name, kind in _STORY_TEXTS.items()
        }
        type_, status = obj["type"], obj["status"]
        outcome = obj.get("outcome")
        if type_ == "experiment" and outcome is None:
            outcome = "pending"
        if status == "done" and type_ in STORY_TYPES and needs_outcome(type_, outcome):
            c.add(
                f"{path}.outcome",
                "a done experiment needs an outcome other than pending "
                "(confirmed, refuted or inconclusive)",
            )
        current = {
            "status": status,
            "points": obj.get("points"),
            "sprint": refs.sprint(c, f"{path}.sprint", obj.get("sprint")),
            "stage": c.stage(f"{path}.stage", obj.get("stage"), refs.stage_keys),
            "role": obj.get("role"),
            "assignee": c.member(f"{path}.assignee", obj.get("assignee"), refs.members),
        }
        epic = c.ref(
            f"{path}.epic", obj.get("epic"), refs.epic_keys, "epic {value} not found in $.epics"
        )
        created_at = c.a_timestamp(f"{path}.created_at", obj["created_at"])
        history = _check_history(
            c, f"{path}.history", obj.get("history"), current, created_at, refs
        )
        comments = _check_comments(c, f"{path}.comments", obj.get("comments"), refs.members)
        labels = [
            c.text(f"{path}.labels[{j}]", label, kind="short", max_len=60)
            for j, label in enumerate(c.items(f"{path}.labels", obj.get("labels")))
        ]
        imported = {
            "imported_from": c.text(
                f"{path}.imported_from", obj.get("imported_from"), kind="short", max_len=100
            ),
            "imported_at": c.a_timestamp(f"{path}.imported_at", obj.get("imported_at")),
            "source_updated": c.a_timestamp(f"{path}.source_updated", obj.get("source_updated")),
            "source_fields": c.text(
                f"{path}.source_fields",
                obj.get("source_fields"),
                kind="description",
                max_len=SOURCE_FIELDS_MAX,
            ),
        }
        ref = imported["imported_from"]
        if ref not in (None, MISSING) and ref in imported_refs:
            c.add(f"{path}.imported_from", f"two stories were imported from {ref}")
            imported["imported_from"] = MISSING
        elif ref not in (None, MISSING):
            imported_refs.add(ref)
        planned = ok(
            number,
            epic,
            created_at,
            *texts.values(),
            *current.values(),
            *labels,
            *imported.values(),
        )
        if not planned or history is None:
            yield None
        else:
            yield (
                StoryPlan(
                    number=number,
                    type=type_,
                    epic=epic,
                    rank=obj.get("rank", 0),
                    created_at=created_at,
                    blocked=obj.get("blocked", False),
                    outcome=outcome,
                    history=history,
                    comments=comments,
                    labels=list(dict.fromkeys(labels)),
                    **imported,
                    **texts,
                    **current,
                )
            )


_STORY_TEXTS = {
    "title": "title",
    "description": "description",
    "hypothesis": "long",
    "metric": "short",
    "target": "short",
    "result": "long",
}


def _check_history(
    c: Checker,
    path: str,
    value: Any,
    current: dict[str, Any],
    created_at: Any,
    refs: StoryRefs,
) -> list[EventPlan] | None:
    before = len(c.problems)
    events: list[EventPlan] = []
    last_at: datetime | None = None
    usable = True
    for i, item in enumerate(c.items(path, value)):
        event_path = f"{path}[{i}]"
        obj = c.obj(event_path, item)
        if obj is None:
            usable = False
            continue
        at = c.a_timestamp(f"{event_path}.at", obj["at"])
        field_name = obj["field"]
        by = c.member(f"{event_path}.by", obj.get("by"), refs.members)
        old = refs.value(c, f"{event_path}.from", field_name, obj["from"])
        new = refs.value(c, f"{event_path}.to", field_name, obj["to"])
        if isinstance(at, datetime):
            if isinstance(created_at, datetime) and at < created_at:
                c.add(f"{event_path}.at", "inconsistent history: the event is before created_at")
            if last_at is not None and at < last_at:
                c.add(
                    f"{event_path}.at",
                    "inconsistent history: events must be in chronological order",
                )
            last_at = at
        if ok(at, old, new, by):
            if old == new:
                c.add(event_path, f"inconsistent history: 'from' and 'to' are both {old!r}")
            events.append(EventPlan(at, field_name, old, new, by))
        else:
            usable = False
    if len(c.problems) != before or not usable or c.take(path, value) is MISSING:
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
        if current[field_name] is not MISSING and previous[field_name] != current[field_name]:
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
    c: Checker, path: str, value: Any, members: Container[str]
) -> list[CommentPlan]:
    comments: list[CommentPlan] = []
    for i, item in enumerate(c.items(path, value)):
        item_path = f"{path}[{i}]"
        obj = c.obj(item_path, item)
        if obj is None:
            continue
        author = c.member(f"{item_path}.author", obj.get("author"), members)
        at = c.a_timestamp(f"{item_path}.at", obj["at"])
        body = c.text(f"{item_path}.body", obj["body"], kind="comment")
        if ok(author, at, body):
            comments.append(CommentPlan(author, at, body))
    return comments
