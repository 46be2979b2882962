"""proxies: who may act for whom, and whom each sign-in acts for

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 02:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('proxy',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('proxy_patient_id', sa.String(length=64), nullable=False),
    sa.Column('related_person_id', sa.String(length=64), nullable=False),
    sa.Column('relationship', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('established_by', sa.String(length=32), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('grants_ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proxy'))
    )
    with op.batch_alter_table('proxy', schema=None) as batch_op:
        batch_op.create_index('ix_proxy_patient_id', ['patient_id'], unique=False)
        batch_op.create_index('ix_proxy_proxy_patient_id', ['proxy_patient_id'], unique=False)
    op.create_table('patient_choice',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('params', sa.String(length=8000), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_patient_choice'))
    )
    with op.batch_alter_table('patient_choice', schema=None) as batch_op:
        batch_op.create_index('ix_patient_choice_expires', ['expires'], unique=False)
    for table in ('authorization_code', 'refresh_token'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('patient', sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column('proxy', sa.String(length=64), nullable=True))
            batch_op.create_index(f'ix_{table}_proxy', ['proxy'], unique=False)


def downgrade() -> None:
    for table in ('refresh_token', 'authorization_code'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_proxy')
            batch_op.drop_column('proxy')
            batch_op.drop_column('patient')
    with op.batch_alter_table('patient_choice', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_choice_expires')
    op.drop_table('patient_choice')
    with op.batch_alter_table('proxy', schema=None) as batch_op:
        batch_op.drop_index('ix_proxy_proxy_patient_id')
        batch_op.drop_index('ix_proxy_patient_id')
    op.drop_table('proxy')
