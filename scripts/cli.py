"""The ``atlas`` command: ``atlas db up|down|status|migrate``, ``atlas load``, ``atlas network
fetch|load|status``, ``atlas access``, ``atlas gaps``, ``atlas zones``, ``atlas whatif``, ``atlas export``,
``atlas serve``.

Each subcommand reads the settings, opens what it needs, calls the core and the store, and
prints a one-line summary. Errors in the input exit with status 2 and a message naming the
file, row and field; nothing is written in that case.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from geo.errors import AtlasError
from scripts.common import (
    console,
    database_url,
    fail,
    modes_option,
    open_db,
)
from settings import Settings

if TYPE_CHECKING:
    import psycopg

    from geo.sources.region import RegionSources

app = typer.Typer(help="Atlas SPRO: réseau du service public régional de l'orientation.", no_args_is_help=True)
db_app = typer.Typer(help="Base PostGIS locale du projet (ignorée si DATABASE_URL est défini).", no_args_is_help=True)
app.add_typer(db_app, name="db")
network_app = typer.Typer(help="Réseaux routiers (voiture, marche) pour les temps de trajet.", no_args_is_help=True)
app.add_typer(network_app, name="network")


@db_app.command("up", help="Créer si besoin et démarrer la base PostGIS locale, puis appliquer les migrations.")
def db_up() -> None:
    """Create if needed and start the local PostGIS cluster, then apply migrations."""
    settings = Settings.from_env()
    started = time.monotonic()
    if settings.database_url:
        console.print("DATABASE_URL est défini : pas de cluster local à démarrer.")
    else:
        from storage.cluster import ClusterError, local_cluster

        cluster = local_cluster(settings.var_dir)
        try:
            changed = cluster.up()
        except ClusterError as exc:
            raise fail(str(exc)) from exc
        state = "démarré" if changed else "déjà en marche"
        console.print(f"Cluster local {state} : {cluster.base}")
    applied = _migrate(database_url(settings))
    console.print(f"Base prête ({len(applied)} migration(s) appliquée(s), {time.monotonic() - started:.1f} s).")


@db_app.command("down", help="Arrêter la base PostGIS locale.")
def db_down() -> None:
    """Stop the local PostGIS cluster."""
    settings = Settings.from_env()
    if settings.database_url:
        console.print("DATABASE_URL est défini : rien à arrêter.")
        return
    from storage.cluster import local_cluster

    cluster = local_cluster(settings.var_dir)
    console.print("Cluster local arrêté." if cluster.down() else "Le cluster local n'était pas démarré.")


@db_app.command("status", help="Dire où est la base, si elle répond et ce qu'elle contient.")
def db_status() -> None:
    """Say where the database is, whether it answers and what it holds, and how complete the
    inventory of each partner type is."""
    settings = Settings.from_env()
    url = database_url(settings)
    from geo.analysis.inventory import INCOMPLETE_LABEL
    from geo.french import percent
    from storage.db import connect
    from storage.read import database_summary, inventory, last_load_rejections

    try:
        with connect(url, connect_timeout=3) as conn:
            summary = database_summary(conn)
            loaded = "last_load" in summary and summary["last_load"] != "jamais"
            types = inventory(conn) if loaded else []
            rejected = last_load_rejections(conn) if loaded else []
    except Exception as exc:  # any connection failure is reported, not raised
        console.print(f"Base injoignable ({url}) : {exc}")
        raise typer.Exit(1) from exc
    typer.echo(f"url: {url}")
    for key, value in summary.items():
        typer.echo(f"{key}: {value}")
    for row in rejected[:20]:
        typer.echo(f"  {Path(row['file']).name}, ligne {row['source_row']}, champ {row['field']} : {row['reason']}")
    if len(rejected) > 20:
        typer.echo(f"  … et {len(rejected) - 20} autre(s) : liste complète dans le CSV écrit au chargement.")
    if any(t.n_sites or t.n_without_public or t.expected is not None for t in types):
        typer.echo("inventaire (lieux accueillant du public / attendus, position au bâtiment, horaires, millésimes) :")
    for t in types:
        if not (t.n_sites or t.n_without_public or t.expected is not None):
            continue
        if not t.receives_public:
            typer.echo(
                f"  {t.partner_type}: {t.n_without_public} lieu(x) sans accueil du public; millésimes {t.vintages}"
            )
            continue
        expected = "inconnu" if t.expected is None else f"{t.expected} ({percent(t.share_of_expected, 0)})"
        typer.echo(
            f"  {t.partner_type}: {t.n_sites} / attendus {expected}"
            + ("" if t.complete else f" — {INCOMPLETE_LABEL}")
            + f"; au bâtiment {percent(t.share_at_building, 0)}, horaires {percent(t.share_with_hours, 0)}"
            + f"; millésimes {t.vintages}"
            + (f"; {t.n_without_public} sans accueil du public" if t.n_without_public else "")
        )


@db_app.command("migrate", help="Appliquer les migrations de schéma en attente.")
def db_migrate() -> None:
    """Apply pending schema migrations."""
    applied = _migrate(database_url(Settings.from_env()))
    console.print(f"{len(applied)} migration(s) appliquée(s) : {', '.join(applied) or 'aucune'}.")


def _migrate(url: str) -> list[str]:
    from storage.db import connect
    from storage.migrate import migrate

    with connect(url) as conn:
        return migrate(conn)


@app.command(
    "load", help="Charger territoires, types de partenaires et lieux dans PostGIS, en une transaction (tout ou rien)."
)
def load(
    data: Annotated[Path | None, typer.Option(help="Dossier des sources (avec atlas.toml).")] = None,
    region: Annotated[str | None, typer.Option(help="Code INSEE de la Région attendue.")] = None,
    structures: Annotated[
        list[str] | None,
        typer.Option(help="Fichier de structures en plus, FORMAT:CHEMIN (format annuaire, partenaires...)."),
    ] = None,
    skip_invalid_rows: Annotated[
        bool,
        typer.Option(
            help="Charger les lignes valides des fichiers de lieux et écarter les autres (listées dans un CSV et "
            "dans la base) au lieu de tout refuser à la première erreur."
        ),
    ] = False,
) -> None:
    """Load territories, partner types and structures into PostGIS, in one transaction (with
    the times and white zones that were published, computed again: ``storage.publish``)."""
    from geo.sources.region import StructureSource
    from scripts.publish import republish
    from storage.db import connect
    from storage.migrate import migrate
    from storage.publish import published_state, publishing

    settings = Settings.from_env()
    data_dir = data or settings.data_dir
    # The Région expected: --region, else ATLAS_REGION when set, else the manifest's own. Its CRS
    # follows it (ATLAS_CRS aside): La Réunion's folder is stored in UTM 40S, not Lambert-93.
    region_code = region or settings.region
    extra = []
    for spec in structures or []:
        fmt, sep, path = spec.partition(":")
        if not sep:
            raise fail(f"--structures attend FORMAT:CHEMIN, reçu {spec!r}")
        extra.append(StructureSource(dataset=f"{fmt}:{Path(path).stem}", format=fmt, file=Path(path)))
    started_at = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    sources = read_sources(
        data_dir, crs=settings.crs, region=region_code, extra=extra, skip_invalid_rows=skip_invalid_rows
    )
    with connect(database_url(settings)) as conn:
        migrate(conn)
        # One transaction: the new inventory and, when times were published, the times and
        # white zones computed again from it (storage.publish).
        with publishing(conn, ["load"]):
            before = published_state(conn)
            counts = store_region(conn, sources, started_at)
            loaded_in = time.monotonic() - started
            republish(conn, before)
    _print_load_summary(sources, counts, elapsed=loaded_in, var_dir=settings.var_dir)


def read_sources(
    data_dir: Path, *, crs: str | None, region: str | None, extra: list[Any], skip_invalid_rows: bool
) -> RegionSources:
    """The Région's sources read and validated (exit 2 naming file, row and field on an error)."""
    from geo.sources.region import read_region_sources

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        progress.add_task("Lecture et validation des sources", total=None)
        try:
            return read_region_sources(
                data_dir, crs=crs, region=region, extra_structures=extra, skip_invalid_rows=skip_invalid_rows
            )
        except AtlasError as exc:
            hint = (
                "\nAvec --skip-invalid-rows, les lignes valides sont chargées et toutes les lignes en erreur listées."
                if getattr(exc, "skippable", False)
                else ""
            )
            raise fail(f"{exc}\nRien n'a été écrit dans la base.{hint}") from exc


