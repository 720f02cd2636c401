"""Infra-regional zones on small constructed territories (grids of square communes).

Times are communes x sites (geo.traveltimes): ``times[i, k]`` from commune ``i`` to site ``k``."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import categories
from geo.errors import ValidationError
from geo.vocabulary import MISSIONS
from geo.zoning import adjacency as zoning_adjacency
from geo.zoning import catchment, checks, model, regionalize

CRS = "EPSG:2154"
SIDE_M = 1_000.0
STEP_S = 300.0  # 5 minutes per grid step
BASE_S = 60.0  # 1 minute to reach a site in one's own commune
ALL = list(MISSIONS)


def grid(n_rows: int, n_cols: int, population=None, departement=None) -> gpd.GeoDataFrame:
    """Square communes of 1 km, row-major; code ``2<rr><cc>``."""
    rows = []
    for r in range(n_rows):
        for c in range(n_cols):
            rows.append(
                {
                    "code": code(r, c),
                    "name": f"Commune {r}-{c}",
                    "population": int(population[r][c]) if population is not None else 1_000,
                    "departement": departement(r, c) if departement else "29",
                    "epci": "E1",
                    "r": r,
                    "c": c,
                    "geometry": shapely.box(c * SIDE_M, r * SIDE_M, (c + 1) * SIDE_M, (r + 1) * SIDE_M),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def code(r: int, c: int) -> str:
    return f"2{r:02d}{c:02d}"


def sites_at(specs: list[tuple[str, int, int, list[str]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "structure_id": sid,
                "partner_type": sid.split("_")[0],
                "missions": missions,
                "publics": ["tout_public"],
                "commune_code": code(r, c),
            }
            for sid, r, c, missions in specs
        ]
    )


def manhattan_times(communes: gpd.GeoDataFrame, sites: pd.DataFrame, offsets=None) -> np.ndarray:
    """Seconds from each commune to each site: 5 min per grid step + 1 min (+ offset per site)."""
    where = communes.set_index("code")[["r", "c"]]
    sr = where.loc[sites["commune_code"], "r"].to_numpy()[:, None]
    sc = where.loc[sites["commune_code"], "c"].to_numpy()[:, None]
    steps = np.abs(sr - communes["r"].to_numpy()[None, :]) + np.abs(sc - communes["c"].to_numpy()[None, :])
    times = BASE_S + STEP_S * steps.astype(float)
    if offsets is not None:
        times = times + np.asarray(offsets, dtype=float)[:, None]
    return times.T  # communes x sites


def zone_of(zoning: model.Zoning) -> dict[str, str]:
    return dict(zip(zoning.assignment["commune_code"], zoning.assignment["zone_id"], strict=True))


def assert_partition(zoning: model.Zoning, communes: gpd.GeoDataFrame) -> None:
    assert list(zoning.assignment["commune_code"]) == list(communes["code"])
    assert zoning.assignment["zone_id"].notna().all()
    assert set(zoning.zones["zone_id"]) == set(zoning.assignment["zone_id"])
    counts = zoning.assignment["zone_id"].value_counts()
    table = zoning.zones.set_index("zone_id")
    assert (table.loc[counts.index, "n_communes"].to_numpy() == counts.to_numpy()).all()
    assert table["population"].sum() == communes["population"].sum()


def assert_contiguous(zoning: model.Zoning, communes: gpd.GeoDataFrame) -> None:
    adjacency = zoning_adjacency.commune_adjacency(communes)
    labels = zoning.assignment["zone_id"].to_numpy()
    pieces = zoning_adjacency.zone_pieces(adjacency, labels)
    for zone in set(labels):
        assert np.unique(pieces[labels == zone]).size == 1, f"zone {zone} is not contiguous"
    # The dissolved geometry of a contiguous zone of squares is a single polygon.
    assert (zoning.zones.geometry.geom_type == "Polygon").all()


# ------------------------------------------------------------------ adjacency
@pytest.mark.parametrize("rule", ["queen", "rook"])
def test_adjacency_matches_libpysal_contiguity(rule):
    from libpysal.weights import Queen, Rook

    communes = grid(4, 5)
    adjacency = zoning_adjacency.commune_adjacency(communes, rule=rule)
    weights = (Queen if rule == "queen" else Rook).from_dataframe(communes, use_index=False)
    expected = {i: set(weights.neighbors[i]) for i in range(len(communes))}
    got = {i: set(adjacency[i].indices.tolist()) for i in range(len(communes))}
    assert got == expected
    # Weights are the common border in metres; corners carry only the contact weight.
    assert adjacency[0, 1] == pytest.approx(SIDE_M)
    if rule == "queen":
        assert adjacency[0, 6] == pytest.approx(zoning_adjacency.CONTACT_WEIGHT_M)
    assert (adjacency != adjacency.T).nnz == 0


def test_adjacency_bridges_an_island_to_the_nearest_commune():
    communes = grid(3, 3)
    island = gpd.GeoDataFrame(
        [
            {
                "code": "99999",
                "name": "Île",
                "population": 500,
                "departement": "29",
                "epci": None,
                "r": 9,
                "c": 9,
                "geometry": shapely.box(4_500, 1_200, 5_000, 1_700),
            }
        ],
        geometry="geometry",
        crs=CRS,
    )
    territory = pd.concat([communes, island], ignore_index=True)
    bare = zoning_adjacency.commune_adjacency(territory, bridge_islands=False)
    assert bare[9].nnz == 0
    bridged = zoning_adjacency.commune_adjacency(territory)
    # Nearest commune of the island: row 1, column 2 (x 2–3 km, y 1–2 km).
    assert bridged[9].indices.tolist() == [territory.index[territory["code"] == code(1, 2)][0]]
    assert bridged[9].data.tolist() == [zoning_adjacency.CONTACT_WEIGHT_M]


def test_adjacency_tolerance_closes_small_gaps():
    left = shapely.box(0, 0, 1_000, 1_000)
    right = shapely.box(1_000.5, 0, 2_000, 1_000)  # a 0.5 m sliver between them
    communes = gpd.GeoDataFrame({"code": ["a", "b"], "population": [1, 1]}, geometry=[left, right], crs=CRS)
    assert zoning_adjacency.commune_adjacency(communes, bridge_islands=False).nnz == 0
    close = zoning_adjacency.commune_adjacency(communes, tolerance_m=1.0, bridge_islands=False)
    assert close[0, 1] == pytest.approx(1_000.0, rel=0.01)
    # Without tolerance the two are still linked, by an island bridge of contact weight.
    assert zoning_adjacency.commune_adjacency(communes)[0, 1] == zoning_adjacency.CONTACT_WEIGHT_M


def test_adjacency_rejects_a_non_polygon():
    communes = grid(2, 2)
    communes.loc[3, "geometry"] = shapely.Point(0, 0)
    with pytest.raises(Exception) as info:
        zoning_adjacency.commune_adjacency(communes)
    assert "row 4" in str(info.value)


# ------------------------------------------------------------------ catchment
def test_catchment_assigns_every_commune_to_its_fastest_hub():
    communes = grid(5, 5)
    sites = sites_at(
        [
            ("cio_a", 0, 0, ALL),
            ("ml_b", 0, 4, ALL),
            ("ft_c", 4, 1, ALL),
            ("fs_d", 3, 3, ["accueil", "information"]),  # not a hub: two missions only
        ]
    )
    # Distinct offsets rule out ties between hubs.
    times = manhattan_times(communes, sites, offsets=[0, 7, 13, 0])
    zoning = catchment.catchment_zones(communes, sites, times)
    assert_partition(zoning, communes)
    hub_of_zone = dict(zip(zoning.zones["zone_id"], zoning.zones["hub"], strict=True))
    hub_rows = np.array([0, 1, 2])
    fastest = sites["structure_id"].to_numpy()[hub_rows[np.argmin(times[:, hub_rows], axis=1)]]
    assigned = [hub_of_zone[z] for z in zoning.assignment["zone_id"]]
    assert assigned == list(fastest)
    assert set(zoning.zones["hub"]) == {"cio_a", "ml_b", "ft_c"}
    assert_contiguous(zoning, communes)
    assert zoning.violations == []
    for text in zoning.zones["explanation"]:
        assert text.startswith("Bassin de ")
        assert "le plus rapide pour 100\u00a0% de la population" in text


def test_catchment_merges_small_zones_into_the_longest_border():
    communes = grid(4, 4)
    sites = sites_at([("cio_a", 0, 0, ALL), ("ml_b", 3, 3, ALL), ("ft_c", 0, 3, ALL)])
    times = manhattan_times(communes, sites, offsets=[0, 1, 400])
    before = catchment.catchment_zones(communes, sites, times)
    small = before.zones.set_index("hub").loc["ft_c", "population"]
    assert small < 3_000  # the corner hub ft_c keeps only a few communes
    zoning = catchment.catchment_zones(communes, sites, times, min_population=3_000)
    assert_partition(zoning, communes)
    assert (zoning.zones["population"] >= 3_000).all()
    assert "ft_c" not in set(zoning.zones["hub"])
    merged = zoning.zones[zoning.zones["explanation"].str.contains("a absorbé le bassin de Commune 0-3")]
    assert len(merged) == 1
    assert "moins de 3\u00a0000\u00a0hab. ; plus longue frontière commune)" in merged["explanation"].iloc[0]
    # The absorbing zone shares the longest border with the small one.
    zone_ft = {c for c, z in zone_of(before).items() if z == before.zones.set_index("hub").loc["ft_c", "zone_id"]}
    absorbing = merged["zone_id"].iloc[0]
    adjacency = zoning_adjacency.commune_adjacency(communes)
    codes = communes["code"].to_numpy()
    inside = np.isin(codes, list(zone_ft))
    border = {}
    for hub in ("cio_a", "ml_b"):
        other_zone = before.zones.set_index("hub").loc[hub, "zone_id"]
        other = np.isin(codes, [c for c, z in zone_of(before).items() if z == other_zone])
        border[hub] = adjacency[inside][:, other].sum()
    best_hub = max(border, key=border.get)
    assert zoning.zones.set_index("zone_id").loc[absorbing, "hub"] == best_hub
    assert checks.check_zoning(zoning.assignment, communes, sites=sites, times_s=times, min_population=3_000) == []


def test_catchment_merge_by_fastest_hub():
    communes = grid(1, 5, population=[[5_000, 100, 100, 100, 5_000]])
    sites = sites_at([("cio_a", 0, 0, ALL), ("ml_b", 0, 2, ALL), ("ft_c", 0, 4, ALL)])
    times = manhattan_times(communes, sites)
    times[1:4, 0] += 10_000  # a is far from the middle communes
    # b's bassin is the three middle communes (300 inhabitants), bordering a and c equally.
    assert set(zone_of(catchment.catchment_zones(communes, sites, times)).values()) == {"Z01", "Z02", "Z03"}
    by_border = catchment.catchment_zones(communes, sites, times, min_population=1_000)
    middle = zone_of(by_border)[code(0, 2)]
    assert by_border.zones.set_index("zone_id").loc[middle, "hub"] == "cio_a"  # tie: first pôle
    zoning = catchment.catchment_zones(communes, sites, times, min_population=1_000, merge_rule="time")
    assert "ml_b" not in set(zoning.zones["hub"])
    middle = zone_of(zoning)[code(0, 2)]
    assert zoning.zones.set_index("zone_id").loc[middle, "hub"] == "ft_c"
    assert "pôle voisin le plus rapide" in zoning.zones.set_index("zone_id").loc[middle, "explanation"]


def test_catchment_reassigns_a_cut_off_piece_to_the_zone_it_touches_most():
    communes = grid(5, 5)
    sites = sites_at([("cio_a", 0, 0, ALL), ("ml_b", 4, 4, ALL)])
    times = manhattan_times(communes, sites)
    times[5, 1] = 30.0  # commune (1, 0) "reaches" the far hub b fastest: an enclave of b in a
    zoning = catchment.catchment_zones(communes, sites, times)
    assert zone_of(zoning)[code(1, 0)] == zone_of(zoning)[code(0, 0)]
    assert_contiguous(zoning, communes)
    text = zoning.zones.set_index("hub").loc["cio_a", "explanation"]
    assert "1 commune enclavée réaffectée pour la contiguïté" in text
    assert zoning.violations == []


def test_catchment_attaches_unreachable_communes_by_contiguity():
    communes = grid(3, 3)
    sites = sites_at([("cio_a", 0, 0, ALL)])
    times = manhattan_times(communes, sites)
    times[8, 0] = np.inf
    zoning = catchment.catchment_zones(communes, sites, times)
    assert set(zoning.assignment["zone_id"]) == {"Z01"}
    assert "1 commune sans pôle joignable rattachée par contiguïté" in zoning.zones["explanation"].iloc[0]
    assert zoning.zones["max_hub_time_s"].iloc[0] == np.inf


def test_catchment_needs_a_hub():
    communes = grid(2, 2)
    sites = sites_at([("fs_a", 0, 0, ["accueil"])])
    with pytest.raises(ValidationError, match="conseil et accompagnement"):
        catchment.catchment_zones(communes, sites, manhattan_times(communes, sites))
    with pytest.raises(ValidationError, match="pôle inconnu"):
        catchment.catchment_zones(communes, sites, manhattan_times(communes, sites), hubs=["nope"])
    zoning = catchment.catchment_zones(communes, sites, manhattan_times(communes, sites), hubs=["fs_a"])
    assert [v.constraint for v in zoning.violations] == ["missions"]


# -------------------------------------------------------------- regionalization
def regional_instance():
    population = [[1_000 + 150 * ((r * 7 + c * 3) % 5) for c in range(6)] for r in range(6)]
    communes = grid(6, 6, population=population, departement=lambda r, c: "29" if c < 3 else "56")
    sites = sites_at(
        [
            ("cio_1", 0, 0, ALL),
            ("cio_2", 0, 5, ALL),
            ("ml_3", 5, 0, ALL),
            ("ml_4", 5, 5, ALL),
            ("ft_5", 2, 2, ALL),
            ("ft_6", 3, 3, ALL),
            ("fs_7", 2, 4, ["accueil", "information"]),
            ("fs_8", 4, 1, ["accueil", "information"]),
        ]
    )
    return communes, sites, manhattan_times(communes, sites)


@pytest.mark.parametrize("attributes", ["coordinates", "times"])
def test_regionalize_meets_every_constraint(attributes):
    communes, sites, times = regional_instance()
    min_population, max_time = 6_000, BASE_S + 3 * STEP_S  # 16 minutes
    zoning = regionalize.regionalize(
        communes, sites, times, min_population=min_population, max_hub_time_s=max_time, attributes=attributes
    )
    assert_partition(zoning, communes)
    assert zoning.violations == []
    # Verify each constraint independently of check_zoning.
    assert len(zoning.zones) >= 2
    assert (zoning.zones["population"] >= min_population).all()
    assert_contiguous(zoning, communes)
    labels = zone_of(zoning)
    for row in zoning.zones.itertuples():
        members = [c for c, z in labels.items() if z == row.zone_id]
        located = sites[sites["commune_code"].isin(members)]
        offered = {m for missions in located["missions"] for m in missions}
        assert offered >= set(MISSIONS), row.zone_id
        assert row.hub in set(located["structure_id"])
        hub_row = int(np.flatnonzero(sites["structure_id"] == row.hub)[0])
        columns = communes["code"].isin(members).to_numpy()
        assert times[columns, hub_row].max() <= max_time
        assert row.max_hub_time_s == times[columns, hub_row].max()
        assert row.explanation.startswith(f"Zone de {row.n_communes} communes")
        assert "régionalisation max-p (au moins 6\u00a0000\u00a0hab. par zone)" in row.explanation
        # Hubs offer every mission when the zone has such a site.
        assert set(sites.set_index("structure_id").loc[row.hub, "missions"]) == set(MISSIONS)


def test_regionalize_time_repair_moves_communes_and_reports_the_rest():
    communes, sites, times = regional_instance()
    repaired = regionalize.regionalize(communes, sites, times, min_population=6_000, max_hub_time_s=BASE_S + 3 * STEP_S)
    # The max-p zones leave a commune 21 min from its hub; the repair hands it over.
    assert (
        repaired.zones["explanation"]
        .str.contains("1 commune cédée à une zone voisine pour rester à 16\u00a0min au plus du pôle")
        .any()
    )
    assert repaired.zones["explanation"].str.contains("reçue de zones voisines").any()
    assert repaired.violations == []
    strict = regionalize.regionalize(communes, sites, times, min_population=6_000, max_hub_time_s=BASE_S + 2 * STEP_S)
    assert [v.constraint for v in strict.violations] == ["max_hub_time"]
    assert strict.violations[0].value > strict.violations[0].limit
    assert (strict.zones["population"] >= 6_000).all()
    assert_contiguous(strict, communes)


def test_regionalize_is_deterministic_and_restores_numpy_random_state():
    communes, sites, times = regional_instance()
    np.random.seed(123)
    expected_draw = np.random.random()
    np.random.seed(123)
    first = regionalize.regionalize(communes, sites, times, min_population=5_000, seed=7)
    assert np.random.random() == expected_draw
    second = regionalize.regionalize(communes, sites, times, min_population=5_000, seed=7)
    pd.testing.assert_frame_equal(first.assignment, second.assignment)


def test_regionalize_nests_zones_in_departements():
    communes, sites, times = regional_instance()
    zoning = regionalize.regionalize(
        communes, sites, times, min_population=4_000, nest_by="departement", required_missions=()
    )
    assert_partition(zoning, communes)
    departement = dict(zip(communes["code"], communes["departement"], strict=True))
    for zone, group in zoning.assignment.groupby("zone_id"):
        assert {departement[c] for c in group["commune_code"]} == {zone.split("-")[0]}
    assert set(zoning.zones["group"]) == {"29", "56"}
    assert all("dans le département" in text for text in zoning.zones["explanation"])
    assert [v for v in zoning.violations if v.constraint in ("nesting", "contiguity", "min_population")] == []


def test_regionalize_merges_zones_lacking_a_mission():
    communes, sites, times = regional_instance()
    # Only two sites give "conseil": every zone must hold one of them.
    sites["missions"] = [
        ALL if sid in ("cio_1", "ml_4") else ["accueil", "information", "accompagnement"]
        for sid in sites["structure_id"]
    ]
    zoning = regionalize.regionalize(communes, sites, times, min_population=3_000)
    assert_partition(zoning, communes)
    assert len(zoning.zones) <= 2
    labels = zone_of(zoning)
    for zone in zoning.zones["zone_id"]:
        members = [c for c, z in labels.items() if z == zone]
        located = sites[sites["commune_code"].isin(members)]
        assert any("conseil" in m for m in located["missions"])
    assert zoning.zones["explanation"].str.contains("a absorbé une zone voisine qui n'avait aucun site pour : ").any()
    assert [v.constraint for v in zoning.violations] == []
    assert_contiguous(zoning, communes)


def test_small_group_becomes_one_zone_and_is_reported():
    communes, sites, times = regional_instance()
    zoning = regionalize.regionalize(communes, sites, times, min_population=10**6, required_missions=())
    assert len(zoning.zones) == 1
    assert "de moins de 1\u00a0000\u00a0000\u00a0hab. : une seule zone" in zoning.zones["explanation"].iloc[0]
    assert [v.constraint for v in zoning.violations] == ["min_population"]


def test_hub_time_repair_hands_far_communes_to_the_neighbour():
    communes = grid(1, 6)
    sites = sites_at([("cio_a", 0, 0, ALL), ("ml_b", 0, 5, ALL)])
    times = manhattan_times(communes, sites)
    adjacency = zoning_adjacency.commune_adjacency(communes)
    population = communes["population"].to_numpy(dtype=float)
    site_pos = model.site_commune_positions(sites, communes)
    missions = categories.mission_matrix(sites)
    labels = np.array([0, 0, 0, 0, 1, 1])
    hubs = {0: 0, 1: 1}
    events: dict[int, list[str]] = {0: [], 1: []}
    limit = BASE_S + 2 * STEP_S
    new_labels, new_hubs = regionalize._repair_hub_time(
        labels,
        adjacency,
        population,
        times,
        site_pos,
        missions,
        np.ones(2, dtype=bool),
        hubs,
        max_hub_time_s=limit,
        min_population=2_000,
        events=events,
    )
    assert new_labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert new_hubs == {0: 0, 1: 1}
    assert events[0] == ["1 commune cédée à une zone voisine pour rester à 11\u00a0min au plus du pôle"]
    # The donor would fall under the minimum population: nothing moves.
    kept, _ = regionalize._repair_hub_time(
        labels,
        adjacency,
        population,
        times,
        site_pos,
        missions,
        np.ones(2, dtype=bool),
        hubs,
        max_hub_time_s=limit,
        min_population=4_000,
        events={0: [], 1: []},
    )
    assert kept.tolist() == labels.tolist()


# ---------------------------------------------------------------- the checker
def test_check_zoning_reports_each_broken_constraint():
    communes = grid(3, 3, departement=lambda r, c: "29" if c < 2 else "56")
    sites = sites_at([("cio_a", 0, 0, ALL), ("fs_b", 2, 2, ["accueil"])])
    times = manhattan_times(communes, sites)
    assignment = pd.DataFrame(
        {
            "commune_code": [code(r, c) for r in range(3) for c in range(3)],
            # A: left column and the right column's top cell (two pieces), B: the rest.
            "zone_id": ["A", "B", "A", "A", "B", "B", "A", "B", "B"],
        }
    )
    assignment = assignment[assignment["commune_code"] != code(1, 1)]  # a commune in no zone
    assignment = pd.concat([assignment, pd.DataFrame({"commune_code": ["99999", code(0, 1)], "zone_id": ["B", "A"]})])
    violations = checks.check_zoning(
        assignment,
        communes,
        sites=sites,
        times_s=times,
        min_population=4_500,
        max_hub_time_s=BASE_S + 2 * STEP_S,
        nest_by="departement",
    )
    kinds = {(v.constraint, v.zone_id) for v in violations}
    assert ("contiguity", "A") in kinds
    assert ("min_population", "A") in kinds
    assert ("missions", "B") in kinds
    assert ("nesting", "A") in kinds and ("nesting", "B") in kinds
    assert ("max_hub_time", "B") in kinds  # hub fs_b (2, 2) is 3 steps from (0, 1)
    assert ("max_hub_time", "A") not in kinds  # hub cio_a reaches A within 2 steps
    coverage = [v.message for v in violations if v.constraint == "coverage"]
    assert any(code(1, 1) in m and "aucune zone" in m for m in coverage)
    assert any("99999" in m for m in coverage)
    assert any(code(0, 1) in m and "2 fois" in m for m in coverage)
    far = next(v for v in violations if v.constraint == "max_hub_time")
    assert far.value == BASE_S + 3 * STEP_S and far.communes == (code(0, 1),)


def test_check_zoning_accepts_a_sound_zoning():
    communes = grid(2, 4)
    sites = sites_at([("cio_a", 0, 0, ALL), ("ml_b", 1, 3, ALL)])
    times = manhattan_times(communes, sites)
    assignment = pd.DataFrame({"code": communes["code"], "zone": ["A", "A", "B", "B", "A", "A", "B", "B"]})
    assert (
        checks.check_zoning(
            assignment,
            communes,
            sites=sites,
            times_s=times,
            min_population=4_000,
            max_hub_time_s=BASE_S + 2 * STEP_S,
        )
        == []
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Auray", "Bassin d'Auray"),
        ("Île-de-Bréhat", "Bassin d'Île-de-Bréhat"),
        ("Hennebont", "Bassin d'Hennebont"),
        ("Yffiniac", "Bassin d'Yffiniac"),
        ("Le Faou", "Bassin du Faou"),
        ("Les Forges de Lanouée", "Bassin des Forges de Lanouée"),
        ("La Gacilly", "Bassin de La Gacilly"),
        ("L'Hermitage", "Bassin de L'Hermitage"),
        ("Brest", "Bassin de Brest"),
    ],
)
def test_zone_names_follow_french_elision(name, expected):
    from geo.zoning import wording

    assert wording.catchment_name(name) == expected
    assert wording.regionalized_name(name, 3) == expected.replace("Bassin", "Zone")


def test_default_pôles_are_fixed_places_offering_conseil_and_accompagnement():
    """France services (accueil, information) and an itinerant permanence are never pôles."""
    communes = grid(1, 6)
    sites = sites_at(
        [
            ("fs_a", 0, 0, ["accueil", "information"]),
            ("ml_b", 0, 2, ALL),
            ("ml_c", 0, 5, ALL),
            ("cio_d", 0, 4, ["accueil", "information", "conseil"]),
        ]
    )
    sites["site_format"] = ["fixe", "fixe", "itinerant", "fixe"]
    assert model.default_hubs(sites).tolist() == [False, True, False, False]
    zoning = catchment.catchment_zones(communes, sites, manhattan_times(communes, sites))
    assert set(zoning.zones["hub"]) == {"ml_b"}


def test_close_pôles_join_the_more_populous_one():
    """A suburb's hub one step (6 min) from the town's joins it; the far hub stays apart."""
    population = [[1_000] * 6]
    population[0][1] = 5_000  # the town
    communes = grid(1, 6, population=population)
    sites = sites_at([("ml_suburb", 0, 0, ALL), ("ml_town", 0, 1, ALL), ("ml_far", 0, 5, ALL)])
    times = manhattan_times(communes, sites)
    apart = catchment.catchment_zones(communes, sites, times)
    assert len(apart.zones) == 3
    joined = catchment.catchment_zones(communes, sites, times, pole_merge_s=600.0, pole_merge_adjacent=True)
    bordering = catchment.catchment_zones(communes, sites, times, pole_merge_adjacent=True)
    assert zone_of(bordering) == zone_of(joined)
    assert len(joined.zones) == 2
    town = joined.zones.set_index("name").loc["Bassin de Commune 0-1"]
    assert town["n_communes"] >= 3
    assert (
        "réunit les pôles voisins (à 10\u00a0min au plus ou limitrophes) : Commune 0-0 (6\u00a0min)"
        in town["explanation"]
    )
