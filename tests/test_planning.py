"""Planners' commands on the pilot, through the real CLI: gaps, zones, what-if."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo.categories import Category
from geo.traveltimes import commune_times
from storage import db
from storage.access import load_network
from storage.planning import read_assignment, read_matrix
from tests.conftest import atlas, snapshot, store_sources


def scalar(url: str, query: str, params: tuple = ()) -> object:
    with db.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_gaps_match_the_stored_travel_times(accessed_copy: str) -> None:
    result = atlas(accessed_copy, "gaps", "--drive-minutes", "20")
    assert result.returncode == 0, result.stderr
    assert "APPROXIMATIF" in result.stderr
    expected = scalar(
        accessed_copy,
        "SELECT count(*) FROM commune_access WHERE mode = 'drive' AND category = 'mission:conseil' "
        "AND (seconds IS NULL OR seconds > 1200)",
    )
    stored = scalar(
        accessed_copy,
        "SELECT count(*) FROM gap WHERE kind = 'white_zone' AND mode = 'drive' AND category = 'mission:conseil'",
    )
    assert stored == expected > 0
    assert scalar(accessed_copy, "SELECT bool_and(approximate) FROM gap") is True
    # No-choice communes reach exactly one partner network within 30 minutes.
    wrong = scalar(
        accessed_copy,
        """
        SELECT count(*) FROM gap g JOIN commune_access a
          ON a.commune_code = g.commune_code AND a.mode = g.mode AND a.category = g.category
         WHERE g.kind = 'no_choice' AND a.n_operators_30 <> 1
        """,
    )
    assert wrong == 0


def test_catchment_zones_are_stored_with_indicators_and_survive_a_reload(accessed_copy: str, pilot_sources) -> None:
    result = atlas(accessed_copy, "zones", "propose", "--id", "bassins", "--min-population", "30000")
    assert result.returncode == 0, result.stderr
    assert "Toutes les contraintes sont respectées" in result.stderr
    n_communes = scalar(accessed_copy, "SELECT count(*) FROM commune")
    assert scalar(accessed_copy, "SELECT count(*) FROM zone_commune WHERE zoning_id = 'bassins'") == n_communes
    assert scalar(accessed_copy, "SELECT min(population) FROM zone WHERE zoning_id = 'bassins'") >= 30_000
    assert scalar(accessed_copy, "SELECT bool_and(explanation <> '') FROM zone WHERE zoning_id = 'bassins'")
    n_zones = scalar(accessed_copy, "SELECT count(*) FROM zone WHERE zoning_id = 'bassins'")
    assert (
        scalar(
            accessed_copy,
            "SELECT count(*) FROM access_indicator WHERE level = 'zone:bassins' AND mode = 'drive' AND category = 'any'",
        )
        == n_zones
    )
    # A new load keeps the planners' zonings; `atlas access` recomputes their indicators.
    store_sources(accessed_copy, pilot_sources)
    assert scalar(accessed_copy, "SELECT count(*) FROM zone_commune WHERE zoning_id = 'bassins'") == n_communes
    rerun = atlas(accessed_copy, "access", "--mode", "drive", "--no-isochrones")
    assert rerun.returncode == 0, rerun.stderr
    assert scalar(accessed_copy, "SELECT count(*) FROM access_indicator WHERE level = 'zone:bassins'") > 0


def test_import_validates_and_compare_scores_identity(accessed_copy: str, tmp_path: Path) -> None:
    with db.connect(accessed_copy) as conn:
        epci = read_assignment(conn, "epci")
    good = tmp_path / "zonage.csv"
    lines = ["commune;zone"] + [f"{c};{z}" for c, z in epci.itertuples(index=False)]
    good.write_text("\n".join(lines) + "\n", encoding="latin-1")
    bad = tmp_path / "incomplet.csv"
    bad.write_text("\n".join([*lines[:-5], lines[1]]) + "\n", encoding="utf-8")

    before = snapshot(accessed_copy)
    result = atlas(accessed_copy, "zones", "import", str(bad), "--id", "incomplet")
    assert result.returncode == 2
    assert "incomplet.csv" in result.stderr and "rien n'a été écrit" in result.stderr.lower()
    assert snapshot(accessed_copy) == before

    result = atlas(accessed_copy, "zones", "import", str(good), "--id", "epci-planif")
    assert result.returncode == 0, result.stderr
    result = atlas(accessed_copy, "zones", "compare", "epci-planif", "epci", "--output", str(tmp_path / "diff.gpkg"))
    assert result.returncode == 0, result.stderr
    assert "indice de Rand ajusté 1,000" in result.stdout
    assert "0 hab. (0,0\u00a0%)" in result.stdout
    assert (tmp_path / "diff.gpkg").exists()
    result = atlas(accessed_copy, "zones", "compare", "epci", "departement")
    assert result.returncode == 0 and "indice de Rand ajusté 1,000" not in result.stdout
    result = atlas(accessed_copy, "zones", "compare", "epci", "absent")
    assert result.returncode == 2 and "absent" in result.stderr


def test_whatif_finds_the_best_single_site(accessed_copy: str) -> None:
    """The site proposed for k = 1 is the brute-force best commune for coverage."""
    result = atlas(
        accessed_copy, "whatif", "--category", "mission:conseil", "--k", "1", "--minutes", "20", "--id", "conseil-1"
    )
    assert result.returncode == 0, result.stderr
    with db.connect(accessed_copy) as conn:
        chosen, gained = conn.execute(
            "SELECT commune_code, population_gained FROM scenario_site WHERE scenario_id = 'conseil-1'"
        ).fetchone()
        communes, places, times = read_matrix(conn, "drive")
        graph, _ = load_network(conn, "drive")
    times = times[:, Category.from_code("mission:conseil").mask(places)]  # communes x places
    between = commune_times(graph, communes)  # [i, j]: from commune i to a site at commune j
    population = communes["population"].to_numpy()
    uncovered = times.min(axis=1) > 1200
    gains = population @ ((between <= 1200) & uncovered[:, np.newaxis])
    assert gained == gains.max()
    assert gains[communes.index[communes["code"] == chosen][0]] == gains.max()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["whatif", "--category", "mission:nope"], "unknown mission"),
        (["whatif", "--mode", "bike"], "mode inconnu"),
        (["whatif", "--k", "99"], "entre 0 et 50"),
        (["zones", "propose", "--id", "Bad Id"], "identifiant"),
        (["zones", "propose", "--id", "x", "--method", "kmeans"], "méthode inconnue"),
        (["gaps", "--drive-minutes", "-5"], "positifs"),
    ],
)
def test_bad_planning_requests_fail_clearly(accessed_db: str, args: list[str], message: str) -> None:
    result = atlas(accessed_db, *args)
    assert result.returncode == 2
    assert message in result.stderr
