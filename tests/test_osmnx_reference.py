"""osmnx, the independent reference of the graph builder (geo.network.osm).

The real Andorra extract is converted to OSM XML keeping the ways osmnx's own
``"drive"`` / ``"walk"`` filter keeps (osmnx applies its filter in the Overpass query, not
in ``graph_from_xml``: the filter string of ``osmnx._overpass._get_network_filter`` is
evaluated here with Overpass's semantics), and osmnx builds the graph
(``graph_from_xml``, unsimplified, walk bidirectional as osmnx does). Then:

* fed osmnx's filter, our builder gives exactly osmnx's largest strongly connected
  component: same nodes, same directed edges, path lengths within
  ``PROJECTION_TOLERANCE`` (osmnx measures great circles on a sphere, we measure in a
  projected CRS);
* under our own rules (geo.network.speeds), path lengths stay within the stated
  tolerances of osmnx's, and every difference comes from a documented convention
  (README, « Réseau routier : conventions »).

Distances are compared, not times: both graphs are weighted by length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from geo.network.graph import RoadGraph
from geo.network.osm import graph_from_osm_file

ox = pytest.importorskip("osmnx")
from osmnx import _overpass  # noqa: E402  (after the importorskip)

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
CRS = "EPSG:25831"  # ETRS89 / UTM 31N, the projected CRS covering Andorra
PROJECTION_TOLERANCE = 0.003
"""Largest relative difference of a path length between osmnx (great circles on a 6,371 km
sphere) and us (straight segments in UTM 31N) on the same edges: 0.25 % measured."""
N_SOURCES = 100
MODES = ("drive", "walk")

_CLAUSE = re.compile(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]')


def osmnx_filter(network_type: str) -> Callable[[Mapping[str, str]], bool]:
    """osmnx's way filter for ``network_type``, evaluated as Overpass does.

    ``["k"]``: the key is present; ``["k"~"re"]``: present and matching; ``["k"!~"re"]``:
    absent or not matching (unanchored, case-sensitive regular expressions).
    """
    text = _overpass._get_network_filter(network_type)
    clauses = [(key, op, re.compile(pattern)) for key, op, pattern in _CLAUSE.findall(text)]
    rebuilt = "".join(f'["{k}"' + (f'{op}"{p.pattern}"' if op else "") + "]" for k, op, p in clauses)
    assert rebuilt == text, f"osmnx's filter changed form: {text}"

    def keep(tags: Mapping[str, str]) -> bool:
        for key, op, pattern in clauses:
            value = tags.get(key)
            if not op and value is None:
                return False
            if op == "!~" and value is not None and pattern.search(value):
                return False
            if op == "~" and (value is None or not pattern.search(value)):
                return False
        return True

    return keep


def filtered_xml(source: Path, target: Path, keep: Callable[[Mapping[str, str]], bool]) -> Path:
    """Write the ``highway`` ways kept by ``keep`` and their nodes to an ``.osm`` file."""
    ways: set[int] = set()
    refs: set[int] = set()
    for way in osmium.FileProcessor(str(source), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway")):
        if keep({tag.k: tag.v for tag in way.tags}):
            ways.add(way.id)
            refs.update(node.ref for node in way.nodes)
    with osmium.SimpleWriter(str(target)) as writer:
        for item in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
            if isinstance(item, osmium.osm.Node) and item.id in refs:
                writer.add_node(item)
            elif isinstance(item, osmium.osm.Way) and item.id in ways:
                writer.add_way(item)
    return target


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, nx.MultiDiGraph]:
    """osmnx's largest strongly connected component of each mode."""
    folder = tmp_path_factory.mktemp("osmnx")
    graphs = {}
    for mode in MODES:
        xml = filtered_xml(ANDORRA, folder / f"andorra-{mode}.osm", osmnx_filter(mode))
        graph = ox.graph_from_xml(xml, bidirectional=mode == "walk", simplify=False, retain_all=True)
        graphs[mode] = graph.subgraph(max(nx.strongly_connected_components(graph), key=len)).copy()
    return graphs


