"""The finder's results in plain French, with honest figures (issue 14)."""

from __future__ import annotations

import html
import re

import pytest

from tests.web_fixtures import web_app, web_client, web_db  # noqa: F401 - fixtures
from webapp.contact import email_href, phone_href, public_name, website_href


def _results(page: str) -> list[str]:
    return re.findall(r'<li class="result".*?</li>\n', page, re.S)


def test_public_wording_helpers() -> None:
    assert public_name("France Travail (ex-Pôle emploi) - SAINT BRIEUC OUEST (APE/DT/A2S22)") == (
        "France Travail (ex-Pôle emploi) - SAINT BRIEUC OUEST"
    )
    assert public_name("Information Jeunesse (CRIJ, BIJ, PIJ)") == "Information Jeunesse (CRIJ, BIJ, PIJ)"
    assert phone_href("02 96 85 32 67") == "tel:+33296853267"
    assert phone_href("02.96.85.32.67") == "tel:+33296853267"
    assert phone_href("+33 2 96 85 32 67") == "tel:+33296853267"
    assert phone_href("3949") is None and phone_href(None) is None
    assert email_href("pij@vitre.fr") == "mailto:pij@vitre.fr"
    assert email_href("pas une adresse") is None and email_href('a"@b.fr') is None
    assert website_href("www.ml-paysdedinan.fr") == "https://www.ml-paysdedinan.fr"
    assert website_href("http://ml.fr/x") == "http://ml.fr/x"
    assert website_href("javascript:alert(1)") is None and website_href("https://") is None
    assert website_href("www.ac-rennes.fr:8080/cio") == "https://www.ac-rennes.fr:8080/cio"


def test_the_bold_figure_is_the_time_of_the_chosen_mode(web_client) -> None:
    for mode, phrase, other in (("drive", "en voiture", "à pied"), ("walk", "à pied", "en voiture")):
        page = html.unescape(web_client.get(f"/?q=Vitre&commune=35360&mode={mode}").get_data(as_text=True))
        results = _results(page)
        assert len(results) == 10
        for item in results:
            bold = re.search(r'<p class="meta"><span class="time-\w+"><strong>([^<]*)</strong>', item).group(1)
            assert bold.endswith(phrase), (mode, bold)
            assert f"<strong>{other}" not in item and not re.search(rf"<strong>[^<]*{other}</strong>", item)


def test_results_say_what_the_place_does_in_plain_words(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Saint-Brieuc").get_data(as_text=True))
    assert "Lieux les plus proches de Saint-Brieuc" in page
    assert "Missions :" not in page and "Publics :" not in page  # jargon of the old page
    assert "Ce qu'on y fait : " in page and "Pour qui : " in page
    assert "(APE/" not in page.split('id="reseau-titre"')[0]  # internal codes out of the results
    assert "Pour trouver un emploi ou une formation" in page  # France Travail's description
    assert "réseau « " not in page  # the network's internal name stays on the planners' pages


def test_contacts_are_links_and_no_directions_link_leaks_the_address(web_client) -> None:
    page = web_client.get("/?q=Vitre&commune=35360").get_data(as_text=True)
    assert re.search(r'href="tel:\+33[0-9]{9}"', page)
    assert re.search(r'href="mailto:[^"@]+@[^"]+"', page)
    assert re.search(r'href="https?://[^"]+" rel="noopener noreferrer"', page)
    for host in ("google.", "openstreetmap.org/directions", "waze", "maps.apple"):
        assert host not in page


def test_unknown_hours_say_call_before_when_a_day_is_chosen(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Vitre&commune=35360&jour=samedi").get_data(as_text=True))
    unknown = [item for item in _results(page) if '<dl class="hours">' not in item]
    assert unknown and all("Horaires non renseignés — appelez avant" in item for item in unknown)


def test_times_say_where_they_start(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Vitre&commune=35360").get_data(as_text=True))
    assert "Les temps de trajet partent du centre de votre commune (Vitré)." in page
    page = html.unescape(web_client.get("/?lat=48.1113&lon=-1.68").get_data(as_text=True))
    assert "partent du centre de la commune, pas de votre position" in re.sub(r"</?strong>", "", page)


def test_sector_types_are_named_with_a_link_to_why(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Vitre&commune=35360&limit=10").get_data(as_text=True))
    assert "accueille en priorité les\n    habitants de son secteur" in page or "habitants de son secteur" in page
    assert 'href="/a-propos#secteur"' in page
    about = html.unescape(web_client.get("/a-propos").get_data(as_text=True))
    assert "Aucune des sources chargées ne donne ces secteurs" in about
    assert "réseau « " not in about and "à partir de la distance à vol d'oiseau, sans plan des routes" in about
    assert "commune voisine" not in about  # the former adjacency model, gone


@pytest.mark.parametrize("ferry", [True, False])
def test_a_boat_crossing_is_named_beside_the_time(web_app, ferry: bool) -> None:
    """Room for the road-times issue: a result with ``ferry`` says « dont traversée en bateau »."""
    with web_app.test_request_context("/"):
        template = web_app.jinja_env.from_string(
            '{% from "public/place.html" import place %}{{ place(s, {"drive": 3600, "walk": 7200}, "drive") }}'
        )
        place = {
            "display_name": "CIO",
            "partner_label": "CIO",
            "itinerant": False,
            "lat": 48.0,
            "lon": -4.8,
            "time_s": 2700.0,
            "other_s": None,
            "distance_m": 9000,
            "ferry": ferry,
            "missions_plain": [],
            "publics_plain": [],
            "opening_hours": [],
        }
        rendered = template.render(s=place)
    assert ("dont traversée en bateau" in rendered) is ferry
    assert "<strong>45 min en voiture</strong>" in rendered
