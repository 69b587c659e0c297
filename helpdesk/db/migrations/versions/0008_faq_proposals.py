"""FAQ learning from use: proposed wordings (faq_proposal) and the entries' provenance kept for export.

Revision ID: 0008_faq_proposals
Revises: 0007_login_throttle
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import helpdesk.db.types

revision: str = "0008_faq_proposals"
down_revision: str | Sequence[str] | None = "0007_login_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("wording", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("wording_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("created_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_proposal")),
        sa.UniqueConstraint("entry_id", "wording_key", name="uq_faq_proposal_entry_wording"),
    )
    with op.batch_alter_table("faq_proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faq_proposal_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_faq_proposal_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_faq_proposal_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("kb_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sources", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("reviewed", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column("replaces", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("kb_entry", schema=None) as batch_op:
        batch_op.drop_column("replaces")
        batch_op.drop_column("reviewed")
        batch_op.drop_column("sources")
    with op.batch_alter_table("faq_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faq_proposal_created_at"))
        batch_op.drop_index(batch_op.f("ix_faq_proposal_status"))
        batch_op.drop_index(batch_op.f("ix_faq_proposal_entry_id"))
    op.drop_table("faq_proposal")
