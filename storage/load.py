"""Writing a Région's sources into PostGIS, all or nothing.

:func:`replace_region` replaces the territories, the partner-type mapping and the given
structure datasets inside one transaction: on any error nothing is written and what was
stored before stays as it was. Running it twice with the same input gives the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from geo.crs import epsg_code
from geo.names import searchable_names
from geo.schema import STRUCTURE_COLUMNS
from storage.common import StoreError, copy_rows, ewkb_hex, scalar

if TYPE_CHECKING:
    from geo.sources.region import RegionSources

Rejection = tuple[str, int | None, str | None, str]
"""``(file, row, field, reason)`` of a row a tolerant load left out."""


def store_sources(conn: psycopg.Connection, sources: RegionSources, *, started_at: dt.datetime) -> dict[str, int]:
    """:func:`replace_region` with everything ``sources`` (a Région read and validated by
    :func:`geo.sources.region.read_region_sources`) brings; row counts."""
    return replace_region(
        conn,
        region_code=sources.region_code,
        crs=sources.crs,
        communes=sources.communes,
        territories=sources.territories,
        partner_types=sources.partner_types,
        structures=sources.structures,
        datasets=sources.datasets,
        files=sources.files,
        started_at=started_at,
        rejections=sources.rejected_rows(),
        territories_source=sources.territories_source,
        delegated_names=sources.delegated_names,
        official_zones=sources.official_zones,
    )


def replace_region(
    conn: psycopg.Connection,
    *,
    region_code: str,
    crs: str,
    communes: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    partner_types: pd.DataFrame,
    structures: gpd.GeoDataFrame,
    datasets: Sequence[str],
    files: dict[str, str],
    started_at: dt.datetime,
    rejections: Sequence[Rejection] = (),
    territories_source: str | None = None,
    delegated_names: Sequence[tuple[str, str]] = (),
    official_zones: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Replace everything a full load brings, in one transaction; return row counts.

    Parameters
    ----------
    communes, territories, structures
        GeoDataFrames in ``crs`` (the Région's projected CRS, metres).
    partner_types
        Mapping indexed by ``partner_type`` (``label, missions, publics, receives_public,
        description``, optionally ``expected_sites``: int or None).
    datasets
        Structure datasets replaced as a whole (rows of other datasets are kept).
    files
        Path -> SHA-256 of the files read, recorded in ``load_run``.
    rejections
        ``(file, row, field, reason)`` of the rows a tolerant load left out, recorded in
        ``load_rejection`` with this run.
    territories_source
        Sources and vintages of the communes, populations and contours in words, cited by
        the pages and the report.
    delegated_names
        ``(current commune code, name)`` of the communes déléguées or associées, searchable
        by the public along with the communes' and EPCI's names (table ``commune_name``).
    official_zones
        ``level, commune_code, zone_id, name`` of the official zonings (zones d'emploi,
        bassins de vie), replacing the stored ones; None stores none.
    """
    srid = epsg_code(crs)
    for name, frame in (("communes", communes), ("territories", territories), ("structures", structures)):
        if frame.crs is None or epsg_code(str(frame.crs)) != srid:
            msg = f"{name} are in {frame.crs}, expected {crs}"
            raise StoreError(msg)
    try:
        with conn.transaction():
            _set_region(conn, region_code, srid, crs)
            conn.execute("UPDATE region_config SET territories_source = %s", (territories_source,))
            conn.execute("SET CONSTRAINTS ALL DEFERRED")
            # Travel times describe the structures and communes being replaced.
            cleared = conn.execute("DELETE FROM access_run").rowcount
            conn.execute("DELETE FROM access_category")
            conn.execute("DELETE FROM structure WHERE dataset = ANY(%s)", (list(datasets),))
            conn.execute("DELETE FROM territory")
            conn.execute("DELETE FROM commune")
            conn.execute("DELETE FROM partner_type")
            _copy_partner_types(conn, partner_types)
            _copy_communes(conn, communes, srid)
            _copy_territories(conn, territories, srid)
            _copy_commune_names(conn, communes, territories, delegated_names)
            _copy_official_zones(conn, official_zones)
            _copy_structures(conn, structures, srid)
            counts = {
                "communes": len(communes),
                "territories": len(territories),
                "partner_types": len(partner_types),
                "structures": len(structures),
                "rejected": len(rejections),
                "access_runs_cleared": cleared,
            }
            run_id = scalar(
                conn,
                "INSERT INTO load_run (started_at, kind, files, counts) VALUES (%s, 'region', %s, %s) RETURNING id",
                (started_at, Jsonb(files), Jsonb({**counts, "datasets": list(datasets)})),
            )
            copy_rows(
                conn,
                "load_rejection",
                ("load_run_id", "position", "file", "source_row", "field", "reason"),
                ((run_id, i, *rejection) for i, rejection in enumerate(rejections, start=1)),
            )
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except psycopg.errors.ForeignKeyViolation as exc:
        msg = f"the load would leave a broken reference, nothing was written: {exc.diag.message_detail or exc}"
        raise StoreError(msg) from exc
    return counts


def _copy_official_zones(conn: psycopg.Connection, zones: pd.DataFrame | None) -> None:
    """Replace the official zonings (the communes' deletion already emptied them)."""
    conn.execute("DELETE FROM official_zone")
    if zones is None or zones.empty:
        return
    copy_rows(
        conn,
        "official_zone",
        ("level", "commune_code", "zone_id", "name"),
        zones[["level", "commune_code", "zone_id", "name"]].itertuples(index=False, name=None),
    )


