"""Index inbound messages by their author: the acknowledgement loop guard counts a sender's recent messages.

Revision ID: 0006_message_author_index
Revises: 0005_merge
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_message_author_index"
down_revision: str | Sequence[str] | None = "0005_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.create_index(batch_op.f("ix_message_author_contact_id"), ["author_contact_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_author_contact_id"))
