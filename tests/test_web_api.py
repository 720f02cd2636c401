"""The JSON API against a pilot copy where ``atlas access`` ran (Flask test client, real PostGIS)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import re

import pytest

from storage import db, read
from tests import finder_sql
from tests.web_fixtures import MALICIOUS_ID, MALICIOUS_NAME, ZONING_ID, web_app, web_client, web_db  # noqa: F401
from webapp.openapi import openapi_document


# ----------------------------------------------------------------- OpenAPI
def test_every_api_rule_is_documented_in_openapi(web_app) -> None:
    doc = openapi_document()
    assert doc["openapi"] == "3.1.0"
    rules = {
        re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for rule in web_app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }
    assert rules == set(doc["paths"])
    for path, item in doc["paths"].items():
        for name in re.findall(r"{([a-z_]+)}", path):
            assert any(p["name"] == name and p["in"] == "path" for p in item["get"].get("parameters", [])), path


def test_openapi_and_docs_are_served(web_client) -> None:
    response = web_client.get("/api/openapi.json")
    assert response.status_code == 200 and response.get_json()["info"]["title"] == "Atlas SPRO"
    page = web_client.get("/api/docs").get_data(as_text=True)
    assert "GET /api/nearest" in page and "openapi.json" in page
    assert "https://" not in page and "http://" not in page


# ----------------------------------------------------------------- nearest
def test_nearest_from_a_commune_is_ordered_by_time_then_id(web_client) -> None:
    response = web_client.get("/api/nearest?commune=35238&limit=20")
    data = response.get_json()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert data["commune"]["name"] == "Rennes" and data["located_by"] == "commune"
    assert data["approximate"] is True and data["times_available"] is True and data["bound_minutes"] == 60
    results = data["results"]
    assert len(results) == 20 and all(r["ranked_by"] == "time" for r in results)
    keys = [(r["drive_seconds"], r["structure_id"]) for r in results]
    assert keys == sorted(keys)
    assert all(r["approximate"] is True for r in results)
    assert "APPROXIMATIFS" in data["note"]


def test_ties_are_broken_by_structure_id_everywhere(web_db) -> None:
    """In every commune, equal times come in structure_id order (never by operator)."""
    with db.connect(web_db) as conn:
        ties = 0
        for (code,) in conn.execute("SELECT code FROM commune ORDER BY code").fetchall():
            found = finder_sql.finder_search(conn, commune_code=code, mode="drive", limit=50)
            keys = [(seconds, sid) for sid, seconds, _other, _metres in found["by_time"]]
            assert keys == sorted(keys), code
            ties += sum(1 for a, b in itertools.pairwise(keys) if a[0] == b[0])
    assert ties > 0  # places at the same point exist in the pilot (town halls): the rule is exercised


def test_nearest_statement_is_one_indexed_query(web_db) -> None:
    """The finder's statement reads commune_structure_time through its (commune, mode, seconds)
    index, then orders the places beyond the bound by KNN distance (``<->``; with a few
    hundred places the planner may sort them rather than walk the GiST index)."""
    from psycopg import sql

    for filters in ({}, {"mission": "conseil"}, {"public": "jeunes", "day": "samedi"}):
        for origin in ({"commune_code": "35238"}, {"lat": 48.11, "lon": -1.68}):
            query, params = finder_sql.finder_query(mode="drive", limit=10, **origin, **filters)
            with db.connect(web_db) as conn:
                rows = conn.execute(sql.SQL("EXPLAIN ") + query, params).fetchall()
            plan = "\n".join(row[0] for row in rows)
            assert "commune_structure_time_order_idx" in plan, plan
            assert "<->" in plan, plan
            assert "Seq Scan on commune_structure_time" not in plan, plan


def test_places_without_public_reception_are_shown_but_never_proposed(web_client) -> None:
    """France Travail's regional directorate (Rennes) receives no public: on the map, not in
    the finder, the travel times or the choice of a zone's hub."""
    structures = web_client.get("/api/structures").get_json()["features"]
    closed = {f["properties"]["name"] for f in structures if not f["properties"]["receives_public"]}
    assert {
        "France Travail (ex-Pôle emploi) - DR BRETAGNE",
        "France Travail (ex-Pôle emploi) - DT 56 / AGENCE SPECIALISEE 56",
    } <= closed
    results = web_client.get("/api/nearest?commune=35238&limit=50").get_json()["results"]
    assert len(results) == 50 and not {r["name"] for r in results} & closed
    modes = web_client.get("/api/communes/35238/access").get_json()["modes"]
    nearest = {row["structure_name"] for mode in modes.values() for row in mode["categories"]}
    assert nearest and not nearest & closed


