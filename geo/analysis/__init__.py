"""Stage 4 of the data flow: analysis on travel-time tables.

Every function here takes tables as input (the commune x place table of
:mod:`geo.traveltimes`, in its one orientation: rows are communes, columns are places),
never a graph: ``access`` (nearest place per category, choice, 2SFCA, aggregation per
territory), ``indicators`` (the figures themselves), ``gaps`` (white zones, communes
without choice), ``location`` (where new sites would help most, scenarios) and
``finder`` (the public finder's ranking rule).
"""
