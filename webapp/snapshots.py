"""Changes between a year's snapshot and the previous one, for the report, the API and
the maps (no Flask here: the CLI map writers import it too).

- :func:`changes_context` — the tables of the report's « Évolutions » section.
- :func:`changed_communes` — the communes entering or leaving a white zone since the
  previous snapshot, as a GeoDataFrame (the data of the changes map).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

from storage import snapshot

if TYPE_CHECKING:
    import geopandas as gpd

MAP_MODE = "drive"
"""Mode of the changes map (the report's main mode)."""

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
    Région level), ``white_zones`` (per mode and category: ``entered``, ``left``,
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
    access = access_changes(
        before["parts"].get("indicators") or [], after["parts"].get("indicators") or [], categories=categories
    )
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
