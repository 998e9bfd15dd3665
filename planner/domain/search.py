"""Search across the projects a person is a member of: stories, comments, epics, milestones and
risks, ranked, each with its title and a snippet where the words found are marked.

What the person typed is only ever a list of plain words (never the database's query syntax): on
SQLite each word goes to FTS5 as a quoted string, on PostgreSQL the words are joined with & for
to_tsquery. Either way every word must occur (stemmed: "drifting" finds "drift"; the last word
also as a prefix, as people type: "drif" finds "drift"), a title hit
weighs more than a body hit, and the whole search is one statement whatever the data size.
Membership is checked inside that statement against the live source rows, so a project a person
is not a member of never yields a hit or a snippet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import text
from sqlalchemy.orm import Session

from planner.domain import NotFoundError
from planner.domain.access import story_access
from planner.models import Account, Story
from planner.models.search import FTS_TABLE, KINDS, ROWID_SPAN, TS_CONFIG, pg_vector

QUERY_MAX = 200  # characters
WORDS_MAX = 12  # words searched for; the rest are ignored (and the page says so)
HITS_MAX = 50

# What the database puts around a word it found; turned into <mark> after escaping the text.
OPEN, CLOSE = "\x02", "\x03"

KIND_NAMES = {code: kind for kind, code in KINDS.items()}
_WORD = re.compile(r"\w+")
# Words too common to search for: PostgreSQL's English list (snowball), applied on SQLite too so
# that "the drift model" finds the same things on both.
STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom this
    that these those am is are was were be been being have has had having do does did doing a an
    the and but if or because as until while of at by for with about against between into through
    during before after above below to from up down in out on off over under again further then
    once here there when where why how all any both each few more most other some such no nor not
    only own same so than too very s t can will just don should now""".split()
)
_STORY_KEY = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*-[0-9]{1,9})\s*")


@dataclass(frozen=True)
class Hit:
    """One thing found: what kind, where, and the text to show with the words found marked."""

    kind: str  # story, comment, epic, milestone, risk
    ref_id: int
    project_key: str
    project_name: str
    title: Markup
    snippet: Markup
    score: float
    story_number: int | None = None  # stories, and the story of a comment
    story_title: str | None = None  # the story a comment is on
    epic_key: str | None = None

    @property
    def story_key(self) -> str | None:
        return None if self.story_number is None else f"{self.project_key}-{self.story_number}"


@dataclass(frozen=True)
class SearchResult:
    query: str
    words: list[str]
    hits: list[Hit]
    problem: str | None = None  # why nothing was searched, said to the person
    note: str | None = None  # something worth knowing about what was searched


def words_of(query: str) -> list[str]:
    """Return the plain words of a query (letters and digits), any syntax characters dropped."""
    return _WORD.findall(query)


def story_key_in(query: str) -> str | None:
    """Return the query when it is just a story key (FRAUD-31, any case), upper-cased."""
    match = _STORY_KEY.fullmatch(query)
    return match.group(1).upper() if match else None


def visible_story(session: Session, account: Account, query: str) -> tuple[str, Story] | None:
    """Return (project key, story) when the query is the key of a story the account can see."""
    key = story_key_in(query)
    if key is None:
        return None
    try:
        access, story = story_access(session, account, key)
    except NotFoundError:
        return None
    return access.project.key, story


