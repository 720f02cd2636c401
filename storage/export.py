"""Everything a planner's export holds, read from PostGIS as (Geo)DataFrames in the Région's CRS.

:func:`export_tables` reads the tables as stored (English column names, long form);
:func:`geo.export.planner_layers` turns them into the layers of the files (French names,
travel times spread into columns) and :func:`geo.export.write_layers` writes them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import psycopg

from geo.vocabulary import MAIN_CATEGORIES
from storage.common import loaded_region, read_frame, region_crs
from storage.read import inventory, last_load_rejections


def export_tables(conn: psycopg.Connection) -> dict[str, Any]:
    """The stored tables an export needs, keyed by name.

    Returns
    -------
    dict
        ``communes`` (polygons), ``access`` (nearest place of the main categories per
        commune and mode: ``code, mode, category, seconds, structure_name, n_operators_30,
        fca, approximate``), ``places`` (points, with ``partner_label``), ``isochrones``,
        ``gaps`` (commune polygons), ``zones`` (zone polygons), ``indicators`` and
        ``commune_access`` (tables), and ``facts``: the record of the data (Région, CRS,
        last load and its files, inventory per partner type with its vintages, accessibility runs).

    Raises
    ------
    storage.common.StoreError
        When no Région is loaded.
    """
    crs = region_crs(conn)
    tables: dict[str, Any] = {
        "communes": read_frame(
            conn,
            "SELECT code, name, departement, arrondissement, epci, population, ST_AsBinary(geom) AS wkb "
            "FROM commune ORDER BY code",
            crs=crs,
        ),
        "access": read_frame(
            conn,
            """
            SELECT a.commune_code AS code, a.mode, a.category, a.seconds, s.name AS structure_name,
                   a.n_operators_30, a.fca, a.approximate, a.ferry
              FROM commune_access a LEFT JOIN structure s USING (structure_id)
             WHERE a.category = ANY(%s)
            """,
            (list(MAIN_CATEGORIES),),
        ),
        "places": read_frame(
            conn,
            """
            SELECT s.structure_id, s.name, s.partner_type, p.label AS partner_label, s.address, s.postcode,
                   s.commune_code, s.commune_name, s.phone, s.email, s.website, s.site_format, s.geocoding,
                   s.missions, s.publics, s.source, s.vintage, ST_AsBinary(s.geom) AS wkb
              FROM structure s JOIN partner_type p USING (partner_type) ORDER BY s.structure_id
            """,
            crs=crs,
        ),
        "isochrones": read_frame(
            conn,
            "SELECT i.structure_id, s.name, i.mode, i.minutes, i.approximate, ST_AsBinary(i.geom) AS wkb "
            "FROM isochrone i JOIN structure s USING (structure_id) ORDER BY i.mode, i.minutes DESC, i.structure_id",
            crs=crs,
        ),
        "gaps": read_frame(
            conn,
            "SELECT g.kind, g.mode, g.category, g.commune_code, c.name AS commune_name, g.population, g.seconds, "
            "g.threshold_s, g.approximate, k.inventory_incomplete, "
            "ST_AsBinary(c.geom) AS wkb "
            "FROM gap g JOIN commune c ON c.code = g.commune_code JOIN access_category k ON k.code = g.category "
            "ORDER BY g.kind, g.mode, g.category, g.commune_code",
            crs=crs,
        ),
        "zones": read_frame(
            conn,
            "SELECT z.zoning_id, zg.label AS zoning_label, zg.method, z.zone_id, z.name, z.population, z.n_communes, "
            "z.hub_structure_id, z.explanation, ST_AsBinary(z.geom) AS wkb "
            "FROM zone z JOIN zoning zg USING (zoning_id) ORDER BY z.zoning_id, z.zone_id",
            crs=crs,
        ),
        "indicators": read_frame(
            conn,
            "SELECT i.level, i.code, i.mode, i.category, i.n_communes, i.population, i.population_unreached, "
            "i.mean_min, i.median_min, i.share_10, i.share_20, i.share_30, i.share_45, i.mean_operators_30, "
            "i.mean_fca, i.approximate, k.inventory_incomplete "
            "FROM access_indicator i JOIN access_category k ON k.code = i.category "
            "ORDER BY i.level, i.code, i.mode, i.category",
        ),
        "commune_access": read_frame(
            conn,
            "SELECT a.commune_code, a.mode, a.category, a.seconds, a.structure_id, a.n_operators_30, a.fca, "
            "a.approximate, a.ferry, k.inventory_incomplete "
            "FROM commune_access a JOIN access_category k ON k.code = a.category "
            "ORDER BY a.commune_code, a.mode, a.category",
        ),
        "facts": _facts(conn),
    }
    return tables


def _facts(conn: psycopg.Connection) -> dict[str, Any]:
    """Région, CRS, last load (time, files, rows rejected), the inventory per partner type
    (:class:`geo.analysis.inventory.TypeInventory`: counts, completeness, vintages) and the
    accessibility runs."""
    region = loaded_region(conn)
    last = conn.execute("SELECT finished_at, files FROM load_run ORDER BY id DESC LIMIT 1").fetchone()
    runs = conn.execute("SELECT mode, approximate, network, computed_at FROM access_run ORDER BY mode").fetchall()
    return {
        "region": None if region is None else region[0],
        "crs": None if region is None else region[1],
        "loaded_at": None if last is None else last[0],
        "files": {} if last is None else dict(last[1]),
        "rejected_rows": len(last_load_rejections(conn)),
        "incomplete_categories": [
            row[0]
            for row in conn.execute("SELECT code FROM access_category WHERE inventory_incomplete ORDER BY sort_order")
        ],
        "inventory": inventory(conn),
        "runs": pd.DataFrame(runs, columns=["mode", "approximate", "network", "computed_at"]),
    }
