"""JSON API under ``/api`` (documented in ``webapp/openapi.py``, served at ``/api/openapi.json``).

Every view validates its parameters (``webapp.params``: 400 with a JSON body naming the
parameter), reads with ``storage.read`` (bound parameters only) and serialises. Layers
are GeoJSON in WGS84 with geometries simplified server-side; every response involving
travel times says ``approximate``. Unknown parameters are refused, never ignored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from geo.analysis.finder import Search
from geo.analysis.inventory import COMPLETE_SHARE, INCOMPLETE_LABEL
from geo.french import APPROXIMATE_TIMES as APPROXIMATE_FR
from geo.vocabulary import MODES, is_commune_code
from storage import read
from webapp import finder, formats, params
from webapp.cache import cached
from webapp.db import connection
from webapp.labels import TIME_CLASSES
from webapp.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")

COMMUNE_TOLERANCE_M = 150.0
"""Simplification of commune polygons for the web (metres, ``ST_SimplifyPreserveTopology``)."""
TERRITORY_TOLERANCE_M = 250.0
ISOCHRONE_TOLERANCE_M = 250.0
LAYER_MAX_AGE_S = 300
STRUCTURE_CSV_COLUMNS = (
    "structure_id",
    "name",
    "partner_type",
    "partner_label",
    "receives_public",
    "address",
    "postcode",
    "commune_code",
    "commune_name",
    "missions",
    "publics",
    "site_format",
    "geocoding",
    "approximate_position",
    "opening_hours",
    "phone",
    "website",
    "source",
    "vintage",
    "lon",
    "lat",
)


def _format(allowed: tuple[str, ...]) -> str:
    return params.choice(request.args, "format", allowed, default=allowed[0]) or allowed[0]


def _category(conn: Any) -> str:
    """The ``category`` parameter: a computed category (``any`` by default)."""
    return _optional_category(conn) or "any"


def _optional_category(conn: Any) -> str | None:
    """The ``category`` parameter when given: a computed category."""
    codes = [c["code"] for c in cached(conn, read.access_categories)]
    return params.choice(request.args, "category", codes or ["any"])


def _incomplete_category(conn: Any, category: str) -> bool:
    """Whether the figures of a computed category are of an incomplete inventory."""
    return any(c["inventory_incomplete"] for c in cached(conn, read.access_categories) if c["code"] == category)


def _runs_json(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        mode: {
            "approximate": bool(run["approximate"]),
            "network": run["network"],
            "computed_at": run["computed_at"].isoformat(timespec="seconds"),
            "bound_minutes": None if run["bound_s"] is None else round(run["bound_s"] / 60),
        }
        for mode, run in runs.items()
    }


def _time_class(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    minutes = seconds / 60
    for index, (_low, high, _label) in enumerate(TIME_CLASSES):
        if high is None or minutes < high:
            return index
    return len(TIME_CLASSES) - 1


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health")
def health() -> ResponseReturnValue:
    """Liveness and database readiness."""
    with connection() as conn:
        summary = read.database_summary(conn)
    return jsonify(status="ok", database=summary)


@bp.get("/structures")
def structures() -> ResponseReturnValue:
    """Places of the network as GeoJSON points (WGS84) or CSV, filtered."""
    params.no_unknown(request.args, ("partner_type", "mission", "public", "day", "format"))
    fmt = _format(("geojson", "csv"))
    mission, public, day = params.mission(request.args), params.public(request.args), params.day(request.args, "day")
    with connection() as conn:
        types = [t["partner_type"] for t in cached(conn, read.partner_types)]
        partner_type = params.choice(request.args, "partner_type", types)
        rows = read.structures(conn, partner_type=partner_type, mission=mission, public=public, day=day)
    if fmt == "csv":
        return formats.csv_response(rows, STRUCTURE_CSV_COLUMNS, "lieux-spro.csv")
    keys = [c for c in STRUCTURE_CSV_COLUMNS if c not in ("structure_id", "lon", "lat")] + ["itinerant", "multisite"]
    features = (
        formats.feature(
            formats.point(row["lon"], row["lat"]),
            {**{k: row[k] for k in keys}, "opening_hours": dict(row["opening_hours"])},
            row["structure_id"],
        )
        for row in rows
    )
    return formats.geojson_response(formats.collection(features))


@bp.get("/nearest")
def nearest() -> ResponseReturnValue:
    """Nearest places by travel time from a commune or a WGS84 point (straight line beyond the bound).

    The hot path of the public finder: one SQL statement on a cache miss, none on a hit
    (``webapp.finder``), serialised with orjson, no template. Only the result is cached
    (identifiers and numbers, about 1 KB), not the 7.6 KB answer: the LRU then holds
    every search of a Région in a few megabytes, for 0.04 ms of serialisation per hit.
    """
    args = request.args
    params.no_unknown(args, NEAREST_PARAMETERS)
    code = params.commune_code(args)
    point = params.lat_lon(args)
    if (code is None) == (point is None):
        raise params.BadParameter("commune", "Indiquez soit « commune » (code INSEE), soit « lat » et « lon ».")
    mission, public = params.mission(args), params.public(args)
    day, mode, limit = params.day(args, "day"), params.mode(args), params.limit(args)
    outcome = finder.find(
        Search(mode=mode, limit=limit, mission=mission, public=public, day=day, code=code, point=point)
    )
    return _no_store(Response(formats.json_bytes(_nearest_body(outcome, mode)), mimetype="application/json"))


def _nearest_body(outcome: finder.Outcome, mode: str) -> dict[str, Any]:
    run = outcome.run
    if run is None:
        note = "Temps de trajet non calculés : lieux classés à vol d'oiseau."
    elif outcome.by_distance:
        note = (
            f"Au-delà de {round(run['bound_s'] / 60)} min, les lieux sont classés à vol d'oiseau "
            "(ranked_by = distance)."
        )
    else:
        note = "Lieux classés par temps de trajet, puis par identifiant à temps égal (jamais par organisme)."
    if run is not None and run["approximate"]:
        note += f" Temps APPROXIMATIFS ({APPROXIMATE_FR})."
    commune = outcome.origin.commune
    return {
        "commune": {k: commune[k] for k in ("code", "name", "postcodes", "departement")},
        "located_by": outcome.origin.located_by,
        "mode": mode,
        "times_available": run is not None,
        "approximate": bool(run["approximate"]) if run else False,
        "network": run["network"] if run else None,
        "bound_minutes": round(run["bound_s"] / 60) if run and run["bound_s"] else None,
        "note": note,
        "results": finder.api_results(outcome),
    }


NEAREST_PARAMETERS = ("commune", "lat", "lon", "mission", "public", "day", "mode", "limit")


@bp.get("/communes")
def communes() -> ResponseReturnValue:
    """Communes matching a name (accent- and case-insensitive) or a postcode."""
    params.no_unknown(request.args, ("q", "limit"))
    query = params.text(request.args, "q")
    if query is None or len(query) < 2:
        raise params.BadParameter("q", "« q » : au moins 2 caractères (nom de commune ou code postal).")
    limit = params.integer(request.args, "limit", default=10, minimum=1, maximum=params.MAX_LIMIT)
    with connection() as conn:
        rows = finder.matching_communes(conn, query, limit=limit)
    return _no_store(jsonify(communes=rows))


def _commune_or_404(conn: Any, code: str) -> dict[str, Any]:
    if not is_commune_code(code.upper()):
        raise params.BadParameter("code", "Code commune INSEE invalide (5 caractères, par exemple 35238).")
    found = read.commune_shape(conn, code.upper(), COMMUNE_TOLERANCE_M)
    if found is None:
        raise NotFound("Commune inconnue dans la Région chargée.")
    return found


@bp.get("/communes/<code>")
def commune(code: str) -> ResponseReturnValue:
    """One commune as a GeoJSON Feature (simplified polygon, WGS84)."""
    params.no_unknown(request.args, ())
    with connection() as conn:
        found = _commune_or_404(conn, code)
    geometry = found.pop("geometry")
    return formats.geojson_response(formats.feature(geometry, found, found["code"]))


@bp.get("/communes/<code>/access")
def commune_access(code: str) -> ResponseReturnValue:
    """Travel time to the nearest place of every category, per mode, from one commune."""
    params.no_unknown(request.args, ())
    with connection() as conn:
        found = _commune_or_404(conn, code)
        rows = read.commune_access(conn, found["code"])
        runs = cached(conn, read.access_runs)
    modes: dict[str, Any] = {}
    for mode, run in _runs_json(runs).items():
        modes[mode] = {**run, "categories": []}
    for row in rows:
        modes[row["mode"]]["categories"].append(
            {
                "category": row["category"],
                "label": row["category_label"],
                "seconds": None if row["seconds"] is None else round(row["seconds"]),
                "structure_id": row["structure_id"],
                "structure_name": row["structure_name"],
                "n_operators_30": row["n_operators_30"],
                "fca": row["fca"],
                "approximate": row["approximate"],
                "ferry": row["ferry"],
                "inventory_incomplete": row["inventory_incomplete"],
                "incomplete_types": row["incomplete_types"],
            }
        )
    del found["geometry"]
    return jsonify(
        commune=found,
        times_available=bool(runs),
        approximate=any(run["approximate"] for run in runs.values()),
        modes=modes,
    )


@bp.get("/categories")
def categories() -> ResponseReturnValue:
    """Categories of places with computed access, the runs (approximate or not) and isochrone limits."""
    params.no_unknown(request.args, ())
    with connection() as conn:
        rows = cached(conn, read.access_categories)
        runs = cached(conn, read.access_runs)
        minutes = cached(conn, read.isochrone_minutes)
    return jsonify(
        categories=rows,
        runs=_runs_json(runs),
        approximate=any(run["approximate"] for run in runs.values()),
        isochrone_minutes=minutes,
        time_classes=[{"min": low, "max": high, "label": label} for low, high, label in TIME_CLASSES],
    )


def _shapes_by_code(conn: Any, tolerance_m: float) -> dict[str, dict[str, Any]]:
    """Every commune's simplified polygon (:func:`storage.read.commune_shapes`), by code."""
    return {row["code"]: row for row in read.commune_shapes(conn, tolerance_m)}


