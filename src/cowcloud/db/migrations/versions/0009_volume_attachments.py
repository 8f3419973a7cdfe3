"""Volume attachments: volumes get attach_status, migration_status, multiattach and
previous_status; volume_attachments holds one row per attachment (Cinder's volume_attachment)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('volumes') as batch:
        batch.add_column(sa.Column('attach_status', sa.String(length=32), nullable=False,
                                   server_default='detached'))
        batch.add_column(sa.Column('migration_status', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('multiattach', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('previous_status', sa.String(length=32), nullable=True))
    op.create_table('volume_attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=64), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('attached_host', sa.String(length=255), nullable=True),
    sa.Column('mountpoint', sa.String(length=255), nullable=True),
    sa.Column('attach_status', sa.String(length=32), nullable=False),
    sa.Column('attach_mode', sa.String(length=8), nullable=False),
    sa.Column('connector', sa.JSON(), nullable=True),
    sa.Column('connection_info', sa.JSON(), nullable=True),
    sa.Column('attach_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detach_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volumes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    for column in ('attach_status', 'instance_uuid', 'project_id', 'volume_id'):
        op.create_index(op.f(f'ix_volume_attachments_{column}'), 'volume_attachments',
                        [column], unique=False)


def downgrade() -> None:
    for column in ('attach_status', 'instance_uuid', 'project_id', 'volume_id'):
        op.drop_index(op.f(f'ix_volume_attachments_{column}'),
                      table_name='volume_attachments')
    op.drop_table('volume_attachments')
    with op.batch_alter_table('volumes') as batch:
        batch.drop_column('previous_status')
        batch.drop_column('multiattach')
        batch.drop_column('migration_status')
        batch.drop_column('attach_status')
