"""Risk history: creating a risk records every field it is created with (from null), each later
change records one row per field whose value changed, and the risk's page and API show them.
Expected rows are written out by hand from the calls each test makes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from planner.domain.context import load_context
from planner.domain.risks import create_risk, update_risk
from planner.models import Milestone, Risk, RiskChange
from planner.models.evidence import ImmutableRecordError

CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EDITED = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
LATER = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


def rows(db_session, risk_id: int) -> list[tuple]:
    db_session.expire_all()
    return [
        (c.field, c.from_value, c.to_value, c.at, c.by_id)
        for c in db_session.scalars(
            select(RiskChange).where(RiskChange.risk_id == risk_id).order_by(RiskChange.id)
        )
    ]


def test_creating_a_risk_records_each_field_it_is_created_with(db_session, team):
    ctx = load_context(db_session, team.project)
    risk = create_risk(
        db_session,
        ctx,
        {
            "title": "Label noise",
            "category": "labeling_quality",
            "likelihood": "3",
            "impact": "4",
            "mitigation": "Double-label 10%",
            "owner": "priya@example.com",
        },
        now=CREATED,
        by=team.manager,
    )
    db_session.commit()
    m = team.manager.id
    # status is "open" by default and counts as set; review_on and milestone were not given.
    assert rows(db_session, risk.id) == [
        ("title", None, "Label noise", CREATED, m),
        ("category", None, "labeling_quality", CREATED, m),
        ("likelihood", None, "3", CREATED, m),
        ("impact", None, "4", CREATED, m),
        ("status", None, "open", CREATED, m),
        ("mitigation", None, "Double-label 10%", CREATED, m),
        ("owner", None, "priya@example.com", CREATED, m),
    ]


def test_an_update_records_only_the_fields_that_changed(db_session, team):
    ctx = load_context(db_session, team.project)
    milestone = Milestone(project_id=team.project.id, name="Pilot", baseline=date(2026, 4, 24))
    db_session.add(milestone)
    risk = create_risk(
        db_session,
        ctx,
        {"title": "Drift", "category": "model_drift", "likelihood": 3, "impact": 4},
        now=CREATED,
        by=team.manager,
    )
    db_session.commit()
    before = len(rows(db_session, risk.id))
    assert before == 5  # title, category, likelihood, impact, status

    # Impact and title sent unchanged: no row for them.
    update_risk(
        db_session,
        ctx,
        risk,
        {
            "title": "Drift",
            "impact": "4",
            "likelihood": "4",
            "mitigation": "Weekly PSI check",
            "status": "mitigating",
            "review_on": "2026-04-01",
            "milestone": str(milestone.id),
            "owner": "priya@example.com",
        },
        now=EDITED,
        by=team.editor,
    )
    db_session.commit()
    e = team.editor.id
    assert rows(db_session, risk.id)[before:] == [
        ("likelihood", "3", "4", EDITED, e),
        ("status", "open", "mitigating", EDITED, e),
        ("mitigation", None, "Weekly PSI check", EDITED, e),
        ("owner", None, "priya@example.com", EDITED, e),
        ("review_on", None, "2026-04-01", EDITED, e),
        ("milestone", None, str(milestone.id), EDITED, e),
    ]

    # Clearing fields records the old value and null; sending the same values records nothing.
    update_risk(
        db_session,
        ctx,
        risk,
        {"owner": "", "review_on": "", "mitigation": "Weekly PSI check", "stories": []},
        now=LATER,
        by=team.manager,
    )
    db_session.commit()
    assert rows(db_session, risk.id)[before + 6 :] == [
        ("owner", "priya@example.com", None, LATER, team.manager.id),
        ("review_on", "2026-04-01", None, LATER, team.manager.id),
    ]
    update_risk(db_session, ctx, risk, {"likelihood": 4}, now=LATER, by=team.manager)
    db_session.commit()
    assert len(rows(db_session, risk.id)) == before + 8


def test_a_risk_change_cannot_be_rewritten(db_session, team):
    ctx = load_context(db_session, team.project)
    risk = create_risk(
        db_session,
        ctx,
        {"title": "PII", "category": "privacy", "likelihood": 2, "impact": 5},
        now=CREATED,
        by=team.manager,
    )
    db_session.commit()
    change = db_session.scalar(select(RiskChange).where(RiskChange.risk_id == risk.id).limit(1))
    change.to_value = "Something else"
    with pytest.raises(ImmutableRecordError):
        db_session.flush()
    db_session.rollback()


def test_the_api_answers_the_history(clients, team, db_session):
    api = clients["manage"]
    created = api.api(
        "POST",
        "/api/v1/projects/FRAUD/risks",
        {"title": "Bias", "category": "bias_fairness", "likelihood": 2, "impact": 5},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert [(h["field"], h["from"], h["to"], h["by"]) for h in body["history"]] == [
        ("title", None, "Bias", "maya@example.com"),
        ("category", None, "bias_fairness", "maya@example.com"),
        ("likelihood", None, "2", "maya@example.com"),
        ("impact", None, "5", "maya@example.com"),
        ("status", None, "open", "maya@example.com"),
    ]
    risk_id = body["id"]
    changed = api.api(
        "PATCH", f"/api/v1/projects/FRAUD/risks/{risk_id}", {"impact": 3, "status": "accepted"}
    )
    assert changed.status_code == 200
    history = changed.get_json()["history"]
    assert [(h["field"], h["from"], h["to"]) for h in history[5:]] == [
        ("impact", "5", "3"),
        ("status", "open", "accepted"),
    ]
    ids = [h["id"] for h in history]
    assert ids == sorted(ids) and len(set(ids)) == 7
    assert all(h["at"].endswith("Z") for h in history)
    # The viewer reads the same history; the list carries it too.
    one = clients["view"].get(f"/api/v1/projects/FRAUD/risks/{risk_id}").get_json()
    assert one["history"] == history
    listed = clients["view"].get("/api/v1/projects/FRAUD/risks").get_json()["risks"]
    assert listed[0]["history"] == history


def test_the_risk_page_shows_the_history(clients, team, db_session):
    ctx = load_context(db_session, team.project)
    risk = create_risk(
        db_session,
        ctx,
        {"title": "Label noise", "category": "labeling_quality", "likelihood": 3, "impact": 4},
        now=CREATED,
        by=team.manager,
    )
    update_risk(db_session, ctx, risk, {"status": "mitigating"}, now=EDITED, by=team.editor)
    db_session.commit()
    change_id = db_session.scalar(
        select(RiskChange.id).where(RiskChange.risk_id == risk.id, RiskChange.field == "status")
        .order_by(RiskChange.id.desc()).limit(1)
    )  # fmt: skip
    for level in ("manage", "view"):
        page = clients[level].get(f"/projects/FRAUD/risks/{risk.id}").get_data(as_text=True)
        assert "Priya Raman</strong>" in page
        assert "changed status from Open to Mitigating" in page
        assert "set likelihood to “3”" in page
        assert "Mon 9 Mar 2026, 14:30" in page  # FRAUD's timezone is UTC
        assert f"#{change_id}" in page
    assert clients["none"].get(f"/projects/FRAUD/risks/{risk.id}").status_code == 404


def test_the_risk_list_api_runs_the_same_queries_for_one_or_many_risks(
    clients, team, db_session, count_queries
):
    api = clients["view"]
    ctx = load_context(db_session, team.project)

    def add(n: int) -> None:
        for i in range(n):
            risk = create_risk(
                db_session,
                ctx,
                {"title": f"R{i}", "category": "privacy", "likelihood": 2, "impact": 2},
                now=CREATED,
                by=team.manager,
            )
            update_risk(db_session, ctx, risk, {"impact": 3}, now=EDITED, by=team.editor)
        db_session.commit()

    add(1)
    api.get("/api/v1/projects/FRAUD/risks")  # warm up the session's first-request work
    with count_queries() as one:
        assert len(api.get("/api/v1/projects/FRAUD/risks").get_json()["risks"]) == 1
    add(6)
    with count_queries() as many:
        assert len(api.get("/api/v1/projects/FRAUD/risks").get_json()["risks"]) == 7
    assert one.count == many.count


def test_a_risk_made_without_the_domain_shows_no_history(clients, team, db_session):
    risk = Risk(
        project_id=team.project.id,
        title="Imported",
        category="privacy",
        likelihood=1,
        impact=1,
        created_at=CREATED,
        updated_at=CREATED,
    )
    db_session.add(risk)
    db_session.commit()
    assert (
        clients["view"].get(f"/api/v1/projects/FRAUD/risks/{risk.id}").get_json()["history"] == []
    )
    page = clients["view"].get(f"/projects/FRAUD/risks/{risk.id}").get_data(as_text=True)
    assert "No changes recorded." in page
