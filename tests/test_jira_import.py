"""Jira CSV import: the quirks of real exports, every mapped field against hand-written values,
all or nothing, and a second import that changes nothing. Project FRAUD (team fixture): Maya Okafor
manages, Priya Raman edits, Helen Brooks views."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from planner.interchange import ImportRefused
from planner.interchange.jira_csv import parse_jira_datetime, read_jira_csv
from planner.interchange.jira_import import import_jira, round_points
from planner.models import Comment, Epic, Label, Sprint, Story, StoryEvent, story_label
from planner.timeutil import zone
from tests import factories

NOW = datetime(2024, 3, 20, 15, 0, tzinfo=UTC)  # a Wednesday; Europe/Berlin is UTC+1 then

HEADER = (
    "Summary,Issue key,Issue id,Issue Type,Status,Priority,Assignee,Reporter,Created,Updated,"
    "Resolved,Labels,Labels,Description,Custom field (Story point estimate),Sprint,Sprint,"
    "Parent,Status Category,Comment,Comment"
)
ROWS = [
    # An epic.
    "Gold labels,FRAUD-1,10001,Epic,In Progress,Medium,,Maya Okafor,1/Mar/24 9:00 AM,"
    "2/Mar/24 9:00 AM,,,,Everything about labels,,,,,In Progress,,",
    # A done story carried from Sprint 1 to Sprint 2, two labels, a multi-line wiki description
    # with doubled quotes, two comments (one holding a semicolon).
    "Label batch 7,FRAUD-2,10002,Story,Done,High,Priya Raman,Maya Okafor,4/Mar/24 10:15 AM,"
    '15/Mar/24 4:05 PM,15/Mar/24 4:00 PM,gdpr,needs-data,"h2. Goal\r\nLabel the ""hard"" '
    'cases\r\n* first\r\n* second",4,FRAUD Sprint 1,FRAUD Sprint 2,10001,Done,'
    '"5/Mar/24 9:41 AM;Priya Raman;Looks noisy; see batch 7","6/Mar/24 1:00 PM;ghost;ok"',
    # An unfinished story in the current sprint, assigned to someone who is not a member.
    "Train baseline,FRAUD-3,10003,Task,Waiting for data,Low,Tom Unknown,Priya Raman,"
    "11/Mar/24 11:00 AM,18/Mar/24 8:30 AM,,,,,0.5,FRAUD Sprint 2,,10001,In Progress,,",
    # A sub-task of FRAUD-2: it lands in FRAUD-2's epic; a backlog story with 40 points.
    "Check batch 7 twice,FRAUD-4,10004,Sub-task,To Do,Medium,,,12/Mar/24 9:00 AM,"
    "12/Mar/24 9:00 AM,,,,,40,,,10002,To Do,,",
]


def csv_bytes(rows=ROWS, header=HEADER, *, bom=True, newline="\r\n") -> bytes:
    text = newline.join([header, *rows]) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def run(db_session, team, data: bytes, chosen=None, tz="Europe/Berlin", now=NOW):
    jira = read_jira_csv(data, timezone=tz)
    outcome = import_jira(db_session, team.project, jira, chosen, by=team.manager, now=now)
    db_session.commit()
    return outcome


def story(db_session, team, ref: str) -> Story:
    return db_session.scalar(
        select(Story).where(Story.project_id == team.project.id, Story.external_ref == ref)
    )


def counts(db_session) -> tuple[int, ...]:
    return tuple(
        db_session.scalar(select(func.count()).select_from(table))
        for table in (Story, StoryEvent, Epic, Sprint, Comment, Label, story_label)
    )


def test_dates_in_each_style_read_in_the_sites_timezone():
    berlin = zone("Europe/Berlin")
    # 12 Mar 2024 is before Berlin's switch to summer time (31 Mar): UTC+1.
    assert parse_jira_datetime("12/Mar/24 9:41 AM", berlin) == datetime(
        2024, 3, 12, 8, 41, tzinfo=UTC
    )
    assert parse_jira_datetime("3/Apr/24 4:05 PM", berlin) == datetime(
        2024, 4, 3, 14, 5, tzinfo=UTC
    )
    assert parse_jira_datetime("12/Mar/24 12:10 AM", berlin) == datetime(
        2024, 3, 11, 23, 10, tzinfo=UTC
    )
    assert parse_jira_datetime("2024-03-12 09:41", zone("America/New_York")) == datetime(
        2024, 3, 12, 13, 41, tzinfo=UTC
    )
    assert parse_jira_datetime("12.03.2024 09:41", berlin) == datetime(
        2024, 3, 12, 8, 41, tzinfo=UTC
    )
    assert parse_jira_datetime("12/Mär/24 9:41 AM", berlin) == datetime(
        2024, 3, 12, 8, 41, tzinfo=UTC
    )
    assert parse_jira_datetime("31/Feb/24 9:41 AM", berlin) is None
    assert parse_jira_datetime("yesterday", berlin) is None


def test_points_round_up_to_the_scale():
    assert [round_points(v) for v in (0, 0.5, 1, 4, 5, 6, 14, 21, 40)] == [
        0,
        1,
        1,
        5,
        5,
        8,
        21,
        21,
        21,
    ]


def test_every_mapped_field_of_a_cloud_style_file(db_session, team):
    outcome = run(db_session, team, csv_bytes())
    assert (outcome.stories_created, outcome.epics_created) == (3, 1)
    epic = db_session.scalar(select(Epic).where(Epic.external_ref == "FRAUD-1"))
    assert (epic.key, epic.title, epic.description) == (
        "E1",
        "Gold labels",
        "Everything about labels",
    )

    done = story(db_session, team, "FRAUD-2")
    # Same project key and a free number: the story keeps its Jira number.
    assert done.number == 2
    assert done.title == "Label batch 7"
    assert done.type == "feature"
    assert done.status == "done"
    assert done.points == 5  # 4 rounds up
    assert done.assignee_id == team.editor.id
    assert done.created_by_id == team.manager.id
    assert done.epic_id == epic.id
    assert done.created_at == datetime(2024, 3, 4, 9, 15, tzinfo=UTC)
    assert done.description == '## Goal\n\nLabel the "hard" cases\n\n- first\n- second'
    sprint2 = db_session.scalar(select(Sprint).where(Sprint.name == "FRAUD Sprint 2"))
    sprint1 = db_session.scalar(select(Sprint).where(Sprint.name == "FRAUD Sprint 1"))
    assert done.sprint_id == sprint2.id
    labels = db_session.scalars(
        select(Label.name)
        .join(story_label, story_label.c.label_id == Label.id)
        .where(story_label.c.story_id == done.id)
        .order_by(Label.name)
    ).all()
    assert labels == ["gdpr", "needs-data"]
    comments = db_session.scalars(
        select(Comment).where(Comment.story_id == done.id).order_by(Comment.created_at)
    ).all()
    assert [(c.created_at, c.author_id) for c in comments] == [
        (datetime(2024, 3, 5, 8, 41, tzinfo=UTC), team.editor.id),
        (datetime(2024, 3, 6, 12, 0, tzinfo=UTC), None),
    ]
    assert comments[0].body == "Looks noisy; see batch 7"
    assert comments[1].body == "*From Jira, by ghost:*\n\nok"
    events = db_session.scalars(
        select(StoryEvent).where(StoryEvent.story_id == done.id).order_by(StoryEvent.at)
    ).all()
    # Carried from Sprint 1 at its close, then done when Jira says it was resolved.
    assert [(e.field, e.from_value, e.to_value) for e in events] == [
        ("sprint", str(sprint1.id), str(sprint2.id)),
        ("status", "todo", "done"),
    ]
    assert events[0].at == datetime(2024, 3, 14, 23, 59, 59, tzinfo=UTC)
    assert events[1].at == datetime(2024, 3, 15, 15, 0, tzinfo=UTC)
    assert all(e.by_id is None for e in events)

    waiting = story(db_session, team, "FRAUD-3")
    assert (waiting.type, waiting.status, waiting.points) == ("chore", "in_progress", 1)
    assert waiting.assignee_id is None and waiting.epic_id == epic.id
    assert outcome.unassigned == {"Tom Unknown": 1}

    sub = story(db_session, team, "FRAUD-4")
    assert (sub.type, sub.status, sub.points, sub.sprint_id) == ("chore", "todo", 21, None)
    assert sub.epic_id == epic.id  # its parent story's epic

    # Sprint days are the project's (FRAUD keeps UTC), whatever the Jira site's timezone.
    # Sprint 2 holds an unfinished story: it is active, from the day its first story was
    # resolved (Friday 15 Mar, within one sprint length of today), 14 days to Thursday 28 Mar.
    assert (sprint2.state, sprint2.start_date, sprint2.end_date) == (
        "active",
        date(2024, 3, 15),
        date(2024, 3, 28),
    )
    assert sprint2.started_at == datetime(2024, 3, 15, 0, 0, tzinfo=UTC)
    # Sprint 1 closed the day before, lasting 14 days; none of its stories ended in it.
    assert (sprint1.state, sprint1.start_date, sprint1.end_date) == (
        "closed",
        date(2024, 3, 1),
        date(2024, 3, 14),
    )
    # Closed a second before Sprint 2 began: the story carried over is in its commitment.
    assert sprint1.closed_at == datetime(2024, 3, 14, 23, 59, 59, tzinfo=UTC)
    assert sprint1.imported_at == NOW and sprint2.imported_at == NOW
    assert [(key, was, now) for key, _row, was, now in outcome.rounded] == [
        ("FRAUD-2", "4", 5),
        ("FRAUD-3", "0.5", 1),
        ("FRAUD-4", "40", 21),
    ]
    assert [(p.row, p.column) for p in outcome.problems] == [
        (5, "Custom field (Story point estimate)")
    ]


def test_the_same_file_again_changes_nothing(db_session, team):
    run(db_session, team, csv_bytes())
    before = counts(db_session)
    versions = dict(db_session.execute(select(Story.external_ref, Story.version)).all())
    # Work goes on in planner in between: the re-import must not undo it.
    moved = story(db_session, team, "FRAUD-3")
    from planner.domain.context import load_context
    from planner.domain.stories import update_story

    update_story(
        db_session,
        load_context(db_session, team.project),
        moved,
        {"status": "review"},
        by=team.editor,
        now=NOW,
    )
    db_session.commit()
    outcome = run(db_session, team, csv_bytes(), now=datetime(2026, 11, 21, tzinfo=UTC))
    assert not outcome.changed
    assert (outcome.stories_created, outcome.stories_updated, outcome.stories_unchanged) == (
        0,
        0,
        3,
    )
    assert counts(db_session)[0] == before[0]
    assert counts(db_session)[1] == before[1] + 1  # only the team's own move
    assert counts(db_session)[2:] == before[2:]
    assert story(db_session, team, "FRAUD-3").status == "review"
    assert story(db_session, team, "FRAUD-2").version == versions["FRAUD-2"]


def test_a_newer_export_changes_what_changed_with_history(db_session, team):
    run(db_session, team, csv_bytes())
    newer = list(ROWS)
    newer[2] = (
        "Train the baseline,FRAUD-3,10003,Task,Done,Low,Maya Okafor,Priya Raman,"
        "11/Mar/24 11:00 AM,25/Mar/24 8:30 AM,25/Mar/24 8:00 AM,,,,3,FRAUD Sprint 2,,10001,Done,"
        '"24/Mar/24 5:00 PM;Maya Okafor;Done, finally",'
    )
    later = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    outcome = run(db_session, team, csv_bytes(newer), now=later)
    assert (outcome.stories_updated, outcome.stories_unchanged, outcome.comments_added) == (1, 2, 1)
    updated = story(db_session, team, "FRAUD-3")
    assert (updated.title, updated.status, updated.points, updated.assignee_id) == (
        "Train the baseline",
        "done",
        3,
        team.manager.id,
    )
    events = db_session.scalars(
        select(StoryEvent)
        .where(StoryEvent.story_id == updated.id, StoryEvent.at == later)
        .order_by(StoryEvent.field)
    ).all()
    assert [(e.field, e.from_value, e.to_value, e.by_id) for e in events] == [
        ("assignee", None, str(team.manager.id), team.manager.id),
        ("points", "1", "3", team.manager.id),
        ("status", "in_progress", "done", team.manager.id),
    ]


def test_quirks_bom_crlf_multiline_repeated_columns_and_extra_cells(db_session, team):
    header = "Summary,Issue key,Issue Type,Status,Labels,Labels,Comment,Comment"
    rows = [
        'Multi,FRAUD-7,Story,To Do,a,b,"1/Mar/24 9:00 AM;x;line one\nline ""two""",'
        '"2/Mar/24 9:00 AM;y;second",3/Mar/24 9:00 AM;z;third,,',
        "Short,FRAUD-8,Story,To Do,,,",
    ]
    jira = read_jira_csv(csv_bytes(rows, header), timezone="UTC")
    multi, short = jira.issues
    assert multi.labels == ["a", "b"]
    # The extra cell after the last (repeated) Comment column is one more comment.
    assert [c.body for c in multi.comments] == ['line one\nline "two"', "second", "third"]
    assert short.labels == [] and short.comments == []
    assert jira.problems == []


