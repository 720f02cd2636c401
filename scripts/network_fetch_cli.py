"""``atlas network fetch``: download and check a Région's OpenStreetMap extract.

It only downloads and verifies (see :mod:`geo.sources.osm_extract`), into
``ATLAS_VAR_DIR/osm/``, and prints the path of each file, one per line, on standard output
(nothing else: messages go to standard error), once every extract of the Région is checked,
so that a script can chain ``atlas network load $(atlas network fetch)``: a Région that
Geofabrik cuts into former Régions has two or three extracts, which ``atlas network load``
and ``atlas refresh --osm A --osm B`` read together as one network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from scripts.common import console, fail
from settings import Settings


def fetch(
    region: Annotated[
        str | None,
        typer.Option(help="Code INSEE de la Région (53 : Bretagne) ; par défaut ATLAS_REGION ou celle du manifeste."),
    ] = None,
    extract: Annotated[
        str | None,
        typer.Option(
            help="Chemin d'un extrait sur le serveur, sans suffixe (ex. europe/france/bretagne), au lieu de la Région."
        ),
    ] = None,
) -> None:
    """Download the Région's OSM extract(s) into the var folder, resuming and checking the MD5."""
    from geo.sources.osm_extract import FetchError, fetch_extract, region_extracts

    settings = Settings.from_env()
    if extract:
        extracts: tuple[str, ...] = (extract,)
    else:
        code = region or settings.region or _manifest_region(settings.data_dir)
        try:
            extracts = region_extracts(code)
        except FetchError as exc:
            raise fail(str(exc)) from exc
    dest = settings.var_dir / "osm"
    paths: list[Path] = []
    for path in extracts:
        with Progress(
            TextColumn(f"{path.rsplit('/', 1)[-1]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("download", total=None)

            def advance(done: int, total: int | None, task: TaskID = task) -> None:
                progress.update(task, completed=done, total=total)

            try:
                fetched = fetch_extract(
                    settings.osm_mirror,
                    path,
                    dest,
                    progress=advance,
                )
            except FetchError as exc:
                raise fail(str(exc), code=1) from exc
        state = "téléchargé" if fetched.downloaded else "déjà à jour"
        resumed = f", repris à {fetched.resumed_from / 1e6:.1f} Mo" if fetched.resumed_from else ""
        size = fetched.path.stat().st_size / 1e6
        console.print(f"{fetched.path.name} : {state} ({size:.1f} Mo, MD5 vérifié{resumed}).", highlight=False)
        paths.append(fetched.path)
    if len(paths) > 1:
        console.print(
            f"Cette Région est couverte par {len(paths)} extraits Geofabrik (anciennes Régions) : "
            "atlas network load les lit ensemble comme un seul réseau "
            "(atlas network load FICHIER1 FICHIER2 …, ou atlas refresh --osm FICHIER1 --osm FICHIER2 …).",
            soft_wrap=True,
            highlight=False,
        )
    for p in paths:
        typer.echo(str(p))


def _manifest_region(data_dir: Path) -> str:
    from geo.errors import AtlasError
    from geo.sources.region import read_manifest

    try:
        return str(read_manifest(data_dir)["region"]).strip()
    except (AtlasError, KeyError, OSError) as exc:
        raise fail(f"Région inconnue : donner --region (par exemple 53) ou ATLAS_REGION ({exc})") from exc
