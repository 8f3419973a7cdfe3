"""images.owner holds 255 characters, as Glance's does (the API accepts that many)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.alter_column('owner', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('images', schema=None) as batch_op:
        batch_op.alter_column('owner', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
