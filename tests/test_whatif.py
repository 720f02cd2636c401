"""What-if on real options, through the real CLI on the pilot: candidate sites, budget,
time gained, publics served for real, stored scenarios and their per-zone effect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.analysis.location import site_loads, time_gains
from storage import db
from storage.planning import scenario_zone_effects
from tests.conftest import atlas, snapshot

CANDIDATES = """nom;lat;lon;code_insee;adresse;commune;code_postal;cout;capacite
Local vacant Carhaix;48.2757;-3.5733;;;;;120000;5000
Maison des services Rostrenen;;;22266;;;;80 000;
Antenne Pontivy;;;;1 rue du Fil;Pontivy;56300;150000;2000
"""


def test_time_gains_weight_inhabitants_and_report_the_farthest() -> None:
    population = np.array([100.0, 100.0, 800.0, 50.0])
    before = np.array([600.0, 1200.0, 300.0, np.inf])
    after = np.array([600.0, 600.0, 300.0, 900.0])
    gains = time_gains(population, before, after)
    assert gains.mean_s == pytest.approx(600 * 100 / 1000)
    assert gains.median_s == 0.0
    assert gains.farthest_mean_s == 600.0  # commune 1 alone is the farthest 10 %
    assert gains.newly_reached == 50 and gains.no_longer_reached == 0
    assert gains.changed_population == 100 and gains.changed_mean_s == 600.0
    loads = site_loads(population, before, np.array([[700.0], [600.0], [900.0], [900.0]]))
    assert loads.tolist() == [150.0]  # commune 1 (strictly nearer) and commune 3 (newly reached)


def test_bad_candidate_files_name_file_row_and_field(accessed_copy: str, tmp_path: Path) -> None:
    before = snapshot(accessed_copy)
    cases = {
        "cout": ("nom;code_insee;cout\nA;22266;100\nB;29019;cher\n", "ligne 3", "« cout »"),
        "commune": ("nom;code_insee\nA;99999\n", "ligne 2", "« code_insee »"),
        "point": ("nom;lat;lon\nA;45.0;5.0\n", "ligne 2", "aucune commune"),
        "nom": ("code_insee\n22266\n", "ligne 1", "« nom »"),
    }
    for name, (text, row, field) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        result = atlas(accessed_copy, "whatif", "--candidates", str(path), "--id", "x")
        assert result.returncode == 2, (name, result.stdout)
        assert str(path) in result.stderr and row in result.stderr and field in result.stderr, result.stderr
    missing_cost = tmp_path / "sans-cout.csv"
    missing_cost.write_text("nom;code_insee;cout\nA;22266;100\nB;29019;\n", encoding="utf-8")
    result = atlas(accessed_copy, "whatif", "--candidates", str(missing_cost), "--budget", "500")
    assert result.returncode == 2 and "ligne 3" in result.stderr and "coût manquant" in result.stderr
    result = atlas(accessed_copy, "whatif", "--budget", "500")
    assert result.returncode == 2 and "--candidates" in result.stderr
    assert snapshot(accessed_copy) == before


def test_candidates_within_a_budget_are_stored_listed_shown_and_deleted(accessed_copy: str, tmp_path: Path) -> None:
    path = tmp_path / "candidats.csv"
    path.write_text(CANDIDATES, encoding="utf-8")
    result = atlas(
        accessed_copy,
        "whatif",
        "--category",
        "mission:accompagnement",
        "--candidates",
        str(path),
        "--budget",
        "250000",
        "--minutes",
        "20",
        "--zoning",
        "zone-emploi",
        "--id",
        "candidats",
        "--author",
        "Service SPRO",
        "--note",
        "trois options",
    )
    assert result.returncode == 0, result.stderr
    assert "3 sites candidats (candidats.csv)" in result.stdout
    assert "pour un budget de 250\u00a0000" in result.stdout
    with db.connect(accessed_copy) as conn:
        sites = conn.execute(
            "SELECT name, cost, capacity FROM scenario_site WHERE scenario_id = 'candidats' ORDER BY rank"
        ).fetchall()
        zones = scenario_zone_effects(conn, "candidats")
        stored_author = conn.execute("SELECT author FROM scenario WHERE scenario_id = 'candidats'").fetchone()[0]
    assert sites and sum(cost for _, cost, _ in sites) <= 250_000
    assert {name for name, _, _ in sites} <= {
        "Local vacant Carhaix",
        "Maison des services Rostrenen",
        "Antenne Pontivy",
    }
    assert stored_author == "Service SPRO"
    # One row per zone d'emploi, named, with the approximate flag carried.
    assert len(zones) == 20 and "Zone d'emploi de Carhaix-Plouguer" in set(zones["name"])
    assert zones["approximate"].all()
    assert (zones["newly_covered"] >= 0).all() and zones["newly_covered"].sum() > 0

    listed = atlas(accessed_copy, "whatif", "list")
    assert listed.returncode == 0, listed.stderr
    assert "candidats :" in listed.stdout and "par Service SPRO" in listed.stdout and "trois options" in listed.stdout
    shown = atlas(accessed_copy, "whatif", "show", "candidats")
    assert shown.returncode == 0, shown.stderr
    assert "ouverture : " in shown.stdout and "Carhaix-Plouguer : temps moyen" in shown.stdout
    assert "inf" not in shown.stdout.replace("informa", "")
    assert atlas(accessed_copy, "whatif", "delete", "candidats").returncode == 0
    gone = atlas(accessed_copy, "whatif", "show", "candidats")
    assert gone.returncode == 2 and "pas de scénario" in gone.stderr
    with db.connect(accessed_copy) as conn:
        assert scenario_zone_effects(conn, "candidats").empty


def test_median_objective_reports_time_gained(accessed_copy: str) -> None:
    result = atlas(
        accessed_copy, "whatif", "--category", "mission:conseil", "--k", "2", "--objective", "median", "--id", "med"
    )
    assert result.returncode == 0, result.stderr
    assert "temps gagné, pondéré par la population : moyenne " in result.stdout
    assert "médiane" in result.stdout and "pour les 10 % les plus éloignés" in result.stdout
    with db.connect(accessed_copy) as conn:
        summary = conn.execute("SELECT summary FROM scenario WHERE scenario_id = 'med'").fetchone()[0]
    assert summary["mean_gain_s"] > 0
    assert summary["farthest_mean_gain_s"] >= summary["mean_gain_s"]
    assert summary["changed_mean_gain_s"] >= summary["mean_gain_s"] and summary["changed_population"] > 0
    assert "dont le temps change" in result.stdout


def test_a_public_is_measured_on_the_places_that_serve_it(accessed_copy: str) -> None:
    """Closing the Missions locales of Brest: measured on Missions locales, young people of
    the Finistère lose time; France services are not counted as serving them."""
    with db.connect(accessed_copy) as conn:
        brest = [
            r[0]
            for r in conn.execute(
                "SELECT structure_id FROM structure WHERE partner_type = 'mission_locale' AND commune_code = '29019'"
            )
        ]
        publics = pd.DataFrame(
            conn.execute(
                "SELECT s.partner_type, s.publics FROM structure s JOIN partner_type p USING (partner_type) "
                "WHERE coalesce(s.receives_public, p.receives_public)"
            ).fetchall(),
            columns=["partner_type", "publics"],
        )
    assert brest
    closes = [arg for sid in brest for arg in ("--close", sid)]
    result = atlas(
        accessed_copy,
        "whatif",
        "--category",
        "public:jeunes",
        "--partner-type",
        "mission_locale",
        "--k",
        "0",
        *closes,
        "--id",
        "ml-brest",
    )
    assert result.returncode == 0, result.stderr
    n_ml = int((publics["partner_type"] == "mission_locale").sum())
    assert f"{n_ml} lieux mesurés" in result.stdout
    with db.connect(accessed_copy) as conn:
        zones = scenario_zone_effects(conn, "ml-brest").set_index("zone_id")
    assert zones.loc["29", "mean_seconds_after"] > zones.loc["29", "mean_seconds_before"]

    dedicated = atlas(accessed_copy, "whatif", "--category", "public:jeunes", "--k", "0")
    general = atlas(accessed_copy, "whatif", "--category", "public:jeunes", "--k", "0", "--tout-public")
    assert dedicated.returncode == 0 and general.returncode == 0, dedicated.stderr + general.stderr
    n_dedicated = int(publics["publics"].map(lambda p: "jeunes" in p).sum())
    n_general = int(publics["publics"].map(lambda p: "jeunes" in p or "tout_public" in p).sum())
    assert f"{n_dedicated} lieux mesurés" in dedicated.stdout and "lieux dédiés" in dedicated.stdout
    assert f"{n_general} lieux mesurés" in general.stdout and n_general > n_dedicated


def _propose_draft(url: str, zoning_id: str) -> None:
    """A regionalisation breaking its constraints, stored as a draft (« brouillon »)."""
    draft = atlas(
        url,
        "zones",
        "propose",
        "--id",
        zoning_id,
        "--method",
        "regionalize",
        "--min-population",
        "80000",
        "--max-hub-minutes",
        "20",
        "--draft",
    )
    assert draft.returncode == 0, draft.stderr


def test_scenarios_and_drafts_are_shown_on_the_pages_the_api_and_the_export(accessed_copy: str, tmp_path: Path) -> None:
    import json

    import pyogrio

    from webapp import create_app

    result = atlas(
        accessed_copy, "whatif", "--category", "mission:conseil", "--k", "1", "--zoning", "bassin-vie", "--id", "web-1"
    )
    assert result.returncode == 0, result.stderr
    _propose_draft(accessed_copy, "essai")
    app = create_app({"DATABASE_URL": accessed_copy, "TESTING": True})
    try:
        with app.test_client() as client:
            listed = client.get("/api/scenarios").get_json()["scenarios"]
            assert [s["scenario_id"] for s in listed] == ["web-1"] and listed[0]["approximate"] is True
            shapes = json.loads(client.get("/api/scenarios/web-1").get_data(as_text=True))
            assert shapes["approximate"] is True and len(shapes["features"]) > 100  # bassins de vie
            assert {"name", "mean_seconds_before", "mean_seconds_after"} <= set(shapes["features"][0]["properties"])
            assert client.get("/api/scenarios/absent").status_code == 404
            page = client.get("/diagnostic/scenarios/web-1").get_data(as_text=True)
            assert "Effet par zone" in page and "approximatifs" in page and "Temps gagné" in page
            assert client.get("/diagnostic/scenarios/absent").status_code == 404
            assert "/diagnostic/scenarios/web-1" in client.get("/diagnostic").get_data(as_text=True)
            carte = client.get("/carte").get_data(as_text=True)
            assert 'name="scenario"' in carte and "(brouillon)" in carte
            zonings = client.get("/api/zonings").get_json()["zonings"]
            assert next(z for z in zonings if z["zoning_id"] == "essai")["label"].endswith("(brouillon)")
    finally:
        app.extensions["atlas_pool"].close()
    output = tmp_path / "export.gpkg"
    exported = atlas(accessed_copy, "export", str(output))
    assert exported.returncode == 0, exported.stderr
    layers = [name for name, _ in pyogrio.list_layers(output)]
    assert "scenarios_zones" in layers
    effect = pyogrio.read_dataframe(output, layer="scenarios_zones")
    assert set(effect["scenario"]) == {"web-1"} and effect["approximatif"].all()
    zonages = pyogrio.read_dataframe(output, layer="zonages")
    assert zonages.loc[zonages["zonage"] == "essai", "zonage_libelle"].str.endswith("(brouillon)").all()
    assert zonages.loc[zonages["zonage"] == "essai", "brouillon"].all()


def test_the_yearly_report_annex_shows_the_scenarios_of_its_snapshot(accessed_copy: str) -> None:
    """A scenario stored before the snapshot appears in the report's annex with its per-zone
    effect; a draft zoning is no part of the bilan."""
    import html

    from webapp import create_app

    stored = atlas(
        accessed_copy,
        "whatif",
        "--category",
        "mission:conseil",
        "--k",
        "1",
        "--zoning",
        "bassin-vie",
        "--id",
        "bilan-1",
    )
    assert stored.returncode == 0, stored.stderr
    _propose_draft(accessed_copy, "essai")
    taken = atlas(accessed_copy, "snapshot", "--year", "2026")
    assert taken.returncode == 0, taken.stderr
    app = create_app({"DATABASE_URL": accessed_copy, "TESTING": True})
    try:
        with app.test_client() as client:
            page = html.unescape(client.get("/diagnostic/rapport/2026").get_data(as_text=True)).replace("\u00a0", " ")
    finally:
        app.extensions["atlas_pool"].close()
    annex = page[page.index('id="annexe-scenarios"') :]
    assert "Annexe : scénarios étudiés" in annex and 'href="#annexe-scenarios"' in page
    assert "Effet du scénario par zone" in annex and "Bassin de vie" in annex
    assert "(brouillon)" not in page


def test_a_scenario_outlives_a_reload_with_its_names(accessed_copy: str) -> None:
    """A scenario is the record of a study: a new `atlas load` keeps it, with the names of
    the communes and places it opened or closed as they were when it was stored."""
    from tests.conftest import PILOT_DIR

    with db.connect(accessed_copy) as conn:
        brest_ml = conn.execute(
            "SELECT structure_id, name FROM structure WHERE partner_type = 'mission_locale' AND commune_code = '29019' "
            "ORDER BY structure_id LIMIT 1"
        ).fetchone()
    assert brest_ml is not None
    stored = atlas(
        accessed_copy,
        "whatif",
        "--category",
        "mission:conseil",
        "--add",
        "29103",
        "--close",
        brest_ml[0],
        "--id",
        "garde",
    )
    assert stored.returncode == 0, stored.stderr
    reloaded = atlas(accessed_copy, "load", "--region", "53", "--data", str(PILOT_DIR))
    assert reloaded.returncode == 0, reloaded.stderr
    listed = atlas(accessed_copy, "whatif", "list")
    assert listed.returncode == 0 and "garde" in listed.stdout
    shown = atlas(accessed_copy, "whatif", "show", "garde")
    assert shown.returncode == 0, shown.stderr
    assert brest_ml[1] in shown.stdout and "Landerneau" in shown.stdout
