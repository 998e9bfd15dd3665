"""Generate planner's demo project, planner/demo/demo.json: a bank's card-fraud ML team four
sprints into its work (three sprints closed, one active, one planned).

Run `python tools/generate_demo.py` (from the repository root) to rewrite demo.json. This tool is
not part of the installed package: only the generated demo.json ships. The file is an interchange
document (docs/export-format.md) on a fixed calendar: the active Sprint 4 starts on Monday
2026-03-02 and nothing is recorded after Thursday 2026-03-05 16:00 UTC; `planner demo` moves every
date by whole weeks when it installs the project.

Everything is described in the tables below. Each story's `flow` says how it moved through the
sprints; `story_history` turns that into the day-by-day history events the charts are computed
from. The only randomness is the minute of each event, drawn from random.Random(SEED), so every run
writes the same file.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from planner.vocab import DEFAULT_STAGES, ROLES

SEED = 20260302
OUTPUT = Path(__file__).resolve().parent.parent / "planner" / "demo" / "demo.json"

TIMEZONE = "Europe/Berlin"
TZ = ZoneInfo(TIMEZONE)
YEAR = 2026
WORKING_DAYS = [1, 2, 3, 4, 5]
HOLIDAYS = ["2026-01-01", "2026-02-16"]  # New Year; Rosenmontag (the team sits in Cologne)
# Nothing in the file may be later than this: Thursday of the active sprint's first week.
CUTOFF = datetime(2026, 3, 5, 16, 0, tzinfo=UTC)
# Local working hours in which events are placed (sprints start 09:30 and close 16:30).
DAY_FIRST, DAY_LAST = time(9, 40), time(16, 10)

SCRUM_MASTER, PRODUCT_OWNER = "maya", "jonas"

PROJECT = {
    "key": "FRAUD",
    "name": "Card fraud detection",
    "description": (
        "The bank's fraud analytics team builds a model that flags fraudulent card transactions "
        "in real time, so that fraud investigators review the riskiest authorisations first. "
        "From labeled data to a pilot with the investigators, then production."
    ),
    "created_at": "2026-01-05T08:00:00Z",
}


# --- people ------------------------------------------------------------------------------------


class Member(NamedTuple):
    handle: str  # the email is handle@example.com
    name: str
    access: str
    roles: tuple[str, ...]


MEMBERS = [
    Member("maya", "Maya Okafor", "manage", ("scrum_master",)),
    Member("jonas", "Jonas Weber", "manage", ("product_owner",)),
    Member("priya", "Priya Raman", "edit", ("data_scientist",)),
    Member("lukas", "Lukas Brandt", "edit", ("data_scientist",)),
    Member("chen", "Chen Li", "edit", ("ml_engineer",)),
    Member("sofia", "Sofia Marino", "edit", ("ml_engineer", "mlops_engineer")),
    Member("tom", "Tom Becker", "edit", ("data_engineer",)),
    Member("aisha", "Aisha Khan", "edit", ("software_engineer",)),
    Member("elena", "Elena Petrova", "edit", ("business_analyst",)),
    Member("noah", "Noah Fischer", "edit", ("ux_designer",)),
    Member("greta", "Greta Hoffmann", "edit", ("domain_expert",)),  # fraud investigator
    Member("kemal", "Kemal Yilmaz", "edit", ("annotator",)),
    Member("lea", "Lea Schmidt", "edit", ("annotator",)),
    Member("helen", "Dr. Helen Brooks", "view", ("stakeholder",)),  # Head of Fraud Operations
    Member("marc", "Marc Dubois", "view", ("stakeholder",)),  # Risk & Compliance
]
ROLES_OF = {m.handle: m.roles for m in MEMBERS}


def email(handle: str | None) -> str | None:
    return None if handle is None else f"{handle}@example.com"


# --- sprints -----------------------------------------------------------------------------------


class Sprint(NamedTuple):
    name: str
    start: str  # MM-DD
    end: str
    state: str
    planning: tuple[str, str]  # local day and time the planning meeting began
    goal: str


SPRINTS = [
    Sprint("Sprint 1", "01-19", "01-30", "closed", ("01-19", "08:40"),
           "Read access to the transaction data, a first data profile, and labeling guidelines "
           "agreed with the fraud investigators"),
    Sprint("Sprint 2", "02-02", "02-13", "closed", ("02-02", "08:40"),
           "Labeled gold set of 5,000 transactions and a leakage-free train/validation split"),
    # Planned on the Friday before: the sprint starts on Rosenmontag, a holiday in Cologne.
    Sprint("Sprint 3", "02-16", "02-27", "closed", ("02-13", "16:40"),
           "Gold set frozen, a logistic regression baseline on point-in-time features, and the "
           "scoring service packaged"),
    Sprint("Sprint 4", "03-02", "03-13", "active", ("03-02", "08:40"),
           "LightGBM on the corrected split, first fairness checks, and the scoring endpoint "
           "running in staging"),
    # Stories are planned into Sprint 5 at the backlog refinement during Sprint 4.
    Sprint("Sprint 5", "03-16", "03-27", "planned", ("03-04", "14:00"),
           "Alert threshold fixed with Fraud Ops, drift alerts live, and a pilot plan the "
           "investigators have agreed to"),
]  # fmt: skip

# Planned capacity in points per member; a member on holiday gets less (Lea took carnival week
# off in Sprint 3). Sprint 5 is not planned yet: its capacity is the team's expected availability.
CAPACITY = {
    "Sprint 1": {"elena": 5, "tom": 8, "priya": 5, "greta": 4, "aisha": 3, "lukas": 3,
                 "kemal": 3, "lea": 2, "sofia": 2},
    "Sprint 2": {"tom": 9, "elena": 3, "sofia": 2, "lea": 6, "kemal": 6, "lukas": 5, "greta": 2,
                 "priya": 3, "chen": 4},
    "Sprint 3": {"kemal": 3, "lea": 2, "chen": 8, "lukas": 4, "tom": 5, "priya": 6, "sofia": 3,
                 "aisha": 3, "noah": 2, "elena": 2},
    "Sprint 4": {"chen": 9, "elena": 4, "lukas": 3, "priya": 3, "sofia": 3, "aisha": 5, "tom": 5,
                 "noah": 3, "jonas": 2},
    "Sprint 5": {"priya": 5, "lukas": 5, "chen": 6, "sofia": 4, "tom": 5, "aisha": 4,
                 "elena": 3, "noah": 3},
}  # fmt: skip


# --- epics and milestones ----------------------------------------------------------------------

GOLD_SET = "Gold-label set ready"
BASELINE = "Baseline model"
TARGET = "Model meets target: recall >= 0.85 at 1% FPR"
PILOT = "Pilot with fraud investigators"
LAUNCH = "Production launch"


class Epic(NamedTuple):
    key: str
    title: str
    stage: str
    milestone: str | None
    description: str
    archived: bool = False


EPICS = [
    Epic("E1", "Data access & exploration", "data_collection", GOLD_SET,
         "Warehouse access, chargeback joins and a profile of 12 months of card transactions."),
    Epic("E2", "Gold-label set", "data_labeling", GOLD_SET,
         "5,000 transactions labeled fraud / not fraud by two annotators, adjudicated by a fraud "
         "investigator, versioned."),
    Epic("E3", "Feature pipeline", "data_preparation", BASELINE,
         "Point-in-time velocity and merchant features and a time-based split without leakage."),
    Epic("E4", "Baseline & gradient boosting models", "modeling", TARGET,
         "Logistic regression baseline first, then gradient boosting, every run tracked in "
         "MLflow."),
    Epic("E5", "Fairness & threshold evaluation", "evaluation", PILOT,
         "Per-group recall and false-alert rates, the alert threshold and the go/no-go criteria "
         "for the pilot."),
    Epic("E6", "Real-time scoring service & alert queue", "deployment", PILOT,
         "A scoring endpoint behind the bank's API gateway (p99 under 50 ms) and the "
         "investigators' alert queue."),
    Epic("E7", "Drift monitoring", "monitoring", LAUNCH,
         "Feature and score drift alerts, label-delay tracking and retraining."),
    Epic("E8", "Graph features spike", "modeling", None,
         "Shared-device and shared-merchant graph features. Abandoned in Sprint 2: no capacity, "
         "and the gain was speculative.", archived=True),
]  # fmt: skip


class Forecast(NamedTuple):
    reported_on: str
    forecast: str
    by: str
    note: str


class Milestone(NamedTuple):
    name: str
    stage: str
    baseline: str
    achieved: str | None
    description: str
    forecasts: list[Forecast]


MILESTONES = [
    Milestone(GOLD_SET, "data_labeling", "2026-02-13", "2026-02-24",
        "5,000 labeled transactions with Cohen's kappa >= 0.75 between annotators, frozen and "
        "versioned.",
        [Forecast("2026-01-30", "2026-02-13", "maya",
                  "Batch 1 labeled and the guidelines signed off by Greta: on plan."),
         Forecast("2026-02-13", "2026-02-20", "maya",
                  "Kappa on batch 2 was only 0.58 (friendly-fraud disputes). Guidelines v2 "
                  "written and labeling batch 3 needed re-work after the kappa check; batch 5 "
                  "carried over: +1 week.")]),
    Milestone(BASELINE, "modeling", "2026-02-27", "2026-02-26",
        "A logistic regression baseline on the gold set, tracked in MLflow: the yardstick for "
        "every later model.",
        [Forecast("2026-01-30", "2026-02-27", "maya", "On plan."),
         Forecast("2026-02-13", "2026-02-27", "maya",
                  "Gold set a week late, but velocity and merchant features are ready and the "
                  "baseline can start on batches 1-4: holding the date.")]),
    Milestone(TARGET, "evaluation", "2026-03-27", None,
        "Recall of at least 0.85 at a 1% false-positive rate on the held-out test months: the "
        "bar Fraud Ops set for the pilot.",
        [Forecast("2026-01-30", "2026-03-27", "jonas", "On plan."),
         Forecast("2026-02-13", "2026-03-27", "jonas",
                  "Gold set one week late; absorbed by the buffer in Sprint 5."),
         Forecast("2026-02-27", "2026-04-03", "jonas",
                  "Feature leakage found in the split: the chargeback date was visible to the "
                  "features. The honest baseline is 0.79, not 0.84, and tuning restarts on the "
                  "corrected split: +1 week."),
         Forecast("2026-03-04", "2026-04-03", "jonas",
                  "LightGBM reaches 0.82 on the corrected split. The new date still holds if "
                  "threshold and feature work land in Sprint 5.")]),
    Milestone(PILOT, "deployment", "2026-04-24", None,
        "Three investigators work real alerts from the model for two weeks, next to the rules "
        "engine.",
        [Forecast("2026-01-30", "2026-04-24", "maya", "On plan."),
         Forecast("2026-02-13", "2026-04-24", "maya", "No change."),
         Forecast("2026-02-27", "2026-05-08", "maya",
                  "Access to PII-masked data for the alert queue is delayed by the privacy "
                  "review (DPIA): the data protection officer signs off in four weeks at the "
                  "earliest: +2 weeks."),
         Forecast("2026-03-04", "2026-05-15", "maya",
                  "The platform team can put the scoring endpoint behind the API gateway only "
                  "in six weeks; load test and shadow mode move with it: +1 week.")]),
    Milestone(LAUNCH, "deployment", "2026-06-30", None,
        "The model scores every card authorisation in production and feeds the investigators' "
        "queue; approved by model risk management.",
        [Forecast("2026-01-30", "2026-06-30", "jonas", "On plan."),
         Forecast("2026-02-13", "2026-06-30", "jonas", "No change."),
         Forecast("2026-02-27", "2026-06-30", "jonas",
                  "Pilot slip absorbed by the buffer before launch."),
         Forecast("2026-03-04", "2026-07-14", "jonas",
                  "The pilot moved again and model risk management needs eight weeks after it "
                  "to validate the model: +2 weeks.")]),
]  # fmt: skip


# --- stories -----------------------------------------------------------------------------------

STAGE = {
    "frame": "problem_framing",
    "collect": "data_collection",
    "label": "data_labeling",
    "prep": "data_preparation",
    "model": "modeling",
    "eval": "evaluation",
    "deploy": "deployment",
    "monitor": "monitoring",
}
ROLE = {
    "po": "product_owner",
    "ds": "data_scientist",
    "mle": "ml_engineer",
    "de": "data_engineer",
    "mlops": "mlops_engineer",
    "swe": "software_engineer",
    "ba": "business_analyst",
    "ux": "ux_designer",
    "dx": "domain_expert",
    "ann": "annotator",
}


class Row(NamedTuple):
    slug: str  # how the other tables refer to the story; keys follow creation order
    created: str  # MM-DD: the day it was written, at a refinement (or when the problem came up)
    type: str
    stage: str | None  # a key of STAGE; None = cross-cutting work
    role: str | None  # a key of ROLE
    points: int | None  # the first estimate; None = unestimated
    epic: str | None
    who: str | None  # "tom": takes it when work starts; "=tom": assigned when created
    flow: str
    title: str


# A flow is read left to right. A day is "sprint.working-day" (2.6 = sixth working day of Sprint 2)
# or a date "02-16"; "~11:00" fixes the local time, otherwise a minute in working hours is drawn.
#   S2            planned into Sprint 2 at its planning meeting (by the scrum master)
#   +2.5  -2.4    added to / removed from a running sprint (by the product owner)
#   ip@ rv@ done@ status in_progress / review / done (by the assignee; "/priya" names someone else)
#   pts5@2.6      re-estimated to 5 points (by the product owner)
#   carry  drop   unfinished at close: to the next sprint / back to the backlog, at the closing time
# The table order is the rank order: sprint by sprint, then the backlog by priority.
# fmt: off
STORIES = [
    # slug               created  type          stage      role     pts   epic  who
    # --- Sprint 1 ---
    Row("success_metric",  "01-05", "spike",      "frame",   "ba",    2,    None, "=elena",
        "S1 ip@1.1 rv@1.2 done@1.3",
        "Agree the success metric with Fraud Ops: recall at 1% false-positive rate"),
    Row("wh_access",       "01-05", "chore",      "collect", "de",    2,    "E1", "tom",
        "S1 ip@1.1 done@1.2",
        "Get read access to the card-transactions warehouse"),
    Row("pii_masking",     "01-05", "chore",      "collect", "de",    3,    "E1", "tom",
        "S1 ip@1.2 carry done@2.7",
        "Request a PII-masked extract of cardholder data (privacy review)"),
    Row("eda_profile",     "01-05", "spike",      "collect", "ds",    5,    "E1", "priya",
        "S1 ip@1.2 rv@1.6 done@1.7",
        "Profile 12 months of transactions: volumes, fraud rate, missing values"),
    Row("fraud_taxonomy",  "01-05", "chore",      "frame",   "dx",    1,    None, "=greta",
        "S1 ip@1.3 done@1.6",
        "Document fraud typologies: card-not-present, account takeover, skimming"),
    Row("cost_matrix",     "01-05", "spike",      "frame",   "ba",    3,    None, "elena",
        "S1 ip@1.4 rv@1.9 carry done@2.2",
        "Estimate the cost of a missed fraud vs a false alert with Fraud Ops"),
    Row("label_guidelines", "01-05", "feature",   "label",   "dx",    3,    "E2", "=greta",
        "S1 ip@1.1 rv@1.4 done@1.5",
        "Write labeling guidelines for disputed transactions"),
    Row("chargeback_join", "01-07", "feature",    "collect", "de",    3,    "E1", "tom",
        "S1 ip@1.3 rv@1.8 done@1.9",
        "Join chargeback and dispute records to the transactions"),
    Row("label_tool",      "01-07", "chore",      "label",   "swe",   2,    "E2", "aisha",
        "S1 ip@1.2 done@1.4",
        "Set up a Label Studio project with the transaction review template"),
    Row("sampling",        "01-07", "spike",      "label",   "ds",    2,    "E2", "lukas",
        "S1 ip@1.2 rv@1.3 done@1.4",
        "Stratified sampling plan for the gold set (fraud oversampled 10x)"),
    Row("pilot_round",     "01-07", "experiment", "label",   "ann",   2,    "E2", "=lea",
        "S1 ip@1.3 done@1.4",
        "Trial labeling round: 100 transactions to test the review template"),
    Row("batch1",          "01-07", "feature",    "label",   "ann",   3,    "E2", "=kemal",
        "S1 ip@1.5 rv@1.9 done@1.10",
        "Labeling batch 1: 1,000 transactions"),
    Row("exp_tracking",    "01-07", "chore",      None,      "mlops", 2,    None, "sofia",
        "S1 ip@1.6 carry rv@2.2 done@2.3",
        "Set up MLflow experiment tracking in the team workspace"),
    Row("dup_bug",         "01-22", "bug",        "collect", "de",    3,    "E1", "tom",
        "+1.4 ip@1.5 done@1.8",
        "Duplicate transactions replayed by the card switch inflate fraud counts"),
    # --- Sprint 2 ---
    Row("batch2",          "01-07", "feature",    "label",   "ann",   3,    "E2", "=lea",
        "S2 ip@2.1 rv@2.3 done@2.4",
        "Labeling batch 2: 1,000 transactions"),
    Row("batch3",          "01-07", "feature",    "label",   "ann",   3,    "E2", "=kemal",
        "S2 ip@2.1 pts5@2.6 rv@2.9 done@2.10",
        "Labeling batch 3: 1,000 transactions"),
    Row("batch4",          "01-07", "feature",    "label",   "ann",   3,    "E2", "=lea",
        "S2 ip@2.5 rv@2.9 done@2.10",
        "Labeling batch 4: 1,000 transactions"),
    Row("kappa2",          "01-09", "experiment", "label",   "ds",    2,    "E2", "lukas",
        "S2 ip@2.4 done@2.5~10:05",
        "Measure inter-annotator agreement (Cohen's kappa) on batch 2"),
    Row("time_split",      "01-09", "feature",    "prep",    "ds",    2,    "E3", "priya",
        "S2 ip@2.2 rv@2.4 done@2.5",
        "Time-based train/validation/test split with no card in two splits"),
    Row("feat_velocity",   "01-09", "feature",    "prep",    "de",    8,    "E3", "tom",
        "S2 ip@2.3 rv@2.8 done@2.9",
        "Velocity features: transactions per card in the last 1 h, 24 h and 7 days"),
    Row("guidelines_v2",   "02-06", "feature",    "label",   "dx",    2,    "E2", "greta",
        "+2.5~10:30 ip@2.5 rv@2.6 done@2.6",
        "Guidelines v2: how to label friendly-fraud disputes"),
    # --- Sprint 3 ---
    Row("batch5",          "01-07", "feature",    "label",   "ann",   3,    "E2", "=kemal",
        "S2 ip@2.10 carry rv@3.4 done@3.5",
        "Labeling batch 5: 1,000 transactions"),
    Row("merchant_feats",  "01-09", "feature",    "prep",    "mle",   3,    "E3", "chen",
        "S2 ip@2.4 rv@2.9 carry done@3.1",
        "Merchant risk features: historical fraud rate per merchant category (MCC)"),
    Row("gold_freeze",     "01-09", "chore",      "label",   "ds",    2,    "E2", "lukas",
        "S3 ip@3.5 done@3.6",
        "Freeze gold set v1.0 (5,000 transactions) and version it with DVC"),
    Row("lr_baseline",     "01-09", "experiment", "model",   "ds",    5,    "E4", "priya",
        "S3 ip@3.4 rv@3.7 done@3.8",
        "Experiment: logistic regression baseline on the gold set"),
    Row("serving_image",   "01-13", "chore",      "deploy",  "mlops", 3,    "E6", "sofia",
        "S3 ip@02-16~11:00 rv@3.3 done@3.5",
        "Package model serving: MLflow model in a Docker image"),
    Row("api_contract",    "01-13", "feature",    "deploy",  "swe",   3,    "E6", "aisha",
        "S3 ip@3.2 rv@3.5 done@3.6",
        "Agree the scoring API contract with the card-authorisation team"),
    Row("ui_interviews",   "01-13", "spike",      "frame",   "ux",    2,    "E6", "noah",
        "S3 ip@3.1 rv@3.6 done@3.7",
        "Interview 5 fraud investigators about how they review alerts"),
    Row("pit_features",    "01-28", "feature",    "prep",    "de",    5,    "E3", "tom",
        "S3 ip@3.1 rv@3.3 done@3.4 ip@3.5~11:05/priya done@3.7",
        "Point-in-time feature table v1 (no look-ahead)"),
    Row("kappa4",          "02-11", "experiment", "label",   "ds",    2,    "E2", "lukas",
        "S3 ip@3.1 done@3.2",
        "Re-measure agreement (Cohen's kappa) on batch 4 with guidelines v2"),
    Row("leakage_bug",     "02-25", "bug",        "prep",    "ds",    3,    "E3", "priya",
        "+3.7 ip@3.7 rv@3.8 done@3.9",
        "Leakage: the chargeback date is visible to the features at scoring time"),
    # --- Sprint 4 (active) ---
    Row("lgbm_vs_lr",      "01-09", "experiment", "model",   "mle",   5,    "E4", "chen",
        "S3 ip@3.6 carry rv@4.2 done@4.3",
        "Experiment: LightGBM vs logistic regression baseline"),
    Row("eval_criteria",   "01-13", "feature",    "eval",    "ba",    2,    "E5", "elena",
        "S3 ip@3.3 rv@3.8 carry done@4.1",
        "Define go/no-go criteria for the pilot with Fraud Ops"),
    Row("scoring_endpoint", "01-13", "feature",   "deploy",  "swe",   5,    "E6", "aisha",
        "S4 ip@4.1",
        "Scoring endpoint in staging behind the API gateway"),
    Row("online_features", "01-13", "feature",    "deploy",  "de",    5,    "E6", "tom",
        "S4 ip@4.2",
        "Serve velocity features online from Redis (p99 under 20 ms)"),
    Row("fairness_age",    "01-13", "feature",    "eval",    "ds",    3,    "E5", "priya",
        "S4 ip@4.3",
        "Check recall parity across card-holder age groups"),
    Row("mcc_embed",       "02-11", "experiment", "model",   "ds",    3,    "E4", "lukas",
        "S4 ip@4.1 done@4.4",
        "Experiment: merchant-category embeddings"),
    Row("ui_wireframes",   "02-11", "feature",    "deploy",  "ux",    3,    "E6", "noah",
        "S4 ip@4.1 rv@4.4",
        "Wireframes for the investigators' alert queue with reason codes"),
    Row("shap",            "02-11", "feature",    "eval",    "mle",   3,    "E5", "chen",
        "S4",
        "SHAP reason codes: the top 5 reasons behind each alert"),
    Row("loadtest",        "02-11", "chore",      "deploy",  "mlops", 3,    "E6", "sofia",
        "S4",
        "Load test the scoring endpoint at 500 rps"),
    Row("dpia",            "02-25", "chore",      "deploy",  "po",    2,    "E6", "=jonas",
        "S4 ip@4.1",
        "DPIA sign-off for showing cardholder details in the alert queue"),
    Row("model_card",      "02-25", "chore",      "eval",    "ba",    2,    "E5", "elena",
        "S4 ip@4.2",
        "Draft the model card for model risk management"),
    Row("mcc_null_bug",    "03-04", "bug",        "deploy",  "mle",   1,    "E6", "chen",
        "+4.3 ip@4.3 done@4.4",
        "Scoring fails for transactions without a merchant category code"),
    # --- Sprint 5 (planned) ---
    Row("threshold",       "02-25", "feature",    "eval",    "ds",    2,    "E5", None,
        "S5",
        "Choose the alert threshold for 1% FPR on the validation months"),
    Row("psi_alerts",      "01-15", "feature",    "monitor", "mlops", 5,    "E7", None,
        "S5",
        "Alert on PSI > 0.2 for the top 20 features"),
    Row("pilot_plan",      "02-25", "feature",    "deploy",  "ba",    3,    "E6", None,
        "S5",
        "Pilot plan: 3 investigators, 2 weeks, alerts next to the rules engine"),
    Row("fairness_country", "02-25", "feature",   "eval",    "ds",    3,    "E5", None,
        "S5",
        "Check false-alert rate parity across customers' countries of residence"),
    # --- backlog, by priority ---
    Row("tz_bug",          "03-03", "bug",        "prep",    "de",    2,    "E3", None, "",
        "Authorisation timestamps differ between warehouses (UTC vs local time)"),
    Row("label_delay",     "01-28", "feature",    "monitor", "de",    3,    "E7", None, "",
        "Monitor chargeback arrival delay (labels arrive up to 90 days late)"),
    Row("dq_checks",       "01-28", "feature",    "prep",    "de",    5,    "E3", None, "",
        "Data-quality checks on the nightly transaction load"),
    Row("rollback",        "01-15", "chore",      "deploy",  "mlops", 2,    "E6", None, "",
        "Rollback runbook for the scoring service"),
    Row("shadow_mode",     "01-15", "feature",    "deploy",  "mle",   8,    "E6", None, "",
        "Shadow mode: score live traffic for 2 weeks without alerting"),
    Row("canary",          "01-15", "feature",    "deploy",  "mlops", 5,    "E6", None, "",
        "Canary release of the scoring service (5% of traffic)"),
    Row("alert_dashboard", "02-11", "feature",    "monitor", "swe",   5,    "E7", None, "",
        "Dashboard of alert volume and precision for Fraud Ops"),
    Row("retrain",         "01-15", "feature",    "monitor", "mlops", 13,   "E7", None, "",
        "Monthly retraining pipeline with champion/challenger comparison"),
    Row("gpu_vs_cpu",      "02-25", "chore",      None,      "mlops", 2,    None, "=sofia", "",
        "Compare the cost of GPU and CPU training for monthly retrains"),
    Row("py312",           "02-25", "chore",      None,      "swe",   1,    None, None, "",
        "Upgrade the training image to Python 3.12"),
    Row("validation_pack", "01-28", "chore",      "eval",    "ba",    None, "E5", None, "",
        "Validation pack for model risk management"),
    Row("focal_loss",      "01-15", "experiment", "model",   "mle",   None, "E4", None, "",
        "Experiment: focal loss vs class weights for a 0.2% fraud rate"),
    Row("active_learning", "02-11", "experiment", "label",   "ds",    None, "E2", None, "",
        "Experiment: pick the next labeling batch by model uncertainty"),
    Row("batch6",          "02-11", "feature",    "label",   "ann",   None, "E2", None, "",
        "Labeling batch 6: 500 hard negatives near the alert threshold"),
    Row("reason_text",     "02-25", "feature",    "deploy",  "ux",    None, "E6", None, "",
        "Reason codes in plain German and English in the alert queue"),
    Row("feedback_button", "02-25", "feature",    "deploy",  "swe",   None, "E6", None, "",
        "Investigators mark alerts as fraud / not fraud from the queue"),
    Row("case_mgmt",       "01-15", "feature",    "deploy",  "swe",   None, "E6", None, "",
        "Push alerts into the bank's case-management system"),
    Row("seq_model",       "01-28", "experiment", "model",   "mle",   None, "E4", None, "",
        "Experiment: sequence model (GRU) over each card's last 20 transactions"),
    Row("isoforest",       "01-15", "spike",      "model",   "ds",    3,    "E4", None,
        "S3 drop",
        "Spike: isolation forest on unlabeled transactions"),
    Row("graph_spike",     "01-15", "spike",      "model",   "ds",    5,    "E8", None,
        "S2 -2.4",
        "Spike: graph features from cards sharing devices and merchants"),
]
# fmt: on

BLOCKED = {"dpia"}

DESCRIPTIONS = {
    "success_metric": (
        "Fraud Ops can review about **1% of authorisations** a day. The model is judged by the "
        "share of fraud it catches inside that budget: *recall at 1% false-positive rate*."
    ),
    "wh_access": (
        "Read-only role on `dwh.card_auth` and `dwh.chargebacks` for the team's service account."
        "\n\nIT ticket: `ACC-20811`."
    ),
    "pii_masking": (
        "Card numbers and names must never leave the warehouse unmasked.\n\n"
        "- PAN tokenised, names dropped, birth date reduced to the year\n"
        "- needs the privacy team's sign-off before the first extract"
    ),
    "label_guidelines": (
        "One page the annotators keep open while labeling:\n\n"
        "1. *Fraud*: confirmed by a chargeback with a fraud reason code, or by the investigator\n"
        "2. *Not fraud*: no dispute within 90 days\n"
        "3. *Unsure*: send to Greta for adjudication\n\n"
        "Disputed transactions get the most room: they are where annotators disagree."
    ),
    "batch3": (
        "Labeled with guidelines v1 first. After the kappa check on batch 2 (0.58) the "
        "friendly-fraud disputes in this batch were re-labeled with guidelines v2, hence the "
        "re-estimate from 3 to 5 points."
    ),
    "time_split": (
        "Train on Jan-Sep 2025, validate on Oct-Nov, test on Dec. A card appears in one split "
        "only, so the model cannot memorise card holders."
    ),
    "feat_velocity": (
        "Counts and amounts per card over 1 h, 24 h and 7 days, plus distinct merchants and "
        "countries. Computed in the warehouse for training; the online version follows in "
        "Sprint 4."
    ),
    "pit_features": (
        "Every feature is computed **as of the authorisation time**, never from data that "
        "arrived later. Rebuild from the raw events; no joins on snapshot tables."
    ),
    "leakage_bug": (
        "`days_since_last_chargeback` was computed after the split, from chargebacks filed "
        "*after* the transaction. Baseline recall falls from 0.84 to 0.79 without it: 0.79 is "
        "the honest number."
    ),
    "scoring_endpoint": (
        "`POST /v1/score` with the authorisation fields; answers a score and reason codes.\n\n"
        "- p99 under 50 ms inside the authorisation flow\n"
        "- falls back to *no score* on timeout, never blocks a payment"
    ),
    "fairness_age": (
        "Recall at the 1% FPR threshold for card holders aged 18-25, 26-40, 41-60, 61-75 and "
        "75+.\n\n**Done when** every group is within 5 points of the overall recall, or the gap is "
        "explained and signed off by Fraud Ops and Compliance."
    ),
    "loadtest": (
        "Peak authorisation traffic is about 350 per second on Black Friday; test at 500 rps "
        "for 30 minutes with p99 latency under 50 ms."
    ),
    "dpia": (
        "The alert queue shows cardholder details to investigators: the data protection officer "
        "needs the list of fields shown and the retention period before the pilot."
    ),
    "psi_alerts": (
        "Population stability index per feature, daily against the training months. Page the "
        "on-call engineer when PSI > 0.2 for any of the top 20 features."
    ),
    "label_delay": (
        "Chargebacks arrive up to 90 days after the transaction, so last month's fraud rate "
        "always looks too low. Track the delay distribution weekly."
    ),
    "graph_spike": (
        "Link cards that share a device fingerprint or a merchant terminal and count fraud among "
        "neighbours. Taken out of Sprint 2 to make room for re-labeling."
    ),
}

# slug: (hypothesis, metric, target, outcome, result)
EXPERIMENTS = {
    "pilot_round": (
        "With the review template an annotator labels a transaction in under 2 minutes.",
        "Median labeling time per transaction",
        "< 2 minutes",
        "inconclusive",
        "Median 2.4 minutes on 100 transactions, but half of it was waiting for the warehouse "
        "viewer to load. Re-measure once the viewer is cached.",
    ),
    "kappa2": (
        "Two annotators following guidelines v1 agree on fraud / not fraud for disputed "
        "transactions.",
        "Cohen's kappa on 200 double-labeled transactions of batch 2",
        ">= 0.75",
        "refuted",
        "kappa = 0.58. Most disagreements are friendly-fraud disputes (the card holder disputes "
        "a purchase they made). Guidelines v2 and a re-label of batch 3 follow.",
    ),
    "kappa4": (
        "With guidelines v2 the annotators agree well enough for a gold set.",
        "Cohen's kappa on 200 double-labeled transactions of batch 4",
        ">= 0.75",
        "confirmed",
        "kappa = 0.81. The 37 remaining disagreements went to Greta for adjudication.",
    ),
    "lr_baseline": (
        "A regularised logistic regression on velocity and merchant features catches most fraud "
        "at a workable alert rate.",
        "val_recall",
        ">= 0.75",
        "confirmed",
        "Recall 0.79 at 1% FPR (PR-AUC 0.41) on the corrected split. MLflow run `lr-baseline-07`.",
    ),
    "lgbm_vs_lr": (
        "LightGBM beats the logistic regression baseline and reaches the pilot bar: recall of "
        "at least 0.85 at 1% FPR on the validation months (mean of 5 seeds).",
        "val_recall",
        ">= 0.85",
        "refuted",
        "Recall 0.82 vs 0.79 (5 seeds, +/- 0.01). Better, but still short of the 0.85 target: "
        "refuted by run `lgbm-tuned-14`.",
    ),
    "mcc_embed": (
        "Adding merchant-category embeddings improves PR-AUC by 2 points.",
        "PR-AUC on the validation months, mean of 5 seeds",
        "+0.02 over LightGBM without embeddings",
        "refuted",
        "+0.003 (0.512 vs 0.509), within seed noise (+/- 0.006), and the lookup adds 40 ms. "
        "Not worth it.",
    ),
    "focal_loss": (
        "Focal loss instead of class weights lifts LightGBM to the pilot bar of 0.85 recall at "
        "1% FPR.",
        "val_recall",
        ">= 0.85",
        "pending",
        None,
    ),
    "active_learning": (
        "Choosing transactions by model uncertainty teaches the model more per label than random "
        "sampling.",
        "Recall at 1% FPR after 500 new labels",
        "+2 points over a random batch of the same size",
        "pending",
        None,
    ),
    "seq_model": (
        "A GRU over each card's last 20 transactions catches patterns the aggregates miss.",
        "PR-AUC on the validation months",
        "+0.03 over LightGBM",
        "pending",
        None,
    ),
}

# slug, day (as in a flow), author, body
COMMENTS = [
    ("serving_image", "02-16~11:05", "sofia",
     "Working today, I'm not from Cologne. The image builds and the model loads in 1.8 s."),
    ("pit_features", "3.5~10:40", "priya",
     "Review: the 7-day window is computed from the *batch date*, not the transaction time, so "
     "it sees up to 23 h of the future. Reopening."),
    ("batch5", "3.5~14:10", "kemal",
     "Batch 5 done with guidelines v2. 37 transactions marked *unsure* and sent to Greta."),
    ("leakage_bug", "3.7~15:20", "priya",
     "Found while reviewing the baseline: `days_since_last_chargeback` uses chargebacks filed "
     "after the transaction. Fix and rerun in progress."),
    ("lr_baseline", "3.8~15:45", "jonas",
     "Recall 0.79 on the corrected split. Good enough as a yardstick: **Baseline model** "
     "achieved."),
    ("dpia", "4.1~14:30", "jonas",
     "Waiting for the data protection officer. The DPIA needs the final list of fields shown "
     "to investigators, so this is blocked until Noah's wireframes are agreed."),
    ("scoring_endpoint", "4.2~11:20", "aisha",
     "The gateway team has a slot for us only in six weeks. Until then staging uses a "
     "direct route."),
    ("lgbm_vs_lr", "4.3~10:15", "chen",
     "LightGBM: recall **0.82** at 1% FPR vs 0.79 for the baseline (5 seeds, corrected split). "
     "Still short of 0.85."),
    ("mcc_embed", "4.4~11:30", "lukas",
     "PR-AUC +0.003, within seed noise. Refuted; closing this and keeping the plain MCC "
     "risk features."),
    ("fairness_age", "4.4~13:50", "greta",
     "From the investigator side: card holders over 75 are the main targets of phone scams. "
     "Please report 75+ separately, not inside 61-75."),
    ("ui_wireframes", "4.4~15:05", "noah",
     "Wireframes are up for review. Investigators asked for the card's last 5 transactions "
     "inline, next to the reason codes."),
]  # fmt: skip


# --- risks -------------------------------------------------------------------------------------


class Risk(NamedTuple):
    title: str
    category: str
    likelihood: int
    impact: int
    status: str
    owner: str
    milestone: str | None
    stories: tuple[str, ...]
    review_on: str | None
    description: str
    mitigation: str


RISKS = [
    Risk("Model is not approved by model risk management before launch", "regulatory", 4, 5,
         "open", "jonas", LAUNCH, ("model_card", "validation_pack"), "2026-03-20",
         "A fraud model that blocks or queues payments is an internal model under the bank's "
         "model risk policy; validation takes about eight weeks.",
         "Involve Marc (Risk & Compliance) from Sprint 4, draft the model card early, book the "
         "validation team's slot now."),
    Risk("Lower recall for older card holders", "bias_fairness", 3, 4, "mitigating", "priya",
         TARGET, ("fairness_age", "fairness_country"), "2026-03-13",
         "Older card holders are targeted differently (phone scams) and are rarer in the "
         "training months, so the model may catch less of their fraud.",
         "Per-group recall at the alert threshold in every evaluation; oversample 75+ in the "
         "next labeling batch if the gap exceeds 5 points."),
    Risk("Cardholder data exposed in the alert queue or in logs", "privacy", 2, 5, "mitigating",
         "jonas", PILOT, ("pii_masking", "dpia"), "2026-03-20",
         "Investigators need some cardholder details; logs and exports must not carry them.",
         "Tokenised PAN everywhere, a DPIA before the pilot, log scrubbing tested in CI."),
    Risk("Annotators disagree on friendly-fraud disputes", "labeling_quality", 4, 3, "realised",
         "lukas", GOLD_SET, ("kappa2", "guidelines_v2", "batch3"), None,
         "Disputes where card holders deny their own purchases are hard to label from the "
         "transaction alone.",
         "Happened in Sprint 2 (kappa 0.58): guidelines v2, batch 3 re-labeled, kappa 0.81 on "
         "batch 4. Greta adjudicates every *unsure*."),
    Risk("Chargeback labels arrive up to 90 days late", "data_quality", 3, 3, "mitigating",
         "tom", TARGET, ("time_split", "label_delay"), "2026-03-27",
         "Recent fraud looks legitimate until the chargeback arrives, which biases the last "
         "months of training data and the live precision.",
         "Validation and test months end 90 days before the extract; track the label delay "
         "weekly."),
    Risk("Fraud patterns shift after launch and recall decays", "model_drift", 4, 4, "open",
         "sofia", LAUNCH, ("psi_alerts", "retrain"), "2026-04-30",
         "Fraud rings adapt within weeks once a model stops their pattern.",
         "PSI alerts on the top features, monthly retraining with a champion/challenger check."),
    Risk("Pilot waits for the API gateway slot", "delivery", 4, 3, "open", "maya", PILOT,
         ("scoring_endpoint", "loadtest"), "2026-03-13",
         "The platform team schedules gateway changes quarterly; our slot is six weeks away.",
         "Load test against staging now; ask Helen to escalate for an earlier slot."),
    Risk("Investigators cannot act on alerts without reasons", "explainability", 3, 3,
         "mitigating", "chen", PILOT, ("shap", "ui_wireframes", "reason_text"), "2026-03-27",
         "A bare score gives investigators nothing to tell the card holder when they call.",
         "SHAP reason codes per alert, worded with Greta and tested in the wireframes."),
    Risk("GPU cost of monthly retraining exceeds the budget", "compute_cost", 2, 2, "accepted",
         "sofia", None, ("gpu_vs_cpu",), "2026-04-30",
         "Gradient boosting on 40 million rows a month on rented GPUs.",
         "Accepted: at the current volume the cost stays below 5% of the budget. Revisit if we "
         "move to sequence models."),
    Risk("No warehouse access in time for Sprint 1", "data_availability", 1, 4, "closed", "tom",
         GOLD_SET, ("wh_access",), None,
         "The access request needed sign-off from two data owners.",
         "Requested in the setup week; granted on the second day of Sprint 1."),
]  # fmt: skip


# --- time --------------------------------------------------------------------------------------


def day_of(text: str) -> date:
    """Return the date of an "MM-DD" in the demo's year."""
    return date.fromisoformat(f"{YEAR}-{text}")


