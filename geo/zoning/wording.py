"""French wording of the zones: names, the one-sentence explanation of a zone's shape, and
the events (merges, communes handed over) that the algorithms record.

The algorithms decide; this module only says it, for the planners and the CCREFP, with the
number formats of :mod:`geo.french`. Populations are in inhabitants, times in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from geo.french import NBSP, count, minutes_at_most, number, of_place, percent, plural
from geo.zoning.model import ZoneFacts

NEST_LABELS: dict[str, str] = {
    "departement": "le département",
    "epci": "l'EPCI",
    "arrondissement": "l'arrondissement",
}
"""French wording of the nesting levels."""


def inhabitants(population: float) -> str:
    """ "12 345 hab." (no-break spaces)."""
    return f"{number(population)}{NBSP}hab."


def group_text(nest_by: str | None, group: object) -> str:
    """Where a nested zone lies: " dans le département 29", " parmi les communes sans epci"."""
    if nest_by is None:
        return ""
    if group == "":
        return f" parmi les communes sans {nest_by}"
    return f" dans {NEST_LABELS.get(nest_by, nest_by)} {group}"


# ------------------------------------------------------------------ catchment zones
def catchment_name(pole: str) -> str:
    """Name of the catchment zone of a pôle: « Bassin d'Auray », « Bassin du Faou »."""
    return f"Bassin {of_place(pole)}"


def catchment_explanation(facts: ZoneFacts, pole: str, share: float) -> str:
    """Why a catchment zone has its shape: the pôle its communes reach fastest."""
    return (
        f"Bassin de {count(facts.n, 'commune')} ({inhabitants(facts.population)}) "
        f"{plural('rattachée', facts.n)} au pôle {of_place(pole)} "
        f"(le plus rapide pour {percent(share, 0)} de la population)"
    )


def poles_joined(members: Sequence[tuple[str, float]], limit_s: float | None) -> str:
    """Pôles of nearby communes joined into this zone's pôle (one town and its suburbs)."""
    listed = ", ".join(
        f"{name} ({minutes_at_most(seconds)})" if math.isfinite(seconds) else name for name, seconds in members
    )
    near = f"à {minutes_at_most(limit_s)} au plus ou limitrophes" if limit_s is not None else "limitrophes"
    return f"réunit les pôles voisins ({near}) : {listed}"


def unreached_attached(n: int) -> str:
    """Communes reaching no pôle, attached to the zone they touch."""
    return f"{count(n, 'commune')} sans pôle joignable {plural('rattachée', n)} par contiguïté"


def enclaves_reassigned(n: int) -> str:
    """Communes cut off from their pôle's zone, reassigned for contiguity."""
    return f"{count(n, 'commune')} {plural('enclavée', n)} {plural('réaffectée', n)} pour la contiguïté"


def merged_small_zone(name: str, population: float, min_population: float, *, by_time: bool) -> str:
    """A zone under the minimum population, merged into a neighbour."""
    reason = "pôle voisin le plus rapide" if by_time else "plus longue frontière commune"
    return (
        f"a absorbé le bassin {of_place(name)} ({inhabitants(population)}, moins de {inhabitants(min_population)} ; "
        f"{reason})"
    )


# -------------------------------------------------------------- regionalized zones
def regionalized_name(hub: str | None, n_communes: int) -> str:
    """Name of a regionalized zone: its hub's commune, or a zone without any site."""
    return f"Zone {of_place(hub)}" if hub is not None else f"Zone sans site ({count(n_communes, 'commune')})"


def regionalized_explanation(facts: ZoneFacts, *, min_population: float, where: str) -> str:
    """Why a regionalized zone has its shape: max-p under a minimum population, its pôle."""
    head = (
        f"Zone de {count(facts.n, 'commune')} ({inhabitants(facts.population)}) formée par "
        f"régionalisation max-p (au moins {inhabitants(min_population)} par zone){where} ; "
    )
    if facts.hub is None:
        return head + "aucun site dans la zone"
    if not math.isfinite(facts.max_hub_time_s):
        return head + f"pôle {of_place(facts.hub_name or '')}, certaines communes ne le joignent pas"
    return head + (
        f"pôle {of_place(facts.hub_name or '')}, toutes les communes à {minutes_at_most(facts.max_hub_time_s)} au plus"
    )


def single_zone(where: str, min_population: float) -> str:
    """A nesting group too small to split."""
    return f"ensemble{where or ' de la Région'} de moins de {inhabitants(min_population)} : une seule zone"


def absorbed_lacking(missions: Sequence[str]) -> str:
    """A zone lacking missions, absorbed by a neighbour that offers them."""
    return f"a absorbé une zone voisine qui n'avait aucun site pour : {', '.join(missions)}"


def communes_ceded(n: int, limit_s: float) -> str:
    """Communes handed to a neighbour to stay within the time limit to the pôle."""
    return (
        f"{count(n, 'commune')} {plural('cédée', n)} à une zone voisine "
        f"pour rester à {minutes_at_most(limit_s)} au plus du pôle"
    )


def communes_received(n: int, limit_s: float) -> str:
    """Communes received from neighbours whose pôle was too far."""
    return f"{count(n, 'commune')} {plural('reçue', n)} de zones voisines (pôle à {minutes_at_most(limit_s)} au plus)"
