"""notices on behalf: a notice to a proxy names the patient it is for

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 03:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notice_webhook', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_behalf_of', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notice_webhook', schema=None) as batch_op:
        batch_op.drop_column('on_behalf_of')
