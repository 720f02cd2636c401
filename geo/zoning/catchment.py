"""Catchment zones: every commune goes to the pôle it reaches fastest.

Pôles are the fixed public-reception sites offering conseil and accompagnement
(:func:`geo.zoning.model.default_hubs`), or a list given by the planner; sites
of the same commune form one pôle. Pieces cut off from their zone (and communes reaching
no pôle) go to the neighbouring zone they share the longest border with; zones under a
minimum population are then merged into their best neighbour (longest shared border, or
the neighbour whose pôle is fastest for their population).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse

from geo.errors import ValidationError
from geo.zoning import wording
from geo.zoning.adjacency import adjacency_for, zone_contacts, zone_pieces
from geo.zoning.checks import check_zoning
from geo.zoning.model import (
    ZoneFacts,
    Zoning,
    build_zoning,
    check_communes,
    check_sites,
    hub_rows,
    pole_name,
    poles,
    site_commune_positions,
    weighted_mean,
)

MergeRule = Literal["border", "time"]


def catchment_zones(
    communes: gpd.GeoDataFrame,
    sites: pd.DataFrame,
    times_s: np.ndarray,
    *,
    hubs: Sequence[str] | None = None,
    min_population: float = 0,
    merge_rule: MergeRule = "border",
    adjacency: scipy.sparse.spmatrix | None = None,
    pole_merge_s: float | None = None,
    pole_merge_adjacent: bool = False,
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
        describes column ``k`` of ``times_s``.
    times_s
        ``(n_communes, n_sites)`` travel time (seconds) from each commune's origin to each
        site, ``inf`` beyond reach.
    hubs
        ``structure_id`` of the hub sites; default: the fixed sites offering conseil and
        accompagnement (:func:`geo.zoning.model.default_hubs`). Hubs of the same commune
        form one pôle.
    min_population
        Zones with fewer inhabitants are merged into a neighbour (0: no merge).
    merge_rule
        Which neighbour absorbs a small zone: ``"border"`` the one sharing the longest
        border, ``"time"`` the one whose pôle is fastest for the small zone's population
        (population-weighted mean time; ``"border"`` when no neighbour's pôle is
        reachable).
    adjacency
        Precomputed :func:`commune_adjacency` (Queen, islands bridged, by default).
    pole_merge_s
        Pôles whose communes are within this time (seconds, both ways) of a more populous
        pôle's commune join it, so that one town and its close suburbs (Lorient and
        Lanester) form one pôle; None: every commune with a hub is a pôle
        (:data:`geo.vocabulary.POLE_MERGE_S` is the CLI's default).
    pole_merge_adjacent
        Also join a pôle to a more populous pôle whose commune borders its own (the CLI
        does: on the approximate network, two bordering towns may read 30 minutes apart).

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
    check_communes(communes)
    check_sites(sites, times_s, len(communes))
    if merge_rule not in ("border", "time"):
        msg = f"unknown merge rule {merge_rule!r}; expected 'border' or 'time'"
        raise ValidationError(msg, field="merge_rule")
    adjacency = adjacency_for(communes, adjacency)
    population = communes["population"].to_numpy(dtype=np.float64)
    site_pos = site_commune_positions(sites, communes)
    pole_groups = poles(hub_rows(sites, hubs), site_pos)
    # (n_communes, n_poles): each commune's time to the fastest site of each pôle.
    pole_times = np.column_stack([times_s[:, rows].min(axis=1) for rows in pole_groups["rows"]])
    joined: dict[int, list[tuple[int, float]]] = {}
    if pole_merge_s is not None or pole_merge_adjacent:
        pole_groups, joined = merge_close_poles(
            pole_groups,
            pole_times,
            population,
            pole_merge_s if pole_merge_s is not None else -1.0,
            adjacency=adjacency if pole_merge_adjacent else None,
        )
        pole_times = np.column_stack([times_s[:, rows].min(axis=1) for rows in pole_groups["rows"]])

    labels = np.argmin(pole_times, axis=1).astype(np.int64)
    fastest = labels.copy()
    unreached = ~np.isfinite(pole_times.min(axis=1))
    labels[unreached] = -1
    fastest[unreached] = -1
    for pole, commune in enumerate(pole_groups["commune"]):
        if commune >= 0:
            labels[commune] = pole
    anchors = {pole: commune for pole, commune in enumerate(pole_groups["commune"]) if commune >= 0}
    events: dict[int, list[str]] = {pole: [] for pole in range(len(pole_groups["rows"]))}
    labels, moved = enforce_contiguity(labels, adjacency, population, anchors)
    for pole in events:
        n_unreached = int(np.sum(moved["unreached"] == pole))
        n_cut = int(np.sum(moved["cut"] == pole))
        if n_unreached:
            events[pole].append(wording.unreached_attached(n_unreached))
        if n_cut:
            events[pole].append(wording.enclaves_reassigned(n_cut))

    names = [
        pole_name(communes, sites, pole_groups["commune"][p], pole_groups["rows"][p][0])
        for p in range(len(pole_groups["rows"]))
    ]
    for pole, members in joined.items():
        events[pole].append(
            wording.poles_joined([(pole_name(communes, sites, c, -1), t) for c, t in members], pole_merge_s or 0.0)
        )
    labels, events = merge_small_zones(
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
    shares = fastest_share(labels, fastest, population)
    explanation = {pole: _explain(names[pole], shares.get(pole, 0.0)) for pole in events}

    hub_site = {p: int(pole_groups["rows"][p][0]) for p in events}
    hub_commune = {p: int(pole_groups["commune"][p]) for p in events}
    zoning = build_zoning(
        communes,
        sites,
        times_s,
        labels,
        hub_site=hub_site,
        hub_commune=hub_commune,
        names={p: wording.catchment_name(names[p]) for p in events},
        explanation=explanation,
        events=events,
        groups=None,
        id_prefix=None,
    )
    zoning.method = "catchment"
    zoning.params = {
        "hubs": list(hubs) if hubs is not None else None,
        "min_population": min_population,
        "merge_rule": merge_rule,
        "pole_merge_s": pole_merge_s,
        "pole_merge_adjacent": pole_merge_adjacent,
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


def merge_close_poles(
    pole_groups: dict[str, list],
    pole_times: np.ndarray,
    population: np.ndarray,
    limit_s: float,
    *,
    adjacency: scipy.sparse.spmatrix | None = None,
) -> tuple[dict[str, list], dict[int, list[tuple[int, float]]]]:
    """Join each pôle to a more populous pôle within ``limit_s`` of it (both ways), or
    whose commune borders its own when ``adjacency`` is given.

    Pôles are taken by decreasing population of their commune (then in site order); one
    within ``limit_s`` of an already kept pôle (or bordering it; the nearest, by the
    slower of the two directions) joins it, else it is kept. A pôle outside every
    commune stays alone.

    Returns
    -------
    pole_groups
        As :func:`geo.zoning.model.poles`, the joined pôles' rows added to the keeper's.
    joined
        New pôle index -> ``(commune position, seconds)`` of the pôles that joined it.
    """
    communes = pole_groups["commune"]
    order = sorted(range(len(communes)), key=lambda p: (-(population[communes[p]] if communes[p] >= 0 else -1.0), p))
    keeper_of: dict[int, int] = {}
    kept: list[int] = []
    gap: dict[int, float] = {}
    for p in order:
        best, best_s = None, math.inf
        if communes[p] >= 0:
            for q in kept:
                if communes[q] < 0:
                    continue
                both = max(pole_times[communes[p], q], pole_times[communes[q], p])
                borders = adjacency is not None and adjacency[communes[p], communes[q]] > 0
                if (both <= limit_s or borders) and both <= best_s:
                    best, best_s = q, float(both)
        if best is None:
            kept.append(p)
            keeper_of[p] = p
        else:
            keeper_of[p] = best
            gap[p] = best_s
    kept_sorted = sorted(kept)
    new_index = {q: i for i, q in enumerate(kept_sorted)}
    rows = [list(pole_groups["rows"][q]) for q in kept_sorted]
    joined: dict[int, list[tuple[int, float]]] = {}
    for p in range(len(communes)):
        q = keeper_of[p]
        if q != p:
            rows[new_index[q]].extend(int(r) for r in pole_groups["rows"][p])
            joined.setdefault(new_index[q], []).append((int(communes[p]), gap[p]))
    return {"rows": [np.array(r) for r in rows], "commune": [communes[q] for q in kept_sorted]}, joined


def _explain(pole: str, share: float) -> Callable[[ZoneFacts], str]:
    """The explanation of the catchment zone of ``pole`` (``share``: its population whose
    fastest pôle is this one)."""
    return lambda facts: wording.catchment_explanation(facts, pole, share)


def enforce_contiguity(
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
            contact = zone_contacts(adjacency, main_labels, inside)
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


def merge_small_zones(
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
    """Merge zones under ``min_population`` into their best neighbour, smallest first.

    ``pole_times`` is ``(n_communes, n_poles)``: each commune's time to each pôle.
    """
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
        contact = zone_contacts(adjacency, labels, inside)
        neighbours = [int(z) for z in np.flatnonzero(contact > 0) if z != zone]
        if not neighbours:
            stuck.add(zone)
            continue
        by_time = False
        target = max(neighbours, key=lambda z: (contact[z], -z))
        if merge_rule == "time":
            weights = population[inside]
            means = {z: float(weighted_mean(pole_times[inside][:, [z]], weights)[0]) for z in neighbours}
            reachable = [z for z in neighbours if np.isfinite(means[z])]
            if reachable:
                target = min(reachable, key=lambda z: (means[z], -contact[z], z))
                by_time = True
        labels[inside] = target
        merged = wording.merged_small_zone(names[zone], pops[zone], min_population, by_time=by_time)
        events[target] = [*events.get(target, []), merged, *events.pop(zone, [])]
    return labels, events


def fastest_share(labels: np.ndarray, fastest: np.ndarray, population: np.ndarray) -> dict[int, float]:
    """Share of each zone's population whose fastest pôle is the zone's own."""
    shares = {}
    for zone in np.unique(labels[labels >= 0]):
        inside = labels == zone
        total = population[inside].sum()
        own = population[inside & (fastest == zone)].sum()
        shares[int(zone)] = float(own / total) if total > 0 else float(np.mean(fastest[inside] == zone))
    return shares
