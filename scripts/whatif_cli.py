"""``atlas whatif``: where new places would help most, among real candidate sites or every
commune, and the effect of a scenario of openings and closures; ``atlas whatif list | show
| delete`` for the stored scenarios.

Thin wrapper: reads the matrix and the network from PostGIS, calls
:mod:`geo.analysis.location` and :mod:`geo.sources.candidates`, stores the scenario and its
per-zone effect (``storage.planning``), prints a French summary. Input errors exit with
status 2 and change nothing.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer

from geo import french
from geo.errors import AtlasError, ValidationError
from geo.vocabulary import COVER_S, Mode
from scripts.common import MODE_LABELS, console, fail, mode_option, open_db

if TYPE_CHECKING:
    import geopandas as gpd

whatif_app = typer.Typer(
    help="Où de nouveaux lieux aideraient le plus (parmi des sites candidats réels ou toutes les communes) "
    "et effet d'un scénario d'ouvertures et de fermetures ; list / show / delete pour les scénarios enregistrés.",
    invoke_without_command=True,
)


def french_error(exc: AtlasError) -> str:
    """An error as the planner reads it: « fichier, ligne 4, colonne « cout » : message »."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    where = [exc.file] if exc.file else []
    if exc.row is not None:
        where.append(f"ligne {exc.row}")
    if exc.field:
        where.append(f"colonne « {exc.field} »")
    return f"{', '.join(where)} : {exc.message}" if where else exc.message


def _minutes(seconds: float) -> str:
    """A time or a gain: minutes with one decimal (« 3,5 min »), seconds under a minute
    (« 12 s », so that a small gain does not read « 0,0 min »), « – » when unknown."""
    if not math.isfinite(seconds):
        return french.UNKNOWN
    if abs(seconds) < 60:
        return f"{french.number(seconds)}{french.NBSP}s"
    return f"{french.number(seconds / 60, 1)}{french.NBSP}min"


@whatif_app.callback()
def whatif(
    ctx: typer.Context,
    category: Annotated[str, typer.Option(help="Catégorie de lieux (any, mission:conseil, public:jeunes…).")] = "any",
    mode: Annotated[str, typer.Option(help="drive ou walk.")] = "drive",
    k: Annotated[
        int | None,
        typer.Option(help="Nombre de nouveaux lieux (0 : évaluer seulement) ; au plus, avec --budget. Défaut : 3."),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="coverage (couverture maximale) ou median (p-médiane : temps gagné).")
    ] = "coverage",
    minutes: Annotated[float, typer.Option(help="Seuil de couverture (minutes).")] = COVER_S / 60,
    candidates: Annotated[
        Path | None,
        typer.Option(help="CSV des sites candidats : nom ; lat/lon, code_insee ou adresse ; cout, capacite."),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(help="Budget que la somme des coûts des sites choisis (colonne cout) ne peut dépasser."),
    ] = None,
    partner_type: Annotated[
        list[str] | None,
        typer.Option(help="Ne mesurer que ce type de partenaire (répétable), ex. mission_locale."),
    ] = None,
    tout_public: Annotated[
        bool,
        typer.Option(
            "--tout-public",
            help="Pour public:<p>, compter aussi les lieux ouverts à tous (France services…) : « tout lieu "
            "accueillant ce public ». Par défaut, seuls les lieux dont les publics le nomment.",
        ),
    ] = False,
    add: Annotated[list[str] | None, typer.Option(help="Code commune où ajouter un lieu (scénario).")] = None,
    close: Annotated[list[str] | None, typer.Option(help="structure_id d'un lieu fermé (scénario).")] = None,
    zoning: Annotated[
        str, typer.Option(help="Zonage de l'effet par zone : identifiant, epci, departement, zone-emploi…")
    ] = "departement",
    scenario_id: Annotated[
        str | None, typer.Option("--id", help="Enregistrer le scénario sous cet identifiant.")
    ] = None,
    author: Annotated[str | None, typer.Option(help="Auteur du scénario (texte libre).")] = None,
    note: Annotated[str | None, typer.Option(help="Note sur le scénario (texte libre).")] = None,
) -> None:
    """Where new places would help most (maximal covering or p-median, existing places
    kept), among the candidate sites of a file or every commune, within a budget; and the
    effect of a scenario of openings and closures, per zone."""
    if ctx.invoked_subcommand is not None:
        return
    from geo.analysis.location import OBJECTIVES
    from scripts.planning_cli import _check_id

    mode = mode_option(mode)
    if OBJECTIVES.get(objective) is None:
        raise fail(f"objectif inconnu {objective!r} : attendu coverage ou median")
    if k is not None and not 0 <= k <= 50:
        raise fail("k doit être entre 0 et 50")
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        raise fail("le budget doit être un nombre positif ou nul")
    if budget is not None and candidates is None:
        raise fail("--budget demande --candidates : un fichier de sites candidats avec leur coût (colonne cout)")
    if not minutes > 0:
        raise fail("le seuil doit être positif (minutes)")
    if scenario_id is not None:
        _check_id(scenario_id, "scénario")
    if candidates is not None and not candidates.is_file():
        raise fail(f"{candidates} : fichier introuvable")
    started = time.monotonic()
    _run(
        category=category,
        mode=mode,
        k=k,
        objective=objective,
        threshold_s=minutes * 60.0,
        candidates_file=candidates,
        budget=budget,
        partner_types=partner_type or [],
        general=tout_public,
        add=add or [],
        close=close or [],
        zoning=zoning,
        scenario_id=scenario_id,
        author=author,
        note=note,
    )
    console.print(f"({french.number(time.monotonic() - started, 1)} s)")


