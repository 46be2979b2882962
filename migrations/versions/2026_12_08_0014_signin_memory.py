"""signin memory: a browser's sign-in to an app, for choosing again whom it acts for

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 04:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signin_memory',
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('browser_hash', 'client_id', name='pk_signin_memory')
    )
    with op.batch_alter_table('signin_memory', schema=None) as batch_op:
        batch_op.create_index('ix_signin_memory_expires', ['expires'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signin_memory', schema=None) as batch_op:
        batch_op.drop_index('ix_signin_memory_expires')
    op.drop_table('signin_memory')
