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


def test_a_proposal_breaking_its_constraints_is_refused_unless_draft(accessed_copy: str) -> None:
    args = ["zones", "propose", "--method", "regionalize", "--min-population", "80000", "--max-hub-minutes", "20"]
    before = snapshot(accessed_copy)
    refused = atlas(accessed_copy, *args, "--id", "maxp")
    assert refused.returncode == 2
    assert "n'est pas enregistré" in refused.stderr and "--draft" in refused.stderr
    assert "temps jusqu'au pôle" in refused.stderr and "Zone " in refused.stderr
    assert "inf" not in refused.stderr.replace("informa", "")  # never "inf", never English
    assert " of zone " not in refused.stderr and "worst" not in refused.stderr
    assert snapshot(accessed_copy) == before

    kept = atlas(accessed_copy, *args, "--id", "maxp", "--draft", "--author", "Service SPRO", "--note", "essai 20 min")
    assert kept.returncode == 0, kept.stderr
    assert "(brouillon)" in kept.stderr
    assert scalar(accessed_copy, "SELECT draft FROM zoning WHERE zoning_id = 'maxp'") is True
    assert scalar(accessed_copy, "SELECT jsonb_array_length(violations) FROM zoning WHERE zoning_id = 'maxp'") > 0
    listed = atlas(accessed_copy, "zones", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("maxp"))
    assert "(brouillon)" in line and "par Service SPRO" in line and "essai 20 min" in line and "créé le" in line
    assert "zone-emploi" in listed.stdout and "bassin-vie" in listed.stdout


def test_official_insee_zonings_are_built_in_and_compared_by_name(accessed_copy: str, tmp_path: Path) -> None:
    import pyogrio

    assert scalar(accessed_copy, "SELECT count(DISTINCT zone_id) FROM official_zone WHERE level = 'zone-emploi'") == 20
    assert scalar(accessed_copy, "SELECT count(DISTINCT zone_id) FROM official_zone WHERE level = 'bassin-vie'") == 135
    output = tmp_path / "ze-bv.gpkg"
    result = atlas(accessed_copy, "zones", "compare", "zone-emploi", "epci", "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert (
        "Zone d'emploi de Rennes (" in result.stdout and "hab.) ∩ " in result.stdout
    )  # names and populations, not ids
    assert " ∩ 2435" not in result.stdout
    layers = [name for name, _ in pyogrio.list_layers(output)]
    assert "communes_discordantes" in layers
    discordant = pyogrio.read_dataframe(output, layer="communes_discordantes")
    assert len(discordant) > 0 and discordant["differs"].all()
    assert discordant["nom_zone_a"].notna().all()
    # Redon's zone d'emploi straddles Pays de la Loire: its name says so.
    assert (
        scalar(
            accessed_copy, "SELECT DISTINCT name FROM official_zone WHERE level = 'zone-emploi' AND zone_id = '0062'"
        )
        == "Zone d'emploi de Redon (partie régionale)"
    )


def test_two_versions_of_a_zoning_compare_like_two_zonings(accessed_copy: str) -> None:
    for zoning_id, minimum in (("bassins-v1", "30000"), ("bassins-v2", "60000")):
        result = atlas(
            accessed_copy, "zones", "propose", "--id", zoning_id, "--min-population", minimum, "--author", "A. Planif"
        )
        assert result.returncode == 0, result.stderr
    result = atlas(accessed_copy, "zones", "compare", "bassins-v1", "bassins-v2")
    assert result.returncode == 0, result.stderr
    assert "Bassin " in result.stdout
    assert "indice de Rand ajusté 1,000 " not in result.stdout
    names = scalar(accessed_copy, "SELECT string_agg(name, '|') FROM zone WHERE zoning_id = 'bassins-v1'")
    assert "de Le " not in names and "de Les " not in names and "de A" not in names and "de É" not in names
