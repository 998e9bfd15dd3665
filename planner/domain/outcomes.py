"""Experiments that resolve themselves: the outcome planner proposes from an experiment's linked
MLflow runs, and a person's confirmation of it (docs/rules.md, "Experiment outcomes").

The proposal is read, never stored: it is computed on the experiment's page and by the API, and
changes nothing. Only a person confirming it sets the story's outcome (through update_story, like
any outcome change) and appends an OutcomeRecord naming the run and the value that decided it.

The rule: among the FINISHED linked runs that logged the story's metric, the best value decides,
"best" in the target's direction (the highest for >= and >, the lowest for <= and <; a tie goes
to the run linked first). It meets the target: confirmed; it does not: refuted. No such run:
inconclusive, and the reason says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from planner.domain import DomainError, ValidationError
from planner.domain.context import ProjectContext
from planner.domain.links import read_runs
from planner.domain.stories import update_story
from planner.domain.targets import EXAMPLE, Target, TargetError, format_number, parse_target
from planner.mlflow_reader import RunDetails
from planner.models import Account, ArtefactLink, OutcomeRecord, Project, Story
from planner.vocab import COMPARISONS, PROPOSED_OUTCOMES, STORY_TYPES

# The outcomes a proposal may have, and so what a person may confirm.
PROPOSED = PROPOSED_OUTCOMES


@dataclass(frozen=True)
class Proposal:
    """The outcome planner proposes for an experiment, with the run and value that decide it."""

    outcome: str  # one of PROPOSED
    reason: str
    metric: str | None
    target: str | None  # as written (">= 0.85"), normalised when it parses
    run_id: str | None = None
    run_name: str | None = None
    tracking_uri: str | None = None
    value: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "run_id": self.run_id,
            "metric": self.metric,
            "value": self.value,
            "target": self.target,
            "reason": self.reason,
        }


class NotAnExperiment(DomainError):
    """Only an experiment has an outcome to propose or confirm (409)."""


class StaleProposal(DomainError):
    """The proposal changed since the person read it; the answer carries the current one (409)."""

    code = "stale_proposal"

    def __init__(self, message: str, proposal: Proposal) -> None:
        super().__init__(message)
        self.proposal = proposal

    @property
    def details(self) -> dict[str, Any]:
        return {"current": self.proposal.as_json()}


# --- reading -----------------------------------------------------------------------------------


def run_label(run_id: str, name: str | None = None) -> str:
    """A run as sentences name it: its id's first 8 characters, and its name when it has one."""
    short = run_id if len(run_id) <= 8 else f"{run_id[:8]}…"
    return f"{short} ({name})" if name else short


def _runs(labels: Sequence[str]) -> str:
    """ "Run a", "Runs a and b", "Runs a, b and c"."""
    if len(labels) == 1:
        return f"Run {labels[0]}"
    return f"Runs {', '.join(labels[:-1])} and {labels[-1]}"


def _verb(labels: Sequence[str], one: str, many: str) -> str:
    return one if len(labels) == 1 else many


def run_links(session: Session, story: Story) -> list[ArtefactLink]:
    """The story's MLflow run links, the earliest linked first (one query)."""
    return list(
        session.scalars(
            select(ArtefactLink)
            .where(ArtefactLink.story_id == story.id, ArtefactLink.kind == "mlflow_run")
            .order_by(ArtefactLink.created_at, ArtefactLink.id)
        )
    )


def _comparison_words(target: Target, value: float) -> str:
    """How a value stands against a target, in words: "which is below the target >= 0.85"."""
    met = target.met_by(value)
    words = {
        (">=", True): "meets",
        (">=", False): "is below",
        (">", True): "is above",
        (">", False): "is not above",
        ("<=", True): "meets",
        ("<=", False): "is above",
        ("<", True): "is below",
        ("<", False): "is not below",
    }[(target.comparison, met)]
    return f"which {words} the target {target}"


def _how_to_target() -> str:
    return (
        f"write the target as one of {', '.join(COMPARISONS)} and a number, like {EXAMPLE}, "
        "and the metric as the key the runs log, like val_recall"
    )


def _not_an_experiment(key: str, story: Story) -> str:
    return (
        f"{key} is a {STORY_TYPES.get(story.type, story.type).lower()}, not an experiment: "
        "only an experiment has an outcome to propose. Change its type to Experiment to "
        "state a metric and a target."
    )


