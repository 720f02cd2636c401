"""Infra-regional zones: contiguous groups of communes drawn around the SPRO's places.

A zoning assigns every commune of the Région to exactly one zone. Two methods propose one;
a checker verifies any zoning (proposed here or drawn by a planner) against the planner's
constraints.

Catchment zones (:func:`catchment_zones`)
    Each commune goes to the *pôle* it reaches fastest. Pôles are the sites offering the
    four missions (or a list given by the planner); sites of the same commune form one
    pôle. Pieces cut off from their zone (and communes reaching no pôle) go to the
    neighbouring zone they share the longest border with; zones under a minimum
    population are then merged into their best neighbour (longest shared border, or the
    neighbour whose pôle is fastest for their population).

Constrained regionalization (:func:`regionalize`)
    PySAL ``spopt``'s max-p heuristic (:class:`spopt.region.MaxPHeuristic`) builds as many
    contiguous zones as possible with at least ``min_population`` inhabitants each, on
    compact attributes (coordinates, or travel times to the multi-mission sites). It runs
    on each département / EPCI separately when zones must nest in them. Two repairs
    follow: zones missing a mission are merged with a neighbour that has it, and
    communes beyond ``max_hub_time_s`` of their zone's hub are handed to a neighbouring
    zone whose hub is close enough (when the donor stays contiguous, populated enough and
    complete). :func:`check_zoning` verifies the result; what could not be repaired is
    reported, never hidden.

Contiguity
    Two communes are neighbours when their polygons touch (Queen: a common point is
    enough; Rook: a common border of positive length), within ``tolerance_m`` metres.
    Islands and other pieces of territory touching nothing are *bridged* to the nearest
    commune (straight-line distance between polygons), so that an island belongs to the
    zone of the coast it faces. Geometries are in the Région's projected CRS, in metres.

Every zone carries a short French ``explanation`` of why it is shaped so, for the
planners and the CCREFP. Times are in seconds, populations in inhabitants.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse
import shapely
from scipy.sparse.csgraph import connected_components

from geo.errors import CrsError, DuplicateError, GeometryError, MissingColumnError, ValidationError
from geo.schema import MISSIONS

CONTACT_WEIGHT_M = 1e-3
"""Weight (metres) of a contact without common border length: a Queen corner, an overlap
crossing, or an island bridge. Real borders (metres) always outweigh it."""

DEFAULT_MAX_ITERATIONS_CONSTRUCTION = 10
"""Construction passes of the max-p heuristic (spopt's default, 99, is far slower)."""

DEFAULT_MAX_ITERATIONS_SA = 1
"""Simulated-annealing runs per max-p construction (spopt's default is 10)."""

NEST_LABELS: dict[str, str] = {
    "departement": "le département",
    "epci": "l'EPCI",
    "arrondissement": "l'arrondissement",
}
"""French wording of the nesting levels, for the explanations."""

NBSP = "\u00a0"

ContiguityRule = Literal["queen", "rook"]
MergeRule = Literal["border", "time"]
Attributes = Literal["coordinates", "times"]


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class Violation:
    """A constraint that a zoning does not meet.

    Attributes
    ----------
    constraint
        ``coverage`` (a commune missing, unknown or assigned twice), ``contiguity``,
        ``min_population``, ``missions``, ``max_hub_time`` or ``nesting``.
    zone_id
        The zone concerned (None for coverage problems of a commune).
    message
        What is wrong, in plain words (English, like the other errors of the core).
    value, limit
        The measured value and the limit when the constraint is numeric (inhabitants or
        seconds), else None.
    communes
        Codes of the communes concerned (e.g. those beyond the time limit).
    """

    constraint: str
    zone_id: str | None
    message: str
    value: float | None = None
    limit: float | None = None
    communes: tuple[str, ...] = ()


@dataclass
class Zoning:
    """A proposed zoning.

    Attributes
    ----------
    assignment
        ``commune_code, zone_id`` (str), one row per commune, in the communes' order.
    zones
        GeoDataFrame, one row per zone: ``zone_id, name, group, population`` (inhabitants),
        ``n_communes, hub`` (structure_id of the hub site, None when the zone has none),
        ``hub_commune, max_hub_time_s, mean_hub_time_s`` (population-weighted, seconds,
        ``inf`` when a commune cannot reach the hub), ``explanation`` (French) and the
        dissolved geometry, in the communes' CRS.
    violations
        What :func:`check_zoning` found with the constraints of the method.
    method, params
        How the zoning was made.
    """

    assignment: pd.DataFrame
    zones: gpd.GeoDataFrame
    violations: list[Violation] = field(default_factory=list)
    method: str = ""
    params: dict[str, object] = field(default_factory=dict)


# ----------------------------------------------------------------- contiguity
def commune_adjacency(
    communes: gpd.GeoDataFrame,
    *,
    rule: ContiguityRule = "queen",
    tolerance_m: float = 0.0,
    bridge_islands: bool = True,
) -> scipy.sparse.csr_matrix:
    """Contiguity of the communes, weighted by the length of their common border.

    Parameters
    ----------
    communes
        Polygons in a projected CRS (metres), one row per commune.
    rule
        ``"queen"``: polygons sharing at least one point are neighbours; ``"rook"``: only
        those sharing a border of positive length.
    tolerance_m
        Polygons closer than this (metres) count as touching (slivers and gaps of
        generalised contours); 0 asks for an exact contact.
    bridge_islands
        Link every group of communes touching nothing else (islands) to the nearest
        commune outside it, so that the graph is connected.

    Returns
    -------
    scipy.sparse.csr_matrix
        Symmetric ``(n, n)`` float64 matrix, in the communes' row order: common border in
        metres, at least :data:`CONTACT_WEIGHT_M` for every pair of neighbours (corners
        and bridges carry exactly that weight).

    Raises
    ------
    geo.errors.GeometryError
        When a geometry is missing, empty or not a polygon.
    """
    if rule not in ("queen", "rook"):
        msg = f"unknown contiguity rule {rule!r}; expected 'queen' or 'rook'"
        raise ValidationError(msg, field="rule")
    geoms = _polygons(communes)
    n = geoms.size
    if n == 0:
        return scipy.sparse.csr_matrix((0, 0))
    tree = shapely.STRtree(geoms)
    if tolerance_m > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=float(tolerance_m))
    else:
        left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(geoms)
    other = boundaries[right] if tolerance_m <= 0 else shapely.buffer(boundaries[right], float(tolerance_m))
    shared = shapely.length(shapely.intersection(boundaries[left], other)) if left.size else np.zeros(0)
    if rule == "rook":
        keep = shared > 0
        left, right, shared = left[keep], right[keep], shared[keep]
    weight = np.maximum(shared, CONTACT_WEIGHT_M)
    if bridge_islands:
        left, right, weight = _bridge(geoms, left, right, weight)
    return _symmetric(n, left, right, weight)


