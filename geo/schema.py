"""Canonical columns of the layers the core produces.

Sources are renamed into these columns once, where they enter (:mod:`geo.sources`);
everything downstream (storage, accessibility, web) relies on them. The values of the
coded columns (missions, publics, site formats, geocoding precisions) are listed in
:mod:`geo.vocabulary`.
"""

from __future__ import annotations

COMMUNE_COLUMNS: tuple[str, ...] = (
    "code",  # current COG code (5 characters, geo.vocabulary.is_commune_code)
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
    "site_format",  # one of geo.vocabulary.SITE_FORMATS
    "opening_hours",  # dict weekday -> text as published ("09:00 - 12:00 / 14:00 - 17:00"), {} unknown
    "appointment",  # bool | None: appointment needed / possible, when the source says it
    "receives_public",  # bool | None: the place receives the public, when the source says it (None: as its type)
    "geocoding",  # one of geo.vocabulary.GEOCODING_PRECISIONS
    "missions",  # list of geo.vocabulary.MISSIONS served, from the partner-type mapping
    "publics",  # list of geo.vocabulary.PUBLICS served, from the partner-type mapping
    "source",  # free text: where the row comes from
    "vintage",  # date or label of the source's version
    "geometry",  # Point in the Région's projected CRS
)
