"""Ferries: a synthetic OSM extract (written here with pyosmium) with a mainland and two
islands, one joined by a ``route=ferry`` way, the other without any boat.

Layout (WGS84, off the Morbihan coast; every coordinate is made up)::

    mainland   1 ---- 2 ---- 3 ---- 4 (quay)          lat 47.600
                                    |  ferry 4-20-11, duration 00:20
    island A                        11 ---- 12 ---- 13   lat 47.550
    island B   31 ---- 32 ---- 33 (no ferry)             lat 47.550, lon -3.05..-3.03
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pytest
import shapely

from geo.analysis.access import compute_access
from geo.network.ferries import FERRY_SPEED_KPH, LANDING_M, has_ferries, parse_duration, without_ferries
from geo.network.graph import load_npz
from geo.network.osm import graph_from_osm_file
from geo.routing import nearest_facility_times, snap_points

CRS = "EPSG:2154"
NODES = {
    1: (-3.000, 47.600),
    2: (-2.990, 47.600),
    3: (-2.980, 47.600),
    4: (-2.970, 47.600),
    20: (-2.970, 47.575),
    11: (-2.970, 47.550),
    12: (-2.960, 47.550),
    13: (-2.950, 47.550),
    31: (-3.050, 47.550),
    32: (-3.040, 47.550),
    33: (-3.030, 47.550),
}
WAYS = [
    (100, [1, 2, 3, 4], {"highway": "tertiary"}),
    (101, [11, 12, 13], {"highway": "residential"}),
    (102, [31, 32, 33], {"highway": "residential"}),
    (200, [4, 20, 11], {"route": "ferry", "duration": "00:20", "name": "Bac synthétique"}),
]


def write_synthetic(path: Path, ways: list[tuple[int, list[int], dict[str, str]]] = WAYS) -> Path:
    """Write the synthetic extract (nodes sorted by id, then ways) with pyosmium."""
    with osmium.SimpleWriter(str(path)) as writer:
        for node_id, (lon, lat) in sorted(NODES.items()):
            writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(lon, lat), version=1))
        for way_id, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags, version=1))
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("ferries") / "synthetic-islands.osm.pbf")


def box_around(ids: list[int], margin_deg: float = 0.004) -> shapely.Polygon:
    lons = [NODES[i][0] for i in ids]
    lats = [NODES[i][1] for i in ids]
    return shapely.box(min(lons) - margin_deg, min(lats) - margin_deg, max(lons) + margin_deg, max(lats) + margin_deg)


def territory() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Three communes (mainland, island A, island B) and one place on the mainland at node 2."""
    communes = gpd.GeoDataFrame(
        {"code": ["56001", "56002", "56003"], "population": [3000, 400, 200]},
        geometry=[box_around([1, 2, 3, 4]), box_around([11, 12, 13]), box_around([31, 32, 33])],
        crs="EPSG:4326",
    ).to_crs(CRS)
    places = gpd.GeoDataFrame(
        {
            "structure_id": ["ml:1"],
            "partner_type": ["mission_locale"],
            "missions": [["accueil"]],
            "publics": [["jeunes"]],
            "site_format": ["fixe"],
            "geocoding": ["source"],
        },
        geometry=gpd.points_from_xy([NODES[2][0]], [NODES[2][1]]),
        crs="EPSG:4326",
    ).to_crs(CRS)
    return communes, places


def test_parse_duration_forms() -> None:
    assert parse_duration("00:45") == 2700.0
    assert parse_duration("1:30") == 5400.0
    assert parse_duration("1:30:00") == 5400.0
    assert parse_duration("0:05:30") == 330.0
    assert parse_duration("45") == 2700.0  # bare minutes, as OSRM reads them
    assert parse_duration("PT1H30M") == 5400.0
    assert parse_duration("PT45M") == 2700.0
    assert parse_duration("P0DT2H") == 7200.0
    for bad in (None, "", "PT", "about an hour", "0:00", "12:75"):
        assert parse_duration(bad) is None, bad


