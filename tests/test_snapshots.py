"""Yearly snapshots (issue 16): two real states of the pilot (2019 and 2026, rows selected
by their vintages, ``tests/vintages.py``) loaded, computed (approximate network) and
snapshotted one after the other in one database through the real CLI; the reports, the
changes and the API are read from the snapshots."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely.geometry

from storage import db, snapshot
from tests.conftest import PILOT_DIR, TEST_DATA, _throwaway, atlas, copy_database
from tests.vintages import rows_valid_in, sources_as_of
from tests.web_fixtures import web_db  # noqa: F401 - fixture

CIO_35_2019 = TEST_DATA / "vintages" / "sites-cio-35-dila-2019.csv"
LANDERNEAU_ANTENNA = (
    "missions_locales:arml2026:29BRE:08"  # Mission locale du Pays de Brest, antenne de Landerneau (2026)
)
LORIENT_2019 = "missions_locales:dila2019:mission_locale-56121-01"  # superseded in 2026 by the ARML row below
LORIENT_2026 = "missions_locales:arml2026:56LOR:23"


def _ok(url: str, *args: str) -> str:
    result = atlas(url, *args)
    assert result.returncode == 0, (args, result.stderr)
    return result.stderr


def _compute_and_snapshot(url: str, data: Path, year: int, *extra: str) -> None:
    _ok(url, "load", "--data", str(data))
    _ok(url, "access")
    _ok(url, "gaps")
    _ok(url, "snapshot", "--year", str(year), *extra)


@pytest.fixture(scope="module")
def two_years(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database holding the snapshots of 2019 and 2026 (the live tables: 2026)."""
    name, url = _throwaway(server_url)
    # In 2019 the CIO of Ille-et-Vilaine are the DILA rows; the 2026 load of the
    # ``partenaires`` dataset (their 2023 rows) replaces them, as a Région's reload would.
    state_2019 = sources_as_of(
        PILOT_DIR, 2019, tmp_path_factory.mktemp("etat-2019"), extra=[("partenaires", CIO_35_2019)]
    )
    _compute_and_snapshot(url, state_2019, 2019, "--label", "état 2019 reconstitué des millésimes")
    _compute_and_snapshot(url, PILOT_DIR, 2026)
    yield url
    db.drop_database(server_url, name)


def test_rows_valid_in_a_year_follow_vintages_and_replacements() -> None:
    rows = [
        {"id": "a", "millesime": "2019 (export DILA)", "remplace_par": "b"},
        {"id": "b", "millesime": "2026-07 (HEAD du dépôt)", "remplace_par": ""},
        {"id": "c", "millesime": "2019-11", "remplace_par": ""},
    ]
    assert rows_valid_in(rows, 2019) == [{**rows[0], "remplace_par": ""}, rows[2]]
    assert rows_valid_in(rows, 2026) == rows
    assert rows_valid_in([{"id": "fs", "millesime": ""}], 2019, source_vintage="2024-08-01") == []


def test_each_year_keeps_what_it_rested_on(two_years: str) -> None:
    with db.connect(two_years) as conn:
        assert snapshot.snapshot_years(conn) == [2026, 2019]
        old, new = snapshot.current(conn, 2019), snapshot.current(conn, 2026)
        assert old is not None and new is not None and old["label"] == "état 2019 reconstitué des millésimes"
        places_2019 = snapshot.places(conn, old["snapshot_id"])
        places_2026 = snapshot.places(conn, new["snapshot_id"])
        live = conn.execute("SELECT count(*) FROM structure").fetchone()[0]
    # The 2019 snapshot is not touched by the 2026 load: no France services (labelled from 2020),
    # the 2019 mission locale record of Lorient, not its 2026 one.
    assert "france_services" not in set(places_2019["partner_type"])
    assert LORIENT_2019 in set(places_2019["structure_id"]) and LORIENT_2026 not in set(places_2019["structure_id"])
    assert LORIENT_2026 in set(places_2026["structure_id"]) and len(places_2026) == live
    assert (places_2026["partner_type"] == "france_services").sum() > 100
    assert places_2019.crs == places_2026.crs and places_2019.crs is not None
    parts = new["parts"]
    assert parts["sources"]["load"]["files"] and all(len(h) == 64 for h in parts["sources"]["load"]["files"].values())
    assert parts["approximations"]["approximate_times"] is True
    assert {"any", "mission:conseil"} <= {c["code"] for c in parts["categories"]}
    assert any(r["level"] == "region" and r["category"] == "any" for r in parts["indicators"])
    assert any(g["kind"] == "white_zone" for g in parts["gap_summary"])


