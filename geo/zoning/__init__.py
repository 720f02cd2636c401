"""Stage 5 of the data flow: infra-regional zones, proposed, checked and compared.

``adjacency`` (which communes touch), ``model`` (an assignment commune -> zone, the zone
table, the violations), one module per method as in PySAL ``spopt.region``
(``catchment``: every commune to the pôle it reaches fastest; ``regionalize``: max-p
under the planner's constraints), ``checks`` (the one checker, for proposals and for a
planner's own zoning alike), ``compare`` (two zonings side by side) and ``wording`` (the
French names and explanations, kept out of the algorithms).
"""
