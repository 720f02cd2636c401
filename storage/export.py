"""Every layer a planner exports, read from PostGIS as (Geo)DataFrames in the Région's CRS.

:func:`export_layers` gathers the communes with their travel times in wide form, the
places, isochrones, white zones, zonings, indicators per territory and a metadata table
(sources, vintages, approximation). Writing files is :mod:`geo.export`'s job.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import psycopg
import shapely

from geo.access import MAIN_CATEGORIES as WIDE_CATEGORIES  # spread into columns of the communes layer


def _frame(conn: psycopg.Connection, query: str, params: tuple = (), *, crs: str | None = None) -> pd.DataFrame:
    """Run ``query``; a last column named ``wkb`` becomes the geometry."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [d.name for d in cur.description]
        rows = cur.fetchall()
    frame = pd.DataFrame(rows, columns=columns)
    if "wkb" not in columns:
        return frame
    geometry = shapely.from_wkb([bytes(v) for v in frame.pop("wkb")]) if rows else []
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def export_layers(conn: psycopg.Connection) -> dict[str, pd.DataFrame]:
    """All exportable layers, keyed by layer name (French, snake_case).

    Returns
    -------
    dict
        ``communes`` (polygons + ``t_<mode>_<category>`` minutes and the nearest place),
        ``lieux`` (points), ``isochrones``, ``zones_blanches`` (polygons),
        ``zonages`` (zone polygons), ``indicateurs_territoires`` and
        ``indicateurs_communes`` (tables), ``metadonnees`` (table). Layers with no rows
        are left out, except ``communes``, ``lieux`` and ``metadonnees``.
    """
    crs_row = conn.execute("SELECT crs FROM region_config").fetchone()
    if crs_row is None:
        msg = "no Région is loaded yet (run `atlas load` first)"
        raise LookupError(msg)
    crs = str(crs_row[0])
    layers: dict[str, pd.DataFrame] = {}
    communes = _frame(
        conn,
        "SELECT code, name AS nom, departement, arrondissement, epci, population, ST_AsBinary(geom) AS wkb "
        "FROM commune ORDER BY code",
        crs=crs,
    )
    access = _frame(
        conn,
        """
        SELECT a.commune_code AS code, a.mode, a.category, a.seconds / 60 AS minutes,
               s.name AS lieu, a.n_operators_30, a.fca, a.approximate
          FROM commune_access a LEFT JOIN structure s USING (structure_id)
         WHERE a.category = ANY(%s)
        """,
        (list(WIDE_CATEGORIES),),
    )
    if not access.empty:
        access["key"] = access["mode"] + "_" + access["category"].str.replace(":", "_")
        minutes = access.pivot(index="code", columns="key", values="minutes").astype(float).round(1)
        minutes.columns = [f"t_{key}" for key in minutes.columns]
        names = access.pivot(index="code", columns="key", values="lieu")
        names.columns = [f"lieu_{key}" for key in names.columns]
        wide = minutes.join(names)
        choice = access[access["category"] == "any"].pivot(index="code", columns="mode", values=["n_operators_30", "fca"])
        choice.columns = [f"{'reseaux_30min' if kind == 'n_operators_30' else 'ratio_2sfca'}_{mode}" for kind, mode in choice.columns]
        approximate = access.pivot_table(index="code", columns="mode", values="approximate", aggfunc="max")
        approximate.columns = [f"approximatif_{mode}" for mode in approximate.columns]
        communes = communes.merge(wide.join(choice).join(approximate), left_on="code", right_index=True, how="left")
    layers["communes"] = communes
    layers["lieux"] = _frame(
        conn,
        """
        SELECT s.structure_id, s.name AS nom, s.partner_type, p.label AS type_libelle, s.address AS adresse,
               s.postcode AS code_postal, s.commune_code, s.commune_name AS commune, s.phone AS telephone,
               s.email, s.website AS site_web, s.site_format AS format, s.geocoding AS geocodage,
               array_to_string(s.missions, ', ') AS missions, array_to_string(s.publics, ', ') AS publics,
               s.source, s.vintage AS millesime, ST_AsBinary(s.geom) AS wkb
          FROM structure s JOIN partner_type p USING (partner_type) ORDER BY s.structure_id
        """,
        crs=crs,
    )
    optional = {
        "isochrones": (
            "SELECT i.structure_id, s.name AS nom, i.mode, i.minutes, i.approximate AS approximatif, "
            "ST_AsBinary(i.geom) AS wkb FROM isochrone i JOIN structure s USING (structure_id) "
            "ORDER BY i.mode, i.minutes DESC, i.structure_id"
        ),
        "zones_blanches": (
            "SELECT g.kind AS type, g.mode, g.category AS categorie, g.commune_code, c.name AS commune, "
            "g.population, g.seconds / 60 AS minutes, g.threshold_s / 60 AS seuil_minutes, "
            "g.approximate AS approximatif, ST_AsBinary(c.geom) AS wkb "
            "FROM gap g JOIN commune c ON c.code = g.commune_code ORDER BY g.kind, g.mode, g.category, g.commune_code"
        ),
        "zonages": (
            "SELECT z.zoning_id AS zonage, zg.label AS zonage_libelle, zg.method AS methode, z.zone_id, "
            "z.name AS nom, z.population, z.n_communes, z.hub_structure_id AS pole, z.explanation AS explication, "
            "ST_AsBinary(z.geom) AS wkb FROM zone z JOIN zoning zg USING (zoning_id) ORDER BY z.zoning_id, z.zone_id"
        ),
    }
    for name, query in optional.items():
        frame = _frame(conn, query, crs=crs)
        if not frame.empty:
            layers[name] = frame
    for name, query in {
        "indicateurs_territoires": (
            "SELECT level AS niveau, code, mode, category AS categorie, n_communes, population, "
            "population_unreached AS population_non_desservie, mean_min AS moyenne_min, median_min AS mediane_min, "
            "share_10 AS part_10min, share_20 AS part_20min, share_30 AS part_30min, share_45 AS part_45min, "
            "mean_operators_30 AS reseaux_30min, mean_fca AS ratio_2sfca, approximate AS approximatif "
            "FROM access_indicator ORDER BY level, code, mode, category"
        ),
        "indicateurs_communes": (
            "SELECT commune_code, mode, category AS categorie, seconds / 60 AS minutes, structure_id AS lieu, "
            "n_operators_30 AS reseaux_30min, fca AS ratio_2sfca, approximate AS approximatif "
            "FROM commune_access ORDER BY commune_code, mode, category"
        ),
    }.items():
        frame = _frame(conn, query)
        if not frame.empty:
            layers[name] = frame
    layers["metadonnees"] = pd.DataFrame(metadata(conn), columns=["cle", "valeur"])
    return layers


