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
import shapely

from geo.crs import WGS84
from geo.errors import CrsError, DuplicateError, GeometryError, MissingColumnError, ValidationError
from geo.schema import STRUCTURE_COLUMNS
from geo.sources.tables import Rejections, cell_text, per_row, slug
from geo.vocabulary import APPROXIMATE_POSITIONS, GEOCODING_PRECISIONS

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
    postcode: str = "code_postal"
    commune_name: str = "commune"


def build_layer(
    records: list[dict[str, Any]],
    *,
    file: Path,
    crs: str,
    partner_types: pd.DataFrame,
    fields: SourceFields,
    rejections: Rejections | None = None,
) -> gpd.GeoDataFrame:
    """Validate coordinates, identifiers and partner types, then project to ``crs``.

    A record whose latitude and longitude are both empty but that names its commune (INSEE
    code, or postcode and commune name) is kept without a point: :func:`assign_communes`
    places it at the commune's town hall or inside the commune. With ``rejections`` (a
    tolerant load), a record in error is left out and its error recorded there.
    """
    area = _area_of_use(crs)
    first_row: dict[str, int] = {}

    def checked(record: dict[str, Any]) -> tuple[dict[str, Any], tuple[float, float] | None, pd.Series]:
        lonlat = _coordinates(record, area=area, crs=crs, file=file, fields=fields)
        sid, row = record["structure_id"], record["_row"]
        if sid in first_row:
            msg = f"identifier {sid} appears twice (rows {first_row[sid]} and {row})"
            raise DuplicateError(msg, file=file, row=row, field=fields.id)
        entry = _partner_type_entry(
            partner_types, record["partner_type"], file=file, row=row, field=fields.partner_type
        )
        first_row[sid] = row
        return record, lonlat, entry

    kept = per_row(records, checked, rejections)
    base = [c for c in STRUCTURE_COLUMNS if c not in ("missions", "publics", "geometry")]
    rows = [
        {**{c: rec[c] for c in base}, "missions": list(entry["missions"]), "publics": list(entry["publics"])}
        for rec, _lonlat, entry in kept
    ]
    index = pd.Index([rec["_row"] for rec, _lonlat, _entry in kept], name=ROW_INDEX, dtype="int64")
    columns = [c for c in STRUCTURE_COLUMNS if c != "geometry"]
    # dtype=object keeps None (not NaN) for missing text, and Python lists and dicts as they are
    frame = pd.DataFrame(rows, columns=columns, index=index, dtype=object)
    points = gpd.GeoSeries(
        [None if lonlat is None else shapely.Point(lonlat) for _rec, lonlat, _entry in kept], crs=WGS84
    )
    layer = gpd.GeoDataFrame(frame, geometry=points.to_crs(crs).values, crs=crs)[list(STRUCTURE_COLUMNS)]
    layer.attrs["source_fields"] = {
        "latitude": fields.latitude,
        "longitude": fields.longitude,
        "commune_code": fields.commune_code,
        "postcode": fields.postcode,
        "commune_name": fields.commune_name,
    }
    return layer


def _coordinates(
    record: Mapping[str, Any],
    *,
    area: tuple[float, float, float, float] | None,
    crs: str,
    file: Path,
    fields: SourceFields,
) -> tuple[float, float] | None:
    """(lon, lat) in degrees of one record, checked against WGS84 ranges and the CRS's area;
    None when both are empty and the record names its commune (placed later)."""
    row = record["_row"]
    if not cell_text(record["_lat"]) and not cell_text(record["_lon"]):
        if record.get("commune_code") or (record.get("postcode") and record.get("commune_name")):
            return None
        msg = (
            "no coordinates, and no INSEE code nor postcode and commune name to place it at its commune: "
            "the structure cannot be put on the map"
        )
        raise GeometryError(msg, file=file, row=row, field=f"{fields.latitude}/{fields.longitude}")
    lat = parse_degrees(record["_lat"], file=file, row=row, field=fields.latitude)
    lon = parse_degrees(record["_lon"], file=file, row=row, field=fields.longitude)
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


