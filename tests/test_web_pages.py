"""HTML pages against a pilot copy where ``atlas access`` ran (Flask test client, real PostGIS)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import markupsafe
import pytest

from scripts.report import ReportError, render_report, report
from tests.web_fixtures import MALICIOUS_NAME, ZONING_ID, web_app, web_client, web_db  # noqa: F401

PUBLIC_PAGES = ("/", "/?q=ploermel", "/?q=Vitre&commune=35360", "/?lat=48.1113&lon=-1.68", "/a-propos")
PLANNER_PAGES = (
    "/carte",
    "/diagnostic",
    "/diagnostic?level=epci&mode=walk&category=mission:conseil",
    "/diagnostic/rapport/2026",
    "/api/docs",
)


def _title(page: str) -> str:
    return html.unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1)).strip()


def _assets(page: str) -> list[str]:
    return re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="([^"]*)"', page)


@pytest.mark.parametrize("url", PUBLIC_PAGES + PLANNER_PAGES)
def test_every_page_is_french_accessible_local_and_cookie_free(web_client, url: str) -> None:
    response = web_client.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, url
    assert "Set-Cookie" not in response.headers
    assert '<html lang="fr">' in page and 'class="skip-link" href="#contenu"' in page and 'id="contenu"' in page
    assert _title(page).endswith("Atlas SPRO")
    assert all(a.startswith(("/", "data:")) for a in _assets(page)), _assets(page)  # no CDN, font or tracker
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in page  # no inline script: CSP script-src 'self' holds


def test_search_by_name_lists_places_by_travel_time(web_client) -> None:
    response = web_client.get("/?q=ploermel")
    page = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert _title(page) == "10 lieux proches de Ploërmel, en voiture – Atlas SPRO"
    assert "Lieux les plus proches de Ploërmel" in page and "Par temps de trajet en voiture" in page
    assert "Temps en voiture <strong>approximatifs</strong>" in page  # the run's label
    assert page.count('class="tag tag-approx"') == 10  # and each place's
    assert 'role="status"' in page and "10 lieux trouvés" in page
    assert 'id="carte-resultats" class="map map-small" role="region"' in page


def test_postcode_offers_a_choice_then_filters_follow(web_client) -> None:
    page = web_client.get("/?q=35160&mission=conseil&public=jeunes&jour=mercredi&mode=walk").get_data(as_text=True)
    assert _title(page) == "Recherche « 35160 » : 6 communes – Atlas SPRO"
    assert "6 communes trouvées" in page
    link = re.search(r'href="(/\?q=35160&amp;commune=35188[^"]*)"', page).group(1)
    assert "mission=conseil" in link and "public=jeunes" in link and "jour=mercredi" in link and "mode=walk" in link
    page = web_client.get(html.unescape(link)).get_data(as_text=True)
    # The query typed stays: « Ce n'est pas votre commune ? » leads back to the same list.
    assert 'href="/?q=35160&amp;choix=1' in page
    assert _title(page) == (
        "10 lieux proches de Montfort-sur-Meu, conseil en orientation, jeunes (16-25 ans), "
        "ouverts le mercredi, à pied – Atlas SPRO"
    )


def test_search_by_coordinates_and_bad_coordinates(web_client) -> None:
    page = web_client.get("/?lat=48,1113&lon=-1,68").get_data(as_text=True)
    assert "Lieux les plus proches de Rennes" in page and "Votre position est dans la commune de Rennes" in page
    page = html.unescape(web_client.get("/?lat=48.30&lon=-4.90").get_data(as_text=True))
    assert "Ce point n'est dans aucune commune de la Région ; la plus proche est Le Conquet" in page
    assert web_client.get("/?lat=48.1").status_code == 400
    assert web_client.get("/?lat=100&lon=1").status_code == 400
    bad = web_client.get("/?lat=43.6&lon=1.44")
    assert bad.status_code == 404 and "hors de la Région" in bad.get_data(as_text=True)


def test_walking_beyond_the_bound_falls_back_to_straight_line_with_a_note(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Vitre&commune=35360&mode=walk").get_data(as_text=True))
    assert "Plus loin (au-delà de 2 h 00 à pied) : classés à vol d'oiseau" in page
    assert 'id="liste-distance"' in page


def test_results_flag_approximate_positions_and_itinerant_services(web_client) -> None:
    page = web_client.get("/?q=Vitre&commune=35360").get_data(as_text=True)
    assert "Adresse exacte non vérifiée : le lieu est placé à la mairie de sa commune" in page
    mobile = web_client.get("/api/structures").get_json()["features"]
    itinerant = next(f for f in mobile if f["properties"]["itinerant"])
    page = web_client.get(f"/?commune={itinerant['properties']['commune_code']}").get_data(as_text=True)
    assert "Itinérant : se renseigner" in page
    # Not shown at its depot: no address and no map position for it.
    item = re.search(
        r'<li class="result"[^>]*>\s*<h4 class="result-name">[^<]*</h4>(?:(?!</li>).)*Itinérant', page, re.S
    )
    assert item and "data-lat" not in item.group(0).split(">")[0]


def test_malicious_structure_name_is_rendered_as_text(web_client) -> None:
    page = web_client.get("/?q=Vitre&commune=35360&mission=accueil").get_data(as_text=True)
    assert str(markupsafe.escape(MALICIOUS_NAME)) in page  # element text and the data-name attribute
    assert f'data-name="{markupsafe.escape(MALICIOUS_NAME)}"' in page
    assert "<script>alert(1)" not in page and "<img src=x" not in page and '"><img' not in page


def test_filters_and_bad_parameters(web_client) -> None:
    assert web_client.get("/?q=Pontivy&mission=accompagnement&public=demandeurs_emploi").status_code == 200
    for query in (
        "q=Pontivy&mission=orientation",
        "q=Pontivy&public=retraites",
        "q=Pontivy&jour=feteday",
        "q=Pontivy&mode=bike",
        "commune=ABCDE",
        "q=" + "x" * 81,
        "lat=1e999&lon=0",
    ):
        response = web_client.get(f"/?{query}")
        assert response.status_code == 400, query
        assert 'role="alert"' in response.get_data(as_text=True)
    assert web_client.get("/?q=Rennes&commune=99999").status_code == 404


def test_day_filter_keeps_places_open_that_day_and_those_whose_hours_are_unknown(web_client) -> None:
    page = web_client.get("/?q=Vitre&commune=35360&jour=samedi").get_data(as_text=True)
    assert "ouverts le samedi" in _title(page)
    results = page.count('<li class="result"')
    open_saturday = page.count("<dt>Samedi</dt>")
    unknown = page.count("Horaires non renseignés — appelez avant")
    assert open_saturday >= 1 and unknown >= 1 and open_saturday + unknown == results


def test_about_page(web_client) -> None:
    page = html.unescape(web_client.get("/a-propos").get_data(as_text=True))
    for text in (
        "aucun cookie",
        "ne sont pas enregistrés",
        "Déclaration d'accessibilité",
        "non audité",
        "Règle de neutralité",
        "identifiant technique",
        "France services : 131 lieux, informations de 2024.",  # the pilot's 130 and the test fixture
        "Centre d'information et d'orientation (CIO) : 18 lieux, informations de 2019 à 2023 ;",
        "liste peut-être incomplète",
        "approximatifs",
        "Accessibilité des locaux",
        "Départements (test)",
    ):
        assert text in page, text


def test_map_page_has_controls_legend_exports_and_text_alternative(web_client) -> None:
    page = web_client.get("/carte").get_data(as_text=True)
    assert "<fieldset>" in page and "<legend>Lieux du réseau</legend>" in page
    assert 'id="couche-temps"' in page and 'id="couche-isochrones"' in page and 'id="couche-zones-blanches"' in page
    assert f'<option value="{ZONING_ID}">' in page
    for label in ("moins de 10 min", "10 à 20 min", "20 à 30 min", "30 à 45 min", "45 min et plus"):
        assert label in page
    assert 'role="region" aria-label="Carte de la Région' in page and "La carte nécessite JavaScript" in page
    assert "/api/structures?format=csv" in page and "/api/access/communes?" in page
    assert "/static/vendor/leaflet/leaflet.js" in page and "/static/js/carte.js" in page
    assert "approximatifs" in page


def test_diagnostic_tables_charts_and_csv(web_client) -> None:
    page = web_client.get("/diagnostic?level=departement&mode=drive&category=any").get_data(as_text=True)
    assert _title(page) == "Diagnostic : Départements, Tout lieu du SPRO, en voiture – Atlas SPRO"
    caption = "<caption>Départements : accès à « Tout lieu du SPRO » en voiture (4 territoires) — temps approximatifs"
    assert caption in page
    assert page.count('<th scope="row">') >= 4 and '<th scope="col">À moins de 30 min (%)</th>' in page
    assert page.count('<svg role="img"') == 2 and 'aria-describedby="tableau-indicateurs"' in page
    assert "/api/indicators?level=departement&amp;mode=drive&amp;category=any&amp;format=csv" in page
    assert "Zones blanches et communes sans choix" in page
    page = web_client.get(f"/diagnostic?level=zone:{ZONING_ID}").get_data(as_text=True)
    assert "Zones : Départements (test)" in page and "Ille-et-Vilaine" in page
    assert web_client.get("/diagnostic?level=canton").status_code == 400
    assert web_client.get("/diagnostic?category=nope").status_code == 400


def test_yearly_report_page_prints_well(web_client) -> None:
    page = html.unescape(web_client.get("/diagnostic/rapport/2026").get_data(as_text=True))
    assert _title(page).startswith("Rapport 2026 : accès au service public régional de l'orientation en Bretagne")
    text = page.replace("\u00a0", " ")  # French typography: no-break spaces before « : » and units
    for heading in (
        "1. Le réseau",
        "2. Données et limites",
        "3. L'accès par département",
        "4. Cartes des temps d'accès par mission",
        "5. L'accès par intercommunalité",
        "6. Zones blanches",
        "7. Zonages infrarégionaux",
    ):
        assert heading in text, heading
    for content in (
        "Départements (test)",
        "approximatifs",
        "Complétude de la liste des lieux",
        "Millésimes et sources",
    ):
        assert content in text, content
    start = text.index('id="sommaire"')
    sommaire = text[start : text.index("</nav>", start)]
    assert sommaire.count("<li>") == 8 and 'href="#limites"' in sommaire and 'href="#evolutions"' in sommaire
    assert 'class="chapter"' in page
    with web_client.get("/static/css/atlas.css") as response:
        css = response.get_data(as_text=True)
    assert "@media print" in css and "size: A4" in css and ".site-nav" in css
    assert "break-before: page" not in css  # sections flow: no half-empty page
    assert web_client.get("/diagnostic/rapport/1999").status_code == 404


def test_report_script_writes_the_same_document(web_db, tmp_path: Path) -> None:
    output = report(2026, tmp_path / "out" / "rapport-2026.html", database_url=web_db)
    text = output.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and '<html lang="fr">' in text
    assert "<style>" in text and "@media print" in text  # self-contained
    assert 'rel="stylesheet"' not in text and "<script" not in text and "site-nav" not in text.split("<style>")[0]
    assert "3. L'accès par département" in html.unescape(text) and "Départements (test)" in text
    assert text.count('<svg stroke-linejoin="round"') >= 5  # the static maps, inline
    with pytest.raises(ReportError, match="hors de la période"):
        render_report(1850, web_db)
    with pytest.raises(ReportError, match="injoignable"):
        render_report(2026, "postgresql://nobody@/nowhere?host=/nonexistent")


def test_pages_work_on_an_empty_database(migrated_db: str) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": migrated_db, "TESTING": True})
    try:
        with app.test_client() as client:
            for url in ("/", "/a-propos", "/carte", "/diagnostic", "/api/docs"):
                response = client.get(url)
                assert response.status_code == 200, url
            missing = client.get("/diagnostic/rapport/2026")
            assert missing.status_code == 404 and "Pas de bilan pour cette année" in missing.get_data(as_text=True)
            assert "Aucune donnée n'est encore chargée" in html.unescape(client.get("/").get_data(as_text=True))
            assert "pas encore été calculés" in client.get("/diagnostic").get_data(as_text=True)
            for url in (
                "/api/categories",
                "/api/zonings",
                "/api/gaps",
                "/api/structures",
                "/api/territories",
                "/api/access/communes",
                "/api/indicators",
                "/api/isochrones",
            ):
                assert client.get(url).status_code == 200, url
            assert client.get("/api/nearest?commune=35238").status_code == 404
    finally:
        app.extensions["atlas_pool"].close()


def test_a_configured_tile_server_is_allowed_by_the_csp(web_db: str) -> None:
    from webapp import create_app, tile_origin

    assert tile_origin(None) is None and tile_origin("/tuiles/{z}/{x}/{y}.png") is None
    assert tile_origin("https://{s}.tuiles.example.org/{z}/{x}/{y}.png") == "https://*.tuiles.example.org"
    app = create_app({"DATABASE_URL": web_db, "TILE_URL": "https://tuiles.example.org/{z}/{x}/{y}.png"})
    try:
        with app.test_client() as client:
            response = client.get("/carte")
        csp = response.headers["Content-Security-Policy"]
        assert "img-src 'self' data: https://tuiles.example.org;" in csp
        assert 'data-tile-url="https://tuiles.example.org/{z}/{x}/{y}.png"' in response.get_data(as_text=True)
    finally:
        app.extensions["atlas_pool"].close()