def test_extra_cells_after_a_single_column_are_reported(db_session, team):
    jira = read_jira_csv(
        csv_bytes(["Extra,FRAUD-9,Story,To Do,surprise"], "Summary,Issue key,Issue Type,Status"),
        timezone="UTC",
    )
    assert [(p.row, p.column) for p in jira.problems] == [(2, "column 5")]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("Summary,Issue key\nCaf\xe9,X-1\n".encode("latin-1"), "not UTF-8"),
        (b'{"format": "planner-export"}', "no “Summary”"),
        (b"Title,Key\nA,FRAUD-1\n", "not a Jira CSV export"),
        (b"Summary,Issue key\n", "no issues"),
        (b'Summary,Issue key\n"unclosed,FRAUD-1\n', "not a well-formed CSV"),
    ],
)
def test_files_that_are_not_jira_csv_are_refused_and_change_nothing(db_session, team, data, says):
    before = counts(db_session)
    with pytest.raises(ImportRefused) as refused:
        read_jira_csv(data, timezone="UTC")
    assert says in refused.value.problems[0].message
    assert counts(db_session) == before


def test_the_open_sprint_runs_through_the_day_of_the_import(db_session, team):
    """Imported on Sunday 7 Apr 2024: Sprint 2 may begin no earlier than 14 days before (Monday
    25 Mar); 14 days from then end on Sunday, a rest day, so its last working day is Friday 5 Apr,
    before today. It is moved to end today: 27 Mar to 7 Apr, still 12 days."""
    run(db_session, team, csv_bytes(), now=datetime(2024, 4, 7, 10, 0, tzinfo=UTC))
    sprint2 = db_session.scalar(select(Sprint).where(Sprint.name == "FRAUD Sprint 2"))
    assert (sprint2.state, sprint2.start_date, sprint2.end_date) == (
        "active",
        date(2024, 3, 27),
        date(2024, 4, 7),
    )


