"""Structure readers and commune assignment, on the real pilot files and on small hand-built
inputs (no database)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
import shapely

from geo.errors import CrsError, DuplicateError, GeometryError, MissingColumnError, ValidationError
from geo.schema import STRUCTURE_COLUMNS
from geo.sources import annuaire as annuaire_io
from geo.sources import france_services as france_services_io
from geo.sources import partenaires as partenaires_io
from geo.sources import structures as sio
from geo.sources.partner_types import read_partner_types
from geo.vocabulary import MISSIONS, PUBLICS
from tests.conftest import CRS, PILOT_DIR, TEST_DATA

PARTNER_TYPES = PILOT_DIR.parent / "partner-types.csv"
FS = PILOT_DIR / "structures" / "france-services-20240801.csv"
PARTNERS = PILOT_DIR / "structures" / "partenaires.csv"
SAMPLE = TEST_DATA / "annuaire-service-public-SAMPLE-handwritten.json"
TO_LAMBERT = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
TO_WGS84 = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


@pytest.fixture(scope="module")
def partner_types():
    return read_partner_types(PARTNER_TYPES)


@pytest.fixture(scope="module")
def france_services(partner_types):
    return france_services_io.read_france_services(FS, partner_types=partner_types, crs=CRS)


@pytest.fixture(scope="module")
def partenaires(partner_types):
    return partenaires_io.read_partenaires(PARTNERS, partner_types=partner_types, crs=CRS)


@pytest.fixture(scope="module")
def annuaire(partner_types):
    return annuaire_io.read_annuaire_service_public(SAMPLE, partner_types=partner_types, crs=CRS)


# --- helpers ----------------------------------------------------------------------------------


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def _edited(source: Path, target: Path, edits: dict[tuple[int, str], str]) -> Path:
    """Copy of a CSV with cells changed: (spreadsheet row, column) -> value (header = row 1)."""
    rows = _rows(source)
    for (row, column), value in edits.items():
        rows[row - 1][rows[0].index(column)] = value
    return _write(target, rows)


def _drop_column(source: Path, target: Path, column: str) -> Path:
    rows = _rows(source)
    i = rows[0].index(column)
    return _write(target, [r[:i] + r[i + 1 :] for r in rows])


def _assert_names(exc: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# --- partner types ------------------------------------------------------------------------------

REQUIRED_TYPES = {
    "france_services",
    "france_travail",
    "cio",
    "mission_locale",
    "arml",
    "cap_emploi",
    "apec",
    "information_jeunesse",
    "cite_des_metiers",
    "cibc",
    "cidff",
    "cci",
    "cma",
    "chambre_agriculture",
    "suio_baip",
    "maison_emploi",
    # annex partners of the SPRO, typed even where the pilot has no row for them
    "carif_oref",
    "transitions_pro",
    "onisep",
    "greta",
    "agefiph",
}
WITHOUT_PUBLIC = {"arml", "carif_oref", "onisep", "agefiph"}
"""Heads of network and resource centres: they inform through their sites, no counter."""


def test_partner_type_mapping_covers_the_network(partner_types) -> None:
    assert REQUIRED_TYPES <= set(partner_types.index)
    assert list(partner_types.columns) == ["label", "missions", "publics", "receives_public", "description"]
    for key, entry in partner_types.iterrows():
        assert set(entry["missions"]) <= set(MISSIONS), key
        assert set(entry["publics"]) <= set(PUBLICS), key
        assert isinstance(entry["receives_public"], bool)
        assert entry["receives_public"] == (key not in WITHOUT_PUBLIC), key
        if entry["receives_public"]:
            assert entry["missions"] and entry["publics"] and entry["description"], key
    assert partner_types.loc["arml", "missions"] == []
    assert partner_types.loc["mission_locale", "publics"] == ["jeunes"]
    assert partner_types.loc["mission_locale", "missions"] == list(MISSIONS)
    assert partner_types.loc["cap_emploi", "publics"] == ["personnes_handicapees"]


def test_every_annuaire_pivot_maps_to_a_defined_partner_type(partner_types) -> None:
    assert set(annuaire_io.ANNUAIRE_PIVOT_TYPES.values()) <= set(partner_types.index)


PARTNER_TYPE_CASES: dict[str, tuple[dict[tuple[int, str], str], type[Exception], list[str]]] = {
    "unknown mission": (
        {(4, "missions"): "accueil|orientation"},
        ValidationError,
        ["row 4", "'missions'", "orientation"],
    ),
    "unknown public": ({(3, "publics"): "seniors"}, ValidationError, ["row 3", "'publics'", "seniors"]),
    "duplicated type": ({(6, "partner_type"): "cio"}, DuplicateError, ["row 6", "'partner_type'", "rows 4 and 6"]),
    "bad boolean": ({(3, "receives_public"): "peut-être"}, ValidationError, ["row 3", "'receives_public'"]),
    "invalid key": ({(5, "partner_type"): "Mission Locale"}, ValidationError, ["row 5", "'partner_type'"]),
}


@pytest.mark.parametrize("case", list(PARTNER_TYPE_CASES))
def test_bad_partner_type_files_name_file_row_and_field(case: str, tmp_path: Path) -> None:
    edits, error, fragments = PARTNER_TYPE_CASES[case]
    path = _edited(PARTNER_TYPES, tmp_path / "partner-types.csv", edits)
    with pytest.raises(error) as exc:
        read_partner_types(path)
    _assert_names(exc, str(path), *fragments)


def test_partner_types_without_a_required_column(tmp_path: Path) -> None:
    path = _drop_column(PARTNER_TYPES, tmp_path / "partner-types.csv", "publics")
    with pytest.raises(MissingColumnError) as exc:
        read_partner_types(path)
    _assert_names(exc, str(path), "row 1", "'publics'")


# --- France services (real file) ---------------------------------------------------------------


def test_france_services_real_file(france_services, partner_types) -> None:
    fs = france_services
    assert len(fs) == 130
    assert list(fs.columns) == list(STRUCTURE_COLUMNS)
    assert fs.index.name == sio.ROW_INDEX and fs.index[0] == 2 and fs.index[-1] == 131
    assert fs.crs.to_epsg() == 2154
    assert fs["structure_id"].is_unique
    assert fs["site_format"].value_counts().to_dict() == {
        "fixe": 98,
        "multisites": 15,
        "bus": 8,
        "itinerant": 6,
        "fixe_antennes": 3,
    }
    assert set(fs["partner_type"]) == {"france_services"}
    assert set(fs["geocoding"]) == {"source"}
    assert set(fs["vintage"]) == {"2024-08-01"}
    assert fs["appointment"].map(type).isin([bool]).all()
    first = fs.loc[2]
    assert first["structure_id"] == "france_services:133"
    assert first["opening_hours"] == {
        "lundi": "08:00 - 12:00 / 13:00 - 16:00",
        "mardi": "08:00 - 12:00 / 13:00 - 16:00",
        "mercredi": "08:00 - 12:00",
        "jeudi": "08:00 - 12:00 / 13:00 - 16:00",
        "vendredi": "08:00 - 12:00 / 13:00 - 16:00",
    }
    assert first["appointment"] is False and first["commune_code"] == "22278"
    xmin, ymin, xmax, ymax = fs.total_bounds  # Bretagne in Lambert-93 metres
    assert 90_000 < xmin < xmax < 420_000 and 6_690_000 < ymin < ymax < 6_900_000
    _assert_mapping_applied(fs, partner_types)


def _assert_mapping_applied(layer: gpd.GeoDataFrame, partner_types) -> None:
    for _, row in layer.iterrows():
        entry = partner_types.loc[row["partner_type"]]
        assert row["missions"] == entry["missions"] and row["publics"] == entry["publics"]


def test_france_services_accepts_semicolons_decimal_commas_and_bom(
    tmp_path: Path, partner_types, france_services
) -> None:
    rows = _rows(FS)
    for row in rows[1:]:
        for column in ("latitude", "longitude"):
            i = rows[0].index(column)
            row[i] = row[i].replace(".", ",")
    path = _write(tmp_path / "fs.csv", rows, delimiter=";", encoding="utf-8-sig")
    again = france_services_io.read_france_services(path, partner_types=partner_types, crs=CRS)
    assert len(again) == 130
    assert again.geometry.geom_equals_exact(france_services.geometry, tolerance=1e-6).all()


# --- partenaires.csv (real file) ---------------------------------------------------------------


def test_partenaires_real_file(partenaires, partner_types) -> None:
    pa = partenaires
    assert len(pa) == 5  # the CIO of Ille-et-Vilaine, at their building (data/README.md)
    assert list(pa.columns) == list(STRUCTURE_COLUMNS)
    assert set(pa["partner_type"]) == {"cio"} and set(pa["geocoding"]) == {"source"}
    assert set(pa["site_format"]) == {"fixe"} and all(h == {} for h in pa["opening_hours"])
    assert pa["structure_id"].is_unique and pa["receives_public"].isna().all()  # as their type
    assert set(pa["vintage"]) == {"annuaire 2023-06"}
    assert pa.attrs["merged"] == {}
    _assert_mapping_applied(pa, partner_types)


def test_partenaires_rows_listing_a_place_again_are_merged(tmp_path: Path, partner_types) -> None:
    """An agency and the directorate in its building, listed under the same name: one place,
    which receives the public; a directorate alone does not."""
    header = ["type", "nom", "adresse", "code_postal", "lat", "lon", "geocodage", "accueil_public"]
    agency = [
        "france_travail",
        "France Travail - RENNES EST",
        "22 RUE DU BIGNON",
        "35200",
        "48.097",
        "-1.6294",
        "source",
    ]
    alone = ["france_travail", "France Travail - DR BRETAGNE", "36 RUE DE LEON", "35000", "48.108", "-1.6686", "source"]
    path = _write(tmp_path / "p.csv", [header, [*agency, "oui"], [*agency, "non"], [*alone, "non"]])
    pa = partenaires_io.read_partenaires(path, partner_types=partner_types, crs=CRS)
    assert len(pa) == 2 and pa["receives_public"].tolist() == [True, False]
    assert pa.attrs["merged"] == {pa["structure_id"].iloc[0]: (2, 3)}


def test_partenaires_ids_are_stable_across_reads(partenaires, partner_types) -> None:
    again = partenaires_io.read_partenaires(PARTNERS, partner_types=partner_types, crs=CRS)
    assert again["structure_id"].tolist() == partenaires["structure_id"].tolist()


def test_two_different_partners_with_the_same_identity_are_refused(tmp_path: Path, partner_types) -> None:
    rows = _rows(PARTNERS)
    rows[4] = list(rows[1])
    rows[4][rows[0].index("adresse")] = "autre adresse"
    path = _write(tmp_path / "partenaires.csv", rows)
    with pytest.raises(DuplicateError) as exc:
        partenaires_io.read_partenaires(path, partner_types=partner_types, crs=CRS)
    _assert_names(exc, str(path), "row 5", "'nom'", "rows 2 and 5")


# --- annuaire Service-public.fr (hand-written sample) ---------------------------------------


def test_annuaire_sample(annuaire, partner_types) -> None:
    an = annuaire
    assert list(an.columns) == list(STRUCTURE_COLUMNS)
    assert an.index.tolist() == [1, 2, 4, 5, 6]  # position in the list; the mairie (3) is skipped
    assert an.attrs["skipped_types"] == {"mairie": 1}
    assert an["partner_type"].tolist() == ["cio", "information_jeunesse", "cap_emploi", "cidff", "france_travail"]
    assert an.loc[1, "structure_id"] == "annuaire:EXEMPLE-0001-cio"
    assert an.loc[1, "opening_hours"] == {
        **dict.fromkeys(("lundi", "mardi", "mercredi", "jeudi", "vendredi"), "09:00 - 12:00 / 14:00 - 17:00"),
        "samedi": "09:00 - 12:00",
    }
    assert (an.loc[1, "phone"], an.loc[1, "email"], an.loc[1, "website"]) == (
        "00 00 00 00 01",
        "cio.exemple@example.invalid",
        "https://example.invalid/cio",
    )
    assert an.loc[1, "vintage"] == "2023-08-09" and an.loc[2, "vintage"] == "2024-01-15"
    assert an.loc[4, "phone"] == "00 00 00 00 04"  # list fields given as JSON text
    assert an.loc[5, "address"] == "5 quai de l'Exemple (fictif)"  # the physical address, not the postal one
    assert an.loc[5, "opening_hours"] == dict.fromkeys(("mardi", "mercredi", "jeudi"), "09:00 - 12:30")
    assert an.loc[6, "appointment"] is None and an.loc[6, "email"] is None
    x, y = TO_LAMBERT.transform(-2.7603, 48.5136)
    assert an.loc[1, "geometry"].distance(shapely.Point(x, y)) < 0.01
    _assert_mapping_applied(an, partner_types)


def test_annuaire_bare_list_and_csv_forms(tmp_path: Path, partner_types, annuaire) -> None:
    services = json.loads(SAMPLE.read_text(encoding="utf-8"))["service"]
    bare = tmp_path / "annuaire-list.json"
    bare.write_text(json.dumps(services, ensure_ascii=False), encoding="utf-8")
    columns = sorted({key for service in services for key in service})
    table = [columns] + [
        [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in (s.get(c, "") for c in columns)]
        for s in services
    ]
    as_csv = _write(tmp_path / "annuaire.csv", table, delimiter=";")
    for path, first_row in ((bare, 1), (as_csv, 2)):
        layer = annuaire_io.read_annuaire_service_public(path, partner_types=partner_types, crs=CRS, dataset="x")
        assert layer["name"].tolist() == annuaire["name"].tolist()
        assert layer["opening_hours"].tolist() == annuaire["opening_hours"].tolist()
        assert layer.index[0] == first_row
        assert layer.attrs["skipped_types"] == {"mairie": 1}


def _sample_with(tmp_path: Path, position: int, **changes: object) -> Path:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    data["service"][position - 1].update(changes)
    path = tmp_path / "annuaire.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


ANNUAIRE_CASES = {
    "empty coordinates and no commune": (
        {
            "adresse": [{"type_adresse": "Adresse", "numero_voie": "x", "latitude": "", "longitude": ""}],
            "code_insee_commune": "",
        },
        GeometryError,
        ["row 2", "adresse.latitude/adresse.longitude", "no INSEE code nor postcode"],
    ),
    "missing id": ({"id": ""}, MissingColumnError, ["row 2", "'id'"]),
    "unknown weekday": (
        {
            "plage_ouverture": [
                {"nom_jour_debut": "Lundimanche", "valeur_heure_debut_1": "09:00:00", "valeur_heure_fin_1": "12:00:00"}
            ]
        },
        ValidationError,
        ["row 2", "plage_ouverture", "Lundimanche"],
    ),
}


@pytest.mark.parametrize("case", list(ANNUAIRE_CASES))
def test_bad_annuaire_services_name_file_row_and_field(case: str, tmp_path: Path, partner_types) -> None:
    changes, error, fragments = ANNUAIRE_CASES[case]
    path = _sample_with(tmp_path, 2, **changes)
    with pytest.raises(error) as exc:
        annuaire_io.read_annuaire_service_public(path, partner_types=partner_types, crs=CRS)
    _assert_names(exc, str(path), *fragments)


def test_annuaire_partner_type_missing_from_the_mapping(tmp_path: Path, partner_types) -> None:
    without_cidff = partner_types.drop(index="cidff")
    with pytest.raises(ValidationError) as exc:
        annuaire_io.read_annuaire_service_public(SAMPLE, partner_types=without_cidff, crs=CRS)
    _assert_names(exc, str(SAMPLE), "row 5", "'pivot'", "cidff")


# --- bad structure files: exception type, and file, row and field in the message ----------------


def _swap_coordinates(source: Path, target: Path, row: int) -> Path:
    rows = _rows(source)
    lat, lon = rows[0].index("latitude"), rows[0].index("longitude")
    rows[row - 1][lat], rows[row - 1][lon] = rows[row - 1][lon], rows[row - 1][lat]
    return _write(target, rows)


BAD_FILES: dict[str, tuple[Path, Callable[[Path], Path], type[Exception], list[str]]] = {
    "missing column": (FS, lambda t: _drop_column(FS, t, "latitude"), MissingColumnError, ["row 1", "'latitude'"]),
    "unparsable latitude": (
        FS,
        lambda t: _edited(FS, t, {(5, "latitude"): "48,5x"}),
        GeometryError,
        ["row 5", "'latitude'", "48,5x"],
    ),
    "empty coordinate": (PARTNERS, lambda t: _edited(PARTNERS, t, {(5, "lon"): ""}), GeometryError, ["row 5", "'lon'"]),
    "swapped latitude and longitude": (
        FS,
        lambda t: _swap_coordinates(FS, t, 3),
        CrsError,
        ["row 3", "'latitude'", "swapped"],
    ),
    "Lambert-93 metres in lat/lon": (
        FS,
        lambda t: _edited(FS, t, {(3, "latitude"): "6789000", (3, "longitude"): "351000"}),
        CrsError,
        ["row 3", "'latitude'", "Lambert-93"],
    ),
    "latitude beyond 90 degrees": (
        FS,
        lambda t: _edited(FS, t, {(9, "latitude"): "148.2"}),
        CrsError,
        ["row 9", "'latitude'"],
    ),
    "point far outside the CRS area": (
        FS,
        lambda t: _edited(FS, t, {(10, "latitude"): "-33.9", (10, "longitude"): "18.4"}),
        GeometryError,
        ["row 10", "'latitude'", "EPSG:2154"],
    ),
    "duplicate identifier": (
        FS,
        lambda t: _edited(FS, t, {(6, "id_fs"): "133"}),
        DuplicateError,
        ["row 6", "'id_fs'", "rows 2 and 6"],
    ),
    "unknown partner type": (
        PARTNERS,
        lambda t: _edited(PARTNERS, t, {(4, "type"): "cabinet_prive"}),
        ValidationError,
        ["row 4", "'type'", "cabinet_prive"],
    ),
    "unknown site format": (
        FS,
        lambda t: _edited(FS, t, {(8, "format_fs"): "Fixe mobile"}),
        ValidationError,
        ["row 8", "'format_fs'"],
    ),
    "unknown geocoding precision": (
        PARTNERS,
        lambda t: _edited(PARTNERS, t, {(6, "geocodage"): "gps"}),
        ValidationError,
        ["row 6", "'geocodage'"],
    ),
    "ragged row": (
        PARTNERS,
        lambda t: _write(t, [*_rows(PARTNERS)[:5], _rows(PARTNERS)[5][:-3]]),
        ValidationError,
        ["row 6", "separator"],
    ),
}


def _reader(source: Path) -> Callable[..., gpd.GeoDataFrame]:
    return france_services_io.read_france_services if source == FS else partenaires_io.read_partenaires


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_structure_files_name_file_row_and_field(case: str, tmp_path: Path, partner_types) -> None:
    source, corrupt, error, fragments = BAD_FILES[case]
    path = corrupt(tmp_path / source.name)
    with pytest.raises(error) as exc:
        _reader(source)(path, partner_types=partner_types, crs=CRS)
    _assert_names(exc, str(path), *fragments)


def test_latin1_file_is_refused_with_how_to_convert(tmp_path: Path, partner_types) -> None:
    rows = _rows(FS)
    path = _write(tmp_path / "fs-latin1.csv", rows, encoding="cp1252")
    row, column = next(
        (i, rows[0][j]) for i, cells in enumerate(rows, start=1) for j, cell in enumerate(cells) if not cell.isascii()
    )
    with pytest.raises(ValidationError) as exc:
        france_services_io.read_france_services(path, partner_types=partner_types, crs=CRS)
    _assert_names(exc, str(path), f"row {row}", f"'{column}'", "not UTF-8", "iconv")


def test_france_services_need_their_partner_type(partner_types) -> None:
    with pytest.raises(ValidationError) as exc:
        france_services_io.read_france_services(FS, partner_types=partner_types.drop(index="france_services"), crs=CRS)
    _assert_names(exc, str(FS), "row 2", "france_services")


# --- assign_communes on square communes --------------------------------------------------------

X0, Y0 = 350_000, 6_790_000  # Lambert-93, inland Bretagne


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    """Two 10 km square communes side by side: 35001 (west) and 35002 (east)."""
    west = shapely.box(X0 - 10_000, Y0, X0, Y0 + 10_000)
    east = shapely.box(X0, Y0, X0 + 10_000, Y0 + 10_000)
    return gpd.GeoDataFrame(
        {"code": ["35001", "35002"], "name": ["Ouestville", "Estville"]}, geometry=[west, east], crs=CRS
    )


def _partners_at(
    tmp_path: Path, points: list[tuple[float, float, str]], partner_types
) -> tuple[Path, gpd.GeoDataFrame]:
    """partenaires.csv with one CIO per (x, y, code_insee), coordinates written in WGS84."""
    rows = [["type", "nom", "code_postal", "commune", "code_insee", "lat", "lon", "geocodage"]]
    for i, (x, y, code) in enumerate(points, start=1):
        lon, lat = TO_WGS84.transform(x, y)
        rows.append(["cio", f"CIO test {i}", "35000", "NOM SOURCE", code, f"{lat:.7f}", f"{lon:.7f}", "source"])
    path = _write(tmp_path / "partenaires.csv", rows)
    return path, partenaires_io.read_partenaires(path, partner_types=partner_types, crs=CRS)


def test_spatial_join_fills_empty_codes_and_names(tmp_path: Path, squares, partner_types) -> None:
    _, layer = _partners_at(tmp_path, [(X0 + 5000, Y0 + 5000, ""), (X0 - 5000, Y0 + 5000, "35001")], partner_types)
    placed = sio.assign_communes(layer, squares)
    assert placed["commune_code"].tolist() == ["35002", "35001"]
    assert placed["commune_name"].tolist() == ["Estville", "Ouestville"]  # COG name replaces the source's
    assert placed.index.tolist() == [2, 3] and list(placed.columns) == list(STRUCTURE_COLUMNS)
    assert layer["commune_code"].tolist() == [None, "35001"]  # input left unchanged


def test_point_just_outside_takes_the_nearest_commune(tmp_path: Path, squares, partner_types) -> None:
    _, layer = _partners_at(tmp_path, [(X0 + 11_000, Y0 + 5000, "")], partner_types)  # 1 km east of 35002
    assert sio.assign_communes(layer, squares)["commune_code"].tolist() == ["35002"]


def test_point_beyond_tolerance_is_outside_the_region(tmp_path: Path, squares, partner_types) -> None:
    path, layer = _partners_at(tmp_path, [(X0, Y0 + 5000, ""), (X0 + 15_000, Y0 + 5000, "")], partner_types)
    with pytest.raises(GeometryError) as exc:
        sio.assign_communes(layer, squares, file=path)
    _assert_names(exc, str(path), "row 3", "'lat/lon'", "outside the Région", "5.0 km")


def test_unknown_commune_code_is_refused(tmp_path: Path, squares, partner_types) -> None:
    path, layer = _partners_at(tmp_path, [(X0 + 5000, Y0 + 5000, "35999")], partner_types)
    with pytest.raises(ValidationError) as exc:
        sio.assign_communes(layer, squares, file=path)
    _assert_names(exc, str(path), "row 2", "'code_insee'", "35999")


def test_commune_code_far_from_the_point_is_refused(tmp_path: Path, squares, partner_types) -> None:
    path, layer = _partners_at(tmp_path, [(X0 - 8000, Y0 + 5000, "35002")], partner_types)  # 8 km west of 35002
    with pytest.raises(ValidationError) as exc:
        sio.assign_communes(layer, squares, file=path)
    _assert_names(exc, str(path), "row 2", "'code_insee'", "8.0 km")


def test_commune_code_far_from_the_point_names_both_communes(tmp_path: Path, squares, partner_types) -> None:
    path, layer = _partners_at(tmp_path, [(X0 - 5000, Y0 + 5000, "35002")], partner_types)  # inside 35001
    with pytest.raises(ValidationError) as exc:
        sio.assign_communes(layer, squares, file=path)
    _assert_names(exc, str(path), "row 2", "'code_insee'", "lies in Ouestville (35001)", "from Estville (35002)")


def _without_coordinates(tmp_path: Path, rows: list[list[str]], partner_types) -> gpd.GeoDataFrame:
    """partenaires.csv rows ``[code_postal, commune, code_insee]`` without coordinates nor geocodage."""
    table = [["type", "nom", "code_postal", "commune", "code_insee", "lat", "lon", "geocodage"]]
    table += [["cio", f"CIO sans point {i}", *row, "", "", ""] for i, row in enumerate(rows, start=1)]
    return partenaires_io.read_partenaires(_write(tmp_path / "p.csv", table), partner_types=partner_types, crs=CRS)


def test_places_without_coordinates_go_to_the_town_hall_else_inside_the_commune(
    tmp_path: Path, squares, partner_types
) -> None:
    squares = squares.assign(postcodes=[["35100"], ["35100", "35200"]])
    layer = _without_coordinates(
        tmp_path,
        [["", "", "35001"], ["35100", "ESTVILLE CEDEX", ""], ["35200", "Est-ville", ""]],
        partner_types,
    )
    assert layer.geometry.isna().all()  # kept without a point until the communes are known
    town_hall = shapely.Point(X0 - 2000, Y0 + 3000)
    town_halls = gpd.GeoSeries([town_hall], index=["35001"], crs=CRS)
    placed = sio.assign_communes(layer, squares, town_halls=town_halls)
    assert placed["commune_code"].tolist() == ["35001", "35002", "35002"]
    assert placed["geocoding"].tolist() == ["approx_mairie", "approx_commune", "approx_commune"]
    assert placed.geometry.iloc[0].equals(town_hall)
    assert all(squares.geometry[1].contains(point) for point in placed.geometry.iloc[1:])
    assert placed.attrs["placed"] == {
        "partenaires:cio-cio-sans-point-1-": "approx_mairie",
        "partenaires:cio-cio-sans-point-2-35100": "approx_commune",
        "partenaires:cio-cio-sans-point-3-35200": "approx_commune",
    }


def test_a_place_without_coordinates_must_name_its_commune(tmp_path: Path, squares, partner_types) -> None:
    with pytest.raises(GeometryError) as exc:
        _without_coordinates(tmp_path, [["", "Estville", ""]], partner_types)
    _assert_names(exc, "row 2", "'lat/lon'", "no INSEE code nor postcode and commune name")
    layer = _without_coordinates(tmp_path, [["35300", "Nulleville", ""]], partner_types)  # names no commune
    with pytest.raises(ValidationError) as exc:
        sio.assign_communes(layer, squares.assign(postcodes=[["35100"], ["35200"]]))
    _assert_names(exc, "row 2", "'code_postal/commune'", "identify no current commune")


def test_tolerant_assignment_rejects_rows_and_keeps_the_others(tmp_path: Path, squares, partner_types) -> None:
    path, layer = _partners_at(
        tmp_path, [(X0 + 5000, Y0 + 5000, ""), (X0 - 5000, Y0 + 5000, "35002"), (X0 + 90_000, Y0, "")], partner_types
    )
    rejections: list[ValidationError] = []
    placed = sio.assign_communes(layer, squares, file=path, rejections=rejections)
    assert placed.index.tolist() == [2]
    assert [(e.row, e.field) for e in rejections] == [(3, "code_insee"), (4, "lat/lon")]
    assert all(e.file == str(path) for e in rejections)


def test_town_hall_points_outside_their_commune_are_left_out(pilot_sources, tmp_path: Path) -> None:
    """The source's raw town-hall points: 37 lie in another commune (a homonym's town hall) and 13
    have an inverted longitude; the checked columns of the pilot file keep none of them."""
    from geo.sources.town_halls import read_town_halls

    source = PILOT_DIR / "admin" / "mairies-bretagne.csv"
    checked = read_town_halls(source, pilot_sources.communes)
    assert len(checked.points) == 1163 and checked.misplaced == []
    rows = _rows(source)
    lat, lon, lat_raw, lon_raw = (rows[0].index(c) for c in ("lat", "lon", "lat_source", "lon_source"))
    for cells in rows[1:]:
        cells[lat], cells[lon] = cells[lat_raw], cells[lon_raw]
    raw = read_town_halls(_write(tmp_path / "raw.csv", rows), pilot_sources.communes)
    assert len(raw.points) == 1150 and len(raw.misplaced) == 50
    assert ("22008" in {code for _row, code, _m in raw.misplaced}) and min(m for *_r, m in raw.misplaced) > 50


def test_layers_in_different_crs_are_refused(tmp_path: Path, squares, partner_types) -> None:
    path, layer = _partners_at(tmp_path, [(X0 + 5000, Y0 + 5000, "")], partner_types)
    with pytest.raises(CrsError) as exc:
        sio.assign_communes(layer, squares.to_crs("EPSG:4326"), file=path)
    _assert_names(exc, str(path), "EPSG:2154", "EPSG:4326")


def test_real_files_and_sample_fall_in_bretagne_communes(france_services, partenaires, annuaire) -> None:
    from geo.sources import communes as cio

    admin = PILOT_DIR / "admin"
    communes, _ = cio.reconcile_communes(
        cio.read_commune_contours(admin / "communes-contours-cog2018.geojson"),
        cio.read_cog_communes(admin / "communes-2026.json", region="53"),
        cio.read_merger_events(admin / "cog-fusions-complement.csv"),
        crs=CRS,
    )
    communes = communes[["code", "name", "geometry"]]
    for layer, n in ((france_services, 130), (partenaires, 5), (annuaire, 5)):
        placed = sio.assign_communes(layer, communes)
        assert len(placed) == n and placed["commune_code"].notna().all()
    assert sio.assign_communes(partenaires, communes).loc[3, "commune_name"] == "Vitré"  # spreadsheet row 3


# --- site lists (common schema, real files) ---------------------------------------------------


def test_site_lists_real_files(partner_types) -> None:
    from geo.sources.sites import read_sites

    folder = PILOT_DIR / "structures"
    ft = read_sites(folder / "sites-france-travail.csv", partner_types=partner_types, crs=CRS, dataset="ft")
    assert list(ft.columns) == list(STRUCTURE_COLUMNS)
    assert len(ft) == 42 and set(ft["vintage"]) == {"2019-11"} and set(ft["geocoding"]) == {"source"}
    assert ft["receives_public"].value_counts().to_dict() == {True: 37, False: 5}  # TYPE_SITE
    merged, merges = sio.merge_same_places(ft)
    # Three directorates share their agency's building and name: one place each, open to the public.
    assert len(merged) == 39 and len(merges) == 3 and all(len(others) == 1 for _kept, others in merges)
    assert merged.set_index("structure_id").loc[[kept for kept, _ in merges], "receives_public"].tolist() == [True] * 3
    closed = set(merged.loc[merged["receives_public"].eq(False), "name"])
    assert closed == {
        "France Travail (ex-Pôle emploi) - DR BRETAGNE",
        "France Travail (ex-Pôle emploi) - DT 56 / AGENCE SPECIALISEE 56",
    }
    ml = read_sites(folder / "sites-missions-locales.csv", partner_types=partner_types, crs=CRS, dataset="ml")
    assert len(ml) == 33 and len(ml.attrs["superseded"]) == 14  # 2019 rows replaced by 2026 ones
    assert ml["partner_type"].value_counts().to_dict() == {"mission_locale": 32, "arml": 1}
    assert ml["vintage"].str[:7].value_counts().to_dict() == {"2026-07": 28, "2019 (e": 5}  # each row dated
    chambers = read_sites(folder / "sites-chambres-consulaires.csv", partner_types=partner_types, crs=CRS)
    assert chambers["partner_type"].value_counts().to_dict() == {"cci": 8, "cma": 4, "chambre_agriculture": 4}
    suio = read_sites(folder / "sites-suio.csv", partner_types=partner_types, crs=CRS)
    assert set(suio["partner_type"]) == {"suio_baip"}
    ij = read_sites(folder / "sites-information-jeunesse.csv", partner_types=partner_types, crs=CRS)
    assert ij["geocoding"].value_counts().to_dict() == {"approx_mairie": 56, "approx_commune": 1}


def test_site_list_errors_name_the_row_and_field(tmp_path: Path, partner_types) -> None:
    from geo.sources.sites import read_sites

    source = PILOT_DIR / "structures" / "sites-cidff.csv"
    bad = _edited(source, tmp_path / "bad.csv", {(3, "geocodage"): "gps:35238"})
    with pytest.raises(ValidationError) as exc:
        read_sites(bad, partner_types=partner_types, crs=CRS)
    _assert_names(exc, str(bad), "row 3", "'geocodage'", "gps")
    bad = _edited(source, tmp_path / "type.csv", {(2, "type"): "cabinet_prive"})
    with pytest.raises(ValidationError) as exc:
        read_sites(bad, partner_types=partner_types, crs=CRS)
    _assert_names(exc, str(bad), "row 2", "'type'", "cabinet_prive")


def test_names_are_cleaned_of_invisible_and_reordering_characters(tmp_path: Path, partner_types) -> None:
    """A name pasted from a web page or a hostile file: bidi override, zero-width space, tab,
    no-break space and a decomposed accent; what is stored is what a reader sees."""
    from geo.sources.sites import read_sites
    from geo.sources.tables import cell_text

    source = PILOT_DIR / "structures" / "sites-cidff.csv"
    hostile = "\u202e CIDFF\u200b du\tMorbihan\u00a0\u00a0- Vannes\u2066 e\u0301te\u0301 \u00ad"
    edited = _edited(source, tmp_path / "names.csv", {(2, "nom"): hostile, (2, "adresse"): "  12\u200d rue\n du Port "})
    layer = read_sites(edited, partner_types=partner_types, crs=CRS)
    assert layer.loc[2, "name"] == "CIDFF du Morbihan - Vannes été"
    assert layer.loc[2, "address"] == "12 rue du Port"
    assert cell_text("  Rennes ") == "Rennes" and cell_text(None) == "" and cell_text(35238) == "35238"
    with pytest.raises(ValidationError) as exc:
        read_sites(
            _edited(source, tmp_path / "empty.csv", {(3, "nom"): "\u200b\u202e "}), partner_types=partner_types, crs=CRS
        )
    _assert_names(exc, "row 3", "'nom'", "invisible")


def _site(sid: str, commune: str, x: float, y: float, *, address: str | None, geocoding: str = "source") -> dict:
    return {
        "structure_id": sid,
        "partner_type": "information_jeunesse",
        "name": "Point Information Jeunesse",
        "address": address,
        "commune_code": commune,
        "geocoding": geocoding,
        "receives_public": None,
        "geometry": shapely.Point(x, y),
    }


def test_same_name_and_address_in_two_communes_or_at_one_town_hall_are_two_places() -> None:
    places = gpd.GeoDataFrame(
        [
            _site("a", "35001", X0, Y0, address="Place de la Mairie"),
            _site("b", "35002", X0 + 8000, Y0, address="Place de la Mairie"),  # another commune
            _site("c", "35003", X0 + 20_000, Y0, address="1 rue A", geocoding="approx_mairie"),
            _site("d", "35003", X0 + 20_000, Y0, address="99 rue B", geocoding="approx_mairie"),  # same town hall
            _site("e", "35004", X0 + 40_000, Y0, address="2 rue C"),
            _site("f", "35004", X0 + 40_500, Y0, address="2, rue C"),  # same address, point 500 m off
            _site("g", "35005", X0 + 60_000, Y0, address=None),
            _site("h", "35005", X0 + 60_020, Y0, address=None),  # 20 m apart, both at their building
        ],
        crs=CRS,
    )
    merged, merges = sio.merge_same_places(places)
    assert merges == [("e", ("f",)), ("g", ("h",))]
    assert merged["structure_id"].tolist() == ["a", "b", "c", "d", "e", "g"]


def test_a_cedex_postcode_names_its_commune_through_its_departement(tmp_path: Path, squares, partner_types) -> None:
    layer = _without_coordinates(tmp_path, [["35009", "OUESTVILLE CEDEX 9", ""]], partner_types)
    placed = sio.assign_communes(layer, squares.assign(postcodes=[["35100"], ["35200"]]))
    assert placed["commune_code"].tolist() == ["35001"]  # no commune lists 35009: the name in 35xxx decides


def test_superseded_rows_must_name_a_current_row(tmp_path: Path, partner_types) -> None:
    from geo.sources.sites import read_sites

    source = PILOT_DIR / "structures" / "sites-missions-locales.csv"
    bad = _edited(source, tmp_path / "ml.csv", {(4, "remplace_par"): "arml2026:NULLE:00"})
    with pytest.raises(ValidationError) as exc:
        read_sites(bad, partner_types=partner_types, crs=CRS)
    _assert_names(exc, "row 4", "'remplace_par'", "arml2026:NULLE:00")
    rejections: list[ValidationError] = []
    layer = read_sites(bad, partner_types=partner_types, crs=CRS, rejections=rejections)
    assert [(e.row, e.field) for e in rejections] == [(4, "remplace_par")] and len(layer.attrs["superseded"]) == 13


def test_hostile_web_addresses_and_infinite_numbers_are_refused(tmp_path: Path) -> None:
    from geo.sources.tables import read_json, web_address

    assert web_address("www.cio-brest.org", file=tmp_path, row=2, field="site_web") == "https://www.cio-brest.org"
    for hostile in ("https://www.cio.fr@evil.example", 'https://a.fr/"><script>', "javascript:alert(1)", "a b"):
        with pytest.raises(ValidationError, match="not a web address"):
            web_address(hostile, file=tmp_path, row=2, field="site_web")
    path = tmp_path / "inf.json"
    path.write_text('[{"code": "35238", "population": 1e999}]', encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        read_json(path, records=lambda d: enumerate(d, start=1))
    _assert_names(exc, "row 1", "'population'", "1e999", "infinite")


def test_france_services_site_may_be_marked_without_public_reception(tmp_path: Path, partner_types) -> None:
    rows = _rows(FS)
    rows[0].append("accueil_public")
    for i, cells in enumerate(rows[1:], start=2):
        cells.append("non" if i == 3 else "")
    layer = france_services_io.read_france_services(
        _write(tmp_path / "fs.csv", rows), partner_types=partner_types, crs=CRS
    )
    assert layer.loc[3, "receives_public"] is False and layer.loc[2, "receives_public"] is None