def parse_degrees(text: Any, *, file: Path, row: int, field: str) -> float:
    """Decimal degrees from text such as "48.1113", "48,1113" or "-2.74"."""
    value = cell_text(text)
    if not value:
        msg = "empty coordinate: the structure cannot be placed on the map"
        raise GeometryError(msg, file=file, row=row, field=field)
    if not _DECIMAL.fullmatch(value):
        if len(value) > 40:
            msg = f"a value of {len(value):,} characters is no coordinate: expected decimal degrees such as 48.1113"
        else:
            msg = f"unparsable coordinate {value!r}: expected decimal degrees such as 48.1113 or 48,1113"
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
    town_halls: gpd.GeoSeries | None = None,
    rejections: Rejections | None = None,
) -> gpd.GeoDataFrame:
    """Place every structure in a current commune of the Région.

    The commune a row *names* is its ``commune_code``, else the one commune whose postcodes
    hold its ``postcode`` and whose name is its ``commune_name`` (case, accents, hyphens and a
    trailing « CEDEX » aside; ``communes`` needs a ``postcodes`` column for this).

    - A row without a point (see :func:`build_layer`) is put at the town hall of the commune
      it names (``town_halls``) with ``geocoding`` ``approx_mairie``, else at a point inside
      the commune (``approx_commune``).
    - A row with a point must lie within ``tolerance_m`` of the commune it names; otherwise it
      is refused naming both communes (where the point lies, and the one named): a homonym
      geocoded in another Région, or a wrong code.
    - A row naming no commune gets the commune containing its point, else the nearest one
      within ``tolerance_m`` (points on the coast or near simplified boundaries).

    ``commune_name`` is then set from ``communes`` for every row (the COG name, whatever the
    source wrote).

    Parameters
    ----------
    structures
        A reader's output (``geo.schema.STRUCTURE_COLUMNS``), indexed by ``source_row``.
    communes
        Current communes with columns ``code``, ``name`` (optionally ``postcodes``, lists of
        postcodes) and (Multi)Polygon geometries, in the same projected CRS (metres) as
        ``structures``.
    file
        The structures' source file, named in error messages.
    tolerance_m
        Largest distance (metres) between a point and its commune.
    town_halls
        Checked town-hall points indexed by commune code, in the same CRS
        (:func:`geo.sources.town_halls.read_town_halls`).
    rejections
        A tolerant load's rejected rows: rows in error are left out and recorded there.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``structures`` (same CRS, index and columns, but the rows rejected) with
        ``commune_code``, ``commune_name`` and every point filled; ``attrs["placed"]``:
        ``structure_id -> precision`` of the rows placed here.

    Raises
    ------
    CrsError
        The two layers have no CRS or different CRSs.
    MissingColumnError
        ``communes`` lacks ``code`` or ``name``.
    ValidationError
        A given commune code is not a current commune of the Région, a row without a point
        names no commune, or a point lies farther than ``tolerance_m`` from the commune its
        row names (naming the row and the source's field).
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
        result.attrs["placed"] = {}
        return result
    fields = {
        "latitude": "latitude",
        "longitude": "longitude",
        "commune_code": "commune_code",
        "postcode": "postcode",
        "commune_name": "commune_name",
        **structures.attrs.get("source_fields", {}),
    }
    names = dict(zip(communes["code"].astype(str), communes["name"], strict=True))
    polygons = dict(zip(communes["code"].astype(str), communes.geometry, strict=True))
    by_postcode = _communes_by_postcode(communes) if "postcodes" in communes.columns else {}
    named = _NamedCommunes(names, by_postcode, fields, file)

    def name_and_place(pos: int) -> tuple[int, str | None, str | None, Any, str | None]:
        """(position, commune named, field naming it, point, precision when placed here)."""
        row, record = int(result.index[pos]), result.iloc[pos]
        code, field = named.of(record, row)
        point = record.geometry
        if point is not None and not point.is_empty:
            return pos, code, field, point, None
        if code is None:  # no coordinates, and a postcode and name that match no commune
            msg = (
                f"no coordinates, and postcode {record['postcode']!r} with commune name "
                f"{record['commune_name']!r} identify no current commune of the Région: give the INSEE "
                f"code or the coordinates"
            )
            raise ValidationError(msg, file=file, row=row, field=f"{fields['postcode']}/{fields['commune_name']}")
        if town_halls is not None and code in town_halls.index:
            return pos, code, field, town_halls[code], "approx_mairie"
        return pos, code, field, polygons[code].representative_point(), "approx_commune"

    named_rows = per_row(range(len(result)), name_and_place, rejections)
    result = result.iloc[[pos for pos, *_rest in named_rows]].copy()
    result["geometry"] = gpd.GeoSeries([point for *_rest, point, _p in named_rows], index=result.index, crs=result.crs)
    precisions = [precision for *_rest, precision in named_rows]
    result["geocoding"] = [p or g for p, g in zip(precisions, result["geocoding"], strict=True)]
    located = _locate_points(result.geometry, communes, tolerance_m=tolerance_m)

    def commune_of(i: int) -> tuple[int, str]:
        _pos, code, field, point, _precision = named_rows[i]
        row = int(result.index[i])
        if code is not None:
            distance_m = polygons[code].distance(point)
            if distance_m > tolerance_m:
                raise _wrong_commune(
                    point, code, field, distance_m, located[i], names, communes, crs=result.crs, file=file, row=row
                )
        elif located[i] is None:
            raise _outside_region(
                point, communes, crs=result.crs, file=file, row=row, fields=fields, tolerance_m=tolerance_m
            )
        return i, str(code or located[i])

    final = per_row(range(len(result)), commune_of, rejections)
    kept = [i for i, _code in final]
    placed = {str(result["structure_id"].iloc[i]): str(precisions[i]) for i in kept if precisions[i] is not None}
    result = result.iloc[kept].copy()
    result["commune_code"] = [code for _i, code in final]
    result["commune_name"] = [names[code] for _i, code in final]
    result.attrs["placed"] = placed
    return result


class _NamedCommunes:
    """The commune a row names: its INSEE code (which must be current), else its postcode and
    commune name when they identify one commune: a commune whose postcodes hold the postcode,
    or, for a CEDEX or company postcode that no commune lists, the one commune of that name
    in the postcode's département."""

    def __init__(
        self,
        names: Mapping[str, str],
        by_postcode: Mapping[str, list[tuple[str, str]]],
        fields: Mapping[str, str],
        file: str | Path | None,
    ) -> None:
        self.names, self.by_postcode, self.fields, self.file = names, by_postcode, fields, file
        self.slugs = [(code, _commune_slug(name)) for code, name in names.items()]

    def of(self, structure: pd.Series, row: int) -> tuple[str | None, str | None]:
        """(commune code, field that names it) or (None, None)."""
        code = cell_text(structure["commune_code"]) or None
        if code is not None:
            if code not in self.names:
                msg = (
                    f"commune code {code!r} is not a current commune of the Région (COG in force): "
                    f"a merged commune, a commune outside the Région or a typo?"
                )
                raise ValidationError(msg, file=self.file, row=row, field=self.fields["commune_code"])
            return code, self.fields["commune_code"]
        postcode, name = cell_text(structure["postcode"]), _commune_slug(structure["commune_name"])
        if not (postcode and name):
            return None, None
        matches = [c for c, slugged in self.by_postcode.get(postcode, []) if slugged == name]
        if not matches:
            prefixes = _departement_prefixes(postcode)
            matches = [c for c, slugged in self.slugs if slugged == name and c.startswith(prefixes)]
        if len(matches) == 1:
            return matches[0], f"{self.fields['postcode']}/{self.fields['commune_name']}"
        return None, None


