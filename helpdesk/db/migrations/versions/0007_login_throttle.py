"""Login throttling counters and known devices.

Revision ID: 0007_login_throttle
Revises: 0006_message_author_index
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import helpdesk.db.types

revision: str = "0007_login_throttle"
down_revision: str | Sequence[str] | None = "0006_message_author_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", helpdesk.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "known_device",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("known_device") as batch_op:
        batch_op.create_index(batch_op.f("ix_known_device_staff_id"), ["staff_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("known_device") as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_device_staff_id"))
    op.drop_table("known_device")
    op.drop_table("login_throttle")
