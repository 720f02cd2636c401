"""Communes: reading the COG list and contours, and reconciling their vintages.

The pilot's polygons come from the COG 2018 contours while the list of communes in force
is the COG 2026. Communes merged since 2018 (communes nouvelles) are dissolved into the
current commune using, in order:

1. the current code itself (unchanged communes);
2. the ``commune-deleguee`` / ``commune-associee`` entries of the current list, whose
   ``chefLieu`` is the current commune that absorbed them;
3. the ``anciensCodes`` of a current commune;
4. a small table of merger events kept as data (``cog-fusions-complement.csv``) for the
   absorptions that left no delegated commune.

Any 2018 code that none of these explain is reported (``ReconciliationError``), never
dropped silently, and so is any current commune left without a polygon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj
import shapely
import shapely.errors
import shapely.geometry

from geo.crs import WGS84
from geo.errors import (
    CrsError,
    DuplicateError,
    GeometryError,
    MissingColumnError,
    ReconciliationError,
    ValidationError,
)
from geo.sources.tables import (
    cell_text,
    code_text,
    iso_date,
    read_csv_table,
    read_json,
    read_json_list,
    require_columns,
)
from geo.vocabulary import is_commune_code

CURRENT = "commune-actuelle"
ABSORBED_TYPES = ("commune-deleguee", "commune-associee")


@dataclass(frozen=True)
class ReconciliationReport:
    """What the reconciliation did, for the load summary and the tests.

    Attributes
    ----------
    unchanged
        Number of current communes whose 2018 polygon is used as is.
    merged
        Current code -> sorted list of 2018 codes dissolved into it (only merged communes).
    via_events
        2018 codes matched through the merger-events table.
    """

    unchanged: int
    merged: dict[str, list[str]] = field(default_factory=dict)
    via_events: list[str] = field(default_factory=list)


def read_cog_communes(path: str | Path, *, region: str) -> pd.DataFrame:
    """Read the COG commune list (``@etalab/decoupage-administratif`` JSON format).

    Parameters
    ----------
    path
        JSON array of communes with ``code, nom, type, departement, region, arrondissement,
        codesPostaux, population, chefLieu, anciensCodes``.
    region
        INSEE region code; entries of other regions are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per entry (current, delegated and associated communes) with columns
        ``code, name, type, departement, arrondissement, postcodes, population,
        chef_lieu, former_codes``.
    """
    records = read_json_list(path)
    rows = []
    for i, rec in enumerate(records, start=1):
        for key in ("code", "nom", "type"):
            if key not in rec:
                msg = f"missing property '{key}'"
                raise MissingColumnError(msg, file=path, row=i, field=key)
        if code_text(rec.get("region")) != region:
            continue
        _check_commune_code(rec["code"], file=path, row=i)
        kind = rec["type"]
        if kind == CURRENT:
            pop = rec.get("population")
            if not isinstance(pop, int) or isinstance(pop, bool) or pop < 0:
                msg = f"population must be a non-negative integer, got {pop!r}"
                raise ValidationError(msg, file=path, row=i, field="population")
        elif kind in ABSORBED_TYPES:
            if not rec.get("chefLieu"):
                msg = f"a {kind} needs the code of its current commune"
                raise ValidationError(msg, file=path, row=i, field="chefLieu")
        else:
            msg = f"unknown commune type {kind!r}"
            raise ValidationError(msg, file=path, row=i, field="type")
        rows.append(
            {
                "code": str(rec["code"]),
                "name": cell_text(rec["nom"]),
                "type": kind,
                "departement": code_text(rec.get("departement")),
                "arrondissement": code_text(rec.get("arrondissement")),
                "postcodes": list(rec.get("codesPostaux") or []),
                "population": rec.get("population"),
                "chef_lieu": rec.get("chefLieu"),
                "former_codes": list(rec.get("anciensCodes") or []),
                "_row": i,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty or not (frame["type"] == CURRENT).any():
        msg = f"no commune in force (type '{CURRENT}') of Région {region} in the file"
        raise ValidationError(msg, file=path, field="region")
    current = frame[frame["type"] == CURRENT]
    dup = current[current["code"].duplicated(keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        msg = f"commune code {first['code']} appears more than once (rows {', '.join(map(str, dup['_row']))})"
        raise DuplicateError(msg, file=path, row=int(dup.iloc[1]["_row"]), field="code")
    return frame.drop(columns="_row").reset_index(drop=True)


def _check_commune_code(value: object, *, file: str | Path, row: int, field: str = "code") -> str:
    code = code_text(value)
    if not code:
        msg = "missing or empty commune code"
        raise ValidationError(msg, file=file, row=row, field=field)
    if not is_commune_code(code):
        msg = f"{value!r} is not an INSEE commune code (5 characters, e.g. 35238)"
        raise ValidationError(msg, file=file, row=row, field=field)
    return code


def read_commune_contours(path: str | Path) -> gpd.GeoDataFrame:
    """Read commune polygons (GeoJSON, GeoPackage...) with ``code`` and ``nom``, and validate them.

    GeoJSON is parsed feature by feature so that an unparsable geometry is reported with
    its feature number; it is WGS84 (RFC 7946) unless it carries a legacy ``crs`` member.
    Other formats are read with pyogrio and must declare their CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``code, name, geometry`` in the file's CRS (WGS84 for GeoJSON).

    Raises
    ------
    MissingColumnError, CrsError, GeometryError, ValidationError
        Naming the file, the 1-based feature number and the field.
    """
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json"):
        gdf = _read_geojson_polygons(path)
    else:
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:  # pyogrio raises several error types for unreadable files
            msg = f"cannot read polygons: {exc}"
            raise ValidationError(msg, file=path) from exc
    for col in ("code", "nom"):
        if col not in gdf.columns:
            msg = f"missing property '{col}' (found: {', '.join(map(str, gdf.columns))})"
            raise MissingColumnError(msg, file=path, field=col)
    if gdf.crs is None:
        msg = "the layer has no CRS; declare it (e.g. EPSG:4326 or EPSG:2154)"
        raise CrsError(msg, file=path, field="geometry")
    gdf = gdf.rename(columns={"nom": "name"})[["code", "name", "geometry"]]
    gdf["code"] = [
        _check_commune_code(None if pd.isna(code) else code, file=path, row=pos)
        for pos, code in enumerate(gdf["code"], start=1)
    ]
    check_polygons(gdf, file=path)
    _check_coordinates_match_crs(gdf, file=path)
    dup = gdf[gdf["code"].duplicated(keep=False)]
    if not dup.empty:
        rows = [int(r) + 1 for r in dup.index]
        msg = f"commune code {dup.iloc[0]['code']} appears more than once (features {rows})"
        raise DuplicateError(msg, file=path, row=rows[1], field="code")
    return gdf


def _read_geojson_polygons(path: Path) -> gpd.GeoDataFrame:
    """Parse a GeoJSON FeatureCollection, reporting the feature number of any bad geometry."""
    data = read_json(path, records=_feature_properties)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        msg = "expected a GeoJSON FeatureCollection"
        raise ValidationError(msg, file=path)
    if not isinstance(data.get("features"), list) or not data["features"]:
        msg = "no feature: expected a non-empty 'features' list"
        raise ValidationError(msg, file=path, field="features")
    crs = WGS84
    if isinstance(data.get("crs"), dict):  # legacy (pre-RFC 7946) CRS member
        name = (data["crs"].get("properties") or {}).get("name")
        try:
            crs = pyproj.CRS.from_user_input(name).to_string()
        except pyproj.exceptions.CRSError as exc:
            msg = f"unknown CRS {name!r}"
            raise CrsError(msg, file=path, field="crs") from exc
    records, geoms = [], []
    for i, feature in enumerate(data["features"], start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties") or {}, dict):
            msg = "expected a GeoJSON Feature object with a 'properties' object"
            raise ValidationError(msg, file=path, row=i)
        props = feature.get("properties") or {}
        geometry = feature.get("geometry")
        if geometry is None:
            msg = "missing or empty geometry"
            raise GeometryError(msg, file=path, row=i, field="geometry")
        try:
            geoms.append(shapely.geometry.shape(geometry))
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
            msg = f"unparsable geometry: {exc}"
            raise GeometryError(msg, file=path, row=i, field="geometry") from exc
        records.append(props)
    return gpd.GeoDataFrame(pd.DataFrame.from_records(records), geometry=geoms, crs=crs)


def _feature_properties(data: dict) -> list[tuple[int, object]]:
    return [(i, f.get("properties")) for i, f in enumerate(data["features"], start=1) if isinstance(f, dict)]


def _check_coordinates_match_crs(gdf: gpd.GeoDataFrame, *, file: str | Path | None) -> None:
    """Refuse coordinates outside the CRS's area of use (e.g. metres in a WGS84 file)."""
    crs = pyproj.CRS.from_user_input(gdf.crs)
    xmin, ymin, xmax, ymax = gdf.total_bounds
    if crs.is_geographic:
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            msg = (
                f"coordinates ({xmin:.0f}, {ymin:.0f}) .. ({xmax:.0f}, {ymax:.0f}) are not longitudes/latitudes "
                f"although the file declares {crs.to_string()}: projected coordinates with a wrong CRS?"
            )
            raise CrsError(msg, file=file, field="geometry")
        return
    area = crs.area_of_use
    if area is None:
        return
    to_lonlat = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    lon, lat = to_lonlat.transform([xmin, xmax], [ymin, ymax])
    margin = 1.0  # degrees
    if not (
        area.west - margin <= min(lon)
        and max(lon) <= area.east + margin
        and area.south - margin <= min(lat)
        and max(lat) <= area.north + margin
    ):
        msg = (
            f"coordinates ({xmin:.2f}, {ymin:.2f}) .. ({xmax:.2f}, {ymax:.2f}) fall outside the area where "
            f"{crs.to_string()} is defined: wrong CRS declared?"
        )
        raise CrsError(msg, file=file, field="geometry")


