"""The full-text index of tickets (table ticket_search, built by migration 0010): queries on both backends.

One search document per ticket (subject, requester and organisation, the text of every message),
kept in step by triggers in the transaction of each write. This module only reads it:

- PostgreSQL: ``doc @@ plainto_tsquery('helpdesk_fr', text)`` on a GIN index, ranked by
  ``ts_rank_cd``. ``plainto_tsquery`` reads any text as an AND of its
  words (operators are ignored), and the parser is the one that built the document.
- SQLite: FTS5 ``MATCH`` with an AND of quoted stem prefixes (``"deliber"*`` finds délibération,
  délibérations, délibérer), ranked by ``bm25()``. Stemming on the query
  side keeps the index pure SQL: triggers, ``sqlite3`` on the command line and ``helpdesk db copy``
  need no Python function registered on the connection.

Highlights are made in Python from the texts of the page shown (``message_text``), with the same terms
the SQLite query uses: one rule, both databases, and no second full-text pass per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Subquery,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import col

from helpdesk.db.tables import Message, Ticket

SEARCH_TABLE = "ticket_search"
HEADLINE_CHARS = 20_000  # of a ticket's message text, read for its fragment
PG_CONFIG = "helpdesk_fr"
CANDIDATES = 500  # most recent matching tickets ranked by a search (ten pages)
FEW_MATCHES = 5000  # PostgreSQL: up to this many matches, read them all from the GIN index (_pg_recent)

_pg = table(SEARCH_TABLE, column("ticket_id"), column("doc"))
_fts = table(SEARCH_TABLE, column("rowid"))


def is_search_table(name: str | None) -> bool:
    """The index's tables (and FTS5's shadow tables), which the models do not describe."""
    return name is not None and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: autogenerate neither creates nor drops the index's tables."""
    return not (type_ == "table" and is_search_table(name))


# The statement of a search reads its values from these bound parameters (``parameters()``): it is
# built once per set of filters and reused, its SQL compiled once and its PostgreSQL plan cached.
_PG_TEXT = bindparam("search_pg_text", type_=String)
_FTS5_QUERY = bindparam("search_fts5_query", type_=String)
_LIMIT = bindparam("search_limit", type_=Integer, literal_execute=True)
_OFFSET = bindparam("search_offset", type_=Integer, literal_execute=True)
_CANDIDATES = bindparam("search_candidates", type_=Integer, literal_execute=True)
_FEW_MATCHES = bindparam("search_few_matches", type_=Integer, literal_execute=True)


def parameters(pg_text: str, fts5_query: str, limit: int, offset: int) -> dict[str, object]:
    """The values of ``ranked_page``'s statement for one search."""
    return {"search_pg_text": pg_text, "search_fts5_query": fts5_query, "search_limit": limit,
            "search_offset": offset, "search_candidates": CANDIDATES, "search_few_matches": FEW_MATCHES}


def ranked_page(dialect: str, conditions: Sequence[ColumnElement[bool]]) -> Subquery:
    """One page of matching tickets that meet ``conditions``: columns ``id`` and ``score`` (lower is better);
    the words, the page and its size are bound parameters (``parameters()``).

    Only the ``CANDIDATES`` most recent matches (after the filters) are ranked: a common word matches a
    quarter of the tickets, and scoring them all would cost each search a pass over tens of thousands of
    documents. FTS5 walks its matches newest first (by rowid) and stops there; PostgreSQL, see ``_pg_recent``.
    """
    if dialect == "postgresql":
        recent = _pg_recent(conditions)
        scored = _pg.alias("scored")
        score = (-func.ts_rank_cd(scored.c.doc, _tsquery_once())).label("score")
        return (select(recent.c.id, score).join(scored, scored.c.ticket_id == recent.c.id)
                .order_by(score, recent.c.id.desc()).limit(_LIMIT).offset(_OFFSET).subquery())
    bm25 = func.bm25(literal_column(SEARCH_TABLE), 4.0, 2.0, 1.0).label("score")
    newest = (select(col(Ticket.id).label("id"), bm25)
              .select_from(_fts.join(Ticket, col(Ticket.id) == _fts.c.rowid))
              .where(literal_column(SEARCH_TABLE).op("MATCH")(_FTS5_QUERY), *conditions)
              .order_by(_fts.c.rowid.desc()).limit(_CANDIDATES).subquery())
    return (select(newest.c.id, newest.c.score).order_by(newest.c.score, newest.c.id.desc())
            .limit(_LIMIT).offset(_OFFSET).subquery())


