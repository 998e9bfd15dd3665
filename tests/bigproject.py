"""A big project for the backlog and board size tests (and the screenshots): 2,000 stories.

`document()` is an interchange document (planner.interchange), imported in one go by `build()`
(about a second); `document(20, "SMALL")` is the same project with 20 stories in the same shares:

- BIG-1 .. BIG-100: "Sprint 1", closed (on no board and in no backlog);
- BIG-101 .. BIG-300: "Sprint 2", active: 200 stories, 50 in each status;
- BIG-301 .. BIG-900: "Sprint 3" .. "Sprint 8", planned, 100 stories each;
- BIG-901 .. BIG-2000: the backlog proper, 1,100 stories.

Every story has a long-ish title, a stage, a role, an epic (one of 8), an assignee (one of 6)
and, one in three, a label. Points cycle through POINTS (one in seven unestimated), so the
totals of any range can be worked out by hand: see `points_of`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

KEY = "BIG"
MANAGER = "lead@example.com"
PEOPLE = [MANAGER] + [f"person{n}@example.com" for n in range(1, 6)]
ROLES = ["data_scientist", "ml_engineer", "data_engineer", "mlops_engineer", "software_engineer"]
STAGES = [
    "problem_framing",
    "data_collection",
    "data_labeling",
    "data_preparation",
    "modeling",
    "evaluation",
    "deployment",
    "monitoring",
]
LABELS = ["gpu", "customer-facing", "tech-debt"]
POINTS = [1, 2, 3, 5, 8, None, 3]  # story n gets POINTS[n % 7]
STATUSES = ["todo", "in_progress", "review", "done"]
SPRINTS = [  # name, state, start, end, first story, last story
    ("Sprint 1", "closed", "2026-11-02", "2026-11-13", 1, 100),
    ("Sprint 2", "active", "2026-11-30", "2026-12-11", 101, 300),
    ("Sprint 3", "planned", "2026-12-14", "2026-12-25", 301, 400),
    ("Sprint 4", "planned", "2026-12-28", "2027-01-08", 401, 500),
    ("Sprint 5", "planned", "2027-01-11", "2027-01-22", 501, 600),
    ("Sprint 6", "planned", "2027-01-25", "2027-02-05", 601, 700),
    ("Sprint 7", "planned", "2027-02-08", "2027-02-19", 701, 800),
    ("Sprint 8", "planned", "2027-02-22", "2027-03-05", 801, 900),
]
TOTAL = 2000


def points_of(n: int) -> int | None:
    return POINTS[n % 7]


def ranges(total: int = TOTAL) -> list[tuple[str, str, str, str, int, int]]:
    """SPRINTS for a project of `total` stories: the same shares of it (20 stories: one in
    Sprint 1, two in Sprint 2, one in each planned sprint, eleven in the backlog)."""
    if total == TOTAL:
        return SPRINTS
    return [
        (name, state, start, end, -(-first * total // TOTAL), last * total // TOTAL)
        for name, state, start, end, first, last in SPRINTS
    ]


def sprint_of(n: int, total: int = TOTAL) -> str | None:
    for name, _, _, _, first, last in ranges(total):
        if first <= n <= last:
            return name
    return None


def status_of(n: int, total: int = TOTAL) -> str:
    for _name, state, _, _, first, last in ranges(total):
        if first <= n <= last:
            if state == "closed":
                return "done"
            if state == "active":  # a quarter in each status, in blocks (50 each of 200)
                return STATUSES[(n - first) * 4 // (last - first + 1)]
    return "todo"


def title_of(n: int) -> str:
    return f"Story {n}: retrain the fraud model on the relabelled March batch and compare PR-AUC"


def document(total: int = TOTAL, key: str = KEY) -> dict:
    """The interchange document of the big project (`total` stories, in the same shares)."""
    stories = []
    for n in range(1, total + 1):
        sprint = sprint_of(n, total)
        stories.append(
            {
                "key": f"{key}-{n}",
                "title": title_of(n),
                "type": "bug" if n % 11 == 0 else "feature",
                "status": status_of(n, total),
                "points": points_of(n),
                "sprint": sprint,
                "stage": STAGES[n % len(STAGES)],
                "role": ROLES[n % len(ROLES)],
                "epic": f"E{n % 8 + 1}",
                "assignee": PEOPLE[n % len(PEOPLE)],
                "labels": [LABELS[n % len(LABELS)]] if n % 3 == 0 else [],
                "rank": n * 1024,  # as planner spaces them (RANK_STEP)
                "created_at": "2026-10-01T10:00:00Z",
            }
        )
    return {
        "format": "planner-export",
        "version": 1,
        "project": {
            "key": key,
            "name": "Big project" if total == TOTAL else f"Project of {total} stories",
            "timezone": "Europe/Berlin",
            "working_days": [1, 2, 3, 4, 5],
        },
        "members": [
            {
                "email": email,
                "name": "Lea Lead" if email == MANAGER else f"Person {i}",
                "access": "manage" if email == MANAGER else "edit",
                "roles": [ROLES[i % len(ROLES)]],
            }
            for i, email in enumerate(PEOPLE)
        ],
        "epics": [
            {"key": f"E{e}", "title": f"Epic {e}: fraud model v{e} from framing to monitoring"}
            for e in range(1, 9)
        ],
        "sprints": [
            {
                "name": name,
                "start": start,
                "end": end,
                "state": state,
                **({"started_at": f"{start}T09:00:00Z"} if state != "planned" else {}),
                **({"closed_at": f"{end}T16:00:00Z"} if state == "closed" else {}),
            }
            for name, state, start, end, _, _ in ranges(total)
        ],
        "stories": stories,
    }


def build(session: Session, total: int = TOTAL, key: str = KEY):
    """Import the big project (or one of `total` stories) into `session` and commit it. The
    members are the same people in every such project (lead@example.com manages)."""
    from planner.interchange.importer import import_document

    project = import_document(session, document(total, key), hash_method="pbkdf2:sha256:1000")
    session.commit()
    return project
