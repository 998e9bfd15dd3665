"""Artefact links: a story, an epic or a milestone names an artefact outside planner (an MLflow
run or registered model version, a dataset version, a commit, a document), and shows it with the
live details planner can read (docs/rules.md, "Artefact links").

A link is checked here once for the pages and the API: which fields each kind takes, that URLs
are http(s) and bounded, that text can be stored, and that the owner does not already hold the
same link. Links of many owners load in one query; live details come from planner.mlflow_reader,
whose failures (not installed, no tracking URI, unreachable, no such run) become a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from planner import mlflow_reader
from planner.domain import NotFoundError, ValidationError
from planner.inputs import text_problem
from planner.models import ArtefactLink, Epic, Milestone, Project, Story
from planner.timeutil import iso_utc, utcnow
from planner.vocab import LINK_KINDS

# The fields each kind takes, the first ones required (an MLflow run takes run_id or url).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "mlflow_run": ("run_id", "url", "tracking_uri"),
    "mlflow_model_version": ("name", "version"),
    "dataset": ("uri", "version"),
    "commit": ("url",),
    "document": ("url", "title"),
}
# What makes two links of a kind the same link (a second one on the same owner is refused).
IDENTITY: dict[str, tuple[str, ...]] = {
    "mlflow_run": ("run_id", "tracking_uri"),
    "mlflow_model_version": ("name", "version"),
    "dataset": ("uri", "version"),
    "commit": ("url",),
    "document": ("url",),
}
ALL_FIELDS: tuple[str, ...] = ("run_id", "url", "tracking_uri", "name", "version", "uri", "title")

MAX_LINKS = 50  # per story, epic or milestone: every MLflow link is a read when its page shows
URL_MAX = 2000
TRACKING_URI_MAX = 500
URI_MAX = 1000
NAME_MAX = 200
VERSION_MAX = 200
TITLE_MAX = 200
# MLflow's own rule for an alias; "latest" and v1, v2... are MLflow's reserved words.
ALIAS = re.compile(r"^[\w-]{1,200}$")
RESERVED_ALIAS = re.compile(r"^(latest|[vV]\d+)$")

OWNER_KINDS = ("story", "epic", "milestone")
Owner = Story | Epic | Milestone


def owner_kind(owner: Owner) -> str:
    """ "story", "epic" or "milestone"."""
    if isinstance(owner, Story):
        return "story"
    if isinstance(owner, Epic):
        return "epic"
    if isinstance(owner, Milestone):
        return "milestone"
    raise TypeError(f"{type(owner).__name__} cannot hold links")


def _owner_column(kind: str):
    return {
        "story": ArtefactLink.story_id,
        "epic": ArtefactLink.epic_id,
        "milestone": ArtefactLink.milestone_id,
    }[kind]


def write_level(link: ArtefactLink) -> str:
    """The access that changes a link: edit for stories and epics, manage for milestones (as for
    every other milestone write)."""
    return "manage" if link.milestone_id is not None else "edit"


# --- checking values ---------------------------------------------------------------------------


def url_problem(value: str, *, max_len: int = URL_MAX) -> str | None:
    """Why `value` is not an http(s) address planner stores, or None."""
    if problem := text_problem(value, multiline=False, max_len=max_len):
        return problem
    if re.search(r"\s", value):
        return "Remove the spaces from the address (write a space as %20)."
    try:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return "Enter an address starting with http:// or https://."
        parts.port  # noqa: B018  (a port out of range raises)
    except ValueError:  # "http://[::1" (a bracket left open), a port that cannot be
        return "This is not an address a browser could open: check its host and port."
    return None


def tracking_uri_problem(value: str, *, for_link: bool = False) -> str | None:
    """Why `value` cannot be a project's (or a link's) MLflow tracking URI, or None.

    Only an MLflow server over http(s): a local store (file:, sqlite:, a path) would make planner
    read the server's own disk, so only the site's operator sets one (PLANNER_MLFLOW_TRACKING_URI).
    """
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme not in ("http", "https"):
        return (
            "Enter the http(s) address of your MLflow tracking server, like "
            "https://mlflow.example.com. Local stores (file:, sqlite:, a path) are not accepted "
            "here: the site's operator sets one with PLANNER_MLFLOW_TRACKING_URI."
        )
    if problem := url_problem(value, max_len=TRACKING_URI_MAX):
        return problem
    if "@" in (urlsplit(value).netloc or ""):
        return (
            "Leave the user name and password out of the address: planner shows it to every "
            "member. The site gives MLflow its credentials in the environment."
        )
    # A project's server may be any host until the site lists some; a link naming a server other
    # than its project's needs that server listed (else any editor could make planner call any
    # address).
    if not mlflow_reader.host_allowed(value, when_unset=not for_link):
        return (
            f"planner reads MLflow only from the servers the site allows "
            f"({mlflow_reader.allowed_hosts_text()}); the site's operator adds others to "
            "PLANNER_MLFLOW_ALLOWED_HOSTS."
        )
    return None


def _same_uri(a: str | None, b: str | None) -> bool:
    return (a or "").rstrip("/") == (b or "").rstrip("/")


def _text(
    values: Mapping[str, Any], field: str, max_len: int, errors: dict[str, str], missing: str
) -> str | None:
    raw = values.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors[field] = missing
        return None
    if not isinstance(raw, str):
        errors[field] = "Send text."
        return None
    text = raw.strip()
    if problem := text_problem(text, multiline=False, max_len=max_len):
        errors[field] = problem
        return None
    return text


def _url(
    values: Mapping[str, Any], field: str, errors: dict[str, str], missing: str, max_len: int
) -> str | None:
    text = _text(values, field, max_len, errors, missing)
    if text is not None and (problem := url_problem(text, max_len=max_len)):
        errors[field] = problem
        return None
    return text


def _given(values: Mapping[str, Any], field: str) -> bool:
    value = values.get(field)
    return value is not None and not (isinstance(value, str) and not value.strip())


def check_link(project: Project, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the columns of a link from a client's values, or raise ValidationError with a
    message per field (an unknown kind, a missing or foreign field, a bad address...)."""
    if not isinstance(values, Mapping):
        raise ValidationError({"kind": "Send the link as an object with its kind and fields."})
    kind = values.get("kind")
    if not isinstance(kind, str) or kind not in LINK_KINDS:
        raise ValidationError({"kind": f"Choose a kind: {', '.join(LINK_KINDS)}."})
    errors: dict[str, str] = {}
    allowed = KIND_FIELDS[kind]
    for field in values:
        if field == "kind" or field in allowed:
            continue
        if field in ALL_FIELDS and not _given(values, field):
            continue  # an empty field of another kind (a page's form) says nothing
        takes = " and ".join(allowed) if kind != "mlflow_run" else "run_id or url, tracking_uri"
        errors[str(field)[:80]] = f"A {kind} link takes {takes}; not {field!s:.80}."
    cleaned: dict[str, Any] = {"kind": kind}
    if kind == "mlflow_run":
        _check_run(project, values, cleaned, errors)
    elif kind == "mlflow_model_version":
        cleaned["name"] = _text(
            values, "name", NAME_MAX, errors, "Enter the registered model's name."
        )
        cleaned["version"] = _model_version(values.get("version"), errors)
    elif kind == "dataset":
        uri = _text(values, "uri", URI_MAX, errors, "Enter the dataset's URI.")
        if uri is not None and re.search(r"\s", uri):
            errors["uri"] = "A URI has no spaces (s3://bucket/path, dvc://…, lakefs://…)."
            uri = None
        cleaned["uri"] = uri
        version = values.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version >= 0:
            values = {**values, "version": str(version)}  # a Delta table's version is a number
        cleaned["version"] = _text(
            values,
            "version",
            VERSION_MAX,
            errors,
            "Enter the dataset's version or content hash (a DVC hash, a lakeFS commit, a tag).",
        )
    elif kind == "commit":
        cleaned["url"] = _url(
            values, "url", errors, "Enter the commit's or merge request's address.", URL_MAX
        )
    else:  # document
        cleaned["url"] = _url(values, "url", errors, "Enter the document's address.", URL_MAX)
        cleaned["title"] = _text(
            values, "title", TITLE_MAX, errors, "Enter a title (like Model card v2)."
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_run(
    project: Project, values: Mapping[str, Any], cleaned: dict, errors: dict[str, str]
) -> None:
    has_id, has_url = _given(values, "run_id"), _given(values, "url")
    if not has_id and not has_url:
        errors["run_id"] = "Enter the run's id, or its address in the MLflow UI as url."
        return
    if has_id and has_url:
        errors["url"] = "Give the run's id or its address, not both."
        return
    explicit = None
    if _given(values, "tracking_uri"):
        explicit = _text(values, "tracking_uri", TRACKING_URI_MAX, errors, "")
        if (
            explicit is not None
            and not _same_uri(explicit, mlflow_reader.tracking_uri_for(project))
            and (problem := tracking_uri_problem(explicit, for_link=True))
        ):
            errors["tracking_uri"] = problem
            return
    if has_id:
        run_id = _text(values, "run_id", 64, errors, "")
        if run_id is not None and not mlflow_reader.RUN_ID.match(run_id):
            errors["run_id"] = (
                "An MLflow run id is letters and digits (32 in MLflow's own), up to 64."
            )
            return
        uri = explicit
    else:
        address = _url(values, "url", errors, "", URL_MAX)
        if address is None:
            return
        parsed = mlflow_reader.parse_run_url(address)
        if parsed is None:
            errors["url"] = (
                "This is not a run's address in the MLflow UI "
                "(…/#/experiments/ID/runs/RUN_ID): copy it from the run's page."
            )
            return
        uri, run_id = parsed
        if explicit is not None and not _same_uri(explicit, uri):
            errors["tracking_uri"] = f"The run's address names another server ({uri[:200]})."
            return
        project_uri = mlflow_reader.tracking_uri_for(project)
        if not _same_uri(uri, project_uri) and (
            problem := tracking_uri_problem(uri, for_link=True)
        ):
            errors["url"] = problem
            return
    if run_id is None:
        return
    cleaned["run_id"] = run_id
    project_uri = mlflow_reader.tracking_uri_for(project)
    cleaned["tracking_uri"] = (
        None if uri is None or _same_uri(uri, project_uri) else uri.rstrip("/")
    )


def _model_version(value: Any, errors: dict[str, str]) -> str | None:
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        errors["version"] = "Enter the version number (like 3) or an alias (like champion)."
        return None
    if isinstance(value, int):
        if not 1 <= value <= 2**31 - 1:
            errors["version"] = "A model version number is 1 or more."
            return None
        return str(value)
    if not isinstance(value, str):
        errors["version"] = "Send the version as a number or the alias as text."
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        number = int(text)
        if not 1 <= number <= 2**31 - 1:
            errors["version"] = "A model version number is 1 or more."
            return None
        return str(number)
    if not ALIAS.match(text) or not text.isascii():
        errors["version"] = (
            "An alias is letters, digits, _ and - (up to 200), like champion or prod-candidate."
        )
        return None
    if RESERVED_ALIAS.match(text):
        errors["version"] = f"{text} is reserved by MLflow: give the number, or a real alias."
        return None
    return text


# --- changing links ----------------------------------------------------------------------------


def create_link(
    session: Session,
    project: Project,
    owner: Owner,
    values: Mapping[str, Any],
    *,
    by,
    now: datetime | None = None,
) -> ArtefactLink:
    """Add a link to a story, an epic or a milestone; refuse a repeat of one it holds."""
    if owner.project_id != project.id:
        raise ValueError("the owner belongs to another project")
    cleaned = check_link(project, values)
    kind = owner_kind(owner)
    column = _owner_column(kind)
    existing = list(
        session.scalars(
            select(ArtefactLink).where(column == owner.id, ArtefactLink.project_id == project.id)
        )
    )
    identity = IDENTITY[cleaned["kind"]]
    for other in existing:
        if other.kind == cleaned["kind"] and all(
            (getattr(other, f) or "") == (cleaned.get(f) or "") for f in identity
        ):
            field = identity[0]
            if cleaned["kind"] == "mlflow_run" and _given(values, "url"):
                field = "url"
            raise ValidationError({field: f"This {kind} already links it."})
    if len(existing) >= MAX_LINKS:
        raise ValidationError(
            {"kind": f"A {kind} holds at most {MAX_LINKS} links: remove one first."}
        )
    link = ArtefactLink(
        project_id=project.id,
        kind=cleaned["kind"],
        created_at=now or utcnow(),
        created_by_id=getattr(by, "id", None),
        **{f"{kind}_id": owner.id},
        **{f: v for f, v in cleaned.items() if f != "kind"},
    )
    session.add(link)
    session.flush()
    return link


def delete_link(session: Session, link: ArtefactLink) -> None:
    """Remove a link (the artefact itself is not touched)."""
    session.delete(link)
    session.flush()


def find_link(session: Session, link_id: int) -> tuple[ArtefactLink, str]:
    """The link and its project's key, or NotFoundError."""
    row = session.execute(
        select(ArtefactLink, Project.key)
        .join(Project, Project.id == ArtefactLink.project_id)
        .where(ArtefactLink.id == link_id)
    ).first()
    if row is None:
        raise NotFoundError(f"No link {link_id}.")
    return row[0], row[1]


# --- reading links -----------------------------------------------------------------------------


def links_of(
    session: Session, kind: str, owner_ids: Iterable[int]
) -> dict[int, list[ArtefactLink]]:
    """The links of many stories, epics or milestones (`kind`), in one query: owner id -> links
    in the order they were added."""
    ids = sorted(set(owner_ids))
    found: dict[int, list[ArtefactLink]] = {owner_id: [] for owner_id in ids}
    if not ids:
        return found
    column = _owner_column(kind)
    for link in session.scalars(
        select(ArtefactLink)
        .where(column.in_(ids))
        .options(joinedload(ArtefactLink.created_by))
        .order_by(ArtefactLink.id)
    ):
        found[getattr(link, f"{kind}_id")].append(link)
    return found


def links_of_owner(session: Session, owner: Owner) -> list[ArtefactLink]:
    """One owner's links (one query)."""
    return links_of(session, owner_kind(owner), [owner.id])[owner.id]


@dataclass(frozen=True)
class LinkView:
    """A link with what planner could read about it: `details` (a RunDetails or
    ModelVersionDetails; None for other kinds or on failure) and `error` (why not, or None)."""

    link: ArtefactLink
    details: Any = None
    error: str | None = None

    @property
    def kind(self) -> str:
        return self.link.kind

    def as_json(self) -> dict[str, Any]:
        link = self.link
        body: dict[str, Any] = {"id": link.id, "kind": link.kind}
        for field in KIND_FIELDS[link.kind]:
            if field == "url" and link.kind == "mlflow_run":
                continue  # a run given by its address is stored as run id + tracking URI
            body[field] = getattr(link, field)
        body["created_at"] = iso_utc(link.created_at)
        body["created_by"] = link.created_by.email if link.created_by else None
        body["details"] = self.details.as_json() if self.details is not None else None
        body["error"] = self.error
        return body


def live(project: Project, links: Iterable[ArtefactLink]) -> list[LinkView]:
    """Each link with its live details: MLflow runs and model versions are read through
    planner.mlflow_reader (cached, quick to give up); other kinds have none."""
    default_uri = mlflow_reader.tracking_uri_for(project)
    views: list[LinkView] = []
    for link in links:
        if link.kind not in ("mlflow_run", "mlflow_model_version"):
            views.append(LinkView(link))
            continue
        reader = mlflow_reader.Reader(link.tracking_uri or default_uri)
        try:
            if link.kind == "mlflow_run":
                details = reader.run(link.run_id or "")
            else:
                details = reader.model_version(link.name or "", link.version or "")
        except mlflow_reader.MlflowError as error:
            views.append(LinkView(link, error=str(error)))
        else:
            views.append(LinkView(link, details=details))
    return views


@dataclass(frozen=True)
class RunRead:
    """One linked MLflow run as read now: its details, or the reader's message."""

    link: ArtefactLink  # the first link of this run
    uri: str | None  # the tracking URI it was read from
    details: mlflow_reader.RunDetails | None
    error: str | None


def read_runs(project: Project, links: Iterable[ArtefactLink]) -> list[RunRead]:
    """Each distinct MLflow run among `links` read once, in link order: the same run (same
    tracking URI, same run id) linked twice counts as its first link. The one place outcome
    proposals and metric trends read runs."""
    default = mlflow_reader.tracking_uri_for(project)
    seen: set[tuple[str | None, str]] = set()
    reads: list[RunRead] = []
    for link in links:
        if link.kind != "mlflow_run" or not link.run_id:
            continue
        uri = link.tracking_uri or default
        if (uri, link.run_id) in seen:
            continue
        seen.add((uri, link.run_id))
        try:
            reads.append(RunRead(link, uri, mlflow_reader.Reader(uri).run(link.run_id), None))
        except mlflow_reader.MlflowError as error:
            reads.append(RunRead(link, uri, None, str(error)))
    return reads


def live_json(project: Project, links: Iterable[ArtefactLink]) -> list[dict[str, Any]]:
    """The API's "links" of one owner."""
    return [view.as_json() for view in live(project, links)]
