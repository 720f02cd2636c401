"""Large layers (``webapp.layers``): computed once per publication, gzip, ETag, bbox filter,
and weighed more in the rate limit (Flask test client, real PostGIS)."""

from __future__ import annotations

import gzip

import pytest

from storage import read
from tests.conftest import atlas
from tests.web_fixtures import web_app, web_client, web_db  # noqa: F401 - fixtures

GAPS = "/api/gaps?kind=white_zone&mode=drive"
WEST_BOX = "-5.30,47.20,-3.00,49.00"  # Finistère and the west of the Côtes-d'Armor and Morbihan


def test_a_layer_is_computed_once_then_served_gzipped_with_an_etag(web_client, monkeypatch) -> None:
    calls = []
    original = read.gaps
    monkeypatch.setattr(read, "gaps", lambda *a, **k: calls.append(1) or original(*a, **k))
    plain = web_client.get(GAPS + "&format=csv")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    etag = plain.headers["ETag"]
    assert plain.headers["Cache-Control"] == "no-cache" and "Accept-Encoding" in plain.headers["Vary"]
    assert plain.headers["Content-Disposition"].startswith("attachment")
    packed = web_client.get(GAPS + "&format=csv", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    again = web_client.get(GAPS + "&format=csv", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert len(calls) == 1  # the rows were read once for the three answers


def test_bbox_keeps_the_communes_meeting_it(web_client) -> None:
    everything = web_client.get("/api/gaps?mode=drive").get_json()["features"]
    boxed = web_client.get(f"/api/gaps?mode=drive&bbox={WEST_BOX}").get_json()["features"]
    assert boxed and len(boxed) < len(everything)
    assert all(f["properties"]["departement"] in ("29", "22", "56") for f in boxed)
    assert {f["properties"]["commune_code"] for f in boxed} <= {f["properties"]["commune_code"] for f in everything}
    far = web_client.get("/api/gaps?bbox=100,10,110,20").get_json()  # outside Lambert-93's domain: no SQL, empty
    assert far["features"] == []
    for bad in ("1,2,3", "3,48,1,49", "a,b,c,d", "-1,48,-2,49", "0,0,0,nan", "-200,0,0,10"):
        response = web_client.get(f"/api/gaps?bbox={bad}")
        assert response.status_code == 400 and response.get_json()["parameter"] == "bbox", bad


def test_a_new_publication_changes_the_etag(accessed_copy: str) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": accessed_copy, "TESTING": True, "CACHE_CHECK_S": 0.0})
    try:
        with app.test_client() as client:
            before = client.get("/api/gaps?format=csv")
            assert atlas(accessed_copy, "gaps", "--mode", "drive", "--drive-minutes", "20").returncode == 0
            after = client.get("/api/gaps?format=csv", headers={"If-None-Match": before.headers["ETag"]})
            assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
            assert after.data != before.data
    finally:
        app.extensions["atlas_pool"].close()


@pytest.mark.parametrize("path", ["/api/gaps?format=csv", "/diagnostic/rapport/2026", "/carte/carte-atlas-spro.html"])
def test_heavy_requests_weigh_more_in_the_rate_limit(web_db: str, path: str) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": web_db, "TESTING": True, "RATELIMIT_ENABLED": True, "RATELIMIT_API": "25/minute"})
    try:
        with app.test_client() as client:
            assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]
            # The same budget: 20 of 25 hits spent, 5 cheap requests left.
            fresh = create_app(
                {"DATABASE_URL": web_db, "TESTING": True, "RATELIMIT_ENABLED": True, "RATELIMIT_API": "25/minute"}
            )
            with fresh.test_client() as other:
                other.get(path)
                other.get(path)
                codes = [other.get("/api/nearest?commune=35238").status_code for _ in range(6)]
            fresh.extensions["atlas_pool"].close()
            assert codes == [200] * 5 + [429]
    finally:
        app.extensions["atlas_pool"].close()
