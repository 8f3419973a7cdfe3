"""Keystone groups: groups, their members and their role assignments

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('groups',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('domain_id', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['domain_id'], ['domains.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('domain_id', 'name')
    )
    op.create_table('user_group_membership',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id')
    )
    with op.batch_alter_table('user_group_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_group_membership_group_id'), ['group_id'],
                              unique=False)
    op.create_table('group_assignments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('role_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'target_type', 'target_id', 'role_id')
    )
    with op.batch_alter_table('group_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_assignments_group_id'), ['group_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_group_assignments_target_id'), ['target_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('group_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_assignments_target_id'))
        batch_op.drop_index(batch_op.f('ix_group_assignments_group_id'))
    op.drop_table('group_assignments')
    with op.batch_alter_table('user_group_membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_group_membership_group_id'))
    op.drop_table('user_group_membership')
    op.drop_table('groups')
