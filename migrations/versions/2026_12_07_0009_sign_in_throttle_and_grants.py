"""sign-in throttled per address in the database, accounts disabled, grants revoked whole

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 04:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sign_in_throttle',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttle'))
    )
    with op.batch_alter_table('sign_in_throttle', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_throttle_username', ['username'], unique=False)
    op.create_table('revoked_grant',
    sa.Column('grant_id', sa.String(length=64), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('grant_id', name=op.f('pk_revoked_grant'))
    )
    with op.batch_alter_table('revoked_grant', schema=None) as batch_op:
        batch_op.create_index('ix_revoked_grant_expires', ['expires'], unique=False)
    # The per-account count let a stranger lock the owner out (for good after 100 failures);
    # the throttle above replaces it, and every lock it set is lifted.
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_sign_ins')


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('failed_sign_ins', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column('disabled_at')
    with op.batch_alter_table('revoked_grant', schema=None) as batch_op:
        batch_op.drop_index('ix_revoked_grant_expires')
    op.drop_table('revoked_grant')
    with op.batch_alter_table('sign_in_throttle', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_throttle_username')
    op.drop_table('sign_in_throttle')
