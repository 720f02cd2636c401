"""Planners' pages: the map (``/carte``), the commission tables (``/diagnostic``), the
what-if scenarios (``/diagnostic/scenarios/<id>``) and the yearly report
(``/diagnostic/rapport/<year>``).

The map's data come from the JSON API (``webapp.api``); these views only render the
controls and the text alternatives.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from geo.french import MODE_PHRASES
from geo.vocabulary import MODES
from storage import read
from storage import snapshot as year_snapshots
from storage.common import StoreError
from webapp import params
from webapp.cache import cached
from webapp.db import snapshot
from webapp.labels import level_label
from webapp.layers import published_layer
from webapp.reporting import NoReportError, charts_for, incomplete_of, inventory_context, report_context

bp = Blueprint("planning", __name__)

FIRST_YEAR, LAST_YEAR = 2000, 2100


@bp.get("/carte")
def map_page() -> ResponseReturnValue:
    """The planners' Leaflet map (layers toggled by a form beside it)."""
    with snapshot() as conn:
        context = {
            "partner_types": cached(conn, read.partner_types),
            "categories": cached(conn, read.access_categories),
            "runs": cached(conn, read.access_runs),
            "isochrone_minutes": cached(conn, read.isochrone_minutes),
            "zonings": cached(conn, read.zonings),
            "gap_summary": cached(conn, read.gap_summary),
            "scenarios": read.scenarios(conn),  # not cached: the data version does not follow scenarios
        }
    return render_template("planning/carte.html", tile_url=current_app.config.get("TILE_URL"), **context)


@bp.get("/carte/carte-atlas-spro.html")
def map_file() -> ResponseReturnValue:
    """The shareable map: one self-contained HTML file (folium, Leaflet inlined, no basemap),
    built once per data version, offered as a download."""
    from webapp.mapfile import FILENAME, map_file_bytes

    with snapshot() as conn:
        try:
            body = cached(conn, map_file_bytes, check=True)
        except StoreError:
            abort(404, "Aucune donnée chargée : pas de carte à télécharger.")
    response = Response(body, mimetype="text/html")
    response.headers["Content-Disposition"] = f'attachment; filename="{FILENAME}"'
    return response


@bp.get("/diagnostic")
def diagnostic() -> ResponseReturnValue:
    """Indicators of a territory level for a mode and category: table, charts, CSV link."""
    mode = params.mode(request.args)
    with snapshot() as conn:
        levels = cached(conn, read.indicator_levels)
        categories = cached(conn, read.access_categories)
        level = (
            params.choice(request.args, "level", [lv["level"] for lv in levels] or read.LEVELS, default="departement")
            or "departement"
        )
        category = (
            params.choice(request.args, "category", [c["code"] for c in categories] or ["any"], default="any") or "any"
        )
        rows = read.indicators(conn, level=level, mode=mode, category=category)
        runs = cached(conn, read.access_runs)
        gap_summary = cached(conn, read.gap_summary)
        overview = cached(conn, read.region_overview)
        inventory = inventory_context(conn)
        report_years = year_snapshots.snapshot_years(conn)
        scenarios = read.scenarios(conn)
    labels = {lv["level"]: level_label(lv["level"], lv["zoning_label"]) for lv in levels}
    selected = next((c for c in categories if c["code"] == category), None)
    category_label = selected["label"] if selected else category
    subject = f"{category_label}, {MODE_PHRASES[mode]}"
    return render_template(
        "planning/diagnostic.html",
        levels=levels,
        level_labels=labels,
        level=level,
        level_name=labels.get(level, level_label(level)),
        categories=categories,
        category=category,
        category_label=category_label,
        mode=mode,
        modes=MODES,
        rows=rows,
        runs=runs,
        run=runs.get(mode),
        charts=charts_for(rows, subject=subject) if rows else [],
        gap_summary=gap_summary,
        overview=overview,
        report_year=report_years[0] if report_years else dt.date.today().year,
        report_years=report_years,
        incomplete=incomplete_of(selected, inventory["type_of"]),
        scenarios=scenarios,
        **inventory,
    )


@bp.get("/diagnostic/scenarios/<scenario_id>")
def scenario_page(scenario_id: str) -> ResponseReturnValue:
    """One stored what-if scenario: its sites, its overall effect and its effect per zone."""
    with snapshot() as conn:
        found = read.scenario(conn, scenario_id)
        if found is None:
            abort(404, "Scénario inconnu.")
        zones = read.scenario_zones(conn, scenario_id)
    threshold_s = (found["params"] or {}).get("threshold_s")
    return render_template(
        "planning/scenario.html",
        scenario=found,
        summary=found["summary"] or {},
        zones=zones,
        threshold_s=threshold_s,
    )


@bp.get("/diagnostic/rapport/<int:year>")
@published_layer
def report(year: int) -> ResponseReturnValue:
    """The yearly report for the CCREFP, from the snapshot of ``year``: accessible HTML that
    prints well; 404 « pas de bilan pour cette année » with the years available when none."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404, "Année hors de la période couverte.")
    with snapshot() as conn:
        try:
            context = report_context(conn, year)
        except NoReportError as exc:
            return render_template("planning/no_report.html", year=year, years=exc.years), 404
    return render_template("planning/rapport.html", standalone=False, **context)
