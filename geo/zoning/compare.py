"""Compare two zonings: overlap, adjusted Rand index, population placed differently.

A zoning is a mapping commune -> zone (:func:`geo.zoning.model.assignment_frame`). The
overlap table counts the communes and inhabitants of every pair of zones; the adjusted
Rand index is computed over communes and in a population-weighted variant (each
inhabitant is an element: pairs of inhabitants placed together or apart by both
zonings); the communes whose zones do not correspond get a ``differs`` flag for a
difference map. Populations are in inhabitants, geometries in the communes' projected
CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import ValidationError
from geo.french import count
from geo.zoning.model import assignment_frame


@dataclass
class ZoningComparison:
    """Result of :func:`compare_zonings`.

    Attributes
    ----------
    overlap
        Contingency table: ``zone_a, zone_b, n_communes, population`` (inhabitants), one
        row per pair of zones sharing at least one commune.
    ari
        Adjusted Rand index over communes (1 = same partition, about 0 = chance).
    ari_population
        Adjusted Rand index over inhabitants (population-weighted variant).
    mismatched_population
        Inhabitants of the communes flagged ``differs``.
    mismatched_share
        The same, as a share of the population compared (0–1).
    communes
        GeoDataFrame ``commune_code, zone_a, zone_b, match_b`` (best-matching zone of B
        for the commune's zone of A), ``match_a`` (best match of A for its zone of B),
        ``differs``, ``population`` and the geometry.
    """

    overlap: pd.DataFrame
    ari: float
    ari_population: float
    mismatched_population: int
    mismatched_share: float
    communes: gpd.GeoDataFrame


def adjusted_rand_index(labels_a: np.ndarray, labels_b: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Adjusted Rand index of two partitions, optionally weighting each element.

    Parameters
    ----------
    labels_a, labels_b
        Zone of each element in each partition (same length).
    weights
        Number of individuals each element stands for (e.g. a commune's inhabitants);
        None counts each element once. With weights, the index is computed on the
        pairs of individuals (contingency counts are sums of weights).

    Returns
    -------
    float
        1.0 for identical partitions (also when both are trivial), about 0 for independent
        ones, negative when worse than chance. Equals
        ``sklearn.metrics.adjusted_rand_score`` without weights.
    """
    a = pd.factorize(pd.Series(labels_a, dtype=object))[0]
    b = pd.factorize(pd.Series(labels_b, dtype=object))[0]
    if a.size != b.size:
        msg = f"the partitions differ in length: {a.size} and {b.size}"
        raise ValidationError(msg)
    w = np.ones(a.size) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != a.shape:
        msg = f"weights have shape {w.shape}, expected {a.shape}"
        raise ValidationError(msg, field="weights")
    if a.size == 0:
        return 1.0
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), w)
    total = table.sum()
    index = _pairs(table).sum()
    rows = _pairs(table.sum(axis=1)).sum()
    cols = _pairs(table.sum(axis=0)).sum()
    all_pairs = _pairs(np.array([total]))[0]
    if all_pairs <= 0:
        return 1.0
    expected = rows * cols / all_pairs
    maximum = (rows + cols) / 2.0
    if np.isclose(maximum, expected, rtol=1e-12, atol=1e-12):
        return 1.0
    return float((index - expected) / (maximum - expected))


