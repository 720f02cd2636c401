"""Fixtures of the web tests: a copy of the pilot on which ``atlas access`` ran, with a few
rows the CLI does not make yet (white zones, a zoning) and a structure with a malicious name.

Import the fixtures into a test module (``from tests.web_fixtures import web_db, web_client``).
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from storage import db
from tests.conftest import atlas

MALICIOUS_ID = "test:xss"
MALICIOUS_NAME = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>${alert(3)}`x`'&amp;"
"""Breaks out of element text (``<script>``) and of a double-quoted attribute (``"><img``),
and tries template literals (``${}``, backquotes), a single quote and an entity."""
MALICIOUS_ADDRESS = '=HYPERLINK("http://example.invalid")'
MALICIOUS_COMMUNE = "35360"  # Vitré
ZONING_ID = "test-departements"


def _atlas_ok(url: str, *args: str) -> None:
    """The real ``atlas`` command line (:func:`tests.conftest.atlas`), which must succeed."""
    result = atlas(url, *args)
    assert result.returncode == 0, result.stderr


def _run_access(url: str) -> None:
    """``atlas access`` through the real CLI (approximate: no OSM network in the pilot)."""
    _atlas_ok(url, "access")


def _take_snapshot(url: str, year: int) -> None:
    """``atlas snapshot --year`` through the real CLI: the report of ``year`` is served from it."""
    # --force: the pilot's 2026 places stand in for the year before, to have changes to show
    _atlas_ok(url, "snapshot", "--year", str(year), "--force")


def _add_malicious_structure(url: str) -> None:
    with db.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO structure (structure_id, dataset, partner_type, name, address, postcode, commune_code,
                                   commune_name, site_format, opening_hours, geocoding, missions, publics, source,
                                   vintage, geom)
            SELECT %s, 'test', 'france_services', %s, %s, '35500', code, name, 'fixe',
                   '{"samedi": "09:00 - 12:00"}'::jsonb, 'source', ARRAY['accueil', 'information'],
                   ARRAY['tout_public'], 'test fixture', 'test', ST_PointOnSurface(geom)
              FROM commune WHERE code = %s
            """,
            (MALICIOUS_ID, MALICIOUS_NAME, MALICIOUS_ADDRESS, MALICIOUS_COMMUNE),
        )


def _add_gaps_and_zoning(url: str) -> None:
    """White zones beyond 20 minutes of a conseil place, and a zoning of the départements."""
    with db.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO gap (kind, mode, category, commune_code, seconds, threshold_s, population, approximate)
            SELECT 'white_zone', a.mode, a.category, a.commune_code, a.seconds, 1200, c.population, a.approximate
              FROM commune_access a JOIN commune c ON c.code = a.commune_code
             WHERE a.category = 'mission:conseil' AND (a.seconds IS NULL OR a.seconds > 1200)
            """
        )
        conn.execute(
            "INSERT INTO zoning (zoning_id, label, method, source) VALUES (%s, 'Départements (test)', 'test', 'tests')",
            (ZONING_ID,),
        )
        conn.execute(
            """
            INSERT INTO zone (zoning_id, zone_id, name, hub_structure_id, population, n_communes, explanation, geom)
            SELECT %s, t.code, t.name,
                   (SELECT s.structure_id FROM structure s JOIN commune c ON c.code = s.commune_code
                     WHERE c.departement = t.code ORDER BY s.structure_id LIMIT 1),
                   t.population, t.n_communes, 'Zone de test : le département ' || t.name, t.geom
              FROM territory t WHERE t.level = 'departement'
            """,
            (ZONING_ID,),
        )
        conn.execute(
            """
            INSERT INTO zone_commune (zoning_id, commune_code, zone_id)
            SELECT %s, code, departement FROM commune
            """,
            (ZONING_ID,),
        )
        conn.execute(
            """
            INSERT INTO access_indicator
            SELECT 'zone:' || %s, code, mode, category, n_communes, population, population_unreached, mean_min,
                   median_min, share_10, share_20, share_30, share_45, mean_operators_30, mean_fca, approximate
              FROM access_indicator WHERE level = 'departement'
            """,
            (ZONING_ID,),
        )


_SHARED: dict[str, str] = {}
"""The database of :func:`web_db`, made once per test session although each module that
imports the fixture registers its own copy of it with pytest."""


@pytest.fixture(scope="session")
def web_db(server_url: str, pilot_db: str, request: pytest.FixtureRequest) -> str:
    """URL of a pilot copy with accessibility results (approximate), white zones, a zoning,
    a structure named like an XSS payload and the snapshots of 2025 (before that structure,
    the white zones and the zoning) and 2026; read-only for the tests."""
    if "url" in _SHARED:
        return _SHARED["url"]
    name = f"atlas_test_{uuid.uuid4().hex[:12]}"
    template = psycopg.conninfo.conninfo_to_dict(pilot_db)["dbname"]
    with db.connect(server_url, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(template)
            )
        )

    def drop() -> None:
        _SHARED.clear()
        db.drop_database(server_url, name)

    request.addfinalizer(drop)
    url = db.with_dbname(server_url, name)
    _run_access(url)
    _take_snapshot(url, 2025)  # the year before: the 2026 report shows what changed since
    _add_malicious_structure(url)
    _run_access(url)
    _add_gaps_and_zoning(url)
    _take_snapshot(url, 2026)
    _SHARED["url"] = url
    return url


@pytest.fixture(scope="module")
def web_app(web_db: str):
    """The application on :func:`web_db`."""
    from webapp import create_app

    app = create_app({"DATABASE_URL": web_db, "TESTING": True})
    yield app
    app.extensions["atlas_pool"].close()


@pytest.fixture
def web_client(web_app):
    """A Flask test client (no cookie jar carried between tests)."""
    with web_app.test_client() as client:
        yield client