def test_the_export_format_refuses_two_stories_from_one_jira_issue():
    from planner.interchange.validate import check_document
    from tests.samples import full_document

    document = full_document()
    document["stories"][0]["imported_from"] = "JIRA-1"
    document["stories"][1]["imported_from"] = "JIRA-1"
    plan, problems = check_document(document, existing_project_keys=set())
    assert plan is None
    assert [(p.path, p.message) for p in problems] == [
        ("$.stories[1].imported_from", "two stories were imported from JIRA-1"),
    ]
    document["stories"][1]["imported_from"] = "JIRA-2"
    document["stories"][1]["labels"] = ["ok", "x" * 61]
    plan, problems = check_document(document, existing_project_keys=set())
    assert [(p.path, p.message) for p in problems] == [
        ("$.stories[1].labels[1]", "Keep it to 60 characters (it has 61)."),
    ]


def test_dates_after_the_import_are_taken_as_its_moment(db_session, team):
    header = "Summary,Issue key,Issue Type,Status,Created,Resolved"
    rows = ["From the future,FRAUD-20,Story,Done,1/Mar/24 9:00 AM,1/Jan/99 9:00 AM"]
    outcome = run(db_session, team, csv_bytes(rows, header), tz="UTC")
    assert [(p.row, p.column) for p in outcome.problems] == [(2, "Resolved")]
    done = db_session.scalar(
        select(StoryEvent).where(StoryEvent.field == "status", StoryEvent.to_value == "done")
    )
    assert done.at == NOW


