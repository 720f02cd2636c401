"""Stage 4 of the data flow: analysis on travel-time tables.

The analysis takes tables as input (the commune x place table of :mod:`geo.traveltimes`,
in its one orientation: rows are communes, columns are places); only the entry points
that build that table first (``access.compute_access``, ``access.accessibility_tables``)
take a graph: ``access`` (nearest place per category, choice, 2SFCA, aggregation per
territory), ``indicators`` (the figures themselves), ``gaps`` (white zones, communes
without choice), ``location`` (where new sites would help most, scenarios) and
``finder`` (the public finder's ranking rule).
"""
