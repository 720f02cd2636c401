"""Structures of the SPRO network: the canonical layer every structures reader builds.

Three source formats are read into one canonical layer (``geo.schema.STRUCTURE_COLUMNS``):
the ANCT list of France services (:mod:`geo.sources.france_services`), the project's own
one-schema CSV for any partner type (:mod:`geo.sources.partenaires`) and the
Service-public.fr "annuaire de l'administration" export (:mod:`geo.sources.annuaire`).

Every reader validates its file row by row and raises a ``geo.errors`` exception naming the
file, the row and the field (rows as :mod:`geo.sources.tables` names them). Readers return
points in the caller's projected CRS (metres), with exactly ``STRUCTURE_COLUMNS`` and an
index named ``source_row`` holding that row number, which :func:`assign_communes` uses in
its own messages (the storage layer ignores the index).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyproj

from geo.crs import WGS84
from geo.errors import CrsError, DuplicateError, GeometryError, MissingColumnError, ValidationError
from geo.schema import STRUCTURE_COLUMNS
from geo.sources.tables import cell_text, slug
from geo.vocabulary import GEOCODING_PRECISIONS

ROW_INDEX = "source_row"
"""Name of the index of reader outputs: the row of each structure in its source file."""

AREA_MARGIN_DEG = 0.5
"""Margin (degrees) around a CRS's area of use within which WGS84 points are accepted."""

_DECIMAL = re.compile(r"[+-]?(\d{1,12}([.,]\d{0,20})?|[.,]\d{1,20})")
"""Decimal degrees (or metres, to name that mistake); longer numbers are no coordinate."""


@dataclass(frozen=True)
class SourceFields:
    """Names, in the source file, of the fields that errors about a structure must name."""

    id: str
    partner_type: str
    latitude: str
    longitude: str
    commune_code: str


def build_layer(
    records: list[dict[str, Any]],
    *,
    file: Path,
    crs: str,
    partner_types: pd.DataFrame,
    fields: SourceFields,
) -> gpd.GeoDataFrame:
    """Validate coordinates, identifiers and partner types, then project to ``crs``."""
    area = _area_of_use(crs)
    lonlat = [_coordinates(rec, area=area, crs=crs, file=file, fields=fields) for rec in records]
    _check_unique_ids(records, file=file, field=fields.id)
    entries = [
        _partner_type_entry(partner_types, rec["partner_type"], file=file, row=rec["_row"], field=fields.partner_type)
        for rec in records
    ]
    base = [c for c in STRUCTURE_COLUMNS if c not in ("missions", "publics", "geometry")]
    rows = [
        {**{c: rec[c] for c in base}, "missions": list(entry["missions"]), "publics": list(entry["publics"])}
        for rec, entry in zip(records, entries, strict=True)
    ]
    index = pd.Index([rec["_row"] for rec in records], name=ROW_INDEX, dtype="int64")
    columns = [c for c in STRUCTURE_COLUMNS if c != "geometry"]
    # dtype=object keeps None (not NaN) for missing text, and Python lists and dicts as they are
    frame = pd.DataFrame(rows, columns=columns, index=index, dtype=object)
    points = gpd.GeoSeries(gpd.points_from_xy([p[0] for p in lonlat], [p[1] for p in lonlat]), crs=WGS84)
    layer = gpd.GeoDataFrame(frame, geometry=points.to_crs(crs).values, crs=crs)[list(STRUCTURE_COLUMNS)]
    layer.attrs["source_fields"] = {
        "latitude": fields.latitude,
        "longitude": fields.longitude,
        "commune_code": fields.commune_code,
    }
    return layer


def _coordinates(
    record: Mapping[str, Any],
    *,
    area: tuple[float, float, float, float] | None,
    crs: str,
    file: Path,
    fields: SourceFields,
) -> tuple[float, float]:
    """(lon, lat) in degrees of one record, checked against WGS84 ranges and the CRS's area."""
    row = record["_row"]
    lat = _parse_degrees(record["_lat"], file=file, row=row, field=fields.latitude)
    lon = _parse_degrees(record["_lon"], file=file, row=row, field=fields.longitude)
    _check_degree_ranges(lat, lon, file=file, row=row, fields=fields)
    if area is not None and not _in_area(lon, lat, area):
        if _in_area(lat, lon, area):
            msg = (
                f"latitude {lat} and longitude {lon} are probably swapped: the point falls outside "
                f"the area of {crs}, and inside it once swapped"
            )
            raise CrsError(msg, file=file, row=row, field=fields.latitude)
        msg = f"the point (latitude {lat}, longitude {lon}) is outside the area where {crs} is used"
        raise GeometryError(msg, file=file, row=row, field=fields.latitude)
    return lon, lat


