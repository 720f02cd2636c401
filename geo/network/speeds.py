"""Which OSM ways a car or a pedestrian may use, in which direction, and how fast.

The rules are close to osmnx's ``"drive"`` and ``"walk"`` network types but **not the
same**; ``tests/test_osmnx_reference.py`` builds the Andorra networks with osmnx and
checks ours against them (README, « Réseau routier : conventions »). Our choices:

* **drive keeps ``highway=service``** (except ``EXCLUDED_DRIVE_SERVICES``: parkings,
  driveways, alleys...), which osmnx's ``"drive"`` drops (its ``"drive_service"`` keeps
  them): a France services or a CIO is often reached by a service road (hospital,
  campus, town-hall car park), and dropping them snaps such places to a farther street;
* **drive refuses ``access=no``** and the other ``DENIED_ACCESS`` values unless a more
  specific tag (``motor_vehicle``, ``motorcar``, ``vehicle``) allows cars; osmnx only
  refuses ``access=private``, ``motor_vehicle=no`` and ``motorcar=no``;
* **car speeds are class averages capped by the limit** (below), where osmnx imputes
  the mean tagged ``maxspeed`` of each class: a posted limit is not a travel speed;
* ``highway=motorway`` is one-way unless tagged otherwise, as OSM defines it;
* **walk keeps tracks tagged ``access=agricultural`` or ``access=forestry``** (no ``foot``
  tag): in France such a sign (route forestière, chemin d'exploitation) closes the way to
  motor vehicles, not to pedestrians, who may walk forest and farm tracks unless a ``foot``
  tag or ``access=no|private`` says otherwise (``WALK_OPEN_ACCESS``).

Car speeds (``DRIVE_SPEEDS_KPH``)
---------------------------------
The table holds **average travel speeds**, not legal limits: a route through junctions,
bends and villages is slower than its posted limit. The legal limits in France are
130 km/h on motorways, 110 km/h on dual carriageways (most Breton trunk roads: RN12,
RN165, RN164 partly), 80 km/h on other rural roads (90 km/h where a département has
restored it) and 50 km/h in built-up areas, often 30 km/h in town centres. The averages
chosen sit between these limits and the conservative free-flow speeds of OSRM's car
profile (motorway 90, primary 65, residential 25 km/h):

==================  =====  ================================================
``highway``          km/h  reason
==================  =====  ================================================
motorway              110  limit 130; trucks, weather, interchanges
motorway_link          60  ramps
trunk                  90  limit 110 on dual carriageways, 80 elsewhere
trunk_link             50
primary                70  limit 80, through villages at 50
primary_link           45
secondary              60  limit 80, more villages and bends
secondary_link         40
tertiary               50
tertiary_link          35
unclassified           40  narrow rural lanes (voies communales)
residential            30  50 legal, 30 zones, junctions every 100 m
living_street          15  limit 20 (zone de rencontre)
service                20
road                   30  unknown class
==================  =====  ================================================

A tagged ``maxspeed`` **caps** the class speed: ``speed = min(class speed, maxspeed)``.
A limit above the class average (a trunk at 110) therefore changes nothing, while a
30 km/h zone or an urban 50 lowers the speed. ``maxspeed=none`` leaves the class speed.

Pedestrians walk at ``WALK_SPEED_KPH`` (5 km/h) on every walkable way, in both
directions whatever ``oneway`` says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from geo.vocabulary import Mode

WALK_SPEED_KPH = 5.0
"""Walking speed in km/h, used on every walkable way."""

MPH_TO_KPH = 1.609344
KNOT_TO_KPH = 1.852

DRIVE_SPEEDS_KPH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 110.0,
        "motorway_link": 60.0,
        "trunk": 90.0,
        "trunk_link": 50.0,
        "primary": 70.0,
        "primary_link": 45.0,
        "secondary": 60.0,
        "secondary_link": 40.0,
        "tertiary": 50.0,
        "tertiary_link": 35.0,
        "unclassified": 40.0,
        "residential": 30.0,
        "living_street": 15.0,
        "service": 20.0,
        "road": 30.0,
    }
)
"""Average car speed (km/h) by OSM ``highway`` class; its keys are the drivable classes."""

WALKABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "pedestrian",
        "footway",
        "path",
        "steps",
        "track",
        "bridleway",
        "corridor",
    }
)
"""``highway`` classes open to pedestrians unless tagged otherwise (no motorways).

