"""One CSV neutraliser (``geo.csvsafe``) for every CSV the project writes: ``atlas export
--format csv`` and the web downloads, tested on hostile names (real PostGIS, real CLI)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from geo.csvsafe import is_risky, neutralise
from storage import db
from tests.conftest import atlas

HOSTILE = (
    "=1+1",
    "+SUM(A1:A9)",
    "-2+3",
    "@SUM(A1)",
    '\t=HYPERLINK("http://x")',
    "\r=1",
    "\n=1",
    "  =cmd|' /C calc'!A0",
    "\x0b=1",
    "\u00a0=1",
    "\u202e=1",
    "\u200b@x",
    "\ufeff+1",
    "\uff1d1+1",
)
HARMLESS = ("Mission locale", "-3.5", "+12", "-1,5", "Saint-Malo", "a=b", "", "'=1")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_neutralised(text: str) -> None:
    assert is_risky(text)
    assert neutralise(text) == "'" + text
    assert not is_risky(neutralise(text))


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_other_values_are_left_alone() -> None:
    assert neutralise(-3) == -3 and neutralise(None) is None and neutralise(2.5) == 2.5


def _cells(text: str, delimiter: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


@pytest.fixture
def hostile_copy(accessed_copy: str) -> str:
    """A pilot copy with times whose places and one commune carry hostile names."""
    with db.connect(accessed_copy) as conn:
        structure_ids = [
            r[0]
            for r in conn.execute("SELECT structure_id FROM structure ORDER BY structure_id LIMIT %s", (len(HOSTILE),))
        ]
        for sid, name in zip(structure_ids, HOSTILE, strict=True):
            conn.execute("UPDATE structure SET name = %s, address = %s WHERE structure_id = %s", (name, name, sid))
        conn.execute("UPDATE commune SET name = %s WHERE code = '35238'", ("\t=cmd|'/C calc'!A0",))
    return accessed_copy


def test_csv_export_neutralises_every_hostile_cell(hostile_copy: str, tmp_path: Path) -> None:
    result = atlas(hostile_copy, "export", str(tmp_path), "--format", "csv")
    assert result.returncode == 0, result.stderr
    cells = [cell for path in tmp_path.glob("*.csv") for cell in _cells(path.read_bytes().decode("utf-8-sig"), ";")]
    assert cells
    assert [c for c in cells if is_risky(c)] == []
    # The names are still there, shown as text.
    assert "'=1+1" in cells and "'\t=cmd|'/C calc'!A0" in cells


def test_web_csvs_neutralise_every_hostile_cell(hostile_copy: str) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": hostile_copy, "TESTING": True})
    try:
        with app.test_client() as client:
            for path in (
                "/api/structures?format=csv",
                "/api/access/communes?format=csv",
                "/api/indicators?format=csv",
            ):
                response = client.get(path)
                assert response.status_code == 200, path
                cells = _cells(response.get_data(as_text=True), ",")
                assert [c for c in cells if is_risky(c)] == [], path
            structures = _cells(client.get("/api/structures?format=csv").get_data(as_text=True), ",")
            assert "'\u202e=1" in structures and "'\uff1d1+1" in structures
            communes = _cells(client.get("/api/access/communes?format=csv").get_data(as_text=True), ",")
            assert "'\t=cmd|'/C calc'!A0" in communes
    finally:
        app.extensions["atlas_pool"].close()
