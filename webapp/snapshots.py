"""Changes between a year's snapshot and the previous one, for the report, the API and
the maps (no Flask here: the CLI map writers import it too).

- :func:`changes_context` — the tables of the report's « Évolutions » section.
- :func:`changed_communes` — the communes entering or leaving a white zone since the
  previous snapshot, as a GeoDataFrame (the data of the changes map).
- :func:`snapshot_layers` — everything a map of a year's bilan draws (per-commune times,
  white zones, zones, places, changed communes), as GeoDataFrames in the Région's CRS: the
  one way the static maps of the report and ``atlas map --year`` read a snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg

from storage import snapshot

if TYPE_CHECKING:
    import geopandas as gpd

MAP_MODE = "drive"
"""Mode of the changes map (the report's main mode)."""

MAIN_TYPE_MIN_PLACES = 10
"""A partner type is shown in the report's access changes when either year counts at least
this many of its places (the API gives every type)."""

MAP_CATEGORIES: tuple[str, ...] = (
    "mission:conseil",
    "mission:accompagnement",
    "mission:information",
    "mission:accueil",
)
"""Categories tried in turn for the changes map: the first with a white zone in either year."""


def changed_communes(
    conn: psycopg.Connection, year: int, *, mode: str | None = None, category: str | None = None
) -> gpd.GeoDataFrame | None:
    """Communes entering or leaving a white zone between the previous snapshot and the one
    of ``year`` (:func:`geo.analysis.changes.white_zone_changes`: ``mode, category,
    commune_code, name, population, change, seconds_before, seconds_after, threshold_s``,
    polygons in the Région's CRS), optionally for one ``mode`` and ``category``; None when
    ``year`` has no snapshot or no earlier one."""
    from geo.analysis.changes import white_zone_changes

    after = snapshot.current(conn, year)
    before = snapshot.previous(conn, year) if after else None
    if after is None or before is None:
        return None
    frame = white_zone_changes(
        snapshot.white_zones(conn, before["snapshot_id"]),
        snapshot.white_zones(conn, after["snapshot_id"]),
        snapshot.communes(conn, after["snapshot_id"]),
    )
    if mode is not None:
        frame = frame[frame["mode"] == mode]
    if category is not None:
        frame = frame[frame["category"] == category]
    return frame.reset_index(drop=True)


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows of a DataFrame as dicts, NaN as None."""
    import pandas as pd

    return [{k: (None if _isnan(v) else v) for k, v in row.items()} for row in pd.DataFrame(frame).to_dict("records")]


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _white(gaps: Any, mode: str, category: str) -> list[str]:
    """Codes of the communes in a white zone for ``mode`` and ``category``."""
    rows = gaps[(gaps["kind"] == "white_zone") & (gaps["mode"] == mode) & (gaps["category"] == category)]
    return [str(code) for code in rows["commune_code"]]


def changes_between(conn: psycopg.Connection, after_id: int, before_id: int | None) -> dict[str, Any] | None:
    """:func:`changes_context` of two snapshots given by id (both immutable: the result may
    be kept under the pair of ids, as the report does through ``webapp.cache.cached``)."""
    after = snapshot.by_id(conn, after_id)
    before = None if before_id is None else snapshot.by_id(conn, before_id)
    return None if after is None or before is None else changes_context(conn, after, before)


def changes_context(
    conn: psycopg.Connection, after: dict[str, Any], before: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The changes from the snapshot ``before`` (default: the previous year's current one)
    to the snapshot ``after`` (rows of :func:`storage.snapshot.current`, with ``parts``),
    or None when there is no earlier snapshot.

    Keys: ``previous`` (the earlier snapshot, without parts), ``places`` (rows of
    :func:`geo.analysis.changes.place_changes` with ``label``), ``place_counts`` (change
    -> number), ``access`` (rows of :func:`geo.analysis.changes.access_changes` at the
    Région level, with ``main``: a mission, or a partner type of at least
    :data:`MAIN_TYPE_MIN_PLACES` places), ``white_zones`` (per mode and category: ``entered``, ``left``,
    ``population_entered``, ``population_left``, ``communes``: the rows of
    :func:`changed_communes`), ``map`` (an SVG of the main category's changes or None).
    """
    from geo.analysis.changes import (
        PLACE_CHANGES,
        WHITE_ZONE_CHANGES,
        access_changes,
        place_changes,
        white_zone_changes,
    )

    if before is None:
        before = snapshot.previous(conn, after["year"])
    if before is None:
        return None
    places = place_changes(snapshot.places(conn, before["snapshot_id"]), snapshot.places(conn, after["snapshot_id"]))
    place_rows = [{**row, "label": PLACE_CHANGES[row["change"]]} for row in _records(places)]
    before_types = before["parts"].get("inventory") or []
    after_types = after["parts"].get("inventory") or []
    counts = {kind: sum(r["change"] == kind for r in place_rows) for kind in PLACE_CHANGES}
    categories = {c["code"]: c for c in before["parts"].get("categories") or []}
    categories.update({c["code"]: c for c in after["parts"].get("categories") or []})
    n_places: dict[str, int] = {}
    for part in (before["parts"], after["parts"]):
        for c in part.get("categories") or []:
            n_places[c["code"]] = max(n_places.get(c["code"], 0), int(c.get("n_places") or 0))

    def _places(code: str) -> int:
        return n_places.get(code, 0)

    access = [
        {**row, "main": row["kind"] != "partner_type" or _places(row["category"]) >= MAIN_TYPE_MIN_PLACES}
        for row in access_changes(
            before["parts"].get("indicators") or [], after["parts"].get("indicators") or [], categories=categories
        )
    ]
    communes = snapshot.communes(conn, after["snapshot_id"])
    after_gaps = snapshot.white_zones(conn, after["snapshot_id"])
    zones = white_zone_changes(snapshot.white_zones(conn, before["snapshot_id"]), after_gaps, communes)
    summary = []
    for (mode, category), group in zones.groupby(["mode", "category"], sort=True):
        entered, left = group[group["change"] == "entered"], group[group["change"] == "left"]
        summary.append(
            {
                "mode": mode,
                "category": category,
                "label": (categories.get(category) or {}).get("label", category),
                "entered": len(entered),
                "left": len(left),
                "population_entered": int(entered["population"].fillna(0).sum()),
                "population_left": int(left["population"].fillna(0).sum()),
                "communes": [
                    {**r, "label": WHITE_ZONE_CHANGES[r["change"]]} for r in _records(group.drop(columns="geometry"))
                ],
            }
        )
    map_category = next(
        (c for c in MAP_CATEGORIES if ((zones["mode"] == MAP_MODE) & (zones["category"] == c)).any()), None
    )
    drawn = None
    if map_category is not None:
        from webapp.svgmap import changes_svg

        selected = zones[(zones["mode"] == MAP_MODE) & (zones["category"] == map_category)]
        drawn = {
            "mode": MAP_MODE,
            "category": map_category,
            "label": (categories.get(map_category) or {}).get("label", map_category),
            "svg": changes_svg(communes, selected, remaining=_white(after_gaps, MAP_MODE, map_category)),
        }
    return {
        "previous": {k: v for k, v in before.items() if k != "parts"},
        "places": place_rows,
        "place_counts": counts,
        "place_labels": PLACE_CHANGES,
        "type_labels": {t["partner_type"]: t["label"] for t in [*before_types, *after_types]},
        "access": access,
        "white_zones": summary,
        "map": drawn,
    }


@dataclass(frozen=True)
class SnapshotLayers:
    """The layers of a year's snapshot, GeoDataFrames in the Région's projected CRS (metres;
    ``to_crs(4326)`` for the web).

    Attributes
    ----------
    snapshot
        ``snapshot_id, year, label, taken_at, region_code, crs, srid, replaced_at, replaced_by``.
    mode
        Travel mode of ``communes``' times (``drive`` or ``walk``).
    categories
        The categories computed (``code, kind, key, label, n_places, inventory_incomplete,
        incomplete_types``), display order.
    approximate
        Whether the times of ``mode`` are approximate (no OSM network).
    communes
        ``code, name, departement, epci, population``, one column ``seconds:<category>`` per
        category (travel time to the nearest place, seconds; NaN beyond the bound), polygons.
    places
        :func:`storage.snapshot.places` (``receives_public``, ``geocoding`` ``approx_…``…).
    white_zones
        Communes in a white zone: ``mode, category, commune_code, name, population,
        seconds, threshold_s``, polygons (every mode and category; filter them).
    zones
        :func:`storage.snapshot.zones` (every zoning; filter on ``zoning_id``).
    changed_communes
        :func:`changed_communes` for every mode and category, None for the first snapshot.
    """

    snapshot: dict[str, Any]
    mode: str
    categories: list[dict[str, Any]]
    approximate: bool
    communes: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    white_zones: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    changed_communes: gpd.GeoDataFrame | None


def snapshot_layers(conn: psycopg.Connection, year: int, *, mode: str = "drive") -> SnapshotLayers | None:
    """The layers of the snapshot of ``year`` for ``mode`` (:class:`SnapshotLayers`), or
    None when ``year`` has no snapshot."""
    import geopandas as gpd

    snap = snapshot.current(conn, year)
    if snap is None:
        return None
    sid = snap["snapshot_id"]
    communes = snapshot.communes(conn, sid)
    times = snapshot.commune_access(conn, sid, mode=mode)
    if not times.empty:
        wide = times.pivot(index="commune_code", columns="category", values="seconds")
        wide.columns = [f"seconds:{c}" for c in wide.columns]
        communes = communes.merge(wide, left_on="code", right_index=True, how="left")
    gaps = snapshot.white_zones(conn, sid)
    white = gaps[gaps["kind"] == "white_zone"].drop(columns=["kind", "population", "approximate"], errors="ignore")
    shapes = communes[["code", "name", "population", "geometry"]].rename(columns={"code": "commune_code"})
    white_zones = gpd.GeoDataFrame(
        shapes.merge(white, on="commune_code", how="inner"), geometry="geometry", crs=communes.crs
    )
    runs = snap["parts"].get("runs") or {}
    return SnapshotLayers(
        snapshot={k: v for k, v in snap.items() if k != "parts"},
        mode=mode,
        categories=list(snap["parts"].get("categories") or []),
        approximate=bool((runs.get(mode) or {}).get("approximate")),
        communes=communes,
        places=snapshot.places(conn, sid),
        white_zones=white_zones,
        zones=snapshot.zones(conn, sid),
        changed_communes=changed_communes(conn, year),
    )
