"""Pages: the projects list, a project's stories by stage, creating and editing stories, settings
and members, with messages next to fields and nothing changed on bad input."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from planner.models import Holiday, Membership, Project, Stage, Story, StoryEvent
from tests import factories


def section(page: str, heading_id: str) -> str:
    """Return the HTML of the stage section whose heading has this id."""
    start = page.index(f'id="{heading_id}"')
    end = page.find('class="card stage-section"', start)
    return page[start : end if end != -1 else len(page)]


def test_projects_list_shows_only_my_projects(app, db_session, clients, team):
    hidden = factories.project(db_session, "SECRET", "Secret project", owner=team.outsider)
    factories.story(db_session, team.project, team.editor, status="done")
    factories.story(db_session, team.project, team.editor)
    factories.story(db_session, hidden, team.outsider)
    db_session.commit()
    page = clients["edit"].get("/").get_data(as_text=True)
    assert "Card fraud detection" in page
    assert "Secret project" not in page
    assert re.search(r"<strong>1</strong>open stories", page)
    assert re.search(r"<strong>2</strong>in all", page)


def test_project_page_groups_stories_by_stage_in_lifecycle_order(db_session, clients, team):
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="Label batch 1",
        stage="data_labeling",
        points=5,
    )
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="Label batch 2",
        stage="data_labeling",
        points=8,
    )
    factories.story(
        db_session, team.project, team.editor, title="Train baseline", stage="modeling", points=3
    )
    factories.story(db_session, team.project, team.editor, title="Upgrade CI runners")
    db_session.commit()
    page = clients["view"].get("/projects/FRAUD").get_data(as_text=True)
    labeling = section(page, "stage-data_labeling")
    assert "Label batch 1" in labeling and "Label batch 2" in labeling
    assert "2 stories · 13 pts" in labeling
    assert "Train baseline" in section(page, "stage-modeling")
    assert "Upgrade CI runners" in section(page, "stage-none")
    headings = re.findall(r'<h2 id="stage-([a-z_]+)"', page)
    assert headings == [
        "problem_framing",
        "data_collection",
        "data_labeling",
        "data_preparation",
        "modeling",
        "evaluation",
        "deployment",
        "monitoring",
        "none",
    ]


def test_quick_create_adds_a_story_at_the_bottom_of_its_stage(db_session, clients, team):
    response = clients["edit"].post_form(
        "/projects/FRAUD",
        {
            "title": "Labeling batch 3: 1,000 transactions",
            "type": "feature",
            "stage": "data_labeling",
            "points": "5",
        },
    )
    assert response.status_code == 302
    story = db_session.scalar(select(Story))
    assert (story.number, story.title, story.points, story.created_by_id) == (
        1,
        "Labeling batch 3: 1,000 transactions",
        5,
        team.editor.id,
    )
    assert db_session.get(Stage, story.stage_id).key == "data_labeling"
    page = clients["edit"].get(response.headers["Location"]).get_data(as_text=True)
    assert "FRAUD-1 created." in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"title": "", "type": "feature"}, "Enter a title."),
        (
            {"title": "x", "type": "feature", "points": "4"},
            "Points are one of 0, 1, 2, 3, 5, 8, 13, 21",
        ),
        (
            {"title": "x", "type": "feature", "stage": "nonsense"},
            "The project has no stage &#39;nonsense&#39;.",
        ),
        ({"title": "x", "type": "saga"}, "Choose a type"),
    ],
)
def test_quick_create_with_bad_input_says_what_and_changes_nothing(
    db_session, clients, team, form, message
):
    response = clients["edit"].post_form("/projects/FRAUD", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="error"' in page
    assert db_session.scalar(select(func.count(Story.id))) == 0
    assert db_session.get(Project, team.project.id).story_counter == 0


def test_full_form_creates_an_experiment_with_its_fields(db_session, clients, team):
    response = clients["edit"].post_form(
        "/projects/FRAUD/stories/new",
        {
            "title": "LightGBM vs logistic regression",
            "type": "experiment",
            "status": "todo",
            "stage": "modeling",
            "role": "data_scientist",
            "points": "8",
            "assignee": str(team.editor.id),
            "sprint": "",
            "epic": "",
            "hypothesis": "Gradient boosting beats the linear baseline",
            "metric": "PR-AUC",
            "target": "+0.05",
            "outcome": "",
            "result": "",
            "description": "Use the **frozen** split.",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/projects/FRAUD/stories/1"
    story = db_session.scalar(select(Story))
    assert (story.type, story.outcome, story.metric, story.assignee_id) == (
        "experiment",
        "pending",
        "PR-AUC",
        team.editor.id,
    )
    page = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "<strong>frozen</strong>" in page  # Markdown rendered


def test_markdown_never_passes_raw_html(db_session, clients, team):
    factories.story(
        db_session,
        team.project,
        team.editor,
        description="<script>alert(1)</script> [x](javascript:alert(1))",
    )
    db_session.commit()
    page = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page


def _edit_form(story: Story, **changes) -> dict:
    form = {
        "title": story.title,
        "type": story.type,
        "status": story.status,
        "points": "" if story.points is None else str(story.points),
        "stage": "",
        "role": "",
        "assignee": "",
        "sprint": "",
        "epic": "",
        "description": "",
        "hypothesis": "",
        "metric": "",
        "target": "",
        "outcome": "",
        "result": "",
        "version": str(story.version),
    }
    form.update(changes)
    return form


def test_editing_a_story_records_history_shown_in_plain_words(db_session, clients, team):
    story = factories.story(db_session, team.project, team.editor, title="Train baseline", points=3)
    db_session.commit()
    response = clients["edit"].post_form(
        "/projects/FRAUD/stories/1", _edit_form(story, status="in_progress", points="5")
    )
    assert response.status_code == 302
    events = db_session.scalars(select(StoryEvent).order_by(StoryEvent.field)).all()
    assert [(e.field, e.from_value, e.to_value) for e in events] == [
        ("points", "3", "5"),
        ("status", "todo", "in_progress"),
    ]
    page = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "<strong>Priya Raman</strong> moved this from To do to In progress" in page
    assert "<strong>Priya Raman</strong> re-estimated this from 3 points to 5 points" in page
    assert "· version" not in page  # the read-only page of a view member (issue 14)
    assert "version 2" in clients["edit"].get("/projects/FRAUD/stories/1").get_data(as_text=True)


def test_a_stale_edit_is_refused_keeps_the_input_and_says_who_changed_it(db_session, clients, team):
    story = factories.story(db_session, team.project, team.editor, title="Train baseline", points=3)
    db_session.commit()
    stale = _edit_form(story)
    first = clients["manage"].post_form(
        "/projects/FRAUD/stories/1", _edit_form(story, status="review")
    )
    assert first.status_code == 302
    response = clients["edit"].post_form(
        "/projects/FRAUD/stories/1", {**stale, "title": "My better title", "status": "done"}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Maya Okafor moved this from To do to Review" in page
    assert 'value="My better title"' in page  # the user's input is kept
    assert 'name="version" type="hidden" value="2"' in page  # saving again is deliberate
    db_session.expire_all()
    again = db_session.get(Story, story.id)
    assert (again.title, again.status, again.version) == ("Train baseline", "review", 2)


def test_saving_an_unrelated_field_keeps_a_closed_sprint_and_archived_stage(
    db_session, clients, team
):
    from datetime import UTC, datetime

    closed = factories.sprint(
        db_session, team.project, "Sprint 0", date(2026, 2, 2), date(2026, 2, 13)
    )
    story = factories.story(
        db_session, team.project, team.editor, stage="monitoring", sprint=closed.id
    )
    # Sprint 0 then ran and closed with the story still in it; the stage was archived later.
    closed.state, closed.started_at = "closed", datetime(2026, 2, 2, 9, tzinfo=UTC)
    closed.closed_at = datetime(2026, 2, 13, 16, tzinfo=UTC)
    db_session.scalar(select(Stage).where(Stage.key == "monitoring")).archived = True
    db_session.commit()
    page = clients["edit"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert f'<option selected value="{closed.id}">Sprint 0 (closed)</option>' in page
    assert (
        '<option selected value="monitoring">Monitoring &amp; maintenance (archived)</option>'
        in page
    )
    response = clients["edit"].post_form(
        "/projects/FRAUD/stories/1",
        _edit_form(story, title="Renamed", sprint=str(closed.id), stage="monitoring"),
    )
    assert response.status_code == 302
    db_session.expire_all()
    again = db_session.get(Story, story.id)
    assert (again.title, again.sprint_id) == ("Renamed", closed.id)
    assert db_session.scalar(select(func.count(StoryEvent.id))) == 0


def test_settings_save_calendar_and_refuse_bad_values_next_to_fields(db_session, clients, team):
    response = clients["manage"].post_form(
        "/projects/FRAUD/settings",
        {
            "name": "Fraud",
            "timezone": "Mars/Olympus",
            "working_days": [],
            "sprint_length_days": "0",
            "slip_tolerance_days": "x",
            "holidays": "2026-12-25\nsoon",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is not a known IANA timezone" in page
    assert "Line 2: &#39;soon&#39; is not a date" in page
    assert "Enter a whole number." in page
    db_session.expire_all()
    assert db_session.get(Project, team.project.id).name == "Card fraud detection"

    response = clients["manage"].post_form(
        "/projects/FRAUD/settings",
        {
            "name": "Fraud",
            "timezone": "Asia/Kolkata",
            "working_days": ["1", "2", "3", "4", "6"],
            "sprint_length_days": "10",
            "slip_tolerance_days": "5",
            "holidays": "2026-12-25\n\n2026-10-02",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    project = db_session.get(Project, team.project.id)
    assert (project.name, project.timezone, project.working_days) == (
        "Fraud",
        "Asia/Kolkata",
        "12346",
    )
    assert (project.sprint_length_days, project.slip_tolerance_days) == (10, 5)
    assert sorted(db_session.scalars(select(Holiday.day))) == [
        date(2026, 10, 2),
        date(2026, 12, 25),
    ]


def test_stages_rename_reorder_archive_and_add(db_session, clients, team):
    client = clients["manage"]
    assert (
        client.post_form(
            "/projects/FRAUD/stages/modeling", {"action": "rename", "name": "Training"}
        ).status_code
        == 302
    )
    assert client.post_form("/projects/FRAUD/stages/modeling", {"action": "up"}).status_code == 302
    assert (
        client.post_form("/projects/FRAUD/stages/monitoring", {"action": "archive"}).status_code
        == 302
    )
    assert (
        client.post_form(
            "/projects/FRAUD/stages", {"stage-key": "safety_review", "stage-name": "Safety review"}
        ).status_code
        == 302
    )
    bad = client.post_form(
        "/projects/FRAUD/stages", {"stage-key": "Bad Key", "stage-name": "x"}, follow_redirects=True
    )
    assert "Stage not added: Use lowercase letters" in bad.get_data(as_text=True)
    stages = db_session.scalars(
        select(Stage).where(Stage.project_id == team.project.id).order_by(Stage.position)
    ).all()
    assert [(s.key, s.name) for s in stages][3:5] == [
        ("modeling", "Training"),
        ("data_preparation", "Data preparation & features"),
    ]
    assert [s.key for s in stages][-1] == "safety_review"
    assert [s.archived for s in stages if s.key == "monitoring"] == [True]


def test_members_can_be_added_changed_and_the_last_manager_stays(db_session, clients, team):
    # Otto works on OPS, which Maya also manages: so Maya may add him to FRAUD.
    ops = factories.project(db_session, "OPS", "Operations", owner=team.manager)
    factories.member(db_session, ops, team.outsider, "view")
    db_session.commit()
    client = clients["manage"]
    response = client.post_form(
        "/projects/FRAUD/members",
        {
            "add-email": "OTTO@example.com",
            "add-access": "edit",
            "add-roles": ["annotator", "domain_expert"],
        },
    )
    assert response.status_code == 302
    membership = db_session.scalar(
        select(Membership)
        .where(Membership.account_id == team.outsider.id, Membership.project_id == team.project.id)
        .options(selectinload(Membership.role_rows))
    )
    assert (membership.access, membership.roles) == ("edit", ["domain_expert", "annotator"])
    unknown = client.post_form(
        "/projects/FRAUD/members", {"add-email": "ghost@example.com", "add-access": "edit"}
    )
    assert unknown.status_code == 422
    assert "You can&#39;t add that address here" in unknown.get_data(as_text=True)
    manager = db_session.scalar(select(Membership).where(Membership.account_id == team.manager.id))
    demoted = client.post_form(
        f"/projects/FRAUD/members/{manager.id}",
        {f"m{manager.id}-access": "view", "action": "update"},
        follow_redirects=True,
    )
    assert "at least one member with manage access" in demoted.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Membership, manager.id).access == "manage"


def test_adding_a_member_does_not_reveal_who_has_an_account(app, db_session, clients, team):
    """An unknown address and an existing account the manager has no link to get the same
    answer; a site admin may add anyone with an account."""
    factories.account(db_session, "stranger@example.com", "Stranger")
    db_session.commit()

    def add(client, email):
        return client.post_form(
            "/projects/FRAUD/members", {"add-email": email, "add-access": "view"}
        )

    ghost = add(clients["manage"], "ghost@example.com")
    stranger = add(clients["manage"], "stranger@example.com")
    assert ghost.status_code == stranger.status_code == 422

    def without_echo(response, email):
        # The form keeps what was typed; everything else must be the same bytes.
        page = response.get_data(as_text=True).replace(email, "EMAIL")
        # The CSRF token is signed with a timestamp (it changes when the two requests straddle a
        # second): mask every one, wherever it stands (meta tag, form fields, sign-out form).
        return re.sub(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}", "TOKEN", page)

    assert without_echo(ghost, "ghost@example.com") == without_echo(
        stranger, "stranger@example.com"
    )
    admin = factories.account(db_session, "root@example.com", "Site Admin", admin=True)
    factories.member(db_session, team.project, admin, "manage")
    db_session.commit()
    from tests.conftest import sign_in

    assert add(sign_in(app, admin), "stranger@example.com").status_code == 302
    page = add(sign_in(app, admin), "ghost@example.com").get_data(as_text=True)
    assert "There is no account for ghost@example.com yet." in page


def test_creating_a_project_makes_me_its_manager(db_session, clients, team):
    response = clients["none"].post_form(
        "/projects/new",
        {
            "key": "nlp",
            "name": "Support ticket triage",
            "timezone": "America/Chicago",
            "working_days": ["1", "2", "3", "4", "5"],
            "sprint_length_days": "14",
            "slip_tolerance_days": "7",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/projects/NLP"
    project = db_session.scalar(select(Project).where(Project.key == "NLP"))
    membership = db_session.scalar(select(Membership).where(Membership.project_id == project.id))
    assert (membership.account_id, membership.access) == (team.outsider.id, "manage")
    assert (
        db_session.scalar(select(func.count(Stage.id)).where(Stage.project_id == project.id)) == 8
    )
    duplicate = clients["none"].post_form(
        "/projects/new",
        {
            "key": "FRAUD",
            "name": "Again",
            "timezone": "UTC",
            "working_days": ["1"],
            "sprint_length_days": "14",
            "slip_tolerance_days": "7",
        },
    )
    assert duplicate.status_code == 422
    assert "A project with the key FRAUD already exists." in duplicate.get_data(as_text=True)


@pytest.mark.parametrize("stories", [3, 60])
def test_project_page_runs_a_bounded_number_of_queries(
    db_session, clients, team, count_queries, stories
):
    sprint = factories.sprint(
        db_session, team.project, "Sprint 1", date(2026, 3, 2), date(2026, 3, 13)
    )
    for i in range(stories):
        factories.story(
            db_session,
            team.project,
            team.editor,
            title=f"Story {i}",
            stage=["modeling", "data_labeling", None][i % 3],
            points=[1, 2, 3][i % 3],
            assignee=team.editor.id,
            sprint=sprint.id if i % 2 else None,
        )
    db_session.commit()
    client = clients["edit"]
    client.get("/projects/FRAUD")  # warm up the session and CSRF
    with count_queries() as counter:
        response = client.get("/projects/FRAUD")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="story-row"') == stories
    # user, access, roles, stages, members (+accounts, +roles), sprints, epics, stories, and the
    # bell's unread count; +4 for the Stories list's labels (choices, chips), total and saved views
    assert counter.count <= 11 + 4, counter.statements


@pytest.mark.parametrize("events", [2, 40])
def test_story_page_runs_a_bounded_number_of_queries(
    db_session, clients, team, count_queries, events
):
    from datetime import UTC, datetime, timedelta

    from planner.domain.context import load_context
    from planner.domain.stories import update_story

    story = factories.story(db_session, team.project, team.editor)
    ctx = load_context(db_session, team.project)
    from planner.domain.board import add_comment

    for i in range(events):
        update_story(
            db_session,
            ctx,
            story,
            {"status": ["in_progress", "todo"][i % 2]},
            by=team.editor,
            now=datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=i),
        )
        add_comment(
            db_session,
            team.project,
            story,
            f"note {i}",
            by=[team.editor, team.manager][i % 2],
            now=datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=i),
        )
    db_session.commit()
    client = clients["edit"]
    client.get("/projects/FRAUD/stories/1")
    with count_queries() as counter:
        response = client.get("/projects/FRAUD/stories/1")
    assert response.get_data(as_text=True).count("<li><strong>Priya Raman</strong>") == events
    assert response.get_data(as_text=True).count('class="comment"') == events
    # the project page's lookups, the story, its events and comments with their authors, its
    # watchers, and the bell's unread count; +1 for its text edits (issue 14); +2 for its
    # dependencies and its checklist (story_parts); +1 for its artefact links (issue 15)
    assert counter.count <= 16 + 1 + 2 + 1, counter.statements


def test_an_absurd_timezone_gets_a_message_not_a_crash(db_session, clients, team):
    response = clients["manage"].post_form(
        "/projects/FRAUD/settings",
        {
            "name": "Fraud",
            "timezone": "x" * 5000,
            "working_days": ["1"],
            "sprint_length_days": "14",
            "slip_tolerance_days": "7",
        },
    )
    assert response.status_code == 422
    assert "is not a known IANA timezone" in response.get_data(as_text=True)


def test_saving_a_story_someone_changed_meanwhile_shows_their_change_and_keeps_mine(
    db_session, clients, team
):
    story = factories.story(db_session, team.project, team.manager, title="Label batch 3")
    db_session.commit()
    fields = {
        "type": "feature",
        "status": "todo",
        "stage": "",
        "role": "",
        "points": "",
        "assignee": "",
        "sprint": "",
        "epic": "",
        "description": "",
        "version": "1",
    }
    url = f"/projects/FRAUD/stories/{story.number}"
    first = clients["manage"].post_form(url, {**fields, "title": "Label batch 3 (hard cases)"})
    assert first.status_code == 302
    second = clients["edit"].post_form(url, {**fields, "title": "Label batch 3, second pass"})
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert 'class="conflict" role="alert"' in page
    assert "Label batch 3 (hard cases)" in page  # their saved change is shown
    assert 'value="Label batch 3, second pass"' in page  # my typing is kept
    assert 'name="version" type="hidden" value="2"' in page  # saving again builds on theirs
    db_session.expire_all()
    assert db_session.get(type(story), story.id).title == "Label batch 3 (hard cases)"
