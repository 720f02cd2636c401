"""The forgiving commune search (issue 14): one normalisation rule, three levels, no hidden candidate.

Real mistypings of the pilot's communes, as the public types them: those reported in the
issue and more. The rule is :func:`geo.names.search_key`; the database stores the keys the
loader computed with it, and :func:`storage.read.search_communes` compares them.
"""

from __future__ import annotations

import html
import re

import pytest

from geo.names import compact_key, epci_short_name, like_escape, search_key, searchable_names, split_query
from storage import db, read
from tests.web_fixtures import web_app, web_client, web_db  # noqa: F401 - fixtures

# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("Saint Malo", "Saint-Malo"),
        ("St Malo", "Saint-Malo"),
        ("ST-MALO", "Saint-Malo"),
        ("S. Malo", "Saint-Malo"),
        ("St. Malo", "Saint-Malo"),
        ("saint brieuc", "Saint-Brieuc"),
        ("Ste Anne d'Auray", "Sainte-Anne-d'Auray"),
        ("Ste. Anne d’Auray", "Sainte-Anne-d'Auray"),
        ("Pont l'Abbe", "Pont-l'Abbé"),
        ("ile de sein", "Île-de-Sein"),
        ("  PLOËRMEL  ", "Ploërmel"),
        ("Perros Guirec", "Perros-Guirec"),
        ("Chateau Giron", "Châteaugiron"),
        ("Pont labbe", "Pont-l'Abbé"),
    ],
)
def test_spellings_that_mean_the_same_commune_share_one_compact_key(typed: str, official: str) -> None:
    assert compact_key(typed) == compact_key(official)


def test_search_key_words_and_what_it_leaves_out() -> None:
    assert search_key("Saint-Malo-de-Phily") == "saint malo de phily"
    assert search_key("Plourac'h") == "plourac h"
    assert search_key("Œuilly") == "oeuilly"
    assert search_key("%_\\") == ""  # nothing of a wildcard survives
    # « st » only as a whole word: Stival, Ste-… never touched inside a word.
    assert search_key("Stival") == "stival" and search_key("Kerstéphan") == "kerstephan"
    assert search_key("S Malo") == "s malo"  # a bare « S » without its dot is not an abbreviation
    assert like_escape("50%_\\") == "50\\%\\_\\\\"


def test_epci_names_are_searchable_with_and_without_their_legal_form() -> None:
    assert epci_short_name("CA Lamballe Terre et Mer") == "lamballe terre et mer"
    assert epci_short_name("CC de l'Oust à Brocéliande") == "de l oust a broceliande"
    assert epci_short_name("Rennes Métropole") is None
    rows = list(
        searchable_names(
            [{"code": "22093", "name": "Lamballe-Armor", "epci": "200069391"}],
            [("22093", "Lamballe"), ("22093", "Lamballe-Armor")],  # a delegated name equal to its commune's
            [("200069391", "CA Lamballe Terre et Mer")],
        )
    )
    assert [(kind, key) for _code, kind, _name, key, _compact in rows] == [
        ("commune", "lamballe armor"),
        ("deleguee", "lamballe"),
        ("epci", "ca lamballe terre et mer"),
        ("epci", "lamballe terre et mer"),
    ]
    assert all(compact == key.replace(" ", "") for *_rest, key, compact in rows)


def test_a_postcode_or_departement_typed_with_the_name_is_split_off() -> None:
    assert split_query("Quimper 29000") == ("Quimper", "29000", None)
    assert split_query("29000 Quimper") == ("Quimper", "29000", None)
    assert split_query("Brest, 29200") == ("Brest", "29200", None)
    assert split_query("Plouhinec (56)") == ("Plouhinec", None, "56")
    assert split_query("Saint-Brieuc 22") == ("Saint-Brieuc", None, "22")
    assert split_query("Rennes Cedex 9") == ("Rennes", None, None)
    assert split_query("22100") == ("22100", None, None)  # a postcode alone is searched as such
    assert split_query("Rennes") == ("Rennes", None, None)


# --------------------------------------------------------------------------- on the pilot

OPENS = [
    # (typed, the one commune it names, how)
    ("Saint Malo", "Saint-Malo", "exact"),
    ("St Malo", "Saint-Malo", "exact"),
    ("saint brieuc", "Saint-Brieuc", "exact"),
    ("S. Brieuc", "Saint-Brieuc", "exact"),
    ("Perros Guirec", "Perros-Guirec", "exact"),
    ("Lamballe Armor", "Lamballe-Armor", "exact"),
    ("ile de sein", "Île-de-Sein", "exact"),
    ("Pont l'Abbé", "Pont-l'Abbé", "exact"),
    ("Quimper", "Quimper", "exact"),
    ("Saint-Malo", "Saint-Malo", "exact"),
    ("ploermel", "Ploërmel", "exact"),
    ("Chateau Giron", "Châteaugiron", "exact"),
    ("ST GREGOIRE", "Saint-Grégoire", "exact"),
    ("Ste Anne d'Auray", "Sainte-Anne-d'Auray", "exact"),
    ("St Pol de Leon", "Saint-Pol-de-Léon", "exact"),
    ("Lamballe", "Lamballe-Armor", "exact"),  # a commune déléguée
    ("binic", "Binic-Étables-sur-Mer", "exact"),  # a commune déléguée
    ("Bréhat", "Île-de-Bréhat", "prefix"),  # the only name with a word starting so
    ("Lorien", "Lorient", "prefix"),
    ("Hennebon", "Hennebont", "prefix"),
    ("plougastel", "Plougastel-Daoulas", "prefix"),
]


