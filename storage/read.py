"""Read queries used by the CLI and the web application (bound parameters only)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from geo.analysis.inventory import TypeInventory, type_inventory
from geo.names import like_escape, search_key, split_query
from geo.vocabulary import WEEKDAYS, is_commune_code
from storage.common import loaded_region, one_row, scalar


def database_summary(conn: psycopg.Connection) -> dict[str, Any]:
    """Schema version, Région, row counts and last load of the database."""
    has_schema = scalar(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not has_schema:
        return {"schema": "absent (lancer : atlas db migrate)"}
    version = scalar(conn, "SELECT max(version) FROM schema_migrations")
    summary: dict[str, Any] = {"schema": version}
    region = loaded_region(conn)
    summary["region"] = f"{region[0]} ({region[1]})" if region else "aucune donnée chargée"
    for table in ("commune", "territory", "structure", "partner_type"):
        summary[table] = scalar(conn, psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(table)))
    last = conn.execute("SELECT finished_at FROM load_run ORDER BY id DESC LIMIT 1").fetchone()
    summary["last_load"] = last[0].isoformat(timespec="seconds") if last else "jamais"
    if last:
        summary["rejected_rows"] = len(last_load_rejections(conn))
    return summary


def inventory(conn: psycopg.Connection) -> list[TypeInventory]:
    """The inventory of every partner type of the mapping (with or without places), largest
    first, from its counts: ``partner_type, label, receives_public, missions, publics, expected_sites,
    n_sites`` (places receiving the public), ``n_without_public, n_at_building,
    n_with_hours`` (of the places receiving the public), ``vintage_min, vintage_max`` (the
    labels of the oldest and newest source rows of the type's places, ordered by the date
    they hold, « annuaire 2023-06 » before « 2026-07 (HEAD) »).
    read by :func:`geo.analysis.inventory.type_inventory`."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            WITH place AS (
                SELECT s.*, coalesce(s.receives_public, p.receives_public) AS open
                  FROM structure s JOIN partner_type p USING (partner_type)
            )
            SELECT p.partner_type, p.label, p.receives_public, p.missions, p.publics, p.expected_sites,
                   count(s.structure_id) FILTER (WHERE s.open) AS n_sites,
                   count(s.structure_id) FILTER (WHERE NOT s.open) AS n_without_public,
                   count(s.structure_id) FILTER (WHERE s.open AND NOT starts_with(s.geocoding, 'approx_'))
                       AS n_at_building,
                   count(s.structure_id) FILTER (WHERE s.open AND s.opening_hours <> '{}'::jsonb) AS n_with_hours,
                   (array_agg(s.vintage ORDER BY substring(s.vintage FROM '(?:19|20)[0-9]{2}(?:-[0-9]{2})*'), s.vintage)
                       FILTER (WHERE s.vintage IS NOT NULL))[1] AS vintage_min,
                   (array_agg(s.vintage ORDER BY substring(s.vintage FROM '(?:19|20)[0-9]{2}(?:-[0-9]{2})*') DESC,
                                                 s.vintage DESC)
                       FILTER (WHERE s.vintage IS NOT NULL))[1] AS vintage_max
              FROM partner_type p LEFT JOIN place s USING (partner_type)
             GROUP BY p.partner_type
             ORDER BY count(s.structure_id) DESC, p.label
            """
        ).fetchall()
    return [type_inventory(row) for row in rows]


def last_load_rejections(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """``file, source_row, field, reason`` of the rows the last load left out (a tolerant
    load's; none after a strict one), in file and row order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT file, source_row, field, reason FROM load_rejection
             WHERE load_run_id = (SELECT max(id) FROM load_run WHERE kind = 'region')
             ORDER BY position
            """
        ).fetchall()


def region_overview(conn: psycopg.Connection) -> dict[str, Any] | None:
    """Name, population and counts of the loaded Région; None when nothing is loaded."""
    with conn.cursor(row_factory=dict_row) as cur:
        region = cur.execute(
            "SELECT code, name, population, n_communes FROM territory WHERE level = 'region'"
        ).fetchone()
        if region is None:
            return None
        region["territories_source"] = scalar(conn, "SELECT territories_source FROM region_config")
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
                   count(*) FILTER (WHERE starts_with(s.geocoding, 'approx_')) AS n_approx,
                   count(*) FILTER (WHERE s.site_format IN ('itinerant', 'bus', 'multisites')) AS n_mobile
              FROM partner_type p LEFT JOIN structure s USING (partner_type)
             GROUP BY p.partner_type ORDER BY count(s.*) DESC, p.label
            """
        ).fetchall()
    return region


