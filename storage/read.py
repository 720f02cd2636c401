"""Read queries used by the CLI and the web application (bound parameters only)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row


def database_summary(conn: psycopg.Connection) -> dict[str, Any]:
    """Schema version, Région, row counts and last load of the database."""
    has_schema = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not has_schema:
        return {"schema": "absent (lancer : atlas db migrate)"}
    version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    summary: dict[str, Any] = {"schema": version}
    region = conn.execute("SELECT region_code, crs FROM region_config").fetchone()
    summary["region"] = f"{region[0]} ({region[1]})" if region else "aucune donnée chargée"
    for table in ("commune", "territory", "structure", "partner_type"):
        count = conn.execute(psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(table)))
        summary[table] = count.fetchone()[0]
    last = conn.execute("SELECT finished_at FROM load_run ORDER BY id DESC LIMIT 1").fetchone()
    summary["last_load"] = last[0].isoformat(timespec="seconds") if last else "jamais"
    return summary


def region_overview(conn: psycopg.Connection) -> dict[str, Any] | None:
    """Name, population and counts of the loaded Région; None when nothing is loaded."""
    with conn.cursor(row_factory=dict_row) as cur:
        region = cur.execute(
            "SELECT code, name, population, n_communes FROM territory WHERE level = 'region'"
        ).fetchone()
        if region is None:
            return None
        region["departements"] = cur.execute(
            """
            SELECT t.code, t.name, t.population, t.n_communes,
                   (SELECT count(*) FROM structure s JOIN commune c ON c.code = s.commune_code
                     WHERE c.departement = t.code) AS n_structures
              FROM territory t WHERE t.level = 'departement' ORDER BY t.code
            """
        ).fetchall()
        region["partner_types"] = cur.execute(
            """
            SELECT p.partner_type, p.label, p.missions, p.publics, count(s.*) AS n_structures,
                   count(*) FILTER (WHERE s.geocoding = 'approx_mairie') AS n_approx,
                   count(*) FILTER (WHERE s.site_format IN ('itinerant', 'bus', 'multisites')) AS n_mobile
              FROM partner_type p LEFT JOIN structure s USING (partner_type)
             GROUP BY p.partner_type ORDER BY count(s.*) DESC, p.label
            """
        ).fetchall()
        region["vintages"] = cur.execute(
            "SELECT dataset, min(vintage) AS vintage, count(*) AS n FROM structure GROUP BY dataset ORDER BY dataset"
        ).fetchall()
    return region


def search_communes(conn: psycopg.Connection, text: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Communes whose name (accent- and case-insensitive) or postcode matches ``text``.

    Exact matches come first, then names starting with ``text``, then containing it.
    """
    query = text.strip()
    if not query:
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            WITH q AS (SELECT lower(unaccent(%(q)s)) AS q)
            SELECT c.code, c.name, c.postcodes, c.departement, c.population
              FROM commune c, q
             WHERE lower(unaccent(c.name)) LIKE '%%' || q.q || '%%'
                OR EXISTS (SELECT 1 FROM unnest(c.postcodes) p WHERE p LIKE %(q)s || '%%')
                OR c.code = %(q)s
             ORDER BY (lower(unaccent(c.name)) = q.q OR c.code = %(q)s OR %(q)s = ANY(c.postcodes)) DESC,
                      (lower(unaccent(c.name)) LIKE q.q || '%%') DESC,
                      c.population DESC, c.code
             LIMIT %(limit)s
            """,
            {"q": query, "limit": limit},
        ).fetchall()


def commune(conn: psycopg.Connection, code: str) -> dict[str, Any] | None:
    """One commune's attributes (no geometry)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT code, name, postcodes, departement, epci, population FROM commune WHERE code = %s", (code,)
        ).fetchone()


def nearest_structures_from_commune(
    conn: psycopg.Connection, code: str, *, limit: int = 10, mission: str | None = None
) -> list[dict[str, Any]]:
    """Structures nearest (straight line, metres) to a point inside commune ``code``.

    The point is ``ST_PointOnSurface`` of the commune polygon (always inside it). Ties on
    distance are broken by ``structure_id``, which favours no operator on purpose: it is
    not a ranking, only a stable order.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            WITH origin AS (SELECT ST_PointOnSurface(geom) AS pt FROM commune WHERE code = %(code)s)
            SELECT s.structure_id, s.name, s.address, s.postcode, s.commune_name, s.partner_type,
                   p.label AS partner_label, s.missions, s.publics, s.site_format, s.geocoding,
                   s.opening_hours, s.phone, s.appointment,
                   round(ST_Distance(s.geom, origin.pt))::integer AS distance_m
              FROM origin, structure s JOIN partner_type p USING (partner_type)
             WHERE p.receives_public AND (%(mission)s::text IS NULL OR %(mission)s = ANY(s.missions))
             ORDER BY s.geom <-> origin.pt, s.structure_id
             LIMIT %(limit)s
            """,
            {"code": code, "limit": limit, "mission": mission},
        ).fetchall()


def structures_geojson(conn: psycopg.Connection) -> dict[str, Any]:
    """All structures as a GeoJSON FeatureCollection in WGS84 (RFC 7946)."""
    row = conn.execute(
        """
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'features', coalesce(json_agg(json_build_object(
                'type', 'Feature',
                'id', s.structure_id,
                'geometry', ST_AsGeoJSON(ST_Transform(s.geom, 4326), 6)::json,
                'properties', json_build_object(
                    'name', s.name, 'partner_type', s.partner_type, 'address', s.address,
                    'postcode', s.postcode, 'commune_code', s.commune_code, 'commune_name', s.commune_name,
                    'missions', s.missions, 'publics', s.publics, 'site_format', s.site_format,
                    'geocoding', s.geocoding, 'opening_hours', s.opening_hours,
                    'source', s.source, 'vintage', s.vintage)
            ) ORDER BY s.structure_id), '[]'::json))
          FROM structure s
        """
    ).fetchone()
    return row[0]
