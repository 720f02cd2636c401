"""The finder's search, shared by the public page and ``/api/nearest``.

A search needs, besides the small reference data each worker keeps in memory (places'
attributes and positions, communes' names, runs: :func:`storage.read.finder_reference`),
one commune's precomputed times and origins: :func:`storage.read.finder_commune`, **one
prepared statement** (0.5 ms), kept in the bounded LRU of ``webapp.cache`` for the
current data version, so that every later search from that commune, whatever its mode,
filters and limit, costs no SQL. A search from a point first locates it
(:func:`storage.read.locate_point`, one statement). The ranking itself (:func:`rank`:
by travel time then ``structure_id``, then by straight line) is computed in memory and
is checked against the SQL version (:func:`storage.read.finder_search`) for every
commune in ``tests/test_web_api.py``. Finished results are kept in the same LRU, keyed
by the normalised search. No SQL here: every query is in ``storage.read``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from werkzeug.exceptions import NotFound

from storage import read
from webapp.cache import DataCache, data_cache, remembered
from webapp.db import connection

MAX_DISTANCE_FROM_REGION_M = 20_000
"""A point farther than this from every commune of the Région is refused (404)."""
UNKNOWN_COMMUNE = "Commune inconnue dans la Région chargée."
OUTSIDE_REGION = "Ce point est hors de la Région : aucune commune à moins de 20 km."
MODES = ("drive", "walk")


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
    mode: str
    by_time: tuple[tuple[str, float | None, float | None, int], ...]
    by_distance: tuple[tuple[str, float | None, float | None, int], ...]

    @property
    def runs(self) -> dict[str, dict[str, Any]]:
        return self.reference["runs"]

    @property
    def run(self) -> dict[str, Any] | None:
        return self.reference["runs"].get(self.mode)


@contextmanager
def _use(conn: psycopg.Connection | None) -> Iterator[psycopg.Connection]:
    if conn is not None:
        yield conn
    else:
        with connection() as pooled:
            yield pooled


def _round(metres: float) -> int:
    """As PostgreSQL's ``round(float8)::integer`` (half away from zero; distances are >= 0)."""
    return math.floor(metres + 0.5)


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Planar distance in the Région's projected CRS, computed as PostGIS's ST_Distance of two points."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    return math.sqrt(dx * dx + dy * dy)


def allowed_places(reference: dict[str, Any], mission: str | None, public: str | None,
                   day: str | None) -> frozenset[str]:
    """Places the finder may propose with these filters (as ``storage.read._filters``):
    partner types receiving the public, the mission, the public (or ``tout_public``), open
    that day. Computed once per filter combination and reference."""
    memo: dict[tuple[Any, ...], frozenset[str]] = reference.setdefault("allowed", {})
    key = (mission, public, day)
    found = memo.get(key)
    if found is None:
        found = frozenset(
            sid for sid, row in reference["structures"].items()
            if row["receives_public"]
            and (mission is None or mission in row["missions"])
            and (public is None or public in row["publics"] or "tout_public" in row["publics"])
            and (day is None or any(d == day for d, _hours in row["opening_hours"]))
        )
        memo[key] = found
    return found


def rank(reference: dict[str, Any], times: dict[str, Any], *, origin: tuple[float, float], mode: str, limit: int,
         mission: str | None, public: str | None, day: str | None) -> tuple[list[tuple], list[tuple]]:
    """The finder's ranking in memory, identical to :func:`storage.read.finder_search`.

    ``times`` is :func:`storage.read.finder_commune`. Places within the bound come by
    travel time, equal times by ``structure_id`` (never by operator); the rest up to
    ``limit`` by straight-line distance from ``origin`` (then ``structure_id``).
    """
    allowed = allowed_places(reference, mission, public, day)
    positions = reference["positions"]
    other = "walk" if mode == "drive" else "drive"
    other_seconds = times["seconds"].get(other, {})
    by_time = []
    for seconds, sid in times["times"].get(mode, ()):
        if sid in allowed and sid in positions:
            by_time.append((sid, seconds, other_seconds.get(sid), _round(_distance(origin, positions[sid]))))
            if len(by_time) == limit:
                break
    by_distance = []
    if len(by_time) < limit:
        taken = {row[0] for row in by_time}
        nearest = heapq.nsmallest(
            limit - len(by_time),
            ((_distance(origin, positions[sid]), sid) for sid in allowed if sid not in taken and sid in positions),
        )
        drive, walk = times["seconds"].get("drive", {}), times["seconds"].get("walk", {})
        by_distance = [(sid, drive.get(sid), walk.get(sid), _round(metres)) for metres, sid in nearest]
    return by_time, by_distance


