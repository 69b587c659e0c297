"""Full-text search over tickets: one search document per ticket, kept in step by triggers.

The document of a ticket holds its subject, its requester (name, e-mail) and organisation, and the
visible text of every message (internal notes included: only staff search). Triggers rebuild it in
the transaction that writes a ticket, a message, a contact or an organisation, so every write path
(intake, replies, notes, merge and split, RGPD erasure, ``helpdesk db copy``) keeps it right.

- PostgreSQL: table ticket_search(ticket_id, doc tsvector) with a GIN index; text search
  configuration ``helpdesk_fr`` = ``french`` (Snowball stemming, French stop words), with
  ``unaccent`` in front when the extension can be installed (it is "trusted" since PostgreSQL 13, so
  a database owner needs no superuser); without it the configuration is plain ``french``.
- SQLite: FTS5 table ticket_search(subject, people, body), tokenizer ``unicode61 remove_diacritics 2``,
  prefix indexes of 4 to 9 characters;
  French stemming happens on the query side (helpdesk/db/fulltext.py).

Existing tickets are indexed by the upgrade (backfill).

Caution for later SQLite migrations: ``batch_alter_table`` on ticket, message, contact or
organization recreates the table and drops its triggers; call ``install_sqlite_triggers()`` again.

Revision ID: 0010_ticket_search
Revises: 0008_faq_proposals
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0010_ticket_search"
down_revision: str | Sequence[str] | None = "0009_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BODY_MAX = 100_000  # characters of message text indexed per ticket (a tsvector must stay under 1 MB)

# ---- PostgreSQL -------------------------------------------------------------------------------------

PG_DOC = f"""
    setweight(to_tsvector('helpdesk_fr', coalesce(t.subject, '')), 'A')
    || setweight(to_tsvector('helpdesk_fr', concat_ws(' ', c.name, c.email, translate(c.email, '@.', '  '),
                                                      o.name)), 'B')
    || setweight(to_tsvector('helpdesk_fr', left(coalesce(
         (SELECT string_agg(m.visible_text, E'\\n' ORDER BY m.id) FROM message m WHERE m.ticket_id = t.id), ''),
         {BODY_MAX})), 'C')
"""
PG_FROM = """
    FROM ticket t
    LEFT JOIN contact c ON c.id = t.requester_id
    LEFT JOIN organization o ON o.id = t.organization_id
"""

PG_UP = [
    "CREATE TABLE ticket_search (ticket_id integer PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,"
    " doc tsvector NOT NULL)",
    "CREATE INDEX ix_ticket_search_doc ON ticket_search USING gin (doc)",
    f"""CREATE FUNCTION ticket_search_refresh(tid integer) RETURNS void LANGUAGE sql AS $$
        INSERT INTO ticket_search (ticket_id, doc) SELECT t.id, {PG_DOC} {PG_FROM} WHERE t.id = tid
        ON CONFLICT (ticket_id) DO UPDATE SET doc = EXCLUDED.doc
    $$""",
    """CREATE FUNCTION ticket_search_on_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_search_refresh(NEW.id);
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION ticket_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM ticket_search_refresh(NEW.ticket_id);
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM ticket_search_refresh(OLD.ticket_id);
        ELSE
            PERFORM ticket_search_refresh(NEW.ticket_id);
            IF NEW.ticket_id <> OLD.ticket_id THEN
                PERFORM ticket_search_refresh(OLD.ticket_id);
            END IF;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION ticket_search_on_contact() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_search_refresh(t.id) FROM ticket t WHERE t.requester_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION ticket_search_on_organization() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_search_refresh(t.id) FROM ticket t WHERE t.organization_id = NEW.id;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER ticket_search_ticket AFTER INSERT OR UPDATE OF subject, requester_id, organization_id"
    " ON ticket FOR EACH ROW EXECUTE FUNCTION ticket_search_on_ticket()",
    "CREATE TRIGGER ticket_search_message AFTER INSERT OR DELETE OR UPDATE OF ticket_id, visible_text"
    " ON message FOR EACH ROW EXECUTE FUNCTION ticket_search_on_message()",
    "CREATE TRIGGER ticket_search_contact AFTER UPDATE OF name, email ON contact"
    " FOR EACH ROW EXECUTE FUNCTION ticket_search_on_contact()",
    "CREATE TRIGGER ticket_search_organization AFTER UPDATE OF name ON organization"
    " FOR EACH ROW EXECUTE FUNCTION ticket_search_on_organization()",
    f"INSERT INTO ticket_search (ticket_id, doc) SELECT t.id, {PG_DOC} {PG_FROM}",
]

