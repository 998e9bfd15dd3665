"""Adding a member whose address has no account: the message stands beside the form, and a site
admin creates the account (no password yet) and adds it from there in one step."""

from __future__ import annotations

import re

from sqlalchemy import select

from planner.models import Account, Membership
from tests import factories
from tests.conftest import sign_in


def admin_manager(app, db_session, team):
    admin = factories.account(db_session, "root@example.com", "Site Admin", admin=True)
    factories.member(db_session, team.project, admin, "manage")
    db_session.commit()
    return sign_in(app, admin)


def add_section(page: str) -> str:
    """The "Add a member" card: from its heading to the end of its section."""
    start = page.index('<section class="card" id="add-member"')
    return page[start : page.index("</section>", start)]


def test_no_account_message_stands_in_the_add_form_and_offers_to_create_it(app, db_session, team):
    admin = admin_manager(app, db_session, team)
    response = admin.post_form(
        "/projects/FRAUD/members",
        {"add-email": " Ghost@Example.com ", "add-access": "view", "add-roles": ["stakeholder"]},
    )
    assert response.status_code == 422
    section = add_section(response.get_data(as_text=True))
    # The message is on the email field itself, inside the form's card.
    assert (
        '<span class="error" id="add-email-error">There is no account for ghost@example.com '
        "yet.</span>" in section
    )
    # The refused form posts back to itself at #add-member, so the browser shows it again.
    assert 'action="/projects/FRAUD/members#add-member"' in section
    assert "Create the account for ghost@example.com" in section
    assert '<input type="hidden" name="add-email" value="ghost@example.com">' in section
    assert '<input type="hidden" name="add-access" value="view">' in section
    assert '<input type="hidden" name="add-roles" value="stakeholder">' in section
    assert 'name="action" value="create"' in section
    assert db_session.scalar(select(Account).where(Account.email == "ghost@example.com")) is None


def test_a_site_admin_creates_the_account_and_adds_it_in_one_step(app, db_session, team):
    admin = admin_manager(app, db_session, team)
    response = admin.post_form(
        "/projects/FRAUD/members",
        {
            "action": "create",
            "add-email": "ghost@example.com",
            "add-name": "Gwen Host",
            "add-access": "view",
            "add-roles": ["stakeholder"],
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/projects/FRAUD/members"
    account = db_session.scalar(select(Account).where(Account.email == "ghost@example.com"))
    assert (account.name, account.password_hash, account.is_admin) == ("Gwen Host", None, False)
    membership = db_session.scalar(select(Membership).where(Membership.account_id == account.id))
    assert (membership.project_id, membership.access) == (team.project.id, "view")
    page = admin.get("/projects/FRAUD/members").get_data(as_text=True)
    assert (
        "Account for ghost@example.com created without a password (set one under Users) and "
        "added with view access." in page
    )


def test_creating_without_a_name_says_so_next_to_the_name_and_changes_nothing(
    app, db_session, team
):
    admin = admin_manager(app, db_session, team)
    response = admin.post_form(
        "/projects/FRAUD/members",
        {
            "action": "create",
            "add-email": "ghost@example.com",
            "add-name": "  ",
            "add-access": "edit",
        },
    )
    assert response.status_code == 422
    section = add_section(response.get_data(as_text=True))
    assert '<span class="error" id="add-name-error">Enter a name.</span>' in section
    assert "Create the account for ghost@example.com" in section  # still offered
    assert db_session.scalar(select(Account).where(Account.email == "ghost@example.com")) is None


def test_creating_an_account_that_exists_creates_nothing(app, db_session, team):
    admin = admin_manager(app, db_session, team)
    response = admin.post_form(
        "/projects/FRAUD/members",
        {
            "action": "create",
            "add-email": "otto@example.com",
            "add-name": "Otto",
            "add-access": "edit",
        },
    )
    assert response.status_code == 422
    assert "An account for otto@example.com already exists." in response.get_data(as_text=True)
    assert (
        db_session.scalar(select(Membership).where(Membership.account_id == team.outsider.id))
        is None
    )


def test_only_a_site_admin_may_create_an_account_here(clients, db_session):
    manager = clients["manage"]
    response = manager.post_form(
        "/projects/FRAUD/members",
        {
            "action": "create",
            "add-email": "ghost@example.com",
            "add-name": "G",
            "add-access": "edit",
        },
    )
    assert response.status_code == 403
    assert db_session.scalar(select(Account).where(Account.email == "ghost@example.com")) is None
    # A manager who is no site admin is not offered the shortcut.
    refused = manager.post_form(
        "/projects/FRAUD/members", {"add-email": "ghost@example.com", "add-access": "edit"}
    )
    assert refused.status_code == 422
    assert "Create the account for" not in refused.get_data(as_text=True)
    assert not re.search(r'value="create"', refused.get_data(as_text=True))
    # Stakeholders and editors may not write here at all.
    for level in ("view", "edit"):
        assert (
            clients[level]
            .post_form(
                "/projects/FRAUD/members", {"action": "create", "add-email": "x@example.com"}
            )
            .status_code
            == 403
        )
