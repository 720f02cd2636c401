"""``atlas map --output carte.html [--year YYYY]``: the shareable map as one self-contained
HTML file (folium, Leaflet inlined, no basemap, nothing fetched when opened offline).

The core is :func:`webapp.mapfile.map_file_html`; this module only parses the options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo.french import number
from scripts.common import console, database_url, fail
from settings import Settings


def map_command(
    output: Annotated[Path, typer.Option("--output", help="Fichier HTML à écrire, par exemple carte.html.")] = Path(
        "carte.html"
    ),
    year: Annotated[
        int | None,
        typer.Option("--year", help="Année du bilan (instantané de cette année) ; défaut : les données publiées."),
    ] = None,
) -> None:
    """Write the shareable map (one self-contained HTML file that opens offline)."""
    from storage import db
    from storage.common import StoreError
    from webapp.mapfile import map_file_html

    with db.connect(database_url(Settings.from_env())) as conn:
        try:
            text = map_file_html(conn, year=year)
        except StoreError as exc:
            raise fail(str(exc)) from exc
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{output} : écriture impossible ({exc.strerror})") from exc
    size = number(output.stat().st_size / 1e6, 1)
    console.print(f"Carte écrite : {output} ({size} Mo ; autonome : aucune ressource externe, sans fond de carte)")