def zone_pieces(adjacency: scipy.sparse.spmatrix, labels: np.ndarray) -> np.ndarray:
    """Connected piece of every commune inside its zone.

    Parameters
    ----------
    adjacency
        :func:`commune_adjacency`.
    labels
        Zone of every commune (any hashable values; communes with the same value form a
        zone).

    Returns
    -------
    numpy.ndarray
        int64 piece id per commune: two communes share a piece when they are in the same
        zone and linked by a chain of neighbours of that zone. A contiguous zone has one
        piece.
    """
    codes = pd.factorize(pd.Series(labels), use_na_sentinel=False)[0]
    coo = adjacency.tocoo()
    same = codes[coo.row] == codes[coo.col]
    n = codes.size
    graph = scipy.sparse.coo_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


# ------------------------------------------------------------ method 1: catchment
def catchment_zones(
    communes: gpd.GeoDataFrame,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    *,
    hubs: Sequence[str] | None = None,
    min_population: float = 0,
    merge_rule: MergeRule = "border",
    adjacency: scipy.sparse.spmatrix | None = None,
) -> Zoning:
    """Catchment zones: every commune goes to the pôle it reaches fastest.

    Parameters
    ----------
    communes
        ``code``, ``population`` (inhabitants), optional ``name``, polygons in a projected
        CRS (metres).
    sites
        ``structure_id``, ``missions`` (list of str), ``commune_code`` (where the site
        is; or Point geometries in the communes' CRS), optional ``name``; row ``k``
        describes row ``k`` of ``times_s``.
    times_s
        ``(n_sites, n_communes)`` travel time (seconds) from each commune's origin to each
        site, ``inf`` beyond reach.
    hubs
        ``structure_id`` of the hub sites; default: the sites offering the four
        missions (:data:`geo.schema.MISSIONS`). Hubs of the same commune form one pôle.
    min_population
        Zones with fewer inhabitants are merged into a neighbour (0: no merge).
    merge_rule
        Which neighbour absorbs a small zone: ``"border"`` the one sharing the longest
        border, ``"time"`` the one whose pôle is fastest for the small zone's population
        (population-weighted mean time; ``"border"`` when no neighbour's pôle is
        reachable).
    adjacency
        Precomputed :func:`commune_adjacency` (Queen, islands bridged, by default).

    Returns
    -------
    Zoning
        The zoning; its ``violations`` come from :func:`check_zoning` with
        ``min_population`` and the four missions.

    Raises
    ------
    geo.errors.ValidationError
        When inputs disagree (shapes, unknown hub) or no hub exists.

    Notes
    -----
    Ties between pôles go to the pôle listed first (order of the hubs in ``sites``). The
    commune hosting a pôle always belongs to it. Contiguity: a piece of a zone cut off
    from the piece holding its pôle (and a group of communes reaching no pôle) goes to
    the neighbouring zone it shares the longest border with, until every zone is in one
    piece.
    """
    _check_communes(communes)
    _check_sites(sites, times_s, len(communes))
    if merge_rule not in ("border", "time"):
        msg = f"unknown merge rule {merge_rule!r}; expected 'border' or 'time'"
        raise ValidationError(msg, field="merge_rule")
    adjacency = _adjacency_for(communes, adjacency)
    population = communes["population"].to_numpy(dtype=np.float64)
    site_pos = site_commune_positions(sites, communes)
    hub_rows = _hub_rows(sites, hubs)
    poles = _poles(hub_rows, site_pos)
    pole_times = np.vstack([times_s[rows].min(axis=0) for rows in poles["rows"]])

    labels = np.argmin(pole_times, axis=0).astype(np.int64)
    fastest = labels.copy()
    unreached = ~np.isfinite(pole_times.min(axis=0))
    labels[unreached] = -1
    fastest[unreached] = -1
    for pole, commune in enumerate(poles["commune"]):
        if commune >= 0:
            labels[commune] = pole
    anchors = {pole: commune for pole, commune in enumerate(poles["commune"]) if commune >= 0}
    events: dict[int, list[str]] = {pole: [] for pole in range(len(poles["rows"]))}
    labels, moved = _enforce_contiguity(labels, adjacency, population, anchors)
    for pole in events:
        n_unreached = int(np.sum(moved["unreached"] == pole))
        n_cut = int(np.sum(moved["cut"] == pole))
        if n_unreached:
            events[pole].append(
                f"{_communes_fr(n_unreached)} sans pôle joignable {_rattachee(n_unreached)} par contiguïté"
            )
        if n_cut:
            events[pole].append(
                f"{_communes_fr(n_cut)} {_plural('enclavée', n_cut)} {_plural('réaffectée', n_cut)} "
                "pour la contiguïté"
            )

    names = [
        _pole_name(communes, sites, poles["commune"][p], poles["rows"][p][0])
        for p in range(len(poles["rows"]))
    ]
    labels, events = _merge_small_zones(
        labels,
        adjacency,
        population,
        min_population,
        events,
        names,
        merge_rule=merge_rule,
        pole_times=pole_times,
    )
    # A merged zone keeps the absorbing pôle; the share is measured on the final zone.
    shares = _fastest_share(labels, fastest, population)
    base = {
        pole: lambda z, p=pole: (
            f"Bassin de {_communes_fr(z['n'])} ({_int_fr(z['population'])}{NBSP}hab.) "
            f"{_rattachee(z['n'])} au pôle {names[p]} "
            f"(le plus rapide pour {_percent_fr(shares.get(p, 0.0))} de la population)"
        )
        for pole in events
    }

    hub_site = {p: int(poles["rows"][p][0]) for p in events}
    hub_commune = {p: int(poles["commune"][p]) for p in events}
    zoning = _build_zoning(
        communes,
        sites,
        times_s,
        labels,
        hub_site=hub_site,
        hub_commune=hub_commune,
        names={p: f"Bassin de {names[p]}" for p in events},
        explanation={p: base[p] for p in events},
        events=events,
        groups=None,
        id_prefix=None,
    )
    zoning.method = "catchment"
    zoning.params = {
        "hubs": list(hubs) if hubs is not None else None,
        "min_population": min_population,
        "merge_rule": merge_rule,
    }
    zoning.violations = check_zoning(
        zoning.assignment,
        communes,
        sites=sites,
        times_s=times_s,
        min_population=min_population or None,
        hubs=dict(zip(zoning.zones["zone_id"], zoning.zones["hub"], strict=True)),
        adjacency=adjacency,
    )
    return zoning


