"""Volumes (Block Storage v3): volume types, volumes, volume snapshots

Revision ID: 0007
Revises: 0005 (another branch adds 0006 meanwhile: the merge re-chains this one after it)
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volume_types',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('extra_specs', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('volumes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('volume_type_id', sa.String(length=36), nullable=False),
    sa.Column('backend', sa.String(length=255), nullable=False),
    sa.Column('cluster', sa.String(length=255), nullable=False),
    sa.Column('pool', sa.String(length=255), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('bootable', sa.Boolean(), nullable=False),
    sa.Column('snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('source_volid', sa.String(length=36), nullable=True),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('image_meta', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_volumes_deleted'), 'volumes', ['deleted'],
                    unique=False)
    op.create_index(op.f('ix_volumes_held'), 'volumes', ['held'],
                    unique=False)
    op.create_index(op.f('ix_volumes_name'), 'volumes', ['name'],
                    unique=False)
    op.create_index(op.f('ix_volumes_project_id'), 'volumes', ['project_id'],
                    unique=False)
    op.create_index(op.f('ix_volumes_status'), 'volumes', ['status'],
                    unique=False)
    op.create_table('volume_snapshots',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_volume_snapshots_deleted'), 'volume_snapshots', ['deleted'],
                    unique=False)
    op.create_index(op.f('ix_volume_snapshots_name'), 'volume_snapshots', ['name'],
                    unique=False)
    op.create_index(op.f('ix_volume_snapshots_project_id'), 'volume_snapshots', ['project_id'],
                    unique=False)
    op.create_index(op.f('ix_volume_snapshots_status'), 'volume_snapshots', ['status'],
                    unique=False)
    op.create_index(op.f('ix_volume_snapshots_volume_id'), 'volume_snapshots', ['volume_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_volume_snapshots_volume_id'),
                  table_name='volume_snapshots')
    op.drop_index(op.f('ix_volume_snapshots_status'),
                  table_name='volume_snapshots')
    op.drop_index(op.f('ix_volume_snapshots_project_id'),
                  table_name='volume_snapshots')
    op.drop_index(op.f('ix_volume_snapshots_name'),
                  table_name='volume_snapshots')
    op.drop_index(op.f('ix_volume_snapshots_deleted'),
                  table_name='volume_snapshots')
    op.drop_table('volume_snapshots')
    op.drop_index(op.f('ix_volumes_status'),
                  table_name='volumes')
    op.drop_index(op.f('ix_volumes_project_id'),
                  table_name='volumes')
    op.drop_index(op.f('ix_volumes_name'),
                  table_name='volumes')
    op.drop_index(op.f('ix_volumes_held'),
                  table_name='volumes')
    op.drop_index(op.f('ix_volumes_deleted'),
                  table_name='volumes')
    op.drop_table('volumes')
    op.drop_table('volume_types')