def test_a_second_snapshot_of_a_year_needs_replace_and_keeps_the_old_record(server_url: str, two_years: str) -> None:
    name, url = copy_database(server_url, two_years)
    try:
        refused = atlas(url, "snapshot", "--year", "2026")
        assert refused.returncode == 2 and "existe déjà" in refused.stderr and "--replace" in refused.stderr
        with db.connect(url) as conn:
            before = snapshot.current(conn, 2026)
        _ok(url, "snapshot", "--year", "2026", "--replace", "--label", "bilan corrigé")
        with db.connect(url) as conn:
            after = snapshot.current(conn, 2026)
            every = snapshot.snapshots(conn, include_replaced=True)
            old = snapshot.by_id(conn, before["snapshot_id"])
            kept = conn.execute(
                "SELECT count(*) FROM snapshot_place WHERE snapshot_id = %s", (before["snapshot_id"],)
            ).fetchone()[0]
        assert after["snapshot_id"] != before["snapshot_id"] and after["label"] == "bilan corrigé"
        assert old["replaced_by"] == after["snapshot_id"] and old["replaced_at"] is not None and kept > 0
        assert len(every) == 3
        listing = _ok(url, "snapshot", "--list")
        assert "remplacé le" in listing and "bilan corrigé" in listing
    finally:
        db.drop_database(server_url, name)


def test_snapshots_are_immutable(server_url: str, two_years: str) -> None:
    name, url = copy_database(server_url, two_years)
    try:
        with db.connect(url) as conn:
            sid = snapshot.current(conn, 2019)["snapshot_id"]
            for statement in (
                "UPDATE snapshot_place SET name = 'x' WHERE snapshot_id = %s",
                "DELETE FROM snapshot_gap WHERE snapshot_id = %s",
                "UPDATE snapshot SET label = 'x' WHERE snapshot_id = %s",
                "UPDATE snapshot SET year = 2018 WHERE snapshot_id = %s",
                "DELETE FROM snapshot WHERE snapshot_id = %s",
                "TRUNCATE snapshot_place",
                "TRUNCATE snapshot CASCADE",
            ):
                with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="immutable"), conn.transaction():
                    conn.execute(statement, (sid,) if "%s" in statement else None)
    finally:
        db.drop_database(server_url, name)


def test_changes_between_two_real_vintages(two_years: str) -> None:
    from geo.analysis.changes import access_changes, place_changes

    with db.connect(two_years) as conn:
        old, new = snapshot.current(conn, 2019), snapshot.current(conn, 2026)
        changes = place_changes(snapshot.places(conn, old["snapshot_id"]), snapshot.places(conn, new["snapshot_id"]))
    opened = changes[changes["change"] == "opened"]
    assert LANDERNEAU_ANTENNA in set(opened["structure_id"])  # a Brest antenna the 2019 list did not have
    assert (opened["partner_type"] == "france_services").sum() > 100
    # Same mission locale under a new record, at the same (town-hall) point: no change.
    assert LORIENT_2026 not in set(changes["structure_id"]) and LORIENT_2019 not in set(changes["structure_id_before"])
    # The CIO of Ille-et-Vilaine: town hall in 2019, building in 2023: a corrected position, not a move.
    cio = changes[changes["structure_id_before"].fillna("").str.contains("cio-35")]
    assert len(cio) >= 1 and set(cio["change"]) == {"repositioned"} and cio["approximate_position"].all()
    assert not (changes["change"] == "moved").any()
    rows = access_changes(old["parts"]["indicators"], new["parts"]["indicators"])
    drive_any = next(r for r in rows if r["mode"] == "drive" and r["category"] == "any")
    assert drive_any["after_share_30"] >= drive_any["before_share_30"]
    assert drive_any["diff_points_30"] == pytest.approx(
        100 * (drive_any["after_share_30"] - drive_any["before_share_30"]), abs=0.06
    )
    assert {r["kind"] for r in rows} >= {"mission", "partner_type"}
    fs = next(r for r in rows if r["mode"] == "drive" and r["category"] == "partner_type:france_services")
    assert fs["before_share_30"] is None and fs["diff_points_30"] is None and fs["after_share_30"] > 0.5


def test_changed_communes_is_a_geodataframe_for_the_maps(two_years: str) -> None:
    from webapp.snapshots import changed_communes

    with db.connect(two_years) as conn:
        frame = changed_communes(conn, 2026)
        conseil = changed_communes(conn, 2026, mode="drive", category="mission:conseil")
        assert changed_communes(conn, 2019) is None  # the first snapshot has nothing before it
        crs = snapshot.current(conn, 2026)["crs"]
    assert isinstance(frame, gpd.GeoDataFrame) and not frame.empty and frame.crs == crs
    assert {"mode", "category", "commune_code", "name", "population", "change", "threshold_s"} <= set(frame.columns)
    assert set(frame["change"]) <= {"entered", "left"} and frame.geometry.notna().all()
    # Only openings since 2019 (and corrected CIO positions): white zones shrink for conseil by car.
    assert len(conseil) > 0 and set(conseil["change"]) == {"left"}