def _commune_shapes(conn: Any) -> dict[str, dict[str, Any]]:
    return cached(conn, _shapes_by_code, COMMUNE_TOLERANCE_M)


ACCESS_COLUMNS = (
    "code",
    "name",
    "population",
    "minutes",
    "structure_id",
    "structure_name",
    "n_operators_30",
    "fca",
    "approximate",
    "ferry",
    "inventory_incomplete",
)
"""Columns of the per-commune travel times (``/api/access/communes``), CSV and GeoJSON alike."""


@bp.get("/access/communes")
def access_communes() -> ResponseReturnValue:
    """Travel time to the nearest place of a category from every commune (choropleth), GeoJSON or CSV."""
    params.no_unknown(request.args, ("mode", "category", "format"))
    mode, fmt = params.mode(request.args), _format(("geojson", "csv"))
    with connection() as conn:
        category = _category(conn)
        rows = read.commune_values(conn, mode, category)
        runs = cached(conn, read.access_runs)
        shapes = _commune_shapes(conn) if fmt == "geojson" else {}
        incomplete = _incomplete_category(conn, category)
    approximate = bool(runs[mode]["approximate"]) if mode in runs else False
    for row in rows:
        row["minutes"] = None if row["seconds"] is None else round(row["seconds"] / 60, 1)
        row["class"] = _time_class(row["seconds"])
        row["inventory_incomplete"] = incomplete
    if fmt == "csv":
        return formats.csv_response(rows, ACCESS_COLUMNS, f"temps-{mode}-{category.replace(':', '-')}.csv")
    features = []
    for row in rows:
        shape = shapes.get(row["code"])
        if shape is None:
            continue
        props = {k: row[k] for k in (*ACCESS_COLUMNS, "class")}  # the map colours by class
        features.append(formats.feature(shape["geometry"], props, row["code"]))
    return formats.geojson_response(
        formats.collection(
            features,
            mode=mode,
            category=category,
            approximate=approximate,
            inventory_incomplete=incomplete,
            times_available=mode in runs,
            classes=[{"min": low, "max": high, "label": label} for low, high, label in TIME_CLASSES],
        )
    )


