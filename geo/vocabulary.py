"""The words every stage shares: travel modes, time thresholds, commune codes, missions, publics.

One module, imported by the core, the store, the CLI and the web application alike, and
light on purpose (standard library only): the web application reads its allow-lists here
without loading geopandas or scipy.

Modes
    ``drive`` (car) and ``walk`` (on foot). Whether the times of a mode come from a real
    road network or from the approximate commune graph is a separate flag
    (``approximate``), never packed into the mode's name.

Thresholds (seconds unless the name says minutes)
    :data:`REACH_S`: "within reach" per mode, 30 minutes by car and 45 on foot: the
    white-zone threshold and the catchment of the 2SFCA ratio. :data:`CHOICE_S`: distinct
    partner networks are counted within 30 minutes. :data:`MATRIX_LIMIT_S`: how far the
    commune x place table is computed (1 h by car, 2 h on foot). :data:`SHARE_MINUTES`:
    the shares of population reported (within 10, 20, 30 and 45 minutes).

Commune codes
    INSEE codes of 5 characters, ``2A``/``2B`` for Corsica (:func:`is_commune_code`); a
    planner's spreadsheet may have dropped the leading zero or lowered the letter
    (:func:`normalise_commune_code`).
"""

from __future__ import annotations

import re
from typing import Final, Literal

from geo.errors import ValidationError

# --------------------------------------------------------------------------- modes
Mode = Literal["drive", "walk"]
"""A travel mode: ``drive`` (car) or ``walk`` (on foot)."""

MODES: Final[tuple[Mode, ...]] = ("drive", "walk")

MODE_ALIASES: Final[dict[str, Mode]] = {
    "drive": "drive",
    "car": "drive",
    "voiture": "drive",
    "walk": "walk",
    "foot": "walk",
    "pied": "walk",
    "marche": "walk",
}
"""Names accepted for each mode (English and French)."""


def parse_mode(text: str, *, field: str = "mode") -> Mode:
    """The mode named by ``text`` (``drive``/``car``/``voiture``, ``walk``/``foot``/``pied``/``marche``).

    Raises
    ------
    geo.errors.ValidationError
        For any other name.
    """
    mode = MODE_ALIASES.get(str(text).strip().lower())
    if mode is None:
        msg = f"unknown mode {text!r}; expected drive (car) or walk (on foot)"
        raise ValidationError(msg, field=field)
    return mode


def check_mode(mode: object) -> Mode:
    """``mode`` when it is exactly ``drive`` or ``walk`` (what code passes); free text
    typed by a person goes through :func:`parse_mode` instead.

    Raises
    ------
    geo.errors.ValidationError
        For any other value.
    """
    for known in MODES:
        if mode == known:
            return known
    msg = f"unknown mode {mode!r}; expected 'drive' or 'walk'"
    raise ValidationError(msg, field="mode")


def other_mode(mode: Mode) -> Mode:
    """``walk`` for ``drive`` and ``drive`` for ``walk``."""
    return "walk" if mode == "drive" else "drive"


# ----------------------------------------------------------------------- thresholds
REACH_S: Final[dict[Mode, float]] = {"drive": 1_800.0, "walk": 2_700.0}
"""Within reach, per mode (seconds): 30 minutes by car, 45 on foot. White zones lie beyond
it; the Gaussian 2SFCA catchment has this size."""

CHOICE_S: Final[float] = 1_800.0
"""Distinct partner networks (choice) are counted within 30 minutes (seconds), in both modes."""

COVER_S: Final[float] = 1_800.0
"""Default coverage threshold of the what-if (seconds): 30 minutes."""

MATRIX_LIMIT_S: Final[dict[Mode, float]] = {"drive": 3_600.0, "walk": 7_200.0}
"""How far the commune x place table is computed, per mode (seconds): 1 h by car, 2 h on foot."""

FCA_PER: Final[float] = 10_000.0
"""Population base of the 2SFCA index: places per this many inhabitants (« lieux pour
10 000 habitants »)."""

SHARE_MINUTES: Final[tuple[int, ...]] = (10, 20, 30, 45)
"""Thresholds (minutes) of the reported shares of population (``share_10`` …)."""

# --------------------------------------------------------------------- commune codes
COMMUNE_CODE_PATTERN: Final[str] = "[0-9][0-9AB][0-9]{3}"
"""An INSEE commune code: 5 characters, 2A/2B for Corsica (e.g. 35238, 2A004)."""