def test_report_of_a_year_is_its_snapshot_with_the_changes(two_years: str) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": two_years, "TESTING": True})
    try:
        with app.test_client() as client:
            page = html.unescape(client.get("/diagnostic/rapport/2026").get_data(as_text=True))
            assert "Évolutions depuis 2019" in page and "Antenne Landerneau" in page
            assert 'class="changes-map"' in page and "sort de la zone blanche" in page
            assert 'id="tableau-evolutions-acces"' in page and "\xa0pt" in page
            first = html.unescape(client.get("/diagnostic/rapport/2019").get_data(as_text=True))
            assert (
                "Rapport 2019" in first and "Évolutions depuis" not in first and "France services Allaire" not in first
            )
            missing = client.get("/diagnostic/rapport/2020")
            text = html.unescape(missing.get_data(as_text=True))
            assert missing.status_code == 404 and "Pas de bilan pour cette année" in text
            assert "/diagnostic/rapport/2026" in text and "/diagnostic/rapport/2019" in text
            diagnostic = client.get("/diagnostic").get_data(as_text=True)
            assert "/diagnostic/rapport/2026" in diagnostic and "/diagnostic/rapport/2019" in diagnostic
    finally:
        app.extensions["atlas_pool"].close()


def test_report_command_serves_the_snapshot_or_says_there_is_none(two_years: str, tmp_path: Path) -> None:
    output = tmp_path / "rapport-2019.html"
    _ok(two_years, "report", "--year", "2019", "--output", str(output))
    assert "Rapport 2019" in output.read_text(encoding="utf-8")
    missing = atlas(two_years, "report", "--year", "2021", "--output", str(tmp_path / "x.html"))
    assert missing.returncode == 2 and "pas de bilan pour 2021" in missing.stderr and "2026, 2019" in missing.stderr
    assert not (tmp_path / "x.html").exists()


def test_snapshot_api(two_years: str) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": two_years, "TESTING": True})
    try:
        with app.test_client() as client:
            listing = client.get("/api/snapshots").get_json()
            assert listing["years"] == [2026, 2019] and all(s["current"] for s in listing["snapshots"])
            one = client.get("/api/snapshots/2026?mode=drive&category=mission:conseil").get_json()
            assert one["snapshot"]["year"] == 2026 and one["approximate"] is True and one["sources"]["load"]["files"]
            assert [r["code"] for r in one["indicators"]] == ["53"] and one["indicators"][0][
                "category"
            ] == "mission:conseil"
            csv_text = client.get("/api/snapshots/2026?level=departement&format=csv").get_data(as_text=True)
            assert csv_text.splitlines()[0].startswith("level,code,name") and "Finistère" in csv_text
            missing = client.get("/api/snapshots/2021")
            assert missing.status_code == 404 and missing.get_json()["years"] == [2026, 2019]
            assert client.get("/api/snapshots/2026?level=canton").status_code == 400
            changes = client.get("/api/snapshots/2026/changes").get_json()
            assert changes["previous"]["year"] == 2019 and changes["place_counts"]["opened"] > 100
            assert LANDERNEAU_ANTENNA in {p["structure_id"] for p in changes["places"]}
            conseil = client.get("/api/snapshots/2026/changes?mode=drive&category=mission:conseil").get_json()
            assert [(a["mode"], a["category"]) for a in conseil["access"]] == [("drive", "mission:conseil")]
            assert [w["category"] for w in conseil["white_zones"]] == ["mission:conseil"]
            assert conseil["white_zones"][0]["left"] == len(conseil["white_zones"][0]["communes"]) > 0
            first = client.get("/api/snapshots/2019/changes").get_json()
            assert first["previous"] is None
            layer = client.get("/api/snapshots/2026/changes?format=geojson&mode=drive&category=mission:conseil")
            data = layer.get_json(force=True)
            assert layer.mimetype == "application/geo+json" and data["features"]
            assert {f["properties"]["change"] for f in data["features"]} == {"left"}
            point = shapely.geometry.shape(data["features"][0]["geometry"]).representative_point()
            lon, lat = point.x, point.y
            assert -6 < lon < 0 and 46 < lat < 49  # WGS84
    finally:
        app.extensions["atlas_pool"].close()