def reference_lengths(graph: nx.MultiDiGraph, ids: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Shortest path lengths (m) in an osmnx graph from ``ids[sources]`` to every node of ``ids``."""
    index = {node: i for i, node in enumerate(ids.tolist())}
    u, v, length = zip(*((index[a], index[b], d) for a, b, d in graph.edges(data="length")), strict=True)
    matrix = min_csr(np.array(u), np.array(v), np.array(length, dtype=float), ids.size)
    return dijkstra(matrix, indices=sources)


def min_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> scipy.sparse.csr_matrix:
    """CSR keeping the shortest of parallel edges (scipy would add them)."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return scipy.sparse.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def our_lengths(graph: RoadGraph, nodes: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Shortest path lengths (m) in our graph, edges weighted by their projected length."""
    length = np.hypot(graph.x[graph.dst] - graph.x[graph.src], graph.y[graph.dst] - graph.y[graph.src])
    matrix = min_csr(graph.src.astype(np.int64), graph.dst.astype(np.int64), length, graph.n_nodes)
    return dijkstra(matrix, indices=nodes[sources])[:, nodes]


def positions(graph: RoadGraph, osm_ids: np.ndarray) -> np.ndarray:
    """Index in ``graph`` of each OSM node id (all must be in it)."""
    order = np.argsort(graph.node_id)
    found = order[np.searchsorted(graph.node_id, osm_ids, sorter=order)]
    assert np.array_equal(graph.node_id[found], osm_ids)
    return found


def relative_differences(mode: str, ours: RoadGraph, reference: nx.MultiDiGraph) -> np.ndarray:
    """ours / osmnx - 1 for the shortest paths from ``N_SOURCES`` random nodes to every node,
    on the nodes both graphs share (every such pair must be reachable in both)."""
    ids = np.array(sorted(reference.nodes), dtype=np.int64)
    shared = ids[np.isin(ids, ours.node_id)]
    sources = np.random.default_rng(13).choice(shared.size, N_SOURCES, replace=False)
    expected = reference_lengths(reference, ids, np.searchsorted(ids, shared[sources]))[:, np.searchsorted(ids, shared)]
    got = our_lengths(ours, positions(ours, shared), sources)
    assert np.isfinite(expected).all() and np.isfinite(got).all(), f"{mode}: a shared pair is unreachable"
    positive = expected > 0
    return got[positive] / expected[positive] - 1


@pytest.mark.parametrize("mode", MODES)
def test_same_strong_component_as_osmnx_under_its_filter(mode, reference):
    ours = graph_from_osm_file(ANDORRA, mode=mode, crs=CRS, way_filter=osmnx_filter(mode))
    expected = reference[mode]
    assert set(ours.node_id.tolist()) == set(expected.nodes)
    our_edges = set(zip(ours.node_id[ours.src].tolist(), ours.node_id[ours.dst].tolist(), strict=True))
    assert our_edges == {(a, b) for a, b, _ in expected.edges(keys=True)}
    differences = relative_differences(mode, ours, expected)
    assert np.abs(differences).max() <= PROJECTION_TOLERANCE


# Tolerances under our own rules, from the measures on Andorra (README, « Réseau routier :
# conventions »). Drive: we keep service roads (some paths much shorter) and refuse the two
# primary ways tagged access=no that osmnx keeps (some paths up to 4x longer). Walk: the
# same two ways.
OUR_RULES = {
    # mode: (largest share of paths > 1 % apart, largest gap either way, most nodes osmnx has and we lack)
    "drive": (0.06, 3.5, 50),
    "walk": (0.002, 0.6, 50),
}


@pytest.mark.parametrize("mode", MODES)
def test_path_lengths_within_tolerances_under_our_rules(mode, reference):
    ours = graph_from_osm_file(ANDORRA, mode=mode, crs=CRS)
    expected = reference[mode]
    share_limit, gap_limit, missing_limit = OUR_RULES[mode]
    missing = len(set(expected.nodes) - set(ours.node_id.tolist()))
    assert missing <= missing_limit
    differences = relative_differences(mode, ours, expected)
    assert np.mean(np.abs(differences) > 0.01) <= share_limit
    assert np.abs(differences).max() <= gap_limit


def osmnx_drive_with_service() -> Callable[[Mapping[str, str]], bool]:
    """osmnx's drive filter, plus plain ``highway=service`` roads (our convention)."""
    osmnx_drive = osmnx_filter("drive")

    def keep(tags: Mapping[str, str]) -> bool:
        if tags.get("highway") == "service" and "service" not in tags:
            return osmnx_drive({**tags, "highway": "road"})
        return osmnx_drive(tags)

    return keep


def test_service_roads_only_shorten_drive_paths(reference):
    """Keeping service roads (our drive rule, not osmnx's) adds nodes and only ever makes
    paths shorter, some of them much shorter."""
    with_service = graph_from_osm_file(ANDORRA, mode="drive", crs=CRS, way_filter=osmnx_drive_with_service())
    assert with_service.n_nodes > len(reference["drive"])
    differences = relative_differences("drive", with_service, reference["drive"])
    assert differences.max() <= PROJECTION_TOLERANCE
    assert differences.min() < -0.2


def test_car_speeds_are_class_averages_near_osmnx_limits_on_andorra(reference):
    """osmnx's speeds (the mean tagged maxspeed of each class) against ours (class averages
    capped by the limit), on the same drive graph: the median trip differs by a few %."""
    graph = ox.add_edge_travel_times(ox.add_edge_speeds(reference["drive"].copy()))
    ours = graph_from_osm_file(ANDORRA, mode="drive", crs=CRS, way_filter=osmnx_filter("drive"))
    ids = np.array(sorted(graph.nodes), dtype=np.int64)
    index = {node: i for i, node in enumerate(ids.tolist())}
    u, v, t = zip(*((index[a], index[b], d) for a, b, d in graph.edges(data="travel_time")), strict=True)
    sources = np.random.default_rng(5).choice(ids.size, N_SOURCES, replace=False)
    expected = dijkstra(min_csr(np.array(u), np.array(v), np.array(t, dtype=float), ids.size), indices=sources)
    nodes = positions(ours, ids)
    got = dijkstra(ours.to_csr(), indices=nodes[sources])[:, nodes]
    longer = expected > 60
    ratio = np.median(got[longer] / expected[longer])
    assert 0.9 <= ratio <= 1.1
