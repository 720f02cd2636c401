"""French wording of numbers and durations, shared by the CLI, the web pages and the zones'
explanations, so that a figure reads the same everywhere.

Thousands are separated by a no-break space (U+00A0), decimals by a comma; a unit or ``%``
follows a no-break space. Unknown values (None, NaN, infinity) read "–".
"""

from __future__ import annotations

import math
from typing import Final, SupportsFloat

from geo.vocabulary import Mode

MODE_NOUNS: Final[dict[Mode, str]] = {"drive": "voiture", "walk": "marche"}
"""A mode as a noun complement: « réseau voiture », « réseau marche »."""

MODE_PHRASES: Final[dict[Mode, str]] = {"drive": "en voiture", "walk": "à pied"}
"""A mode as an adverbial phrase: « 12 min en voiture », « 40 min à pied »."""

MODE_TITLES: Final[dict[Mode, str]] = {"drive": "Voiture", "walk": "À pied"}
"""A mode as a heading or a button."""

NBSP = "\u00a0"
"""No-break space: between thousands, and between a number and its unit."""

UNKNOWN = "–"
"""What an unknown figure reads."""

APPROXIMATE_TIMES: Final[str] = (
    "estimés sans réseau routier : distance à vol d'oiseau × 1,34, vitesse selon la distance"
)
"""How approximate travel times are made (:mod:`geo.network.approximate`), for every page,
export and message that says so."""


def _finite(value: object) -> float | None:
    """``value`` as a finite float (numbers, numpy scalars, Decimal), None when unknown."""
    if value is None or isinstance(value, bool) or not isinstance(value, SupportsFloat):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def number(value: object, decimals: int = 0) -> str:
    """``3449370`` -> "3 449 370", ``12.5`` with one decimal -> "12,5" (no-break spaces)."""
    known = _finite(value)
    if known is None:
        return UNKNOWN
    return f"{known:,.{decimals}f}".replace(",", NBSP).replace(".", ",")


def percent(share: object, decimals: int = 1) -> str:
    """A share (0–1) as "97,5 %"."""
    known = _finite(share)
    if known is None:
        return UNKNOWN
    return f"{number(known * 100, decimals)}{NBSP}%"


def duration(seconds: object) -> str:
    """Seconds as rounded minutes: "12 min", "1 h 05" (at least "1 min"; plain spaces, as the
    pages have always shown them)."""
    known = _finite(seconds)
    if known is None:
        return UNKNOWN
    total = max(1, round(known / 60))
    if total < 60:
        return f"{total} min"
    return f"{total // 60} h {total % 60:02d}"


def minutes_at_most(seconds: float) -> str:
    """A time limit in whole minutes, rounded up ("16 min"): a bound never reads lower than it is."""
    return f"{math.ceil(seconds / 60 - 1e-9)}{NBSP}min"


def plural(word: str, n: int) -> str:
    """``word`` with an ``s`` when ``n`` is more than one (French: 0 and 1 are singular)."""
    return f"{word}s" if n > 1 else word


def count(n: int, noun: str) -> str:
    """ "1 commune", "3 communes"."""
    return f"{n} {plural(noun, n)}"