def _departement_prefixes(postcode: str) -> tuple[str, ...]:
    """The starts of the INSEE codes of the communes a postcode's département holds
    (``35``; ``971`` overseas; ``2A``/``2B`` for Corsica's ``20``)."""
    if postcode.startswith("97"):
        return (postcode[:3],)
    if postcode.startswith("20"):
        return ("2A", "2B")
    return (postcode[:2],)


_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def _commune_slug(name: Any) -> str:
    """A commune name compared without case, accents, spaces, hyphens nor a trailing
    « CEDEX (nn) », « St »/« Ste » read as Saint/Sainte (« ST MALO CEDEX » is Saint-Malo)."""
    words = re.sub(r"-cedex(-\d+)?$", "", slug(cell_text(name))).split("-")
    return "".join(_ABBREVIATIONS.get(word, word) for word in words)


def _communes_by_postcode(communes: gpd.GeoDataFrame) -> dict[str, list[tuple[str, str]]]:
    """Postcode -> (commune code, slug of its name) of the communes it serves."""
    index: dict[str, list[tuple[str, str]]] = {}
    for code, name, postcodes in zip(
        communes["code"].astype(str), communes["name"], communes["postcodes"], strict=True
    ):
        for postcode in postcodes if isinstance(postcodes, (list, tuple)) else []:
            index.setdefault(str(postcode), []).append((code, _commune_slug(name)))
    return index


def _wrong_commune(
    point: Any,
    code: str,
    field: str | None,
    distance_m: float,
    located: str | None,
    names: Mapping[str, str],
    communes: gpd.GeoDataFrame,
    *,
    crs: Any,
    file: str | Path | None,
    row: int,
) -> ValidationError:
    """The error of a point ``distance_m`` from the commune its row names, naming both communes."""
    lon, lat = _to_degrees(point, crs)
    distance_km = distance_m / 1000
    if located is not None:
        where = f"lies in {names[located]} ({located})"
    else:
        nearest_km = communes.geometry.distance(point).min() / 1000
        where = f"lies outside the Région ({nearest_km:,.1f} km from its nearest commune)"
    msg = (
        f"the point (latitude {lat:.5f}, longitude {lon:.5f}) {where}, {distance_km:,.1f} km from "
        f"{names[code]} ({code}), the commune this row names: wrong coordinates (a homonym geocoded "
        f"elsewhere?) or wrong commune?"
    )
    return ValidationError(msg, file=file, row=row, field=field)