def search(session: Session, account: Account, query: str) -> SearchResult:
    """Search the account's projects for the query's words; return the best hits, best first."""
    query = query.strip()
    if not query:
        return SearchResult(query, [], [])
    if len(query) > QUERY_MAX:
        return SearchResult(
            query,
            [],
            [],
            problem=f"Search for at most {QUERY_MAX} characters; this is {len(query)}.",
        )
    words = words_of(query)
    if not words:
        return SearchResult(
            query, [], [], problem="Type a word or number to search for: letters and digits."
        )
    note = None
    if len(words) > WORDS_MAX:
        note = f"Only the first {WORDS_MAX} words were searched for."
        words = words[:WORDS_MAX]
    searched = [word for word in words if word.lower() not in STOPWORDS]
    if not searched:
        note = "Only very common words (like “the”) were given: add a more specific word."
        return SearchResult(query, words, [], note=note)
    # The last word is also a prefix, as people type: "drif" finds "drift". Words are \w+ only,
    # so they hold none of either syntax's characters (quotes, &, |, !, :, *, parentheses).
    if session.get_bind().dialect.name == "postgresql":
        terms = [*searched[:-1], f"{searched[-1]}:*"]
        rows = session.execute(
            text(_postgresql_sql()),
            {"words": " & ".join(terms), "account": account.id, "limit": HITS_MAX, **_HEADLINES},
        )
    else:
        match = " ".join([*(f'"{word}"' for word in searched[:-1]), f'"{searched[-1]}"*'])
        rows = session.execute(
            text(_sqlite_sql()),
            {"match": match, "account": account.id, "limit": HITS_MAX, **_MARKS},
        )
    hits = [_hit(row) for row in rows]
    return SearchResult(query, words, hits, note=note)


def marked(fragment: str | None) -> Markup:
    """Return the database's fragment as HTML: the text escaped, the words found in <mark>."""
    fragment = fragment or ""
    parts: list[str] = []
    inside = False
    for piece in re.split(f"([{OPEN}{CLOSE}])", fragment):
        if piece == OPEN and not inside:
            parts.append("<mark>")
            inside = True
        elif piece == CLOSE and inside:
            parts.append("</mark>")
            inside = False
        elif piece not in (OPEN, CLOSE):
            parts.append(str(escape(piece)))
    if inside:
        parts.append("</mark>")
    return Markup("".join(parts))


def _hit(row) -> Hit:
    kind = KIND_NAMES[row.kind]
    return Hit(
        kind=kind,
        ref_id=row.ref_id,
        project_key=row.project_key,
        project_name=row.project_name,
        title=marked(row.title_hl),
        snippet=marked(excerpt(row.body_hl)),
        score=float(row.score),
        story_number=row.story_number,
        story_title=row.story_title if kind == "comment" else None,
        epic_key=row.epic_key,
    )


_MARKS = {"open": OPEN, "close": CLOSE}
_HEADLINES = {
    "title_options": f"HighlightAll=true, StartSel={OPEN}, StopSel={CLOSE}",
    # The whole body, marked, cut to a window in Python (excerpt): ts_headline's own fragments
    # would drop what its parser takes for HTML tags, and that is text people wrote.
    "body_options": f"HighlightAll=true, StartSel={OPEN}, StopSel={CLOSE}",
}
SNIPPET_WORDS, WORDS_BEFORE = 24, 8


def excerpt(fragment: str | None) -> str:
    """Cut a marked text to SNIPPET_WORDS words around its first mark, as FTS5's snippet() does."""
    words = (fragment or "").split()
    first = next((i for i, word in enumerate(words) if OPEN in word), 0)
    start = max(0, min(first - WORDS_BEFORE, len(words) - SNIPPET_WORDS))
    end = start + SNIPPET_WORDS
    text = " ".join(words[start:end])
    return ("…" if start > 0 else "") + text + ("…" if end < len(words) else "")


_MEMBER_PROJECTS = "SELECT project_id FROM membership WHERE account_id = :account"

# Shared by both dialects: from the ranked hits (kind, ref_id, project_id, story_id, score,
# title_hl, body_hl) to what the page shows.
_DISPLAY = """
SELECT hits.kind, hits.ref_id, hits.score, hits.title_hl, hits.body_hl,
       p.key AS project_key, p.name AS project_name,
       st.number AS story_number, st.title AS story_title, e.key AS epic_key
FROM hits
JOIN project p ON p.id = hits.project_id
LEFT JOIN story st ON st.id = hits.story_id
LEFT JOIN epic e ON hits.kind = {epic} AND e.id = hits.ref_id
ORDER BY hits.score DESC, hits.kind, hits.ref_id
"""


