"""Public pages: the Région overview and a commune search, usable without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from geo.schema import MISSIONS
from storage import read
from webapp.db import connection

bp = Blueprint("public", __name__)

QUERY_MAX_LENGTH = 80


@bp.get("/")
def index():  # noqa: ANN201
    """Overview of the network and the search form; results when a commune is chosen."""
    query = request.args.get("q", "").strip()
    code = request.args.get("commune", "").strip()
    mission = request.args.get("mission", "").strip() or None
    if len(query) > QUERY_MAX_LENGTH or len(code) > 5:
        abort(400, "Recherche trop longue.")
    if mission is not None and mission not in MISSIONS:
        abort(400, "Mission inconnue.")
    with connection() as conn:
        overview = read.region_overview(conn)
        matches = read.search_communes(conn, query) if query else []
        if not code and len(matches) == 1:
            code = matches[0]["code"]
        chosen = read.commune(conn, code) if code else None
        if code and chosen is None:
            abort(404, "Commune inconnue.")
        results = read.nearest_structures_from_commune(conn, code, mission=mission) if chosen else []
    return render_template(
        "public/index.html",
        overview=overview,
        query=query,
        matches=matches,
        chosen=chosen,
        results=results,
        mission=mission,
        missions=MISSIONS,
    )