SEARCH_LEVELS: tuple[str, ...] = ("exact", "prefix", "similar")
"""How a commune matched a query, best first: the same name (:func:`geo.names.search_key`),
a name starting with the query (or one of its words doing so), a name close to it (pg_trgm)."""

SIMILAR_MAX = 10
"""At most this many communes are offered for a misspelt name (the closest; the page says so)."""

_SEARCH_NAMES_SQL = """
WITH m AS (
    SELECT n.commune_code, n.kind, n.name,
           CASE WHEN n.compact = %(compact)s THEN 1
                WHEN n.compact LIKE %(prefix)s ESCAPE '\\' OR n.key LIKE %(word)s ESCAPE '\\' THEN 2
                ELSE 3 END AS level,
           (n.compact NOT LIKE %(prefix)s ESCAPE '\\') AS word_only,
           similarity(n.compact, %(compact)s) AS score
      FROM commune_name n JOIN commune c ON c.code = n.commune_code
     WHERE (n.compact = %(compact)s
            OR n.compact LIKE %(prefix)s ESCAPE '\\'
            OR n.key LIKE %(word)s ESCAPE '\\'
            OR n.compact %% %(compact)s)
       AND (%(postcode)s::text IS NULL OR %(postcode)s = ANY (c.postcodes))
       AND (%(departement)s::text IS NULL OR c.departement = %(departement)s)
), best AS (
    SELECT DISTINCT ON (commune_code) *, (kind = 'epci') AS via_epci
      FROM m ORDER BY commune_code, level, (kind = 'epci'), word_only, score DESC
), kept AS (
    -- The best level only; there, an EPCI's communes only when no commune's own name matches.
    SELECT b.* FROM best b
     WHERE b.level = (SELECT min(level) FROM best)
       AND (NOT b.via_epci OR NOT EXISTS (SELECT 1 FROM best o WHERE o.level = b.level AND NOT o.via_epci))
)
SELECT c.code, c.name, c.postcodes, c.departement, d.name AS departement_name, c.population,
       k.kind AS matched_kind, k.name AS matched_name, k.level, round(k.score::numeric, 3)::float8 AS score,
       count(*) OVER () AS total
  FROM kept k JOIN commune c ON c.code = k.commune_code
  LEFT JOIN territory d ON d.level = 'departement' AND d.code = c.departement
 ORDER BY k.level, k.via_epci, k.word_only, k.score DESC, c.population DESC, c.code
 LIMIT %(limit)s
"""

_SEARCH_CODES_SQL = """
WITH m AS (
    SELECT c.*, CASE WHEN c.code = %(q)s OR %(q)s = ANY (c.postcodes) THEN 1 ELSE 2 END AS level
      FROM commune c
     WHERE c.code = %(q)s OR EXISTS (SELECT 1 FROM unnest(c.postcodes) p WHERE p LIKE %(prefix)s ESCAPE '\\')
), kept AS (SELECT * FROM m WHERE level = (SELECT min(level) FROM m))
SELECT k.code, k.name, k.postcodes, k.departement, d.name AS departement_name, k.population,
       CASE WHEN k.code = %(q)s THEN 'code' ELSE 'postcode' END AS matched_kind,
       %(q)s AS matched_name, k.level, 1.0::float8 AS score, count(*) OVER () AS total
  FROM kept k LEFT JOIN territory d ON d.level = 'departement' AND d.code = k.departement
 ORDER BY k.level, k.population DESC, k.code
 LIMIT %(limit)s
"""


