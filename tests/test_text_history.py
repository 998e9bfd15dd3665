"""Text edits in a story's history: one StoryTextChange per changed text field, from the form, the
API and a Jira re-import; shown on the story page as readable differences, listed by the history
endpoint, and never counted in a chart."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from planner.domain.backlog import move_to_sprint
from planner.domain.context import load_context
from planner.domain.history import calendar_of
from planner.domain.sprints import close_sprint, create_sprint, start_sprint
from planner.domain.stories import update_story
from planner.models import StoryEvent, StoryTextChange
from planner.web.textdiff import short_change, word_diff
from tests import factories
from tests.test_jira_import import ROWS, csv_bytes, run
from tests.test_jira_import import story as imported_story


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def text_rows(db_session) -> list[tuple]:
    return [
        (c.field, c.from_text, c.to_text, c.at, c.by_id)
        for c in db_session.scalars(
            select(StoryTextChange).order_by(StoryTextChange.at, StoryTextChange.id)
        )
    ]


# --- recording ----------------------------------------------------------------------------------


def test_one_row_per_changed_text_field_and_none_on_creation(db_session, team):
    project, by = team.project, team.editor
    story = factories.story(
        db_session, project, by, title="Baseline", description="Train it.", type="experiment"
    )
    assert text_rows(db_session) == []  # creating a story records no edit

    ctx = load_context(db_session, project)
    update_story(
        db_session,
        ctx,
        story,
        {
            "title": "Baseline model",
            "description": "Train it.",  # the same text: not an edit
            "hypothesis": "Merchant embeddings add 2 points of PR-AUC",
            "status": "in_progress",
        },
        by=by,
        now=t("2026-03-03T10:00"),
    )
    # Blank means "none": clearing the description is an edit to nothing; the same metric twice
    # after trimming is no edit.
    update_story(
        db_session,
        ctx,
        story,
        {"description": "   ", "metric": "PR-AUC"},
        by=by,
        now=t("2026-03-04T10:00"),
    )
    update_story(db_session, ctx, story, {"metric": " PR-AUC "}, by=by, now=t("2026-03-05T10:00"))
    db_session.commit()

    assert text_rows(db_session) == [
        ("title", "Baseline", "Baseline model", t("2026-03-03T10:00"), by.id),
        (
            "hypothesis",
            None,
            "Merchant embeddings add 2 points of PR-AUC",
            t("2026-03-03T10:00"),
            by.id,
        ),
        ("description", "Train it.", None, t("2026-03-04T10:00"), by.id),
        ("metric", None, "PR-AUC", t("2026-03-04T10:00"), by.id),
    ]
    # The status change is an event as before; the text edits wrote none.
    events = db_session.scalars(select(StoryEvent).where(StoryEvent.story_id == story.id)).all()
    assert [(e.field, e.from_value, e.to_value) for e in events] == [
        ("status", "todo", "in_progress")
    ]
    # Two real edits of the story bumped its version twice (the third changed nothing).
    assert story.version == 3


def test_the_web_form_and_the_api_record_text_edits(clients, db_session, team, story_one):
    response = clients["edit"].post_form(
        "/projects/FRAUD/stories/1",
        {"version": "1", "title": "Renamed", "description": "Label 500 cases"},
    )
    assert response.status_code == 302
    answer = clients["manage"].api(
        "PATCH",
        "/api/v1/stories/FRAUD-1",
        {"version": 2, "description": "Label 800 cases", "target": "0.9"},
    )
    assert answer.status_code == 200
    rows = [(field, old, new, by) for field, old, new, _at, by in text_rows(db_session)]
    assert sorted(rows[:2]) == [
        ("description", None, "Label 500 cases", team.editor.id),
        ("title", "Original", "Renamed", team.editor.id),
    ]
    assert sorted(rows[2:]) == [
        ("description", "Label 500 cases", "Label 800 cases", team.manager.id),
        ("target", None, "0.9", team.manager.id),
    ]


def test_line_endings_alone_are_not_an_edit(clients, db_session, story_one):
    answer = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "description": "Two\nlines"}
    )
    assert answer.status_code == 200
    # A browser sends the same text back with "\r\n": nothing changed, nothing recorded.
    same = clients["edit"].post_form(
        "/projects/FRAUD/stories/1", {"version": "2", "description": "Two\r\nlines"}
    )
    assert same.status_code == 302
    assert [(field, old, new) for field, old, new, _at, _by in text_rows(db_session)] == [
        ("description", None, "Two\nlines")
    ]
    db_session.expire_all()
    assert clients["edit"].get("/api/v1/stories/FRAUD-1").json["version"] == 2


def test_a_stale_edit_names_the_text_edits_it_missed(clients, story_one):
    first = clients["manage"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "title": "New", "metric": "Recall"}
    )
    assert first.status_code == 200
    stale = clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "points": 5})
    assert stale.status_code == 409
    assert stale.json["error"]["message"].startswith(
        "Maya Okafor renamed this; edited its metric since you opened it (you edited version 1, "
        "it is now version 2)."
    )


def test_a_refused_edit_records_nothing(clients, db_session, story_one):
    stale = clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", {"version": 7, "title": "X"})
    assert stale.status_code == 409
    bad = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "title": "Y", "points": 4}
    )
    assert bad.status_code == 422
    viewer = clients["view"].post_form("/projects/FRAUD/stories/1", {"version": "1", "title": "Z"})
    assert viewer.status_code == 403
    assert db_session.scalar(select(func.count(StoryTextChange.id))) == 0


def test_a_newer_jira_export_records_the_rename(db_session, team):
    run(db_session, team, csv_bytes())
    assert db_session.scalar(select(func.count(StoryTextChange.id))) == 0  # first import: new
    newer = list(ROWS)
    newer[2] = (
        newer[2]
        .replace("Train baseline,", "Train the baseline,")
        .replace("18/Mar/24 8:30 AM", "25/Mar/24 8:30 AM")
    )
    later = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    run(db_session, team, csv_bytes(newer), now=later)
    renamed = imported_story(db_session, team, "FRAUD-3")
    assert renamed.title == "Train the baseline"
    assert text_rows(db_session) == [
        ("title", "Train baseline", "Train the baseline", later, team.manager.id)
    ]


# --- the readable difference -------------------------------------------------------------------


def test_word_diff_marks_insertions_and_deletions_and_escapes_html():
    old = "Train on March data."
    new = "Train on April data. Then <b>check</b>."
    assert str(word_diff(old, new)) == (
        "Train on <del>March</del><ins>April</ins> data.<ins> Then &lt;b&gt;check&lt;/b&gt;.</ins>"
    )
    # Two neighbouring changed words read as one change.
    assert str(word_diff("the quick brown fox", "a slow brown fox")) == (
        "<del>the quick</del><ins>a slow</ins> brown fox"
    )
    assert str(word_diff(None, "a & b")) == "<ins>a &amp; b</ins>"
    assert str(word_diff("gone", None)) == "<del>gone</del>"
    assert str(word_diff("a\r\nb", "a\nb")) == "a\nb"  # line endings alone change nothing
    # Lines stay lines.
    assert (
        str(word_diff("one\ntwo\nthree", "one\n2\nthree"))
        == "one\n<del>two</del><ins>2</ins>\nthree"
    )


def test_word_diff_shortens_long_unchanged_text_around_the_change():
    words = [f"w{n}" for n in range(40)]
    changed = [*words[:20], "NEW", *words[21:]]
    # 12 tokens (6 words with their spaces) of context on each side; the rest is an ellipsis.
    assert str(word_diff(" ".join(words), " ".join(changed))) == (
        '<span class="diff-gap">…</span>w14 w15 w16 w17 w18 w19 <del>w20</del><ins>NEW</ins>'
        ' w21 w22 w23 w24 w25 w26<span class="diff-gap">…</span>'
    )


def test_short_change_reads_from_to():
    assert str(short_change("Old <i>", "New")) == "<del>Old &lt;i&gt;</del> → <ins>New</ins>"
    assert str(short_change(None, "0.9")) == '<span class="faint">–</span> → <ins>0.9</ins>'


# --- the story page and the API ----------------------------------------------------------------


def test_the_story_page_interleaves_text_edits_with_events_by_time(
    clients, db_session, team, story_one
):
    ctx = load_context(db_session, team.project)
    by = team.editor
    update_story(
        db_session, ctx, story_one, {"status": "in_progress"}, by=by, now=t("2026-03-03T09:00")
    )
    update_story(
        db_session,
        ctx,
        story_one,
        {"title": "Renamed <now>", "description": "Train on March data."},
        by=by,
        now=t("2026-03-04T09:00"),
    )
    update_story(
        db_session,
        ctx,
        story_one,
        {"description": "Train on April data. Then <b>check</b>."},
        by=team.manager,
        now=t("2026-03-05T09:00"),
    )
    update_story(db_session, ctx, story_one, {"status": "review"}, by=by, now=t("2026-03-06T09:00"))
    db_session.commit()

    for level in ("edit", "view"):
        page = clients[level].get("/projects/FRAUD/stories/1").get_data(as_text=True)
        history = page[page.index("<h2>History</h2>") :]
        history = history[: history.index("</section>")]
        # Newest first: review (6th), description edit (5th), the 4th's two edits, started (3rd).
        order = [
            history.index("moved this from In progress to Review"),
            history.index("Maya Okafor</strong> edited the description"),
            history.index("Priya Raman</strong> wrote the description"),
            history.index("renamed this"),
            history.index("moved this from To do to In progress"),
        ]
        assert order[0] < order[1] < min(order[2], order[3]) < order[4], level
        assert (
            "Train on <del>March</del><ins>April</ins> data.<ins> Then &lt;b&gt;check&lt;/b&gt;."
            "</ins>" in history
        )
        assert "<del>Original</del> → <ins>Renamed &lt;now&gt;</ins>" in history
        assert "<b>check</b>" not in history and "<now>" not in history


def test_the_history_endpoint_lists_text_changes_apart(clients, db_session, team, story_one):
    ctx = load_context(db_session, team.project)
    update_story(
        db_session,
        ctx,
        story_one,
        {"title": "Renamed", "points": 5},
        by=team.editor,
        now=t("2026-03-04T09:30"),
    )
    db_session.commit()
    body = clients["view"].get("/api/v1/stories/FRAUD-1/history").json
    assert body == {
        "history": [
            {
                "at": "2026-03-04T09:30:00Z",
                "field": "points",
                "from": 3,
                "to": 5,
                "by": "priya@example.com",
            }
        ],
        "text_changes": [
            {
                "at": "2026-03-04T09:30:00Z",
                "field": "title",
                "from": "Original",
                "to": "Renamed",
                "by": "priya@example.com",
            }
        ],
    }
    # The story's own history (GET /stories/KEY) stays the tracked fields only.
    story = clients["view"].get("/api/v1/stories/FRAUD-1").json
    assert [e["field"] for e in story["history"]] == ["points"]
    assert clients["none"].get("/api/v1/stories/FRAUD-1/history").status_code == 404


# --- the charts ---------------------------------------------------------------------------------


def test_text_edits_never_move_a_chart_number(clients, db_session, team):
    """Sprint 1, 2-13 March 2026 (ten working days). S1 (5) and S2 (3) committed; S1 done on the
    3rd; S2 renamed and described during the sprint, S1 re-described after the close."""
    project, by = team.project, team.manager
    sprint = create_sprint(
        db_session, project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    ctx = load_context(db_session, project)
    s1, s2 = (
        factories.story(
            db_session, project, by, title=title, points=points, now=t("2026-02-25T10:00")
        )
        for title, points in (("S1", 5), ("S2", 3))
    )
    move_to_sprint(db_session, ctx, [s1, s2], sprint.id, by=by, now=t("2026-03-02T08:00"))
    start_sprint(db_session, project, sprint, now=t("2026-03-02T09:00"))
    update_story(db_session, ctx, s1, {"status": "done"}, by=by, now=t("2026-03-03T10:00"))
    update_story(
        db_session,
        ctx,
        s2,
        {"title": "S2, renamed", "description": "More words"},
        by=by,
        now=t("2026-03-04T10:00"),
    )
    close_sprint(
        db_session,
        ctx,
        sprint,
        {},
        calendar=calendar_of(db_session, project),
        by=by,
        now=t("2026-03-13T16:00"),
    )
    db_session.commit()

    client = clients["view"]

    def numbers() -> tuple:
        burndown = client.get(f"/api/v1/sprints/{sprint.id}/burndown").json
        velocity = client.get("/api/v1/projects/FRAUD/velocity").json
        first = velocity["sprints"][0]
        return (
            burndown["committed"],
            burndown["remaining"],
            burndown["scope_changes"],
            (first["name"], first["committed"], first["completed"]),
        )

    # Committed 5 + 3 = 8; S1's 5 done on the 3rd leaves 3 for the rest of the sprint; no scope
    # change (a rename is none); velocity: 8 committed, 5 completed.
    expected = (8, [8, 3, 3, 3, 3, 3, 3, 3, 3, 3], [], ("Sprint 1", 8, 5))
    assert numbers() == expected

    # Text edits after the close, through the API: recorded, and the numbers stay as they were.
    for key, version in (("FRAUD-1", s1.version), ("FRAUD-2", s2.version)):
        answer = clients["manage"].api(
            "PATCH",
            f"/api/v1/stories/{key}",
            {"version": version, "title": f"{key} final", "description": "Written up"},
        )
        assert answer.status_code == 200, answer.json
    assert db_session.scalar(select(func.count(StoryTextChange.id))) == 2 + 4
    assert numbers() == expected


def test_a_long_text_diffs_its_changed_middle_only():
    words = [f"w{i}" for i in range(3000)]
    before = " ".join(words)
    after = " ".join([*words[:1500], "inserted", *words[1500:]])
    html = str(word_diff(before, after))
    # One insertion with 6 words (12 tokens, words and spaces) of context on each side; the rest
    # of the 1,500 words before and after is an ellipsis.
    gap = '<span class="diff-gap">…</span>'
    assert html == (
        f"{gap}w1494 w1495 w1496 w1497 w1498 w1499 <ins>inserted </ins>"
        f"w1500 w1501 w1502 w1503 w1504 w1505 {gap}"
    )
    # A rewrite of the whole text beyond the matching budget (3,000 x 3,000 words): shown as
    # removed and added as a whole.
    rewritten = " ".join(f"v{i}" for i in range(3000))
    whole = str(word_diff(before, rewritten))
    assert whole == f"<del>{before}</del><ins>{rewritten}</ins>"
