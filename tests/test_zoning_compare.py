"""Comparing, validating and reading zonings, on a 4 x 4 grid of square communes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CrsError, MissingColumnError, ValidationError
from geo.sources import zoning_files as zf
from geo.zoning import compare as zc
from geo.zoning.checks import check_zoning

CRS = "EPSG:2154"
N = 4


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(42)
    rows = []
    for r in range(N):
        for c in range(N):
            rows.append(
                {
                    "code": f"0{r + 1}{c}00"[:5],
                    "population": int(rng.integers(100, 10_000)),
                    "geometry": shapely.box(c * 1_000, r * 1_000, (c + 1) * 1_000, (r + 1) * 1_000),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def quadrants(communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Four 2 x 2 zones: NW, NE, SW, SE (by row / column halves)."""
    r, c = np.divmod(np.arange(len(communes)), N)
    names = np.where(r < 2, "S", "N").astype(object) + np.where(c < 2, "W", "E").astype(object)
    return pd.DataFrame({"commune_code": communes["code"], "zone_id": names})


# ---------------------------------------------------------------- comparison
def test_a_zoning_compared_with_itself(communes):
    zoning = quadrants(communes)
    result = zc.compare_zonings(zoning, zoning, communes)
    assert result.ari == 1.0
    assert result.ari_population == 1.0
    assert result.mismatched_population == 0
    assert result.mismatched_share == 0.0
    assert not result.communes["differs"].any()
    assert result.overlap["population"].sum() == communes["population"].sum()
    assert len(result.overlap) == 4
    # Renaming the zones changes nothing.
    renamed = zoning.assign(zone_id=zoning["zone_id"].map({"NW": "1", "NE": "2", "SW": "3", "SE": "4"}))
    again = zc.compare_zonings(zoning, renamed, communes)
    assert again.ari == 1.0 and again.mismatched_population == 0


def test_a_shuffled_zoning_scores_lower(communes):
    zoning = quadrants(communes)
    shuffled = zoning.assign(zone_id=np.random.default_rng(1).permutation(zoning["zone_id"].to_numpy()))
    result = zc.compare_zonings(zoning, shuffled, communes)
    assert result.ari < 0.5
    assert result.ari_population < 1.0
    assert result.mismatched_population > 0
    assert result.communes["differs"].any()
    flagged = result.communes.loc[result.communes["differs"], "population"].sum()
    assert flagged == result.mismatched_population


def test_one_commune_moved(communes):
    communes.loc[0, "population"] = 50  # fewer than the rest of its zone, which stays SW
    zoning = quadrants(communes)
    moved = zoning.copy()
    moved.loc[0, "zone_id"] = "SE"  # the SW corner commune goes to SE
    result = zc.compare_zonings(zoning, moved, communes)
    assert 0 < result.ari < 1
    assert result.communes["differs"].tolist() == [True] + [False] * (len(communes) - 1)
    assert result.mismatched_population == communes["population"].iloc[0]
    pair = result.overlap[(result.overlap["zone_a"] == "SW") & (result.overlap["zone_b"] == "SE")]
    assert pair["n_communes"].tolist() == [1]
    assert pair["population"].tolist() == [communes["population"].iloc[0]]


def test_ari_matches_scikit_learn_and_weights_count_individuals():
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(7)
    for _ in range(20):
        a = rng.integers(0, 4, size=30)
        b = rng.integers(0, 5, size=30)
        assert zc.adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b))
        weights = rng.integers(1, 5, size=30)
        expanded = zc.adjusted_rand_index(np.repeat(a, weights), np.repeat(b, weights))
        assert zc.adjusted_rand_index(a, b, weights) == pytest.approx(expanded)
    assert zc.adjusted_rand_index([1, 1, 1], [2, 2, 2]) == 1.0


