"""The printed report's form and the shareable map file: French typography, the static SVG
figures (geo.maps), the folium map file (geo.mapfile) with hostile names, the download route
and ``atlas map``. Synthetic layers for the renderers (tests/map_fixtures.py); the pages and
the command against the pilot copy (real PostGIS)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from markupsafe import Markup

from geo import french
from geo.mapfile import LeafletAssets, build_map_file
from geo.maps import report_figures, time_classes
from tests.map_fixtures import HOSTILE, synthetic_layers
from tests.web_fixtures import MALICIOUS_NAME, web_app, web_client, web_db  # noqa: F401
from webapp.labels import level_label, typography
from webapp.mapfile import LEAFLET_DIR

NBSP = "\u00a0"


# ------------------------------------------------------------------- typography
def test_french_typography_of_plain_text() -> None:
    text = french.typography(
        "Zones : « Brest » ; 12 min, 1 h 05, 3\u00a0449\u00a0370 habitants ! 97,5 % ? 10:00 http://x"
    )
    assert text == (
        f"Zones{NBSP}: «{NBSP}Brest{NBSP}»{NBSP}; 12{NBSP}min, 1{NBSP}h{NBSP}05, 3{NBSP}449{NBSP}370{NBSP}habitants{NBSP}! "
        f"97,5{NBSP}%{NBSP}? 10:00 http://x"
    )
    assert french.number(3449370) == f"3{NBSP}449{NBSP}370" and french.number(12.25, 1) == "12,2"


def test_typography_filter_leaves_markup_alone() -> None:
    source = Markup(
        '<p title="a : b">Seuil : 30 min</p><style>a { b : c }</style><svg><text>x : y</text></svg><p>fin !</p>'
    )
    result = typography(source)
    assert isinstance(result, Markup)
    assert result == Markup(
        f'<p title="a : b">Seuil{NBSP}: 30{NBSP}min</p><style>a {{ b : c }}</style><svg><text>x : y</text></svg><p>fin{NBSP}!</p>'
    )


def test_zoning_labels_are_not_doubled() -> None:
    assert level_label("zone:maxp", "Zones max-p") == "Zones max-p"
    assert level_label("zone:b", "bassins 2026") == "Zones : bassins 2026"
    assert level_label("departement") == "Départements"


def test_publics_carry_their_accents() -> None:
    from geo.categories import Category

    assert Category.from_code("public:etudiants").label() == "Public : étudiants"
    assert Category.from_code("public:createurs_entreprise").label() == "Public : créateurs d'entreprise"


# ------------------------------------------------------------------- static figures
@pytest.fixture(scope="module")
def figures() -> dict:
    return report_figures(synthetic_layers(), mode_phrase="en voiture")


def test_static_maps_are_accessible_svg_that_the_csp_allows(figures: dict) -> None:
    everything = [
        *figures["time_maps"],
        figures["white_zones"],
        *figures["zone_maps"].values(),
        *figures["distributions"],
    ]
    assert len(figures["time_maps"]) == 5 and len(everything) == 9
    ids: list[str] = []
    for figure in everything:
        svg = figure.svg
        assert svg.startswith("<svg ") and 'role="img"' in svg, figure.key
        assert f'aria-labelledby="{figure.key}-titre {figure.key}-desc"' in svg
        assert f'<title id="{figure.key}-titre">' in svg and f'<desc id="{figure.key}-desc">' in svg
        assert " style=" not in svg and "<style" not in svg  # style-src 'self' ignores inline styles
        assert "<script" not in svg and "<img" not in svg and "<?xml" not in svg
        found = re.findall(r'\sid="([^"]+)"', svg)
        assert all(i.startswith(figure.key + "-") for i in found), figure.key
        ids += found
    assert len(ids) == len(set(ids))  # one page holds them all


def test_time_maps_have_a_legend_with_units_and_a_description(figures: dict) -> None:
    first = figures["time_maps"][0]
    for _, _, label in time_classes():
        assert html.escape(label) in first.svg
    assert "Temps en voiture (minutes)" in first.svg and "non atteint" not in first.svg
    assert "non atteint" in figures["time_maps"][3].svg  # a commune out of reach: hatched, in the legend
    assert "(inventaire incomplet)" in first.title and "Temps approximatifs" in first.description
    assert "moins de 10" in first.description and "% des habitants" in first.description
    accueil = figures["time_maps"][1]
    assert "Mission : accueil" in accueil.title and "inventaire incomplet" not in accueil.title


def test_hostile_names_are_text_in_the_static_figures(figures: dict) -> None:
    zones = next(iter(figures["zone_maps"].values()))
    assert "&lt;img src=x" in zones.svg and "<img" not in zones.svg
    assert HOSTILE in zones.description  # plain text; escaped when written (title/desc)


def test_distribution_rows_are_ordered_by_median(figures: dict) -> None:
    by_epci = figures["distributions"][1]
    medians = [int(m) for m in re.findall(r"médiane (\d+)", by_epci.description)]
    assert medians == sorted(medians) and len(medians) == 4
    assert "5e au 95e centile" in by_epci.description


# ------------------------------------------------------------------- map file
@pytest.fixture(scope="module")
def map_text() -> str:
    return build_map_file(
        synthetic_layers(),
        title="Carte <b> & co",
        leaflet=LeafletAssets.from_dir(LEAFLET_DIR),
        mode_phrase="en voiture",
        note="Note ${alert(9)}",
    )


def _ours(map_text: str) -> str:
    """The map file without the inlined Leaflet library."""
    return map_text.replace(LeafletAssets.from_dir(LEAFLET_DIR).js.replace("</", "<\\/"), "")


def test_map_file_is_self_contained_and_titled(map_text: str) -> None:
    assert map_text.startswith("<!DOCTYPE html>") and '<html lang="fr">' in map_text
    assert "<title>Carte &lt;b&gt; &amp; co</title>" in map_text
    assert "user-scalable=no" not in map_text and "maximum-scale" not in map_text
    assert "L.control.scale({imperial: false})" in map_text
    assert re.findall(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=", map_text) == []  # nothing to load
    assert "url(images/" not in map_text and "data:image/png;base64," in map_text
    ours = _ours(map_text)
    assert len(ours) < len(map_text) - 100_000  # Leaflet is inlined once, verbatim
    without_comments = re.sub(r"/\*.*?\*/", "", ours, flags=re.DOTALL)
    assert re.findall(r"https?://", without_comments) == [] and "L.tileLayer(" not in ours
    assert re.findall(r"jsdelivr|cdnjs|unpkg|code\.jquery|bootstrapcdn|openstreetmap", ours, re.IGNORECASE) == []
    assert "jquery" not in ours.lower() and "bootstrap" not in ours.lower()


def test_map_file_never_turns_data_into_markup(map_text: str) -> None:
    assert "<img src=x" not in map_text and "<script>alert" not in map_text
    ours = _ours(map_text)
    assert "bindPopup" not in ours and "innerHTML" not in ours and "L.popup" not in ours
    # Data live in HTML-safe JSON (``<`` as \\u003c) and in escaped HTML text only.
    assert "\\u003cimg src=x onerror=alert(1)\\u003e${alert(2)}" in map_text
    assert "&lt;img src=x onerror=alert(1)&gt;${alert(2)}&lt;/script&gt;" in map_text
    assert ours.count("bindTooltip(") == ours.count("box.textContent = feature.properties.texte") > 0


# ------------------------------------------------------------------- pages and command
def test_report_page_has_units_typography_and_maps(web_client) -> None:
    page = web_client.get("/diagnostic/rapport/2026").get_data(as_text=True)
    text = html.unescape(page)
    assert f"lieux pour 10{NBSP}000{NBSP}habitants" in text  # the 2SFCA's unit
    assert "Temps moyen (min)" in text and "À moins de 30 min (%)" in text.replace(NBSP, " ")
    assert re.search(r"Bretagne\u00a0: [\d\u00a0]+\u00a0communes, [\d\u00a0]+\u00a0habitants", text)
    assert "Zones : Zones" not in text.replace(NBSP, " ")
    assert "étudiants" in text and "etudiants" not in re.sub(r"<[^>]+>", "", page)
    assert text.count('class="static-figure') >= 8 and "Données et limites" in text
    assert "Inventaire : lieux chargés, attendus, précision et millésimes" in text.replace(NBSP, " ")
    assert " style=" not in page.split("<main", 1)[1]  # CSP: the inline SVG uses attributes
    assert 'href="/carte/carte-atlas-spro.html" download' in page


def test_the_map_file_downloads_from_carte_and_diagnostic(web_client) -> None:
    for url in ("/carte", "/diagnostic"):
        assert 'href="/carte/carte-atlas-spro.html" download' in web_client.get(url).get_data(as_text=True), url
    response = web_client.get("/carte/carte-atlas-spro.html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Disposition"] == 'attachment; filename="carte-atlas-spro.html"'
    body = response.get_data(as_text=True)
    assert "<script>alert(1)" not in body and "<img src=x" not in body and '"><img' not in body
    assert "Accès au service public régional de l'orientation en Bretagne" in html.unescape(body)
    assert web_client.get("/carte/carte-atlas-spro.html").get_data() == response.get_data()  # cached


def test_atlas_map_writes_the_file(web_db, tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from scripts.cli import app

    monkeypatch.setenv("DATABASE_URL", web_db)
    output = tmp_path / "partage" / "carte.html"
    result = CliRunner().invoke(app, ["map", "--output", str(output), "--year", "2026"])
    assert result.exit_code == 0, result.output
    text = output.read_text(encoding="utf-8").replace("\u00a0", " ")
    assert '<html lang="fr">' in text and "(bilan 2026, données figées le " in html.unescape(text)
    # layer names sit in the script as JSON (no-break spaces written \u00a0)
    assert "Temps\\u00a0: Mission\\u00a0: conseil" in text and "<script>alert" not in text
    table = text[text.index('id="tableau-communes"') :]
    assert table.count("<tr>") > 1200 and table.count("<td>non atteint</td>") < 200  # every mission column read
    missing = CliRunner().invoke(app, ["map", "--output", str(tmp_path / "x.html"), "--year", "2019"])
    assert missing.exit_code == 2 and "pas de bilan pour 2019" in missing.output and "2026" in missing.output
    assert not (tmp_path / "x.html").exists()


def test_report_and_map_file_on_an_empty_database(migrated_db: str) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": migrated_db, "TESTING": True})
    try:
        with app.test_client() as client:
            response = client.get("/diagnostic/rapport/2026")
            assert response.status_code == 404  # no snapshot taken: no bilan
            assert "Pas de bilan pour cette année" in html.unescape(response.get_data(as_text=True))
            assert client.get("/carte/carte-atlas-spro.html").status_code == 404
    finally:
        app.extensions["atlas_pool"].close()
