"""booking ledger and reminders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:03:03.334742
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('appointment_reminder',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appointment_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_appointment_reminder')),
    sa.UniqueConstraint('appointment_id', 'due_at', name='uq_appointment_reminder_appointment_id_due_at')
    )
    with op.batch_alter_table('appointment_reminder', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_reminder_due_at', ['due_at'], unique=False)

    op.create_table('slot_ledger',
    sa.Column('slot_id', sa.String(length=64), nullable=False),
    sa.Column('slot_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('schedule_id', sa.String(length=64), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('bookable', sa.Boolean(), nullable=False),
    sa.Column('service', sa.String(length=400), nullable=True),
    sa.CheckConstraint('taken >= 0 AND taken <= capacity', name=op.f('ck_slot_ledger_within_capacity')),
    sa.PrimaryKeyConstraint('slot_id', name=op.f('pk_slot_ledger'))
    )
    with op.batch_alter_table('slot_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_slot_ledger_schedule_id_start', ['schedule_id', 'start'], unique=False)
        batch_op.create_index('ix_slot_ledger_start', ['start'], unique=False)

    op.create_table('slot_seat',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('slot_id', sa.String(length=64), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=True),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('seat >= 0', name=op.f('ck_slot_seat_seat_number')),
    sa.ForeignKeyConstraint(['slot_id'], ['slot_ledger.slot_id'], name=op.f('fk_slot_seat_slot_id_slot_ledger'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_slot_seat')),
    sa.UniqueConstraint('appointment_id', 'slot_id', name='uq_slot_seat_appointment_id_slot_id'),
    sa.UniqueConstraint('slot_id', 'seat', name='uq_slot_seat_slot_id_seat')
    )
    with op.batch_alter_table('slot_seat', schema=None) as batch_op:
        batch_op.create_index('ix_slot_seat_held_until', ['held_until'], unique=False)
        batch_op.create_index('ix_slot_seat_patient_id', ['patient_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('slot_seat', schema=None) as batch_op:
        batch_op.drop_index('ix_slot_seat_patient_id')
        batch_op.drop_index('ix_slot_seat_held_until')

    op.drop_table('slot_seat')
    with op.batch_alter_table('slot_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_slot_ledger_start')
        batch_op.drop_index('ix_slot_ledger_schedule_id_start')

    op.drop_table('slot_ledger')
    with op.batch_alter_table('appointment_reminder', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_reminder_due_at')

    op.drop_table('appointment_reminder')
