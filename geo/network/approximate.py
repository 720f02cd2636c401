"""An approximate travel-time graph for when no OSM extract is given: straight line x detour.

Without a road network, the time between two points is estimated from their straight-line
distance ``d`` (metres, in the Région's projected CRS):

* the road distance is ``detour_factor x d``, with the **detour index 1.34**: the mean
  ratio of road to straight-line distance measured over 300 European cities
  ("radial physical detour" 1.343, *Environment and Planning B*, 2023,
  doi:10.1177/23998083231168870). Older figures agree: about 1.2 in cities (Newell, 1980),
  1.2-1.5 between places of a country (Ballou, Rahardja & Sakai, 2002, *Transportation
  Research A* 36(9)). The factor is the same for walking, whose paths cut some corners
  cars cannot but follow the same streets;
* by car, that road distance is driven at a **speed that grows with the distance**
  (:data:`DRIVE_BANDS_KPH`, marginal speeds by band as in a tax scale: the first 2 km at
  30 km/h, the next 8 km at 50 km/h, the next 20 km at 80 km/h, the rest at 100 km/h).
  Short trips stay on town streets; longer ones use main roads and expressways. The bands
  are this project's assumption, checked against real OSM times
  (``benchmarks/bench_fallback.py``; README, « Temps approximatifs »). On foot, 5 km/h.

Because the marginal speed never decreases, the time is concave in the distance: a direct
link is never slower than a chain of links, so Dijkstra on this graph returns the model's
time for every pair joined directly.

Nodes are the communes (one per commune: a point inside it, ``representative_point()``,
or a point the caller gives, e.g. the town hall) and, when given, the **places**: a place's
time is then computed from its own position, so that a place 4 km away in the same town is
4 km away, not "1 minute". Every pair of nodes closer than the straight-line distance the
model covers within the longest matrix bound of the mode
(:data:`geo.vocabulary.MATRIX_LIMIT_S`) is linked in both directions, **if both stand on
the same land mass**: land masses are the groups of communes whose polygons touch (within
``adjacency_tolerance_m``), so an island commune without a bridge stays unreachable (no
ferry is known without OSM), as it was with the former commune-adjacency graph. The graph
is flagged ``approximate=True`` and every result computed on it says so.

The error of this model against OSM times is measured by ``benchmarks/bench_fallback.py``
(median and 90th percentile of the relative error) and reported in the README.
"""

from __future__ import annotations

import functools
import itertools

import geopandas as gpd
import numpy as np
import pyproj
import scipy.sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.errors import CrsError, GeometryError, MissingColumnError, ValidationError
from geo.network.graph import RoadGraph
from geo.network.speeds import WALK_SPEED_KPH
from geo.vocabulary import MATRIX_LIMIT_S, Mode, check_mode

DETOUR_FACTOR = 1.34
"""Road distance over straight-line distance (European mean radial detour, 1.343; see the module)."""

DRIVE_BANDS_KPH: tuple[tuple[float, float], ...] = (
    (2_000.0, 30.0),
    (10_000.0, 50.0),
    (30_000.0, 80.0),
    (np.inf, 100.0),
)
"""Car speed by band of road distance: ``(upper bound of the band in road metres, km/h)``,
applied to the part of the trip within each band; speeds must not decrease."""

DEFAULT_ADJACENCY_TOLERANCE_M = 50.0
"""Gap (metres) under which two commune polygons count as touching (digitising slivers)."""

MIN_LINK_SECONDS = 1e-3
"""Floor on a link's time (seconds), for two nodes at the same position."""

PLACE_LABEL_PREFIX = "lieu:"
"""Prefix of the ``node_label`` of place nodes (commune nodes carry the bare INSEE code)."""

REQUIRED_COLUMNS = ("code", "population")

SOURCE_NAME = "estimation (vol d'oiseau × détour)"
"""Name of the approximate network as stored (``network.source``, ``access_run.network``)."""


def approximate_seconds(
    distance_m: np.ndarray,
    *,
    mode: Mode,
    detour_factor: float = DETOUR_FACTOR,
    drive_bands_kph: tuple[tuple[float, float], ...] = DRIVE_BANDS_KPH,
    walk_speed_kph: float = WALK_SPEED_KPH,
) -> np.ndarray:
    """Estimated travel time (seconds) for straight-line distances (metres), see the module.

    Examples
    --------
    >>> approximate_seconds(np.array([0.0, 1000.0]), mode="walk").round(1).tolist()
    [0.0, 964.8]
    >>> float(approximate_seconds(np.array([1000.0]), mode="drive")[0].round(1))  # 1.34 km at 30 km/h
    160.8
    """
    mode = check_mode(mode)
    road_m = np.asarray(distance_m, dtype=np.float64) * float(detour_factor)
    if mode == "walk":
        seconds: np.ndarray = road_m / (walk_speed_kph / 3.6)
        return seconds
    seconds = np.zeros_like(road_m)
    lower = 0.0
    for upper, speed_kph in drive_bands_kph:
        seconds += np.clip(road_m - lower, 0.0, upper - lower) / (speed_kph / 3.6)
        lower = upper
    return seconds


