"""Accessibility per commune and category (geo.traveltimes, geo.analysis.access): hand-built
territories and the real Andorra graph, with networkx as the oracle."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.analysis.access import compute_access, summarise_levels
from geo.categories import Category, categories_for
from geo.errors import CrsError, MissingColumnError, ValidationError
from geo.isochrones import place_isochrones
from geo.network import RoadGraph
from geo.network.approximate import approximate_graph_from_communes, approximate_seconds
from geo.network.osm import graph_from_osm_file
from geo.routing import od_matrix
from geo.traveltimes import CONNECTOR_DETOUR, CONNECTOR_SPEED_KPH, network_coverage

CRS = "EPSG:2154"
ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
X0, Y0 = 600_000.0, 6_800_000.0


def line_territory(n: int = 5, *, one_way: bool = False) -> tuple[RoadGraph, gpd.GeoDataFrame]:
    """``n`` square communes of 1 km in a row, one road node at each centre, 60 s per link.

    With ``one_way`` the road only runs eastwards (from commune i to i + 1).
    """
    src = list(range(n - 1)) + ([] if one_way else list(range(1, n)))
    dst = list(range(1, n)) + ([] if one_way else list(range(n - 1)))
    graph = RoadGraph(
        node_id=np.arange(n),
        x=X0 + 500.0 + 1000.0 * np.arange(n),
        y=np.full(n, Y0 + 500.0),
        src=src,
        dst=dst,
        seconds=np.full(len(src), 60.0),
        crs=CRS,
        mode="drive",
    )
    communes = gpd.GeoDataFrame(
        {
            "code": [f"29{i:03d}" for i in range(n)],
            "population": [1000 * (i + 1) for i in range(n)],
            "epci": ["A", "A", "B", "B", "B"][:n],
            "departement": "29",
        },
        geometry=[shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(n)],
        crs=CRS,
    )
    return graph, communes


def places_at(rows: list[dict]) -> gpd.GeoDataFrame:
    """Places at the centre of commune ``at`` (on the road node: no connector)."""
    defaults = {"missions": ["accueil"], "publics": ["jeunes"], "site_format": "fixe", "geocoding": "source"}
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    geometry = shapely.points(X0 + 500.0 + 1000.0 * frame.pop("at").to_numpy(), Y0 + 500.0)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)


def nearest_of(result, category: str) -> pd.DataFrame:
    return result.nearest[result.nearest["category"] == category].set_index("commune_code")


# ------------------------------------------------------- hand-built territories
def test_nearest_place_per_category_on_a_line() -> None:
    graph, communes = line_territory()
    places = places_at(
        [
            {
                "structure_id": "a:ml",
                "partner_type": "mission_locale",
                "at": 0,
                "missions": ["accueil", "conseil"],
                "publics": ["jeunes"],
            },
            {
                "structure_id": "b:fs",
                "partner_type": "france_services",
                "at": 4,
                "missions": ["accueil"],
                "publics": ["tout_public"],
            },
        ]
    )
    result = compute_access(graph, communes, places)

    any_ = nearest_of(result, "any")
    assert any_["seconds"].tolist() == [0.0, 60.0, 120.0, 60.0, 0.0]
    # Commune 2 is 120 s from both: the tie goes to the place listed first (same connector).
    assert any_["structure_id"].tolist() == ["a:ml", "a:ml", "a:ml", "b:fs", "b:fs"]
    conseil = nearest_of(result, "mission:conseil")
    assert conseil["seconds"].tolist() == [0.0, 60.0, 120.0, 180.0, 240.0]
    # tout_public counts for every public; a public no place serves has no category.
    assert nearest_of(result, "public:jeunes")["seconds"].max() == 120.0
    assert set(result.categories["code"]) == {
        "any",
        "any:fixe",
        "mission:accueil",
        "mission:accueil:fixe",
        "mission:conseil",
        "mission:conseil:fixe",
        "partner_type:france_services",
        "partner_type:mission_locale",
        "public:jeunes",
    }
    # Two partner networks within 30 minutes everywhere on this short line.
    assert any_["n_operators_30"].tolist() == [2, 2, 2, 2, 2]


def test_one_way_road_and_unreachable_communes() -> None:
    graph, communes = line_territory(one_way=True)
    places = places_at([{"structure_id": "a:1", "partner_type": "cio", "at": 2}])
    result = compute_access(graph, communes, places)
    any_ = nearest_of(result, "any")
    # Communes upstream (west) reach the place; downstream ones cannot drive back.
    assert any_["seconds"].iloc[:3].tolist() == [120.0, 60.0, 0.0]
    assert any_["seconds"].iloc[3:].isna().all()
    assert any_["structure_id"].iloc[3:].isna().all()
    assert (any_["fca"].iloc[3:] == 0).all()


def test_itinerant_places_are_kept_apart_in_fixed_only_categories() -> None:
    graph, communes = line_territory()
    places = places_at(
        [
            {"structure_id": "a:bus", "partner_type": "france_services", "at": 4, "site_format": "bus"},
            {"structure_id": "a:fixe", "partner_type": "france_services", "at": 0},
        ]
    )
    result = compute_access(graph, communes, places)
    assert nearest_of(result, "any").loc["29004", "structure_id"] == "a:bus"
    fixed = nearest_of(result, "any:fixe")
    assert fixed.loc["29004", "structure_id"] == "a:fixe"
    assert fixed.loc["29004", "seconds"] == 240.0


def test_connectors_add_straight_line_legs() -> None:
    graph, communes = line_territory()
    # 300 m north of node 1: 300 m x detour at the car connector speed.
    places = gpd.GeoDataFrame(
        {
            "structure_id": ["a:1"],
            "partner_type": ["cio"],
            "missions": [["conseil"]],
            "publics": [["jeunes"]],
            "site_format": ["fixe"],
            "geocoding": ["adresse"],
        },
        geometry=[shapely.Point(X0 + 1500.0, Y0 + 800.0)],
        crs=CRS,
    )
    result = compute_access(graph, communes, places)
    leg = 300.0 * CONNECTOR_DETOUR / (CONNECTOR_SPEED_KPH["drive"] / 3.6)
    np.testing.assert_allclose(nearest_of(result, "any")["seconds"].to_numpy(), np.array([60, 0, 60, 120, 180]) + leg)
    od = result.od.set_index("commune_code")["seconds"]
    np.testing.assert_allclose(od.to_numpy(), np.array([60, 0, 60, 120, 180]) + leg)


def test_origins_far_from_the_network_are_off_network() -> None:
    graph, communes = line_territory()
    island = gpd.GeoDataFrame(
        {"code": ["29900"], "population": [500], "epci": ["B"], "departement": "29"},
        geometry=[shapely.box(X0, Y0 + 10_000, X0 + 1000, Y0 + 11_000)],
        crs=CRS,
    )
    communes = pd.concat([communes, island], ignore_index=True)
    places = places_at([{"structure_id": "a:1", "partner_type": "cio", "at": 0}])
    result = compute_access(graph, communes, places)
    assert result.origins.set_index("code").loc["29900", "off_network"]
    row = nearest_of(result, "any").loc["29900"]
    assert np.isnan(row["seconds"]) and pd.isna(row["structure_id"])
    assert "29900" not in set(result.od["commune_code"])


def test_od_matrix_respects_the_limit_and_shared_nodes() -> None:
    graph, _ = line_territory()
    # Origins are rows, destinations columns (geo.traveltimes): nodes 0..4 to places at 0, 0, 4.
    matrix = od_matrix(graph, np.arange(5), np.array([0, 0, 4]), limit_s=150.0, batch_size=2)
    expected = np.array([[0, 60, 120, np.inf, np.inf]] * 2 + [[np.inf, np.inf, 120, 60, 0]], dtype=float).T
    np.testing.assert_array_equal(matrix, expected)


def test_levels_aggregate_population_weighted() -> None:
    graph, communes = line_territory()
    places = places_at([{"structure_id": "a:1", "partner_type": "cio", "at": 0}])
    result = compute_access(graph, communes, places)
    levels = summarise_levels(result.nearest, communes, levels=("epci", "region"))
    row = levels.query("level == 'epci' and code == 'A' and category == 'any'").iloc[0]
    # Communes 0 (1000 inh., 0 s) and 1 (2000 inh., 60 s): mean (0 + 2000 * 1) / 3000 min.
    assert row["population"] == 3000
    assert row["mean_min"] == pytest.approx(2 / 3)
    region = levels.query("level == 'region' and category == 'any'").iloc[0]
    assert region["population"] == 15_000 and region["share_10"] == pytest.approx(1.0)


def test_approximate_graph_results_and_commune_isochrones() -> None:
    _, communes = line_territory()
    places = places_at([{"structure_id": "a:1", "partner_type": "cio", "at": 0}])
    graph = approximate_graph_from_communes(communes, crs=CRS, mode="walk", places=places)
    result = compute_access(graph, communes, places)
    assert result.approximate and result.mode == "walk"
    assert (result.origins["origin_method"] == "commune_node").all()
    assert result.places["snap_m"].tolist() == [0.0]  # the place is a node of its own
    seconds = nearest_of(result, "any")["seconds"].to_numpy()
    # Straight line x 1.34 at 5 km/h from each commune's centre: 16.08 min per km.
    assert seconds == pytest.approx(approximate_seconds(1000.0 * np.arange(5), mode="walk"))
    polygons = place_isochrones(graph, result.places, minutes=(15, 45), communes=communes, od=result.od)
    by_minutes = polygons.set_index("minutes").geometry
    # 1 km is 16.08 min: the 15-minute isochrone is the place's own commune, 45 min reach 2 km.
    assert by_minutes.loc[15].equals(communes.geometry.iloc[0])
    three = shapely.union_all(communes.geometry.iloc[:3].to_numpy())
    assert by_minutes.loc[45].symmetric_difference(three).area < 1e-6


def test_approximate_time_inside_a_commune_comes_from_the_distance() -> None:
    """A place 450 m from the commune's centre is timed over 450 m, not a flat minute."""
    _, communes = line_territory()
    places = places_at([{"structure_id": "a:1", "partner_type": "cio", "at": 2}])
    places = places.set_geometry(places.geometry.translate(xoff=450.0))
    graph = approximate_graph_from_communes(communes, crs=CRS, mode="drive", places=places)
    seconds = nearest_of(compute_access(graph, communes, places), "any")["seconds"].to_numpy()
    assert seconds[2] == pytest.approx(approximate_seconds(np.array([450.0]), mode="drive")[0])
    assert seconds[3] == pytest.approx(approximate_seconds(np.array([550.0]), mode="drive")[0])
    assert seconds[0] == pytest.approx(approximate_seconds(np.array([2450.0]), mode="drive")[0])


