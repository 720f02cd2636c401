"""The steps of a publication, shared by ``atlas load``, ``atlas network load``, ``atlas
access``, ``atlas gaps`` and ``atlas refresh``.

Each function writes on the connection it is given and never commits: the command wraps
the steps it runs in :func:`storage.publish.publishing`, one transaction, so that readers
see either the previous complete state or the new one (see that module). No typer here.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import psycopg

from geo import french
from geo.errors import AtlasError
from geo.vocabulary import CHOICE_S, MODES, REACH_S, Mode
from scripts.common import MODE_LABELS, console, fail
from storage.publish import PublishedState


def osm_sha256(files: Sequence[Path]) -> str:
    """The SHA-256 recorded with networks built from ``files``: each file's digest, in order,
    space-separated. Fails (exit 2) when a file is missing."""
    from storage.access import file_sha256

    for file in files:
        if not file.is_file():
            raise fail(f"{file} : fichier introuvable")
    return " ".join(file_sha256(str(file)) for file in files)


def store_networks(
    conn: psycopg.Connection,
    files: Sequence[Path],
    modes: Iterable[Mode],
    *,
    sha256: str,
    force: bool = False,
    island_min_nodes: int = 200,
) -> None:
    """Build the graphs of ``modes`` from OSM extracts (one, or the neighbouring extracts of a
    Région that Geofabrik cuts into former Régions, read as one network; ``sha256`` then lists
    each file's digest, space-separated), read once for all modes, and store
    each (with the road density of its nodes, for the commune origins) before the next one is
    built (``storage.access.save_network``, which deletes that mode's times: :func:`republish`
    computes them again). Fails (exit 2) when the extract serves less than half of the
    Région's population, unless ``force``."""
    from geo.network.graph import strong_component_labels
    from geo.network.osm import graphs_from_osm_file
    from geo.origins import prepare_origins
    from geo.traveltimes import network_coverage
    from storage.access import read_communes, save_network
    from storage.common import StoreError, region_crs

    modes = list(modes)
    files = list(files)
    source = " + ".join(f.name for f in files)
    started = time.monotonic()
    unchanged = ", ".join(MODE_LABELS[m] for m in modes)
    try:
        communes = read_communes(conn)
        with console.status(f"Lecture de {source}"):
            graphs = graphs_from_osm_file(
                files, modes=modes, crs=region_crs(conn), island_min_nodes=island_min_nodes or None
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
                        f"{' + '.join(map(str, files))} : le réseau {MODE_LABELS[m]} ne dessert que {coverage:.0%} de la population "
                        "de la Région (extrait d'un autre territoire ?). --force pour l'enregistrer quand même."
                    )
                    raise fail(f"{msg}\nLe réseau {MODE_LABELS[m]} stocké n'a pas changé.")
                prepare_origins(graph)
                save_network(conn, graph, source=source, source_sha256=sha256)
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


def compute_access(
    conn: psycopg.Connection,
    modes: Iterable[Mode],
    *,
    isochrones: bool | Mapping[str, bool] = True,
    population_grid: Path | None = None,
) -> None:
    """Travel times from every commune to the nearest places, indicators and isochrones of
    each mode (``storage.access.replace_access``); the approximate commune graph when no OSM
    network is stored (straight line x detour, :mod:`geo.network.approximate`). ``isochrones``:
    one flag, or one per mode. ``population_grid``: a population grid file
    (:func:`geo.sources.population_grid.read_population_grid`), whose most populated cell is
    each commune's origin (road-network graphs only); its path is recorded with the run, so
    that a later publication (:func:`republish`, ``atlas refresh``) uses it again. Fails (exit 2) on bad data."""
    from geo.analysis.access import accessibility_tables
    from geo.analysis.inventory import COMPLETE_SHARE, with_incomplete_types
    from geo.french import APPROXIMATE_TIMES, percent
    from geo.isochrones import DEFAULT_MINUTES
    from geo.network.approximate import SOURCE_NAME, approximate_graph_from_communes
    from storage.access import load_network, read_communes, read_places, replace_access, save_network
    from storage.common import StoreError, region_crs
    from storage.planning import zone_columns
    from storage.read import inventory as read_inventory

    grid = None
    if population_grid is not None:
        from geo.sources.population_grid import read_population_grid

        try:
            grid = read_population_grid(population_grid)
        except AtlasError as exc:
            raise fail(str(exc)) from exc
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
    for m in modes:
        started = time.monotonic()
        with_isochrones = isochrones if isinstance(isochrones, bool) else isochrones.get(m, True)
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
                    isochrone_minutes=DEFAULT_MINUTES if with_isochrones else None,
                    levels=level_columns,
                    population_grid=grid,
                )
                if population_grid is not None:
                    result = dataclasses.replace(
                        result, params={**result.params, "population_grid": str(population_grid.resolve())}
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


def store_gaps(conn: psycopg.Connection, thresholds: Mapping[Mode, float]) -> None:
    """White zones (communes beyond ``thresholds[mode]`` seconds from each category) and
    communes with no choice (a single partner network within 30 minutes) of each mode given."""
    from geo.analysis.gaps import no_choice, white_zones
    from storage.planning import access_run, read_matrix, read_nearest, replace_gaps

    for m, threshold_s in thresholds.items():
        run = access_run(conn, m)
        if run is None:
            raise fail(f"pas de temps de trajet pour le mode {MODE_LABELS[m]} : lancer d'abord atlas access")
        communes, places, times = read_matrix(conn, m)
        nearest = read_nearest(conn, m)
        try:
            white = white_zones(nearest, communes, mode=m, threshold_s=threshold_s)
            single = no_choice(times, places, communes)
        except AtlasError as exc:
            raise fail(str(exc)) from exc
        rows = pd.concat(
            [
                pd.DataFrame(
                    {
                        "kind": "white_zone",
                        "category": white["category"],
                        "commune_code": white["commune_code"],
                        "seconds": white["seconds"],
                        "threshold_s": threshold_s,
                        "population": white["population"],
                    }
                ),
                pd.DataFrame(
                    {
                        "kind": "no_choice",
                        "category": single["category"],
                        "commune_code": single["commune_code"],
                        "seconds": single["seconds_nearest"],
                        "threshold_s": CHOICE_S,
                        "population": single["population"],
                    }
                ),
            ],
            ignore_index=True,
        )
        replace_gaps(conn, mode=m, gaps=rows, approximate=bool(run["approximate"]))
        any_white = white[white["category"] == "any"]
        any_single = single[single["category"] == "any"]
        console.print(
            f"{MODE_LABELS[m].capitalize()}{' (APPROXIMATIF)' if run['approximate'] else ''} : "
            f"{len(any_white)} communes ({french.number(any_white['population'].sum())} hab.) à plus de "
            f"{threshold_s / 60:g} min de tout lieu du SPRO ; {len(any_single)} communes "
            f"({french.number(any_single['population'].sum())} hab.) sans choix (un seul réseau à moins de 30 min) ; "
            f"{len(rows)} lignes enregistrées toutes catégories."
        )


def republish(conn: psycopg.Connection, before: PublishedState, *, modes: Iterable[Mode] = MODES) -> list[str]:
    """Compute again, in the caller's transaction, the times of every mode of ``modes`` that
    had published times before, then their white zones when they had some (same threshold).
    Returns the steps run (``access:drive``, ``gaps:drive``...)."""
    again = [m for m in modes if m in before.access_modes]
    steps: list[str] = []
    if again:
        compute_access(conn, again, isochrones=before.isochrones, population_grid=published_grid(before))
        steps += [f"access:{m}" for m in again]
    thresholds = {m: gap_threshold(before, m) for m in again if m in before.gap_thresholds}
    if thresholds:
        store_gaps(conn, thresholds)
        steps += [f"gaps:{m}" for m in thresholds]
    if again:
        console.print(
            "Temps de trajet" + (" et zones blanches" if thresholds else "") + " recalculés dans la même "
            "transaction : le public n'a jamais vu d'état sans temps.",
            soft_wrap=True,
        )
    return steps


def published_grid(state: PublishedState) -> Path | None:
    """The population grid file the published origins came from, when it is still there (a
    missing file is said: the origins then come from the road network)."""
    if state.population_grid is None:
        return None
    path = Path(state.population_grid)
    if path.is_file():
        return path
    console.print(
        f"[bold yellow]Attention[/] : carroyage de population {path} introuvable ; les communes partent "
        "du point le plus dense du réseau routier (atlas access --population-grid FICHIER pour le reprendre).",
        soft_wrap=True,
    )
    return None


def gap_threshold(state: PublishedState, mode: Mode) -> float:
    """The white-zone threshold (seconds) published for ``mode``, else the default of :data:`REACH_S`."""
    value = state.gap_thresholds.get(mode)
    return REACH_S[mode] if value is None or math.isnan(value) else value


__all__ = [
    "compute_access",
    "gap_threshold",
    "osm_sha256",
    "published_grid",
    "republish",
    "store_gaps",
    "store_networks",
]
