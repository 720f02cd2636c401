"""The shareable map file (:func:`geo.mapfile.build_map_file`) from the current data: used by
the download route ``/carte/carte-atlas-spro.html`` (kept per data version by
:func:`webapp.cache.cached`) and by ``atlas map``. No Flask here: a connection in, HTML out.

With a year, the layers are those of that year's snapshot
(:func:`storage.maps.snapshot_map_layers`, same shape as :func:`storage.maps.map_layers`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg

from geo.french import APPROXIMATE_TIMES, MODE_PHRASES
from geo.mapfile import LeafletAssets, build_map_file
from storage import read, snapshot
from storage.common import StoreError
from storage.maps import map_layers, snapshot_map_layers

LEAFLET_DIR = Path(__file__).resolve().parent / "static" / "vendor" / "leaflet"
FILENAME = "carte-atlas-spro.html"


def map_file_html(
    conn: psycopg.Connection, *, mode: str = "drive", layers: dict[str, Any] | None = None, year: int | None = None
) -> str:
    """The map file as HTML text: of ``layers`` when given, else of the snapshot of ``year``
    when given, else of the current data.

    Raises
    ------
    storage.common.StoreError
        When no Région is loaded, or ``year`` has no snapshot (the message lists the years).
    """
    when = f"données du {dt.date.today().strftime('%d/%m/%Y')}"
    if year is not None:
        snap = snapshot.current(conn, year)
        if snap is None:
            years = ", ".join(str(y) for y in snapshot.snapshot_years(conn)) or "aucune"
            msg = f"pas de bilan pour {year} (années disponibles : {years}) ; le figer avec « atlas snapshot --year {year} »"
            raise StoreError(msg)
        when = f"bilan {year}, données figées le {snap['taken_at'].strftime('%d/%m/%Y')}"
        if layers is None:
            layers = snapshot_map_layers(conn, snap["snapshot_id"], mode=mode)
    if layers is None:
        layers = map_layers(conn, mode=mode)
    overview = read.region_overview(conn)
    region = f" en {overview['name']}" if overview else ""
    title = f"Accès au service public régional de l'orientation{region} ({when})"
    notes = []
    if layers.get("approximate"):
        notes.append(f"Temps approximatifs : {APPROXIMATE_TIMES} (ordres de grandeur).")
    if bool(layers["categories"]["inventory_incomplete"].any()):
        notes.append("Inventaire incomplet : des lieux manquent, les temps réels peuvent être plus courts.")
    notes.append("Chaque lieu est placé à son adresse ou, à défaut, à la mairie de sa commune.")
    return build_map_file(
        layers,
        title=title,
        leaflet=LeafletAssets.from_dir(LEAFLET_DIR),
        mode_phrase=MODE_PHRASES[mode],  # type: ignore[index]
        note=" ".join(notes),
    )


def map_file_bytes(conn: psycopg.Connection) -> bytes:
    """:func:`map_file_html` of the current data, UTF-8 (what the download route caches)."""
    return map_file_html(conn).encode("utf-8")
