"""The requester portal: sign-in link tokens, requester sessions, the organisation's sharing flag.

Revision ID: 0009_portal
Revises: 0008_faq_proposals
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import helpdesk.db.types

revision: str = "0009_portal"
down_revision: str | Sequence[str] | None = "0008_faq_proposals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_token",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_portal_token")),
    )
    with op.batch_alter_table("portal_token") as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_token_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_token_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "portal_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=op.f("fk_portal_session_contact_id_contact")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
    )
    with op.batch_alter_table("portal_session") as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_session_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_portal_session_expires_at"), ["expires_at"], unique=False)
    with op.batch_alter_table("organization") as batch_op:
        batch_op.add_column(sa.Column("portal_shared", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("organization") as batch_op:
        batch_op.drop_column("portal_shared")
    with op.batch_alter_table("portal_session") as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_portal_session_contact_id"))
    op.drop_table("portal_session")
    with op.batch_alter_table("portal_token") as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_token_expires_at"))
        batch_op.drop_index(batch_op.f("ix_portal_token_email"))
    op.drop_table("portal_token")
