"""COG reconciliation and territories on the real Bretagne files (no database)."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from geo.errors import CrsError, GeometryError, MissingColumnError, ReconciliationError
from geo.sources import communes as cio
from geo.sources import territories as tio
from tests.conftest import CRS, PILOT_DIR

ADMIN = PILOT_DIR / "admin"


@pytest.fixture(scope="module")
def cog():
    return cio.read_cog_communes(ADMIN / "communes-2026.json", region="53")


@pytest.fixture(scope="module")
def contours():
    return cio.read_commune_contours(ADMIN / "communes-contours-cog2018.geojson")


@pytest.fixture(scope="module")
def events():
    return cio.read_merger_events(ADMIN / "cog-fusions-complement.csv")


@pytest.fixture(scope="module")
def reconciled(contours, cog, events):
    return cio.reconcile_communes(contours, cog, events, crs=CRS)


def test_exactly_the_current_communes_with_their_population(reconciled, cog) -> None:
    communes, report = reconciled
    current = cog[cog["type"] == "commune-actuelle"]
    assert len(communes) == 1202
    assert communes["code"].is_unique
    assert set(communes["code"]) == set(current["code"])
    assert communes["population"].sum() == 3_449_370
    assert report.unchanged + len(report.merged) == 1202
    assert sum(len(v) for v in report.merged.values()) - len(report.merged) == 30  # 1,232 - 1,202 absorbed


def test_every_commune_has_a_valid_polygon_in_the_region_crs(reconciled) -> None:
    communes, _ = reconciled
    assert communes.crs.to_epsg() == 2154
    assert communes.geometry.notna().all()
    assert communes.is_valid.all()
    assert not communes.is_empty.any()
    assert set(communes.geom_type) <= {"Polygon", "MultiPolygon"}


def test_no_area_is_lost(reconciled, contours, cog, events) -> None:
    communes, report = reconciled
    old = contours.to_crs(CRS).set_index("code")
    dissolved = communes.set_index("code").geometry
    # each 2018 polygon is covered by the current commune it was dissolved into
    for current_code, former in report.merged.items():
        for code in former:
            leftover = old.geometry[code].difference(dissolved[current_code]).area
            assert leftover < 1.0, (code, current_code, leftover)  # m², rounding only
    assert abs(communes.area.sum() - old.area.sum()) / old.area.sum() < 1e-6


def test_merged_commune_example(reconciled) -> None:
    communes, report = reconciled
    by_code = communes.set_index("code")
    # Le Mené was created in 2016: already one polygon in the 2018 contours
    assert by_code.loc["22046", "former_codes"] == []
    assert by_code.loc["35004", "former_codes"] == ["35113", "35303", "35341"]
    assert "56016" in report.merged["56173"]  # Bieuzy -> Pluméliau-Bieuzy
    assert "56138" in report.merged["56165"]  # Monterrein -> Ploërmel


def test_merger_events_table_fills_what_the_cog_list_does_not_say(contours, cog, events) -> None:
    # Drop what the COG list says of Bieuzy: only the events table explains it then.
    stripped = cog.copy()
    stripped["former_codes"] = [[c for c in f if c != "56016"] for f in stripped["former_codes"]]
    stripped = stripped[stripped["code"] != "56016"]
    communes, report = cio.reconcile_communes(contours, stripped, events, crs=CRS)
    assert report.via_events == ["56016"]
    assert len(communes) == 1202
    with pytest.raises(ReconciliationError, match="56016") as err:
        cio.reconcile_communes(contours, stripped, {}, crs=CRS)
    assert "events table" in str(err.value)


def test_a_current_commune_without_polygon_is_reported(contours, cog, events) -> None:
    with pytest.raises(ReconciliationError, match="35238"):
        cio.reconcile_communes(contours[contours["code"] != "35238"], cog, events, crs=CRS)


def test_territories_nest_and_sum(reconciled) -> None:
    communes, _ = reconciled
    epci = tio.read_epci(ADMIN / "epci-2026.json")
    communes = tio.assign_epci(communes, epci)
    terr = tio.build_territories(
        communes,
        region=tio.read_named_units(ADMIN / "regions-2026.json", region="53"),
        departements=tio.read_named_units(ADMIN / "departements-2026.json", region="53"),
        arrondissements=tio.read_named_units(ADMIN / "arrondissements-2026.json", region="53"),
        epci=epci,
    )
    counts = terr.groupby("level").size().to_dict()
    assert counts == {"region": 1, "departement": 4, "arrondissement": 15, "epci": 61}
    pop = terr.groupby("level")["population"].sum()
    assert pop["region"] == pop["departement"] == pop["arrondissement"] == 3_449_370
    # the three island communes outside any EPCI (Bréhat, Île-de-Sein, Ouessant)
    assert sorted(communes.loc[communes["epci"].isna(), "code"]) == ["22016", "29083", "29155"]
    assert pop["epci"] == 3_449_370 - communes.loc[communes["epci"].isna(), "population"].sum()
    region = terr[terr.level == "region"].geometry.iloc[0]
    assert abs(region.area - communes.area.sum()) / region.area < 1e-6
    assert terr.is_valid.all()


def _write_geojson(path, features, **extra) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", **extra, "features": features}))


def _square(x: float, y: float, size: float = 0.01) -> dict:
    return shapely.geometry.mapping(shapely.box(x, y, x + size, y + size))


def test_contours_errors_name_file_row_and_field(tmp_path) -> None:
    path = tmp_path / "contours.geojson"
    good = {"type": "Feature", "properties": {"code": "35238", "nom": "Rennes"}, "geometry": _square(-1.7, 48.1)}
    bowtie = {"type": "Polygon", "coordinates": [[[-1, 48], [-0.9, 48.1], [-0.9, 48], [-1, 48.1], [-1, 48]]]}
    cases = [
        ([good, {**good, "geometry": None}], GeometryError, "row 2", "empty"),
        ([good, {**good, "geometry": {"type": "Polygon", "coordinates": "abc"}}], GeometryError, "row 2", "unparsable"),
        ([good, {**good, "geometry": bowtie}], GeometryError, "row 2", "Self-intersection"),
        ([good, {**good, "geometry": {"type": "Point", "coordinates": [-1, 48]}}], GeometryError, "row 2", "Polygon"),
        ([good, good], cio.ValidationError, "row 2", "more than once"),
        ([{**good, "properties": {"code": "35238"}}], MissingColumnError, "field 'nom'", "missing"),
    ]
    for features, error, where, what in cases:
        _write_geojson(path, features)
        with pytest.raises(error) as err:
            cio.read_commune_contours(path)
        assert str(path) in str(err.value) and where in str(err.value) and what in str(err.value)


def test_contours_in_metres_declared_as_wgs84_are_refused(tmp_path) -> None:
    path = tmp_path / "contours.geojson"
    lambert = {
        "type": "Polygon",
        "coordinates": [[[351000, 6789000], [352000, 6789000], [352000, 6790000], [351000, 6789000]]],
    }
    _write_geojson(path, [{"type": "Feature", "properties": {"code": "35238", "nom": "Rennes"}, "geometry": lambert}])
    with pytest.raises(CrsError, match="not longitudes/latitudes"):
        cio.read_commune_contours(path)


def test_contours_with_a_wrong_declared_crs_are_refused(tmp_path) -> None:
    path = tmp_path / "contours.gpkg"
    frame = gpd.GeoDataFrame(
        {"code": ["35238"], "nom": ["Rennes"]}, geometry=[shapely.box(-1.7, 48.1, -1.6, 48.2)], crs="EPSG:2975"
    )
    frame.to_file(path, driver="GPKG")
    with pytest.raises(CrsError, match="outside the area"):
        cio.read_commune_contours(path)


def test_truncated_contours_file(tmp_path) -> None:
    path = tmp_path / "contours.geojson"
    path.write_text((ADMIN / "communes-contours-cog2018.geojson").read_text()[:5000])
    with pytest.raises(cio.ValidationError, match="truncated"):
        cio.read_commune_contours(path)
