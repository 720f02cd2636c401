"""The finder's steps shared by the public page and ``/api/nearest``.

Where the search starts (a commune, or a WGS84 point located in its commune) and the
shape of one result in the JSON API. No SQL here: every query is in ``storage.read``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from werkzeug.exceptions import NotFound

from storage import read

MAX_DISTANCE_FROM_REGION_M = 20_000
"""A point farther than this from every commune of the Région is refused (404)."""


@dataclass(frozen=True)
class Origin:
    """Where a search starts: the commune whose travel times are used, and the point (if any)."""

    commune: dict[str, Any]
    located_by: str  # "commune", "point_in_commune", "nearest_commune"
    lat: float | None = None
    lon: float | None = None


def origin_from_commune(conn: psycopg.Connection, code: str) -> Origin:
    """The commune ``code``; 404 when unknown."""
    chosen = read.commune(conn, code)
    if chosen is None:
        raise NotFound("Commune inconnue dans la Région chargée.")
    return Origin(commune=chosen, located_by="commune")


def origin_from_point(conn: psycopg.Connection, lat: float, lon: float) -> Origin:
    """The commune containing the point, else the nearest one; 404 outside the Région."""
    found = read.commune_at_point(conn, lat, lon)
    if found is None or found["distance_m"] > MAX_DISTANCE_FROM_REGION_M:
        raise NotFound("Ce point est hors de la Région : aucune commune à moins de 20 km.")
    located_by = "point_in_commune" if found["inside"] else "nearest_commune"
    return Origin(commune=found, located_by=located_by, lat=lat, lon=lon)


def search(
    conn: psycopg.Connection, origin: Origin, *, mode: str, limit: int,
    mission: str | None, public: str | None, day: str | None,
) -> dict[str, Any]:
    """:func:`storage.read.nearest_places` from ``origin``, each place flagged ``approximate_times``,
    plus ``bounds`` (seconds) of the precomputed times per mode."""
    found = read.nearest_places(
        conn, commune_code=origin.commune["code"], mode=mode, limit=limit, lat=origin.lat, lon=origin.lon,
        mission=mission, public=public, day=day,
    )
    for row in found["by_time"] + found["by_distance"]:
        row["approximate_times"] = times_are_approximate(row, found["runs"])
    found["bounds"] = {m: (found["runs"][m]["bound_s"] if m in found["runs"] else None) for m in ("drive", "walk")}
    return found


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def times_are_approximate(row: dict[str, Any], runs: dict[str, dict[str, Any]]) -> bool:
    """Whether any travel time given for ``row`` comes from an approximate run."""
    return any(bool(run["approximate"]) for mode, run in runs.items() if row.get(f"{mode}_s") is not None)


def api_result(row: dict[str, Any]) -> dict[str, Any]:
    """One place as ``/api/nearest`` returns it."""
    return {
        "structure_id": row["structure_id"],
        "name": row["name"],
        "partner_type": row["partner_type"],
        "partner_label": row["partner_label"],
        "address": row["address"],
        "postcode": row["postcode"],
        "commune_code": row["commune_code"],
        "commune_name": row["commune_name"],
        "missions": row["missions"],
        "publics": row["publics"],
        "site_format": row["site_format"],
        "itinerant": row["itinerant"],
        "multisite": row["multisite"],
        "geocoding": row["geocoding"],
        "approximate_position": row["approximate_position"],
        "opening_hours": dict(row["opening_hours"]),
        "phone": row["phone"],
        "website": row["website"],
        "lat": row["lat"],
        "lon": row["lon"],
        "ranked_by": row["ranked_by"],
        "drive_seconds": _seconds(row.get("drive_s")),
        "walk_seconds": _seconds(row.get("walk_s")),
        "distance_m": row["distance_m"],
        "approximate": row["approximate_times"],
    }
