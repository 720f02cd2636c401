"""Schema migrations on a real PostGIS."""

from __future__ import annotations

import pytest

from storage import db
from storage.migrate import MigrationError, available_migrations, migrate
from tests.conftest import snapshot


def test_migrations_create_the_schema(empty_db: str) -> None:
    with db.connect(empty_db) as conn:
        applied = migrate(conn)
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        postgis = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
    assert applied == [m.version for m in available_migrations()]
    assert {"commune", "territory", "structure", "partner_type", "load_run", "schema_migrations"} <= tables
    assert postgis is not None and postgis[0].startswith("3.")


def test_migrations_applied_twice_are_a_no_op(migrated_db: str) -> None:
    before = snapshot(migrated_db)
    with db.connect(migrated_db) as conn:
        assert migrate(conn) == []
    assert snapshot(migrated_db) == before


def test_edited_migration_is_refused(migrated_db: str, tmp_path) -> None:
    for migration in available_migrations():
        (tmp_path / migration.path.name).write_text(migration.sql + "\n-- edited\n")
    with db.connect(migrated_db) as conn, pytest.raises(MigrationError, match="changed after being applied"):
        migrate(conn, tmp_path)


def test_geometries_must_carry_the_region_srid(pilot_copy: str) -> None:
    import psycopg

    with (
        db.connect(pilot_copy) as conn,
        pytest.raises(psycopg.errors.RaiseException, match="expected the Région's SRID"),
    ):
        conn.execute("UPDATE commune SET geom = ST_Transform(geom, 4326) WHERE code = '35238'")


def test_migration_0015_fills_the_searchable_names_of_a_database_loaded_before_it(pilot_copy: str) -> None:
    from storage import read

    with db.connect(pilot_copy) as conn:
        conn.execute("DROP TABLE commune_name")
        conn.execute("DELETE FROM schema_migrations WHERE version = '0015'")
        assert read.data_version(conn)  # the data are there, the table is not
        assert migrate(conn) == ["0015"]
        kinds = dict(conn.execute("SELECT kind, count(*) FROM commune_name GROUP BY kind").fetchall())
        found = read.search_communes(conn, "St Malo")
        epci = read.search_communes(conn, "Lamballe Terre et Mer")
    assert kinds["commune"] == 1202 and kinds["epci"] >= 1202 and "deleguee" not in kinds  # déléguées: next load
    assert [c["name"] for c in found["communes"]] == ["Saint-Malo"] and epci["total"] == 38
