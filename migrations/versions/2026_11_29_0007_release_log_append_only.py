"""the release log is append-only, as the audit trail is

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 18:50:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every hold, release and patient's choice stays as it was logged: no UPDATE or DELETE.
# PostgreSQL reuses the audit trail's refusal (migration 0002); TRUNCATE fires no row trigger.
APPEND_ONLY = "the audit trail is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER release_log_append_only BEFORE UPDATE OR DELETE ON release_log "
            "FOR EACH ROW EXECUTE FUNCTION medsvc_refuse_audit_change()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER release_log_no_{action.lower()} BEFORE {action} ON release_log "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS release_log_append_only ON release_log")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS release_log_no_{action}")
