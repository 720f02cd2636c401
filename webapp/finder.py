"""The finder's search, shared by the public page and ``/api/nearest``.

The rule itself (which places, in which order) is :mod:`geo.analysis.finder`, pure. Here it
is fed from the database through the caches of :mod:`webapp.cache`: the small reference
data each worker keeps in memory (places' attributes and positions, communes' names, runs:
:func:`storage.read.finder_reference`), and one commune's precomputed times and origins
(:func:`storage.read.finder_commune`, **one prepared statement**, 0.5 ms), kept in the
bounded LRU for the current data version, so that every later search from that commune,
whatever its mode, filters and limit, costs no SQL. A search from a point first locates it
(:func:`storage.read.locate_point`, one statement). Finished results are kept in the same
LRU, keyed by the normalised :class:`geo.analysis.finder.Search`. No SQL here: every query
is in ``storage.read``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from werkzeug.exceptions import NotFound

from geo.analysis.finder import Ranked, Search, allowed_places, rank
from geo.vocabulary import MODES, Mode
from storage import read
from webapp.cache import DataCache, data_cache
from webapp.db import connection

MAX_DISTANCE_FROM_REGION_M = 20_000
"""A point farther than this from every commune of the Région is refused (404)."""
UNKNOWN_COMMUNE = "Commune inconnue dans la Région chargée."
OUTSIDE_REGION = "Ce point est hors de la Région : aucune commune à moins de 20 km."


@dataclass(frozen=True)
class Origin:
    """Where a search starts: the commune whose travel times are used, and the point (if any)."""

    commune: dict[str, Any]
    located_by: str  # "commune", "point_in_commune", "nearest_commune"
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Outcome:
    """One search's answer as cached: identifiers and numbers, plus the reference they point into."""

    reference: dict[str, Any]
    origin: Origin
    mode: Mode
    by_time: tuple[Ranked, ...]
    by_distance: tuple[Ranked, ...]
    ferry: frozenset[tuple[str, str]] = frozenset()
    """``(mode, structure_id)`` pairs of the commune whose time crosses by boat."""

    def crosses(self, sid: str, drive_s: float | None, walk_s: float | None) -> bool:
        """Whether a time shown for place ``sid`` includes a boat crossing."""
        return (drive_s is not None and ("drive", sid) in self.ferry) or (
            walk_s is not None and ("walk", sid) in self.ferry
        )

    @property
    def runs(self) -> dict[str, dict[str, Any]]:
        """The accessibility runs of the reference, by mode."""
        runs: dict[str, dict[str, Any]] = self.reference["runs"]
        return runs

    @property
    def run(self) -> dict[str, Any] | None:
        """The run of the search's mode, None when times were not computed."""
        return self.runs.get(self.mode)


@contextmanager
def _use(conn: psycopg.Connection | None) -> Iterator[psycopg.Connection]:
    if conn is not None:
        yield conn
    else:
        with connection() as pooled:
            yield pooled


def _allowed(reference: dict[str, Any], search: Search) -> frozenset[str]:
    """:func:`geo.analysis.finder.allowed_places`, computed once per filter combination and reference."""
    memo: dict[tuple[str | None, ...], frozenset[str]] = reference.setdefault("allowed", {})
    found = memo.get(search.filters)
    if found is None:
        found = memo[search.filters] = allowed_places(reference["structures"], *search.filters)
    return found


def _commune_times(cache: DataCache, conn: psycopg.Connection, code: str) -> dict[str, Any]:
    """:func:`storage.read.finder_commune`, kept in the LRU for the current data version."""
    key = ("commune-times", code)
    times: dict[str, Any] | None = cache.result(key)
    if times is None:
        times = read.finder_commune(conn, code)
        cache.observe(times["version"])
        if times["code"] is not None:
            cache.store_result(key, times["version"], times)
    return times


def _search(cache: DataCache, conn: psycopg.Connection, search: Search) -> Outcome:
    code = search.code
    located = None
    if search.point is not None:
        located = read.locate_point(conn, *search.point)
        cache.observe(located["version"])
        if located["code"] is None or located["distance_m"] > MAX_DISTANCE_FROM_REGION_M:
            raise NotFound(OUTSIDE_REGION)
        code = located["code"]
    if code is None:
        raise NotFound(UNKNOWN_COMMUNE)
    for _attempt in range(3):
        times = _commune_times(cache, conn, code)
        reference = cache.reference(conn, times["version"])
        if reference["version"] == times["version"]:
            break
        # The data changed between the two readings: read the commune again.
    commune = reference["communes"].get(code)
    if times["code"] is None or commune is None:
        raise NotFound(UNKNOWN_COMMUNE)
    if located is None:
        origin = Origin(commune=commune, located_by="commune")
        start = times["origins"].get(search.mode) or times["surface"]
    else:
        located_by = "point_in_commune" if located["inside"] else "nearest_commune"
        lat, lon = search.point or (None, None)
        origin = Origin(commune=commune, located_by=located_by, lat=lat, lon=lon)
        start = (located["x"], located["y"])
    by_time, by_distance = rank(
        _allowed(reference, search), reference["positions"], times, origin=start, mode=search.mode, limit=search.limit
    )
    return Outcome(
        reference=reference,
        origin=origin,
        mode=search.mode,
        by_time=tuple(by_time),
        by_distance=tuple(by_distance),
        ferry=frozenset(times.get("ferry", ())),
    )


