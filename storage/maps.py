"""What the static maps of the report and the shareable map file draw, read from PostGIS as
(Geo)DataFrames in the Région's projected CRS (the renderers, :mod:`geo.maps` and
:mod:`geo.mapfile`, take these frames and never talk to the database).
"""

from __future__ import annotations

from typing import Any

import psycopg

from geo.vocabulary import MISSIONS
from storage.common import StoreError, read_frame, region_crs

MAP_CATEGORIES: tuple[str, ...] = ("any", *(f"mission:{m}" for m in MISSIONS))
"""Categories drawn on the maps: any place of the SPRO, then one map per mission."""


def map_layers(conn: psycopg.Connection, *, mode: str = "drive") -> dict[str, Any]:
    """The layers of the report's maps and of the map file, for ``mode``.

    Returns
    -------
    dict
        ``communes``: GeoDataFrame ``code, name, departement, epci, population`` (polygons,
        full resolution: the renderers simplify); ``times``: DataFrame ``code, category,
        seconds`` (time to the nearest place of each of :data:`MAP_CATEGORIES`, NaN when
        unreached); ``categories``: DataFrame ``code, label, inventory_incomplete``;
        ``gaps``: DataFrame ``code, category, threshold_s`` (white zones of ``mode``);
        ``zones``: GeoDataFrame ``zoning_id, zoning_label, zone_id, name`` (polygons);
        ``places``: GeoDataFrame ``structure_id, name, partner_label, missions`` (points of
        the places receiving the public); ``departements``: GeoDataFrame ``code, name``; ``epci_names``: Series
        name by EPCI code;
        ``approximate``: whether the times of ``mode`` are approximate; ``crs``.

    Raises
    ------
    storage.common.StoreError
        When no Région is loaded.
    """
    crs = region_crs(conn)
    categories = list(MAP_CATEGORIES)
    approximate = conn.execute(
        "SELECT coalesce(bool_or(approximate), false) FROM commune_access WHERE mode = %s", (mode,)
    ).fetchone()
    return {
        "crs": crs,
        "approximate": bool(approximate and approximate[0]),
        "communes": read_frame(
            conn,
            "SELECT code, name, departement, epci, population, ST_AsBinary(geom) AS wkb FROM commune ORDER BY code",
            crs=crs,
        ),
        "times": read_frame(
            conn,
            "SELECT commune_code AS code, category, seconds FROM commune_access "
            "WHERE mode = %s AND category = ANY(%s) ORDER BY commune_code, category",
            (mode, categories),
        ),
        "categories": read_frame(
            conn,
            "SELECT code, label, inventory_incomplete FROM access_category WHERE code = ANY(%s) ORDER BY sort_order",
            (categories,),
        ),
        "gaps": read_frame(
            conn,
            "SELECT commune_code AS code, category, threshold_s FROM gap "
            "WHERE kind = 'white_zone' AND mode = %s AND category = ANY(%s) ORDER BY category, commune_code",
            (mode, categories),
        ),
        "zones": read_frame(
            conn,
            "SELECT z.zoning_id, zg.label AS zoning_label, z.zone_id, z.name, ST_AsBinary(z.geom) AS wkb "
            "FROM zone z JOIN zoning zg USING (zoning_id) ORDER BY z.zoning_id, z.zone_id",
            crs=crs,
        ),
        "places": read_frame(
            conn,
            "SELECT s.structure_id, s.name, p.label AS partner_label, s.missions, ST_AsBinary(s.geom) AS wkb "
            "FROM structure s JOIN partner_type p USING (partner_type) "
            "WHERE coalesce(s.receives_public, p.receives_public) ORDER BY s.structure_id",
            crs=crs,
        ),
        **_boundaries(conn, crs),
    }


