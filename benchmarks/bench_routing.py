"""Benchmark of the routing core (:mod:`geo.routing`) against networkx. Run on demand.

Usage::

    .venv/bin/python benchmarks/bench_routing.py            # full run, a few minutes
    .venv/bin/python benchmarks/bench_routing.py --quick    # 100 000-node synthetic graph

Graphs: the real Andorra OSM extract (``tests/data/andorra.osm.pbf``, drive) and a
**synthetic** road-like graph (a jittered grid of junctions with full rows, sparse
columns, arterial lines every 10 cells, random diagonal shortcuts and 5 % one-way links,
each link cut by shape nodes like an OSM way; seeded, see ``synthetic_road_graph``). For
each: time and peak memory of the CSR build, of the chain index, of the nearest of
1 000 facilities for all nodes (with and without chain contraction) and of a 30-minute
isochrone (node set; default grid polygon from and to the node; the former default, a
concave hull; 15/30/45-minute polygons in one call), with the same operations in
networkx on the same edges where networkx has them. Then the routing memory on a
synthetic graph of 2 000 000 nodes.

Peak memory is the growth of the process resident set (RSS) above its level before the
operation: the kernel's high-water mark (``VmHWM``) is reset through
``/proc/self/clear_refs`` before each operation. It counts every allocation, including
the C heaps scipy and networkx allocate outside Python's tracemalloc. Times are the best
of ``--repeat`` runs (networkx: one run).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import itertools
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy
import shapely

# A benchmark runs as a script: the project's modules (E402 below) import once its root is on the path.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.isochrones import (  # noqa: E402
    DEFAULT_ISOCHRONE_FILL_M,
    isochrone_cell_m,
    isochrone_polygon,
    isochrone_polygons,
)
from geo.network import RoadGraph  # noqa: E402
from geo.network.osm import graph_from_osm_file  # noqa: E402
from geo.routing import isochrone_nodes, nearest_facility_times  # noqa: E402

ANDORRA = ROOT / "tests" / "data" / "andorra.osm.pbf"
CRS = "EPSG:2154"
MIB = 2**20

TARGET_NEAREST_S = 1.0
TARGET_SPEEDUP = 15.0
TARGET_ISOCHRONE_S = 0.050
ISOCHRONE_LIMITS_S = (900.0, 1800.0, 2700.0)
TARGET_MEMORY_BYTES = 0.5 * 2**30


# ------------------------------------------------------------ synthetic graph
def synthetic_road_graph(
    n_nodes: int,
    *,
    seed: int = 0,
    junction_spacing_m: float = 380.0,
    max_shape_nodes: int = 6,
    crs: str = CRS,
) -> RoadGraph:
    """Build a synthetic road-like graph of about ``n_nodes`` nodes (seeded).

    Junctions sit on a square grid of ``junction_spacing_m`` metres, jittered by up to
    30 % of the spacing. Every grid row is a street; a column link exists on arterial
    columns (every 10th) and with probability 0.35 elsewhere; 2 % of the junctions get
    a diagonal shortcut to a junction 1-4 cells away. Like an OSM way, each link is cut
    by 0 to ``max_shape_nodes`` shape nodes (uniform; mean 3) placed along it with a
    little jitter, so that about 88 % of the nodes have two neighbours (92 % in the
    Andorra drive graph) and the whole graph has one node per 2.7 ha, about the density
    of the Bretagne OSM drive network. Speeds: arterial rows and columns 70 km/h,
    shortcuts 90 km/h, other links 30, 40 or 50 km/h. 5 % of the non-arterial links are
    one-way (random direction). The largest strongly connected component is returned,
    with nodes in Z-order like :func:`geo.network.osm.graph_from_osm_file`.

    Returns
    -------
    RoadGraph
        Mode ``"drive"``, coordinates in metres in ``crs``; ``node_id`` numbers the
        junctions first, then the shape nodes.
    """
    rng = np.random.default_rng(seed)
    mean_links_per_junction = 1.0 + 0.1 + 0.9 * 0.35 + 0.02
    mean_shape = max_shape_nodes / 2
    n_junctions = max(4, int(n_nodes / (1 + mean_links_per_junction * mean_shape)))
    side = int(np.ceil(np.sqrt(n_junctions)))
    index = np.arange(n_junctions, dtype=np.int64)
    row, col = np.divmod(index, side)
    jx = (col + rng.uniform(-0.3, 0.3, n_junctions)) * junction_spacing_m
    jy = (row + rng.uniform(-0.3, 0.3, n_junctions)) * junction_spacing_m

    horizontal = index[(col < side - 1) & (index + 1 < n_junctions)]
    h_speed = np.where(row[horizontal] % 10 == 0, 70.0, rng.choice([30.0, 40.0, 50.0], horizontal.size))
    vertical = index[index + side < n_junctions]
    arterial_col = col[vertical] % 10 == 0
    keep = arterial_col | (rng.random(vertical.size) < 0.35)
    vertical, arterial_col = vertical[keep], arterial_col[keep]
    v_speed = np.where(arterial_col, 70.0, rng.choice([30.0, 40.0, 50.0], vertical.size))
    origin = rng.choice(n_junctions, size=n_junctions // 50, replace=False)
    d_row = rng.integers(1, 5, origin.size)
    d_col = rng.integers(-4, 5, origin.size)
    target = origin + d_row * side + d_col
    valid = (col[origin] + d_col >= 0) & (col[origin] + d_col < side) & (target < n_junctions)
    origin, target = origin[valid], target[valid]
    link_a = np.concatenate((horizontal, vertical, origin))
    link_b = np.concatenate((horizontal + 1, vertical + side, target))
    link_speed = np.concatenate((h_speed, v_speed, np.full(origin.size, 90.0)))

    # Shape nodes: link i gets k[i] of them, numbered after the junctions.
    k = rng.integers(0, max_shape_nodes + 1, link_a.size)
    shape_start = n_junctions + np.concatenate(([0], np.cumsum(k)[:-1]))
    link_of_shape = np.repeat(np.arange(link_a.size), k)
    rank = np.arange(link_of_shape.size) - (shape_start[link_of_shape] - n_junctions) + 1
    fraction = rank / (k[link_of_shape] + 1)
    a_s, b_s = link_a[link_of_shape], link_b[link_of_shape]
    wobble = rng.uniform(-0.05, 0.05, (2, link_of_shape.size)) * junction_spacing_m
    x = np.concatenate((jx, jx[a_s] + (jx[b_s] - jx[a_s]) * fraction + wobble[0]))
    y = np.concatenate((jy, jy[a_s] + (jy[b_s] - jy[a_s]) * fraction + wobble[1]))

    # Edges: link i is the path a, shape_start[i] .. shape_start[i] + k[i] - 1, b.
    link_of_edge = np.repeat(np.arange(link_a.size), k + 1)
    edge_start = np.concatenate(([0], np.cumsum(k + 1)[:-1]))
    position = np.arange(link_of_edge.size) - edge_start[link_of_edge]
    last = position == k[link_of_edge]
    a = np.where(position == 0, link_a[link_of_edge], shape_start[link_of_edge] + position - 1)
    b = np.where(last, link_b[link_of_edge], shape_start[link_of_edge] + position)
    speed_kph = link_speed[link_of_edge]
    seconds = np.hypot(x[b] - x[a], y[b] - y[a]) / (speed_kph / 3.6)
    one_way = (link_speed < 60.0) & (rng.random(link_a.size) < 0.05)
    flip = rng.random(link_a.size) < 0.5
    forward = (~one_way | ~flip)[link_of_edge]
    backward = (~one_way | flip)[link_of_edge]
    graph = RoadGraph(
        node_id=np.arange(x.size, dtype=np.int64),
        x=x,
        y=y,
        src=np.concatenate((a[forward], b[backward])),
        dst=np.concatenate((b[forward], a[backward])),
        seconds=np.concatenate((seconds[forward], seconds[backward])),
        crs=crs,
        mode="drive",
    )
    return graph.largest_strongly_connected_component().sorted_spatially()


def degree_two_share(graph: RoadGraph) -> float:
    """Share of nodes with exactly two distinct neighbours (in or out)."""
    pattern = graph.to_csr().astype(bool)
    undirected = (pattern + pattern.T).astype(bool).tocsr()
    undirected.setdiag(False)
    undirected.eliminate_zeros()
    return float(np.mean(np.diff(undirected.indptr) == 2))


def fresh(graph: RoadGraph) -> RoadGraph:
    """Return a copy of ``graph`` with an empty memo (no CSR, no k-d tree yet)."""
    return RoadGraph(
        node_id=graph.node_id,
        x=graph.x,
        y=graph.y,
        src=graph.src,
        dst=graph.dst,
        seconds=graph.seconds,
        crs=graph.crs,
        mode=graph.mode,
        approximate=graph.approximate,
    )


# ---------------------------------------------------------------- measuring
def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _malloc_trim() -> None:
    """Give freed heap pages back to the OS (glibc), so that reusing them shows in RSS."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reset_peak() -> bool:
    _malloc_trim()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Measure:
    """Best wall time (s) and peak RSS growth (bytes) of one operation."""

    seconds: float
    peak_bytes: float
    result: Any


