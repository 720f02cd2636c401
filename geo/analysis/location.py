"""Where to open new sites: location-allocation with the existing network kept as it is.

Existing sites stay open; ``k`` new sites are chosen among candidate communes (a new site
is placed at the commune's origin, so its times are those of ``commune_times_s``).

Maximal covering (:func:`maximal_covering`)
    Maximise the population newly brought within ``threshold_s`` of a site (communes
    already within it of an existing site count for nothing).

p-median (:func:`p_median`)
    Minimise the population-weighted travel time to the nearest site, existing or new;
    an unreachable commune costs ``unreachable_s``.

Both are solved exactly as mixed-integer programmes by HiGHS (``scipy.optimize.milp``,
shipped with scipy), in a sparse form: only the communes left uncovered (coverage) and
the (commune, candidate) pairs that beat the existing network (p-median) get a variable,
which keeps a Région (1,200 communes x 1,200 candidates) small. HiGHS is deterministic:
the same inputs give the same sites. A greedy heuristic (add the best candidate, one at
a time) is available as ``method="greedy"`` and as the fallback when the exact solver
stops on its time limit without a solution.

:func:`evaluate_scenario` measures any scenario (sites added at communes, existing sites
closed): new nearest times per commune, population newly covered, and the change of the
main indicators per zone.

Times are in seconds, populations in inhabitants. Matrices follow the orientation of
:mod:`geo.traveltimes`, one row per commune (where the inhabitants start), one column per
site: ``times_s`` is ``(n_communes, n_sites)``, ``candidate_times_s`` ``(n_communes,
n_candidates)`` and ``commune_times_s`` ``(n_communes, n_communes)`` with ``[i, j]`` the
time from commune ``i``'s origin to a site at commune ``j``'s origin; ``inf`` beyond
reach. (The solvers below work candidate by candidate: they take the transpose,
``by_candidate``, built once in :func:`_inputs`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.errors import MissingColumnError, ValidationError
from geo.vocabulary import COVER_S
from geo.zoning.model import assignment_frame

DEFAULT_COVER_S = COVER_S
"""Coverage threshold (seconds) of :func:`maximal_covering` and the scenarios: 30 minutes."""

Method = Literal["exact", "greedy"]
Objective = Literal["coverage", "median"]

OBJECTIVES: dict[str, Objective] = {"coverage": "coverage", "median": "median"}
"""The objectives of :func:`locate_new_sites`, by name."""


@dataclass
class LocationResult:
    """Sites chosen by :func:`maximal_covering` or :func:`p_median`.

    Attributes
    ----------
    objective
        ``"coverage"`` or ``"median"``.
    chosen
        Positions (columns of ``candidate_times_s``) of the chosen candidates, ascending.
    value
        Objective value: population newly covered (coverage), or total
        population-weighted time in inhabitant-seconds, unreachable communes costing
        ``unreachable_s`` (median).
    seconds_before, seconds_after
        Nearest time (seconds) of every commune with the existing sites, then with the
        chosen sites added (``inf`` when unreachable).
    method
        ``"milp"`` (HiGHS) or ``"greedy"``.
    optimal
        True when the exact solver proved optimality.
    chosen_codes
        Commune codes of the chosen candidates (from :func:`locate_new_sites`).
    gains
        What each chosen site brings (from :func:`locate_new_sites`): :func:`site_gains`,
        one row per chosen site, largest gain first.
    params
        The parameters used.
    """

    objective: str
    chosen: np.ndarray
    value: float
    seconds_before: np.ndarray
    seconds_after: np.ndarray
    method: str
    optimal: bool
    chosen_codes: list[str] = field(default_factory=list)
    gains: pd.DataFrame = field(default_factory=pd.DataFrame)
    params: dict[str, object] = field(default_factory=dict)


# ------------------------------------------------------------------ models
def maximal_covering(
    population: np.ndarray,
    existing_times_s: np.ndarray,
    candidate_times_s: np.ndarray,
    *,
    k: int,
    threshold_s: float = DEFAULT_COVER_S,
    method: Method = "exact",
    time_limit_s: float | None = None,
    costs: np.ndarray | None = None,
    budget: float | None = None,
) -> LocationResult:
    """Choose ``k`` candidates maximising the population newly within ``threshold_s``.

    Parameters
    ----------
    population
        Inhabitants of each commune, shape ``(n_communes,)``.
    existing_times_s
        ``(n_communes, n_sites)`` seconds from each commune to each existing site (may
        have zero columns).
    candidate_times_s
        ``(n_communes, n_candidates)`` seconds from each commune to each candidate
        (:func:`candidate_times` builds it from ``commune_times_s``).
    k
        Number of new sites, ``0 <= k <= n_candidates``.
    threshold_s
        Coverage threshold in seconds (inclusive).
    method
        ``"exact"`` (HiGHS MILP) or ``"greedy"``.
    time_limit_s
        Time limit of the exact solver in seconds (None: none).
    costs, budget
        Cost of opening each candidate (``(n_candidates,)``, non-negative) and the budget
        their sum may not exceed; with a budget, ``k`` is the most sites opened (fewer
        when the budget allows no more, or when no more brings anything).

    Returns
    -------
    LocationResult
        ``value`` is the population newly covered.

    Notes
    -----
    Model: binary ``x_j`` (open candidate ``j``), continuous ``y_i`` in [0, 1] for every
    commune ``i`` not yet covered and coverable; maximise ``sum w_i y_i`` subject to
    ``y_i <= sum_{j: t_ij <= T} x_j`` and ``sum x_j = k`` (``y`` is integral at the
    optimum since ``x`` is).
    """
    weights, before, by_candidate = _inputs(population, existing_times_s, candidate_times_s, k)
    covered = before <= threshold_s
    reach = (by_candidate <= threshold_s) & ~covered[np.newaxis, :] & (weights > 0)[np.newaxis, :]
    if method not in ("exact", "greedy"):
        raise ValidationError(f"unknown method {method!r}; expected 'exact' or 'greedy'", field="method")
    spend = _budget(costs, budget, reach.shape[0])
    solved, optimal = _milp_coverage(weights, reach, k, time_limit_s, spend) if method == "exact" else (None, False)
    if solved is not None:
        chosen, result_method = solved, "milp"
    else:  # asked for, or the exact solver stopped on its time limit without a solution
        chosen, result_method, optimal = _greedy_coverage(weights, reach, k, spend), "greedy", False
    after = _after(before, by_candidate, chosen)
    value = float(weights[~covered & (after <= threshold_s)].sum())
    return LocationResult(
        objective="coverage",
        chosen=chosen,
        value=value,
        seconds_before=before,
        seconds_after=after,
        method=result_method,
        optimal=optimal,
        params={"k": k, "threshold_s": float(threshold_s), "budget": budget},
    )


def p_median(
    population: np.ndarray,
    existing_times_s: np.ndarray,
    candidate_times_s: np.ndarray,
    *,
    k: int,
    unreachable_s: float | None = None,
    method: Method = "exact",
    time_limit_s: float | None = None,
    costs: np.ndarray | None = None,
    budget: float | None = None,
) -> LocationResult:
    """Choose ``k`` candidates minimising the population-weighted time to the nearest site.

    Parameters
    ----------
    population, existing_times_s, candidate_times_s, k, method, time_limit_s, costs, budget
        As in :func:`maximal_covering`.
    unreachable_s
        Cost (seconds) of a commune reaching no site; default twice the largest finite
        time of the inputs (one hour when there is none).

    Returns
    -------
    LocationResult
        ``value`` is ``sum_i w_i min(t_i, unreachable_s)`` after the opening, in
        inhabitant-seconds.

    Notes
    -----
    Model ("savings" form): binary ``x_j``; continuous ``z_ij`` in [0, 1] only for the
    pairs where candidate ``j`` beats commune ``i``'s existing time ``e_i``; minimise
    ``sum w_i (t_ij - e_i) z_ij`` subject to ``sum_j z_ij <= 1``, ``z_ij <= x_j`` and
    ``sum x_j = k``.
    """
    weights, before, by_candidate = _inputs(population, existing_times_s, candidate_times_s, k)
    penalty = _unreachable(unreachable_s, existing_times_s, candidate_times_s)
    base = np.minimum(before, penalty)
    if method not in ("exact", "greedy"):
        raise ValidationError(f"unknown method {method!r}; expected 'exact' or 'greedy'", field="method")
    spend = _budget(costs, budget, by_candidate.shape[0])
    times = np.minimum(by_candidate, penalty)
    solved, optimal = _milp_median(weights, base, times, k, time_limit_s, spend) if method == "exact" else (None, False)
    if solved is not None:
        chosen, result_method = solved, "milp"
    else:  # asked for, or the exact solver stopped on its time limit without a solution
        chosen, result_method, optimal = _greedy_median(weights, times, k, base, spend), "greedy", False
    after = _after(before, by_candidate, chosen)
    value = float((weights * np.minimum(after, penalty)).sum())
    return LocationResult(
        objective="median",
        chosen=chosen,
        value=value,
        seconds_before=before,
        seconds_after=after,
        method=result_method,
        optimal=optimal,
        params={"k": k, "unreachable_s": penalty, "budget": budget},
    )


def candidate_times(commune_times_s: np.ndarray, candidates: Sequence[int] | np.ndarray) -> np.ndarray:
    """Times to new sites at candidate communes: the candidates' columns of ``commune_times_s``.

    Parameters
    ----------
    commune_times_s
        ``(n_communes, n_communes)``, ``[i, j]`` = seconds from commune ``i``'s origin to a
        site at commune ``j``'s origin (:func:`geo.traveltimes.commune_times`).
    candidates
        Positions of the candidate communes.

    Returns
    -------
    numpy.ndarray
        ``(n_communes, n_candidates)``: column ``r`` is the time from every commune to a
        site at candidate ``candidates[r]``.
    """
    matrix = np.asarray(commune_times_s, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        msg = f"commune_times_s must be square (n_communes, n_communes), got {matrix.shape}"
        raise ValidationError(msg, field="commune_times_s")
    return matrix[:, np.asarray(candidates, dtype=np.int64)].copy()


def site_gains(
    population: np.ndarray,
    seconds_before: np.ndarray,
    candidate_times_s: np.ndarray,
    chosen: Sequence[int] | np.ndarray,
    *,
    threshold_s: float = DEFAULT_COVER_S,
) -> pd.DataFrame:
    """What each chosen site brings, counted once: the site bringing most first, then the
    next given the first, and so on.

    Parameters
    ----------
    population
        Inhabitants of each commune, ``(n_communes,)``.
    seconds_before
        Nearest time (seconds) of every commune with the existing sites.
    candidate_times_s
        ``(n_communes, n_candidates)`` seconds to each candidate.
    chosen
        Positions of the chosen candidates (columns of ``candidate_times_s``).
    threshold_s
        Coverage threshold (seconds).

    Returns
    -------
    pandas.DataFrame
        One row per chosen site, in that order: ``position``, ``population_covered``
        (inhabitants newly within ``threshold_s`` thanks to it, given the sites listed
        before) and ``person_seconds_saved`` (population-weighted reduction of the nearest
        time, in inhabitant-seconds, over the communes that already reached a site: a
        first access is counted in ``population_covered`` only).
    """
    weights = np.asarray(population, dtype=np.float64)
    current = np.asarray(seconds_before, dtype=np.float64).copy()
    times = np.asarray(candidate_times_s, dtype=np.float64)
    remaining = [int(j) for j in chosen]
    rows = []
    while remaining:
        gains = {j: _gain(weights, current, times[:, j], threshold_s) for j in remaining}
        best = max(remaining, key=lambda j: (*gains[j], -j))
        covered, saved = gains[best]
        rows.append({"position": best, "population_covered": covered, "person_seconds_saved": saved})
        current = np.minimum(current, times[:, best])
        remaining.remove(best)
    return pd.DataFrame(rows, columns=["position", "population_covered", "person_seconds_saved"])


def _gain(weights: np.ndarray, current: np.ndarray, site: np.ndarray, threshold_s: float) -> tuple[float, float]:
    """(inhabitants newly within ``threshold_s``, inhabitant-seconds saved) by one more site."""
    after = np.minimum(current, site)
    covered = float(weights[(after <= threshold_s) & ~(current <= threshold_s)].sum())
    known = np.isfinite(current)
    saved = float((weights[known] * (current[known] - after[known])).sum())
    return covered, saved


def locate_new_sites(
    communes: pd.DataFrame,
    times_s: np.ndarray,
    commune_times_s: np.ndarray,
    *,
    k: int,
    objective: Objective = "coverage",
    threshold_s: float = DEFAULT_COVER_S,
    candidates: Sequence[str] | None = None,
    method: Method = "exact",
    time_limit_s: float | None = None,
    unreachable_s: float | None = None,
) -> LocationResult:
    """Choose ``k`` communes for new sites, the existing sites staying open.

    Parameters
    ----------
    communes
        ``code`` and ``population`` (inhabitants), in the row order of the matrices.
    times_s
        ``(n_communes, n_sites)`` seconds to the existing sites.
    commune_times_s
        ``(n_communes, n_communes)`` seconds between commune origins (``[i, j]``: from
        ``i`` to ``j``).
    k
        Number of new sites.
    objective
        ``"coverage"`` (:func:`maximal_covering`) or ``"median"`` (:func:`p_median`).
    threshold_s
        Coverage threshold (seconds), for ``"coverage"``.
    candidates
        Codes of the candidate communes; default every commune.
    method, time_limit_s, unreachable_s
        See :func:`maximal_covering` and :func:`p_median`.

    Returns
    -------
    LocationResult
        With ``chosen_codes`` and ``gains`` (:func:`site_gains`, with the commune code of
        each site in ``commune_code``).
    """
    codes = _codes(communes)
    positions = _positions(codes, candidates, field="candidates") if candidates is not None else np.arange(codes.size)
    population = communes["population"].to_numpy(dtype=np.float64)
    columns = candidate_times(commune_times_s, positions)
    if objective == "coverage":
        result = maximal_covering(
            population, times_s, columns, k=k, threshold_s=threshold_s, method=method, time_limit_s=time_limit_s
        )
    elif objective == "median":
        result = p_median(
            population,
            times_s,
            columns,
            k=k,
            unreachable_s=unreachable_s,
            method=method,
            time_limit_s=time_limit_s,
        )
    else:
        raise ValidationError(f"unknown objective {objective!r}; expected 'coverage' or 'median'", field="objective")
    result.chosen_codes = [str(codes[positions[j]]) for j in result.chosen]
    gains = site_gains(population, result.seconds_before, columns, result.chosen, threshold_s=threshold_s)
    gains.insert(1, "commune_code", [str(codes[positions[j]]) for j in gains["position"]])
    result.gains = gains
    return result


# ---------------------------------------------------------------- scenarios
@dataclass
class ScenarioResult:
    """Effect of a scenario (sites added and/or closed).

    Attributes
    ----------
    communes
        ``commune_code, zone_id, population, seconds_before, seconds_after, delta_s``
        (after minus before; NaN when both are unreachable), ``within_before,
        within_after`` (within ``threshold_s``), ``newly_covered``, ``no_longer_covered``,
        and the geometry when the communes have one.
    zones
        Per zone: ``zone_id, population, mean_seconds_before, mean_seconds_after,
        delta_mean_s`` (population-weighted over the communes that reach a site),
        ``share_within_before, share_within_after, delta_share`` (0–1),
        ``population_unreached_before, population_unreached_after``; plus a last row
        ``zone_id = None`` for the whole territory.
    newly_covered_population, no_longer_covered_population
        Inhabitants brought within / pushed beyond ``threshold_s``.
    threshold_s
        The threshold (seconds).
    """

    communes: pd.DataFrame
    zones: pd.DataFrame
    newly_covered_population: int
    no_longer_covered_population: int
    threshold_s: float


def evaluate_scenario(
    communes: pd.DataFrame,
    times_s: np.ndarray,
    sites: pd.DataFrame,
    *,
    commune_times_s: np.ndarray | None = None,
    add_at: Sequence[str] = (),
    added_times_s: np.ndarray | None = None,
    close: Sequence[str] = (),
    threshold_s: float = DEFAULT_COVER_S,
    zoning: pd.DataFrame | None = None,
) -> ScenarioResult:
    """New nearest times and indicators when sites are added at communes or closed.

    Parameters
    ----------
    communes
        ``code``, ``population`` (inhabitants), in the row order of the matrices;
        the geometry is carried when present.
    times_s
        ``(n_communes, n_sites)`` seconds from each commune to each existing site.
    sites
        ``structure_id`` of each column of ``times_s``.
    commune_times_s
        ``(n_communes, n_communes)`` seconds between commune origins; needed by
        ``add_at``.
    add_at
        Codes of the communes receiving a new site (at their origin).
    added_times_s
        ``(n_communes, n_added)`` seconds from each commune to other new sites (candidates
        at their own point, :func:`geo.traveltimes.travel_times`).
    close
        ``structure_id`` of the existing sites closed.
    threshold_s
        Coverage threshold (seconds) of the indicators.
    zoning
        ``commune_code, zone_id``; default: one zone for the whole territory.

    Returns
    -------
    ScenarioResult

    Raises
    ------
    geo.errors.ValidationError
        For an unknown commune or structure, or ``add_at`` without ``commune_times_s``.
    """
    codes = _codes(communes)
    population = communes["population"].to_numpy(dtype=np.float64)
    times_s = np.asarray(times_s, dtype=np.float64)
    if "structure_id" not in sites.columns:
        raise MissingColumnError("sites lack the column 'structure_id'", field="structure_id")
    if times_s.shape != (codes.size, len(sites)):
        msg = f"times_s is {times_s.shape}, expected (n_communes, n_sites) = {(codes.size, len(sites))}"
        raise ValidationError(msg, field="times_s")
    ids = sites["structure_id"].astype(str).to_numpy()
    unknown = sorted(set(map(str, close)) - set(ids))
    if unknown:
        raise ValidationError(f"unknown structure_id(s) to close: {', '.join(unknown)}", field="close")
    kept = times_s[:, ~np.isin(ids, [str(c) for c in close])]
    before = _nearest(times_s)
    after = _nearest(kept)
    if len(add_at):
        if commune_times_s is None:
            raise ValidationError("commune_times_s is needed to add sites at communes", field="commune_times_s")
        added = candidate_times(commune_times_s, _positions(codes, add_at, field="add_at"))
        if added.shape[0] != codes.size:
            msg = f"commune_times_s covers {added.shape[0]} communes, expected {codes.size}"
            raise ValidationError(msg, field="commune_times_s")
        after = np.minimum(after, added.min(axis=1))
    if added_times_s is not None and np.shape(added_times_s)[1]:
        extra = np.asarray(added_times_s, dtype=np.float64)
        if extra.shape[0] != codes.size:
            msg = f"added_times_s is {extra.shape}, expected ({codes.size}, n_added)"
            raise ValidationError(msg, field="added_times_s")
        after = np.minimum(after, extra.min(axis=1))
    zone = _zone_column(zoning, codes)
    within_before = before <= threshold_s
    within_after = after <= threshold_s
    both_unreached = ~np.isfinite(before) & ~np.isfinite(after)
    with np.errstate(invalid="ignore"):
        delta = np.where(both_unreached, np.nan, after - before)
    frame = pd.DataFrame(
        {
            "commune_code": codes,
            "zone_id": zone,
            "population": np.round(population).astype(np.int64),
            "seconds_before": before,
            "seconds_after": after,
            "delta_s": delta,
            "within_before": within_before,
            "within_after": within_after,
            "newly_covered": within_after & ~within_before,
            "no_longer_covered": within_before & ~within_after,
        }
    )
    if isinstance(communes, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=communes.geometry.to_numpy(), crs=communes.crs)
    rows = [
        _indicators(z, population[zone == z], before[zone == z], after[zone == z], threshold_s)
        for z in sorted(set(zone), key=str)
    ]
    rows.append(_indicators(None, population, before, after, threshold_s))
    return ScenarioResult(
        communes=frame,
        zones=pd.DataFrame(rows),
        newly_covered_population=int(round(population[within_after & ~within_before].sum())),
        no_longer_covered_population=int(round(population[within_before & ~within_after].sum())),
        threshold_s=float(threshold_s),
    )


def site_loads(population: np.ndarray, seconds_before: np.ndarray, added_times_s: np.ndarray) -> np.ndarray:
    """Inhabitants for whom each new site becomes the nearest (strictly nearer than every
    existing site and than the new sites listed before it), to compare with its capacity.

    ``added_times_s`` is ``(n_communes, n_added)``; the result ``(n_added,)``.
    """
    weights = np.asarray(population, dtype=np.float64)
    added = np.asarray(added_times_s, dtype=np.float64)
    loads = np.zeros(added.shape[1])
    if not added.shape[1]:
        return loads
    best = np.argmin(added, axis=1)
    wins = added[np.arange(added.shape[0]), best] < np.asarray(seconds_before, dtype=np.float64)
    np.add.at(loads, best[wins], weights[wins])
    return loads


@dataclass
class TimeGains:
    """Population-weighted time gained by a scenario (seconds; positive = shorter trips).

    Attributes
    ----------
    mean_s, median_s
        Mean and median gain over the inhabitants who reached a site before and after.
    farthest_mean_s
        Mean gain of the 10 % of those inhabitants who were farthest before (whole
        communes, the farthest first, until 10 % of the population is reached).
    newly_reached, no_longer_reached
        Inhabitants who reached no site before and do now, and the reverse (their gain is
        not a number of minutes: counted apart).
    population
        Inhabitants over whom the gains are measured.
    changed_population, changed_mean_s
        Those of them whose time changes, and their mean gain (NaN when none): a Région-wide
        mean dilutes a local change.
    """

    mean_s: float
    median_s: float
    farthest_mean_s: float
    newly_reached: int
    no_longer_reached: int
    population: int
    changed_population: int = 0
    changed_mean_s: float = float("nan")


FARTHEST_SHARE = 0.10
"""Share of the population, the farthest from a site, whose gain :class:`TimeGains` reports apart."""


def time_gains(population: np.ndarray, seconds_before: np.ndarray, seconds_after: np.ndarray) -> TimeGains:
    """Population-weighted time gained per commune (``before - after``): mean, median and
    the mean over the farthest :data:`FARTHEST_SHARE` of the population (NaN when nobody
    reaches a site both before and after)."""
    weights = np.asarray(population, dtype=np.float64)
    before = np.asarray(seconds_before, dtype=np.float64)
    after = np.asarray(seconds_after, dtype=np.float64)
    both = np.isfinite(before) & np.isfinite(after) & (weights > 0)
    newly = int(round(weights[~np.isfinite(before) & np.isfinite(after)].sum()))
    lost = int(round(weights[np.isfinite(before) & ~np.isfinite(after)].sum()))
    if not both.any():
        return TimeGains(np.nan, np.nan, np.nan, newly, lost, 0)
    changed = both & (before != after)
    w, gain, start = weights[both], before[both] - after[both], before[both]
    order = np.argsort(gain, kind="stable")
    cumulative = np.cumsum(w[order])
    median = float(gain[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])
    far = np.argsort(-start, kind="stable")
    far_cumulative = np.cumsum(w[far])
    n_far = int(np.searchsorted(far_cumulative, FARTHEST_SHARE * far_cumulative[-1])) + 1
    far_rows = far[:n_far]
    return TimeGains(
        mean_s=float((w * gain).sum() / w.sum()),
        median_s=median,
        farthest_mean_s=float((w[far_rows] * gain[far_rows]).sum() / w[far_rows].sum()),
        newly_reached=newly,
        no_longer_reached=lost,
        population=int(round(w.sum())),
        changed_population=int(round(weights[changed].sum())),
        changed_mean_s=(
            float((weights[changed] * (before[changed] - after[changed])).sum() / weights[changed].sum())
            if changed.any()
            else float("nan")
        ),
    )


# ------------------------------------------------------------------ solvers
def _milp_coverage(
    weights: np.ndarray,
    reach: np.ndarray,
    k: int,
    time_limit_s: float | None,
    spend: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray | None, bool]:
    """Exact maximal covering with HiGHS; (chosen positions, proven optimal)."""
    n_candidates = reach.shape[0]
    demand = np.flatnonzero(reach.any(axis=0))
    if k == 0 or demand.size == 0:
        return _fill(np.zeros(0, dtype=np.int64), n_candidates, k, spend), True
    n_demand = demand.size
    # Columns: x_0..x_{m-1}, y_0..y_{d-1}.
    cand, dem = np.nonzero(reach[:, demand])
    coupling = scipy.sparse.coo_matrix(
        (
            np.concatenate((np.ones(n_demand), -np.ones(cand.size))),
            (
                np.concatenate((np.arange(n_demand), dem)),
                np.concatenate((n_candidates + np.arange(n_demand), cand)),
            ),
        ),
        shape=(n_demand, n_candidates + n_demand),
    )
    cardinality = scipy.sparse.coo_matrix(
        (np.ones(n_candidates), (np.zeros(n_candidates, dtype=np.int64), np.arange(n_candidates))),
        shape=(1, n_candidates + n_demand),
    )
    cost = np.concatenate((np.zeros(n_candidates), -weights[demand]))
    return _solve(
        cost,
        n_candidates,
        [LinearConstraint(coupling.tocsr(), -np.inf, 0.0), *_selection(cardinality, k, spend, n_demand)],
        k,
        time_limit_s,
        spend,
    )


def _milp_median(
    weights: np.ndarray,
    base: np.ndarray,
    costs: np.ndarray,
    k: int,
    time_limit_s: float | None,
    spend: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray | None, bool]:
    """Exact p-median (savings form) with HiGHS; (chosen positions, proven optimal).
    ``costs`` are the capped times ``(n_candidates, n_communes)``."""
    n_candidates = costs.shape[0]
    better = (costs < base[np.newaxis, :]) & (weights > 0)[np.newaxis, :]
    cand, commune = np.nonzero(better)
    if k == 0 or cand.size == 0:
        return _fill(np.zeros(0, dtype=np.int64), n_candidates, k, spend), True
    n_pairs = cand.size
    pair_columns = n_candidates + np.arange(n_pairs)
    communes_used, commune_row = np.unique(commune, return_inverse=True)
    one_each = scipy.sparse.coo_matrix(
        (np.ones(n_pairs), (commune_row, pair_columns)), shape=(communes_used.size, n_candidates + n_pairs)
    )
    opened = scipy.sparse.coo_matrix(
        (
            np.concatenate((np.ones(n_pairs), -np.ones(n_pairs))),
            (np.concatenate((np.arange(n_pairs), np.arange(n_pairs))), np.concatenate((pair_columns, cand))),
        ),
        shape=(n_pairs, n_candidates + n_pairs),
    )
    cardinality = scipy.sparse.coo_matrix(
        (np.ones(n_candidates), (np.zeros(n_candidates, dtype=np.int64), np.arange(n_candidates))),
        shape=(1, n_candidates + n_pairs),
    )
    savings = weights[commune] * (costs[cand, commune] - base[commune])
    cost = np.concatenate((np.zeros(n_candidates), savings))
    return _solve(
        cost,
        n_candidates,
        [
            LinearConstraint(one_each.tocsr(), -np.inf, 1.0),
            LinearConstraint(opened.tocsr(), -np.inf, 0.0),
            *_selection(cardinality, k, spend, n_pairs),
        ],
        k,
        time_limit_s,
        spend,
    )


def _selection(
    cardinality: scipy.sparse.coo_matrix, k: int, spend: tuple[np.ndarray, float] | None, n_other: int
) -> list[LinearConstraint]:
    """Exactly ``k`` sites, or with a budget at most ``k`` sites whose costs fit in it."""
    if spend is None:
        return [LinearConstraint(cardinality.tocsr(), k, k)]
    costs, budget = spend
    row = np.concatenate((costs, np.zeros(n_other)))[np.newaxis, :]
    return [LinearConstraint(cardinality.tocsr(), 0, k), LinearConstraint(row, -np.inf, budget)]


def _budget(costs: np.ndarray | None, budget: float | None, n_candidates: int) -> tuple[np.ndarray, float] | None:
    """Checked ``(costs, budget)``, or None without a budget."""
    if budget is None:
        return None
    if costs is None:
        raise ValidationError("a budget needs the cost of every candidate", field="budget")
    values = np.asarray(costs, dtype=np.float64)
    if values.shape != (n_candidates,) or np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValidationError("every candidate needs a known, non-negative cost with a budget", field="costs")
    if not budget >= 0:
        raise ValidationError(f"the budget must be non-negative, got {budget}", field="budget")
    return values, float(budget)


def _solve(
    cost: np.ndarray,
    n_candidates: int,
    constraints: list[LinearConstraint],
    k: int,
    time_limit_s: float | None,
    spend: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray | None, bool]:
    """Run HiGHS (binary candidates first, continuous rest); None when no solution."""
    integrality = np.zeros(cost.size)
    integrality[:n_candidates] = 1
    options: dict[str, object] = {"mip_rel_gap": 0.0, "presolve": True}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    result = milp(cost, integrality=integrality, bounds=Bounds(0.0, 1.0), constraints=constraints, options=options)
    if result.x is None:
        return None, False
    chosen = np.flatnonzero(result.x[:n_candidates] > 0.5).astype(np.int64)
    return _fill(chosen, n_candidates, k, spend), bool(result.status == 0)


def _greedy_coverage(
    weights: np.ndarray, reach: np.ndarray, k: int, spend: tuple[np.ndarray, float] | None = None
) -> np.ndarray:
    """Add the candidate covering most inhabitants not yet covered, ``k`` times (ties: first);
    with a budget, only candidates that still fit, stopping when none brings anything.

    ``reach`` is boolean ``(n_candidates, n_communes)``.
    """
    chosen: list[int] = []
    available = np.ones(reach.shape[0], dtype=bool)
    open_demand = weights.copy()
    left = spend[1] if spend is not None else np.inf
    for _ in range(k):
        gain = reach.astype(np.float64) @ open_demand
        if spend is not None:
            available &= spend[0] <= left
        gain[~available] = -np.inf
        if not np.isfinite(gain).any() or (spend is not None and gain.max() <= 0):
            break
        best = int(np.argmax(gain))
        left -= spend[0][best] if spend is not None else 0.0
        chosen.append(best)
        available[best] = False
        open_demand = np.where(reach[best], 0.0, open_demand)
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _greedy_median(
    weights: np.ndarray, costs: np.ndarray, k: int, base: np.ndarray, spend: tuple[np.ndarray, float] | None = None
) -> np.ndarray:
    """Add the candidate saving most inhabitant-seconds, ``k`` times (ties: first); with a
    budget, only candidates that still fit, stopping when none saves anything.

    ``costs`` is ``(n_candidates, n_communes)`` capped seconds, ``base`` the current
    capped time of each commune.
    """
    chosen: list[int] = []
    available = np.ones(costs.shape[0], dtype=bool)
    current = base.copy()
    left = spend[1] if spend is not None else np.inf
    for _ in range(k):
        gain = (np.maximum(current[np.newaxis, :] - costs, 0.0) * weights[np.newaxis, :]).sum(axis=1)
        if spend is not None:
            available &= spend[0] <= left
        gain[~available] = -np.inf
        if not np.isfinite(gain).any() or (spend is not None and gain.max() <= 0):
            break
        best = int(np.argmax(gain))
        left -= spend[0][best] if spend is not None else 0.0
        chosen.append(best)
        available[best] = False
        current = np.minimum(current, costs[best])
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _fill(chosen: np.ndarray, n_candidates: int, k: int, spend: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """Pad ``chosen`` up to ``k`` sites with the first unused candidates (no gain left);
    never with a budget (a site bringing nothing is not worth its cost)."""
    if spend is not None:
        return np.sort(chosen.astype(np.int64))
    if chosen.size >= k:
        return np.sort(chosen[:k])
    spare = np.setdiff1d(np.arange(n_candidates), chosen)[: k - chosen.size]
    return np.sort(np.concatenate((chosen, spare)).astype(np.int64))


# ------------------------------------------------------------------ helpers
def _inputs(
    population: np.ndarray, existing_times_s: np.ndarray, candidate_times_s: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked weights, the nearest existing time per commune, and ``by_candidate``: the
    candidates' times transposed, one row per candidate, as the solvers read them."""
    weights = np.asarray(population, dtype=np.float64)
    existing = np.asarray(existing_times_s, dtype=np.float64)
    candidates = np.asarray(candidate_times_s, dtype=np.float64)
    if weights.ndim != 1:
        raise ValidationError(f"population must be one-dimensional, got shape {weights.shape}", field="population")
    n = weights.size
    if existing.ndim != 2 or existing.shape[0] != n:
        msg = f"existing_times_s is {existing.shape}, expected ({n}, n_sites)"
        raise ValidationError(msg, field="existing_times_s")
    if candidates.ndim != 2 or candidates.shape[0] != n:
        msg = f"candidate_times_s is {candidates.shape}, expected ({n}, n_candidates)"
        raise ValidationError(msg, field="candidate_times_s")
    if not 0 <= k <= candidates.shape[1]:
        msg = f"k must be between 0 and the number of candidates ({candidates.shape[1]}), got {k}"
        raise ValidationError(msg, field="k")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise ValidationError("population must be finite and non-negative", field="population")
    if np.any(np.isnan(existing)) or np.any(np.isnan(candidates)):
        raise ValidationError("times must be numbers (inf beyond reach, never NaN)", field="times_s")
    return weights, _nearest(existing), candidates.T


