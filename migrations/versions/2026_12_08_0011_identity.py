"""citizens' identity: the identity each account proved, one-time phone codes and their
quotas, accounts at OpenID Connect providers and sign-ins on their way; notices to a bare
mobile number

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 01:00:00.000000
"""
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account_identity',
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('document_kind', sa.String(length=16), nullable=False),
    sa.Column('document_key', sa.String(length=64), nullable=False),
    sa.Column('sealed_document', sa.LargeBinary(), nullable=False),
    sa.Column('phone_key', sa.String(length=64), nullable=False),
    sa.Column('assurance', sa.String(length=32), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_identity')),
    sa.UniqueConstraint('document_key', name='uq_account_identity_document_key'),
    sa.UniqueConstraint('phone_key', name='uq_account_identity_phone_key')
    )
    op.create_table('phone_code',
    sa.Column('code_id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('phone_key', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('tries_left', sa.Integer(), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.Column('spent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('code_id', name=op.f('pk_phone_code'))
    )
    with op.batch_alter_table('phone_code', schema=None) as batch_op:
        batch_op.create_index('ix_phone_code_expires', ['expires'], unique=False)
    op.create_table('code_quota',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_code_quota'))
    )
    with op.batch_alter_table('code_quota', schema=None) as batch_op:
        batch_op.create_index('ix_code_quota_window_start', ['window_start'], unique=False)
    op.create_table('external_identity',
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('issuer', 'subject', name=op.f('pk_external_identity'))
    )
    with op.batch_alter_table('external_identity', schema=None) as batch_op:
        batch_op.create_index('ix_external_identity_account_id', ['account_id'], unique=False)
    op.create_table('oidc_pending',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('verifier', sa.String(length=64), nullable=False),
    sa.Column('params', sa.String(length=8000), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oidc_pending'))
    )
    with op.batch_alter_table('oidc_pending', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_pending_expires', ['expires'], unique=False)
    with op.batch_alter_table('notice_webhook', schema=None) as batch_op:
        batch_op.add_column(sa.Column('to_phone', sa.String(length=32), nullable=True))
        batch_op.alter_column('patient_id', existing_type=sa.String(length=64), nullable=True)


    _usernames_as_numbers()


# Usernames compare in one form from this revision on: a mobile number as E.164
# (security/phones.py). An account made before under a number spelled otherwise is renamed
# to that form, so it still signs in; when two accounts hold one number, the older takes it
# and the other keeps its spelling (an operator disables one: docs/operations.md).
_MAINLAND = re.compile(r"1[3-9][0-9]{9}")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{7,14}")


def _e164(username: str) -> str | None:
    spelled = re.sub(r"[\s\-().]", "", unicodedata.normalize("NFKC", username))
    if spelled.startswith("00"):
        spelled = "+" + spelled[2:]
    if _MAINLAND.fullmatch(spelled):
        return "+86" + spelled
    if spelled.startswith("+86") and not _MAINLAND.fullmatch(spelled[3:]):
        return None
    return spelled if _INTERNATIONAL.fullmatch(spelled) else None


def _usernames_as_numbers() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, username FROM account ORDER BY created, id")
    ).all()
    taken = {row.username for row in rows}
    for row in rows:
        number = _e164(row.username)
        if number is None or number == row.username or number in taken:
            continue
        connection.execute(
            sa.text("UPDATE account SET username = :number WHERE id = :id"),
            {"number": number, "id": row.id},
        )
        taken.add(number)


def downgrade() -> None:
    with op.batch_alter_table('notice_webhook', schema=None) as batch_op:
        batch_op.alter_column('patient_id', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('to_phone')
    with op.batch_alter_table('oidc_pending', schema=None) as batch_op:
        batch_op.drop_index('ix_oidc_pending_expires')
    op.drop_table('oidc_pending')
    with op.batch_alter_table('external_identity', schema=None) as batch_op:
        batch_op.drop_index('ix_external_identity_account_id')
    op.drop_table('external_identity')
    with op.batch_alter_table('code_quota', schema=None) as batch_op:
        batch_op.drop_index('ix_code_quota_window_start')
    op.drop_table('code_quota')
    with op.batch_alter_table('phone_code', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_code_expires')
    op.drop_table('phone_code')
    op.drop_table('account_identity')
