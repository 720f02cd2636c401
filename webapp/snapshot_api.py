"""JSON API of the yearly snapshots (``/api/snapshots``), documented in ``webapp/openapi.py``.

- ``GET /api/snapshots`` — the snapshots taken (current and replaced).
- ``GET /api/snapshots/<year>`` — a year's snapshot: what it rests on and its indicators
  (filtered by ``level``, ``mode``, ``category``; JSON or CSV).
- ``GET /api/snapshots/<year>/changes`` — the changes since the previous snapshot (JSON),
  or the communes entering or leaving a white zone (``format=geojson``, WGS84).

A year without snapshot answers 404 with the years that have one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from geo.vocabulary import MODES
from storage import snapshot
from webapp import formats, params
from webapp.api import INDICATOR_COLUMNS
from webapp.cache import cached
from webapp.db import connection
from webapp.snapshots import changes_between

bp = Blueprint("snapshot_api", __name__, url_prefix="/api/snapshots")

CHANGES_TOLERANCE_M = 150.0
"""Simplification of the changed communes' polygons for the web (metres)."""


def _meta(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "snapshot_id": row["snapshot_id"],
        "year": row["year"],
        "label": row["label"],
        "taken_at": row["taken_at"].isoformat(timespec="seconds"),
        "current": row["replaced_at"] is None,
        "replaced_at": row["replaced_at"].isoformat(timespec="seconds") if row["replaced_at"] else None,
        "replaced_by": row["replaced_by"],
        "report_url": url_for("planning.report", year=row["year"]) if row["replaced_at"] is None else None,
    }


def _no_snapshot(conn: Any, year: int) -> ResponseReturnValue:
    years = snapshot.snapshot_years(conn)
    return jsonify(error="not_found", message=f"Pas de bilan pour cette année ({year}).", years=years), 404


@bp.get("")
def snapshots() -> ResponseReturnValue:
    """Every snapshot, newest year first (replaced ones included, ``current`` false)."""
    params.no_unknown(request.args, ())
    with connection() as conn:
        rows = snapshot.snapshots(conn, include_replaced=True)
    return jsonify(
        years=sorted({r["year"] for r in rows if r["replaced_at"] is None}, reverse=True),
        snapshots=[{**_meta(r), "n_places": r["n_places"]} for r in rows],
    )


@bp.get("/<int:year>")
def snapshot_of_year(year: int) -> ResponseReturnValue:
    """A year's snapshot: runs, sources and hashes, approximations, inventory, white zones,
    zonings, scenarios, and its indicators (``level`` region by default)."""
    params.no_unknown(request.args, ("level", "mode", "category", "format"))
    fmt = params.choice(request.args, "format", ("json", "csv"), default="json") or "json"
    with connection() as conn:
        snap = snapshot.current(conn, year)
        if snap is None:
            return _no_snapshot(conn, year)
    parts = snap["parts"]
    indicators = parts.get("indicators") or []
    level = params.choice(
        request.args, "level", sorted({r["level"] for r in indicators}) or ["region"], default="region"
    )
    mode = params.choice(request.args, "mode", sorted({r["mode"] for r in indicators}) or ["drive"])
    category = params.choice(request.args, "category", sorted({r["category"] for r in indicators}) or ["any"])
    rows = [
        r
        for r in indicators
        if r["level"] == level
        and (mode is None or r["mode"] == mode)
        and (category is None or r["category"] == category)
    ]
    if fmt == "csv":
        return formats.csv_response(
            rows, INDICATOR_COLUMNS, f"bilan-{year}-indicateurs-{str(level).replace(':', '-')}.csv"
        )
    return jsonify(
        snapshot=_meta(snap),
        runs=parts.get("runs"),
        approximate=bool((parts.get("approximations") or {}).get("approximate_times")),
        approximations=parts.get("approximations"),
        sources=parts.get("sources"),
        inventory=parts.get("inventory"),
        rejected_rows=parts.get("rejected_rows"),
        gap_summary=parts.get("gap_summary"),
        zonings=parts.get("zonings"),
        scenarios=parts.get("scenarios"),
        level=level,
        mode=mode,
        category=category,
        indicators=rows,
    )


@bp.get("/<int:year>/changes")
def changes(year: int) -> ResponseReturnValue:
    """Changes since the previous snapshot: places, population shares, white zones."""
    params.no_unknown(request.args, ("format", "mode", "category"))
    fmt = params.choice(request.args, "format", ("json", "geojson"), default="json") or "json"
    mode = params.choice(request.args, "mode", MODES)
    category = params.text(request.args, "category")
    with connection() as conn:
        snap = snapshot.current(conn, year)
        if snap is None:
            return _no_snapshot(conn, year)
        if fmt == "geojson":
            from webapp.snapshots import changed_communes

            frame = changed_communes(conn, year)
            text = _changed_geojson(frame, mode=mode, category=category)
            return formats.geojson_response(text)
        context = cached(conn, changes_between, snap["snapshot_id"], snapshot.previous_id(conn, year))
    if context is None:
        return jsonify(snapshot=_meta(snap), previous=None, message="Premier bilan : pas de bilan antérieur.")
    white_zones = [
        w for w in context["white_zones"] if (mode is None or w["mode"] == mode) and category in (None, w["category"])
    ]
    access = [a for a in context["access"] if (mode is None or a["mode"] == mode) and category in (None, a["category"])]
    return jsonify(
        snapshot=_meta(snap),
        previous=_meta(context["previous"]),
        place_counts=context["place_counts"],
        places=context["places"],
        access=access,
        white_zones=white_zones,
    )


def _changed_geojson(frame: Any, *, mode: str | None, category: str | None) -> str:
    """The changed communes as a FeatureCollection in WGS84 (polygons simplified)."""
    import shapely

    if frame is None or frame.empty:
        return formats.collection([])
    if mode:
        frame = frame[frame["mode"] == mode]
    if category:
        frame = frame[frame["category"] == category]
    frame = frame[frame.geometry.notna()]
    simplified = frame.geometry.simplify(CHANGES_TOLERANCE_M, preserve_topology=True).to_crs(4326)
    columns = ["mode", "category", "commune_code", "name", "population", "change", "seconds_before", "seconds_after"]
    features = []
    for geometry, values in zip(simplified, frame[columns].to_dict("records"), strict=True):
        props = {k: (None if isinstance(v, float) and v != v else v) for k, v in values.items()}
        features.append(formats.feature(shapely.to_geojson(geometry, indent=None), props))
    return formats.collection(features)
