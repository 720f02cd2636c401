"""Constrained regionalization: contiguous zones under the planner's constraints.

PySAL ``spopt``'s max-p heuristic (:class:`spopt.region.MaxPHeuristic`) builds as many
contiguous zones as possible with at least ``min_population`` inhabitants each, on
compact attributes (coordinates, or travel times to the multi-mission sites). It runs on
each département / EPCI separately when zones must nest in them. Two repairs follow:
zones missing a mission are merged with a neighbour that has it, and communes beyond
``max_hub_time_s`` of their zone's hub are handed to a neighbouring zone whose hub is
close enough (when the donor stays contiguous, populated enough and complete).
:func:`geo.zoning.checks.check_zoning` verifies the result; what could not be repaired
is reported, never hidden.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse

from geo.categories import mission_matrix
from geo.errors import MissingColumnError, ValidationError
from geo.vocabulary import MISSIONS
from geo.zoning import wording
from geo.zoning.adjacency import ContiguityRule, commune_adjacency, connected, zone_contacts
from geo.zoning.checks import check_zoning
from geo.zoning.model import (
    ZoneFacts,
    Zoning,
    best_hub,
    build_zoning,
    check_communes,
    check_sites,
    default_hubs,
    hub_rows,
    pole_name,
    site_commune_positions,
    zone_missions,
)

DEFAULT_MAX_ITERATIONS_CONSTRUCTION = 10
"""Construction passes of the max-p heuristic (spopt's default, 99, is far slower)."""

DEFAULT_MAX_ITERATIONS_SA = 1
"""Simulated-annealing runs per max-p construction (spopt's default is 10)."""

Attributes = Literal["coordinates", "times"]


def regionalize(
    communes: gpd.GeoDataFrame,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    *,
    min_population: float,
    max_hub_time_s: float | None = None,
    nest_by: str | None = None,
    required_missions: Sequence[str] = MISSIONS,
    hubs: Sequence[str] | None = None,
    attributes: Attributes = "coordinates",
    seed: int = 0,
    max_iterations_construction: int = DEFAULT_MAX_ITERATIONS_CONSTRUCTION,
    max_iterations_sa: int = DEFAULT_MAX_ITERATIONS_SA,
    contiguity: ContiguityRule = "queen",
) -> Zoning:
    """Contiguous zones under the planner's constraints (max-p regionalization + repairs).

    Parameters
    ----------
    communes
        ``code``, ``population`` (inhabitants), optional ``name`` and the ``nest_by``
        column, polygons in a projected CRS (metres).
    sites
        ``structure_id``, ``missions`` (list of str), ``commune_code`` (or Point
        geometries), optional ``name``; row ``k`` describes column ``k`` of ``times_s``.
    times_s
        ``(n_communes, n_sites)`` travel time (seconds) from each commune to each site,
        ``inf`` beyond reach.
    min_population
        Minimum population of a zone (inhabitants). A nesting group with fewer
        inhabitants becomes a single zone (and is reported).
    max_hub_time_s
        Maximum travel time (seconds) from any commune of a zone to the zone's hub; None
        for no limit.
    nest_by
        Column of ``communes`` (e.g. ``"departement"``, ``"epci"``) whose groups are
        regionalized separately, so that zones nest inside them. Communes without a
        value form one group.
    required_missions
        Missions that at least one site of every zone must offer.
    hubs
        ``structure_id`` of the sites that may be a zone's hub; default: the fixed sites
        offering conseil and accompagnement (:func:`geo.zoning.model.default_hubs`),
        every site when there is none.
    attributes
        What the max-p heuristic keeps homogeneous: ``"coordinates"`` (representative
        points, km: compact zones) or ``"times"`` (minutes to each site offering all the
        required missions, capped: zones that look towards the same places).
    seed
        Seed of the heuristic's random draws (the global numpy state is restored
        afterwards): the same inputs and seed give the same zoning.
    max_iterations_construction, max_iterations_sa
        Effort of the max-p heuristic (see :class:`spopt.region.MaxPHeuristic`).
    contiguity
        Contiguity rule of :func:`commune_adjacency`.

    Returns
    -------
    Zoning
        With ``violations`` from :func:`check_zoning` on every constraint given.

    Notes
    -----
    Hub of a zone: among the allowed sites located in it, preferably those offering every
    required mission, the one whose farthest commune is nearest (minimax time), then the
    one offering the most missions, then the lowest population-weighted mean time, then
    the first listed.

    Repairs, in order: (1) while a zone lacks a required mission that its group offers,
    it is merged into the neighbour supplying most of the missing missions (then the
    longest common border); (2) a commune farther than ``max_hub_time_s`` from its hub
    moves to a neighbouring zone whose hub is within the limit (the nearest such hub),
    provided its zone stays contiguous, above ``min_population`` and complete. The
    repairs never break nesting. Whatever remains is listed in ``violations``.
    """
    check_communes(communes)
    check_sites(sites, times_s, len(communes))
    if min_population < 0:
        msg = f"min_population must be non-negative, got {min_population}"
        raise ValidationError(msg, field="min_population")
    if attributes not in ("coordinates", "times"):
        msg = f"unknown attributes {attributes!r}; expected 'coordinates' or 'times'"
        raise ValidationError(msg, field="attributes")
    if nest_by is not None and nest_by not in communes.columns:
        msg = f"communes lack the nesting column '{nest_by}'"
        raise MissingColumnError(msg, field=nest_by)
    missions = tuple(required_missions)
    site_pos = site_commune_positions(sites, communes)
    site_missions = mission_matrix(sites, missions)
    if hubs is not None:
        hub_allowed = np.zeros(len(sites), dtype=bool)
        hub_allowed[hub_rows(sites, hubs)] = True
    else:  # the documented rule (geo.zoning.model.default_hubs), else any site
        hub_allowed = default_hubs(sites)
        if not hub_allowed.any():
            hub_allowed = np.ones(len(sites), dtype=bool)

    if nest_by is None:
        group_values = np.zeros(len(communes), dtype=object)
        group_order: list[object] = [0]
    else:
        group_values = communes[nest_by].astype(object).where(communes[nest_by].notna(), "").to_numpy()
        group_order = sorted(set(group_values), key=str)

    labels = np.full(len(communes), -1, dtype=np.int64)
    events: dict[int, list[str]] = {}
    hub_site: dict[int, int] = {}
    group_of: dict[int, object] = {}
    next_label = 0
    adjacency_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for group in group_order:
        members = np.flatnonzero(group_values == group)
        sub = communes.iloc[members]
        adjacency = commune_adjacency(sub, rule=contiguity)
        coo = adjacency.tocoo()
        adjacency_parts.append((members[coo.row], members[coo.col], coo.data))
        in_group = np.isin(site_pos, members)
        local_pos = np.where(in_group, np.searchsorted(members, np.where(in_group, site_pos, 0)), -1)
        result = _regionalize_group(
            sub,
            adjacency,
            times_s[members],
            local_pos,
            site_missions,
            hub_allowed,
            mission_names=missions,
            min_population=float(min_population),
            max_hub_time_s=max_hub_time_s,
            attributes=attributes,
            seed=seed,
            max_iterations_construction=max_iterations_construction,
            max_iterations_sa=max_iterations_sa,
            where=wording.group_text(nest_by, group),
        )
        group_labels, group_events, group_hubs = result
        labels[members] = group_labels + next_label
        for label, texts in group_events.items():
            events[label + next_label] = texts
            group_of[label + next_label] = group
            hub = group_hubs.get(label)
            if hub is not None:
                hub_site[label + next_label] = hub
        next_label += int(group_labels.max()) + 1 if group_labels.size else 0

    hub_commune = {label: int(site_pos[site]) for label, site in hub_site.items()}
    names = {
        label: wording.regionalized_name(
            pole_name(communes, sites, hub_commune[label], hub_site[label]) if label in hub_site else None,
            int(np.sum(labels == label)),
        )
        for label in events
    }
    explanation = {label: _explain(min_population, wording.group_text(nest_by, group_of[label])) for label in events}
    zoning = build_zoning(
        communes,
        sites,
        times_s,
        labels,
        hub_site=hub_site,
        hub_commune=hub_commune,
        names=names,
        explanation=explanation,
        events=events,
        groups={label: (None if nest_by is None else str(group_of[label])) for label in events},
        id_prefix=(lambda label: str(group_of[label])) if nest_by is not None else None,
    )
    zoning.method = "maxp"
    zoning.params = {
        "min_population": min_population,
        "max_hub_time_s": max_hub_time_s,
        "nest_by": nest_by,
        "required_missions": list(missions),
        "hubs": list(hubs) if hubs is not None else None,
        "attributes": attributes,
        "seed": seed,
        "max_iterations_construction": max_iterations_construction,
        "max_iterations_sa": max_iterations_sa,
        "contiguity": contiguity,
    }
    zoning.violations = check_zoning(
        zoning.assignment,
        communes,
        sites=sites,
        times_s=times_s,
        min_population=min_population or None,
        max_hub_time_s=max_hub_time_s,
        hubs=dict(zip(zoning.zones["zone_id"], zoning.zones["hub"], strict=True)),
        required_missions=missions,
        nest_by=nest_by,
        adjacency=scipy.sparse.coo_matrix(
            (
                np.concatenate([p[2] for p in adjacency_parts]),
                (
                    np.concatenate([p[0] for p in adjacency_parts]),
                    np.concatenate([p[1] for p in adjacency_parts]),
                ),
            ),
            shape=(len(communes), len(communes)),
        ).tocsr(),
    )
    return zoning


def _regionalize_group(
    communes: gpd.GeoDataFrame,
    adjacency: scipy.sparse.csr_matrix,
    times_s: np.ndarray,
    site_pos: np.ndarray,
    site_missions: np.ndarray,
    hub_allowed: np.ndarray,
    *,
    mission_names: Sequence[str],
    min_population: float,
    max_hub_time_s: float | None,
    attributes: Attributes,
    seed: int,
    max_iterations_construction: int,
    max_iterations_sa: int,
    where: str,
) -> tuple[np.ndarray, dict[int, list[str]], dict[int, int | None]]:
    """Max-p, mission repair and time repair on one nesting group (local positions;
    ``times_s`` holds the group's communes only; ``where`` says where the group lies)."""
    n = len(communes)
    population = communes["population"].to_numpy(dtype=np.float64)
    events: dict[int, list[str]] = {}
    if n == 0:
        return np.zeros(0, dtype=np.int64), events, {}
    if population.sum() < min_population or n == 1:
        labels = np.zeros(n, dtype=np.int64)
        events[0] = [wording.single_zone(where, min_population)] if population.sum() < min_population else []
    else:
        features = _maxp_attributes(communes, times_s, site_missions, attributes)
        labels = _maxp_labels(
            features,
            population,
            adjacency,
            min_population,
            seed=seed,
            max_iterations_construction=max_iterations_construction,
            max_iterations_sa=max_iterations_sa,
        )
        events = {int(label): [] for label in np.unique(labels)}

    labels, events = _repair_missions(
        labels,
        adjacency,
        population,
        site_pos,
        site_missions,
        mission_names,
        events,
        times_s=times_s,
        hub_allowed=hub_allowed,
    )
    hubs = _choose_hubs(labels, times_s, population, site_pos, site_missions, hub_allowed)
    if max_hub_time_s is not None:
        labels, hubs = _repair_hub_time(
            labels,
            adjacency,
            population,
            times_s,
            site_pos,
            site_missions,
            hub_allowed,
            hubs,
            max_hub_time_s=float(max_hub_time_s),
            min_population=min_population,
            events=events,
        )
    return labels, events, hubs


def _maxp_attributes(
    communes: gpd.GeoDataFrame,
    times_s: np.ndarray,
    site_missions: np.ndarray,
    attributes: Attributes,
) -> np.ndarray:
    """Attributes the max-p heuristic keeps homogeneous, one row per commune: km
    coordinates, or minutes to each site offering every mission (capped)."""
    if attributes == "coordinates":
        points = communes.geometry.representative_point()
        return np.column_stack((points.x.to_numpy(), points.y.to_numpy())) / 1000.0
    full = site_missions.all(axis=1) if site_missions.shape[1] else np.ones(times_s.shape[1], dtype=bool)
    columns = times_s[:, full] if full.any() else times_s
    finite = columns[np.isfinite(columns)]
    cap = 2.0 * float(finite.max()) if finite.size else 3_600.0
    return np.minimum(columns, cap) / 60.0


def _explain(min_population: float, where: str) -> Callable[[ZoneFacts], str]:
    """The explanation of a regionalized zone (``where``: its nesting group, if any)."""
    return lambda facts: wording.regionalized_explanation(facts, min_population=min_population, where=where)


def _maxp_labels(
    features: np.ndarray,
    population: np.ndarray,
    adjacency: scipy.sparse.csr_matrix,
    min_population: float,
    *,
    seed: int,
    max_iterations_construction: int,
    max_iterations_sa: int,
) -> np.ndarray:
    """Run spopt's max-p heuristic; labels 0..p-1 (one zone when it finds no partition)."""
    import libpysal
    from spopt.region import MaxPHeuristic

    n = population.size
    columns = [f"a{j}" for j in range(features.shape[1])]
    frame = pd.DataFrame(features, columns=columns)
    frame["population"] = population
    indptr, indices = adjacency.indptr, adjacency.indices
    neighbors = {i: [int(j) for j in indices[indptr[i] : indptr[i + 1]]] for i in range(n)}
    weights = libpysal.weights.W(neighbors, silence_warnings=True)
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        with warnings.catch_warnings():
            # spopt 0.7 calls DataFrame.drop(inplace=True), deprecated by pandas 3.1.
            warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
            model = MaxPHeuristic(
                frame,
                weights,
                columns,
                "population",
                float(min_population),
                max_iterations_construction=max_iterations_construction,
                max_iterations_sa=max_iterations_sa,
            )
            model.solve()
    finally:
        np.random.set_state(state)
    raw = model.labels_
    if raw is None:
        return np.zeros(n, dtype=np.int64)
    raw = np.asarray(raw)
    # Areas left without a region by the heuristic (label 0 or below) join by repair.
    _, labels = np.unique(raw, return_inverse=True)
    return labels.astype(np.int64)


def _repair_missions(
    labels: np.ndarray,
    adjacency: scipy.sparse.csr_matrix,
    population: np.ndarray,
    site_pos: np.ndarray,
    site_missions: np.ndarray,
    mission_names: Sequence[str],
    events: dict[int, list[str]],
    *,
    times_s: np.ndarray,
    hub_allowed: np.ndarray,
) -> tuple[np.ndarray, dict[int, list[str]]]:
    """Merge zones lacking a mission (that the group offers) into the best neighbour.

    Best neighbour: the one supplying most of the missing missions, then the one whose
    merged zone has the nearest hub for its farthest commune (minimax time), then the
    longest common border.
    """
    labels = labels.copy()
    names = list(mission_names)
    offered = zone_missions(np.zeros_like(labels), site_pos, site_missions)
    available = offered[0] if offered.shape[0] else np.zeros(site_missions.shape[1], dtype=bool)
    while True:
        zones = np.unique(labels)
        if zones.size <= 1:
            break
        present = zone_missions(labels, site_pos, site_missions, n_zones=int(labels.max()) + 1)
        lacking = [z for z in zones if np.any(available & ~present[z])]
        if not lacking:
            break
        # The zone missing most missions first, then the least populated, then the lowest label.
        zone = min(lacking, key=lambda z: (-int(np.sum(available & ~present[z])), population[labels == z].sum(), z))
        missing = available & ~present[zone]
        contact = zone_contacts(adjacency, labels, labels == zone)
        candidates = [int(z) for z in np.flatnonzero(contact > 0) if z != zone]
        if not candidates:
            break
        site_zone = np.where(site_pos >= 0, labels[np.maximum(site_pos, 0)], -1)
        worst = {
            z: _merged_worst_time(labels, site_zone, (zone, z), times_s, population, site_missions, hub_allowed)
            for z in candidates
        }
        target = min(
            candidates,
            key=lambda z: (-int(np.sum(missing & present[z])), worst[z], -contact[z], z),
        )
        gone = [names[m] for m in np.flatnonzero(missing)]
        labels[labels == zone] = target
        events.setdefault(target, [])
        events[target] = events[target] + events.pop(zone, []) + [wording.absorbed_lacking(gone)]
    return labels, events


def _merged_worst_time(
    labels: np.ndarray,
    site_zone: np.ndarray,
    zones: tuple[int, int],
    times_s: np.ndarray,
    population: np.ndarray,
    site_missions: np.ndarray,
    hub_allowed: np.ndarray,
) -> float:
    """Farthest commune's time (seconds) to the hub of the union of two zones (inf: no hub)."""
    merged = np.flatnonzero(np.isin(labels, zones))
    allowed = np.flatnonzero(np.isin(site_zone, zones) & hub_allowed)
    hub = best_hub(times_s, merged, allowed, population, site_missions)
    return float(times_s[merged, hub].max()) if hub is not None else math.inf


def _choose_hubs(
    labels: np.ndarray,
    times_s: np.ndarray,
    population: np.ndarray,
    site_pos: np.ndarray,
    site_missions: np.ndarray,
    hub_allowed: np.ndarray,
) -> dict[int, int | None]:
    """Hub of every zone: the minimax site among the allowed sites located in it."""
    hubs: dict[int, int | None] = {}
    site_zone = np.where(site_pos >= 0, labels[np.maximum(site_pos, 0)], -1)
    for zone in np.unique(labels):
        members = np.flatnonzero(labels == zone)
        candidates = np.flatnonzero((site_zone == zone) & hub_allowed)
        hubs[int(zone)] = best_hub(times_s, members, candidates, population, site_missions)
    return hubs


def _repair_hub_time(
    labels: np.ndarray,
    adjacency: scipy.sparse.csr_matrix,
    population: np.ndarray,
    times_s: np.ndarray,
    site_pos: np.ndarray,
    site_missions: np.ndarray,
    hub_allowed: np.ndarray,
    hubs: dict[int, int | None],
    *,
    max_hub_time_s: float,
    min_population: float,
    events: dict[int, list[str]],
) -> tuple[np.ndarray, dict[int, int | None]]:
    """Hand communes beyond ``max_hub_time_s`` of their hub to a neighbour whose hub is close."""
    labels = labels.copy()
    given: dict[int, int] = {}
    received: dict[int, int] = {}
    indptr, indices = adjacency.indptr, adjacency.indices
    for _ in range(labels.size):
        moved = False
        for zone in sorted(hubs):
            hub = hubs[zone]
            if hub is None:
                continue
            members = np.flatnonzero(labels == zone)
            times = times_s[members, hub]
            for commune in members[np.argsort(-times, kind="stable")]:
                if times_s[commune, hub] <= max_hub_time_s:
                    break
                neighbours = {int(labels[j]) for j in indices[indptr[commune] : indptr[commune + 1]]} - {zone}
                options = [
                    z for z in neighbours if hubs.get(z) is not None and times_s[commune, hubs[z]] <= max_hub_time_s
                ]
                if not options:
                    continue
                rest = np.flatnonzero(labels == zone)
                rest = rest[rest != commune]
                if population[rest].sum() < min_population or not connected(adjacency, rest):
                    continue
                had = site_missions[np.isin(site_pos, members)].any(axis=0)
                kept = site_missions[np.isin(site_pos, rest)].any(axis=0)
                if np.any(had & ~kept):
                    continue
                target = min(options, key=lambda z: (times_s[commune, hubs[z]], z))
                labels[commune] = target
                given[zone] = given.get(zone, 0) + 1
                received[target] = received.get(target, 0) + 1
                moved = True
        if not moved:
            break
        hubs = _choose_hubs(labels, times_s, population, site_pos, site_missions, hub_allowed)
    for zone, count in given.items():
        events.setdefault(zone, []).append(wording.communes_ceded(count, max_hub_time_s))
    for zone, count in received.items():
        events.setdefault(zone, []).append(wording.communes_received(count, max_hub_time_s))
    return labels, hubs
