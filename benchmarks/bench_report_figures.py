"""Time and size of the printed report's figures (geo.maps) and of the shareable map file
(geo.mapfile) on the loaded Région (``DATABASE_URL``, else the project-local cluster, after
``atlas load`` and ``atlas access``). Run on demand, not by pytest or CI:

    .venv/bin/python benchmarks/bench_report_figures.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from geo.french import MODE_PHRASES
from geo.mapfile import LeafletAssets, build_map_file
from geo.maps import report_figures
from settings import Settings
from storage import db
from storage.maps import map_layers
from webapp.mapfile import LEAFLET_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings.from_env()
    if settings.database_url:
        url = settings.database_url
    else:
        from storage.cluster import local_cluster

        url = local_cluster(settings.var_dir).url()
    reads, figures, files = [], [], []
    for _ in range(args.repeat):
        with db.connect(url) as conn:
            start = time.perf_counter()
            layers = map_layers(conn)
            reads.append(time.perf_counter() - start)
        start = time.perf_counter()
        rendered = report_figures(layers, mode_phrase=MODE_PHRASES["drive"])
        figures.append(time.perf_counter() - start)
        start = time.perf_counter()
        text = build_map_file(
            layers, title="Benchmark", leaflet=LeafletAssets.from_dir(LEAFLET_DIR), mode_phrase=MODE_PHRASES["drive"]
        )
        files.append(time.perf_counter() - start)
    every = [
        *rendered["time_maps"],
        rendered["white_zones"],
        *rendered["zone_maps"].values(),
        *rendered["distributions"],
    ]
    sizes = sorted(len(f.svg) // 1024 for f in every if f is not None)
    print(f"communes: {len(layers['communes'])}, figures: {len(sizes)}, SVG sizes (KB): {sizes}")
    print(f"map file: {len(text) // 1024} KB")
    for name, values in (("read layers", reads), ("render figures", figures), ("build map file", files)):
        print(f"{name:>15}: median {statistics.median(values):.2f} s (min {min(values):.2f}, n={len(values)})")


if __name__ == "__main__":
    main()