def test_nearest_beyond_the_bound_falls_back_to_straight_line(web_client) -> None:
    data = web_client.get("/api/nearest?commune=35360&mode=walk&limit=15").get_json()
    ranked = [r["ranked_by"] for r in data["results"]]
    assert "distance" in ranked and ranked == sorted(ranked, key=lambda k: k != "time")
    far = [r for r in data["results"] if r["ranked_by"] == "distance"]
    distances = [(r["distance_m"], r["structure_id"]) for r in far]
    assert distances == sorted(distances)
    assert all(r["walk_seconds"] is None for r in far)
    assert "vol d'oiseau" in data["note"]


def test_nearest_from_coordinates(web_client) -> None:
    data = web_client.get("/api/nearest?lat=48.1113&lon=-1.6800&limit=3").get_json()
    assert data["commune"]["code"] == "35238" and data["located_by"] == "point_in_commune"
    assert "lat" not in data and "lon" not in data  # the position is not echoed
    offshore = web_client.get("/api/nearest?lat=48.30&lon=-4.90").get_json()  # in the Iroise sea
    assert offshore["located_by"] == "nearest_commune" and offshore["commune"]["name"] == "Le Conquet"
    assert web_client.get("/api/nearest?lat=43.6&lon=1.44").status_code == 404  # Toulouse


def test_nearest_filters(web_client) -> None:
    results = web_client.get("/api/nearest?commune=35238&mission=conseil&limit=30").get_json()["results"]
    assert results and all("conseil" in r["missions"] for r in results)
    results = web_client.get("/api/nearest?commune=35238&public=jeunes&limit=30").get_json()["results"]
    assert results and all({"jeunes", "tout_public"} & set(r["publics"]) for r in results)
    assert any("tout_public" in r["publics"] for r in results)
    results = web_client.get("/api/nearest?commune=35360&day=samedi&limit=30").get_json()["results"]
    # Open on Saturday, or hours unknown (kept: the place may be open); never closed that day.
    assert results and all("samedi" in r["opening_hours"] or not r["opening_hours"] for r in results)
    assert any("samedi" in r["opening_hours"] for r in results) and any(not r["opening_hours"] for r in results)
    everyone = web_client.get("/api/nearest?commune=35360&limit=50").get_json()["results"]
    closed = {r["structure_id"] for r in everyone if r["opening_hours"] and "samedi" not in r["opening_hours"]}
    assert closed and not closed & {r["structure_id"] for r in results}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("lat=91&lon=0", "lat"),
        ("lat=48&lon=-181", "lon"),
        ("lat=nan&lon=-1", "lat"),
        ("lat=inf&lon=-1", "lat"),
        ("lat=48.1", "lon"),
        ("lat=abc&lon=1", "lat"),
        ("", "commune"),
        ("commune=35238&lat=48&lon=-1", "commune"),
        ("commune=ABCDE", "commune"),
        ("commune=35238&mission=orientation", "mission"),
        ("commune=35238&public=retraites", "public"),
        ("commune=35238&mode=bike", "mode"),
        ("commune=35238&day=funday", "day"),
        ("commune=35238&limit=0", "limit"),
        ("commune=35238&limit=51", "limit"),
        ("commune=35238&limit=ten", "limit"),
        ("commune=35238&limit=-1", "limit"),
        ("commune=35238&limit=1e3", "limit"),
        ("commune=35238&bbox=1,2,3,4", "bbox"),
    ],
)
def test_nearest_bad_parameters_are_clear_400(web_client, query: str, parameter: str) -> None:
    response = web_client.get(f"/api/nearest?{query}")
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["parameter"] == parameter and body["message"]