def test_status_and_type_choices_match_in_any_case_and_spacing(db_session, team):
    from planner.domain.context import load_context
    from planner.interchange.jira_import import propose

    header = "Summary,Issue key,Issue Type,Status"
    jira = read_jira_csv(csv_bytes(["A,FRAUD-1,Story,Straße  Frei"], header), timezone="UTC")
    chosen = {"statuses": {"strasse frei": "review"}, "types": {"STORY": "bug"}}
    ctx = load_context(db_session, team.project)
    proposal = propose(
        jira, ctx, {k: {key.casefold(): v for key, v in d.items()} for k, d in chosen.items()}
    )
    assert [(c.name, c.status, c.how) for c in proposal.statuses] == [
        ("Straße Frei", "review", "chosen")
    ]
    assert [(c.name, c.type) for c in proposal.types] == [("Story", "bug")]


# --- what a review found: re-imports never revert the team's work, and nothing breaks --------


def test_sprints_near_the_start_of_the_date_window_stay_valid(db_session, team):
    header = "Summary,Issue key,Issue Type,Status,Resolved,Sprint,Sprint"
    rows = ["A,FRAUD-1,Story,Done,2000-01-01 05:00,S1,S2"]
    run(db_session, team, csv_bytes(rows, header), tz="UTC")
    sprints = db_session.execute(select(Sprint.name, Sprint.start_date, Sprint.end_date)).all()
    assert sorted(sprints) == [
        ("S1", date(2000, 1, 1), date(2000, 1, 1)),
        ("S2", date(2000, 1, 1), date(2000, 1, 1)),
    ]


