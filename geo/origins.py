"""Where the inhabitants of a commune start from: one origin point per commune.

A commune's centroid may fall outside it (crescent-shaped or coastal communes) or in an
empty forest, and a commune's population lives mostly in its bourg. Without population
data below the commune (the INSEE 200 m grid is not in the pilot), the origin is taken
as the **densest point of the road network inside the commune**: the road node with the
most road nodes within ``radius_m`` (300 m by default). Road nodes cluster where streets
are, that is where people live, so this point falls in the main built-up area (the bourg
or the town centre), and it is always inside the commune and on the network.

Method per commune, recorded in the ``origin_method`` column:

``road_density``
    the densest road node inside the commune (ties: the node nearest to the polygon's
    representative point, then the lowest node index);
``representative_point``
    the commune has no road node (small island, or no network given): a point
    guaranteed inside the polygon (``shapely.point_on_surface``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.errors import CrsError, MissingColumnError

ROAD_DENSITY = "road_density"
REPRESENTATIVE_POINT = "representative_point"


def commune_origins(
    communes: gpd.GeoDataFrame,
    node_x: np.ndarray | None = None,
    node_y: np.ndarray | None = None,
    *,
    radius_m: float = 300.0,
) -> gpd.GeoDataFrame:
    """One origin point per commune, inside it (see the module docstring for the method).

    Parameters
    ----------
    communes
        ``code`` and polygons in a projected CRS (metres).
    node_x, node_y
        Road node coordinates in the same CRS (metres); None when there is no network.
    radius_m
        Radius of the density count, in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``origin_method`` and Point geometries in the communes' CRS, in the
        order of ``communes``.
    """
    _check_projected(communes)
    inside = communes.geometry.representative_point()
    points = np.array(inside.values, dtype=object)
    methods = np.full(len(communes), REPRESENTATIVE_POINT, dtype=object)
    if node_x is not None and node_y is not None and len(node_x):
        coords = np.column_stack([node_x, node_y])
        density = cKDTree(coords).query_ball_point(coords, r=radius_m, return_length=True)
        nodes = gpd.GeoSeries(shapely.points(coords), crs=communes.crs)
        node_idx, commune_idx = communes.geometry.sindex.query(nodes.values, predicate="within")
        frame = pd.DataFrame({"node": node_idx, "commune": commune_idx, "density": density[node_idx]})
        rep = np.array([[p.x, p.y] for p in points])
        frame["dist"] = np.hypot(
            coords[frame["node"], 0] - rep[frame["commune"], 0], coords[frame["node"], 1] - rep[frame["commune"], 1]
        )
        best = frame.sort_values(["commune", "density", "dist", "node"], ascending=[True, False, True, True])
        best = best.drop_duplicates("commune")
        points[best["commune"].to_numpy()] = shapely.points(coords[best["node"].to_numpy()])
        methods[best["commune"].to_numpy()] = ROAD_DENSITY
    return gpd.GeoDataFrame(
        {"code": communes["code"].to_numpy(), "origin_method": methods},
        geometry=list(points),
        crs=communes.crs,
    )


def _check_projected(communes: gpd.GeoDataFrame) -> None:
    if communes.crs is None or not communes.crs.is_projected:
        msg = f"communes must be in a projected CRS (metres), got {communes.crs}"
        raise CrsError(msg, field="geometry")
    if "code" not in communes.columns:
        msg = "communes need a 'code' column"
        raise MissingColumnError(msg, field="code")