def measure(operation: Callable[[], Any], *, repeat: int = 1) -> Measure:
    """Run ``operation`` ``repeat`` times; memory is measured on the first run."""
    gc.collect()
    can_reset = _reset_peak()
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    result = operation()
    best = time.perf_counter() - start
    peak = (_status_kib("VmHWM") - before) * 1024 if can_reset else float("nan")
    for _ in range(repeat - 1):
        del result
        gc.collect()
        start = time.perf_counter()
        result = operation()
        best = min(best, time.perf_counter() - start)
    return Measure(best, max(peak, 0.0), result)


# -------------------------------------------------------------------- report
@dataclass
class Row:
    """One line of the result table: our measure and networkx's, if any."""

    graph: str
    operation: str
    ours: Measure
    theirs: Measure | None
    note: str = ""


def _fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms" if seconds < 10 else f"{seconds:9.2f} s "


def _fmt_mem(peak: float) -> str:
    return "      n/a" if np.isnan(peak) else f"{peak / MIB:7.1f} MiB"


def print_rows(rows: list[Row]) -> None:
    """Print the result table (times, peak RSS growth, speed-up over networkx)."""
    header = (
        f"{'graph':<28} {'operation':<30} {'ours time':>12} {'ours mem':>11} "
        f"{'networkx time':>13} {'nx mem':>11} {'speed-up':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        nx_time = _fmt_time(row.theirs.seconds) if row.theirs else "         -   "
        nx_mem = _fmt_mem(row.theirs.peak_bytes) if row.theirs else "          -"
        ratio = f"{row.theirs.seconds / row.ours.seconds:8.1f}x" if row.theirs else "        -"
        print(
            f"{row.graph:<28} {row.operation:<30} {_fmt_time(row.ours.seconds):>12} "
            f"{_fmt_mem(row.ours.peak_bytes):>11} {nx_time:>13} {nx_mem:>11} {ratio:>9}"
            + (f"  {row.note}" if row.note else "")
        )


def bench_graph(
    name: str, graph: RoadGraph, *, n_facilities: int, seed: int, repeat: int, networkx: bool
) -> tuple[list[Row], dict[str, float]]:
    """Benchmark one graph; return its table rows and the figures the targets need."""
    rng = np.random.default_rng(seed)
    facilities = rng.choice(graph.n_nodes, size=min(n_facilities, graph.n_nodes), replace=False)
    centre = int(np.argmin(np.hypot(graph.x - np.median(graph.x), graph.y - np.median(graph.y))))
    label = f"{name} ({graph.n_nodes:,} n)"
    rows: list[Row] = []

    copies = [fresh(graph) for _ in range(repeat)]

    def build_next() -> RoadGraph:
        copy = copies.pop()
        copy.to_csr()
        copy.to_csr(reverse=True)
        return copy

    built = measure(build_next, repeat=repeat)
    graph = built.result
    chains = measure(graph.to_chain_index)
    nearest = measure(lambda: nearest_facility_times(graph, facilities), repeat=repeat)
    plain = measure(lambda: nearest_facility_times(graph, facilities, contract=False), repeat=repeat)
    iso = measure(lambda: isochrone_nodes(graph, centre, 1800.0), repeat=max(repeat, 5))
    polygon = measure(lambda: isochrone_polygon(graph, centre, 1800.0), repeat=max(repeat, 5))
    polygon_to = measure(lambda: isochrone_polygon(graph, centre, 1800.0, direction="to"), repeat=max(repeat, 5))
    concave = measure(lambda: isochrone_polygon(graph, centre, 1800.0, method="concave"))
    several = measure(lambda: isochrone_polygons(graph, centre, ISOCHRONE_LIMITS_S), repeat=max(repeat, 5))
    iso_checks = _isochrone_checks(graph, centre, iso.result, polygon.result, several.result)

    nx_build = nx_nearest = nx_iso = None
    checks = ""
    if networkx:
        coo = graph.to_csr(reverse=True).tocoo()
        edges = list(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
        del coo

        def nx_reversed() -> nx.DiGraph:
            reversed_graph = nx.DiGraph()
            reversed_graph.add_nodes_from(range(graph.n_nodes))
            reversed_graph.add_weighted_edges_from(edges, weight="seconds")
            return reversed_graph

        nx_build = measure(nx_reversed)
        reversed_graph = nx_build.result
        del edges
        sources = set(facilities.tolist())
        nx_nearest = measure(lambda: nx.multi_source_dijkstra_path_length(reversed_graph, sources, weight="seconds"))
        forward = reversed_graph.reverse(copy=False)
        nx_iso = measure(
            lambda: nx.single_source_dijkstra_path_length(forward, centre, cutoff=1800.0, weight="seconds")
        )
        oracle = np.full(graph.n_nodes, np.inf)
        lengths = nx_nearest.result
        oracle[np.fromiter(lengths.keys(), dtype=np.int64)] = np.fromiter(lengths.values(), dtype=float)
        finite = np.isfinite(oracle)
        error = max(
            float(np.max(np.abs(ours[finite] - oracle[finite]) / np.maximum(oracle[finite], 1e-9)))
            for ours in (nearest.result[0], plain.result[0])
        )
        if not np.array_equal(np.isfinite(nearest.result[0]), finite):
            error = float("inf")
        same_iso = np.array_equal(np.sort(np.fromiter(nx_iso.result.keys(), dtype=np.int64)), iso.result)
        checks = f"max rel. diff vs networkx {error:.1e}; isochrone node sets equal: {same_iso}"
        del reversed_graph, forward, nx_build.result, nx_nearest.result, nx_iso.result

    rows.append(Row(label, "build CSR (forward + reverse)", built, nx_build, "nx: DiGraph from edges"))
    index = chains.result
    rows.append(
        Row(
            label,
            "build chain index (once)",
            chains,
            None,
            f"{degree_two_share(graph):.0%} degree-2 nodes; {index.n_junctions:,} junctions, "
            f"{index.reverse_csr.nnz:,} junction edges",
        )
    )
    rows.append(
        Row(
            label,
            f"nearest of {facilities.size} facilities",
            nearest,
            nx_nearest,
            "nx: multi_source_dijkstra_path_length (times only)",
        )
    )
    rows.append(
        Row(
            label,
            "  same, contract=False",
            plain,
            nx_nearest,
            "Dijkstra on every node",
        )
    )
    reached = iso.result.size
    rows.append(Row(label, "30-min isochrone (nodes)", iso, nx_iso, f"{reached:,} nodes reached"))
    cell = isochrone_cell_m(float(np.ptp(graph.x[iso.result])), float(np.ptp(graph.y[iso.result])))
    vertices = shapely.get_num_coordinates(polygon.result)
    rows.append(
        Row(
            label,
            "30-min isochrone (polygon)",
            polygon,
            None,
            f"grid (default): {cell:.0f} m cells, fill {DEFAULT_ISOCHRONE_FILL_M:.0f} m; "
            f"{polygon.result.area / 1e6:,.0f} km2, {vertices:,} vertices",
        )
    )
    rows.append(Row(label, "  same, direction='to'", polygon_to, None, "Dijkstra on the reversed graph"))
    rows.append(
        Row(
            label,
            "  same, method='concave'",
            concave,
            None,
            f"previous default (ratio 0.3), one run; {concave.result.area / 1e6:,.0f} km2",
        )
    )
    rows.append(
        Row(
            label,
            "isochrones 15/30/45 min",
            several,
            None,
            "isochrone_polygons: one Dijkstra (45 min), 3 nested polygons",
        )
    )
    figures = {
        "nearest_s": nearest.seconds,
        "nearest_speedup": nx_nearest.seconds / nearest.seconds if nx_nearest else float("nan"),
        "plain_s": plain.seconds,
        "plain_speedup": nx_nearest.seconds / plain.seconds if nx_nearest else float("nan"),
        "iso_s": iso.seconds,
        "iso_polygon_s": polygon.seconds,
        "iso_polygons_s": several.seconds,
        "iso_speedup": nx_iso.seconds / iso.seconds if nx_iso else float("nan"),
    }
    if checks:
        print(f"[{name}] {checks}")
    print(f"[{name}] {iso_checks}")
    return rows, figures


def _isochrone_checks(
    graph: RoadGraph,
    centre: int,
    reached: np.ndarray,
    polygon: shapely.Polygon | shapely.MultiPolygon,
    nested: list[shapely.Polygon | shapely.MultiPolygon],
) -> str:
    """Faithfulness of the grid isochrones: coverage of the reached nodes, nesting."""
    covered = shapely.intersects_xy(polygon.buffer(1e-6), graph.x[reached], graph.y[reached])
    nests = all(small.difference(large).area == 0.0 for small, large in itertools.pairwise(nested))
    # The multi-limit call takes its cell from the largest isochrone.
    largest = isochrone_nodes(graph, centre, ISOCHRONE_LIMITS_S[-1])
    cell = isochrone_cell_m(float(np.ptp(graph.x[largest])), float(np.ptp(graph.y[largest])))
    single = isochrone_polygon(graph, centre, ISOCHRONE_LIMITS_S[1], cell_m=cell)
    same = nested[1].equals(single)
    return (
        f"30-min polygon: {polygon.geom_type}, valid {polygon.is_valid}, covers "
        f"{int(covered.sum()):,}/{reached.size:,} reached nodes; 15/30/45-min polygons "
        f"nest: {nests}, 30-min one equals the single call on the same grid: {same}"
    )


def bench_memory(n_nodes: int, *, n_facilities: int, seed: int) -> tuple[list[Row], float]:
    """Routing memory on a synthetic graph: CSR, chain index and one all-nodes query.

    Returns the table rows and the routing memory in bytes: the size of both CSR
    matrices and of the chain index, plus the peak RSS growth of the nearest-facility
    query (distance, predecessor and root arrays, scipy's heap, the junction CSR copy
    with the virtual source, the chain-node candidates).
    """
    graph = synthetic_road_graph(n_nodes, seed=seed)
    facilities = np.random.default_rng(seed).choice(graph.n_nodes, size=n_facilities, replace=False)

    def build() -> None:
        graph.to_csr()
        graph.to_csr(reverse=True)
        graph.to_chain_index()

    built = measure(build)
    query = measure(lambda: nearest_facility_times(graph, facilities))
    chains = graph.to_chain_index()
    matrices = (graph.to_csr(), graph.to_csr(reverse=True), chains.reverse_csr)
    csr_bytes = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in matrices)
    csr_bytes += sum(
        getattr(chains, f).nbytes
        for f in (
            "is_junction",
            "junction_index",
            "junctions",
            "chain_last",
            "chain_seconds",
            "chain_end",
        )
    )
    graph_bytes = sum(getattr(graph, f).nbytes for f in ("node_id", "x", "y", "src", "dst", "seconds"))
    routing_bytes = csr_bytes + query.peak_bytes
    label = f"synthetic ({graph.n_nodes:,} n)"
    rows = [
        Row(
            label,
            "build CSR + chain index",
            built,
            None,
            f"{graph.n_edges:,} edges; graph arrays {graph_bytes / MIB:.0f} MiB",
        ),
        Row(
            label,
            f"nearest of {n_facilities} facilities",
            query,
            None,
            f"routing memory = CSRs + chain index {csr_bytes / MIB:.0f} MiB + query peak "
            f"{query.peak_bytes / MIB:.0f} MiB = {routing_bytes / MIB:.0f} MiB",
        ),
    ]
    return rows, routing_bytes


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and one PASS/FAIL line per target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k-node synthetic graph")
    parser.add_argument("--nodes", type=int, help="synthetic graph size (default 1,000,000)")
    parser.add_argument("--memory-nodes", type=int, help="memory check size (default 2,000,000)")
    parser.add_argument("--facilities", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-networkx", action="store_true", help="skip the networkx runs")
    args = parser.parse_args(argv)
    n_nodes = args.nodes or (100_000 if args.quick else 1_000_000)
    memory_nodes = args.memory_nodes or (200_000 if args.quick else 2_000_000)

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"networkx {nx.__version__}; {platform.machine()}, {_cpu_count()} CPUs"
    )
    rows: list[Row] = []
    start = time.perf_counter()
    osm = measure(lambda: graph_from_osm_file(ANDORRA, mode="drive", crs=CRS))
    andorra = osm.result
    rows.append(Row(f"andorra drive ({andorra.n_nodes:,} n)", "read OSM pbf -> RoadGraph", osm, None))
    andorra_rows, andorra_figures = bench_graph(
        "andorra drive",
        andorra,
        n_facilities=args.facilities,
        seed=args.seed,
        repeat=args.repeat,
        networkx=not args.no_networkx,
    )
    rows += andorra_rows
    generated = measure(lambda: synthetic_road_graph(n_nodes, seed=args.seed))
    synthetic = generated.result
    rows.append(
        Row(
            f"synthetic ({synthetic.n_nodes:,} n)",
            "generate synthetic graph",
            generated,
            None,
            f"{synthetic.n_edges:,} directed edges",
        )
    )
    synthetic_rows, figures = bench_graph(
        "synthetic",
        synthetic,
        n_facilities=args.facilities,
        seed=args.seed,
        repeat=args.repeat,
        networkx=not args.no_networkx,
    )
    rows += synthetic_rows
    del synthetic, generated
    memory_rows, memory_peak = bench_memory(memory_nodes, n_facilities=args.facilities, seed=args.seed)
    rows += memory_rows
    print()
    print_rows(rows)
    print(f"\ntotal benchmark time {time.perf_counter() - start:.0f} s\n")

    size = f"{n_nodes:,}-node synthetic"
    targets = [
        (
            f"nearest of {args.facilities} for all nodes < {TARGET_NEAREST_S:.0f} s ({size})",
            figures["nearest_s"] < TARGET_NEAREST_S,
            _fmt_time(figures["nearest_s"]).strip(),
        ),
        (
            f"nearest of {args.facilities}: >= {TARGET_SPEEDUP:.0f}x faster than networkx ({size})",
            figures["nearest_speedup"] >= TARGET_SPEEDUP,
            f"{figures['nearest_speedup']:.1f}x",
        ),
        (
            f"  (contract=False: nearest {_fmt_time(figures['plain_s']).strip()}, "
            f"{figures['plain_speedup']:.1f}x networkx)",
            None,
            "",
        ),
        (
            f"30-min isochrone, node set < {TARGET_ISOCHRONE_S * 1000:.0f} ms ({size})",
            figures["iso_s"] < TARGET_ISOCHRONE_S,
            _fmt_time(figures["iso_s"]).strip(),
        ),
        (
            f"30-min isochrone, polygon < {TARGET_ISOCHRONE_S * 1000:.0f} ms (Andorra drive)",
            andorra_figures["iso_polygon_s"] < TARGET_ISOCHRONE_S,
            _fmt_time(andorra_figures["iso_polygon_s"]).strip(),
        ),
        (
            f"30-min isochrone, polygon < {TARGET_ISOCHRONE_S * 1000:.0f} ms ({size})",
            figures["iso_polygon_s"] < TARGET_ISOCHRONE_S,
            _fmt_time(figures["iso_polygon_s"]).strip(),
        ),
        (
            f"15/30/45-min isochrones in one call < 3 x {TARGET_ISOCHRONE_S * 1000:.0f} ms (Andorra drive)",
            andorra_figures["iso_polygons_s"] < 3 * TARGET_ISOCHRONE_S,
            _fmt_time(andorra_figures["iso_polygons_s"]).strip(),
        ),
        (
            f"15/30/45-min isochrones in one call < 3 x {TARGET_ISOCHRONE_S * 1000:.0f} ms ({size})",
            figures["iso_polygons_s"] < 3 * TARGET_ISOCHRONE_S,
            _fmt_time(figures["iso_polygons_s"]).strip(),
        ),
        (
            f"routing memory (CSRs, chain index, query) < 0.5 GB ({memory_nodes:,} nodes)",
            memory_peak < TARGET_MEMORY_BYTES,
            f"{memory_peak / MIB:.0f} MiB",
        ),
    ]
    if args.quick:
        print("(--quick: targets are set for 1M / 2M nodes; these lines are indicative only)")
    for text, ok, value in targets:
        if ok is None:
            print(f"      {text}")
        else:
            print(f"{'PASS' if ok else 'FAIL'}  {text}: {value}")
    return 0


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