def test_unknown_commune_is_404_and_wrong_method_405(web_client) -> None:
    response = web_client.get("/api/nearest?commune=99999")
    assert response.status_code == 404 and response.get_json()["error"] == "Not Found"
    response = web_client.post("/api/nearest?commune=35238")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


# ----------------------------------------------------------------- communes
def test_commune_search_and_feature(web_client) -> None:
    found = web_client.get("/api/communes?q=ploermel").get_json()["communes"]
    assert found[0]["name"] == "Ploërmel"
    assert web_client.get("/api/communes?q=29000").get_json()["communes"][0]["name"] == "Quimper"
    assert web_client.get("/api/communes").status_code == 400
    assert web_client.get("/api/communes?q=" + "x" * 81).status_code == 400
    feature = web_client.get("/api/communes/35238")
    assert feature.mimetype == "application/geo+json"
    data = feature.get_json()
    assert data["type"] == "Feature" and data["properties"]["name"] == "Rennes"
    assert data["geometry"]["type"] in ("Polygon", "MultiPolygon")
    lon, lat = re.findall(r"\[(-?[0-9.]+),(-?[0-9.]+)\]", json.dumps(data["geometry"], separators=(",", ":")))[0]
    assert -2 < float(lon) < -1.5 and 48 < float(lat) < 48.2
    assert web_client.get("/api/communes/99999").status_code == 404
    assert web_client.get("/api/communes/abc").status_code == 400


def test_commune_access_figures(web_client) -> None:
    data = web_client.get("/api/communes/35360/access").get_json()
    assert data["commune"]["name"] == "Vitré" and data["approximate"] is True
    assert set(data["modes"]) == {"drive", "walk"}
    drive = {c["category"]: c for c in data["modes"]["drive"]["categories"]}
    assert drive["any"]["seconds"] is not None and drive["any"]["approximate"] is True
    assert data["modes"]["drive"]["approximate"] is True and data["modes"]["drive"]["bound_minutes"] == 60
    assert web_client.get("/api/communes/99999/access").status_code == 404


# ----------------------------------------------------------------- layers
def test_choropleth_geojson_and_csv(web_client) -> None:
    response = web_client.get("/api/access/communes?mode=drive&category=mission:conseil")
    data = response.get_json()
    assert response.mimetype == "application/geo+json"
    assert data["approximate"] is True and len(data["features"]) == 1202
    assert [c["label"] for c in data["classes"]] == [
        "moins de 10 min",
        "10 à 20 min",
        "20 à 30 min",
        "30 à 45 min",
        "45 min et plus",
    ]
    props = data["features"][0]["properties"]
    assert {"code", "name", "minutes", "class", "approximate"} <= set(props)
    bounds = (0, 10, 20, 30, 45, 10_000)
    for feature in data["features"]:
        p = feature["properties"]
        if p["minutes"] is not None:  # minutes are rounded to 0.1, classes use the exact time
            assert bounds[p["class"]] - 0.05 <= p["minutes"] <= bounds[p["class"] + 1] + 0.05
    text = web_client.get("/api/access/communes?mode=walk&category=any&format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1202 and rows[0]["approximate"] == "true"
    assert web_client.get("/api/access/communes?category=nope").status_code == 400
    assert web_client.get("/api/access/communes?format=xlsx").status_code == 400


def test_indicators(web_client) -> None:
    data = web_client.get("/api/indicators?level=departement&mode=walk&category=any").get_json()
    assert data["approximate"] is True
    assert [r["code"] for r in data["indicators"]] == ["22", "29", "35", "56"]
    zones = web_client.get(f"/api/indicators?level=zone:{ZONING_ID}").get_json()["indicators"]
    assert {r["name"] for r in zones} == {"Côtes-d'Armor", "Finistère", "Ille-et-Vilaine", "Morbihan"}
    text = web_client.get("/api/indicators?level=epci&format=csv").get_data(as_text=True)
    assert text.startswith("level,code,name,") and len(text.splitlines()) == 62
    assert web_client.get("/api/indicators?level=canton").status_code == 400


def test_territories_zonings_isochrones_gaps(web_client) -> None:
    deps = web_client.get("/api/territories?level=departement").get_json()
    assert len(deps["features"]) == 4
    assert web_client.get("/api/territories?level=canton").status_code == 400
    zonings = web_client.get("/api/zonings").get_json()["zonings"]
    assert [z["zoning_id"] for z in zonings] == [ZONING_ID] and zonings[0]["n_zones"] == 4
    zones = web_client.get(f"/api/zonings/{ZONING_ID}").get_json()
    assert len(zones["features"]) == 4 and zones["features"][0]["properties"]["hub_name"]
    assert web_client.get("/api/zonings/nope").status_code == 404
    iso = web_client.get("/api/isochrones?mode=drive&minutes=30").get_json()
    assert iso["approximate"] is True and iso["features"]
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in iso["features"])
    assert web_client.get("/api/isochrones?minutes=7").status_code == 400
    gaps = web_client.get("/api/gaps?kind=white_zone&mode=drive&category=mission:conseil").get_json()
    assert gaps["approximate"] is True and gaps["features"]
    assert all(f["properties"]["minutes"] is None or f["properties"]["minutes"] >= 20 for f in gaps["features"])
    assert web_client.get("/api/gaps?kind=black_zone").status_code == 400
    assert web_client.get("/api/gaps?format=csv").mimetype == "text/csv"