def straight_distance_within(
    seconds: float,
    *,
    mode: Mode,
    detour_factor: float = DETOUR_FACTOR,
    drive_bands_kph: tuple[tuple[float, float], ...] = DRIVE_BANDS_KPH,
    walk_speed_kph: float = WALK_SPEED_KPH,
) -> float:
    """The straight-line distance (metres) that :func:`approximate_seconds` covers in ``seconds``."""
    if mode == "walk":
        return seconds * walk_speed_kph / 3.6 / detour_factor
    remaining, road_m, lower = seconds, 0.0, 0.0
    for upper, speed_kph in drive_bands_kph:
        band_s = (upper - lower) / (speed_kph / 3.6)
        if remaining <= band_s:
            road_m += remaining * speed_kph / 3.6
            break
        road_m, remaining, lower = upper, remaining - band_s, upper
    return road_m / detour_factor


def approximate_graph_from_communes(
    communes: gpd.GeoDataFrame,
    *,
    crs: str,
    mode: Mode,
    places: gpd.GeoDataFrame | None = None,
    detour_factor: float = DETOUR_FACTOR,
    origin_col: str | None = None,
    adjacency_tolerance_m: float = DEFAULT_ADJACENCY_TOLERANCE_M,
    drive_bands_kph: tuple[tuple[float, float], ...] = DRIVE_BANDS_KPH,
    walk_speed_kph: float = WALK_SPEED_KPH,
    link_radius_m: float | None = None,
) -> RoadGraph:
    """Build the approximate travel-time graph of communes (and places), see the module.

    Parameters
    ----------
    communes
        One row per commune with columns ``code`` (INSEE code), ``population``
        (inhabitants) and polygon geometries in ``crs``.
    crs
        Projected CRS (metres) of ``communes``, e.g. ``"EPSG:2154"``.
    mode
        ``"drive"`` (speeds by distance band) or ``"walk"`` (``walk_speed_kph``).
    places
        Optional ``structure_id`` and Points in ``crs``: each becomes a node (label
        ``"lieu:<structure_id>"``) on the land mass of the commune it lies in (or the
        nearest commune).
    detour_factor
        Road distance over straight-line distance, at least 1.
    origin_col
        Optional column of points (in ``crs``) to use as commune nodes instead of
        ``representative_point()`` of the polygons; empty or missing points fall back to
        the representative point.
    adjacency_tolerance_m
        Polygons closer than this (metres) are on the same land mass.
    drive_bands_kph
        ``(upper bound in road metres, km/h)`` bands, speeds not decreasing, last bound inf.
    walk_speed_kph
        Walking speed in km/h.
    link_radius_m
        Nodes closer than this (straight line, metres) are linked directly; default: the
        distance the model covers in :data:`geo.vocabulary.MATRIX_LIMIT_S` of the mode.

    Returns
    -------
    RoadGraph
        Node ``i < len(communes)`` is row ``i`` of ``communes`` (``node_id = i``,
        ``node_label`` = code), then one node per place; ``approximate=True``.

    Raises
    ------
    geo.errors.MissingColumnError
        When ``code``, ``population``, ``origin_col`` or the places' ``structure_id`` is missing.
    geo.errors.CrsError
        When ``communes`` (or ``places``) has no CRS or one other than ``crs``.
    geo.errors.GeometryError
        When a geometry is empty or not a polygon (a point for places).
    geo.errors.ValidationError
        For an empty table or invalid parameters.
    """
    _check_communes(communes, crs=crs, origin_col=origin_col)
    mode = check_mode(mode)
    _check_parameters(detour_factor, adjacency_tolerance_m, drive_bands_kph, walk_speed_kph)
    _check_population(communes)

    geometry = communes.geometry.reset_index(drop=True)
    points = geometry.representative_point()
    if origin_col is not None:
        points = _origin_points(communes, origin_col, points, crs=crs)
    x = points.x.to_numpy(dtype=np.float64)
    y = points.y.to_numpy(dtype=np.float64)
    land = land_masses(geometry, tolerance_m=adjacency_tolerance_m)
    labels = communes["code"].astype(str).tolist()

    if places is not None and len(places):
        place_x, place_y, place_land = _place_nodes(places, geometry, land, crs=crs)
        x = np.concatenate((x, place_x))
        y = np.concatenate((y, place_y))
        land = np.concatenate((land, place_land))
        labels += [PLACE_LABEL_PREFIX + str(s) for s in places["structure_id"]]

    model = functools.partial(
        approximate_seconds,
        mode=mode,
        detour_factor=detour_factor,
        drive_bands_kph=drive_bands_kph,
        walk_speed_kph=walk_speed_kph,
    )
    if link_radius_m is None:
        link_radius_m = straight_distance_within(
            MATRIX_LIMIT_S[mode],
            mode=mode,
            detour_factor=detour_factor,
            drive_bands_kph=drive_bands_kph,
            walk_speed_kph=walk_speed_kph,
        )
    pairs = cKDTree(np.column_stack((x, y))).query_pairs(r=float(link_radius_m), output_type="ndarray")
    pairs = pairs[land[pairs[:, 0]] == land[pairs[:, 1]]]
    a, b = pairs[:, 0], pairs[:, 1]
    seconds = model(np.hypot(x[b] - x[a], y[b] - y[a]))
    seconds = np.maximum(seconds, MIN_LINK_SECONDS)
    return RoadGraph(
        node_id=np.arange(x.size, dtype=np.int64),
        x=x,
        y=y,
        src=np.concatenate((a, b)),
        dst=np.concatenate((b, a)),
        seconds=np.concatenate((seconds, seconds)),
        crs=crs,
        mode=mode,
        approximate=True,
        node_label=np.asarray(labels, dtype=str),
    )


