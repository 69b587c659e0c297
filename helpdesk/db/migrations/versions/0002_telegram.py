"""telegram channel: stored updates, chat state, FAQ suggestions and feedback

Revision ID: 0002_telegram
Revises: 0001_core
Create Date: 2026-11-27 03:09:57.257452
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import helpdesk.db.types

revision: str = '0002_telegram'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('telegram_update',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_telegram_update'))
    )
    with op.batch_alter_table('telegram_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_update_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_telegram_update_status'), ['status'], unique=False)

    op.create_table('telegram_chat',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('current_ticket_id', sa.Integer(), nullable=True),
    sa.Column('new_question', sa.Boolean(), nullable=False),
    sa.Column('asked_identity', sa.Boolean(), nullable=False),
    sa.Column('transcript', sa.JSON(), nullable=False),
    sa.Column('pending_email', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('organization', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('code_expires_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['current_ticket_id'], ['ticket.id'],
                            name=op.f('fk_telegram_chat_current_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_telegram_chat'))
    )

    op.create_table('chat_suggestion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('query', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('entry_ids', sa.JSON(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_suggestion'))
    )
    with op.batch_alter_table('chat_suggestion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_suggestion_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_suggestion_created_at'), ['created_at'], unique=False)

    op.create_table('faq_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('suggestion_id', sa.Integer(), nullable=True),
    sa.Column('query', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['suggestion_id'], ['chat_suggestion.id'],
                            name=op.f('fk_faq_feedback_suggestion_id_chat_suggestion')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_feedback')),
    sa.UniqueConstraint('suggestion_id', 'entry_id', name='uq_faq_feedback_suggestion_entry')
    )
    with op.batch_alter_table('faq_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_feedback_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_faq_feedback_entry_id'), ['entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('faq_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_feedback_entry_id'))
        batch_op.drop_index(batch_op.f('ix_faq_feedback_created_at'))
    op.drop_table('faq_feedback')
    with op.batch_alter_table('chat_suggestion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_suggestion_created_at'))
        batch_op.drop_index(batch_op.f('ix_chat_suggestion_chat_id'))
    op.drop_table('chat_suggestion')
    op.drop_table('telegram_chat')
    with op.batch_alter_table('telegram_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_update_status'))
        batch_op.drop_index(batch_op.f('ix_telegram_update_chat_id'))
    op.drop_table('telegram_update')