def search_communes(conn: psycopg.Connection, text: str, *, limit: int = 50) -> dict[str, Any]:
    """Communes matching a name, a postcode or an INSEE code, as forgiving as a person typing.

    A query of digits (or an INSEE code such as 2A004) is a postcode: every commune it
    covers (or, for 2 to 4 digits, every commune whose postcode starts with them). Any other
    query is a name, compared through :func:`geo.names.search_key` (accents, case, hyphens,
    spaces, apostrophes, St/Ste) with the names of ``commune_name``: the same name first,
    else the names starting with it (or having a word starting with it), else the closest
    names by trigram similarity (pg_trgm, at most :data:`SIMILAR_MAX`). Only the best of
    these levels is returned (a postcode or a département typed with the name, « Quimper
    29000 », « Plouhinec (56) », narrows it: :func:`geo.names.split_query`), ranked by
    level (own names before EPCI names, a name starting with the query before a name with
    a word starting with it), then similarity, then population. LIKE wildcards in the query
    are escaped (and a key holds none).

    Returns ``level`` (``exact``, ``prefix``, ``similar`` or None when nothing matches),
    ``total`` (number of communes at that level; the list is cut at ``limit``) and
    ``communes``: ``code, name, postcodes, departement, departement_name, population, matched_kind``
    (``commune``, ``deleguee``, ``epci``, ``postcode``, ``code``) and ``matched_name``, and
    ``epci``: the EPCI's name when every commune listed was found through it.
    """
    raw = text.strip()
    code_like = raw.upper().replace(" ", "")
    rows: list[dict[str, Any]]
    with conn.cursor(row_factory=dict_row) as cur:
        if code_like.isdigit() or is_commune_code(code_like):
            if len(code_like) < 2:
                return {"level": None, "total": 0, "communes": [], "epci": None}
            rows = cur.execute(
                _SEARCH_CODES_SQL, {"q": code_like, "prefix": like_escape(code_like) + "%", "limit": limit}
            ).fetchall()
        else:
            name, postcode, departement = split_query(raw)
            key = search_key(name)
            compact = key.replace(" ", "")
            if len(compact) < 2:
                return {"level": None, "total": 0, "communes": [], "epci": None}
            values = {
                "compact": compact,
                "prefix": like_escape(compact) + "%",
                "word": "% " + like_escape(key) + "%",
                "limit": limit,
                "postcode": postcode,
                "departement": departement,
            }
            rows = cur.execute(_SEARCH_NAMES_SQL, values).fetchall()
            if not rows and (postcode or departement):  # a wrong postcode or département: the name alone
                rows = cur.execute(_SEARCH_NAMES_SQL, {**values, "postcode": None, "departement": None}).fetchall()
    if not rows:
        return {"level": None, "total": 0, "communes": [], "epci": None}
    level = SEARCH_LEVELS[rows[0]["level"] - 1]
    total = rows[0]["total"]
    if level == "similar":
        rows, total = rows[:SIMILAR_MAX], min(total, SIMILAR_MAX)
    for row in rows:
        del row["level"], row["total"], row["score"]
    epci = {row["matched_name"] for row in rows if row["matched_kind"] == "epci"}
    only_epci = len(epci) == 1 and all(row["matched_kind"] == "epci" for row in rows)
    return {"level": level, "total": total, "communes": rows, "epci": epci.pop() if only_epci else None}


# --------------------------------------------------------------------------- finder
STRUCTURE_COLUMNS_SQL = """
    s.structure_id, s.name, s.address, s.postcode, s.commune_code, s.commune_name, s.partner_type,
    p.label AS partner_label, coalesce(s.receives_public, p.receives_public) AS receives_public, s.missions, s.publics, s.site_format, s.geocoding, s.opening_hours,
    s.phone, s.email, s.website, s.appointment, s.source, s.vintage, p.description AS partner_description,
    starts_with(s.geocoding, 'approx_') AS approximate_position,
    s.site_format IN ('itinerant', 'bus') AS itinerant,
    s.site_format = 'multisites' AS multisite,
    round(ST_X(ST_Transform(s.geom, 4326))::numeric, 6)::float8 AS lon,
    round(ST_Y(ST_Transform(s.geom, 4326))::numeric, 6)::float8 AS lat"""
"""Columns of a structure as the finder and the API show it (``s``: structure, ``p``: partner_type)."""

_POINT_SQL = "ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326), atlas_srid())"


def _filters(
    *,
    mission: str | None = None,
    public: str | None = None,
    day: str | None = None,
    partner_type: str | None = None,
    receiving_only: bool = True,
    unknown_hours_kept: bool = False,
) -> tuple[sql.Composable, dict[str, Any]]:
    """The WHERE clause of the finder's filters, with only the predicates in use.

    With ``unknown_hours_kept`` (the public finder's rule, :func:`geo.analysis.finder.allowed_places`),
    a weekday keeps the places open that day *and* those whose hours are unknown; without it,
    only the former.

    Only the filters given appear in the statement, so that each combination gets its
    own (prepared, well-estimated) plan; values are bound parameters. A place for
    ``tout_public`` serves every public.
    """
    clauses: list[sql.Composable] = [sql.SQL("TRUE")]
    params: dict[str, Any] = {}
    if receiving_only:
        clauses.append(sql.SQL("coalesce(s.receives_public, p.receives_public)"))
    if mission:
        clauses.append(sql.SQL("%(mission)s = ANY (s.missions)"))
        params["mission"] = mission
    if public:
        clauses.append(sql.SQL("(%(public)s = ANY (s.publics) OR 'tout_public' = ANY (s.publics))"))
        params["public"] = public
    if day:
        clauses.append(
            sql.SQL("(s.opening_hours ? %(day)s OR s.opening_hours = '{}'::jsonb)")
            if unknown_hours_kept
            else sql.SQL("s.opening_hours ? %(day)s")
        )
        params["day"] = day
    if partner_type:
        clauses.append(sql.SQL("s.partner_type = %(partner_type)s"))
        params["partner_type"] = partner_type
    return sql.SQL(" AND ").join(clauses), params


