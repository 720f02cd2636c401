"""The one rule that makes two spellings of a place name equal, for the commune search.

A member of the public types « St Malo », « saint-malo », « SAINT MALO » or « S. Malo » for
Saint-Malo, « Pont l'Abbe » or « pont-l abbé » for Pont-l'Abbé, « ile de sein » for
Île-de-Sein. :func:`search_key` maps all of them to one key; the loader stores the key of
every searchable name (``commune_name.key`` and ``compact``, filled from this function
only), and the search computes the key of the query with the same function, so that
Python and SQL can never disagree on the rule: SQL only compares keys (equality, prefix,
pg_trgm similarity).

Rule, in order: Unicode compatibility decomposition and removal of accents; case folding
(œ -> oe, æ -> ae, ß -> ss); « S. », « St », « St. » -> saint and « Ste », « Ste. » ->
sainte (as whole words); every character that is not a letter or a digit (hyphens,
apostrophes, dots, commas...) -> one space. The *compact* key also drops the spaces, so
that « Pont labbe », « Perros Guirec » and « Perrosguirec » meet.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"})
_SAINT_DOTTED = re.compile(r"\b(?:s|st)\.")  # « S. Malo », « St. Malo »
_SAINTE_DOTTED = re.compile(r"\bste\.")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_ABBREVIATIONS = {"st": "saint", "ste": "sainte"}


def search_key(text: str) -> str:
    """The searchable form of a name: lower-case ASCII words separated by one space.

    >>> search_key("St-Malo")
    'saint malo'
    >>> search_key("Pont-l'Abbé")
    'pont l abbe'
    >>> search_key("  ÎLE DE SEIN ")
    'ile de sein'
    >>> search_key("S. Brieuc")
    'saint brieuc'
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_LIGATURES)
    plain = _SAINTE_DOTTED.sub(" sainte ", plain)
    plain = _SAINT_DOTTED.sub(" saint ", plain)
    words = _NOT_ALNUM.sub(" ", plain).split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)


def compact_key(text: str) -> str:
    """:func:`search_key` without spaces: « Perros Guirec » and « Perros-Guirec » -> 'perrosguirec'."""
    return search_key(text).replace(" ", "")


def like_escape(text: str) -> str:
    """``text`` with the LIKE wildcards (``%``, ``_``) and the escape character escaped (``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_POSTCODE = re.compile(r"(?<![0-9])([0-9]{5})(?![0-9])")
_DEPARTEMENT = re.compile(r"\(\s*([0-9]{2,3}|2[ABab])\s*\)\s*$|(?<=\s)([0-9]{2}|2[ABab])\s*$")
_CEDEX = re.compile(r"\bcedex\b(?:\s*[0-9]{1,3})?", re.IGNORECASE)


def split_query(text: str) -> tuple[str, str | None, str | None]:
    """A query as people type it, split into ``(name, postcode, departement)``.

    « Quimper 29000 », « 29000 Quimper » -> ('Quimper', '29000', None); « Saint-Malo (35) »,
    « Plouhinec 56 » -> (name, None, '35' / '56'); « Rennes Cedex 9 » -> ('Rennes', None,
    None). A query of a postcode alone keeps it as the name (the caller searches codes).
    """
    rest = _CEDEX.sub(" ", text)
    postcode = None
    found = _POSTCODE.search(rest)
    if found and rest.replace(found.group(1), "").strip(" ,;-"):
        postcode = found.group(1)
        rest = rest.replace(postcode, " ")
    departement = None
    dept = _DEPARTEMENT.search(rest)
    if dept and rest[: dept.start()].strip():
        departement = (dept.group(1) or dept.group(2)).upper()
        rest = rest[: dept.start()]
    name = " ".join(rest.replace(",", " ").split()).strip(" -;")
    return (name or text.strip()), postcode, departement


NAME_KINDS: tuple[str, ...] = ("commune", "deleguee", "epci")
"""What a searchable name is: the commune's own name, the name of a former commune now
déléguée or associée in it, or the name of its EPCI (intercommunalité)."""

_EPCI_FORMS = re.compile(r"^(?:ca|cc|cu|communaute (?:de communes|d agglomeration|urbaine)(?: du| de la| de| des)?)\s+")


def epci_short_name(name: str) -> str | None:
    """The EPCI's name without its legal form (« CA Lamballe Terre et Mer » -> search key
    'lamballe terre et mer'); None when the name has no such prefix."""
    key = search_key(name)
    short = _EPCI_FORMS.sub("", key)
    return short if short != key and short else None


def searchable_names(
    communes: Iterable[dict[str, Any]],
    delegated: Iterable[tuple[str, str]] = (),
    epci: Iterable[tuple[str, str]] = (),
) -> Iterator[tuple[str, str, str, str, str]]:
    """Rows ``(commune_code, kind, name, key, compact)`` of every name under which a commune
    can be found, each (commune, key) once.

    Parameters
    ----------
    communes
        ``code``, ``name`` and ``epci`` (SIREN or None) of each current commune.
    delegated
        ``(current commune code, name)`` of the communes déléguées or associées.
    epci
        ``(SIREN, name)`` of the EPCI; each of its member communes gets its name (with and
        without the legal form « CA », « CC »...).
    """
    seen: set[tuple[str, str]] = set()
    epci_names = dict(epci)
    members: dict[str, list[str]] = {}

    def row(code: str, kind: str, name: str, given: str | None = None) -> Iterator[tuple[str, str, str, str, str]]:
        key = search_key(name) if given is None else given
        if key and (code, key) not in seen:
            seen.add((code, key))
            yield code, kind, name, key, key.replace(" ", "")

    communes = list(communes)
    for commune in communes:
        yield from row(commune["code"], "commune", commune["name"])
        if commune.get("epci"):
            members.setdefault(commune["epci"], []).append(commune["code"])
    for code, former in delegated:
        yield from row(code, "deleguee", former)
    for siren, codes in sorted(members.items()):
        epci_name = epci_names.get(siren)
        if not epci_name:
            continue
        short = epci_short_name(epci_name)
        for code in codes:
            yield from row(code, "epci", epci_name)
            if short:
                yield from row(code, "epci", epci_name, short)


__all__ = [
    "NAME_KINDS",
    "compact_key",
    "epci_short_name",
    "like_escape",
    "search_key",
    "searchable_names",
    "split_query",
]
