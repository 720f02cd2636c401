"""Per-process caches, all keyed by the data version (:func:`storage.read.data_version`).

Kinds of entries, all dropped as soon as a worker sees a new version:

- **simplified geometries** (commune polygons, territories, zones, isochrones): simplifying
  and transforming 1,200 commune polygons costs about 0.4 s in PostGIS;
- **small lists** (categories, runs, zonings, partner types, the white-zone summary, which
  aggregates 21,000 rows in 20 ms);

  both kept by :func:`cached`, the one way views keep what a ``storage.read`` function
  returned;
- **the finder's reference data** (:func:`storage.read.finder_reference`: communes' names,
  places' attributes and positions, accessibility runs): a few hundred kilobytes, read in
  one snapshot;
- in one bounded LRU: **each commune's travel times** (:func:`storage.read.finder_commune`,
  about 2 KB), **finished finder results** from a commune (identifiers and numbers), and
  commune-name searches (:mod:`webapp.finder`). Searches from a position are never kept
  (privacy).

Consistency. Views that read several things open :func:`webapp.db.snapshot` (one REPEATABLE
READ transaction): :func:`cached` then serves only values of the publication that snapshot
reads, so a page is wholly of one publication (``storage.publish``: every reload commits
at once, and increments ``publication.version``, part of the data version).

Invalidation. The version is read by every finder statement (it is part of
:data:`storage.read.FINDER_COMMUNE_SQL` and :data:`storage.read.LOCATE_POINT_SQL`), and
by one cheap query (about 0.05 ms) when the last reading is older than ``CACHE_CHECK_S``
(default 1 s). A cached entry is only served while the last reading is younger than
that: after ``atlas load``, ``atlas access`` or a new zoning, every worker serves the new
data within ``CACHE_CHECK_S``. Nothing is ever written from the web application, so the
data only change through those commands. (A short TTL alone would serve stale data for
its whole length; a version check on every request would cost a query per request.)

Memory is bounded: at most ``RESULT_CACHE_SIZE`` LRU entries (default 8,192; 0 disables
the LRU, the warm-up and so every cache of searches) and ``RESULT_CACHE_MB`` megabytes
(default 32 per worker process; an entry is counted 2 KB, ``bytes`` their length), plus
64 geometry layers and small lists, and one reference. The pilot's 1,202 communes' times
and its 6,010 searches "commune x 5 filter mixes" fit in about 15 MB.

``CACHE_WARM`` (default on, except when ``TESTING``): each worker loads the reference and
every commune's times when it starts (:func:`warm`, 0.6 s for the pilot), so that no
search waits for them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import psycopg
from flask import Flask, current_app

from storage import read

T = TypeVar("T")
MAX_SHAPES = 64
DEFAULT_CHECK_S = 1.0
DEFAULT_RESULT_CACHE_SIZE = 8192
DEFAULT_RESULT_CACHE_MB = 32.0
DEFAULT_LAYER_CACHE_MB = 96.0
RESULT_COST = 2048
"""Bytes counted for a result that is not ``bytes`` (an ``Outcome``: identifiers and numbers)."""


class DataCache:
    """The caches of one worker process (thread-safe)."""

    def __init__(
        self,
        *,
        check_s: float = DEFAULT_CHECK_S,
        result_size: int = DEFAULT_RESULT_CACHE_SIZE,
        result_mb: float = DEFAULT_RESULT_CACHE_MB,
        shape_size: int = MAX_SHAPES,
        layer_mb: float = DEFAULT_LAYER_CACHE_MB,
    ) -> None:
        self.check_s = check_s
        self.result_size = result_size
        self.result_bytes = int(result_mb * 1024 * 1024)
        self._result_cost = 0
        self.shape_size = shape_size
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._checked_at = float("-inf")
        self._reference: dict[str, Any] | None = None
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._shapes: OrderedDict[Hashable, Any] = OrderedDict()
        self.layer_bytes = int(layer_mb * 1024 * 1024)
        self._layers: OrderedDict[Hashable, tuple[tuple[Any, ...] | None, Any, int]] = OrderedDict()
        self._layer_cost = 0

    # ------------------------------------------------------------------ version
    def fresh(self) -> bool:
        """Whether the version was read less than ``check_s`` seconds ago."""
        return time.monotonic() - self._checked_at < self.check_s

    def observe(self, version: tuple[Any, ...]) -> None:
        """Record a version just read from the database; a new one empties every cache."""
        with self._lock:
            if version != self._version:
                self._results.clear()
                self._result_cost = 0
                self._shapes.clear()
                self._layers.clear()
                self._layer_cost = 0
                self._reference = None
                self._version = version
            self._checked_at = time.monotonic()

    def version(self, conn: psycopg.Connection, *, check: bool = False) -> tuple[Any, ...]:
        """The data version, read again when the last reading is older than ``check_s`` (or ``check``)."""
        version = self._version
        if check or not self.fresh() or version is None:
            version = read.data_version(conn)
            self.observe(version)
        return version

    # ------------------------------------------------------------------ geometries
    def get(
        self,
        conn: psycopg.Connection,
        key: Hashable,
        compute: Callable[[], T],
        *,
        check: bool = False,
        version: tuple[Any, ...] | None = None,
    ) -> T:
        """The cached value of ``key`` for the current data version, else ``compute()``.

        ``check`` reads the version even when the last reading is fresh: one cheap query
        that also makes the request fail (503) when the database is down. ``version``: the
        version ``conn``'s snapshot reads (``webapp.db.snapshot``); only a value of that
        version is served.
        """
        if version is None:
            version = self.version(conn, check=check)
        with self._lock:
            entry = self._shapes.get(key)
            if entry is not None and entry[0] == version:
                self._shapes.move_to_end(key)
                return entry[1]
        value = compute()
        with self._lock:
            if version == self._version:
                self._shapes[key] = (version, value)
                self._shapes.move_to_end(key)
                while len(self._shapes) > self.shape_size:
                    self._shapes.popitem(last=False)
        return value

    # ------------------------------------------------------------------ large layers
    def layer(self, key: Hashable, version: tuple[Any, ...] | None) -> Any | None:
        """A large body (``webapp.layers``) computed at ``version``, else None."""
        with self._lock:
            entry = self._layers.get(key)
            if entry is None or entry[0] != version:
                return None
            self._layers.move_to_end(key)
            return entry[1]

    def store_layer(self, key: Hashable, version: tuple[Any, ...] | None, value: Any, cost: int) -> None:
        """Keep a large body of ``version`` (``cost`` bytes) within ``LAYER_CACHE_MB``, least
        recently used first out; one larger than half the budget is not kept."""
        if cost > self.layer_bytes // 2:
            return
        with self._lock:
            if version != self._version:
                return
            previous = self._layers.pop(key, None)
            if previous is not None:
                self._layer_cost -= previous[2]
            self._layers[key] = (version, value, cost)
            self._layer_cost += cost
            while self._layers and self._layer_cost > self.layer_bytes:
                self._layer_cost -= self._layers.popitem(last=False)[1][2]

    # ------------------------------------------------------------------ finder
    def reference(self, conn: psycopg.Connection, version: tuple[Any, ...]) -> dict[str, Any]:
        """The finder's reference data at ``version`` (reread when the database has a newer one)."""
        current = self._reference
        if current is not None and current["version"] == version:
            return current
        loaded = read.finder_reference(conn)
        self.observe(loaded["version"])
        with self._lock:
            self._reference = loaded
        return loaded

    def result(self, key: Hashable) -> Any | None:
        """A cached finder result, only while the version reading is fresh."""
        if self.result_size <= 0:
            return None
        if not self.fresh():
            return None
        with self._lock:
            entry = self._results.get(key)
            if entry is None or entry[0] != self._version:
                return None
            self._results.move_to_end(key)
            return entry[1]

    def store_result(self, key: Hashable, version: tuple[Any, ...], value: Any) -> None:
        """Keep a finder result computed at ``version`` (dropped if the version moved on)."""
        if self.result_size <= 0:
            return
        with self._lock:
            if version != self._version:
                return
            cost = len(value) if isinstance(value, bytes) else RESULT_COST
            previous = self._results.pop(key, None)
            if previous is not None:
                self._result_cost -= previous[2]
            self._results[key] = (version, value, cost)
            self._result_cost += cost
            while self._results and (len(self._results) > self.result_size or self._result_cost > self.result_bytes):
                self._result_cost -= self._results.popitem(last=False)[1][2]


