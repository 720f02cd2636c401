"""Error of the approximate times (no OSM) against real OSM times. Run on demand.

Usage::

    .venv/bin/python benchmarks/bench_fallback.py                       # the Andorra extract of the tests
    .venv/bin/python benchmarks/bench_fallback.py --osm bretagne.osm.pbf --crs EPSG:2154

For each mode, ``--origins`` origin nodes and ``--destinations`` destination nodes are drawn
(seeded) among the nodes of the OSM graph (:func:`geo.network.osm.graph_from_osm_file`);
their OSM travel time (:func:`geo.routing.od_matrix`, bounded by the mode's matrix limit)
is compared with the model of :mod:`geo.network.approximate` on their straight-line
distance. Pairs closer than 100 m or beyond the bound are left out. Printed: number of
pairs, median and 90th percentile of the relative error ``|model - osm| / osm``, median
ratio ``model / osm`` (below 1: the model is too fast), overall and by band of
straight-line distance. Nodes are drawn uniformly among road nodes, so dense areas weigh
more, roughly like the population.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.network.approximate import approximate_seconds  # noqa: E402
from geo.network.osm import graph_from_osm_file  # noqa: E402
from geo.routing import od_matrix  # noqa: E402
from geo.vocabulary import MATRIX_LIMIT_S, MODES  # noqa: E402

BANDS_M = ((100.0, 2_000.0), (2_000.0, 10_000.0), (10_000.0, 30_000.0), (30_000.0, np.inf))


def compare(osm: Path, crs: str, *, n_origins: int, n_destinations: int, seed: int) -> list[str]:
    """Lines of the report, one block per mode."""
    lines: list[str] = []
    header = f"{'mode':<6}{'straight line':<16}{'pairs':>8}{'median err':>12}{'p90 err':>10}{'model/osm':>11}"
    for mode in MODES:
        graph = graph_from_osm_file(osm, mode=mode, crs=crs)
        rng = np.random.default_rng(seed)
        origins = rng.choice(graph.n_nodes, size=min(n_origins, graph.n_nodes), replace=False)
        destinations = rng.choice(graph.n_nodes, size=min(n_destinations, graph.n_nodes), replace=False)
        osm_s = od_matrix(graph, origins, destinations, limit_s=MATRIX_LIMIT_S[mode]).ravel()
        dx = graph.x[origins][:, None] - graph.x[destinations][None, :]
        dy = graph.y[origins][:, None] - graph.y[destinations][None, :]
        straight = np.hypot(dx, dy).ravel()
        model_s = approximate_seconds(straight, mode=mode)
        keep = np.isfinite(osm_s) & (straight >= BANDS_M[0][0]) & (osm_s > 0)
        lines.append(header if not lines else "")
        for label, low, high in (("all", BANDS_M[0][0], np.inf), *((_band(lo, hi), lo, hi) for lo, hi in BANDS_M)):
            sel = keep & (straight >= low) & (straight < high)
            if not sel.any():
                continue
            error = np.abs(model_s[sel] - osm_s[sel]) / osm_s[sel]
            ratio = model_s[sel] / osm_s[sel]
            lines.append(
                f"{mode:<6}{label:<16}{int(sel.sum()):>8}{np.median(error):>11.0%}{np.quantile(error, 0.9):>10.0%}"
                f"{np.median(ratio):>11.2f}"
            )
    return [line for line in lines if line]


def _band(low: float, high: float) -> str:
    return f"{low / 1000:g}-{high / 1000:g} km" if np.isfinite(high) else f">= {low / 1000:g} km"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--osm", type=Path, default=ROOT / "tests" / "data" / "andorra.osm.pbf")
    parser.add_argument("--crs", default="EPSG:2154", help="projected CRS of the extract's area (metres)")
    parser.add_argument("--origins", type=int, default=400)
    parser.add_argument("--destinations", type=int, default=60)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    print(f"extract: {args.osm.name}, {args.origins} x {args.destinations} node pairs per mode, seed {args.seed}")
    for line in compare(args.osm, args.crs, n_origins=args.origins, n_destinations=args.destinations, seed=args.seed):
        print(line)


if __name__ == "__main__":
    main()
