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
from geo.vocabulary import MODES, POLE_MERGE_S, REACH_S

if TYPE_CHECKING:
    import geopandas as gpd
    import psycopg

from scripts.common import (
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
    pole_merge_minutes: Annotated[
        float,
        typer.Option(
            help="Pôles limitrophes d'un pôle plus peuplé, ou à moins de ce temps (aller et retour), réunis avec lui "
            "(catchment ; 0 : jamais)."
        ),
    ] = POLE_MERGE_S / 60,
    draft: Annotated[
        bool,
        typer.Option(
            "--draft", help="Enregistrer même si des contraintes ne sont pas respectées (zonage « brouillon »)."
        ),
    ] = False,
    author: Annotated[str | None, typer.Option(help="Auteur de cette version (texte libre).")] = None,
    note: Annotated[str | None, typer.Option(help="Note sur cette version (texte libre).")] = None,
) -> None:
    """Propose infra-regional zones (contiguous groups of communes) and store them with
    their indicators and the reason for their shape; a proposal breaking its constraints
    is refused (exit 2, violations listed) unless ``--draft``."""
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
                zoning = catchment_zones(
                    communes,
                    places,
                    times,
                    min_population=min_population,
                    pole_merge_s=pole_merge_minutes * 60.0 if pole_merge_minutes > 0 else None,
                    pole_merge_adjacent=pole_merge_minutes > 0,
                )
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
        names = dict(zip(zoning.zones["zone_id"], zoning.zones["name"], strict=True))
        violations = [
            {"constraint": v.constraint, "zone_id": v.zone_id, "message": v.message} for v in zoning.violations
        ]
        if violations and not draft:
            raise fail(
                f"{len(violations)} contrainte(s) non respectée(s), le zonage {zoning_id} n'est pas enregistré "
                "(--draft pour l'enregistrer comme brouillon) :\n" + _violation_lines(violations, names)
            )
        n = _store_zoning(
            conn,
            communes,
            zoning_id,
            label or f"{default_label} ({french.number(min_population)} hab. min.)",
            zoning.method or method,
            {**zoning.params, "mode": mode},
            zoning.assignment,
            zoning.zones,
            source=None,
            author=author,
            note=note,
            draft=bool(violations),
            violations=violations,
        )
    state = " (brouillon)" if violations else ""
    console.print(
        f"Zonage {zoning_id}{state} : {len(zoning.zones)} zones, {n} lignes d'indicateurs, "
        f"en {french.number(time.monotonic() - started, 1)} s."
    )
    for row in zoning.zones.head(12).itertuples():
        console.print(
            f"  {row.zone_id} {row.name} : {french.number(row.population)} hab., {row.n_communes} communes. {row.explanation}",
            highlight=False,
            soft_wrap=True,
        )
    if violations:
        console.print(f"[bold yellow]Brouillon : {len(violations)} contrainte(s) non respectée(s)[/] :")
        console.print(_violation_lines(violations, names), highlight=False, soft_wrap=True, markup=False)
    else:
        console.print("Toutes les contraintes sont respectées (contiguïté, population, missions, temps au pôle).")


CONSTRAINT_LABELS: dict[str, str] = {
    "coverage": "couverture",
    "contiguity": "contiguïté",
    "nesting": "emboîtement",
    "min_population": "population minimale",
    "missions": "missions",
    "max_hub_time": "temps jusqu'au pôle",
}
"""The constraints of :data:`geo.zoning.model.CONSTRAINTS` in French."""


def _violation_lines(violations: list[dict[str, Any]], names: dict[str, str], limit: int = 30) -> str:
    """One French line per violated constraint, naming the zone (at most ``limit``)."""
    lines = []
    for v in violations[:limit]:
        zone = f" — {names.get(v['zone_id'], v['zone_id'])} ({v['zone_id']})" if v["zone_id"] else ""
        lines.append(f"  - {CONSTRAINT_LABELS.get(v['constraint'], v['constraint'])}{zone} : {v['message']}")
    if len(violations) > limit:
        lines.append(f"  … et {len(violations) - limit} autre(s)")
    return "\n".join(lines)


@zones_app.command(
    "import", help="Importer un zonage dessiné par les services (CSV commune→zone ou polygones) et le valider."
)
def zones_import(
    file: Annotated[Path, typer.Argument(help="CSV commune→zone, ou polygones (GeoPackage, GeoJSON).")],
    zoning_id: Annotated[str, typer.Option("--id", help="Identifiant du zonage.")],
    label: Annotated[str | None, typer.Option(help="Libellé affiché.")] = None,
    zone_column: Annotated[str | None, typer.Option(help="Colonne de la zone (défaut : zone).")] = None,
    author: Annotated[str | None, typer.Option(help="Auteur de cette version (texte libre).")] = None,
    note: Annotated[str | None, typer.Option(help="Note sur cette version (texte libre).")] = None,
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
            author=author,
            note=note,
        )
    console.print(
        f"Zonage {zoning_id} importé : {len(zones)} zones, {len(assignment)} communes, {n} lignes d'indicateurs"
        + (f", {len(issues)} avertissement(s)." if issues else ".")
    )