def _run(
    *,
    category: str,
    mode: Mode,
    k: int | None,
    objective: str,
    threshold_s: float,
    candidates_file: Path | None,
    budget: float | None,
    partner_types: list[str],
    general: bool,
    add: list[str],
    close: list[str],
    zoning: str,
    scenario_id: str | None,
    author: str | None,
    note: str | None,
) -> None:
    from geo.analysis.location import (
        evaluate_scenario,
        maximal_covering,
        p_median,
        site_gains,
        site_loads,
        time_gains,
    )
    from geo.categories import Category
    from geo.sources.candidates import POSITIONS, read_candidates
    from geo.zoning.model import zone_table
    from storage.access import load_network
    from storage.common import StoreError
    from storage.planning import access_run, read_assignment, read_matrix, save_scenario, zone_names

    try:
        wanted = Category.from_code(category)
    except AtlasError as exc:
        raise fail(str(exc)) from exc
    minutes = threshold_s / 60
    with open_db() as conn:
        run = access_run(conn, mode)
        if run is None:
            raise fail(f"pas de temps de trajet pour le mode {MODE_LABELS[mode]} : lancer d'abord atlas access")
        try:
            communes, places, times = read_matrix(conn, mode)
            assignment = read_assignment(conn, zoning)
        except StoreError as exc:
            raise fail(str(exc)) from exc
        names_of_zones = zone_names(conn, zoning)
        mask = wanted.mask(places, general=general)
        unknown_types = sorted(set(partner_types) - set(places["partner_type"]))
        if unknown_types:
            raise fail(f"type de partenaire inconnu ou sans lieu : {', '.join(unknown_types)}")
        if partner_types:
            mask = mask & places["partner_type"].isin(partner_types).to_numpy(dtype=bool)
        if not mask.any():
            raise fail(f"aucun lieu dans la catégorie {category!r}" + (" pour ces types" if partner_types else ""))
        unknown_close = sorted(set(close) - set(places.loc[mask, "structure_id"]))
        if unknown_close:
            raise fail(f"lieu à fermer hors de la catégorie mesurée ou inconnu : {', '.join(unknown_close)}")
        stored = load_network(conn, mode)
        if stored is None:
            raise fail(f"pas de réseau {MODE_LABELS[mode]} enregistré : relancer atlas access")
        graph = stored[0]
        try:
            options = read_candidates(candidates_file, communes) if candidates_file is not None else None
            if options is not None and budget is not None and options["cost"].isna().any():
                missing = int(options.loc[options["cost"].isna(), "row"].iloc[0])
                msg = "coût manquant : avec --budget, chaque candidat a besoin d'un coût"
                raise ValidationError(msg, file=candidates_file, row=missing, field="cout")
        except AtlasError as exc:
            raise fail(french_error(exc)) from exc
        sites = places[mask].reset_index(drop=True)
        times = times[:, mask]
        population = communes["population"].to_numpy(dtype=np.float64)
        codes = communes["code"].astype(str)
        at_origin = options is None or bool((options["position"] != "coordonnees").any())
        between = _commune_times(graph, communes, needed=at_origin or bool(add))
        if options is not None:
            option_times = _candidate_times(graph, communes, options, between)
            labels = [
                f"{row.name} ({communes['name'].iloc[int(np.flatnonzero(codes == row.commune_code)[0])]}, "
                f"{POSITIONS[row.position]})"
                for row in options.itertuples()
            ]
        elif between is not None:
            option_times = between
            labels = [f"{name} ({code})" for code, name in zip(codes, communes["name"], strict=True)]
        n_options = option_times.shape[1]
        wanted_k = (n_options if budget is not None else 3) if k is None else k
        wanted_k = min(wanted_k, n_options)
        try:
            model = maximal_covering if objective == "coverage" else p_median
            kwargs: dict[str, Any] = {"threshold_s": threshold_s} if objective == "coverage" else {}
            located = model(
                population,
                times,
                option_times,
                k=wanted_k,
                costs=None if options is None else options["cost"].to_numpy(dtype=float),
                budget=budget,
                **kwargs,
            )
            chosen = [int(j) for j in located.chosen]
            gains = site_gains(population, located.seconds_before, option_times, chosen, threshold_s=threshold_s)
            order = [int(j) for j in gains["position"]]
            add_codes = [*add]
            result = evaluate_scenario(
                communes,
                times,
                sites,
                commune_times_s=between,
                add_at=add_codes,
                added_times_s=option_times[:, order],
                close=close,
                threshold_s=threshold_s,
                zoning=assignment,
            )
        except AtlasError as exc:
            raise fail(french_error(exc)) from exc
        gained = time_gains(
            population, result.communes["seconds_before"].to_numpy(), result.communes["seconds_after"].to_numpy()
        )
        loads = site_loads(population, located.seconds_before, option_times[:, order])

        approx = " (temps APPROXIMATIFS)" if run["approximate"] else ""
        measured = wanted.label() + ("" if general or wanted.kind != "public" else " (lieux dédiés à ce public)")
        if partner_types:
            measured += f", types : {', '.join(partner_types)}"
        typer.echo(f"{measured} — {MODE_LABELS[mode]}, seuil {french.number(minutes)} min{approx}")
        typer.echo(
            f"{len(sites)} lieux mesurés ; {n_options} "
            + (
                f"sites candidats ({candidates_file.name})"
                if options is not None and candidates_file
                else "communes candidates"
            )
        )
        total_cost = 0.0
        site_rows: list[dict[str, Any]] = []
        for rank, (j, covered, saved, load) in enumerate(
            zip(order, gains["population_covered"], gains["person_seconds_saved"], loads, strict=True), start=1
        ):
            line = (
                f"  {rank}. {labels[j]} : +{french.number(covered)} hab. à moins de {french.number(minutes)} min, "
                f"{french.number(saved / 3600)} heures-habitant gagnées ; nouveau lieu le plus proche pour "
                f"{french.number(load)} hab."
            )
            row: dict[str, Any] = {
                "action": "add",
                "commune_code": str(codes.iloc[j]) if options is None else options["commune_code"].iloc[j],
                "population_gained": covered,
                "name": None if options is None else options["name"].iloc[j],
            }
            if options is not None:
                cost, capacity = float(options["cost"].iloc[j]), float(options["capacity"].iloc[j])
                if math.isfinite(cost):
                    total_cost += cost
                    line += f" ; coût {french.number(cost)}"
                    row["cost"] = cost
                if math.isfinite(capacity):
                    row["capacity"] = capacity
                    line += f" ; capacité {french.number(capacity)}" + (" — DÉPASSÉE" if load > capacity else "")
            typer.echo(line)
            site_rows.append(row)
        if budget is not None:
            typer.echo(f"coût total {french.number(total_cost)} pour un budget de {french.number(budget)}")
        if not order and wanted_k:
            typer.echo("aucun site candidat n'apporte de gain" + (" dans le budget" if budget is not None else ""))
        typer.echo(
            f"population nouvellement couverte : {french.number(result.newly_covered_population)} hab. ; "
            f"plus couverte : {french.number(result.no_longer_covered_population)} hab."
        )
        total = result.zones[result.zones["zone_id"].isna()].iloc[0]
        typer.echo(
            f"part à moins de {french.number(minutes)} min : {french.percent(total['share_within_before'])} → "
            f"{french.percent(total['share_within_after'])}"
        )
        typer.echo(
            f"temps gagné, pondéré par la population : moyenne {_minutes(gained.mean_s)}, médiane "
            f"{_minutes(gained.median_s)}, pour les 10 % les plus éloignés {_minutes(gained.farthest_mean_s)}"
            + (
                f" ; {french.number(gained.newly_reached)} hab. atteignent un lieu qu'ils n'atteignaient pas"
                if gained.newly_reached
                else ""
            )
            + (
                f" ; {french.number(gained.no_longer_reached)} hab. n'en atteignent plus"
                if gained.no_longer_reached
                else ""
            )
        )
        if gained.changed_population:
            verb = "gagnées" if gained.changed_mean_s >= 0 else "perdues"
            typer.echo(
                f"pour les {french.number(gained.changed_population)} hab. dont le temps change : "
                f"{_minutes(abs(gained.changed_mean_s))} {verb} en moyenne"
            )
        zones = _zone_effects(result, names_of_zones, zone_table(communes, assignment))
        changed = zones[(zones["mean_seconds_after"] != zones["mean_seconds_before"]) | (zones["newly_covered"] > 0)]
        typer.echo(f"effet par zone ({zoning}) : {len(changed)} zone(s) changent sur {len(zones)}")
        for z in (
            changed.assign(delta=lambda f: (f["mean_seconds_after"] - f["mean_seconds_before"]).fillna(0.0))
            .sort_values("delta")
            .head(10)
            .itertuples()
        ):
            typer.echo(
                f"  {z.name} : temps moyen {_minutes(z.mean_seconds_before)} → {_minutes(z.mean_seconds_after)}, "
                f"part à moins de {french.number(minutes)} min {french.percent(z.share_within_before)} → "
                f"{french.percent(z.share_within_after)}"
            )
        if scenario_id is not None:
            site_rows += [{"action": "add", "commune_code": c} for c in add]
            site_rows += [{"action": "close", "structure_id": s} for s in close]
            save_scenario(
                conn,
                scenario_id=scenario_id,
                label=f"{measured} — {MODE_LABELS[mode]}, {french.number(minutes)} min",
                method=objective if wanted_k else "evaluation",
                mode=mode,
                category=category,
                params={
                    "k": wanted_k,
                    "threshold_s": threshold_s,
                    "zoning": zoning,
                    "add": add,
                    "close": close,
                    "candidates": None if candidates_file is None else candidates_file.name,
                    "budget": budget,
                    "partner_types": partner_types,
                    "general": general,
                },
                summary={
                    "newly_covered": result.newly_covered_population,
                    "no_longer_covered": result.no_longer_covered_population,
                    "share_within_before": total["share_within_before"],
                    "share_within_after": total["share_within_after"],
                    "mean_gain_s": gained.mean_s,
                    "median_gain_s": gained.median_s,
                    "farthest_mean_gain_s": gained.farthest_mean_s,
                    "changed_population": gained.changed_population,
                    "changed_mean_gain_s": gained.changed_mean_s,
                    "newly_reached": gained.newly_reached,
                    "no_longer_reached": gained.no_longer_reached,
                    "total_cost": total_cost if options is not None else None,
                    "zones": result.zones.to_dict("records"),
                },
                sites=site_rows,
                approximate=bool(run["approximate"]),
                zones=zones,
                author=author,
                note=note,
            )
            typer.echo(f"scénario enregistré : {scenario_id}")


