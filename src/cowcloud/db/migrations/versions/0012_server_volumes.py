"""Compute: the volumes of servers (Nova's block device mappings of volumes)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('server_volumes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('server_id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('attachment_id', sa.String(length=36), nullable=True),
    sa.Column('cluster_id', sa.String(length=255), nullable=True),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('server_id', 'volume_id')
    )
    op.create_index(op.f('ix_server_volumes_server_id'), 'server_volumes', ['server_id'],
                    unique=False)
    op.create_index(op.f('ix_server_volumes_volume_id'), 'server_volumes', ['volume_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_server_volumes_volume_id'), table_name='server_volumes')
    op.drop_index(op.f('ix_server_volumes_server_id'), table_name='server_volumes')
    op.drop_table('server_volumes')
