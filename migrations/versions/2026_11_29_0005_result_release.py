"""result release

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:17:00.809820
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('release_choice',
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('after_review', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_release_choice'))
    )
    op.create_table('release_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('resource', sa.String(length=129), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_release_log'))
    )
    op.create_table('result_release',
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hold_reason', sa.String(length=1000), nullable=True),
    sa.Column('notified', sa.Boolean(), nullable=True),
    sa.PrimaryKeyConstraint('resource_type', 'resource_id', name='pk_result_release')
    )
    with op.batch_alter_table('result_release', schema=None) as batch_op:
        batch_op.create_index('ix_result_release_notified', ['notified'], unique=False)
        batch_op.create_index('ix_result_release_patient_id_resource_type_state', ['patient_id', 'resource_type', 'state'], unique=False)
        batch_op.create_index('ix_result_release_state_due_at', ['state', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('result_release', schema=None) as batch_op:
        batch_op.drop_index('ix_result_release_state_due_at')
        batch_op.drop_index('ix_result_release_patient_id_resource_type_state')
        batch_op.drop_index('ix_result_release_notified')

    op.drop_table('result_release')
    op.drop_table('release_log')
    op.drop_table('release_choice')
