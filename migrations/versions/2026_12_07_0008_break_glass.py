"""break-glass log: practitioners' emergency access to patients, append-only

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each emergency access stays as it was asserted, for review: no UPDATE or DELETE.
# PostgreSQL reuses the audit trail's refusal (migration 0002).
APPEND_ONLY = "the break-glass log is append-only"


def upgrade() -> None:
    op.create_table('break_glass',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('practitioner', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_break_glass'))
    )
    with op.batch_alter_table('break_glass', schema=None) as batch_op:
        batch_op.create_index('ix_break_glass_granted_at', ['granted_at'], unique=False)
        batch_op.create_index('ix_break_glass_practitioner_expires_at', ['practitioner', 'expires_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER break_glass_append_only BEFORE UPDATE OR DELETE ON break_glass "
            "FOR EACH ROW EXECUTE FUNCTION medsvc_refuse_audit_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER break_glass_no_{action.lower()} BEFORE {action} ON break_glass "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS break_glass_append_only ON break_glass")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS break_glass_no_{action}")
    with op.batch_alter_table('break_glass', schema=None) as batch_op:
        batch_op.drop_index('ix_break_glass_practitioner_expires_at')
        batch_op.drop_index('ix_break_glass_granted_at')

    op.drop_table('break_glass')
