"""End-to-end fixtures: the application on a real HTTP server (werkzeug, 127.0.0.1, random
port) and headless Debian Chromium driven by Playwright's Python package.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``, which
``scripts/ensure-browser.sh`` installs. Without it the tests are skipped with that reason.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.web_fixtures import web_db  # noqa: F401

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def serious_axe_violations(page) -> list[dict]:
    """axe-core (WCAG 2.1 A/AA) run on ``page``: its serious and critical violations, with
    the first five nodes of each (empty when the page passes)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


class QuietHandler(WSGIRequestHandler):
    """No request log: searched places and coordinates are never written anywhere."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@pytest.fixture(scope="session")
def live_server(web_db: str) -> Iterator[str]:
    """Base URL of the application served on 127.0.0.1 (random port) in a thread. The rate
    limit is off: every browser test comes from 127.0.0.1 and /carte alone downloads several
    large layers (the limit has its own tests in tests/test_security.py and test_layers.py)."""
    from webapp import create_app

    app = create_app({"DATABASE_URL": web_db, "RATELIMIT_API": "off"})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="atlas-e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["atlas_pool"].close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian package), shared by the session."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (run scripts/ensure-browser.sh)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright's Python package is missing (pip install -r requirements.txt)"
    )
    playwright = sync_api.sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-dev-shm-usage",
        ],
    )
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def page(browser):
    """A fresh page (own context: no cookie or cache shared between tests), French locale."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def axe_page(browser):
    """A page whose CSP is bypassed so that axe-core can be injected as an inline script."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
