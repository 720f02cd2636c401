"""Corpus of malformed inputs (issue 6): every case must stop ``atlas load`` clearly.

Each case copies the Bretagne pilot into ``tmp_path`` and alters one thing (or adds one of the
small hand-made files of ``tests/data/bad/``, described in its README), then runs the load
against a database already holding the pilot. Each must give

- a non-zero exit code (2) and "Rien n'a été écrit";
- a message naming the file, and the row and the field where they mean something;
- a database left exactly as it was (row count and checksum of every table).

Most cases go through the CLI's own entry point in-process (``scripts.cli.app``, what the
``atlas`` script runs); those marked ``real_cli`` run the real ``.venv/bin/atlas`` command in a
child process, whose peak memory is checked too.
The huge inputs are generated here, never committed. A few inputs that must be *accepted*
(UTF-8 with BOM, CRLF, extra columns) are checked at the end: they load the same rows as the pilot.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from scripts.cli import app
from settings import PROJECT_ROOT
from storage import db
from tests.conftest import PILOT_DIR, TEST_DATA, snapshot

BAD = TEST_DATA / "bad"
ATLAS = Path(sys.executable).with_name("atlas")
if not ATLAS.exists():  # pragma: no cover - pytest run from another interpreter
    ATLAS = PROJECT_ROOT / ".venv" / "bin" / "atlas"

MANIFEST = "atlas.toml"
COG = "admin/communes-2026.json"
CONTOURS = "admin/communes-contours-cog2018.geojson"
EVENTS = "admin/cog-fusions-complement.csv"
EPCI = "admin/epci-2026.json"
DEPARTEMENTS = "admin/departements-2026.json"
REGIONS = "admin/regions-2026.json"
PARTNER_TYPES = "../partner-types.csv"  # as the manifest names it
FS = "structures/france-services-20240801.csv"
PARTNERS = "structures/partenaires.csv"
SITES = "structures/sites-apec.csv"
SAMPLE_ANNUAIRE = TEST_DATA / "annuaire-service-public-SAMPLE-handwritten.json"

BOWTIE = {"type": "Polygon", "coordinates": [[[-3, 48], [-2.9, 48.1], [-2.9, 48], [-3, 48.1], [-3, 48]]]}
HUGE_ROWS = 200_000


# --------------------------------------------------------------------------------------------
# Databases: a private copy of the pilot for the whole module, checked after every case
# --------------------------------------------------------------------------------------------


@dataclass
class Target:
    url: str
    baseline: dict[str, tuple[int, str]]


def _copy_database(server_url: str, template_url: str) -> tuple[str, str]:
    name = f"atlas_test_{uuid.uuid4().hex[:12]}"
    template = psycopg.conninfo.conninfo_to_dict(template_url)["dbname"]
    with db.connect(server_url, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(template)
            )
        )
    return name, db.with_dbname(server_url, name)


@pytest.fixture(scope="module")
def target(server_url: str, pilot_db: str) -> Iterator[Target]:
    """A copy of the pilot database that the failing loads run against."""
    name, url = _copy_database(server_url, pilot_db)
    yield Target(url, snapshot(url))
    db.drop_database(server_url, name)


# --------------------------------------------------------------------------------------------
# Building the bad inputs
# --------------------------------------------------------------------------------------------


def _pilot_copy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "bretagne"
    shutil.copytree(PILOT_DIR, target)
    shutil.copy(PILOT_DIR.parent / "partner-types.csv", tmp_path / "partner-types.csv")
    return target


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _write_rows(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", lineterminator: str = "\r\n") -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator=lineterminator).writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def _edit_csv(path: Path, changes: dict[tuple[int, str], str]) -> None:
    """Set cells by (spreadsheet row, column name); header is row 1."""
    rows = _rows(path)
    for (row, column), value in changes.items():
        rows[row - 1][rows[0].index(column)] = value
    _write_rows(path, rows)


def _first_non_ascii(path: Path) -> tuple[int, str]:
    """(spreadsheet row, column) of the first cell of a CSV holding a non-ASCII character."""
    rows = _rows(path)
    return next(
        (i, rows[0][j])
        for i, cells in enumerate(rows, start=1)
        if i > 1
        for j, cell in enumerate(cells)
        if not cell.isascii()
    )


def _load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


def _dump_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _edit_features(path: Path, edit: Callable[[list[dict]], None]) -> None:
    data = _load_json(path)
    edit(data["features"])
    _dump_json(path, data)


def _edit_list(path: Path, edit: Callable[[list[dict]], None]) -> None:
    data = _load_json(path)
    edit(data)
    _dump_json(path, data)


def _set_geometry(feature: int, geometry: object) -> Callable[[list[dict]], None]:
    def edit(features: list[dict]) -> None:
        features[feature - 1]["geometry"] = geometry

    return edit


def _swap_xy(coordinates: object) -> object:
    if isinstance(coordinates[0], (int, float)):
        return [coordinates[1], coordinates[0]]
    return [_swap_xy(c) for c in coordinates]


def _truncate(path: Path, fraction: float) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * fraction)])


def _replace_in_manifest(d: Path, old: str, new: str) -> None:
    path = d / MANIFEST
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _cog_first_current(data: list[dict], skip: int = 0) -> int:
    """0-based index of the (skip+1)-th current commune of the Région in the COG list."""
    found = [i for i, rec in enumerate(data) if rec.get("type") == "commune-actuelle" and rec.get("region") == "53"]
    return found[skip]


def _json_first_non_ascii(records: list[dict]) -> tuple[int, str]:
    """(1-based record, key) of the first string value holding a non-ASCII character."""
    for i, rec in enumerate(records, start=1):
        for key, value in rec.items():
            if not json.dumps(value, ensure_ascii=False).isascii():
                return i, key
    raise AssertionError("no non-ASCII value")


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------

Build = Callable[[Path], object]
"""Alters the data folder; may return a tuple (extra CLI arguments, extra expected fragments)."""


@dataclass(frozen=True)
class Case:
    build: Build
    file: str | None  # path relative to the data folder, or "bad:NAME" for a committed file
    row: int | None = None
    field_: str | None = None
    words: tuple[str, ...] = ()
    real_cli: bool = False  # run .venv/bin/atlas in a child process
    extra: tuple[str, ...] = ()  # --structures FORMAT:bad:NAME


def _expect(fragments: list[str]) -> tuple[list[str], list[str]]:
    """A build's result adding expected message fragments computed from the data."""
    return [], fragments


