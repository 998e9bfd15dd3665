"""Sample interchange documents for the tests."""

from __future__ import annotations

import copy
from typing import Any

FULL: dict[str, Any] = {
    "format": "planner-export",
    "version": 1,
    "project": {
        "key": "CHURN",
        "name": "Churn prediction",
        "description": "Predict which subscribers cancel next month.",
        "timezone": "America/Chicago",
        "working_days": [1, 2, 3, 4],
        "holidays": ["2026-05-25", "2026-07-03"],
        "sprint_length_days": 10,
        "slip_tolerance_days": 3,
        "created_at": "2026-04-01T14:00:00Z",
        "stages": [
            "problem_framing",
            "data_collection",
            {"key": "data_labeling", "name": "Annotation"},
            "data_preparation",
            "modeling",
            {"key": "safety_review", "name": "Safety review"},
            "evaluation",
            "deployment",
            {"key": "monitoring", "name": "Monitoring & maintenance", "archived": True},
        ],
    },
    "members": [
        {
            "email": "ana@example.com",
            "name": "Ana Lima",
            "access": "manage",
            "roles": ["scrum_master", "product_owner"],
        },
        {
            "email": "ben@example.com",
            "name": "Ben Ode",
            "access": "edit",
            "roles": ["data_scientist", "ml_engineer"],
        },
        {"email": "cy@example.com", "name": "Cy Park", "access": "edit", "roles": ["annotator"]},
        {"email": "dee@example.com", "name": "Dee Stone", "access": "view", "roles": []},
    ],
    "epics": [
        {
            "key": "E1",
            "title": "Labels",
            "description": "Who churned, and why.",
            "stage": "data_labeling",
            "milestone": "Labels ready",
            "archived": False,
        },
        {
            "key": "E2",
            "title": "Old idea",
            "description": None,
            "stage": None,
            "milestone": None,
            "archived": True,
        },
    ],
    "sprints": [
        {
            "name": "Sprint 1",
            "goal": "Labels for 2,000 accounts",
            "start": "2026-05-04",
            "end": "2026-05-14",
            "state": "closed",
            "started_at": "2026-05-04T14:30:00Z",
            "closed_at": "2026-05-14T21:00:00Z",
            "capacity": [
                {"member": "ben@example.com", "points": 8},
                {"member": "cy@example.com", "points": 5},
            ],
        },
        {
            "name": "Sprint 2",
            "goal": None,
            "start": "2026-05-18",
            "end": "2026-05-28",
            "state": "active",
            "started_at": "2026-05-18T14:00:00Z",
            "closed_at": None,
            "capacity": [],
        },
        {
            "name": "Sprint 3",
            "goal": "Baseline",
            "start": "2026-06-01",
            "end": "2026-06-11",
            "state": "planned",
            "started_at": None,
            "closed_at": None,
            "capacity": [{"member": "ben@example.com", "points": 10}],
        },
    ],
    "stories": [
        {
            "key": "CHURN-1",
            "title": "Label 2,000 cancelled accounts",
            "description": "Use the **new** guideline.",
            "type": "feature",
            "stage": "data_labeling",
            "role": "annotator",
            "points": 5,
            "status": "done",
            "epic": "E1",
            "sprint": "Sprint 1",
            "assignee": "cy@example.com",
            "rank": 1024,
            "created_at": "2026-04-20T15:00:00Z",
            "blocked": False,
            "hypothesis": None,
            "metric": None,
            "target": None,
            "outcome": None,
            "result": None,
            "history": [
                {
                    "at": "2026-05-04T14:10:00Z",
                    "field": "sprint",
                    "from": None,
                    "to": "Sprint 1",
                    "by": "ana@example.com",
                },
                {
                    "at": "2026-05-05T15:00:00Z",
                    "field": "assignee",
                    "from": None,
                    "to": "cy@example.com",
                    "by": "cy@example.com",
                },
                {
                    "at": "2026-05-05T15:00:00Z",
                    "field": "status",
                    "from": "todo",
                    "to": "in_progress",
                    "by": "cy@example.com",
                },
                {
                    "at": "2026-05-07T16:00:00Z",
                    "field": "points",
                    "from": 3,
                    "to": 5,
                    "by": "ana@example.com",
                },
                {
                    "at": "2026-05-12T19:00:00Z",
                    "field": "status",
                    "from": "in_progress",
                    "to": "done",
                    "by": "cy@example.com",
                },
            ],
            "comments": [
                {
                    "author": "cy@example.com",
                    "at": "2026-05-06T16:00:00Z",
                    "body": "Guideline v2 applied to the first 500.",
                },
            ],
        },
        {
            "key": "CHURN-3",
            "title": "Gradient boosting beats logistic regression",
            "description": None,
            "type": "experiment",
            "stage": "safety_review",
            "role": "data_scientist",
            "points": 8,
            "status": "in_progress",
            "epic": None,
            "sprint": "Sprint 2",
            "assignee": "ben@example.com",
            "rank": 2048,
            "created_at": "2026-05-01T15:00:00Z",
            "blocked": True,
            "hypothesis": "LightGBM improves PR-AUC by 0.05",
            "metric": "PR-AUC",
            "target": "+0.05",
            "outcome": "pending",
            "result": None,
            "history": [
                {
                    "at": "2026-05-04T14:10:00Z",
                    "field": "sprint",
                    "from": None,
                    "to": "Sprint 1",
                    "by": "ana@example.com",
                },
                {
                    "at": "2026-05-06T14:00:00Z",
                    "field": "stage",
                    "from": "modeling",
                    "to": "safety_review",
                    "by": "ben@example.com",
                },
                {
                    "at": "2026-05-06T14:00:00Z",
                    "field": "role",
                    "from": "ml_engineer",
                    "to": "data_scientist",
                    "by": "ben@example.com",
                },
                {
                    "at": "2026-05-08T14:00:00Z",
                    "field": "status",
                    "from": "todo",
                    "to": "in_progress",
                    "by": "ben@example.com",
                },
                {
                    "at": "2026-05-14T21:00:00Z",
                    "field": "sprint",
                    "from": "Sprint 1",
                    "to": "Sprint 2",
                    "by": None,
                },
            ],
            "comments": [],
        },
        {
            "key": "CHURN-7",
            "title": "Which features leak the label?",
            "description": None,
            "type": "spike",
            "stage": None,
            "role": None,
            "points": None,
            "status": "todo",
            "epic": None,
            "sprint": None,
            "assignee": None,
            "rank": 4096,
            "created_at": "2026-05-10T15:00:00Z",
            "blocked": False,
            "hypothesis": None,
            "metric": None,
            "target": None,
            "outcome": None,
            "result": None,
            "history": [],
            "comments": [],
        },
    ],
    "milestones": [
        {
            "name": "Labels ready",
            "description": "2,000 labelled accounts",
            "stage": "data_labeling",
            "baseline": "2026-05-14",
            "achieved": "2026-05-12",
            "forecasts": [
                {
                    "reported_on": "2026-05-07",
                    "forecast": "2026-05-14",
                    "note": "On plan",
                    "by": "ana@example.com",
                },
                {
                    "reported_on": "2026-05-07",
                    "forecast": "2026-05-13",
                    "note": "Second report that day",
                    "by": None,
                },
            ],
        },
        {
            "name": "Baseline model",
            "description": None,
            "stage": None,
            "baseline": "2026-06-11",
            "achieved": None,
            "forecasts": [],
        },
    ],
    "risks": [
        {
            "title": "Cancellation reasons are free text",
            "description": "Hard to label consistently.",
            "category": "labeling_quality",
            "likelihood": 4,
            "impact": 3,
            "owner": "cy@example.com",
            "mitigation": "Double-label 10% and measure kappa.",
            "status": "mitigating",
            "stories": ["CHURN-1", "CHURN-3"],
            "milestone": "Labels ready",
            "review_on": "2026-05-21",
        },
        {
            "title": "Model flags older customers more",
            "description": None,
            "category": "bias_fairness",
            "likelihood": 2,
            "impact": 5,
            "owner": None,
            "mitigation": None,
            "status": "open",
            "stories": [],
            "milestone": None,
            "review_on": None,
        },
    ],
}


def full_document() -> dict[str, Any]:
    """Return a fresh copy of the document that sets every field."""
    return copy.deepcopy(FULL)


UNORDERED = {
    "members": "email",
    "epics": "key",
    "sprints": "name",
    "stories": "key",
    "milestones": "name",
    "risks": "title",
}


def normalised(document: dict[str, Any]) -> dict[str, Any]:
    """Sort the lists whose order carries no meaning, so documents compare as sets."""
    doc = copy.deepcopy(document)
    for name, key in UNORDERED.items():
        doc[name] = sorted(doc.get(name, []), key=lambda item, key=key: str(item[key]))
    for sprint in doc["sprints"]:
        sprint["capacity"] = sorted(sprint.get("capacity", []), key=lambda c: c["member"])
    for member in doc["members"]:
        member["roles"] = sorted(member.get("roles", []))
    return doc
