"""the app's server-side sessions, and the results each person has opened

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_session',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fhir_user', sa.String(length=200), nullable=True),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('refreshing_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_web_session'))
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index('ix_web_session_expires_at', ['expires_at'], unique=False)
    op.create_table('web_seen_result',
    sa.Column('fhir_user', sa.String(length=200), nullable=False),
    sa.Column('resource', sa.String(length=200), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('fhir_user', 'resource', name=op.f('pk_web_seen_result'))
    )


def downgrade() -> None:
    op.drop_table('web_seen_result')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index('ix_web_session_expires_at')
    op.drop_table('web_session')