@bp.get("/indicators")
def indicators() -> ResponseReturnValue:
    """Accessibility indicators of every territory (or zone) of a level, JSON or CSV."""
    params.no_unknown(request.args, ("level", "mode", "category", "format"))
    mode, fmt = params.mode(request.args), _format(("json", "csv"))
    with connection() as conn:
        levels = [row["level"] for row in cached(conn, read.indicator_levels)]
        level = params.choice(request.args, "level", levels or list(read.LEVELS), default="region") or "region"
        category = _category(conn)
        rows = read.indicators(conn, level=level, mode=mode, category=category)
        runs = cached(conn, read.access_runs)
        incomplete = _incomplete_category(conn, category)
    if fmt == "csv":
        return formats.csv_response(rows, INDICATOR_COLUMNS, f"indicateurs-{level.replace(':', '-')}-{mode}.csv")
    return jsonify(
        level=level,
        mode=mode,
        category=category,
        approximate=bool(runs[mode]["approximate"]) if mode in runs else False,
        times_available=mode in runs,
        inventory_incomplete=incomplete,
        indicators=rows,
    )


@bp.get("/inventory")
def inventory() -> ResponseReturnValue:
    """How complete the inventory of places is, per partner type, and the rows the last load rejected."""
    params.no_unknown(request.args, ())
    with connection() as conn:
        types = [entry.as_dict() for entry in cached(conn, read.inventory)]
        rejected = cached(conn, read.last_load_rejections)
    return jsonify(
        complete_share=COMPLETE_SHARE,
        incomplete_label=INCOMPLETE_LABEL,
        partner_types=types,
        rejected_rows=len(rejected),
    )


