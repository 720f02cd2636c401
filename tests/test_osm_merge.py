"""Several OSM extracts read as one network (a Région that Geofabrik cuts into former Régions).

The real Andorra extract is split by longitude into two halves that overlap as Geofabrik's
extracts do: every way with a node in a half is in that half (``complete`` halves: with all
its nodes, as osmium's "smart" strategy cuts; ``simple`` halves: with only the half's nodes).
Read together, the halves must give the graph of the whole file: same nodes, same edges (a
way crossing the border counted once), same shortest times.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import osmium
import pytest

from geo.errors import ValidationError
from geo.network import RoadGraph
from geo.network.osm import graph_from_osm_file, graphs_from_osm_file
from geo.routing import od_matrix
from storage import db
from storage.access import file_sha256, load_network
from tests.conftest import atlas

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
CRS = "EPSG:2154"


def split_by_longitude(source: Path, folder: Path, *, complete: bool) -> tuple[Path, Path, int]:
    """Write the west and east halves of ``source`` (cut at the median longitude of the way
    nodes); return their paths and the number of ways in both."""
    location: dict[int, float] = {}
    way_nodes: dict[int, list[int]] = {}
    for obj in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
        if isinstance(obj, osmium.osm.Node) and obj.location.valid():
            location[obj.id] = obj.location.lon
        elif isinstance(obj, osmium.osm.Way):
            way_nodes[obj.id] = [n.ref for n in obj.nodes]
    cut = float(np.median([location[n] for refs in way_nodes.values() for n in refs if n in location]))
    side_ways: tuple[set[int], set[int]] = (set(), set())
    side_nodes: tuple[set[int], set[int]] = (set(), set())
    for way, refs in way_nodes.items():
        located = [n for n in refs if n in location]
        for index in (0, 1):
            inside = [n for n in located if (location[n] < cut) == (index == 0)]
            if inside:
                side_ways[index].add(way)
                side_nodes[index].update(located if complete else inside)
    paths = (folder / "west.osm.pbf", folder / "east.osm.pbf")
    for path, ways, nodes in zip(paths, side_ways, side_nodes, strict=True):
        writer = osmium.SimpleWriter(str(path))
        try:
            for obj in osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY):
                if isinstance(obj, osmium.osm.Node) and obj.id in nodes:
                    writer.add_node(obj)
                elif isinstance(obj, osmium.osm.Way) and obj.id in ways:
                    writer.add_way(obj)
        finally:
            writer.close()
    return paths[0], paths[1], len(side_ways[0] & side_ways[1])


def edges(graph: RoadGraph) -> np.ndarray:
    """The edges as sorted rows (OSM id of the tail, OSM id of the head, seconds)."""
    rows = np.column_stack(
        (graph.node_id[graph.src].astype(np.float64), graph.node_id[graph.dst].astype(np.float64), graph.seconds)
    )
    return rows[np.lexsort(rows.T[::-1])]


def assert_same_graph(merged: RoadGraph, whole: RoadGraph) -> None:
    counts = (merged.n_nodes, merged.n_edges)
    assert counts == (whole.n_nodes, whole.n_edges)
    np.testing.assert_array_equal(merged.node_id, whole.node_id)
    np.testing.assert_array_equal(merged.x, whole.x)
    np.testing.assert_array_equal(edges(merged), edges(whole))
    sample = np.random.default_rng(13).choice(whole.n_nodes, size=12, replace=False)
    np.testing.assert_array_equal(
        od_matrix(merged, sample, sample, limit_s=np.inf), od_matrix(whole, sample, sample, limit_s=np.inf)
    )


@pytest.mark.parametrize("complete", [True, False], ids=["complete-ways", "simple-cut"])
def test_two_overlapping_halves_read_together_make_the_whole_network(tmp_path: Path, complete: bool) -> None:
    west, east, shared = split_by_longitude(ANDORRA, tmp_path, complete=complete)
    assert shared >= 20  # ways crossing the cut are in both halves (40 in the 2024 extract)
    whole = list(graphs_from_osm_file(ANDORRA, modes=("drive", "walk"), crs=CRS))
    merged = list(graphs_from_osm_file([west, east], modes=("drive", "walk"), crs=CRS))
    for one, other in zip(merged, whole, strict=True):
        assert_same_graph(one, other)
    # Either half alone is a smaller network: the test would see a half lost.
    alone = graph_from_osm_file(west, mode="drive", crs=CRS)
    assert alone.n_nodes < whole[0].n_nodes
    # The order of the files does not matter.
    assert_same_graph(graph_from_osm_file([east, west], mode="drive", crs=CRS), whole[0])


def test_the_same_file_twice_is_read_once() -> None:
    whole = graph_from_osm_file(ANDORRA, mode="walk", crs=CRS)
    assert_same_graph(graph_from_osm_file([ANDORRA, ANDORRA], mode="walk", crs=CRS), whole)


def test_a_missing_or_broken_file_among_several_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not found") as missing:
        graph_from_osm_file([ANDORRA, tmp_path / "absent.osm.pbf"], mode="drive", crs=CRS)
    assert missing.value.file == str(tmp_path / "absent.osm.pbf")
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a pbf file")
    with pytest.raises(ValidationError, match="cannot read") as unreadable:
        graph_from_osm_file([ANDORRA, broken], mode="drive", crs=CRS)
    assert unreadable.value.file == str(broken)
    with pytest.raises(ValidationError, match="no OSM file"):
        graph_from_osm_file([], mode="drive", crs=CRS)


def test_network_load_and_refresh_take_several_extracts(pilot_copy: str, tmp_path: Path) -> None:
    """``atlas network load WEST EAST`` stores the network of the whole extract, named after
    both files with both digests (Andorra is not in Bretagne: --force)."""
    west, east, _ = split_by_longitude(ANDORRA, tmp_path, complete=True)
    result = atlas(pilot_copy, "network", "load", str(west), str(east), "--force", "--mode", "drive")
    assert result.returncode == 0, result.stderr
    with db.connect(pilot_copy) as conn:
        stored = load_network(conn, "drive")
    assert stored is not None
    graph, meta = stored
    assert meta["source"] == "west.osm.pbf + east.osm.pbf"
    assert meta["source_sha256"] == f"{file_sha256(str(west))} {file_sha256(str(east))}"
    whole = graph_from_osm_file(ANDORRA, mode="drive", crs="EPSG:2154")
    assert (graph.n_nodes, graph.n_edges) == (whole.n_nodes, whole.n_edges)
    # A missing file among several: exit 2 naming it, before anything is read or stored.
    absent = tmp_path / "absent.osm.pbf"
    for args in (("network", "load", str(west), str(absent)), ("refresh", "--osm", str(west), "--osm", str(absent))):
        refused = atlas(pilot_copy, *args)
        assert refused.returncode == 2 and f"{absent} : fichier introuvable" in refused.stderr
    with db.connect(pilot_copy) as conn:
        still = load_network(conn, "drive")
    assert still is not None and still[1]["source"] == "west.osm.pbf + east.osm.pbf"


def test_component_labels_with_a_duplicate_edge_return() -> None:
    """Two ways sharing a segment give the same edge twice: scipy's strong components never
    returned on such a matrix (run in a child process, so that a regression fails, not hangs)."""
    code = (
        "import numpy as np\n"
        "from geo.network.graph import strong_component_labels\n"
        "labels = strong_component_labels(np.array([0, 0, 1, 2, 3]), np.array([1, 1, 2, 0, 0]), 4)\n"
        "print(labels.tolist())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[1],
        check=True,
    )
    labels = json.loads(done.stdout)
    assert labels[0] == labels[1] == labels[2] != labels[3]