@pytest.mark.parametrize("mode", ["drive", "walk"])
def test_ferry_joins_the_island_with_its_duration(synthetic: Path, mode: str) -> None:
    graph = graph_from_osm_file(synthetic, mode=mode, crs=CRS, island_min_nodes=2)
    assert has_ferries(graph)
    ids = graph.node_id.tolist()
    assert {1, 4, 11, 13, 20, 31, 33} <= set(ids)
    ferry_edges = {(ids[s], ids[d]) for s, d, f in zip(graph.src, graph.dst, graph.ferry, strict=True) if f}
    assert ferry_edges == {(4, 20), (20, 11), (11, 20), (20, 4)}
    crossing = graph.seconds[graph.ferry]
    assert crossing.sum() == pytest.approx(2 * 20 * 60.0)  # both directions, 20 min each
    times, _ = nearest_facility_times(graph, np.array([ids.index(4)]))
    assert times[ids.index(11)] == pytest.approx(1200.0)  # the quay of island A: the crossing
    assert np.isfinite(times[ids.index(13)])
    assert np.isinf(times[ids.index(31)])  # island B: no boat, its own network as before
    bare, _ = nearest_facility_times(without_ferries(graph), np.array([ids.index(4)]))
    assert np.isinf(bare[ids.index(13)])
    # The flag survives storage as .npz bytes (the network table's format).
    assert np.array_equal(load_npz(graph.to_npz_bytes()).ferry, graph.ferry)


def test_islanders_get_a_real_time_flagged_as_ferry(synthetic: Path) -> None:
    communes, places = territory()
    for mode in ("drive", "walk"):
        graph = graph_from_osm_file(synthetic, mode=mode, crs=CRS, island_min_nodes=2)
        result = compute_access(graph, communes, places)
        nearest = result.nearest[result.nearest["category"] == "any"].set_index("commune_code")
        assert not nearest.loc["56001", "ferry"]
        assert nearest.loc["56002", "ferry"], mode
        assert nearest.loc["56002", "seconds"] > 1200.0  # the crossing and the roads on both sides
        assert np.isnan(nearest.loc["56003", "seconds"]) and not nearest.loc["56003", "ferry"]
        od = result.od.set_index("commune_code")
        assert od.loc["56002", "ferry"] and not od.loc["56001", "ferry"]
        assert "56003" not in od.index


def test_ferry_without_duration_and_landing(tmp_path: Path) -> None:
    """No ``duration``: the length at 5 km/h; an end 110 m from the road gets a landing link."""
    NODES[21] = (-2.9685, 47.600)  # 110 m east of node 4, on no road
    try:
        path = write_synthetic(
            tmp_path / "synthetic-landing.osm.pbf",
            [*WAYS[:3], (200, [21, 20, 11], {"route": "ferry"}), (201, [3, 33], {"route": "ferry", "access": "no"})],
        )
        graph = graph_from_osm_file(path, mode="walk", crs=CRS)
    finally:
        del NODES[21]
    ids = graph.node_id.tolist()
    assert 31 not in ids  # the closed ferry joins nothing: island B is dropped
    on_boat = graph.seconds[graph.ferry]
    x = dict(zip(ids, graph.x, strict=True))
    y = dict(zip(ids, graph.y, strict=True))
    length = np.hypot(x[21] - x[20], y[21] - y[20]) + np.hypot(x[20] - x[11], y[20] - y[11])
    assert on_boat.sum() == pytest.approx(2 * length / (FERRY_SPEED_KPH / 3.6))
    node, gap = snap_points(graph, np.array([x[21]]), np.array([y[21]]))
    landing = graph.to_csr()[ids.index(21), ids.index(4)]
    assert 0 < np.hypot(x[21] - x[4], y[21] - y[4]) <= LANDING_M
    assert landing > 0 and gap[0] == 0.0 and node[0] == ids.index(21)


def test_graph_without_ferries_is_unchanged(tmp_path: Path) -> None:
    path = write_synthetic(tmp_path / "synthetic-noferry.osm.pbf", WAYS[:3])
    graph = graph_from_osm_file(path, mode="drive", crs=CRS, island_min_nodes=2)
    assert graph.ferry is None and not has_ferries(graph)
    communes, places = territory()
    result = compute_access(graph, communes, places)
    assert not result.nearest["ferry"].any() and not result.od["ferry"].any()
    nearest = result.nearest[result.nearest["category"] == "any"].set_index("commune_code")
    assert np.isnan(nearest.loc["56002", "seconds"])  # island A is unreachable without its ferry
    assert np.isfinite(nearest.loc["56001", "seconds"])