def store_region(conn: psycopg.Connection, sources: RegionSources, started_at: dt.datetime) -> dict[str, int]:
    """``storage.load.store_sources`` of ``sources`` on ``conn`` (inside the caller's publication)."""
    from storage.common import StoreError
    from storage.load import store_sources

    try:
        return store_sources(conn, sources, started_at=started_at)
    except StoreError as exc:
        raise fail(f"{exc}\nRien n'a été écrit dans la base.") from exc


def _print_load_summary(sources: RegionSources, counts: dict[str, int], *, elapsed: float, var_dir: Path) -> None:
    """What a load wrote, merged, placed, left out and rejected, in French."""
    merged = len(sources.report.merged) if sources.report else 0
    console.print(
        f"Chargé Région {sources.region_code} : {counts['communes']} communes ({merged} fusionnées depuis 2018), "
        f"{counts['territories']} territoires, {counts['structures']} structures "
        f"({', '.join(sources.datasets)}), {counts['partner_types']} types de partenaires "
        f"en {elapsed:.1f} s."
    )
    for structure_id, listings in sources.merged_places:
        console.print(
            f"  lieu listé plusieurs fois, fusionné : {structure_id} (avec {'; '.join(listings)})",
            highlight=False,
            soft_wrap=True,
        )
    if sources.superseded:
        console.print(
            f"  {len(sources.superseded)} ligne(s) remplacée(s) par une source plus récente (remplace_par), "
            "non chargée(s).",
            highlight=False,
        )
    closed = sources.places_without_public()
    if not closed.empty:
        console.print(
            f"  {len(closed)} lieu(x) sans accueil du public, montrés aux services mais exclus de la recherche, "
            f"des temps, des indicateurs et des zones : {', '.join(closed['name'].head(8))}"
            + (" …" if len(closed) > 8 else ""),
            highlight=False,
            soft_wrap=True,
        )
    if sources.placed:
        at_town_hall = sum(p == "approx_mairie" for p in sources.placed.values())
        console.print(
            f"  {len(sources.placed)} lieu(x) sans coordonnées placé(s) d'après leur commune : {at_town_hall} à la "
            f"mairie, {len(sources.placed) - at_town_hall} en un point de la commune (positions approximatives, "
            "signalées comme telles).",
            highlight=False,
        )
    if sources.town_halls_misplaced:
        listed = ", ".join(f"{code} (ligne {row})" for row, code, _m in sources.town_halls_misplaced[:8])
        console.print(
            f"  {len(sources.town_halls_misplaced)} point(s) de mairie hors de leur commune, non utilisé(s) : "
            + listed
            + (" …" if len(sources.town_halls_misplaced) > 8 else ""),
            highlight=False,
            soft_wrap=True,
        )
    rejected = sources.rejected_rows()
    if rejected:
        path = var_dir / "rejets" / f"rejets-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        from geo.csvsafe import neutralise

        with path.open("w", encoding="utf-8-sig", newline="") as out:  # BOM: Excel reads UTF-8 right
            writer = csv.writer(out, delimiter=";")
            writer.writerow(("fichier", "ligne", "champ", "motif"))
            writer.writerows([neutralise(cell) for cell in row] for row in rejected)
        console.print(
            f"[bold yellow]{len(rejected)} ligne(s) rejetée(s)[/] (non chargées), liste : {path}",
            soft_wrap=True,
        )
        for file, row, field, reason in rejected[:5]:
            console.print(
                f"  {Path(file).name}, ligne {row}, champ {field} : {reason}", highlight=False, soft_wrap=True
            )