def _ordered_hours(row: dict[str, Any]) -> dict[str, Any]:
    """Opening hours as a list of (weekday, hours) in weekday order (jsonb keeps no order)."""
    hours = row.get("opening_hours") or {}
    row["opening_hours"] = [(day, hours[day]) for day in WEEKDAYS if day in hours]
    return row


def access_runs(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """The latest accessibility run of each mode: ``approximate``, ``network``, ``computed_at``, ``bound_s``."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            SELECT mode, approximate, network, computed_at, (params ->> 'od_limit_s')::float8 AS bound_s
              FROM access_run ORDER BY mode
            """
        ).fetchall()
    return {row["mode"]: row for row in rows}


# ------------------------------------------------------------------ finder
DATA_VERSION_COLUMNS_SQL = """
    (SELECT max(id) FROM load_run) AS v_load, (SELECT max(computed_at) FROM access_run) AS v_access,
    (SELECT count(*) FROM access_run) AS n_access, (SELECT max(created_at) FROM zoning) AS v_zoning,
    (SELECT count(*) FROM zoning) AS n_zoning, (SELECT version FROM publication) AS v_publication"""
"""What :func:`data_version` reads (six index or tiny-table lookups, about 0.05 ms). The
publication counter (``storage.publish``) changes with every publication, in its transaction."""
N_VERSION_COLUMNS = DATA_VERSION_COLUMNS_SQL.count(" AS ")
VERSION_NULLS_SQL = ", ".join(["NULL"] * N_VERSION_COLUMNS)
"""As many NULLs as :data:`DATA_VERSION_COLUMNS_SQL` has columns (rows of a UNION without them)."""
DATA_VERSION_SQL = f"SELECT {DATA_VERSION_COLUMNS_SQL}"


_LOCATED_BY_POINT_SQL = f"""
    SELECT k.code, ST_Contains(k.geom, q.pt) AS inside, round(ST_Distance(k.geom, q.pt))::integer AS distance_m, q.pt
      FROM (SELECT {_POINT_SQL} AS pt) q,
           LATERAL (SELECT c.code, c.geom FROM commune c ORDER BY c.geom <-> q.pt LIMIT 8) k
     ORDER BY ST_Distance(k.geom, q.pt), k.code
     LIMIT 1"""  # noqa: S608 - constant SQL fragments, values are bound
"""The commune containing the point (distance 0), else the nearest one, ties by code: 8
candidates from the GiST index (KNN ``<->`` alone, so that the index orders them), then
the exact order among them."""


FINDER_COMMUNE_SQL = f"""
SELECT 0 AS part, c.code AS id, NULL::text AS mode, NULL::real AS seconds, NULL::boolean AS ferry,
       ST_X(ST_PointOnSurface(c.geom)) AS x, ST_Y(ST_PointOnSurface(c.geom)) AS y, {DATA_VERSION_COLUMNS_SQL}
  FROM commune c WHERE c.code = %(code)s
UNION ALL
SELECT 1, o.commune_code, o.mode, NULL, NULL, ST_X(o.geom), ST_Y(o.geom), {VERSION_NULLS_SQL}
  FROM commune_origin o WHERE o.commune_code = %(code)s
UNION ALL
SELECT 2, t.structure_id, t.mode, t.seconds, t.ferry, NULL, NULL, {VERSION_NULLS_SQL}
  FROM commune_structure_time t WHERE t.commune_code = %(code)s
"""  # noqa: S608 - constant SQL fragments, values are bound
"""Everything the finder needs about one commune, in one statement (see :func:`finder_commune`)."""

LOCATE_POINT_SQL = f"""
SELECT l.code, l.inside, l.distance_m, ST_X(l.pt) AS x, ST_Y(l.pt) AS y, {DATA_VERSION_COLUMNS_SQL}
  FROM ({_LOCATED_BY_POINT_SQL}) l
"""  # noqa: S608 - constant SQL fragments, values are bound


