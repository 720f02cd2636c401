"""The printed report's layout: its static maps and charts and its numbered sections.

- :func:`snapshot_figures`: the figures of :func:`geo.maps.report_figures`, rendered once per
  data version and kept by :func:`webapp.cache.cached` (1 to 3 s of matplotlib for the
  pilot, then served from memory), their SVG marked safe here (matplotlib escapes every
  text it writes, :mod:`geo.maps` escapes the title and description);
- :func:`sections`: the report's sections present, numbered, for the contents list and the
  headings.

The report of a year draws its figures from that year's snapshot
(:func:`storage.maps.snapshot_map_layers`, same frames as :func:`storage.maps.map_layers`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import psycopg
from markupsafe import Markup

from geo.french import MODE_PHRASES
from geo.vocabulary import MAIN_CATEGORIES
from storage.common import StoreError
from webapp.cache import cached

if TYPE_CHECKING:
    from geo.maps import Figure

NO_FIGURES: dict[str, Any] = {"time_maps": [], "white_zones": None, "zone_maps": {}, "distributions": []}


def _safe(figure: Figure) -> Figure:
    return dataclasses.replace(figure, svg=Markup(figure.svg))  # matplotlib's output, its texts escaped


def snapshot_figures(conn: psycopg.Connection, snapshot_id: int, mode: str = "drive") -> dict[str, Any]:
    """The report's figures as the snapshot ``snapshot_id`` froze the data (its communes,
    times, white zones, zones and places), their SVG as :class:`~markupsafe.Markup` (none when
    the snapshot has no travel time). geopandas and matplotlib are imported here, not when
    the application starts."""
    from storage.maps import snapshot_map_layers

    try:
        layers = snapshot_map_layers(conn, snapshot_id, mode=mode)
    except StoreError:
        return NO_FIGURES
    return _figures(layers, mode)


def _figures(layers: dict[str, Any], mode: str) -> dict[str, Any]:
    from geo.maps import report_figures

    if layers["times"].empty:
        return NO_FIGURES
    figures = report_figures(layers, mode_phrase=MODE_PHRASES[mode])  # type: ignore[index]
    return {
        "time_maps": [_safe(f) for f in figures["time_maps"]],
        "white_zones": _safe(figures["white_zones"]) if figures["white_zones"] else None,
        "zone_maps": {key: _safe(f) for key, f in figures["zone_maps"].items()},
        "distributions": [_safe(f) for f in figures["distributions"]],
    }


SECTION_TITLES: tuple[tuple[str, str], ...] = (
    ("reseau", "Le réseau"),
    ("limites", "Données et limites"),
    ("acces", "L'accès par département"),
    ("cartes", "Cartes des temps d'accès par mission"),
    ("epci", "L'accès par intercommunalité"),
    ("zones-blanches", "Zones blanches"),
    ("zonages", "Zonages infrarégionaux"),
    ("evolutions", "Évolutions depuis le bilan précédent"),
    ("annexe-scenarios", "Annexe : scénarios étudiés"),
)


def sections(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The sections the report holds (``id``, ``number``, ``title``), in order: the ones
    without content (no EPCI, no white zone, no zoning, no map) are left out."""
    figures = context.get("figures") or NO_FIGURES
    present = {
        "reseau": True,
        "limites": True,
        "acces": True,
        "cartes": bool(figures["time_maps"]),
        "epci": bool(context.get("epci")),
        "zones-blanches": bool(context.get("gap_summary")),
        "zonages": bool(context.get("zonings")),
        "evolutions": bool(context.get("changes")),
        "annexe-scenarios": bool(context.get("scenarios")),
    }
    kept = [(key, title) for key, title in SECTION_TITLES if present[key]]
    return [{"id": key, "number": n, "title": title} for n, (key, title) in enumerate(kept, start=1)]


def layout_context(conn: psycopg.Connection, context: dict[str, Any], *, snapshot_id: int) -> dict[str, Any]:
    """What the report's layout adds to :func:`webapp.reporting.report_context`: ``figures``,
    ``sections`` (a list) and ``section`` (the same by id), and ``gap_summary_main``: the
    white-zone summary of the main categories only (the full list is on ``/diagnostic`` and in
    the CSV)."""
    extra: dict[str, Any] = {"figures": cached(conn, snapshot_figures, snapshot_id)}
    numbered = sections({**context, **extra})
    main = set(MAIN_CATEGORIES)
    return {
        **extra,
        "gap_summary_main": [g for g in context.get("gap_summary") or [] if g["category"] in main],
        "sections": numbered,
        "section": {s["id"]: s for s in numbered},
    }
