"""Storage: the Store protocol and its implementations, built from a URL by :func:`open_store`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyhive.storage._protocol import Store, Transaction, Usage
from keyhive.storage.memory import MemoryStore

if TYPE_CHECKING:
    from keyhive.storage.sql import SqlStore


def open_store(url: str) -> Store:
    """A store for ``url``: ``memory://``, ``sqlite:///path`` or ``postgresql+psycopg://…``."""
    if url == "memory://":
        return MemoryStore()
    from keyhive.storage.sql import SqlStore

    return SqlStore(url)


__all__ = ["MemoryStore", "SqlStore", "Store", "Transaction", "Usage", "open_store"]


def __getattr__(name: str) -> object:
    if name == "SqlStore":
        from keyhive.storage.sql import SqlStore

        return SqlStore
    raise AttributeError(name)