def finder_commune(conn: psycopg.Connection, code: str) -> dict[str, Any]:
    """One commune's precomputed travel times and origins, in one prepared statement.

    Returns ``version`` (:func:`data_version`), ``code`` (None when the commune is
    unknown), ``surface`` (a point inside the commune, projected x/y), ``origins`` (mode ->
    x/y of the point the times start from), ``times`` (mode -> ``(seconds, structure_id)``
    within the run's bound, ordered by time then identifier), ``seconds`` (mode ->
    structure_id -> seconds) and ``ferry`` (the ``(mode, structure_id)`` pairs whose time
    crosses by boat). The finder orders and filters these rows in memory
    (``webapp.finder``) exactly as :func:`finder_search` does in SQL.
    """
    rows = conn.execute(FINDER_COMMUNE_SQL, {"code": code}, prepare=True).fetchall()
    found: dict[str, Any] = {
        "version": None,
        "code": None,
        "surface": None,
        "origins": {},
        "times": {},
        "seconds": {},
        "ferry": set(),
    }
    for part, ident, mode, seconds, ferry, x, y, *version in rows:
        if part == 0:
            found.update(code=ident, surface=(x, y), version=tuple(version))
        elif part == 1:
            found["origins"][mode] = (x, y)
        else:
            found["times"].setdefault(mode, []).append((seconds, ident))
            found["seconds"].setdefault(mode, {})[ident] = seconds
            if ferry:
                found["ferry"].add((mode, ident))
    for times in found["times"].values():
        times.sort()
    if found["version"] is None:
        found["version"] = data_version(conn)
    return found


def locate_point(conn: psycopg.Connection, lat: float, lon: float) -> dict[str, Any]:
    """The commune containing a WGS84 point (else the nearest), the point in the Région's CRS, the version.

    ``code`` is None when no commune is loaded; ``inside``, ``distance_m`` (to the
    commune, 0 inside) and ``x``/``y`` otherwise.
    """
    row = conn.execute(LOCATE_POINT_SQL, {"lat": float(lat), "lon": float(lon)}, prepare=True).fetchone()
    if row is None:
        return {"code": None, "version": data_version(conn)}
    code, inside, distance_m, x, y, *version = row
    return {"code": code, "inside": inside, "distance_m": distance_m, "x": x, "y": y, "version": tuple(version)}


def finder_reference(conn: psycopg.Connection) -> dict[str, Any]:
    """What the finder keeps in memory, read in one consistent snapshot (REPEATABLE READ).

    ``version`` (:func:`data_version`), ``communes`` (code -> code, name, postcodes,
    departement, epci, population), ``structures`` (structure_id -> the columns of
    :func:`structures`), ``positions`` (structure_id -> x/y in the Région's CRS) and
    ``runs`` (:func:`access_runs`). A few hundred kilobytes for a
    Région; reread only when ``version`` changes.
    """
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        version = data_version(conn)
        with conn.cursor(row_factory=dict_row) as cur:
            communes = cur.execute(
                "SELECT code, name, postcodes, departement, epci, population FROM commune ORDER BY code"
            ).fetchall()
        places = structures(conn)
        positions = {
            sid: (x, y)
            for sid, x, y in conn.execute("SELECT structure_id, ST_X(geom), ST_Y(geom) FROM structure").fetchall()
        }
        runs = access_runs(conn)
    return {
        "version": version,
        "communes": {row["code"]: row for row in communes},
        "structures": {row["structure_id"]: row for row in places},
        "positions": positions,
        "runs": runs,
    }


# ------------------------------------------------------------------- structures
def partner_types(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Partner types with at least one structure: code, label, missions, publics, count."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT p.partner_type, p.label, p.missions, p.publics, p.receives_public, count(*) AS n_structures
              FROM partner_type p JOIN structure s USING (partner_type)
             GROUP BY p.partner_type ORDER BY p.label
            """
        ).fetchall()


def structures(
    conn: psycopg.Connection,
    *,
    partner_type: str | None = None,
    mission: str | None = None,
    public: str | None = None,
    day: str | None = None,
    receiving_only: bool = False,
) -> list[dict[str, Any]]:
    """Structures (filtered like the finder), ordered by ``structure_id``.

    ``receiving_only`` keeps only the partner types that receive the public (the finder's
    rule); the map and the exports show every place of the network by default.
    """
    filters, params = _filters(
        mission=mission, public=public, day=day, partner_type=partner_type, receiving_only=receiving_only
    )
    query = sql.SQL(
        f"""
        SELECT {STRUCTURE_COLUMNS_SQL}
          FROM structure s JOIN partner_type p ON p.partner_type = s.partner_type
         WHERE {{filters}}
         ORDER BY s.structure_id
        """  # noqa: S608 - constant SQL fragments, values are bound
    ).format(filters=filters)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    return [_ordered_hours(row) for row in rows]


# --------------------------------------------------------------------- communes
COMMUNE_ACCESS_SQL = """
SELECT a.mode, a.category, c.label AS category_label, c.kind, c.fixed_only, a.seconds,
       a.structure_id, s.name AS structure_name, a.n_operators_30, a.fca, a.approximate, a.ferry,
       c.inventory_incomplete, c.incomplete_types
  FROM commune_access a
  JOIN access_category c ON c.code = a.category
  LEFT JOIN structure s ON s.structure_id = a.structure_id
 WHERE a.commune_code = %s
 ORDER BY a.mode, c.sort_order
"""


def commune_access(conn: psycopg.Connection, code: str) -> list[dict[str, Any]]:
    """Access figures of one commune for every mode and category, with the nearest place's name."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            COMMUNE_ACCESS_SQL,
            (code,),
        ).fetchall()


