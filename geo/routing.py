"""Shortest travel times on a :class:`~geo.network.graph.RoadGraph`: the one place for Dijkstra.

Snapping points to the graph (:func:`snap_points`), the nearest of many facilities from
every node (:func:`nearest_facility_times`), times from or to one node
(:func:`node_times`, :func:`isochrone_nodes`) and the bounded
origin x destination matrix (:func:`od_matrix`). Polygons drawn from these times are in
:mod:`geo.isochrones`; the commune x place table built on them, in :mod:`geo.traveltimes`.

This is the hot path of the accessibility engine. Every function runs scipy's compiled
Dijkstra (``scipy.sparse.csgraph.dijkstra``) on the graph's memoised CSR matrix and
post-processes with vectorised numpy: there is no Python loop over nodes. The
all-nodes query (:func:`nearest_facility_times`) runs Dijkstra on the junctions only
and derives the times of the degree-2 "shape" nodes from their chain ends (see
:class:`~geo.network.graph.ChainIndex`); ``benchmarks/README.md`` has the figures.

Times are in seconds, distances in metres, coordinates in the graph's projected CRS
(``graph.crs``). Unreachable nodes get ``inf`` seconds and facility index ``-1``.
Matrices follow the orientation of :mod:`geo.traveltimes`: one row per origin, one
column per destination.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, get_args

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from geo.errors import ValidationError
from geo.network.graph import RoadGraph

TIE_EPSILON_S = 1e-9
"""Tie-break resolution of :func:`nearest_facility_times`, in seconds per facility rank."""

Direction = Literal["from", "to"]
"""Isochrone direction: travel times from the node (``"from"``) or to it (``"to"``)."""


def snap_points(graph: RoadGraph, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snap points to their nearest graph node (straight line, k-d tree).

    Parameters
    ----------
    graph
        The road graph.
    x, y
        Point coordinates in metres in ``graph.crs``, same shape.

    Returns
    -------
    node_index : numpy.ndarray
        Index of the nearest node of each point, int64.
    snap_distance_m : numpy.ndarray
        Straight-line distance (metres) from each point to its node, float64.

    Raises
    ------
    geo.errors.ValidationError
        When the graph is empty, the shapes differ, or a coordinate is not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        msg = f"x and y differ in shape: {x.shape} and {y.shape}"
        raise ValidationError(msg)
    if graph.n_nodes == 0:
        msg = "cannot snap points to an empty graph"
        raise ValidationError(msg)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        msg = "point coordinates must be finite numbers (metres in the graph CRS)"
        raise ValidationError(msg)
    distance, index = graph.to_kdtree().query(np.column_stack((x.ravel(), y.ravel())), k=1)
    return index.astype(np.int64).reshape(x.shape), distance.reshape(x.shape)


def nearest_facility_times(
    graph: RoadGraph,
    facility_nodes: np.ndarray,
    *,
    limit_s: float | None = None,
    contract: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Travel time from every node to its nearest facility, in one Dijkstra run.

    The times *to* the facilities are the times *from* them on the reversed graph. A
    virtual source is linked to every facility node, and one ``dijkstra`` run from it on
    the reversed CSR gives all the times; the facility reached is the root of each
    node's shortest-path tree branch, found by pointer jumping on the predecessors
    (``O(n log depth)``, vectorised).

    Parameters
    ----------
    graph
        The road graph.
    facility_nodes
        Node index of each facility (e.g. from :func:`snap_points`), in the caller's
        facility order; several facilities may share a node.
    limit_s
        Stop at this travel time (seconds): nodes farther than it from every facility
        get ``inf`` and ``-1``. Smaller limits run faster.
    contract
        Run Dijkstra on the junction graph of :meth:`RoadGraph.to_chain_index` (default)
        and derive the times of chain nodes from their two chain ends; False runs it on
        every node. Both give the same answer; contraction is faster on OSM graphs,
        where most nodes only shape a road.

    Returns
    -------
    seconds_to_nearest : numpy.ndarray
        Travel time (s) from each node to its nearest facility, float64, shape
        ``(n_nodes,)``; ``inf`` when unreachable (or beyond ``limit_s``).
    nearest_facility_index : numpy.ndarray
        Position in ``facility_nodes`` of that facility, int64; ``-1`` when unreachable.

    Notes
    -----
    Tie-break (stable and documented): among facilities reachable in the same time,
    the one listed **first** in ``facility_nodes`` wins; in particular, of several
    facilities on the same node, the first listed is reported. It is implemented by
    giving the facility at position ``k`` of ``facility_nodes`` a head-start penalty of
    ``(k + 1) * TIE_EPSILON_S`` (1e-9 s), removed from the reported times afterwards.
    Times closer than that resolution count as equal, so a reported time may exceed the
    true minimum by at most ``len(facility_nodes) * 1e-9`` s.

    scipy's own multi-source mode (``min_only=True``) also returns the facility reached
    (``sources``), but its choice between equal times depends on heap internals, not on
    facility order. The virtual source costs the same (one Dijkstra run, plus a copy of
    the CSR arrays and ``log2(depth)`` vectorised passes: about 20 ms on 1M nodes).
    Contracted and plain runs give the same facilities and the same times up to float
    rounding (the chain sums are added in another order, ~1e-13 relative).
    """
    facilities = _node_indices(graph, facility_nodes, name="facility_nodes")
    limit = time_limit(limit_s)
    n = graph.n_nodes
    if facilities.size == 0 or n == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)

    nodes, first = np.unique(facilities, return_index=True)
    offsets = (first + 1) * TIE_EPSILON_S
    search_limit = limit + float(offsets.max()) if np.isfinite(limit) else np.inf
    if contract and graph.n_edges:
        penalised, facility = _nearest_on_junctions(graph, nodes, first, offsets, search_limit)
    else:
        penalised, roots = _nearest_from_virtual_source(graph.to_csr(reverse=True), nodes, offsets, search_limit)
        facility = np.full(n, -1, dtype=np.int64)
        reached = np.isfinite(penalised)
        facility[reached] = first[np.searchsorted(nodes, roots[reached])]
    # Remove the tie-break penalties, in place (the arrays are n_nodes long).
    np.subtract(penalised, (facility + 1) * TIE_EPSILON_S, out=penalised, where=facility >= 0)
    np.maximum(penalised, 0.0, out=penalised)
    beyond = penalised > limit
    penalised[beyond] = np.inf
    facility[beyond] = -1
    return penalised, facility


