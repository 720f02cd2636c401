"""How complete the inventory of places is, per partner type, and which figures it weakens.

A Région may declare, per partner type, how many sites it expects (its own census,
``[expected_sites]`` of ``atlas.toml``). A type is **complete** when the places loaded that
receive the public reach :data:`COMPLETE_SHARE` of that number; a type whose expected
number is unknown is not complete: nothing says the list is whole.

A figure computed on a family of places (a :class:`geo.categories.Category`) is only as
good as the inventory of every partner type the family covers *by the partner-type
mapping*, loaded or not: "mission conseil within 30 minutes" covers Cap emploi even when no
Cap emploi site is loaded, and is then labelled « inventaire incomplet ». The places
without public reception are no part of any family (and their types, which have none,
never weaken a figure).

The module loads neither pandas nor numpy: the web application reads inventories.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from geo.vocabulary import TOUT_PUBLIC

if TYPE_CHECKING:  # the web app reads inventories without loading pandas
    import pandas as pd

    from geo.categories import Category

_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")

COMPLETE_SHARE = 0.95
"""Share of the expected sites above which a partner type's inventory is complete."""

INCOMPLETE_LABEL = "inventaire incomplet"
"""The words every page, export and report puts next to a figure of an incomplete inventory."""


def is_complete(n_sites: int, expected: int | None) -> bool:
    """Whether ``n_sites`` loaded make a complete inventory of ``expected`` sites (unknown: no).

    Examples
    --------
    >>> is_complete(18, 18), is_complete(17, 18), is_complete(5, None), is_complete(0, 0)
    (True, False, False, True)
    """
    return expected is not None and n_sites >= COMPLETE_SHARE * expected


@dataclass(frozen=True)
class TypeInventory:
    """The inventory of one partner type.

    Attributes
    ----------
    partner_type, label
        Key and French label.
    receives_public
        Whether the type's places receive the public (by the mapping).
    missions, publics
        What the type's places offer and to whom (by the mapping).
    n_sites
        Places loaded that receive the public.
    n_without_public
        Places loaded that receive no public (directorates, regional bodies).
    expected
        Sites the Région expects (its census), None when unknown.
    n_at_building
        Places receiving the public whose point is the building (not the town hall nor a
        point of the commune).
    n_with_hours
        Places receiving the public with opening hours.
    vintage_min, vintage_max
        Oldest and newest date of the places' source rows (text as the sources give it).
    """

    partner_type: str
    label: str
    receives_public: bool
    missions: tuple[str, ...]
    publics: tuple[str, ...]
    n_sites: int
    n_without_public: int
    expected: int | None
    n_at_building: int
    n_with_hours: int
    vintage_min: str | None
    vintage_max: str | None

    @property
    def complete(self) -> bool:
        """Whether this type's inventory is complete (see :func:`is_complete`)."""
        return is_complete(self.n_sites, self.expected)

    @property
    def share_of_expected(self) -> float | None:
        """Places loaded over places expected (None when unknown or none expected)."""
        return self.n_sites / self.expected if self.expected else None

    @property
    def share_at_building(self) -> float | None:
        """Share of the places positioned at their building (None without places)."""
        return self.n_at_building / self.n_sites if self.n_sites else None

    @property
    def share_with_hours(self) -> float | None:
        """Share of the places with opening hours (None without places)."""
        return self.n_with_hours / self.n_sites if self.n_sites else None

    @property
    def vintages(self) -> str:
        """The range of the source rows' dates in words (« 2019-08 à 2026-07 », « non daté »)."""
        return " à ".join(dict.fromkeys(v for v in (self.vintage_min, self.vintage_max) if v)) or "non daté"

    @property
    def years(self) -> str:
        """The same range as years only, for the public (« 2019 à 2026 », « 2024 », « non daté »).

        Examples
        --------
        >>> TypeInventory("cio", "CIO", True, (), (), 18, 0, None, 5, 0, "2019 (export DILA)", "annuaire 2023-06").years
        '2019 à 2023'
        """
        found = [m.group(0) for v in (self.vintage_min, self.vintage_max) if v and (m := _YEAR.search(v))]
        return " à ".join(dict.fromkeys(sorted(found))) or "non daté"

    def as_dict(self) -> dict[str, Any]:
        """Every field and property, for templates, the API and exports."""
        return {
            **{name: getattr(self, name) for name in self.__dataclass_fields__},
            "complete": self.complete,
            "share_of_expected": self.share_of_expected,
            "share_at_building": self.share_at_building,
            "share_with_hours": self.share_with_hours,
            "vintages": self.vintages,
            "years": self.years,
        }


def type_inventory(row: Mapping[str, Any]) -> TypeInventory:
    """A :class:`TypeInventory` from a row of counts (``storage.read.inventory``)."""
    return TypeInventory(
        partner_type=str(row["partner_type"]),
        label=str(row["label"]),
        receives_public=bool(row["receives_public"]),
        missions=tuple(row["missions"] or ()),
        publics=tuple(row["publics"] or ()),
        n_sites=int(row["n_sites"]),
        n_without_public=int(row["n_without_public"]),
        expected=None if row["expected_sites"] is None else int(row["expected_sites"]),
        n_at_building=int(row["n_at_building"]),
        n_with_hours=int(row["n_with_hours"]),
        vintage_min=row["vintage_min"],
        vintage_max=row["vintage_max"],
    )


def covered_types(category: Category, inventory: Iterable[TypeInventory]) -> list[str]:
    """The partner types (receiving the public) whose places the category counts, by the
    mapping: every type for ``any``, the types offering the mission, the type itself, the
    types serving the public (or every public)."""
    covered = []
    for entry in inventory:
        if not entry.receives_public:
            continue
        if category.kind == "any":
            member = True
        elif category.kind == "mission":
            member = category.key in entry.missions
        elif category.kind == "partner_type":
            member = category.key == entry.partner_type
        else:
            member = category.key in entry.publics or TOUT_PUBLIC in entry.publics
        if member:
            covered.append(entry.partner_type)
    return covered


def incomplete_types(category: Category, inventory: Iterable[TypeInventory]) -> list[str]:
    """The partner types a category covers whose inventory is not complete, in mapping order:
    a figure of this category is labelled « inventaire incomplet » when there is any."""
    entries = list(inventory)
    complete = {entry.partner_type: entry.complete for entry in entries}
    return [key for key in covered_types(category, entries) if not complete[key]]


def with_incomplete_types(categories: pd.DataFrame, inventory: Iterable[TypeInventory]) -> pd.DataFrame:
    """``categories`` (a ``code`` column, as ``AccessResult.categories``) with an
    ``incomplete_types`` column: the list of :func:`incomplete_types` of each."""
    from geo.categories import Category

    entries = list(inventory)
    flagged = categories.copy()
    flagged["incomplete_types"] = [incomplete_types(Category.from_code(code), entries) for code in categories["code"]]
    return flagged
