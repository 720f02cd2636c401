"""Planners' results in PostGIS: white zones, zonings and their indicators, scenarios.

Each writer replaces what it describes in one transaction (a zoning by its id, the gaps
of a mode, a scenario by its id). Readers give the core what it needs: the commune x
place matrix of a mode, the per-commune nearest table and the stored zonings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from storage import read
from storage.access import copy_indicators, read_communes, read_places
from storage.common import StoreError, copy_rows, ewkb_hex, jsonable, region_srid
from storage.read import SCENARIO_ZONE_COLUMNS, scenario, scenario_zone_shapes, scenario_zones, scenarios

OFFICIAL_LEVELS: tuple[str, ...] = ("epci", "arrondissement", "departement", "zone-emploi", "bassin-vie")
"""Official zonings available without import: columns of the commune table (EPCI,
arrondissement, département) and the INSEE zonings loaded from ``[territories] zonages``
(table ``official_zone``)."""

INSEE_LEVELS: tuple[str, ...] = ("zone-emploi", "bassin-vie")
"""Official zonings of the ``official_zone`` table."""


# -------------------------------------------------------------------- access
def access_run(conn: psycopg.Connection, mode: str) -> dict[str, Any] | None:
    """``approximate, network, computed_at, params`` of the stored run of ``mode``, or None."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT mode, approximate, network, computed_at, params FROM access_run WHERE mode = %s", (mode,)
        ).fetchone()


def read_matrix(conn: psycopg.Connection, mode: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    """Communes, places and the stored commune x place times of ``mode``.

    Returns
    -------
    communes
        :func:`storage.access.read_communes` (ordered by code).
    places
        :func:`storage.access.read_places` (ordered by id).
    times_s
        ``(n_communes, n_places)`` seconds from each commune to each place (the orientation
        of :mod:`geo.traveltimes`), ``inf`` beyond the stored bound.
    """
    if access_run(conn, mode) is None:
        msg = f"no travel times for mode {mode!r} yet (run `atlas access`)"
        raise StoreError(msg)
    communes = read_communes(conn)
    places, _ = read_places(conn)
    pairs = conn.execute(
        "SELECT structure_id, commune_code, seconds FROM commune_structure_time WHERE mode = %s", (mode,)
    ).fetchall()
    times = np.full((len(communes), len(places)), np.inf)
    if pairs:
        place_pos = pd.Series(np.arange(len(places)), index=places["structure_id"])
        commune_pos = pd.Series(np.arange(len(communes)), index=communes["code"])
        frame = pd.DataFrame(pairs, columns=["structure_id", "commune_code", "seconds"])
        times[commune_pos.loc[frame["commune_code"]].to_numpy(), place_pos.loc[frame["structure_id"]].to_numpy()] = (
            frame["seconds"].to_numpy(dtype=float)
        )
    return communes, places, times


def read_nearest(conn: psycopg.Connection, mode: str) -> pd.DataFrame:
    """The stored per-commune nearest table of ``mode`` (``commune_code, category,
    seconds`` (NaN unreachable), ``structure_id, n_operators_30, fca``)."""
    rows = conn.execute(
        "SELECT commune_code, category, seconds, structure_id, n_operators_30, fca "
        "FROM commune_access WHERE mode = %s ORDER BY category, commune_code",
        (mode,),
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["commune_code", "category", "seconds", "structure_id", "n_operators_30", "fca"])
    frame["seconds"] = frame["seconds"].astype(float)
    return frame


# -------------------------------------------------------------------- zonings
def save_zoning(
    conn: psycopg.Connection,
    *,
    zoning_id: str,
    label: str,
    method: str,
    params: dict[str, Any],
    assignment: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    source: str | None = None,
    author: str | None = None,
    note: str | None = None,
    draft: bool = False,
    violations: Sequence[dict[str, Any]] = (),
) -> None:
    """Store a zoning (replacing the one with the same id), in one transaction.

    Parameters
    ----------
    assignment
        ``commune_code, zone_id``, one row per commune.
    zones
        ``zone_id, name, population, n_communes``, optional ``hub`` (structure_id) and
        ``explanation``, dissolved polygons in the Région's CRS.
    author, note
        Free text: who made this version, and why.
    draft
        True for a zoning stored although it breaks constraints (``violations``: dicts
        ``constraint, zone_id, message``); every list of zonings labels it « brouillon ».
    """
    srid = region_srid(conn)
    try:
        with conn.transaction():
            conn.execute("DELETE FROM zoning WHERE zoning_id = %s", (zoning_id,))
            conn.execute(
                "INSERT INTO zoning (zoning_id, label, method, params, source, author, note, draft, violations) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    zoning_id,
                    label,
                    method,
                    Jsonb(jsonable(params)),
                    source,
                    author,
                    note,
                    draft,
                    Jsonb(jsonable(list(violations))),
                ),
            )
            hubs = zones["hub"] if "hub" in zones.columns else pd.Series([None] * len(zones))
            explanations = zones["explanation"] if "explanation" in zones.columns else pd.Series([None] * len(zones))
            copy_rows(
                conn,
                "zone",
                ["zoning_id", "zone_id", "name", "hub_structure_id", "population", "n_communes", "explanation", "geom"],
                zip(
                    [zoning_id] * len(zones),
                    zones["zone_id"].astype(str),
                    zones["name"].astype(str),
                    [None if pd.isna(h) else h for h in hubs],
                    zones["population"].astype("int64"),
                    zones["n_communes"].astype("int64"),
                    [None if pd.isna(e) else e for e in explanations],
                    ewkb_hex(zones.geometry, srid, multi=True),
                    strict=True,
                ),
            )
            copy_rows(
                conn,
                "zone_commune",
                ["zoning_id", "commune_code", "zone_id"],
                zip(
                    [zoning_id] * len(assignment),
                    assignment["commune_code"].astype(str),
                    assignment["zone_id"].astype(str),
                    strict=True,
                ),
            )
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except psycopg.errors.IntegrityError as exc:
        msg = f"zoning {zoning_id!r} does not match the stored communes or places, nothing was written: {exc.diag.message_primary}"
        raise StoreError(msg) from exc


