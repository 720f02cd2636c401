"""Where the inhabitants of a commune start from: one origin point per commune.

A commune's centroid may fall outside it (crescent-shaped or coastal communes) or in an
empty forest, and a commune's population lives mostly in its bourg. Two rules, in this
order of preference, recorded per commune in the ``origin_method`` column:

``population_grid``
    when a population grid is given (INSEE Filosofi 200 m cells, read by
    :func:`geo.sources.population_grid.read_population_grid`): the centre of the most
    populated cell whose centre lies inside the commune (ties: the cell nearest to the
    polygon's representative point, then the first one). This is where most people of
    the commune live, measured.
``road_density``
    otherwise (no grid, or no populated cell in the commune): the **densest point of the
    road network inside the commune**, the road node with the most road nodes within
    :data:`DENSITY_RADIUS_M` (300 m). Road nodes cluster where streets are, that is where
    people live, so this point falls in the main built-up area (the bourg or the town
    centre), and it is always inside the commune and on the network. Ties: the node
    nearest to the polygon's representative point, then the lowest node index.
``representative_point``
    the commune has neither (small island, or no network given): a point guaranteed
    inside the polygon (``shapely.point_on_surface``).

The per-node density depends only on the network: :func:`prepare_origins` computes it
when the network is loaded and it is stored with the graph, so that ``atlas access``
does not count again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from geo.errors import CrsError, MissingColumnError, ValidationError

if TYPE_CHECKING:
    from geo.network.graph import RoadGraph

POPULATION_GRID = "population_grid"
ROAD_DENSITY = "road_density"
REPRESENTATIVE_POINT = "representative_point"

DENSITY_RADIUS_M = 300.0
"""Radius (metres) of the road-node density count of the ``road_density`` rule."""

_FIRST_BLOCK = 64  # candidates tested against the polygon at first (doubled until one is inside)


def prepare_origins(graph: RoadGraph) -> np.ndarray:
    """Compute (and memoise on ``graph``, hence store with it) the density of each node.

    Returns
    -------
    numpy.ndarray
        :meth:`RoadGraph.node_density` at :data:`DENSITY_RADIUS_M`, int32 per node.
    """
    return graph.node_density(DENSITY_RADIUS_M)


def commune_origins(
    communes: gpd.GeoDataFrame,
    node_x: np.ndarray | None = None,
    node_y: np.ndarray | None = None,
    *,
    radius_m: float = DENSITY_RADIUS_M,
    density: np.ndarray | None = None,
    population_grid: gpd.GeoDataFrame | None = None,
    tree: cKDTree | None = None,
) -> gpd.GeoDataFrame:
    """One origin point per commune, inside it (see the module docstring for the rules).

    Parameters
    ----------
    communes
        ``code`` and polygons in a projected CRS (metres).
    node_x, node_y
        Road node coordinates in the same CRS (metres); None when there is no network.
    radius_m
        Radius of the density count, in metres (when ``density`` is not given).
    density
        Precomputed count of nodes within ``radius_m`` of each node
        (:meth:`RoadGraph.node_density`); None counts here.
    population_grid
        Optional cell centres (Points, any CRS: reprojected) with a ``population`` column.
    tree
        A k-d tree on the node coordinates (:meth:`RoadGraph.to_kdtree`), to reuse it.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``origin_method`` and Point geometries in the communes' CRS, in the
        order of ``communes``.
    """
    _check_projected(communes)
    polygons = np.asarray(communes.geometry.values, dtype=object)
    inside = communes.geometry.representative_point()
    rep = np.column_stack([inside.x.to_numpy(), inside.y.to_numpy()]) if len(inside) else np.zeros((0, 2))
    points = np.array(inside.values, dtype=object)
    methods = np.full(len(communes), REPRESENTATIVE_POINT, dtype=object)
    if node_x is not None and node_y is not None and len(node_x):
        coords = np.column_stack([node_x, node_y])
        tree = tree if tree is not None else cKDTree(coords)
        if density is None:
            density = tree.query_ball_point(coords, r=radius_m, return_length=True)
        elif np.shape(density) != (coords.shape[0],):
            msg = f"density has {np.shape(density)} values for {coords.shape[0]} nodes"
            raise ValidationError(msg, field="density")
        best = _best_inside(polygons, rep, tree, coords, np.asarray(density))
        found = best >= 0
        points[found] = shapely.points(coords[best[found]])
        methods[found] = ROAD_DENSITY
    if population_grid is not None and len(population_grid):
        cells = population_grid.to_crs(communes.crs) if population_grid.crs != communes.crs else population_grid
        centres = np.column_stack([cells.geometry.x.to_numpy(), cells.geometry.y.to_numpy()])
        weight = cells["population"].to_numpy(dtype=np.float64)
        populated = weight > 0
        centres, weight = centres[populated], weight[populated]
        if len(centres):
            best = _best_inside(polygons, rep, cKDTree(centres), centres, weight)
            found = best >= 0
            points[found] = shapely.points(centres[best[found]])
            methods[found] = POPULATION_GRID
    return gpd.GeoDataFrame(
        {"code": communes["code"].to_numpy(), "origin_method": methods},
        geometry=list(points),
        crs=communes.crs,
    )


def _best_inside(
    polygons: np.ndarray, rep: np.ndarray, tree: cKDTree, coords: np.ndarray, score: np.ndarray
) -> np.ndarray:
    """Index of the highest-``score`` point strictly inside each polygon, -1 when none.

    Ties: the point nearest to the polygon's ``rep`` point, then the lowest index. Only
    the points near a polygon (within the circle around its bounding box) are candidates,
    and they are tested against the polygon in blocks of decreasing score, each block
    closed at a change of score: the first block holding a point inside holds the answer.
    """
    best = np.full(len(polygons), -1, dtype=np.int64)
    for i, polygon in enumerate(polygons):
        if polygon is None or polygon.is_empty:
            continue
        xmin, ymin, xmax, ymax = polygon.bounds
        centre = ((xmin + xmax) / 2, (ymin + ymax) / 2)
        candidates = np.asarray(tree.query_ball_point(centre, r=np.hypot(xmax - xmin, ymax - ymin) / 2), dtype=np.int64)
        if not candidates.size:
            continue
        candidates = candidates[np.lexsort((candidates, -score[candidates]))]  # by score desc, then index
        ranked = score[candidates]
        shapely.prepare(polygon)
        start, block = 0, _FIRST_BLOCK
        while start < candidates.size:
            end = min(candidates.size, start + block)
            # close the block at a change of score, so that ties are tested together
            end = int(np.searchsorted(-ranked, -ranked[end - 1], side="right"))
            part = candidates[start:end]
            within = part[shapely.contains_xy(polygon, coords[part, 0], coords[part, 1])]
            if within.size:
                top = within[score[within] == score[within].max()]
                dist = np.hypot(coords[top, 0] - rep[i, 0], coords[top, 1] - rep[i, 1])
                best[i] = top[np.lexsort((top, dist))[0]]
                break
            start, block = end, block * 2
    return best


def _check_projected(communes: gpd.GeoDataFrame) -> None:
    if communes.crs is None or not communes.crs.is_projected:
        msg = f"communes must be in a projected CRS (metres), got {communes.crs}"
        raise CrsError(msg, field="geometry")
    if "code" not in communes.columns:
        msg = "communes need a 'code' column"
        raise MissingColumnError(msg, field="code")
