"""The finder's rule (geo.analysis.finder), on hand-built places: no database.

The same rule as one SQL statement (tests/finder_sql.py) is compared with it on the pilot
for every commune in tests/test_web_api.py.
"""

from __future__ import annotations

import pytest

from geo.analysis.finder import Search, allowed_places, rank

STRUCTURES = {
    "a:cio": {
        "receives_public": True,
        "missions": ["accueil", "conseil"],
        "publics": ["jeunes"],
        "opening_hours": [("lundi", "9h-12h")],
    },
    "b:fs": {
        "receives_public": True,
        "missions": ["accueil"],
        "publics": ["tout_public"],
        "opening_hours": [("lundi", "9h-12h"), ("samedi", "9h-12h")],
    },
    "c:ml": {
        "receives_public": True,
        "missions": ["accueil", "accompagnement"],
        "publics": ["jeunes"],
        "opening_hours": [],
    },
    "d:dr": {
        "receives_public": False,
        "missions": ["accueil"],
        "publics": ["tout_public"],
        "opening_hours": [("lundi", "9h-12h")],
    },
    "e:far": {"receives_public": True, "missions": ["accueil"], "publics": ["adultes"], "opening_hours": []},
}
POSITIONS = {
    "a:cio": (1_000.0, 0.0),
    "b:fs": (0.0, 2_000.0),
    "c:ml": (0.0, 2_000.0),
    "d:dr": (10.0, 0.0),
    "e:far": (30_000.0, 40_000.0),
}
# The commune's table: b and c tie at 600 s by car (same building); e is beyond the bound.
TIMES = {
    "times": {
        "drive": [(300.0, "a:cio"), (600.0, "b:fs"), (600.0, "c:ml"), (900.0, "d:dr")],
        "walk": [(1_200.0, "a:cio")],
    },
    "seconds": {"drive": {"a:cio": 300.0, "b:fs": 600.0, "c:ml": 600.0, "d:dr": 900.0}, "walk": {"a:cio": 1_200.0}},
}


def test_allowed_places_apply_every_filter_and_receiving_only() -> None:
    assert allowed_places(STRUCTURES, None, None, None) == {"a:cio", "b:fs", "c:ml", "e:far"}
    assert allowed_places(STRUCTURES, "conseil", None, None) == {"a:cio"}
    # A place for everyone serves every public.
    assert allowed_places(STRUCTURES, None, "jeunes", None) == {"a:cio", "b:fs", "c:ml"}
    # A day keeps the places open that day and those whose hours are unknown (c, e: the page
    # says « horaires non renseignés — appelez avant »); a's known hours leave Saturday out.
    assert allowed_places(STRUCTURES, None, None, "samedi") == {"b:fs", "c:ml", "e:far"}
    assert allowed_places(STRUCTURES, "accueil", "adultes", "lundi") == {"b:fs", "e:far"}


def test_rank_by_time_ties_by_identifier_then_by_straight_line() -> None:
    allowed = allowed_places(STRUCTURES, None, None, None)
    by_time, by_distance = rank(allowed, POSITIONS, TIMES, origin=(0.0, 0.0), mode="drive", limit=4)
    # By travel time, equal times by structure_id (never by operator); the other mode's
    # time when the table has it; distances in whole metres.
    assert by_time == [("a:cio", 300.0, 1_200.0, 1_000), ("b:fs", 600.0, None, 2_000), ("c:ml", 600.0, None, 2_000)]
    # The place beyond the bound comes after, by straight line: 50 km.
    assert by_distance == [("e:far", None, None, 50_000)]


def test_rank_stops_at_the_limit_and_ranks_the_other_mode() -> None:
    allowed = allowed_places(STRUCTURES, None, None, None)
    assert rank(allowed, POSITIONS, TIMES, origin=(0.0, 0.0), mode="drive", limit=2) == (
        [("a:cio", 300.0, 1_200.0, 1_000), ("b:fs", 600.0, None, 2_000)],
        [],
    )
    by_time, by_distance = rank(allowed, POSITIONS, TIMES, origin=(0.0, 2_000.0), mode="walk", limit=3)
    assert by_time == [("a:cio", 1_200.0, 300.0, 2_236)]
    # On foot, b and c are beyond the bound: straight line from the point, then identifier.
    assert by_distance == [("b:fs", 600.0, None, 0), ("c:ml", 600.0, None, 0)]


def test_a_place_without_position_is_never_proposed() -> None:
    allowed = allowed_places(STRUCTURES, None, None, None) | {"ghost"}
    times = {"times": {"drive": [(10.0, "ghost"), (300.0, "a:cio")]}, "seconds": {"drive": {"ghost": 10.0}}}
    by_time, by_distance = rank(allowed, POSITIONS, times, origin=(0.0, 0.0), mode="drive", limit=10)
    assert "ghost" not in {row[0] for row in by_time + by_distance}


def test_a_search_is_a_value() -> None:
    one = Search(mode="drive", limit=10, mission="conseil", code="35238")
    assert one == Search(mode="drive", limit=10, mission="conseil", code="35238")
    assert hash(one) == hash(Search(mode="drive", limit=10, mission="conseil", code="35238"))
    assert one != Search(mode="walk", limit=10, mission="conseil", code="35238")
    assert one.filters == ("conseil", None, None)
    with pytest.raises(AttributeError):
        one.limit = 5  # type: ignore[misc]
