"""Canonical columns of the layers the core produces.

Sources are renamed into these columns once, where they enter (``geo.communes``,
``geo.structures``); everything downstream (storage, accessibility, web) relies on them.
"""

from __future__ import annotations

MISSIONS: tuple[str, ...] = ("accueil", "information", "conseil", "accompagnement")
"""The four missions of the SPRO (loi du 5 mars 2014, art. L6111-3 code du travail)."""

WEEKDAYS: tuple[str, ...] = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

SITE_FORMATS: tuple[str, ...] = ("fixe", "fixe_antennes", "multisites", "itinerant", "bus")
"""How a place receives the public: a fixed site, a fixed site with antennas, several
sites served in turn, an itinerant service (permanences) or a bus."""

GEOCODING_PRECISIONS: tuple[str, ...] = ("source", "adresse", "approx_mairie", "commune")
"""Where a structure's point comes from: given by the source, geocoded from the address,
the town hall of its commune (``approx_mairie``: not the building), or a point inside the
commune polygon (coarsest)."""

COMMUNE_COLUMNS: tuple[str, ...] = (
    "code",  # current COG code (5 characters)
    "name",
    "departement",
    "arrondissement",
    "epci",  # SIREN of the EPCI, None for the few communes outside any EPCI
    "postcodes",  # list[str]
    "population",  # populations légales (population municipale), int
    "former_codes",  # list[str]: 2018 codes dissolved into this commune
    "geometry",  # (Multi)Polygon in the Région's projected CRS
)

STRUCTURE_COLUMNS: tuple[str, ...] = (
    "structure_id",  # stable unique id "<dataset>:<id in source>", e.g. "france_services:133"
    "dataset",  # which loaded dataset the row belongs to (loads replace a dataset as a whole)
    "partner_type",  # key of data/partner-types.csv, e.g. "france_services", "cio"
    "name",
    "address",
    "postcode",
    "commune_code",  # current COG code; spatial join when the source leaves it empty
    "commune_name",
    "phone",
    "email",
    "website",
    "site_format",  # one of SITE_FORMATS
    "opening_hours",  # dict weekday -> text as published ("09:00 - 12:00 / 14:00 - 17:00"), {} unknown
    "appointment",  # bool | None: appointment needed / possible, when the source says it
    "geocoding",  # one of GEOCODING_PRECISIONS
    "missions",  # list of MISSIONS served, from the partner-type mapping
    "publics",  # list of publics served, from the partner-type mapping
    "source",  # free text: where the row comes from
    "vintage",  # date or label of the source's version
    "geometry",  # Point in the Région's projected CRS
)