def _commune_times(graph: Any, communes: gpd.GeoDataFrame, *, needed: bool) -> np.ndarray | None:
    """Commune x commune times when a site may be put at a commune's origin, else None."""
    from geo.traveltimes import commune_times

    return commune_times(graph, communes) if needed else None


def _candidate_times(
    graph: Any, communes: gpd.GeoDataFrame, options: gpd.GeoDataFrame, between: np.ndarray | None
) -> np.ndarray:
    """``(n_communes, n_candidates)`` seconds: to the given point, else to the commune's origin."""
    import geopandas as gpd

    from geo.traveltimes import travel_times

    result = np.full((len(communes), len(options)), np.inf)
    positions = pd.Index(communes["code"].astype(str)).get_indexer(options["commune_code"])
    at_origin = (options["position"] != "coordonnees").to_numpy()
    if at_origin.any() and between is not None:
        result[:, at_origin] = between[:, positions[at_origin]]
    points = options[~at_origin]
    if len(points):
        frame = gpd.GeoDataFrame(
            {
                "structure_id": [f"candidat-{i:05d}" for i in range(len(points))],
                "partner_type": "candidat",
                "site_format": "fixe",
                "geocoding": "source",
            },
            geometry=points.geometry.to_numpy(),
            crs=communes.crs,
        )
        table = travel_times(graph, communes, frame)
        result[:, ~at_origin] = table.seconds
    return result


