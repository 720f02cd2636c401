"""Road graphs: the array graph, speed and access rules, OSM and approximate builders."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Point, box

from geo.errors import CrsError, GeometryError, MissingColumnError, ValidationError
from geo.network import RoadGraph, load_npz
from geo.network.approximate import (
    DETOUR_FACTOR,
    approximate_graph_from_communes,
    approximate_seconds,
    straight_distance_within,
)
from geo.network.osm import MIN_EDGE_SECONDS, graph_from_osm_file
from geo.network.speeds import (
    DRIVE_SPEEDS_KPH,
    WALK_SPEED_KPH,
    is_drivable,
    is_walkable,
    parse_maxspeed,
    way_directions,
    way_speed_kph,
)
from geo.routing import nearest_facility_times

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
CRS = "EPSG:2154"


@pytest.fixture(scope="module")
def drive() -> RoadGraph:
    return graph_from_osm_file(ANDORRA, mode="drive", crs=CRS)


@pytest.fixture(scope="module")
def walk() -> RoadGraph:
    return graph_from_osm_file(ANDORRA, mode="walk", crs=CRS)


def tiny_graph(src, dst, seconds, n=None, **kwargs) -> RoadGraph:
    n = n if n is not None else max(max(src), max(dst)) + 1
    return RoadGraph(
        node_id=np.arange(n),
        x=np.arange(n, dtype=float) * 100.0,
        y=np.zeros(n),
        src=src,
        dst=dst,
        seconds=seconds,
        crs=CRS,
        mode=kwargs.pop("mode", "drive"),
        **kwargs,
    )


# ------------------------------------------------------------ real Andorra graph
def test_andorra_drive_graph_is_plausible(drive: RoadGraph) -> None:
    assert 15_000 < drive.n_nodes < 18_000
    assert 1.5 * drive.n_nodes < drive.n_edges < 3 * drive.n_nodes
    assert drive.mode == "drive"
    assert not drive.approximate
    assert drive.crs == CRS
    assert len(np.unique(drive.node_id)) == drive.n_nodes


def test_andorra_walk_graph_is_larger_than_drive(drive: RoadGraph, walk: RoadGraph) -> None:
    assert walk.n_nodes > drive.n_nodes
    assert 1.5 * walk.n_nodes < walk.n_edges < 3 * walk.n_nodes


@pytest.mark.parametrize("name", ["drive", "walk"])
def test_andorra_graph_is_one_strongly_connected_component(name: str, request: pytest.FixtureRequest) -> None:
    graph: RoadGraph = request.getfixturevalue(name)
    n_components, _ = graph.strongly_connected_components()
    assert n_components == 1
    seconds, nearest = nearest_facility_times(graph, np.array([0]))
    assert np.all(np.isfinite(seconds))
    assert np.all(nearest == 0)


@pytest.mark.parametrize("name", ["drive", "walk"])
def test_andorra_edge_times_are_positive_and_match_speeds(name: str, request: pytest.FixtureRequest) -> None:
    graph: RoadGraph = request.getfixturevalue(name)
    assert np.all(np.isfinite(graph.seconds))
    assert np.all(graph.seconds >= MIN_EDGE_SECONDS)
    length_m = np.hypot(graph.x[graph.dst] - graph.x[graph.src], graph.y[graph.dst] - graph.y[graph.src])
    speed_kph = length_m / graph.seconds * 3.6
    if name == "walk":
        long_enough = graph.seconds > MIN_EDGE_SECONDS
        np.testing.assert_allclose(speed_kph[long_enough], WALK_SPEED_KPH, rtol=1e-9)
    else:
        assert speed_kph.max() <= max(DRIVE_SPEEDS_KPH.values()) * (1 + 1e-9)
        assert np.median(speed_kph) > 10


def test_andorra_coordinates_are_projected_metres(drive: RoadGraph) -> None:
    # Andorra spans about 30 km; in Lambert-93 it lies near x=580 km, y=6 150 km.
    assert 20_000 < np.ptp(drive.x) < 40_000
    assert 20_000 < np.ptp(drive.y) < 40_000
    assert 540_000 < drive.x.mean() < 620_000
    assert 6_120_000 < drive.y.mean() < 6_180_000


def test_andorra_drive_has_one_way_edges_walk_has_none(drive: RoadGraph, walk: RoadGraph) -> None:
    def one_way_count(graph: RoadGraph) -> int:
        """Number of node pairs joined in one direction only."""
        pattern = graph.to_csr().astype(bool).astype(np.int8)
        return int(abs(pattern - pattern.T).sum()) // 2

    assert one_way_count(drive) > 100
    assert one_way_count(walk) == 0


# --------------------------------------------------------------- RoadGraph
def test_to_csr_keeps_the_minimum_of_duplicate_edges() -> None:
    graph = tiny_graph([0, 0, 0, 1], [1, 1, 1, 0], [10.0, 4.0, 7.0, 3.0])
    csr = graph.to_csr()
    assert csr.nnz == 2
    assert csr[0, 1] == 4.0
    assert csr[1, 0] == 3.0
    reverse = graph.to_csr(reverse=True)
    assert reverse[1, 0] == 4.0
    assert reverse[0, 1] == 3.0
    assert graph.to_csr() is csr  # memoised


def test_reverse_swaps_edges() -> None:
    graph = tiny_graph([0, 1], [1, 2], [5.0, 6.0])
    reverse = graph.reverse()
    assert reverse.src.tolist() == [1, 2]
    assert reverse.dst.tolist() == [0, 1]
    assert (reverse.to_csr() != graph.to_csr(reverse=True)).nnz == 0


def test_arrays_are_read_only() -> None:
    graph = tiny_graph([0], [1], [5.0])
    with pytest.raises(ValueError, match="read-only"):
        graph.seconds[0] = 1.0


@pytest.mark.parametrize(
    ("src", "dst", "seconds", "match"),
    [
        ([0], [5], [1.0], "node indices"),
        ([0], [1], [0.0], "strictly positive"),
        ([0], [1], [np.inf], "finite"),
        ([0, 1], [1], [1.0, 1.0], "values for 2 edges"),
    ],
)
def test_invalid_graphs_are_refused(src, dst, seconds, match) -> None:
    with pytest.raises(ValidationError, match=match):
        tiny_graph(src, dst, seconds, n=2)


def test_mode_is_drive_or_walk_and_approximate_a_flag_of_its_own() -> None:
    assert (tiny_graph([0], [1], [1.0], approximate=True).mode, tiny_graph([0], [1], [1.0]).approximate) == (
        "drive",
        False,
    )
    with pytest.raises(ValidationError, match="unknown mode"):
        tiny_graph([0], [1], [1.0], mode="bike")
    with pytest.raises(ValidationError, match="unknown mode"):  # no mode packs the flag into its name
        tiny_graph([0], [1], [1.0], mode="approximate-drive", approximate=True)


def test_reordered_keeps_the_same_network() -> None:
    graph = tiny_graph([0, 1, 2], [1, 2, 0], [1.0, 2.0, 3.0], node_label=["a", "b", "c"])
    moved = graph.reordered(np.array([2, 0, 1]))
    assert moved.node_id.tolist() == [2, 0, 1]
    assert moved.node_label.tolist() == ["c", "a", "b"]
    edges = {
        (int(moved.node_id[s]), int(moved.node_id[d]), t)
        for s, d, t in zip(moved.src, moved.dst, moved.seconds, strict=True)
    }
    assert edges == {(0, 1, 1.0), (1, 2, 2.0), (2, 0, 3.0)}
    with pytest.raises(ValidationError, match="permutation"):
        graph.reordered(np.array([0, 0, 1]))


def test_sorted_spatially_follows_a_z_curve() -> None:
    # Four nodes on the corners of a square, listed in a scrambled order.
    corners = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]) * 1000
    graph = RoadGraph(
        node_id=np.arange(4),
        x=corners[:, 0],
        y=corners[:, 1],
        src=[0, 1],
        dst=[1, 2],
        seconds=[1.0, 1.0],
        crs=CRS,
        mode="walk",
    )
    ordered = graph.sorted_spatially()
    assert ordered.node_id.tolist() == [1, 2, 3, 0]  # (0,0), (1,0), (0,1), (1,1)
    assert ordered.to_csr()[3, 0] == 1.0  # old edge 0 -> 1


def test_largest_strongly_connected_component() -> None:
    # 0 <-> 1 <-> 2 is strongly connected; 3 -> 4 and 4 -> 0 are not part of it.
    graph = tiny_graph([0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 0], [1.0] * 6)
    largest = graph.largest_strongly_connected_component()
    assert largest.node_id.tolist() == [0, 1, 2]
    assert largest.n_edges == 4
    assert largest.strongly_connected_components()[0] == 1


def test_largest_component_tie_keeps_lowest_node() -> None:
    graph = tiny_graph([2, 3, 0, 1], [3, 2, 1, 0], [1.0] * 4)
    assert graph.largest_strongly_connected_component().node_id.tolist() == [0, 1]


def test_npz_round_trip(tmp_path: Path, drive: RoadGraph) -> None:
    written = drive.save_npz(tmp_path / "graph")
    assert written.name == "graph.npz"
    loaded = load_npz(written)
    for name in ("node_id", "x", "y", "src", "dst", "seconds"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(drive, name))
    assert (loaded.crs, loaded.mode, loaded.approximate) == (CRS, "drive", False)
    assert loaded.node_label is None


def test_npz_round_trip_keeps_labels(tmp_path: Path) -> None:
    graph = tiny_graph([0], [1], [2.0], mode="walk", approximate=True, node_label=["29019", "2A004"])
    loaded = load_npz(graph.save_npz(tmp_path / "labels.npz"))
    assert loaded.node_label.tolist() == ["29019", "2A004"]
    assert (loaded.mode, loaded.approximate) == ("walk", True)


def test_npz_of_format_1_still_loads(tmp_path: Path) -> None:
    """Format 1 packed the approximate flag into the mode ("approximate-walk"): graphs
    stored by earlier versions load as mode "walk", approximate."""
    graph = tiny_graph([0], [1], [2.0], mode="walk", approximate=True, node_label=["29019", "2A004"])
    meta = {"format_version": 1, "crs": graph.crs, "mode": "approximate-walk", "approximate": True}
    arrays = {name: getattr(graph, name) for name in ("node_id", "x", "y", "src", "dst", "seconds", "node_label")}
    path = tmp_path / "old.npz"
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
    loaded = load_npz(path)
    assert (loaded.mode, loaded.approximate, loaded.node_label.tolist()) == ("walk", True, ["29019", "2A004"])


def test_load_npz_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not found"):
        load_npz(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValidationError, match=r"bad\.npz"):
        load_npz(bad)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValidationError, match="missing arrays"):
        load_npz(other)


def test_to_networkx_matches_csr() -> None:
    graph = tiny_graph([0, 0, 1], [1, 1, 2], [9.0, 2.0, 3.0])
    nx_graph = graph.to_networkx()
    assert nx_graph.number_of_nodes() == 3
    assert nx_graph.number_of_edges() == 2
    assert nx_graph.edges[0, 1]["seconds"] == 2.0
    assert nx_graph.nodes[2]["x"] == 200.0


# ------------------------------------------------------------- OSM builder
def write_osm(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[list[int], dict[str, str]]]) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'  <node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in nodes.items()]
    for way_id, (refs, tags) in enumerate(ways, start=1):
        lines.append(f'  <way id="{way_id}" version="1">')
        lines += [f'    <nd ref="{ref}"/>' for ref in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


RENNES = {1: (-1.680, 48.110), 2: (-1.670, 48.110), 3: (-1.670, 48.115), 4: (-1.680, 48.115)}


def test_osm_edges_follow_speeds_and_one_ways(tmp_path: Path) -> None:
    path = write_osm(
        tmp_path / "square.osm",
        RENNES,
        [
            ([1, 2], {"highway": "primary"}),
            ([2, 3], {"highway": "residential", "oneway": "yes"}),
            ([3, 4], {"highway": "residential", "oneway": "-1", "maxspeed": "20"}),
            ([4, 1], {"highway": "tertiary", "junction": "roundabout"}),
            ([1, 3], {"highway": "footway"}),
        ],
    )
    graph = graph_from_osm_file(path, mode="drive", crs=CRS, largest_component=False)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(
        [RENNES[i][0] for i in (1, 2, 3, 4)], [RENNES[i][1] for i in (1, 2, 3, 4)]
    )
    order = graph.node_id - 1  # OSM ids 1..4 -> positions in x, y
    np.testing.assert_allclose(graph.x, np.asarray(x)[order])
    np.testing.assert_allclose(graph.y, np.asarray(y)[order])
    edges = {
        (int(graph.node_id[s]), int(graph.node_id[d])): t
        for s, d, t in zip(graph.src, graph.dst, graph.seconds, strict=True)
    }
    assert set(edges) == {(1, 2), (2, 1), (2, 3), (4, 3), (4, 1)}

    def seconds(a: int, b: int, kph: float) -> float:
        return float(np.hypot(x[b - 1] - x[a - 1], y[b - 1] - y[a - 1]) / (kph / 3.6))

    assert edges[(1, 2)] == pytest.approx(seconds(1, 2, DRIVE_SPEEDS_KPH["primary"]), rel=1e-12)
    assert edges[(4, 3)] == pytest.approx(seconds(4, 3, 20.0), rel=1e-12)
    assert edges[(4, 1)] == pytest.approx(seconds(4, 1, DRIVE_SPEEDS_KPH["tertiary"]), rel=1e-12)

    walking = graph_from_osm_file(path, mode="walk", crs=CRS)
    assert walking.n_nodes == 4
    assert walking.n_edges == 10  # five ways, both directions
    assert walking.strongly_connected_components()[0] == 1


def test_osm_keeps_largest_component_and_skips_missing_nodes(tmp_path: Path) -> None:
    path = write_osm(
        tmp_path / "cut.osm",
        RENNES,
        [
            ([1, 2, 3], {"highway": "residential"}),
            ([3, 99, 4], {"highway": "residential"}),  # node 99 is outside the extract
            ([4, 1], {"highway": "residential", "oneway": "yes"}),
        ],
    )
    raw = graph_from_osm_file(path, mode="drive", crs=CRS, largest_component=False)
    assert sorted(raw.node_id.tolist()) == [1, 2, 3, 4]
    graph = graph_from_osm_file(path, mode="drive", crs=CRS)
    assert sorted(graph.node_id.tolist()) == [1, 2, 3]


def test_osm_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not found"):
        graph_from_osm_file(tmp_path / "missing.osm.pbf", mode="drive", crs=CRS)
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(ValidationError, match="cannot read"):
        graph_from_osm_file(garbage, mode="drive", crs=CRS)
    footways = write_osm(tmp_path / "footways.osm", RENNES, [([1, 2, 3], {"highway": "footway"})])
    with pytest.raises(ValidationError, match="no way usable for mode 'drive'"):
        graph_from_osm_file(footways, mode="drive", crs=CRS)
    assert graph_from_osm_file(footways, mode="walk", crs=CRS).n_nodes == 3
    with pytest.raises(CrsError, match="not projected"):
        graph_from_osm_file(footways, mode="walk", crs="EPSG:4326")
    with pytest.raises(ValidationError, match="unknown mode"):
        graph_from_osm_file(footways, mode="bike", crs=CRS)  # type: ignore[arg-type]


# ------------------------------------------------------------------- speeds
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        (" 70 ", 70.0),
        ("FR:urban", 50.0),
        ("FR:rural", 80.0),
        ("FR:motorway", 130.0),
        ("FR:zone30", 30.0),
        ("fr:zone:30", 30.0),
        ("30 mph", 30 * 1.609344),
        ("50 km/h", 50.0),
        ("walk", 6.0),
        ("50;30", 30.0),
        ("90;30;90;30;90;30", 30.0),
        ("none;50", 50.0),
        ("none", None),
        ("signals", None),
        ("", None),
        ("0", None),
        (None, None),
    ],
)
def test_parse_maxspeed(value: str | None, expected: float | None) -> None:
    assert parse_maxspeed(value) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("tags", "drivable", "walkable"),
    [
        ({"highway": "residential"}, True, True),
        ({"highway": "motorway"}, True, False),
        ({"highway": "motorway_link"}, True, False),
        ({"highway": "trunk", "motorroad": "yes"}, True, False),
        ({"highway": "footway"}, False, True),
        ({"highway": "steps"}, False, True),
        ({"highway": "track"}, False, True),
        ({"highway": "cycleway"}, False, False),
        ({"highway": "cycleway", "foot": "designated"}, False, True),
        ({"highway": "residential", "access": "private"}, False, False),
        ({"highway": "residential", "access": "no", "foot": "yes"}, False, True),
        ({"highway": "residential", "access": "no", "motor_vehicle": "yes"}, True, False),
        ({"highway": "residential", "motor_vehicle": "no"}, False, True),
        ({"highway": "residential", "motorcar": "no"}, False, True),
        ({"highway": "residential", "access": "destination"}, True, True),
        ({"highway": "primary", "foot": "no"}, True, False),
        ({"highway": "pedestrian", "area": "yes"}, False, False),
        ({"highway": "service", "service": "parking_aisle"}, False, True),
        ({"highway": "service", "service": "driveway"}, False, True),
        ({"highway": "construction"}, False, False),
        ({"building": "yes"}, False, False),
    ],
)
def test_access_rules(tags: dict[str, str], drivable: bool, walkable: bool) -> None:
    assert is_drivable(tags) is drivable
    assert is_walkable(tags) is walkable


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "residential"}, (True, True)),
        ({"highway": "residential", "oneway": "yes"}, (True, False)),
        ({"highway": "residential", "oneway": "1"}, (True, False)),
        ({"highway": "residential", "oneway": "true"}, (True, False)),
        ({"highway": "residential", "oneway": "-1"}, (False, True)),
        ({"highway": "residential", "oneway": "reversible"}, (True, True)),
        ({"highway": "residential", "oneway": "no"}, (True, True)),
        ({"highway": "primary", "junction": "roundabout"}, (True, False)),
        ({"highway": "primary", "junction": "roundabout", "oneway": "no"}, (True, True)),
        ({"highway": "motorway"}, (True, False)),
    ],
)
def test_one_way_rules(tags: dict[str, str], expected: tuple[bool, bool]) -> None:
    assert way_directions(tags, mode="drive") == expected
    assert way_directions(tags, mode="walk") == (True, True)


def test_speed_table_and_maxspeed_cap() -> None:
    assert way_speed_kph({"highway": "motorway"}, mode="drive") == 110.0
    assert way_speed_kph({"highway": "motorway", "maxspeed": "FR:motorway"}, mode="drive") == 110.0
    assert way_speed_kph({"highway": "primary", "maxspeed": "50"}, mode="drive") == 50.0
    assert way_speed_kph({"highway": "residential", "maxspeed": "none"}, mode="drive") == 30.0
    assert way_speed_kph({"highway": "living_street"}, mode="drive") == 15.0
    assert way_speed_kph({"highway": "motorway"}, mode="walk") == WALK_SPEED_KPH
    ordered = [
        DRIVE_SPEEDS_KPH[k]
        for k in (
            "motorway",
            "trunk",
            "primary",
            "secondary",
            "tertiary",
            "residential",
            "living_street",
        )
    ]
    assert ordered == sorted(ordered, reverse=True)


# --------------------------------------------------------- approximate graph
@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    """Three 2 km squares in a row (dense, intermediate, rural) and a far island."""
    return gpd.GeoDataFrame(
        {
            "code": ["35001", "35002", "35003", "29155"],
            "population": [8000.0, 800.0, 40.0, 800.0],
        },
        geometry=[
            box(0, 0, 2000, 2000),
            box(2000, 0, 4000, 2000),
            box(4010, 0, 6000, 2000),  # 10 m gap: still adjacent
            box(20_000, 0, 22_000, 2000),
        ],
        crs=CRS,
    )


def test_approximate_graph_links_every_pair_on_the_same_land(communes: gpd.GeoDataFrame) -> None:
    graph = approximate_graph_from_communes(communes, crs=CRS, mode="drive")
    assert graph.approximate
    assert graph.mode == "drive"
    assert graph.node_label.tolist() == ["35001", "35002", "35003", "29155"]
    # The three touching communes are linked pairwise (not only neighbours); the island, 14 km
    # off, stands on another land mass and gets no link although it is within the radius.
    assert sorted(zip(graph.src.tolist(), graph.dst.tolist(), strict=True)) == [
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 2),
        (2, 0),
        (2, 1),
    ]
    assert shapely.contains_xy(communes.geometry.to_numpy(), graph.x, graph.y).all()


def test_approximate_graph_times_follow_the_model(communes: gpd.GeoDataFrame) -> None:
    graph = approximate_graph_from_communes(communes, crs=CRS, mode="drive")
    seconds = {(int(s), int(d)): t for s, d, t in zip(graph.src, graph.dst, graph.seconds, strict=True)}
    d02 = np.hypot(graph.x[2] - graph.x[0], graph.y[2] - graph.y[0])
    # 4,005 m straight: 5,366.7 m of road, the first 2 km at 30 km/h and the rest at 50 km/h.
    assert d02 == pytest.approx(4005.0)
    assert seconds[(0, 2)] == pytest.approx(2000 / (30 / 3.6) + (1.34 * 4005 - 2000) / (50 / 3.6), rel=1e-12)
    assert seconds[(2, 0)] == seconds[(0, 2)]
    # The direct link beats the chain through commune 1: Dijkstra returns the model's time.
    times, _ = nearest_facility_times(graph, np.array([2]))
    assert times[0] == pytest.approx(seconds[(0, 2)])
    assert times[0] < seconds[(0, 1)] + seconds[(1, 2)]

    walking = approximate_graph_from_communes(communes, crs=CRS, mode="walk", detour_factor=1.5)
    assert walking.mode == "walk" and walking.approximate
    step = {(int(s), int(d)): t for s, d, t in zip(walking.src, walking.dst, walking.seconds, strict=True)}
    assert step[(0, 2)] == pytest.approx(1.5 * 4005.0 / (5 / 3.6), rel=1e-12)


def test_approximate_drive_speeds_grow_with_distance() -> None:
    distance = np.array([0.0, 500.0, 1000.0, 5000.0, 20_000.0, 60_000.0])
    seconds = approximate_seconds(distance, mode="drive")
    assert seconds[0] == 0.0
    assert seconds[2] == pytest.approx(DETOUR_FACTOR * 1000.0 / (30 / 3.6))
    # 60 km straight = 80.4 km of road: 2 km at 30, 8 at 50, 20 at 80, 50.4 at 100 km/h.
    assert seconds[-1] == pytest.approx(3600 * (2 / 30 + 8 / 50 + 20 / 80 + 50.4 / 100))
    speed = DETOUR_FACTOR * distance[1:] / seconds[1:] * 3.6
    assert np.all(np.diff(speed) >= 0) and speed[-1] > 2 * speed[0]  # the average speed grows with the distance
    # Concave, hence subadditive: two legs never beat the direct trip.
    a, b = approximate_seconds(np.array([3000.0, 17_000.0]), mode="drive")
    assert approximate_seconds(np.array([20_000.0]), mode="drive")[0] < a + b
    for mode in ("drive", "walk"):
        radius = straight_distance_within(3600.0, mode=mode)
        assert approximate_seconds(np.array([radius]), mode=mode)[0] == pytest.approx(3600.0)


def test_approximate_graph_places_are_nodes(communes: gpd.GeoDataFrame) -> None:
    """A place is timed from its own position: 1.5 km inside the commune is not zero minutes."""
    places = gpd.GeoDataFrame(
        {"structure_id": ["ml:1", "ft:2"]},
        geometry=[Point(1900, 1900), Point(21_500, 1500)],
        crs=CRS,
    )
    graph = approximate_graph_from_communes(communes, crs=CRS, mode="walk", places=places)
    assert graph.node_label.tolist()[4:] == ["lieu:ml:1", "lieu:ft:2"]
    times, _ = nearest_facility_times(graph, np.array([4]))
    distance = np.hypot(1900 - graph.x[0], 1900 - graph.y[0])
    assert distance > 800
    assert times[0] == pytest.approx(approximate_seconds(np.array([distance]), mode="walk")[0])
    assert times[3] == np.inf  # the island commune does not reach the mainland place...
    island, _ = nearest_facility_times(graph, np.array([5]))
    assert np.isfinite(island[3]) and np.isinf(island[:3]).all()  # ...but reaches the island's


def test_approximate_graph_island_is_unreachable(communes: gpd.GeoDataFrame) -> None:
    graph = approximate_graph_from_communes(communes, crs=CRS, mode="drive")
    seconds, nearest = nearest_facility_times(graph, np.array([0]))
    assert np.isfinite(seconds[:3]).all()
    assert seconds[3] == np.inf
    assert nearest.tolist() == [0, 0, 0, -1]
    assert seconds[2] == pytest.approx(graph.to_csr()[2, 0])


def test_approximate_graph_uses_origin_points(communes: gpd.GeoDataFrame) -> None:
    communes["mairie"] = gpd.GeoSeries([Point(100, 100), None, Point(5900, 1900), Point(21000, 50)], crs=CRS)
    graph = approximate_graph_from_communes(communes, crs=CRS, mode="walk", origin_col="mairie")
    assert (graph.x[0], graph.y[0]) == (100.0, 100.0)
    assert (graph.x[2], graph.y[2]) == (5900.0, 1900.0)
    assert communes.geometry.iloc[1].contains(Point(graph.x[1], graph.y[1]))


def test_approximate_graph_errors(communes: gpd.GeoDataFrame) -> None:
    with pytest.raises(CrsError, match="expected EPSG:2154"):
        approximate_graph_from_communes(communes.to_crs("EPSG:3857"), crs=CRS, mode="drive")
    with pytest.raises(MissingColumnError, match="population"):
        approximate_graph_from_communes(communes.drop(columns="population"), crs=CRS, mode="drive")
    with pytest.raises(ValidationError, match="detour_factor"):
        approximate_graph_from_communes(communes, crs=CRS, mode="drive", detour_factor=0.5)
    with pytest.raises(ValidationError, match="drive_bands_kph"):
        approximate_graph_from_communes(
            communes, crs=CRS, mode="drive", drive_bands_kph=((1000.0, 50.0), (np.inf, 30.0))
        )
    with pytest.raises(GeometryError, match="row 1"):
        approximate_graph_from_communes(
            communes, crs=CRS, mode="drive", places=communes.rename(columns={"code": "structure_id"})
        )
    points = communes.set_geometry(communes.representative_point())
    with pytest.raises(GeometryError, match="row 1"):
        approximate_graph_from_communes(points, crs=CRS, mode="drive")
    missing = communes.copy()
    missing.loc[2, "population"] = np.nan
    with pytest.raises(ValidationError, match="row 3"):
        approximate_graph_from_communes(missing, crs=CRS, mode="drive")


def test_island_components_are_kept_on_demand() -> None:
    """Components of at least ``island_min_nodes`` are kept besides the largest one."""
    from geo.network.osm import graph_from_osm_file

    path = Path(__file__).parent / "data" / "andorra.osm.pbf"
    largest = graph_from_osm_file(path, mode="drive", crs="EPSG:2154")
    raw = graph_from_osm_file(path, mode="drive", crs="EPSG:2154", largest_component=False)
    _, labels = raw.strongly_connected_components()
    sizes = np.bincount(labels)
    threshold = int(np.sort(sizes)[-2])  # the second-largest component's size
    kept = graph_from_osm_file(path, mode="drive", crs="EPSG:2154", island_min_nodes=threshold)
    n_kept, kept_labels = kept.strongly_connected_components()
    assert n_kept == int((sizes >= threshold).sum()) >= 2
    assert kept.n_nodes == int(sizes[sizes >= threshold].sum()) > largest.n_nodes
    assert np.bincount(kept_labels).min() >= threshold