# ------------------------------------------------------- method 2: regionalization
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
        geometries), optional ``name``; row ``k`` describes row ``k`` of ``times_s``.
    times_s
        ``(n_sites, n_communes)`` travel time (seconds) from each commune to each site,
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
        ``structure_id`` of the sites that may be a zone's hub; default: every site.
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
    _check_communes(communes)
    _check_sites(sites, times_s, len(communes))
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
    hub_allowed = np.zeros(len(sites), dtype=bool)
    hub_allowed[_hub_rows(sites, hubs) if hubs is not None else np.arange(len(sites))] = True

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
            times_s[:, members],
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
            group_text=_group_text(nest_by, group),
        )
        group_labels, group_events, group_hubs = result
        labels[members] = group_labels + next_label
        for label, texts in group_events.items():
            events[label + next_label] = texts
            group_of[label + next_label] = group
            if group_hubs.get(label) is not None:
                hub_site[label + next_label] = group_hubs[label]
        next_label += int(group_labels.max()) + 1 if group_labels.size else 0

    hub_commune = {label: int(site_pos[site]) for label, site in hub_site.items()}
    names = {}
    for label in events:
        commune = hub_commune.get(label, -1)
        names[label] = (
            f"Zone de {_pole_name(communes, sites, commune, hub_site[label])}"
            if label in hub_site
            else f"Zone sans site ({_communes_fr(int(np.sum(labels == label)))})"
        )
    limits = f"au moins {_int_fr(min_population)}{NBSP}hab. par zone"

    def group_of_text(label: int) -> str:
        return _group_text(nest_by, group_of[label])

    explanation = {
        label: lambda z, label=label: (
            f"Zone de {_communes_fr(z['n'])} ({_int_fr(z['population'])}{NBSP}hab.) formée par "
            f"régionalisation max-p ({limits}){group_of_text(label)} ; "
            + (
                f"pôle {z['hub_name']}, toutes les communes à {_minutes_fr(z['max_hub_time_s'])} au plus"
                if z["hub"] is not None
                else "aucun site dans la zone"
            )
        )
        for label in events
    }
    zoning = _build_zoning(
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
    group_text: str,
) -> tuple[np.ndarray, dict[int, list[str]], dict[int, int | None]]:
    """Max-p, mission repair and time repair on one nesting group (local positions)."""
    n = len(communes)
    population = communes["population"].to_numpy(dtype=np.float64)
    events: dict[int, list[str]] = {}
    if n == 0:
        return np.zeros(0, dtype=np.int64), events, {}
    if population.sum() < min_population or n == 1:
        labels = np.zeros(n, dtype=np.int64)
        events[0] = (
            [
                f"ensemble{group_text or ' de la Région'} de moins de "
                f"{_int_fr(min_population)}{NBSP}hab. : une seule zone"
            ]
            if population.sum() < min_population
            else []
        )
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
    """Attributes the max-p heuristic keeps homogeneous: km coordinates, or capped minutes."""
    if attributes == "coordinates":
        points = communes.geometry.representative_point()
        return np.column_stack((points.x.to_numpy(), points.y.to_numpy())) / 1000.0
    full = site_missions.all(axis=1) if site_missions.shape[1] else np.ones(times_s.shape[0], dtype=bool)
    rows = times_s[full] if full.any() else times_s
    finite = rows[np.isfinite(rows)]
    cap = 2.0 * float(finite.max()) if finite.size else 3_600.0
    return np.minimum(rows, cap).T / 60.0


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
    offered = _zone_missions(np.zeros_like(labels), site_pos, site_missions)
    available = offered[0] if offered.shape[0] else np.zeros(site_missions.shape[1], dtype=bool)
    while True:
        zones = np.unique(labels)
        if zones.size <= 1:
            break
        present = _zone_missions(labels, site_pos, site_missions, n_zones=int(labels.max()) + 1)
        lacking = [z for z in zones if np.any(available & ~present[z])]
        if not lacking:
            break
        # The zone missing most missions first, then the least populated, then the lowest label.
        zone = min(
            lacking, key=lambda z: (-int(np.sum(available & ~present[z])), population[labels == z].sum(), z)
        )
        missing = available & ~present[zone]
        contact = _zone_contacts(adjacency, labels, labels == zone)
        candidates = [int(z) for z in np.flatnonzero(contact > 0) if z != zone]
        if not candidates:
            break
        site_zone = np.where(site_pos >= 0, labels[np.maximum(site_pos, 0)], -1)
        worst = {
            z: _merged_worst_time(
                labels, site_zone, (zone, z), times_s, population, site_missions, hub_allowed
            )
            for z in candidates
        }
        target = min(
            candidates,
            key=lambda z: (-int(np.sum(missing & present[z])), worst[z], -contact[z], z),
        )
        gone = [names[m] for m in np.flatnonzero(missing)]
        labels[labels == zone] = target
        events.setdefault(target, [])
        events[target] = (
            events[target]
            + events.pop(zone, [])
            + [f"a absorbé une zone voisine qui n'avait aucun site pour : {', '.join(gone)}"]
        )
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
    hub = _best_hub(times_s, merged, allowed, population, site_missions)
    return float(times_s[hub, merged].max()) if hub is not None else math.inf


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
        hubs[int(zone)] = _best_hub(times_s, members, candidates, population, site_missions)
    return hubs