def read_assignment(conn: psycopg.Connection, zoning: str) -> pd.DataFrame:
    """``commune_code, zone_id`` of a stored zoning, or of an official level
    (:data:`OFFICIAL_LEVELS`)."""
    if zoning in INSEE_LEVELS:
        rows = conn.execute(
            # A commune the file leaves out is a zone of its own, as a commune outside any EPCI.
            "SELECT c.code, coalesce(o.zone_id, 'sans-' || c.code) FROM commune c "
            "LEFT JOIN official_zone o ON o.commune_code = c.code AND o.level = %s ORDER BY c.code",
            (zoning,),
        ).fetchall()
        if not conn.execute("SELECT 1 FROM official_zone WHERE level = %s LIMIT 1", (zoning,)).fetchone():
            msg = (
                f"le zonage officiel {zoning} n'est pas chargé : le nommer dans atlas.toml "
                "([territories] zonages) puis relancer atlas load"
            )
            raise StoreError(msg)
    elif zoning in OFFICIAL_LEVELS:
        rows = conn.execute(
            # A commune outside any EPCI (three islands in Bretagne) is a zone of its own.
            psycopg.sql.SQL("SELECT code, coalesce({}, 'sans-' || code) FROM commune ORDER BY code").format(
                psycopg.sql.Identifier(zoning)
            )
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT commune_code, zone_id FROM zone_commune WHERE zoning_id = %s ORDER BY commune_code", (zoning,)
        ).fetchall()
        if not rows:
            stored = ", ".join(z["zoning_id"] for z in read.zonings(conn)) or "aucun"
            msg = f"pas de zonage {zoning!r} (enregistrés : {stored} ; officiels : {', '.join(OFFICIAL_LEVELS)})"
            raise StoreError(msg)
    return pd.DataFrame(rows, columns=["commune_code", "zone_id"])


def zone_names(conn: psycopg.Connection, zoning: str) -> dict[str, str]:
    """Zone id -> French name of a stored zoning or an official level; a commune outside
    any zone of an official level (``sans-<code>``) is named after the commune."""
    if zoning in INSEE_LEVELS:
        rows = conn.execute("SELECT DISTINCT zone_id, name FROM official_zone WHERE level = %s", (zoning,)).fetchall()
    elif zoning in OFFICIAL_LEVELS:
        rows = conn.execute("SELECT code, name FROM territory WHERE level = %s", (zoning,)).fetchall()
    else:
        rows = conn.execute("SELECT zone_id, name FROM zone WHERE zoning_id = %s", (zoning,)).fetchall()
    names = {str(z): str(n) for z, n in rows}
    for code, name in conn.execute("SELECT code, name FROM commune").fetchall():
        names.setdefault(f"sans-{code}", f"{name} (hors zonage)")
    return names


def zone_columns(conn: psycopg.Connection) -> pd.DataFrame:
    """One column ``zone:<zoning_id>`` per stored zoning, indexed by commune code."""
    rows = conn.execute("SELECT commune_code, zoning_id, zone_id FROM zone_commune").fetchall()
    if not rows:
        return pd.DataFrame(index=pd.Index([], name="code"))
    frame = pd.DataFrame(rows, columns=["code", "zoning_id", "zone_id"])
    wide = frame.pivot(index="code", columns="zoning_id", values="zone_id")
    wide.columns = [f"zone:{z}" for z in wide.columns]
    return wide


def replace_level_indicators(
    conn: psycopg.Connection, *, level: str, mode: str, indicators: pd.DataFrame, approximate: bool
) -> int:
    """Replace the indicators of one level (e.g. ``zone:<id>``) for one mode."""
    with conn.transaction():
        conn.execute("DELETE FROM access_indicator WHERE level = %s AND mode = %s", (level, mode))
        copy_indicators(conn, indicators, mode, approximate)
    return len(indicators)


