"""Loading the pilot into a real PostGIS: happy path, idempotence, and bad input leaving
the database unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from scripts.cli import app
from storage import db
from tests.conftest import PILOT_DIR, snapshot, store_sources


def test_pilot_is_loaded(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        n, pop = conn.execute("SELECT count(*), sum(population) FROM commune").fetchone()
        invalid = conn.execute(
            "SELECT count(*) FROM commune WHERE NOT ST_IsValid(geom) OR ST_IsEmpty(geom)"
        ).fetchone()[0]
        levels = dict(conn.execute("SELECT level, count(*) FROM territory GROUP BY level").fetchall())
        region_pop = conn.execute("SELECT population FROM territory WHERE level = 'region'").fetchone()[0]
        srid = conn.execute("SELECT DISTINCT ST_SRID(geom) FROM commune").fetchall()
        by_dataset = dict(conn.execute("SELECT dataset, count(*) FROM structure GROUP BY dataset").fetchall())
        approx = conn.execute("SELECT count(*) FROM structure WHERE geocoding = 'approx_mairie'").fetchone()[0]
        formats = dict(
            conn.execute(
                "SELECT site_format, count(*) FROM structure WHERE dataset = 'france_services' GROUP BY site_format"
            ).fetchall()
        )
        outside = conn.execute(
            "SELECT count(*) FROM structure s JOIN commune c ON c.code = s.commune_code "
            "WHERE ST_Distance(s.geom, c.geom) > 2000"
        ).fetchone()[0]
        no_missions = conn.execute(
            "SELECT count(*) FROM structure WHERE missions = '{}' AND partner_type <> 'arml'"
        ).fetchone()[0]
        hours = conn.execute(
            "SELECT opening_hours FROM structure WHERE structure_id = 'france_services:133'"
        ).fetchone()[0]
    assert (n, pop) == (1202, 3_449_370)
    assert invalid == 0
    assert levels == {"region": 1, "departement": 4, "arrondissement": 15, "epci": 61}
    assert region_pop == 3_449_370
    assert srid == [(2154,)]
    # data/README.md: 130 France services, 5 CIO of Ille-et-Vilaine, the site lists (42 France
    # Travail rows, 3 pairs merged; 47 Missions locales rows, 14 superseded; ...).
    assert by_dataset == {
        "france_services": 130,
        "partenaires": 5,
        "france_travail": 39,
        "missions_locales": 33,
        "cio_22_29_56": 13,
        "information_jeunesse": 57,
        "cidff": 4,
        "apec": 2,
        "suio": 4,
        "chambres_consulaires": 16,
        "greta_agefiph": 5,
    }
    assert approx == 133  # every site list but France Travail's places its sites at the town hall
    assert formats == {"fixe": 98, "multisites": 15, "bus": 8, "itinerant": 6, "fixe_antennes": 3}
    assert outside == 0
    assert no_missions == 0
    assert hours["lundi"] == "08:00 - 12:00 / 13:00 - 16:00" and "samedi" not in hours


def test_missions_and_publics_come_from_the_mapping_file(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        mismatched = conn.execute(
            "SELECT count(*) FROM structure s JOIN partner_type p USING (partner_type) "
            "WHERE s.missions <> p.missions OR s.publics <> p.publics"
        ).fetchone()[0]
        ml = conn.execute("SELECT missions, publics FROM partner_type WHERE partner_type = 'mission_locale'").fetchone()
    assert mismatched == 0
    assert "accompagnement" in ml[0] and "jeunes" in ml[1]


def test_reloading_gives_the_same_rows(pilot_copy: str, pilot_sources) -> None:
    before = snapshot(pilot_copy)
    store_sources(pilot_copy, pilot_sources)
    after = snapshot(pilot_copy)
    for table, value in before.items():
        if table != "load_run":
            assert after[table] == value, table
    assert after["load_run"][0] == before["load_run"][0] + 1


def test_cli_load_end_to_end(migrated_db: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    result = CliRunner().invoke(app, ["load", "--region", "53", "--data", str(PILOT_DIR)])
    assert result.exit_code == 0, result.output
    assert "1202 communes" in result.output and "308 structures" in result.output
    # Merges and places without public reception are said, by name.
    assert result.output.count("lieu listé plusieurs fois, fusionné") == 3
    assert "4 lieu(x) sans accueil du public" in result.output and "DR BRETAGNE" in result.output
    assert "14 ligne(s) remplacée(s) par une source plus récente" in result.output
    first = snapshot(migrated_db)
    result = CliRunner().invoke(app, ["load", "--region", "53", "--data", str(PILOT_DIR)])
    assert result.exit_code == 0, result.output
    second = snapshot(migrated_db)
    # Only the record of the run and the publication counter (storage.publish) change.
    runs = ("load_run", "publication")
    assert {k: v for k, v in first.items() if k not in runs} == {k: v for k, v in second.items() if k not in runs}


def test_annuaire_file_is_added_as_its_own_dataset(pilot_copy: str, monkeypatch) -> None:
    sample = Path(__file__).parent / "data" / "annuaire-service-public-SAMPLE-handwritten.json"
    monkeypatch.setenv("DATABASE_URL", pilot_copy)
    result = CliRunner().invoke(app, ["load", "--data", str(PILOT_DIR), "--structures", f"annuaire:{sample}"])
    assert result.exit_code == 0, result.output
    with db.connect(pilot_copy) as conn:
        datasets = dict(conn.execute("SELECT dataset, count(*) FROM structure GROUP BY dataset").fetchall())
    assert datasets["france_services"] == 130 and datasets["partenaires"] == 5
    extra = {k: v for k, v in datasets.items() if k.startswith("annuaire:")}
    assert len(extra) == 1 and next(iter(extra.values())) >= 3


# --- bad input: the command fails, names file/row/field, and the database is unchanged ---


def _pilot_copy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "bretagne"
    shutil.copytree(PILOT_DIR, target)
    shutil.copy(PILOT_DIR.parent / "partner-types.csv", tmp_path / "partner-types.csv")
    return target


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set ``column`` of spreadsheet row ``row`` (header = row 1) of a CSV file."""
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


