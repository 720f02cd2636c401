"""The one CSV neutraliser: no cell the project writes is ever evaluated as a formula.

Spreadsheets (Excel, LibreOffice Calc) evaluate a cell whose text starts with ``=``, ``+``,
``-`` or ``@`` (and, in some versions, with a tab or a carriage return, or with spaces or
control characters before those signs). Place and commune names come from files the
project does not control, so every CSV writer of the project passes its text cells through
:func:`neutralise` (``geo.export.write_layers`` for ``atlas export --format csv``,
``webapp.formats.csv_text`` for the web downloads, the rejected-rows CSV of ``atlas load``):
such a cell gets a leading apostrophe, which spreadsheets show as text, as OWASP's "CSV
injection" advice recommends. A cell that is a plain number (``-3.5``) is left alone.
Full-width variants (``＝ ＋ － ＠``) count too. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_SIGNS = "=+-@\uff1d\uff0b\uff0d\uff20"
"""Signs that start a formula (ASCII and full-width)."""
_RISKY = re.compile(
    rf"^[\s\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]*[{re.escape(FORMULA_SIGNS)}]|^[\t\r\n]"
)
"""A formula sign after any leading whitespace, control, zero-width or bidi characters; or a
leading tab, carriage return or line feed."""


def is_risky(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    return bool(_RISKY.match(text)) and not _plain_number(text)


def neutralise(value: Any) -> Any:
    """``value`` with a leading apostrophe when it is text a spreadsheet could evaluate;
    anything else unchanged."""
    if isinstance(value, str) and is_risky(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are :func:`neutralise`-d (column names too)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("string", "str"):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _plain_number(text: str) -> bool:
    """``-3.5``, ``+12``, ``-1,5`` (a decimal comma): numbers, not formulas."""
    candidate = text.strip().replace(",", ".", 1)
    try:
        float(candidate)
    except ValueError:
        return False
    return candidate[:1] in "+-0123456789." and candidate.lower().lstrip("+-") not in ("inf", "nan", "infinity")


__all__ = ["FORMULA_SIGNS", "is_risky", "neutralise", "neutralise_frame"]
