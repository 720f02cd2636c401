"""PostGIS storage of Atlas SPRO: the only package that talks to the database (psycopg 3).

The core (``geo``) never imports it. Functions take an open connection and never open one
themselves, except :mod:`storage.cluster` (the project-local server) and
:func:`storage.db.connect`.
"""