def find(search: Search, *, conn: psycopg.Connection | None = None) -> Outcome:
    """The search from its commune or from its WGS84 point; 404 when unknown.

    Served from the LRU when the same search from a commune was answered at the current
    data version; otherwise the commune's times come from the LRU or from one statement on
    ``conn`` (a pooled connection is taken only then), and a point is located by one
    statement. Searches from a point are not kept.
    """
    cache = data_cache()
    # Privacy: a search from a position is never kept (its coordinates would stay in memory
    # until evicted); only its commune's times are, like any commune's.
    outcome: Outcome | None = cache.result(search) if search.point is None else None
    if outcome is None:
        with _use(conn) as active:
            outcome = _search(cache, active, search)
        if search.point is None:
            cache.store_result(search, outcome.reference["version"], outcome)
    return outcome


def matching_communes(conn: psycopg.Connection, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """:func:`storage.read.search_communes`, kept in the LRU for the current data version
    (the public page and ``/api/communes`` share the entries)."""
    cache = data_cache()
    key = ("communes", query.casefold(), limit)
    found: list[dict[str, Any]] | None = cache.result(key)
    if found is None:
        version = cache.version(conn)
        found = read.search_communes(conn, query, limit=limit)
        cache.store_result(key, version, found)
    return found


def _approximate(runs: dict[str, dict[str, Any]], drive_s: float | None, walk_s: float | None) -> bool:
    """Whether any travel time given comes from an approximate run."""
    return bool(
        (drive_s is not None and "drive" in runs and runs["drive"]["approximate"])
        or (walk_s is not None and "walk" in runs and runs["walk"]["approximate"])
    )


def _times(outcome: Outcome) -> Iterator[tuple[str, str, float | None, float | None, int]]:
    """(structure_id, ranked_by, drive_s, walk_s, distance_m) of every place, in order."""
    drive = outcome.mode == "drive"
    for sid, seconds, other, distance_m in outcome.by_time:
        yield sid, "time", (seconds if drive else other), (other if drive else seconds), distance_m
    for sid, drive_s, walk_s, distance_m in outcome.by_distance:
        yield sid, "distance", drive_s, walk_s, distance_m


def page_results(outcome: Outcome) -> dict[str, Any]:
    """The search as the public page renders it: ``run``, ``runs``, ``approximate``,
    ``by_time`` and ``by_distance`` (place rows with ``drive_s``, ``walk_s``,
    ``distance_m``, ``ranked_by``, ``approximate_times``, ``ferry``: a time shown crosses by boat) and ``bounds`` (seconds per mode)."""
    runs = outcome.runs
    places = outcome.reference["structures"]
    lists: dict[str, list[dict[str, Any]]] = {"time": [], "distance": []}
    for sid, ranked_by, drive_s, walk_s, distance_m in _times(outcome):
        row = {
            **places[sid],
            "drive_s": drive_s,
            "walk_s": walk_s,
            "distance_m": distance_m,
            "ranked_by": ranked_by,
            "approximate_times": _approximate(runs, drive_s, walk_s),
            "ferry": outcome.crosses(sid, drive_s, walk_s),
        }
        lists[ranked_by].append(row)
    run = outcome.run
    return {
        "run": run,
        "runs": runs,
        "approximate": bool(run["approximate"]) if run else None,
        "by_time": lists["time"],
        "by_distance": lists["distance"],
        "bounds": {m: (runs[m]["bound_s"] if m in runs else None) for m in MODES},
    }


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


API_STATIC_KEYS = (
    "structure_id",
    "name",
    "partner_type",
    "partner_label",
    "address",
    "postcode",
    "commune_code",
    "commune_name",
    "missions",
    "publics",
    "site_format",
    "itinerant",
    "multisite",
    "geocoding",
    "approximate_position",
    "opening_hours",
    "phone",
    "website",
    "lat",
    "lon",
)


def _api_static(reference: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each place's fixed part of an ``/api/nearest`` result, built once per reference."""
    static = reference.get("api_static")
    if static is None:
        static = {}
        for sid, row in reference["structures"].items():
            fields = {key: row[key] for key in API_STATIC_KEYS}
            fields["opening_hours"] = dict(row["opening_hours"])
            static[sid] = fields
        reference["api_static"] = static
    return static


def api_results(outcome: Outcome) -> list[dict[str, Any]]:
    """The places as ``/api/nearest`` returns them, in order."""
    static = _api_static(outcome.reference)
    runs = outcome.runs
    return [
        {
            **static[sid],
            "ranked_by": ranked_by,
            "drive_seconds": _seconds(drive_s),
            "walk_seconds": _seconds(walk_s),
            "distance_m": distance_m,
            "approximate": _approximate(runs, drive_s, walk_s),
            "ferry": outcome.crosses(sid, drive_s, walk_s),
        }
        for sid, ranked_by, drive_s, walk_s, distance_m in _times(outcome)
    ]