def snapshot_map_layers(conn: psycopg.Connection, snapshot_id: int, *, mode: str = "drive") -> dict[str, Any]:
    """The layers of :func:`map_layers` (same keys and columns) as the snapshot
    ``snapshot_id`` froze them: communes, times, categories, white zones, zones and places
    of that year. The départements' outlines and the EPCI names are the current ones
    (boundaries, not figures).

    Raises
    ------
    storage.common.StoreError
        When the snapshot is unknown.
    """
    import pandas as pd

    row = conn.execute(
        "SELECT crs, parts -> 'categories', parts -> 'runs' FROM snapshot WHERE snapshot_id = %s", (snapshot_id,)
    ).fetchone()
    if row is None:
        msg = f"instantané {snapshot_id} inconnu"
        raise StoreError(msg)
    crs, categories_part, runs = row[0], row[1] or [], row[2] or {}
    wanted = list(MAP_CATEGORIES)
    categories = pd.DataFrame(
        [
            {"code": c["code"], "label": c["label"], "inventory_incomplete": bool(c.get("inventory_incomplete"))}
            for c in categories_part
            if c["code"] in wanted
        ],
        columns=["code", "label", "inventory_incomplete"],
    )
    categories["order"] = categories["code"].map(wanted.index)
    categories = categories.sort_values("order").drop(columns="order").reset_index(drop=True)
    return {
        "crs": crs,
        "approximate": bool((runs.get(mode) or {}).get("approximate")),
        "communes": read_frame(
            conn,
            "SELECT code, name, departement, epci, population, ST_AsBinary(geom) AS wkb "
            "FROM snapshot_commune WHERE snapshot_id = %s ORDER BY code",
            (snapshot_id,),
            crs=crs,
        ),
        "times": read_frame(
            conn,
            "SELECT commune_code AS code, category, seconds FROM snapshot_commune_access "
            "WHERE snapshot_id = %s AND mode = %s AND category = ANY(%s) ORDER BY commune_code, category",
            (snapshot_id, mode, wanted),
        ),
        "categories": categories,
        "gaps": read_frame(
            conn,
            "SELECT commune_code AS code, category, threshold_s FROM snapshot_gap "
            "WHERE snapshot_id = %s AND kind = 'white_zone' AND mode = %s AND category = ANY(%s) "
            "ORDER BY category, commune_code",
            (snapshot_id, mode, wanted),
        ),
        "zones": read_frame(
            conn,
            "SELECT z.zoning_id, coalesce(zg ->> 'label', z.zoning_id) AS zoning_label, z.zone_id, z.name, "
            "ST_AsBinary(z.geom) AS wkb FROM snapshot_zone z JOIN snapshot s USING (snapshot_id) "
            "LEFT JOIN LATERAL jsonb_path_query_first(s.parts, '$.zonings[*] ? (@.zoning_id == $id)', "
            "jsonb_build_object('id', z.zoning_id)) AS zg ON true "
            "WHERE z.snapshot_id = %s ORDER BY z.zoning_id, z.zone_id",
            (snapshot_id,),
            crs=crs,
        ),
        "places": read_frame(
            conn,
            "SELECT s.structure_id, s.name, coalesce(p.label, s.partner_type) AS partner_label, s.missions, "
            "ST_AsBinary(s.geom) AS wkb FROM snapshot_place s LEFT JOIN partner_type p USING (partner_type) "
            "WHERE s.snapshot_id = %s AND s.receives_public ORDER BY s.structure_id",
            (snapshot_id,),
            crs=crs,
        ),
        **_boundaries(conn, crs),
    }


def _boundaries(conn: psycopg.Connection, crs: str) -> dict[str, Any]:
    """``epci_names`` (Series of names by EPCI code) and ``departements`` (GeoDataFrame
    ``code, name``, polygons in ``crs``): the current outlines drawn under the figures."""
    return {
        "epci_names": read_frame(conn, "SELECT code, name FROM territory WHERE level = 'epci'").set_index("code")[
            "name"
        ],
        "departements": read_frame(
            conn,
            "SELECT code, name, ST_AsBinary(geom) AS wkb FROM territory WHERE level = 'departement' ORDER BY code",
            crs=crs,
        ),
    }
