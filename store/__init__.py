"""Persistence adapter: SQLModel tables, repositories and Alembic migrations."""
