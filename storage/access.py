"""Road networks and accessibility results in PostGIS.

``save_network`` stores a :class:`~geo.network.graph.RoadGraph` (its ``.npz`` arrays, stored
uncompressed, in a ``bytea`` column, replacing the graph of its mode); ``replace_access`` replaces every
result of one mode in one transaction. The region frames the engine needs
(``read_communes``, ``read_places``) are read here so that the core never sees SQL.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from geo.network.graph import RoadGraph, load_npz
from storage.common import StoreError, copy_rows, ewkb_hex, read_frame, region_crs, region_srid

# ------------------------------------------------------------------ networks
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
"""Header of PostgreSQL's binary COPY format (signature, flags, no header extension)."""
_CHUNK = 1 << 24  # bytes per write or read of a graph's .npz stream


def save_network(conn: psycopg.Connection, graph: RoadGraph, *, source: str, source_sha256: str | None) -> None:
    """Store ``graph`` as the network of its mode (``drive`` or ``walk``), replacing the old one.

    The accessibility results of that mode are removed in the same transaction: they
    described the previous network. The graph's ``.npz`` (uncompressed: 210 MB for a
    Région's walk graph) is written to a temporary file and streamed to PostgreSQL with
    ``COPY ... (FORMAT BINARY)`` in 16 MB chunks, so that its bytes are never held in memory.
    """
    mode = graph.mode
    crs = region_crs(conn)
    if crs != graph.crs:
        msg = f"the graph is in {graph.crs}, the Région's data in {crs}"
        raise StoreError(msg)
    with tempfile.TemporaryFile() as spool:
        graph.write_npz(spool)
        size = spool.tell()
        spool.seek(0)
        fields = [
            mode.encode(),
            b"\x01" if graph.approximate else b"\x00",
            source.encode(),
            None if source_sha256 is None else source_sha256.encode(),
            graph.crs.encode(),
            struct.pack("!i", graph.n_nodes),
            struct.pack("!i", graph.n_edges),
        ]
        head = _COPY_SIGNATURE + struct.pack("!h", len(fields) + 1)
        for value in fields:
            head += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("DELETE FROM access_run WHERE mode = %s", (mode,))
            cur.execute("DELETE FROM network WHERE mode = %s", (mode,))
            with cur.copy(
                "COPY network (mode, approximate, source, source_sha256, crs, n_nodes, n_edges, graph) "
                "FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.write(head + struct.pack("!i", size))
                while chunk := spool.read(_CHUNK):
                    copy.write(chunk)
                copy.write(struct.pack("!h", -1))


def load_network(conn: psycopg.Connection, mode: str) -> tuple[RoadGraph, dict[str, Any]] | None:
    """The stored graph of ``mode`` and its metadata, or None when there is none.

    The graph's bytes are read in 16 MB slices (``substring`` of the uncompressed,
    ``STORAGE EXTERNAL`` column reads only the TOAST chunks it needs) to a temporary file
    and the arrays are read from there, so that the bytes are not held in memory next to
    the arrays. Not one ``COPY ... TO STDOUT``: the row is then one protocol message, which
    libpq buffers whole and keeps for the life of the connection (205 MB for a Région's
    walk graph, benchmarks/README.md). Every slice is read from the same row version
    (``xmin``): a graph replaced meanwhile fails with :class:`StoreError`.
    """
    row = conn.execute(
        "SELECT source, source_sha256, approximate, built_at, octet_length(graph), xmin::text "
        "FROM network WHERE mode = %s",
        (mode,),
    ).fetchone()
    if row is None:
        return None
    size, version = row[4], row[5]
    changed = f"the stored {mode} network has no graph (it changed while being read?): run atlas network load again"
    if size is None:
        raise StoreError(changed)
    with tempfile.TemporaryFile() as spool, conn.cursor(binary=True) as cur:
        for start in range(0, size, _CHUNK):
            part = cur.execute(
                "SELECT substring(graph FROM %s FOR %s) FROM network WHERE mode = %s AND xmin::text = %s",
                (start + 1, _CHUNK, mode, version),
            ).fetchone()
            if part is None or part[0] is None:
                raise StoreError(changed)
            spool.write(part[0])
            del part
        if spool.tell() != size:
            raise StoreError(changed)
        spool.seek(0)
        graph = load_npz(spool)
    return graph, {"source": row[0], "source_sha256": row[1], "approximate": row[2], "built_at": row[3]}


def networks(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Stored networks (without their arrays), by mode."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            """
            SELECT mode, approximate, source, n_nodes, n_edges, built_at, octet_length(graph) AS bytes
              FROM network ORDER BY mode
            """
        ).fetchall()


# ------------------------------------------------------------ region frames
def read_communes(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    """Communes (``code, name, departement, arrondissement, epci, population, region``)
    with their polygons in the Région's CRS."""
    communes: gpd.GeoDataFrame = read_frame(
        conn,
        """
        SELECT code, name, departement, arrondissement, epci, population,
               (SELECT code FROM territory WHERE level = 'region') AS region, ST_AsBinary(geom) AS wkb
          FROM commune ORDER BY code
        """,
        crs=region_crs(conn),
    )
    return communes


def read_places(conn: psycopg.Connection) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The places receiving the public (their own flag, else their partner type's), and the
    partner-type labels.

    Returns
    -------
    places
        ``structure_id, name, partner_type, missions, publics, site_format, geocoding,
        commune_code`` and Points in the Région's CRS, ordered by ``structure_id``.
    labels
        Partner type -> French label.
    """
    places: gpd.GeoDataFrame = read_frame(
        conn,
        """
        SELECT s.structure_id, s.name, s.partner_type, s.missions, s.publics, s.site_format,
               s.geocoding, s.commune_code, ST_AsBinary(s.geom) AS wkb
          FROM structure s JOIN partner_type p USING (partner_type)
         WHERE coalesce(s.receives_public, p.receives_public) ORDER BY s.structure_id
        """,
        crs=region_crs(conn),
    )
    labels: dict[str, str] = dict(conn.execute("SELECT partner_type, label FROM partner_type").fetchall())
    return places, labels


# ------------------------------------------------------------------ results
def replace_access(
    conn: psycopg.Connection,
    *,
    result: Any,
    indicators: pd.DataFrame,
    isochrones: gpd.GeoDataFrame,
    network: str,
) -> dict[str, int]:
    """Replace every accessibility result of ``result.mode``, in one transaction.

    Parameters
    ----------
    result
        A :class:`geo.analysis.access.AccessResult`.
    indicators
        :func:`geo.analysis.access.summarise_levels` of the result.
    isochrones
        ``structure_id, minutes`` and polygons in the Région's CRS.
    network
        Description of the network used (file name or "approximate").

    Returns
    -------
    dict
        Row counts written per table.
    """
    srid = region_srid(conn)
    mode, approximate = result.mode, bool(result.approximate)
    counts = {
        "communes": int(result.origins.shape[0]),
        "categories": int(result.categories.shape[0]),
        "commune_access": int(result.nearest.shape[0]),
        "commune_structure_time": int(result.od.shape[0]),
        "access_indicator": int(indicators.shape[0]),
        "isochrone": int(isochrones.shape[0]),
    }
    try:
        with conn.transaction():
            conn.execute("DELETE FROM access_run WHERE mode = %s", (mode,))
            conn.execute(
                "INSERT INTO access_run (mode, approximate, network, params, counts) VALUES (%s, %s, %s, %s, %s)",
                (mode, approximate, network, Jsonb(result.params), Jsonb(counts)),
            )
            _upsert_categories(conn, result.categories)
            origins = result.origins
            copy_rows(
                conn,
                "commune_origin",
                ["commune_code", "mode", "method", "snap_m", "off_network", "geom"],
                zip(
                    origins["code"],
                    [mode] * len(origins),
                    origins["origin_method"],
                    origins["snap_m"].astype(float),
                    origins["off_network"].astype(bool),
                    ewkb_hex(origins.geometry, srid, multi=False),
                    strict=True,
                ),
            )
            nearest = result.nearest
            copy_rows(
                conn,
                "commune_access",
                [
                    "commune_code",
                    "mode",
                    "category",
                    "seconds",
                    "structure_id",
                    "n_operators_30",
                    "fca",
                    "approximate",
                    "ferry",
                ],
                (
                    (
                        row.commune_code,
                        mode,
                        row.category,
                        None if pd.isna(row.seconds) else float(row.seconds),
                        None if pd.isna(row.seconds) else row.structure_id,
                        int(row.n_operators_30),
                        float(row.fca),
                        approximate,
                        bool(getattr(row, "ferry", False)) and not pd.isna(row.seconds),
                    )
                    for row in nearest.itertuples(index=False)
                ),
            )
            od = result.od
            ferry = od["ferry"].astype(bool) if "ferry" in od else [False] * len(od)
            copy_rows(
                conn,
                "commune_structure_time",
                ["commune_code", "mode", "structure_id", "seconds", "ferry"],
                zip(
                    od["commune_code"],
                    [mode] * len(od),
                    od["structure_id"],
                    od["seconds"].astype(float),
                    ferry,
                    strict=True,
                ),
            )
            copy_indicators(conn, indicators, mode, approximate)
            copy_rows(
                conn,
                "isochrone",
                ["structure_id", "mode", "minutes", "approximate", "geom"],
                zip(
                    isochrones["structure_id"],
                    [mode] * len(isochrones),
                    isochrones["minutes"].astype(int),
                    [approximate] * len(isochrones),
                    ewkb_hex(isochrones.geometry, srid, multi=True),
                    strict=True,
                ),
            )
            conn.execute(
                "DELETE FROM access_category c WHERE NOT EXISTS "
                "(SELECT 1 FROM commune_access a WHERE a.category = c.code)"
            )
    except psycopg.errors.IntegrityError as exc:
        msg = f"the results do not match the stored data, nothing was written: {exc.diag.message_primary}"
        raise StoreError(msg) from exc
    return counts


def _upsert_categories(conn: psycopg.Connection, categories: pd.DataFrame) -> None:
    """Store the categories (with their ``incomplete_types`` when the frame has them, see
    :func:`geo.analysis.inventory.with_incomplete_types`)."""
    incomplete = categories["incomplete_types"] if "incomplete_types" in categories else [[]] * len(categories)
    for order, (row, types) in enumerate(zip(categories.itertuples(index=False), incomplete, strict=True)):
        conn.execute(
            """
            INSERT INTO access_category (code, kind, key, fixed_only, label, n_places, sort_order, incomplete_types)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (code) DO UPDATE SET label = EXCLUDED.label, n_places = EXCLUDED.n_places,
                sort_order = EXCLUDED.sort_order, incomplete_types = EXCLUDED.incomplete_types
            """,
            (row.code, row.kind, row.key, bool(row.fixed_only), row.label, int(row.n_places), order, list(types)),
        )


_INTEGER_COLUMNS = ("n_communes", "population", "population_unreached")
_INDICATOR_COLUMNS = (
    "n_communes",
    "population",
    "population_unreached",
    "mean_min",
    "median_min",
    "share_10",
    "share_20",
    "share_30",
    "share_45",
)


def copy_indicators(conn: psycopg.Connection, indicators: pd.DataFrame, mode: str, approximate: bool) -> None:
    def value(v: Any) -> Any:
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return None
        return v.item() if isinstance(v, np.generic) else v

    rows = (
        (
            r["level"],
            r["code"],
            mode,
            r["category"],
            *(int(round(r[c])) for c in _INTEGER_COLUMNS),
            *(value(r[c]) for c in _INDICATOR_COLUMNS[len(_INTEGER_COLUMNS) :]),
            value(r.get("n_operators_30")),
            value(r.get("fca")),
            approximate,
        )
        for r in indicators.to_dict("records")
    )
    copy_rows(
        conn,
        "access_indicator",
        ["level", "code", "mode", "category", *_INDICATOR_COLUMNS, "mean_operators_30", "mean_fca", "approximate"],
        rows,
    )


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


__all__ = [
    "file_sha256",
    "load_network",
    "networks",
    "read_communes",
    "read_places",
    "replace_access",
    "save_network",
]
