"""End to end in headless Debian Chromium: search, results, the planners' map, keyboard,
escaping of a malicious name, no third-party request, and axe-core (WCAG 2.1 A/AA) with
no serious or critical violation.

Run by ``pytest tests/e2e`` (CI included: ``scripts/ensure-browser.sh`` installs chromium).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import serious_axe_violations
from tests.web_fixtures import MALICIOUS_ID, MALICIOUS_NAME

expect = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is missing").expect


def _record_dialogs(page) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def test_search_a_commune_and_read_the_results(page, live_server: str) -> None:
    dialogs = _record_dialogs(page)
    page.goto(live_server + "/")
    page.get_by_label("Commune ou code postal").fill("vitre")
    page.get_by_role("button", name="Rechercher").click()
    choice = page.get_by_role("link", name="Vitré", exact=True)
    if choice.count():
        choice.click()
    expect(page.get_by_role("heading", name="Lieux les plus proches de Vitré")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^10 lieux proches de Vitré, en voiture"))
    expect(page.get_by_role("status").filter(has_text="10 lieux trouvés")).to_be_visible()
    results = page.locator("ol.results > li.result")
    expect(results).to_have_count(10)
    assert "en voiture" in results.first.locator(".meta").inner_text()
    expect(page.locator(".tag-approx").first).to_be_visible()
    expect(page.get_by_text("Temps en voiture approximatifs", exact=False)).to_be_visible()
    names = page.locator(".result-name").all_text_contents()
    assert MALICIOUS_NAME in names  # shown as text, exactly
    # The map repeats the list: one focusable marker per place; Enter opens its popup.
    markers = page.locator("#carte-resultats .rank-marker")
    expect(markers).to_have_count(10)
    rank = names.index(MALICIOUS_NAME)
    markers.nth(rank).focus()
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content h3")
    expect(popup).to_have_text(f"{rank + 1}. {MALICIOUS_NAME}")
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script").count() == 0
    assert dialogs == []


def test_results_work_without_javascript(browser, live_server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/?q=ploermel&mission=conseil")
        expect(page.get_by_role("heading", name="Lieux les plus proches de Ploërmel")).to_be_visible()
        assert page.locator("ol.results > li.result").count() > 0
        expect(page.get_by_text("La carte s'affiche avec JavaScript")).to_be_visible()
        expect(page.get_by_role("button", name="Utiliser ma position")).to_be_hidden()
    finally:
        context.close()


def test_planners_map_layers_and_commune_click(page, live_server: str) -> None:
    dialogs = _record_dialogs(page)
    page.goto(live_server + "/carte")
    communes = page.locator("path.commune")
    expect(communes).to_have_count(1202)
    places = page.locator("path.structure")
    expect(places).to_have_count(309)
    # Places without public reception (France Travail's DR Bretagne and DT 56, the ARML, the
    # Agefiph delegation) are drawn apart, and can be hidden.
    expect(page.locator("path.structure-sans-accueil")).to_have_count(4)
    page.get_by_label("Lieux sans accueil du public", exact=False).uncheck()
    expect(places).to_have_count(305)
    page.get_by_label("Lieux sans accueil du public", exact=False).check()
    expect(places).to_have_count(309)
    # Toggle layers: places off, isochrones on.
    page.get_by_label("Afficher les lieux").uncheck()
    expect(places).to_have_count(0)
    page.get_by_label("Zones atteintes depuis chaque lieu").check()
    expect(page.locator("path.isochrone").first).to_be_attached()
    # Click a commune: its figures appear beside the map, as a table.
    page.locator("path.commune-35238").click()
    panel = page.locator("#infos-commune-contenu")
    expect(panel.locator("h3")).to_have_text("Rennes (35238)")
    expect(panel.locator("caption")).to_contain_text("Rennes")
    expect(panel).to_contain_text("temps approximatifs")
    # Change the category: the choropleth and the export links follow.
    page.get_by_label("Lieux recherchés").select_option("mission:conseil")
    expect(page.locator("#export-temps-csv")).to_have_attribute("href", re.compile("category=mission%3Aconseil"))
    # A malicious place name in a popup is text, never markup.
    page.get_by_label("Zones atteintes depuis chaque lieu").uncheck()
    page.get_by_label("Colorer les communes selon le temps d'accès").uncheck()
    for box in page.locator('input[name="type"]').all():
        if box.get_attribute("value") != "france_services":
            box.uncheck()
    page.get_by_label("Afficher les lieux").check()
    target = page.locator(f'path[data-structure-id="{MALICIOUS_ID}"]')
    expect(target).to_have_count(1)
    target.click()
    expect(page.locator(".leaflet-popup-content h3")).to_have_text(MALICIOUS_NAME)
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script").count() == 0
    assert dialogs == []


def test_keyboard_skip_link_and_no_trap_in_the_map(page, live_server: str) -> None:
    page.goto(live_server + "/carte")
    expect(page.locator("path.commune").first).to_be_attached()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
    page.locator("#carte").focus()
    assert page.evaluate("document.activeElement.id") == "carte"
    for _ in range(6):
        page.keyboard.press("Tab")
        if not page.evaluate("document.getElementById('carte').contains(document.activeElement)"):
            break
    assert not page.evaluate("document.getElementById('carte').contains(document.activeElement)")


def _wait_ready(page, path: str) -> None:
    if path.startswith("/carte"):
        expect(page.locator("path.commune")).to_have_count(1202)
        expect(page.locator("path.structure").first).to_be_attached()
    if "commune=" in path:
        expect(page.locator("#carte-resultats .rank-marker").first).to_be_attached()


PAGES = (
    "/",
    "/?q=Vitre&commune=35360",
    "/?q=Vitre&commune=35360&jour=samedi&mode=walk",  # unknown hours, walking times
    "/?q=35160",  # chooser
    "/?q=Plou",  # chooser cut, « affinez »
    "/?q=Renes",  # did you mean
    "/?q=zzzzqq",  # no commune
    "/?q=Pontivy&mode=bike",  # error 400
    "/?lat=48.1113&lon=-1.68",  # a position
    "/a-propos",
    "/carte",
    "/diagnostic",
    "/diagnostic/rapport/2026",
)


@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_serious_or_critical_violation(axe_page, live_server: str, path: str) -> None:
    axe_page.goto(live_server + path)
    _wait_ready(axe_page, path)
    serious = serious_axe_violations(axe_page)
    assert serious == [], json.dumps(serious, ensure_ascii=False, indent=1)


def test_no_request_leaves_the_server(page, live_server: str) -> None:
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc or request.url[:5]))
    for path in ("/?q=Vitre&commune=35360", "/carte", "/diagnostic", "/a-propos"):
        page.goto(live_server + path)
        _wait_ready(page, path)
    own = urlsplit(live_server).netloc
    assert hosts - {own, "data:"} == set()
    cookies = page.context.cookies()
    assert cookies == []


def test_keyboard_only_search_chooser_results_details(page, live_server: str) -> None:
    """Search, choose a commune, land on the results heading, open a place's hours: keys only."""
    page.goto(live_server + "/")
    for _ in range(40):  # Tab to the search field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("22100")
    page.keyboard.press("Enter")  # submits the form
    expect(page).to_have_title("Recherche « 22100 » : 14 communes – Atlas SPRO")
    expect(page.locator("#reponse")).to_be_focused()  # focus moved to the answer (waits for the script)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Dinan"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Lieux les plus proches de Dinan")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^10 lieux proches de Dinan, en voiture"))
    expect(page.locator("#reponse")).to_be_focused()
    # The heading is in view at 1280 x 900 (the form targets #reponse), not below the fold.
    top = page.evaluate("document.getElementById('reponse').getBoundingClientRect().top")
    assert -5 <= top < 900
    for _ in range(60):  # Tab on to the first « Horaires » or contact link of the results
        page.keyboard.press("Tab")
        if page.evaluate("!!document.activeElement.closest('li.result')"):
            break
    assert page.evaluate("!!document.activeElement.closest('li.result')")
    focused = page.evaluate("document.activeElement.tagName")
    if focused == "SUMMARY":
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.parentElement.open")


