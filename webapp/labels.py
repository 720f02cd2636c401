"""French labels and number formats shown by the pages (Jinja filters and globals)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from flask import Flask
from markupsafe import Markup

from geo import french
from geo.analysis.inventory import COMPLETE_SHARE
from geo.vocabulary import FCA_PER, REACH_S, SHARE_MINUTES

MODE_LABELS = french.MODE_PHRASES
MODE_NAMES = french.MODE_TITLES
MISSION_LABELS: dict[str, str] = {
    "accueil": "Accueil",
    "information": "Information",
    "conseil": "Conseil en orientation",
    "accompagnement": "Accompagnement",
}
PUBLIC_LABELS: dict[str, str] = dict(french.PUBLIC_NAMES)
MISSION_PLAIN: dict[str, str] = {
    "accueil": "on vous reçoit et on vous dit à qui vous adresser",
    "information": "on vous informe sur les métiers, les formations et l'emploi",
    "conseil": "on vous aide à choisir votre orientation",
    "accompagnement": "on vous suit dans votre projet, rendez-vous après rendez-vous",
}
"""What each SPRO mission means for the person, in words a 17-year-old understands (public pages)."""
MISSION_CHOICES: dict[str, str] = {
    "accueil": "Être reçu et orienté",
    "information": "M'informer sur les métiers, les formations, l'emploi",
    "conseil": "Être conseillé pour choisir",
    "accompagnement": "Être suivi dans mon projet",
}
"""The finder's « Vous voulez » choices, one per mission (public search form)."""
PUBLIC_PLAIN: dict[str, str] = {
    "tout_public": "tout le monde",
    "jeunes": "les jeunes de 16 à 25 ans",
    "scolaires": "les collégiens, les lycéens et leurs parents",
    "etudiants": "les étudiants",
    "adultes": "les adultes",
    "demandeurs_emploi": "les personnes qui cherchent un emploi",
    "salaries": "les personnes qui ont un emploi",
    "personnes_handicapees": "les personnes en situation de handicap",
    "cadres": "les cadres et jeunes diplômés",
    "femmes": "les femmes en priorité (ouvert à tous)",
    "createurs_entreprise": "les personnes qui créent ou reprennent une entreprise",
}
"""Who a place is for, in plain words (public pages)."""
LEVEL_LABELS: dict[str, str] = {
    "region": "Région",
    "departement": "Départements",
    "arrondissement": "Arrondissements",
    "epci": "EPCI (intercommunalités)",
}
SITE_FORMAT_LABELS: dict[str, str] = {
    "fixe": "site fixe",
    "fixe_antennes": "site fixe avec antennes",
    "multisites": "plusieurs sites desservis tour à tour",
    "itinerant": "service itinérant (permanences)",
    "bus": "bus itinérant",
}
GEOCODING_LABELS: dict[str, str] = {
    "source": "position donnée par la source",
    "adresse": "position de l'adresse",
    "approx_mairie": "position approximative (la mairie de la commune, pas le bâtiment)",
    "approx_commune": "position approximative (un point de la commune)",
}
GAP_LABELS: dict[str, str] = {
    "white_zone": "Zone blanche (au-delà du seuil)",
    "no_choice": "Sans choix (un seul réseau à moins de 30 min)",
}
TIME_CLASSES: tuple[tuple[int, int | None, str], ...] = (
    (0, SHARE_MINUTES[0], f"moins de {SHARE_MINUTES[0]} min"),
    *((low, high, f"{low} à {high} min") for low, high in itertools.pairwise(SHARE_MINUTES)),
    (SHARE_MINUTES[-1], None, f"{SHARE_MINUTES[-1]} min et plus"),
)
"""Classes of the travel-time choropleth (minutes: the thresholds of the reported shares),
shared by the map legend and the API."""


def level_label(level: str, zoning_label: str | None = None) -> str:
    """'Départements', 'Zones : bassins'... (a zoning already labelled « Zones … » is not
    prefixed twice: 'Zones max-p', not 'Zones : Zones max-p')."""
    if level.startswith("zone:"):
        label = zoning_label or level.removeprefix("zone:")
        return label if label.casefold().startswith("zone") else f"Zones : {label}"
    return LEVEL_LABELS.get(level, level)


def minutes(seconds: float | None) -> str:
    """Seconds as rounded minutes in French ('12 min', '1 h 05', '–' when unknown)."""
    return french.duration(seconds)


def minutes_value(value: float | None) -> str:
    """A duration given in minutes, formatted like :func:`minutes`."""
    return minutes(None if value is None else value * 60)


def kilometres(metres: float | None) -> str:
    """Metres as '850 m' or '12,3 km'."""
    if metres is None:
        return "–"
    if metres < 1000:
        return f"{round(metres / 10) * 10:.0f} m"
    return f"{metres / 1000:.1f} km".replace(".", ",")


def number(value: Any, decimals: int = 0) -> str:
    """A number with French separators (no-break space for thousands, decimal comma)."""
    return french.number(value, decimals)


def percent(share: float | None, decimals: int = 1) -> str:
    """A share (0-1) as '97,5 %'."""
    return french.percent(share, decimals)


_TAG = re.compile(r"(<[^>]*>)")
_RAW_TEXT = re.compile(r"<(/?)(style|script|svg)\b", re.IGNORECASE)


def typography(html: str) -> Markup:
    """French typography (:func:`geo.french.typography`) applied to the text of an HTML
    fragment already escaped (the body of a ``{% filter typography %}`` block): tags,
    attributes and the content of ``<style>``, ``<script>`` and ``<svg>`` (figures written
    with their own typography) are left untouched."""
    parts = _TAG.split(str(html))
    raw = False
    for index, part in enumerate(parts):
        if index % 2:  # a tag
            match = _RAW_TEXT.match(part)
            if match:
                raw = not match.group(1)
        elif part and not raw:
            parts[index] = french.typography(part)
    return Markup("".join(parts))  # only spaces of already escaped text are changed


def init_app(app: Flask) -> None:
    """Register the filters and label tables for the templates."""
    app.add_template_filter(minutes, "minutes")
    app.add_template_filter(minutes_value, "mins")
    app.add_template_filter(kilometres, "km")
    app.add_template_filter(number, "number")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(typography, "typography")
    app.add_template_global(level_label, "level_label")
    app.jinja_env.globals.update(
        MODE_LABELS=MODE_LABELS,
        MODE_NAMES=MODE_NAMES,
        APPROXIMATE_TIMES=french.APPROXIMATE_TIMES,
        MISSION_LABELS=MISSION_LABELS,
        MISSION_CHOICES=MISSION_CHOICES,
        PUBLIC_LABELS=PUBLIC_LABELS,
        SITE_FORMAT_LABELS=SITE_FORMAT_LABELS,
        GEOCODING_LABELS=GEOCODING_LABELS,
        GAP_LABELS=GAP_LABELS,
        TIME_CLASSES=TIME_CLASSES,
        COMPLETE_SHARE=COMPLETE_SHARE,
        FCA_PER=FCA_PER,
        FCA_CATCHMENT_MIN=REACH_S["drive"] / 60,
    )