INDICATOR_COLUMNS = (
    "level",
    "code",
    "name",
    "mode",
    "category",
    "n_communes",
    "population",
    "population_unreached",
    "mean_min",
    "median_min",
    "share_10",
    "share_20",
    "share_30",
    "share_45",
    "mean_operators_30",
    "mean_fca",
    "approximate",
    "inventory_incomplete",
    "incomplete_types",
)


@bp.get("/territories")
def territories() -> ResponseReturnValue:
    """Région, départements, arrondissements or EPCI as simplified GeoJSON polygons (WGS84)."""
    params.no_unknown(request.args, ("level",))
    level = params.choice(request.args, "level", read.LEVELS, default="departement") or "departement"
    with connection() as conn:
        rows = cached(conn, read.territory_shapes, level, TERRITORY_TOLERANCE_M)
    features = (
        formats.feature(r["geometry"], {k: r[k] for k in ("code", "name", "population", "n_communes")}, r["code"])
        for r in rows
    )
    return formats.geojson_response(formats.collection(features, level=level), max_age=LAYER_MAX_AGE_S)


@bp.get("/zonings")
def zonings() -> ResponseReturnValue:
    """Stored zonings."""
    params.no_unknown(request.args, ())
    with connection() as conn:
        rows = cached(conn, read.zonings)
    return jsonify(zonings=rows)


