"""Volume backups (Cinder's /backups)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_INDEXED = ('deleted', 'name', 'parent_id', 'project_id', 'status', 'volume_id')


def upgrade() -> None:
    op.create_table('volume_backups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('cluster', sa.String(length=255), nullable=False),
    sa.Column('pool', sa.String(length=255), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('base', sa.String(length=255), nullable=False),
    sa.Column('snap', sa.String(length=255), nullable=False),
    sa.Column('source_snap', sa.String(length=255), nullable=True),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('is_incremental', sa.Boolean(), nullable=False),
    sa.Column('object_count', sa.Integer(), nullable=False),
    sa.Column('data_timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fail_reason', sa.Text(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    for col in _INDEXED:
        op.create_index(op.f(f'ix_volume_backups_{col}'), 'volume_backups', [col],
                        unique=False)


def downgrade() -> None:
    for col in reversed(_INDEXED):
        op.drop_index(op.f(f'ix_volume_backups_{col}'), table_name='volume_backups')
    op.drop_table('volume_backups')