# ----------------------------------------------------------------------- gaps
def replace_gaps(conn: psycopg.Connection, *, mode: str, gaps: pd.DataFrame, approximate: bool) -> int:
    """Replace the gaps of ``mode``: ``kind, category, commune_code, seconds, threshold_s,
    population`` rows."""
    with conn.transaction():
        conn.execute("DELETE FROM gap WHERE mode = %s", (mode,))
        copy_rows(
            conn,
            "gap",
            ["kind", "mode", "category", "commune_code", "seconds", "threshold_s", "population", "approximate"],
            (
                (
                    r.kind,
                    mode,
                    r.category,
                    r.commune_code,
                    None if not np.isfinite(r.seconds) else float(r.seconds),
                    float(r.threshold_s),
                    int(r.population),
                    approximate,
                )
                for r in gaps.itertuples(index=False)
            ),
        )
    return len(gaps)


# ------------------------------------------------------------------ scenarios
def save_scenario(
    conn: psycopg.Connection,
    *,
    scenario_id: str,
    label: str,
    method: str,
    mode: str,
    category: str,
    params: dict[str, Any],
    summary: dict[str, Any],
    sites: Sequence[dict[str, Any]],
    approximate: bool,
    zones: gpd.GeoDataFrame | None = None,
    author: str | None = None,
    note: str | None = None,
) -> None:
    """Store a what-if scenario (replacing one with the same id), in one transaction.

    ``sites``: dicts with ``action`` (add/close), ``commune_code`` or ``structure_id``,
    optional ``population_gained``, ``name``, ``cost``, ``capacity``. ``zones``: the
    per-zone effect (:data:`SCENARIO_ZONE_COLUMNS` and polygons in the Région's CRS).
    """
    srid = region_srid(conn)
    with conn.transaction():
        conn.execute("DELETE FROM scenario WHERE scenario_id = %s", (scenario_id,))
        conn.execute(
            "INSERT INTO scenario (scenario_id, label, method, mode, category, params, summary, approximate, "
            "author, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                scenario_id,
                label,
                method,
                mode,
                category,
                Jsonb(jsonable(params)),
                Jsonb(jsonable(summary)),
                approximate,
                author,
                note,
            ),
        )
        for rank, site in enumerate(sites, start=1):
            conn.execute(
                "INSERT INTO scenario_site (scenario_id, rank, action, commune_code, structure_id, population_gained, "
                "name, cost, capacity) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    scenario_id,
                    rank,
                    site["action"],
                    site.get("commune_code"),
                    site.get("structure_id"),
                    None if site.get("population_gained") is None else int(site["population_gained"]),
                    site.get("name"),
                    site.get("cost"),
                    site.get("capacity"),
                ),
            )
        # names frozen with the sites: the scenario outlives the communes and places it names
        conn.execute(
            "UPDATE scenario_site t SET commune_name = c.name FROM commune c "
            "WHERE t.scenario_id = %s AND c.code = t.commune_code",
            (scenario_id,),
        )
        conn.execute(
            "UPDATE scenario_site t SET structure_name = s.name FROM structure s "
            "WHERE t.scenario_id = %s AND s.structure_id = t.structure_id",
            (scenario_id,),
        )
        if zones is not None and len(zones):
            copy_rows(
                conn,
                "scenario_zone",
                ["scenario_id", *SCENARIO_ZONE_COLUMNS, "geom"],
                zip(
                    [scenario_id] * len(zones),
                    *([_sql_value(v) for v in zones[column]] for column in SCENARIO_ZONE_COLUMNS),
                    ewkb_hex(zones.geometry, srid, multi=True),
                    strict=True,
                ),
            )


def _sql_value(value: Any) -> Any:
    """A numpy / pandas scalar as psycopg writes it (NaN and infinity as NULL)."""
    if value is None or (isinstance(value, float | np.floating) and not np.isfinite(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def scenario_zone_effects(conn: psycopg.Connection, scenario_id: str) -> pd.DataFrame:
    """The per-zone effect of a stored scenario as a table (:func:`storage.read.scenario_zones`).

    Returns
    -------
    pandas.DataFrame
        :data:`SCENARIO_ZONE_COLUMNS` (times in seconds, NaN when no inhabitant of the zone
        reaches a place; shares 0–1; inhabitants) plus ``approximate``, ordered by zone id;
        empty when the scenario is unknown.
    """
    frame = pd.DataFrame(scenario_zones(conn, scenario_id), columns=[*SCENARIO_ZONE_COLUMNS, "approximate"])
    for column in ("mean_seconds_before", "mean_seconds_after", "share_within_before", "share_within_after"):
        frame[column] = frame[column].astype(float)
    return frame


__all__ = ["SCENARIO_ZONE_COLUMNS", "scenario", "scenario_zone_shapes", "scenario_zones", "scenarios"]
"""Scenario reads live in :mod:`storage.read` (the web app loads no pandas); re-exported here."""


def delete_scenario(conn: psycopg.Connection, scenario_id: str) -> bool:
    """Delete a stored scenario (its sites and zones with it); False when there was none."""
    with conn.transaction():
        return conn.execute("DELETE FROM scenario WHERE scenario_id = %s", (scenario_id,)).rowcount > 0
