"""``atlas refresh``: the whole chain (load, network when given, access, gaps), published once.

Every step writes in one transaction (:func:`storage.publish.publishing`): until the final
commit, the public pages keep showing the previous inventory, times and white zones; then
they show the new ones, all together. An error anywhere leaves the published state as it was.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer

from geo.vocabulary import MODES
from scripts.common import console, database_url
from settings import Settings


def refresh(
    data: Annotated[Path | None, typer.Option(help="Dossier des sources (avec atlas.toml).")] = None,
    osm: Annotated[
        list[Path] | None,
        typer.Option(
            help="Extrait OpenStreetMap (.osm.pbf) : reconstruire les réseaux voiture et marche ; "
            "répéter --osm pour lire plusieurs extraits voisins comme un seul réseau."
        ),
    ] = None,
    region: Annotated[str | None, typer.Option(help="Code INSEE de la Région attendue.")] = None,
    skip_invalid_rows: Annotated[
        bool, typer.Option(help="Écarter les lignes de lieux invalides (listées) au lieu de tout refuser.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Enregistrer le réseau même s'il ne couvre pas la Région.")] = False,
    isochrones: Annotated[bool, typer.Option(help="Calculer les isochrones 15/30/45 min des lieux.")] = True,
) -> None:
    """Load the sources, build the networks (with ``--osm``), compute the travel times of both
    modes and their white zones, and publish everything in one transaction."""
    from scripts.cli import _print_load_summary, read_sources, store_region
    from scripts.publish import compute_access, gap_threshold, osm_sha256, published_grid, store_gaps, store_networks
    from storage.db import connect
    from storage.migrate import migrate
    from storage.publish import publication_version, published_state, publishing

    settings = Settings.from_env()
    sha256 = osm_sha256(osm) if osm else None
    started = time.monotonic()
    sources = read_sources(
        data or settings.data_dir,
        crs=settings.crs,
        region=region or settings.region,
        extra=[],
        skip_invalid_rows=skip_invalid_rows,
    )
    steps = ["load", *(["network"] if osm else []), "access", "gaps"]
    with connect(database_url(settings)) as conn:
        migrate(conn)
        with publishing(conn, steps):
            before = published_state(conn)
            counts = store_region(conn, sources, dt.datetime.now(dt.UTC))
            loaded_in = time.monotonic() - started
            if osm and sha256 is not None:
                store_networks(conn, osm, MODES, sha256=sha256, force=force)
            compute_access(conn, MODES, isochrones=isochrones, population_grid=published_grid(before))
            store_gaps(conn, {m: gap_threshold(before, m) for m in MODES})
        version = publication_version(conn)
    _print_load_summary(sources, counts, elapsed=loaded_in, var_dir=settings.var_dir)
    console.print(
        f"Publié en une transaction ({', '.join(steps)}) : publication n° {version}, "
        f"en {time.monotonic() - started:.1f} s."
    )


__all__ = ["refresh"]