def test_input_errors_name_the_field() -> None:
    graph, communes = line_territory()
    places = places_at([{"structure_id": "a:1", "partner_type": "cio", "at": 0}])
    with pytest.raises(MissingColumnError, match="population"):
        compute_access(graph, communes.drop(columns="population"), places)
    with pytest.raises(CrsError):
        compute_access(graph, communes.to_crs("EPSG:4326"), places)
    duplicated = pd.concat([places, places], ignore_index=True)
    with pytest.raises(ValidationError, match="appears twice") as error:
        compute_access(graph, communes, duplicated)
    assert error.value.row == 2 and error.value.field == "structure_id"
    with pytest.raises(ValidationError, match="od_limit_s"):
        compute_access(graph, communes, places, od_limit_s=600)


def test_category_codes_and_masks() -> None:
    places = places_at(
        [
            {"structure_id": "a", "partner_type": "cio", "at": 0, "publics": ["tout_public"]},
            {"structure_id": "b", "partner_type": "cio", "at": 1, "site_format": "itinerant"},
        ]
    )
    assert Category("mission", "conseil", fixed_only=True).code == "mission:conseil:fixe"
    assert Category("public", "jeunes").mask(places).tolist() == [True, True]
    assert Category("any", fixed_only=True).mask(places).tolist() == [True, False]
    assert [c.code for c in categories_for(places)][:2] == ["any", "any:fixe"]


