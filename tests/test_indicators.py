"""Accessibility indicators: hand-computed examples and a double-loop 2SFCA oracle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.analysis.indicators import (
    THRESHOLDS_MIN,
    aggregate,
    distinct_within,
    gaussian_decay,
    summarise_times,
    two_step_fca,
    weighted_median,
)
from geo.errors import MissingColumnError, ValidationError

INF = math.inf
SEED = 20240601


def g(ratio: float) -> float:
    """Dai (2010) Gaussian weight at t / t0 = ratio (<= 1), written out by hand."""
    return (math.exp(-0.5 * ratio**2) - math.exp(-0.5)) / (1 - math.exp(-0.5))


# ----------------------------------------------------------------- weighted median
@pytest.mark.parametrize(
    ("values", "weights", "expected"),
    [
        ([1, 2, 3], [1, 1, 1], 2),
        ([1, 2, 3, 4], [1, 1, 1, 1], 2),  # lower median: cumulative 2 >= 4 / 2 at value 2
        ([3, 1, 2], [1, 1, 5], 2),  # unsorted input
        ([10, 20], [1, 3], 20),
        ([1, 2, 3], [0, 0, 1], 3),  # zero weights are never the median
        ([1, 2, 3], [1, 0, 1], 1),
        ([5, 1, 2], [0, 1, 1], 1),
        ([1, 2, INF], [2, 1, 1], 1),  # inf counts as +inf
        ([1, INF], [1, 1], 1),
        ([1, INF], [1, 2], INF),  # median unreachable
        ([1, INF, INF], [1, 1, 1], INF),
        ([7.5], [0.25], 7.5),
    ],
)
def test_weighted_median_hand_computed(values: list, weights: list, expected: float) -> None:
    assert weighted_median(np.array(values, float), np.array(weights, float)) == expected


def test_weighted_median_zero_total_weight_is_nan() -> None:
    assert math.isnan(weighted_median(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
    assert math.isnan(weighted_median(np.array([]), np.array([])))


def test_weighted_median_matches_repeated_values() -> None:
    rng = np.random.default_rng(SEED)
    values = rng.integers(0, 30, 40).astype(float)
    weights = rng.integers(0, 6, 40)
    repeated = np.sort(np.repeat(values, weights))
    # Lower median of the expanded sample: element ceil(n / 2) (1-based).
    expected = repeated[math.ceil(repeated.size / 2) - 1]
    assert weighted_median(values, weights.astype(float)) == expected


@pytest.mark.parametrize(
    ("values", "weights", "field"),
    [
        ([1.0, 2.0], [1.0], "weights"),
        ([1.0, np.nan], [1.0, 1.0], "values"),
        ([1.0, 2.0], [1.0, -1.0], "weights"),
        ([1.0, 2.0], [1.0, INF], "weights"),
    ],
)
def test_weighted_median_rejects_bad_input(values: list, weights: list, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        weighted_median(np.array(values), np.array(weights))
    assert info.value.field == field


# ----------------------------------------------------------------- summarise_times
def test_summarise_times_three_communes() -> None:
    # 10 min exactly (bound included), 25 min, unreachable.
    figures = summarise_times(np.array([600.0, 1500.0, INF]), np.array([100.0, 200.0, 50.0]))
    assert figures["population"] == 350
    assert figures["population_reached"] == 300
    assert figures["population_unreached"] == 50
    assert figures["mean_min"] == pytest.approx((100 * 10 + 200 * 25) / 300)  # 20
    assert figures["median_min"] == 25  # cumulative 100, 300 >= 175
    assert figures["share_10"] == pytest.approx(100 / 350)
    assert figures["share_20"] == pytest.approx(100 / 350)
    assert figures["share_30"] == pytest.approx(300 / 350)
    assert figures["share_45"] == pytest.approx(300 / 350)
    assert figures["population_beyond_10"] == 250
    assert figures["population_beyond_30"] == 50
    expected_keys = {"population", "population_reached", "population_unreached", "mean_min"}
    expected_keys |= {"median_min"} | {f"share_{t}" for t in THRESHOLDS_MIN}
    expected_keys |= {f"population_beyond_{t}" for t in THRESHOLDS_MIN}
    assert set(figures) == expected_keys
    assert all(isinstance(v, float) for v in figures.values())


def test_summarise_times_unreachable_median_and_empty_population() -> None:
    mostly_off = summarise_times(np.array([60.0, INF]), np.array([10.0, 30.0]))
    assert mostly_off["median_min"] == INF
    assert mostly_off["mean_min"] == 1.0
    assert mostly_off["share_10"] == 0.25

    nobody_reached = summarise_times(np.array([INF, INF]), np.array([5.0, 0.0]))
    assert math.isnan(nobody_reached["mean_min"])
    assert nobody_reached["median_min"] == INF
    assert nobody_reached["share_45"] == 0.0

    empty = summarise_times(np.array([60.0]), np.array([0.0]))
    assert empty["population"] == 0
    assert math.isnan(empty["share_10"])
    assert math.isnan(empty["median_min"])
    assert math.isnan(empty["mean_min"])


def test_summarise_times_custom_thresholds() -> None:
    seconds, population = np.array([300.0, 900.0]), np.array([1.0, 3.0])
    figures = summarise_times(seconds, population, thresholds_min=(5, 7.5))
    assert figures["share_5"] == 0.25
    assert figures["share_7.5"] == 0.25
    assert figures["population_beyond_7.5"] == 3
    assert "share_10" not in figures


@pytest.mark.parametrize(
    ("seconds", "population", "field", "row"),
    [
        ([60.0, np.nan], [1.0, 1.0], "seconds", 2),
        ([60.0, -1.0], [1.0, 1.0], "seconds", 2),
        ([60.0, 120.0], [-3.0, 1.0], "population", 1),
        ([60.0, 120.0], [1.0, np.nan], "population", 2),
        ([60.0, 120.0], [1.0], "population", None),
    ],
)
def test_summarise_times_rejects_bad_input(seconds: list, population: list, field: str, row: int | None) -> None:
    with pytest.raises(ValidationError) as info:
        summarise_times(np.array(seconds), np.array(population))
    assert (info.value.field, info.value.row) == (field, row)


def test_summarise_times_rejects_bad_thresholds() -> None:
    with pytest.raises(ValidationError, match="thresholds_min"):
        summarise_times(np.array([1.0]), np.array([1.0]), thresholds_min=(10, 0))


# ----------------------------------------------------------------- gaussian decay
def test_gaussian_decay_values() -> None:
    t0 = 1800.0
    weight = gaussian_decay(np.array([0.0, t0 / 2, t0, t0 + 1, 10 * t0, INF]), t0)
    assert weight[0] == 1.0
    # (exp(-1/8) - exp(-1/2)) / (1 - exp(-1/2)) = 0.701366...
    assert weight[1] == pytest.approx(0.7013665, abs=1e-7)
    assert weight[1] == pytest.approx(g(0.5))
    assert weight[2] == 0.0
    assert np.all(weight[3:] == 0.0)


def test_gaussian_decay_keeps_shape_and_decreases() -> None:
    t = np.linspace(0, 1200, 60).reshape(3, 20)
    weight = gaussian_decay(t, 1000.0)
    assert weight.shape == (3, 20)
    flat = weight.ravel()
    assert np.all(np.diff(flat) <= 0)
    assert np.all((flat >= 0) & (flat <= 1))


@pytest.mark.parametrize(
    ("seconds", "catchment", "field"),
    [
        ([np.nan], 600.0, "seconds"),
        ([-5.0], 600.0, "seconds"),
        ([5.0], 0.0, "catchment_s"),
        ([5.0], INF, "catchment_s"),
    ],
)
def test_gaussian_decay_rejects_bad_input(seconds: list, catchment: float, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        gaussian_decay(np.array(seconds), catchment)
    assert info.value.field == field


# ----------------------------------------------------------------- 2SFCA
# Two sites, three communes, 30 min catchment.
T0 = 1800.0
TIMES = np.array(
    [
        [0.0, 1200.0, 2400.0],  # site A reaches communes 1 and 2
        [INF, 900.0, 1800.0],  # site B reaches 2 and 3 (3 exactly at t0)
    ]
).T  # communes x sites: the orientation of every matrix (geo.traveltimes)
SUPPLY = np.array([1.0, 2.0])
POPULATION = np.array([1000.0, 2000.0, 3000.0])


def test_two_step_fca_step_hand_computed() -> None:
    # R_A = 1 / (1000 + 2000), R_B = 2 / (2000 + 3000).
    r_a, r_b = 1 / 3000, 2 / 5000
    expected = 10_000 * np.array([r_a, r_a + r_b, r_b])  # 3.33, 7.33, 4.0
    got = two_step_fca(TIMES, SUPPLY, POPULATION, catchment_s=T0, decay="step")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, [10 / 3, 22 / 3, 4.0], rtol=1e-12)


def test_two_step_fca_gaussian_hand_computed() -> None:
    ga1, ga2 = g(0.0), g(1200 / 1800)  # site A: 1, 0.4936; 2400 s is beyond t0
    gb2 = g(900 / 1800)  # site B: 0.7014; 1800 s (= t0) weighs 0
    r_a = 1 / (1000 * ga1 + 2000 * ga2)
    r_b = 2 / (2000 * gb2)
    expected = 10_000 * np.array([r_a * ga1, r_a * ga2 + r_b * gb2, 0.0])
    got = two_step_fca(TIMES, SUPPLY, POPULATION, catchment_s=T0)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[2] == 0.0


def test_two_step_fca_per_and_empty_catchment() -> None:
    # A third site reaching only an empty commune contributes nothing (no division by 0).
    times = np.column_stack((TIMES, [INF, INF, 60.0]))
    population = POPULATION.copy()
    population[2] = 0.0
    got = two_step_fca(times, np.array([1.0, 2.0, 5.0]), population, catchment_s=T0, decay="step", per=1.0)
    np.testing.assert_allclose(got, [1 / 3000, 1 / 3000 + 2 / 2000, 2 / 2000], rtol=1e-12)


def _reference_2sfca(
    times: np.ndarray, supply: np.ndarray, demand: np.ndarray, t0: float, decay: str, per: float
) -> np.ndarray:
    """Textbook double loop, one cell at a time."""

    def f(t: float) -> float:
        if t > t0:
            return 0.0
        return g(t / t0) if decay == "gaussian" else 1.0

    n_supply, n_demand = times.shape
    ratio = []
    for j in range(n_supply):
        catchment = sum(demand[i] * f(times[j, i]) for i in range(n_demand))
        ratio.append(supply[j] / catchment if catchment > 0 else 0.0)
    return np.array([per * sum(ratio[j] * f(times[j, i]) for j in range(n_supply)) for i in range(n_demand)])


@pytest.mark.parametrize("decay", ["gaussian", "step"])
def test_two_step_fca_matches_double_loop(decay: str) -> None:
    rng = np.random.default_rng(SEED)
    times = rng.uniform(0, 3600, (20, 50))
    times[rng.random((20, 50)) < 0.3] = INF
    times[3] = INF  # a site nobody reaches
    demand = rng.integers(0, 5000, 50).astype(float)
    demand[:5] = 0.0
    times[4] = INF
    times[4, :5] = 100.0  # a site reaching only empty communes
    supply = rng.integers(0, 4, 20).astype(float)
    t0 = 1800.0
    got = two_step_fca(times.T, supply, demand, catchment_s=t0, decay=decay)  # communes x sites
    expected = _reference_2sfca(times, supply, demand, t0, decay, 10_000.0)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert got.shape == (50,)
    assert np.any(got > 0)
    # Supply is conserved over the sites with a populated catchment.
    weight = gaussian_decay(times, t0) if decay == "gaussian" else (times <= t0).astype(float)
    served = (weight @ demand) > 0
    assert (demand @ got) / 10_000 == pytest.approx(supply[served].sum())
    assert not served[3]
    assert not served[4]


@pytest.mark.parametrize(
    ("kwargs", "field", "row"),
    [
        ({"times_s": TIMES[0]}, "times_s", None),
        ({"times_s": np.where(TIMES == 900.0, np.nan, TIMES)}, "times_s", None),
        ({"times_s": -TIMES}, "times_s", None),
        ({"supply": np.array([1.0])}, "supply", None),
        ({"supply": np.array([1.0, -2.0])}, "supply", 2),
        ({"supply": np.array([1.0, np.nan])}, "supply", 2),
        ({"demand": np.array([1.0, 2.0])}, "demand", None),
        ({"demand": np.array([1.0, 2.0, -3.0])}, "demand", 3),
        ({"catchment_s": 0.0}, "catchment_s", None),
        ({"catchment_s": np.nan}, "catchment_s", None),
        ({"decay": "linear"}, "decay", None),
        ({"per": -1.0}, "per", None),
    ],
)
def test_two_step_fca_rejects_bad_input(kwargs: dict, field: str, row: int | None) -> None:
    args = {"times_s": TIMES, "supply": SUPPLY, "demand": POPULATION, "catchment_s": T0}
    args.update(kwargs)
    with pytest.raises(ValidationError) as info:
        two_step_fca(**args)
    assert (info.value.field, info.value.row) == (field, row)


# ----------------------------------------------------------------- distinct_within
def test_distinct_within_toy() -> None:
    times = np.array(
        [
            [100.0, 2000.0, INF, 1800.0],  # CIO
            [200.0, 100.0, INF, INF],  # ML
            [300.0, 1700.0, INF, INF],  # CIO again: counts once
            [INF, 1801.0, INF, 500.0],  # PE
        ]
    ).T  # communes x sites
    groups = np.array(["CIO", "ML", "CIO", "PE"], dtype=object)
    got = distinct_within(times, groups, limit_s=1800.0)
    np.testing.assert_array_equal(got, [2, 2, 0, 2])  # 1800 s is within (bound included)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(distinct_within(times, groups, limit_s=150.0), [1, 1, 0, 0])
    np.testing.assert_array_equal(distinct_within(times, [7, 7, 7, 7], limit_s=1e9), [1, 1, 0, 1])
    empty = distinct_within(np.empty((3, 0)), np.array([], dtype=object), limit_s=60.0)
    np.testing.assert_array_equal(empty, [0, 0, 0])


def test_distinct_within_matches_loop() -> None:
    rng = np.random.default_rng(SEED)
    times = rng.uniform(0, 3600, (30, 40))
    times[rng.random((30, 40)) < 0.3] = INF
    groups = rng.choice(["CIO", "ML", "PE", "SUIO", "CIDJ"], 30)
    got = distinct_within(times.T, groups, limit_s=1200.0)  # communes x sites
    expected = [len({groups[j] for j in range(30) if times[j, i] <= 1200.0}) for i in range(40)]
    np.testing.assert_array_equal(got, expected)


def test_distinct_within_rejects_bad_input() -> None:
    with pytest.raises(ValidationError) as info:
        distinct_within(TIMES, np.array(["a"]), limit_s=60.0)
    assert info.value.field == "groups"
    with pytest.raises(ValidationError) as info:
        distinct_within(TIMES, np.array(["a", None], dtype=object), limit_s=60.0)
    assert (info.value.field, info.value.row) == ("groups", 2)
    with pytest.raises(ValidationError) as info:
        distinct_within(TIMES, np.array(["a", "b"]), limit_s=-1.0)
    assert info.value.field == "limit_s"


# ----------------------------------------------------------------- aggregate
@pytest.fixture
def communes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["29001", "29002", "29003", "29004", "29005", "29006"],
            "epci": ["E2", "E1", "E2", None, "E1", "E2"],
            "region": "53",
            "seconds": [600.0, 1500.0, INF, 300.0, 2000.0, 2600.0],
            "population": [100.0, 200.0, 50.0, 1000.0, 0.0, 150.0],
            "fca": [1.0, np.nan, 3.0, 5.0, 9.0, np.nan],
            "n_operators_30": [2, 1, 0, 4, 3, 1],
        }
    )


def test_aggregate_groups_and_drops_missing(communes: pd.DataFrame) -> None:
    result = aggregate(communes, by="epci", extra_mean_cols=("fca", "n_operators_30"))
    assert list(result.index) == ["E1", "E2"]
    assert result.index.name == "epci"
    assert result["n_communes"].tolist() == [2, 3]
    assert result["n_communes"].dtype == np.int64
    # The commune without EPCI (1000 inhabitants) is dropped.
    assert result["population"].sum() == 500
    e2 = result.loc["E2"]
    assert e2["population_unreached"] == 50
    assert e2["share_10"] == pytest.approx(100 / 300)
    assert e2["share_45"] == pytest.approx(250 / 300)
    assert e2["mean_min"] == pytest.approx((100 * 10 + 150 * 2600 / 60) / 250)
    assert e2["median_min"] == pytest.approx(2600 / 60)  # cumulative 100, 250 >= 150
    # fca: nan left out with its weight; n_operators_30 over the whole population.
    assert e2["fca"] == pytest.approx((100 * 1 + 50 * 3) / 150)
    assert e2["n_operators_30"] == pytest.approx((100 * 2 + 50 * 0 + 150 * 1) / 300)
    assert result.loc["E1", "n_operators_30"] == pytest.approx(1.0)  # 29005 weighs 0
    assert math.isnan(result.loc["E1", "fca"])  # no weight left
    for code, rows in communes.dropna(subset=["epci"]).groupby("epci"):
        expected = summarise_times(rows["seconds"].to_numpy(), rows["population"].to_numpy())
        got = result.loc[code, list(expected)].to_numpy(dtype=float)
        np.testing.assert_allclose(got, list(expected.values()), rtol=1e-12)


def test_aggregate_region_equals_summarise_times(communes: pd.DataFrame) -> None:
    result = aggregate(communes, by="region")
    assert list(result.index) == ["53"]
    expected = summarise_times(communes["seconds"].to_numpy(), communes["population"].to_numpy())
    assert list(result.columns) == ["n_communes", *expected]
    np.testing.assert_array_equal(
        result.loc["53", list(expected)].to_numpy(dtype=float), np.array(list(expected.values()))
    )
    assert result.loc["53", "n_communes"] == len(communes)


def test_aggregate_rejects_bad_input(communes: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnError) as info:
        aggregate(communes, by="departement")
    assert info.value.field == "departement"
    with pytest.raises(MissingColumnError):
        aggregate(communes, by="epci", extra_mean_cols=("missing",))
    with pytest.raises(ValidationError) as info:
        aggregate(communes.rename(columns={"fca": "share_30"}), by="epci", extra_mean_cols=("share_30",))
    assert info.value.field == "share_30"
    # Rows are numbered in the caller's frame, not after dropping missing groups.
    bad = communes.assign(population=[100.0, 200.0, 50.0, 1000.0, -1.0, 150.0])
    with pytest.raises(ValidationError) as info:
        aggregate(bad, by="epci")
    assert (info.value.field, info.value.row) == ("population", 5)
    bad = communes.assign(seconds=communes["seconds"].where(communes["code"] != "29006"))
    with pytest.raises(ValidationError) as info:
        aggregate(bad, by="epci")
    assert (info.value.field, info.value.row) == ("seconds", 6)
    bad = communes.assign(fca=[1.0, INF, 3.0, 5.0, 9.0, 1.0])
    with pytest.raises(ValidationError) as info:
        aggregate(bad, by="epci", extra_mean_cols=["fca"])
    assert (info.value.field, info.value.row) == ("fca", 2)
    with pytest.raises(ValidationError) as info:
        aggregate(communes.assign(population="many"), by="epci")
    assert info.value.field == "population"
