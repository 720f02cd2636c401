"""The one checker of a zoning, whether a method proposed it or a planner drew it.

:func:`check_zoning` reads the assignment with :func:`geo.zoning.model.assignment_frame`
and reports every constraint broken as a :class:`~geo.zoning.model.Violation`:

- ``coverage`` (always): every commune of the Région exactly once, with a zone; rows
  without zone, unknown codes, communes listed twice or missing are errors naming the
  file and rows when the zoning came from one;
- ``contiguity`` (always): a zone in several pieces, the communes outside its most
  populous piece listed; an error for a proposal, a warning for a planner's own zoning
  (``contiguity="warning"``);
- ``nesting``, ``min_population``, ``missions``, ``max_hub_time``: only the constraints
  asked for.

Times are in seconds, ``(n_communes, n_sites)`` (:mod:`geo.traveltimes`); populations in
inhabitants; geometries in the communes' projected CRS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse

from geo.categories import mission_matrix
from geo.errors import ValidationError
from geo.french import count, minutes_at_most
from geo.vocabulary import MISSIONS
from geo.zoning.adjacency import adjacency_for, zone_pieces
from geo.zoning.model import (
    CONSTRAINTS,
    Violation,
    assignment_frame,
    best_hub,
    check_communes,
    check_sites,
    site_commune_positions,
)
from geo.zoning.wording import inhabitants

Severity = Literal["error", "warning"]

_NEST_PLURAL: dict[str, str] = {"departement": "départements", "epci": "EPCI", "arrondissement": "arrondissements"}
"""The nesting levels in the plural, as the messages name them."""


def check_zoning(
    assignment: pd.DataFrame | pd.Series,
    communes: gpd.GeoDataFrame,
    *,
    sites: pd.DataFrame | None = None,
    times_s: np.ndarray | None = None,
    min_population: float | None = None,
    max_hub_time_s: float | None = None,
    hubs: Mapping[str, str | None] | None = None,
    required_missions: Sequence[str] | None = MISSIONS,
    nest_by: str | None = None,
    adjacency: scipy.sparse.spmatrix | None = None,
    contiguity: Severity = "error",
) -> list[Violation]:
    """Every constraint a zoning breaks.

    Parameters
    ----------
    assignment
        The zoning: see :func:`geo.zoning.model.assignment_frame` (``commune_code,
        zone_id``, optionally ``row`` and ``attrs["source"]`` from a reader).
    communes
        ``code``, ``population`` (inhabitants), polygons in a projected CRS (metres),
        and the ``nest_by`` column when given.
    sites, times_s
        Sites (``structure_id``, ``missions``, ``commune_code`` or Point geometry) and
        the ``(n_communes, n_sites)`` times in seconds; needed for the mission and time
        checks, which are skipped without them.
    min_population
        Minimum inhabitants per zone; None skips the check.
    max_hub_time_s
        Maximum time (seconds) from any commune of a zone to its hub; None skips it.
    hubs
        ``zone_id -> structure_id`` of each zone's hub; a zone without one gets the
        minimax site located in it (:func:`geo.zoning.model.best_hub`).
    required_missions
        Missions every zone must offer through a site located in it; None or empty
        skips the check (it needs ``sites``).
    nest_by
        Column of ``communes`` a zone must not straddle.
    adjacency
        Precomputed :func:`geo.zoning.adjacency.commune_adjacency` (default: Queen,
        islands bridged).
    contiguity
        Severity of a zone in several pieces: ``"error"`` (a proposal must be contiguous)
        or ``"warning"`` (a planner's zoning may have reasons).

    Returns
    -------
    list[Violation]
        Errors first, then by constraint (:data:`geo.zoning.model.CONSTRAINTS`), then
        zone; empty when the zoning meets every constraint. Coverage problems stop the
        other checks for the communes concerned only.
    """
    check_communes(communes)
    frame = assignment_frame(assignment)
    source = frame.attrs.get("source")
    codes = communes["code"].astype(str).to_numpy()
    violations = _coverage(frame, codes, source)

    listed = frame[frame["zone_id"].notna() & frame["commune_code"].isin(set(codes))]
    zone_of = listed.drop_duplicates("commune_code").set_index("commune_code")["zone_id"].reindex(codes)
    assigned = zone_of.notna().to_numpy()
    labels = np.where(assigned, zone_of.to_numpy(dtype=object), "\x00none").astype(object)
    zone_ids = sorted(set(labels[assigned]), key=str)
    population = communes["population"].to_numpy(dtype=np.float64)
    pieces = zone_pieces(adjacency_for(communes, adjacency), labels)

    site_pos = site_commune_positions(sites, communes) if sites is not None else None
    missions = tuple(required_missions or ())
    site_missions = mission_matrix(sites, missions) if sites is not None and missions else None
    if times_s is not None and sites is not None:
        check_sites(sites, times_s, len(communes))

    for zone in zone_ids:
        members = np.flatnonzero(labels == zone)
        violations += _contiguity(zone, members, pieces, population, codes, source, contiguity)
        pop = float(population[members].sum())
        if min_population is not None and pop < min_population:
            violations.append(
                Violation(
                    "min_population",
                    zone,
                    f"la zone {zone} compte {inhabitants(pop)}, moins que le minimum de {inhabitants(min_population)}",
                    value=pop,
                    limit=float(min_population),
                    kind="min_population",
                )
            )
        if nest_by is not None:
            values = communes[nest_by].astype(object).where(communes[nest_by].notna(), "").to_numpy()[members]
            distinct = sorted({str(v) for v in values})
            if len(distinct) > 1:
                violations.append(
                    Violation(
                        "nesting",
                        zone,
                        f"la zone {zone} est à cheval sur plusieurs {_NEST_PLURAL.get(nest_by, nest_by)} : {', '.join(distinct)}",
                        value=float(len(distinct)),
                        limit=1.0,
                        kind="nesting",
                    )
                )
        in_zone_sites = np.flatnonzero(np.isin(site_pos, members)) if site_pos is not None else np.zeros(0, int)
        if site_missions is not None:
            offered = site_missions[in_zone_sites].any(axis=0) if in_zone_sites.size else np.zeros(len(missions), bool)
            lacking = [missions[m] for m in np.flatnonzero(~offered)]
            if lacking:
                violations.append(
                    Violation(
                        "missions",
                        zone,
                        f"la zone {zone} n'a aucun lieu offrant : {', '.join(lacking)}",
                        value=float(len(lacking)),
                        limit=0.0,
                        kind="missions",
                    )
                )
        if max_hub_time_s is not None and times_s is not None and sites is not None:
            violations += _hub_time(
                zone, members, hubs, sites, times_s, in_zone_sites, population, codes, max_hub_time_s
            )
    return sorted(violations, key=lambda v: (v.severity != "error", CONSTRAINTS.index(v.constraint), str(v.zone_id)))


def _coverage(frame: pd.DataFrame, codes: np.ndarray, source: str | None) -> list[Violation]:
    """Rows without zone, communes listed twice, unknown codes, communes in no zone."""
    violations: list[Violation] = []
    known = set(codes)
    empty = frame["zone_id"].isna()
    for row in frame[empty].itertuples(index=False):
        violations.append(
            Violation(
                "coverage",
                None,
                _where(source, (row.row,)) + f"la commune {row.commune_code} n'a pas de zone",
                communes=(row.commune_code,),
                kind="empty_zone",
                rows=(int(row.row),),
                file=source,
            )
        )
    zoned = frame[~empty]
    for code, group in zoned[zoned["commune_code"].duplicated(keep=False)].groupby("commune_code", sort=True):
        rows = tuple(int(r) for r in group["row"])
        zones = ", ".join(sorted(set(group["zone_id"].astype(str))))
        violations.append(
            Violation(
                "coverage",
                None,
                _where(source, rows) + f"la commune {code} figure {len(rows)} fois (zones {zones})",
                communes=(str(code),),
                kind="duplicate",
                rows=rows,
                file=source,
            )
        )
    for row in zoned[~zoned["commune_code"].isin(known)].itertuples(index=False):
        violations.append(
            Violation(
                "coverage",
                str(row.zone_id),
                _where(source, (row.row,)) + f"le code {row.commune_code} n'est pas une commune de la Région",
                communes=(row.commune_code,),
                kind="unknown",
                rows=(int(row.row),),
                file=source,
            )
        )
    mentioned = set(frame["commune_code"])
    for position, code in enumerate(codes):
        if code not in mentioned:
            violations.append(
                Violation(
                    "coverage",
                    None,
                    (f"{source} : " if source else "")
                    + f"la commune {code} ({position + 1}e de la liste des communes) n'est dans aucune zone",
                    communes=(str(code),),
                    kind="missing",
                    file=source,
                )
            )
    return violations


def _contiguity(
    zone: str,
    members: np.ndarray,
    pieces: np.ndarray,
    population: np.ndarray,
    codes: np.ndarray,
    source: str | None,
    severity: Severity,
) -> list[Violation]:
    """A zone in several pieces: the communes outside its most populous piece (then the
    piece with most communes, then the first)."""
    member_pieces = pieces[members]
    labels, first = np.unique(member_pieces, return_index=True)
    if labels.size <= 1:
        return []
    weight = (
        pd.DataFrame({"piece": member_pieces, "population": population[members]})
        .groupby("piece")
        .agg(population=("population", "sum"), n=("population", "size"))
    )
    weight["first"] = pd.Series(first, index=labels)
    main = weight.sort_values(["population", "n", "first"], ascending=[False, False, True]).index[0]
    cut = codes[members[member_pieces != main]]
    listed = ", ".join(cut[:10]) + (" …" if cut.size > 10 else "")
    return [
        Violation(
            "contiguity",
            zone,
            (f"{source} : " if source else "")
            + f"la zone {zone} est en {labels.size} morceaux (hors de son morceau le plus peuplé : {listed})",
            value=float(labels.size),
            limit=1.0,
            communes=tuple(str(c) for c in cut),
            kind="not_contiguous",
            severity=severity,
            file=source,
        )
    ]


def _hub_time(
    zone: str,
    members: np.ndarray,
    hubs: Mapping[str, str | None] | None,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    in_zone_sites: np.ndarray,
    population: np.ndarray,
    codes: np.ndarray,
    max_hub_time_s: float,
) -> list[Violation]:
    """Communes of ``zone`` farther than ``max_hub_time_s`` from its hub (or no hub at all)."""
    hub = _hub_for(zone, hubs, sites, times_s, members, in_zone_sites, population)
    if hub is None:
        return [
            Violation(
                "max_hub_time",
                zone,
                f"la zone {zone} n'a aucun lieu pouvant servir de pôle",
                value=math.inf,
                limit=float(max_hub_time_s),
                kind="max_hub_time",
            )
        ]
    times = times_s[members, hub]
    beyond = members[times > max_hub_time_s]
    if not beyond.size:
        return []
    worst = float(times.max())
    return [
        Violation(
            "max_hub_time",
            zone,
            f"{count(int(beyond.size), 'commune')} de la zone {zone} à plus de {minutes_at_most(max_hub_time_s)} "
            f"du pôle {_site_label(sites, hub)} ({_worst(worst)})",
            value=worst,
            limit=float(max_hub_time_s),
            communes=tuple(str(c) for c in codes[beyond]),
            kind="max_hub_time",
        )
    ]


def _hub_for(
    zone: str,
    hubs: Mapping[str, str | None] | None,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    members: np.ndarray,
    in_zone_sites: np.ndarray,
    population: np.ndarray,
) -> int | None:
    """Position of the zone's hub among the sites: the one given, else the minimax site in the zone."""
    given = hubs.get(zone) if hubs is not None else None
    if given is not None and not pd.isna(given):
        rows = np.flatnonzero(sites["structure_id"].astype(str).to_numpy() == str(given))
        if rows.size == 0:
            msg = f"hub {given} of zone {zone} is not among the sites"
            raise ValidationError(msg, field="hubs")
        return int(rows[0])
    no_missions = np.zeros((len(sites), 0), dtype=bool)
    return best_hub(times_s, members, in_zone_sites, population, no_missions)


def _site_label(sites: pd.DataFrame, position: int) -> str:
    """A site as a message names it: its name and identifier, else its identifier."""
    identifier = str(sites["structure_id"].iloc[position])
    if "name" in sites.columns and pd.notna(sites["name"].iloc[position]):
        return f"{sites['name'].iloc[position]} ({identifier})"
    return identifier


def _worst(seconds: float) -> str:
    """The farthest commune's time, or why there is none (never "inf")."""
    if not math.isfinite(seconds):
        return "au moins une commune ne le joint pas"
    return f"la plus éloignée à {minutes_at_most(seconds)}"


def _where(source: str | None, rows: tuple[int, ...]) -> str:
    """ "zonage.csv, lignes 3, 16 : " (what a message about those rows starts with)."""
    parts = [source] if source else []
    if rows:
        parts.append(("ligne " if len(rows) == 1 else "lignes ") + ", ".join(str(int(r)) for r in rows))
    return ", ".join(parts) + " : " if parts else ""
