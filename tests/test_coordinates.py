"""No 500 from a valid request: every WGS84 point is answered 200, 404 (far from the Région)
or 400 naming ``lat``/``lon`` (outside the projection domain of the Région's CRS), checked
before any SQL (Flask test client, real PostGIS)."""

from __future__ import annotations

import itertools

import pytest

from geo.crs import area_of_use
from tests.web_fixtures import web_app, web_client, web_db  # noqa: F401 - fixtures

LATITUDES = [-90.0, -89.99, -89.91, -89.9, *range(-89, 90, 1), 89.9, 89.99, 90.0]
LONGITUDES = [-180.0, -179.99, *range(-179, 180, 6), 179.99, 180.0]


def test_sweep_over_the_whole_latitude_and_longitude_range(web_client) -> None:
    west, south, east, north, _name = area_of_use("EPSG:2154") or pytest.fail("no area of use")
    statuses: dict[int, int] = {}
    for lat, lon in itertools.chain(
        ((lat, -3.0) for lat in LATITUDES),
        ((48.0, lon) for lon in LONGITUDES),
        itertools.product(LATITUDES[::7], LONGITUDES[::5]),
    ):
        response = web_client.get(f"/api/nearest?lat={lat}&lon={lon}&limit=1")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in (200, 400, 404), (lat, lon, response.status_code)
        if response.status_code == 400:
            body = response.get_json()
            expected = "lat" if not south <= lat <= north else "lon"
            assert body["parameter"] == expected, (lat, lon, body)
            assert "domaine de la projection" in body["message"]
        else:
            assert south <= lat <= north and west <= lon <= east, (lat, lon, response.status_code)
    assert statuses.get(200) and statuses.get(400) and statuses.get(404)


@pytest.mark.parametrize(("lat", "lon", "named"), [(-89.95, -3.0, "lat"), (-90, 0, "lat"), (48.0, 179.0, "lon")])
def test_the_public_finder_says_why_in_french(web_client, lat: float, lon: float, named: str) -> None:
    page = web_client.get(f"/?lat={lat}&lon={lon}")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert f"« {named} » doit être entre" in text and "Traceback" not in text


def test_points_inside_the_domain_still_work(web_client) -> None:
    assert web_client.get("/api/nearest?lat=48.1113&lon=-1.68&limit=1").status_code == 200
    assert web_client.get("/api/nearest?lat=43.6&lon=1.44").status_code == 404  # Toulouse: in France, not in Bretagne
