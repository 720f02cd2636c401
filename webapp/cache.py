"""A small per-process cache of simplified geometries, keyed by the data version.

Simplifying and transforming 1,200 commune polygons costs about 0.4 s in PostGIS; the
result only changes with a new load, accessibility run or zoning. Each entry is stored
with :func:`storage.read.data_version` (one cheap query per request) and recomputed when
it changes, so a worker never serves shapes older than the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import psycopg
from flask import Flask, current_app

from storage import read

T = TypeVar("T")
MAX_ENTRIES = 64


class VersionedCache:
    """LRU mapping ``key -> (data version, value)``, safe across threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, conn: psycopg.Connection, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key`` if the data did not change since, else ``compute()``."""
        version = read.data_version(conn)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                return entry[1]
        value = compute()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value


def init_app(app: Flask) -> None:
    """Attach an empty cache to the application."""
    app.extensions["atlas_cache"] = VersionedCache()


def cached(conn: psycopg.Connection, key: Hashable, compute: Callable[[], T]) -> T:
    """:meth:`VersionedCache.get` on the current application's cache."""
    cache: VersionedCache = current_app.extensions["atlas_cache"]
    return cache.get(conn, key, compute)
