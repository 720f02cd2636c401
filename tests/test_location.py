"""Location-allocation of new sites on toy grids, checked against brute force, and on a
directed graph (one-way streets), where the orientation of the matrices matters.

Every matrix is communes x sites (geo.traveltimes): ``od[:, [0]]`` is the time from every
commune to a site at commune 0."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.analysis import location
from geo.errors import ValidationError
from geo.network import RoadGraph
from geo.traveltimes import commune_times

STEP_S = 300.0  # 5 minutes per grid step
BASE_S = 60.0


def grid(n: int, seed: int = 0) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """``n x n`` square communes with random populations, and the Manhattan time matrix."""
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(n * n), n)
    communes = gpd.GeoDataFrame(
        {
            "code": [f"35{i:03d}" for i in range(n * n)],
            "population": rng.integers(50, 5_000, size=n * n),
            "r": r,
            "c": c,
        },
        geometry=[
            shapely.box(x * 1_000, y * 1_000, (x + 1) * 1_000, (y + 1) * 1_000) for y, x in zip(r, c, strict=True)
        ],
        crs="EPSG:2154",
    )
    steps = np.abs(r[:, None] - r[None, :]) + np.abs(c[:, None] - c[None, :])
    return communes, BASE_S + STEP_S * steps.astype(float)


def brute_force_coverage(population, existing, candidates, k, threshold):
    before = existing.min(axis=1) if existing.shape[1] else np.full(population.size, np.inf)
    uncovered = before > threshold
    values = {}
    for subset in itertools.combinations(range(candidates.shape[1]), k):
        after = np.minimum(before, candidates[:, list(subset)].min(axis=1))
        values[subset] = population[uncovered & (after <= threshold)].sum()
    return values


def brute_force_median(population, existing, candidates, k, penalty):
    before = existing.min(axis=1) if existing.shape[1] else np.full(population.size, np.inf)
    values = {}
    for subset in itertools.combinations(range(candidates.shape[1]), k):
        after = np.minimum(before, candidates[:, list(subset)].min(axis=1))
        values[subset] = float((population * np.minimum(after, penalty)).sum())
    return values


@pytest.mark.parametrize("k", [1, 2, 3])
def test_maximal_covering_finds_the_brute_force_optimum(k):
    communes, od = grid(4, seed=k)
    population = communes["population"].to_numpy(dtype=float)
    existing = od[:, [0]]  # one existing site at the corner commune 0
    candidates = location.candidate_times(od, np.arange(16))
    threshold = BASE_S + STEP_S  # one step
    values = brute_force_coverage(population, existing, candidates, k, threshold)
    best = max(values.values())
    result = location.maximal_covering(population, existing, candidates, k=k, threshold_s=threshold)
    assert result.method == "milp" and result.optimal
    assert result.value == best
    assert values[tuple(result.chosen)] == best
    assert result.chosen.size == k
    # Communes already covered by the existing site count for nothing.
    covered_before = result.seconds_before <= threshold
    assert covered_before.sum() == 3
    newly = (result.seconds_after <= threshold) & ~covered_before
    assert population[newly].sum() == best
    # The greedy heuristic never beats the optimum.
    greedy = location.maximal_covering(population, existing, candidates, k=k, threshold_s=threshold, method="greedy")
    assert greedy.value <= best and greedy.method == "greedy" and not greedy.optimal


def test_maximal_covering_beats_greedy_on_a_known_trap():
    # Candidate 0 covers the four middle communes (40 inhabitants): greedy takes it first,
    # then adds 15; candidates 1 and 2 together cover 70.
    population = np.array([10.0, 10.0, 10.0, 10.0, 15.0, 15.0])
    reach = np.array(
        [
            [1, 1, 1, 1, 0, 0],
            [1, 1, 0, 0, 1, 0],
            [0, 0, 1, 1, 0, 1],
        ],
        dtype=bool,
    )
    candidates = np.where(reach, 100.0, np.inf).T  # communes x candidates
    existing = np.zeros((6, 0))
    exact = location.maximal_covering(population, existing, candidates, k=2, threshold_s=600)
    greedy = location.maximal_covering(population, existing, candidates, k=2, threshold_s=600, method="greedy")
    assert exact.chosen.tolist() == [1, 2] and exact.value == 70.0
    assert greedy.chosen.tolist() == [0, 1] and greedy.value == 55.0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_p_median_finds_the_brute_force_optimum(k):
    communes, od = grid(4, seed=10 + k)
    population = communes["population"].to_numpy(dtype=float)
    existing = od[:, [5]]
    candidates = location.candidate_times(od, np.arange(16))
    result = location.p_median(population, existing, candidates, k=k)
    penalty = result.params["unreachable_s"]
    values = brute_force_median(population, existing, candidates, k, penalty)
    best = min(values.values())
    assert result.optimal
    assert result.value == pytest.approx(best)
    assert values[tuple(result.chosen)] == pytest.approx(best)
    greedy = location.p_median(population, existing, candidates, k=k, method="greedy")
    assert greedy.value >= best - 1e-6


def test_p_median_penalises_unreachable_communes():
    # Three communes; commune 2 is reachable only from a site at 2 itself.
    od = np.array([[0.0, 100.0, np.inf], [100.0, 0.0, np.inf], [np.inf, np.inf, 0.0]])
    population = np.array([1_000.0, 1_000.0, 10.0])
    existing = od[:, [0]]
    candidates = location.candidate_times(od, [1, 2])
    # A heavy penalty: reaching the 10 isolated inhabitants saves 1e7, a site at 1 only 1e5.
    heavy = location.p_median(population, existing, candidates, k=1, unreachable_s=1e6)
    assert heavy.chosen.tolist() == [1]
    assert np.isfinite(heavy.seconds_after).all()
    assert heavy.value == pytest.approx(1_000 * 100.0)
    # A light penalty (50 s) makes commune 1's 1,000 inhabitants the better target.
    light = location.p_median(population, existing, candidates, k=1, unreachable_s=50.0)
    assert light.chosen.tolist() == [0]
    assert light.value == pytest.approx(10 * 50.0)


def test_results_are_deterministic():
    communes, od = grid(5, seed=3)
    population = communes["population"].to_numpy(dtype=float)
    existing = od[:, [0, 24]]
    candidates = location.candidate_times(od, np.arange(25))
    first = location.maximal_covering(population, existing, candidates, k=3, threshold_s=BASE_S + STEP_S)
    for _ in range(3):
        again = location.maximal_covering(population, existing, candidates, k=3, threshold_s=BASE_S + STEP_S)
        assert again.chosen.tolist() == first.chosen.tolist()


@pytest.mark.filterwarnings("ignore:.*PuLP 4.0:DeprecationWarning")  # spopt 0.7 on PuLP 3.3
def test_p_median_agrees_with_spopt_pmedian():
    pulp = pytest.importorskip("pulp")
    from spopt.locate import PMedian

    communes, od = grid(4, seed=5)
    population = communes["population"].to_numpy(dtype=float)
    existing_columns = [0, 15]
    existing = od[:, existing_columns]
    result = location.p_median(population, existing, location.candidate_times(od, np.arange(16)), k=2)
    # spopt: facilities = existing sites (predefined) + every candidate commune.
    cost = np.hstack((od[:, existing_columns], od))
    predefined = np.zeros(cost.shape[1], dtype=int)
    predefined[:2] = 1
    model = PMedian.from_cost_matrix(cost, population, p_facilities=4, predefined_facilities_arr=predefined)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    assert model.problem.objective.value() == pytest.approx(result.value)


def test_locate_new_sites_returns_codes():
    communes, od = grid(4, seed=1)
    result = location.locate_new_sites(
        communes,
        od[:, [0]],
        od,
        k=2,
        objective="coverage",
        threshold_s=BASE_S + STEP_S,
        candidates=["35005", "35010", "35015"],
    )
    assert len(result.chosen_codes) == 2
    assert set(result.chosen_codes) <= {"35005", "35010", "35015"}
    median = location.locate_new_sites(communes, od[:, [0]], od, k=1, objective="median")
    assert median.chosen_codes and median.objective == "median"
    with pytest.raises(ValidationError, match="unknown commune code"):
        location.locate_new_sites(communes, od[:, [0]], od, k=1, candidates=["99999"])
    with pytest.raises(ValidationError, match="k must be"):
        location.locate_new_sites(communes, od[:, [0]], od, k=17)


# ---------------------------------------------------------------- scenarios
def test_evaluate_scenario_adding_and_closing_sites():
    communes, od = grid(4, seed=2)
    population = communes["population"].to_numpy()
    sites = pd.DataFrame({"structure_id": ["s_corner", "s_far"]})
    times = od[:, [0, 15]]
    zoning = pd.DataFrame({"commune_code": communes["code"], "zone_id": np.where(communes["c"] < 2, "W", "E")})
    threshold = BASE_S + STEP_S
    result = location.evaluate_scenario(
        communes,
        times,
        sites,
        commune_times_s=od,
        add_at=["35005"],
        close=["s_far"],
        threshold_s=threshold,
        zoning=zoning,
    )
    frame = result.communes
    assert isinstance(frame, gpd.GeoDataFrame)
    # Commune 5 is (1, 1): a site there covers 1, 4, 5, 6, 9 within one step.
    expected_new = {1, 4, 5, 6, 9} - {0, 1, 4}
    assert set(np.flatnonzero(frame["newly_covered"])) == expected_new
    assert result.newly_covered_population == population[list(expected_new)].sum()
    # Closing the far corner site uncovers 11, 14, 15.
    assert set(np.flatnonzero(frame["no_longer_covered"])) == {11, 14, 15}
    assert result.no_longer_covered_population == population[[11, 14, 15]].sum()
    assert (
        frame.loc[15, "seconds_before"] == BASE_S and frame.loc[15, "seconds_after"] > frame.loc[15, "seconds_before"]
    )
    zones = result.zones.set_index("zone_id", drop=False)
    east = zones.loc["E"]
    east_communes = frame[frame["zone_id"] == "E"]
    w = east_communes["population"].to_numpy(dtype=float)
    assert east["mean_seconds_after"] == pytest.approx((w * east_communes["seconds_after"]).sum() / w.sum())
    assert east["delta_mean_s"] > 0  # the East lost its site
    assert zones.loc["W", "delta_share"] > 0  # the West gained one
    total = result.zones[result.zones["zone_id"].isna()].iloc[0]
    assert total["population"] == population.sum()


def test_evaluate_scenario_errors_and_unreached():
    communes, od = grid(2)
    od = od.copy()
    od[3, :] = np.inf
    od[:, 3] = np.inf
    od[3, 3] = 0.0
    sites = pd.DataFrame({"structure_id": ["a"]})
    times = od[:, [0]]
    result = location.evaluate_scenario(communes, times, sites, commune_times_s=od, add_at=["35003"])
    assert result.communes.loc[3, "seconds_before"] == np.inf
    assert result.communes.loc[3, "seconds_after"] == 0.0
    assert result.zones.iloc[-1]["population_unreached_before"] == communes["population"].iloc[3]
    assert result.zones.iloc[-1]["population_unreached_after"] == 0
    with pytest.raises(ValidationError, match="unknown structure_id"):
        location.evaluate_scenario(communes, times, sites, close=["zz"])
    with pytest.raises(ValidationError, match="commune_times_s is needed"):
        location.evaluate_scenario(communes, times, sites, add_at=["35001"])


# ------------------------------------------------------- one-way streets (orientation)
def test_new_sites_are_measured_from_the_residents_on_one_way_streets():
    """Three communes on a ring of one-way streets, 0 -> 1 (100 s) -> 2 (450 s) -> 0 (450 s):
    from commune 0, a site at commune 1 is 100 s away; from commune 1, commune 0 is 900 s
    away. The what-if must use the first: residents travel to the site."""
    crs = "EPSG:2154"
    x = 500.0 + 1000.0 * np.arange(3)
    graph = RoadGraph(
        node_id=np.arange(3),
        x=x,
        y=np.full(3, 500.0),
        src=[0, 1, 2],
        dst=[1, 2, 0],
        seconds=[100.0, 450.0, 450.0],
        crs=crs,
        mode="drive",
    )
    communes = gpd.GeoDataFrame(
        {"code": ["35000", "35001", "35002"], "population": [1_000, 10, 10]},
        geometry=[shapely.box(1000.0 * i, 0.0, 1000.0 * (i + 1), 1000.0) for i in range(3)],
        crs=crs,
    )
    between = commune_times(graph, communes)
    assert between[0, 1] == 100.0 and between[1, 0] == 900.0  # [i, j]: from commune i to j
    no_site = np.zeros((3, 0))
    located = location.locate_new_sites(communes, no_site, between, k=1, threshold_s=300.0, candidates=["35001"])
    assert located.seconds_after.tolist() == [100.0, 0.0, 550.0]
    assert located.value == 1_010.0  # communes 0 and 1 within 5 minutes of the new site
    assert located.gains[["commune_code", "population_covered"]].values.tolist() == [["35001", 1_010.0]]
    scenario = location.evaluate_scenario(
        communes,
        no_site,
        pd.DataFrame({"structure_id": []}),
        commune_times_s=between,
        add_at=["35001"],
        threshold_s=300.0,
    )
    assert scenario.communes["seconds_after"].tolist() == [100.0, 0.0, 550.0]
    assert scenario.newly_covered_population == 1_010


def test_site_gains_count_each_inhabitant_once_largest_first():
    population = np.array([100.0, 10.0, 1.0])
    before = np.array([np.inf, 900.0, 900.0])
    candidates = np.array([[600.0, 100.0], [100.0, 100.0], [100.0, 900.0]])  # communes x candidates
    gains = location.site_gains(population, before, candidates, [0, 1], threshold_s=300.0)
    # Candidate 1 brings communes 0 and 1 (110 inhabitants); candidate 0 then only commune 2.
    assert gains["position"].tolist() == [1, 0]
    assert gains["population_covered"].tolist() == [110.0, 1.0]
    # Time saved counts the communes that already reached a site: 10 x 800 s, then 1 x 800 s.
    assert gains["person_seconds_saved"].tolist() == [8_000.0, 800.0]