def at_local(day: date, clock: time) -> datetime:
    """Return the UTC moment of a local day and time in the project's timezone."""
    return datetime.combine(day, clock, tzinfo=TZ).astimezone(UTC)


def hhmm(text: str) -> time:
    return time.fromisoformat(text)


def iso(moment: datetime) -> str:
    assert moment <= CUTOFF, f"{moment} is after the demo's cut-off {CUTOFF}"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_working_day(day: date) -> bool:
    return day.isoweekday() in WORKING_DAYS and day.isoformat() not in HOLIDAYS


def sprint_days(sprint: Sprint) -> list[date]:
    """Return the sprint's working days, first to last."""
    start, end = day_of(sprint.start), day_of(sprint.end)
    days = (start + timedelta(n) for n in range((end - start).days + 1))
    return [day for day in days if is_working_day(day)]


def started_at(sprint: Sprint) -> datetime | None:
    return None if sprint.state == "planned" else at_local(day_of(sprint.start), hhmm("09:30"))


def closed_at(sprint: Sprint) -> datetime | None:
    return at_local(day_of(sprint.end), hhmm("16:30")) if sprint.state == "closed" else None


def parse_day(text: str) -> tuple[date, time | None]:
    """Read "2.6", "02-16", optionally followed by "~11:00", as (day, fixed local time or None)."""
    where, _, clock = text.partition("~")
    if "." in where:
        number, working_day = where.split(".")
        day = sprint_days(SPRINTS[int(number) - 1])[int(working_day) - 1]
    else:
        day = day_of(where)
    return day, hhmm(clock) if clock else None


