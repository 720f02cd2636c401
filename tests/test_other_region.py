"""A second Région, written from the README alone: La Réunion (04), whose CRS is not
Lambert-93, with no merger table and the project's partner-type mapping.

The folder is synthetic (three square communes near Saint-Denis, two sites), built here: it
tests the configuration, not figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scripts.cli import app
from storage import db

# Three 4 km squares side by side, in degrees near Saint-Denis de La Réunion (WGS84).
SQUARES = {"97411": 55.40, "97418": 55.44, "97419": 55.48}
LAT = -20.92


def _square(west: float) -> dict:
    east, south, north = west + 0.04, LAT - 0.02, LAT + 0.02
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def write_synthetic_reunion(folder: Path) -> Path:
    """Write a minimal synthetic Région 04 folder as the README describes; returns it."""
    admin = folder / "admin"
    admin.mkdir(parents=True)
    names = {"97411": "Saint-Denis", "97418": "Sainte-Marie", "97419": "Sainte-Rose"}
    communes = [
        {
            "code": code,
            "nom": names[code],
            "type": "commune-actuelle",
            "region": "04",
            "departement": "974",
            "arrondissement": "9741",
            "population": 1000 * (i + 1),
        }
        for i, code in enumerate(SQUARES)
    ]
    (admin / "synthetic-communes.json").write_text(json.dumps(communes), encoding="utf-8")
    contours = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": code, "nom": names[code]}, "geometry": _square(west)}
            for code, west in SQUARES.items()
        ],
    }
    (admin / "synthetic-contours.geojson").write_text(json.dumps(contours), encoding="utf-8")
    epci = [{"code": "249740119", "nom": "CA Synthétique", "membres": [{"code": c} for c in SQUARES]}]
    (admin / "synthetic-epci.json").write_text(json.dumps(epci), encoding="utf-8")
    units = {
        "regions": [{"code": "04", "nom": "La Réunion"}],
        "departements": [{"code": "974", "region": "04", "nom": "La Réunion"}],
        "arrondissements": [{"code": "9741", "departement": "974", "region": "04", "nom": "Saint-Denis"}],
    }
    for name, rows in units.items():
        (admin / f"synthetic-{name}.json").write_text(json.dumps(rows), encoding="utf-8")
    (folder / "synthetic-sites.csv").write_text(
        "id,type,nom,code_insee,lat,lon,geocodage,millesime\n"
        f"cio-1,cio,CIO de Saint-Denis,97411,{LAT},55.42,source,2025-09\n"
        f"ml-1,mission_locale,Mission locale Est,97419,{LAT + 0.01},55.50,adresse,2026-01\n",
        encoding="utf-8",
    )
    (folder / "atlas.toml").write_text(
        'region = "04"\n'
        "[territories]\n"
        'communes = "admin/synthetic-communes.json"\n'
        'contours = "admin/synthetic-contours.geojson"\n'
        'epci = "admin/synthetic-epci.json"\n'
        'arrondissements = "admin/synthetic-arrondissements.json"\n'
        'departements = "admin/synthetic-departements.json"\n'
        'regions = "admin/synthetic-regions.json"\n'
        "[[structures]]\n"
        'dataset = "sites"\n'
        'format = "sites"\n'
        'file = "synthetic-sites.csv"\n',
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def reunion(tmp_path: Path) -> Path:
    return write_synthetic_reunion(tmp_path / "reunion")


def test_another_region_loads_in_its_own_crs(reunion: Path, empty_db: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db)
    monkeypatch.delenv("ATLAS_REGION", raising=False)
    monkeypatch.delenv("ATLAS_CRS", raising=False)
    result = CliRunner().invoke(app, ["load", "--region", "04", "--data", str(reunion)])
    assert result.exit_code == 0, result.output
    assert "Chargé Région 04 : 3 communes" in result.output
    with db.connect(empty_db) as conn:
        srid = conn.execute("SELECT srid FROM region_config").fetchone()[0]
        places = dict(conn.execute("SELECT structure_id, commune_code FROM structure").fetchall())
        types = conn.execute("SELECT count(*) FROM partner_type").fetchone()[0]
    assert srid == 2975  # RGR92 / UTM 40S, not Lambert-93
    assert places == {"sites:cio-1": "97411", "sites:ml-1": "97419"}
    assert types > 10  # the project's mapping, as the manifest names none
    # Later commands take the CRS from the database: the approximate graph is built in UTM 40S.
    result = CliRunner().invoke(app, ["access", "--mode", "drive", "--no-isochrones"])
    assert result.exit_code == 0, result.output


def test_the_manifest_gives_the_region_and_a_mismatch_is_refused(reunion: Path, empty_db: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db)
    monkeypatch.delenv("ATLAS_CRS", raising=False)
    monkeypatch.setenv("ATLAS_REGION", "53")
    refused = CliRunner().invoke(app, ["load", "--data", str(reunion)])
    assert refused.exit_code == 2 and "Région 04, not 53" in refused.output
    monkeypatch.delenv("ATLAS_REGION")
    result = CliRunner().invoke(app, ["load", "--data", str(reunion)])
    assert result.exit_code == 0, result.output
    with db.connect(empty_db) as conn:
        assert conn.execute("SELECT region_code, srid FROM region_config").fetchone() == ("04", 2975)
