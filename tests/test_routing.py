"""Routing on RoadGraph: snapping, nearest facility, isochrones (networkx is the oracle)."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.ndimage
import shapely
from shapely.geometry import LineString, Point

from geo.errors import ValidationError
from geo.isochrones import _cells_polygon, isochrone_cell_m, isochrone_polygon, isochrone_polygons
from geo.network import RoadGraph
from geo.network.osm import graph_from_osm_file
from geo.routing import (
    isochrone_nodes,
    nearest_facility_times,
    node_times,
    snap_points,
)

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
CRS = "EPSG:2154"
SEED = 20240601


@pytest.fixture(scope="module", params=["drive", "walk"])
def andorra(request: pytest.FixtureRequest) -> RoadGraph:
    return graph_from_osm_file(ANDORRA, mode=request.param, crs=CRS)


@pytest.fixture(scope="module")
def andorra_reversed_nx(andorra: RoadGraph) -> nx.DiGraph:
    return andorra.reverse().to_networkx()


def graph_of(edges: list[tuple[int, int, float]], n: int) -> RoadGraph:
    """A drive graph on nodes 0..n-1 laid 100 m apart on the x axis."""
    src, dst, seconds = zip(*edges, strict=True) if edges else ((), (), ())
    return RoadGraph(
        node_id=np.arange(n),
        x=np.arange(n, dtype=float) * 100.0,
        y=np.zeros(n),
        src=np.array(src, dtype=np.int32),
        dst=np.array(dst, dtype=np.int32),
        seconds=np.array(seconds, dtype=float),
        crs=CRS,
        mode="drive",
    )


def as_array(lengths: dict[int, float], n: int) -> np.ndarray:
    array = np.full(n, np.inf)
    array[list(lengths)] = list(lengths.values())
    return array


# --------------------------------------------------- oracle on the real graph
@pytest.mark.parametrize("contract", [True, False])
def test_nearest_facility_times_match_networkx(
    andorra: RoadGraph, andorra_reversed_nx: nx.DiGraph, contract: bool
) -> None:
    rng = np.random.default_rng(SEED)
    facilities = rng.choice(andorra.n_nodes, size=20, replace=False)
    seconds, nearest = nearest_facility_times(andorra, facilities, contract=contract)

    oracle = as_array(
        nx.multi_source_dijkstra_path_length(andorra_reversed_nx, set(facilities.tolist()), weight="seconds"),
        andorra.n_nodes,
    )
    np.testing.assert_allclose(seconds, oracle, rtol=1e-6, atol=0)
    assert np.all(nearest >= 0)
    # The facility reported is one reached in that time.
    to_each = np.column_stack([node_times(andorra, int(node), None, "to") for node in facilities])
    np.testing.assert_allclose(to_each[np.arange(andorra.n_nodes), nearest], seconds, rtol=1e-9)
    assert np.all(seconds[facilities] == 0.0)
    assert np.all(nearest[facilities] == np.arange(20))


@pytest.mark.parametrize("contract", [True, False])
def test_nearest_facility_times_with_limit(andorra: RoadGraph, contract: bool) -> None:
    rng = np.random.default_rng(SEED + 1)
    facilities = rng.choice(andorra.n_nodes, size=5, replace=False)
    full, full_nearest = nearest_facility_times(andorra, facilities, contract=contract)
    limit = float(np.median(full))
    seconds, nearest = nearest_facility_times(andorra, facilities, limit_s=limit, contract=contract)
    inside = full <= limit
    np.testing.assert_array_equal(seconds[inside], full[inside])
    np.testing.assert_array_equal(nearest[inside], full_nearest[inside])
    assert np.all(np.isinf(seconds[~inside]))
    assert np.all(nearest[~inside] == -1)


def test_node_times_from_and_to_match_networkx(andorra: RoadGraph, andorra_reversed_nx: nx.DiGraph) -> None:
    origin = int(np.random.default_rng(SEED + 2).integers(andorra.n_nodes))
    forward = andorra_reversed_nx.reverse(copy=False)
    oracle = as_array(nx.single_source_dijkstra_path_length(forward, origin, weight="seconds"), andorra.n_nodes)
    np.testing.assert_allclose(node_times(andorra, origin, None, "from"), oracle, rtol=1e-9)
    oracle_to = as_array(
        nx.single_source_dijkstra_path_length(andorra_reversed_nx, origin, weight="seconds"),
        andorra.n_nodes,
    )
    np.testing.assert_allclose(node_times(andorra, origin, None, "to"), oracle_to, rtol=1e-9)


def test_isochrone_nodes_match_networkx(andorra: RoadGraph, andorra_reversed_nx: nx.DiGraph) -> None:
    origin = int(np.random.default_rng(SEED + 3).integers(andorra.n_nodes))
    forward = andorra_reversed_nx.reverse(copy=False)
    oracle = nx.single_source_dijkstra_path_length(forward, origin, cutoff=600.0, weight="seconds")
    reached = isochrone_nodes(andorra, origin, 600.0)
    assert reached.tolist() == sorted(oracle)
    assert 1 < reached.size < andorra.n_nodes


@pytest.mark.parametrize("method", ["grid", "concave", "convex", "edges"])
def test_isochrone_polygon_covers_reached_nodes(andorra: RoadGraph, method: str) -> None:
    origin = int(np.random.default_rng(SEED + 4).integers(andorra.n_nodes))
    reached = isochrone_nodes(andorra, origin, 600.0)
    polygon = isochrone_polygon(andorra, origin, 600.0, method=method)
    assert isinstance(polygon, shapely.Polygon | shapely.MultiPolygon)
    assert polygon.is_valid
    covered = shapely.intersects_xy(polygon.buffer(1e-6), andorra.x[reached], andorra.y[reached])
    assert covered.all()
    convex = isochrone_polygon(andorra, origin, 600.0, method="convex")
    if method == "grid":
        # Cells reach a little beyond the reached roads, never far beyond their hull.
        cell = isochrone_cell_m(np.ptp(andorra.x[reached]), np.ptp(andorra.y[reached]))
        assert isinstance(polygon, shapely.Polygon)
        assert polygon.difference(convex.buffer(2 * cell)).area == 0.0
    else:
        assert polygon.area <= convex.area * (1 + 1e-9) or method == "edges"


def test_grid_isochrone_is_the_default_and_covers_every_limit(andorra: RoadGraph) -> None:
    origin = int(np.random.default_rng(SEED + 5).integers(andorra.n_nodes))
    for limit, fill_m in itertools.product((60.0, 300.0, 900.0), (0.0, 500.0, 2000.0)):
        polygon = isochrone_polygon(andorra, origin, limit, fill_m=fill_m)
        explicit = isochrone_polygon(andorra, origin, limit, method="grid", fill_m=fill_m)
        assert polygon.equals(explicit)
        assert isinstance(polygon, shapely.Polygon)
        assert polygon.is_valid
        reached = isochrone_nodes(andorra, origin, limit)
        inside = shapely.intersects_xy(polygon.buffer(1e-6), andorra.x[reached], andorra.y[reached])
        assert inside.all()
    # A wider closing fills more; an explicit cell gives vertices on that grid.
    narrow = isochrone_polygon(andorra, origin, 900.0, fill_m=0.0, cell_m=80.0)
    wide = isochrone_polygon(andorra, origin, 900.0, fill_m=1000.0, cell_m=80.0)
    assert narrow.difference(wide).area == 0.0
    assert wide.area > narrow.area
    coords = shapely.get_coordinates(wide) / 80.0
    np.testing.assert_allclose(coords, np.round(coords), atol=1e-6)


def test_isochrone_polygons_nest_and_match_single_calls(andorra: RoadGraph) -> None:
    origin = int(np.random.default_rng(SEED + 7).integers(andorra.n_nodes))
    limits = [900.0, 300.0, 600.0]  # any order; results follow it
    polygons = dict(zip(limits, isochrone_polygons(andorra, origin, limits), strict=True))
    for smaller, larger in ((300.0, 600.0), (600.0, 900.0)):
        assert polygons[smaller].difference(polygons[larger]).area == 0.0
        assert polygons[smaller].area < polygons[larger].area
    # The default cell comes from the largest isochrone: it alone matches its single call.
    assert polygons[900.0].equals(isochrone_polygon(andorra, origin, 900.0))
    fixed = isochrone_polygons(andorra, origin, limits, cell_m=90.0, fill_m=300.0)
    for limit, polygon in zip(limits, fixed, strict=True):
        assert polygon.equals(isochrone_polygon(andorra, origin, limit, cell_m=90.0, fill_m=300.0))
    for method in ("concave", "convex"):
        hulls = isochrone_polygons(andorra, origin, limits, method=method)
        for limit, hull in zip(limits, hulls, strict=True):
            assert hull.equals(isochrone_polygon(andorra, origin, limit, method=method))
    assert isochrone_polygons(andorra, origin, []) == []


def test_isochrone_to_a_node_uses_the_reversed_graph(andorra: RoadGraph, andorra_reversed_nx: nx.DiGraph) -> None:
    origin = int(np.random.default_rng(SEED + 8).integers(andorra.n_nodes))
    oracle = nx.single_source_dijkstra_path_length(andorra_reversed_nx, origin, cutoff=600.0, weight="seconds")
    reached = isochrone_nodes(andorra, origin, 600.0, direction="to")
    assert reached.tolist() == sorted(oracle)
    polygon = isochrone_polygon(andorra, origin, 600.0, direction="to")
    assert isinstance(polygon, shapely.Polygon)
    assert polygon.is_valid
    inside = shapely.intersects_xy(polygon.buffer(1e-6), andorra.x[reached], andorra.y[reached])
    assert inside.all()
    smaller, same = isochrone_polygons(andorra, origin, [300.0, 600.0], direction="to")
    assert same.equals(polygon)
    assert smaller.difference(same).area == 0.0


def test_isochrone_direction_on_a_one_way_street() -> None:
    graph = graph_of([(0, 1, 10.0), (1, 2, 10.0)], n=3)  # 0 -> 1 -> 2, 100 m apart
    assert isochrone_nodes(graph, 1, 15.0).tolist() == [1, 2]
    assert isochrone_nodes(graph, 1, 15.0, direction="from").tolist() == [1, 2]
    assert isochrone_nodes(graph, 1, 15.0, direction="to").tolist() == [0, 1]
    downstream = isochrone_polygon(graph, 1, 15.0)
    upstream = isochrone_polygon(graph, 1, 15.0, direction="to")
    assert downstream.covers(LineString([(100, 0), (200, 0)]))
    assert not downstream.intersects(Point(25, 25))
    assert upstream.covers(LineString([(0, 0), (100, 0)]))
    assert not upstream.intersects(Point(175, 25))


def test_isochrone_without_limit_leaves_out_unreachable_nodes() -> None:
    graph = graph_of([(0, 1, 1.0), (1, 0, 1.0)], n=3)  # node 2 (x = 200 m) is cut off
    assert isochrone_nodes(graph, 0, np.inf).tolist() == [0, 1]
    for method in ("grid", "concave", "convex", "edges"):
        (polygon,) = isochrone_polygons(graph, 0, [np.inf], method=method, buffer_m=10.0)
        assert polygon.intersects(Point(100, 0))
        assert not polygon.intersects(Point(200, 0))


def test_isochrone_polygon_of_a_lone_node_is_a_buffer() -> None:
    graph = graph_of([(0, 1, 60.0), (1, 0, 60.0)], n=2)
    polygon = isochrone_polygon(graph, 0, 10.0, method="concave", buffer_m=25.0)
    assert isinstance(polygon, shapely.Polygon)
    assert polygon.contains(Point(0, 0))
    assert polygon.area == pytest.approx(np.pi * 25.0**2, rel=0.01)
    segment = isochrone_polygon(graph, 0, 60.0, method="concave", buffer_m=10.0)
    assert segment.contains(LineString([(0, 0), (100, 0)]))


def test_grid_isochrone_of_a_lone_node_is_its_cell() -> None:
    graph = graph_of([(0, 1, 60.0), (1, 0, 60.0)], n=2)
    polygon = isochrone_polygon(graph, 0, 10.0)  # default cell: the smallest, 50 m
    assert polygon.equals(shapely.box(0.0, 0.0, 50.0, 50.0))
    segment = isochrone_polygon(graph, 0, 60.0, cell_m=30.0)
    assert segment.equals(shapely.box(0.0, 0.0, 120.0, 30.0))


@pytest.mark.parametrize("seed", range(5))
def test_cell_outline_is_exact_and_valid(seed: int) -> None:
    # Random masks: islands, holes, islands in holes, cells touching at a corner only.
    rng = np.random.default_rng(SEED + 100 + seed)
    for _ in range(60):
        height, width = rng.integers(3, 16, size=2)
        cells = np.zeros((height, width), dtype=bool)
        cells[1:-1, 1:-1] = rng.random((height - 2, width - 2)) < rng.uniform(0.2, 0.8)
        if not cells.any():
            continue
        col0, row0, cell = int(rng.integers(-9, 9)), int(rng.integers(-9, 9)), 37.5
        polygon = _cells_polygon(cells, col0, row0, cell)
        row, col = np.nonzero(cells)
        x, y = (col0 + col) * cell, (row0 + row) * cell
        boxes = shapely.box(x, y, x + cell, y + cell)
        assert polygon.is_valid, shapely.is_valid_reason(polygon)
        assert polygon.area == pytest.approx(cells.sum() * cell**2)
        assert polygon.symmetric_difference(shapely.union_all(boxes)).area == pytest.approx(0.0)
        if scipy.ndimage.label(cells)[1] == 1:  # one 4-connected piece: no labelling needed
            assert _cells_polygon(cells, col0, row0, cell, connected=True).equals(polygon)


def test_isochrone_input_errors() -> None:
    graph = graph_of([(0, 1, 1.0)], n=2)
    with pytest.raises(ValidationError, match="direction"):
        isochrone_nodes(graph, 0, 10.0, direction="back")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="direction"):
        isochrone_polygons(graph, 0, [10.0], direction="both")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="cell_m"):
        isochrone_polygon(graph, 0, 10.0, cell_m=0.0)
    with pytest.raises(ValidationError, match="fill_m"):
        isochrone_polygon(graph, 0, 10.0, fill_m=-1.0)
    with pytest.raises(ValidationError, match="time limit"):
        isochrone_polygons(graph, 0, [10.0, None])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="limit_s"):
        isochrone_polygons(graph, 0, [-5.0])
    with pytest.raises(ValidationError, match="too large"):
        isochrone_polygon(graph, 0, 10.0, cell_m=0.01)
    with pytest.raises(ValidationError, match="method"):
        isochrone_polygons(graph, 0, [10.0], method="star")  # type: ignore[arg-type]


def test_contraction_agrees_on_many_andorra_facilities(andorra: RoadGraph) -> None:
    # 500 facilities: many chains hold several of them.
    facilities = np.random.default_rng(SEED + 6).integers(andorra.n_nodes, size=500)
    contracted = nearest_facility_times(andorra, facilities)
    plain = nearest_facility_times(andorra, facilities, contract=False)
    np.testing.assert_allclose(contracted[0], plain[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(contracted[1], plain[1])


def random_chained_graph(rng: np.random.Generator, n_junctions: int) -> RoadGraph:
    """Random junctions joined by chains of 0-5 shape nodes, some one-way, with unequal
    times each way, exact ties (1 s and 2 s edges), a ring of chain nodes, a self-loop
    and a duplicate edge."""
    n = n_junctions
    src: list[int] = []
    dst: list[int] = []
    seconds: list[float] = []
    for _ in range(int(n_junctions * 1.5)):
        a, b = (int(v) for v in rng.integers(n_junctions, size=2))
        k = int(rng.integers(0, 6))
        path = [a, *range(n, n + k), b]
        n += k
        one_way = rng.random() < 0.3
        for u, v in itertools.pairwise(path):
            t = float(rng.choice([1.0, 2.0, rng.uniform(0.5, 10.0)]))
            src.append(u)
            dst.append(v)
            seconds.append(t)
            if not one_way:
                src.append(v)
                dst.append(u)
                seconds.append(t if rng.random() < 0.7 else 1.5 * t)
    ring = list(range(n, n + 4))
    n += 4
    for u, v in zip(ring, ring[1:] + ring[:1], strict=True):
        src.append(u)
        dst.append(v)
        seconds.append(1.0)
    src += [0, src[0]]
    dst += [0, dst[0]]
    seconds += [3.0, seconds[0] / 2]
    return RoadGraph(
        node_id=np.arange(n),
        x=rng.random(n),
        y=rng.random(n),
        src=src,
        dst=dst,
        seconds=seconds,
        crs=CRS,
        mode="drive",
    )


@pytest.mark.parametrize("seed", range(40))
def test_random_chained_graphs_match_networkx(seed: int) -> None:
    rng = np.random.default_rng(seed)
    graph = random_chained_graph(rng, int(rng.integers(2, 40)))
    facilities = rng.integers(graph.n_nodes, size=int(rng.integers(1, 40)))
    limit = None if seed % 2 else float(rng.uniform(1.0, 30.0))
    lengths = nx.multi_source_dijkstra_path_length(
        graph.reverse().to_networkx(), set(facilities.tolist()), cutoff=limit, weight="seconds"
    )
    oracle = as_array(lengths, graph.n_nodes)
    contracted = nearest_facility_times(graph, facilities, limit_s=limit)
    plain = nearest_facility_times(graph, facilities, limit_s=limit, contract=False)
    for seconds, nearest in (contracted, plain):
        np.testing.assert_allclose(seconds, oracle, rtol=1e-9, atol=1e-9)
        assert np.array_equal(nearest >= 0, np.isfinite(oracle))
    np.testing.assert_array_equal(contracted[1], plain[1])
    reached = np.flatnonzero(contracted[1] >= 0)
    to_each = np.column_stack([node_times(graph, int(node), None, "to") for node in facilities])
    np.testing.assert_allclose(to_each[reached, contracted[1][reached]], contracted[0][reached], rtol=1e-9, atol=1e-9)


def test_chain_index_of_a_two_way_street() -> None:
    # 0 <-> 1 <-> 2 <-> 3 plus a spur 1 <-> 4: nodes 2 is a chain node, the rest junctions.
    edges = [(0, 1, 1.0), (1, 0, 1.0), (1, 2, 2.0), (2, 1, 2.0), (2, 3, 3.0), (3, 2, 3.0)]
    edges += [(1, 4, 5.0), (4, 1, 5.0)]
    chains = graph_of(edges, n=5).to_chain_index()
    assert chains.is_junction.tolist() == [True, True, False, True, True]
    assert chains.n_junctions == 4
    junction = chains.junction_index
    assert chains.reverse_csr[junction[3], junction[1]] == 5.0  # chain 1 -> 2 -> 3
    assert chains.reverse_csr[junction[1], junction[3]] == 5.0


@pytest.mark.parametrize("contract", [True, False])
def test_facilities_inside_a_chain(contract: bool) -> None:
    # A two-way street 0 - 1 - 2 - 3 - 4 of 1 s edges: nodes 1, 2, 3 are chain nodes.
    edges = [(i, i + 1, 1.0) for i in range(4)] + [(i + 1, i, 1.0) for i in range(4)]
    graph = graph_of(edges, n=5)
    seconds, nearest = nearest_facility_times(graph, np.array([2]), contract=contract)
    assert seconds.tolist() == pytest.approx([2.0, 1.0, 0.0, 1.0, 2.0], abs=1e-12)
    seconds, nearest = nearest_facility_times(graph, np.array([3, 1]), contract=contract)
    assert seconds.tolist() == pytest.approx([1.0, 0.0, 1.0, 0.0, 1.0], abs=1e-12)
    assert nearest.tolist() == [1, 1, 0, 0, 0]  # node 2 is a tie: the first listed wins


def test_ring_of_chain_nodes_is_routed() -> None:
    # A one-way ring: every node looks like a chain node; some must become junctions.
    graph = graph_of([(0, 1, 1.0), (1, 2, 1.0), (2, 3, 1.0), (3, 0, 1.0)], n=4)
    assert graph.to_chain_index().is_junction.any()
    seconds, nearest = nearest_facility_times(graph, np.array([0]))
    assert seconds.tolist() == [0.0, 3.0, 2.0, 1.0]
    assert nearest.tolist() == [0, 0, 0, 0]


# ------------------------------------------------------- hand-built graphs
def test_one_way_street_is_only_travelled_forward() -> None:
    # A(0) -> B(1) only: from B, facility A is unreachable.
    seconds, nearest = nearest_facility_times(graph_of([(0, 1, 10.0)], n=2), np.array([0]))
    assert seconds.tolist() == [0.0, np.inf]
    assert nearest.tolist() == [0, -1]
    # Add the long way back B -> C -> A.
    graph = graph_of([(0, 1, 10.0), (1, 2, 100.0), (2, 0, 50.0)], n=3)
    seconds, nearest = nearest_facility_times(graph, np.array([0]))
    assert seconds.tolist() == [0.0, 150.0, 50.0]
    assert nearest.tolist() == [0, 0, 0]
    assert node_times(graph, 1, None, "from").tolist() == [150.0, 0.0, 100.0]


def test_unreachable_nodes_get_inf_and_minus_one() -> None:
    graph = graph_of([(0, 1, 5.0), (1, 0, 5.0)], n=4)
    seconds, nearest = nearest_facility_times(graph, np.array([1]))
    assert seconds.tolist() == [5.0, 0.0, np.inf, np.inf]
    assert nearest.tolist() == [0, 0, -1, -1]


@pytest.mark.parametrize(("order", "winner"), [([0, 2], 0), ([2, 0], 0)])
def test_equal_times_go_to_the_facility_listed_first(order: list[int], winner: int) -> None:
    # 0 <-> 1 <-> 2 with equal times: node 1 is 7 s from both ends.
    graph = graph_of([(0, 1, 7.0), (1, 0, 7.0), (1, 2, 7.0), (2, 1, 7.0)], n=3)
    seconds, nearest = nearest_facility_times(graph, np.array(order))
    assert seconds.tolist() == [0.0, 7.0, 0.0]
    assert nearest[1] == winner


def test_equal_times_along_long_paths_stay_stable() -> None:
    # From node 0, facility node 1000 is 1 000 edges of 0.1 s away and facility node 1500
    # is 500 edges of 0.2 s away: 100 s both, up to float rounding of the sums.
    left = [(i, i + 1, 0.1) for i in range(1000)]
    right = [(0, 1001, 0.2)] + [(i, i + 1, 0.2) for i in range(1001, 1500)]
    graph = graph_of(left + right, n=1501)
    for facilities in (np.array([1000, 1500]), np.array([1500, 1000])):
        seconds, nearest = nearest_facility_times(graph, facilities)
        assert nearest[0] == 0
        assert seconds[0] == pytest.approx(100.0, rel=1e-12)


def test_facilities_on_the_same_node_keep_the_first() -> None:
    graph = graph_of([(0, 1, 3.0), (1, 0, 3.0), (1, 2, 3.0), (2, 1, 3.0)], n=3)
    seconds, nearest = nearest_facility_times(graph, np.array([2, 1, 1, 2]))
    assert seconds.tolist() == [3.0, 0.0, 0.0]
    assert nearest.tolist() == [1, 1, 0]


@pytest.mark.parametrize("contract", [True, False])
def test_graph_without_edges(contract: bool) -> None:
    graph = graph_of([], n=3)
    seconds, nearest = nearest_facility_times(graph, np.array([1]), contract=contract)
    assert seconds.tolist() == [np.inf, 0.0, np.inf]
    assert nearest.tolist() == [-1, 0, -1]


def test_duplicate_edges_keep_the_fastest() -> None:
    graph = graph_of([(1, 0, 30.0), (1, 0, 12.0), (1, 0, 20.0)], n=2)
    seconds, _ = nearest_facility_times(graph, np.array([0]))
    assert seconds.tolist() == [0.0, 12.0]


def test_no_facility_leaves_everything_unreachable() -> None:
    seconds, nearest = nearest_facility_times(graph_of([(0, 1, 1.0)], n=2), np.array([], dtype=np.int64))
    assert np.isinf(seconds).all()
    assert (nearest == -1).all()


def test_routing_input_errors() -> None:
    graph = graph_of([(0, 1, 1.0)], n=2)
    with pytest.raises(ValidationError, match="node indices"):
        nearest_facility_times(graph, np.array([2]))
    with pytest.raises(ValidationError, match="integer"):
        nearest_facility_times(graph, np.array([0.5]))
    with pytest.raises(ValidationError, match="limit_s"):
        nearest_facility_times(graph, np.array([0]), limit_s=-1)
    with pytest.raises(ValidationError, match="node indices"):
        node_times(graph, 5, None, "from")
    with pytest.raises(ValidationError, match="method"):
        isochrone_polygon(graph, 0, 10.0, method="star")  # type: ignore[arg-type]


# ----------------------------------------------------------------- snapping
def test_snap_points_returns_nearest_node_and_distance() -> None:
    graph = graph_of([(0, 1, 1.0)], n=3)  # nodes at x = 0, 100, 200
    node, distance = snap_points(graph, np.array([10.0, 160.0, 500.0]), np.array([0.0, 0.0, 30.0]))
    assert node.tolist() == [0, 2, 2]
    np.testing.assert_allclose(distance, [10.0, 40.0, np.hypot(300.0, 30.0)])
    with pytest.raises(ValidationError, match="finite"):
        snap_points(graph, np.array([np.nan]), np.array([0.0]))


def test_snapped_andorra_facilities_route(andorra: RoadGraph) -> None:
    rng = np.random.default_rng(SEED + 5)
    x = rng.uniform(andorra.x.min(), andorra.x.max(), 50)
    y = rng.uniform(andorra.y.min(), andorra.y.max(), 50)
    node, distance = snap_points(andorra, x, y)
    brute = np.hypot(andorra.x[None, :] - x[:, None], andorra.y[None, :] - y[:, None]).min(axis=1)
    np.testing.assert_allclose(distance, brute)
    seconds, nearest = nearest_facility_times(andorra, node)
    assert np.isfinite(seconds).all()
    assert nearest.min() >= 0


def test_released_structures_are_built_again_with_the_same_results(andorra: RoadGraph) -> None:
    # atlas access drops the k-d tree, the reversed matrix and the chain index when it no
    # longer needs them (peak memory at Région scale): asked again, they give the same answers.
    rng = np.random.default_rng(SEED)
    facilities = rng.integers(andorra.n_nodes, size=12)
    x = rng.uniform(andorra.x.min(), andorra.x.max(), 50)
    y = rng.uniform(andorra.y.min(), andorra.y.max(), 50)
    before = (nearest_facility_times(andorra, facilities), snap_points(andorra, x, y))
    reverse = andorra.to_csr(reverse=True).copy()
    andorra.release("kdtree", "chains", "csr", "csr_reverse")
    assert not {"kdtree", "chains", "csr", "csr_reverse"} & set(andorra._cache)
    after = (nearest_facility_times(andorra, facilities), snap_points(andorra, x, y))
    for old, new in zip(itertools.chain(*before), itertools.chain(*after), strict=True):
        np.testing.assert_array_equal(old, new)
    assert (andorra.to_csr(reverse=True) != reverse).nnz == 0
    with pytest.raises(ValueError, match="unknown memoised structure"):
        andorra.release("kd-tree")