# --- history -----------------------------------------------------------------------------------

STATUS_TOKENS = {"ip": "in_progress", "rv": "review", "done": "done", "todo": "todo"}


class Step(NamedTuple):
    action: str  # plan, add, remove, carry, drop, status, points
    value: Any = None  # the sprint number, status key or points
    day: date | None = None  # None: at a planning meeting or at a sprint's close
    fixed: time | None = None
    by: str | None = None


def parse_flow(flow: str) -> list[Step]:
    """Read a flow (see the STORIES table) into steps."""
    steps = []
    for token in flow.split():
        if token.startswith("S"):
            steps.append(Step("plan", int(token[1:])))
        elif token in ("carry", "drop"):
            steps.append(Step(token))
        elif token[0] in "+-":
            day, fixed = parse_day(token[1:])
            number = int(token[1:].split(".")[0])
            steps.append(Step("add" if token[0] == "+" else "remove", number, day, fixed))
        else:
            what, _, when = token.partition("@")
            when, _, by = when.partition("/")
            day, fixed = parse_day(when)
            if what.startswith("pts"):
                steps.append(Step("points", int(what[3:]), day, fixed, PRODUCT_OWNER))
            else:
                steps.append(Step("status", STATUS_TOKENS[what], day, fixed, by or None))
    return steps