def _best_hub(
    times_s: np.ndarray,
    members: np.ndarray,
    candidates: np.ndarray,
    population: np.ndarray,
    site_missions: np.ndarray,
) -> int | None:
    """Hub among ``candidates`` for ``members``: full sites first, then minimax time.

    Sites offering every mission of ``site_missions`` come first; among them (or among
    all when none does) the lowest maximum time wins, then the most missions, the lowest
    population-weighted mean time, the first listed.
    """
    if candidates.size == 0:
        return None
    block = times_s[np.ix_(candidates, members)]
    worst = block.max(axis=1) if members.size else np.zeros(candidates.size)
    mean = _weighted_mean(block, population[members])
    n_missions = site_missions[candidates].sum(axis=1)
    partial = ~site_missions[candidates].all(axis=1)
    order = np.lexsort((np.arange(candidates.size), mean, -n_missions, worst, partial))
    return int(candidates[order[0]])


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
            times = times_s[hub, members]
            for commune in members[np.argsort(-times, kind="stable")]:
                if times_s[hub, commune] <= max_hub_time_s:
                    break
                neighbours = {int(labels[j]) for j in indices[indptr[commune] : indptr[commune + 1]]} - {zone}
                options = [
                    z
                    for z in neighbours
                    if hubs.get(z) is not None and times_s[hubs[z], commune] <= max_hub_time_s
                ]
                if not options:
                    continue
                rest = np.flatnonzero(labels == zone)
                rest = rest[rest != commune]
                if population[rest].sum() < min_population or not _connected(adjacency, rest):
                    continue
                had = site_missions[np.isin(site_pos, members)].any(axis=0)
                kept = site_missions[np.isin(site_pos, rest)].any(axis=0)
                if np.any(had & ~kept):
                    continue
                target = min(options, key=lambda z: (times_s[hubs[z], commune], z))
                labels[commune] = target
                given[zone] = given.get(zone, 0) + 1
                received[target] = received.get(target, 0) + 1
                moved = True
        if not moved:
            break
        hubs = _choose_hubs(labels, times_s, population, site_pos, site_missions, hub_allowed)
    limit = _minutes_fr(max_hub_time_s)
    for zone, count in given.items():
        events.setdefault(zone, []).append(
            f"{_communes_fr(count)} {_plural('cédée', count)} à une zone voisine "
            f"pour rester à {limit} au plus du pôle"
        )
    for zone, count in received.items():
        events.setdefault(zone, []).append(
            f"{_communes_fr(count)} {_plural('reçue', count)} de zones voisines (pôle à {limit} au plus)"
        )
    return labels, hubs


# ---------------------------------------------------------------- checker
def check_zoning(
    assignment: pd.DataFrame,
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
) -> list[Violation]:
    """Every constraint a zoning breaks.

    Parameters
    ----------
    assignment
        ``commune_code, zone_id`` (also accepted: ``code`` / ``commune`` and ``zone``).
    communes
        ``code``, ``population`` (inhabitants), polygons in a projected CRS (metres),
        and the ``nest_by`` column when given.
    sites, times_s
        Sites (``structure_id``, ``missions``, ``commune_code`` or Point geometry) and
        their ``(n_sites, n_communes)`` times in seconds; needed for the mission and time
        checks, which are skipped without them.
    min_population
        Minimum inhabitants per zone; None skips the check.
    max_hub_time_s
        Maximum time (seconds) from any commune of a zone to its hub; None skips it.
    hubs
        ``zone_id -> structure_id`` of each zone's hub; a zone without one gets the
        minimax site located in it (see :func:`regionalize`).
    required_missions
        Missions every zone must offer through a site located in it; None or empty
        skips the check (it needs ``sites``).
    nest_by
        Column of ``communes`` a zone must not straddle.
    adjacency
        Precomputed :func:`commune_adjacency` (default: Queen, islands bridged).

    Returns
    -------
    list[Violation]
        Sorted by constraint, then zone; empty when the zoning meets every constraint.
        Coverage problems (communes missing, unknown or assigned twice) stop the other
        checks for the communes concerned only.
    """
    _check_communes(communes)
    mapping = _mapping(assignment)
    codes = communes["code"].astype(str).to_numpy()
    violations: list[Violation] = []
    duplicated = mapping["commune_code"].duplicated(keep=False)
    duplicated_counts = mapping.loc[duplicated, "commune_code"].value_counts()
    for code in sorted(set(mapping.loc[duplicated, "commune_code"])):
        zones = sorted(set(mapping.loc[mapping["commune_code"] == code, "zone_id"]))
        violations.append(
            Violation(
                "coverage",
                None,
                f"commune {code} is assigned {int(duplicated_counts[code])} times ({', '.join(zones)})",
                communes=(code,),
            )
        )
    unknown = ~mapping["commune_code"].isin(codes)
    for code in sorted(set(mapping.loc[unknown, "commune_code"])):
        violations.append(
            Violation("coverage", None, f"commune {code} is not a commune of the Région", communes=(code,))
        )
    first = mapping.drop_duplicates("commune_code").set_index("commune_code")["zone_id"]
    zone_of = first.reindex(codes)
    missing = zone_of.isna().to_numpy()
    for code in codes[missing]:
        violations.append(
            Violation("coverage", None, f"commune {code} belongs to no zone", communes=(str(code),))
        )

    assigned = np.flatnonzero(~missing)
    labels_all = zone_of.to_numpy(dtype=object)
    zone_ids = sorted(set(labels_all[assigned]), key=str)
    population = communes["population"].to_numpy(dtype=np.float64)
    adjacency = _adjacency_for(communes, adjacency)
    labels = np.where(missing, "\x00missing", labels_all).astype(object)
    pieces = zone_pieces(adjacency, labels)

    site_pos = site_missions = None
    if sites is not None:
        site_pos = site_commune_positions(sites, communes)
    missions = tuple(required_missions or ())
    if sites is not None and missions:
        site_missions = mission_matrix(sites, missions)
    if times_s is not None and sites is not None:
        _check_sites(sites, times_s, len(communes))

    for zone in zone_ids:
        members = np.flatnonzero(labels == zone)
        pop = float(population[members].sum())
        n_pieces = np.unique(pieces[members]).size
        if n_pieces > 1:
            piece_pop = pd.Series(population[members]).groupby(pieces[members]).sum()
            main = piece_pop.idxmax()
            cut = members[pieces[members] != main]
            violations.append(
                Violation(
                    "contiguity",
                    zone,
                    f"zone {zone} is in {n_pieces} pieces",
                    value=float(n_pieces),
                    limit=1.0,
                    communes=tuple(str(c) for c in codes[cut]),
                )
            )
        if min_population is not None and pop < min_population:
            violations.append(
                Violation(
                    "min_population",
                    zone,
                    f"zone {zone} has {pop:,.0f} inhabitants, under {min_population:,.0f}",
                    value=pop,
                    limit=float(min_population),
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
                        f"zone {zone} straddles {nest_by} {', '.join(distinct)}",
                        value=float(len(distinct)),
                        limit=1.0,
                    )
                )
        in_zone_sites = (
            np.flatnonzero(np.isin(site_pos, members))
            if site_pos is not None
            else np.zeros(0, dtype=np.int64)
        )
        if site_missions is not None:
            offered = (
                site_missions[in_zone_sites].any(axis=0)
                if in_zone_sites.size
                else np.zeros(len(missions), dtype=bool)
            )
            lacking = [missions[m] for m in np.flatnonzero(~offered)]
            if lacking:
                violations.append(
                    Violation(
                        "missions",
                        zone,
                        f"zone {zone} has no site offering: {', '.join(lacking)}",
                        value=float(len(lacking)),
                        limit=0.0,
                    )
                )
        if max_hub_time_s is not None and times_s is not None and sites is not None:
            hub_row = _hub_row_for(zone, hubs, sites, times_s, members, in_zone_sites, population)
            if hub_row is None:
                violations.append(
                    Violation(
                        "max_hub_time",
                        zone,
                        f"zone {zone} has no site to serve as its hub",
                        value=math.inf,
                        limit=float(max_hub_time_s),
                    )
                )
                continue
            times = times_s[hub_row, members]
            beyond = members[times > max_hub_time_s]
            if beyond.size:
                worst = float(times.max())
                violations.append(
                    Violation(
                        "max_hub_time",
                        zone,
                        f"{beyond.size} commune(s) of zone {zone} are more than "
                        f"{max_hub_time_s / 60:g} min from hub {sites['structure_id'].iloc[hub_row]} "
                        f"(worst {worst / 60:.1f} min)",
                        value=worst,
                        limit=float(max_hub_time_s),
                        communes=tuple(str(c) for c in codes[beyond]),
                    )
                )
    order = {
        "coverage": 0,
        "contiguity": 1,
        "nesting": 2,
        "min_population": 3,
        "missions": 4,
        "max_hub_time": 5,
    }
    return sorted(violations, key=lambda v: (order.get(v.constraint, 9), str(v.zone_id)))


