"""metadata definitions (Glance's metadefs): namespaces, objects, properties, tags, resource
types and their associations; seeds the resource types Glance ships

Revision ID: 0004
Revises: 0003
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The resource types named by the namespaces Glance ships in etc/metadefs (OS::Nova::Server is
# what the mitaka02 migration renamed OS::Nova::Instance to). Seeded here, so that every
# database has them from its first start (tempest associates resource_types[0] at once);
# protected: nothing removes them.
SEEDED_RESOURCE_TYPES = ('OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Flavor',
                         'OS::Nova::Aggregate', 'OS::Nova::Server', 'OS::Trove::Instance')


def _timestamps() -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table('metadef_namespaces',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('visibility', sa.String(length=32), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=False),
    *_timestamps(),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('namespace')
    )
    with op.batch_alter_table('metadef_namespaces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadef_namespaces_owner'), ['owner'], unique=False)

    resource_types = op.create_table('metadef_resource_types',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    *_timestamps(),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )

    for table, extra in (('metadef_objects', [sa.Column('description', sa.Text(), nullable=True),
                                              sa.Column('required', sa.JSON(), nullable=True),
                                              sa.Column('properties', sa.JSON(),
                                                        nullable=False)]),
                         ('metadef_properties', [sa.Column('json_schema', sa.JSON(),
                                                           nullable=False)]),
                         ('metadef_tags', [])):
        op.create_table(table,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('namespace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        *extra,
        *_timestamps(),
        sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespaces.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('namespace_id', 'name')
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_namespace_id'), ['namespace_id'],
                                  unique=False)

    op.create_table('metadef_namespace_resource_types',
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('resource_type_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=80), nullable=True),
    sa.Column('properties_target', sa.String(length=80), nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(['namespace_id'], ['metadef_namespaces.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_type_id'], ['metadef_resource_types.id'],
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('namespace_id', 'resource_type_id')
    )

    now = datetime.now(timezone.utc)
    op.bulk_insert(resource_types, [{'name': name, 'protected': True, 'created_at': now,
                                     'updated_at': now} for name in SEEDED_RESOURCE_TYPES])


def downgrade() -> None:
    op.drop_table('metadef_namespace_resource_types')
    for table in ('metadef_tags', 'metadef_properties', 'metadef_objects'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_namespace_id'))
        op.drop_table(table)
    op.drop_table('metadef_resource_types')
    with op.batch_alter_table('metadef_namespaces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metadef_namespaces_owner'))
    op.drop_table('metadef_namespaces')
