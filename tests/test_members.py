"""Members in the domain: whom a manager may add (people who already work on another project they
manage; a site admin: anyone with an account), one refusal that reveals nothing, and the
last-manager rule for updates and removals."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from planner.domain import DomainError, ValidationError
from planner.domain.projects import (
    account_to_add,
    add_member,
    addable_accounts,
    remove_member,
    update_member,
)
from planner.models import Membership
from tests import factories

REFUSAL = (
    "You can't add that address here: managers add people who already work on another "
    "project they manage. A site admin can add anyone with an account, or create one."
)


@pytest.fixture
def world(db_session, team):
    """Maya manages FRAUD (Priya edit, Helen view) and OPS (Otto view, Vera edit, Dan deactivated);
    she only edits LABS, where Lena works; Sid has an account and no project."""
    ops = factories.project(db_session, "OPS", "Operations", owner=team.manager)
    factories.member(db_session, ops, team.outsider, "view")
    vera = factories.account(db_session, "vera@example.com", "Vera Vance")
    factories.member(db_session, ops, vera, "edit")
    dan = factories.account(db_session, "dan@example.com", "Dan Dormant")
    factories.member(db_session, ops, dan, "manage")
    dan.is_active_account = False
    factories.member(db_session, ops, team.editor, "edit")  # Priya is in FRAUD already
    lena = factories.account(db_session, "lena@example.com", "Lena Labs")
    labs = factories.project(db_session, "LABS", "Labs", owner=lena)
    factories.member(db_session, labs, team.manager, "edit")
    factories.account(db_session, "sid@example.com", "Sid Solo")
    db_session.commit()
    return team


def test_addable_people_are_active_members_of_other_projects_i_manage(db_session, world):
    people = addable_accounts(db_session, world.project, world.manager)
    assert [a.email for a in people] == ["otto@example.com", "vera@example.com"]
    # Helen manages nothing: nobody is addable for her.
    assert addable_accounts(db_session, world.project, world.viewer) == []


def test_a_manager_adds_a_teammate_from_another_project(db_session, world):
    account = account_to_add(db_session, world.project, world.manager, "  Vera@Example.COM ")
    assert account.email == "vera@example.com"
    membership = add_member(db_session, world.project, account, access="edit", roles=[])
    assert (membership.project_id, membership.access) == (world.project.id, "edit")


@pytest.mark.parametrize(
    "email",
    [
        "ghost@example.com",  # no account
        "sid@example.com",  # an account on no project
        "lena@example.com",  # works on LABS, which Maya only edits
        "dan@example.com",  # on OPS, but deactivated
    ],
)
def test_every_other_address_gets_the_same_refusal(db_session, world, email):
    with pytest.raises(DomainError) as refused:
        account_to_add(db_session, world.project, world.manager, email)
    assert (refused.value.message, refused.value.field) == (REFUSAL, "email")


def test_a_current_member_is_named_as_one(db_session, world):
    with pytest.raises(DomainError) as refused:
        account_to_add(db_session, world.project, world.manager, "priya@example.com")
    assert refused.value.message == "priya@example.com is already a member of FRAUD."


def test_a_site_admin_adds_anyone_with_an_account(db_session, world):
    admin = factories.account(db_session, "root@example.com", "Site Admin", admin=True)
    assert account_to_add(db_session, world.project, admin, "sid@example.com").name == "Sid Solo"
    assert account_to_add(db_session, world.project, admin, "lena@example.com").name == (
        "Lena Labs"
    )
    with pytest.raises(DomainError) as missing:
        account_to_add(db_session, world.project, admin, "ghost@example.com")
    assert missing.value.message == (
        "There is no account for ghost@example.com yet. Create it under Site admin, then add "
        "it here."
    )


def test_an_address_that_is_not_one_is_a_field_error(db_session, world):
    with pytest.raises(ValidationError) as invalid:
        account_to_add(db_session, world.project, world.manager, "not an address")
    assert invalid.value.errors == {"email": "'not an address' is not an email address."}


def _membership(db_session, project, account) -> Membership:
    return db_session.scalar(
        select(Membership)
        .where(Membership.project_id == project.id, Membership.account_id == account.id)
        .options(selectinload(Membership.role_rows))
    )


def test_the_last_manager_can_be_neither_demoted_nor_removed(db_session, team):
    maya = _membership(db_session, team.project, team.manager)
    with pytest.raises(DomainError, match="at least one member with manage access"):
        update_member(db_session, team.project, maya, access="edit", roles=[])
    with pytest.raises(DomainError, match="at least one member with manage access"):
        remove_member(db_session, team.project, maya)
    db_session.rollback()
    # With a second manager, either change is allowed; the second then is the last.
    sam = factories.account(db_session, "sam@example.com", "Sam Second")
    second = factories.member(db_session, team.project, sam, "manage")
    maya = _membership(db_session, team.project, team.manager)
    update_member(db_session, team.project, maya, access="edit", roles=["annotator"])
    assert (maya.access, maya.roles) == ("edit", ["annotator"])
    with pytest.raises(DomainError, match="at least one member with manage access"):
        remove_member(db_session, team.project, second)
    remove_member(db_session, team.project, maya)
    assert _membership(db_session, team.project, team.manager) is None
