"""One assignment table for user and group grants: role_assignments gets actor_type and
actor_id (Keystone's assignment table), group_assignments goes; every grant is kept.

The rows are read, both tables dropped, the new one made and the rows written back (users' in
their old order, then groups'): identity grants are few, and this is the same on SQLite and
PostgreSQL, with no renamed constraint or index left behind under an old name.

Revision ID: 0006
Revises: 0005
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TARGET = ('target_type', 'target_id', 'role_id')


def _rows(table: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    query = sa.text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")
    return [dict(r._mapping) for r in op.get_bind().execute(query)]


def _insert(table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    if rows:
        op.bulk_insert(sa.table(table, *(sa.column(c) for c in columns)), rows)


def _create_old(table: str, actor: str, actor_table: str) -> None:
    """A per-actor table exactly as 0001 (users) and 0005 (groups) made it."""
    op.create_table(table,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column(actor, sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('role_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint([actor], [f'{actor_table}.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint(actor, 'target_type', 'target_id', 'role_id')
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{table}_target_id'), ['target_id'], unique=False)
        batch_op.create_index(batch_op.f(f'ix_{table}_{actor}'), [actor], unique=False)


def _drop(table: str, indexed: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in indexed:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
    op.drop_table(table)


def upgrade() -> None:
    users = _rows('role_assignments', ('user_id', *TARGET))
    groups = _rows('group_assignments', ('group_id', *TARGET))
    _drop('group_assignments', ('group_id', 'target_id'))
    _drop('role_assignments', ('user_id', 'target_id'))
    op.create_table('role_assignments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('role_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('actor_type', 'actor_id', 'target_type', 'target_id', 'role_id')
    )
    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_assignments_actor_id'), ['actor_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_role_assignments_target_id'), ['target_id'],
                              unique=False)
    _insert('role_assignments', ('actor_type', 'actor_id', *TARGET),
            [{'actor_type': 'user', 'actor_id': r.pop('user_id'), **r} for r in users]
            + [{'actor_type': 'group', 'actor_id': r.pop('group_id'), **r} for r in groups])


def downgrade() -> None:
    kept = {}
    for kind, actor, actor_table in (('user', 'user_id', 'users'),
                                     ('group', 'group_id', 'groups')):
        # the old tables' foreign keys would refuse a grant whose actor is gone
        query = sa.text(f"SELECT a.actor_id AS {actor}, a.target_type, a.target_id, a.role_id "
                        f"FROM role_assignments a JOIN {actor_table} x ON x.id = a.actor_id "
                        f"WHERE a.actor_type = :kind ORDER BY a.id")
        kept[kind] = [dict(r._mapping) for r in op.get_bind().execute(query, {'kind': kind})]
    _drop('role_assignments', ('actor_id', 'target_id'))
    _create_old('role_assignments', 'user_id', 'users')
    _create_old('group_assignments', 'group_id', 'groups')
    _insert('role_assignments', ('user_id', *TARGET), kept['user'])
    _insert('group_assignments', ('group_id', *TARGET), kept['group'])