def _parse_degrees(text: Any, *, file: Path, row: int, field: str) -> float:
    """Decimal degrees from text such as "48.1113", "48,1113" or "-2.74"."""
    value = cell_text(text)
    if not value:
        msg = "empty coordinate: the structure cannot be placed on the map"
        raise GeometryError(msg, file=file, row=row, field=field)
    if not _DECIMAL.fullmatch(value):
        shown = repr(value) if len(value) <= 40 else f"of {len(value):,} characters"
        msg = f"unparsable coordinate {shown}: expected decimal degrees such as 48.1113 or 48,1113"
        raise GeometryError(msg, file=file, row=row, field=field)
    return float(value.replace(",", "."))


def _check_degree_ranges(lat: float, lon: float, *, file: Path, row: int, fields: SourceFields) -> None:
    """Refuse projected metres (e.g. Lambert-93) and values beyond WGS84 ranges."""
    if abs(lat) <= 90 and abs(lon) <= 180:
        return
    if max(abs(lat), abs(lon)) > 360:
        field = fields.latitude if abs(lat) > 360 else fields.longitude
        msg = (
            f"latitude {lat} / longitude {lon} look like projected coordinates in metres (e.g. "
            f"Lambert-93, EPSG:2154), not WGS84 degrees: convert them to latitude/longitude (EPSG:4326)"
        )
        raise CrsError(msg, file=file, row=row, field=field)
    if abs(lat) > 90 and abs(lon) <= 90:
        msg = f"latitude {lat} is beyond ±90°: not a latitude (latitude and longitude swapped, or a typo?)"
        raise CrsError(msg, file=file, row=row, field=fields.latitude)
    msg = f"latitude {lat} / longitude {lon} are outside WGS84 ranges (±90°, ±180°)"
    raise CrsError(msg, file=file, row=row, field=fields.latitude if abs(lat) > 90 else fields.longitude)