def _outside_region(
    point: Any,
    communes: gpd.GeoDataFrame,
    *,
    crs: Any,
    file: str | Path | None,
    row: int,
    fields: Mapping[str, str],
    tolerance_m: float,
) -> GeometryError:
    distance_km = communes.geometry.distance(point).min() / 1000
    lon, lat = _to_degrees(point, crs)
    msg = (
        f"the point (latitude {lat:.5f}, longitude {lon:.5f}) is {distance_km:.1f} km from the "
        f"nearest commune (tolerance {tolerance_m / 1000:g} km): outside the Région"
    )
    return GeometryError(msg, file=file, row=row, field=f"{fields['latitude']}/{fields['longitude']}")


def _check_same_crs(structures: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *, file: str | Path | None) -> None:
    if structures.crs is None or communes.crs is None:
        which = "structures" if structures.crs is None else "communes"
        msg = f"the {which} layer has no CRS"
        raise CrsError(msg, file=file, field="geometry")
    if not structures.crs.equals(communes.crs, ignore_axis_order=True):
        msg = f"structures are in {structures.crs.to_string()} but communes in {communes.crs.to_string()}"
        raise CrsError(msg, file=file, field="geometry")


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


def _to_degrees(point: Any, crs: Any) -> tuple[float, float]:
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    return transformer.transform(point.x, point.y)


def concat_structures(
    frames: list[gpd.GeoDataFrame],
    *,
    crs: str,
    files: Sequence[Path | None] | None = None,
    rejections: Rejections | None = None,
) -> gpd.GeoDataFrame:
    """One structures layer from several datasets; an identifier in two of them is an error
    naming both files and rows (with ``rejections``, the later listing is rejected)."""
    if not frames:
        return gpd.GeoDataFrame(columns=list(STRUCTURE_COLUMNS), geometry="geometry", crs=crs)
    files = list(files) if files else [None] * len(frames)
    first: dict[str, tuple[Path | None, int]] = {}
    kept_frames = []
    for frame, file in zip(frames, files, strict=True):

        def unique(pos: int, frame: gpd.GeoDataFrame = frame, file: Path | None = file) -> int:
            sid, row = str(frame["structure_id"].iloc[pos]), int(frame.index[pos])
            if sid in first:
                where = f"{first[sid][0]}, row {first[sid][1]} and {file}, row {row}"
                msg = f"structure id {sid} appears in two datasets: {where}"
                raise DuplicateError(msg, file=file, row=row, field="structure_id")
            first[sid] = (file, row)
            return pos

        kept_frames.append(frame.iloc[per_row(range(len(frame)), unique, rejections)][list(STRUCTURE_COLUMNS)])
    combined = pd.concat(kept_frames, ignore_index=True)
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=crs)


MERGE_DISTANCE_M = 30.0
"""Two places of the same type and name closer than this (metres) are the same place."""

_GEOCODING_RANK = {precision: rank for rank, precision in enumerate(GEOCODING_PRECISIONS)}


def merge_same_places(structures: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[tuple[str, tuple[str, ...]]]]:
    """Merge the places listed more than once: same partner type, same name (case, accents and
    punctuation aside) and either the same address in the same commune, or points within
    :data:`MERGE_DISTANCE_M` metres when both are the buildings' own (two places put at their
    commune's town hall share a point without being one place).

    The place kept is, in order, one receiving the public, the most precisely placed, the
    first by ``structure_id``; it receives the public when any of its listings says so
    (France Travail's referential lists an agency and the directorate in its building under
    the same name).

    Parameters
    ----------
    structures
        ``geo.schema.STRUCTURE_COLUMNS`` in a projected CRS (metres), communes assigned
        (:func:`assign_communes`).

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
    address = [
        (commune, slug(text)) if isinstance(text, str) and slug(text) else None
        for commune, text in zip(frame["commune_code"], frame["address"], strict=True)
    ]
    precise = ~frame["geocoding"].isin(list(APPROXIMATE_POSITIONS)).to_numpy()
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
                or (
                    precise[j]
                    and precise[first]
                    and ((x[j] - x[first]) ** 2 + (y[j] - y[first]) ** 2) ** 0.5 <= MERGE_DISTANCE_M
                )
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
