"""Contiguity of communes: who touches whom, and the pieces a zone falls into.

Two communes are neighbours when their polygons touch (Queen: a common point is enough;
Rook: a common border of positive length), within ``tolerance_m`` metres. Islands and
other pieces of territory touching nothing are *bridged* to the nearest commune
(straight-line distance between polygons), so that an island belongs to the zone of the
coast it faces. Geometries are in the Région's projected CRS, in metres.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse
import shapely
from scipy.sparse.csgraph import connected_components

from geo.errors import GeometryError, ValidationError

CONTACT_WEIGHT_M = 1e-3
"""Weight (metres) of a contact without common border length: a Queen corner, an overlap
crossing, or an island bridge. Real borders (metres) always outweigh it."""

ContiguityRule = Literal["queen", "rook"]


def commune_adjacency(
    communes: gpd.GeoDataFrame,
    *,
    rule: ContiguityRule = "queen",
    tolerance_m: float = 0.0,
    bridge_islands: bool = True,
) -> scipy.sparse.csr_matrix:
    """Contiguity of the communes, weighted by the length of their common border.

    Parameters
    ----------
    communes
        Polygons in a projected CRS (metres), one row per commune.
    rule
        ``"queen"``: polygons sharing at least one point are neighbours; ``"rook"``: only
        those sharing a border of positive length.
    tolerance_m
        Polygons closer than this (metres) count as touching (slivers and gaps of
        generalised contours); 0 asks for an exact contact.
    bridge_islands
        Link every group of communes touching nothing else (islands) to the nearest
        commune outside it, so that the graph is connected.

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric ``(n, n)`` float64 matrix, in the communes' row order: common border in
        metres, at least :data:`CONTACT_WEIGHT_M` for every pair of neighbours (corners
        and bridges carry exactly that weight).

    Raises
    ------
    geo.errors.GeometryError
        When a geometry is missing, empty or not a polygon.
    """
    if rule not in ("queen", "rook"):
        msg = f"unknown contiguity rule {rule!r}; expected 'queen' or 'rook'"
        raise ValidationError(msg, field="rule")
    geoms = _polygons(communes)
    n = geoms.size
    if n == 0:
        return scipy.sparse.csr_matrix((0, 0))
    tree = shapely.STRtree(geoms)
    if tolerance_m > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=float(tolerance_m))
    else:
        left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(geoms)
    other = boundaries[right] if tolerance_m <= 0 else shapely.buffer(boundaries[right], float(tolerance_m))
    shared = shapely.length(shapely.intersection(boundaries[left], other)) if left.size else np.zeros(0)
    if rule == "rook":
        keep = shared > 0
        left, right, shared = left[keep], right[keep], shared[keep]
    weight = np.maximum(shared, CONTACT_WEIGHT_M)
    if bridge_islands:
        left, right, weight = _bridge(geoms, left, right, weight)
    return _symmetric(n, left, right, weight)


def zone_pieces(adjacency: scipy.sparse.spmatrix, labels: np.ndarray) -> np.ndarray:
    """Connected piece of every commune inside its zone.

    Parameters
    ----------
    adjacency
        :func:`commune_adjacency`.
    labels
        Zone of every commune (any hashable values; communes with the same value form a
        zone).

    Returns
    -------
    numpy.ndarray
        int64 piece id per commune: two communes share a piece when they are in the same
        zone and linked by a chain of neighbours of that zone. A contiguous zone has one
        piece.
    """
    codes = pd.factorize(pd.Series(labels), use_na_sentinel=False)[0]
    coo = adjacency.tocoo()
    same = codes[coo.row] == codes[coo.col]
    n = codes.size
    graph = scipy.sparse.coo_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def zone_contacts(adjacency: scipy.sparse.csr_matrix, labels: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Contact weight (metres of border) between the communes ``inside`` and each label."""
    rows = adjacency[np.flatnonzero(inside)].tocoo()
    outside = ~inside[rows.col]
    target = labels[rows.col[outside]]
    ok = target >= 0
    return np.bincount(target[ok], weights=rows.data[outside][ok], minlength=int(labels.max(initial=-1)) + 1)


def connected(adjacency: scipy.sparse.csr_matrix, members: np.ndarray) -> bool:
    """True when ``members`` form one piece of the adjacency graph."""
    if members.size <= 1:
        return True
    return connected_components(adjacency[members][:, members], directed=False)[0] == 1


def adjacency_for(communes: gpd.GeoDataFrame, adjacency: scipy.sparse.spmatrix | None) -> scipy.sparse.csr_matrix:
    if adjacency is None:
        return commune_adjacency(communes)
    if adjacency.shape != (len(communes), len(communes)):
        msg = f"adjacency is {adjacency.shape}, expected {(len(communes), len(communes))}"
        raise ValidationError(msg, field="adjacency")
    return scipy.sparse.csr_matrix(adjacency)


def _polygons(communes: gpd.GeoDataFrame) -> np.ndarray:
    geoms = communes.geometry.to_numpy()
    bad = np.flatnonzero(
        shapely.is_missing(geoms) | shapely.is_empty(geoms) | ~np.isin(shapely.get_type_id(geoms), [3, 6])
    )
    if bad.size:
        msg = "commune geometry must be a non-empty (Multi)Polygon"
        raise GeometryError(msg, row=int(bad[0]) + 1, field="geometry")
    return geoms


def _symmetric(n: int, left: np.ndarray, right: np.ndarray, weight: np.ndarray) -> scipy.sparse.csr_matrix:
    rows = np.concatenate((left, right))
    cols = np.concatenate((right, left))
    data = np.concatenate((weight, weight))
    matrix = scipy.sparse.coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    return matrix


def _bridge(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add one link from every component to the nearest commune outside it, until connected."""
    n = geoms.size
    lefts, rights, weights = list(left), list(right), list(weight)
    for _ in range(n):
        graph = _symmetric(
            n, np.asarray(lefts, dtype=np.int64), np.asarray(rights, dtype=np.int64), np.asarray(weights)
        )
        n_components, component = connected_components(graph, directed=False)
        if n_components <= 1:
            break
        sizes = np.bincount(component)
        main = int(np.argmax(sizes))
        for comp in range(n_components):
            if comp == main:
                continue
            inside = np.flatnonzero(component == comp)
            outside = np.flatnonzero(component != comp)
            tree = shapely.STRtree(geoms[outside])
            (source, target), distance = tree.query_nearest(geoms[inside], return_distance=True, all_matches=False)
            best = np.lexsort((outside[target], inside[source], distance))[0]
            i, j = int(inside[source[best]]), int(outside[target[best]])
            lefts.append(min(i, j))
            rights.append(max(i, j))
            weights.append(CONTACT_WEIGHT_M)
    return (
        np.asarray(lefts, dtype=np.int64),
        np.asarray(rights, dtype=np.int64),
        np.asarray(weights, dtype=np.float64),
    )