FS = "structures/france-services-20240801.csv"
PARTNERS = "structures/partenaires.csv"
CONTOURS = "admin/communes-contours-cog2018.geojson"


def _drop_column(path: Path, column: str) -> None:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    idx = rows[0].index(column)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([r[:idx] + r[idx + 1 :] for r in rows])


def _corrupt_geometry(path: Path, feature: int, geometry: object) -> None:
    import json

    data = json.loads(path.read_text())
    data["features"][feature - 1]["geometry"] = geometry
    path.write_text(json.dumps(data))


BOWTIE = {"type": "Polygon", "coordinates": [[[-1, 48], [-0.9, 48.1], [-0.9, 48], [-1, 48.1], [-1, 48]]]}

BAD_INPUTS = {
    "missing column": (lambda d: _drop_column(d / FS, "latitude"), [FS, "latitude"]),
    "unparsable coordinate": (lambda d: _edit_csv(d / FS, 5, "latitude", "48,5x"), [FS, "row 5", "latitude"]),
    "empty coordinate": (lambda d: _edit_csv(d / PARTNERS, 5, "lon", ""), [PARTNERS, "row 5", "lon"]),
    "outside the region": (lambda d: _edit_csv(d / FS, 4, "latitude", "45.75"), [FS, "row 4"]),
    "wrong CRS (Lambert-93 in lat/lon)": (
        lambda d: (_edit_csv(d / FS, 3, "latitude", "6789000"), _edit_csv(d / FS, 3, "longitude", "351000")),
        [FS, "row 3"],
    ),
    "duplicate identifier": (lambda d: _edit_csv(d / FS, 6, "id_fs", "133"), [FS, "row", "id"]),
    "unparsable geometry": (
        lambda d: _corrupt_geometry(d / CONTOURS, 10, {"type": "Polygon", "coordinates": 7}),
        [CONTOURS, "row 10", "geometry"],
    ),
    "invalid geometry": (
        lambda d: _corrupt_geometry(d / CONTOURS, 11, BOWTIE),
        [CONTOURS, "row 11", "Self-intersection"],
    ),
    "empty geometry": (lambda d: _corrupt_geometry(d / CONTOURS, 12, None), [CONTOURS, "row 12", "geometry"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_clearly_and_changes_nothing(case: str, pilot_db: str, tmp_path: Path, monkeypatch) -> None:
    corrupt, expected = BAD_INPUTS[case]
    data_dir = _pilot_copy_dir(tmp_path)
    corrupt(data_dir)
    before = snapshot(pilot_db)
    monkeypatch.setenv("DATABASE_URL", pilot_db)
    result = CliRunner().invoke(app, ["load", "--region", "53", "--data", str(data_dir)])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    for fragment in expected:
        fragment = fragment if not fragment.startswith(("structures/", "admin/")) else str(data_dir / fragment)
        assert fragment in message, (fragment, message)
    assert "Rien n'a été écrit" in message
    assert snapshot(pilot_db) == before


def test_database_refusal_rolls_back_everything(pilot_copy: str, pilot_sources) -> None:
    """A failure inside the write (here a structure in an unknown commune) leaves no trace."""
    from storage.common import StoreError

    before = snapshot(pilot_copy)
    broken = pilot_sources.structures.copy()
    broken.loc[broken.index[0], "commune_code"] = "99999"
    sources = type(pilot_sources)(**{**pilot_sources.__dict__, "structures": broken})
    with pytest.raises(StoreError, match="nothing was written"):
        store_sources(pilot_copy, sources)
    assert snapshot(pilot_copy) == before


def test_another_region_is_refused(pilot_copy: str, pilot_sources) -> None:
    from storage.common import StoreError

    before = snapshot(pilot_copy)
    sources = type(pilot_sources)(**{**pilot_sources.__dict__, "region_code": "52"})
    with pytest.raises(StoreError, match="holds Région 53"):
        store_sources(pilot_copy, sources)
    assert snapshot(pilot_copy) == before


def test_wrong_region_argument_is_refused(migrated_db: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    result = CliRunner().invoke(app, ["load", "--region", "52", "--data", str(PILOT_DIR)])
    assert result.exit_code == 2
    assert "Région 53, not 52" in " ".join(result.output.split())
    with db.connect(migrated_db) as conn:
        assert conn.execute("SELECT count(*) FROM commune").fetchone()[0] == 0


def test_structures_table_refuses_unknown_missions(pilot_copy: str) -> None:
    with db.connect(pilot_copy) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE structure SET missions = '{orientation}' WHERE structure_id = 'france_services:133'")


# --- tolerant loads: --skip-invalid-rows ---


def _two_bad_rows_and_one_without_coordinates(data_dir: Path) -> None:
    cidff, apec = data_dir / "structures" / "sites-cidff.csv", data_dir / "structures" / "sites-apec.csv"
    _edit_csv(cidff, 2, "lat", "")
    _edit_csv(cidff, 2, "lon", "")
    _edit_csv(cidff, 2, "geocodage", "")
    _edit_csv(cidff, 3, "type", "cabinet_prive")
    _edit_csv(apec, 2, "lat", "47.9960")  # Quimper, for the Apec of Brest
    _edit_csv(apec, 2, "lon", "-4.1020")
    # The 2026 row replacing row 4 (2019) is rejected: row 4 is then rejected too, not lost unsaid.
    _edit_csv(data_dir / "structures" / "sites-missions-locales.csv", 3, "type", "cabinet_prive")


def test_tolerant_load_keeps_the_valid_rows_and_lists_the_others(migrated_db: str, tmp_path: Path, monkeypatch) -> None:
    data_dir = _pilot_copy_dir(tmp_path)
    _two_bad_rows_and_one_without_coordinates(data_dir)
    monkeypatch.setenv("DATABASE_URL", migrated_db)
    monkeypatch.setenv("ATLAS_VAR_DIR", str(tmp_path / "var"))
    strict = CliRunner().invoke(app, ["load", "--data", str(data_dir)])
    assert strict.exit_code == 2 and "cabinet_prive" in strict.output
    result = CliRunner().invoke(app, ["load", "--data", str(data_dir), "--skip-invalid-rows"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "305 structures" in output and "4 ligne(s) rejetée(s)" in output
    assert "1 lieu(x) sans coordonnées placé(s) d'après leur commune : 1 à la mairie" in output
    [csv_file] = (tmp_path / "var" / "rejets").glob("rejets-*.csv")
    assert str(csv_file) in output
    lines = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "fichier;ligne;champ;motif" and len(lines) == 5
    assert "sites-missions-locales.csv;3;type;unknown partner type 'cabinet_prive'" in lines[1]
    assert "sites-cidff.csv;3;type;unknown partner type 'cabinet_prive'" in lines[2]
    assert "sites-apec.csv;2;code_insee;" in lines[3] and "lies in Quimper (29232)" in lines[3]
    assert "sites-missions-locales.csv;4;remplace_par;" in lines[4] and "neither is loaded" in lines[4]
    with db.connect(migrated_db) as conn:
        stored = conn.execute("SELECT file, source_row, field FROM load_rejection ORDER BY position").fetchall()
        placed = conn.execute(
            "SELECT geocoding, commune_code FROM structure WHERE dataset = 'cidff' AND structure_id LIKE '%22278%'"
        ).fetchall()
    assert [(Path(f).name, r, c) for f, r, c in stored] == [
        ("sites-missions-locales.csv", 3, "type"),
        ("sites-cidff.csv", 3, "type"),
        ("sites-apec.csv", 2, "code_insee"),
        ("sites-missions-locales.csv", 4, "remplace_par"),
    ]
    assert placed == [("approx_mairie", "22278")]
    status = CliRunner().invoke(app, ["db", "status"])
    assert "rejected_rows: 4" in status.output
    assert "  sites-apec.csv, ligne 2, champ code_insee : the point" in status.output
    from webapp import create_app

    web = create_app({"DATABASE_URL": migrated_db, "TESTING": True})
    try:
        page = web.test_client().get("/diagnostic").get_data(as_text=True)
        assert web.test_client().get("/api/inventory").get_json()["rejected_rows"] == 4
    finally:
        web.extensions["atlas_pool"].close()
    assert "Le dernier chargement a écarté 4 ligne(s) invalide(s)" in " ".join(page.split())
    # A strict load afterwards rejects nothing, and says so.
    CliRunner().invoke(app, ["load", "--data", str(PILOT_DIR)])
    assert "rejected_rows: 0" in CliRunner().invoke(app, ["db", "status"]).output


def test_tolerant_load_refuses_a_file_whose_every_row_is_rejected(pilot_db: str, tmp_path: Path, monkeypatch) -> None:
    data_dir = _pilot_copy_dir(tmp_path)
    for row in (2, 3):
        _edit_csv(data_dir / "structures" / "sites-apec.csv", row, "type", "cabinet_prive")
    before = snapshot(pilot_db)
    monkeypatch.setenv("DATABASE_URL", pilot_db)
    monkeypatch.setenv("ATLAS_VAR_DIR", str(tmp_path / "var"))
    result = CliRunner().invoke(app, ["load", "--data", str(data_dir), "--skip-invalid-rows"])
    assert result.exit_code == 2
    assert "every row was rejected (2)" in " ".join(result.output.split())
    assert snapshot(pilot_db) == before


def test_a_database_that_does_not_answer_is_said_in_one_line(server_url: str) -> None:
    from tests.conftest import atlas

    missing = db.with_dbname(server_url, "atlas_test_does_not_exist")
    result = atlas(missing, "load", "--data", str(PILOT_DIR))
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "base injoignable" in output and "Traceback" not in output