def test_snapshot_command_refuses_bad_input_and_writes_nothing(migrated_db: str) -> None:
    for args, message in (
        (("snapshot", "--year", "1999"), "hors de la période"),
        (("snapshot",), "--year est obligatoire"),
        (("snapshot", "--year", "2026"), "aucune Région chargée"),
    ):
        result = atlas(migrated_db, *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    with db.connect(migrated_db) as conn:
        assert snapshot.snapshots(conn, include_replaced=True) == []
    assert "Aucun instantané" in _ok(migrated_db, "snapshot", "--list")


def test_a_snapshot_keeps_the_zonings_and_their_zones(web_db: str) -> None:
    from tests.web_fixtures import ZONING_ID

    with db.connect(web_db) as conn:
        snap = snapshot.current(conn, 2026)
        zones = snapshot.zones(conn, snap["snapshot_id"])
        live = conn.execute("SELECT count(*) FROM zone WHERE zoning_id = %s", (ZONING_ID,)).fetchone()[0]
    assert ZONING_ID in {z["zoning_id"] for z in snap["parts"]["zonings"]}
    assert (zones["zoning_id"] == ZONING_ID).sum() == live == 4 and zones.crs == snap["crs"]
    assert any(r["level"] == f"zone:{ZONING_ID}" for r in snap["parts"]["indicators"])


def test_snapshot_layers_give_the_maps_what_they_draw(two_years: str) -> None:
    from webapp.snapshots import snapshot_layers

    with db.connect(two_years) as conn:
        layers = snapshot_layers(conn, 2019)
        assert snapshot_layers(conn, 2021) is None
        crs = snapshot.current(conn, 2019)["crs"]
        live_2026 = conn.execute("SELECT count(*) FROM commune_access WHERE mode = 'drive'").fetchone()[0]
    assert layers is not None and layers.snapshot["year"] == 2019 and layers.approximate is True
    assert layers.changed_communes is None  # the first snapshot
    assert len(layers.communes) == 1202 and layers.communes.crs == crs and live_2026 > 0
    assert "seconds:mission:conseil" in layers.communes and layers.communes["seconds:any"].notna().sum() > 1100
    assert "partner_type:france_services" not in {c["code"] for c in layers.categories}
    assert not layers.white_zones.empty and {"mode", "category", "threshold_s"} <= set(layers.white_zones.columns)
    assert layers.places["receives_public"].sum() > 150 and "france_services" not in set(layers.places["partner_type"])
    assert list(layers.zones.columns)[-1] == "geometry" and "wkb" not in layers.zones  # no zoning in 2019: empty


def test_changes_show_untrusted_names_as_text(web_db: str) -> None:
    import markupsafe

    from tests.web_fixtures import MALICIOUS_ID, MALICIOUS_NAME
    from webapp import create_app

    app = create_app({"DATABASE_URL": web_db, "TESTING": True})
    try:
        with app.test_client() as client:
            page = client.get("/diagnostic/rapport/2026").get_data(as_text=True)
            changes = client.get("/api/snapshots/2026/changes").get_json()
    finally:
        app.extensions["atlas_pool"].close()
    section = page[page.index('id="evolutions"') :]
    assert "Évolutions depuis 2025" in html.unescape(page)
    assert str(markupsafe.escape(MALICIOUS_NAME)) in section and "<script>alert" not in section
    assert {"change": "opened", "structure_id": MALICIOUS_ID} in [
        {k: p[k] for k in ("change", "structure_id")} for p in changes["places"]
    ]


def test_columns_added_later_change_nothing(server_url: str, two_years: str) -> None:
    """Copies name their columns: columns added later to the live tables do not break a
    snapshot."""
    name, url = copy_database(server_url, two_years)
    try:
        with db.connect(url) as conn:
            for statement in (
                f"ALTER TABLE {table} ADD COLUMN added_later boolean NOT NULL DEFAULT false"
                for table in (
                    "commune_access",
                    "commune_structure_time",
                    "structure",
                    "zoning",
                    "scenario",
                    "gap",
                    "zone",
                )
            ):
                conn.execute(statement)
        _ok(url, "snapshot", "--year", "2026", "--replace")
        with db.connect(url) as conn:
            snap = snapshot.current(conn, 2026)
            n_access = conn.execute(
                "SELECT count(*) FROM snapshot_commune_access WHERE snapshot_id = %s", (snap["snapshot_id"],)
            ).fetchone()[0]
            live = conn.execute("SELECT count(*) FROM commune_access").fetchone()[0]
        assert n_access == live > 0
    finally:
        db.drop_database(server_url, name)


def test_a_bilan_cannot_freeze_data_newer_than_its_year(server_url: str, pilot_db: str) -> None:
    """Today's places (vintages up to 2026) are refused as the bilan of 2019 unless --force,
    and a year to come is refused: a snapshot cannot be undone."""
    import datetime as dt

    name, url = copy_database(server_url, pilot_db)
    try:
        for args, message in (
            (("snapshot", "--year", "2019"), "les lieux chargés datent de 2026"),
            (("snapshot", "--year", str(dt.date.today().year + 2)), "année à venir"),
        ):
            result = atlas(url, *args)
            assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        with db.connect(url) as conn:
            assert 2019 not in snapshot.snapshot_years(conn)
    finally:
        db.drop_database(server_url, name)
