"""Commune origins: the densest road node (density stored with the graph) or the most
populated cell of a population grid (INSEE Filosofi 200 m), and the grid's reader.

Every grid file here is SYNTHETIC (named so): cells and counts are made up."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from geo.errors import MissingColumnError, ValidationError
from geo.network.graph import load_npz
from geo.network.osm import graph_from_osm_file
from geo.network.speeds import is_walkable
from geo.origins import DENSITY_RADIUS_M, POPULATION_GRID, ROAD_DENSITY, commune_origins, prepare_origins
from geo.sources.population_grid import read_population_grid
from storage import db
from tests.conftest import PILOT_DIR, atlas

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
CRS = "EPSG:3035"  # the Filosofi grid's CRS, so that synthetic cells are easy to place


def brute_force_origins(communes: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The road-density rule written plainly: every node tested against every commune."""
    coords = np.column_stack([x, y])
    density = cKDTree(coords).query_ball_point(coords, r=DENSITY_RADIUS_M, return_length=True)
    best = []
    for polygon, rep in zip(communes.geometry, communes.geometry.representative_point(), strict=True):
        inside = np.flatnonzero(shapely.contains_xy(polygon, x, y))
        if not inside.size:
            best.append(None)
            continue
        top = inside[density[inside] == density[inside].max()]
        dist = np.hypot(x[top] - rep.x, y[top] - rep.y)
        best.append(tuple(coords[top[np.lexsort((top, dist))[0]]]))
    return np.array(best, dtype=object)


@pytest.fixture(scope="module")
def walk_graph():
    return graph_from_osm_file(ANDORRA, mode="walk", crs=CRS)


@pytest.fixture(scope="module")
def squares(walk_graph) -> gpd.GeoDataFrame:
    """SYNTHETIC communes: 4 x 3 squares over the Andorra network, and one off it."""
    xmin, ymin, xmax, ymax = walk_graph.x.min(), walk_graph.y.min(), walk_graph.x.max(), walk_graph.y.max()
    xs, ys = np.linspace(xmin, xmax, 5), np.linspace(ymin, ymax, 4)
    cells = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(4) for j in range(3)]
    cells.append(shapely.box(xmax + 5_000, ymax + 5_000, xmax + 6_000, ymax + 6_000))
    return gpd.GeoDataFrame({"code": [f"S{i:02d}" for i in range(len(cells))]}, geometry=cells, crs=CRS)


def test_densest_node_rule_matches_the_plain_computation(walk_graph, squares):
    origins = commune_origins(squares, walk_graph.x, walk_graph.y, density=prepare_origins(walk_graph))
    expected = brute_force_origins(squares, walk_graph.x, walk_graph.y)
    for point, method, want in zip(origins.geometry, origins["origin_method"], expected, strict=True):
        if want is None:
            assert method == "representative_point"
        else:
            assert method == ROAD_DENSITY and (point.x, point.y) == want
    assert (origins["origin_method"] == ROAD_DENSITY).sum() >= 8
    # Without the stored density, the same origins.
    recount = commune_origins(squares, walk_graph.x, walk_graph.y)
    assert recount.geometry.equals(origins.geometry)


def test_density_is_stored_with_the_graph(walk_graph):
    density = prepare_origins(walk_graph)
    assert density.dtype == np.int32 and density.min() >= 1
    back = load_npz(walk_graph.to_npz_bytes())
    assert np.array_equal(back._cache[f"node_density_{DENSITY_RADIUS_M:g}"], density)
    assert back.node_density(DENSITY_RADIUS_M) is back._cache[f"node_density_{DENSITY_RADIUS_M:g}"]


