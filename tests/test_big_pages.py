"""Big projects stay small on the wire (issue 16): the backlog and the board of a 2,000-story
project (tests/bigproject.py) are drawn in a bounded number of bytes and queries, with the first
screen complete; what is folded or on a later page is one plain link away (no JavaScript).

The big project: Sprint 1 closed (BIG-1..100), Sprint 2 active (BIG-101..300, 50 in each status),
Sprints 3-8 planned (100 stories each, BIG-301..900), the backlog proper BIG-901..2000. Story n
has POINTS[n % 7] points, POINTS = [1, 2, 3, 5, 8, None, 3]: any 7 consecutive stories hold 22
points and one unestimated story."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from planner.models import Account, Story
from tests import bigproject
from tests.conftest import sign_in

BACKLOG = "/projects/BIG/backlog"
BOARD = "/projects/BIG/board"


@pytest.fixture
def big(app, db_session):
    bigproject.build(db_session)
    lead = db_session.scalar(select(Account).where(Account.email == bigproject.MANAGER))
    return sign_in(app, lead)


def rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="backlog-row" id="s(\d+)"', html)]


def cards(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="board-card[^"]*" id="c(\d+)"', html)]


def head_of(html: str, title: str) -> str:
    """The words of a section's head (title, dates, totals), tags and spacing stripped."""
    found = re.search(rf'<h2 id="sec-[^"]+">\s*(?:<a [^>]+>)?{re.escape(title)}\s*<', html)
    assert found, f"no section {title!r}"
    head = html[found.start() : html.index("</div>", found.start())]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", head)).split())


def link(html: str, words: str) -> str:
    """The href of the link whose text starts with `words`."""
    match = re.search(rf'href="([^"]+)"[^>]*>{re.escape(words)}', html)
    assert match, f"no link {words!r}"
    return unescape(match.group(1))


def test_the_backlog_of_2000_stories_is_small_with_its_first_screen_complete(big):
    response = big.get(BACKLOG)
    assert response.status_code == 200
    assert len(response.data) < 300_000  # 3,354,333 bytes before issue 16
    html = response.get_data(as_text=True)
    drawn = rows(html)
    # The active sprint whole, the next planned sprint whole, the first 100 of the backlog.
    assert drawn == [*range(101, 301), *range(301, 401), *range(901, 1001)]
    # Sprints 4-8 folded to their totals, each with a link that draws it.
    for sprint in ("Sprint 4", "Sprint 5", "Sprint 8"):
        assert f"{sprint} (planned)</a>" in html
    assert html.count(">Show its 100 stories</a>") == 5
    assert "Stories 1–100 of 1100" in html


def test_totals_count_every_story_drawn_or_not(big):
    html = big.get(BACKLOG).get_data(as_text=True)
    # Sprint 2, BIG-101..300: 28 runs of 7 (616 points, 28 unestimated) and BIG-297..300
    # (5 + 8 + none + 3 = 16 points, 1 unestimated).
    assert "200 stories · 632 pts · 29 unestimated" in head_of(html, "Sprint 2 (active)")
    # Sprint 5 (folded), BIG-501..600: 14 runs (308 points, 14 unestimated) and BIG-599, 600
    # (8 + none).
    assert "100 stories · 316 pts · 15 unestimated" in head_of(html, "Sprint 5 (planned)")
    # The backlog, BIG-901..2000, 100 of them drawn: 157 runs (3,454 points, 157 unestimated)
    # and BIG-2000 (2000 % 7 = 5: none).
    assert "1100 stories · 3454 pts · 158 unestimated" in head_of(html, "Backlog")
    # Filtered: bugs are the multiples of 11; in the backlog 902 (11 x 82) to 1991 (11 x 181),
    # 100 stories. With 172 open bugs in all (more than a page), sprints still fold and count
    # their matches.
    bugs = big.get(BACKLOG + "?type=bug").get_data(as_text=True)
    assert "100 of 1100 stories" in head_of(bugs, "Backlog")
    assert "9 of 100 stories" in head_of(bugs, "Sprint 5 (planned)")  # 506 (11 x 46) .. 594
    assert rows(bugs)[:3] == [110, 121, 132]


def test_folded_sprints_and_later_pages_are_plain_links(big):
    html = big.get(BACKLOG + "?group=none").get_data(as_text=True)
    sprint5 = html[html.index('id="sec-5"') :]
    show = link(sprint5, "Show its 100 stories")
    assert show == BACKLOG + "?group=none&open=5#sec-5"  # the rest of the query is kept
    opened = big.get(show)
    assert opened.status_code == 200
    page = opened.get_data(as_text=True)
    assert [n for n in rows(page) if 401 <= n <= 900] == list(range(501, 601))
    fold = link(page[page.index('id="sec-5"') :], "Fold")
    assert fold == BACKLOG + "?group=none#sec-5"
    folded = big.get(fold)
    assert [n for n in rows(folded.get_data(as_text=True)) if 401 <= n <= 900] == []

    second = big.get(link(html, "Next 100 →")).get_data(as_text=True)
    assert [n for n in rows(second) if n > 900] == list(range(1001, 1101))
    assert "Stories 101–200 of 1100" in second
    back = big.get(link(second, "← Previous 100")).get_data(as_text=True)
    assert [n for n in rows(back) if n > 900] == list(range(901, 1001))

    last = big.get(BACKLOG + "?page=11").get_data(as_text=True)
    assert [n for n in rows(last) if n > 900] == list(range(1901, 2001))
    assert "Next 100" not in last and "Stories 1001–1100 of 1100" in last