PG_DOWN = [
    "DROP TRIGGER IF EXISTS ticket_search_organization ON organization",
    "DROP TRIGGER IF EXISTS ticket_search_contact ON contact",
    "DROP TRIGGER IF EXISTS ticket_search_message ON message",
    "DROP TRIGGER IF EXISTS ticket_search_ticket ON ticket",
    "DROP FUNCTION IF EXISTS ticket_search_on_organization()",
    "DROP FUNCTION IF EXISTS ticket_search_on_contact()",
    "DROP FUNCTION IF EXISTS ticket_search_on_message()",
    "DROP FUNCTION IF EXISTS ticket_search_on_ticket()",
    "DROP FUNCTION IF EXISTS ticket_search_refresh(integer)",
    "DROP TABLE IF EXISTS ticket_search",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS helpdesk_fr",
]


def _pg_configuration() -> None:
    """helpdesk_fr: french, behind unaccent when the extension can be installed without superuser."""
    op.execute("CREATE TEXT SEARCH CONFIGURATION helpdesk_fr (COPY = pg_catalog.french)")
    conn = op.get_bind()
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent"))
    except Exception:  # noqa: BLE001 - no right to install it: plain french, accents then matter
        return
    op.execute("ALTER TEXT SEARCH CONFIGURATION helpdesk_fr ALTER MAPPING FOR hword, hword_part, word"
               " WITH unaccent, french_stem")


# ---- SQLite -----------------------------------------------------------------------------------------


def _sqlite_fill(where: str) -> str:
    return f"""INSERT INTO ticket_search (rowid, subject, people, body)
        SELECT t.id, coalesce(t.subject, ''),
               trim(coalesce(c.name, '') || ' ' || coalesce(c.email, '') || ' ' || coalesce(o.name, '')),
               coalesce(substr((SELECT group_concat(visible_text, char(10))
                                FROM (SELECT visible_text FROM message WHERE ticket_id = t.id ORDER BY id)),
                               1, {BODY_MAX}), '')
        FROM ticket t
        LEFT JOIN contact c ON c.id = t.requester_id
        LEFT JOIN organization o ON o.id = t.organization_id
        WHERE {where}"""


def _sqlite_refresh(ticket_id: str, extra: str = "1") -> str:
    """Statements (inside a trigger body) that rebuild one ticket's document."""
    return (f"DELETE FROM ticket_search WHERE rowid = {ticket_id} AND {extra};\n"
            f"{_sqlite_fill(f't.id = {ticket_id} AND {extra}')};\n")


SQLITE_TRIGGERS = {
    "ticket_search_ticket_ai": f"AFTER INSERT ON ticket BEGIN {_sqlite_fill('t.id = NEW.id')}; END",
    "ticket_search_ticket_au": "AFTER UPDATE OF subject, requester_id, organization_id ON ticket BEGIN "
                               f"{_sqlite_refresh('NEW.id')} END",
    "ticket_search_ticket_ad": "AFTER DELETE ON ticket BEGIN DELETE FROM ticket_search WHERE rowid = OLD.id; END",
    "ticket_search_message_ai": f"AFTER INSERT ON message BEGIN {_sqlite_refresh('NEW.ticket_id')} END",
    "ticket_search_message_au": "AFTER UPDATE OF ticket_id, visible_text ON message BEGIN "
                                f"{_sqlite_refresh('NEW.ticket_id')}"
                                f"{_sqlite_refresh('OLD.ticket_id', 'OLD.ticket_id <> NEW.ticket_id')} END",
    "ticket_search_message_ad": f"AFTER DELETE ON message BEGIN {_sqlite_refresh('OLD.ticket_id')} END",
    "ticket_search_contact_au": "AFTER UPDATE OF name, email ON contact BEGIN "
                                "DELETE FROM ticket_search WHERE rowid IN (SELECT id FROM ticket WHERE requester_id = NEW.id); "
                                f"{_sqlite_fill('t.requester_id = NEW.id')}; END",
    "ticket_search_organization_au": "AFTER UPDATE OF name ON organization BEGIN "
                                     "DELETE FROM ticket_search WHERE rowid IN "
                                     "(SELECT id FROM ticket WHERE organization_id = NEW.id); "
                                     f"{_sqlite_fill('t.organization_id = NEW.id')}; END",
}


def install_sqlite_triggers() -> None:
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_configuration()
        for statement in PG_UP:
            op.execute(statement)
        return
    # Prefix indexes for the stem lengths searched as prefixes (4 to 9 letters): a common stem is then
    # read lazily, newest first, instead of merging the doclists of every word that starts with it.
    op.execute("CREATE VIRTUAL TABLE ticket_search USING fts5(subject, people, body,"
               " tokenize = 'unicode61 remove_diacritics 2', prefix = '4 5 6 7 8 9')")
    install_sqlite_triggers()
    op.execute(_sqlite_fill("1"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DOWN:
            op.execute(statement)
        return
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS ticket_search")
