"""subscriptions and the notice webhook queue

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:16:24.015482
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notice_webhook',
    sa.Column('notice_id', sa.String(length=36), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('about', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('given_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('notice_id', name=op.f('pk_notice_webhook'))
    )
    with op.batch_alter_table('notice_webhook', schema=None) as batch_op:
        batch_op.create_index('ix_notice_webhook_sent_at_next_attempt_at', ['sent_at', 'next_attempt_at'], unique=False)

    op.create_table('subscription_event',
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('event_number', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('focus_type', sa.String(length=64), nullable=False),
    sa.Column('focus_id', sa.String(length=64), nullable=False),
    sa.Column('focus_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('subscription_id', 'event_number', name='pk_subscription_event')
    )
    op.create_table('subscription_state',
    sa.Column('subscription_id', sa.String(length=64), nullable=False),
    sa.Column('organization', sa.String(length=77), nullable=False),
    sa.Column('topic', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('events_since_start', sa.BigInteger(), nullable=False),
    sa.Column('delivered', sa.BigInteger(), nullable=False),
    sa.Column('handshake_done', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('subscription_id', name=op.f('pk_subscription_state'))
    )
    with op.batch_alter_table('subscription_state', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_state_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_subscription_state_topic_status', ['topic', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subscription_state', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_state_topic_status')
        batch_op.drop_index('ix_subscription_state_status_next_attempt_at')

    op.drop_table('subscription_state')
    op.drop_table('subscription_event')
    with op.batch_alter_table('notice_webhook', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_webhook_sent_at_next_attempt_at')

    op.drop_table('notice_webhook')
