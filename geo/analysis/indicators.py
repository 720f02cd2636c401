"""Accessibility indicators computed from travel times: pure numpy/pandas functions.

The travel times themselves come from :mod:`geo.traveltimes`; this module only turns them
into the figures the atlas reports:

- :func:`summarise_times`: population-weighted summary of the time from each commune to
  its nearest structure (shares within 10/20/30/45 minutes, mean, median, unreached);
- :func:`weighted_median`: the population-weighted (lower) median used there;
- :func:`two_step_fca` with :func:`gaussian_decay`: the two-step floating catchment area
  index (Luo & Wang 2003; Gaussian variant of Dai 2010), sites per 10,000 inhabitants;
- :func:`distinct_within`: number of distinct partner types (or operators) within reach;
- :func:`aggregate`: the commune figures rolled up to EPCI, département or Région.

Conventions: times are in seconds on input (``inf`` = unreachable, off network or beyond
the routing limit) and in minutes in the summaries; populations are inhabitants (counts,
non-negative). Travel-time matrices follow the orientation of :mod:`geo.traveltimes`:
shape ``(n_demand, n_supply)``, one row per demand location (commune, the origin), one
column per supply site (structure, the destination). Nothing here loops
over matrix cells in Python. Bad input raises :class:`geo.errors.ValidationError` naming
the argument (``field``) and, for 1-D inputs, the 1-based position (``row``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse

from geo.errors import MissingColumnError, ValidationError
from geo.vocabulary import FCA_PER, SHARE_MINUTES

THRESHOLDS_MIN: tuple[int, ...] = SHARE_MINUTES
"""Travel-time thresholds (minutes) of the ``share_<t>`` / ``population_beyond_<t>`` figures."""

DEFAULT_PER: float = FCA_PER
"""Population base of :func:`two_step_fca`: sites per this many inhabitants."""

Decay = Literal["gaussian", "step"]

_EXP_HALF = math.exp(-0.5)


# ----------------------------------------------------------------- validation
def _as_float(values: object, field: str) -> np.ndarray:
    """``values`` as a float64 array, or a ValidationError naming ``field``."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = "values must be numbers"
        raise ValidationError(msg, field=field) from exc


def _first_bad(mask: np.ndarray) -> int | None:
    """1-based position of the first True of a 1-D mask (None for n-D masks)."""
    return int(np.flatnonzero(mask)[0]) + 1 if mask.ndim == 1 else None


def _check_times(times: np.ndarray, field: str) -> None:
    """Times (seconds) must be >= 0 or ``inf``; ``nan`` and negatives are rejected."""
    if np.isnan(times).any():
        msg = "travel time is NaN; use inf for unreachable"
        raise ValidationError(msg, row=_first_bad(np.isnan(times)), field=field)
    if (times < 0).any():
        msg = "travel time (seconds) must be >= 0"
        raise ValidationError(msg, row=_first_bad(times < 0), field=field)


def _check_weights(weights: np.ndarray, field: str) -> None:
    """Weights (population, supply) must be finite and >= 0."""
    bad = ~np.isfinite(weights)
    if bad.any():
        msg = "value must be a finite number"
        raise ValidationError(msg, row=_first_bad(bad), field=field)
    if (weights < 0).any():
        msg = "value must be >= 0"
        raise ValidationError(msg, row=_first_bad(weights < 0), field=field)


def _check_positive(value: float, field: str) -> float:
    """A finite, strictly positive scalar parameter."""
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        msg = "must be a number"
        raise ValidationError(msg, field=field) from exc
    if not (math.isfinite(value) and value > 0):
        msg = f"must be a finite number > 0, got {value!r}"
        raise ValidationError(msg, field=field)
    return value


