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

from sqlalchemy import ColumnElement, Subquery, column, func, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import col

from helpdesk.db.tables import Message, Ticket

SEARCH_TABLE = "ticket_search"
HEADLINE_CHARS = 20_000  # of a ticket's message text, read for its fragment
PG_CONFIG = "helpdesk_fr"
CANDIDATES = 500  # most recent matching tickets ranked by a search (ten pages)

_pg = table(SEARCH_TABLE, column("ticket_id"), column("doc"))
_fts = table(SEARCH_TABLE, column("rowid"))


def is_search_table(name: str | None) -> bool:
    """The index's tables (and FTS5's shadow tables), which the models do not describe."""
    return name is not None and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: autogenerate neither creates nor drops the index's tables."""
    return not (type_ == "table" and is_search_table(name))


def _tsquery(words: str) -> ColumnElement[object]:
    return func.plainto_tsquery(literal_column(f"'{PG_CONFIG}'::regconfig"), words)


def ranked_page(
    dialect: str, pg_text: str, fts5_query: str, conditions: Sequence[ColumnElement[bool]], limit: int, offset: int
) -> Subquery:
    """One page of matching tickets that meet ``conditions``: columns ``id`` and ``score`` (lower is better).

    Only the ``CANDIDATES`` most recent matches (after the filters) are ranked: a common word matches a
    quarter of the tickets, and scoring them all would cost each search a pass over tens of thousands of
    documents. Both indexes walk the matches newest first and stop there (FTS5 by rowid, PostgreSQL by
    the primary key or a top-N sort of the GIN matches, as the planner prefers).
    """
    if dialect == "postgresql":
        query = _tsquery(pg_text)
        recent = (select(_pg.c.ticket_id.label("id")).select_from(_pg.join(Ticket, col(Ticket.id) == _pg.c.ticket_id))
                  .where(_pg.c.doc.op("@@")(query), *conditions)
                  .order_by(_pg.c.ticket_id.desc()).limit(CANDIDATES).subquery())
        scored = _pg.alias("scored")
        score = (-func.ts_rank_cd(scored.c.doc, query)).label("score")
        return (select(recent.c.id, score).join(scored, scored.c.ticket_id == recent.c.id)
                .order_by(score, recent.c.id.desc()).limit(limit).offset(offset).subquery())
    bm25 = func.bm25(literal_column(SEARCH_TABLE), 4.0, 2.0, 1.0).label("score")
    newest = (select(col(Ticket.id).label("id"), bm25)
              .select_from(_fts.join(Ticket, col(Ticket.id) == _fts.c.rowid))
              .where(text(f"{SEARCH_TABLE} MATCH :fts5_query").bindparams(fts5_query=fts5_query), *conditions)
              .order_by(_fts.c.rowid.desc()).limit(CANDIDATES).subquery())
    return (select(newest.c.id, newest.c.score).order_by(newest.c.score, newest.c.id.desc())
            .limit(limit).offset(offset).subquery())


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
