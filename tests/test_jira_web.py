"""Moving in from the web and the command line: upload, preview (nothing written), mapping changes,
import all or nothing; a new project from a Jira file; the export download and the site admin's
import of it; who may do what; 5,000 issues at once."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from planner.interchange.jira_csv import read_jira_csv
from planner.interchange.jira_import import import_jira
from planner.models import (
    Comment,
    Epic,
    Label,
    Membership,
    PendingImport,
    Project,
    Sprint,
    Story,
    StoryEvent,
    story_label,
)
from planner.timeutil import utcnow
from tests import factories
from tests.conftest import sign_in

FIXTURE = Path(__file__).parent / "fixtures" / "jira" / "cloud.csv"


def counts(db_session) -> tuple[int, ...]:
    db_session.expire_all()
    return tuple(
        db_session.scalar(select(func.count()).select_from(t))
        for t in (Project, Story, StoryEvent, Epic, Sprint, Comment)
    )


def upload(client, url: str, data: bytes, filename: str = "jira.csv", **fields):
    return client.post(
        url,
        data={"file": (io.BytesIO(data), filename), **fields},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": client.csrf_token()},
    )


def form_post(client, url: str, **fields):
    return client.post(url, data={"csrf_token": client.csrf_token(), **fields})


def test_upload_preview_then_import(db_session, team, clients):
    manager = clients["manage"]
    before = counts(db_session)
    answer = upload(
        manager,
        "/projects/FRAUD/import",
        FIXTURE.read_bytes(),
        "cloud.csv",
        timezone="Europe/Berlin",
    )
    assert answer.status_code == 302
    preview_url = answer.headers["Location"]
    assert re.fullmatch(r"/projects/FRAUD/import/[\w-]{43}", preview_url)

    page = manager.get(preview_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Counts from the hand-written expectations (tests/fixtures/jira/cloud.expected.json).
    assert re.search(r"<strong>12</strong><span class=\"small muted\">new stories", html)
    assert re.search(r"<strong>2</strong><span class=\"small muted\">new epics", html)
    assert "Waiting for data" in html and "from its category" in html
    assert "Tom Okafor" in html and "not matched" in html
    assert counts(db_session) == before  # a preview writes nothing

    # The manager maps "In Review" to In progress instead of Review, then imports.
    answer = form_post(
        manager, preview_url, action="refresh", **{"status:in review": "in_progress"}
    )
    assert answer.status_code == 302
    html = manager.get(preview_url).get_data(as_text=True)
    assert "your choice" in html
    answer = form_post(manager, preview_url, action="import", **{"status:in review": "in_progress"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/projects/FRAUD/backlog"
    db_session.expire_all()
    assert db_session.scalar(select(func.count(Story.id))) == 12
    assert db_session.scalar(select(func.count(Story.id)).where(Story.status == "review")) == 0
    assert db_session.scalar(select(func.count(PendingImport.id))) == 0
    backlog = manager.get("/projects/FRAUD/backlog").get_data(as_text=True)
    assert "Stories: 12 new, 0 changed, 0 unchanged." in backlog
    # The story page says where it came from; the API lists it like any other.
    story = db_session.scalar(select(Story).where(Story.external_ref == "FRAUD-14"))
    page = manager.get(f"/projects/FRAUD/stories/{story.number}").get_data(as_text=True)
    assert 'Imported from Jira <span class="mono">FRAUD-14</span>' in page
    listed = manager.get("/api/v1/projects/FRAUD/stories?limit=100").get_json()["stories"]
    fraud14 = next(s for s in listed if s["imported_from"] == "FRAUD-14")
    assert (fraud14["title"], fraud14["status"], fraud14["points"], fraud14["sprint_name"]) == (
        "Rotate feature-store credentials and move them to Vault",
        "done",
        13,
        "FRAUD Sprint 2",
    )


def test_a_jira_key_finds_its_story_in_another_project_key(db_session, team, clients):
    """Imported into ML, FRAUD-12 becomes an ML story; searching for FRAUD-12 still finds it."""
    factories.project(db_session, "ML", "Models", owner=team.manager)
    db_session.commit()
    answer = upload(
        clients["manage"], "/projects/ML/import", FIXTURE.read_bytes(), timezone="Europe/Berlin"
    )
    form_post(clients["manage"], answer.headers["Location"], action="import")
    found = clients["manage"].get("/api/v1/projects/ML/stories?q=fraud-12").get_json()["stories"]
    assert [(s["imported_from"], s["title"]) for s in found] == [
        ("FRAUD-12", "Export batch 7 disagreements for review")
    ]
    page = clients["manage"].get("/projects/ML/backlog?q=FRAUD-12").get_data(as_text=True)
    assert "Export batch 7 disagreements for review" in page


def test_the_same_file_twice_through_the_web_changes_nothing(db_session, team, clients):
    manager = clients["manage"]
    for _ in range(2):
        answer = upload(
            manager, "/projects/FRAUD/import", FIXTURE.read_bytes(), timezone="Europe/Berlin"
        )
        preview = answer.headers["Location"]
        if _ == 1:
            html = manager.get(preview).get_data(as_text=True)
            assert "Nothing would change" in html
            before = counts(db_session)
        form_post(manager, preview, action="import")
    assert counts(db_session) == before


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x00\x01\x02binary", "this is not a CSV file"),
        (b'{"format": "planner-export", "version": 1}', "this is not a Jira CSV export"),
        (b"", "Choose the file to import."),
    ],
)
def test_a_bad_file_is_refused_on_the_form_and_nothing_is_kept(
    db_session, team, clients, data, says
):
    before = counts(db_session)
    if data:
        answer = upload(clients["manage"], "/projects/FRAUD/import", data, timezone="UTC")
    else:
        answer = form_post(clients["manage"], "/projects/FRAUD/import", timezone="UTC")
    assert answer.status_code == 422
    assert says in answer.get_data(as_text=True)
    assert counts(db_session) == before
    assert db_session.scalar(select(func.count(PendingImport.id))) == 0


def test_an_upload_over_the_import_limit_answers_413_naming_it(db_session, team, clients):
    """A Jira CSV may be 20 MB (more than the 2 MB of other requests), not 21."""
    too_big = b"Summary,Issue key\r\n" + b"x" * (21 * 1024 * 1024)
    answer = upload(clients["manage"], "/projects/FRAUD/import", too_big, timezone="UTC")
    assert answer.status_code == 413
    assert "larger than 20 MB, the most planner takes here" in answer.get_data(as_text=True)
    assert db_session.scalar(select(func.count(PendingImport.id))) == 0


def test_a_bad_timezone_is_named(db_session, team, clients):
    answer = upload(
        clients["manage"], "/projects/FRAUD/import", FIXTURE.read_bytes(), timezone="Mars/Olympus"
    )
    assert answer.status_code == 422
    assert "“Mars/Olympus” is not an IANA timezone" in answer.get_data(as_text=True)


def test_who_may_import(db_session, team, clients, app):
    for level, code in (("edit", 403), ("view", 403), ("none", 404)):
        assert clients[level].get("/projects/FRAUD/import").status_code == code, level
        answer = upload(
            clients[level], "/projects/FRAUD/import", FIXTURE.read_bytes(), timezone="UTC"
        )
        assert answer.status_code == code, level
        assert clients[level].get("/projects/FRAUD/export.json").status_code == code, level
    # A preview belongs to the one who uploaded it.
    preview = upload(
        clients["manage"], "/projects/FRAUD/import", FIXTURE.read_bytes(), timezone="UTC"
    ).headers["Location"]
    other = factories.account(db_session, "second@example.com", "Second Manager")
    factories.member(db_session, team.project, other, "manage")
    db_session.commit()
    assert sign_in(app, other).get(preview).status_code == 404
    # Without the CSRF token nothing is imported.
    assert clients["manage"].post(preview, data={"action": "import"}).status_code in (400, 302)
    assert db_session.scalar(select(func.count(Story.id))) == 0


def test_a_new_project_from_a_jira_file(db_session, team, clients):
    data = (Path(__file__).parent / "fixtures" / "jira" / "datacenter.csv").read_bytes()
    answer = upload(
        clients["edit"],
        "/projects/import/jira",
        data,
        key="CHURN",
        name="Churn",
        timezone="America/New_York",
    )
    assert answer.status_code == 302, re.findall(
        r"class=\"error\">[^<]*", answer.get_data(as_text=True)
    )
    preview = answer.headers["Location"]
    html = clients["edit"].get(preview).get_data(as_text=True)
    assert "a new project, “Churn”" in html
    assert db_session.scalar(select(func.count(Project.id)).where(Project.key == "CHURN")) == 0
    answer = form_post(clients["edit"], preview, action="import")
    assert answer.headers["Location"] == "/projects/CHURN/backlog"
    db_session.expire_all()
    project = db_session.scalar(select(Project).where(Project.key == "CHURN"))
    assert (project.name, project.timezone) == ("Churn", "America/New_York")
    access = db_session.scalar(
        select(Membership.access).where(
            Membership.project_id == project.id, Membership.account_id == team.editor.id
        )
    )
    assert access == "manage"
    # Stories keep their Jira numbers when the key is the same: CHURN-3 is CHURN-3.
    churn3 = db_session.scalar(
        select(Story).where(Story.project_id == project.id, Story.external_ref == "CHURN-3")
    )
    assert churn3.number == 3


def test_a_taken_key_for_a_new_project_is_refused(db_session, team, clients):
    answer = upload(
        clients["manage"],
        "/projects/import/jira",
        FIXTURE.read_bytes(),
        key="FRAUD",
        name="Again",
        timezone="UTC",
    )
    assert answer.status_code == 422
    assert "There is already a project FRAUD" in answer.get_data(as_text=True)


def test_export_download_and_the_admins_import_of_it(db_session, team, clients, app):
    upload(
        clients["manage"], "/projects/FRAUD/import", FIXTURE.read_bytes(), timezone="Europe/Berlin"
    )
    preview = db_session.scalar(select(PendingImport.token))
    form_post(clients["manage"], f"/projects/FRAUD/import/{preview}", action="import")
    answer = clients["manage"].get("/projects/FRAUD/export.json")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    document = json.loads(answer.get_data(as_text=True))
    assert document["format"] == "planner-export" and len(document["stories"]) == 12

    # A site admin creates a project from it (under another key, as FRAUD exists here).
    document["project"]["key"] = "FRAUD2"
    for item in document["stories"]:
        item["key"] = item["key"].replace("FRAUD-", "FRAUD2-")
    body = json.dumps(document).encode()
    assert upload(clients["manage"], "/admin/import", body, "fraud.json").status_code == 403
    admin = factories.account(db_session, "root@example.com", "Site Admin", admin=True)
    db_session.commit()
    root = sign_in(app, admin)
    answer = upload(root, "/admin/import", body, "fraud.json")
    assert answer.status_code == 302
    preview = answer.headers["Location"]
    html = root.get(preview).get_data(as_text=True)
    assert "Project FRAUD2" in html and "<strong>12</strong>" in html, re.findall(
        r"<td class=\"mono small\">[^<]*</td><td>[^<]*", html
    )[:5]
    answer = form_post(root, preview, action="import")
    assert answer.headers["Location"] == "/projects/FRAUD2"
    db_session.expire_all()
    fraud2 = db_session.scalar(select(Project).where(Project.key == "FRAUD2"))
    assert (
        db_session.scalar(select(func.count(Story.id)).where(Story.project_id == fraud2.id)) == 12
    )
    # Labels and the Jira references travel with the export: FRAUD-14 (infra, security) is
    # FRAUD2-14, and the Jira file imported into FRAUD2 finds every story already there.
    fraud14 = db_session.scalar(
        select(Story).where(Story.project_id == fraud2.id, Story.external_ref == "FRAUD-14")
    )
    assert fraud14.number == 14
    assert '"title": "Rotate feature-store credentials' in fraud14.external_snapshot
    names = db_session.scalars(
        select(Label.name)
        .join(story_label, story_label.c.label_id == Label.id)
        .where(story_label.c.story_id == fraud14.id)
        .order_by(Label.name)
    ).all()
    assert names == ["infra", "security"]
    jira = read_jira_csv(FIXTURE.read_bytes(), timezone="Europe/Berlin")
    again = import_jira(db_session, fraud2, jira, by=admin, now=utcnow())
    assert (again.stories_created, again.stories_unchanged, again.epics_created) == (0, 12, 0)
    db_session.rollback()

    # The same file again: FRAUD2 exists now, so the preview lists the problem and offers no import.
    answer = upload(root, "/admin/import", body, "fraud.json")
    page = root.get(answer.headers["Location"])
    assert page.status_code == 422
    assert "FRAUD2" in page.get_data(as_text=True) and "Create project" not in page.get_data(
        as_text=True
    )


FILLER = (
    "Relabel the disputed transactions of the week, compare the new labels with the old ones, "
    "and write down every case where the reviewers disagree, with the reason they gave. " * 3
).strip()


def five_thousand_rows() -> bytes:
    lines = [
        "Summary,Issue key,Issue Type,Status,Created,Updated,Resolved,"
        "Custom field (Story Points),Sprint,Labels,Description"
    ]
    for n in range(1, 5001):
        status = ("To Do", "In Progress", "Done")[n % 3]
        resolved = "14/Mar/24 5:00 PM" if status == "Done" else ""
        sprint = f"BIG Sprint {1 + n % 5}" if n % 4 else ""
        lines.append(
            f"Story {n},BIG-{n},Story,{status},1/Mar/24 9:00 AM,14/Mar/24 5:00 PM,{resolved},"
            f"{n % 9},{sprint},l{n % 7},"
            f'"h2. Story {n}\r\nA *bold* line with ""quotes"" and '
            f'a [link|https://example.com/{n}]\r\n{FILLER}"'
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def test_five_thousand_issues_through_the_cli(runner, db_session, team, tmp_path):
    project = factories.project(db_session, "BIG", "Big backlog", owner=team.manager)
    db_session.commit()
    source = tmp_path / "big.csv"
    data = five_thousand_rows()
    source.write_bytes(data)
    assert len(data) > 2 * 1024 * 1024  # larger than any other request planner takes
    result = runner.invoke(args=["import", str(source), "--project", "BIG", "--timezone", "UTC"])
    assert result.exit_code == 0, result.output
    assert "Stories: 5000 new, 0 changed, 0 unchanged." in result.output
    assert "Importing 5,000 issues" in result.output  # the progress bar
    db_session.expire_all()
    assert (
        db_session.scalar(select(func.count(Story.id)).where(Story.project_id == project.id))
        == 5000
    )
    # 1 + n % 5 for n not divisible by 4: five sprints; Sprint 1..5 each hold a fifth.
    assert (
        db_session.scalar(select(func.count(Sprint.id)).where(Sprint.project_id == project.id)) == 5
    )
    story = db_session.scalar(
        select(Story).where(Story.project_id == project.id, Story.number == 4999)
    )
    # n = 4999: 4999 % 3 = 1 (In Progress), 4999 % 9 = 4 points -> 5, sprint 1 + 4999 % 5 = 5.
    assert (story.status, story.points, story.title) == ("in_progress", 5, "Story 4999")
    assert story.description == (
        '## Story 4999\n\nA **bold** line with "quotes" and a [link](https://example.com/4999)\n'
        + FILLER
    )
    again = runner.invoke(args=["import", str(source), "--project", "BIG", "--timezone", "UTC"])
    assert "Stories: 0 new, 0 changed, 5000 unchanged." in again.output


def test_five_thousand_issues_through_the_web(db_session, team, clients):
    project = factories.project(db_session, "BIG", "Big backlog", owner=team.manager)
    db_session.commit()
    answer = upload(clients["manage"], "/projects/BIG/import", five_thousand_rows(), timezone="UTC")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    answer = form_post(clients["manage"], answer.headers["Location"], action="import")
    assert answer.headers["Location"] == "/projects/BIG/backlog"
    db_session.expire_all()
    assert (
        db_session.scalar(select(func.count(Story.id)).where(Story.project_id == project.id))
        == 5000
    )


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_refuses_what_it_cannot_do_and_changes_nothing(runner, db_session, team, tmp_path):
    before = counts(db_session)
    csv_file = tmp_path / "jira.csv"
    csv_file.write_bytes(FIXTURE.read_bytes())
    no_project = runner.invoke(args=["import", str(csv_file)])
    assert no_project.exit_code == 2 and "add --project KEY" in no_project.output
    unknown = runner.invoke(args=["import", str(csv_file), "--project", "NOPE"])
    assert unknown.exit_code == 1 and "No project with the key NOPE." in unknown.output
    bad_tz = runner.invoke(
        args=["import", str(csv_file), "--project", "FRAUD", "--timezone", "Mars/Base"]
    )
    assert bad_tz.exit_code == 2 and "is not an IANA timezone name" in bad_tz.output
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01PK\x03\x04")
    refused = runner.invoke(
        args=["import", str(binary), "--format", "jira-csv", "--project", "FRAUD"]
    )
    assert refused.exit_code == 1
    assert "not imported, nothing was changed" in refused.output and "binary data" in refused.output
    assert "Traceback" not in refused.output
    dry = runner.invoke(
        args=[
            "import",
            str(csv_file),
            "--project",
            "FRAUD",
            "--timezone",
            "Europe/Berlin",
            "--dry-run",
        ]
    )
    assert dry.exit_code == 0, dry.output
    assert (
        "Stories: 12 new" in dry.output and "Dry run: nothing was written to FRAUD." in dry.output
    )
    assert "Not matched to a member, their stories left unassigned: " in dry.output
    assert counts(db_session) == before


def test_the_mapping_is_documented_in_the_app(client):
    page = client.get("/docs/import-jira")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<h2 id="how-the-fields-map">How the fields map</h2>' in html
    assert client.get("/docs/export-format").status_code == 200
