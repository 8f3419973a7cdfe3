"""SQLAlchemy 2 models and Alembic migrations (SQLite by default, PostgreSQL by URL)."""

from .engine import Database, make_engine, migrate

__all__ = ["Database", "make_engine", "migrate"]
