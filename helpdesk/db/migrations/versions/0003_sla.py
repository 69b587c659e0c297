"""SLA policies and calendars, routing rules, SLA notifications, satisfaction ratings

Revision ID: 0003_sla
Revises: 0001_core
Create Date: 2026-11-27 03:11:26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import helpdesk.db.types

revision: str = '0003_sla'
down_revision: str | Sequence[str] | None = '0001_core'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sla_calendar',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('holidays_country', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_calendar')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_calendar_name'))
    )
    op.create_table('routing_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('organizations', sa.JSON(), nullable=False),
    sa.Column('pays', sa.JSON(), nullable=False),
    sa.Column('organization_kinds', sa.JSON(), nullable=False),
    sa.Column('faq_tags', sa.JSON(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('assign', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('sla_policy', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('stop', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_routing_rule_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rule'))
    )
    with op.batch_alter_table('routing_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rule_position'), ['position'], unique=False)

    op.create_table('sla_closure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['sla_calendar.id'], name=op.f('fk_sla_closure_calendar_id_sla_calendar')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_closure'))
    )
    with op.batch_alter_table('sla_closure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_closure_calendar_id'), ['calendar_id'], unique=False)

    op.create_table('sla_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('calendar_id', sa.Integer(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('warn_ratio', sa.Float(), nullable=False),
    sa.Column('pending_reminder_days', sa.Integer(), nullable=False),
    sa.Column('auto_close_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['sla_calendar.id'], name=op.f('fk_sla_policy_calendar_id_sla_calendar')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policy')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_policy_name'))
    )
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_rating_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_rating_ticket_id'))
    )
    op.create_table('sla_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('threshold', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', helpdesk.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_sla_notification_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_notification')),
    sa.UniqueConstraint('ticket_id', 'target', 'threshold', name='uq_sla_notification_ticket_target_threshold')
    )
    with op.batch_alter_table('sla_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_notification_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sla_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_notification_ticket_id'))
    op.drop_table('sla_notification')
    op.drop_table('rating')
    op.drop_table('sla_policy')
    with op.batch_alter_table('sla_closure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_closure_calendar_id'))
    op.drop_table('sla_closure')
    with op.batch_alter_table('routing_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rule_position'))
    op.drop_table('routing_rule')
    op.drop_table('sla_calendar')
