"""The ``atlas`` command: ``atlas db up|down|status|migrate``, ``atlas load``, ``atlas network
fetch|load|status``, ``atlas access``, ``atlas gaps``, ``atlas zones``, ``atlas whatif``, ``atlas export``,
``atlas serve``.

Each subcommand reads the settings, opens what it needs, calls the core and the store, and
prints a one-line summary. Errors in the input exit with status 2 and a message naming the
file, row and field; nothing is written in that case.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    MODE_LABELS,
    console,
    database_url,
    fail,
    modes_option,
    open_db,
)
from settings import Settings

if TYPE_CHECKING:
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
    """Load territories, partner types and structures into PostGIS, in one transaction."""
    from geo.sources.region import StructureSource, read_region_sources
    from storage.common import StoreError
    from storage.db import connect
    from storage.load import replace_region
    from storage.migrate import migrate

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
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("Lecture et validation des sources", total=3)
        try:
            sources = read_region_sources(
                data_dir,
                crs=settings.crs,
                region=region_code,
                extra_structures=extra,
                skip_invalid_rows=skip_invalid_rows,
            )
        except AtlasError as exc:
            hint = (
                "\nAvec --skip-invalid-rows, les lignes valides sont chargées et toutes les lignes en erreur listées."
                if getattr(exc, "skippable", False)
                else ""
            )
            raise fail(f"{exc}\nRien n'a été écrit dans la base.{hint}") from exc
        progress.update(task, advance=1, description="Migrations")
        with connect(database_url(settings)) as conn:
            migrate(conn)
            progress.update(task, advance=1, description="Écriture dans PostGIS (une transaction)")
            try:
                counts = replace_region(
                    conn,
                    region_code=sources.region_code,
                    crs=sources.crs,
                    communes=sources.communes,
                    territories=sources.territories,
                    partner_types=sources.partner_types,
                    structures=sources.structures,
                    datasets=sources.datasets,
                    files=sources.files,
                    started_at=started_at,
                    rejections=sources.rejected_rows(),
                    territories_source=sources.territories_source,
                )
            except StoreError as exc:
                raise fail(f"{exc}\nRien n'a été écrit dans la base.") from exc
        progress.update(task, advance=1)
    _print_load_summary(sources, counts, elapsed=time.monotonic() - started, var_dir=settings.var_dir)


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
    if counts.get("access_runs_cleared"):
        console.print(
            "Les temps de trajet, indicateurs et zones blanches calculés avant ce chargement sont effacés : "
            "relancer [bold]atlas access[/].",
            soft_wrap=True,
        )
    rejected = sources.rejected_rows()
    if rejected:
        path = var_dir / "rejets" / f"rejets-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8-sig", newline="") as out:  # BOM: Excel reads UTF-8 right
            writer = csv.writer(out, delimiter=";")
            writer.writerow(("fichier", "ligne", "champ", "motif"))
            writer.writerows(rejected)
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
    file: Annotated[Path, typer.Argument(help="Extrait OpenStreetMap (.osm.pbf, .osm).")],
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
    """Build the road graphs (car, walking) from an OSM extract and store them in PostGIS.

    The extract is read once for every mode; each graph is stored (with the road density
    of its nodes, for the commune origins) before the next one is built.
    """
    from geo.network.graph import strong_component_labels
    from geo.network.osm import graphs_from_osm_file
    from geo.origins import prepare_origins
    from geo.traveltimes import network_coverage
    from storage.access import file_sha256, read_communes, save_network
    from storage.common import StoreError, region_crs

    settings = Settings.from_env()
    modes = modes_option(mode)
    if not file.is_file():
        raise fail(f"{file} : fichier introuvable")
    sha256 = file_sha256(str(file))
    with open_db(settings) as conn:
        started = time.monotonic()
        unchanged = ", ".join(MODE_LABELS[m] for m in modes)
        try:
            communes = read_communes(conn)
            with console.status(f"Lecture de {file.name}"):
                graphs = graphs_from_osm_file(
                    file, modes=modes, crs=region_crs(conn), island_min_nodes=island_min_nodes or None
                )
                graph = next(graphs)
        except (AtlasError, StoreError) as exc:
            raise fail(f"{exc}\nRéseaux stockés inchangés ({unchanged}).") from exc
        for index, m in enumerate(modes):
            with console.status(f"Réseau {MODE_LABELS[m]} : construction et enregistrement"):
                try:
                    if index:
                        graph = next(graphs)
                    coverage = network_coverage(graph, communes)
                    if coverage < 0.5 and not force:
                        msg = (
                            f"{file} : le réseau {MODE_LABELS[m]} ne dessert que {coverage:.0%} de la population "
                            "de la Région (extrait d'un autre territoire ?). --force pour l'enregistrer quand même."
                        )
                        raise fail(f"{msg}\nLe réseau {MODE_LABELS[m]} stocké n'a pas changé.")
                    prepare_origins(graph)
                    save_network(conn, graph, source=file.name, source_sha256=sha256)
                except (AtlasError, StoreError) as exc:
                    raise fail(f"{exc}\nLe réseau {MODE_LABELS[m]} stocké n'a pas changé.") from exc
            # counted without the graph's memoised CSR, which nothing else needs here (peak memory)
            components = int(strong_component_labels(graph.src, graph.dst, graph.n_nodes).max()) + 1
            console.print(
                f"Réseau {MODE_LABELS[m]} : {graph.n_nodes} nœuds, {graph.n_edges} arcs "
                f"({components} composante(s) fortement connexe(s) gardée(s)), "
                f"{coverage:.1%} de la population desservie, "
                f"en {time.monotonic() - started:.1f} s."
            )
            if coverage < 0.99:
                console.print(
                    f"[bold yellow]Attention[/] : {1 - coverage:.1%} de la population vit dans des communes "
                    "hors de ce réseau (îles sans pont, extrait partiel) : leurs temps resteront inconnus."
                )
            started = time.monotonic()
            del graph
    console.print("Relancer [bold]atlas access[/] pour recalculer les temps de trajet.")


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
    result as approximate.
    """
    from geo.analysis.access import accessibility_tables
    from geo.analysis.inventory import COMPLETE_SHARE, with_incomplete_types
    from geo.french import APPROXIMATE_TIMES, percent
    from geo.isochrones import DEFAULT_MINUTES
    from geo.network.approximate import SOURCE_NAME, approximate_graph_from_communes
    from storage.access import (
        load_network,
        read_communes,
        read_places,
        replace_access,
        save_network,
    )
    from storage.common import StoreError, region_crs
    from storage.planning import zone_columns
    from storage.read import inventory as read_inventory

    settings = Settings.from_env()
    grid = None
    if population_grid is not None:
        from geo.sources.population_grid import read_population_grid

        try:
            grid = read_population_grid(population_grid)
        except AtlasError as exc:
            raise fail(str(exc)) from exc
    with open_db(settings) as conn:
        try:
            communes = read_communes(conn)
            places, labels = read_places(conn)
            crs = region_crs(conn)
            inventory = read_inventory(conn)
        except StoreError as exc:
            raise fail(str(exc)) from exc
        zones = zone_columns(conn)
        communes = communes.join(zones, on="code")
        level_columns = ("epci", "arrondissement", "departement", "region", *zones.columns)
        if communes.empty or places.empty:
            raise fail("aucune commune ou aucun lieu recevant du public : lancer d'abord atlas load")
        for m in modes_option(mode):
            started = time.monotonic()
            stored = load_network(conn, m)
            if stored is None or stored[1]["approximate"]:
                graph = approximate_graph_from_communes(communes, crs=crs, mode=m, places=places)
                save_network(conn, graph, source=SOURCE_NAME, source_sha256=None)
                network = SOURCE_NAME
                console.print(
                    f"[bold yellow]Attention[/] : pas de réseau OSM pour le mode {MODE_LABELS[m]} "
                    f"(atlas network fetch, puis atlas network load FICHIER.osm.pbf). Temps APPROXIMATIFS, "
                    f"{APPROXIMATE_TIMES}, et signalés comme tels partout.",
                    soft_wrap=True,
                )
            else:
                graph, meta = stored
                network = meta["source"]
            with console.status(f"Temps de trajet ({MODE_LABELS[m]})"):
                try:
                    result, indicators, polygons = accessibility_tables(
                        graph,
                        communes,
                        places,
                        partner_labels=labels,
                        isochrone_minutes=DEFAULT_MINUTES if isochrones else None,
                        levels=level_columns,
                        population_grid=grid,
                    )
                    result = dataclasses.replace(result, categories=with_incomplete_types(result.categories, inventory))
                    counts = replace_access(
                        conn, result=result, indicators=indicators, isochrones=polygons, network=network
                    )
                except (AtlasError, StoreError) as exc:
                    raise fail(f"{exc}\nLes résultats stockés n'ont pas changé.") from exc
            off = int(result.origins["off_network"].sum())
            if grid is not None and graph.approximate:
                console.print(
                    "Carroyage de population non utilisé : temps approximatifs, chaque commune part d'un point "
                    "de son territoire."
                )
            elif grid is not None:
                on_grid = int((result.origins["origin_method"] == "population_grid").sum())
                console.print(
                    f"Origines : {on_grid} commune(s) sur {len(result.origins)} partent de leur carreau le plus "
                    "peuplé, les autres du point le plus dense du réseau routier."
                )
            console.print(
                f"Accessibilité {MODE_LABELS[m]}{' (approximative)' if graph.approximate else ''} : "
                f"{counts['communes']} communes x {counts['categories']} catégories, "
                f"{counts['commune_structure_time']} couples commune-lieu, {counts['isochrone']} isochrones"
                + (f", {off} commune(s) hors réseau (îles ?)" if off else "")
                + f", en {time.monotonic() - started:.1f} s."
            )
            del graph, stored, result, polygons  # before the next mode's graph is read (peak memory)
        incomplete = [t.label for t in inventory if t.receives_public and not t.complete]
        if incomplete:
            console.print(
                f"[bold yellow]Inventaire incomplet[/] (lieux attendus inconnus ou moins de "
                f"{percent(COMPLETE_SHARE, 0)} chargés) : "
                f"{', '.join(incomplete)}. Les indicateurs qui comptent ces types portent la mention "
                "« inventaire incomplet » et restent hors des chiffres clés du rapport (section expected_sites d'atlas.toml).",
                soft_wrap=True,
            )


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
    from scripts.planning_cli import gaps, whatif, zones_app

    app.command(
        "gaps",
        help="Zones blanches (communes au-delà du seuil) et communes sans choix (un seul réseau à moins de 30 min).",
    )(gaps)
    app.add_typer(zones_app, name="zones")
    app.command(
        "whatif",
        help="Où de nouveaux lieux aideraient le plus (couverture maximale, p-médiane) et effet d'un scénario d'ouvertures et de fermetures.",
    )(whatif)


_register_planning()


def _register_network_fetch() -> None:
    from scripts.network_fetch_cli import fetch

    network_app.command(
        "fetch", help="Télécharger l'extrait OpenStreetMap de la Région (reprise, MD5 vérifié) et afficher son chemin."
    )(fetch)


_register_network_fetch()


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
