"""The story list over the API: the backlog's filters, applied in the database, and cursor pages
that neither skip nor repeat a story."""

from __future__ import annotations

from tests import factories
from tests.test_tokens import bearer, make_token


def keys(answer) -> list[str]:
    return [s["key"] for s in answer.json["stories"]]


def test_stories_are_filtered_like_the_backlog(app, clients, db_session, team):
    made = [
        ("Label batch 1", "feature", "data_labeling", "annotator", team.editor.id),
        ("Train baseline", "experiment", "modeling", "data_scientist", team.editor.id),
        ("Fix NaN amounts", "bug", "modeling", None, None),
        ("Drift dashboard", "feature", None, "ml_engineer", team.manager.id),
    ]
    for title, type_, stage, role, who in made:
        factories.story(
            db_session,
            team.project,
            team.manager,
            title=title,
            type=type_,
            stage=stage,
            role=role,
            assignee=who,
        )
    db_session.commit()
    api = app.test_client()
    token = bearer(make_token(clients["edit"]))

    def listed(query: str) -> list[str]:
        answer = api.get(f"/api/v1/projects/FRAUD/stories?{query}", headers=token)
        assert answer.status_code == 200, answer.json
        return keys(answer)

    assert listed("stage=modeling") == ["FRAUD-2", "FRAUD-3"]
    assert listed("stage=none") == ["FRAUD-4"]
    assert listed("type=feature&assignee=priya@example.com") == ["FRAUD-1"]
    assert listed("assignee=none") == ["FRAUD-3"]
    assert listed("assignee=me") == ["FRAUD-1", "FRAUD-2"]  # Priya's token
    assert listed("role=none") == ["FRAUD-3"]
    assert listed("q=BASELINE") == ["FRAUD-2"]
    assert listed("q=fraud-4") == ["FRAUD-4"]
    assert listed("q=100%") == []  # % is a character to find, not a wildcard
    bad = api.get("/api/v1/projects/FRAUD/stories?stage=labelling&type=epic", headers=token)
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]) == {"stage", "type"}


def test_pages_follow_the_rank_order_without_gaps_or_repeats(app, clients, db_session, team):
    for number in range(1, 8):
        factories.story(db_session, team.project, team.manager, title=f"Story {number}")
    db_session.commit()
    api = app.test_client()
    token = bearer(make_token(clients["view"]))
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/projects/FRAUD/stories?limit=3"
        if cursor:
            url += f"&cursor={cursor}"
        answer = api.get(url, headers=token)
        assert answer.status_code == 200
        seen += keys(answer)
        pages += 1
        cursor = answer.json["next_cursor"]
        if cursor is None:
            break
    # 7 stories, 3 a page: 3 + 3 + 1.
    assert pages == 3
    assert seen == [f"FRAUD-{n}" for n in range(1, 8)]
    assert keys(api.get("/api/v1/projects/FRAUD/stories", headers=token)) == seen
    for bad in ("limit=0", "limit=501", "cursor=%%%", "cursor=OTk5OTk5OTk5OTk5OjE"):
        answer = api.get(f"/api/v1/projects/FRAUD/stories?{bad}", headers=token)
        assert answer.status_code == 422, bad
