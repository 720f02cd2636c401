"""The web application against the loaded pilot (Flask test client, real PostGIS)."""

from __future__ import annotations

import re

import pytest

from webapp import create_app


@pytest.fixture
def client(pilot_db: str):
    app = create_app({"DATABASE_URL": pilot_db, "TESTING": True})
    with app.test_client() as client:
        yield client
    app.extensions["atlas_pool"].close()


def test_home_page_shows_the_region(client) -> None:
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="fr">' in page
    assert "Le réseau en Bretagne" in page
    assert "1\u00a0202 communes" in page and "3\u00a0449\u00a0370 habitants" in page
    assert "Aller au contenu" in page
    assert "Set-Cookie" not in response.headers
    assert "http://" not in page and "https://" not in page  # no third-party asset


def test_search_by_name_without_accents_lists_nearest_places(client) -> None:
    response = client.get("/?q=ploermel")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Lieux les plus proches de Ploërmel" in page
    assert "vol d&#39;oiseau" in page or "vol d'oiseau" in page


def test_search_by_postcode_offers_a_choice(client) -> None:
    page = client.get("/?q=35000").get_data(as_text=True)
    assert "Rennes" in page


def test_mission_filter_and_bad_parameters(client) -> None:
    assert client.get("/?q=Pontivy&mission=accompagnement").status_code == 200
    assert client.get("/?q=Pontivy&mission=orientation").status_code == 400
    assert client.get("/?q=" + "x" * 200).status_code == 400
    assert client.get("/?q=Rennes&commune=99999").status_code == 404


def test_without_travel_times_results_are_ordered_by_straight_line_distance(client) -> None:
    """The pilot alone has no travel times: the finder says so and ranks by distance."""
    page = client.get("/?q=Vitre&commune=35360").get_data(as_text=True)
    assert "Les temps de trajet n'ont pas encore été calculés" in page
    metres = []
    for number, unit in re.findall(r'class="distance">([0-9,]+) (km|m) ', page):
        value = float(number.replace(",", "."))
        metres.append(value * 1000 if unit == "km" else value)
    assert len(metres) == 10 and metres == sorted(metres)
    # The Mission locale of Vitré is placed at the town hall: said in plain words.
    assert "Adresse exacte non vérifiée : le lieu est placé à la mairie de sa commune" in page


def test_api_structures_geojson(client) -> None:
    response = client.get("/api/structures")
    data = response.get_json()
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 308
    assert {"name", "partner_type", "missions", "opening_hours"} <= set(data["features"][0]["properties"])
    lon, lat = data["features"][0]["geometry"]["coordinates"]
    assert -5.5 < lon < -1.0 and 47.0 < lat < 49.0


def test_database_down_gives_a_clear_503() -> None:
    app = create_app({"DATABASE_URL": "postgresql://nobody@/nowhere?host=/nonexistent", "POOL_TIMEOUT_S": 0.5})
    with app.test_client() as client:
        page = client.get("/")
        api = client.get("/api/health")
    app.extensions["atlas_pool"].close()
    assert page.status_code == 503 and "momentanément indisponible" in page.get_data(as_text=True)
    assert page.headers["Retry-After"] == "30"
    assert api.status_code == 503 and api.get_json()["error"] == "service_unavailable"
    assert "Traceback" not in page.get_data(as_text=True)


def test_the_web_application_starts_without_the_geospatial_stack() -> None:
    """The web app reads its allow-lists from geo.vocabulary and its rows from storage.read:
    building it loads neither geopandas, shapely, pandas, numpy nor scipy (start-up 0.23 s
    instead of 0.77 s, README)."""
    import subprocess
    import sys

    code = (
        "import sys; from webapp import create_app; "
        "create_app({'DATABASE_URL': 'postgresql:///none', 'TESTING': True, 'CACHE_WARM': False}); "
        "print(sorted(m for m in ('geopandas', 'shapely', 'pandas', 'numpy', 'scipy') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