def _sqlite_sql() -> str:
    k = KINDS
    span = ROWID_SPAN
    fts = FTS_TABLE
    return f"""
WITH top AS (
  SELECT {fts}.rowid AS rid,
         -bm25({fts}, 5.0, 1.0) AS score,
         coalesce(s.project_id, cs.project_id, e.project_id, m.project_id, r.project_id)
           AS project_id,
         coalesce(s.id, c.story_id) AS story_id
  FROM {fts}
  LEFT JOIN story s ON {fts}.rowid % {span} = {k["story"]} AND s.id = {fts}.rowid / {span}
  LEFT JOIN comment c ON {fts}.rowid % {span} = {k["comment"]} AND c.id = {fts}.rowid / {span}
  LEFT JOIN story cs ON cs.id = c.story_id
  LEFT JOIN epic e ON {fts}.rowid % {span} = {k["epic"]} AND e.id = {fts}.rowid / {span}
  LEFT JOIN milestone m
    ON {fts}.rowid % {span} = {k["milestone"]} AND m.id = {fts}.rowid / {span}
  LEFT JOIN risk r ON {fts}.rowid % {span} = {k["risk"]} AND r.id = {fts}.rowid / {span}
  WHERE {fts} MATCH :match
    AND coalesce(s.project_id, cs.project_id, e.project_id, m.project_id, r.project_id)
        IN ({_MEMBER_PROJECTS})
  ORDER BY score DESC, {fts}.rowid % {span}, {fts}.rowid / {span}
  LIMIT :limit
),
hits AS (
  SELECT top.rid % {span} AS kind, top.rid / {span} AS ref_id, top.project_id, top.story_id,
         top.score,
         highlight({fts}, 0, :open, :close) AS title_hl,
         snippet({fts}, 1, :open, :close, '…', {SNIPPET_WORDS}) AS body_hl
  FROM {fts} JOIN top ON {fts}.rowid = top.rid
  WHERE {fts} MATCH :match
)
{_DISPLAY.format(epic=k["epic"])}
"""


def _postgresql_sql() -> str:
    k = KINDS
    rank = "ts_rank({vector}, q.query, 1)"
    parts = [
        f"""SELECT {k["story"]} AS kind, s.id AS ref_id, s.project_id, s.id AS story_id,
       {rank.format(vector=pg_vector("story", "s."))} AS score,
       s.title AS title, coalesce(s.description, '') AS body
FROM story s, q
WHERE {pg_vector("story", "s.")} @@ q.query AND s.project_id IN ({_MEMBER_PROJECTS})""",
        f"""SELECT {k["comment"]}, c.id, cs.project_id, c.story_id,
       {rank.format(vector=pg_vector("comment", "c."))}, '', c.body
FROM comment c JOIN story cs ON cs.id = c.story_id, q
WHERE {pg_vector("comment", "c.")} @@ q.query AND cs.project_id IN ({_MEMBER_PROJECTS})""",
    ]
    for kind, alias, title in (
        ("epic", "e", "title"),
        ("milestone", "m", "name"),
        ("risk", "r", "title"),
    ):
        parts.append(
            f"""SELECT {k[kind]}, {alias}.id, {alias}.project_id, NULL,
       {rank.format(vector=pg_vector(kind, alias + "."))},
       {alias}.{title}, coalesce({alias}.description, '')
FROM {kind} {alias}, q
WHERE {pg_vector(kind, alias + ".")} @@ q.query
  AND {alias}.project_id IN ({_MEMBER_PROJECTS})"""
        )
    union = "\nUNION ALL\n".join(parts)
    return f"""
WITH q AS (SELECT to_tsquery('{TS_CONFIG}'::regconfig, :words) AS query),
top AS (
{union}
ORDER BY score DESC, kind, ref_id
LIMIT :limit
),
hits AS (
  SELECT top.kind, top.ref_id, top.project_id, top.story_id, top.score,
         ts_headline('{TS_CONFIG}'::regconfig, top.title, q.query, :title_options) AS title_hl,
         ts_headline('{TS_CONFIG}'::regconfig, top.body, q.query, :body_options) AS body_hl
  FROM top, q
)
{_DISPLAY.format(epic=k["epic"])}
"""