# --- manifest ---


def _manifest_truncated(d: Path) -> None:
    text = (d / MANIFEST).read_text(encoding="utf-8")
    cut = text.index('file = "structures/france-services') + len('file = "structures/fran')
    (d / MANIFEST).write_text(text[:cut], encoding="utf-8")


def _append_manifest(d: Path, line: str) -> None:
    """Add ``line`` to the manifest's ``[expected_sites]`` table."""
    text = (d / MANIFEST).read_text(encoding="utf-8")
    (d / MANIFEST).write_text(text.replace("[expected_sites]\n", f"[expected_sites]\n{line}\n"), encoding="utf-8")


def _manifest_latin1(d: Path) -> tuple[list[str], list[str]]:
    text = (d / MANIFEST).read_text(encoding="utf-8")
    (d / MANIFEST).write_bytes(text.encode("latin-1"))
    line = next(i for i, line in enumerate(text.splitlines(), start=1) if not line.isascii())
    return _expect([f"row {line}"])


# --- COG communes ---


def _cog_population_text(d: Path) -> tuple[list[str], list[str]]:
    data = _load_json(d / COG)
    i = _cog_first_current(data)
    data[i]["population"] = str(data[i]["population"])
    _dump_json(d / COG, data)
    return _expect([f"row {i + 1}"])


def _cog_missing_code(d: Path) -> None:
    _edit_list(d / COG, lambda data: data[2].pop("code"))


def _cog_duplicate_code(d: Path) -> tuple[list[str], list[str]]:
    data = _load_json(d / COG)
    first, second = _cog_first_current(data, 3), _cog_first_current(data, 4)
    data[second]["code"] = data[first]["code"]
    _dump_json(d / COG, data)
    return _expect([f"row {second + 1}", f"rows {first + 1}, {second + 1}"])


def _cog_cp1252(d: Path) -> tuple[list[str], list[str]]:
    data = _load_json(d / COG)
    (d / COG).write_bytes((d / COG).read_text(encoding="utf-8").encode("cp1252"))
    row, key = _json_first_non_ascii(data)
    return _expect([f"row {row}", f"field '{key}'"])


def _cog_mojibake(d: Path) -> tuple[list[str], list[str]]:
    data = _load_json(d / COG)
    row, key = _json_first_non_ascii(data)
    data[row - 1][key] = data[row - 1][key].encode("utf-8").decode("cp1252")
    _dump_json(d / COG, data)
    return _expect([f"row {row}", f"field '{key}'"])


def _cog_other_region(d: Path) -> None:
    def edit(data: list[dict]) -> None:
        for rec in data:
            rec["region"] = "52"

    _edit_list(d / COG, edit)


# --- contours ---


def _contours_swapped(d: Path) -> None:
    def edit(features: list[dict]) -> None:
        geometry = features[6]["geometry"]
        geometry["coordinates"] = _swap_xy(geometry["coordinates"])

    _edit_features(d / CONTOURS, edit)


