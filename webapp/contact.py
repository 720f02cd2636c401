"""How a place reads on the public pages: a name without internal codes, what it does in
plain words, and its contacts as links (``tel:``, ``mailto:``, website).

Built once per data version for every place (:func:`webapp.finder.page_results` keeps the
result in the reference), so that templates only print. No directions link: an address
link would send the address to a third-party map service, so the page gives the address
as text (said on /a-propos).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from webapp.labels import MISSION_PLAIN, PUBLIC_PLAIN

_INTERNAL_CODE = re.compile(r"\s*\((?=[^)]*/)[A-Z0-9/ .-]+\)")
"""A parenthesised internal code such as « (APE/DT/A2S22) »: capitals, digits and slashes."""
_PHONE_DIGITS = re.compile(r"[^0-9+]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")
_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]{1,5})?")
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")


def public_name(name: str) -> str:
    """The place's name without internal codes: « France Travail - BREST MARINE (APE/DT29) »
    -> « France Travail - BREST MARINE »."""
    return _INTERNAL_CODE.sub("", name).strip() or name


def phone_href(phone: str | None) -> str | None:
    """``tel:`` link of a French phone number (« 02 96 85 32 67 » -> ``tel:+33296853267``);
    None when it does not look like one."""
    if not phone:
        return None
    digits = _PHONE_DIGITS.sub("", phone)
    if re.fullmatch(r"0[1-9][0-9]{8}", digits):
        return f"tel:+33{digits[1:]}"
    if re.fullmatch(r"\+[0-9]{8,15}", digits):
        return f"tel:{digits}"
    return None


def email_href(email: str | None) -> str | None:
    """``mailto:`` link of an e-mail address; None when it does not look like one."""
    if email and _EMAIL.match(email.strip()):
        return f"mailto:{email.strip()}"
    return None


def website_href(website: str | None) -> str | None:
    """The website as an ``http(s)`` link (a bare « www.x.fr » gets ``https://``); None otherwise."""
    if not website:
        return None
    url = website.strip()
    if not url.lower().startswith(("http://", "https://")):
        if _SCHEME.match(url):  # mailto:, javascript:... are no website
            return None
        url = "https://" + url
    parts = urlsplit(url)
    if not _HOST.fullmatch(parts.netloc) or " " in url:
        return None
    return url


def website_text(url: str) -> str:
    """A short visible text for a link: the host name (« www.ac-rennes.fr »)."""
    return urlsplit(url).netloc


def public_place(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (a place of :func:`storage.read.structures`) with ``display_name``,
    ``does`` (what the place does for the person: its type's description), ``missions_plain``,
    ``publics_plain`` (plain phrases), ``tel_href``, ``mailto_href``, ``website_href``,
    ``website_text``."""
    website = website_href(row.get("website"))
    return {
        **row,
        "display_name": public_name(row["name"]),
        "does": row.get("partner_description"),
        "missions_plain": [MISSION_PLAIN[m] for m in row["missions"] if m in MISSION_PLAIN],
        "publics_plain": [PUBLIC_PLAIN.get(p, p) for p in row["publics"]],
        "tel_href": phone_href(row.get("phone")),
        "mailto_href": email_href(row.get("email")),
        "website_href": website,
        "website_text": website_text(website) if website else None,
    }


__all__ = ["email_href", "phone_href", "public_name", "public_place", "website_href"]