@bp.get("/zonings/<zoning_id>")
def zoning(zoning_id: str) -> ResponseReturnValue:
    """Zones of one zoning as simplified GeoJSON polygons (WGS84)."""
    params.no_unknown(request.args, ())
    with connection() as conn:
        known = {z["zoning_id"]: z for z in cached(conn, read.zonings)}
        if zoning_id not in known:
            raise NotFound("Zonage inconnu.")
        rows = cached(conn, read.zone_shapes, zoning_id, TERRITORY_TOLERANCE_M)
    keys = ("zone_id", "name", "population", "n_communes", "hub_structure_id", "hub_name", "explanation")
    features = (formats.feature(r["geometry"], {k: r[k] for k in keys}, r["zone_id"]) for r in rows)
    return formats.geojson_response(
        formats.collection(
            features,
            zoning_id=zoning_id,
            label=known[zoning_id]["label"],
            method=known[zoning_id]["method"],
        )
    )


@bp.get("/isochrones")
def isochrones() -> ResponseReturnValue:
    """Areas reached from each place within a number of minutes (simplified GeoJSON, WGS84)."""
    params.no_unknown(request.args, ("mode", "minutes", "structure_id"))
    mode = params.mode(request.args)
    minutes = params.integer(request.args, "minutes", default=30, minimum=1, maximum=240)
    structure_id = params.text(request.args, "structure_id", max_length=200)
    with connection() as conn:
        available = cached(conn, read.isochrone_minutes)
        if available and minutes not in available:
            raise params.BadParameter("minutes", f"« minutes » : valeurs disponibles {available}.")
        runs = cached(conn, read.access_runs)
        rows = cached(
            conn,
            read.isochrone_shapes,
            mode=mode,
            minutes=minutes,
            structure_id=structure_id,
            tolerance_m=ISOCHRONE_TOLERANCE_M,
        )
    keys = ("structure_id", "name", "partner_type", "mode", "minutes", "approximate")
    features = (formats.feature(r["geometry"], {k: r[k] for k in keys}, r["structure_id"]) for r in rows)
    return formats.geojson_response(
        formats.collection(
            features,
            mode=mode,
            minutes=minutes,
            approximate=bool(runs[mode]["approximate"]) if mode in runs else False,
            times_available=mode in runs,
        )
    )


GAP_COLUMNS = (
    "kind",
    "mode",
    "category",
    "commune_code",
    "commune_name",
    "departement",
    "minutes",
    "threshold_minutes",
    "population",
    "approximate",
    "inventory_incomplete",
    "incomplete_types",
)


@bp.get("/gaps")
def gaps() -> ResponseReturnValue:
    """White zones (communes beyond the threshold) and no-choice communes, GeoJSON or CSV."""
    params.no_unknown(request.args, ("kind", "mode", "category", "format"))
    kind = params.choice(request.args, "kind", ("white_zone", "no_choice"))
    mode = params.choice(request.args, "mode", MODES)
    fmt = _format(("geojson", "csv"))
    with connection() as conn:
        category = _optional_category(conn)
        rows = read.gaps(conn, kind=kind, mode=mode, category=category)
        shapes = _commune_shapes(conn) if fmt == "geojson" else {}
    for row in rows:
        row["minutes"] = None if row["seconds"] is None else round(row["seconds"] / 60, 1)
        row["threshold_minutes"] = round(row["threshold_s"] / 60, 1)
    if fmt == "csv":
        return formats.csv_response(rows, GAP_COLUMNS, "zones-blanches.csv")
    features = (
        formats.feature(
            shapes[r["commune_code"]]["geometry"] if r["commune_code"] in shapes else None,
            {k: r[k] for k in (*GAP_COLUMNS, "category_label")},
            f"{r['kind']}:{r['mode']}:{r['category']}:{r['commune_code']}",
        )
        for r in rows
    )
    return formats.geojson_response(
        formats.collection(
            features,
            approximate=any(r["approximate"] for r in rows),
        )
    )


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())


@bp.get("/docs")
def docs() -> ResponseReturnValue:
    """A plain HTML page listing the endpoints (generated from the OpenAPI document, no CDN)."""
    return render_template("api/docs.html", doc=openapi_document())
