"""The demo project: a realistic ML team's project shipped as an interchange file (demo.json),
moved by whole weeks at install time so that its active sprint is running today.

demo.json is written by `python tools/generate_demo.py` (kept out of the package); edit the
generator, not the file. What the interchange format does not carry is added after the import:
blocker chains and checklists (below), artefact links, outcomes, gates and risk histories
(planner/demo/evidence.py), and the MLflow runs those links point at, logged into a local MLflow
store when MLflow is installed (planner/demo/mlflow_runs.py).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from planner.demo.evidence import add_evidence
from planner.demo.mlflow_runs import DEMO_RUNS, LoggedRuns, log_demo_runs, placeholder_run_id
from planner.domain.accounts import DEFAULT_HASH_METHOD, find_account
from planner.domain.checklists import add_item, set_done
from planner.domain.dependencies import add_blocker
from planner.interchange.importer import import_document
from planner.models import Project, Story
from planner.timeutil import iso_utc, local_date, parse_iso_datetime, utcnow

DEMO_FILE = Path(__file__).resolve().parent / "demo.json"
# The shipped file's active sprint starts on this Monday; the demo moves by whole weeks from it.
SHIPPED_ACTIVE_START = date(2026, 3, 2)
# Where the demo's MLflow store goes, inside planner's instance folder (where planner keeps its
# own SQLite database unless PLANNER_DATABASE_URL says otherwise).
MLFLOW_FOLDER = "mlflow"
DEMO_PASSWORD = "planner-demo"
# Who to sign in as to see each side of planner.
SIGN_INS: tuple[tuple[str, str], ...] = (
    ("maya@example.com", "scrum master, manage access, site admin"),
    ("priya@example.com", "data scientist, edit access"),
    ("helen@example.com", "stakeholder, view access"),
)
SITE_ADMIN = "maya@example.com"
# The active sprint is placed so that today is one of its days 4..10 (counting its first day as
# 0): always inside the sprint, and after the last recorded event (day 3).
LAST_DAY_OFFSET = 10


def load_demo_document() -> dict[str, Any]:
    """Return the demo document exactly as shipped."""
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def weeks_to_shift(active_start: date, today: date) -> int:
    """Return the days (a multiple of 7) to move the demo so that today falls on days 4..10 of the
    active sprint. Whole weeks keep every weekday, and so every working day, where it was."""
    offset = (today - active_start).days
    weeks = math.ceil((offset - LAST_DAY_OFFSET) / 7)
    return 7 * weeks


def shift_document(document: dict[str, Any], days: int) -> dict[str, Any]:
    """Return a copy of an interchange document with every date and timestamp moved by `days`."""
    doc = copy.deepcopy(document)
    delta = timedelta(days=days)

    def d(value: str | None) -> str | None:
        return None if value is None else (date.fromisoformat(value) + delta).isoformat()

    def t(value: str | None) -> str | None:
        return None if value is None else iso_utc(parse_iso_datetime(value) + delta)

    project = doc["project"]
    project["holidays"] = [d(day) for day in project.get("holidays", [])]
    if project.get("created_at"):
        project["created_at"] = t(project["created_at"])
    for sprint in doc.get("sprints", []):
        sprint["start"], sprint["end"] = d(sprint["start"]), d(sprint["end"])
        sprint["started_at"] = t(sprint.get("started_at"))
        sprint["closed_at"] = t(sprint.get("closed_at"))
    for story in doc.get("stories", []):
        story["created_at"] = t(story["created_at"])
        for event in story.get("history", []):
            event["at"] = t(event["at"])
        for comment in story.get("comments", []):
            comment["at"] = t(comment["at"])
    for milestone in doc.get("milestones", []):
        milestone["baseline"] = d(milestone["baseline"])
        milestone["achieved"] = d(milestone.get("achieved"))
        for forecast in milestone.get("forecasts", []):
            forecast["reported_on"] = d(forecast["reported_on"])
            forecast["forecast"] = d(forecast["forecast"])
    for risk in doc.get("risks", []):
        risk["review_on"] = d(risk.get("review_on"))
    return doc


def latest_moment(document: dict[str, Any]) -> datetime | None:
    """Return the latest timestamp recorded anywhere in the document."""
    moments = [
        parse_iso_datetime(value)
        for sprint in document.get("sprints", [])
        for value in (sprint.get("started_at"), sprint.get("closed_at"))
        if value
    ]
    for story in document.get("stories", []):
        moments.append(parse_iso_datetime(story["created_at"]))
        moments.extend(parse_iso_datetime(e["at"]) for e in story.get("history", []))
        moments.extend(parse_iso_datetime(c["at"]) for c in story.get("comments", []))
    return max(moments, default=None)


def dated_demo(now: datetime | None = None) -> dict[str, Any]:
    """Return the demo document moved so that its active sprint is running at `now`."""
    document = load_demo_document()
    now = now or utcnow()
    today = local_date(now, document["project"]["timezone"])
    active = next(s for s in document["sprints"] if s["state"] == "active")
    shifted = shift_document(document, weeks_to_shift(date.fromisoformat(active["start"]), today))
    latest = latest_moment(shifted)
    if latest is not None and latest > now:
        # Only possible in the first hours of day 4; a week earlier keeps the past in the past.
        shifted = shift_document(shifted, -7)
    return shifted


@dataclass
class DemoResult:
    project_key: str
    created: bool
    sign_in_lines: list[str] = field(default_factory=list)
    mlflow_note: str | None = None  # where the runs went, or why they were not logged

    def summary(self) -> str:
        if self.created:
            text = f"Demo project {self.project_key} imported; its active sprint is running today."
            return f"{text}\n{self.mlflow_note}" if self.mlflow_note else text
        return f"Demo project {self.project_key} is already there; nothing changed."

    def sign_ins(self) -> list[str]:
        return self.sign_in_lines


_INSTANCE = object()  # install_demo's default: the MLflow store goes into the app's instance folder


def install_demo(
    session: Session,
    *,
    hash_method: str = DEFAULT_HASH_METHOD,
    now: datetime | None = None,
    mlflow_folder: Path | None | object = _INSTANCE,
) -> DemoResult:
    """Import the demo project unless it exists; give the demo accounts the demo password; add
    its evidence, and log its MLflow runs into a SQLite MLflow store in `mlflow_folder` when MLflow
    is installed (docs/mlflow.md).

    `mlflow_folder` defaults to <instance folder>/mlflow inside an app context (the CLI), and to
    None, no store, outside one; the run links then carry placeholder ids. Idempotent: a second
    call changes nothing. Accounts that existed before keep their password. The caller commits.
    """
    document = dated_demo(now)
    key = document["project"]["key"]
    if session.scalar(select(Project.id).where(Project.key == key)) is not None:
        return DemoResult(key, created=False, sign_in_lines=demo_sign_ins(session))
    had_password = {
        member["email"]: bool(
            (account := find_account(session, member["email"])) and account.password_hash
        )
        for member in document["members"]
    }
    import_document(session, document, hash_method=hash_method)
    _add_dependencies_and_checklists(session, key, now or utcnow())
    active = next(s for s in document["sprints"] if s["state"] == "active")
    shift = date.fromisoformat(active["start"]) - SHIPPED_ACTIVE_START
    if mlflow_folder is _INSTANCE:
        mlflow_folder = (
            Path(current_app.instance_path) / MLFLOW_FOLDER if has_app_context() else None
        )
    if mlflow_folder is None:
        ids = {run.name: placeholder_run_id(run.name) for run in DEMO_RUNS}
        runs = LoggedRuns(uri=None, run_ids=ids, model_version=None, logged=False, note=None)
    else:
        runs = log_demo_runs(Path(mlflow_folder), shift)
    project = session.scalar(select(Project).where(Project.key == key))
    add_evidence(session, project, runs, shift)
    for member in document["members"]:
        account = find_account(session, member["email"])
        if account is not None and not had_password[member["email"]]:
            account.password_hash = generate_password_hash(DEMO_PASSWORD, method=hash_method)
            if member["email"] == SITE_ADMIN:
                account.is_admin = True
    session.flush()
    return DemoResult(
        key, created=True, sign_in_lines=demo_sign_ins(session), mlflow_note=runs.note
    )


# What the export format does not carry: the demo's "blocked by" chains (data access before labels
# before features before the model; the pilot waiting on its DPIA, threshold and shadow run) and
# a few checklists. Pairs are (blocked, blocker) story numbers.
DEMO_BLOCKERS = [
    (12, 2),  # labeling batch 1 needed read access to the warehouse
    (20, 8),  # velocity features needed chargebacks joined to transactions
    (23, 22),  # the baseline needed the frozen gold set
    (23, 20),  # ... and the velocity features
    (34, 29),  # shadow mode needs the scoring endpoint in staging
    (35, 34),  # the canary release follows shadow mode
    (52, 29),  # the load test needs the endpoint
    (59, 31),  # the alert threshold waits for the recall parity check
    (60, 57),  # the pilot plan waits for the DPIA sign-off
    (60, 34),  # ... and for shadow mode, which is not planned yet: Sprint 5's plan warns
    (64, 51),  # German and English reason codes need the SHAP reason codes
]
DEMO_CHECKLISTS = {
    57: [
        ("Data-flow diagram of the alert queue", True),
        ("Legal basis for showing cardholder details", True),
        ("Review by the data protection officer", False),
        ("Signed DPIA filed with the pilot plan", False),
    ],
    58: [
        ("Intended use and users", True),
        ("Training data and its time window", True),
        ("Evaluation on the held-out months", False),
        ("Limitations, fairness checks and monitoring", False),
    ],
}


def _add_dependencies_and_checklists(session: Session, key: str, now: datetime) -> None:
    project = session.scalar(select(Project).where(Project.key == key))
    by_number = {
        story.number: story
        for story in session.scalars(select(Story).where(Story.project_id == project.id))
    }
    manager = find_account(session, SITE_ADMIN)
    for blocked, blocker in DEMO_BLOCKERS:
        add_blocker(session, by_number[blocked], by_number[blocker], by=manager, now=now)
    for number, items in DEMO_CHECKLISTS.items():
        for text, done in items:
            item = add_item(session, by_number[number], text)
            if done:
                set_done(session, item, True)


def demo_sign_ins(session: Session) -> list[str]:
    """Return printable sign-in lines for the demo accounts that still have the demo password."""
    lines = []
    for email, who in SIGN_INS:
        account = find_account(session, email)
        if (
            account
            and account.password_hash
            and check_password_hash(account.password_hash, DEMO_PASSWORD)
        ):
            lines.append(f"  Sign in as {who}: {email} / {DEMO_PASSWORD}")
    if lines:
        lines.insert(0, "Demo sign-ins:")
    return lines
