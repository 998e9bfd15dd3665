"""Issue 14's smaller items in a real browser: the share link's copy button (and the plain field
without JavaScript), dark mode on the main pages, and assets arriving compressed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from planner.demo import DEMO_PASSWORD, install_demo
from tests import factories
from tests.browser.conftest import sign_in

DARK_PAGES = {
    "board": "/projects/FRAUD/board",
    "dashboard": "/projects/FRAUD/dashboard",
    "story": "/projects/FRAUD/stories/24",
    "reports": "/projects/FRAUD/reports",
    "sprints": "/projects/FRAUD/sprints",
}


def luminance(css_colour: str) -> float:
    """Relative luminance (WCAG) of an rgb()/rgba() colour."""
    red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", css_colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: str, two: str) -> float:
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def demo(db_session):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()


def test_the_copy_button_copies_the_new_share_link(live_server, browser, shots, db_session):
    demo(db_session)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    try:
        sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)
        page.goto(f"{live_server}/projects/FRAUD/share")
        page.get_by_label("Who is it for?").fill("Steering committee")
        page.get_by_role("button", name="Create link").click()
        field = page.get_by_label("The new share link")
        url = field.input_value()
        assert re.match(rf"{re.escape(live_server)}/share/[A-Za-z0-9_-]{{20,}}$", url)
        expect(field).to_have_attribute("readonly", "")
        status = page.locator("#copy-status")
        expect(status).to_have_attribute("aria-live", "polite")
        expect(status).to_have_text("")
        page.get_by_role("button", name="Copy link").click()
        expect(status).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == url
        shots.take(page, "share-copied", full_page=False)
    finally:
        context.close()


def test_without_javascript_the_link_waits_in_a_selectable_field(
    live_server, browser, shots, db_session
):
    demo(db_session)
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)
        page.goto(f"{live_server}/projects/FRAUD/share")
        page.get_by_label("Who is it for?").fill("Board")
        page.get_by_role("button", name="Create link").click()
        field = page.get_by_label("The new share link")
        expect(field).to_be_visible()
        assert field.input_value().startswith(f"{live_server}/share/")
        expect(page.get_by_role("button", name="Copy link")).to_be_hidden()
        field.click()
        field.press("Control+a")
        selected = field.evaluate("f => f.value.substring(f.selectionStart, f.selectionEnd)")
        assert selected == field.input_value()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shots.take(page, "share-no-js-phone")
    finally:
        context.close()


def test_dark_mode_is_calm_and_readable(live_server, browser, shots, db_session):
    demo(db_session)
    for width, height, size in ((1280, 800, "laptop"), (390, 844, "phone")):
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme="dark"
        )
        page = context.new_page()
        try:
            sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)
            for name, path in DARK_PAGES.items():
                page.goto(f"{live_server}{path}")
                page.wait_for_function(
                    "document.querySelectorAll('[data-figure]').length"
                    " === document.querySelectorAll('[data-drawn=yes]').length",
                    timeout=20_000,
                )
                body = page.evaluate(
                    "(() => { const s = getComputedStyle(document.body);"
                    " return [s.backgroundColor, s.color]; })()"
                )
                assert luminance(body[0]) < 0.02, (name, body)  # a dark page
                assert contrast(*body) >= 7, (name, body)  # text well readable on it
                card = page.locator(".card").first
                if card.count():
                    colours = card.evaluate(
                        "c => { const s = getComputedStyle(c); return [s.backgroundColor,"
                        " getComputedStyle(document.body).color]; }"
                    )
                    assert contrast(*colours) >= 7, (name, colours)
                link = page.locator("main a").first
                link_colour = link.evaluate("a => getComputedStyle(a).color")
                assert contrast(link_colour, body[0]) >= 4.5, (name, link_colour)
                # Charts: no white plotly page on the dark card; their axis text is light.
                for chart in page.locator(".js-plotly-plot").all():
                    background = chart.locator(".main-svg").first.evaluate(
                        "svg => getComputedStyle(svg).backgroundColor"
                    )
                    assert background in ("rgba(0, 0, 0, 0)", "transparent"), (name, background)
                    tick = chart.locator(".xtick text, .ytick text").first
                    if tick.count():
                        fill = tick.evaluate("t => getComputedStyle(t).fill")
                        assert luminance(fill) > 0.5, (name, fill)
                shots.take(page, f"dark-{name}-{size}")
        finally:
            context.close()


def test_the_primary_button_keeps_white_text_readable_in_dark_mode(
    live_server, browser, db_session
):
    demo(db_session)
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    try:
        sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)
        page.goto(f"{live_server}/projects/FRAUD/sprints")
        button = page.get_by_role("button", name="Create and plan it")
        colours = button.evaluate(
            "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.color]; }"
        )
        assert contrast(*colours) >= 4.5, colours
        field = page.get_by_label("Name")
        field_colours = field.evaluate(
            "f => { const s = getComputedStyle(f); return [s.backgroundColor, s.color]; }"
        )
        assert contrast(*field_colours) >= 7, field_colours
    finally:
        context.close()


def test_the_browser_gets_plotly_compressed_and_cached(live_server, new_page, db_session):
    demo(db_session)
    page = new_page()
    sign_in(page, live_server, "helen@example.com", DEMO_PASSWORD)
    with page.expect_response(re.compile(r"/assets/plotly\.min\.js\?v=[0-9a-f]{16}$")) as info:
        page.goto(f"{live_server}/projects/FRAUD/dashboard")
    response = info.value
    headers = response.all_headers()
    assert headers["content-encoding"] == "gzip"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert int(headers["content-length"]) < 1_600_000
    expect(page.locator("[data-drawn=yes]")).to_have_count(4, timeout=20_000)


def test_a_site_admin_creates_a_missing_account_beside_the_add_form(
    live_server, new_page, shots, db_session
):
    demo(db_session)
    for width, height, size in ((1280, 800, "laptop"), (390, 844, "phone")):
        page = new_page(width=width, height=height)
        sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)  # Maya is a site admin
        page.goto(f"{live_server}/projects/FRAUD/members")
        email = f"new.{size}@example.com"
        add = page.locator("#add-member")
        add.get_by_label("Email").fill(email)
        add.get_by_label("Access").select_option("view")
        add.get_by_role("button", name="Add member").click()
        message = page.locator("#add-email-error")
        expect(message).to_have_text(f"There is no account for {email} yet.")
        # The page opens at the form (#add-member): the message is on screen, not far below.
        expect(message).to_be_in_viewport()
        invite = page.get_by_role("region", name=f"Create the account for {email}")
        expect(invite).to_be_visible()
        shots.take(page, f"invite-{size}", full_page=False)
        invite.get_by_label("Name").fill(f"Nina {size.title()}")
        invite.get_by_role("button", name="Create account and add").click()
        expect(page.locator(".flash.success")).to_contain_text(
            f"Account for {email} created without a password"
        )
        row = page.locator("tbody tr", has_text=email)
        expect(row).to_contain_text(f"Nina {size.title()}")
        expect(row.locator(".chip.access-view")).to_have_text("View")
