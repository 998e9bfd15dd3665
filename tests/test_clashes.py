"""A unique-constraint clash that gets past a domain check (two identical submissions at the same
moment) is answered 409 with a message and nothing saved, for pages and the API alike, never 500.
The clash here is real: the view inserts a duplicate account and the database refuses it."""

from __future__ import annotations

from sqlalchemy import func, select

from planner import db
from planner.models import Account


def _duplicate_insert():
    session = db.session()
    session.add(Account(email="twice@example.com", name="First"))
    session.flush()
    session.add(Account(email="twice@example.com", name="Second"))
    session.flush()  # IntegrityError from the real database
    return "unreachable"


def test_a_clash_is_a_409_not_a_500(app, client, db_session):
    app.add_url_rule("/clash-page", "clash_page", _duplicate_insert)
    app.add_url_rule("/api/v1/clash", "clash_api", _duplicate_insert)
    page = client.get("/clash-page")
    assert page.status_code == 409
    assert "Someone saved the same thing at the same moment" in page.get_data(as_text=True)
    api = client.get("/api/v1/clash")
    assert api.status_code == 409
    assert api.json["error"]["code"] == "conflict"
    assert db_session.scalar(select(func.count()).select_from(Account)) == 0
