"""Site administration: the account rules in the domain, and every admin action through the
pages, for a site admin (it happens) and for everyone else (403, nothing changes)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from planner.domain import DomainError, ValidationError
from planner.domain.accounts import reset_password, set_active
from planner.models import Account
from tests import factories
from tests.conftest import sign_in


@pytest.fixture
def admin(db_session, team):
    account = factories.account(db_session, "root@example.com", "Site Admin", admin=True)
    db_session.commit()
    return account


def test_reset_password_sets_it_and_signs_out_other_sessions(db_session, team):
    before = team.editor.session_token
    reset_password(team.editor, "a brand new secret", hash_method=factories.HASH)
    assert check_password_hash(team.editor.password_hash, "a brand new secret")
    assert team.editor.session_token != before
    with pytest.raises(ValidationError) as short:
        reset_password(team.editor, "short", hash_method=factories.HASH)
    assert short.value.errors == {"password": "Use at least 8 characters."}
    with pytest.raises(ValidationError) as empty:
        reset_password(team.editor, "", hash_method=factories.HASH)
    assert empty.value.errors == {"password": "Enter a password."}


def test_deactivating_ends_sessions_and_reactivating_restores(db_session, team, admin):
    before = team.editor.session_token
    set_active(db_session, team.editor, False, by=admin)
    assert team.editor.is_active_account is False
    assert team.editor.session_token != before
    set_active(db_session, team.editor, True, by=admin)
    assert team.editor.is_active_account is True


def test_nobody_deactivates_themselves_and_the_last_admin_stays(db_session, team, admin):
    with pytest.raises(DomainError, match="You cannot deactivate your own account."):
        set_active(db_session, admin, False, by=admin)
    other = factories.account(db_session, "root2@example.com", "Second Admin", admin=True)
    set_active(db_session, admin, False, by=other)  # another active admin remains
    with pytest.raises(DomainError, match="at least one active site admin"):
        set_active(db_session, other, False, by=team.manager)


# (form fields, what must have happened to Priya's account)
ACTIONS = {
    "password": (
        {"action": "password", "password": "set by the admin"},
        lambda a: check_password_hash(a.password_hash, "set by the admin"),
    ),
    "deactivate": ({"action": "deactivate"}, lambda a: a.is_active_account is False),
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("who", ["admin", "manage", "edit", "view", "none"])
def test_admin_actions_for_admins_only(app, db_session, clients, team, admin, action, who):
    client = sign_in(app, admin) if who == "admin" else clients[who]
    fields, effect = ACTIONS[action]
    response = client.post_form(f"/admin/users/{team.editor.id}", fields)
    db_session.expire_all()
    priya = db_session.get(Account, team.editor.id)
    if who == "admin":
        assert response.status_code == 302
        assert effect(priya)
    else:
        assert response.status_code == 403
        assert not effect(priya)


def test_reactivation_and_account_creation_for_admins_only(app, db_session, clients, team, admin):
    dora = factories.account(db_session, "dora@example.com", "Dora Dormant")
    dora.is_active_account = False
    db_session.commit()
    for level in ("manage", "edit", "view", "none"):
        assert (
            clients[level].post_form(f"/admin/users/{dora.id}", {"action": "activate"})
        ).status_code == 403
        created = clients[level].post_form(
            "/admin/users", {"email": "new@example.com", "name": "New Person"}
        )
        assert created.status_code == 403
    db_session.expire_all()
    assert db_session.get(Account, dora.id).is_active_account is False
    assert db_session.scalar(select(Account.id).where(Account.email == "new@example.com")) is None
    client = sign_in(app, admin)
    assert client.post_form(f"/admin/users/{dora.id}", {"action": "activate"}).status_code == 302
    assert (
        client.post_form(
            "/admin/users", {"email": "new@example.com", "name": "New Person"}
        ).status_code
        == 302
    )
    db_session.expire_all()
    assert db_session.get(Account, dora.id).is_active_account is True
    assert db_session.scalar(select(Account.name).where(Account.email == "new@example.com")) == (
        "New Person"
    )


def test_admin_refusals_are_messages_not_errors(app, db_session, admin):
    client = sign_in(app, admin)
    page = client.post_form(
        f"/admin/users/{admin.id}", {"action": "deactivate"}, follow_redirects=True
    )
    assert page.status_code == 200
    assert "You cannot deactivate your own account." in page.get_data(as_text=True)
    short = client.post_form(
        f"/admin/users/{admin.id}",
        {"action": "password", "password": "short"},
        follow_redirects=True,
    )
    assert "Use at least 8 characters." in short.get_data(as_text=True)
    unknown = client.post_form(f"/admin/users/{admin.id}", {"action": "explode"})
    assert unknown.status_code == 400
    assert client.post_form("/admin/users/999999", {"action": "activate"}).status_code == 404