def _check_within_crs_area(contours: gpd.GeoDataFrame, crs: str, *, file: str | Path | None) -> None:
    """Refuse polygons outside the area where the Région's CRS is used, naming the feature.

    Longitude/latitude swapped in a WGS84 file give valid degrees in the wrong place (Bretagne
    lands in the Indian Ocean): this is caught here, before a structure is wrongly placed.
    """
    area = pyproj.CRS.from_user_input(crs).area_of_use
    if area is None or contours.empty:
        return
    margin = 1.0  # degrees
    bounds = contours.to_crs(WGS84).bounds
    outside = ~(
        (bounds["minx"] >= area.west - margin)
        & (bounds["maxx"] <= area.east + margin)
        & (bounds["miny"] >= area.south - margin)
        & (bounds["maxy"] <= area.north + margin)
    )
    if not outside.any():
        return
    pos = int(outside.to_numpy().nonzero()[0][0])
    b = bounds.iloc[pos]
    swapped_inside = (
        area.west - margin <= b["miny"]
        and b["maxy"] <= area.east + margin
        and area.south - margin <= b["minx"]
        and b["maxx"] <= area.north + margin
    )
    hint = (
        "longitude and latitude are swapped (coordinates must be [longitude, latitude])"
        if swapped_inside
        else "wrong coordinates or wrong CRS declared?"
    )
    msg = (
        f"commune {contours['code'].iloc[pos]} lies at longitude {b['minx']:.2f}..{b['maxx']:.2f}, "
        f"latitude {b['miny']:.2f}..{b['maxy']:.2f}, outside the area where {crs} is used: {hint} "
        f"({int(outside.sum())} feature(s) concerned)"
    )
    raise CrsError(msg, file=file, row=pos + 1, field="geometry")


