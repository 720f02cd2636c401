"""Atomic publication (``storage.publish``): a reader of the public pages sees either the
previous complete state (inventory, times, white zones) or the new one, never a mix or a
state without times, whatever command runs (real PostGIS, real CLI, Flask test client)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from settings import PROJECT_ROOT
from storage import db
from tests.conftest import PILOT_DIR, atlas, snapshot

ANDORRA = Path(__file__).parent / "data" / "andorra.osm.pbf"
COMMUNE = "35238"  # Rennes


def scalar(url: str, query: str) -> Any:
    with db.connect(url) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return row[0]


def published(url: str) -> tuple[int, int, int, int]:
    """Rows of times, per-commune access, white zones and the publication counter."""
    return (
        scalar(url, "SELECT count(*) FROM commune_structure_time"),
        scalar(url, "SELECT count(*) FROM commune_access"),
        scalar(url, "SELECT count(*) FROM gap"),
        scalar(url, "SELECT version FROM publication"),
    )


@pytest.fixture
def gapped_copy(accessed_copy: str) -> str:
    """A private copy of the pilot with times of both modes and white zones (drive 20 min)."""
    result = atlas(accessed_copy, "gaps", "--drive-minutes", "20")
    assert result.returncode == 0, result.stderr
    return accessed_copy


def test_each_command_publishes_times_and_white_zones_together(gapped_copy: str) -> None:
    times, access, gaps, version = published(gapped_copy)
    assert times and access and gaps
    # atlas load used to delete every time and white zone until atlas access and atlas gaps ran.
    result = atlas(gapped_copy, "load", "--data", str(PILOT_DIR))
    assert result.returncode == 0, result.stderr
    assert "recalculés dans la même transaction" in result.stderr
    assert published(gapped_copy) == (times, access, gaps, version + 1)
    # The threshold of the white zones is kept (20 min by car, not the default 30).
    assert (
        scalar(gapped_copy, "SELECT DISTINCT threshold_s FROM gap WHERE kind = 'white_zone' AND mode = 'drive'") == 1200
    )
    # atlas access used to empty the white zones (ON DELETE CASCADE from access_run).
    result = atlas(gapped_copy, "access", "--mode", "drive", "--no-isochrones")
    assert result.returncode == 0, result.stderr
    assert published(gapped_copy)[2] == gaps
    # atlas gaps publishes both modes at once.
    result = atlas(gapped_copy, "gaps")
    assert result.returncode == 0, result.stderr
    assert published(gapped_copy)[3] == version + 3


def test_a_failed_refresh_leaves_the_published_state_untouched(gapped_copy: str) -> None:
    """The Andorra extract serves none of Bretagne: refused after the load and inside the same
    transaction, so the load is rolled back too."""
    before = snapshot(gapped_copy)
    result = atlas(gapped_copy, "refresh", "--data", str(PILOT_DIR), "--osm", str(ANDORRA))
    assert result.returncode == 2, result.stderr
    assert "n'a pas changé" in result.stderr
    assert snapshot(gapped_copy) == before


def _answers(client: Any) -> tuple[Any, ...]:
    """What the public sees of one commune: the ranked places with their times, the times per
    mode and category, and the white zones; ``None`` parts are incomplete answers."""
    nearest = client.get(f"/api/nearest?commune={COMMUNE}&mode=drive&limit=5")
    access = client.get(f"/api/communes/{COMMUNE}/access")
    white = client.get("/api/gaps?kind=white_zone&mode=drive&category=any&format=csv")
    assert (nearest.status_code, access.status_code, white.status_code) == (200, 200, 200)
    body = nearest.get_json()
    ranked = (
        tuple((r["structure_id"], r["drive_seconds"]) for r in body["results"]) if body["times_available"] else None
    )
    modes = access.get_json()["modes"]
    times = (
        tuple((m, c["category"], c["seconds"]) for m in sorted(modes) for c in modes[m]["categories"])
        if set(modes) == {"drive", "walk"} and all(modes[m]["categories"] for m in modes)
        else None
    )
    lines = white.get_data(as_text=True).strip().splitlines()
    return ranked, times, len(lines) - 1 if len(lines) > 1 else None


def test_readers_see_old_or_new_complete_during_a_refresh(gapped_copy: str) -> None:
    from webapp import create_app

    app = create_app(
        {
            "DATABASE_URL": gapped_copy,
            "TESTING": True,
            "RESULT_CACHE_SIZE": 0,
            "CACHE_CHECK_S": 0.0,
            "CACHE_WARM": False,
        }
    )
    seen: list[tuple[Any, ...]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            with app.test_client() as client:
                while not stop.is_set():
                    seen.append(_answers(client))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with app.test_client() as client:
        before = _answers(client)
    assert None not in before
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        result = atlas(gapped_copy, "refresh", "--data", str(PILOT_DIR))
    finally:
        stop.set()
        reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert not errors, errors
    with app.test_client() as client:
        after = _answers(client)
    app.extensions["atlas_pool"].close()
    assert None not in after
    assert len(seen) >= 5, "the reader did not run during the refresh"
    incomplete = [answer for answer in seen if answer not in (before, after)]
    assert incomplete == [], f"{len(incomplete)} of {len(seen)} answers were neither old nor new"


def test_writers_never_truncate() -> None:
    """TRUNCATE takes an ACCESS EXCLUSIVE lock: readers would wait for the whole refresh."""
    sources = [*PROJECT_ROOT.glob("storage/*.py"), *PROJECT_ROOT.glob("scripts/*.py")]
    # A statement starting with TRUNCATE (the word may appear in prose, as in storage/publish.py).
    statement = re.compile(r"""["'(]\s*TRUNCATE\b""", re.IGNORECASE)
    offenders = [p.name for p in sources if statement.search(p.read_text())]
    assert offenders == []