def _nearest_from_virtual_source(
    reverse_csr: scipy.sparse.csr_matrix,
    targets: np.ndarray,
    weights: np.ndarray,
    limit: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One Dijkstra from a virtual source joined to ``targets`` with ``weights``.

    Returns
    -------
    dist : numpy.ndarray
        Seconds from the virtual source (penalties included), ``inf`` beyond ``limit``.
    roots : numpy.ndarray
        Target each node was reached through (its own index when unreached).
    """
    n = reverse_csr.shape[0]
    augmented = _with_virtual_source(reverse_csr, targets, weights)
    dist, pred = dijkstra(augmented, directed=True, indices=n, return_predecessors=True, limit=limit)
    return dist[:n], _tree_roots(pred[:n], virtual_source=n)


def _nearest_on_junctions(
    graph: RoadGraph,
    nodes: np.ndarray,
    first: np.ndarray,
    offsets: np.ndarray,
    limit: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest facility of every node, with Dijkstra on the junction graph only.

    A facility on a junction is a virtual-source edge to it. For a facility on a chain
    node, the chain edges upstream of it (up to the previous facility or the chain
    start) reach it in ``chain_seconds[e] - chain_seconds[h] + seconds[h]``, ``h`` being
    the edge entering the facility: the chain nodes get that as a candidate, and the
    junction starting the chain a virtual-source edge. Chain nodes then take the best of
    that and of their chain end(s): ``chain_seconds`` + the end junction's time.

    Returns
    -------
    penalised : numpy.ndarray
        Seconds to the nearest facility plus its tie-break penalty, ``inf`` if none.
    facility : numpy.ndarray
        Position in the caller's facility list (``first``), ``-1`` if unreachable.
    """
    chains = graph.to_chain_index()
    csr = graph.to_csr()
    indptr, head, seconds = csr.indptr, csr.indices, csr.data
    n = graph.n_nodes

    on_junction = chains.is_junction[nodes]
    source_junction = [chains.junction_index[nodes[on_junction]].astype(np.int64)]
    source_value = [offsets[on_junction]]
    source_facility = [first[on_junction]]
    candidate_node = [nodes[~on_junction]]
    candidate_value = [offsets[~on_junction]]
    candidate_facility = [first[~on_junction]]

    # Chains through facilities on chain nodes: those of the facilities' out-edges.
    inner_facilities = nodes[~on_junction]
    if inner_facilities.size:
        out_first = indptr[inner_facilities]
        two_way = indptr[inner_facilities + 1] - out_first == 2
        through = np.concatenate((out_first, out_first[two_way] + 1))
        affected = np.zeros(head.shape[0], dtype=bool)
        affected[chains.chain_last[through]] = True
        edge = np.flatnonzero(affected[chains.chain_last])
        chain = chains.chain_last[edge]
        remaining = chains.chain_seconds[edge]
        # Order each chain from its start (most remaining time) to its end.
        order = np.lexsort((-remaining, chain))
        edge, chain, remaining = edge[order], chain[order], remaining[order]
        # Slot (in ``nodes``) of the facility at the head of each edge, -1 if none.
        position = np.searchsorted(nodes, head[edge])
        position[position == nodes.size] = 0
        slot = np.where(nodes[position] == head[edge], position, -1)
        del position
        # For each edge, the first edge at or after it (same chain) entering a facility.
        position = np.where(slot >= 0, np.arange(edge.size), edge.size)
        hit = np.minimum.accumulate(position[::-1])[::-1]
        found = np.flatnonzero(hit < edge.size)
        found = found[chain[hit[found]] == chain[found]]
        hit = hit[found]
        value = remaining[found] - remaining[hit] + seconds[edge[hit]] + offsets[slot[hit]]
        facility = first[slot[hit]]
        tail = np.searchsorted(indptr, edge[found], side="right") - 1
        at_junction = chains.is_junction[tail]
        source_junction.append(chains.junction_index[tail[at_junction]].astype(np.int64))
        source_value.append(value[at_junction])
        source_facility.append(facility[at_junction])
        candidate_node.append(tail[~at_junction])
        candidate_value.append(value[~at_junction])
        candidate_facility.append(facility[~at_junction])

    # Dijkstra on the junction graph from the best virtual-source edge of each junction.
    junction, junction_value, junction_facility = _best_per_key(
        np.concatenate(source_junction),
        np.concatenate(source_value),
        np.concatenate(source_facility),
    )
    n_junctions = chains.n_junctions
    dist, roots = _nearest_from_virtual_source(chains.reverse_csr, junction, junction_value, limit)
    source_of = np.full(n_junctions, -1, dtype=np.int64)
    source_of[junction] = junction_facility
    facility_of = np.where(np.isfinite(dist), source_of[roots], -1)

    penalised = np.full(n, np.inf)
    nearest = np.full(n, -1, dtype=np.int64)
    penalised[chains.junctions] = dist
    nearest[chains.junctions] = facility_of

    # Chain nodes through the end of each of their (one or two) chain directions. Done
    # for all nodes with masks, not index arrays, to keep the peak memory low.
    inner = ~chains.is_junction
    out_degree = np.diff(indptr)
    out_edge = np.minimum(indptr[:-1], max(head.shape[0] - 1, 0))
    for direction in (0, 1):
        if direction:
            inner &= out_degree == 2
            out_edge += 1
            out_edge[~inner] = 0
        end = chains.chain_end[out_edge]
        value = chains.chain_seconds[out_edge] + dist[end]
        facility_end = facility_of[end]
        del end
        better = inner & (value < penalised)
        better |= inner & (value == penalised) & np.isfinite(value) & (facility_end < nearest)
        np.copyto(penalised, value, where=better)
        np.copyto(nearest, facility_end, where=better)
        del value, facility_end, better

    # Chain nodes straight to a facility on their own chain.
    node_key, node_value, node_facility = _best_per_key(
        np.concatenate(candidate_node),
        np.concatenate(candidate_value),
        np.concatenate(candidate_facility),
    )
    _keep_better(penalised, nearest, node_key, node_value, node_facility)
    return penalised, nearest


def _best_per_key(
    key: np.ndarray, value: np.ndarray, facility: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smallest value per key (ties: lowest facility), keys ascending."""
    order = np.lexsort((facility, value, key))
    key, value, facility = key[order], value[order], facility[order]
    first = np.concatenate(([True], key[1:] != key[:-1])) if key.size else np.zeros(0, bool)
    return key[first], value[first], facility[first]


def _keep_better(
    penalised: np.ndarray,
    nearest: np.ndarray,
    nodes: np.ndarray,
    value: np.ndarray,
    facility: np.ndarray,
) -> None:
    """Replace the (value, facility) of ``nodes`` where the candidate is better (in place)."""
    current = penalised[nodes]
    better = (value < current) | ((value == current) & np.isfinite(value) & (facility < nearest[nodes]))
    penalised[nodes[better]] = value[better]
    nearest[nodes[better]] = facility[better]


def isochrone_nodes(graph: RoadGraph, node: int, limit_s: float, *, direction: Direction = "from") -> np.ndarray:
    """Return the nodes within ``limit_s`` seconds of ``node``.

    Parameters
    ----------
    graph
        The road graph.
    node
        Origin (``direction="from"``) or destination (``direction="to"``) node index.
    limit_s
        Travel-time budget in seconds.
    direction
        ``"from"`` (default): nodes reachable *from* ``node`` (Dijkstra on the graph).
        ``"to"``: nodes *from which* ``node`` is reachable, i.e. who can reach it within
        ``limit_s`` (Dijkstra on the reversed graph, ``graph.to_csr(reverse=True)``).
        Both agree on two-way roads; one-way streets make them differ.

    Returns
    -------
    numpy.ndarray
        Node indices, ascending, int64; ``node`` itself included.
    """
    if limit_s is None:
        msg = "an isochrone needs a time limit (seconds)"
        raise ValidationError(msg, field="limit_s")
    limit = time_limit(limit_s)
    return nodes_within(node_times(graph, node, limit, direction), limit).astype(np.int64)


def nodes_within(times: np.ndarray, limit: float) -> np.ndarray:
    """Indices of the finite ``times`` (seconds) up to ``limit`` (which may be ``inf``)."""
    if np.isfinite(limit):
        return np.flatnonzero(times <= limit)
    return np.flatnonzero(np.isfinite(times))


def node_times(graph: RoadGraph, node: int, limit_s: float | None, direction: Direction) -> np.ndarray:
    """Seconds from (``"from"``) or to (``"to"``) ``node`` for every node, ``inf`` beyond ``limit_s``."""
    if direction not in get_args(Direction):
        msg = f"unknown isochrone direction {direction!r}; expected 'from' or 'to'"
        raise ValidationError(msg, field="direction")
    return _single_source(graph, node, limit_s=limit_s, reverse=direction == "to")


def od_matrix(
    graph: RoadGraph,
    origin_nodes: np.ndarray,
    destination_nodes: np.ndarray,
    *,
    limit_s: float,
    batch_size: int = 2,
) -> np.ndarray:
    """Network time (seconds) from each origin node to each destination node, bounded.

    Runs one bounded Dijkstra per batch of destinations on the reversed graph (times *to*
    a destination are times *from* it on the reversed graph), so one-way streets count in
    the direction of travel: from the origin to the destination.

    Parameters
    ----------
    graph
        The road graph.
    origin_nodes, destination_nodes
        Node indices (int) of the origins (rows) and of the destinations (columns).
    limit_s
        Pairs farther than this are ``inf``.
    batch_size
        Destinations per Dijkstra call (memory: ``batch_size x n_nodes`` float64).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(len(origin_nodes), len(destination_nodes))``: entry ``[i, j]``
        is the time from origin ``i`` to destination ``j``.
    """
    if batch_size < 1:
        msg = f"batch_size must be at least 1, got {batch_size}"
        raise ValidationError(msg, field="batch_size")
    origin_nodes = np.asarray(origin_nodes, dtype=np.int64)
    destination_nodes = np.asarray(destination_nodes, dtype=np.int64)
    matrix = np.full((origin_nodes.size, destination_nodes.size), np.inf)
    if origin_nodes.size == 0 or destination_nodes.size == 0 or graph.n_nodes == 0:
        return matrix
    unique_nodes, inverse = np.unique(destination_nodes, return_inverse=True)
    reverse = graph.to_csr(reverse=True)
    for start, stop in _batches(unique_nodes.size, batch_size):
        times = dijkstra(reverse, directed=True, indices=unique_nodes[start:stop], limit=limit_s)
        times = np.atleast_2d(times)[:, origin_nodes]
        for offset in range(stop - start):
            matrix[:, inverse == start + offset] = times[offset][:, np.newaxis]
    return matrix


def _batches(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)


# ----------------------------------------------------------------- helpers
def _single_source(graph: RoadGraph, node: int, *, limit_s: float | None, reverse: bool) -> np.ndarray:
    (origin,) = _node_indices(graph, np.array([node]), name="node")
    times: np.ndarray = dijkstra(
        graph.to_csr(reverse=reverse), directed=True, indices=int(origin), limit=time_limit(limit_s)
    )
    return times


def time_limit(limit_s: float | None) -> float:
    """A Dijkstra bound in seconds: ``inf`` for None, an error naming ``limit_s`` if negative."""
    if limit_s is None:
        return np.inf
    limit = float(limit_s)
    if not limit >= 0.0:
        msg = f"limit_s must be a non-negative number of seconds, got {limit_s}"
        raise ValidationError(msg, field="limit_s")
    return limit


def _node_indices(graph: RoadGraph, nodes: np.ndarray, *, name: str) -> np.ndarray:
    array = np.asarray(nodes)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        msg = f"{name} must be integer node indices, got dtype {array.dtype}"
        raise ValidationError(msg, field=name)
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= graph.n_nodes):
        msg = f"{name} must be node indices in [0, {graph.n_nodes})"
        raise ValidationError(msg, field=name)
    return array


def _with_virtual_source(
    csr: scipy.sparse.csr_matrix, targets: np.ndarray, weights: np.ndarray
) -> scipy.sparse.csr_matrix:
    """Append one row (a virtual source, index ``n``) with edges to ``targets``."""
    n = csr.shape[0]
    indptr = np.empty(n + 2, dtype=csr.indptr.dtype)
    indptr[: n + 1] = csr.indptr
    indptr[n + 1] = csr.indptr[n] + targets.size
    indices = np.concatenate((csr.indices, targets.astype(csr.indices.dtype)))
    data = np.concatenate((csr.data, weights.astype(np.float64)))
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))


def _tree_roots(pred: np.ndarray, *, virtual_source: int) -> np.ndarray:
    """Root of each node's branch in a shortest-path tree grown from a virtual source.

    ``pred`` is scipy's predecessor array (``-9999`` when unreached). The roots are the
    nodes whose predecessor is the virtual source; unreached nodes are their own root.
    Pointer jumping halves every path at each step, so it needs ``log2(depth)`` passes.
    """
    root = pred.astype(np.int64)
    own = (root < 0) | (root == virtual_source)
    root[own] = np.flatnonzero(own)
    while True:
        jumped = root[root]
        if np.array_equal(jumped, root):
            return root
        root = jumped