def _set_region(conn: psycopg.Connection, region_code: str, srid: int, crs: str) -> None:
    row = conn.execute("SELECT region_code, srid FROM region_config").fetchone()
    if row is not None and row[0] != region_code:
        msg = (
            f"this database holds Région {row[0]}; load Région {region_code} into another database "
            f"(one database per Région: create it, e.g. `createdb atlas_{region_code}`, and point DATABASE_URL at it)"
        )
        raise StoreError(msg)
    if row is not None and row[1] != srid:
        structure_count = scalar(conn, "SELECT count(*) FROM structure")
        if structure_count:
            msg = f"this database stores geometries in SRID {row[1]}, not {srid}"
            raise StoreError(msg)
    conn.execute(
        """
        INSERT INTO region_config (region_code, srid, crs) VALUES (%s, %s, %s)
        ON CONFLICT (singleton) DO UPDATE SET srid = EXCLUDED.srid, crs = EXCLUDED.crs
        """,
        (region_code, srid, crs),
    )


def _copy_partner_types(conn: psycopg.Connection, partner_types: pd.DataFrame) -> None:
    rows = (
        (
            key,
            r["label"],
            list(r["missions"]),
            list(r["publics"]),
            bool(r["receives_public"]),
            _none(r["description"]),
            _none(r.get("expected_sites")),
        )
        for key, r in partner_types.iterrows()
    )
    columns = ["partner_type", "label", "missions", "publics", "receives_public", "description", "expected_sites"]
    copy_rows(conn, "partner_type", columns, rows)


def _copy_communes(conn: psycopg.Connection, communes: gpd.GeoDataFrame, srid: int) -> None:
    geoms = ewkb_hex(communes.geometry, srid, multi=True)
    rows = (
        (
            r.code,
            r.name,
            r.departement,
            _none(r.arrondissement),
            _none(r.epci),
            list(r.postcodes),
            int(r.population),
            list(r.former_codes),
            g,
        )
        for r, g in zip(communes.itertuples(index=False), geoms, strict=True)
    )
    columns = [
        "code",
        "name",
        "departement",
        "arrondissement",
        "epci",
        "postcodes",
        "population",
        "former_codes",
        "geom",
    ]
    copy_rows(conn, "commune", columns, rows)


def _copy_commune_names(
    conn: psycopg.Connection,
    communes: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    delegated_names: Sequence[tuple[str, str]],
) -> None:
    """The searchable names (:func:`geo.names.searchable_names`, the one normalisation rule)."""
    known = set(communes["code"])
    epci = territories[territories["level"] == "epci"]
    rows = searchable_names(
        ({"code": r.code, "name": r.name, "epci": _none(r.epci)} for r in communes.itertuples(index=False)),
        [(code, name) for code, name in delegated_names if code in known],
        zip(epci["code"], epci["name"], strict=True),
    )
    copy_rows(conn, "commune_name", ["commune_code", "kind", "name", "key", "compact"], rows)


def refresh_commune_names(conn: psycopg.Connection) -> int:
    """Rebuild ``commune_name`` from the stored communes and EPCI (own and EPCI names; the
    communes déléguées come only with a load, which reads the COG list); return its rows.

    Run by the migration that creates the table (:data:`storage.migrate.DATA_STEPS`), so that
    a database loaded before it can be searched without a new load.
    """
    communes = conn.execute("SELECT code, name, epci FROM commune ORDER BY code").fetchall()
    epci = conn.execute("SELECT code, name FROM territory WHERE level = 'epci' ORDER BY code").fetchall()
    conn.execute("DELETE FROM commune_name")
    rows = list(searchable_names(({"code": c, "name": n, "epci": e} for c, n, e in communes), (), epci))
    copy_rows(conn, "commune_name", ["commune_code", "kind", "name", "key", "compact"], rows)
    return len(rows)


def _copy_territories(conn: psycopg.Connection, territories: gpd.GeoDataFrame, srid: int) -> None:
    geoms = ewkb_hex(territories.geometry, srid, multi=True)
    rows = (
        (r.level, r.code, r.name, _none(r.kind), int(r.population), int(r.n_communes), bool(r.straddles_region), g)
        for r, g in zip(territories.itertuples(index=False), geoms, strict=True)
    )
    columns = ["level", "code", "name", "kind", "population", "n_communes", "straddles_region", "geom"]
    copy_rows(conn, "territory", columns, rows)


def _copy_structures(conn: psycopg.Connection, structures: gpd.GeoDataFrame, srid: int) -> None:
    columns = [c for c in STRUCTURE_COLUMNS if c != "geometry"]
    geoms = ewkb_hex(structures.geometry, srid, multi=False)
    rows = []
    for record, geom in zip(structures[columns].to_dict("records"), geoms, strict=True):
        values: list[Any] = []
        for column in columns:
            value: Any = _none(record[column])
            if column == "opening_hours":
                value = Jsonb(value or {})
            elif column in ("missions", "publics"):
                value = list(value)
            values.append(value)
        rows.append((*values, geom))
    copy_rows(conn, "structure", [*columns, "geom"], rows)


def _none(value: object) -> object:
    """pandas missing values (NaN, NA, None) -> None; other values unchanged."""
    if isinstance(value, (list, dict, tuple)):
        return value
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


__all__ = ["refresh_commune_names", "replace_region"]