def test_compare_rejects_incomplete_zonings(communes):
    zoning = quadrants(communes)
    with pytest.raises(ValidationError, match="dans aucune zone"):
        zc.compare_zonings(zoning, zoning.iloc[1:], communes)
    doubled = pd.concat([zoning, zoning.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValidationError, match="plus d'une fois") as info:
        zc.compare_zonings(zoning, doubled, communes)
    assert info.value.row == 17


# ---------------------------------------------------------------- validation
def test_validate_zoning_accepts_a_sound_zoning(communes):
    assert check_zoning(quadrants(communes), communes, contiguity="warning") == []


def test_validate_zoning_reports_missing_duplicate_and_unknown(communes):
    zoning = quadrants(communes)
    zoning = zoning[zoning["commune_code"] != communes["code"].iloc[5]]  # missing
    extra = pd.DataFrame({"commune_code": [communes["code"].iloc[2], "99999"], "zone_id": ["NW", "NE"]})
    zoning = pd.concat([zoning, extra], ignore_index=True)  # rows 16 (duplicate) and 17 (unknown)
    issues = check_zoning(zoning, communes, contiguity="warning")
    by_kind = {issue.kind: issue for issue in issues}
    assert set(by_kind) == {"missing", "duplicate", "unknown"}
    assert all(issue.severity == "error" for issue in issues)
    assert by_kind["missing"].commune_code == communes["code"].iloc[5]
    assert by_kind["duplicate"].commune_code == communes["code"].iloc[2]
    assert by_kind["duplicate"].rows == (3, 16)
    assert "lignes 3, 16" in by_kind["duplicate"].message
    assert by_kind["unknown"].rows == (17,)
    assert by_kind["unknown"].commune_code == "99999"


def test_validate_zoning_warns_about_split_zones(communes):
    zoning = quadrants(communes)
    zoning.loc[15, "zone_id"] = "SW"  # the NE corner joins SW: SW in two pieces
    issues = check_zoning(zoning, communes, contiguity="warning")
    assert [(i.kind, i.severity, i.zone_id) for i in issues] == [("not_contiguous", "warning", "SW")]
    assert communes["code"].iloc[15] in issues[0].message
    assert "2 morceaux" in issues[0].message


# ------------------------------------------------------------------- readers
def test_read_csv_semicolon_restores_leading_zeros_and_refuses_latin1(tmp_path, communes):
    path = tmp_path / "zonage.csv"
    lines = ["Commune;Libellé;Zone"]
    codes = communes["code"].tolist()
    zones = quadrants(communes)["zone_id"].map(
        {"NW": "Léon", "NE": "Trégor", "SW": "Cornouaille", "SE": "Pays de Rhuys"}
    )
    for code, zone in zip(codes, zones, strict=True):
        lines.append(f"{code.lstrip('0')};Commune é;{zone}")  # spreadsheet dropped the leading zero
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    mapping = zf.read_zoning_csv(path)
    assert mapping["commune_code"].tolist() == codes
    assert set(mapping["zone_id"]) == {"Léon", "Trégor", "Cornouaille", "Pays de Rhuys"}
    assert mapping["row"].tolist() == list(range(2, 18))  # spreadsheet rows: the header is row 1
    assert mapping.attrs["source"] == str(path)
    assert check_zoning(mapping, communes, contiguity="warning") == []
    # One encoding policy for every file a planner gives (geo.sources.tables): Latin-1 is
    # refused, naming the row and the column of the first accented value, with the fix.
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    with pytest.raises(ValidationError) as info:
        zf.read_zoning_csv(path)
    assert info.value.row == 1  # "Libellé", in the header
    assert "not UTF-8" in str(info.value) and "iconv" in str(info.value)


def test_read_csv_utf8_comma_and_errors(tmp_path, communes):
    good = tmp_path / "ok.csv"
    good.write_text(
        "\ufeffcode,zone\n" + "\n".join(f"{c},Z{i % 2}" for i, c in enumerate(communes["code"])) + "\n",
        encoding="utf-8",
    )
    mapping = zf.read_zoning_csv(good)
    assert len(mapping) == 16 and set(mapping["zone_id"]) == {"Z0", "Z1"}

    no_zone = tmp_path / "no_zone.csv"
    no_zone.write_text("code;secteur\n01000;A\n", encoding="utf-8")
    with pytest.raises(MissingColumnError) as info:
        zf.read_zoning_csv(no_zone)
    assert info.value.file == str(no_zone) and info.value.field == "zone"
    assert "secteur" in str(info.value)

    empty_zone = tmp_path / "empty_zone.csv"
    empty_zone.write_text("code;zone\n01000;A\n01100; \n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        zf.read_zoning_csv(empty_zone)
    assert (info.value.file, info.value.row, info.value.field) == (str(empty_zone), 3, "zone")

    # Zone names are cleaned as every name at load: bidi overrides and zero-width characters removed.
    hostile = tmp_path / "hostile.csv"
    hostile.write_text("code;zone\n01000;\u202eLéon\u200b\n01100;\u2066Trégor  Nord\u2069\n", encoding="utf-8")
    assert zf.read_zoning_csv(hostile)["zone_id"].tolist() == ["Léon", "Trégor Nord"]

    duplicate = tmp_path / "duplicate.csv"
    duplicate.write_text("code;zone\n01000;A\n01000;B\n", encoding="utf-8")
    issues = check_zoning(zf.read_zoning_csv(duplicate), communes, contiguity="warning")
    dup = next(i for i in issues if i.kind == "duplicate")
    assert dup.rows == (2, 3) and dup.file == str(duplicate)
    assert dup.message.startswith(f"{duplicate}, lignes 2, 3 : ")


def test_read_polygons_assigns_the_majority_zone(tmp_path, communes):
    # West polygon up to x = 1.4 km, East beyond: column 1 (1–2 km) is 40 % West, 60 % East.
    polygons = gpd.GeoDataFrame(
        {"Zone": ["Ouest", "Est"], "note": ["a", "b"]},
        geometry=[shapely.box(-100, -100, 1_400, 4_100), shapely.box(1_400, -100, 4_100, 4_100)],
        crs=CRS,
    )
    path = tmp_path / "zones.geojson"
    polygons.to_file(path, driver="GeoJSON", engine="pyogrio")
    mapping = zf.read_zoning_polygons(path, communes)
    column = np.arange(len(communes)) % N
    expected = np.where(column == 0, "Ouest", "Est")
    assert mapping["zone_id"].tolist() == expected.tolist()
    assert mapping["row"].tolist() == np.where(column == 0, 1, 2).tolist()
    assert mapping.loc[column == 1, "share"].to_numpy() == pytest.approx(0.6)
    assert check_zoning(mapping, communes, contiguity="warning") == []

    # The same polygons in WGS84 are reprojected to the communes' CRS.
    wgs84 = tmp_path / "zones_wgs84.geojson"
    polygons.to_crs("EPSG:4326").to_file(wgs84, driver="GeoJSON", engine="pyogrio")
    assert zf.read_zoning_polygons(wgs84, communes)["zone_id"].tolist() == expected.tolist()

    # Zone names are cleaned as every name at load (bidi overrides, zero-width characters).
    polygons["Zone"] = ["\u202eOuest\u200b", " Est\u2066"]
    polygons.to_file(path, driver="GeoJSON", engine="pyogrio")
    assert zf.read_zoning_polygons(path, communes)["zone_id"].tolist() == expected.tolist()


def test_read_polygons_reports_missing_communes_and_bad_files(tmp_path, communes):
    only_west = gpd.GeoDataFrame({"zone": ["Ouest"]}, geometry=[shapely.box(0, 0, 2_000, 4_000)], crs=CRS)
    path = tmp_path / "west.gpkg"
    only_west.to_file(path, driver="GPKG", engine="pyogrio")
    mapping = zf.read_zoning_polygons(path, communes)
    assert len(mapping) == 8
    missing = [i for i in check_zoning(mapping, communes, contiguity="warning") if i.kind == "missing"]
    assert len(missing) == 8

    no_zone = tmp_path / "no_zone.geojson"
    gpd.GeoDataFrame({"secteur": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=CRS).to_file(
        no_zone, driver="GeoJSON", engine="pyogrio"
    )
    with pytest.raises(MissingColumnError) as info:
        zf.read_zoning_polygons(no_zone, communes)
    assert info.value.file == str(no_zone) and "secteur" in str(info.value)

    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame({"zone": ["A", "B"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.Point(0, 0)], crs=CRS).to_file(
        points, driver="GeoJSON", engine="pyogrio"
    )
    with pytest.raises(ValidationError) as info:
        zf.read_zoning_polygons(points, communes)
    assert (info.value.row, info.value.field) == (2, "geometry")

    no_crs = tmp_path / "no_crs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"zone": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)]).to_file(
            no_crs, driver="GPKG", engine="pyogrio"
        )
    with pytest.raises(CrsError):
        zf.read_zoning_polygons(no_crs, communes)

    with pytest.raises(ValidationError, match="cannot read"):
        zf.read_zoning_polygons(tmp_path / "absent.gpkg", communes)


def test_official_zonings_are_named_and_bad_rows_named(tmp_path):
    from geo.errors import DuplicateError, MissingColumnError
    from geo.sources.official_zonings import read_official_zonings

    header = "code_insee,ze2020,libze2020,ze_partie_regionale,bv2022,libbv2022\n"
    good = tmp_path / "zonages.csv"
    good.write_text(header + "56007,5301,Auray,,56007,Auray\n35236,0062,Redon,0062-53,35236,Redon\n", encoding="utf-8")
    frame = read_official_zonings(good, ["56007", "35236", "29019"])
    names = dict(zip(frame["level"] + ":" + frame["commune_code"], frame["name"], strict=True))
    assert names["zone-emploi:56007"] == "Zone d'emploi d'Auray"
    assert names["bassin-vie:56007"] == "Bassin de vie d'Auray"
    assert names["zone-emploi:35236"] == "Zone d'emploi de Redon (partie régionale)"
    assert "29019" not in set(frame["commune_code"])  # left out: a zone of its own later
    cases = [
        ("56007,5301,Auray,,56007,Auray\n99999,5301,Auray,,56007,Auray\n", ValidationError, 3, "code_insee"),
        ("56007,5301,Auray,,56007,Auray\n56007,5301,Auray,,56007,Auray\n", DuplicateError, 3, "code_insee"),
        ("56007,5301,,,56007,Auray\n", MissingColumnError, 2, "libze2020"),
    ]
    for body, error, row, field in cases:
        bad = tmp_path / "bad.csv"
        bad.write_text(header + body, encoding="utf-8")
        with pytest.raises(error) as info:
            read_official_zonings(bad, ["56007", "35236"])
        assert (info.value.file, info.value.row, info.value.field) == (str(bad), row, field)