def _hub_row_for(
    zone: str,
    hubs: Mapping[str, str | None] | None,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    members: np.ndarray,
    in_zone_sites: np.ndarray,
    population: np.ndarray,
) -> int | None:
    """Row of the zone's hub: the one given, else the minimax site located in the zone."""
    if hubs is not None and hubs.get(zone) is not None and not pd.isna(hubs.get(zone)):
        rows = np.flatnonzero(sites["structure_id"].astype(str).to_numpy() == str(hubs[zone]))
        if rows.size == 0:
            msg = f"hub {hubs[zone]} of zone {zone} is not among the sites"
            raise ValidationError(msg, field="hubs")
        return int(rows[0])
    no_missions = np.zeros((len(sites), 0), dtype=bool)
    return _best_hub(times_s, members, in_zone_sites, population, no_missions)


# ------------------------------------------------------------ shared helpers
def site_commune_positions(sites: pd.DataFrame, communes: gpd.GeoDataFrame) -> np.ndarray:
    """Position (row in ``communes``) of the commune of every site, −1 when outside.

    Uses ``commune_code`` when ``sites`` has it (a missing code falls back on the point
    geometry, if any), else the Point geometry (within the commune polygon, same CRS).

    Raises
    ------
    geo.errors.MissingColumnError
        When ``sites`` has neither ``commune_code`` nor geometries.
    """
    codes = pd.Index(communes["code"].astype(str))
    positions = np.full(len(sites), -1, dtype=np.int64)
    if "commune_code" in sites.columns:
        known = sites["commune_code"].notna().to_numpy()
        positions[known] = codes.get_indexer(sites.loc[known, "commune_code"].astype(str))
    todo = positions < 0
    if todo.any() and isinstance(sites, gpd.GeoDataFrame) and sites.geometry.name in sites.columns:
        if sites.crs is not None and communes.crs is not None and not sites.crs.equals(communes.crs):
            msg = f"sites are in {sites.crs.to_string()}, the communes in {communes.crs.to_string()}"
            raise CrsError(msg)
        points = sites.geometry.to_numpy()[todo]
        valid = ~(shapely.is_missing(points) | shapely.is_empty(points))
        point_idx, poly_idx = communes.sindex.query(points[valid], predicate="within")
        found = np.full(valid.sum(), -1, dtype=np.int64)
        found[point_idx[::-1]] = poly_idx[::-1]  # first polygon listed wins
        rows = np.flatnonzero(todo)[valid]
        positions[rows] = found
    elif "commune_code" not in sites.columns:
        msg = "sites need a 'commune_code' column or Point geometries to be placed in zones"
        raise MissingColumnError(msg, field="commune_code")
    return positions


def mission_matrix(sites: pd.DataFrame, missions: Sequence[str] = MISSIONS) -> np.ndarray:
    """Boolean ``(n_sites, len(missions))``: which site offers which mission."""
    if "missions" not in sites.columns:
        msg = "sites lack the column 'missions' (list of missions offered)"
        raise MissingColumnError(msg, field="missions")
    offered = sites["missions"].map(
        lambda values: set(values) if isinstance(values, Iterable) and not isinstance(values, str) else set()
    )
    return np.array([[m in values for m in missions] for values in offered], dtype=bool).reshape(
        len(sites), len(missions)
    )


def _zone_missions(
    labels: np.ndarray, site_pos: np.ndarray, site_missions: np.ndarray, n_zones: int | None = None
) -> np.ndarray:
    """Boolean ``(n_zones, n_missions)``: missions offered by a site located in each zone."""
    n_zones = int(labels.max()) + 1 if n_zones is None and labels.size else (n_zones or 0)
    present = np.zeros((n_zones, site_missions.shape[1]), dtype=bool)
    located = site_pos >= 0
    if not located.any() or n_zones == 0:
        return present
    site_zone = labels[site_pos[located]]
    for m in range(site_missions.shape[1]):
        present[site_zone[site_missions[located, m]], m] = True
    return present


