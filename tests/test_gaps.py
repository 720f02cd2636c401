"""White zones and communes without choice, on a 3 x 3 grid of square communes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.analysis import gaps
from geo.errors import MissingColumnError, ValidationError
from geo.vocabulary import REACH_S

CRS = "EPSG:2154"
MIN = 60.0


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    rows = []
    for r in range(3):
        for c in range(3):
            i = r * 3 + c
            rows.append(
                {
                    "code": f"2200{i}",
                    "name": f"Commune {i}",
                    "population": 1_000 * (i + 1),
                    "departement": "22",
                    "epci": "E1" if c < 2 else "E2",
                    "geometry": shapely.box(c * 1_000, r * 1_000, (c + 1) * 1_000, (r + 1) * 1_000),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def test_default_thresholds_are_documented_values():
    assert REACH_S == {"drive": 30 * MIN, "walk": 45 * MIN}  # one source: geo.vocabulary
    assert gaps.threshold_for("car") == 30 * MIN
    assert gaps.threshold_for("foot") == 45 * MIN
    with pytest.raises(ValidationError, match="unknown mode"):
        gaps.threshold_for("bike")


def nearest_table(communes) -> pd.DataFrame:
    codes = communes["code"].tolist()
    minutes_any = [5, 10, 29, 30, 31, 44, 46, np.nan, 100]
    minutes_conseil = [5, 50, 50, 50, 50, 50, 50, 50, 50]
    rows = [{"commune_code": c, "category": "any", "seconds": m * MIN} for c, m in zip(codes, minutes_any, strict=True)]
    rows += [
        {"commune_code": c, "category": "mission:conseil", "seconds": m * MIN}
        for c, m in zip(codes, minutes_conseil, strict=True)
    ]
    return pd.DataFrame(rows)


def test_white_zones_by_car(communes):
    white = gaps.white_zones(nearest_table(communes), communes)
    assert isinstance(white, gpd.GeoDataFrame) and white.crs == communes.crs
    any_ = white[white["category"] == "any"]
    # 30 minutes is within the threshold; 31 and beyond, and unreachable, are white.
    assert any_["commune_code"].tolist() == ["22004", "22005", "22006", "22007", "22008"]
    assert any_.loc[any_["commune_code"] == "22007", "reached"].tolist() == [False]
    assert np.isinf(any_.loc[any_["commune_code"] == "22007", "seconds"]).all()
    assert (white["threshold_s"] == 1_800).all()
    assert set(white.columns) >= {"population", "departement", "epci", "name", "geometry"}
    assert white.loc[white["commune_code"] == "22004", "population"].iloc[0] == 5_000
    conseil = white[white["category"] == "mission:conseil"]
    assert len(conseil) == 8


def test_white_zones_on_foot_and_custom_threshold(communes):
    walk = gaps.white_zones(nearest_table(communes), communes, mode="walk", categories=["any"])
    assert walk["commune_code"].tolist() == ["22006", "22007", "22008"]
    custom = gaps.white_zones(nearest_table(communes), communes, threshold_s=9 * MIN, categories=["any"])
    assert custom["commune_code"].iloc[0] == "22001"


def test_white_zones_mode_column_and_missing_rows(communes):
    table = nearest_table(communes)
    table["mode"] = "drive"
    walk_rows = table.assign(mode="walk", seconds=0.0)
    both = pd.concat([table, walk_rows], ignore_index=True)
    # Only the rows of the requested mode are read.
    assert gaps.white_zones(both, communes, mode="foot", categories=["any"]).empty
    # A commune without a row for a category counts as unreached.
    partial = table[~((table["category"] == "any") & (table["commune_code"] == "22000"))]
    white = gaps.white_zones(partial, communes, categories=["any"])
    assert "22000" in white["commune_code"].tolist()
    assert not white.loc[white["commune_code"] == "22000", "reached"].iloc[0]


def test_white_zones_rejects_bad_tables(communes):
    table = nearest_table(communes)
    with pytest.raises(MissingColumnError):
        gaps.white_zones(table.drop(columns="seconds"), communes)
    unknown = pd.concat(
        [table, pd.DataFrame([{"commune_code": "99999", "category": "any", "seconds": 1.0}])],
        ignore_index=True,
    )
    with pytest.raises(ValidationError) as info:
        gaps.white_zones(unknown, communes)
    assert info.value.row == len(table) + 1 and info.value.field == "commune_code"
    doubled = pd.concat([table, table.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValidationError, match="twice"):
        gaps.white_zones(doubled, communes)


# ------------------------------------------------------------------- choice
@pytest.fixture
def sites() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "structure_id": ["cio:1", "cio:2", "ml:1", "fs:1"],
            "partner_type": ["cio", "cio", "mission_locale", "france_services"],
            "missions": [
                ["accueil", "information", "conseil"],
                ["accueil", "information", "conseil"],
                ["accueil", "information", "conseil", "accompagnement"],
                ["accueil", "information"],
            ],
            "publics": [["jeunes"], ["jeunes"], ["jeunes"], ["tout_public"]],
        }
    )


def choice_times(n_communes: int = 9) -> np.ndarray:
    """Seconds from each commune (rows) to each site (columns), written site by site in minutes."""
    minutes = np.full((4, n_communes), np.inf)
    minutes[0] = [10, 10, 10, 40, 40, 40, 40, 40, 40]  # cio:1
    minutes[1] = [40, 40, 40, 20, 20, 40, 40, 40, 40]  # cio:2
    minutes[2] = [20, 40, 40, 40, 20, 40, 40, 40, 40]  # ml:1
    minutes[3] = [40, 30, 40, 40, 40, 25, 40, 40, np.inf]  # fs:1
    return (minutes * MIN).T


def test_no_choice_counts_distinct_partner_types(communes, sites):
    rows = gaps.no_choice(choice_times(), sites, communes)
    any_ = rows[rows["category"] == "any"].set_index("commune_code")
    # 22000: cio + ml (choice); 22001: cio + fs at 30 min (choice, inclusive limit);
    # 22002: cio only; 22003: cio only (2 sites, 1 network); 22004: cio + ml; 22005: fs only.
    assert sorted(any_.index) == ["22002", "22003", "22005"]
    assert any_.loc["22003", "only_group"] == "cio"
    assert any_.loc["22005", "only_group"] == "france_services"
    assert (any_["n_groups"] == 1).all()
    assert any_.loc["22002", "seconds_nearest"] == 10 * MIN
    assert any_.loc["22003", "population"] == 4_000
    # Per mission: "accompagnement" is offered by the Mission locale only.
    accompagnement = rows[rows["category"] == "mission:accompagnement"]
    assert sorted(accompagnement["commune_code"]) == ["22000", "22004"]
    assert set(rows["category"]) >= {"any", "mission:conseil", "mission:accompagnement"}


def test_no_choice_include_none_and_custom_groups(communes, sites):
    rows = gaps.no_choice(
        choice_times(), sites, communes, categories={"any": np.ones(4, dtype=bool)}, include_none=True
    )
    none = rows[rows["n_groups"] == 0]
    assert sorted(none["commune_code"]) == ["22006", "22007", "22008"]
    assert none["only_group"].isna().all()
    by_site = gaps.no_choice(
        choice_times(),
        sites,
        communes,
        group_column="structure_id",
        categories={"any": np.ones(4, dtype=bool)},
    )
    # Counting sites instead of networks: 22003 reaches one site only too, but 22004 two.
    assert "22003" in by_site["commune_code"].tolist()


def test_distinct_groups_within_vectorised():
    times = np.array([[0.0, 2_000.0], [100.0, 100.0], [np.inf, 50.0]]).T  # communes x sites
    n, first = gaps.distinct_groups_within(times, np.array(["b", "a", "b"]))
    assert n.tolist() == [2, 2]
    assert first.tolist() == ["a", "a"]
    n, first = gaps.distinct_groups_within(times[:1, :], np.array(["b", "b", None], dtype=object), limit_s=10.0)
    assert n.tolist() == [1] and first.tolist() == ["b"]
    with pytest.raises(ValidationError):
        gaps.no_choice(
            times,
            pd.DataFrame({"structure_id": ["x"], "partner_type": ["a"], "missions": [[]]}),
            gpd.GeoDataFrame({"code": ["1", "2"], "population": [1, 2]}, geometry=[shapely.Point(0, 0)] * 2, crs=CRS),
        )