def check_polygons(gdf: gpd.GeoDataFrame, *, file: str | Path | None = None) -> None:
    """Raise a GeometryError on the first missing, empty, non-areal or invalid polygon.

    Rows are reported 1-based (feature number in the file).
    """
    geoms = gdf.geometry
    for pos, geom in enumerate(geoms, start=1):
        if geom is None or geom.is_empty:
            msg = "missing or empty geometry"
            raise GeometryError(msg, file=file, row=pos, field="geometry")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            msg = f"expected a Polygon or MultiPolygon, got {geom.geom_type}"
            raise GeometryError(msg, file=file, row=pos, field="geometry")
        if not geom.is_valid:
            msg = f"invalid geometry: {shapely.is_valid_reason(geom)}"
            raise GeometryError(msg, file=file, row=pos, field="geometry")


def read_merger_events(path: str | Path) -> dict[str, str]:
    """Read the merger-events table: 2018 code -> current code absorbing it.

    The CSV has columns ``ancien_code, nouveau_code`` (plus documentary columns
    ``ancien_nom, nouveau_nom, date_effet, source``).
    """
    table = read_csv_table(path)
    require_columns(table, ("ancien_code", "nouveau_code"))
    events: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row, values in table.rows:
        old = _check_commune_code(values["ancien_code"], file=table.file, row=row, field="ancien_code")
        new = _check_commune_code(values["nouveau_code"], file=table.file, row=row, field="nouveau_code")
        if "date_effet" in values:
            iso_date(values["date_effet"].strip(), file=table.file, row=row, field="date_effet")
        if old in first_row:
            msg = f"code {old} has more than one merger event (rows {first_row[old]} and {row})"
            raise DuplicateError(msg, file=table.file, row=row, field="ancien_code")
        first_row[old] = row
        events[old] = new
    return events


