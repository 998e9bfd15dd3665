"""Does the sprint fit the people? Points each functional role's work needs against the capacity
of the members holding that role, and the sprint's total against capacity and velocity. Pure:
plain values in, plain values out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from planner.vocab import ROLES


@dataclass(frozen=True)
class RoleLine:
    """One functional role's load; role None is work any role can take."""

    role: str | None
    needed: int
    capacity: int | None  # None for work any role can take
    holders: tuple[str, ...]  # names of the members with capacity who hold the role

    @property
    def name(self) -> str:
        return ROLES[self.role] if self.role else "Any role"

    @property
    def over_by(self) -> int:
        if self.capacity is None:
            return 0
        return max(self.needed - self.capacity, 0)

    @property
    def over(self) -> bool:
        return self.over_by > 0


@dataclass(frozen=True)
class PlanCheck:
    lines: list[RoleLine]
    needed: int  # all the sprint's points
    capacity: int  # every member counted once
    velocity: float | None  # average completed points of the last three closed sprints
    stories: int
    unestimated: int

    @property
    def over_roles(self) -> list[RoleLine]:
        return [line for line in self.lines if line.over]

    @property
    def over_capacity_by(self) -> int:
        return max(self.needed - self.capacity, 0)

    @property
    def above_velocity_by(self) -> float:
        if self.velocity is None:
            return 0.0
        return max(self.needed - self.velocity, 0.0)

    @property
    def fits(self) -> bool:
        return not self.over_roles and not self.over_capacity_by

    @property
    def verdict(self) -> str:
        """The headline's level, the total first (docs/rules.md, "The plan verdict"):
        over: more points than the team's capacity; pace: within capacity but above velocity;
        roles: the total fits capacity and velocity, but one or more roles are over their own
        capacity; fits: none of these."""
        if self.over_capacity_by:
            return "over"
        if self.above_velocity_by:
            return "pace"
        if self.over_roles:
            return "roles"
        return "fits"


def check_plan(
    stories: Iterable[tuple[str | None, int | None]],
    capacity: Mapping[int, int],
    roles_of: Mapping[int, Iterable[str]],
    names: Mapping[int, str],
    velocity: float | None,
) -> PlanCheck:
    """Check a sprint's plan.

    `stories` are (role needed, points) of the sprint's stories (None points = unestimated);
    `capacity` is {member id: points}; `roles_of` the functional roles each member holds. A member
    holding several roles counts toward each of them (they could take either kind of work); the
    sprint total counts everyone once.
    """
    needed: dict[str | None, int] = defaultdict(int)
    count = unestimated = 0
    for role, points in stories:
        needed[role] += points or 0
        count += 1
        unestimated += points is None
    by_role: dict[str, int] = defaultdict(int)
    holders: dict[str, list[str]] = defaultdict(list)
    for member, points in capacity.items():
        for role in roles_of.get(member, ()):
            by_role[role] += points
            holders[role].append(names.get(member, "?"))
    lines = [
        RoleLine(role, needed.get(role, 0), by_role.get(role, 0), tuple(sorted(holders[role])))
        for role in ROLES
        if needed.get(role, 0) or by_role.get(role, 0)
    ]
    if needed.get(None):
        lines.append(RoleLine(None, needed[None], None, ()))
    return PlanCheck(
        lines=lines,
        needed=sum(needed.values()),
        capacity=sum(capacity.values()),
        velocity=velocity,
        stories=count,
        unestimated=unestimated,
    )