# ------------------------------------------------------ real graph, networkx oracle
@pytest.fixture(scope="module")
def andorra_drive() -> RoadGraph:
    return graph_from_osm_file(ANDORRA, mode="drive", crs=CRS)


def test_andorra_nearest_and_matrix_match_networkx(andorra_drive: RoadGraph) -> None:
    """Synthetic communes (a 2 km grid) and places on the real Andorra road graph."""
    graph = andorra_drive
    xmin, ymin, xmax, ymax = graph.x.min(), graph.y.min(), graph.x.max(), graph.y.max()
    cells = [
        shapely.box(x, y, x + 2000, y + 2000) for x in np.arange(xmin, xmax, 2000) for y in np.arange(ymin, ymax, 2000)
    ]
    communes = gpd.GeoDataFrame(
        {"code": [f"99{i:03d}" for i in range(len(cells))], "population": 100},
        geometry=cells,
        crs=CRS,
    )
    rng = np.random.default_rng(7)
    nodes = rng.choice(graph.n_nodes, size=12, replace=False)
    places = gpd.GeoDataFrame(
        {
            "structure_id": [f"synthetic:{i:02d}" for i in range(12)],
            "partner_type": ["cio", "mission_locale", "france_services"] * 4,
            "missions": [["conseil"], ["accueil"], ["accueil"]] * 4,
            "publics": [["jeunes"]] * 12,
            "site_format": "fixe",
            "geocoding": "source",
        },
        geometry=shapely.points(graph.x[nodes], graph.y[nodes]),
        crs=CRS,
    )
    result = compute_access(graph, communes, places)
    reachable = ~result.origins["off_network"].to_numpy()
    assert reachable.sum() > 5
    reverse = graph.reverse().to_networkx()
    conseil = nodes[[i for i in range(12) if i % 3 == 0]]
    oracle = nx.multi_source_dijkstra_path_length(reverse, set(conseil.tolist()), weight="seconds")
    origin_nodes = result.origins["node"].to_numpy()
    snap = result.origins["snap_m"].to_numpy() * CONNECTOR_DETOUR / (CONNECTOR_SPEED_KPH["drive"] / 3.6)
    expected = np.array([oracle.get(int(n), np.inf) for n in origin_nodes]) + snap
    got = nearest_of(result, "mission:conseil")["seconds"].to_numpy()
    np.testing.assert_allclose(got[reachable], np.where(np.isfinite(expected), expected, np.nan)[reachable], rtol=1e-6)
    # Matrix entries against single-source networkx runs for two places.
    for place in (0, 5):
        lengths = nx.single_source_dijkstra_path_length(reverse, int(nodes[place]), weight="seconds")
        pairs = result.od[result.od["structure_id"] == f"synthetic:{place:02d}"].set_index("commune_code")
        for code, seconds in pairs["seconds"].items():
            i = int(code[2:])
            assert seconds == pytest.approx(lengths[int(origin_nodes[i])] + snap[i], rel=1e-6)


