"""versioned resource store and search indexes

Revision ID: 0001
Revises:
Create Date: 2026-11-28 23:38:43.729358
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('resource',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_resource')),
    sa.UniqueConstraint('resource_type', 'id', name='uq_resource_resource_type_id')
    )
    op.create_table('conditional_key',
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('query_hash', sa.String(length=64), nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_conditional_key_resource_pk_resource'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('resource_type', 'query_hash', name='pk_conditional_key')
    )
    op.create_table('resource_version',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_resource_version_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_resource_version')),
    sa.UniqueConstraint('resource_pk', 'version_id', name='uq_resource_version_resource_pk_version_id')
    )
    with op.batch_alter_table('resource_version', schema=None) as batch_op:
        batch_op.create_index('ix_resource_version_resource_type_pk', ['resource_type', 'pk'], unique=False)

    op.create_table('search_date',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('low', sa.BigInteger(), nullable=False),
    sa.Column('high', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_search_date_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_search_date'))
    )
    with op.batch_alter_table('search_date', schema=None) as batch_op:
        batch_op.create_index('ix_search_date_resource_pk_param_low_high', ['resource_pk', 'param', 'low', 'high'], unique=False)
        batch_op.create_index('ix_search_date_resource_type_param_low_high', ['resource_type', 'param', 'low', 'high'], unique=False)

    op.create_table('search_number',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_search_number_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_search_number'))
    )
    with op.batch_alter_table('search_number', schema=None) as batch_op:
        batch_op.create_index('ix_search_number_resource_pk_param_value', ['resource_pk', 'param', 'value'], unique=False)
        batch_op.create_index('ix_search_number_resource_type_param_value', ['resource_type', 'param', 'value'], unique=False)

    op.create_table('search_quantity',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('system', sa.String(length=512), nullable=True),
    sa.Column('code', sa.String(length=128), nullable=True),
    sa.Column('unit', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_search_quantity_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_search_quantity'))
    )
    with op.batch_alter_table('search_quantity', schema=None) as batch_op:
        batch_op.create_index('ix_search_quantity_resource_pk_param_value', ['resource_pk', 'param', 'value'], unique=False)
        batch_op.create_index('ix_search_quantity_resource_type_param_value', ['resource_type', 'param', 'value'], unique=False)

    op.create_table('search_reference',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('identifier_system', sa.String(length=512), nullable=True),
    sa.Column('identifier_value', sa.String(length=512), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_search_reference_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_search_reference'))
    )
    with op.batch_alter_table('search_reference', schema=None) as batch_op:
        batch_op.create_index('ix_search_reference_resource_pk_param_target_type_target_id', ['resource_pk', 'param', 'target_type', 'target_id'], unique=False)
        batch_op.create_index('ix_search_reference_resource_type_param_target_type_target_id', ['resource_type', 'param', 'target_type', 'target_id'], unique=False)
        batch_op.create_index('ix_search_reference_target_type_target_id', ['target_type', 'target_id'], unique=False)

    op.create_table('search_string',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value_norm', sa.String(length=512), nullable=False),
    sa.Column('value_exact', sa.String(length=2048), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_search_string_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_search_string'))
    )
    with op.batch_alter_table('search_string', schema=None) as batch_op:
        batch_op.create_index('ix_search_string_resource_pk_param_value_norm', ['resource_pk', 'param', 'value_norm'], unique=False)
        batch_op.create_index('ix_search_string_resource_type_param_value_norm', ['resource_type', 'param', 'value_norm'], unique=False)

    op.create_table('search_token',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('system', sa.String(length=512), nullable=True),
    sa.Column('code', sa.String(length=512), nullable=True),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_search_token_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_search_token'))
    )
    with op.batch_alter_table('search_token', schema=None) as batch_op:
        batch_op.create_index('ix_search_token_resource_pk_param_code_system', ['resource_pk', 'param', 'code', 'system'], unique=False)
        batch_op.create_index('ix_search_token_resource_type_param_code_system', ['resource_type', 'param', 'code', 'system'], unique=False)

    op.create_table('search_uri',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_type', sa.String(length=64), nullable=False),
    sa.Column('param', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=2048), nullable=False),
    sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'], name=op.f('fk_search_uri_resource_pk_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_search_uri'))
    )
    with op.batch_alter_table('search_uri', schema=None) as batch_op:
        batch_op.create_index('ix_search_uri_resource_pk_param_value', ['resource_pk', 'param', 'value'], unique=False)
        batch_op.create_index('ix_search_uri_resource_type_param_value', ['resource_type', 'param', 'value'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('search_uri', schema=None) as batch_op:
        batch_op.drop_index('ix_search_uri_resource_type_param_value')
        batch_op.drop_index('ix_search_uri_resource_pk_param_value')

    op.drop_table('search_uri')
    with op.batch_alter_table('search_token', schema=None) as batch_op:
        batch_op.drop_index('ix_search_token_resource_type_param_code_system')
        batch_op.drop_index('ix_search_token_resource_pk_param_code_system')

    op.drop_table('search_token')
    with op.batch_alter_table('search_string', schema=None) as batch_op:
        batch_op.drop_index('ix_search_string_resource_type_param_value_norm')
        batch_op.drop_index('ix_search_string_resource_pk_param_value_norm')

    op.drop_table('search_string')
    with op.batch_alter_table('search_reference', schema=None) as batch_op:
        batch_op.drop_index('ix_search_reference_target_type_target_id')
        batch_op.drop_index('ix_search_reference_resource_type_param_target_type_target_id')
        batch_op.drop_index('ix_search_reference_resource_pk_param_target_type_target_id')

    op.drop_table('search_reference')
    with op.batch_alter_table('search_quantity', schema=None) as batch_op:
        batch_op.drop_index('ix_search_quantity_resource_type_param_value')
        batch_op.drop_index('ix_search_quantity_resource_pk_param_value')

    op.drop_table('search_quantity')
    with op.batch_alter_table('search_number', schema=None) as batch_op:
        batch_op.drop_index('ix_search_number_resource_type_param_value')
        batch_op.drop_index('ix_search_number_resource_pk_param_value')

    op.drop_table('search_number')
    with op.batch_alter_table('search_date', schema=None) as batch_op:
        batch_op.drop_index('ix_search_date_resource_type_param_low_high')
        batch_op.drop_index('ix_search_date_resource_pk_param_low_high')

    op.drop_table('search_date')
    with op.batch_alter_table('resource_version', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_version_resource_type_pk')

    op.drop_table('resource_version')
    op.drop_table('conditional_key')
    op.drop_table('resource')