def reconcile_communes(
    contours: gpd.GeoDataFrame,
    cog: pd.DataFrame,
    merger_events: dict[str, str],
    *,
    crs: str,
    contours_file: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, ReconciliationReport]:
    """Dissolve older-vintage polygons into the communes in force.

    Parameters
    ----------
    contours
        Polygons of an older COG (``code, name, geometry``), any CRS.
    cog
        Output of :func:`read_cog_communes` (communes in force and absorbed ones).
    merger_events
        2018 code -> current code, for absorptions the COG list does not describe.
    crs
        Projected CRS (metres) of the result, e.g. ``"EPSG:2154"``.
    contours_file
        Named in error messages.

    Returns
    -------
    (communes, report)
        ``communes`` has one row per current commune with the columns of
        ``geo.schema.COMMUNE_COLUMNS`` minus ``epci`` (added by ``geo.territories``),
        polygons in ``crs``; ``report`` says what was merged.

    Raises
    ------
    ReconciliationError
        Listing every 2018 code that cannot be mapped to a current commune, or every
        current commune left without a polygon.
    """
    current = cog[cog["type"] == CURRENT].set_index("code")
    mapping = _old_to_current(cog)
    via_events = []
    target = []
    unmatched = []
    for code in contours["code"]:
        if code in current.index:
            target.append(code)
        elif code in mapping:
            target.append(mapping[code])
        elif code in merger_events and merger_events[code] in current.index:
            target.append(merger_events[code])
            via_events.append(code)
        else:
            target.append(None)
            unmatched.append(code)
    if unmatched:
        msg = (
            f"{len(unmatched)} commune code(s) of the contours match no commune in force: "
            f"{', '.join(sorted(unmatched))}. Add their merger to the events table."
        )
        raise ReconciliationError(msg, file=contours_file, field="code")
    _check_within_crs_area(contours, crs, file=contours_file)
    tagged = contours.assign(current_code=target).to_crs(crs)
    missing = sorted(set(current.index) - set(target))
    if missing:
        msg = f"{len(missing)} commune(s) in force have no polygon: {', '.join(missing)}"
        raise ReconciliationError(msg, file=contours_file, field="code")
    dissolved = tagged.dissolve(by="current_code", aggfunc={"code": lambda s: sorted(s)})
    dissolved = dissolved.rename(columns={"code": "source_codes"})
    merged = {cur: codes for cur, codes in dissolved["source_codes"].items() if codes != [cur]}
    result = current.join(dissolved, how="left")
    result = gpd.GeoDataFrame(result, geometry="geometry", crs=crs).reset_index()
    result["former_codes"] = [
        sorted(set(src) - {code}) for code, src in zip(result["code"], result["source_codes"], strict=True)
    ]
    result["population"] = result["population"].astype("int64")
    result["geometry"] = result.geometry.make_valid()  # unions of valid rings stay valid; guard only
    columns = ["code", "name", "departement", "arrondissement", "postcodes", "population", "former_codes", "geometry"]
    report = ReconciliationReport(unchanged=len(result) - len(merged), merged=merged, via_events=sorted(via_events))
    return result[columns].sort_values("code").reset_index(drop=True), report


def _old_to_current(cog: pd.DataFrame) -> dict[str, str]:
    """Map every older code known to the COG list to the current commune absorbing it."""
    mapping: dict[str, str] = {}
    absorbed = cog[cog["type"].isin(ABSORBED_TYPES)]
    mapping.update(zip(absorbed["code"], absorbed["chef_lieu"], strict=True))
    for code, former in zip(cog["code"], cog["former_codes"], strict=True):
        for old in former:
            mapping.setdefault(old, code)
    return mapping


__all__ = [
    "WGS84",
    "ReconciliationReport",
    "check_polygons",
    "read_cog_communes",
    "read_commune_contours",
    "read_merger_events",
    "reconcile_communes",
]
