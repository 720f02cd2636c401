"""Isochrones of the places: the area from which each place is reached within T minutes.

On a road graph the polygon comes from the nodes that reach the place within T
(:func:`geo.routing.isochrone_polygons` on the reversed graph, one Dijkstra per place
for all the limits). On the approximate commune graph there is nothing finer than the
commune: the isochrone is the union of the communes whose origin reaches the place within
T (read off the commune x place matrix of :func:`geo.access.compute_access`), and it is
flagged approximate like every other result of that graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import ValidationError
from geo.network.graph import RoadGraph
from geo import routing

DEFAULT_MINUTES: tuple[int, ...] = (15, 30, 45)
"""Isochrone limits stored for the map, in minutes."""


def place_isochrones(
    graph: RoadGraph,
    places: pd.DataFrame,
    *,
    minutes: Sequence[int] = DEFAULT_MINUTES,
    communes: gpd.GeoDataFrame | None = None,
    od: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Isochrones of every place, for each limit in ``minutes``.

    Parameters
    ----------
    graph
        The road graph (its CRS is the output CRS).
    places
        ``structure_id`` and ``node`` (graph node of each place), e.g.
        :attr:`geo.access.AccessResult.places`.
    minutes
        Limits in minutes, positive.
    communes
        ``code`` and polygons in ``graph.crs``; required on an approximate graph.
    od
        ``commune_code, structure_id, seconds`` (:attr:`geo.access.AccessResult.od`);
        required on an approximate graph, and must cover ``max(minutes)``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``structure_id, minutes`` and (Multi)Polygons in ``graph.crs``; a place that no
        commune reaches within a limit has no row for it.
    """
    limits = sorted({int(m) for m in minutes})
    if not limits or limits[0] <= 0:
        msg = f"isochrone limits must be positive minutes, got {list(minutes)}"
        raise ValidationError(msg, field="minutes")
    if graph.approximate:
        if communes is None or od is None:
            msg = "an approximate graph needs the communes and the commune x place matrix"
            raise ValidationError(msg, field="communes")
        return _commune_unions(places, limits, communes, od, crs=graph.crs)
    ids, mins, geoms = [], [], []
    for structure_id, node in zip(places["structure_id"], places["node"], strict=True):
        polygons = routing.isochrone_polygons(graph, int(node), [m * 60.0 for m in limits], direction="to")
        for limit, polygon in zip(limits, polygons, strict=True):
            ids.append(structure_id)
            mins.append(limit)
            geoms.append(polygon)
    return gpd.GeoDataFrame({"structure_id": ids, "minutes": mins}, geometry=geoms, crs=graph.crs)


def _commune_unions(
    places: pd.DataFrame,
    limits: list[int],
    communes: gpd.GeoDataFrame,
    od: pd.DataFrame,
    *,
    crs: str,
) -> gpd.GeoDataFrame:
    """Union of the communes reaching each place within each limit (coverage union)."""
    position = pd.Series(np.arange(len(communes)), index=communes["code"].to_numpy())
    polygons = communes.geometry.to_numpy()
    pairs = od[od["structure_id"].isin(places["structure_id"])]
    ids, mins, geoms = [], [], []
    for structure_id, group in pairs.groupby("structure_id", sort=True):
        for limit in limits:
            inside = group.loc[group["seconds"] <= limit * 60.0, "commune_code"]
            if inside.empty:
                continue
            area = shapely.coverage_union_all(polygons[position.loc[inside].to_numpy()])
            ids.append(structure_id)
            mins.append(limit)
            geoms.append(area)
    return gpd.GeoDataFrame({"structure_id": ids, "minutes": mins}, geometry=geoms, crs=crs)