@network_app.command(
    "load", help="Construire les réseaux voiture et marche depuis un extrait OpenStreetMap et les enregistrer."
)
def network_load(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Extrait(s) OpenStreetMap (.osm.pbf, .osm) ; plusieurs extraits voisins (ceux qu'imprime atlas network fetch) sont lus comme un seul réseau."
        ),
    ],
    mode: Annotated[
        list[str] | None, typer.Option(help="drive (voiture) et/ou walk (marche) ; les deux par défaut.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Enregistrer même si le réseau ne couvre pas la Région.")] = False,
    island_min_nodes: Annotated[
        int,
        typer.Option(
            help="Garder aussi les réseaux isolés (îles sans pont) d'au moins ce nombre de nœuds ; 0 : seulement le plus grand."
        ),
    ] = 200,
) -> None:
    """Build the road graphs (car, walking) from OSM extracts (several: read as one network),
    read once for every mode, and store them in PostGIS; the times (and white zones) published
    for these modes are computed again on the new graphs in the same transaction
    (``storage.publish``)."""
    from scripts.publish import osm_sha256, republish, store_networks
    from storage.publish import published_state, publishing

    settings = Settings.from_env()
    modes = modes_option(mode)
    sha256 = osm_sha256(files)
    with open_db(settings) as conn, publishing(conn, ["network"]):
        before = published_state(conn)
        store_networks(conn, files, modes, sha256=sha256, force=force, island_min_nodes=island_min_nodes)
        if not republish(conn, before, modes=modes):
            console.print("Lancer [bold]atlas access[/] pour calculer les temps de trajet.")