@pytest.mark.parametrize(("typed", "commune", "level"), OPENS)
def test_a_query_naming_one_commune_finds_only_it(pilot_db: str, typed: str, commune: str, level: str) -> None:
    with db.connect(pilot_db) as conn:
        found = read.search_communes(conn, typed)
    assert found["level"] == level and found["total"] == 1
    assert [c["name"] for c in found["communes"]] == [commune]


def test_homonyms_are_told_apart_by_postcode_or_departement(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        both = read.search_communes(conn, "Plouhinec")
        morbihan = read.search_communes(conn, "Plouhinec (56)")
        finistere = read.search_communes(conn, "plouhinec 29780")
        wrong = read.search_communes(conn, "Quimper 29200")  # Quimper is 29000: the name alone then
        cedex = read.search_communes(conn, "RENNES CEDEX 9")
    assert both["total"] == 2 and {c["departement"] for c in both["communes"]} == {"29", "56"}
    assert [c["departement"] for c in morbihan["communes"]] == ["56"]
    assert [c["departement"] for c in finistere["communes"]] == ["29"]
    assert [c["name"] for c in wrong["communes"]] == ["Quimper"]
    assert [c["name"] for c in cedex["communes"]] == ["Rennes"]


MISTYPED = [
    # (typed, the commune meant, which comes first among the similar names)
    ("Renes", "Rennes"),
    ("Quimpr", "Quimper"),
    ("Vanes", "Vannes"),
    ("Landernau", "Landerneau"),
    ("Concarnau", "Concarneau"),
    ("Douarnenz", "Douarnenez"),
    ("Saint Brieux", "Saint-Brieuc"),
    ("Guingamps", "Guingamp"),
    ("Pontivi", "Pontivy"),
    ("Dinnan", "Dinan"),
    ("Lanion", "Lannion"),
    ("Sain Malo", "Saint-Malo"),
]


@pytest.mark.parametrize(("typed", "meant"), MISTYPED)
def test_a_typo_proposes_the_closest_names_first(pilot_db: str, typed: str, meant: str) -> None:
    with db.connect(pilot_db) as conn:
        found = read.search_communes(conn, typed)
    assert found["level"] == "similar"
    assert found["communes"][0]["name"] == meant
    assert 1 <= found["total"] == len(found["communes"]) <= read.SIMILAR_MAX


def test_renes_no_longer_opens_a_commune_containing_the_letters(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        found = read.search_communes(conn, "Renes")
    assert "La Prénessaye" not in [c["name"] for c in found["communes"]]


def test_prefixes_rank_whole_names_before_words_and_list_every_candidate(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        carhaix = read.search_communes(conn, "Carhaix")
        arz = read.search_communes(conn, "Arz")
        quimp = read.search_communes(conn, "quimp")
    assert [c["name"] for c in carhaix["communes"]] == ["Carhaix-Plouguer", "Maël-Carhaix"]
    assert {c["name"] for c in arz["communes"]} == {"Arzon", "Arzal", "Arzano", "Île-d'Arz"}
    assert arz["communes"][-1]["name"] == "Île-d'Arz"  # a word starting with it comes after
    # Communes' own names hide the EPCI whose name also starts so (Quimper Bretagne Occidentale).
    assert [c["name"] for c in quimp["communes"]] == ["Quimper", "Quimperlé"]


def test_postcodes_offer_every_commune_and_codes_find_theirs(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        dinan = read.search_communes(conn, "22100")
        insee = read.search_communes(conn, "35238")
        department = read.search_communes(conn, "29", limit=5)
        nothing = read.search_communes(conn, "99999")
    names = {c["name"] for c in dinan["communes"]}
    assert dinan["total"] == len(dinan["communes"]) == 14
    assert {"Aucaleuc", "Le Hinglé", "Calorguen", "Trévron", "Dinan"} <= names
    assert [c["name"] for c in insee["communes"]] == ["Rennes"] and insee["communes"][0]["matched_kind"] == "code"
    assert department["total"] == 277 and len(department["communes"]) == 5  # the total says what is cut
    assert nothing == {"level": None, "total": 0, "communes": [], "epci": None}


def test_epci_names_list_their_communes(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        ltm = read.search_communes(conn, "Lamballe Terre et Mer")
        metropole = read.search_communes(conn, "rennes metropole")
        rennes = read.search_communes(conn, "Rennes")
    assert ltm["level"] == "exact" and ltm["total"] == 38 and ltm["epci"] == "CA Lamballe Terre et Mer"
    assert {c["matched_kind"] for c in ltm["communes"]} == {"epci"}
    assert metropole["total"] == 43 and metropole["communes"][0]["name"] == "Rennes"  # most populous first
    assert [c["name"] for c in rennes["communes"]] == ["Rennes"]  # the commune, not its metropole
    assert rennes["epci"] is None


@pytest.mark.parametrize("typed", ["%", "_", "%%", "a%", "__", "\\", "'", "--"])
def test_wildcards_match_nothing_by_themselves(pilot_db: str, typed: str) -> None:
    with db.connect(pilot_db) as conn:
        found = read.search_communes(conn, typed)
    assert found["total"] == 0 and found["communes"] == []


def test_wildcards_inside_a_name_are_ignored_like_punctuation(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        assert [c["name"] for c in read.search_communes(conn, "Saint_Malo")["communes"]] == ["Saint-Malo"]
        assert [c["name"] for c in read.search_communes(conn, "Saint%Malo")["communes"]] == ["Saint-Malo"]
        assert read.search_communes(conn, "Qu%per")["level"] != "prefix"  # % is no wildcard


def test_the_stored_keys_are_those_of_the_python_rule(pilot_db: str) -> None:
    with db.connect(pilot_db) as conn:
        rows = conn.execute("SELECT name, key, compact FROM commune_name").fetchall()
        kinds = dict(conn.execute("SELECT kind, count(*) FROM commune_name GROUP BY kind").fetchall())
    assert rows and all(key == search_key(name) or kind_is_short(name, key) for name, key, _ in rows)
    assert all(compact == key.replace(" ", "") for _, key, compact in rows)
    assert kinds["commune"] == 1202 and kinds["deleguee"] >= 50 and kinds["epci"] >= 1202


def kind_is_short(name: str, key: str) -> bool:
    """An EPCI's second key is its name without the legal form."""
    return epci_short_name(name) == key


# --------------------------------------------------------------------------- the pages


def _title(page: str) -> str:
    return html.unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip())


def test_exact_name_opens_results_and_offers_the_others(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Quimper").get_data(as_text=True))
    assert _title(page).startswith("10 lieux proches de Quimper,")
    assert "Voir toutes les communes correspondant à « Quimper »" in page
    chooser = html.unescape(web_client.get("/?q=Quimper&choix=1").get_data(as_text=True))
    assert "Communes correspondant à « Quimper »" in chooser and "1 commune trouvée" in chooser


def test_delegated_commune_opens_its_commune_and_says_so(web_client) -> None:
    page = html.unescape(web_client.get("/?q=lamballe").get_data(as_text=True))
    assert "Lieux les plus proches de Lamballe-Armor" in page
    assert "« Lamballe » fait partie de la commune de Lamballe-Armor." in page


def test_postcode_chooser_lists_all_fourteen_communes(web_client) -> None:
    page = html.unescape(web_client.get("/?q=22100").get_data(as_text=True))
    assert _title(page) == "Recherche « 22100 » : 14 communes – Atlas SPRO"
    assert "14 communes trouvées" in page
    for name in ("Aucaleuc", "Le Hinglé", "Calorguen", "Trévron"):
        assert f">{name}</a>" in page


def test_a_long_chooser_says_how_many_and_asks_to_refine(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Plou").get_data(as_text=True))
    total = int(re.search(r"(\d+) communes correspondent : les 50 premières", page).group(1))
    assert total > 50 and "Affinez votre recherche" in page
    assert _title(page) == f"Recherche « Plou » : {total} communes – Atlas SPRO"


def test_typo_offers_did_you_mean_and_nothing_says_so(web_client) -> None:
    page = html.unescape(web_client.get("/?q=Renes").get_data(as_text=True))
    assert "Vouliez-vous dire" in page and ">Rennes</a>" in page and "La Prénessaye" not in page
    none = html.unescape(web_client.get("/?q=zzzzqq").get_data(as_text=True))
    assert _title(none) == "Recherche « zzzzqq » : aucune commune – Atlas SPRO"
    assert "Aucune commune trouvée" in none


def test_answer_heading_takes_the_focus_and_the_form_targets_it(web_client) -> None:
    for url in ("/?q=Quimper", "/?q=22100", "/?q=zzzzqq"):
        page = web_client.get(url).get_data(as_text=True)
        assert re.search(r'<h2 id="reponse" tabindex="-1" data-focus-on-load>', page), url
        assert "js/focus-answer.js" in page
    home = web_client.get("/").get_data(as_text=True)
    assert 'action="/#reponse"' in home


def test_api_communes_says_level_and_total(web_client) -> None:
    data = web_client.get("/api/communes?q=St+Malo").get_json()
    assert data["level"] == "exact" and data["total"] == 1 and data["communes"][0]["name"] == "Saint-Malo"
    data = web_client.get("/api/communes?q=22100&limit=3").get_json()
    assert data["total"] == 14 and len(data["communes"]) == 3
    data = web_client.get("/api/communes?q=%25%25").get_json()
    assert data == {"communes": [], "level": None, "total": 0, "epci": None}