def commune_shape(conn: psycopg.Connection, code: str, tolerance_m: float) -> dict[str, Any] | None:
    """One commune's attributes and simplified polygon (GeoJSON text, WGS84)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT code, name, postcodes, departement, arrondissement, epci, population,
                   ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(geom, %s), 4326), 4) AS geometry
              FROM commune WHERE code = %s
            """,
            (tolerance_m, code),
        ).fetchone()


def commune_shapes(conn: psycopg.Connection, tolerance_m: float) -> list[dict[str, Any]]:
    """Every commune with its polygon simplified (``ST_SimplifyPreserveTopology``, metres)
    as GeoJSON text in WGS84 (4 decimals, about 10 m)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT code, name, departement, epci, population,
                   ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(geom, %s), 4326), 4) AS geometry
              FROM commune ORDER BY code
            """,
            (tolerance_m,),
        ).fetchall()


def commune_values(conn: psycopg.Connection, mode: str, category: str) -> list[dict[str, Any]]:
    """Travel time to the nearest place of ``category`` from every commune (choropleth)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT a.commune_code AS code, m.name, m.population, a.seconds, a.structure_id,
                   s.name AS structure_name, a.n_operators_30, a.fca, a.approximate, a.ferry
              FROM commune_access a
              JOIN commune m ON m.code = a.commune_code
              LEFT JOIN structure s ON s.structure_id = a.structure_id
             WHERE a.mode = %s AND a.category = %s
             ORDER BY a.commune_code
            """,
            (mode, category),
        ).fetchall()


ACCESS_CATEGORIES_SQL = """
SELECT code, kind, key, fixed_only, label, n_places, c.inventory_incomplete, c.incomplete_types
  FROM access_category c ORDER BY sort_order, code
"""


def access_categories(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Categories of places for which access was computed, in display order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(ACCESS_CATEGORIES_SQL).fetchall()


# ------------------------------------------------------------------- territories
LEVELS: tuple[str, ...] = ("region", "departement", "arrondissement", "epci")
"""Territory levels of the ``territory`` table; zones are ``zone:<zoning_id>``."""


def territory_shapes(conn: psycopg.Connection, level: str, tolerance_m: float) -> list[dict[str, Any]]:
    """Territories of ``level`` with simplified polygons as GeoJSON text in WGS84."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT code, name, population, n_communes,
                   ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(geom, %s), 4326), 4) AS geometry
              FROM territory WHERE level = %s ORDER BY code
            """,
            (tolerance_m, level),
        ).fetchall()


def indicator_levels(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Levels having indicators: territory levels first, then one per zoning."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            SELECT DISTINCT i.level,
                   z.label || CASE WHEN z.draft THEN ' (brouillon)' ELSE '' END AS zoning_label
              FROM access_indicator i
              LEFT JOIN zoning z ON i.level = 'zone:' || z.zoning_id
            """
        ).fetchall()
    order = {level: n for n, level in enumerate(LEVELS)}
    return sorted(rows, key=lambda r: (order.get(r["level"], len(LEVELS)), r["level"]))


INDICATORS_SQL = """
SELECT i.level, i.code, coalesce(t.name, z.name, i.code) AS name, i.mode, i.category,
       i.n_communes, i.population, i.population_unreached, i.mean_min, i.median_min,
       i.share_10, i.share_20, i.share_30, i.share_45, i.mean_operators_30, i.mean_fca,
       i.approximate, c.inventory_incomplete, c.incomplete_types
  FROM access_indicator i
  JOIN access_category c ON c.code = i.category
  LEFT JOIN territory t ON t.level = i.level AND t.code = i.code
  LEFT JOIN zone z ON i.level = 'zone:' || z.zoning_id AND z.zone_id = i.code
 WHERE i.level = %s AND i.mode = %s AND i.category = %s
 ORDER BY (i.level = 'region') DESC, coalesce(t.name, z.name, i.code), i.code
"""


def indicators(conn: psycopg.Connection, *, level: str, mode: str, category: str) -> list[dict[str, Any]]:
    """Indicators of every territory (or zone) of ``level`` for ``mode`` and ``category``, by name."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            INDICATORS_SQL,
            (level, mode, category),
        ).fetchall()


