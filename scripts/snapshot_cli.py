"""``atlas snapshot --year 2026 [--label …] [--replace]``: freeze what the year's bilan rests
on (``storage.snapshot``); ``atlas snapshot --list``: the snapshots taken.

Thin wrapper: the snapshot is one transaction in PostGIS; errors exit with status 2 and
change nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer

from scripts.common import console, fail, open_db

FIRST_YEAR, LAST_YEAR = 2000, 2100


def snapshot(
    year: Annotated[int | None, typer.Option("--year", help="Année du bilan, par exemple 2026.")] = None,
    label: Annotated[str | None, typer.Option(help="Libellé libre (par exemple « bilan CCREFP de juin »).")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Remplacer l'instantané de cette année (l'ancien reste conservé).")
    ] = False,
    list_: Annotated[bool, typer.Option("--list", help="Lister les instantanés pris (remplacés compris).")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Figer même si les lieux chargés datent d'après l'année du bilan."),
    ] = False,
) -> None:
    """Freeze the places, indicators, white zones, zonings, scenarios and sources of a year's
    bilan in PostGIS (immutable), or list the snapshots."""
    from storage import snapshot as snapshots
    from storage.common import StoreError

    if list_:
        with open_db() as conn:
            rows = snapshots.snapshots(conn, include_replaced=True)
        if not rows:
            console.print("Aucun instantané : atlas snapshot --year ANNÉE pour en prendre un.")
        for row in rows:
            state = (
                f"remplacé le {row['replaced_at']:%d/%m/%Y} par n° {row['replaced_by']}"
                if row["replaced_at"]
                else "en vigueur"
            )
            console.print(
                f"n° {row['snapshot_id']} : bilan {row['year']}, pris le {row['taken_at']:%d/%m/%Y %H:%M}, "
                f"{row['n_places']} lieux recevant du public, {state}" + (f" — {row['label']}" if row["label"] else ""),
                highlight=False,
                soft_wrap=True,
            )
        return
    if year is None:
        raise fail("--year est obligatoire (ou --list)")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise fail(f"année {year} hors de la période couverte ({FIRST_YEAR}-{LAST_YEAR})")
    if year > dt.date.today().year + 1:
        raise fail(f"bilan {year} : année à venir, rien à figer")
    started = time.monotonic()
    with open_db() as conn:
        latest = snapshots.latest_vintage_year(conn)
        if latest is not None and year < latest and not force:
            raise fail(
                f"les lieux chargés datent de {latest} (millésime le plus récent) : les figer comme bilan {year} "
                f"donnerait à ce bilan des données plus récentes que lui. Charger les données de {year}, ou "
                "--force pour le faire quand même."
            )
        try:
            snapshot_id = snapshots.take_snapshot(conn, year=year, label=label, replace=replace)
        except StoreError as exc:
            raise fail(f"{exc}\nRien n'a été écrit dans la base.") from exc
        taken = snapshots.by_id(conn, snapshot_id)
    parts = taken["parts"] if taken else {}
    approximate = (parts.get("approximations") or {}).get("approximate_times")
    console.print(
        f"Instantané n° {snapshot_id} du bilan {year} pris en {time.monotonic() - started:.1f} s : "
        f"{len(parts.get('indicators') or [])} indicateurs, {len(parts.get('zonings') or [])} zonage(s), "
        f"{len(parts.get('scenarios') or [])} scénario(s)"
        + (" ; temps de trajet APPROXIMATIFS." if approximate else ".")
        + f" Rapport : atlas report --year {year}",
        highlight=False,
        soft_wrap=True,
    )