def metadata(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """Key/value rows stating sources, vintages, networks and whether times are approximate."""
    rows: list[tuple[str, str]] = []
    region = conn.execute("SELECT region_code, crs FROM region_config").fetchone()
    rows.append(("region", str(region[0])))
    rows.append(("systeme_de_coordonnees", str(region[1])))
    last = conn.execute("SELECT finished_at, files FROM load_run ORDER BY id DESC LIMIT 1").fetchone()
    if last is not None:
        rows.append(("chargement", last[0].isoformat(timespec="seconds")))
        for path, digest in sorted(dict(last[1]).items()):
            rows.append((f"source:{path}", f"sha256 {digest}"))
    for dataset, vintage, count in conn.execute(
        "SELECT dataset, min(vintage), count(*) FROM structure GROUP BY dataset ORDER BY dataset"
    ).fetchall():
        rows.append((f"lieux:{dataset}", f"{count} lieux, millésime {vintage or 'inconnu'}"))
    for mode, approximate, network, computed_at in conn.execute(
        "SELECT mode, approximate, network, computed_at FROM access_run ORDER BY mode"
    ).fetchall():
        state = (
            "APPROXIMATIFS (graphe des communes adjacentes, pas de réseau routier)"
            if approximate
            else f"réseau OpenStreetMap {network}"
        )
        rows.append((f"temps_{mode}", f"{state}, calculés le {computed_at:%Y-%m-%d}"))
    rows.append(("unites", "temps en minutes ; populations : populations légales INSEE ; ratio 2SFCA en lieux pour 10 000 habitants"))
    rows.append(("logiciel", "Atlas SPRO"))
    return rows