def _tsquery_once() -> ColumnElement[Any]:
    """The query as an InitPlan: evaluated once per statement. Written inline with a bound parameter,
    ``plainto_tsquery`` would run again for every row a generic plan reads (asyncpg prepares statements,
    and PostgreSQL caches a generic plan from their sixth execution): 0.8 µs a row, 80 ms on a walk
    through 100,000 documents."""
    return select(func.plainto_tsquery(literal_column(f"'{PG_CONFIG}'::regconfig"), _PG_TEXT)).scalar_subquery()


def _pg_recent(conditions: Sequence[ColumnElement[bool]]) -> Subquery:
    """The ``CANDIDATES`` most recent matches meeting ``conditions`` (column ``id``), by one of two plans
    chosen while the statement runs, so that the one plan PostgreSQL caches suits every search:

    - fewer than ``FEW_MATCHES`` documents match (a rare word, two words, a person): all of them, read
      from the GIN index, sorted newest first, filtered until ``CANDIDATES`` are found;
    - more (a common word): the documents walked newest first by primary key, each tested, until
      ``CANDIDATES`` meet the conditions; with that many matches the walk is short (about
      ``CANDIDATES`` × tickets ÷ matches documents, more if the filters are narrow).

    The walk tests ``ts_match_vq(doc, q)`` (the function behind ``@@``), which no index serves: the
    planner cannot trade the walk for a scan of every match, whatever it guesses of the words.
    """
    query = _tsquery_once()
    matched = (select(_pg.c.ticket_id).where(_pg.c.doc.op("@@")(query)).limit(_FEW_MATCHES)
               .cte("matched").prefix_with("MATERIALIZED"))
    few = select(func.count()).select_from(matched).scalar_subquery() < _FEW_MATCHES
    newest = select(matched.c.ticket_id.label("id")).order_by(matched.c.ticket_id.desc()).subquery("newest")
    from_index = (select(newest.c.id).select_from(newest.join(_passes(newest.c.id, conditions), true()))
                  .where(few).order_by(newest.c.id.desc()).limit(_CANDIDATES))
    walked = (select(_pg.c.ticket_id.label("id"))
              .select_from(_pg.join(_passes(_pg.c.ticket_id, conditions), true()))
              .where(~few, func.ts_match_vq(_pg.c.doc, query))
              .order_by(_pg.c.ticket_id.desc()).limit(_CANDIDATES))
    return union_all(from_index, walked).subquery("recent")


def _passes(ticket_id: ColumnElement[Any], conditions: Sequence[ColumnElement[bool]]) -> Any:
    """The ticket ``ticket_id`` if it meets ``conditions``: a LATERAL look-up by primary key, which the
    planner cannot turn into a join reading every ticket (a hash join over the 50,000 open tickets, 28 ms,
    where the newest-first order needs only the first few hundred)."""
    return (select(literal_column("1").label("passes")).select_from(Ticket)
            .where(col(Ticket.id) == ticket_id, *conditions).limit(literal_column("1")).lateral("passes"))


def message_text(dialect: str, ticket_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """The first ``HEADLINE_CHARS`` of a ticket's message text, for its fragment: read from the index's own
    copy on SQLite (a rowid look-up; ``snippet()`` would evaluate the whole MATCH again for every row),
    from the messages on PostgreSQL."""
    if dialect == "postgresql":
        joined = func.string_agg(col(Message.visible_text),
                                 aggregate_order_by(literal_column("E'\\n'"), col(Message.id)))
        return (select(func.left(joined, HEADLINE_CHARS))
                .where(col(Message.ticket_id) == ticket_id).scalar_subquery())
    body = table(SEARCH_TABLE, column("rowid"), column("body")).alias("shown")
    return select(func.substr(body.c.body, 1, HEADLINE_CHARS)).where(body.c.rowid == ticket_id).scalar_subquery()