def test_network_coverage_is_a_population_share() -> None:
    graph, communes = line_territory()
    assert network_coverage(graph, communes) == 1.0
    far = communes.copy()
    far["geometry"] = far.geometry.translate(xoff=0, yoff=50_000)
    mixed = pd.concat([communes.iloc[:2], far.iloc[2:]], ignore_index=True)
    # Communes 0 and 1 (1,000 + 2,000 of 15,000 inhabitants) are on the network.
    assert network_coverage(graph, mixed) == pytest.approx(3 / 15)
    with pytest.raises(CrsError):
        network_coverage(graph, communes.to_crs("EPSG:4326"))


def test_isochrones_of_communes_whose_shared_edge_differs_by_a_hair() -> None:
    """Two communes sharing an edge written 9.35 and 9.350000000000001: once projected the
    coverage union refuses them (incorrectly noded); the isochrone is still their union."""
    from geo.coverage import union_of_tiles

    west = shapely.Polygon([(9.3, 42.6), (9.350000000000001, 42.6), (9.350000000000001, 42.65), (9.3, 42.65)])
    east = shapely.Polygon([(9.35, 42.6), (9.4, 42.6), (9.4, 42.65), (9.35, 42.65)])
    pair = gpd.GeoSeries([west, east], crs="EPSG:4326").to_crs("EPSG:2154").to_numpy()
    with pytest.raises(shapely.errors.GEOSException):
        shapely.coverage_union_all(pair)
    union = union_of_tiles(pair)
    assert union.is_valid and union.area == pytest.approx(pair[0].area + pair[1].area, rel=1e-9)