# ------------------------------------------------------------------- zones, gaps
def zonings(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Stored zonings with their number of zones, version facts (``created_at, author,
    note``) and ``draft``; a draft's ``label`` ends with « (brouillon) », so that every
    list, page, API answer and export that shows it says so."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT z.zoning_id, z.label || CASE WHEN z.draft THEN ' (brouillon)' ELSE '' END AS label, z.method,
                   z.source, z.created_at, z.author, z.note, z.draft, count(zo.zone_id) AS n_zones
              FROM zoning z LEFT JOIN zone zo USING (zoning_id)
             GROUP BY z.zoning_id ORDER BY z.zoning_id
            """
        ).fetchall()


def zone_shapes(conn: psycopg.Connection, zoning_id: str, tolerance_m: float) -> list[dict[str, Any]]:
    """Zones of a zoning with simplified polygons (GeoJSON text, WGS84) and their hub's name."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT z.zone_id, z.name, z.population, z.n_communes, z.hub_structure_id,
                   s.name AS hub_name, z.explanation,
                   ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(z.geom, %s), 4326), 4) AS geometry
              FROM zone z LEFT JOIN structure s ON s.structure_id = z.hub_structure_id
             WHERE z.zoning_id = %s ORDER BY z.zone_id
            """,
            (tolerance_m, zoning_id),
        ).fetchall()


def isochrone_shapes(
    conn: psycopg.Connection, *, mode: str, minutes: int, tolerance_m: float, structure_id: str | None = None
) -> list[dict[str, Any]]:
    """Isochrones of ``mode`` and ``minutes`` (optionally one place's), simplified, GeoJSON text in WGS84."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT i.structure_id, s.name, s.partner_type, i.mode, i.minutes, i.approximate,
                   ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(i.geom, %(tol)s), 4326), 4) AS geometry
              FROM isochrone i JOIN structure s USING (structure_id)
             WHERE i.mode = %(mode)s AND i.minutes = %(minutes)s
               AND (%(sid)s::text IS NULL OR i.structure_id = %(sid)s)
             ORDER BY i.structure_id
            """,
            {"tol": tolerance_m, "mode": mode, "minutes": minutes, "sid": structure_id},
        ).fetchall()


def isochrone_minutes(conn: psycopg.Connection) -> list[int]:
    """The isochrone limits stored (minutes)."""
    return [row[0] for row in conn.execute("SELECT DISTINCT minutes FROM isochrone ORDER BY minutes").fetchall()]


GAPS_SQL = """
SELECT g.kind, g.mode, g.category, c.label AS category_label, g.commune_code, m.name AS commune_name,
       m.departement, g.seconds, g.threshold_s, g.population, g.approximate, c.inventory_incomplete, c.incomplete_types
  FROM gap g JOIN commune m ON m.code = g.commune_code JOIN access_category c ON c.code = g.category
 WHERE (%(kind)s::text IS NULL OR g.kind = %(kind)s)
   AND (%(mode)s::text IS NULL OR g.mode = %(mode)s)
   AND (%(category)s::text IS NULL OR g.category = %(category)s)
   AND (%(west)s::float8 IS NULL OR ST_Intersects(m.geom, ST_Transform(ST_Segmentize(
        ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326), 0.05), atlas_srid())))
 ORDER BY g.kind, g.mode, c.sort_order, g.population DESC, g.commune_code
"""


def gaps(
    conn: psycopg.Connection,
    *,
    kind: str | None = None,
    mode: str | None = None,
    category: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> list[dict[str, Any]]:
    """White zones (communes beyond a threshold) and no-choice communes, with names;
    ``bbox`` (west, south, east, north in WGS84 degrees, inside the projection domain of the
    Région's CRS) keeps the communes meeting it."""
    west, south, east, north = bbox or (None, None, None, None)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            GAPS_SQL,
            {
                "kind": kind,
                "mode": mode,
                "category": category,
                "west": west,
                "south": south,
                "east": east,
                "north": north,
            },
        ).fetchall()


