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
from storage import read, snapshot
from webapp.cache import cached
from webapp.charts import bar_chart
from webapp.labels import minutes_value, percent
from webapp.report_layout import layout_context
from webapp.snapshots import changes_between

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


class NoReportError(LookupError):
    """No snapshot was taken for the year asked; ``years`` lists those that have one."""

    def __init__(self, year: int, years: list[int]) -> None:
        super().__init__(f"pas de bilan pour {year}")
        self.year = year
        self.years = years


class SnapshotParts:
    """The report's tables as a snapshot froze them (:func:`storage.snapshot.report_parts`),
    read with the same names as :mod:`storage.read` so the report is built one way."""

    def __init__(self, parts: dict[str, Any]) -> None:
        self.parts = parts
        self._indicators: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for row in parts.get("indicators") or []:
            self._indicators.setdefault((row["level"], row["mode"], row["category"]), []).append(row)

    def access_runs(self) -> dict[str, dict[str, Any]]:
        return {
            mode: {**run, "computed_at": _datetime(run.get("computed_at"))}
            for mode, run in (self.parts.get("runs") or {}).items()
        }

    def access_categories(self) -> list[dict[str, Any]]:
        return list(self.parts.get("categories") or [])

    def indicators(self, *, level: str, mode: str, category: str) -> list[dict[str, Any]]:
        return self._indicators.get((level, mode, category), [])

    def region_overview(self) -> dict[str, Any] | None:
        return self.parts.get("overview")

    def gap_summary(self) -> list[dict[str, Any]]:
        return list(self.parts.get("gap_summary") or [])

    def zonings(self) -> list[dict[str, Any]]:
        return [{**z, "created_at": _datetime(z.get("created_at"))} for z in self.parts.get("zonings") or []]

    def inventory(self) -> list[TypeInventory]:
        return [
            TypeInventory(**{**t, "missions": tuple(t["missions"]), "publics": tuple(t["publics"])})
            for t in self.parts.get("inventory") or []
        ]

    def rejected_rows(self) -> int:
        return int(self.parts.get("rejected_rows") or 0)


def _datetime(value: Any) -> Any:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _matrix(source: SnapshotParts, mode: str, categories: list[dict[str, Any]]) -> dict[str, Any]:
    """Région and départements x categories: mean time and share within 30 minutes."""
    rows: dict[str, dict[str, Any]] = {}
    for category in categories:
        for level in ("region", "departement"):
            for item in source.indicators(level=level, mode=mode, category=category["code"]):
                entry = rows.setdefault(f"{level}:{item['code']}", {"name": item["name"], "level": level, "cells": {}})
                entry["cells"][category["code"]] = item
    ordered = sorted(rows.values(), key=lambda r: (r["level"] != "region", r["name"]))
    return {"mode": mode, "categories": categories, "rows": ordered}


def report_context(conn: psycopg.Connection, year: int) -> dict[str, Any]:
    """Everything the yearly report shows, for the CCREFP of ``year``, from the snapshot of
    that year (:mod:`storage.snapshot`), with the changes since the previous snapshot.

    Raises :class:`NoReportError` when ``year`` has no snapshot."""
    snap = snapshot.current(conn, year)
    if snap is None:
        raise NoReportError(year, snapshot.snapshot_years(conn))
    context = context_from_parts(SnapshotParts(snap["parts"]), year=year)
    meta = {k: v for k, v in snap.items() if k != "parts"}
    context["snapshot"] = meta
    context["generated_on"] = meta["taken_at"].date()
    context["sources"] = snap["parts"].get("sources") or {}
    context["approximations"] = snap["parts"].get("approximations") or {}
    context["scenarios"] = snap["parts"].get("scenarios") or []
    context["changes"] = cached(
        conn, changes_between, snap["snapshot_id"], snapshot.previous_id(conn, year)
    )  # both snapshots are immutable: the pair of ids is the whole key
    return {**context, **layout_context(conn, context, snapshot_id=snap["snapshot_id"])}


def context_from_parts(source: SnapshotParts, *, year: int) -> dict[str, Any]:
    """The report's context (the names the template reads) from a snapshot's tables."""
    runs = source.access_runs()
    all_categories = source.access_categories()
    by_code = {c["code"]: c for c in all_categories}
    categories = [by_code[code] for code in REPORT_CATEGORIES if code in by_code]
    headline = [c for c in categories if not c["inventory_incomplete"]] + [
        c for c in all_categories if c["kind"] == "partner_type" and not c["inventory_incomplete"]
    ]
    incomplete = [c for c in categories if c["inventory_incomplete"]]
    types = source.inventory()
    type_of = {t.partner_type: t for t in types}
    inventory: dict[str, Any] = {"inventory": types, "type_of": type_of, "rejected_rows": source.rejected_rows()}
    epci = source.indicators(level="epci", mode="drive", category="any") if "drive" in runs else []
    zonings = []
    for zoning in source.zonings():
        rows = source.indicators(level=f"zone:{zoning['zoning_id']}", mode="drive", category="any")
        zonings.append({**zoning, "indicators": rows, "charts": charts_for(rows, subject=zoning["label"])})
    departements = source.indicators(level="departement", mode="drive", category="any") if "drive" in runs else []
    return {
        "year": year,
        "generated_on": dt.date.today(),
        "overview": source.region_overview(),
        "runs": runs,
        "approximate": any(run["approximate"] for run in runs.values()),
        "matrices": [_matrix(source, mode, headline) for mode in runs] if headline else [],
        "incomplete_matrices": [_matrix(source, mode, incomplete) for mode in runs] if incomplete else [],
        "any_incomplete": incomplete_of(by_code.get("any"), type_of),
        "departement_charts": charts_for(departements, subject=f"{MODE_PHRASES['drive']}, tout lieu")
        if departements
        else [],
        "epci": epci,
        "gap_summary": source.gap_summary(),
        "zonings": zonings,
        **inventory,
    }
