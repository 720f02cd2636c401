"""Completeness of the inventory: the rule (pure), and where it shows (CLI, API, pages,
report, exports) on the pilot, where only France services has a declared census."""

from __future__ import annotations

import html

import pytest

from geo.analysis.inventory import (
    TypeInventory,
    covered_types,
    incomplete_types,
    is_complete,
    type_inventory,
)
from geo.categories import Category
from tests.web_fixtures import web_app, web_client, web_db  # noqa: F401


def _type(key: str, *, n: int, expected: int | None, missions=("conseil",), publics=("jeunes",), public=True):
    return TypeInventory(key, key.upper(), public, tuple(missions), tuple(publics), n, 0, expected, n, 0, None, None)


def test_a_type_is_complete_at_95_percent_of_its_census_and_never_when_unknown() -> None:
    assert is_complete(95, 100) and not is_complete(94, 100)
    assert not is_complete(500, None)
    assert is_complete(0, 0)


def test_a_figure_is_weakened_by_every_type_its_family_covers_even_without_places() -> None:
    inventory = [
        _type("fs", n=130, expected=130, missions=("accueil", "information"), publics=("tout_public",)),
        _type("cio", n=18, expected=None, missions=("information", "conseil"), publics=("jeunes",)),
        _type("cap_emploi", n=0, expected=None, missions=("conseil",), publics=("handicap",)),
        _type("arml", n=0, expected=None, missions=("accompagnement",), public=False),
    ]
    assert incomplete_types(Category("partner_type", "fs"), inventory) == []
    assert incomplete_types(Category("any"), inventory) == ["cio", "cap_emploi"]  # never the ARML
    assert incomplete_types(Category("mission", "accueil"), inventory) == []
    assert incomplete_types(Category("mission", "conseil"), inventory) == ["cio", "cap_emploi"]
    assert covered_types(Category("public", "jeunes"), inventory) == ["fs", "cio"]  # tout_public counts
    assert covered_types(Category("mission", "accompagnement"), inventory) == []


def test_type_inventory_shares_and_years() -> None:
    row = {
        "partner_type": "cio",
        "label": "CIO",
        "receives_public": True,
        "missions": ["information"],
        "publics": ["jeunes"],
        "expected_sites": 20,
        "n_sites": 18,
        "n_without_public": 1,
        "n_at_building": 5,
        "n_with_hours": 0,
        "vintage_min": "2019 (export DILA ~2019-08)",
        "vintage_max": "annuaire 2023-06",
    }
    entry = type_inventory(row)
    assert not entry.complete and entry.share_of_expected == pytest.approx(0.9)
    assert entry.share_at_building == pytest.approx(5 / 18) and entry.share_with_hours == 0
    assert entry.years == "2019 à 2023" and entry.vintages == "2019 (export DILA ~2019-08) à annuaire 2023-06"
    assert entry.as_dict()["complete"] is False