def synthetic_grid_csv(path: Path, cells: list[tuple[float, float, float]], separator: str = ";") -> Path:
    """A SYNTHETIC Filosofi-format CSV: (easting, northing of the south-west corner, inhabitants)."""
    rows = [f"Idcar_200m{separator}Ind{separator}Men"]
    rows += [f"CRS3035RES200mN{int(n)}E{int(e)}{separator}{ind}{separator}1" for e, n, ind in cells]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_population_grid_puts_the_origin_in_the_most_populated_cell(walk_graph, squares, tmp_path):
    first = squares.geometry.iloc[0]
    x0, y0 = (int(v) // 200 * 200 + 400 for v in first.bounds[:2])
    cells = [(x0, y0, 12.5), (x0 + 200, y0, 80.0), (x0, y0 + 400, 3.0)]
    grid = read_population_grid(synthetic_grid_csv(tmp_path / "synthetic-filosofi-200m.csv", cells))
    assert grid.crs == "EPSG:3035" and list(grid["population"]) == [12.5, 80.0, 3.0]
    assert (grid.geometry.x.iloc[1], grid.geometry.y.iloc[1]) == (x0 + 300, y0 + 100)
    origins = commune_origins(
        squares, walk_graph.x, walk_graph.y, density=prepare_origins(walk_graph), population_grid=grid
    )
    assert origins["origin_method"].iloc[0] == POPULATION_GRID
    assert (origins.geometry.iloc[0].x, origins.geometry.iloc[0].y) == (x0 + 300, y0 + 100)
    # The other communes have no populated cell: the road-density rule.
    assert set(origins["origin_method"].iloc[1:12]) == {ROAD_DENSITY}
    # Cells in another CRS are reprojected first.
    moved = commune_origins(squares, walk_graph.x, walk_graph.y, population_grid=grid.to_crs("EPSG:4326"))
    assert moved.geometry.iloc[0].distance(origins.geometry.iloc[0]) < 0.01


def test_population_grid_as_geopackage(tmp_path):
    cells = gpd.GeoDataFrame(
        {"IND": [5.0, 0.0]}, geometry=[shapely.box(0, 0, 200, 200), shapely.box(200, 0, 400, 200)], crs=CRS
    )
    path = tmp_path / "synthetic-filosofi-200m.gpkg"
    cells.to_file(path, driver="GPKG")
    grid = read_population_grid(path)
    assert len(grid) == 1 and grid["population"].iloc[0] == 5.0
    assert (grid.geometry.x.iloc[0], grid.geometry.y.iloc[0]) == (100.0, 100.0)


def test_population_grid_errors_name_the_row_and_field(tmp_path):
    with pytest.raises(MissingColumnError, match="ind"):
        path = tmp_path / "synthetic-no-ind.csv"
        path.write_text("Idcar_200m;Men\nCRS3035RES200mN1E1;2\n", encoding="utf-8")
        read_population_grid(path)
    bad_id = synthetic_grid_csv(tmp_path / "synthetic-bad-id.csv", [(0, 0, 1.0)], separator=",")
    bad_id.write_text(bad_id.read_text().replace("CRS3035RES200mN0E0", "N0E0"), encoding="utf-8")
    with pytest.raises(ValidationError) as error:
        read_population_grid(bad_id)
    assert error.value.row == 1 and error.value.field == "idcar_200m"
    bad_count = synthetic_grid_csv(tmp_path / "synthetic-bad-count.csv", [(0, 0, 1.0), (200, 0, 1.0)])
    bad_count.write_text(
        bad_count.read_text().replace(";1.0;1\nCRS3035RES200mN0E200;1.0", ";1.0;1\nCRS3035RES200mN0E200;beaucoup")
    )
    with pytest.raises(ValidationError) as error:
        read_population_grid(bad_count)
    assert error.value.row == 2 and error.value.field == "ind"
    with pytest.raises(ValidationError, match="not found"):
        read_population_grid(tmp_path / "absent.csv")


def test_walkers_may_use_forest_and_farm_tracks_unless_told_otherwise():
    assert is_walkable({"highway": "track", "access": "forestry"})
    assert is_walkable({"highway": "track", "access": "agricultural"})
    assert is_walkable({"highway": "track", "access": "agricultural;forestry"})
    assert not is_walkable({"highway": "track", "access": "forestry", "foot": "no"})
    assert not is_walkable({"highway": "track", "foot": "forestry"})
    assert not is_walkable({"highway": "track", "access": "private"})
    assert not is_walkable({"highway": "track", "access": "no"})


def test_atlas_access_with_a_population_grid(pilot_copy: str, tmp_path: Path):
    """``atlas access --population-grid``: the communes with a populated cell start from it
    (SYNTHETIC cells at the centres of two real communes); a bad file changes nothing."""
    with db.connect(pilot_copy) as conn:
        rows = conn.execute(
            "SELECT code, ST_X(c), ST_Y(c) FROM (SELECT code, ST_Transform(ST_PointOnSurface(geom), 3035) AS c "
            "FROM commune ORDER BY population DESC LIMIT 2) t"
        ).fetchall()
    cells = [(int(x) // 200 * 200, int(y) // 200 * 200, 100.0) for _, x, y in rows]
    grid = synthetic_grid_csv(tmp_path / "synthetic-filosofi-200m.csv", cells)
    loaded = atlas(pilot_copy, "network", "load", str(ANDORRA), "--force", "--mode", "walk")
    assert loaded.returncode == 0, loaded.stderr
    bad = tmp_path / "synthetic-bad.csv"
    bad.write_text("Idcar_200m;Men\n", encoding="utf-8")
    refused = atlas(pilot_copy, "access", "--mode", "walk", "--no-isochrones", "--population-grid", str(bad))
    assert refused.returncode == 2 and "synthetic-bad.csv" in refused.stderr and "ind" in refused.stderr
    result = atlas(pilot_copy, "access", "--mode", "walk", "--no-isochrones", "--population-grid", str(grid))
    assert result.returncode == 0, result.stderr
    assert "2 commune(s) sur" in result.stderr
    with db.connect(pilot_copy) as conn:
        methods = dict(conn.execute("SELECT commune_code, method FROM commune_origin WHERE mode = 'walk'").fetchall())
    assert {code for code, method in methods.items() if method == POPULATION_GRID} == {code for code, *_ in rows}
    # Andorra's network is far from Bretagne: the other communes have no road node inside.
    assert pd.Series(methods).value_counts()["representative_point"] > 1000
    # A later publication (here `atlas load`, which computes the times again) keeps the grid.
    reloaded = atlas(pilot_copy, "load", "--region", "53", "--data", str(PILOT_DIR))
    assert reloaded.returncode == 0, reloaded.stderr
    with db.connect(pilot_copy) as conn:
        again = dict(conn.execute("SELECT commune_code, method FROM commune_origin WHERE mode = 'walk'").fetchall())
        recorded = conn.execute("SELECT params ->> 'population_grid' FROM access_run WHERE mode = 'walk'").fetchone()
    assert again == methods and recorded == (str(grid.resolve()),)
