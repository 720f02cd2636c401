"""The partner-type mapping: which missions and publics each type of place serves.

``data/partner-types.csv`` (documented in ``data/README-partner-types.md``) is data, not
code: a Région adds a partner type by adding a row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from geo.errors import DuplicateError, ValidationError
from geo.sources.tables import (
    blank_to_none,
    parse_bool,
    read_csv_table,
    require_columns,
    required_text,
    vocabulary_list,
)
from geo.vocabulary import MISSIONS, PUBLICS

PARTNER_TYPE_COLUMNS: tuple[str, ...] = ("partner_type", "label", "missions", "publics", "receives_public")
"""Required columns of the partner-type mapping (``description`` and ``reference`` are optional)."""

DEFAULT_PARTNER_TYPES = Path(__file__).resolve().parents[2] / "data" / "partner-types.csv"
"""The project's mapping, used when a Région's ``atlas.toml`` names none."""

_PARTNER_KEY = re.compile(r"[a-z][a-z0-9_]*")


def read_partner_types(path: str | Path) -> pd.DataFrame:
    """Read the mapping from partner type to the SPRO missions and publics it serves.

    Parameters
    ----------
    path
        CSV (UTF-8, ``,`` or ``;``) with columns ``partner_type, label, missions, publics,
        receives_public`` and optionally ``description, reference``; list items are separated
        by ``|``. See ``data/README-partner-types.md``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``partner_type``, with columns ``label``, ``missions`` (list of
        ``geo.schema.MISSIONS``, in that order), ``publics`` (list of :data:`PUBLICS`, in that
        order), ``receives_public`` (bool) and ``description`` (str or None). No geometry.

    Raises
    ------
    MissingColumnError
        A required column is absent.
    DuplicateError
        A partner type appears twice (both rows are named).
    ValidationError
        An unknown mission or public, an invalid key or boolean; naming file, row and field.
    """
    table = read_csv_table(path)
    require_columns(table, PARTNER_TYPE_COLUMNS)
    records = []
    seen: dict[str, int] = {}
    for row, values in table.rows:
        record = _partner_type_record(values, file=table.file, row=row)
        key = record["partner_type"]
        if key in seen:
            msg = f"partner type '{key}' is defined twice (rows {seen[key]} and {row})"
            raise DuplicateError(msg, file=table.file, row=row, field="partner_type")
        seen[key] = row
        records.append(record)
    if not records:
        msg = "no partner type defined"
        raise ValidationError(msg, file=table.file)
    columns = ["partner_type", "label", "missions", "publics", "receives_public", "description"]
    return pd.DataFrame(records, columns=columns).set_index("partner_type")


def _partner_type_record(values: Mapping[str, str], *, file: Path, row: int) -> dict[str, Any]:
    key = values["partner_type"].strip()
    if not _PARTNER_KEY.fullmatch(key):
        msg = f"invalid partner type {key!r}: use lowercase letters, digits and '_' (e.g. mission_locale)"
        raise ValidationError(msg, file=file, row=row, field="partner_type")
    return {
        "partner_type": key,
        "label": required_text(values, "label", file=file, row=row),
        "missions": vocabulary_list(values["missions"], MISSIONS, file=file, row=row, field="missions"),
        "publics": vocabulary_list(values["publics"], PUBLICS, file=file, row=row, field="publics"),
        "receives_public": parse_bool(values["receives_public"], file=file, row=row, field="receives_public"),
        "description": blank_to_none(values.get("description")),
    }