GAP_SUMMARY_SQL = """
SELECT g.kind, g.mode, g.category, c.label AS category_label, min(g.threshold_s) AS threshold_s,
       count(*) AS n_communes, sum(g.population) AS population, bool_or(g.approximate) AS approximate,
       c.inventory_incomplete, c.incomplete_types
  FROM gap g JOIN access_category c ON c.code = g.category
 GROUP BY g.kind, g.mode, g.category, c.label, c.sort_order, c.inventory_incomplete, c.incomplete_types
 ORDER BY g.kind, g.mode, c.sort_order
"""


def gap_summary(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Number of communes and inhabitants per kind of gap, mode and category."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(GAP_SUMMARY_SQL).fetchall()


# ------------------------------------------------------------------- versions
def data_version(conn: psycopg.Connection) -> tuple[Any, ...]:
    """A value that changes whenever loads, accessibility runs or zonings change (cache key)."""
    return one_row(conn, DATA_VERSION_SQL, prepare=True)


# ------------------------------------------------------------------ scenarios
SCENARIO_ZONE_COLUMNS: tuple[str, ...] = (
    "zone_id",
    "name",
    "population",
    "mean_seconds_before",
    "mean_seconds_after",
    "share_within_before",
    "share_within_after",
    "population_unreached_before",
    "population_unreached_after",
    "newly_covered",
    "no_longer_covered",
)
"""Columns of a scenario's per-zone effect (seconds, shares 0–1, inhabitants)."""


def scenarios(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Stored scenarios, newest first: ``scenario_id, label, method, mode, category,
    approximate, created_at, author, note, n_sites, summary``."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT s.scenario_id, s.label, s.method, s.mode, s.category, s.approximate, s.created_at,
                   s.author, s.note, s.params, s.summary, count(t.rank) AS n_sites
              FROM scenario s LEFT JOIN scenario_site t USING (scenario_id)
             GROUP BY s.scenario_id ORDER BY s.created_at DESC, s.scenario_id
            """
        ).fetchall()


def scenario(conn: psycopg.Connection, scenario_id: str) -> dict[str, Any] | None:
    """One stored scenario (as :func:`scenarios`) with its ``sites`` (rank order, with the
    commune or place name), or None."""
    found = [row for row in scenarios(conn) if row["scenario_id"] == scenario_id]
    if not found:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        sites = cur.execute(
            """
            SELECT t.rank, t.action, t.commune_code, t.commune_name, t.structure_id, t.structure_name,
                   t.population_gained, t.name, t.cost, t.capacity
              FROM scenario_site t WHERE t.scenario_id = %s ORDER BY t.rank
            """,
            (scenario_id,),
        ).fetchall()
    return {**found[0], "sites": sites}


def scenario_zones(conn: psycopg.Connection, scenario_id: str) -> list[dict[str, Any]]:
    """The per-zone effect of a stored scenario, one dict per zone ordered by zone id:
    :data:`SCENARIO_ZONE_COLUMNS` (times in seconds, None when no inhabitant of the zone
    reaches a place; shares 0–1; inhabitants) and ``approximate`` (the scenario's travel
    times are approximate). Empty for an unknown scenario. For the pages and the yearly
    report's annex (:func:`storage.planning.scenario_zone_effects` gives a DataFrame)."""
    query = sql.SQL(
        "SELECT {}, s.approximate FROM scenario_zone z JOIN scenario s USING (scenario_id) "
        "WHERE z.scenario_id = %s ORDER BY z.zone_id"
    ).format(sql.SQL(", ").join(sql.Identifier("z", c) for c in SCENARIO_ZONE_COLUMNS))
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, (scenario_id,)).fetchall()


def scenario_zone_shapes(conn: psycopg.Connection, scenario_id: str, tolerance_m: float) -> list[dict[str, Any]]:
    """The per-zone effect of a stored scenario with simplified polygons (GeoJSON text,
    WGS84), for the map and the API."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT z.zone_id, z.name, z.population, z.mean_seconds_before, z.mean_seconds_after,
                   z.share_within_before, z.share_within_after, z.population_unreached_before,
                   z.population_unreached_after, z.newly_covered, z.no_longer_covered,
                   ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(z.geom, %s), 4326), 4) AS geometry
              FROM scenario_zone z WHERE z.scenario_id = %s ORDER BY z.zone_id
            """,
            (tolerance_m, scenario_id),
        ).fetchall()