# ------------------------------------------- from the tables to the finder, the API, exports
def test_ferry_flag_reaches_the_finder_the_api_and_exports(pilot_copy: str) -> None:
    """On the real pilot: Île-de-Batz (29082), joined to Roscoff (29239) by a boat edge of 15
    minutes added to the approximate graph, gets flagged times, stored, shown and exported."""
    from geo.analysis.access import accessibility_tables
    from geo.export import planner_layers
    from geo.network.approximate import approximate_graph_from_communes
    from geo.network.graph import RoadGraph
    from storage import db
    from storage.access import read_communes, read_places, replace_access
    from storage.common import region_crs
    from storage.export import export_tables
    from webapp import create_app

    with db.connect(pilot_copy) as conn:
        communes = read_communes(conn)
        places, labels = read_places(conn)
        crs = region_crs(conn)
    base = approximate_graph_from_communes(communes, crs=crs, mode="drive", places=places)
    nodes = base.node_label.tolist()
    batz, roscoff = nodes.index("29082"), nodes.index("29239")
    graph = RoadGraph(
        node_id=base.node_id,
        x=base.x,
        y=base.y,
        src=np.concatenate((base.src, [batz, roscoff])),
        dst=np.concatenate((base.dst, [roscoff, batz])),
        seconds=np.concatenate((base.seconds, [900.0, 900.0])),
        crs=crs,
        mode="drive",
        approximate=True,
        node_label=base.node_label,
        ferry=np.concatenate((np.zeros(base.n_edges, dtype=bool), [True, True])),
    )
    result, indicators, polygons = accessibility_tables(graph, communes, places, partner_labels=labels)
    nearest = result.nearest.set_index(["commune_code", "category"])
    assert nearest.loc[("29082", "any"), "ferry"] and nearest.loc[("29082", "any"), "seconds"] > 900
    assert not nearest.loc[("29239", "any"), "ferry"]
    assert np.isnan(nearest.loc[("29083", "any"), "seconds"])  # Île-de-Sein: no boat, unreachable as before
    with db.connect(pilot_copy) as conn:
        replace_access(conn, result=result, indicators=indicators, isochrones=polygons, network="test")
        stored = dict(
            conn.execute(
                "SELECT commune_code, bool_and(ferry) FROM commune_structure_time "
                "WHERE commune_code IN ('29082', '29239') GROUP BY commune_code"
            ).fetchall()
        )
        assert stored == {"29082": True, "29239": False}
        layers = planner_layers(export_tables(conn))
    exported = layers["communes"].set_index("code")
    assert exported.loc["29082", "bateau_drive"] and not exported.loc["29239", "bateau_drive"]
    per_category = layers["indicateurs_communes"].set_index(["commune_code", "categorie"])
    assert per_category.loc[("29082", "any"), "bateau"]

    app = create_app({"DATABASE_URL": pilot_copy, "TESTING": True})
    try:
        with app.test_client() as client:
            island = client.get("/?q=29082&commune=29082").get_data(as_text=True)
            mainland = client.get("/?q=29239&commune=29239").get_data(as_text=True)
            assert "dont traversée en bateau" in island
            assert "dont traversée en bateau" not in mainland
            results = client.get("/api/nearest?commune=29082&mode=drive").get_json()["results"]
            assert results and all(r["ferry"] for r in results if r["ranked_by"] == "time")
            assert not any(r["ferry"] for r in client.get("/api/nearest?commune=29239").get_json()["results"])
            access = client.get("/api/communes/29082/access").get_json()
            assert all(c["ferry"] for c in access["modes"]["drive"]["categories"] if c["seconds"] is not None)
            csv = client.get("/api/access/communes?mode=drive&category=any&format=csv").get_data(as_text=True)
            assert "ferry" in csv.splitlines()[0]
    finally:
        app.extensions["atlas_pool"].close()


@pytest.mark.parametrize(("duration", "by_boat"), [("00:05", True), ("2:00", False)])
def test_a_ferry_across_a_bay_is_flagged_only_when_it_is_faster(tmp_path: Path, duration: str, by_boat: bool) -> None:
    """Mainland both sides: the road round the bay (about 16 km) against a boat across it."""
    NODES.update({40: (-3.000, 47.700), 41: (-2.900, 47.700), 42: (-2.950, 47.650)})
    try:
        path = write_synthetic(
            tmp_path / "synthetic-bay.osm.pbf",
            [
                (110, [40, 42, 41], {"highway": "secondary"}),
                (210, [40, 41], {"route": "ferry", "duration": duration}),
            ],
        )
        graph = graph_from_osm_file(path, mode="drive", crs=CRS)
        communes = gpd.GeoDataFrame(
            {"code": ["56010", "56011"], "population": [100, 100]},
            geometry=[box_around([40]), box_around([41])],
            crs="EPSG:4326",
        ).to_crs(CRS)
        _, places = territory()
        places = places.set_geometry(gpd.points_from_xy([NODES[41][0]], [NODES[41][1]], crs="EPSG:4326").to_crs(CRS))
    finally:
        for node in (40, 41, 42):
            del NODES[node]
    result = compute_access(graph, communes, places)
    nearest = result.nearest[result.nearest["category"] == "any"].set_index("commune_code")
    assert nearest.loc["56010", "ferry"] == by_boat
    assert result.od.set_index("commune_code").loc["56010", "ferry"] == by_boat
    assert not nearest.loc["56011", "ferry"]  # the place is in this commune
    if by_boat:
        assert nearest.loc["56010", "seconds"] < 600


