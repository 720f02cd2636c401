"""Yearly snapshots: what a year's bilan rests on, frozen in PostGIS (migration 0019).

:func:`take_snapshot` copies, in one REPEATABLE READ transaction, the places (with their
public-reception flag, positioning and vintage), the communes, the per-commune access
times, the white zones and the zones as rows keyed by ``snapshot_id`` (explicit column
lists, so that columns other branches add to the live tables change nothing here), and
the report's aggregated tables as one JSONB document (:func:`report_parts`). A snapshot
is never modified: a new one of the same year needs ``replace=True`` and marks the old
one as replaced (kept as a record).

Readers: :func:`snapshots` (the list), :func:`current` (a year's snapshot with its
parts), :func:`previous` (the one before), :func:`places` and :func:`communes`
(GeoDataFrames in the Région's CRS for the comparison and the maps),
:func:`commune_access` (per-commune times for a mode and category).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from storage import read
from storage.common import StoreError, jsonable, loaded_region, read_frame, scalar

if TYPE_CHECKING:
    import geopandas as gpd

PARTS_VERSION = 1
"""Version of the ``parts`` document; a reader meeting another version says so."""


class SnapshotExistsError(StoreError):
    """A current snapshot of the year exists and ``replace`` was not asked."""


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    msg = f"not JSON serialisable: {type(value).__name__}"
    raise TypeError(msg)


def _dumps(value: Any) -> str:
    return json.dumps(jsonable(value), default=_default, ensure_ascii=False)


# ------------------------------------------------------------------ what is frozen
def _all_indicators(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every stored indicator row, as :func:`storage.read.indicators` gives them."""
    rows: list[dict[str, Any]] = []
    keys = conn.execute("SELECT DISTINCT level, mode, category FROM access_indicator ORDER BY 1, 2, 3").fetchall()
    for level, mode, category in keys:
        rows.extend(read.indicators(conn, level=level, mode=mode, category=category))
    return rows