``cycleway`` is walkable only with an explicit ``foot=yes|designated|permissive``
(as in osmnx, which leaves cycleways out of its walk network).
"""

EXCLUDED_DRIVE_SERVICES: frozenset[str] = frozenset(
    {"alley", "driveway", "emergency_access", "parking", "parking_aisle", "private"}
)
"""``service`` values left out of the drive network (osmnx's ``"drive"`` list; osmnx also
drops every other ``highway=service``, which we keep: see the module docstring)."""

DENIED_ACCESS: frozenset[str] = frozenset(
    {"no", "private", "agricultural", "forestry", "agricultural;forestry", "emergency"}
)
"""Access values that close a way to the general public."""

WALK_OPEN_ACCESS: frozenset[str] = frozenset({"agricultural", "forestry", "agricultural;forestry"})
"""``access`` values of ``DENIED_ACCESS`` that do **not** close a way to pedestrians when it
has no ``foot`` tag: in France they restrict motor vehicles on forest and farm tracks
(module docstring). A ``foot`` tag with one of these values still closes the way."""

IMPLICIT_MAXSPEEDS_KPH: Mapping[str, float] = MappingProxyType(
    {
        "fr:urban": 50.0,
        "fr:rural": 80.0,
        "fr:motorway": 130.0,
        "fr:expressway": 110.0,
        "fr:zone30": 30.0,
        "fr:zone20": 20.0,
        "fr:living_street": 20.0,
        "fr:walk": 6.0,
    }
)
"""Implicit French limits (km/h) by ``maxspeed`` value, lower-cased.

``FR:rural`` is 80 km/h, the national limit on single carriageways since July 2018.
"""

WALK_PACE_KPH = 6.0
"""Speed given to ``maxspeed=walk`` (walking pace), km/h."""

_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?$")
_ZONE = re.compile(r"^[a-z]{2}:zone:?(\d+)$")
_NO_LIMIT = frozenset({"none", "unlimited"})
_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
_ONEWAY_NO = frozenset({"no", "false", "0", "reversible", "alternating"})
_FOOT_EXPLICIT = frozenset({"yes", "designated", "permissive"})

WayMode = Mode


def parse_maxspeed(value: str | None) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h.

    Parameters
    ----------
    value
        The tag value, e.g. ``"50"``, ``"30 mph"``, ``"FR:urban"``, ``"50;30"``.

    Returns
    -------
    float or None
        The limit in km/h; the smallest one when several are given (``"50;30"``).
        None when there is no usable limit (``"none"``, ``"signals"``, unknown text).

    Examples
    --------
    >>> parse_maxspeed("FR:rural")
    80.0
    >>> parse_maxspeed("50;30")
    30.0
    >>> round(parse_maxspeed("30 mph"), 2)
    48.28
    >>> parse_maxspeed("none") is None
    True
    """
    if value is None:
        return None
    speeds = [speed for part in value.split(";") if (speed := _parse_one(part)) is not None]
    return min(speeds) if speeds else None


def _parse_one(value: str) -> float | None:
    text = value.strip().lower()
    if not text or text in _NO_LIMIT:
        return None
    if text == "walk":
        return WALK_PACE_KPH
    if text in IMPLICIT_MAXSPEEDS_KPH:
        return IMPLICIT_MAXSPEEDS_KPH[text]
    if zone := _ZONE.match(text):
        speed = float(zone.group(1))
        return speed if speed > 0 else None
    number = _NUMBER.match(text)
    if number is None:
        return None
    speed = float(number.group(1))
    unit = number.group(2)
    if unit == "mph":
        speed *= MPH_TO_KPH
    elif unit == "knots":
        speed *= KNOT_TO_KPH
    return speed if speed > 0 else None