@network_app.command("status", help="Lister les réseaux enregistrés (OSM ou approximatif).")
def network_status() -> None:
    """List the stored networks."""
    from storage.access import networks
    from storage.db import connect

    with connect(database_url(Settings.from_env())) as conn:
        rows = networks(conn)
    if not rows:
        typer.echo("Aucun réseau stocké : atlas access utilisera le graphe approximatif des communes.")
    for row in rows:
        kind = "APPROXIMATIF (vol d'oiseau × détour)" if row["approximate"] else "OpenStreetMap"
        typer.echo(
            f"{row['mode']}: {kind}, source {row['source']}, {row['n_nodes']} nœuds, {row['n_edges']} arcs, "
            f"{row['bytes'] / 1e6:.1f} Mo, construit le {row['built_at']:%Y-%m-%d %H:%M}"
        )


@app.command(
    "access",
    help="Temps de trajet de chaque commune vers les lieux les plus proches, indicateurs et isochrones (approximatifs sans réseau OSM).",
)
def access(
    mode: Annotated[
        list[str] | None, typer.Option(help="drive (voiture) et/ou walk (marche) ; les deux par défaut.")
    ] = None,
    isochrones: Annotated[bool, typer.Option(help="Calculer les isochrones 15/30/45 min des lieux.")] = True,
    population_grid: Annotated[
        Path | None,
        typer.Option(
            help="Carroyage de population INSEE Filosofi 200 m (CSV ou GeoPackage) : chaque commune part "
            "de son carreau le plus peuplé, au lieu du point le plus dense du réseau routier."
        ),
    ] = None,
) -> None:
    """Compute travel times from every commune to the nearest places, indicators and isochrones.

    Uses the stored OSM network of each mode; without one, builds the approximate graph
    (straight line x detour, :mod:`geo.network.approximate`), stores it and flags every
    result as approximate. The white zones of the modes recomputed are recomputed in the
    same transaction (same threshold), so that the public never sees times without their
    white zones (``storage.publish``).
    """
    from scripts.publish import compute_access, gap_threshold, store_gaps
    from storage.publish import published_state, publishing

    modes = modes_option(mode)
    with open_db() as conn, publishing(conn, ["access"]):
        before = published_state(conn)
        compute_access(conn, modes, isochrones=isochrones, population_grid=population_grid)
        thresholds = {m: gap_threshold(before, m) for m in modes if m in before.gap_thresholds}
        if thresholds:
            store_gaps(conn, thresholds)


@app.command("export", help="Exporter toutes les couches (GeoPackage stylé pour QGIS, GeoJSON ou CSV pour tableur).")
def export(
    output: Annotated[Path, typer.Argument(help="Fichier .gpkg, ou dossier pour geojson/csv.")],
    fmt: Annotated[str, typer.Option("--format", help="gpkg (QGIS, stylé), geojson ou csv.")] = "gpkg",
) -> None:
    """Export every layer (communes with travel times, places, isochrones, white zones,
    zonings, indicators, metadata) for QGIS or a spreadsheet."""
    from geo.export import EXPORT_FORMATS, planner_layers, write_layers
    from storage.common import StoreError
    from storage.export import export_tables

    export_format = EXPORT_FORMATS.get(fmt)
    if export_format is None:
        raise fail(f"format inconnu {fmt!r} : attendu gpkg, geojson ou csv")
    with open_db() as conn:
        try:
            layers = planner_layers(export_tables(conn))
        except StoreError as exc:
            raise fail(str(exc)) from exc
    try:
        written = write_layers(layers, output, fmt=export_format)
    except AtlasError as exc:
        raise fail(str(exc)) from exc
    approximate = [
        v for k, v in layers["metadonnees"].itertuples(index=False) if k.startswith("temps_") and "APPROX" in v
    ]
    console.print(
        f"Exporté {len(layers)} couches ({', '.join(layers)}) vers {', '.join(str(p) for p in written[:3])}"
        + (" …" if len(written) > 3 else "")
        + (". Temps de trajet APPROXIMATIFS (voir la table metadonnees)." if approximate else ".")
    )