# ------------------------------------------------------------- where it shows, on the pilot
def test_api_inventory_and_indicator_flags(web_client) -> None:
    data = web_client.get("/api/inventory").get_json()
    types = {t["partner_type"]: t for t in data["partner_types"]}
    assert data["complete_share"] == 0.95 and data["rejected_rows"] == 0
    assert types["france_services"]["expected"] == 130 and types["france_services"]["complete"] is True
    assert types["cio"]["expected"] is None and types["cio"]["complete"] is False and types["cio"]["n_sites"] == 18
    assert types["cio"]["vintage_min"].startswith("2019") and types["cio"]["vintage_max"] == "annuaire 2023-06"
    assert types["france_travail"]["n_without_public"] == 2 and types["france_travail"]["share_at_building"] == 1
    # Dates are ordered by the date a label holds, not as text (« annuaire… » would sort last).
    ml = types["mission_locale"]
    assert (
        ml["vintage_min"].startswith("2019")
        and ml["vintage_max"].startswith("2026-07")
        and ml["years"] == "2019 à 2026"
    )
    # Per-commune figures carry the flag too: the commune panel, the map's layer and its CSV.
    modes = web_client.get("/api/communes/35238/access").get_json()["modes"]
    flags = {row["category"]: row["inventory_incomplete"] for row in modes["drive"]["categories"]}
    assert flags["any"] is True and flags["partner_type:france_services"] is False
    layer = web_client.get("/api/access/communes?category=any").get_json()
    assert layer["inventory_incomplete"] is True and layer["features"][0]["properties"]["inventory_incomplete"] is True
    table = web_client.get("/api/access/communes?category=partner_type:france_services&format=csv").get_data(
        as_text=True
    )
    assert table.splitlines()[0].endswith(",inventory_incomplete") and table.splitlines()[1].endswith(",false")
    fs = web_client.get("/api/indicators?level=departement&category=partner_type:france_services").get_json()
    assert fs["inventory_incomplete"] is False and not any(r["inventory_incomplete"] for r in fs["indicators"])
    anything = web_client.get("/api/indicators?level=departement&category=any").get_json()
    assert anything["inventory_incomplete"] is True
    assert {"cio", "mission_locale", "cap_emploi"} <= set(anything["indicators"][0]["incomplete_types"])
    assert "france_services" not in anything["indicators"][0]["incomplete_types"]
    csv_text = web_client.get("/api/indicators?level=departement&category=any&format=csv").get_data(as_text=True)
    header, first = csv_text.splitlines()[:2]
    assert header.endswith("approximate,inventory_incomplete,incomplete_types") and ",true,true," in first
    gaps = web_client.get("/api/gaps?format=csv&category=partner_type:cio").get_data(as_text=True).splitlines()
    assert gaps[0].endswith("inventory_incomplete,incomplete_types") and all(",true,cio" in g for g in gaps[1:])


def test_diagnostic_labels_incomplete_figures_and_shows_the_inventory(web_client) -> None:
    page = html.unescape(web_client.get("/diagnostic?level=departement&category=any").get_data(as_text=True))
    assert "<strong>Inventaire incomplet</strong> : ces chiffres comptent des lieux dont la liste n'est pas" in page
    assert "(4 territoires) — temps approximatifs — inventaire incomplet</caption>" in page
    assert "Tout lieu du SPRO (inventaire incomplet)</option>" in page
    assert "Lieux chargés, attendus, précision et millésimes par type de partenaire" in page
    assert '<th scope="row">France services</th><td>131</td>' in page  # the pilot's 130 and the test fixture
    page = html.unescape(
        web_client.get("/diagnostic?level=departement&category=partner_type:france_services").get_data(as_text=True)
    )
    assert "<strong>Inventaire incomplet</strong>" not in page and "— inventaire incomplet</caption>" not in page


def test_report_keeps_incomplete_figures_out_of_its_headline(web_client) -> None:
    page = html.unescape(web_client.get("/diagnostic/rapport/2026").get_data(as_text=True)).replace("\u00a0", " ")
    headline, rest = page.split("Autres chiffres : inventaire incomplet", 1)
    key_figures = headline[headline.index("Chiffres clés (inventaire complet)") :]
    assert '<th scope="col">France services</th>' in key_figures and "Tout lieu du SPRO" not in key_figures
    assert (
        '<th scope="col">Tout lieu du SPRO</th>' in rest
        and "en voiture (temps approximatifs) — inventaire incomplet" in rest
    )
    assert "(temps approximatifs) — inventaire incomplet</caption>" in rest  # the EPCI table too
    assert "Inventaire : lieux chargés, attendus, précision et millésimes" in page


def test_db_status_gives_every_type_its_counts(web_db, monkeypatch) -> None:
    from typer.testing import CliRunner

    from scripts.cli import app

    monkeypatch.setenv("DATABASE_URL", web_db)
    output = CliRunner().invoke(app, ["db", "status"]).output.replace("\u00a0", " ")  # French number spacing
    assert "  france_services: 131 / attendus 130 (101 %); au bâtiment 100 %" in output
    assert "  cio: 18 / attendus inconnu — inventaire incomplet; au bâtiment 28 %, horaires 0 %" in output
    assert "  arml: 1 lieu(x) sans accueil du public; millésimes 2026-07" in output


def test_the_public_results_say_a_list_may_be_incomplete(web_client) -> None:
    page = html.unescape(web_client.get("/?commune=35238").get_data(as_text=True))
    assert "Certaines listes de lieux ne sont peut-être pas complètes : un lieu plus proche peut exister" in " ".join(
        page.split()
    )
    assert "ne sont peut-être pas complètes" not in web_client.get("/").get_data(as_text=True)
