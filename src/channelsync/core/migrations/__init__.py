"""Alembic revisions of the store's schema (run by ``open_store``)."""