def _commune_times(cache: DataCache, conn: psycopg.Connection, code: str) -> dict[str, Any]:
    """:func:`storage.read.finder_commune`, kept in the LRU for the current data version."""
    key = ("commune-times", code)
    times = cache.result(key)
    if times is None:
        times = read.finder_commune(conn, code)
        cache.observe(times["version"])
        if times["code"] is not None:
            cache.store_result(key, times["version"], times)
    return times


def _search(cache: DataCache, conn: psycopg.Connection, key: tuple[Any, ...]) -> Outcome:
    code, point, mode, limit, mission, public, day = key
    located = None
    if point is not None:
        located = read.locate_point(conn, *point)
        cache.observe(located["version"])
        if located["code"] is None or located["distance_m"] > MAX_DISTANCE_FROM_REGION_M:
            raise NotFound(OUTSIDE_REGION)
        code = located["code"]
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
        start = times["origins"].get(mode) or times["surface"]
    else:
        located_by = "point_in_commune" if located["inside"] else "nearest_commune"
        origin = Origin(commune=commune, located_by=located_by, lat=point[0], lon=point[1])
        start = (located["x"], located["y"])
    by_time, by_distance = rank(reference, times, origin=start, mode=mode, limit=limit, mission=mission,
                                public=public, day=day)
    return Outcome(reference=reference, origin=origin, mode=mode, by_time=tuple(by_time),
                   by_distance=tuple(by_distance))


def find(
    *, mode: str, limit: int, mission: str | None, public: str | None, day: str | None,
    code: str | None = None, point: tuple[float, float] | None = None, conn: psycopg.Connection | None = None,
) -> Outcome:
    """The search from commune ``code`` or from the WGS84 ``point`` (lat, lon); 404 when unknown.

    Served from the LRU when the same normalised search from a commune was answered at
    the current data version; otherwise the commune's times come from the LRU or from one
    statement on ``conn`` (a pooled connection is taken only then), and a point is located
    by one statement. Searches from a point are not kept.
    """
    cache = data_cache()
    key = (code, point, mode, limit, mission, public, day)
    # Privacy: a search from a position is never kept (its coordinates would stay in memory
    # until evicted); only its commune's times are, like any commune's.
    outcome = cache.result(key) if point is None else None
    if outcome is None:
        with _use(conn) as active:
            outcome = _search(cache, active, key)
        if point is None:
            cache.store_result(key, outcome.reference["version"], outcome)
    return outcome


def matching_communes(conn: psycopg.Connection, query: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """:func:`storage.read.search_communes`, kept in the LRU for the current data version
    (the public page and ``/api/communes`` share the entries)."""
    return remembered(conn, ("communes", query.casefold(), limit),
                      lambda: read.search_communes(conn, query, limit=limit))


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
    ``distance_m``, ``ranked_by``, ``approximate_times``) and ``bounds`` (seconds per mode)."""
    runs = outcome.runs
    places = outcome.reference["structures"]
    lists: dict[str, list[dict[str, Any]]] = {"time": [], "distance": []}
    for sid, ranked_by, drive_s, walk_s, distance_m in _times(outcome):
        row = {**places[sid], "drive_s": drive_s, "walk_s": walk_s, "distance_m": distance_m, "ranked_by": ranked_by,
               "approximate_times": _approximate(runs, drive_s, walk_s)}
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
    "structure_id", "name", "partner_type", "partner_label", "address", "postcode", "commune_code", "commune_name",
    "missions", "publics", "site_format", "itinerant", "multisite", "geocoding", "approximate_position",
    "opening_hours", "phone", "website", "lat", "lon",
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
        {**static[sid], "ranked_by": ranked_by, "drive_seconds": _seconds(drive_s), "walk_seconds": _seconds(walk_s),
         "distance_m": distance_m, "approximate": _approximate(runs, drive_s, walk_s)}
        for sid, ranked_by, drive_s, walk_s, distance_m in _times(outcome)
    ]
