"""Public pages: the finder (usable without JavaScript) and "À propos".

Searched places and coordinates are never logged, no cookie is set, and search results
are sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue

from geo.analysis.finder import Search
from geo.vocabulary import MISSIONS, MODES, SEARCHABLE_PUBLICS, WEEKDAYS
from storage import read
from webapp import finder, params
from webapp.cache import cached
from webapp.db import connection, snapshot
from webapp.labels import MISSION_LABELS, MODE_LABELS, PUBLIC_LABELS
from webapp.reporting import lists_may_be_incomplete

bp = Blueprint("public", __name__)

RESULTS = 10
OPENING_LEVELS = ("exact", "prefix")
"""A single commune found at these levels of :func:`storage.read.search_communes` opens its
results directly; a single *similar* name is only proposed (« Vouliez-vous dire… »)."""


def _search_title(
    origin: finder.Origin | None,
    query: str | None,
    filters: dict[str, Any],
    search: dict[str, Any] | None = None,
    n_results: int = 0,
) -> str:
    """The page title, reflecting the search and how many answers it has (RGAA 8.6)."""
    if origin is None:
        if not query:
            return "Trouver un lieu d'orientation"
        n = search["total"] if search else 0
        count = "aucune commune" if not n else f"{n} commune{'s' if n > 1 else ''}"
        return f"Recherche « {query} » : {count}"
    parts = [
        f"{n_results} lieu{'x' if n_results > 1 else ''} proche{'s' if n_results > 1 else ''} de {origin.commune['name']}"
    ]
    if filters["mission"]:
        parts.append(MISSION_LABELS[filters["mission"]].lower())
    if filters["public"]:
        parts.append(PUBLIC_LABELS[filters["public"]])
    if filters["day"]:
        parts.append(f"ouverts le {filters['day']}")
    parts.append(MODE_LABELS[filters["mode"]])
    return ", ".join(parts)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Search form; communes matching the text; nearest places once a commune or a point is known."""
    args = request.args
    query = params.text(args, "q")
    code = params.commune_code(args)
    point = params.lat_lon(args)
    mode = params.mode(args)
    mission, public, day = params.mission(args), params.public(args), params.day(args, "jour")
    filters = {"mission": mission, "public": public, "day": day, "mode": mode}
    search: dict[str, Any] | None = None  # the communes matching « q »
    matched: dict[str, Any] | None = None
    origin = None
    found = None
    partial_lists = False
    with connection() as conn:
        # The home page checks the data version on every request (one 0.05 ms query), so that
        # it answers 503 as soon as the database is down, and keeps the overview (4 queries).
        overview = cached(conn, read.region_overview, check=True)
        if not code and not point and query:
            search = finder.matching_communes(conn, query)
            # A query naming exactly one commune opens its results (unless « choix=1 » asks for the list).
            if search["total"] == 1 and search["level"] in OPENING_LEVELS and args.get("choix") != "1":
                matched = search["communes"][0]
                code = matched["code"]
        if code or point:
            wanted = Search(
                mode=mode,
                limit=RESULTS,
                mission=mission,
                public=public,
                day=day,
                code=code,
                point=None if code else point,
            )
            outcome = finder.find(wanted, conn=conn)
            origin, found = outcome.origin, finder.page_results(outcome)
            partial_lists = cached(conn, lists_may_be_incomplete)
    page = render_template(
        "public/index.html",
        title=_search_title(origin, query, filters, search, found["n_results"] if found else 0),
        overview=overview,
        query=query or "",
        point=point,
        search=search,
        matched=matched,
        origin=origin,
        found=found,
        partial_lists=partial_lists,
        filters=filters,
        missions=MISSIONS,
        publics=SEARCHABLE_PUBLICS,
        weekdays=WEEKDAYS,
        modes=MODES,
        tile_url=current_app.config.get("TILE_URL"),
    )
    response = make_response(page)
    if query or code or point:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/a-propos")
def about() -> ResponseReturnValue:
    """Privacy, accessibility statement, neutrality rule, data sources, vintages and approximations."""
    with snapshot() as conn:
        overview = cached(conn, read.region_overview)
        runs = cached(conn, read.access_runs)
        zonings = cached(conn, read.zonings)
        inventory = cached(conn, read.inventory)
    return render_template("public/a_propos.html", overview=overview, runs=runs, zonings=zonings, inventory=inventory)
