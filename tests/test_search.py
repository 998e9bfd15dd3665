"""Search across a person's projects: ranking, marked snippets, access, the story-key jump,
escaping, input that is not words, the index following edits and deletes, bounded queries.
Runs on SQLite (FTS5) and on PostgreSQL (tsvector + GIN) alike."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select

from planner.demo import install_demo
from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.domain.search import excerpt, marked, search
from planner.models import Account, Comment, Milestone, Risk, Story
from tests import factories
from tests.conftest import sign_in

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
LONG_COMMENT = (
    "We looked at the weekly score histograms together with the analysts and the fraud ops "
    "team, compared them with last quarter, went through the chargeback feed and the manual "
    "review queue, and only then saw some drift in the merchant category mix of the evening "
    "traffic, which nobody had flagged before in any of the dashboards we keep for this."
)


@pytest.fixture
def corpus(db_session, team):
    """FRAUD: "drift" in a story title (FRAUD-1), in a short description (FRAUD-2), in a long
    comment (on FRAUD-3). SECRET, which only the outsider is a member of: "drift" too."""
    project = team.project
    first = factories.story(
        db_session,
        project,
        team.editor,
        title="Drift monitor for card scores",
        description="Alert when the PSI passes 0.2 on any feature.",
    )
    factories.story(
        db_session,
        project,
        team.editor,
        title="Retrain the model",
        description="Retrain weekly when drifting is detected.",
    )
    third = factories.story(db_session, project, team.editor, title="Label queue")
    comment = Comment(story_id=third.id, author_id=team.editor.id, body=LONG_COMMENT)
    db_session.add(comment)
    secret = factories.project(db_session, "SECRET", "Secret project", owner=team.outsider)
    factories.story(
        db_session,
        secret,
        team.outsider,
        title="Drift in the confidential merger model",
        description="Codename osprey.",
    )
    db_session.commit()
    return {"first": first, "third": third, "comment": comment, "secret": secret}


def keys_of(result) -> list[tuple[str, str]]:
    return [(hit.kind, hit.story_key) for hit in result.hits]


def test_a_title_hit_ranks_above_a_short_body_above_a_long_comment(db_session, team, corpus):
    # By hand: FRAUD-1 has "drift" in its title (weighted above bodies); FRAUD-2 and the comment
    # have it in their text only, and FRAUD-2's text is 6 words against the comment's 60.
    result = search(db_session, team.editor, "drift")
    assert keys_of(result) == [
        ("story", "FRAUD-1"),
        ("story", "FRAUD-2"),
        ("comment", "FRAUD-3"),
    ]


def test_every_word_must_be_found_and_words_are_stemmed(db_session, team, corpus):
    assert keys_of(search(db_session, team.editor, "retrain drift")) == [("story", "FRAUD-2")]
    assert keys_of(search(db_session, team.editor, "Monitors")) == [("story", "FRAUD-1")]
    assert search(db_session, team.editor, "drift osprey").hits == []


def test_the_last_word_is_also_a_prefix_as_people_type(db_session, team, corpus):
    # "mon" begins "monitor" (FRAUD-1's title); "retr" begins "retrain" (FRAUD-2). Earlier
    # words are whole words: "dri monitor" finds nothing, "drift mon" finds FRAUD-1.
    assert keys_of(search(db_session, team.editor, "mon")) == [("story", "FRAUD-1")]
    assert keys_of(search(db_session, team.editor, "retr")) == [("story", "FRAUD-2")]
    assert keys_of(search(db_session, team.editor, "drift mon")) == [("story", "FRAUD-1")]
    assert search(db_session, team.editor, "dri monitor").hits == []
    page = search(db_session, team.editor, "mon")
    assert str(page.hits[0].title) == "Drift <mark>monitor</mark> for card scores"


def test_the_page_marks_the_words_found_in_titles_and_snippets(clients, corpus):
    page = clients["edit"].get("/search?q=drift").get_data(as_text=True)
    assert "3 results for “drift”" in page
    first = '<a class="search-hit-title" href="/projects/FRAUD/stories/1">'
    assert first + "<mark>Drift</mark> monitor for card scores</a>" in page
    assert "Retrain weekly when <mark>drifting</mark> is detected." in page
    assert "saw some <mark>drift</mark> in the merchant" in page
    comment = f'href="/projects/FRAUD/stories/3#comment-{corpus["comment"].id}">'
    assert comment + "Comment on Label queue</a>" in page
    assert page.count("<mark>") == page.count("</mark>") == 3


def test_epics_milestones_and_risks_are_found_with_their_links(db_session, clients, team):
    ctx = load_context(db_session, team.project)
    epic = create_epic(db_session, ctx, {"title": "Kestrel features", "description": "New."})
    milestone = Milestone(
        project_id=team.project.id,
        name="Pilot",
        description="The kestrel pilot goes live.",
        baseline=date(2026, 4, 24),
    )
    risk = Risk(
        project_id=team.project.id,
        title="Kestrel vendor late",
        category="privacy",
        likelihood=3,
        impact=4,
        status="open",
        created_at=NOW,
        updated_at=NOW,
    )
    db_session.add_all([milestone, risk])
    db_session.commit()
    page = clients["view"].get("/search?q=kestrel").get_data(as_text=True)
    assert f'href="/projects/FRAUD/epics/{epic.key}"><mark>Kestrel</mark> features</a>' in page
    assert f'href="/projects/FRAUD/milestones/{milestone.id}">Pilot</a>' in page
    assert "The <mark>kestrel</mark> pilot goes live." in page
    assert f'href="/projects/FRAUD/risks/{risk.id}"><mark>Kestrel</mark> vendor late</a>' in page
    for label in ("Epic", "Milestone", "Risk"):
        assert f'<span class="chip search-kind">{label}</span>' in page


def test_only_the_projects_one_is_a_member_of_are_searched(db_session, app, clients, team, corpus):
    for level in ("manage", "edit", "view"):
        page = clients[level].get("/search?q=drift").get_data(as_text=True)
        assert "FRAUD-1" in page and "SECRET" not in page and "confidential" not in page
        osprey = clients[level].get("/search?q=osprey").get_data(as_text=True)
        assert "Nothing found for “osprey”" in osprey and "Codename" not in osprey
    outsider = clients["none"].get("/search?q=drift").get_data(as_text=True)
    assert "1 result for “drift”" in outsider
    assert "<mark>Drift</mark> in the confidential merger model" in outsider
    assert (
        "/projects/FRAUD" not in outsider and "PSI" not in outsider and "merchant" not in outsider
    )
    stranger = factories.account(db_session, "sam@example.com", "Sam Stranger")
    db_session.commit()
    page = sign_in(app, stranger).get("/search?q=drift").get_data(as_text=True)
    assert "Nothing found for “drift”" in page and "<mark>" not in page


def test_a_story_key_jumps_to_the_story_when_one_may_see_it(clients, corpus):
    for query in ("FRAUD-2", "fraud-2", "  Fraud-2 "):
        response = clients["view"].get("/search", query_string={"q": query})
        assert response.status_code == 302, query
        assert response.headers["Location"] == "/projects/FRAUD/stories/2"
    for client, query in ((clients["none"], "FRAUD-2"), (clients["edit"], "FRAUD-99")):
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200
        assert "Nothing found" in response.get_data(as_text=True)
    assert clients["edit"].get("/search?q=SECRET-1").status_code == 200
    assert clients["none"].get("/search?q=secret-1").headers["Location"] == (
        "/projects/SECRET/stories/1"
    )


def test_titles_and_snippets_are_escaped(db_session, clients, team):
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="<script>alert(1)</script> harrier check",
        description='Compare <b>bold</b> & "quoted" harrier <img src=x onerror=alert(2)>',
    )
    db_session.commit()
    page = clients["edit"].get("/search?q=harrier").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>harrier</mark> check" in page
    assert (
        "Compare &lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34; <mark>harrier</mark> &lt;img"
        in page
    )  # noqa: E501
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page


@pytest.mark.parametrize(
    "query",
    [
        '"drift',
        'drift"',
        "drift*",
        "drift)",
        "drift AND(",
        "drift OR",
        "-drift",
        "NOT drift",
        "drift:card",
        "drift:",
        "'drift'",
        "drift\\",
        "drift & | ! <->",
        "%drift_",
        "drift\x02\x03",
        "the drift",
    ],
)
def test_query_syntax_is_taken_as_plain_words(clients, corpus, query):
    response = clients["edit"].get("/search", query_string={"q": query})
    assert response.status_code == 200, query
    assert 'href="/projects/FRAUD/stories/1"' in response.get_data(as_text=True), query


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ('"', 422, "Type a word or number to search for"),
        ("*", 422, "Type a word or number to search for"),
        ("-:()", 422, "Type a word or number to search for"),
        ("AND(", 200, "Only very common words"),
        ("the OR and", 200, "Only very common words"),
        ("NEAR(drift card)", 200, "Nothing found"),  # "near" is a word: not in any story
        ("drift NEAR card", 200, "Nothing found"),
        ("drift\x00", 422, "q"),  # NUL is refused for every request (planner/requests.py)
    ],
)
def test_queries_without_searchable_words_say_so(clients, corpus, query, status, says):
    response = clients["edit"].get("/search", query_string={"q": query})
    assert response.status_code == status, query
    assert says in response.get_data(as_text=True), query


def test_empty_and_too_long_queries(clients, corpus):
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        response = clients["edit"].get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert '<input type="search" id="search-q" name="q" value=""' in page
        assert "search-results" not in page and "Nothing found" not in page
    response = clients["edit"].get("/search", query_string={"q": "drift " * 40})
    assert response.status_code == 422
    assert "Search for at most 200 characters; this is 239." in response.get_data(as_text=True)
    exactly = ("drift " * 34)[:200]  # 200 characters, drift 34 times
    page = clients["edit"].get("/search", query_string={"q": exactly}).get_data(as_text=True)
    assert "Only the first 12 words were searched for." in page
    assert 'href="/projects/FRAUD/stories/1"' in page


def test_an_edited_story_is_found_by_its_new_words_only(clients, corpus):
    client = clients["edit"]
    response = client.api(
        "PATCH",
        "/api/v1/stories/FRAUD-1",
        json={"version": 1, "title": "Stability monitor", "description": "Population shift."},
    )
    assert response.status_code == 200, response.json
    drift = client.get("/search?q=drift").get_data(as_text=True)
    assert 'href="/projects/FRAUD/stories/1"' not in drift and "2 results" in drift
    assert client.get("/search?q=PSI").get_data(as_text=True).count("search-hit ") == 0
    page = client.get("/search?q=population+stability").get_data(as_text=True)
    assert "<mark>Stability</mark> monitor</a>" in page
    assert "<mark>Population</mark> shift." in page


def test_a_deleted_comment_is_no_longer_found(clients, corpus):
    client = clients["edit"]
    assert "merchant" in client.get("/search?q=merchant").get_data(as_text=True)
    response = client.api("DELETE", f"/api/v1/stories/FRAUD-3/comments/{corpus['comment'].id}")
    assert response.status_code in (200, 204)
    page = client.get("/search?q=merchant").get_data(as_text=True)
    assert "Nothing found for “merchant”" in page


def test_deleting_a_story_and_a_project_takes_their_text_out(db_session, clients, team, corpus):
    db_session.delete(db_session.get(Story, corpus["third"].id))
    db_session.commit()
    assert search(db_session, team.editor, "merchant").hits == []
    db_session.delete(corpus["secret"])
    db_session.commit()
    assert search(db_session, team.outsider, "osprey").hits == []


def test_rows_inserted_in_bulk_are_found(db_session, team):
    # The importers insert many stories in one statement; the index must follow each row.
    db_session.execute(
        insert(Story),
        [
            {
                "project_id": team.project.id,
                "number": 100 + i,
                "title": f"Imported merlin story {i}",
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in range(3)
        ],
    )
    db_session.commit()
    found = sorted(hit.story_key for hit in search(db_session, team.editor, "merlin").hits)
    assert found == ["FRAUD-100", "FRAUD-101", "FRAUD-102"]


def test_the_demo_data_is_searchable(db_session):
    install_demo(db_session, hash_method=factories.HASH, now=NOW)
    db_session.commit()
    maya = db_session.scalars(select(Account).where(Account.email == "maya@example.com")).one()
    # FRAUD-5 of planner/demo/demo.json: "Document fraud typologies: card-not-present, ..."
    assert keys_of(search(db_session, maya, "typologies")) == [("story", "FRAUD-5")]


@pytest.mark.parametrize("count", [3, 30])
def test_the_search_page_runs_a_bounded_number_of_queries(
    db_session, clients, team, count_queries, count
):
    for i in range(count):
        story = factories.story(
            db_session, team.project, team.editor, title=f"Falcon {i}", description="falcon"
        )
        db_session.add(Comment(story_id=story.id, author_id=team.editor.id, body="falcon"))
    db_session.commit()
    client = clients["edit"]
    client.get("/search?q=falcon")
    with count_queries() as counter:
        response = client.get("/search?q=falcon")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="search-hit ') == min(2 * count, 50)
    # The signed-in account, the bell's unread count, and the search itself.
    assert counter.count <= 4, counter.statements
    with count_queries() as counter:
        assert client.get("/search?q=FRAUD-1").status_code == 302
    assert counter.count <= 3, counter.statements


def test_the_header_has_a_labelled_search_box_for_signed_in_people(client, clients, team):
    page = clients["view"].get("/").get_data(as_text=True)
    form = re.search(
        r'<form class="topsearch" role="search" aria-label="Site search"[^>]*>.*?</form>',
        page,
        re.S,
    )
    assert form and 'action="/search"' in form.group(0) and 'method="get"' in form.group(0)
    assert '<label for="site-search" class="sr-only">Search your projects</label>' in form.group(0)
    assert 'id="site-search" name="q"' in form.group(0)
    assert "js/search.js" in page
    assert 'role="search"' not in client.get("/login").get_data(as_text=True)
    assert client.get("/search?q=drift").status_code == 302  # to the sign-in page


def test_a_long_text_is_cut_around_its_first_marked_word():
    words = [f"w{i}" for i in range(40)]
    late = " ".join(words[:30] + ["\x02drift\x03"] + words[31:])
    # 24 words, at most 8 before the mark, but never past the end: w16 .. w39.
    cut = excerpt(late)
    assert cut.startswith("…w16 w17 ") and cut.endswith(" w38 w39")
    assert len(cut.removeprefix("…").split()) == 24
    early = " ".join(words[:5] + ["\x02drift\x03"] + words[6:])
    assert excerpt(early) == " ".join(words[:5] + ["\x02drift\x03"] + words[6:24]) + "…"
    assert excerpt("short \x02drift\x03 text") == "short \x02drift\x03 text"
    assert (
        str(marked("a <b> \x02drift\x03 & \x02x"))
        == "a &lt;b&gt; <mark>drift</mark> &amp; <mark>x</mark>"
    )


def test_the_results_offer_to_create_the_story_in_a_project_one_may_edit(
    db_session, clients, team, corpus
):
    page = clients["edit"].get("/search?q=chargeback%20audit").get_data(as_text=True)
    # Priya edits FRAUD only (SECRET is the outsider's): one link, titled with the words.
    assert "Create “chargeback audit” as a story in" in page
    link = (
        '<a href="/projects/FRAUD/stories/new?title=chargeback+audit" data-create-story>FRAUD</a>'
    )
    assert link in page
    form = clients["edit"].get("/projects/FRAUD/stories/new?title=chargeback+audit&status=review")
    html = form.get_data(as_text=True)
    assert 'name="title" type="text" value="chargeback audit"' in html
    assert '<option selected value="review">' in html
    # A view member may not create: no link for them.
    assert "data-create-story" not in clients["view"].get("/search?q=drift").get_data(as_text=True)
