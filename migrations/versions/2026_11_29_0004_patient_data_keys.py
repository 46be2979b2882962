"""patient data keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:21:36.972642
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('patient_key',
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('kek_id', sa.String(length=64), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_patient_key')),
    sa.UniqueConstraint('key_id', name=op.f('uq_patient_key_key_id'))
    )
    with op.batch_alter_table('patient_key', schema=None) as batch_op:
        batch_op.create_index('ix_patient_key_kek_id', ['kek_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('patient_key', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_key_kek_id')

    op.drop_table('patient_key')
