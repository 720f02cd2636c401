"""The public finder's rule: which places to propose from a commune, in which order.

Neutral ordering: places within the precomputed bound of the commune's travel-time table
come by travel time, equal times by ``structure_id`` (never by operator); the rest, up to
the number asked, by straight-line distance from the starting point (then
``structure_id``). Only places of a partner type receiving the public are proposed, and
only those matching the filters: a mission, a public (a place for ``tout_public`` serves
every public), a weekday on which the place is open — a place whose hours are unknown
stays (it may be open: the page says « horaires non renseignés — appelez avant »), only
a place whose known hours leave that day out is removed.

Pure: the inputs are plain values (what :mod:`storage.read` gives the web application,
kept in its caches), the output identifiers and numbers. Distances are in metres in the
Région's projected CRS, times in seconds. ``tests/finder_sql.py`` holds the same rule as
one SQL statement, the independent reference the tests compare this one with.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geo.vocabulary import TOUT_PUBLIC, Mode, other_mode

Ranked = tuple[str, float | None, float | None, int]
"""A proposed place: ``(structure_id, seconds, seconds, distance_m)``; see :func:`rank`."""


@dataclass(frozen=True)
class Search:
    """One search of the finder, normalised (also the key of its cached results).

    ``code`` (a commune) or ``point`` (WGS84 ``(lat, lon)``), the travel ``mode``, how
    many places (``limit``) and the filters: ``mission``, ``public``, ``day`` (a weekday
    in French), None when not asked.
    """

    mode: Mode
    limit: int
    mission: str | None = None
    public: str | None = None
    day: str | None = None
    code: str | None = None
    point: tuple[float, float] | None = None

    @property
    def filters(self) -> tuple[str | None, str | None, str | None]:
        """``(mission, public, day)``."""
        return self.mission, self.public, self.day


def allowed_places(
    structures: Mapping[str, Mapping[str, Any]], mission: str | None, public: str | None, day: str | None
) -> frozenset[str]:
    """Identifiers of the places the finder may propose with these filters.

    ``structures`` maps ``structure_id`` to ``receives_public`` (bool), ``missions`` and
    ``publics`` (lists) and ``opening_hours`` (``(weekday, hours)`` pairs, empty when unknown).
    """
    return frozenset(
        sid
        for sid, row in structures.items()
        if row["receives_public"]
        and (mission is None or mission in row["missions"])
        and (public is None or public in row["publics"] or TOUT_PUBLIC in row["publics"])
        and (day is None or not row["opening_hours"] or any(d == day for d, _hours in row["opening_hours"]))
    )


def rank(
    allowed: frozenset[str],
    positions: Mapping[str, tuple[float, float]],
    times: Mapping[str, Any],
    *,
    origin: tuple[float, float],
    mode: Mode,
    limit: int,
) -> tuple[list[Ranked], list[Ranked]]:
    """The places to propose, in order.

    Parameters
    ----------
    allowed
        :func:`allowed_places` of the search's filters.
    positions
        ``structure_id -> (x, y)`` in the Région's projected CRS (metres).
    times
        The commune's travel-time rows: ``times[mode]``, ``(seconds, structure_id)`` pairs
        sorted by seconds then identifier; ``seconds[mode]``, ``structure_id -> seconds``.
    origin
        Where distances are measured from (the commune's origin, or the searched point).
    mode
        The mode the places are ranked by.
    limit
        How many places at most.

    Returns
    -------
    by_time : list
        ``(structure_id, seconds in mode, seconds in the other mode or None, distance_m)``,
        by travel time then identifier.
    by_distance : list
        ``(structure_id, drive seconds or None, walk seconds or None, distance_m)`` for the
        places beyond the bound, by straight-line distance then identifier, so that both
        lists hold ``limit`` places together when that many are allowed.
    """
    other_seconds = times["seconds"].get(other_mode(mode), {})
    by_time: list[Ranked] = []
    for seconds, sid in times["times"].get(mode, ()):
        if sid in allowed and sid in positions:
            by_time.append((sid, seconds, other_seconds.get(sid), _rounded(_distance(origin, positions[sid]))))
            if len(by_time) == limit:
                break
    by_distance: list[Ranked] = []
    if len(by_time) < limit:
        taken = {row[0] for row in by_time}
        nearest = heapq.nsmallest(
            limit - len(by_time),
            ((_distance(origin, positions[sid]), sid) for sid in allowed if sid not in taken and sid in positions),
        )
        drive, walk = times["seconds"].get("drive", {}), times["seconds"].get("walk", {})
        by_distance = [(sid, drive.get(sid), walk.get(sid), _rounded(metres)) for metres, sid in nearest]
    return by_time, by_distance


def _rounded(metres: float) -> int:
    """As PostgreSQL's ``round(float8)::integer`` (half away from zero; distances are >= 0)."""
    return math.floor(metres + 0.5)


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Planar distance in the Région's projected CRS, as PostGIS's ST_Distance of two points."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    return math.sqrt(dx * dx + dy * dy)
