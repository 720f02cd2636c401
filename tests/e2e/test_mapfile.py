"""The shareable map file (``atlas map``) in headless Debian Chromium, opened from disk as a
commission member would: nothing fetched, names shown as text (never run), controls usable
with the keyboard, and no serious or critical axe-core violation (WCAG 2.1 A/AA)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyproj import Transformer

from geo.mapfile import LeafletAssets, build_map_file
from tests.e2e.conftest import serious_axe_violations
from tests.map_fixtures import CRS, HOSTILE, X0, Y0, synthetic_layers
from webapp.mapfile import LEAFLET_DIR


@pytest.fixture(scope="module")
def map_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = build_map_file(
        synthetic_layers(),
        title="Carte de test <b>",
        leaflet=LeafletAssets.from_dir(LEAFLET_DIR),
        mode_phrase="en voiture",
        note="Données synthétiques.",
    )
    path = tmp_path_factory.mktemp("carte") / "carte.html"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def offline_page(browser):
    """A page in a context that refuses every network request (as when offline)."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _container_point(page, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of the projected point (x, y) (EPSG:2154) on the Leaflet map."""
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    point = page.evaluate(
        """([lat, lon]) => {
            const id = document.querySelector('.folium-map').id;
            const p = window[id].latLngToContainerPoint([lat, lon]);
            const box = document.getElementById(id).getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [lat, lon],
    )
    return point[0], point[1]


def test_the_map_file_fetches_nothing_and_shows_names_as_text(offline_page, map_path: Path) -> None:
    page = offline_page
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(map_path.as_uri())
    page.wait_for_selector(".leaflet-overlay-pane path")
    assert errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.title() == "Carte de test <b>"
    assert page.locator("h1").inner_text() == "Carte de test <b>"

    # The hostile place (a point) and the hostile commune (around it): tooltips are text.
    # (the marker may be drawn after the commune under it: hover again until its tooltip shows)
    place_text = f"{HOSTILE} (France services)"
    tooltip = page.locator(".leaflet-tooltip")
    for _attempt in range(10):
        page.mouse.move(*_container_point(page, X0 + 1_000, Y0 + 4_000))
        page.mouse.move(*_container_point(page, X0 + 2_500, Y0 + 2_500))
        tooltip.first.wait_for()
        if tooltip.first.text_content() == place_text:
            break
        page.wait_for_timeout(200)
    assert tooltip.first.text_content() == place_text
    assert tooltip.locator("img, script").count() == 0
    page.mouse.move(*_container_point(page, X0 + 1_000, Y0 + 4_000))
    page.wait_for_function("(document.querySelector('.leaflet-tooltip')?.textContent || '').includes(' — ')")
    text = page.locator(".leaflet-tooltip").text_content() or ""
    assert text.startswith(f"{HOSTILE} — Tout lieu du SPRO : ")
    assert page.locator("img[src=x], .leaflet-tooltip img").count() == 0
    assert dialogs == []
    # The layer control names the layers in words; the table gives the same figures.
    names = [n.replace("\u00a0", " ") for n in page.locator(".leaflet-control-layers label").all_inner_texts()]
    assert any("Temps : Mission : conseil (inventaire incomplet)" in n for n in names)
    assert any("Zones blanches" in n for n in names)
    assert page.locator("#tableau-communes").count() == 1
    assert page.locator("table th[scope=row]").first.text_content() == f"{HOSTILE} (35000)"
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []


def test_the_map_file_is_usable_with_the_keyboard(offline_page, map_path: Path) -> None:
    page = offline_page
    page.goto(map_path.as_uri())
    page.wait_for_selector(".leaflet-overlay-pane path")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                """() => { const e = document.activeElement;
                   if (e.matches('.leaflet-control-zoom-in')) return 'zoom';
                   if (e.matches('.leaflet-control-layers input')) return 'layers';
                   if (e.matches('.leaflet-container')) return 'map';
                   if (e.matches('summary')) return 'table';
                   return e.tagName; }"""
            )
        )
    assert {"zoom", "layers", "map", "table"} <= reached
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom avant"
    # A radio button switches the mission shown.
    radio = page.locator(".leaflet-control-layers-base input").nth(3)
    radio.focus()
    page.keyboard.press("Space")
    assert radio.is_checked()


def test_axe_finds_no_serious_or_critical_violation_in_the_map_file(offline_page, map_path: Path) -> None:
    page = offline_page
    page.goto(map_path.as_uri())
    page.wait_for_selector(".leaflet-overlay-pane path")
    serious = serious_axe_violations(page)
    assert serious == [], json.dumps(serious, ensure_ascii=False, indent=1)


def test_the_downloaded_map_file_opens_offline_without_running_names(
    offline_page, live_server: str, tmp_path: Path
) -> None:
    """The file /carte offers (pilot data with a place named like an XSS payload)."""
    from urllib.request import urlopen

    with urlopen(live_server + "/carte/carte-atlas-spro.html", timeout=120) as response:  # the app on loopback
        assert response.headers["Content-Disposition"] == 'attachment; filename="carte-atlas-spro.html"'
        path = tmp_path / "carte-atlas-spro.html"
        path.write_bytes(response.read())
    page = offline_page
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-overlay-pane path")
    page.locator(".leaflet-control-layers-base input").nth(2).check()
    page.wait_for_timeout(300)
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
    assert dialogs == [] and page.locator("img[src=x]").count() == 0
    assert page.locator("#tableau-communes").count() == 1