def test_structures_filters_and_csv_escaping(web_client) -> None:
    data = web_client.get("/api/structures").get_json()
    assert len(data["features"]) == 309  # the pilot's 308 places and the test fixture
    conseil = web_client.get("/api/structures?mission=conseil").get_json()["features"]
    assert conseil and all("conseil" in f["properties"]["missions"] for f in conseil)
    cio = web_client.get("/api/structures?partner_type=cio").get_json()["features"]
    assert len(cio) == 18 and all(f["properties"]["partner_type"] == "cio" for f in cio)  # 5 in 35, 13 elsewhere
    assert web_client.get("/api/structures?partner_type=nope").status_code == 400
    malicious = next(f for f in data["features"] if f["id"] == MALICIOUS_ID)
    assert malicious["properties"]["name"] == MALICIOUS_NAME  # data as they are; escaping is the page's job
    text = web_client.get("/api/structures?format=csv").get_data(as_text=True)
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["structure_id"] == MALICIOUS_ID)
    assert row["address"].startswith("'=")  # no formula in a spreadsheet


# ----------------------------------------------------------------- privacy
def test_api_sets_no_cookie_and_logs_no_place(web_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for url in ("/api/nearest?lat=48.1113&lon=-1.6800", "/api/communes?q=ploermel", "/api/structures"):
        response = web_client.get(url)
        assert "Set-Cookie" not in response.headers
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "48.11" not in logged and "ploermel" not in logged


def test_access_log_path_is_the_route_not_the_searched_place(web_app) -> None:
    """The access log (webapp.asgi) shows PATH_INFO after the response: the rule, not the commune code."""
    from werkzeug.test import EnvironBuilder

    def path_logged(path: str) -> str:
        environ = EnvironBuilder(path=path).get_environ()
        body = web_app(environ, lambda status, headers, exc_info=None: None)
        b"".join(body)
        body.close()
        return environ["PATH_INFO"]

    assert path_logged("/api/communes/35238/access") == "/api/communes/<code>/access"
    assert path_logged("/Plougastel-Daoulas") == "/<introuvable>"
    assert path_logged("/api/nearest") == "/api/nearest"


# ----------------------------------------------------------------- the finder in memory = the finder in SQL
FILTER_SETS = (
    {},
    {"mission": "conseil"},
    {"public": "jeunes"},
    {"day": "samedi"},
    {"mission": "accompagnement", "public": "demandeurs_emploi"},
    {"mission": "accueil", "day": "lundi"},
)


def test_in_memory_ranking_equals_the_sql_statement_for_every_commune(web_db) -> None:
    """geo.analysis.finder.rank (what the server runs, on cached rows) gives exactly what
    tests/finder_sql.finder_search computes in one SQL statement: same places, order, times
    and rounded distances, for every commune, both modes and several filter sets."""
    from geo.analysis.finder import allowed_places, rank

    with db.connect(web_db) as conn:
        reference = read.finder_reference(conn)
        codes = sorted(reference["communes"])
        compared = 0
        for n, code in enumerate(codes):
            times = read.finder_commune(conn, code)
            for mode in ("drive", "walk"):
                filters = {"mission": None, "public": None, "day": None, **FILTER_SETS[n % len(FILTER_SETS)]}
                limit = (10, 3, 50)[n % 3]
                expected = finder_sql.finder_search(conn, commune_code=code, mode=mode, limit=limit, **filters)
                start = times["origins"].get(mode) or times["surface"]
                allowed = allowed_places(reference["structures"], **filters)
                by_time, by_distance = rank(
                    allowed, reference["positions"], times, origin=start, mode=mode, limit=limit
                )
                assert (by_time, by_distance) == (expected["by_time"], expected["by_distance"]), (code, mode, filters)
                compared += 1
        # From points (distances from the point itself), inside and just outside the coast.
        for lat, lon in ((48.1113, -1.68), (48.30, -4.90), (47.75, -3.37), (48.64, -2.03), (48.45, -4.48)):
            located = read.locate_point(conn, lat, lon)
            times = read.finder_commune(conn, located["code"])
            for mode in ("drive", "walk"):
                expected = finder_sql.finder_search(conn, lat=lat, lon=lon, mode=mode, limit=10)
                assert expected["origin"]["code"] == located["code"]
                got = rank(
                    allowed_places(reference["structures"], None, None, None),
                    reference["positions"],
                    times,
                    origin=(located["x"], located["y"]),
                    mode=mode,
                    limit=10,
                )
                assert got == (expected["by_time"], expected["by_distance"]), (lat, lon, mode)
    assert compared == 2 * len(codes) == 2404


def test_finder_is_one_statement_then_none(web_db, monkeypatch) -> None:
    """A search runs one statement for its commune; any later search from that commune (other
    mode, filters or limit, API or page) and any repeated search run none."""
    from webapp import create_app

    app = create_app({"DATABASE_URL": web_db, "TESTING": True, "CACHE_CHECK_S": 60})
    statements: list[str] = []
    original = read.finder_commune

    def counting(conn, code):
        statements.append(code)
        return original(conn, code)

    try:
        with app.test_client() as client:
            client.get("/api/nearest?commune=35047")  # loads the reference data (once per data version)
            monkeypatch.setattr(read, "finder_commune", counting)
            assert client.get("/api/nearest?commune=35238").status_code == 200
            assert client.get("/api/nearest?commune=35238&mode=walk&mission=conseil&limit=3").status_code == 200
            assert client.get("/?commune=35238&public=jeunes").status_code == 200
            assert client.get("/api/nearest?commune=35238").status_code == 200
    finally:
        app.extensions["atlas_pool"].close()
    assert statements == ["35238"]


def test_a_new_load_is_seen_within_the_check_interval(accessed_copy) -> None:
    """Caches follow the data version: after a change in the database, a search answers
    from the new data once CACHE_CHECK_S has passed."""
    import time

    from webapp import create_app

    app = create_app({"DATABASE_URL": accessed_copy, "TESTING": True, "CACHE_CHECK_S": 0.2})
    try:
        with app.test_client() as client:
            before = client.get("/api/nearest?commune=35238&limit=1").get_json()["results"][0]
            with db.connect(accessed_copy) as conn:
                conn.execute("UPDATE structure SET name = 'Renommé' WHERE structure_id = %s", (before["structure_id"],))
                conn.execute(
                    "INSERT INTO load_run (started_at, kind, files, counts) "
                    "VALUES (now(), 'test', '{}'::jsonb, '{}'::jsonb)"
                )
            time.sleep(0.3)
            after = client.get("/api/nearest?commune=35238&limit=1").get_json()["results"][0]
    finally:
        app.extensions["atlas_pool"].close()
    assert after["structure_id"] == before["structure_id"] and after["name"] == "Renommé"
