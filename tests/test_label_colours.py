"""Label colours and the labels page: colours from a palette or a checked hex value, chips
readable on any colour, renaming, deleting, counts, access; and the stylesheet that colours
chips under a policy forbidding inline styles."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from planner.domain import ValidationError
from planner.domain.labels import PALETTE, parse_colour, set_labels, text_colour
from planner.models import Label, Story, story_label
from tests import factories


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("#C62828", "#c62828"),
        ("c62828", "#c62828"),
        (" #1565c0 ", "#1565c0"),
        ("#abc", "#aabbcc"),
        ("", None),
        (None, None),
    ],
)
def test_colours_are_stored_as_lower_case_rrggbb(text, stored):
    assert parse_colour(text) == stored


@pytest.mark.parametrize("text", ["red", "#12345g", "#1234", "#c62828ff", "rgb(1,2,3)"])
def test_other_colour_values_are_refused(text):
    with pytest.raises(ValidationError) as caught:
        parse_colour(text)
    assert "write it as #rrggbb" in caught.value.details["colour"]


@pytest.mark.parametrize(
    ("colour", "text"),
    [
        ("#ffffff", "#1a1a1a"),  # white chip: dark text
        ("#000000", "#ffffff"),
        ("#f2c94c", "#1a1a1a"),  # yellow, luminance 0.61: dark text
        ("#1565c0", "#ffffff"),  # blue, luminance 0.13: white text
        ("#808080", "#1a1a1a"),  # mid grey, luminance 0.22: 4.4:1 on dark against 3.9:1 on white
    ],
)
def test_chip_text_is_dark_or_white_whichever_contrasts_more(colour, text):
    assert text_colour(colour) == text


def _contrast(a: str, b: str) -> float:
    def lum(c: str) -> float:
        def ch(v: int) -> float:
            s = v / 255
            return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

        r, g, b_ = (int(c[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b_)

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_every_palette_colour_reads_at_wcag_aa():
    assert len(PALETTE) == 10
    for colour in PALETTE:
        assert _contrast(colour, text_colour(colour)) >= 4.5, colour


@pytest.fixture
def labels(db_session, team):
    """gdpr on stories 1 and 2, needs-data on story 2, unused on none."""
    one = factories.story(db_session, team.project, team.editor, title="Consent audit")
    two = factories.story(db_session, team.project, team.editor, title="Mask card numbers")
    set_labels(db_session, one, ["gdpr"])
    set_labels(db_session, two, ["gdpr", "needs-data"])
    db_session.add(Label(project_id=team.project.id, name="unused"))
    db_session.commit()
    return {
        label.name: label
        for label in db_session.scalars(select(Label).where(Label.project_id == team.project.id))
    }


def colour_of(db_session, label_id: int) -> str | None:
    db_session.expire_all()
    return db_session.get(Label, label_id).colour


def test_the_labels_page_counts_stories_per_label(clients, labels):
    page = clients["view"].get("/projects/FRAUD/labels").get_data(as_text=True)
    assert ">2 stories</a>" in page and ">1 story</a>" in page and ">0 stories</a>" in page
    assert "/projects/FRAUD?status=all&amp;label=needs-data" in page
    assert "Rename" not in page and "Save colour" not in page  # view members only look
    manager = clients["manage"].get("/projects/FRAUD/labels").get_data(as_text=True)
    assert manager.count(">Rename</button>") == 3
    assert manager.count('value="#c62828"') == 3  # the red swatch of each label


def test_a_manager_picks_a_palette_colour_or_writes_one(clients, db_session, labels):
    gdpr = labels["gdpr"].id
    client = clients["manage"]
    url = f"/projects/FRAUD/labels/{gdpr}"
    assert client.post_form(url, {"action": "colour", "colour": "#2e7d32"}).status_code == 302
    assert colour_of(db_session, gdpr) == "#2e7d32"
    client.post_form(url, {"action": "colour", "colour": "custom", "hex": "#ABC"})
    assert colour_of(db_session, gdpr) == "#aabbcc"
    page = client.get("/projects/FRAUD/labels").get_data(as_text=True)
    assert 'value="#aabbcc"' in page  # shown in the "Other" field
    client.post_form(url, {"action": "colour", "colour": ""})
    assert colour_of(db_session, gdpr) is None


def test_a_bad_colour_is_refused_with_a_message(clients, db_session, labels):
    gdpr = labels["gdpr"].id
    client = clients["manage"]
    client.post_form(f"/projects/FRAUD/labels/{gdpr}", {"action": "colour", "colour": "#1565c0"})
    response = client.post_form(
        f"/projects/FRAUD/labels/{gdpr}", {"action": "colour", "colour": "custom", "hex": "blue"}
    )
    assert response.status_code == 302
    page = client.get("/projects/FRAUD/labels").get_data(as_text=True)
    assert "Colour of “gdpr” not saved: &#39;blue&#39; is not a colour" in page
    assert colour_of(db_session, gdpr) == "#1565c0"


def test_renaming_keeps_the_stories_and_refuses_a_taken_name(clients, db_session, labels):
    gdpr = labels["gdpr"].id
    client = clients["manage"]
    client.post_form(f"/projects/FRAUD/labels/{gdpr}", {"action": "rename", "name": "needs-data"})
    page = client.get("/projects/FRAUD/labels").get_data(as_text=True)
    assert "“gdpr” not renamed: There is already a label “needs-data”." in page
    client.post_form(f"/projects/FRAUD/labels/{gdpr}", {"action": "rename", "name": " GDPR  EU "})
    db_session.expire_all()
    assert db_session.get(Label, gdpr).name == "GDPR EU"
    carrying = db_session.scalar(
        select(func.count()).select_from(story_label).where(story_label.c.label_id == gdpr)
    )
    assert carrying == 2


def test_deleting_a_label_takes_it_off_its_stories_only(clients, db_session, labels):
    gdpr = labels["gdpr"].id
    response = clients["manage"].post_form(f"/projects/FRAUD/labels/{gdpr}", {"action": "delete"})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Label, gdpr) is None
    assert db_session.scalar(select(func.count(Story.id))) == 2
    left = db_session.execute(
        select(Label.name).join(story_label, story_label.c.label_id == Label.id)
    ).all()
    assert [name for (name,) in left] == ["needs-data"]


@pytest.mark.parametrize(("level", "status"), [("view", 403), ("edit", 403), ("none", 404)])
def test_only_managers_change_labels(clients, db_session, labels, level, status):
    gdpr = labels["gdpr"].id
    url = f"/projects/FRAUD/labels/{gdpr}"
    client = clients[level]
    assert client.post_form(url, {"action": "colour", "colour": "#2e7d32"}).status_code == status
    assert client.post_form(url, {"action": "delete"}).status_code == status
    assert colour_of(db_session, gdpr) is None


def test_outsiders_get_404_and_writes_need_csrf(clients, db_session, labels):
    gdpr = labels["gdpr"].id
    assert clients["none"].get("/projects/FRAUD/labels").status_code == 404
    assert clients["none"].get("/projects/FRAUD/labels.css").status_code == 404
    no_token = clients["manage"].post(
        f"/projects/FRAUD/labels/{gdpr}", data={"action": "colour", "colour": "#2e7d32"}
    )
    assert no_token.status_code == 400
    assert colour_of(db_session, gdpr) is None
    assert clients["manage"].post_form("/projects/FRAUD/labels/999999", {}).status_code == 404
    unknown = clients["manage"].post_form(f"/projects/FRAUD/labels/{gdpr}", {"action": "paint"})
    assert unknown.status_code == 400


def test_the_stylesheet_colours_each_coloured_label(clients, db_session, labels):
    gdpr, needs = labels["gdpr"], labels["needs-data"]
    gdpr.colour, needs.colour = "#c62828", "#f2c94c"
    db_session.commit()
    client = clients["view"]
    response = client.get("/projects/FRAUD/labels.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.get_data(as_text=True).splitlines() == [
        f".chip.label.lc-{gdpr.id} {{ --label-bg: #c62828; --label-fg: #ffffff; }}",
        f".chip.label.lc-{needs.id} {{ --label-bg: #f2c94c; --label-fg: #1a1a1a; }}",
    ]
    again = client.get(
        "/projects/FRAUD/labels.css", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_story_page_shows_coloured_chips(clients, db_session, labels):
    labels["gdpr"].colour = "#c62828"
    db_session.commit()
    page = clients["view"].get("/projects/FRAUD/stories/2").get_data(as_text=True)
    assert f'<span class="chip label coloured lc-{labels["gdpr"].id}">gdpr</span>' in page