def propose_outcome(session: Session, project: Project, story: Story) -> Proposal:
    """Propose an experiment's outcome from its linked MLflow runs; change nothing.

    Reads the links in one query and each linked run once through MLflow's client (cached for
    a short time by planner.mlflow_reader). Any other story type is inconclusive, saying why.
    """
    key = story.key_in(project.key)
    if story.type != "experiment":
        return Proposal("inconclusive", _not_an_experiment(key, story), None, None)
    metric = (story.metric or "").strip() or None
    written = (story.target or "").strip() or None
    if metric is None:
        return Proposal(
            "inconclusive",
            f"{key} states no metric, so no run can decide it: {_how_to_target()}.",
            metric,
            written,
        )
    try:
        target = parse_target(written)
    except TargetError as error:
        return Proposal(
            "inconclusive",
            f"{key}'s target cannot be read, so no run can decide it. {error}",
            metric,
            written,
        )
    shown_target = str(target)
    links = run_links(session, story)
    if not links:
        return Proposal(
            "inconclusive",
            f"No MLflow run is linked to {key}: link the runs that test its hypothesis, then "
            f"planner proposes an outcome from their {metric}.",
            metric,
            shown_target,
        )

    candidates: list[tuple[float, ArtefactLink, RunDetails, str | None]] = []
    running: list[str] = []
    ended: dict[str, list[str]] = {}  # FAILED / KILLED -> runs
    without: list[tuple[str, RunDetails]] = []
    not_numbers: list[tuple[str, float]] = []
    unreadable: dict[str, list[str]] = {}  # the reader's message -> runs
    for read in read_runs(project, links):  # the same run linked twice counts once
        link, uri, run = read.link, read.uri, read.details
        if run is None:
            unreadable.setdefault(read.error or "", []).append(run_label(link.run_id))
            continue
        label = run_label(run.run_id, run.name)
        if run.status in ("RUNNING", "SCHEDULED"):
            running.append(label)
        elif not run.finished:
            ended.setdefault(run.status, []).append(label)
        elif metric not in run.metrics:
            without.append((label, run))
        elif not math.isfinite(run.metrics[metric]):
            not_numbers.append((label, run.metrics[metric]))
        else:
            candidates.append((run.metrics[metric], link, run, uri))

    notes: list[str] = []
    if running:
        notes.append(f"{_runs(running)} {_verb(running, 'is', 'are')} still running.")
    for status, labels in ended.items():
        notes.append(f"{_runs(labels)} ended {status} without finishing.")
    for label, run in without:
        logged = ", ".join(sorted(run.metrics)[:8]) or "no metrics at all"
        notes.append(f"Run {label} finished without logging {metric} (it logged {logged}).")
    for label, value in not_numbers:
        notes.append(f"Run {label} logged {metric} as {value}, which is not a number to compare.")
    for message, labels in unreadable.items():
        notes.append(f"{_runs(labels)} could not be read: {message}")

    if not candidates:
        return Proposal(
            "inconclusive",
            f"No finished run linked to {key} logged {metric}. " + " ".join(notes),
            metric,
            shown_target,
        )

    best_value = target.best([value for value, *_ in candidates])
    value, link, run, uri = next(c for c in candidates if c[0] == best_value)
    outcome = "confirmed" if target.met_by(value) else "refuted"
    among = f", the best of {len(candidates)} finished runs," if len(candidates) > 1 else ","
    reason = (
        f"Run {run_label(run.run_id, run.name)} logged {metric} {format_number(value)}{among} "
        f"{_comparison_words(target, value)}."
    )
    if notes:
        first = notes[0]
        reason += " Not counted: " + " ".join([first[0].lower() + first[1:], *notes[1:]])
    if outcome == "refuted" and (running or unreadable):
        # A run still running (or one planner cannot read now) may yet meet the target: the
        # hypothesis is not refuted until every linked run has had its say.
        return Proposal(
            "inconclusive",
            "No finished run meets the target yet, but linked runs may still: " + reason,
            metric,
            shown_target,
        )
    return Proposal(
        outcome,
        reason,
        metric,
        shown_target,
        run_id=run.run_id,
        run_name=run.name,
        tracking_uri=uri,
        value=value,
    )


def latest_record(session: Session, story: Story) -> OutcomeRecord | None:
    """The story's latest outcome record, with who decided it (one query)."""
    return session.scalar(
        select(OutcomeRecord)
        .where(OutcomeRecord.story_id == story.id)
        .options(joinedload(OutcomeRecord.decided_by))
        .order_by(OutcomeRecord.id.desc())
        .limit(1)
    )


# --- deciding ----------------------------------------------------------------------------------


def _describe(proposal: Proposal) -> str:
    if proposal.run_id is None:
        return f"{proposal.outcome}, with no run deciding it"
    return f"{proposal.outcome} by run {run_label(proposal.run_id, proposal.run_name)}"


def confirm_outcome(
    session: Session,
    ctx: ProjectContext,
    story: Story,
    *,
    outcome: Any,
    run_id: Any,
    by: Account | None,
    now: datetime,
) -> OutcomeRecord:
    """Set the outcome a person confirmed, if it is still what planner proposes, and record the
    run and value that decided it.

    The proposal is computed again: when its outcome or run differ from what the person saw
    (`outcome`, `run_id`), StaleProposal says what it is now and nothing changes. An inconclusive
    proposal has no run to confirm (the person sets the outcome by hand instead).
    """
    key = story.key_in(ctx.project.key)
    if story.type != "experiment":
        raise NotAnExperiment(_not_an_experiment(key, story))
    if not isinstance(outcome, str) or outcome not in PROPOSED:
        raise ValidationError({"outcome": f"Confirm one of: {', '.join(PROPOSED)}."})
    if run_id is not None and not isinstance(run_id, str):
        raise ValidationError({"run_id": "Send the run id the proposal named, as a string."})
    proposal = propose_outcome(session, ctx.project, story)
    if proposal.outcome != outcome or proposal.run_id != (run_id or None):
        raise StaleProposal(
            f"The proposal for {key} has changed since you read it: it is now "
            f"{_describe(proposal)}. {proposal.reason} Nothing was saved; read it again and "
            "confirm what it says now.",
            proposal,
        )
    if proposal.run_id is None:
        raise ValidationError(
            {
                "outcome": f"No run decides {key} yet, so there is nothing to confirm: "
                f"{proposal.reason} You can still set its outcome by hand."
            }
        )
    record = OutcomeRecord(
        story_id=story.id,
        outcome=proposal.outcome,
        run_id=proposal.run_id,
        tracking_uri=proposal.tracking_uri,
        metric=proposal.metric,
        target=proposal.target,
        value=proposal.value,
        reason=proposal.reason,
        decided_at=now,
        decided_by_id=by.id if by else None,
    )
    if story.outcome == proposal.outcome:
        # Nothing about the story changes (no history, no version): the record says which run
        # decided the outcome it already had.
        session.add(record)
        session.flush()
    else:
        update_story(
            session, ctx, story, {"outcome": proposal.outcome}, by=by, now=now, record=record
        )
    return record