def _contours_declared_lambert93(d: Path) -> None:
    data = _load_json(d / CONTOURS)
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
    _dump_json(d / CONTOURS, data)


def _contours_unknown_crs(d: Path) -> None:
    data = _load_json(d / CONTOURS)
    data["crs"] = {"type": "name", "properties": {"name": "EPSG:999999"}}
    _dump_json(d / CONTOURS, data)


def _contours_metres_without_crs(d: Path) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(d / CONTOURS).to_crs("EPSG:2154")
    data = json.loads(gdf.to_json())
    data.pop("crs")  # with its CRS member the file is read correctly; without it, metres would be degrees
    _dump_json(d / CONTOURS, data)


def _contours_gpkg_without_crs(d: Path) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(d / CONTOURS).set_crs(None, allow_override=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio warns that the layer has no CRS: the point
        gdf.to_file(d / "admin" / "contours.gpkg", driver="GPKG")
    _replace_in_manifest(d, CONTOURS, "admin/contours.gpkg")


def _contours_missing_code(d: Path) -> None:
    _edit_features(d / CONTOURS, lambda features: features[19]["properties"].pop("code"))


def _contours_duplicate_code(d: Path) -> None:
    def edit(features: list[dict]) -> None:
        features[30]["properties"]["code"] = features[29]["properties"]["code"]

    _edit_features(d / CONTOURS, edit)


def _contours_outside_region(d: Path) -> None:
    paris = {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]}
    _edit_features(
        d / CONTOURS,
        lambda features: features.append(
            {"type": "Feature", "properties": {"code": "75056", "nom": "Paris"}, "geometry": paris}
        ),
    )


# --- merger events, EPCI, départements ---


def _events_latin1(d: Path) -> tuple[list[str], list[str]]:
    row, column = _first_non_ascii(d / EVENTS)
    (d / EVENTS).write_bytes((d / EVENTS).read_text(encoding="utf-8").encode("cp1252"))
    return _expect([f"row {row}", f"field '{column}'"])


def _epci_member_without_code(d: Path) -> None:
    _edit_list(d / EPCI, lambda data: data[0]["membres"][0].pop("code"))


def _epci_commune_in_two(d: Path) -> None:
    def edit(data: list[dict]) -> None:
        data[1]["membres"].append(data[0]["membres"][0])

    _edit_list(d / EPCI, edit)


def _departements_missing_one(d: Path) -> None:
    _edit_list(d / DEPARTEMENTS, lambda data: data.pop(next(i for i, r in enumerate(data) if r["code"] == "29")))


# --- France services and partenaires (CSV) ---


def _fs_drop_column(d: Path) -> None:
    rows = _rows(d / FS)
    i = rows[0].index("latitude")
    _write_rows(d / FS, [r[:i] + r[i + 1 :] for r in rows])


def _fs_duplicate_header(d: Path) -> None:
    rows = _rows(d / FS)
    rows[0][rows[0].index("commentaire")] = "latitude"
    _write_rows(d / FS, rows)


def _fs_unquoted_separator(d: Path) -> None:
    text = (d / FS).read_text(encoding="utf-8")
    lines = text.split("\n")
    lines[6] = lines[6].replace("France services", "France services, antenne", 1)  # an unquoted comma
    (d / FS).write_text("\n".join(lines), encoding="utf-8")


def _fs_swap(d: Path) -> None:
    rows = _rows(d / FS)
    lat, lon = rows[0].index("latitude"), rows[0].index("longitude")
    rows[2][lat], rows[2][lon] = rows[2][lon], rows[2][lat]
    _write_rows(d / FS, rows)


def _fs_latin1(d: Path) -> tuple[list[str], list[str]]:
    row, column = _first_non_ascii(d / FS)
    (d / FS).write_bytes((d / FS).read_text(encoding="utf-8").encode("cp1252"))
    return _expect([f"row {row}", f"field '{column}'"])


def _fs_utf16(d: Path) -> None:
    (d / FS).write_bytes((d / FS).read_text(encoding="utf-8").encode("utf-16"))


def _fs_mojibake(d: Path) -> tuple[list[str], list[str]]:
    rows = _rows(d / FS)
    row, column = _first_non_ascii(d / FS)
    i = rows[0].index(column)
    rows[row - 1][i] = rows[row - 1][i].encode("utf-8").decode("cp1252")
    _write_rows(d / FS, rows)
    return _expect([f"row {row}", f"field '{column}'"])