def _area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) in degrees where ``crs`` is used, widened by a margin."""
    area = pyproj.CRS.from_user_input(crs).area_of_use
    if area is None:
        return None
    m = AREA_MARGIN_DEG
    return area.west - m, max(area.south - m, -90.0), area.east + m, min(area.north + m, 90.0)


def _in_area(lon: float, lat: float, area: tuple[float, float, float, float]) -> bool:
    west, south, east, north = area
    if not south <= lat <= north:
        return False
    if west <= east:
        return west <= lon <= east
    return lon >= west or lon <= east  # area crossing the antimeridian


def _check_unique_ids(records: list[dict[str, Any]], *, file: Path, field: str) -> None:
    first_row: dict[str, int] = {}
    for rec in records:
        sid, row = rec["structure_id"], rec["_row"]
        if sid in first_row:
            msg = f"identifier {sid} appears twice (rows {first_row[sid]} and {row})"
            raise DuplicateError(msg, file=file, row=row, field=field)
        first_row[sid] = row


def _partner_type_entry(partner_types: pd.DataFrame, key: str, *, file: Path, row: int, field: str) -> pd.Series:
    if key not in partner_types.index:
        msg = (
            f"unknown partner type {key!r}: add it to the partner-type mapping "
            f"(known: {', '.join(map(str, partner_types.index))})"
        )
        raise ValidationError(msg, file=file, row=row, field=field)
    return partner_types.loc[key]


def assign_communes(
    structures: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    file: str | Path | None = None,
    tolerance_m: float = 2000.0,
) -> gpd.GeoDataFrame:
    """Place every structure in a current commune of the Région.

    Where ``commune_code`` is empty it is found by spatial join: the commune containing the
    point, else the nearest one within ``tolerance_m`` (points on the coast or near simplified
    boundaries). Where the source gives a code, it must be a current commune code and the point
    must lie within ``tolerance_m`` of that commune. ``commune_name`` is then set from
    ``communes`` for every row (the COG name, whatever the source wrote).

    Parameters
    ----------
    structures
        A reader's output (``geo.schema.STRUCTURE_COLUMNS``), indexed by ``source_row``.
    communes
        Current communes with columns ``code``, ``name`` and (Multi)Polygon geometries, in the
        same projected CRS (metres) as ``structures``.
    file
        The structures' source file, named in error messages.
    tolerance_m
        Largest distance (metres) between a point and its commune.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``structures`` (same CRS, index and columns) with ``commune_code`` and
        ``commune_name`` filled.

    Raises
    ------
    CrsError
        The two layers have no CRS or different CRSs.
    MissingColumnError
        ``communes`` lacks ``code`` or ``name``.
    ValidationError
        A given commune code is not a current commune of the Région, or is more than
        ``tolerance_m`` from the point (naming the row and the source's field).
    GeometryError
        A point is farther than ``tolerance_m`` from every commune: outside the Région.
    """
    _check_same_crs(structures, communes, file=file)
    for column in ("code", "name"):
        if column not in communes.columns:
            msg = f"the communes layer has no '{column}' column"
            raise MissingColumnError(msg, field=column)
    result = structures.copy()
    if result.empty:
        return result
    fields = {
        "latitude": "latitude",
        "longitude": "longitude",
        "commune_code": "commune_code",
        **structures.attrs.get("source_fields", {}),
    }
    names = dict(zip(communes["code"].astype(str), communes["name"], strict=True))
    given = [cell_text(code) or None for code in structures["commune_code"]]
    rows = [int(row) for row in structures.index]
    _check_known_codes(given, rows, names, file=file, field=fields["commune_code"])
    located = _locate_points(structures.geometry, communes, tolerance_m=tolerance_m)
    _check_inside_region(structures, located, communes, file=file, fields=fields, tolerance_m=tolerance_m)
    _check_near_given_communes(structures, given, communes, file=file, fields=fields, tolerance_m=tolerance_m)
    codes = [code or loc for code, loc in zip(given, located, strict=True)]
    result["commune_code"] = codes
    result["commune_name"] = [names[code] for code in codes]
    return result


def _check_same_crs(structures: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *, file: str | Path | None) -> None:
    if structures.crs is None or communes.crs is None:
        which = "structures" if structures.crs is None else "communes"
        msg = f"the {which} layer has no CRS"
        raise CrsError(msg, file=file, field="geometry")
    if not structures.crs.equals(communes.crs, ignore_axis_order=True):
        msg = f"structures are in {structures.crs.to_string()} but communes in {communes.crs.to_string()}"
        raise CrsError(msg, file=file, field="geometry")


def _check_known_codes(
    given: list[str | None], rows: list[int], names: Mapping[str, str], *, file: str | Path | None, field: str
) -> None:
    for code, row in zip(given, rows, strict=True):
        if code is not None and code not in names:
            msg = (
                f"commune code {code!r} is not a current commune of the Région (COG in force): "
                f"a merged commune, a commune outside the Région or a typo?"
            )
            raise ValidationError(msg, file=file, row=row, field=field)


def _locate_points(points: gpd.GeoSeries, communes: gpd.GeoDataFrame, *, tolerance_m: float) -> list[str | None]:
    """Code of the commune containing each point, else the nearest within ``tolerance_m``, else None."""
    pts = gpd.GeoDataFrame({"_pos": range(len(points))}, geometry=points.values, crs=points.crs)
    polys = gpd.GeoDataFrame(
        {"_code": communes["code"].astype(str).to_numpy()}, geometry=communes.geometry.values, crs=communes.crs
    )
    located: list[str | None] = [None] * len(points)
    inside = gpd.sjoin(pts, polys, how="inner", predicate="intersects")
    for pos, code in _first_match(inside, ["_pos", "_code"]):
        located[pos] = code
    missing = [pos for pos, code in enumerate(located) if code is None]
    if missing:
        near = gpd.sjoin_nearest(pts.iloc[missing], polys, how="inner", max_distance=tolerance_m, distance_col="_dist")
        for pos, code in _first_match(near, ["_pos", "_dist", "_code"]):
            located[pos] = code
    return located


def _first_match(joined: pd.DataFrame, order: list[str]) -> Iterable[tuple[int, str]]:
    """One (position, code) per point: the first by ``order`` (ties broken by commune code)."""
    first = joined.sort_values(order).drop_duplicates("_pos")
    return zip(first["_pos"].astype(int), first["_code"], strict=True)


def _check_inside_region(
    structures: gpd.GeoDataFrame,
    located: list[str | None],
    communes: gpd.GeoDataFrame,
    *,
    file: str | Path | None,
    fields: Mapping[str, str],
    tolerance_m: float,
) -> None:
    for pos, code in enumerate(located):
        if code is None:
            point = structures.geometry.iloc[pos]
            distance_km = communes.geometry.distance(point).min() / 1000
            lon, lat = _to_degrees(point, structures.crs)
            msg = (
                f"the point (latitude {lat:.5f}, longitude {lon:.5f}) is {distance_km:.1f} km from the "
                f"nearest commune (tolerance {tolerance_m / 1000:g} km): outside the Région"
            )
            raise GeometryError(
                msg, file=file, row=int(structures.index[pos]), field=f"{fields['latitude']}/{fields['longitude']}"
            )


def _check_near_given_communes(
    structures: gpd.GeoDataFrame,
    given: list[str | None],
    communes: gpd.GeoDataFrame,
    *,
    file: str | Path | None,
    fields: Mapping[str, str],
    tolerance_m: float,
) -> None:
    polygons = dict(zip(communes["code"].astype(str), communes.geometry, strict=True))
    for pos, code in enumerate(given):
        if code is None:
            continue
        distance = polygons[code].distance(structures.geometry.iloc[pos])
        if distance > tolerance_m:
            msg = (
                f"the point is {distance / 1000:.1f} km from commune {code} given in this row "
                f"(tolerance {tolerance_m / 1000:g} km): wrong coordinates or wrong commune code?"
            )
            raise ValidationError(msg, file=file, row=int(structures.index[pos]), field=fields["commune_code"])


def _to_degrees(point: Any, crs: Any) -> tuple[float, float]:
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    return transformer.transform(point.x, point.y)


def concat_structures(
    frames: list[gpd.GeoDataFrame], *, crs: str, files: Sequence[Path | None] | None = None
) -> gpd.GeoDataFrame:
    """One structures layer from several datasets; an identifier in two of them is an error
    naming both files and rows."""
    if not frames:
        return gpd.GeoDataFrame(columns=list(STRUCTURE_COLUMNS), geometry="geometry", crs=crs)
    files = list(files) if files else [None] * len(frames)
    combined = pd.concat([f[list(STRUCTURE_COLUMNS)] for f in frames], ignore_index=True)
    dup = combined[combined["structure_id"].duplicated(keep=False)]
    if not dup.empty:
        sid = dup.iloc[0]["structure_id"]
        where = [
            (file, int(row))
            for frame, file in zip(frames, files, strict=True)
            for row in frame.index[frame["structure_id"] == sid]
        ]
        msg = f"structure id {sid} appears in two datasets: " + " and ".join(f"{f}, row {r}" for f, r in where)
        raise DuplicateError(msg, file=where[-1][0], row=where[-1][1], field="structure_id")
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=crs)


MERGE_DISTANCE_M = 30.0
"""Two places of the same type and name closer than this (metres) are the same place."""

_GEOCODING_RANK = {precision: rank for rank, precision in enumerate(GEOCODING_PRECISIONS)}


def merge_same_places(structures: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[tuple[str, tuple[str, ...]]]]:
    """Merge the places listed more than once: same partner type, same name (case, accents and
    punctuation aside) and the same address or points within :data:`MERGE_DISTANCE_M` metres.

    The place kept is, in order, one receiving the public, the most precisely placed, the
    first by ``structure_id``; it receives the public when any of its listings says so
    (France Travail's referential lists an agency and the directorate in its building under
    the same name).

    Parameters
    ----------
    structures
        ``geo.schema.STRUCTURE_COLUMNS`` in a projected CRS (metres).

    Returns
    -------
    structures : geopandas.GeoDataFrame
        The same rows, the merged listings removed.
    merges : list
        ``(kept structure_id, merged structure_ids)`` for every merge.
    """
    if structures.empty:
        return structures, []
    frame = structures.reset_index(drop=True)
    name = frame["name"].map(slug)
    address = frame["address"].map(lambda a: slug(a) if isinstance(a, str) else None)
    x, y = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    drop: set[int] = set()
    merges: list[tuple[str, tuple[str, ...]]] = []
    for _key, group in frame.groupby([frame["partner_type"], name], sort=False):
        positions = list(group.index)
        while len(positions) > 1:
            first = positions[0]
            same = [
                j
                for j in positions
                if j == first
                or (address[j] is not None and address[j] == address[first])
                or ((x[j] - x[first]) ** 2 + (y[j] - y[first]) ** 2) ** 0.5 <= MERGE_DISTANCE_M
            ]
            positions = [j for j in positions if j not in same]
            if len(same) == 1:
                continue
            keep = min(
                same,
                key=lambda j: (
                    frame.at[j, "receives_public"] is not True,
                    _GEOCODING_RANK.get(frame.at[j, "geocoding"], 9),
                    frame.at[j, "structure_id"],
                ),
            )
            flags = [frame.at[j, "receives_public"] for j in same]
            frame.at[keep, "receives_public"] = (
                True if True in flags else (False if all(f is False for f in flags) else None)
            )
            others = tuple(sorted(str(frame.at[j, "structure_id"]) for j in same if j != keep))
            merges.append((str(frame.at[keep, "structure_id"]), others))
            drop.update(j for j in same if j != keep)
    kept = frame.drop(index=sorted(drop))
    kept.index = structures.index[kept.index]
    return kept, merges