@app.command(
    "report", help="Écrire le rapport annuel de la CCREFP : un fichier HTML autonome, accessible et imprimable."
)
def report_command(
    year: Annotated[int, typer.Option("--year", help="Année du rapport (CCREFP), par exemple 2026.")],
    output: Annotated[Path | None, typer.Option(help="Fichier HTML à écrire (défaut : rapport-ANNÉE.html).")] = None,
) -> None:
    """Write the yearly report for the CCREFP: one self-contained, printable, accessible HTML file."""
    from scripts.report import ReportError, report

    path = output or Path(f"rapport-{year}.html")
    try:
        written = report(year, path, database_url=database_url(Settings.from_env()))
    except ReportError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Rapport {year} écrit : {written}")


@app.command(
    "serve", help="Servir l'application web avec gunicorn (journal sans adresse IP ni paramètres de recherche)."
)
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute.")] = None,
    port: Annotated[int | None, typer.Option(help="Port d'écoute.")] = None,
    workers: Annotated[int, typer.Option(help="Processus gunicorn (un par cœur).")] = max(2, os.cpu_count() or 2),
) -> None:
    """Serve the web application with gunicorn (access log without IPs or query strings)."""
    settings = Settings.from_env()
    bind = f"{host or settings.host}:{port or settings.port}"
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", database_url(settings))
    console.print(f"Atlas SPRO sur http://{bind}/ (Ctrl+C pour arrêter)")
    # Privacy: webapp.asgi writes the access log (route, status, size, time), never the client
    # address, the query string or the values in the path; gunicorn's own is off (gunicorn_conf).
    env.setdefault("ATLAS_ACCESS_LOG", "-")
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:webapp.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "webapp.asgi:create_app()",
    ]
    os.execvpe(argv[0], argv, env)


def _register_planning() -> None:
    from scripts.planning_cli import gaps, zones_app
    from scripts.whatif_cli import whatif_app

    app.command(
        "gaps",
        help="Zones blanches (communes au-delà du seuil) et communes sans choix (un seul réseau à moins de 30 min).",
    )(gaps)
    app.add_typer(zones_app, name="zones")
    app.add_typer(whatif_app, name="whatif")


_register_planning()


def _register_network_fetch() -> None:
    from scripts.network_fetch_cli import fetch

    network_app.command(
        "fetch", help="Télécharger l'extrait OpenStreetMap de la Région (reprise, MD5 vérifié) et afficher son chemin."
    )(fetch)


_register_network_fetch()


def _register_map() -> None:
    from scripts.map_cli import map_command

    app.command("map", help="Écrire la carte à partager : un fichier HTML autonome (folium), lisible hors connexion.")(
        map_command
    )


_register_map()


def _register_snapshot() -> None:
    from scripts.snapshot_cli import snapshot

    app.command("snapshot", help="Figer le bilan d'une année (instantané immuable) ou lister les instantanés.")(
        snapshot
    )


_register_snapshot()


def _register_refresh() -> None:
    from scripts.refresh_cli import refresh

    app.command(
        "refresh", help="Tout recharger (sources, réseau, temps, zones blanches) et publier en une transaction."
    )(refresh)


_register_refresh()


def main() -> None:
    """Entry point of the ``atlas`` console script: a database that does not answer is said in
    one line (exit 1), not as a traceback."""
    import psycopg

    try:
        app()
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        console.print(
            f"[bold red]Erreur[/] : base injoignable ({first}). Sans DATABASE_URL, lancer « atlas db up ».",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
