"""sign-in, access and the audit trail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 03:21:23.241368
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('fhir_user', sa.String(length=140), nullable=True),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('failed_sign_ins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_account')),
    sa.UniqueConstraint('id', name=op.f('uq_account_id')),
    sa.UniqueConstraint('username', name='uq_account_username')
    )
    op.create_table('authorization_code',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('redirect_uri', sa.String(length=2000), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('nonce', sa.String(length=255), nullable=True),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.Column('family', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_authorization_code'))
    )
    op.create_table('oauth_client',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=255), nullable=True),
    sa.Column('redirect_uris', sa.Text(), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('organization', sa.String(length=140), nullable=True),
    sa.Column('jwks', sa.Text(), nullable=True),
    sa.Column('jwks_url', sa.String(length=2000), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_oauth_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_oauth_client_client_id'))
    )
    op.create_table('organization_patient',
    sa.Column('organization', sa.String(length=140), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('organization', 'patient_id', name='pk_organization_patient')
    )
    op.create_table('refresh_token',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_refresh_token'))
    )
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_token_family', ['family'], unique=False)

    op.create_table('revoked_access_token',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_revoked_access_token'))
    )
    with op.batch_alter_table('revoked_access_token', schema=None) as batch_op:
        batch_op.create_index('ix_revoked_access_token_expires', ['expires'], unique=False)

    op.create_table('used_assertion',
    sa.Column('issuer', sa.String(length=64), nullable=False),
    sa.Column('jti', sa.String(length=255), nullable=False),
    sa.Column('expires', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('issuer', 'jti', name=op.f('pk_used_assertion'))
    )
    with op.batch_alter_table('used_assertion', schema=None) as batch_op:
        batch_op.create_index('ix_used_assertion_expires', ['expires'], unique=False)

    op.create_table('audit_chain',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('previous', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_audit_chain_resource_pk_resource')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_chain')),
    sa.UniqueConstraint('resource_pk', name=op.f('uq_audit_chain_resource_pk'))
    )
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=140), nullable=True))

    _refuse_audit_changes()


# The audit trail is append-only: no UPDATE or DELETE of its chain, nor of the AuditEvent
# rows it links.
APPEND_ONLY = "the audit trail is append-only"
GUARDED = [("audit_chain", None), ("resource", "AuditEvent"), ("resource_version", "AuditEvent")]


def _refuse_audit_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION medsvc_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        for table, kind in GUARDED:
            when = f"WHEN (OLD.resource_type = '{kind}') " if kind else ""
            op.execute(
                f"CREATE TRIGGER {table}_audit_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW {when}EXECUTE FUNCTION medsvc_refuse_audit_change()"
            )
        return
    for table, kind in GUARDED:
        when = f"WHEN OLD.resource_type = '{kind}' " if kind else ""
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_audit_no_{action.lower()} BEFORE {action} ON {table} "
                f"{when}BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def _allow_audit_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS medsvc_refuse_audit_change()")
        return
    for table, _ in GUARDED:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_audit_no_{action}")


def downgrade() -> None:
    _allow_audit_changes()
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_column('owner')

    op.drop_table('audit_chain')
    with op.batch_alter_table('used_assertion', schema=None) as batch_op:
        batch_op.drop_index('ix_used_assertion_expires')

    op.drop_table('used_assertion')
    with op.batch_alter_table('revoked_access_token', schema=None) as batch_op:
        batch_op.drop_index('ix_revoked_access_token_expires')

    op.drop_table('revoked_access_token')
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.drop_index('ix_refresh_token_family')

    op.drop_table('refresh_token')
    op.drop_table('organization_patient')
    op.drop_table('oauth_client')
    op.drop_table('authorization_code')
    op.drop_table('account')
