"""Atomic publication: every change the public pages can see is committed in one transaction.

Why one transaction is enough. PostgreSQL's MVCC gives every reader the snapshot taken when
its statement (or its REPEATABLE READ transaction) started: while a writer's transaction is
open, readers keep seeing the previous rows, complete; at ``COMMIT`` they all switch to the
new rows at once. So the whole chain of a reload (``atlas load`` → network → ``atlas
access`` → ``atlas gaps``) runs inside :func:`publishing`, and the public never sees a
Région without travel times, nor white zones of another run than the times shown.

Rules the writers follow (checked by ``tests/test_publication.py``):

- ``DELETE``, never ``TRUNCATE``: ``TRUNCATE`` takes an ACCESS EXCLUSIVE lock that would
  block every reader until the commit; ``DELETE`` takes ROW EXCLUSIVE, which readers'
  ACCESS SHARE does not conflict with.
- No DDL inside a publication (migrations are applied, and committed, before).
- Writers are serialised by a transaction-scoped advisory lock, so that two reloads never
  interleave; readers never take it.
- The same transaction increments ``publication.version`` (migration 0009), part of
  :func:`storage.read.data_version`: the web application's memoised values are keyed by
  it, so a page never mixes a cached value of the old publication with rows of the new.

What a standalone ``atlas load`` does about the derived tables: ``storage.load.replace_region``
deletes the accessibility results (they describe the places being replaced). Rather than
staging the new inventory aside, the CLI recomputes, in the same transaction, the
accessibility of every mode that had published times and the white zones of every mode
that had them (with their thresholds: :func:`published_state`), and commits once. The same
holds for ``atlas network load`` (times of that mode) and ``atlas access`` (white zones).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg import pq

PUBLISH_LOCK_KEY = 0x41544C5055
"""Advisory lock serialising the writers of a publication ("ATLPU")."""


@dataclass(frozen=True)
class PublishedState:
    """What is published before a change, so that the change can publish it again."""

    access_modes: tuple[str, ...] = ()
    """Modes with an accessibility run."""
    isochrones: dict[str, bool] = field(default_factory=dict)
    """Mode -> whether its run has isochrones."""
    gap_thresholds: dict[str, float] = field(default_factory=dict)
    """Mode -> white-zone threshold (seconds) of its stored gaps."""
    population_grid: str | None = None
    """The population grid file the published origins came from (``atlas access
    --population-grid``), None when they came from the road network."""


def published_state(conn: psycopg.Connection) -> PublishedState:
    """The modes whose times and white zones are published (read inside the publication)."""
    modes = tuple(row[0] for row in conn.execute("SELECT mode FROM access_run ORDER BY mode").fetchall())
    isochrones = {
        mode: bool(n)
        for mode, n in conn.execute(
            "SELECT r.mode, (SELECT count(*) FROM isochrone i WHERE i.mode = r.mode) FROM access_run r"
        ).fetchall()
    }
    thresholds = {
        mode: float(threshold)
        for mode, threshold in conn.execute(
            "SELECT mode, max(threshold_s) FROM gap WHERE kind = 'white_zone' GROUP BY mode"
        ).fetchall()
    }
    # A mode whose gaps hold only no-choice rows (no commune beyond the threshold) still had gaps.
    for (mode,) in conn.execute("SELECT DISTINCT mode FROM gap WHERE kind = 'no_choice'").fetchall():
        thresholds.setdefault(mode, float("nan"))
    grid = conn.execute(
        "SELECT max(params ->> 'population_grid') FROM access_run WHERE params ? 'population_grid'"
    ).fetchone()
    return PublishedState(
        access_modes=modes,
        isochrones=isochrones,
        gap_thresholds=thresholds,
        population_grid=None if grid is None else grid[0],
    )


@contextmanager
def publishing(conn: psycopg.Connection, steps: Sequence[str]) -> Iterator[psycopg.Connection]:
    """One transaction for a whole publication: serialised with other writers, committed at
    the end of the block (rolled back, leaving the published state as it was, on any error),
    with ``publication.version`` incremented inside it.

    The connection must not be inside a transaction already (the block would then be a
    savepoint, committed only with the caller's transaction).
    """
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.commit()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PUBLISH_LOCK_KEY,))
        yield conn
        conn.execute(
            "UPDATE publication SET version = version + 1, published_at = now(), steps = %s",
            (list(steps),),
        )


def publication_version(conn: psycopg.Connection) -> int:
    """The number of publications so far (0 before the first)."""
    row = conn.execute("SELECT version FROM publication").fetchone()
    return 0 if row is None else int(row[0])


__all__ = ["PUBLISH_LOCK_KEY", "PublishedState", "publication_version", "published_state", "publishing"]