def _zone_contacts(adjacency: scipy.sparse.csr_matrix, labels: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Contact weight (metres of border) between the communes ``inside`` and each label."""
    rows = adjacency[np.flatnonzero(inside)].tocoo()
    outside = ~inside[rows.col]
    target = labels[rows.col[outside]]
    ok = target >= 0
    return np.bincount(target[ok], weights=rows.data[outside][ok], minlength=int(labels.max(initial=-1)) + 1)


def _connected(adjacency: scipy.sparse.csr_matrix, members: np.ndarray) -> bool:
    """True when ``members`` form one piece of the adjacency graph."""
    if members.size <= 1:
        return True
    return connected_components(adjacency[members][:, members], directed=False)[0] == 1


def _enforce_contiguity(
    labels: np.ndarray,
    adjacency: scipy.sparse.csr_matrix,
    population: np.ndarray,
    anchors: Mapping[int, int],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Reassign cut-off pieces (and unassigned communes, label −1) to a neighbouring zone.

    The main piece of a zone holds its anchor commune (else its most populous piece).
    Each other piece goes to the zone whose main piece it shares the longest border
    with; repeated until every zone is in one piece.

    Returns
    -------
    labels
        The new labels.
    moved
        ``{"unreached": target label of each commune (−1 when not moved),
        "cut": same for communes of cut-off pieces}``.
    """
    labels = labels.copy()
    was_unassigned = labels < 0
    moved_to = np.full(labels.size, -1, dtype=np.int64)
    for _ in range(labels.size + 1):
        pieces = zone_pieces(adjacency, labels)
        main = np.zeros(labels.size, dtype=bool)
        for zone in np.unique(labels[labels >= 0]):
            members = np.flatnonzero(labels == zone)
            anchor = anchors.get(int(zone))
            if anchor is not None and labels[anchor] == zone:
                keep = pieces[anchor]
            else:
                piece_pop = pd.Series(population[members] + 1e-9).groupby(pieces[members]).sum()
                keep = piece_pop.idxmax()
            main[members[pieces[members] == keep]] = True
        orphans = ~main
        if not orphans.any():
            break
        changed = False
        main_labels = np.where(main, labels, -1)
        for piece in np.unique(pieces[orphans]):
            inside = pieces == piece
            contact = _zone_contacts(adjacency, main_labels, inside)
            if contact.size == 0 or contact.max() <= 0:
                continue
            target = int(np.argmax(contact))
            labels[inside] = target
            moved_to[inside] = target
            main_labels[inside] = target
            changed = True
        if not changed:
            break
    return labels, {
        "unreached": np.where(was_unassigned, moved_to, -1),
        "cut": np.where(~was_unassigned, moved_to, -1),
    }


def _merge_small_zones(
    labels: np.ndarray,
    adjacency: scipy.sparse.csr_matrix,
    population: np.ndarray,
    min_population: float,
    events: dict[int, list[str]],
    names: Sequence[str],
    *,
    merge_rule: MergeRule,
    pole_times: np.ndarray,
) -> tuple[np.ndarray, dict[int, list[str]]]:
    """Merge zones under ``min_population`` into their best neighbour, smallest first."""
    labels = labels.copy()
    events = {k: list(v) for k, v in events.items() if np.any(labels == k)}
    stuck: set[int] = set()
    while min_population > 0:
        zones = [int(z) for z in np.unique(labels[labels >= 0])]
        pops = {z: float(population[labels == z].sum()) for z in zones}
        small = [z for z in zones if pops[z] < min_population and z not in stuck]
        if len(zones) <= 1 or not small:
            break
        zone = min(small, key=lambda z: (pops[z], z))
        inside = labels == zone
        contact = _zone_contacts(adjacency, labels, inside)
        neighbours = [int(z) for z in np.flatnonzero(contact > 0) if z != zone]
        if not neighbours:
            stuck.add(zone)
            continue
        reason = "plus longue frontière commune"
        target = max(neighbours, key=lambda z: (contact[z], -z))
        if merge_rule == "time":
            weights = population[inside]
            means = {z: float(_weighted_mean(pole_times[[z]][:, inside], weights)[0]) for z in neighbours}
            reachable = [z for z in neighbours if np.isfinite(means[z])]
            if reachable:
                target = min(reachable, key=lambda z: (means[z], -contact[z], z))
                reason = "pôle voisin le plus rapide"
        labels[inside] = target
        merged = (
            f"fusionné avec le bassin de {names[zone]} ({_int_fr(pops[zone])}{NBSP}hab.) car < "
            f"{_int_fr(min_population)}{NBSP}hab. ({reason})"
        )
        events[target] = [*events.get(target, []), merged, *events.pop(zone, [])]
    return labels, events


def _build_zoning(
    communes: gpd.GeoDataFrame,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    labels: np.ndarray,
    *,
    hub_site: Mapping[int, int],
    hub_commune: Mapping[int, int],
    names: Mapping[int, str],
    explanation: Mapping[int, object],
    events: Mapping[int, list[str]],
    groups: Mapping[int, str | None] | None,
    id_prefix: object | None,
) -> Zoning:
    """Assemble the assignment and the zone table (ids by decreasing population)."""
    population = communes["population"].to_numpy(dtype=np.float64)
    codes = communes["code"].astype(str).to_numpy()
    zones = [int(z) for z in np.unique(labels[labels >= 0])]
    pops = {z: float(population[labels == z].sum()) for z in zones}
    zone_id: dict[int, str] = {}
    by_prefix: dict[str, list[int]] = {}
    for z in zones:
        prefix = id_prefix(z) if callable(id_prefix) else "Z"
        by_prefix.setdefault(prefix, []).append(z)
    for prefix, members in by_prefix.items():
        members.sort(key=lambda z: (-pops[z], codes[labels == z].min()))
        width = max(2, len(str(len(members))))
        for rank, z in enumerate(members, start=1):
            zone_id[z] = f"{prefix}-{rank:0{width}d}" if callable(id_prefix) else f"Z{rank:0{width}d}"

    rows = []
    for z in zones:
        members = np.flatnonzero(labels == z)
        hub = hub_site.get(z)
        times = times_s[hub, members] if hub is not None else np.full(members.size, np.inf)
        max_time = float(times.max()) if members.size else math.inf
        mean_time = float(_weighted_mean(times[np.newaxis, :], population[members])[0])
        hub_pos = hub_commune.get(z, -1)
        facts = {
            "n": int(members.size),
            "population": pops[z],
            "hub": None if hub is None else str(sites["structure_id"].iloc[hub]),
            "hub_name": _pole_name(communes, sites, hub_pos, hub) if hub is not None else None,
            "max_hub_time_s": max_time,
        }
        head = explanation[z](facts) if callable(explanation[z]) else str(explanation[z])
        text = " ; ".join([head, *events.get(z, [])]) + "."
        rows.append(
            {
                "zone_id": zone_id[z],
                "name": names[z],
                "group": None if groups is None else groups.get(z),
                "population": int(round(pops[z])),
                "n_communes": int(members.size),
                "hub": facts["hub"],
                "hub_commune": str(codes[hub_pos]) if hub_pos is not None and hub_pos >= 0 else None,
                "max_hub_time_s": max_time,
                "mean_hub_time_s": mean_time,
                "explanation": text,
                "_label": z,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "zone_id",
            "name",
            "group",
            "population",
            "n_communes",
            "hub",
            "hub_commune",
            "max_hub_time_s",
            "mean_hub_time_s",
            "explanation",
            "_label",
        ],
    )
    geometry = _dissolve(communes, labels, [r["_label"] for r in rows])
    table = gpd.GeoDataFrame(table.drop(columns="_label"), geometry=geometry, crs=communes.crs)
    table = table.sort_values("zone_id", kind="stable").reset_index(drop=True)
    assignment = pd.DataFrame(
        {
            "commune_code": codes,
            "zone_id": pd.array([zone_id.get(int(z)) if z >= 0 else None for z in labels], dtype="object"),
        }
    )
    return Zoning(assignment=assignment, zones=table)


def _dissolve(communes: gpd.GeoDataFrame, labels: np.ndarray, order: Sequence[int]) -> np.ndarray:
    """Union of the commune polygons of each label, in ``order``."""
    geoms = communes.geometry.to_numpy()
    return np.array([shapely.union_all(geoms[labels == z]) for z in order], dtype=object)


def _weighted_mean(times: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Population-weighted mean over axis 1 (``inf`` when weighted communes are unreached).

    Unweighted mean when the weights sum to zero.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if times.shape[1] == 0:
        return np.zeros(times.shape[0])
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    masked = np.where(weights > 0, times, 0.0)
    return (masked * weights).sum(axis=1) / weights.sum()


def _fastest_share(labels: np.ndarray, fastest: np.ndarray, population: np.ndarray) -> dict[int, float]:
    """Share of each zone's population whose fastest pôle is the zone's own."""
    shares = {}
    for zone in np.unique(labels[labels >= 0]):
        inside = labels == zone
        total = population[inside].sum()
        own = population[inside & (fastest == zone)].sum()
        shares[int(zone)] = float(own / total) if total > 0 else float(np.mean(fastest[inside] == zone))
    return shares


def _hub_rows(sites: pd.DataFrame, hubs: Sequence[str] | None) -> np.ndarray:
    """Rows of the hub sites: those given, or those offering every mission."""
    if hubs is None:
        rows = np.flatnonzero(mission_matrix(sites, MISSIONS).all(axis=1))
        if rows.size == 0:
            msg = "no site offers the four missions; give the hubs explicitly"
            raise ValidationError(msg, field="missions")
        return rows
    ids = sites["structure_id"].astype(str)
    position = pd.Index(ids).get_indexer([str(h) for h in hubs])
    if np.any(position < 0):
        unknown = [str(h) for h, p in zip(hubs, position, strict=True) if p < 0]
        msg = f"unknown hub structure_id(s): {', '.join(unknown)}"
        raise ValidationError(msg, field="hubs")
    if position.size == 0:
        msg = "the list of hubs is empty"
        raise ValidationError(msg, field="hubs")
    return np.unique(position)


def _poles(hub_rows: np.ndarray, site_pos: np.ndarray) -> dict[str, list]:
    """Group hub rows by commune (sites of an unknown commune stay alone), in site order."""
    rows_of: dict[object, list[int]] = {}
    for row in hub_rows:
        key = int(site_pos[row]) if site_pos[row] >= 0 else ("site", int(row))
        rows_of.setdefault(key, []).append(int(row))
    keys = list(rows_of)
    return {
        "rows": [np.array(rows_of[k]) for k in keys],
        "commune": [k if isinstance(k, int) else -1 for k in keys],
    }


def _pole_name(communes: gpd.GeoDataFrame, sites: pd.DataFrame, commune: int, site: int) -> str:
    """Commune name of a pôle, else the site's name, else its structure_id."""
    if commune is not None and commune >= 0:
        if "name" in communes.columns and pd.notna(communes["name"].iloc[commune]):
            return str(communes["name"].iloc[commune])
        return str(communes["code"].iloc[commune])
    if "name" in sites.columns and pd.notna(sites["name"].iloc[site]):
        return str(sites["name"].iloc[site])
    return str(sites["structure_id"].iloc[site])


def _group_text(nest_by: str | None, group: object) -> str:
    if nest_by is None:
        return ""
    if group == "":
        return f" parmi les communes sans {nest_by}"
    return f" dans {NEST_LABELS.get(nest_by, nest_by)} {group}"


def _mapping(assignment: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """``commune_code, zone_id`` (str) from the accepted spellings of a zoning."""
    if isinstance(assignment, pd.Series):
        frame = pd.DataFrame({"commune_code": assignment.index, "zone_id": assignment.to_numpy()})
    else:
        frame = assignment
        code = next((c for c in ("commune_code", "code", "commune") if c in frame.columns), None)
        zone = next((c for c in ("zone_id", "zone") if c in frame.columns), None)
        if code is None or zone is None:
            missing = "commune_code" if code is None else "zone_id"
            msg = f"the zoning lacks the column '{missing}'"
            raise MissingColumnError(msg, field=missing)
        frame = pd.DataFrame({"commune_code": frame[code].to_numpy(), "zone_id": frame[zone].to_numpy()})
    frame = frame[frame["zone_id"].notna()]
    return pd.DataFrame(
        {
            "commune_code": frame["commune_code"].astype(str).str.strip().to_numpy(),
            "zone_id": frame["zone_id"].astype(str).str.strip().to_numpy(),
        }
    )


def _adjacency_for(
    communes: gpd.GeoDataFrame, adjacency: scipy.sparse.spmatrix | None
) -> scipy.sparse.csr_matrix:
    if adjacency is None:
        return commune_adjacency(communes)
    if adjacency.shape != (len(communes), len(communes)):
        msg = f"adjacency is {adjacency.shape}, expected {(len(communes), len(communes))}"
        raise ValidationError(msg, field="adjacency")
    return scipy.sparse.csr_matrix(adjacency)


def _check_communes(communes: gpd.GeoDataFrame) -> None:
    missing = [c for c in ("code", "population") if c not in communes.columns]
    if missing:
        msg = f"communes lack the column(s) {', '.join(missing)}"
        raise MissingColumnError(msg, field=missing[0])
    duplicated = communes["code"].astype(str).duplicated()
    if duplicated.any():
        msg = f"commune code {communes['code'].astype(str)[duplicated].iloc[0]} appears twice"
        raise DuplicateError(msg, row=int(np.flatnonzero(duplicated)[0]) + 1, field="code")
    if communes.crs is not None and not communes.crs.is_projected:
        msg = f"communes must be in a projected CRS (metres), got {communes.crs.to_string()}"
        raise CrsError(msg)


def _check_sites(sites: pd.DataFrame, times_s: np.ndarray, n_communes: int) -> None:
    if "structure_id" not in sites.columns:
        msg = "sites lack the column 'structure_id'"
        raise MissingColumnError(msg, field="structure_id")
    if np.shape(times_s) != (len(sites), n_communes):
        msg = f"times_s is {np.shape(times_s)}, expected (n_sites, n_communes) = {(len(sites), n_communes)}"
        raise ValidationError(msg, field="times_s")


def _polygons(communes: gpd.GeoDataFrame) -> np.ndarray:
    geoms = communes.geometry.to_numpy()
    bad = np.flatnonzero(
        shapely.is_missing(geoms) | shapely.is_empty(geoms) | ~np.isin(shapely.get_type_id(geoms), [3, 6])
    )
    if bad.size:
        msg = "commune geometry must be a non-empty (Multi)Polygon"
        raise GeometryError(msg, row=int(bad[0]) + 1, field="geometry")
    return geoms


def _symmetric(n: int, left: np.ndarray, right: np.ndarray, weight: np.ndarray) -> scipy.sparse.csr_matrix:
    rows = np.concatenate((left, right))
    cols = np.concatenate((right, left))
    data = np.concatenate((weight, weight))
    matrix = scipy.sparse.coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    return matrix


def _bridge(
    geoms: np.ndarray, left: np.ndarray, right: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add one link from every component to the nearest commune outside it, until connected."""
    n = geoms.size
    left, right, weight = list(left), list(right), list(weight)
    for _ in range(n):
        graph = _symmetric(
            n, np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64), np.asarray(weight)
        )
        n_components, component = connected_components(graph, directed=False)
        if n_components <= 1:
            break
        sizes = np.bincount(component)
        main = int(np.argmax(sizes))
        for comp in range(n_components):
            if comp == main:
                continue
            inside = np.flatnonzero(component == comp)
            outside = np.flatnonzero(component != comp)
            tree = shapely.STRtree(geoms[outside])
            (source, target), distance = tree.query_nearest(
                geoms[inside], return_distance=True, all_matches=False
            )
            best = np.lexsort((outside[target], inside[source], distance))[0]
            i, j = int(inside[source[best]]), int(outside[target[best]])
            left.append(min(i, j))
            right.append(max(i, j))
            weight.append(CONTACT_WEIGHT_M)
    return (
        np.asarray(left, dtype=np.int64),
        np.asarray(right, dtype=np.int64),
        np.asarray(weight, dtype=np.float64),
    )


# ---------------------------------------------------------------- French text
def _int_fr(value: float) -> str:
    return f"{round(value):,}".replace(",", NBSP)


def _percent_fr(share: float) -> str:
    return f"{round(100 * share)}{NBSP}%"


def _minutes_fr(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "une durée inconnue (commune injoignable)"
    return f"{math.ceil(seconds / 60 - 1e-9)}{NBSP}min"


def _communes_fr(n: int) -> str:
    return f"{n} commune{'s' if n > 1 else ''}"


def _rattachee(n: int) -> str:
    return _plural("rattachée", n)


def _plural(word: str, n: int) -> str:
    """French feminine participle agreeing with ``n`` communes."""
    return f"{word}s" if n > 1 else word


def zone_table(communes: gpd.GeoDataFrame, assignment: pd.DataFrame, *, explanation: str | None = None) -> gpd.GeoDataFrame:
    """Zone table of a given assignment (e.g. a zoning imported from a planner).

    Parameters
    ----------
    communes
        ``code``, ``population`` and polygons in a projected CRS (metres).
    assignment
        ``commune_code, zone_id``, each commune once (see
        :func:`geo.zoning_compare.validate_zoning`).
    explanation
        Text stored with every zone (e.g. where the zoning comes from).

    Returns
    -------
    geopandas.GeoDataFrame
        ``zone_id, name`` (the zone id), ``population, n_communes, hub`` (None),
        ``explanation`` and the dissolved polygons, ordered by zone id.
    """
    _check_communes(communes)
    frame = communes[["code", "population", "geometry"]].merge(
        assignment.rename(columns={"commune_code": "code"})[["code", "zone_id"]], on="code", how="inner"
    )
    frame["zone_id"] = frame["zone_id"].astype(str)
    dissolved = frame.dissolve(by="zone_id", aggfunc={"population": "sum", "code": "count"}, sort=True)
    dissolved = dissolved.rename(columns={"code": "n_communes"}).reset_index()
    dissolved["name"] = dissolved["zone_id"]
    dissolved["hub"] = None
    dissolved["explanation"] = explanation
    columns = ["zone_id", "name", "population", "n_communes", "hub", "explanation", "geometry"]
    return gpd.GeoDataFrame(dissolved[columns], geometry="geometry", crs=communes.crs)
