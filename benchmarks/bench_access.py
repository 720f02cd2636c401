"""Benchmark of a whole ``atlas access`` run for one mode at Région scale (synthetic inputs).

Builds the SYNTHETIC road-like graph of ``bench_routing.synthetic_road_graph`` (1M nodes by
default: a Région's drive network is 1-2M nodes), a SYNTHETIC grid of square "communes"
over it (1,200 by default, Bretagne has 1,202) with SYNTHETIC populations, and SYNTHETIC
places on random nodes, then times :func:`geo.analysis.access.compute_access` (commune origins,
the commune x place matrix, one nearest run per category, choice counts, 2SFCA) and the
isochrones of the places. Nothing here is real data; it measures speed only.

    .venv/bin/python benchmarks/bench_access.py [--nodes 1000000] [--places 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_routing import _status_kib, synthetic_road_graph

from geo.analysis.access import compute_access, summarise_levels
from geo.isochrones import place_isochrones
from geo.network import RoadGraph
from geo.vocabulary import MISSIONS


def synthetic_territory(
    graph: RoadGraph, n_communes: int, n_places: int, seed: int
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """SYNTHETIC communes (grid cells over the graph) and places (random nodes)."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = graph.x.min(), graph.y.min(), graph.x.max(), graph.y.max()
    side = int(np.ceil(np.sqrt(n_communes)))
    xs = np.linspace(xmin, xmax, side + 1)
    ys = np.linspace(ymin, ymax, side + 1)
    cells = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(side) for j in range(side)][:n_communes]
    communes = gpd.GeoDataFrame(
        {
            "code": [f"{i:05d}" for i in range(len(cells))],
            "population": rng.lognormal(7, 1.2, len(cells)).astype(int),
            "departement": [f"{i % 4}" for i in range(len(cells))],
            "region": "SYN",
        },
        geometry=cells,
        crs=graph.crs,
    )
    nodes = rng.choice(graph.n_nodes, size=n_places, replace=False)
    types = np.array(["france_services", "mission_locale", "cio", "france_travail", "cap_emploi"])
    places = gpd.GeoDataFrame(
        {
            "structure_id": [f"synthetic:{i:04d}" for i in range(n_places)],
            "partner_type": types[rng.integers(0, types.size, n_places)],
            "missions": [list(rng.choice(MISSIONS, size=rng.integers(1, 5), replace=False)) for _ in range(n_places)],
            "publics": [["tout_public"] if rng.random() < 0.5 else ["jeunes"] for _ in range(n_places)],
            "site_format": np.where(rng.random(n_places) < 0.1, "itinerant", "fixe"),
            "geocoding": "source",
        },
        geometry=shapely.points(graph.x[nodes], graph.y[nodes]),
        crs=graph.crs,
    )
    return communes, places


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--communes", type=int, default=1200)
    parser.add_argument("--places", type=int, default=200)
    parser.add_argument("--isochrone-places", type=int, default=20, help="places whose isochrones are timed")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    graph = synthetic_road_graph(args.nodes, seed=args.seed)
    print(
        f"SYNTHETIC graph: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges, built in {time.perf_counter() - started:.1f} s"
    )
    communes, places = synthetic_territory(graph, args.communes, args.places, args.seed)
    print(f"SYNTHETIC territory: {len(communes)} communes, {len(places)} places")

    started = time.perf_counter()
    result = compute_access(graph, communes, places)
    access_s = time.perf_counter() - started
    print(
        f"compute_access: {access_s:.1f} s for {result.categories.shape[0]} categories, "
        f"{len(result.od):,} commune-place pairs within {float(result.params['od_limit_s']) / 60:.0f} min"
    )
    started = time.perf_counter()
    summarise_levels(result.nearest, communes, levels=("departement", "region"))
    print(f"summarise_levels: {time.perf_counter() - started:.2f} s")
    subset = result.places.head(args.isochrone_places)
    started = time.perf_counter()
    place_isochrones(graph, subset, minutes=(15, 30, 45))
    per_place = (time.perf_counter() - started) / max(len(subset), 1)
    print(f"isochrones 15/30/45: {per_place * 1000:.0f} ms per place -> {per_place * len(places):.0f} s for all places")
    print(f"peak RSS: {_status_kib('VmHWM') / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