def test_open_sprints_that_would_run_past_2099_refuse_the_import(db_session, team):
    team.project.sprint_length_days = 56
    db_session.commit()
    names = [f"Z{n}" for n in range(500)]
    header = "Summary,Issue key,Issue Type,Status" + ",Sprint" * 501
    rows = ["Open,FRAUD-1,Story,To Do,A", "Done,FRAUD-2,Story,To Do," + ",".join(["A", *names])]
    with pytest.raises(ImportRefused) as refused:
        run(db_session, team, csv_bytes(rows, header), tz="UTC")
    assert "would run past 2099-12-31" in refused.value.problems[0].message


def edit(db_session, team, ref: str, **changes):
    from planner.domain.context import load_context
    from planner.domain.stories import update_story

    target = story(db_session, team, ref)
    ctx = load_context(db_session, team.project)
    update_story(db_session, ctx, target, changes, by=team.editor, now=NOW)
    db_session.commit()


def test_the_same_file_without_updated_keeps_the_teams_changes(db_session, team):
    header = "Summary,Issue key,Issue Type,Status,Custom field (Story Points)"
    data = csv_bytes(["A,FRAUD-2,Story,To Do,3"], header)
    run(db_session, team, data, tz="UTC")
    edit(db_session, team, "FRAUD-2", status="in_progress", title="A, renamed", points=5)
    outcome = run(db_session, team, data, tz="UTC", now=datetime(2024, 3, 21, tzinfo=UTC))
    assert (outcome.stories_updated, outcome.stories_unchanged) == (0, 1)
    kept = story(db_session, team, "FRAUD-2")
    assert (kept.status, kept.title, kept.points) == ("in_progress", "A, renamed", 5)


