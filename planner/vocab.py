"""The stable keys of docs/rules.md: access levels, functional roles, stages, story types and
statuses, points, experiment outcomes, sprint states, risk categories and statuses.

Keys are stored in the database and in the interchange format; names are what people read. This
module imports nothing from planner so that models, domain, web and interchange can all share it.
"""

from __future__ import annotations

ACCESS_LEVELS: dict[str, str] = {
    "manage": "Manage",
    "edit": "Edit",
    "view": "View",
}
# Higher rank includes everything a lower rank may do.
ACCESS_RANK: dict[str, int] = {"view": 1, "edit": 2, "manage": 3}

ROLES: dict[str, str] = {
    "product_owner": "Product owner",
    "scrum_master": "Scrum master / AI project manager",
    "data_scientist": "Data scientist",
    "ml_engineer": "ML engineer",
    "data_engineer": "Data engineer",
    "mlops_engineer": "MLOps engineer",
    "software_engineer": "Software engineer",
    "business_analyst": "Business analyst",
    "ux_designer": "UX designer",
    "domain_expert": "Domain expert",
    "annotator": "Annotator / labeler",
    "stakeholder": "Stakeholder / sponsor",
}

DEFAULT_STAGES: dict[str, str] = {
    "problem_framing": "Problem framing",
    "data_collection": "Data collection",
    "data_labeling": "Data labeling",
    "data_preparation": "Data preparation & features",
    "modeling": "Modeling & training",
    "evaluation": "Evaluation",
    "deployment": "Deployment",
    "monitoring": "Monitoring & maintenance",
}

STORY_TYPES: dict[str, str] = {
    "feature": "Feature",
    "experiment": "Experiment",
    "spike": "Spike",
    "bug": "Bug",
    "chore": "Chore",
}

STATUSES: dict[str, str] = {
    "todo": "To do",
    "in_progress": "In progress",
    "review": "Review",
    "done": "Done",
}

POINTS_SCALE: tuple[int, ...] = (0, 1, 2, 3, 5, 8, 13, 21)

OUTCOMES: dict[str, str] = {
    "pending": "Pending",
    "confirmed": "Confirmed",
    "refuted": "Refuted",
    "inconclusive": "Inconclusive",
}

# The outcomes planner may propose from linked runs (never "pending").
PROPOSED_OUTCOMES: tuple[str, ...] = ("confirmed", "refuted", "inconclusive")

SPRINT_STATES: dict[str, str] = {
    "planned": "Planned",
    "active": "Active",
    "closed": "Closed",
}

RISK_CATEGORIES: dict[str, str] = {
    "data_availability": "Data availability",
    "data_quality": "Data quality",
    "labeling_quality": "Labeling quality",
    "bias_fairness": "Bias & fairness",
    "privacy": "Privacy",
    "regulatory": "Regulatory",
    "model_performance": "Model performance",
    "model_drift": "Model drift",
    "explainability": "Explainability",
    "compute_cost": "Compute cost",
    "delivery": "Delivery",
}

RISK_STATUSES: dict[str, str] = {
    "open": "Open",
    "mitigating": "Mitigating",
    "accepted": "Accepted",
    "closed": "Closed",
    "realised": "Realised",
}

# Artefacts a story, epic or milestone can link (docs/rules.md, "Evidence").
LINK_KINDS: dict[str, str] = {
    "mlflow_run": "MLflow run",
    "mlflow_model_version": "MLflow model version",
    "dataset": "Dataset version",
    "commit": "Code commit or merge request",
    "document": "Document",
}

# A target such as ">= 0.85": the comparison and which way is better.
COMPARISONS: dict[str, str] = {
    ">=": "at least",
    ">": "above",
    "<=": "at most",
    "<": "below",
}

# A stage gate's decisions; the latest one is the gate's state ("open" before the first).
GATE_DECISIONS: dict[str, str] = {
    "go": "Go",
    "conditional": "Conditional go",
    "no_go": "No-go",
}
GATE_STATES: dict[str, str] = {"open": "Open", **GATE_DECISIONS}

# Fields of a story whose every change is recorded as a StoryEvent (docs/rules.md, "History").
TRACKED_FIELDS: tuple[str, ...] = ("status", "points", "sprint", "stage", "role", "assignee")

DEFAULT_WORKING_DAYS: tuple[int, ...] = (1, 2, 3, 4, 5)
DEFAULT_SPRINT_LENGTH_DAYS = 14
DEFAULT_SLIP_TOLERANCE_DAYS = 7

WEEKDAY_NAMES: dict[int, str] = {
    1: "Monday",
    2: "Tuesday",
    3: "Wednesday",
    4: "Thursday",
    5: "Friday",
    6: "Saturday",
    7: "Sunday",
}


def sql_in(keys) -> str:
    """Render `keys` as the body of a SQL IN list for a CHECK constraint."""
    return ", ".join(f"'{key}'" for key in keys)
