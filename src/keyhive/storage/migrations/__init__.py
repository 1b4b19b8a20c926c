"""Alembic migrations of the SQL stores; run through :func:`keyhive.storage.sql.upgrade`."""