def _scenarios(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every stored scenario as :func:`storage.read.scenario` gives it (sites with their
    names, author, note, summary), with ``zones``: its per-zone effect
    (:func:`storage.read.scenario_zones`), for the report's annex."""
    frozen = []
    for row in read.scenarios(conn):
        scenario = read.scenario(conn, row["scenario_id"])
        if scenario is None:  # deleted meanwhile
            continue
        scenario["zones"] = [
            {k: v for k, v in z.items() if k != "approximate"} for z in read.scenario_zones(conn, row["scenario_id"])
        ]
        frozen.append(scenario)
    return frozen


def _sources(conn: psycopg.Connection) -> dict[str, Any]:
    """The last load of the Région (files read with their SHA-256, counts) and the networks
    the times were computed on (source file and its SHA-256, approximate or not)."""
    with conn.cursor(row_factory=dict_row) as cur:
        load = cur.execute(
            """
            SELECT id, started_at, finished_at, files, counts FROM load_run
             WHERE kind = 'region' ORDER BY id DESC LIMIT 1
            """
        ).fetchone()
        networks = cur.execute(
            "SELECT mode, approximate, source, source_sha256, crs, n_nodes, n_edges, built_at FROM network ORDER BY mode"
        ).fetchall()
        datasets = cur.execute(
            """
            SELECT dataset, source, count(*) AS n_places,
                   array_agg(DISTINCT vintage ORDER BY vintage) FILTER (WHERE vintage IS NOT NULL) AS vintages
              FROM structure GROUP BY dataset, source ORDER BY dataset, source
            """
        ).fetchall()
    return {"load": load, "networks": networks, "datasets": datasets}


def _approximations(conn: psycopg.Connection) -> dict[str, Any]:
    """What makes figures approximate: positions not at the building, approximate times."""
    with conn.cursor(row_factory=dict_row) as cur:
        positions = cur.execute(
            "SELECT geocoding, count(*) AS n_places FROM structure GROUP BY geocoding ORDER BY geocoding"
        ).fetchall()
        runs = cur.execute("SELECT mode, approximate FROM access_run ORDER BY mode").fetchall()
    return {
        "positions": positions,
        "approximate_times": any(r["approximate"] for r in runs),
        "approximate_modes": [r["mode"] for r in runs if r["approximate"]],
    }


def report_parts(conn: psycopg.Connection) -> dict[str, Any]:
    """The aggregated tables a year's report shows, read from the live tables with the
    same functions the pages use (:mod:`storage.read`), as JSON-ready values.

    Keys: ``version``, ``overview``, ``runs``, ``categories``, ``indicators`` (every row of
    :func:`storage.read.indicators`, all levels, modes and categories), ``gap_summary``,
    ``zonings``, ``scenarios``, ``inventory`` (fields of
    :class:`geo.analysis.inventory.TypeInventory`), ``rejected_rows``, ``sources``,
    ``approximations``.
    """
    return {
        "version": PARTS_VERSION,
        "overview": read.region_overview(conn),
        "runs": read.access_runs(conn),
        "categories": read.access_categories(conn),
        "indicators": _all_indicators(conn),
        "gap_summary": read.gap_summary(conn),
        "zonings": [z for z in read.zonings(conn) if not z.get("draft")],  # a draft is no bilan
        "scenarios": _scenarios(conn),
        "inventory": [dataclasses.asdict(t) for t in read.inventory(conn)],
        "rejected_rows": len(read.last_load_rejections(conn)),
        "sources": _sources(conn),
        "approximations": _approximations(conn),
    }


COPY_PLACES_SQL = """
    INSERT INTO snapshot_place (snapshot_id, structure_id, dataset, partner_type, name, address, postcode,
                                commune_code, commune_name, site_format, geocoding, receives_public, missions,
                                publics, source, vintage, geom)
    SELECT %(id)s, s.structure_id, s.dataset, s.partner_type, s.name, s.address, s.postcode, s.commune_code,
           s.commune_name, s.site_format, s.geocoding, coalesce(s.receives_public, p.receives_public), s.missions,
           s.publics, s.source, s.vintage, s.geom
      FROM structure s JOIN partner_type p USING (partner_type)
"""
COPY_COMMUNES_SQL = """
    INSERT INTO snapshot_commune (snapshot_id, code, name, departement, epci, population, geom)
    SELECT %(id)s, code, name, departement, epci, population, geom FROM commune
"""
COPY_COMMUNE_ACCESS_SQL = """
    INSERT INTO snapshot_commune_access (snapshot_id, commune_code, mode, category, seconds, structure_id,
                                         n_operators_30, fca, approximate)
    SELECT %(id)s, commune_code, mode, category, seconds, structure_id, n_operators_30, fca, approximate
      FROM commune_access
"""
COPY_GAPS_SQL = """
    INSERT INTO snapshot_gap (snapshot_id, kind, mode, category, commune_code, seconds, threshold_s, population,
                              approximate)
    SELECT %(id)s, kind, mode, category, commune_code, seconds, threshold_s, population, approximate FROM gap
"""
COPY_ZONES_SQL = """
    INSERT INTO snapshot_zone (snapshot_id, zoning_id, zone_id, name, hub_structure_id, population, n_communes,
                               explanation, geom)
    SELECT %(id)s, zoning_id, zone_id, name, hub_structure_id, population, n_communes, explanation, geom FROM zone
     WHERE zoning_id IN (SELECT zoning_id FROM zoning WHERE NOT draft)
"""


def latest_vintage_year(conn: psycopg.Connection) -> int | None:
    """The most recent year the loaded places' vintages name (``2026-07 (HEAD du dépôt)`` →
    2026), None when none names a year: a bilan of an earlier year cannot rest on them."""
    row = conn.execute(
        "SELECT max((m)[1]::int) FROM structure, regexp_matches(coalesce(vintage, ''), '((?:19|20)[0-9]{2})', 'g') AS m"
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def take_snapshot(conn: psycopg.Connection, *, year: int, label: str | None = None, replace: bool = False) -> int:
    """Freeze the current state as the snapshot of ``year``; return its id.

    Raises :class:`SnapshotExistsError` when ``year`` has a snapshot and ``replace`` is
    False, :class:`storage.common.StoreError` when no Région is loaded. All or nothing:
    one transaction; the replaced snapshot, if any, is kept and marked as replaced.
    """
    from storage.publish import publishing

    try:
        snapshot_id = _take(conn, year=year, label=label, replace=replace)
    except psycopg.errors.UniqueViolation as exc:  # another snapshot of the year taken meanwhile
        msg = f"un autre instantané du bilan {year} vient d'être pris : relancer la commande"
        raise SnapshotExistsError(msg) from exc
    with publishing(conn, ["snapshot"]):
        pass  # a new publication: the reports and pages kept per publication are read again
    return snapshot_id


def _take(conn: psycopg.Connection, *, year: int, label: str | None, replace: bool) -> int:
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.commit()  # a REPEATABLE READ transaction of its own, not a savepoint of the caller's
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if loaded_region(conn) is None:
            msg = "aucune Région chargée : lancer d'abord atlas load"
            raise StoreError(msg)
        old = conn.execute(
            "SELECT snapshot_id, taken_at FROM snapshot WHERE year = %s AND replaced_at IS NULL FOR UPDATE", (year,)
        ).fetchone()
        if old is not None and not replace:
            msg = (
                f"un bilan {year} existe déjà (instantané n° {old[0]} du {old[1]:%d/%m/%Y}) : "
                "--replace pour en prendre un nouveau (l'ancien reste conservé)"
            )
            raise SnapshotExistsError(msg)
        new_id = int(scalar(conn, "SELECT nextval(pg_get_serial_sequence('snapshot', 'snapshot_id'))"))
        if old is not None:
            conn.execute(
                "UPDATE snapshot SET replaced_at = now(), replaced_by = %s WHERE snapshot_id = %s", (new_id, old[0])
            )
        conn.execute(
            """
            INSERT INTO snapshot (snapshot_id, year, label, region_code, crs, srid, parts)
            SELECT %s, %s, %s, region_code, crs, srid, %s FROM region_config
            """,
            (new_id, year, label, Jsonb(report_parts(conn), dumps=_dumps)),
        )
        # The row copies, by explicit column lists.
        conn.execute(COPY_PLACES_SQL, {"id": new_id})
        conn.execute(COPY_COMMUNES_SQL, {"id": new_id})
        conn.execute(COPY_COMMUNE_ACCESS_SQL, {"id": new_id})
        conn.execute(COPY_GAPS_SQL, {"id": new_id})
        conn.execute(COPY_ZONES_SQL, {"id": new_id})
    return new_id


# ------------------------------------------------------------------ readers
SNAPSHOT_COLUMNS = "snapshot_id, year, label, taken_at, region_code, crs, srid, replaced_at, replaced_by"
SNAPSHOTS_SQL = f"""
SELECT {SNAPSHOT_COLUMNS},
       (SELECT count(*) FROM snapshot_place p WHERE p.snapshot_id = s.snapshot_id AND p.receives_public) AS n_places
  FROM snapshot s
 WHERE %s OR replaced_at IS NULL
 ORDER BY year DESC, taken_at DESC
"""  # noqa: S608 - constant column list
CURRENT_SQL = f"SELECT {SNAPSHOT_COLUMNS}, parts FROM snapshot WHERE year = %s AND replaced_at IS NULL"  # noqa: S608
BY_ID_SQL = f"SELECT {SNAPSHOT_COLUMNS}, parts FROM snapshot WHERE snapshot_id = %s"  # noqa: S608


def snapshots(conn: psycopg.Connection, *, include_replaced: bool = False) -> list[dict[str, Any]]:
    """The snapshots, newest year first: ``snapshot_id, year, label, taken_at, region_code,
    crs, srid, replaced_at, replaced_by`` and ``n_places``; only current ones unless
    ``include_replaced``."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(SNAPSHOTS_SQL, (include_replaced,)).fetchall()


def snapshot_years(conn: psycopg.Connection) -> list[int]:
    """The years having a current snapshot, most recent first."""
    return [r[0] for r in conn.execute("SELECT year FROM snapshot WHERE replaced_at IS NULL ORDER BY year DESC")]


def current(conn: psycopg.Connection, year: int) -> dict[str, Any] | None:
    """The current snapshot of ``year`` (the columns of :func:`snapshots` and ``parts``),
    or None when that year has none."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(CURRENT_SQL, (year,)).fetchone()
    if row is not None and row["parts"].get("version") != PARTS_VERSION:
        msg = f"instantané {row['snapshot_id']} : format {row['parts'].get('version')} inconnu de cette version"
        raise StoreError(msg)
    return row


def previous_id(conn: psycopg.Connection, year: int) -> int | None:
    """Id of the current snapshot of the latest year before ``year``, or None."""
    row = conn.execute(
        """
        SELECT snapshot_id FROM snapshot WHERE year < %s AND replaced_at IS NULL ORDER BY year DESC LIMIT 1
        """,
        (year,),
    ).fetchone()
    return None if row is None else int(row[0])


def previous(conn: psycopg.Connection, year: int) -> dict[str, Any] | None:
    """The current snapshot of the latest year before ``year`` (with ``parts``), or None."""
    found = previous_id(conn, year)
    return None if found is None else by_id(conn, found)


def by_id(conn: psycopg.Connection, snapshot_id: int) -> dict[str, Any] | None:
    """A snapshot (current or replaced) by its id, with ``parts``; None when unknown."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(BY_ID_SQL, (snapshot_id,)).fetchone()


def places(conn: psycopg.Connection, snapshot_id: int) -> gpd.GeoDataFrame:
    """The places of a snapshot: ``structure_id, dataset, partner_type, name, address,
    postcode, commune_code, commune_name, site_format, geocoding, receives_public,
    missions, publics, source, vintage`` and Points in the snapshot's CRS, by id."""
    crs = _crs(conn, snapshot_id)
    return read_frame(
        conn,
        """
        SELECT structure_id, dataset, partner_type, name, address, postcode, commune_code, commune_name,
               site_format, geocoding, receives_public, missions, publics, source, vintage, ST_AsBinary(geom) AS wkb
          FROM snapshot_place WHERE snapshot_id = %s ORDER BY structure_id
        """,
        (snapshot_id,),
        crs=crs,
    )


def communes(conn: psycopg.Connection, snapshot_id: int) -> gpd.GeoDataFrame:
    """The communes of a snapshot: ``code, name, departement, epci, population`` and
    polygons in the snapshot's CRS, by code."""
    crs = _crs(conn, snapshot_id)
    return read_frame(
        conn,
        """
        SELECT code, name, departement, epci, population, ST_AsBinary(geom) AS wkb
          FROM snapshot_commune WHERE snapshot_id = %s ORDER BY code
        """,
        (snapshot_id,),
        crs=crs,
    )


def commune_access(conn: psycopg.Connection, snapshot_id: int, *, mode: str, category: str | None = None) -> Any:
    """Per-commune access of a snapshot for ``mode`` and ``category`` (every category when
    None): a DataFrame ``commune_code, category, seconds, structure_id, n_operators_30, fca,
    approximate``; ``seconds`` (travel time to the nearest place, s) is NaN beyond the
    computation bound; ordered by category and commune code."""
    return read_frame(
        conn,
        """
        SELECT commune_code, category, seconds, structure_id, n_operators_30, fca, approximate
          FROM snapshot_commune_access
         WHERE snapshot_id = %s AND mode = %s AND (%s::text IS NULL OR category = %s)
         ORDER BY category, commune_code
        """,
        (snapshot_id, mode, category, category),
    )


def white_zones(conn: psycopg.Connection, snapshot_id: int) -> Any:
    """The white zones and no-choice communes of a snapshot (a DataFrame: ``kind, mode,
    category, commune_code, seconds, threshold_s, population, approximate``)."""
    return read_frame(
        conn,
        """
        SELECT kind, mode, category, commune_code, seconds, threshold_s, population, approximate
          FROM snapshot_gap WHERE snapshot_id = %s ORDER BY kind, mode, category, commune_code
        """,
        (snapshot_id,),
    )


def zones(conn: psycopg.Connection, snapshot_id: int) -> gpd.GeoDataFrame:
    """The zones of a snapshot's zonings: ``zoning_id, zone_id, name, hub_structure_id,
    population, n_communes, explanation`` and polygons in the snapshot's CRS."""
    crs = _crs(conn, snapshot_id)
    return read_frame(
        conn,
        """
        SELECT zoning_id, zone_id, name, hub_structure_id, population, n_communes, explanation,
               ST_AsBinary(geom) AS wkb
          FROM snapshot_zone WHERE snapshot_id = %s ORDER BY zoning_id, zone_id
        """,
        (snapshot_id,),
        crs=crs,
    )


def _crs(conn: psycopg.Connection, snapshot_id: int) -> str:
    row = conn.execute("SELECT crs FROM snapshot WHERE snapshot_id = %s", (snapshot_id,)).fetchone()
    if row is None:
        msg = f"instantané {snapshot_id} inconnu"
        raise StoreError(msg)
    return str(row[0])
