"""Persistence: the SQLite database, its migrations, and the queries over it."""

from bot.store.db import Database, StorageUnavailable

__all__ = ["Database", "StorageUnavailable"]
