"""Stage 1 of the data flow: reading and validating what a Région gives.

``region`` reads a whole Région from its ``atlas.toml`` manifest; ``communes`` reconciles
the COG list and contours; ``territories`` dissolves départements, arrondissements and
EPCI; ``partner_types`` reads the mapping of partner types to missions and publics;
``structures`` builds the canonical layer of places that ``france_services``,
``partenaires`` and ``annuaire`` read; ``zoning_files`` reads a planner's zoning; and
``tables`` is the one reading policy (encoding, separators, rows named in errors) that
every one of them follows.
"""
