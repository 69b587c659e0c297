"""The full-text index of tickets (table ticket_search, built by migration 0010): queries on both backends.

One search document per ticket (subject, requester and organisation, the text of every message),
kept in step by triggers in the transaction of each write. This module only reads it:

- PostgreSQL: ``doc @@ plainto_tsquery('helpdesk_fr', text)`` on a GIN index, ranked by
  ``ts_rank_cd``, fragments by ``ts_headline``. ``plainto_tsquery`` reads any text as an AND of its
  words (operators are ignored), and the parser is the one that built the document.
- SQLite: FTS5 ``MATCH`` with an AND of quoted stem prefixes (``"deliber"*`` finds délibération,
  délibérations, délibérer), ranked by ``bm25()``, fragments by ``snippet()``. Stemming on the query
  side keeps the index pure SQL: triggers, ``sqlite3`` on the command line and ``helpdesk db copy``
  need no Python function registered on the connection.

Fragments come back with the matched words between ``MARK_START`` and ``MARK_END`` (control
characters that the text cannot usefully contain); the caller escapes the text, then turns them
into ``<mark>`` elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.db.tables import Message, Ticket

SEARCH_TABLE = "ticket_search"
MARK_START, MARK_END = "\x02", "\x03"
HEADLINE_CHARS = 20_000  # of a ticket's message text, for its fragment (PostgreSQL parses it whole)
PG_CONFIG = "helpdesk_fr"
CANDIDATES = 2000  # most recent matching tickets ranked by a search

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


def ranked_ids(
    dialect: str, pg_text: str, fts5_query: str, conditions: Sequence[ColumnElement[bool]], limit: int, offset: int
) -> Select[Any]:
    """The ids of the matching tickets that meet ``conditions``, best first.

    Only the ``CANDIDATES`` most recent matches are ranked: a common word matches a quarter of the
    tickets, and scoring them all would cost each search a pass over tens of thousands of documents.
    Both indexes walk matches newest first and stop there (FTS5 by rowid, PostgreSQL by the primary key
    or a top-N sort of the GIN matches).
    """
    if dialect == "postgresql":
        query = _tsquery(pg_text)
        recent = (select(_pg.c.ticket_id.label("id")).select_from(_pg.join(Ticket, col(Ticket.id) == _pg.c.ticket_id))
                  .where(_pg.c.doc.op("@@")(query), *conditions)
                  .order_by(_pg.c.ticket_id.desc()).limit(CANDIDATES).subquery())
        scored = _pg.alias("scored")
        return (select(recent.c.id).join(scored, scored.c.ticket_id == recent.c.id)
                .order_by(func.ts_rank_cd(scored.c.doc, query).desc(), recent.c.id.desc())
                .limit(limit).offset(offset))
    score = func.bm25(literal_column(SEARCH_TABLE), 4.0, 2.0, 1.0).label("score")
    newest = (select(col(Ticket.id).label("id"), score)
              .select_from(_fts.join(Ticket, col(Ticket.id) == _fts.c.rowid))
              .where(text(f"{SEARCH_TABLE} MATCH :fts5_query").bindparams(fts5_query=fts5_query), *conditions)
              .order_by(_fts.c.rowid.desc()).limit(CANDIDATES).subquery())
    return select(newest.c.id).order_by(newest.c.score, newest.c.id.desc()).limit(limit).offset(offset)


async def fragments(
    s: AsyncSession, dialect: str, pg_text: str, fts5_query: str, ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """(subject, message fragment) of each ticket shown, with marks around the matched words."""
    if not ids:
        return {}
    if dialect == "postgresql":
        query = _tsquery(pg_text)
        marks = f"StartSel={MARK_START}, StopSel={MARK_END}"
        joined = func.string_agg(col(Message.visible_text),
                                 aggregate_order_by(literal_column("E'\\n'"), col(Message.id)))
        body = (select(func.left(joined, HEADLINE_CHARS))
                .where(col(Message.ticket_id) == col(Ticket.id)).scalar_subquery())
        cfg: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")
        rows = (await s.execute(select(
            col(Ticket.id),
            func.ts_headline(cfg, col(Ticket.subject), query, f"HighlightAll=true, {marks}"),
            func.ts_headline(cfg, func.coalesce(body, ""), query,
                             f"MaxFragments=2, MaxWords=18, MinWords=6, FragmentDelimiter=\" … \", {marks}"),
        ).where(col(Ticket.id).in_(ids)))).all()
        return {int(i): (subject or "", fragment or "") for i, subject, fragment in rows}
    stmt = text(
        "SELECT rowid, snippet(ticket_search, 0, :a, :b, '…', 64), snippet(ticket_search, 2, :a, :b, '…', 24)"
        " FROM ticket_search WHERE ticket_search MATCH :q AND rowid IN (SELECT value FROM json_each(:ids))"
    ).bindparams(a=MARK_START, b=MARK_END, q=fts5_query, ids="[" + ",".join(str(int(i)) for i in ids) + "]")
    return {int(i): (subject or "", fragment or "") for i, subject, fragment in (await s.execute(stmt)).all()}