def warm(app: Flask) -> int:
    """Fill the finder's caches before serving (``CACHE_WARM``): the reference data and every
    commune's times, on a connection of its own (about 0.6 s for the pilot's 1,202 communes,
    4 MB). Each gunicorn worker builds its own application, so each warms itself at boot.
    A database that cannot be reached is not an error here: the caches then fill lazily.
    Returns the number of communes loaded."""
    import logging

    cache: DataCache = app.extensions["atlas_cache"]
    if cache.result_size <= 0:
        return 0
    try:
        with psycopg.connect(
            app.config["DATABASE_URL"],
            autocommit=True,
            connect_timeout=3,
            options="-c statement_timeout=30000 -c default_transaction_read_only=on",
        ) as conn:
            reference = read.finder_reference(conn)
            cache.observe(reference["version"])
            cache.reference(conn, reference["version"])
            loaded = 0
            for code in list(reference["communes"])[: cache.result_size // 2]:
                times = read.finder_commune(conn, code)
                if times["version"] != reference["version"]:
                    break  # the data changed meanwhile: the rest fills lazily
                cache.store_result(("commune-times", code), times["version"], times)
                loaded += 1
            return loaded
    except psycopg.Error as exc:
        logging.getLogger(__name__).warning("cache warm-up skipped: %s", type(exc).__name__)
        return 0


def init_app(app: Flask) -> None:
    """Attach empty caches to the application (``CACHE_CHECK_S``, ``RESULT_CACHE_SIZE``, ``RESULT_CACHE_MB``)."""
    app.extensions["atlas_cache"] = DataCache(
        check_s=float(app.config.get("CACHE_CHECK_S", DEFAULT_CHECK_S)),
        result_size=int(app.config.get("RESULT_CACHE_SIZE", DEFAULT_RESULT_CACHE_SIZE)),
        result_mb=float(app.config.get("RESULT_CACHE_MB", DEFAULT_RESULT_CACHE_MB)),
        layer_mb=float(app.config.get("LAYER_CACHE_MB", DEFAULT_LAYER_CACHE_MB)),
    )


def data_cache() -> DataCache:
    """The current application's caches."""
    return current_app.extensions["atlas_cache"]


def cached(
    conn: psycopg.Connection, reader: Callable[..., T], *args: Hashable, check: bool = False, **kwargs: Hashable
) -> T:
    """``reader(conn, *args, **kwargs)`` (a ``storage.read`` function, or a view's own reader),
    kept for the current data version under its name and arguments.

    For what changes only with a load, an accessibility run or a zoning: lists (categories,
    runs, zonings, the white-zone summary: 20 ms of aggregation) and simplified geometries.
    ``check`` reads the data version even when the last reading is fresh: one cheap query
    that also makes the request fail (503) when the database is down. The value is shared
    between requests: callers must not modify it.
    """
    from webapp.db import snapshot_version

    key = (reader.__module__, reader.__qualname__, args, tuple(sorted(kwargs.items())))
    return data_cache().get(
        conn, key, lambda: reader(conn, *args, **kwargs), check=check, version=snapshot_version(conn)
    )