def test_a_newer_export_changes_only_what_jira_changed(db_session, team):
    header = "Summary,Issue key,Issue Type,Status,Updated,Assignee,Custom field (Story Points)"
    run(db_session, team, csv_bytes(["A,FRAUD-2,Story,To Do,1/Mar/24 9:00 AM,,3"], header))
    edit(db_session, team, "FRAUD-2", status="in_progress", assignee=team.editor.id, points=5)
    newer = csv_bytes(["A renamed,FRAUD-2,Story,To Do,2/Mar/24 9:00 AM,,3"], header)
    outcome = run(db_session, team, newer, now=datetime(2024, 3, 21, tzinfo=UTC))
    assert outcome.stories_updated == 1
    changed = story(db_session, team, "FRAUD-2")
    assert (changed.title, changed.status, changed.assignee_id, changed.points) == (
        "A renamed",
        "in_progress",
        team.editor.id,
        5,
    )


def test_a_rename_of_an_epic_or_a_sprint_in_planner_survives_the_same_file(db_session, team):
    data = csv_bytes()
    run(db_session, team, data)
    epic = db_session.scalar(select(Epic).where(Epic.external_ref == "FRAUD-1"))
    epic.title = "Gold labels (renamed in planner)"
    sprint1 = db_session.scalar(select(Sprint).where(Sprint.name == "FRAUD Sprint 1"))
    sprint1.name = "Sprint 1"
    db_session.commit()
    before = counts(db_session)
    outcome = run(db_session, team, data, now=datetime(2024, 3, 21, tzinfo=UTC))
    assert not outcome.changed
    assert counts(db_session) == before
    assert epic.title == "Gold labels (renamed in planner)"


def test_comments_are_added_once_whatever_their_date_or_author_mapping(db_session, team):
    header = "Summary,Issue key,Issue Type,Status,Updated,Comment,Comment"
    rows = ['A,FRAUD-2,Story,To Do,1/Mar/24 9:00 AM,"1/Mar/30 1:00 AM;someone;later",x;Sam New;hi']
    for _ in range(2):
        run(db_session, team, csv_bytes(rows, header))
    sam = factories.account(db_session, "sam@example.com", "Sam New")
    factories.member(db_session, team.project, sam, "edit")
    db_session.commit()
    rows = [rows[0].replace("1/Mar/24", "2/Mar/24")]  # a newer export, Sam now a member
    run(db_session, team, csv_bytes(rows, header), now=datetime(2024, 3, 22, tzinfo=UTC))
    assert db_session.scalar(select(func.count(Comment.id))) == 2


def test_a_newer_export_can_bring_the_epic_of_a_story(db_session, team):
    header = "Summary,Issue key,Issue Type,Status,Updated,Parent"
    run(db_session, team, csv_bytes(["A,FRAUD-2,Story,To Do,1/Mar/24 9:00 AM,"], header))
    rows = [
        "Ep,FRAUD-1,Epic,To Do,2/Mar/24 9:00 AM,",
        "A renamed,FRAUD-2,Story,Done,2/Mar/24 9:00 AM,FRAUD-1",
    ]
    outcome = run(db_session, team, csv_bytes(rows, header), now=datetime(2024, 3, 21, tzinfo=UTC))
    assert (outcome.epics_created, outcome.stories_updated, outcome.problems) == (1, 1, [])
    changed = story(db_session, team, "FRAUD-2")
    epic = db_session.scalar(select(Epic).where(Epic.external_ref == "FRAUD-1"))
    assert (changed.title, changed.status, changed.epic_id) == ("A renamed", "done", epic.id)