class Clock:
    """Hands out event times: planning slots per sprint, and minutes inside working hours."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self.slots = {s.name: at_local(day_of(s.planning[0]), hhmm(s.planning[1])) for s in SPRINTS}

    def planning(self, sprint: Sprint) -> datetime:
        """Return the next free minute of the sprint's planning meeting."""
        self.slots[sprint.name] += timedelta(minutes=self.rng.randint(1, 3))
        moment = self.slots[sprint.name]
        start = started_at(sprint)
        assert start is None or moment < start, f"planning of {sprint.name} overran the start"
        return moment

    def during(self, day: date, after: datetime, later_same_day: int) -> datetime:
        """Return a minute on `day` after `after`, leaving room for events still to come."""
        first = max(at_local(day, DAY_FIRST), after + timedelta(minutes=5))
        last = at_local(day, DAY_LAST) - timedelta(minutes=20 * later_same_day)
        assert first <= last, f"no room for an event on {day}"
        return first + timedelta(
            minutes=self.rng.randint(0, (last - first) // timedelta(minutes=1))
        )


def story_history(row: Row, created: datetime, clock: Clock) -> tuple[list[dict], dict[str, Any]]:
    """Turn a story's flow into its history events; return them and the story's final values."""
    steps = parse_flow(row.flow)
    who = row.who.lstrip("=") if row.who else None
    current: dict[str, Any] = {
        "status": "todo",
        "points": row.points,
        "sprint": None,  # a sprint number while building, its name in the document
        "assignee": who if row.who and row.who.startswith("=") else None,
    }
    assert steps or who == current["assignee"], f"{row.slug}: who takes it, and when?"
    starts = any(step.value == "in_progress" for step in steps)
    events: list[dict] = []
    last = created

    def record(moment: datetime, field: str, value: Any, by: str) -> None:
        nonlocal last
        assert moment >= last, f"{row.slug}: events out of order at {moment}"
        old, new = current[field], value
        if field == "assignee":
            old, new = email(old), email(new)
        elif field == "sprint":
            old, new = sprint_name(old), sprint_name(new)
        events.append({"at": iso(moment), "field": field, "from": old, "to": new, "by": email(by)})
        current[field] = value
        last = moment

    for i, step in enumerate(steps):
        if step.action == "plan":
            moment = clock.planning(SPRINTS[step.value - 1])
            record(moment, "sprint", step.value, SCRUM_MASTER)
            if who and not starts and current["assignee"] is None:
                record(moment, "assignee", who, who)  # picked at the planning meeting
            continue
        if step.action in ("carry", "drop"):
            following = current["sprint"] + 1 if step.action == "carry" else None
            record(closed_at(SPRINTS[current["sprint"] - 1]), "sprint", following, SCRUM_MASTER)
            continue
        if step.fixed:
            moment = at_local(step.day, step.fixed)
        else:
            later = sum(1 for s in steps[i + 1 :] if s.day == step.day and not s.fixed)
            moment = clock.during(step.day, last, later)
        if step.action in ("add", "remove"):
            value = step.value if step.action == "add" else None
            record(moment, "sprint", value, PRODUCT_OWNER)
        elif step.action == "points":
            record(moment, "points", step.value, step.by)
        else:
            if current["assignee"] is None:
                record(moment, "assignee", who, who)  # takes the story as work starts
            record(moment, "status", step.value, step.by or current["assignee"])
    current["sprint"] = sprint_name(current["sprint"])
    return events, current


def sprint_name(number: int | None) -> str | None:
    return None if number is None else SPRINTS[number - 1].name


# --- the document ------------------------------------------------------------------------------


def creation_times(rng: Random) -> dict[str, datetime]:
    """Give each story a creation minute: refinement sessions from 10:00, in table order."""
    by_day: dict[str, list[Row]] = defaultdict(list)
    for row in STORIES:
        by_day[row.created].append(row)
    times = {}
    for created, rows in sorted(by_day.items()):
        assert is_working_day(day_of(created)), f"stories written on a day off: {created}"
        moment = at_local(day_of(created), hhmm("10:00"))
        for row in rows:
            moment += timedelta(minutes=rng.randint(3, 9))
            times[row.slug] = moment
    return times


def story_documents(rng: Random) -> tuple[list[dict], dict[str, str]]:
    """Return the stories, numbered in creation order, and a map from slug to story key."""
    created = creation_times(rng)
    order = sorted(STORIES, key=lambda row: created[row.slug])
    keys = {row.slug: f"{PROJECT['key']}-{n}" for n, row in enumerate(order, start=1)}
    comments: dict[str, list[dict]] = defaultdict(list)
    for slug, when, author, body in COMMENTS:
        day, fixed = parse_day(when)
        comments[slug].append(
            {"author": email(author), "at": iso(at_local(day, fixed)), "body": body}
        )
    clock = Clock(rng)
    stories = []
    for rank, row in enumerate(STORIES, start=1):
        history, final = story_history(row, created[row.slug], clock)
        role = ROLE[row.role] if row.role else None
        if final["assignee"]:
            assert role in ROLES_OF[final["assignee"]], f"{row.slug}: {role} does not fit"
        hypothesis, metric, target, outcome, result = EXPERIMENTS.get(row.slug, (None,) * 5)
        if row.type == "experiment":
            assert (outcome == "pending") == (final["status"] != "done"), row.slug
        stories.append(
            {
                "key": keys[row.slug],
                "title": row.title,
                "description": DESCRIPTIONS.get(row.slug),
                "type": row.type,
                "stage": STAGE[row.stage] if row.stage else None,
                "role": role,
                "points": final["points"],
                "status": final["status"],
                "epic": row.epic,
                "sprint": final["sprint"],
                "assignee": email(final["assignee"]),
                "rank": rank * 1024,
                "created_at": iso(created[row.slug]),
                "blocked": row.slug in BLOCKED,
                "hypothesis": hypothesis,
                "metric": metric,
                "target": target,
                "outcome": outcome,
                "result": result,
                "history": history,
                "comments": sorted(comments[row.slug], key=lambda c: c["at"]),
            }
        )
    stories.sort(key=lambda story: int(story["key"].split("-")[1]))
    return stories, keys


def build_document() -> dict[str, Any]:
    """Return the whole demo project as an interchange document."""
    assert set(ROLES) <= {role for m in MEMBERS for role in m.roles}, "a functional role is missing"
    rng = Random(SEED)
    stories, keys = story_documents(rng)
    return {
        "format": "planner-export",
        "version": 1,
        "project": {
            "key": PROJECT["key"],
            "name": PROJECT["name"],
            "description": PROJECT["description"],
            "timezone": TIMEZONE,
            "working_days": WORKING_DAYS,
            "holidays": HOLIDAYS,
            "sprint_length_days": 14,
            "slip_tolerance_days": 7,
            "created_at": PROJECT["created_at"],
            "stages": list(DEFAULT_STAGES),
        },
        "members": [
            {"email": email(m.handle), "name": m.name, "access": m.access, "roles": list(m.roles)}
            for m in MEMBERS
        ],
        "epics": [
            {
                "key": e.key,
                "title": e.title,
                "description": e.description,
                "stage": e.stage,
                "milestone": e.milestone,
                "archived": e.archived,
            }
            for e in EPICS
        ],
        "sprints": [
            {
                "name": s.name,
                "goal": s.goal,
                "start": day_of(s.start).isoformat(),
                "end": day_of(s.end).isoformat(),
                "state": s.state,
                "started_at": iso(started_at(s)) if started_at(s) else None,
                "closed_at": iso(closed_at(s)) if closed_at(s) else None,
                "capacity": [
                    {"member": email(handle), "points": points}
                    for handle, points in sorted(CAPACITY[s.name].items())
                ],
            }
            for s in SPRINTS
        ],
        "stories": stories,
        "milestones": [
            {
                "name": m.name,
                "description": m.description,
                "stage": m.stage,
                "baseline": m.baseline,
                "achieved": m.achieved,
                "forecasts": [
                    {
                        "reported_on": f.reported_on,
                        "forecast": f.forecast,
                        "note": f.note,
                        "by": email(f.by),
                    }
                    for f in m.forecasts
                ],
            }
            for m in MILESTONES
        ],
        "risks": [
            {
                "title": r.title,
                "description": r.description,
                "category": r.category,
                "likelihood": r.likelihood,
                "impact": r.impact,
                "owner": email(r.owner),
                "mitigation": r.mitigation,
                "status": r.status,
                "stories": sorted(
                    (keys[slug] for slug in r.stories), key=lambda key: int(key.split("-")[1])
                ),
                "milestone": r.milestone,
                "review_on": r.review_on,
            }
            for r in RISKS
        ],
    }


def main() -> None:
    document = build_document()
    OUTPUT.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    events = sum(len(story["history"]) for story in document["stories"])
    print(f"Wrote {OUTPUT}: {len(document['stories'])} stories, {events} history events.")


if __name__ == "__main__":
    main()
