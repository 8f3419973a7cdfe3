"""Volumes: a snapshot's progress, as os-update_snapshot_status reports it

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('volume_snapshots') as batch:
        batch.add_column(sa.Column('progress', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('volume_snapshots') as batch:
        batch.drop_column('progress')
