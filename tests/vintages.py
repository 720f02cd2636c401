"""The pilot's sources as they stood in a given year, from the vintages the rows carry.

Used by the snapshot tests to build two real states of the network (2019 and 2026) and
compare them; nothing is invented, rows are only selected:

- a row's year is the first year (19xx/20xx) of its ``millesime`` column, else of its
  source's ``vintage`` in the manifest (France services: 2024-08-01); a row without either
  is kept;
- a row is valid in year ``Y`` when its year is at most ``Y``;
- a valid row whose ``remplace_par`` names a row not valid in ``Y`` was the current record
  that year: its ``remplace_par`` is cleared (it is loaded);
- a source left without any valid row is left out of the manifest, with the
  ``[expected_sites]`` census of the partner types only it provided (the France services
  census of 2024 says nothing of 2019);
- ``extra`` site files (common schema) are added, filtered by the same rules: the 2019 DILA
  rows of the five CIO of Ille-et-Vilaine, which the pilot replaced by their 2023 rows
  (``tests/data/vintages/README.md``).
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_YEAR = re.compile(r"\b((?:19|20)\d{2})")


def row_year(millesime: str | None, source_vintage: str | None = None) -> int | None:
    """The year a source row is dated by (its ``millesime``, else its source's vintage).

    >>> row_year("2019 (export DILA ~2019-08, commit 2019-09-21)"), row_year("annuaire 2023-06")
    (2019, 2023)
    >>> row_year("", "2024-08-01"), row_year(None)
    (2024, None)
    """
    for text in (millesime, source_vintage):
        if text and (found := _YEAR.search(text)):
            return int(found.group(1))
    return None


def rows_valid_in(
    rows: Sequence[dict[str, str]], year: int, *, source_vintage: str | None = None
) -> list[dict[str, str]]:
    """The rows of one source file valid in ``year`` (rules of the module docstring)."""
    kept = [r for r in rows if (y := row_year(r.get("millesime"), source_vintage)) is None or y <= year]
    ids = {r.get("id") for r in kept}
    out = []
    for row in kept:
        if row.get("remplace_par") and row["remplace_par"] not in ids:
            row = {**row, "remplace_par": ""}
        out.append(row)
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _toml(manifest: dict[str, Any]) -> str:
    """The manifest's shape (top-level values, tables, arrays of tables) as TOML text."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in manifest.items() if not isinstance(v, dict | list)]
    for key, value in manifest.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in value.items())]
    for key, value in manifest.items():
        if isinstance(value, list):
            for entry in value:
                lines += ["", f"[[{key}]]", *(f"{k} = {_toml_value(v)}" for k, v in entry.items())]
    return "\n".join(lines) + "\n"


def sources_as_of(data_dir: Path, year: int, out_dir: Path, *, extra: Sequence[tuple[str, Path]] = ()) -> Path:
    """Write to ``out_dir`` the Région sources of ``data_dir`` as they stood in ``year``:
    a manifest pointing at the unchanged files (absolute paths) and at filtered copies of
    the structure files; ``extra`` adds ``(dataset, path)`` site files. Returns ``out_dir``."""
    manifest = tomllib.loads((data_dir / "atlas.toml").read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "structures").mkdir(exist_ok=True)
    manifest["territories"] = {
        k: (str((data_dir / v).resolve()) if k not in {"vintage"} and isinstance(v, str) and "/" in v else v)
        for k, v in manifest["territories"].items()
    }
    manifest["partner_types"] = {
        **manifest["partner_types"],
        "file": str((data_dir / manifest["partner_types"]["file"]).resolve()),
    }
    entries = [
        *manifest.get("structures", []),
        *({"dataset": d, "format": "sites", "file": str(p.resolve())} for d, p in extra),
    ]
    kept_entries, kept_types, dropped_types = [], set(), set()
    for entry in entries:
        source = (data_dir / entry["file"]).resolve()
        with source.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
        valid = rows_valid_in(rows, year, source_vintage=str(entry.get("vintage") or "") or None)
        types = {r.get("type") or entry["dataset"] for r in rows}
        if not valid:
            dropped_types |= types
            continue
        kept_types |= {r.get("type") or entry["dataset"] for r in valid}
        target = out_dir / "structures" / source.name
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(valid)
        kept_entries.append({**entry, "file": str(target)})
    manifest["structures"] = kept_entries
    expected = manifest.get("expected_sites") or {}
    manifest["expected_sites"] = {k: v for k, v in expected.items() if not (k in dropped_types and k not in kept_types)}
    (out_dir / "atlas.toml").write_text(_toml(manifest), encoding="utf-8")
    return out_dir