def _access(tags: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    """Return the value of the most specific access key present (keys: most specific first)."""
    for key in keys:
        value = tags.get(key)
        if value is not None:
            return value.strip().lower()
    return None


def is_drivable(tags: Mapping[str, str]) -> bool:
    """Tell whether a car may use an OSM way.

    The way must have a ``highway`` class of ``DRIVE_SPEEDS_KPH``, not be an area
    (``area=yes``), not be a ``service`` road of ``EXCLUDED_DRIVE_SERVICES``, and its most
    specific access tag among ``motorcar``, ``motor_vehicle``, ``vehicle``, ``access`` must
    not be a denial (``no``, ``private``, ...). A more specific tag overrides a less
    specific one: ``access=no`` + ``motor_vehicle=yes`` is drivable.
    """
    if tags.get("highway") not in DRIVE_SPEEDS_KPH or tags.get("area") == "yes":
        return False
    if tags.get("service") in EXCLUDED_DRIVE_SERVICES:
        return False
    access = _access(tags, ("motorcar", "motor_vehicle", "vehicle", "access"))
    return access not in DENIED_ACCESS


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Tell whether a pedestrian may use an OSM way.

    The way must have a ``highway`` class of ``WALKABLE_HIGHWAYS`` (or be a cycleway with
    an explicit ``foot=yes|designated|permissive``), not be an area (``area=yes``), not be
    a motor road (``motorroad=yes``), and its most specific access tag among ``foot`` and
    ``access`` must not be a denial; ``foot=use_sidepath`` also closes it. Without a
    ``foot`` tag, ``access=agricultural|forestry`` does not close it (``WALK_OPEN_ACCESS``).

    Examples
    --------
    >>> is_walkable({"highway": "track", "access": "forestry"})
    True
    >>> is_walkable({"highway": "track", "access": "forestry", "foot": "no"})
    False
    >>> is_walkable({"highway": "track", "access": "private"})
    False
    """
    highway = tags.get("highway")
    foot = (tags.get("foot") or "").strip().lower()
    if highway == "cycleway":
        if foot not in _FOOT_EXPLICIT:
            return False
    elif highway not in WALKABLE_HIGHWAYS:
        return False
    if tags.get("area") == "yes" or tags.get("motorroad") == "yes":
        return False
    access = _access(tags, ("foot", "access"))
    if "foot" not in tags and access in WALK_OPEN_ACCESS:
        return True
    return access not in DENIED_ACCESS and access != "use_sidepath"


def is_way_allowed(tags: Mapping[str, str], *, mode: WayMode) -> bool:
    """Tell whether an OSM way belongs to the ``"drive"`` or ``"walk"`` network."""
    if mode == "drive":
        return is_drivable(tags)
    if mode == "walk":
        return is_walkable(tags)
    msg = f"unknown mode {mode!r}; expected 'drive' or 'walk'"
    raise ValueError(msg)


def way_speed_kph(tags: Mapping[str, str], *, mode: WayMode) -> float:
    """Return the travel speed on an allowed OSM way, in km/h.

    Driving: the class speed of ``DRIVE_SPEEDS_KPH`` capped by ``maxspeed`` when it
    parses (see the module docstring). Walking: ``WALK_SPEED_KPH``.

    Examples
    --------
    >>> way_speed_kph({"highway": "primary"}, mode="drive")
    70.0
    >>> way_speed_kph({"highway": "primary", "maxspeed": "FR:urban"}, mode="drive")
    50.0
    >>> way_speed_kph({"highway": "primary"}, mode="walk")
    5.0
    """
    if mode == "walk":
        return WALK_SPEED_KPH
    if mode != "drive":
        msg = f"unknown mode {mode!r}; expected 'drive' or 'walk'"
        raise ValueError(msg)
    speed = DRIVE_SPEEDS_KPH.get(tags.get("highway", ""), DRIVE_SPEEDS_KPH["road"])
    limit = parse_maxspeed(tags.get("maxspeed"))
    return min(speed, limit) if limit is not None else speed


def way_directions(tags: Mapping[str, str], *, mode: WayMode) -> tuple[bool, bool]:
    """Return whether an OSM way may be travelled forward and backward.

    Forward is the order of the way's nodes. For driving, ``oneway=yes|true|1`` allows
    forward only and ``oneway=-1|reverse`` backward only; ``junction=roundabout|circular``
    and ``highway=motorway`` imply ``oneway=yes`` unless ``oneway=no``. Reversible and
    alternating ways (``oneway=reversible|alternating``) are two-way, as in osmnx,
    because they can be driven both ways (at different times). Walking ignores
    ``oneway``.

    Returns
    -------
    forward, backward : bool
    """
    if mode == "walk":
        return True, True
    oneway = (tags.get("oneway") or "").strip().lower()
    if oneway in _ONEWAY_FORWARD:
        return True, False
    if oneway in _ONEWAY_BACKWARD:
        return False, True
    if oneway in _ONEWAY_NO:
        return True, True
    implied = tags.get("junction") in {"roundabout", "circular"} or tags.get("highway") == ("motorway")
    return True, not implied