def test_new_stories_never_change_a_sprint_the_project_already_had(db_session, team):
    closed = factories.sprint(
        db_session,
        team.project,
        "Sprint 1",
        date(2024, 3, 4),
        date(2024, 3, 15),
        state="closed",
        started_at=datetime(2024, 3, 4, 9, tzinfo=UTC),
        closed_at=datetime(2024, 3, 15, 17, tzinfo=UTC),
    )
    active = factories.sprint(
        db_session,
        team.project,
        "Sprint 2",
        date(2024, 3, 18),
        date(2024, 3, 29),
        state="active",
        started_at=datetime(2024, 3, 18, 9, tzinfo=UTC),
    )
    db_session.commit()
    header = (
        "Summary,Issue key,Issue Type,Status,Created,Resolved,Sprint,Custom field (Story Points)"
    )
    rows = [
        "Old,FRAUD-9,Story,Done,1/Mar/24 9:00 AM,10/Mar/24 9:00 AM,Sprint 1,8",
        "Now,FRAUD-10,Story,To Do,1/Mar/24 9:00 AM,,Sprint 2,5",
    ]
    outcome = run(db_session, team, csv_bytes(rows, header), tz="UTC")
    old, current = story(db_session, team, "FRAUD-9"), story(db_session, team, "FRAUD-10")
    assert old.sprint_id is None  # not into the closed sprint: its chart stays as it was
    assert [(p.row, p.column) for p in outcome.problems] == [(2, "Sprint")]
    assert current.sprint_id == active.id
    moves = db_session.scalars(
        select(StoryEvent).where(StoryEvent.story_id == current.id, StoryEvent.field == "sprint")
    ).all()
    # In the backlog until the import moved it into the running sprint: a scope change at NOW.
    assert [(e.from_value, e.to_value, e.at) for e in moves] == [(None, str(active.id), NOW)]
    assert closed.state == "closed"


def test_cut_values_are_reported(db_session, team):
    long_sprint = "Q" * 85
    header = "Summary,Issue key,Issue Type,Status,Sprint,Labels,Labels"
    rows = [f'A,FRAUD-2,Story,{"S" * 70},{long_sprint},{"l" * 65},"a,b"']
    jira = read_jira_csv(csv_bytes(rows, header), timezone="UTC")
    assert [(p.row, p.column) for p in jira.problems] == [
        (2, "Status"),
        (2, "Sprint"),
        (2, "Labels"),
        (2, "Labels"),
    ]
    (issue,) = jira.issues
    assert (len(issue.status), issue.sprints, issue.labels) == (60, ["Q" * 80], ["l" * 60, "a b"])


def test_stories_carried_into_the_active_sprint_are_in_its_commitment(db_session, team):
    """FRAUD-2 (4 points, rounded to 5) was carried from Sprint 1 and FRAUD-3 (0.5, rounded to 1)
    was in Sprint 2 from its creation: both are in Sprint 2's commitment at its start, 6 points,
    none done. FRAUD-2 was created after Sprint 1 began (4 Mar): added after the start there, and
    still in it, unfinished, at its close."""
    from planner.domain.history import load_series

    run(db_session, team, csv_bytes())
    sprint1 = db_session.scalar(select(Sprint).where(Sprint.name == "FRAUD Sprint 1"))
    sprint2 = db_session.scalar(select(Sprint).where(Sprint.name == "FRAUD Sprint 2"))
    series = load_series(db_session, team.project, [sprint1, sprint2], now=NOW)
    two, one = series[sprint2.id].committed, series[sprint1.id]
    assert (two.scope_points, two.done_points) == (6, 0)
    assert (one.committed.scope_points, one.final.scope_points, one.final.done_points) == (0, 5, 0)
