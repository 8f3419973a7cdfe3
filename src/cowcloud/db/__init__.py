"""SQLAlchemy 2 models and Alembic migrations (SQLite by default, PostgreSQL by URL)."""

from .engine import Database, make_engine, migrate
from .errors import Duplicate, constraints, savepoint

__all__ = ["Database", "Duplicate", "constraints", "make_engine", "migrate", "savepoint"]
