"""Planners' commands: ``atlas gaps``, ``atlas zones propose|import|compare|list``, ``atlas whatif``.

Thin wrappers: read what the core needs from PostGIS (``storage.planning``), call the core
(``geo.analysis.gaps``, ``geo.zoning``, ``geo.analysis.location``), store the result,
print a French summary. Input errors exit with status 2 and change nothing.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from geo import french
from geo.errors import AtlasError
from geo.vocabulary import COVER_S, MODES, REACH_S

if TYPE_CHECKING:
    import geopandas as gpd
    import psycopg

from scripts.common import (
    MODE_LABELS,
    console,
    fail,
    mode_option,
    modes_option,
    open_db,
)

zones_app = typer.Typer(help="Zonages infrarégionaux : proposer, importer, comparer.", no_args_is_help=True)
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _check_id(value: str, what: str) -> str:
    if not ID_PATTERN.match(value):
        raise fail(f"identifiant de {what} invalide {value!r} : minuscules, chiffres, - et _ (63 caractères au plus)")
    return value


# ----------------------------------------------------------------------- gaps
def gaps(
    mode: Annotated[list[str] | None, typer.Option(help="drive et/ou walk ; les deux par défaut.")] = None,
    drive_minutes: Annotated[float, typer.Option(help="Seuil en voiture (minutes).")] = REACH_S["drive"] / 60,
    walk_minutes: Annotated[float, typer.Option(help="Seuil à pied (minutes).")] = REACH_S["walk"] / 60,
) -> None:
    """White zones (communes beyond the threshold from each category) and communes with no
    choice (a single partner network within 30 minutes); stored in PostGIS, every mode in one
    publication (``storage.publish``)."""
    from scripts.publish import store_gaps
    from storage.publish import publishing

    thresholds = {"drive": drive_minutes * 60.0, "walk": walk_minutes * 60.0}
    if min(thresholds.values()) <= 0:
        raise fail("les seuils doivent être positifs (minutes)")
    with open_db() as conn, publishing(conn, ["gaps"]):
        store_gaps(conn, {m: thresholds[m] for m in modes_option(mode)})


# ---------------------------------------------------------------------- zones
@zones_app.command(
    "propose",
    help="Proposer des zones infrarégionales contiguës (bassins des pôles ou max-p sous contraintes) avec leurs indicateurs.",
)
def zones_propose(
    zoning_id: Annotated[str, typer.Option("--id", help="Identifiant du zonage (ex. bassins-2026).")],
    method: Annotated[
        str, typer.Option(help="catchment (bassins des pôles) ou regionalize (max-p sous contraintes).")
    ] = "catchment",
    min_population: Annotated[int, typer.Option(help="Population minimale d'une zone (habitants).")] = 20_000,
    max_hub_minutes: Annotated[
        float | None, typer.Option(help="Temps maximal jusqu'au pôle de la zone (regionalize).")
    ] = None,
    nest: Annotated[str | None, typer.Option(help="Emboîter dans departement ou epci (regionalize).")] = None,
    mode: Annotated[str, typer.Option(help="Temps de trajet utilisés : drive ou walk.")] = "drive",
    label: Annotated[str | None, typer.Option(help="Libellé affiché.")] = None,
    seed: Annotated[int, typer.Option(help="Graine (regionalize) : résultats reproductibles.")] = 0,
) -> None:
    """Propose infra-regional zones (contiguous groups of communes) and store them with
    their indicators and the reason for their shape."""
    from geo.zoning.catchment import catchment_zones
    from geo.zoning.regionalize import regionalize

    _check_id(zoning_id, "zonage")
    mode = mode_option(mode)
    if method not in ("catchment", "regionalize"):
        raise fail(f"méthode inconnue {method!r} : attendu catchment ou regionalize")
    if nest not in (None, "departement", "epci"):
        raise fail(f"emboîtement inconnu {nest!r} : attendu departement ou epci")
    started = time.monotonic()
    with open_db() as conn:
        from storage.planning import read_matrix

        try:
            communes, places, times = read_matrix(conn, mode)
        except Exception as exc:
            raise fail(str(exc)) from exc
        try:
            if method == "catchment":
                zoning = catchment_zones(communes, places, times, min_population=min_population)
            else:
                zoning = regionalize(
                    communes,
                    places,
                    times,
                    min_population=min_population,
                    max_hub_time_s=None if max_hub_minutes is None else max_hub_minutes * 60.0,
                    nest_by=nest,
                    seed=seed,
                )
        except AtlasError as exc:
            raise fail(str(exc)) from exc
        default_label = "Bassins des pôles" if method == "catchment" else "Zones max-p sous contraintes"
        n = _store_zoning(
            conn,
            communes,
            zoning_id,
            label or f"{default_label} ({min_population} hab. min.)",
            zoning.method or method,
            {**zoning.params, "mode": mode},
            zoning.assignment,
            zoning.zones,
            source=None,
        )
    console.print(
        f"Zonage {zoning_id} : {len(zoning.zones)} zones, {n} lignes d'indicateurs, en {time.monotonic() - started:.1f} s."
    )
    for row in zoning.zones.head(12).itertuples():
        console.print(
            f"  {row.zone_id} {row.name} : {french.number(row.population)} hab., {row.n_communes} communes. {row.explanation}",
            highlight=False,
            soft_wrap=True,
        )
    if zoning.violations:
        console.print(f"[bold yellow]{len(zoning.violations)} contrainte(s) non respectée(s)[/] :")
        for violation in zoning.violations[:20]:
            console.print(
                f"  - {violation.constraint} {violation.zone_id or ''} : {violation.message}", highlight=False
            )
    else:
        console.print("Toutes les contraintes sont respectées (contiguïté, population, missions, temps au pôle).")


@zones_app.command(
    "import", help="Importer un zonage dessiné par les services (CSV commune→zone ou polygones) et le valider."
)
def zones_import(
    file: Annotated[Path, typer.Argument(help="CSV commune→zone, ou polygones (GeoPackage, GeoJSON).")],
    zoning_id: Annotated[str, typer.Option("--id", help="Identifiant du zonage.")],
    label: Annotated[str | None, typer.Option(help="Libellé affiché.")] = None,
    zone_column: Annotated[str | None, typer.Option(help="Colonne de la zone (défaut : zone).")] = None,
) -> None:
    """Load a zoning drawn by planners and validate it (every commune exactly once;
    contiguity warnings)."""
    from geo.sources.zoning_files import read_zoning_csv, read_zoning_polygons
    from geo.zoning.checks import check_zoning
    from geo.zoning.model import zone_table
    from storage.access import read_communes

    _check_id(zoning_id, "zonage")
    if not file.is_file():
        raise fail(f"{file} : fichier introuvable")
    with open_db() as conn:
        communes = read_communes(conn)
        try:
            if file.suffix.lower() in (".csv", ".txt"):
                mapping = read_zoning_csv(file, zone_column=zone_column)
            else:
                mapping = read_zoning_polygons(file, communes, zone_column=zone_column)
            issues = check_zoning(mapping, communes, contiguity="warning")
        except AtlasError as exc:
            raise fail(f"{exc}\nRien n'a été écrit.") from exc
        errors = [i for i in issues if i.severity == "error"]
        for issue in issues[:30]:
            console.print(
                f"  - {'ERREUR' if issue.severity == 'error' else 'avertissement'} : {issue.message}",
                highlight=False,
                soft_wrap=True,
            )
        if errors:
            raise fail(f"{len(errors)} erreur(s) dans {file.name} ; rien n'a été écrit.")
        assignment = mapping[["commune_code", "zone_id"]].astype(str)
        zones = zone_table(communes, assignment, explanation=f"Zonage importé de {file.name}")
        n = _store_zoning(
            conn,
            communes,
            zoning_id,
            label or f"Zonage importé ({file.name})",
            "imported",
            {"file": file.name},
            assignment,
            zones,
            source=file.name,
        )
    console.print(
        f"Zonage {zoning_id} importé : {len(zones)} zones, {len(assignment)} communes, {n} lignes d'indicateurs"
        + (f", {len(issues)} avertissement(s)." if issues else ".")
    )


@zones_app.command(
    "compare", help="Comparer deux zonages : recouvrement, indice de Rand ajusté, population mal placée."
)
def zones_compare(
    a: Annotated[str, typer.Argument(help="Zonage A : identifiant stocké, ou epci / arrondissement / departement.")],
    b: Annotated[str, typer.Argument(help="Zonage B (idem).")],
    output: Annotated[Path | None, typer.Option(help="GeoPackage de la carte des différences.")] = None,
) -> None:
    """Compare two zonings: overlap table, adjusted Rand index, population mismatched."""
    from geo.zoning.compare import compare_zonings
    from storage.access import read_communes
    from storage.common import StoreError
    from storage.planning import read_assignment

    with open_db() as conn:
        communes = read_communes(conn)
        try:
            left, right = read_assignment(conn, a), read_assignment(conn, b)
        except StoreError as exc:
            raise fail(str(exc)) from exc
    try:
        result = compare_zonings(left, right, communes)
    except AtlasError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"{a} / {b} : indice de Rand ajusté {result.ari:.3f} (communes), {result.ari_population:.3f} (population)"
    )
    typer.echo(
        f"population dans une zone différente de la zone correspondante : {french.number(result.mismatched_population)} "
        f"hab. ({result.mismatched_share:.1%})"
    )
    top = result.overlap.sort_values("population", ascending=False).head(15)
    for row in top.itertuples():
        typer.echo(f"  {row.zone_a} ∩ {row.zone_b} : {row.n_communes} communes, {french.number(row.population)} hab.")
    if output is not None:
        import pyogrio

        output.unlink(missing_ok=True)
        pyogrio.write_dataframe(result.communes, output, layer="differences", driver="GPKG")
        pyogrio.write_dataframe(result.overlap, output, layer="recouvrement", driver="GPKG")
        typer.echo(f"carte des différences : {output}")


@zones_app.command("list", help="Lister les zonages enregistrés.")
def zones_list() -> None:
    """List the stored zonings."""
    from storage.read import zonings

    with open_db() as conn:
        rows = zonings(conn)
    if not rows:
        typer.echo("Aucun zonage stocké (atlas zones propose / import).")
    for row in rows:
        typer.echo(
            f"{row['zoning_id']} : {row['label']} ({row['method']}, {row['n_zones']} zones, {row['created_at']:%Y-%m-%d})"
        )


def _store_zoning(
    conn: psycopg.Connection,
    communes: gpd.GeoDataFrame,
    zoning_id: str,
    label: str,
    method: str,
    params: dict[str, Any],
    assignment: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    *,
    source: str | None,
) -> int:
    """Store a zoning and, when travel times exist, its indicators per mode, published in one
    transaction (``storage.publish``)."""
    from storage.publish import publishing

    with publishing(conn, ["zoning"]):
        return _write_zoning(conn, communes, zoning_id, label, method, params, assignment, zones, source=source)


def _write_zoning(
    conn: psycopg.Connection,
    communes: gpd.GeoDataFrame,
    zoning_id: str,
    label: str,
    method: str,
    params: dict[str, Any],
    assignment: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    *,
    source: str | None,
) -> int:
    from geo.analysis.access import summarise_levels
    from storage.common import StoreError
    from storage.planning import (
        access_run,
        read_nearest,
        replace_level_indicators,
        save_zoning,
    )

    try:
        save_zoning(
            conn,
            zoning_id=zoning_id,
            label=label,
            method=method,
            params=params,
            assignment=assignment,
            zones=zones,
            source=source,
        )
    except StoreError as exc:
        raise fail(str(exc)) from exc
    communes = communes.copy()
    level = f"zone:{zoning_id}"
    communes[level] = communes["code"].map(assignment.set_index("commune_code")["zone_id"])
    written = 0
    for m in MODES:
        run = access_run(conn, m)
        if run is None:
            continue
        levels = summarise_levels(read_nearest(conn, m), communes, levels=(level,))
        written += replace_level_indicators(
            conn, level=level, mode=m, indicators=levels, approximate=bool(run["approximate"])
        )
    return written


# --------------------------------------------------------------------- what-if
def whatif(
    category: Annotated[str, typer.Option(help="Catégorie de lieux (any, mission:conseil, public:jeunes…).")] = "any",
    mode: Annotated[str, typer.Option(help="drive ou walk.")] = "drive",
    k: Annotated[int, typer.Option(help="Nombre de nouveaux lieux à proposer (0 : évaluer seulement).")] = 3,
    objective: Annotated[str, typer.Option(help="coverage (couverture maximale) ou median (p-médiane).")] = "coverage",
    minutes: Annotated[float, typer.Option(help="Seuil de couverture (minutes).")] = COVER_S / 60,
    add: Annotated[list[str] | None, typer.Option(help="Code commune où ajouter un lieu (scénario).")] = None,
    close: Annotated[list[str] | None, typer.Option(help="structure_id d'un lieu fermé (scénario).")] = None,
    zoning: Annotated[
        str, typer.Option(help="Zonage des indicateurs : identifiant, epci, departement…")
    ] = "departement",
    scenario_id: Annotated[
        str | None, typer.Option("--id", help="Enregistrer le scénario sous cet identifiant.")
    ] = None,
) -> None:
    """Where new places would help most (maximal covering or p-median, existing places
    kept), and the effect of a scenario of openings and closures."""
    from geo.analysis.location import OBJECTIVES, evaluate_scenario, locate_new_sites
    from geo.categories import Category
    from geo.traveltimes import commune_times
    from storage.access import load_network
    from storage.common import StoreError
    from storage.planning import access_run, read_assignment, read_matrix, save_scenario

    mode = mode_option(mode)
    chosen_objective = OBJECTIVES.get(objective)
    if chosen_objective is None:
        raise fail(f"objectif inconnu {objective!r} : attendu coverage ou median")
    if k < 0 or k > 50:
        raise fail("k doit être entre 0 et 50")
    if scenario_id is not None:
        _check_id(scenario_id, "scénario")
    threshold_s = minutes * 60.0
    try:
        wanted = Category.from_code(category)
    except AtlasError as exc:
        raise fail(str(exc)) from exc
    started = time.monotonic()
    with open_db() as conn:
        run = access_run(conn, mode)
        if run is None:
            raise fail(f"pas de temps de trajet pour le mode {MODE_LABELS[mode]} : lancer d'abord atlas access")
        try:
            communes, places, times = read_matrix(conn, mode)
            assignment = read_assignment(conn, zoning)
        except StoreError as exc:
            raise fail(str(exc)) from exc
        mask = wanted.mask(places)
        if not mask.any():
            raise fail(f"aucun lieu dans la catégorie {category!r}")
        stored = load_network(conn, mode)
        if stored is None:
            raise fail(f"pas de réseau {MODE_LABELS[mode]} enregistré : relancer atlas access")
        between = commune_times(stored[0], communes)
        sites = places[mask].reset_index(drop=True)
        times = times[:, mask]
        chosen: list[str] = []
        gained: list[float] = []
        try:
            if k:
                located = locate_new_sites(
                    communes, times, between, k=k, objective=chosen_objective, threshold_s=threshold_s
                )
                # Each site's own gain, largest first (geo.analysis.location.site_gains).
                chosen = located.gains["commune_code"].tolist()
                gained = located.gains["population_covered"].tolist()
            result = evaluate_scenario(
                communes,
                times,
                sites,
                commune_times_s=between,
                add_at=[*chosen, *(add or [])],
                close=close or [],
                threshold_s=threshold_s,
                zoning=assignment,
            )
        except AtlasError as exc:
            raise fail(str(exc)) from exc
        names = communes.set_index("code")["name"]
        approx = " (temps APPROXIMATIFS)" if run["approximate"] else ""
        typer.echo(f"{wanted.label()} — {MODE_LABELS[mode]}, seuil {minutes:g} min{approx}")
        for rank, code in enumerate(chosen, start=1):
            typer.echo(
                f"  {rank}. {names[code]} ({code}) : +{french.number(gained[rank - 1])} hab. à moins de {minutes:g} min"
            )
        typer.echo(
            f"population nouvellement couverte : {french.number(result.newly_covered_population)} hab. ; "
            f"plus couverte : {french.number(result.no_longer_covered_population)} hab."
        )
        total = result.zones[result.zones["zone_id"].isna()].iloc[0]
        typer.echo(
            f"part à moins de {minutes:g} min : {total['share_within_before']:.1%} → {total['share_within_after']:.1%}"
        )
        if scenario_id is not None:
            sites_rows = [
                {"action": "add", "commune_code": c, "population_gained": g}
                for c, g in zip(chosen, gained, strict=True)
            ]
            sites_rows += [{"action": "add", "commune_code": c} for c in add or []]
            sites_rows += [{"action": "close", "structure_id": s} for s in close or []]
            save_scenario(
                conn,
                scenario_id=scenario_id,
                label=f"{wanted.label()} ({MODE_LABELS[mode]}, {minutes:g} min)",
                method=objective if k else "evaluation",
                mode=mode,
                category=category,
                params={"k": k, "threshold_s": threshold_s, "zoning": zoning, "add": add or [], "close": close or []},
                summary={
                    "newly_covered": result.newly_covered_population,
                    "no_longer_covered": result.no_longer_covered_population,
                    "zones": result.zones.to_dict("records"),
                },
                sites=sites_rows,
                approximate=bool(run["approximate"]),
            )
            typer.echo(f"scénario enregistré : {scenario_id}")
    console.print(f"({time.monotonic() - started:.1f} s)")