def test_a_bad_page_or_sprint_says_so(big):
    beyond = big.get(BACKLOG + "?page=99")
    assert beyond.status_code == 200
    text = beyond.get_data(as_text=True)
    assert "The backlog has 11 pages of 100: the last one shows." in text
    assert [n for n in rows(text) if n > 900][0] == 1901
    for query, message in (
        ("page=two", "page=two is not a page number: the first page shows."),
        ("page=0", "page=0 is not a page number: the first page shows."),
        ("open=x", "open=x names no sprint."),
    ):
        answer = big.get(f"{BACKLOG}?{query}")
        assert answer.status_code == 200 and message in answer.get_data(as_text=True)


def test_a_small_filtered_result_shows_whole(big):
    html = big.get(BACKLOG + "?q=story 9").get_data(as_text=True)
    # "Story 9" starts the titles of BIG-9 and BIG-90..99 (the closed sprint: not here), BIG-900
    # (Sprint 8, folded when unfiltered) and BIG-901..999 (the backlog): 100 open stories.
    assert rows(html) == list(range(900, 1000))
    assert "Show its" not in html and "Next 100" not in html


def test_reorder_buttons_act_on_the_ticked_stories_without_javascript(big, db_session):
    big.post_form(
        "/projects/BIG/backlog/move", {"rank": "top", "story": ["1500", "1200"], "next": BACKLOG}
    )
    page = big.get(BACKLOG).get_data(as_text=True)
    assert [n for n in rows(page) if n > 900][:3] == [1200, 1500, 901]
    moved = big.post_form(
        "/projects/BIG/backlog/move", {"rank": "down", "story": ["1200"], "next": BACKLOG}
    )
    assert moved.status_code == 302 and moved.headers["Location"] == BACKLOG + "#s1200"
    page = big.get(BACKLOG).get_data(as_text=True)
    assert [n for n in rows(page) if n > 900][:3] == [1500, 1200, 901]
    nothing = big.post_form("/projects/BIG/backlog/move", {"rank": "up"}, follow_redirects=True)
    assert "Select the stories to reorder first." in nothing.get_data(as_text=True)


def test_the_board_of_200_cards_is_small_and_moves_without_javascript(big, db_session):
    response = big.get(BOARD)
    assert response.status_code == 200
    assert len(response.data) < 150_000  # 368,287 bytes before issue 16
    html = response.get_data(as_text=True)
    assert sorted(cards(html)) == list(range(101, 301))
    assert html.count('class="card-move"') == 1  # the page's one status form, for board.js
    assert html.count('class="mv"') == 200
    # Without JavaScript: the card's Move link draws the board with the form in that card.
    drawn = big.get(BOARD + "?" + link(html, "Move").split("?")[1].split("#")[0])
    page = drawn.get_data(as_text=True)
    card = page[page.index('id="c101"') : page.index("</li>", page.index('id="c101"'))]
    assert 'action="/projects/BIG/board/101"' in card and 'name="version" value="1"' in card
    assert '<option value="todo" selected>' in card
    assert 'name="next" value="/projects/BIG/board"' in card
    moved = big.post_form(
        "/projects/BIG/board/101", {"status": "review", "version": "1", "next": BOARD}
    )
    assert moved.status_code == 302 and moved.headers["Location"] == BOARD + "#c101"
    story = db_session.scalar(select(Story).where(Story.number == 101, Story.version == 2))
    assert story.status == "review"
    # The filters stay in the Move link and in where the form goes back to.
    filtered = big.get(BOARD + "?lanes=stage&role=ml_engineer").get_data(as_text=True)
    assert 'href="?lanes=stage&amp;role=ml_engineer&amp;move=' in filtered
    stray = big.get(BOARD + "?move=5").get_data(as_text=True)
    assert "BIG-5 is not a card of this board." in stray


@pytest.mark.parametrize("url", ["/projects/{key}/backlog", "/projects/{key}/board"])
def test_the_query_count_does_not_grow_with_the_project(app, db_session, count_queries, url):
    bigproject.build(db_session, 20, "SMALL")
    bigproject.build(db_session)
    lead = db_session.scalar(select(Account).where(Account.email == bigproject.MANAGER))
    client = sign_in(app, lead)
    counts = []
    for key in ("SMALL", "BIG"):
        client.get(url.format(key=key))  # warm: the first request of a session does more
        with count_queries() as counter:
            assert client.get(url.format(key=key)).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