def compare_zonings(
    zoning_a: pd.DataFrame | pd.Series,
    zoning_b: pd.DataFrame | pd.Series,
    communes: gpd.GeoDataFrame,
) -> ZoningComparison:
    """Compare two zonings of the same communes.

    Parameters
    ----------
    zoning_a, zoning_b
        Mappings ``commune_code, zone_id`` (or a Series commune code -> zone), each
        covering every commune of ``communes`` once (see :func:`geo.zoning.checks.check_zoning`).
    communes
        ``code``, ``population`` (inhabitants) and polygons.

    Returns
    -------
    ZoningComparison

    Raises
    ------
    geo.errors.ValidationError
        When a zoning misses a commune, names an unknown one or repeats one.

    Notes
    -----
    The best match of a zone of A is the zone of B holding most of its inhabitants (then
    most of its communes, then the first zone id). A commune *differs* when its zone of B
    is not the best match of its zone of A, or its zone of A is not the best match of
    its zone of B: with identical zonings (up to zone names) no commune differs.
    """
    codes = communes["code"].astype(str).to_numpy()
    population = communes["population"].to_numpy(dtype=np.float64)
    zone_a = _aligned(zoning_a, codes, "zoning_a")
    zone_b = _aligned(zoning_b, codes, "zoning_b")
    frame = pd.DataFrame({"commune_code": codes, "zone_a": zone_a, "zone_b": zone_b, "population": population})
    overlap = (
        frame.groupby(["zone_a", "zone_b"], sort=True)
        .agg(n_communes=("commune_code", "size"), population=("population", "sum"))
        .reset_index()
    )
    match_b = _best_match(overlap, "zone_a", "zone_b")
    match_a = _best_match(overlap, "zone_b", "zone_a")
    frame["match_b"] = frame["zone_a"].map(match_b)
    frame["match_a"] = frame["zone_b"].map(match_a)
    differs = (frame["zone_b"] != frame["match_b"]) | (frame["zone_a"] != frame["match_a"])
    frame["differs"] = differs.to_numpy(dtype=bool)
    mismatched = float(population[frame["differs"].to_numpy()].sum())
    total = float(population.sum())
    overlap["population"] = overlap["population"].round().astype(np.int64)
    frame["population"] = np.round(population).astype(np.int64)
    result = gpd.GeoDataFrame(
        frame[["commune_code", "zone_a", "zone_b", "match_b", "match_a", "differs", "population"]],
        geometry=communes.geometry.to_numpy(),
        crs=communes.crs,
    )
    return ZoningComparison(
        overlap=overlap,
        ari=adjusted_rand_index(zone_a, zone_b),
        ari_population=adjusted_rand_index(zone_a, zone_b, population),
        mismatched_population=int(round(mismatched)),
        mismatched_share=mismatched / total if total > 0 else 0.0,
        communes=result,
    )


def _pairs(counts: np.ndarray) -> np.ndarray:
    """Number of unordered pairs among ``counts`` individuals (``n (n - 1) / 2``)."""
    return counts * (counts - 1.0) / 2.0


def _best_match(overlap: pd.DataFrame, source: str, target: str) -> pd.Series:
    """Zone of ``target`` holding most inhabitants (then communes) of each ``source`` zone."""
    ranked = overlap.sort_values(
        [source, "population", "n_communes", target], ascending=[True, False, False, True], kind="stable"
    )
    best = ranked.drop_duplicates(source)
    return pd.Series(best[target].to_numpy(), index=best[source].to_numpy())


def _aligned(mapping: pd.DataFrame | pd.Series, codes: np.ndarray, name: str) -> np.ndarray:
    """Zone of every commune of ``codes``, from a mapping that covers each exactly once."""
    frame = assignment_frame(mapping)
    source = frame.attrs.get("source")
    frame = frame[frame["zone_id"].notna()]
    duplicated = frame["commune_code"].duplicated()
    if duplicated.any():
        msg = f"{name} : la commune {frame['commune_code'][duplicated].iloc[0]} figure plus d'une fois"
        raise ValidationError(msg, file=source, row=int(frame["row"][duplicated].iloc[0]), field="code")
    unknown = ~frame["commune_code"].isin(set(codes))
    if unknown.any():
        msg = f"{name}: code {frame['commune_code'][unknown].iloc[0]} is not a commune of the Région"
        raise ValidationError(msg, file=source, row=int(frame["row"][unknown].iloc[0]), field="code")
    zones = frame.set_index("commune_code")["zone_id"].reindex(codes)
    if zones.isna().any():
        missing = codes[zones.isna().to_numpy()]
        msg = f"{name} : {count(int(missing.size), 'commune')} dans aucune zone, par exemple {', '.join(missing[:5])}"
        raise ValidationError(msg, file=source, field="code")
    return zones.to_numpy(dtype=object)