@zones_app.command(
    "compare", help="Comparer deux zonages : recouvrement, indice de Rand ajusté, population mal placée."
)
def zones_compare(
    a: Annotated[
        str,
        typer.Argument(
            help="Zonage A : identifiant stocké (une version), ou epci / arrondissement / departement / "
            "zone-emploi / bassin-vie."
        ),
    ],
    b: Annotated[str, typer.Argument(help="Zonage B (idem).")],
    output: Annotated[
        Path | None, typer.Option(help="GeoPackage : communes discordantes, carte des différences, recouvrement.")
    ] = None,
) -> None:
    """Compare two zonings (two versions of one zoning, a zoning and an official one…):
    overlap table with zone names and populations, adjusted Rand index, population
    mismatched; the mismatched communes as a layer."""
    from geo.zoning.compare import compare_zonings
    from storage.access import read_communes
    from storage.common import StoreError
    from storage.planning import read_assignment, zone_names

    with open_db() as conn:
        communes = read_communes(conn)
        try:
            left, right = read_assignment(conn, a), read_assignment(conn, b)
        except StoreError as exc:
            raise fail(str(exc)) from exc
        names_a, names_b = zone_names(conn, a), zone_names(conn, b)
    try:
        result = compare_zonings(left, right, communes)
    except AtlasError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"{a} / {b} : indice de Rand ajusté {french.number(result.ari, 3)} (communes), "
        f"{french.number(result.ari_population, 3)} (population)"
    )
    typer.echo(
        f"population dans une zone différente de la zone correspondante : {french.number(result.mismatched_population)} "
        f"hab. ({french.percent(result.mismatched_share)})"
    )
    populations = communes.set_index("code")["population"]
    pop_a = left.assign(p=left["commune_code"].map(populations)).groupby("zone_id")["p"].sum()
    pop_b = right.assign(p=right["commune_code"].map(populations)).groupby("zone_id")["p"].sum()
    top = result.overlap.sort_values("population", ascending=False).head(15)
    for row in top.itertuples():
        typer.echo(
            f"  {names_a.get(row.zone_a, row.zone_a)} ({french.number(pop_a.get(row.zone_a))} hab.) ∩ "
            f"{names_b.get(row.zone_b, row.zone_b)} ({french.number(pop_b.get(row.zone_b))} hab.) : "
            f"{row.n_communes} communes, {french.number(row.population)} hab."
        )
    if output is not None:
        import pyogrio

        layer = result.communes.assign(
            nom=lambda f: f["commune_code"].map(communes.set_index("code")["name"]),
            nom_zone_a=lambda f: f["zone_a"].map(names_a),
            nom_zone_b=lambda f: f["zone_b"].map(names_b),
        )
        overlap = result.overlap.assign(
            nom_zone_a=lambda f: f["zone_a"].map(names_a), nom_zone_b=lambda f: f["zone_b"].map(names_b)
        )
        output.unlink(missing_ok=True)
        pyogrio.write_dataframe(layer[layer["differs"]], output, layer="communes_discordantes", driver="GPKG")
        pyogrio.write_dataframe(layer, output, layer="differences", driver="GPKG")
        pyogrio.write_dataframe(overlap, output, layer="recouvrement", driver="GPKG")
        typer.echo(f"communes discordantes ({int(layer['differs'].sum())}) et carte des différences : {output}")


@zones_app.command("list", help="Lister les zonages enregistrés (versions : date, auteur, note) et officiels.")
def zones_list() -> None:
    """List the stored zonings with their version facts, then the official ones."""
    from storage.planning import OFFICIAL_LEVELS
    from storage.read import zonings

    with open_db() as conn:
        rows = zonings(conn)
    if not rows:
        typer.echo("Aucun zonage stocké (atlas zones propose / import).")
    for row in rows:
        by = f", par {row['author']}" if row["author"] else ""
        typer.echo(
            f"{row['zoning_id']} : {row['label']} ({row['method']}, {row['n_zones']} zones, "
            f"créé le {row['created_at']:%d/%m/%Y %H:%M}{by})" + (f" — {row['note']}" if row["note"] else "")
        )
    typer.echo(f"Zonages officiels : {', '.join(OFFICIAL_LEVELS)}.")


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
    author: str | None = None,
    note: str | None = None,
    draft: bool = False,
    violations: list[dict[str, Any]] | None = None,
) -> int:
    """Store a zoning and, when travel times exist, its indicators per mode, published in one
    transaction (``storage.publish``)."""
    from geo.analysis.access import summarise_levels
    from storage.common import StoreError
    from storage.planning import (
        access_run,
        read_nearest,
        replace_level_indicators,
        save_zoning,
    )
    from storage.publish import publishing

    with publishing(conn, ["zoning"]):
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
                author=author,
                note=note,
                draft=draft,
                violations=violations or [],
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
