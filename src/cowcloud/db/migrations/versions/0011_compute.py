"""Compute (Nova's Compute API v2.1): flavors, aggregates, compute hosts and their ephemeral
backends, servers, server groups, and the agents' work queue

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_work',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('server_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_agent_work_host'), 'agent_work', ['host'], unique=False)
    op.create_index(op.f('ix_agent_work_server_id'), 'agent_work', ['server_id'], unique=False)
    op.create_index(op.f('ix_agent_work_status'), 'agent_work', ['status'], unique=False)
    op.create_table('aggregates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('uuid')
    )
    op.create_table('compute_hosts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('site', sa.String(length=255), nullable=False),
    sa.Column('hypervisor_type', sa.String(length=64), nullable=False),
    sa.Column('host_ip', sa.String(length=64), nullable=False),
    sa.Column('vcpus', sa.Integer(), nullable=False),
    sa.Column('memory_mb', sa.Integer(), nullable=False),
    sa.Column('cpu_info', sa.JSON(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=255), nullable=True),
    sa.Column('forced_down', sa.Boolean(), nullable=False),
    sa.Column('session', sa.String(length=64), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('host'),
    sa.UniqueConstraint('uuid')
    )
    op.create_table('flavors',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('flavorid', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('memory_mb', sa.Integer(), nullable=False),
    sa.Column('vcpus', sa.Integer(), nullable=False),
    sa.Column('root_gb', sa.Integer(), nullable=False),
    sa.Column('ephemeral_gb', sa.Integer(), nullable=False),
    sa.Column('swap', sa.Integer(), nullable=False),
    sa.Column('rxtx_factor', sa.Double(), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flavorid'),
    sa.UniqueConstraint('name')
    )
    op.create_table('server_groups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('policy', sa.String(length=32), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_server_groups_project_id'), 'server_groups',
                    ['project_id'], unique=False)
    op.create_table('servers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('vm_state', sa.String(length=32), nullable=False),
    sa.Column('task_state', sa.String(length=32), nullable=True),
    sa.Column('power_state', sa.Integer(), nullable=False),
    sa.Column('flavor', sa.JSON(), nullable=False),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('availability_zone', sa.String(length=255), nullable=True),
    sa.Column('requested_zone', sa.String(length=255), nullable=True),
    sa.Column('backend', sa.String(length=255), nullable=True),
    sa.Column('cluster_id', sa.String(length=255), nullable=True),
    sa.Column('pool', sa.String(length=255), nullable=True),
    sa.Column('nic', sa.String(length=16), nullable=False),
    sa.Column('key_name', sa.String(length=255), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('hints', sa.JSON(), nullable=False),
    sa.Column('fault', sa.JSON(), nullable=True),
    sa.Column('group_id', sa.String(length=36), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('launched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_servers_deleted'), 'servers', ['deleted'], unique=False)
    op.create_index(op.f('ix_servers_group_id'), 'servers', ['group_id'], unique=False)
    op.create_index(op.f('ix_servers_host'), 'servers', ['host'], unique=False)
    op.create_index(op.f('ix_servers_image_id'), 'servers', ['image_id'], unique=False)
    op.create_index(op.f('ix_servers_name'), 'servers', ['name'], unique=False)
    op.create_index(op.f('ix_servers_project_id'), 'servers', ['project_id'], unique=False)
    op.create_index(op.f('ix_servers_vm_state'), 'servers', ['vm_state'], unique=False)
    op.create_table('aggregate_hosts',
    sa.Column('aggregate_id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['aggregate_id'], ['aggregates.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('aggregate_id', 'host')
    )
    op.create_index(op.f('ix_aggregate_hosts_host'), 'aggregate_hosts', ['host'], unique=False)
    op.create_table('aggregate_metadata',
    sa.Column('aggregate_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['aggregate_id'], ['aggregates.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('aggregate_id', 'key')
    )
    op.create_table('flavor_extra_specs',
    sa.Column('flavor_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['flavor_id'], ['flavors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('flavor_id', 'key')
    )
    op.create_table('flavor_projects',
    sa.Column('flavor_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['flavor_id'], ['flavors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('flavor_id', 'project_id')
    )
    op.create_table('host_backends',
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('cluster_id', sa.String(length=255), nullable=False),
    sa.Column('pool', sa.String(length=255), nullable=False),
    sa.Column('total_bytes', sa.BigInteger(), nullable=False),
    sa.Column('free_bytes', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['compute_hosts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('host_id', 'name')
    )


    op.create_table('key_pairs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'name')
    )
    op.create_index(op.f('ix_key_pairs_user_id'), 'key_pairs', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_key_pairs_user_id'), table_name='key_pairs')
    op.drop_table('key_pairs')
    op.drop_table('host_backends')
    op.drop_table('flavor_projects')
    op.drop_table('flavor_extra_specs')
    op.drop_table('aggregate_metadata')
    op.drop_index(op.f('ix_aggregate_hosts_host'), table_name='aggregate_hosts')
    op.drop_table('aggregate_hosts')
    op.drop_index(op.f('ix_servers_vm_state'), table_name='servers')
    op.drop_index(op.f('ix_servers_project_id'), table_name='servers')
    op.drop_index(op.f('ix_servers_name'), table_name='servers')
    op.drop_index(op.f('ix_servers_image_id'), table_name='servers')
    op.drop_index(op.f('ix_servers_host'), table_name='servers')
    op.drop_index(op.f('ix_servers_group_id'), table_name='servers')
    op.drop_index(op.f('ix_servers_deleted'), table_name='servers')
    op.drop_table('servers')
    op.drop_index(op.f('ix_server_groups_project_id'), table_name='server_groups')
    op.drop_table('server_groups')
    op.drop_table('flavors')
    op.drop_table('compute_hosts')
    op.drop_table('aggregates')
    op.drop_index(op.f('ix_agent_work_status'), table_name='agent_work')
    op.drop_index(op.f('ix_agent_work_server_id'), table_name='agent_work')
    op.drop_index(op.f('ix_agent_work_host'), table_name='agent_work')
    op.drop_table('agent_work')