def _check_1d_pair(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.ndim != 1:
        msg = f"expected a 1-D array, got shape {a.shape}"
        raise ValidationError(msg, field=names[0])
    if a.shape != b.shape:
        msg = f"shape {b.shape} differs from {names[0]} {a.shape}"
        raise ValidationError(msg, field=names[1])


def _check_matrix(times_s: object) -> np.ndarray:
    """A ``(n_demand, n_supply)`` travel-time matrix (seconds) as float64."""
    times = _as_float(times_s, "times_s")
    if times.ndim != 2:
        msg = f"expected a 2-D (n_demand, n_supply) matrix, got shape {times.shape}"
        raise ValidationError(msg, field="times_s")
    _check_times(times, "times_s")
    return times


def _threshold_label(minutes: float) -> str:
    return f"{minutes:g}"


# ------------------------------------------------------- grouped core (vectorised)
def _grouped_weighted_median(codes: np.ndarray, values: np.ndarray, weights: np.ndarray, n_groups: int) -> np.ndarray:
    """Lower weighted median of ``values`` per group code ``0..n_groups-1``.

    ``nan`` for groups of total weight 0 (including empty groups). Inputs are validated.
    """
    result = np.full(n_groups, np.nan)
    if values.size == 0:
        return result
    order = np.lexsort((values, codes))
    codes, values, weights = codes[order], values[order], weights[order]
    # Cumulative weight within each group, in ascending value order.
    cumulative = pd.Series(weights).groupby(codes).cumsum().to_numpy()
    last = np.flatnonzero(np.r_[codes[1:] != codes[:-1], True])
    total = np.zeros(n_groups)
    # The total is the group's own last cumulative value, so the last row always qualifies.
    total[codes[last]] = cumulative[last]
    qualifies = 2.0 * cumulative >= total[codes]
    hit = np.flatnonzero(qualifies)
    group, first = np.unique(codes[hit], return_index=True)
    result[group] = values[hit[first]]
    result[total <= 0] = np.nan
    return result


def _grouped_summaries(
    codes: np.ndarray,
    n_groups: int,
    seconds: np.ndarray,
    population: np.ndarray,
    thresholds_min: Sequence[float],
) -> dict[str, np.ndarray]:
    """The :func:`summarise_times` figures of each group, as arrays of length ``n_groups``."""

    def total_of(mask: np.ndarray | None = None) -> np.ndarray:
        weights = population if mask is None else np.where(mask, population, 0.0)
        return np.bincount(codes, weights=weights, minlength=n_groups).astype(np.float64)

    reached = np.isfinite(seconds)
    total = total_of()
    population_reached = total_of(reached)
    minutes_sum = np.bincount(codes, weights=np.where(reached, seconds, 0.0) * population, minlength=n_groups) / 60.0
    mean_min = np.full(n_groups, np.nan)
    np.divide(minutes_sum, population_reached, out=mean_min, where=population_reached > 0)
    median_s = _grouped_weighted_median(codes, seconds, population, n_groups)
    out: dict[str, np.ndarray] = {
        "population": total,
        "population_reached": population_reached,
        "population_unreached": total_of(~reached),
        "mean_min": mean_min,
        "median_min": median_s / 60.0,
    }
    for minutes in thresholds_min:
        label = _threshold_label(minutes)
        within = seconds <= minutes * 60.0
        share = np.full(n_groups, np.nan)
        np.divide(total_of(within), total, out=share, where=total > 0)
        out[f"share_{label}"] = share
        out[f"population_beyond_{label}"] = total_of(~within)
    return {key: out[key] for key in _summary_keys(thresholds_min)}


def _summary_keys(thresholds_min: Sequence[float]) -> list[str]:
    """Keys of :func:`summarise_times` (and columns of :func:`aggregate`), in order."""
    keys = ["population", "population_reached", "population_unreached", "mean_min", "median_min"]
    labels = [_threshold_label(minutes) for minutes in thresholds_min]
    return keys + [f"share_{t}" for t in labels] + [f"population_beyond_{t}" for t in labels]


def _check_thresholds(thresholds_min: Sequence[float]) -> tuple[float, ...]:
    thresholds = tuple(thresholds_min)
    for t in thresholds:
        _check_positive(t, "thresholds_min")
    if len({_threshold_label(t) for t in thresholds}) != len(thresholds):
        msg = f"thresholds must be distinct, got {thresholds}"
        raise ValidationError(msg, field="thresholds_min")
    return thresholds


# ----------------------------------------------------------------- public API
def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Lower weighted median of ``values`` (e.g. travel times weighted by population).

    Definition: with the values sorted ascending and ``W`` the total weight, the lower
    weighted median is the smallest value ``v`` whose cumulative weight (sum of the
    weights of all values ``<= v``) is at least ``W / 2``. It is always one of the values
    (never an interpolation), and a value of weight 0 is never chosen. With equal weights
    and an even count it is the lower of the two middle values: ``[1, 2, 3, 4]`` gives 2.

    Parameters
    ----------
    values
        1-D array of values, in any unit (the result has the same unit). ``inf`` is
        allowed (e.g. unreachable commune) and sorts above every finite value; ``nan``
        is not.
    weights
        1-D array of non-negative finite weights (e.g. inhabitants), same shape.

    Returns
    -------
    float
        The median, in the unit of ``values``; ``inf`` when at least half of the weight
        is on ``inf`` values; ``nan`` when the total weight is 0 (or the arrays are empty).

    Raises
    ------
    geo.errors.ValidationError
        When the shapes differ, a value is ``nan``, or a weight is negative or not finite.
    """
    v = _as_float(values, "values")
    w = _as_float(weights, "weights")
    _check_1d_pair(v, w, ("values", "weights"))
    if np.isnan(v).any():
        msg = "value is NaN"
        raise ValidationError(msg, row=_first_bad(np.isnan(v)), field="values")
    _check_weights(w, "weights")
    codes = np.zeros(v.size, dtype=np.int64)
    return float(_grouped_weighted_median(codes, v, w, 1)[0])


def summarise_times(
    seconds: np.ndarray,
    population: np.ndarray,
    *,
    thresholds_min: Sequence[float] = THRESHOLDS_MIN,
) -> dict[str, float]:
    """Population-weighted summary of travel times (commune to nearest structure).

    Parameters
    ----------
    seconds
        1-D travel time of each commune, in seconds; ``inf`` = unreachable (off network
        or beyond the routing limit). Must be ``>= 0`` and not ``nan``.
    population
        1-D inhabitants of each commune (finite, ``>= 0``), same shape.
    thresholds_min
        Thresholds in minutes of the ``share_<t>`` and ``population_beyond_<t>`` keys
        (``<t>`` formatted with ``:g``, so 10 gives ``share_10``).

    Returns
    -------
    dict[str, float]
        ``population``
            Total inhabitants.
        ``population_reached`` / ``population_unreached``
            Inhabitants of communes with a finite / an ``inf`` time.
        ``mean_min``
            Population-weighted mean time in minutes over the *reached* population;
            ``nan`` when nobody is reached.
        ``median_min``
            Population-weighted lower median (:func:`weighted_median`) in minutes over the
            *whole* population, unreached included as ``+inf``: ``math.inf`` when at
            least half of the inhabitants are unreached; ``nan`` when the population is 0.
        ``share_<t>``
            Share (in [0, 1]) of the *total* population at ``<= t`` minutes (the bound is
            included: 600 s counts within 10 minutes); ``nan`` when the population is 0.
        ``population_beyond_<t>``
            Inhabitants at more than ``t`` minutes, unreached included.

    Raises
    ------
    geo.errors.ValidationError
        When the shapes differ, a time is ``nan`` or negative, a population is negative
        or not finite, or a threshold is not a positive number.
    """
    thresholds = _check_thresholds(thresholds_min)
    s = _as_float(seconds, "seconds")
    p = _as_float(population, "population")
    _check_1d_pair(s, p, ("seconds", "population"))
    _check_times(s, "seconds")
    _check_weights(p, "population")
    codes = np.zeros(s.size, dtype=np.int64)
    figures = _grouped_summaries(codes, 1, s, p, thresholds)
    return {key: float(value[0]) for key, value in figures.items()}


def gaussian_decay(seconds: np.ndarray, catchment_s: float) -> np.ndarray:
    """Gaussian distance-decay weight of the Gaussian-based 2SFCA (Dai 2010).

    .. math::

        G(t) = \\frac{e^{-\\frac12 (t/t_0)^2} - e^{-\\frac12}}{1 - e^{-\\frac12}}
        \\quad \\text{for } t \\le t_0, \\qquad G(t) = 0 \\text{ for } t > t_0,

    so ``G(0) = 1``, ``G(t0/2) ~ 0.7014``, ``G(t0) = 0``, decreasing in between; ``inf``
    (unreachable) gives 0.

    Parameters
    ----------
    seconds
        Travel times ``t`` in seconds, any shape; ``>= 0`` or ``inf``.
    catchment_s
        Catchment size ``t0`` in seconds (finite, ``> 0``).

    Returns
    -------
    numpy.ndarray
        Weights in [0, 1], float64, same shape as ``seconds``.

    Raises
    ------
    geo.errors.ValidationError
        When a time is ``nan`` or negative, or ``catchment_s`` is not a positive number.
    """
    t0 = _check_positive(catchment_s, "catchment_s")
    t = _as_float(seconds, "seconds")
    _check_times(t, "seconds")
    return _gaussian(t, t0)


def _gaussian(t: np.ndarray, t0: float) -> np.ndarray:
    """:func:`gaussian_decay` on validated input."""
    within = t <= t0
    ratio = np.where(within, t, 0.0) / t0
    weight = (np.exp(-0.5 * ratio * ratio) - _EXP_HALF) / (1.0 - _EXP_HALF)
    weight[~within] = 0.0
    return np.clip(weight, 0.0, 1.0, out=weight)


def two_step_fca(
    times_s: np.ndarray,
    supply: np.ndarray,
    demand: np.ndarray,
    *,
    catchment_s: float,
    decay: Decay = "gaussian",
    per: float = DEFAULT_PER,
) -> np.ndarray:
    """Two-step floating catchment area (2SFCA) accessibility of each demand location.

    With ``f`` the decay function, ``t_ij`` the time between site ``j`` and commune ``i``,
    ``S_j`` the supply of site ``j`` and ``P_i`` the population of commune ``i``:

    1. supply-to-demand ratio of each site: ``R_j = S_j / sum_i P_i f(t_ij)``;
    2. accessibility of each commune: ``A_i = sum_j R_j f(t_ij)``,

    returned as ``per * A_i`` (sites per ``per`` inhabitants). ``decay="step"`` is the
    classic 2SFCA of Luo & Wang (2003), ``f(t) = 1`` for ``t <= t0`` and 0 beyond;
    ``decay="gaussian"`` is the Gaussian 2SFCA of Dai (2010), ``f =``
    :func:`gaussian_decay` (which is 0 at ``t = t0`` itself). A site whose catchment holds
    no (weighted) population gets ``R_j = 0``: it contributes nothing, with no division by
    zero. Hence ``sum_i P_i A_i = sum`` of ``S_j`` over the sites whose catchment is
    populated (supply is conserved).

    Parameters
    ----------
    times_s
        Travel times in seconds, shape ``(n_demand, n_supply)``: row ``i`` = commune,
        column ``j`` = site; ``inf`` beyond reach. ``>= 0``, no ``nan``.
    supply
        Capacity of each site, shape ``(n_supply,)``, finite and ``>= 0`` (1 per site to
        count sites, or e.g. opening hours or staff).
    demand
        Population of each commune (inhabitants), shape ``(n_demand,)``, finite, ``>= 0``.
    catchment_s
        Catchment size ``t0`` in seconds (finite, ``> 0``).
    decay
        ``"gaussian"`` (default) or ``"step"``.
    per
        Population base of the result (default 10,000 inhabitants).

    Returns
    -------
    numpy.ndarray
        Accessibility of each commune in supply units per ``per`` inhabitants, float64,
        shape ``(n_demand,)``.

    Raises
    ------
    geo.errors.ValidationError
        Naming the field: ``times_s`` not 2-D or with a ``nan`` or negative time,
        ``supply`` / ``demand`` of the wrong shape or with a negative or non-finite value,
        ``catchment_s`` / ``per`` not a positive number, ``decay`` unknown.
    """
    t0 = _check_positive(catchment_s, "catchment_s")
    per = _check_positive(per, "per")
    if decay not in ("gaussian", "step"):
        msg = f"unknown decay {decay!r}; expected 'gaussian' or 'step'"
        raise ValidationError(msg, field="decay")
    times = _check_matrix(times_s)
    n_demand, n_supply = times.shape
    s = _as_float(supply, "supply")
    p = _as_float(demand, "demand")
    if s.shape != (n_supply,):
        msg = f"expected shape ({n_supply},) (one value per column of times_s), got {s.shape}"
        raise ValidationError(msg, field="supply")
    if p.shape != (n_demand,):
        msg = f"expected shape ({n_demand},) (one value per row of times_s), got {p.shape}"
        raise ValidationError(msg, field="demand")
    _check_weights(s, "supply")
    _check_weights(p, "demand")

    weight = _gaussian(times, t0) if decay == "gaussian" else (times <= t0).astype(np.float64)
    catchment_population = p @ weight  # (n_supply,)
    ratio = np.zeros(n_supply)
    np.divide(s, catchment_population, out=ratio, where=catchment_population > 0)
    return per * (weight @ ratio)


def distinct_within(times_s: np.ndarray, groups: np.ndarray, *, limit_s: float) -> np.ndarray:
    """Number of distinct groups with at least one site within ``limit_s`` of each commune.

    Parameters
    ----------
    times_s
        Travel times in seconds, shape ``(n_demand, n_supply)`` (row = commune, column =
        site); ``inf`` beyond reach. ``>= 0``, no ``nan``.
    groups
        Label of each site (e.g. partner type or operator), shape ``(n_supply,)``; any
        hashable values, none missing.
    limit_s
        Time limit in seconds (finite, ``> 0``); the bound is included (``t <= limit_s``).

    Returns
    -------
    numpy.ndarray
        For each commune, the number of distinct labels reached, int64, shape
        ``(n_demand,)``.

    Raises
    ------
    geo.errors.ValidationError
        When ``times_s`` is not 2-D or has a ``nan`` or negative time, ``groups`` does not
        have one label per column or a label is missing, or ``limit_s`` is not a positive
        number.
    """
    limit = _check_positive(limit_s, "limit_s")
    times = _check_matrix(times_s)
    n_supply = times.shape[1]
    labels = pd.Series(np.asarray(groups, dtype=object).ravel())
    if np.ndim(groups) != 1 or labels.size != n_supply:
        msg = f"expected one label per column of times_s ({n_supply}), got shape {np.shape(groups)}"
        raise ValidationError(msg, field="groups")
    missing = labels.isna().to_numpy()
    if missing.any():
        msg = "site label is missing"
        raise ValidationError(msg, row=_first_bad(missing), field="groups")
    reached, _names = reached_groups(times, labels.to_numpy(), limit_s=limit)
    return reached.sum(axis=1, dtype=np.int64)


def reached_groups(times_s: np.ndarray, groups: np.ndarray, *, limit_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Which groups of sites each commune reaches within ``limit_s`` (the rule of choice).

    Parameters
    ----------
    times_s
        ``(n_demand, n_supply)`` seconds, ``inf`` beyond reach (not validated here).
    groups
        Group of each site (column); sites without a group (None/NaN) are ignored.
    limit_s
        Time limit in seconds (inclusive).

    Returns
    -------
    reached : numpy.ndarray
        bool ``(n_demand, n_groups)``: commune ``i`` reaches a site of group ``g``.
    names : numpy.ndarray
        object ``(n_groups,)``: the groups, sorted.
    """
    times = np.asarray(times_s, dtype=np.float64)
    codes, uniques = pd.factorize(pd.Series(groups, dtype=object), sort=True)
    n_demand, n_supply = times.shape
    names = np.asarray(uniques, dtype=object)
    if n_supply == 0 or names.size == 0:
        return np.zeros((n_demand, names.size), dtype=bool), names
    valid = codes >= 0
    one_hot = scipy.sparse.csr_matrix(
        (np.ones(int(valid.sum())), (np.flatnonzero(valid), codes[valid])), shape=(n_supply, names.size)
    )
    within = (times <= limit_s).astype(np.float64)
    return np.asarray(one_hot.T @ within.T).T > 0, names


def aggregate(
    communes: pd.DataFrame,
    *,
    by: str,
    seconds_col: str = "seconds",
    population_col: str = "population",
    extra_mean_cols: Sequence[str] = (),
    thresholds_min: Sequence[float] = THRESHOLDS_MIN,
) -> pd.DataFrame:
    """Roll commune travel times up to territories (EPCI, département, Région).

    Parameters
    ----------
    communes
        One row per commune with a group column ``by`` (rows whose group is missing are
        dropped), the travel time ``seconds_col`` (seconds, ``inf`` = unreachable), the
        population ``population_col`` (inhabitants) and the ``extra_mean_cols``.
    by
        Column holding the territory code of each commune (e.g. ``"epci"``).
    seconds_col, population_col
        Names of the time (seconds) and population (inhabitants) columns.
    extra_mean_cols
        Numeric columns (e.g. ``"n_operators_30"``, ``"fca"``) to average per territory,
        weighted by population over the whole population; ``nan`` values are left out
        together with their weight (``nan`` when no weight is left). ``inf`` is rejected.
    thresholds_min
        Thresholds in minutes, as in :func:`summarise_times`.

    Returns
    -------
    pandas.DataFrame
        One row per territory, index = territory code (named ``by``, sorted), columns
        ``n_communes`` (int64), the :func:`summarise_times` keys (same units and
        conventions, computed on the territory's communes) and the population-weighted
        means of ``extra_mean_cols`` under their own names.

    Raises
    ------
    geo.errors.MissingColumnError
        When a named column is absent.
    geo.errors.ValidationError
        When a time, population or extra value is invalid (``row`` = 1-based position in
        ``communes``, ``field`` = its column), or an extra column clashes with an output
        name.
    """
    thresholds = _check_thresholds(thresholds_min)
    extra = list(extra_mean_cols)
    for col in (by, seconds_col, population_col, *extra):
        if col not in communes.columns:
            msg = f"column '{col}' is missing"
            raise MissingColumnError(msg, field=col)

    outputs = {"n_communes", *_summary_keys(thresholds)}
    clash = [c for c in extra if c in outputs or c == by]
    if clash:
        msg = f"extra column '{clash[0]}' clashes with an output column name"
        raise ValidationError(msg, field=clash[0])

    group = communes[by]
    keep = np.flatnonzero(group.notna().to_numpy())
    frame = communes.iloc[keep]
    seconds = _validated_column(frame, seconds_col, keep, times=True)
    population = _validated_column(frame, population_col, keep)
    codes, labels = pd.factorize(frame[by], sort=True)
    n_groups = len(labels)

    figures = _grouped_summaries(codes, n_groups, seconds, population, thresholds)
    result = pd.DataFrame(
        {"n_communes": np.bincount(codes, minlength=n_groups).astype(np.int64), **figures},
        index=pd.Index(labels, name=by),
    )
    for col in extra:
        values = _column_as_float(frame, col)
        if np.isinf(values).any():
            msg = "value must be finite (or NaN to leave it out)"
            raise ValidationError(msg, row=int(keep[np.isinf(values)][0]) + 1, field=col)
        present = ~np.isnan(values)
        weight = np.where(present, population, 0.0)
        weighted = np.where(present, values, 0.0) * weight
        numerator = np.bincount(codes, weights=weighted, minlength=n_groups)
        denominator = np.bincount(codes, weights=weight, minlength=n_groups)
        mean = np.full(n_groups, np.nan)
        np.divide(numerator, denominator, out=mean, where=denominator > 0)
        result[col] = mean
    return result


def _column_as_float(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A numeric column as float64 (missing values as ``nan``)."""
    try:
        return frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        msg = "values must be numbers"
        raise ValidationError(msg, field=col) from exc


def _validated_column(frame: pd.DataFrame, col: str, positions: np.ndarray, *, times: bool = False) -> np.ndarray:
    """A time or population column as float64, errors naming the row in the caller's frame."""
    values = _column_as_float(frame, col)
    try:
        if times:
            _check_times(values, col)
        else:
            _check_weights(values, col)
    except ValidationError as exc:
        row = int(positions[exc.row - 1]) + 1 if exc.row is not None else None
        raise ValidationError(exc.message, row=row, field=col) from None
    return values
