"""What the diagnostic pages and the yearly report show, gathered from ``storage.read``.

Shared by the ``/diagnostic/rapport/<year>`` view and ``scripts/report.py`` so that the
HTML page and the file written by ``atlas report`` are the same document.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from geo.analysis.inventory import TypeInventory
from geo.french import MODE_PHRASES
from geo.vocabulary import MAIN_CATEGORIES
from storage import read
from webapp.cache import cached
from webapp.charts import bar_chart
from webapp.labels import minutes_value, percent
from webapp.report_layout import layout_context

REPORT_CATEGORIES = MAIN_CATEGORIES
"""Categories of the report's summary tables (those computed are kept, in this order). Only
those whose inventory is complete, and the partner types whose inventory is, make the
headline figures; the others are shown apart, labelled « inventaire incomplet »."""


def inventory_context(conn: psycopg.Connection) -> dict[str, Any]:
    """The inventory per partner type (:class:`geo.analysis.inventory.TypeInventory`), the
    same by key, and the number of rows the last load rejected."""
    types = cached(conn, read.inventory)
    return {
        "inventory": types,
        "type_of": {t.partner_type: t for t in types},
        "rejected_rows": len(cached(conn, read.last_load_rejections)),
    }


def lists_may_be_incomplete(conn: psycopg.Connection) -> bool:
    """Whether any partner type receiving the public has an incomplete inventory (the public
    results say a nearer place may exist); read through ``cached`` on the finder's pages."""
    return any(t.receives_public and not t.complete for t in cached(conn, read.inventory))


def incomplete_of(category: dict[str, Any] | None, type_of: dict[str, TypeInventory]) -> list[TypeInventory]:
    """The partner types whose incomplete inventory weakens a category's figures."""
    keys = (category or {}).get("incomplete_types") or []
    return [type_of[key] for key in keys if key in type_of]


def charts_for(rows: list[dict[str, Any]], *, subject: str) -> list[Any]:
    """The two bar charts of an indicator table: mean time and share within 30 minutes."""
    return [
        bar_chart(rows, title=f"Temps moyen d'accès ({subject})", value="mean_min", fmt=minutes_value),
        bar_chart(
            rows,
            title=f"Part de la population à moins de 30 min ({subject})",
            value="share_30",
            maximum=1.0,
            fmt=percent,
        ),
    ]


def _matrix(conn: psycopg.Connection, mode: str, categories: list[dict[str, Any]]) -> dict[str, Any]:
    """Région and départements x categories: mean time and share within 30 minutes."""
    rows: dict[str, dict[str, Any]] = {}
    for category in categories:
        for level in ("region", "departement"):
            for item in read.indicators(conn, level=level, mode=mode, category=category["code"]):
                entry = rows.setdefault(f"{level}:{item['code']}", {"name": item["name"], "level": level, "cells": {}})
                entry["cells"][category["code"]] = item
    ordered = sorted(rows.values(), key=lambda r: (r["level"] != "region", r["name"]))
    return {"mode": mode, "categories": categories, "rows": ordered}


def report_context(conn: psycopg.Connection, year: int) -> dict[str, Any]:
    """Everything the yearly report shows, for the CCREFP of ``year``."""
    runs = read.access_runs(conn)
    all_categories = read.access_categories(conn)
    by_code = {c["code"]: c for c in all_categories}
    categories = [by_code[code] for code in REPORT_CATEGORIES if code in by_code]
    headline = [c for c in categories if not c["inventory_incomplete"]] + [
        c for c in all_categories if c["kind"] == "partner_type" and not c["inventory_incomplete"]
    ]
    incomplete = [c for c in categories if c["inventory_incomplete"]]
    inventory = inventory_context(conn)
    epci = read.indicators(conn, level="epci", mode="drive", category="any") if "drive" in runs else []
    zonings = []
    for zoning in read.zonings(conn):
        rows = read.indicators(conn, level=f"zone:{zoning['zoning_id']}", mode="drive", category="any")
        zonings.append({**zoning, "indicators": rows, "charts": charts_for(rows, subject=zoning["label"])})
    departements = read.indicators(conn, level="departement", mode="drive", category="any") if "drive" in runs else []
    context = {
        "year": year,
        "generated_on": dt.date.today(),
        "overview": read.region_overview(conn),
        "runs": runs,
        "approximate": any(run["approximate"] for run in runs.values()),
        "matrices": [_matrix(conn, mode, headline) for mode in runs] if headline else [],
        "incomplete_matrices": [_matrix(conn, mode, incomplete) for mode in runs] if incomplete else [],
        "any_incomplete": incomplete_of(by_code.get("any"), inventory["type_of"]),
        "departement_charts": charts_for(departements, subject=f"{MODE_PHRASES['drive']}, tout lieu")
        if departements
        else [],
        "epci": epci,
        "gap_summary": read.gap_summary(conn),
        "zonings": zonings,
        **inventory,
    }
    return {**context, **layout_context(conn, context)}