NARROW_PAGES = (
    "/",
    "/?q=Vitre&commune=35360",
    "/?q=22100",
    "/?q=Renes",
    "/?q=Lamballe+Terre+et+Mer",
    "/?q=zzzzqq",
    "/?q=Pontivy&mode=bike",
    "/a-propos",
    "/carte",
    "/diagnostic",
    "/diagnostic/rapport/2026",
    "/api/docs",
)


WIDER_THAN_SCREEN_JS = """width => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= width + 1 || r.width === 0) continue;
    let parent = el.parentElement, clipped = false;
    for (; parent; parent = parent.parentElement) {
      if (getComputedStyle(parent).overflowX !== 'visible' && parent.getBoundingClientRect().right <= width + 1) {
        clipped = true; break;
      }
    }
    if (!clipped) out.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(r.right)}`);
  }
  return out.slice(0, 8);
}"""
"""The elements sticking out of the screen (for the failure message)."""


@pytest.mark.parametrize("width", [320, 390])
def test_no_horizontal_scroll_on_a_small_screen(browser, live_server: str, width: int) -> None:
    context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        wide = {}
        for path in NARROW_PAGES:
            page.goto(live_server + path)
            _wait_ready(page, path)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                wide[path] = (scroll, page.evaluate(WIDER_THAN_SCREEN_JS, width))
        assert wide == {}, wide
    finally:
        context.close()
