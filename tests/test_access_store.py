"""Networks and accessibility results in PostGIS, through the real ``atlas`` CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.network.approximate import SOURCE_NAME
from geo.network.osm import graph_from_osm_file
from storage import db
from storage.access import load_network, save_network
from storage.common import StoreError
from tests.conftest import atlas, snapshot, store_sources

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"


def scalar(url: str, query: str, params: tuple = ()) -> object:
    with db.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_access_without_osm_is_flagged_approximate_everywhere(accessed_db: str) -> None:
    url = accessed_db
    with db.connect(url) as conn:
        runs = conn.execute("SELECT mode, approximate, network FROM access_run ORDER BY mode").fetchall()
        assert runs == [("drive", True, SOURCE_NAME), ("walk", True, SOURCE_NAME)]
        for table in ("commune_access", "access_indicator", "isochrone"):
            flags = conn.execute(f"SELECT DISTINCT approximate FROM {table}").fetchall()  # noqa: S608 - table from the tuple above
            assert flags == [(True,)], table
        n_communes = conn.execute("SELECT count(*) FROM commune").fetchone()[0]
        per_category = conn.execute(
            "SELECT count(DISTINCT commune_code) FROM commune_access WHERE mode = 'drive' AND category = 'any'"
        ).fetchone()[0]
        assert per_category == n_communes
        # The Région-level share within 45 minutes by car is a share, and the
        # population adds up to the Région's.
        share, population = conn.execute(
            "SELECT share_45, population FROM access_indicator "
            "WHERE level = 'region' AND mode = 'drive' AND category = 'any'"
        ).fetchone()
        assert 0.9 < share <= 1.0
        assert population == conn.execute("SELECT sum(population) FROM commune").fetchone()[0]
        # Isochrones grow with the limit.
        grows = conn.execute(
            """
            SELECT bool_and(ST_Area(a.geom) <= ST_Area(b.geom) + 1)
              FROM isochrone a JOIN isochrone b USING (structure_id, mode)
             WHERE a.minutes = 15 AND b.minutes = 45
            """
        ).fetchone()[0]
        assert grows


def test_nearest_time_is_the_minimum_of_the_matrix(accessed_db: str) -> None:
    """The per-category nearest agrees with the commune x place matrix where both exist."""
    disagreements = scalar(
        accessed_db,
        """
        SELECT count(*) FROM commune_access a
          JOIN LATERAL (SELECT min(t.seconds) AS best FROM commune_structure_time t
                         WHERE t.commune_code = a.commune_code AND t.mode = a.mode) m ON true
         WHERE a.category = 'any' AND m.best IS NOT NULL AND abs(a.seconds - m.best) > 1
        """,
    )
    assert disagreements == 0


def test_reloading_the_region_clears_derived_results(accessed_copy: str, pilot_sources) -> None:
    url = accessed_copy
    assert scalar(url, "SELECT count(*) FROM commune_access") > 0
    store_sources(url, pilot_sources)
    assert scalar(url, "SELECT count(*) FROM commune_access") == 0
    assert scalar(url, "SELECT count(*) FROM access_run") == 0
    # The networks stay: they do not depend on the places.
    assert scalar(url, "SELECT count(*) FROM network") == 2


def test_network_load_of_a_real_osm_file(pilot_copy: str) -> None:
    """Andorra is not in Bretagne: refused, unless forced (then every origin is off network)."""
    before = snapshot(pilot_copy)
    refused = atlas(pilot_copy, "network", "load", str(ANDORRA))
    assert refused.returncode == 2
    assert "0% de la population" in refused.stderr and "andorra.osm.pbf" in refused.stderr
    assert snapshot(pilot_copy) == before
    result = atlas(pilot_copy, "network", "load", str(ANDORRA), "--force")
    assert result.returncode == 0, result.stderr
    assert "hors de ce réseau" in result.stderr
    assert "Réseau voiture" in result.stderr and "Réseau marche" in result.stderr
    with db.connect(pilot_copy) as conn:
        stored = load_network(conn, "drive")
        assert stored is not None
        graph, meta = stored
        assert meta["source"] == "andorra.osm.pbf" and not meta["approximate"]
        assert graph.n_nodes == graph_from_osm_file(ANDORRA, mode="drive", crs="EPSG:2154").n_nodes
    after = snapshot(pilot_copy)
    # The region's data are untouched; only the network table changed.
    assert {k: v for k, v in after.items() if k != "network"} == {k: v for k, v in before.items() if k != "network"}
    status = atlas(pilot_copy, "network", "status")
    assert "OpenStreetMap, source andorra.osm.pbf" in status.stdout


def test_network_load_refuses_a_missing_file_and_keeps_the_stored_graph(pilot_copy: str, tmp_path: Path) -> None:
    result = atlas(pilot_copy, "network", "load", str(tmp_path / "absent.osm.pbf"))
    assert result.returncode == 2 and "introuvable" in result.stderr
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a pbf file")
    result = atlas(pilot_copy, "network", "load", str(broken), "--mode", "drive")
    assert result.returncode == 2
    assert "broken.osm.pbf" in result.stderr
    assert scalar(pilot_copy, "SELECT count(*) FROM network") == 0
    result = atlas(pilot_copy, "network", "load", str(ANDORRA), "--mode", "bike")
    assert result.returncode == 2 and "mode inconnu" in result.stderr


def test_a_graph_in_another_crs_is_refused(pilot_copy: str) -> None:
    graph = graph_from_osm_file(ANDORRA, mode="walk", crs="EPSG:3035")
    with db.connect(pilot_copy) as conn, pytest.raises(StoreError, match="EPSG:3035"):
        save_network(conn, graph, source="andorra.osm.pbf", source_sha256=None)
    assert scalar(pilot_copy, "SELECT count(*) FROM network") == 0
