"""What every writer and reader of :mod:`storage` shares: the error, COPY, EWKB, the Région's CRS.

Geometries go into PostGIS as hex EWKB carrying the Région's SRID (:func:`ewkb_hex`) in a
text ``COPY`` (:func:`copy_rows`), and come back as WKB in the Région's projected CRS
(:func:`read_frame`); the CRS and SRID are those recorded by ``atlas load`` in
``region_config`` (:func:`region_crs`, :func:`region_srid`).

geopandas, shapely and numpy are imported by the functions that need them: the web
application, which only reads rows, starts without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    import pandas as pd

NO_REGION = "no Région is loaded yet (run `atlas load` first)"

Query = str | bytes | sql.SQL | sql.Composed
"""A statement psycopg executes (constant text or a :mod:`psycopg.sql` composition)."""


class StoreError(RuntimeError):
    """The database refuses the data (another Région, a broken reference...) or lacks it."""


def scalar(conn: psycopg.Connection, query: Query, params: Sequence[Any] = ()) -> Any:
    """The one value of a statement that always returns one row (an aggregate, ``SELECT expr``)."""
    row = conn.execute(query, params).fetchone()
    if row is None:  # pragma: no cover - such a statement always returns a row
        msg = "the statement returned no row"
        raise StoreError(msg)
    return row[0]


def one_row(
    conn: psycopg.Connection, query: Query, params: Sequence[Any] | dict[str, Any] = (), *, prepare: bool | None = None
) -> tuple[Any, ...]:
    """The row of a statement that always returns exactly one row."""
    row = conn.execute(query, params, prepare=prepare).fetchone()
    if row is None:  # pragma: no cover - such a statement always returns a row
        msg = "the statement returned no row"
        raise StoreError(msg)
    return tuple(row)


def loaded_region(conn: psycopg.Connection) -> tuple[str, str] | None:
    """``(INSEE code, projected CRS)`` of the Région ``atlas load`` recorded, None before any load."""
    row = conn.execute("SELECT region_code, crs FROM region_config").fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def region_crs(conn: psycopg.Connection) -> str:
    """The Région's projected CRS (e.g. ``EPSG:2154``), as recorded by ``atlas load``."""
    region = loaded_region(conn)
    if region is None:
        raise StoreError(NO_REGION)
    return region[1]


def region_srid(conn: psycopg.Connection) -> int:
    """The SRID of every stored geometry (the EPSG code of :func:`region_crs`)."""
    row = conn.execute("SELECT srid FROM region_config").fetchone()
    if row is None:
        raise StoreError(NO_REGION)
    return int(row[0])


def ewkb_hex(geoms: Iterable[Any], srid: int, *, multi: bool) -> list[str]:
    """Hex EWKB with the SRID, as PostGIS reads it in text COPY (Polygons made MultiPolygons
    when ``multi``)."""
    import shapely

    array = shapely.from_wkb(shapely.to_wkb(list(geoms)))  # plain copy, detached from pandas
    if multi:
        array = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in array]
    return list(shapely.to_wkb(shapely.set_srid(list(array), srid), hex=True, include_srid=True))


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY ``rows`` into ``table`` (text format; values adapted by psycopg)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def read_frame(
    conn: psycopg.Connection, query: Query, params: Sequence[Any] = (), *, crs: str | None = None
) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame; a last column named ``wkb`` becomes the geometry
    of a GeoDataFrame in ``crs``."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [d.name for d in cur.description or ()]
        rows = cur.fetchall()
    frame = pd.DataFrame(rows, columns=columns)
    if "wkb" not in columns:
        return frame
    wkb = frame.pop("wkb")
    geometry = shapely.from_wkb([bytes(v) for v in wkb]) if rows else []
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)


def jsonable(value: Any) -> Any:
    """Plain JSON values for a ``jsonb`` column (numpy scalars, inf -> None, tuples -> lists)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
