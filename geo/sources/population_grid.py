"""Population on a grid: the INSEE Filosofi 200 m cells, as points with a population.

Format (the one INSEE publishes, « Revenus, pauvreté et niveau de vie en 2017/2019 -
données carroyées », https://www.insee.fr/fr/statistiques/6215138):

* **CSV** (``;`` or ``,``), one row per inhabited 200 m cell, with at least the columns
  ``Idcar_200m`` (cell identifier, e.g. ``CRS3035RES200mN2880000E3400000``: CRS
  EPSG:3035, resolution 200 m, northing and easting in metres of the cell's south-west
  corner) and ``Ind`` (number of inhabitants, estimated; may be fractional). Column
  names are matched without regard to case. The cell centre is the corner + 100 m.
* **GeoPackage** (or any file GDAL reads): the same ``Ind`` column (any case) and the
  cells as polygons (or points) in the layer's CRS; the centre is the polygon's centroid.
  When the layer has no geometry, ``Idcar_200m`` gives the position as for CSV.

Overseas grids carry their own CRS in the identifier (e.g. ``CRS5490`` in the
Antilles, ``CRS2975`` in La Réunion): every row's CRS is read, and rows are grouped by it.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.errors import MissingColumnError, ValidationError
from geo.sources.tables import sniff_separator

ID_COLUMN = "idcar_200m"
POPULATION_COLUMN = "ind"
CELL_ID = re.compile(r"^CRS(\d+)RES(\d+)mN(\d+(?:\.\d+)?)E(\d+(?:\.\d+)?)$")
"""``Idcar_200m`` pattern: CRS (EPSG code), resolution (m), northing, easting (m, south-west corner)."""


def read_population_grid(path: str | Path) -> gpd.GeoDataFrame:
    """Read a Filosofi grid (CSV or GeoPackage, see the module docstring).

    Returns
    -------
    geopandas.GeoDataFrame
        ``population`` (inhabitants, float) and the cell centres as Points in the grid's
        CRS (EPSG:3035 in metropolitan France). Cells without inhabitants are dropped.

    Raises
    ------
    geo.errors.ValidationError
        A missing file, a missing ``Ind`` or ``Idcar_200m`` column, a malformed identifier
        or population (naming the row), or several CRS in one file.
    """
    path = Path(path)
    if not path.is_file():
        msg = "population grid file not found"
        raise ValidationError(msg, file=path)
    if path.suffix.lower() in {".csv", ".txt"}:
        frame = _read_csv(path)
        geometry = None
    else:
        try:
            layer = pyogrio.read_dataframe(path)
        except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
            msg = f"cannot read the population grid ({exc})"
            raise ValidationError(msg, file=path) from exc
        frame = pd.DataFrame(layer.drop(columns="geometry", errors="ignore"))
        frame.columns = [str(c).lower() for c in frame.columns]
        geometry = layer.geometry if isinstance(layer, gpd.GeoDataFrame) and layer.geometry.notna().all() else None
        if geometry is not None and geometry.crs is None:
            msg = "the population grid layer has no CRS"
            raise ValidationError(msg, file=path, field="geometry")
    population = _population(frame, path)
    if geometry is not None:
        centres = shapely.centroid(np.asarray(geometry.values))
        grid = gpd.GeoDataFrame({"population": population}, geometry=centres, crs=geometry.crs)
    else:
        grid = _from_identifiers(frame, population, path)
    return grid[grid["population"] > 0].reset_index(drop=True)


def _read_csv(path: Path) -> pd.DataFrame:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    separator = sniff_separator(header)
    columns = {
        name.strip().strip('"').lower(): name.strip().strip('"') for name in header.rstrip("\r\n").split(separator)
    }
    for wanted in (ID_COLUMN, POPULATION_COLUMN):
        if wanted not in columns:
            msg = f"the population grid needs a column {wanted!r} (INSEE Filosofi 200 m), found {sorted(columns.values())}"
            raise MissingColumnError(msg, file=path, field=wanted)
    frame = pd.read_csv(
        path,
        sep=separator,
        usecols=[columns[ID_COLUMN], columns[POPULATION_COLUMN]],
        dtype=str,
        encoding="utf-8-sig",
        keep_default_na=False,
    )
    frame.columns = [str(c).lower() for c in frame.columns]
    return frame


def _population(frame: pd.DataFrame, path: Path) -> np.ndarray:
    if POPULATION_COLUMN not in frame.columns:
        msg = f"the population grid needs a column {POPULATION_COLUMN!r} (inhabitants per cell)"
        raise MissingColumnError(msg, file=path, field=POPULATION_COLUMN)
    text = frame[POPULATION_COLUMN].astype(str).str.strip().str.replace(",", ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        msg = f"not a number of inhabitants: {frame[POPULATION_COLUMN].iloc[row]!r}"
        raise ValidationError(msg, file=path, row=row + 1, field=POPULATION_COLUMN)
    return values


def _from_identifiers(frame: pd.DataFrame, population: np.ndarray, path: Path) -> gpd.GeoDataFrame:
    if ID_COLUMN not in frame.columns:
        msg = f"the population grid has no geometry and no column {ID_COLUMN!r} giving the cells' position"
        raise MissingColumnError(msg, file=path, field=ID_COLUMN)
    parts = frame[ID_COLUMN].astype(str).str.strip().str.extract(CELL_ID)
    bad = parts.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        msg = f"not a Filosofi cell identifier (CRS3035RES200mN…E…): {frame[ID_COLUMN].iloc[row]!r}"
        raise ValidationError(msg, file=path, row=row + 1, field=ID_COLUMN)
    crs_codes = parts[0].unique()
    if len(crs_codes) > 1:
        msg = f"the population grid mixes several CRS ({', '.join('EPSG:' + c for c in sorted(crs_codes))}): give one file per CRS"
        raise ValidationError(msg, file=path, field=ID_COLUMN)
    half = parts[1].astype(np.float64).to_numpy() / 2
    north = parts[2].astype(np.float64).to_numpy() + half
    east = parts[3].astype(np.float64).to_numpy() + half
    crs = f"EPSG:{crs_codes[0]}" if len(crs_codes) else "EPSG:3035"
    return gpd.GeoDataFrame({"population": population}, geometry=gpd.points_from_xy(east, north), crs=crs)