def _fs_cut_mid_row(d: Path) -> None:
    raw = (d / FS).read_bytes().rstrip(b"\r\n")
    last_line = raw.rindex(b"\n")
    (d / FS).write_bytes(raw[: last_line + (len(raw) - last_line) // 3])


def _fs_unterminated_quote(d: Path) -> None:
    rows = _rows(d / FS)
    rows[9][rows[0].index("adresse")] = "PLACEHOLDER"
    _write_rows(d / FS, rows)
    text = (d / FS).read_text(encoding="utf-8")
    (d / FS).write_text(text.replace("PLACEHOLDER", '"12 rue du Port'), encoding="utf-8")


def _fs_header_only(d: Path) -> None:
    _write_rows(d / FS, _rows(d / FS)[:1])


def _fs_huge_field(d: Path) -> None:
    _edit_csv(d / FS, {(2, "commentaire"): "x" * 10_000_000})


def _fs_cp1252_excel(d: Path) -> tuple[list[str], list[str]]:
    """What Excel's "CSV (séparateur : point-virgule)" writes: Windows-1252, ';', decimal commas."""
    rows = _rows(d / FS)
    for cells in rows[1:]:
        for column in ("latitude", "longitude"):
            j = rows[0].index(column)
            cells[j] = cells[j].replace(".", ",")
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    (d / FS).write_bytes(out.getvalue().encode("cp1252"))
    row, column = _first_non_ascii(PILOT_DIR / FS)
    return _expect([f"row {row}", f"field '{column}'", "iconv"])


def _partners_conflicting_duplicate(d: Path) -> None:
    rows = _rows(d / PARTNERS)
    rows[4] = list(rows[1])
    rows[4][rows[0].index("adresse")] = "autre adresse"
    _write_rows(d / PARTNERS, rows)


# --- huge inputs, generated ---


def _huge_partners(d: Path) -> tuple[list[str], list[str]]:
    """200,000 rows (about 20 MB), valid but the very last, whose latitude is not a number.

    Every row goes through every check before the last one fails: the whole file is held and
    validated in memory (about 0.5 GiB at peak for the CLI, 6 s on a 2-core machine).
    """
    rng = random.Random(6)
    path = d.parent / "partenaires-huge.csv"
    types = ["france_travail", "mission_locale", "cio"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("type,nom,adresse,code_postal,commune,code_insee,lat,lon,geocodage\n")
        for i in range(1, HUGE_ROWS):
            lat, lon = 48.0 + rng.random() * 0.2, -1.8 + rng.random() * 0.3  # around Rennes
            fh.write(f"{types[i % 3]},Structure générée {i},{i} rue du Test,35000,RENNES,,{lat:.5f},{lon:.5f},source\n")
        fh.write("cio,Structure générée finale,1 rue du Test,35000,RENNES,,48.1x,-1.68,source\n")
    return ["--structures", f"partenaires:{path}"], [str(path), f"row {HUGE_ROWS + 1}", "field 'lat'", "48.1x"]


def _annuaire_huge_url(d: Path) -> None:
    """The hand-written annuaire sample with a 5 MB web address in its first service."""
    data = json.loads(SAMPLE_ANNUAIRE.read_text(encoding="utf-8"))
    data["service"][0]["site_internet"] = [{"libelle": "", "valeur": "https://exemple.fr/" + "a" * 5_000_000}]
    (d / "annuaire-url-5-mo.json").write_text(json.dumps(data), encoding="utf-8")


CASES: dict[str, Case] = {
    # manifest
    "manifest truncated mid-line": Case(_manifest_truncated, MANIFEST, words=("invalid TOML",), real_cli=True),
    "manifest key missing": Case(
        lambda d: _replace_in_manifest(d, 'contours = "admin/', 'contour = "admin/'),
        MANIFEST,
        field_="territories.contours",
    ),
    "manifest in Latin-1": Case(_manifest_latin1, MANIFEST, words=("not UTF-8",)),
    "manifest expected sites of an unknown type": Case(
        lambda d: _append_manifest(d, "cabinet_prive = 3"),
        MANIFEST,
        field_="expected_sites.cabinet_prive",
        words=("unknown partner type",),
    ),
    "manifest expected sites not a number": Case(
        lambda d: _append_manifest(d, 'cio = "dix-huit"'),
        MANIFEST,
        field_="expected_sites.cio",
        words=("expected a number of sites",),
    ),
    "manifest nested 100,000 deep": Case(
        lambda d: (d / MANIFEST).write_text(
            "x = " + "[" * 100_000 + "]" * 100_000 + "\n" + (d / MANIFEST).read_text(encoding="utf-8"), encoding="utf-8"
        ),
        MANIFEST,
        words=("nested too deep",),
    ),
    "manifest names a missing file": Case(lambda d: (d / PARTNERS).unlink(), PARTNERS, words=("file not found",)),
    "manifest unknown format": Case(
        lambda d: _replace_in_manifest(d, 'format = "partenaires"', 'format = "xlsx"'),
        PARTNERS,
        field_="format",
        words=("xlsx",),
    ),
    "manifest impossible vintage date": Case(
        lambda d: _replace_in_manifest(d, 'vintage = "2024-08-01"', 'vintage = "2024-02-30"'),
        MANIFEST,
        row=1,
        field_="vintage",
        words=("not a real date",),
    ),
    # COG communes (JSON list)
    "communes population as text": Case(_cog_population_text, COG, field_="population", words=("integer",)),
    "communes code missing": Case(_cog_missing_code, COG, row=3, field_="code"),
    "communes duplicate code": Case(_cog_duplicate_code, COG, field_="code", words=("more than once",)),
    "communes truncated JSON": Case(lambda d: _truncate(d / COG, 0.5), COG, words=("invalid JSON", "truncated")),
    "communes empty file": Case(lambda d: (d / COG).write_bytes(b""), COG, words=("empty file",)),
    "communes in Windows-1252": Case(_cog_cp1252, COG, words=("not UTF-8", "iconv"), real_cli=True),
    "communes garbled accents (mojibake)": Case(_cog_mojibake, COG, words=("garbled",)),
    "communes of another Région only": Case(_cog_other_region, COG, field_="region", words=("Région 53",)),
    "communes not a JSON array": Case(
        lambda d: _dump_json(d / COG, {"communes": _load_json(d / COG)}), COG, words=("expected a JSON array",)
    ),
    # contours (GeoJSON / GeoPackage)
    "contours self-intersecting polygon": Case(
        lambda d: _edit_features(d / CONTOURS, _set_geometry(11, BOWTIE)),
        CONTOURS,
        row=11,
        field_="geometry",
        words=("Self-intersection",),
    ),
    "contours empty polygon": Case(
        lambda d: _edit_features(d / CONTOURS, _set_geometry(12, {"type": "Polygon", "coordinates": []})),
        CONTOURS,
        row=12,
        field_="geometry",
        words=("empty",),
    ),
    "contours point instead of polygon": Case(
        lambda d: _edit_features(d / CONTOURS, _set_geometry(14, {"type": "Point", "coordinates": [-3, 48]})),
        CONTOURS,
        row=14,
        field_="geometry",
        words=("Polygon",),
    ),
    "contours lon/lat swapped": Case(
        _contours_swapped, CONTOURS, row=7, field_="geometry", words=("swapped",), real_cli=True
    ),
    "contours degrees declared as Lambert-93": Case(
        _contours_declared_lambert93, CONTOURS, field_="geometry", words=("EPSG:2154", "wrong CRS")
    ),
    "contours unknown CRS": Case(_contours_unknown_crs, CONTOURS, field_="crs", words=("EPSG:999999",)),
    "contours metres without CRS": Case(
        _contours_metres_without_crs, CONTOURS, field_="geometry", words=("not longitudes/latitudes",)
    ),
    "contours GeoPackage without CRS": Case(
        _contours_gpkg_without_crs, "admin/contours.gpkg", field_="geometry", words=("no CRS",)
    ),
    "contours code missing": Case(_contours_missing_code, CONTOURS, row=20, field_="code"),
    "contours duplicate code": Case(
        _contours_duplicate_code, CONTOURS, row=31, field_="code", words=("more than once",)
    ),
    "contours truncated JSON": Case(lambda d: _truncate(d / CONTOURS, 0.6), CONTOURS, words=("truncated",)),
    "contours no feature": Case(
        lambda d: _dump_json(d / CONTOURS, {"type": "FeatureCollection", "features": []}), CONTOURS, field_="features"
    ),
    "contours commune outside the Région": Case(_contours_outside_region, CONTOURS, field_="code", words=("75056",)),
    # merger events, EPCI, départements, partner types
    "merger events in Windows-1252": Case(_events_latin1, EVENTS, words=("not UTF-8",)),
    "merger events impossible date": Case(
        lambda d: _edit_csv(d / EVENTS, {(2, "date_effet"): "2019-02-30"}), EVENTS, row=2, field_="date_effet"
    ),
    "merger events name in the code column": Case(
        lambda d: _edit_csv(d / EVENTS, {(3, "nouveau_code"): "Ploërmel"}), EVENTS, row=3, field_="nouveau_code"
    ),
    "merger events empty file": Case(lambda d: (d / EVENTS).write_bytes(b""), EVENTS, words=("empty file",)),
    "EPCI member without code": Case(_epci_member_without_code, EPCI, row=1, field_="membres"),
    "EPCI commune in two EPCI": Case(_epci_commune_in_two, EPCI, row=2, field_="membres", words=("both EPCI",)),
    "départements list lacks one": Case(_departements_missing_one, DEPARTEMENTS, field_="code", words=("29",)),
    "régions list lacks the Région": Case(
        lambda d: _dump_json(d / REGIONS, [{"code": "52", "nom": "Pays de la Loire"}]),
        REGIONS,
        field_="code",
        words=("Région 53",),
    ),
    "partner types bad boolean": Case(
        lambda d: _edit_csv(d / PARTNER_TYPES, {(3, "receives_public"): "peut-être"}),
        PARTNER_TYPES,
        row=3,
        field_="receives_public",
    ),
    "partner types unknown mission": Case(
        lambda d: _edit_csv(d / PARTNER_TYPES, {(2, "missions"): "accueil|orientation"}),
        PARTNER_TYPES,
        row=2,
        field_="missions",
        words=("orientation",),
    ),
    # France services (CSV)
    "france services missing column": Case(_fs_drop_column, FS, row=1, field_="latitude"),
    "france services duplicate column": Case(_fs_duplicate_header, FS, row=1, field_="latitude"),
    "france services unquoted separator": Case(_fs_unquoted_separator, FS, row=7, words=("separator",)),
    "france services text in latitude": Case(
        lambda d: _edit_csv(d / FS, {(5, "latitude"): "quarante-huit"}), FS, row=5, field_="latitude"
    ),
    "france services lat/lon swapped": Case(_fs_swap, FS, row=3, field_="latitude", words=("swapped",)),
    "france services Lambert-93 metres": Case(
        lambda d: _edit_csv(d / FS, {(3, "latitude"): "6789000", (3, "longitude"): "351000"}),
        FS,
        row=3,
        words=("Lambert-93",),
    ),
    "france services point outside the Région": Case(
        lambda d: _edit_csv(
            d / FS,
            {
                (4, "latitude"): "48.8566",
                (4, "longitude"): "2.3522",
                (4, "insee_com"): "",
                (4, "code_postal"): "",
                (4, "lib_com"): "",
            },
        ),
        FS,
        row=4,
        field_="latitude/longitude",
        words=("outside the Région",),
    ),
    # A homonym geocoded in another Région (Saint-Louis 97450 placed in Moselle): the commune
    # named by the postcode and the name, and where the point lies, are both named.
    "france services point far from the commune its postcode and name give": Case(
        lambda d: _edit_csv(d / FS, {(4, "latitude"): "48.8566", (4, "longitude"): "2.3522", (4, "insee_com"): ""}),
        FS,
        row=4,
        field_="code_postal/lib_com",
        words=("lies outside the Région", "from Le Mené (22046), the commune this row names"),
    ),
    "france services point in another commune than its INSEE code": Case(
        lambda d: _edit_csv(d / FS, {(3, "latitude"): "47.9960", (3, "longitude"): "-4.1020"}),
        FS,
        row=3,
        field_="insee_com",
        words=("lies in Quimper (29232)", "from Tréguier (22362), the commune this row names"),
    ),
    "france services unknown commune code": Case(
        lambda d: _edit_csv(d / FS, {(5, "insee_com"): "99999"}), FS, row=5, field_="insee_com"
    ),
    "france services postcode as text": Case(
        lambda d: _edit_csv(d / FS, {(4, "code_postal"): "22OOO"}), FS, row=4, field_="code_postal"
    ),
    "france services bad yes/no": Case(
        lambda d: _edit_csv(d / FS, {(6, "prise_rdv"): "Peut-être"}), FS, row=6, field_="prise_rdv"
    ),
    "france services in Windows-1252": Case(_fs_latin1, FS, words=("not UTF-8",)),
    "france services Excel export (cp1252, semicolons)": Case(_fs_cp1252_excel, FS, words=("not UTF-8",)),
    "france services in UTF-16": Case(_fs_utf16, FS, words=("UTF-16",)),
    "france services in UTF-16 without BOM": Case(
        lambda d: (d / FS).write_bytes((d / FS).read_text(encoding="utf-8").encode("utf-16-le")),
        FS,
        row=1,
        words=("NUL",),
    ),
    "france services garbled accents (mojibake)": Case(_fs_mojibake, FS, words=("garbled",)),
    "france services cut mid-row": Case(_fs_cut_mid_row, FS, row=131, words=("truncated",), real_cli=True),
    "france services unterminated quote": Case(
        _fs_unterminated_quote, FS, row=10, field_="adresse", words=("never closed",)
    ),
    "france services header only": Case(_fs_header_only, FS, row=2, words=("no data row",)),
    "france services empty file": Case(lambda d: (d / FS).write_bytes(b""), FS, words=("empty file",)),
    "france services 10 MB value": Case(_fs_huge_field, FS, row=2, field_="commentaire", words=("10,000,000",)),
    # partenaires (CSV)
    "partenaires conflicting duplicate": Case(_partners_conflicting_duplicate, PARTNERS, row=5, field_="nom"),
    "partenaires unknown type": Case(
        lambda d: _edit_csv(d / PARTNERS, {(4, "type"): "cabinet_prive"}), PARTNERS, row=4, field_="type"
    ),
    "partenaires unknown geocoding": Case(
        lambda d: _edit_csv(d / PARTNERS, {(6, "geocodage"): "gps"}), PARTNERS, row=6, field_="geocodage"
    ),
    # hand-made files of tests/data/bad, given with --structures
    "extra partenaires Excel Windows-1252": Case(
        lambda d: None,
        "bad:partenaires-excel-windows1252.csv",
        row=2,
        field_="nom",
        words=("not UTF-8",),
        extra=("partenaires:bad:partenaires-excel-windows1252.csv",),
    ),
    "extra partenaires mojibake": Case(
        lambda d: None,
        "bad:partenaires-mojibake.csv",
        row=2,
        field_="nom",
        words=("garbled", "Fougères"),
        extra=("partenaires:bad:partenaires-mojibake.csv",),
    ),
    "annuaire truncated JSON": Case(
        lambda d: None,
        "bad:annuaire-tronque.json",
        words=("invalid JSON", "truncated"),
        extra=("annuaire:bad:annuaire-tronque.json",),
    ),
    "annuaire impossible date": Case(
        lambda d: None,
        "bad:annuaire-date-impossible.json",
        row=1,
        field_="date_modification",
        words=("31/02/2024",),
        extra=("annuaire:bad:annuaire-date-impossible.json",),
        real_cli=True,
    ),
    "annuaire impossible time": Case(
        lambda d: None,
        "bad:annuaire-heure-invalide.json",
        row=1,
        field_="plage_ouverture",
        words=("25:30",),
        extra=("annuaire:bad:annuaire-heure-invalide.json",),
    ),
    "annuaire lat/lon swapped": Case(
        lambda d: None,
        "bad:annuaire-lat-lon-inverses.json",
        row=2,
        field_="adresse.latitude",
        words=("swapped",),
        extra=("annuaire:bad:annuaire-lat-lon-inverses.json",),
    ),
    "annuaire duplicate id": Case(
        lambda d: None,
        "bad:annuaire-id-en-double.json",
        row=2,
        field_="id",
        extra=("annuaire:bad:annuaire-id-en-double.json",),
    ),
    "annuaire empty list": Case(
        lambda d: None,
        "bad:annuaire-vide.json",
        field_="service",
        words=("no service",),
        extra=("annuaire:bad:annuaire-vide.json",),
    ),
    # hostile files (tests/data/bad) and generated ones
    "annuaire lone surrogate": Case(
        lambda d: None,
        "bad:annuaire-surrogate-isole.json",
        row=2,
        field_="nom",
        words=("lone UTF-16 surrogate",),
        extra=("annuaire:bad:annuaire-surrogate-isole.json",),
    ),
    "annuaire NUL character": Case(
        lambda d: None,
        "bad:annuaire-caractere-nul.json",
        row=1,
        field_="nom",
        words=("NUL character",),
        extra=("annuaire:bad:annuaire-caractere-nul.json",),
    ),
    "annuaire 5,000-digit number": Case(
        lambda d: None,
        "bad:annuaire-nombre-5000-chiffres.json",
        row=3,
        field_="adresse",
        words=("a number of 5,000 characters",),
        extra=("annuaire:bad:annuaire-nombre-5000-chiffres.json",),
    ),
    "annuaire nested 100,000 deep": Case(
        lambda d: None,
        "bad:annuaire-imbrication-100000.json",
        words=("nested too deep",),
        extra=("annuaire:bad:annuaire-imbrication-100000.json",),
        real_cli=True,
    ),
    "annuaire 5 MB web address": Case(
        _annuaire_huge_url,
        "annuaire-url-5-mo.json",
        row=1,
        field_="site_internet",
        words=("5,000,019 characters",),
        extra=("annuaire:annuaire-url-5-mo.json",),
    ),
    "sites 5,000-digit latitude": Case(
        lambda d: _edit_csv(d / SITES, {(2, "lat"): "4" + "8" * 4999}),
        SITES,
        row=2,
        field_="lat",
        words=("a value of 5,000 characters is no coordinate",),
    ),
    "sites script as web address": Case(
        lambda d: _edit_csv(d / SITES, {(3, "site_web"): "javascript:alert(1)"}),
        SITES,
        row=3,
        field_="site_web",
        words=("not a web address",),
    ),
    # huge, generated
    "200k-row partenaires file, bad last row": Case(_huge_partners, None, real_cli=True),
}


# --------------------------------------------------------------------------------------------
# Running a load and checking the outcome
# --------------------------------------------------------------------------------------------


_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL).returncode\n"
    "print(f'peak-rss-kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass
class Outcome:
    code: int
    message: str  # stdout and stderr, whitespace normalised
    peak_mib: float | None = None  # peak resident memory of the real CLI


def _run_load(args: list[str], url: str, *, real_cli: bool, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Run ``atlas load ARGS`` against the database at ``url``."""
    if real_cli:
        env = {**os.environ, "DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(ATLAS), "load", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        output, _, peak = (done.stdout + done.stderr).rpartition("peak-rss-kib=")
        return Outcome(done.returncode, " ".join(output.split()), int(peak.strip()) / 1024)
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(app, ["load", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, " ".join(result.output.split()))


MAX_PEAK_MIB = 2048
"""Largest resident memory allowed to one CLI run (the pilot load alone takes about 400 MiB)."""


def _resolve(file: str, data_dir: Path) -> str:
    return str(BAD / file.removeprefix("bad:")) if file.startswith("bad:") else str(data_dir / file)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_clearly_and_changes_nothing(
    case: str, target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = CASES[case]
    data_dir = _pilot_copy_dir(tmp_path)
    built = spec.build(data_dir)
    args, fragments = built if isinstance(built, tuple) else ([], [])
    for extra in spec.extra:
        fmt, _, name = extra.partition(":")
        args += ["--structures", f"{fmt}:{_resolve(name, data_dir)}"]
    if spec.file is not None:
        fragments.append(_resolve(spec.file, data_dir))
    if spec.row is not None:
        fragments.append(f"row {spec.row}")
    if spec.field_ is not None:
        fragments.append(f"field '{spec.field_}'")
    fragments += spec.words

    outcome = _run_load(
        ["--region", "53", "--data", str(data_dir), *args], target.url, real_cli=spec.real_cli, monkeypatch=monkeypatch
    )

    message = outcome.message
    try:
        assert outcome.code == 2, message
        assert "Traceback" not in message, message
        assert "Rien n'a été écrit" in message, message
        for fragment in fragments:
            assert fragment in message, (fragment, message)
        if outcome.peak_mib is not None:
            assert outcome.peak_mib < MAX_PEAK_MIB, f"peak memory {outcome.peak_mib:.0f} MiB"
    finally:
        after = snapshot(target.url)
        unchanged = after == target.baseline
        target.baseline = after  # the next case checks its own run only
    assert unchanged, "the database changed"


# --------------------------------------------------------------------------------------------
# What must be accepted: BOM, CRLF, extra columns and properties give exactly the pilot's rows
# --------------------------------------------------------------------------------------------


def _with_bom_crlf_and_extras(d: Path) -> None:
    for rel in (FS, PARTNERS, EVENTS, PARTNER_TYPES):
        rows = _rows(d / rel)
        rows = [[*cells, "note" if i == 0 else "colonne ajoutée"] for i, cells in enumerate(rows)]
        _write_rows(d / rel, rows, encoding="utf-8-sig", lineterminator="\r\n")
    for rel in (COG, EPCI, DEPARTEMENTS, REGIONS, "admin/arrondissements-2026.json"):
        data = _load_json(d / rel)
        for rec in data:
            rec["note"] = "propriété ajoutée"
        (d / rel).write_bytes(json.dumps(data, ensure_ascii=False).encode("utf-8-sig"))
    data = _load_json(d / CONTOURS)
    for feature in data["features"]:
        feature["properties"]["note"] = "propriété ajoutée"
    (d / CONTOURS).write_bytes(json.dumps(data, ensure_ascii=False).encode("utf-8-sig"))
    (d / MANIFEST).write_bytes((d / MANIFEST).read_text(encoding="utf-8").encode("utf-8-sig"))


def test_bom_crlf_and_extra_columns_are_accepted(target: Target, tmp_path: Path, monkeypatch) -> None:
    data_dir = _pilot_copy_dir(tmp_path)
    _with_bom_crlf_and_extras(data_dir)
    before = snapshot(target.url)
    outcome = _run_load(["--region", "53", "--data", str(data_dir)], target.url, real_cli=True, monkeypatch=monkeypatch)
    after = target.baseline = snapshot(target.url)
    assert outcome.code == 0, outcome.message
    assert "1202 communes" in outcome.message and "308 structures" in outcome.message
    same = ("region_config", "commune", "territory", "partner_type", "structure")
    assert {t: after[t] for t in same} == {t: before[t] for t in same}  # no BOM or mojibake in any text
    assert after["load_run"][0] == before["load_run"][0] + 1