def _nearest(times: np.ndarray) -> np.ndarray:
    """Minimum over the sites (columns); ``inf`` when there is none."""
    times = np.asarray(times, dtype=np.float64)
    return times.min(axis=1) if times.shape[1] else np.full(times.shape[0], np.inf)


def _after(before: np.ndarray, by_candidate: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Nearest time per commune once the ``chosen`` rows of ``by_candidate`` are open."""
    return np.minimum(before, by_candidate[chosen].min(axis=0)) if chosen.size else before.copy()


def _unreachable(unreachable_s: float | None, *matrices: np.ndarray) -> float:
    if unreachable_s is not None:
        if not unreachable_s > 0:
            raise ValidationError(f"unreachable_s must be positive, got {unreachable_s}", field="unreachable_s")
        return float(unreachable_s)
    finite = [float(m[np.isfinite(m)].max()) for m in matrices if np.isfinite(m).any()]
    return 2.0 * max(finite) if finite and max(finite) > 0 else 3_600.0


def _codes(communes: pd.DataFrame) -> np.ndarray:
    missing = [c for c in ("code", "population") if c not in communes.columns]
    if missing:
        raise MissingColumnError(f"communes lack the column(s) {', '.join(missing)}", field=missing[0])
    return communes["code"].astype(str).to_numpy()


def _positions(codes: np.ndarray, wanted: Sequence[str], *, field: str) -> np.ndarray:
    positions = pd.Index(codes).get_indexer([str(c) for c in wanted])
    if np.any(positions < 0):
        unknown = [str(c) for c, p in zip(wanted, positions, strict=True) if p < 0]
        raise ValidationError(f"unknown commune code(s): {', '.join(unknown)}", field=field)
    return positions.astype(np.int64)


def _zone_column(zoning: pd.DataFrame | None, codes: np.ndarray) -> np.ndarray:
    """Zone of every commune of ``codes`` (one zone ``ensemble`` without a zoning)."""
    if zoning is None:
        return np.full(codes.size, "ensemble", dtype=object)
    frame = assignment_frame(zoning)
    frame = frame[frame["zone_id"].notna()]
    mapping = pd.Series(frame["zone_id"].to_numpy(), index=frame["commune_code"].to_numpy())
    mapping = mapping[~mapping.index.duplicated()]
    values = mapping.reindex(codes)
    if values.isna().any():
        missing_codes = codes[values.isna().to_numpy()]
        raise ValidationError(f"communes in no zone: {', '.join(missing_codes[:5])}", field="zoning")
    return values.to_numpy(dtype=object)


def _indicators(
    zone: object, population: np.ndarray, before: np.ndarray, after: np.ndarray, threshold_s: float
) -> dict[str, object]:
    total = float(population.sum())

    def mean(times: np.ndarray) -> float:
        reached = np.isfinite(times)
        weight = population[reached].sum()
        return float((population[reached] * times[reached]).sum() / weight) if weight > 0 else np.nan

    def share(times: np.ndarray) -> float:
        return float(population[times <= threshold_s].sum() / total) if total > 0 else np.nan

    mean_before, mean_after = mean(before), mean(after)
    share_before, share_after = share(before), share(after)
    return {
        "zone_id": zone,
        "population": int(round(total)),
        "mean_seconds_before": mean_before,
        "mean_seconds_after": mean_after,
        "delta_mean_s": mean_after - mean_before,
        "share_within_before": share_before,
        "share_within_after": share_after,
        "delta_share": share_after - share_before,
        "population_unreached_before": int(round(population[~np.isfinite(before)].sum())),
        "population_unreached_after": int(round(population[~np.isfinite(after)].sum())),
    }