def _zone_effects(result: Any, names: dict[str, str], shapes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The per-zone effect with names, covered counts and polygons (storage.planning.SCENARIO_ZONE_COLUMNS)."""
    zones = result.zones[result.zones["zone_id"].notna()].copy()
    zones["zone_id"] = zones["zone_id"].astype(str)
    per_commune = result.communes.assign(
        newly=lambda f: np.where(f["newly_covered"], f["population"], 0),
        lost=lambda f: np.where(f["no_longer_covered"], f["population"], 0),
    )
    counts = per_commune.groupby(per_commune["zone_id"].astype(str))[["newly", "lost"]].sum()
    zones["newly_covered"] = zones["zone_id"].map(counts["newly"]).fillna(0).astype(int)
    zones["no_longer_covered"] = zones["zone_id"].map(counts["lost"]).fillna(0).astype(int)
    zones["name"] = zones["zone_id"].map(lambda z: names.get(z, z))
    return shapes[["zone_id", "geometry"]].merge(zones, on="zone_id")


# ----------------------------------------------------------------- stored ones
@whatif_app.command("list", help="Lister les scénarios enregistrés (date, auteur, note).")
def whatif_list() -> None:
    """List the stored scenarios, newest first."""
    from storage.planning import scenarios

    with open_db() as conn:
        rows = scenarios(conn)
    if not rows:
        typer.echo("Aucun scénario enregistré (atlas whatif … --id NOM).")
    for row in rows:
        by = f", par {row['author']}" if row["author"] else ""
        approx = ", temps approximatifs" if row["approximate"] else ""
        typer.echo(
            f"{row['scenario_id']} : {row['label']} ({row['method']}, {row['n_sites']} lieu(x), "
            f"créé le {row['created_at']:%d/%m/%Y %H:%M}{by}{approx})" + (f" — {row['note']}" if row["note"] else "")
        )


@whatif_app.command("show", help="Afficher un scénario enregistré : lieux, effet d'ensemble et par zone.")
def whatif_show(scenario_id: Annotated[str, typer.Argument(help="Identifiant du scénario.")]) -> None:
    """Show a stored scenario: its sites, its overall effect and its effect per zone."""
    from storage.planning import scenario, scenario_zone_effects

    with open_db() as conn:
        found = scenario(conn, scenario_id)
        if found is None:
            raise fail(f"pas de scénario {scenario_id!r} (atlas whatif list)")
        zones = scenario_zone_effects(conn, scenario_id)
    summary = found["summary"]
    threshold = french.number(found["params"].get("threshold_s", COVER_S) / 60)
    typer.echo(
        f"{found['scenario_id']} : {found['label']}" + (" — temps APPROXIMATIFS" if found["approximate"] else "")
    )
    typer.echo(
        f"créé le {found['created_at']:%d/%m/%Y %H:%M}"
        + (f" par {found['author']}" if found["author"] else "")
        + (f" — {found['note']}" if found["note"] else "")
    )
    for site in found["sites"]:
        if site["action"] == "close":
            typer.echo(f"  fermeture : {site['structure_name'] or site['structure_id']}")
            continue
        name = f"{site['name']}, " if site["name"] else ""
        extra = f", +{french.number(site['population_gained'])} hab. couverts" if site["population_gained"] else ""
        extra += f", coût {french.number(site['cost'])}" if site["cost"] is not None else ""
        typer.echo(f"  ouverture : {name}{site['commune_name']} ({site['commune_code']}){extra}")
    typer.echo(
        f"population nouvellement couverte : {french.number(summary.get('newly_covered'))} hab. ; "
        f"plus couverte : {french.number(summary.get('no_longer_covered'))} hab."
    )
    if "mean_gain_s" in summary:
        typer.echo(
            f"temps gagné : moyenne {_minutes(_float(summary['mean_gain_s']))}, médiane "
            f"{_minutes(_float(summary['median_gain_s']))}, 10 % les plus éloignés "
            f"{_minutes(_float(summary['farthest_mean_gain_s']))}"
        )
    if summary.get("changed_population"):
        typer.echo(
            f"pour les {french.number(summary['changed_population'])} hab. dont le temps change : "
            f"{_minutes(_float(summary['changed_mean_gain_s']))} gagnées en moyenne (négatif : perdues)"
        )
    for z in zones.itertuples():
        typer.echo(
            f"  {z.name} : temps moyen {_minutes(_float(z.mean_seconds_before))} → "
            f"{_minutes(_float(z.mean_seconds_after))}, part à moins de {threshold} min "
            f"{french.percent(z.share_within_before)} → {french.percent(z.share_within_after)}"
        )


@whatif_app.command("delete", help="Supprimer un scénario enregistré.")
def whatif_delete(scenario_id: Annotated[str, typer.Argument(help="Identifiant du scénario.")]) -> None:
    """Delete a stored scenario (its sites and per-zone effect with it)."""
    from storage.planning import delete_scenario

    with open_db() as conn:
        if not delete_scenario(conn, scenario_id):
            raise fail(f"pas de scénario {scenario_id!r} (atlas whatif list)")
    typer.echo(f"scénario supprimé : {scenario_id}")


def _float(value: Any) -> float:
    """A stored number (None for unknown) as a float (NaN)."""
    return float("nan") if value is None else float(value)
