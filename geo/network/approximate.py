"""An approximate graph joining adjacent communes, for when no OSM extract is given.

Each commune becomes one node, placed at a point inside its polygon
(``representative_point()``) or at a point the caller gives (e.g. the town hall). Two
communes whose polygons touch, or lie within ``adjacency_tolerance_m`` of each other,
are joined in both directions. The travel time of a link is the straight-line distance
between the two nodes times a detour factor, at a speed that depends on the density of
the communes it crosses (half of the link in each). Travel times to a commune several
communes away are thus sums of hops, which roughly follow the road network between
neighbouring centres. Communes with no neighbour (islands such as Ouessant or Bréhat)
stay disconnected: they are unreachable, which is correct without a ferry model.

Density classes (``DENSITY_SPEEDS_KPH``, car)
---------------------------------------------
The commune density (inhabitants per km², ``population / area``) proxies INSEE's
density levels (the official grid works on 1 km² cells, not on commune averages):

=======================  ==========  =====  ==========================================
class                    inh./km²    km/h   reason
=======================  ==========  =====  ==========================================
dense urban              >= 1 500       30  town centre streets, lights, 30 zones
intermediate             >= 150         50  suburbs and small towns, 50 km/h limit
rural                    < 150          70  country roads at 80, slowed by villages
=======================  ==========  =====  ==========================================

Walking uses 5 km/h everywhere. The graph keeps its mode (``"drive"`` or ``"walk"``) and is
flagged ``approximate=True``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj

from geo.errors import CrsError, GeometryError, MissingColumnError, ValidationError
from geo.network.graph import RoadGraph
from geo.network.speeds import WALK_SPEED_KPH
from geo.vocabulary import Mode, check_mode

DENSITY_SPEEDS_KPH: tuple[tuple[float, float], ...] = (
    (1500.0, 30.0),
    (150.0, 50.0),
    (0.0, 70.0),
)
"""Car speed (km/h) by commune density: ``(minimum inhabitants per km², speed)``,
densest class first; a commune takes the first class whose minimum it reaches."""

DEFAULT_DETOUR_FACTOR = 1.3
"""Ratio of road distance to straight-line distance between neighbouring communes."""

DEFAULT_ADJACENCY_TOLERANCE_M = 50.0
"""Gap (metres) under which two commune polygons count as adjacent (digitising slivers)."""

REQUIRED_COLUMNS = ("code", "population")


def approximate_graph_from_communes(
    communes: gpd.GeoDataFrame,
    *,
    crs: str,
    mode: Mode,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    origin_col: str | None = None,
    adjacency_tolerance_m: float = DEFAULT_ADJACENCY_TOLERANCE_M,
    density_speeds_kph: tuple[tuple[float, float], ...] = DENSITY_SPEEDS_KPH,
    walk_speed_kph: float = WALK_SPEED_KPH,
) -> RoadGraph:
    """Build an approximate travel-time graph between adjacent communes.

    Parameters
    ----------
    communes
        One row per commune with columns ``code`` (INSEE code), ``population``
        (inhabitants) and polygon geometries in ``crs``.
    crs
        Projected CRS (metres) of ``communes``, e.g. ``"EPSG:2154"``.
    mode
        ``"drive"`` (speed by density class) or ``"walk"`` (``walk_speed_kph``).
    detour_factor
        Road distance over straight-line distance, at least 1.
    origin_col
        Optional column of points (in ``crs``) to use as commune nodes instead of
        ``representative_point()`` of the polygons; empty or missing points fall back to
        the representative point.
    adjacency_tolerance_m
        Polygons closer than this (metres) are adjacent.
    density_speeds_kph
        ``(minimum density in inhabitants per km², speed in km/h)`` classes, densest first;
        the last minimum should be 0.
    walk_speed_kph
        Walking speed in km/h.

    Returns
    -------
    RoadGraph
        Node ``i`` is row ``i`` of ``communes`` (``node_id = i``, ``node_label`` = code);
        edge ``seconds = detour_factor * distance_m * (0.5 / v_a + 0.5 / v_b)`` with the
        speeds ``v`` of both communes in m/s; ``approximate=True``.

    Raises
    ------
    geo.errors.MissingColumnError
        When ``code``, ``population`` or ``origin_col`` is missing.
    geo.errors.CrsError
        When ``communes`` has no CRS or one other than ``crs``.
    geo.errors.GeometryError
        When a geometry is empty or not a polygon.
    geo.errors.ValidationError
        For an empty table or invalid parameters.
    """
    _check_communes(communes, crs=crs, origin_col=origin_col)
    mode = check_mode(mode)
    if not detour_factor >= 1.0:
        msg = f"detour_factor must be at least 1, got {detour_factor}"
        raise ValidationError(msg, field="detour_factor")
    if not adjacency_tolerance_m >= 0.0:
        msg = f"adjacency_tolerance_m must be non-negative, got {adjacency_tolerance_m}"
        raise ValidationError(msg, field="adjacency_tolerance_m")

    geometry = communes.geometry.reset_index(drop=True)
    points = geometry.representative_point()
    if origin_col is not None:
        column = communes[origin_col]
        column_crs = getattr(column, "crs", None)
        if column_crs is not None and not column_crs.equals(communes.crs):
            msg = f"origin points are in {column_crs.to_string()}, expected {crs}"
            raise CrsError(msg, field=origin_col)
        origins = gpd.GeoSeries(column.to_numpy(), crs=communes.crs)
        usable = origins.notna().to_numpy() & ~origins.is_empty.to_numpy()
        if not origins[usable].geom_type.eq("Point").all():
            msg = "origin points must be Point geometries"
            raise GeometryError(msg, field=origin_col)
        points = points.where(~usable, origins)
    x = points.x.to_numpy(dtype=np.float64)
    y = points.y.to_numpy(dtype=np.float64)

    if mode == "drive":
        speed_kph = _density_speeds(communes, geometry, density_speeds_kph)
    else:
        if not walk_speed_kph > 0:
            msg = f"walk_speed_kph must be positive, got {walk_speed_kph}"
            raise ValidationError(msg, field="walk_speed_kph")
        speed_kph = np.full(len(communes), float(walk_speed_kph))
    speed_ms = speed_kph / 3.6

    src, dst = geometry.sindex.query(geometry, predicate="dwithin", distance=adjacency_tolerance_m)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    distance_m = np.hypot(x[dst] - x[src], y[dst] - y[src])
    # Two communes sharing a node point (degenerate input) still cost a positive time.
    distance_m = np.maximum(distance_m, 1.0)
    seconds = detour_factor * distance_m * (0.5 / speed_ms[src] + 0.5 / speed_ms[dst])
    return RoadGraph(
        node_id=np.arange(len(communes), dtype=np.int64),
        x=x,
        y=y,
        src=src,
        dst=dst,
        seconds=seconds,
        crs=crs,
        mode=mode,
        approximate=True,
        node_label=communes["code"].astype(str).to_numpy(),
    )


def density_class_speeds_kph(
    density_per_km2: np.ndarray,
    density_speeds_kph: tuple[tuple[float, float], ...] = DENSITY_SPEEDS_KPH,
) -> np.ndarray:
    """Return the car speed (km/h) of each density (inhabitants per km²).

    Examples
    --------
    >>> density_class_speeds_kph(np.array([5000.0, 300.0, 20.0])).tolist()
    [30.0, 50.0, 70.0]
    """
    classes = sorted(density_speeds_kph, key=lambda item: item[0], reverse=True)
    if not classes or any(speed <= 0 for _, speed in classes):
        msg = "density_speeds_kph needs at least one class and positive speeds"
        raise ValidationError(msg, field="density_speeds_kph")
    density = np.asarray(density_per_km2, dtype=np.float64)
    speeds = np.full(density.shape, classes[-1][1])
    assigned = np.zeros(density.shape, dtype=bool)
    for minimum, speed in classes:
        hit = ~assigned & (density >= minimum)
        speeds[hit] = speed
        assigned |= hit
    return speeds


def _density_speeds(
    communes: gpd.GeoDataFrame,
    geometry: gpd.GeoSeries,
    density_speeds_kph: tuple[tuple[float, float], ...],
) -> np.ndarray:
    population = communes["population"].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(population) | (population < 0))
    if bad.size:
        msg = "population must be a non-negative number"
        raise ValidationError(msg, row=int(bad[0]) + 1, field="population")
    area_km2 = geometry.area.to_numpy() / 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area_km2 > 0, population / area_km2, np.inf)
    return density_class_speeds_kph(density, density_speeds_kph)


def _check_communes(communes: gpd.GeoDataFrame, *, crs: str, origin_col: str | None) -> None:
    if not isinstance(communes, gpd.GeoDataFrame):
        msg = f"communes must be a GeoDataFrame, got {type(communes).__name__}"
        raise ValidationError(msg)
    required = REQUIRED_COLUMNS + ((origin_col,) if origin_col is not None else ())
    for column in required:
        if column not in communes.columns:
            msg = f"communes lack the column {column!r}"
            raise MissingColumnError(msg, field=column)
    if communes.empty:
        msg = "no commune given"
        raise ValidationError(msg)
    if communes.crs is None:
        msg = f"communes have no CRS; expected {crs}"
        raise CrsError(msg)
    if not pyproj.CRS.from_user_input(crs).is_projected:
        msg = f"CRS {crs!r} is not projected; distances need metres"
        raise CrsError(msg)
    if not communes.crs.equals(pyproj.CRS.from_user_input(crs)):
        msg = f"communes are in {communes.crs.to_string()}, expected {crs}"
        raise CrsError(msg)
    geometry = communes.geometry
    bad = np.flatnonzero(
        geometry.isna().to_numpy()
        | geometry.is_empty.to_numpy()
        | ~geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    )
    if bad.size:
        msg = "commune geometry must be a non-empty Polygon or MultiPolygon"
        raise GeometryError(msg, row=int(bad[0]) + 1, field="geometry")
