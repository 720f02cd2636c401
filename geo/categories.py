"""Categories of places: the families whose nearest member every commune is measured to.

``any`` (every place receiving the public), ``mission:<m>``, ``partner_type:<t>``,
``public:<p>`` (places whose publics include ``p`` or ``tout_public``). ``any`` and each
mission also exist as ``...:fixe``: fixed sites only, without itinerant services and buses,
so that the part of access owed to permanences stays visible. A category's ``code`` is the
identifier stored in the database and used by the CLI, the API and the exports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import pandas as pd

from geo.errors import MissingColumnError, ValidationError
from geo.french import PUBLIC_NAMES
from geo.vocabulary import FIXED_SITE_FORMATS, MISSIONS, TOUT_PUBLIC

CategoryKind = Literal["any", "mission", "partner_type", "public"]


@dataclass(frozen=True)
class Category:
    """A family of places whose nearest member is computed for every commune.

    ``code`` is the stable identifier stored in the database, e.g. ``"any"``,
    ``"any:fixe"``, ``"mission:conseil"``, ``"partner_type:cio"``, ``"public:jeunes"``.
    """

    kind: CategoryKind
    key: str = ""
    fixed_only: bool = False

    @property
    def code(self) -> str:
        """Identifier, e.g. ``mission:conseil:fixe``."""
        parts = [self.kind] + ([self.key] if self.key else []) + (["fixe"] if self.fixed_only else [])
        return ":".join(parts)

    @classmethod
    def from_code(cls, code: str) -> Category:
        """Parse :attr:`code` (``any``, ``any:fixe``, ``mission:conseil:fixe``...)."""
        parts = code.split(":")
        fixed = parts[-1] == "fixe" and len(parts) in (2, 3) and not (len(parts) == 2 and parts[0] != "any")
        if fixed:
            parts = parts[:-1]
        kind, key = parts[0], ":".join(parts[1:])
        if kind not in ("any", "mission", "partner_type", "public") or (kind == "any") != (key == ""):
            msg = (
                f"unknown category {code!r}; expected any, any:fixe, mission:<m>[:fixe], partner_type:<t> or public:<p>"
            )
            raise ValidationError(msg, field="category")
        if kind == "mission" and key not in MISSIONS:
            msg = f"unknown mission {key!r}; expected one of {', '.join(MISSIONS)}"
            raise ValidationError(msg, field="category")
        return cls(cast(CategoryKind, kind), key, fixed_only=fixed)

    def label(self, partner_labels: dict[str, str] | None = None) -> str:
        """French label for the user interface."""
        suffix = " (sites fixes)" if self.fixed_only else ""
        if self.kind == "any":
            return f"Tout lieu du SPRO{suffix}"
        if self.kind == "mission":
            return f"Mission : {self.key}{suffix}"
        if self.kind == "partner_type":
            return (partner_labels or {}).get(self.key, self.key)
        return f"Public : {PUBLIC_NAMES.get(self.key, self.key.replace('_', ' '))}{suffix}"

    def mask(self, places: pd.DataFrame, *, general: bool = True) -> np.ndarray:
        """Boolean mask of the rows of ``places`` (``missions``, ``publics`` lists,
        ``partner_type``, ``site_format``) belonging to this category.

        ``general=False`` keeps, for a public, only the places whose own publics name it
        (a Mission locale for ``jeunes``), not those open to everyone (``tout_public``: a
        France services welcomes young people but does not serve them as such)."""
        if self.kind == "any":
            keep = np.ones(len(places), dtype=bool)
        elif self.kind == "mission":
            keep = places["missions"].map(lambda values: self.key in values).to_numpy(dtype=bool)
        elif self.kind == "partner_type":
            keep = (places["partner_type"] == self.key).to_numpy(dtype=bool)
        else:
            keep = (
                places["publics"]
                .map(lambda values: self.key in values or (general and TOUT_PUBLIC in values))
                .to_numpy(dtype=bool)
            )
        if self.fixed_only:
            keep = keep & places["site_format"].isin(FIXED_SITE_FORMATS).to_numpy(dtype=bool)
        return keep


def categories_for(places: pd.DataFrame) -> list[Category]:
    """Every category that has at least one place in ``places``, in a stable order.

    Order: ``any``, ``any:fixe``, the missions (each followed by its fixed-only
    variant), the partner types (alphabetical), the publics (alphabetical, without
    ``tout_public``, which is folded into each public).
    """
    candidates = [Category("any"), Category("any", fixed_only=True)]
    for mission in MISSIONS:
        candidates += [Category("mission", mission), Category("mission", mission, fixed_only=True)]
    candidates += [Category("partner_type", key) for key in sorted(set(places["partner_type"]))]
    publics = sorted({p for values in places["publics"] for p in values} - {TOUT_PUBLIC})
    candidates += [Category("public", key) for key in publics]
    return [category for category in candidates if category.mask(places).any()]


def mission_matrix(places: pd.DataFrame, missions: Sequence[str] = MISSIONS) -> np.ndarray:
    """Boolean ``(n_places, len(missions))``: which place offers which mission."""
    if "missions" not in places.columns:
        msg = "sites lack the column 'missions' (list of missions offered)"
        raise MissingColumnError(msg, field="missions")
    offered = places["missions"].map(
        lambda values: set(values) if isinstance(values, Iterable) and not isinstance(values, str) else set()
    )
    return np.array([[m in values for m in missions] for values in offered], dtype=bool).reshape(
        len(places), len(missions)
    )
