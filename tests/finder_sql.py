"""The finder's rule as one SQL statement: the independent reference of :mod:`geo.analysis.finder`.

The application ranks in memory (``geo.analysis.finder.rank`` on rows it keeps in its
caches). This statement computes the same rule from the tables alone; the tests check that
both agree for every commune, and that the statement reads the travel times through their
index. It is test code: nothing in the application runs it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from storage.read import _LOCATED_BY_POINT_SQL, DATA_VERSION_COLUMNS_SQL, VERSION_NULLS_SQL, _filters, data_version

_LOCATED_BY_COMMUNE_SQL = """
    SELECT c.code, TRUE AS inside, 0 AS distance_m,
           coalesce((SELECT o.geom FROM commune_origin o WHERE o.commune_code = c.code AND o.mode = %(mode)s),
                    ST_PointOnSurface(c.geom)) AS pt
      FROM commune c WHERE c.code = %(code)s"""


FINDER_SQL = f"""
WITH located AS MATERIALIZED ({{located}}),
by_time AS MATERIALIZED (
    SELECT t.structure_id, t.seconds, other.seconds AS other_seconds,
           round(ST_Distance(s.geom, (SELECT pt FROM located)))::integer AS distance_m
      FROM (SELECT structure_id, seconds FROM commune_structure_time
             WHERE commune_code = (SELECT code FROM located) AND mode = %(mode)s
             ORDER BY seconds OFFSET 0) t
      JOIN structure s ON s.structure_id = t.structure_id
      JOIN partner_type p ON p.partner_type = s.partner_type
      LEFT JOIN commune_structure_time other
             ON other.commune_code = (SELECT code FROM located) AND other.mode = %(other)s
            AND other.structure_id = t.structure_id
     WHERE {{filters}} AND (SELECT distance_m FROM located) <= %(max_distance_m)s
     ORDER BY t.seconds, t.structure_id
     LIMIT %(limit)s
),
by_distance AS (
    SELECT s.structure_id, ST_Distance(s.geom, (SELECT pt FROM located)) AS exact_m
      FROM structure s JOIN partner_type p ON p.partner_type = s.partner_type
     WHERE {{filters}} AND (SELECT distance_m FROM located) <= %(max_distance_m)s
       AND (SELECT count(*) FROM by_time) < %(limit)s
       AND NOT (s.structure_id IN (SELECT structure_id FROM by_time))
     ORDER BY s.geom <-> (SELECT pt FROM located), s.structure_id
     LIMIT %(limit)s - (SELECT count(*) FROM by_time)
)
SELECT 0 AS part, 0::float8 AS ord, l.code AS id, NULL::real AS a_s, NULL::real AS b_s, l.distance_m,
       l.inside, {DATA_VERSION_COLUMNS_SQL}
  FROM located l
UNION ALL
SELECT 1, b.seconds, b.structure_id, b.seconds, b.other_seconds, b.distance_m, NULL, {VERSION_NULLS_SQL}
  FROM by_time b
UNION ALL
SELECT 2, d.exact_m, d.structure_id, dt.seconds, wt.seconds, round(d.exact_m)::integer, NULL, {VERSION_NULLS_SQL}
  FROM by_distance d
  LEFT JOIN commune_structure_time dt
         ON dt.commune_code = (SELECT code FROM located) AND dt.mode = 'drive' AND dt.structure_id = d.structure_id
  LEFT JOIN commune_structure_time wt
         ON wt.commune_code = (SELECT code FROM located) AND wt.mode = 'walk' AND wt.structure_id = d.structure_id
ORDER BY part, ord, id
"""  # noqa: S608 - constant SQL fragments, values are bound
"""The finder in one statement (see :func:`finder_search`); ``{located}`` and ``{filters}``
are composed by :func:`finder_query`, values are always bound."""


def finder_query(
    *,
    mode: str,
    limit: int,
    commune_code: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    mission: str | None = None,
    public: str | None = None,
    day: str | None = None,
    max_distance_m: int = 20_000,
) -> tuple[sql.Composed, dict[str, Any]]:
    """The statement :func:`finder_search` runs and its parameters (for EXPLAIN in tests)."""
    filters, params = _filters(mission=mission, public=public, day=day, unknown_hours_kept=True)
    if commune_code is not None:
        located = sql.SQL(_LOCATED_BY_COMMUNE_SQL)
        params["code"] = commune_code
    elif lat is not None and lon is not None:
        located = sql.SQL(_LOCATED_BY_POINT_SQL)
        params.update(lat=float(lat), lon=float(lon))
    else:
        msg = "finder_query needs commune_code, or lat and lon"
        raise ValueError(msg)
    params.update(
        mode=mode, other="walk" if mode == "drive" else "drive", limit=int(limit), max_distance_m=int(max_distance_m)
    )
    return sql.SQL(FINDER_SQL).format(located=located, filters=filters), params


def finder_search(
    conn: psycopg.Connection,
    *,
    mode: str,
    limit: int,
    commune_code: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    mission: str | None = None,
    public: str | None = None,
    day: str | None = None,
    max_distance_m: int = 20_000,
) -> dict[str, Any]:
    """The finder's search in **one** prepared statement: where it starts, places by time, then by distance.

    The web application ranks in memory from :func:`finder_commune` (cached per commune);
    this statement is the SQL statement of the same rule, and ``tests/test_web_api.py``
    checks that both agree for every commune.

    The origin is the commune ``commune_code``, or the commune containing the WGS84 point
    ``lat``/``lon`` (else the nearest one, ``inside`` false). Places within the
    precomputed bound come first, ordered by travel time then ``structure_id`` (never by
    operator); the rest up to ``limit`` are ordered by straight-line distance (KNN). Only
    identifiers and numbers are returned: the places' attributes are small and change only
    with a load, so the web application keeps them in memory (:func:`finder_reference`).

    Returns
    -------
    dict
        ``version`` (:func:`data_version`, read in the same statement), ``origin`` (None when
        the commune is unknown or no commune is loaded: ``code``, ``inside``, ``distance_m``
        from the point), ``by_time`` (tuples ``(structure_id, seconds, other_mode_seconds,
        distance_m)``) and ``by_distance`` (tuples ``(structure_id, drive_s, walk_s,
        distance_m)``). Beyond ``max_distance_m`` from the Région, the origin is returned
        without places.
    """
    query, params = finder_query(
        mode=mode,
        limit=limit,
        commune_code=commune_code,
        lat=lat,
        lon=lon,
        mission=mission,
        public=public,
        day=day,
        max_distance_m=max_distance_m,
    )
    rows = conn.execute(query, params, prepare=True).fetchall()
    origin = None
    version: tuple[Any, ...] | None = None
    by_time: list[tuple[str, float | None, float | None, int]] = []
    by_distance: list[tuple[str, float | None, float | None, int]] = []
    for part, _ord, ident, a_s, b_s, distance_m, inside, *version_columns in rows:
        if part == 0:
            origin = {"code": ident, "inside": inside, "distance_m": distance_m}
            version = tuple(version_columns)
        elif part == 1:
            by_time.append((ident, a_s, b_s, distance_m))
        else:
            by_distance.append((ident, a_s, b_s, distance_m))
    if version is None:  # no origin row: read the version alone (unknown commune, empty database)
        version = data_version(conn)
    return {"version": version, "origin": origin, "by_time": by_time, "by_distance": by_distance}
