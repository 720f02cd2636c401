"""A planner's zoning read from a file: commune -> zone, from a CSV or from zone polygons.

CSV (:func:`read_zoning_csv`)
    A commune column (``code``, ``commune``, ``insee``…) and a zone column (``zone``,
    ``zone_id``), names matched without regard to case; read under the CSV policy of
    :mod:`geo.sources.tables` (UTF-8, ``;``/``,``/tab, spreadsheet rows in errors). A code
    whose leading zero a spreadsheet dropped gets it back.
Polygons (:func:`read_zoning_polygons`)
    Any vector file pyogrio reads (GeoPackage, GeoJSON…); each commune goes to the zone
    covering most of its area; rows are feature numbers.

:func:`geo.zoning.checks.check_zoning` then checks the result against the communes.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.errors import CrsError, GeometryError, MissingColumnError, ValidationError
from geo.sources.tables import Table, cell_text, read_csv_table
from geo.vocabulary import normalise_commune_code

CODE_COLUMNS: tuple[str, ...] = ("code", "commune", "commune_code", "code_commune", "insee", "code_insee")
"""Accepted names of the commune column of a CSV zoning (case-insensitive), in order of preference."""

ZONE_COLUMNS: tuple[str, ...] = ("zone", "zone_id")
"""Accepted names of the zone column (case-insensitive), in order of preference."""


def read_zoning_polygons(
    path: str | Path,
    communes: gpd.GeoDataFrame,
    *,
    zone_column: str | None = None,
    layer: str | int | None = None,
) -> pd.DataFrame:
    """Read zone polygons and give each commune the zone covering most of its area.

    Parameters
    ----------
    path
        Any vector file pyogrio reads (GeoPackage, GeoJSON, Shapefile…), with a CRS
        (GeoJSON without one is taken as WGS84, per its specification).
    communes
        ``code`` and polygons in a projected CRS (metres).
    zone_column
        Property naming the zone; default: the first of :data:`ZONE_COLUMNS` found
        (case-insensitive).
    layer
        Layer name or index of a multi-layer file (default: the first).

    Returns
    -------
    pandas.DataFrame
        ``commune_code, zone_id, row`` (1-based feature number of the polygon chosen),
        ``share`` (fraction of the commune's area in that zone, 0–1); communes touching
        no polygon are absent (:func:`geo.zoning.checks.check_zoning` reports them).
        ``attrs["source"]`` is the path.

    Raises
    ------
    geo.errors.MissingColumnError
        When the zone property is missing.
    geo.errors.CrsError
        When the file has no CRS.
    geo.errors.GeometryError
        When a feature has no geometry or one that is not a polygon.
    geo.errors.ValidationError
        When the file cannot be read, or a feature has an empty zone.
    """
    path = Path(path)
    try:
        zones = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError / DataLayerError
        msg = f"cannot read the zone polygons: {exc}"
        raise ValidationError(msg, file=path) from exc
    if not isinstance(zones, gpd.GeoDataFrame) or zones.geometry is None:
        raise GeometryError("the file has no geometry column", file=path)
    lowered = {c.lower(): c for c in zones.columns if c != zones.geometry.name}
    wanted = [zone_column] if zone_column else ZONE_COLUMNS
    column = next((lowered[w.lower()] for w in wanted if w.lower() in lowered), None)
    if column is None:
        found = ", ".join(lowered.values()) or "none"
        msg = f"no zone property ({' or '.join(wanted)}); properties found: {found}"
        raise MissingColumnError(msg, file=path, field=wanted[0])
    if zones.crs is None:
        msg = "the zone polygons have no CRS"
        raise CrsError(msg, file=path)
    geoms = zones.geometry.to_numpy()
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if bad.size:
        raise GeometryError("empty or missing geometry", file=path, row=int(bad[0]) + 1, field="geometry")
    not_polygon = np.flatnonzero(~np.isin(shapely.get_type_id(geoms), [3, 6]))
    if not_polygon.size:
        kind = shapely.get_type_id(geoms[not_polygon[0]])
        msg = f"geometry must be a (Multi)Polygon, got type id {kind}"
        raise GeometryError(msg, file=path, row=int(not_polygon[0]) + 1, field="geometry")
    values = zones[column].map(cell_text)  # bidi overrides, zero-width characters, spaces: as every name
    empty = (values == "").to_numpy()
    if empty.any():
        raise ValidationError("empty zone", file=path, row=int(np.flatnonzero(empty)[0]) + 1, field=column)
    if communes.crs is not None and not zones.crs.equals(communes.crs):
        zones = zones.to_crs(communes.crs)
    zone_geoms = shapely.make_valid(zones.geometry.to_numpy())
    commune_geoms = communes.geometry.to_numpy()
    commune_index, zone_index = shapely.STRtree(zone_geoms).query(commune_geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(commune_geoms[commune_index], zone_geoms[zone_index]))
    zone_ids = values.astype(str).to_numpy()
    pairs = pd.DataFrame(
        {"commune": commune_index, "zone_id": zone_ids[zone_index], "feature": zone_index, "area": area}
    )
    pairs = pairs[pairs["area"] > 0]
    # Several features may share a zone id: add their areas up; ties go to the first feature.
    per_zone = (
        pairs.groupby(["commune", "zone_id"], sort=False)
        .agg(area=("area", "sum"), feature=("feature", "min"))
        .reset_index()
    )
    per_zone = per_zone.sort_values(["commune", "area", "feature"], ascending=[True, False, True], kind="stable")
    best = per_zone.drop_duplicates("commune")
    commune_area = shapely.area(commune_geoms[best["commune"].to_numpy()])
    frame = pd.DataFrame(
        {
            "commune_code": communes["code"].astype(str).to_numpy()[best["commune"].to_numpy()],
            "zone_id": best["zone_id"].to_numpy(),
            "row": best["feature"].to_numpy(dtype=np.int64) + 1,
            "share": np.minimum(best["area"].to_numpy() / np.where(commune_area > 0, commune_area, 1.0), 1.0),
        }
    ).reset_index(drop=True)
    frame.attrs["source"] = str(path)
    return frame


def read_zoning_csv(
    path: str | Path, *, code_column: str | None = None, zone_column: str | None = None
) -> pd.DataFrame:
    """Read a planner's zoning from a CSV file (commune -> zone).

    Parameters
    ----------
    path
        CSV file with a header, read under the policy of :mod:`geo.sources.tables`.
    code_column, zone_column
        Column names; default: the first of :data:`CODE_COLUMNS` / :data:`ZONE_COLUMNS`
        found (case-insensitive).

    Returns
    -------
    pandas.DataFrame
        ``commune_code, zone_id`` (str, stripped) and ``row`` (spreadsheet row: the header
        is row 1); ``attrs["source"]`` is the path. Codes are cleaned by
        :func:`geo.vocabulary.normalise_commune_code` (``1004`` -> ``01004``).

    Raises
    ------
    geo.errors.MissingColumnError
        When the commune or zone column is missing.
    geo.errors.ValidationError
        When the file is unreadable or not UTF-8, or a row has an empty code or zone.
    """
    table = read_csv_table(path)
    code = _column(table, [code_column] if code_column else CODE_COLUMNS, "commune code")
    zone = _column(table, [zone_column] if zone_column else ZONE_COLUMNS, "zone")
    codes, zones, rows = [], [], []
    for row, values in table.rows:
        commune = normalise_commune_code(values[code])
        zone_id = cell_text(values[zone])
        if not commune:
            raise ValidationError("empty commune code", file=table.file, row=row, field=code)
        if not zone_id:
            raise ValidationError("empty zone", file=table.file, row=row, field=zone)
        codes.append(commune)
        zones.append(zone_id)
        rows.append(row)
    frame = pd.DataFrame(
        {"commune_code": codes, "zone_id": zones, "row": rows}, columns=["commune_code", "zone_id", "row"]
    )
    frame["row"] = frame["row"].astype(np.int64)
    frame.attrs["source"] = str(table.file)
    return frame


def _column(table: Table, wanted: tuple[str, ...] | list[str], what: str) -> str:
    """The header name matching the first of ``wanted`` (case-insensitive)."""
    lowered = {name.lower(): name for name in table.columns}
    for name in wanted:
        if name and name.lower() in lowered:
            return lowered[name.lower()]
    msg = f"no {what} column ({' or '.join(wanted)}); columns found: {', '.join(table.columns)}"
    raise MissingColumnError(msg, file=table.file, row=1, field=wanted[0])