def test_a_crossing_beyond_the_table_bound_is_flagged(tmp_path: Path) -> None:
    """A 1 h 30 crossing puts island A beyond the 1-hour table: the flag comes from the
    unbounded search."""
    ways = [*WAYS[:3], (200, [4, 20, 11], {"route": "ferry", "duration": "1:30"})]
    graph = graph_from_osm_file(write_synthetic(tmp_path / "synthetic-far.osm.pbf", ways), mode="drive", crs=CRS)
    communes, places = territory()
    result = compute_access(graph, communes, places)
    nearest = result.nearest[result.nearest["category"] == "any"].set_index("commune_code")
    assert nearest.loc["56002", "seconds"] > 5400 and nearest.loc["56002", "ferry"]
    assert "56002" not in set(result.od["commune_code"])
    assert not nearest.loc["56001", "ferry"]


# ------------------------------------------- the one-read reader, storage of the flag
def test_one_read_for_both_modes_keeps_the_ferries(synthetic: Path) -> None:
    """graphs_from_osm_file reads the extract once for both modes: each graph has its ferry
    edges, added before the largest component is kept (island A stays, joined; island B goes),
    the same as a build of that mode alone."""
    from geo.network.osm import graphs_from_osm_file

    graphs = list(graphs_from_osm_file(synthetic, modes=("drive", "walk"), crs=CRS))
    assert [g.mode for g in graphs] == ["drive", "walk"]
    for graph in graphs:
        alone = graph_from_osm_file(synthetic, mode=graph.mode, crs=CRS)
        ids = graph.node_id.tolist()
        assert set(ids) == {1, 2, 3, 4, 20, 11, 12, 13}  # island A joined by its ferry, B dropped
        assert graph.ferry is not None and not graph.ferry.flags.writeable
        assert {(ids[s], ids[d]) for s, d in zip(graph.src[graph.ferry], graph.dst[graph.ferry], strict=True)} == {
            (4, 20),
            (20, 11),
            (11, 20),
            (20, 4),
        }
        for name in ("node_id", "x", "y", "src", "dst", "seconds", "ferry"):
            assert np.array_equal(getattr(graph, name), getattr(alone, name)), name
        # Nodes in Z-order: the flags follow their edges through the renumbering.
        assert np.array_equal(graph.node_id, graph.sorted_spatially().node_id)


def test_ferry_flags_survive_the_network_table(pilot_copy: str, synthetic: Path, tmp_path: Path) -> None:
    """save_network / load_network keep the ferry flags and the stored road density; a
    graph without ferries (and an .npz of before ferries) reads back with ``ferry`` None."""
    import json

    from geo.origins import DENSITY_RADIUS_M, prepare_origins
    from storage import db
    from storage.access import load_network, save_network

    graph = graph_from_osm_file(synthetic, mode="walk", crs=CRS, island_min_nodes=2)
    density = prepare_origins(graph)
    plain = graph_from_osm_file(
        write_synthetic(tmp_path / "synthetic-noferry.osm.pbf", WAYS[:3]), mode="drive", crs=CRS
    )
    with db.connect(pilot_copy) as conn:
        save_network(conn, graph, source="synthetic-islands.osm.pbf", source_sha256=None)
        save_network(conn, plain, source="synthetic-noferry.osm.pbf", source_sha256=None)
        stored_walk, stored_drive = load_network(conn, "walk"), load_network(conn, "drive")
    assert stored_walk is not None and stored_drive is not None
    walk, drive = stored_walk[0], stored_drive[0]
    assert walk.ferry is not None and np.array_equal(walk.ferry, graph.ferry) and not walk.ferry.flags.writeable
    assert any(key.startswith("node_density_") for key in walk._cache)  # stored, not recounted
    assert np.array_equal(walk.node_density(DENSITY_RADIUS_M), density)
    assert drive.ferry is None and not has_ferries(drive)

    # A graph stored before ferries existed (compressed, no ferry array) still reads.
    old = tmp_path / "before-ferries.npz"
    meta = {"format_version": 2, "crs": plain.crs, "mode": plain.mode, "approximate": False}
    arrays = {name: getattr(plain, name) for name in ("node_id", "x", "y", "src", "dst", "seconds")}
    np.savez_compressed(old, meta=np.array(json.dumps(meta)), **arrays)
    reread = load_npz(old)
    assert reread.ferry is None and np.array_equal(reread.seconds, plain.seconds)
