"""API: share links, the read-only dashboard for people without an account (manage access)."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.sharing import (
    create_share_link,
    link_state,
    revoke_share_link,
    share_links_of,
    sharers,
)
from planner.models import Account, ShareLink
from planner.timeutil import iso_utc, local_date, utcnow
from planner.urls import absolute_url


def link_json(link: ShareLink, emails: dict[int, str], can_share: set[int], today) -> dict:
    return {
        "id": link.id,
        "label": link.label,
        "prefix": link.prefix,
        "created_by": emails.get(link.created_by_id),
        "created_at": iso_utc(link.created_at),
        "expires_on": link.expires_on.isoformat() if link.expires_on else None,
        "revoked_at": iso_utc(link.revoked_at),
        "state": link_state(link, link.created_by_id in can_share, today),
    }


def _context(access: ProjectAccess):
    session = db.session()
    links = share_links_of(session, access.project)
    ids = {link.created_by_id for link in links if link.created_by_id}
    emails = dict(
        session.execute(select(Account.id, Account.email).where(Account.id.in_(ids))).all()
    )
    today = local_date(utcnow(), access.project.timezone)
    return links, emails, sharers(session, access.project), today


@bp.get("/projects/<key>/share-links")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.ShareLinkList, 403, 404), tags=["sharing"])
def share_links(access: ProjectAccess):
    """The project's share links and whether each still opens the dashboard (manage access)."""
    access.require("manage")
    links, emails, can_share, today = _context(access)
    return jsonify({"links": [link_json(link, emails, can_share, today) for link in links]})


@bp.post("/projects/<key>/share-links")
@project_route(write="manage")
@spec.validate(
    json=schemas.ShareLinkCreate,
    resp=answers(201, schemas.ShareLinkCreated, 400, 403, 404, 422),
    tags=["sharing"],
)
def create_share_link_json(access: ProjectAccess):
    """Make a link that opens the dashboard read-only; its address is in this answer only."""
    session = db.session()
    body = json_body()
    link, token = create_share_link(
        session,
        access.project,
        body["label"],
        by_id=current_user.id,
        now=utcnow(),
        expires_on=body.get("expires_on"),
    )
    session.commit()
    _, emails, can_share, today = _context(access)
    answer = link_json(link, emails, can_share, today)
    answer["url"] = absolute_url("share.dashboard", token=token)
    return jsonify(answer), 201


@bp.delete("/projects/<key>/share-links/<int:link_id>")
@project_route(write="manage")
@spec.validate(resp=answers(204, None, 403, 404, 409), tags=["sharing"])
def revoke_share_link_json(access: ProjectAccess, link_id: int):
    """Revoke a link: it opens nothing from now on (204; 409 when it was revoked already)."""
    session = db.session()
    link = session.scalar(
        select(ShareLink).where(ShareLink.id == link_id, ShareLink.project_id == access.project.id)
    )
    if link is None:
        abort(404)
    revoke_share_link(session, link, now=utcnow())
    session.commit()
    return "", 204
