"""``atlas export``: one styled GeoPackage for QGIS, GeoJSON and CSV files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from tests.conftest import atlas


def test_geopackage_has_every_layer_styles_and_metadata(accessed_db: str, tmp_path: Path) -> None:
    output = tmp_path / "atlas.gpkg"
    result = atlas(accessed_db, "export", str(output))
    assert result.returncode == 0, result.stderr
    assert "APPROXIMATIFS" in result.stderr
    layers = dict(pyogrio.list_layers(output))
    assert layers["communes"] == "MultiPolygon" and layers["lieux"] == "Point"
    assert {"isochrones", "indicateurs_territoires", "metadonnees", "layer_styles"} <= set(layers)
    communes = gpd.read_file(output, layer="communes")
    assert communes.crs.to_epsg() == 2154
    assert len(communes) == 1202
    assert communes["t_drive_any"].notna().mean() > 0.99
    assert communes["approximatif_drive"].all()
    metadata = pyogrio.read_dataframe(output, layer="metadonnees")
    values = dict(zip(metadata["cle"], metadata["valeur"], strict=True))
    assert "APPROXIMATIFS" in values["temps_drive"]
    assert any(key.startswith("source:") for key in values)
    assert values["lieux:cio"].startswith("18 lieux accueillant du public (attendus : inconnu, inventaire incomplet)")
    assert values["lignes_rejetees"] == "0"
    inventory = pyogrio.read_dataframe(output, layer="inventaire").set_index("type")
    assert inventory.loc["france_services", ["lieux", "lieux_attendus", "inventaire_complet"]].tolist() == [130, 130, 1]
    assert (
        not inventory.loc["cio", "inventaire_complet"] and inventory.loc["cio", "millesime_max"] == "annuaire 2023-06"
    )
    indicators = pyogrio.read_dataframe(output, layer="indicateurs_territoires")
    flags = indicators.groupby("categorie")["inventaire_incomplet"].first()
    assert flags["partner_type:france_services"] == 0 and flags["any"] == 1
    assert (
        "any" in values["inventaire_incomplet"] and "partner_type:france_services" not in values["inventaire_incomplet"]
    )
    per_commune = pyogrio.read_dataframe(
        output, layer="indicateurs_communes", columns=["categorie", "inventaire_incomplet"]
    )
    assert set(per_commune.loc[per_commune["categorie"] == "any", "inventaire_incomplet"]) == {1}
    with sqlite3.connect(output) as gpkg:
        styled = {row[0] for row in gpkg.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault")}
        qml = gpkg.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'communes'").fetchone()[0]
    assert {"communes", "lieux", "isochrones"} <= styled
    assert 'attr="t_drive_any"' in qml and "plus de 45 min" in qml


def test_csv_export_is_spreadsheet_friendly(accessed_db: str, tmp_path: Path) -> None:
    result = atlas(accessed_db, "export", str(tmp_path / "csv"), "--format", "csv")
    assert result.returncode == 0, result.stderr
    raw = (tmp_path / "csv" / "communes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets detect UTF-8
    table = pd.read_csv(
        tmp_path / "csv" / "communes.csv", sep=";", decimal=",", encoding="utf-8-sig", dtype={"code": str}
    )
    assert len(table) == 1202 and "geometry" not in table.columns
    assert table["t_drive_any"].dtype.kind == "f"
    assert (tmp_path / "csv" / "metadonnees.csv").exists()


def test_geojson_export_is_wgs84(accessed_db: str, tmp_path: Path) -> None:
    result = atlas(accessed_db, "export", str(tmp_path / "geojson"), "--format", "geojson")
    assert result.returncode == 0, result.stderr
    places = gpd.read_file(tmp_path / "geojson" / "lieux.geojson")
    assert places.crs.to_epsg() == 4326
    assert places.total_bounds[0] > -6 and places.total_bounds[2] < 0  # Bretagne longitudes


def test_bad_export_requests_fail_clearly(accessed_db: str, tmp_path: Path) -> None:
    result = atlas(accessed_db, "export", str(tmp_path / "x.gpkg"), "--format", "shp")
    assert result.returncode == 2 and "format inconnu" in result.stderr
    result = atlas(accessed_db, "export", str(tmp_path / "x.zip"))
    assert result.returncode == 2 and ".gpkg" in result.stderr