_COMMUNE_CODE = re.compile(COMMUNE_CODE_PATTERN)


def is_commune_code(value: object) -> bool:
    """Whether ``value`` is text shaped as an INSEE commune code (exactly, no cleaning)."""
    return isinstance(value, str) and _COMMUNE_CODE.fullmatch(value) is not None


def normalise_commune_code(value: object) -> str:
    """A commune code as a planner may have typed it, cleaned: spaces and quotes removed,
    ``2a`` made ``2A``, and the leading zero a spreadsheet dropped restored (``1004`` ->
    ``01004``). The result is not checked: see :func:`is_commune_code`."""
    code = str(value).strip().strip('"').strip()
    if code.isdigit() and len(code) == 4:
        code = "0" + code
    return code.upper() if code[:2].lower() in ("2a", "2b") else code


# ----------------------------------------------------------------- the SPRO's words
MISSIONS: Final[tuple[str, ...]] = ("accueil", "information", "conseil", "accompagnement")
"""The four missions of the SPRO (loi du 5 mars 2014, art. L6111-3 code du travail)."""

TOUT_PUBLIC: Final[str] = "tout_public"
"""The public of a place open to everyone: it serves every other public."""

PUBLICS: Final[tuple[str, ...]] = (
    TOUT_PUBLIC,
    "jeunes",
    "scolaires",
    "etudiants",
    "adultes",
    "demandeurs_emploi",
    "salaries",
    "personnes_handicapees",
    "cadres",
    "femmes",
    "createurs_entreprise",
)
"""Publics a partner type is dedicated to (see ``data/README-partner-types.md``)."""

SEARCHABLE_PUBLICS: Final[tuple[str, ...]] = tuple(p for p in PUBLICS if p != TOUT_PUBLIC)
"""Publics one can filter on (a place for ``tout_public`` serves every one of them)."""

WEEKDAYS: Final[tuple[str, ...]] = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

SITE_FORMATS: Final[tuple[str, ...]] = ("fixe", "fixe_antennes", "multisites", "itinerant", "bus")
"""How a place receives the public: a fixed site, a fixed site with antennas, several
sites served in turn, an itinerant service (permanences) or a bus."""

FIXED_SITE_FORMATS: Final[frozenset[str]] = frozenset({"fixe", "fixe_antennes"})
"""Site formats counted as fixed places (``itinerant``, ``bus`` and ``multisites`` are not)."""

POLE_MERGE_S: Final[float] = 600.0
"""Pôles within 10 minutes of a more populous pôle (both ways) join it in the catchment
zones proposed by the CLI: a town and its close suburbs (Lorient, Lanester) form one pôle."""

HUB_MISSIONS: Final[tuple[str, ...]] = ("conseil", "accompagnement")
"""Missions a place must offer to be a zone's pôle by default: a pôle is where a person is
advised and followed, not only welcomed and informed (a France services or an Information
Jeunesse point orients elsewhere). With a fixed site (:data:`FIXED_SITE_FORMATS`) and public
reception (only such places are read), this is the documented rule of
:func:`geo.zoning.model.hub_rows`."""

ITINERANT_SITE_FORMATS: Final[frozenset[str]] = frozenset({"itinerant", "bus"})
"""Site formats of a service that moves (permanences, bus): its point is not a building."""

GEOCODING_PRECISIONS: Final[tuple[str, ...]] = ("source", "adresse", "approx_mairie", "approx_commune")
"""Where a structure's point comes from, most precise first: given by the source, geocoded
from the address, the town hall of its commune (``approx_mairie``: not the building), or a
point inside the commune polygon (``approx_commune``, coarsest)."""

GEOCODING_ALIASES: Final[dict[str, str]] = {"commune": "approx_commune"}
"""Older spellings of a precision, still read in source files."""

APPROXIMATE_POSITIONS: Final[frozenset[str]] = frozenset(p for p in GEOCODING_PRECISIONS if p.startswith("approx_"))
"""Geocoding precisions whose point is not the building itself: those named ``approx_…``
(SQL tests the same prefix with ``starts_with``)."""

MAIN_CATEGORIES: Final[tuple[str, ...]] = (
    "any",
    "any:fixe",
    "mission:accueil",
    "mission:information",
    "mission:conseil",
    "mission:accompagnement",
)
"""Categories of places shown first in summaries and spread into columns of exports
(codes of :class:`geo.categories.Category`)."""