def land_masses(geometry: gpd.GeoSeries, *, tolerance_m: float = DEFAULT_ADJACENCY_TOLERANCE_M) -> np.ndarray:
    """Label of the land mass of each polygon: groups of polygons touching within ``tolerance_m``."""
    src, dst = geometry.sindex.query(geometry, predicate="dwithin", distance=tolerance_m)
    n = len(geometry)
    adjacency = scipy.sparse.coo_matrix((np.ones(src.size), (src, dst)), shape=(n, n)).tocsr()
    _, labels = connected_components(adjacency, directed=False)
    labels_array: np.ndarray = labels.astype(np.int64)
    return labels_array


def _place_nodes(
    places: gpd.GeoDataFrame, geometry: gpd.GeoSeries, land: np.ndarray, *, crs: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if "structure_id" not in places.columns:
        msg = "places lack the column 'structure_id'"
        raise MissingColumnError(msg, field="structure_id")
    if places.crs is None or not places.crs.equals(pyproj.CRS.from_user_input(crs)):
        msg = f"places are in {places.crs}, expected {crs}"
        raise CrsError(msg)
    kinds = places.geometry.geom_type.to_numpy()
    bad = np.flatnonzero((kinds != "Point") | places.geometry.is_empty.to_numpy())
    if bad.size:
        msg = "place geometry must be a non-empty Point"
        raise GeometryError(msg, row=int(bad[0]) + 1, field="geometry")
    place_points = places.geometry.reset_index(drop=True)
    commune = np.full(len(place_points), -1, dtype=np.int64)
    inside_place, inside_commune = geometry.sindex.query(place_points, predicate="intersects")
    commune[inside_place[::-1]] = inside_commune[::-1]  # the first commune listed wins
    outside = np.flatnonzero(commune < 0)
    if outside.size:
        _, nearest = geometry.sindex.nearest(place_points.iloc[outside], return_all=False)
        commune[outside] = nearest
    return place_points.x.to_numpy(dtype=np.float64), place_points.y.to_numpy(dtype=np.float64), land[commune]


def _origin_points(communes: gpd.GeoDataFrame, origin_col: str, points: gpd.GeoSeries, *, crs: str) -> gpd.GeoSeries:
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
    return points.where(~usable, origins)


def _check_parameters(
    detour_factor: float,
    adjacency_tolerance_m: float,
    drive_bands_kph: tuple[tuple[float, float], ...],
    walk_speed_kph: float,
) -> None:
    if not detour_factor >= 1.0:
        msg = f"detour_factor must be at least 1, got {detour_factor}"
        raise ValidationError(msg, field="detour_factor")
    if not adjacency_tolerance_m >= 0.0:
        msg = f"adjacency_tolerance_m must be non-negative, got {adjacency_tolerance_m}"
        raise ValidationError(msg, field="adjacency_tolerance_m")
    if not walk_speed_kph > 0:
        msg = f"walk_speed_kph must be positive, got {walk_speed_kph}"
        raise ValidationError(msg, field="walk_speed_kph")
    bounds = [upper for upper, _ in drive_bands_kph]
    speeds = [speed for _, speed in drive_bands_kph]
    if (
        not drive_bands_kph
        or bounds[-1] != np.inf
        or any(b <= a for a, b in zip([0.0, *bounds[:-1]], bounds, strict=True))
        or speeds[0] <= 0
        or any(b < a for a, b in itertools.pairwise(speeds))
    ):
        msg = "drive_bands_kph needs increasing bounds ending with inf and positive, non-decreasing speeds"
        raise ValidationError(msg, field="drive_bands_kph")


def _check_population(communes: gpd.GeoDataFrame) -> None:
    population = communes["population"].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(population) | (population < 0))
    if bad.size:
        msg = "population must be a non-negative number"
        raise ValidationError(msg, row=int(bad[0]) + 1, field="population")


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
