"""Download a Région's OpenStreetMap extract: resumable, checked against its MD5, atomic.

The extracts come from Geofabrik's download server (https://download.geofabrik.de), or
from a mirror with the same paths (``ATLAS_OSM_MIRROR``): each extract ``PATH`` is
published as ``PATH-latest.osm.pbf`` with its checksum in ``PATH-latest.osm.pbf.md5``
(``md5sum`` format: 32 hex digits, two spaces, the file name).

Geofabrik cuts France by the **former** Régions (before the 2016 merger): seven of
today's Régions need two or three extracts (:data:`REGION_EXTRACTS`). The paths were
checked against Geofabrik's list of French sub-regions (europe/france/alsace …
europe/france/rhone-alpes, and the overseas guadeloupe, guyane, martinique, mayotte,
reunion); if Geofabrik renames one, ``--extract PATH`` fetches any path.

How a download is made safe (:func:`fetch_extract`):

* the bytes go to ``NAME.part``; an interrupted download leaves it, and the next call
  resumes it with an HTTP ``Range`` request (``If-Range`` with the ``Last-Modified``
  date of the first response, so that a file republished meanwhile restarts from zero
  instead of mixing two versions);
* the finished ``.part`` is checked against the published MD5; a mismatch deletes it
  and fails;
* only a checked file is renamed to ``NAME`` (``os.replace``, atomic on one file
  system): ``NAME`` is either absent, the previous good file, or the new good file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geo.errors import AtlasError

GEOFABRIK_URL = "https://download.geofabrik.de"
"""Default base URL of the extracts (``ATLAS_OSM_MIRROR`` replaces it)."""

REGION_EXTRACTS: dict[str, tuple[str, ...]] = {
    "01": ("europe/france/guadeloupe",),
    "02": ("europe/france/martinique",),
    "03": ("europe/france/guyane",),
    "04": ("europe/france/reunion",),
    "06": ("europe/france/mayotte",),
    "11": ("europe/france/ile-de-france",),
    "24": ("europe/france/centre",),
    "27": ("europe/france/bourgogne", "europe/france/franche-comte"),
    "28": ("europe/france/basse-normandie", "europe/france/haute-normandie"),
    "32": ("europe/france/nord-pas-de-calais", "europe/france/picardie"),
    "44": ("europe/france/alsace", "europe/france/champagne-ardenne", "europe/france/lorraine"),
    "52": ("europe/france/pays-de-la-loire",),
    "53": ("europe/france/bretagne",),
    "75": ("europe/france/aquitaine", "europe/france/limousin", "europe/france/poitou-charentes"),
    "76": ("europe/france/languedoc-roussillon", "europe/france/midi-pyrenees"),
    "84": ("europe/france/auvergne", "europe/france/rhone-alpes"),
    "93": ("europe/france/provence-alpes-cote-d-azur",),
    "94": ("europe/france/corse",),
}
"""INSEE code of each of the 18 Régions -> Geofabrik extract paths covering it (former
Régions on the mainland, one extract per overseas Région)."""

SUFFIX = "-latest.osm.pbf"
"""What Geofabrik appends to an extract path for its latest ``.osm.pbf``."""

CHUNK_BYTES = 1 << 20
"""Bytes read per step of a download."""

TIMEOUT_S = 30.0
"""Seconds without an answer after which a request fails."""

_MD5 = re.compile(r"^([0-9a-fA-F]{32})\b")
_EXTRACT_PATH = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")

Progress = Callable[[int, int | None], None]
"""Called with (bytes on disk, total bytes or None) as a download goes."""


class FetchError(AtlasError):
    """A download that failed (server unreachable, interrupted, checksum mismatch)."""


@dataclass(frozen=True)
class Fetched:
    """A checked extract on disk."""

    path: Path
    md5: str
    downloaded: bool
    """False when the file on disk already had the published checksum."""
    resumed_from: int = 0
    """Bytes of an earlier interrupted download that were kept (0: from scratch)."""


def region_extracts(region: str) -> tuple[str, ...]:
    """Geofabrik paths of a Région (INSEE code), or a :class:`FetchError` listing the codes."""
    if region not in REGION_EXTRACTS:
        msg = f"Région {region!r} inconnue : codes possibles {', '.join(REGION_EXTRACTS)}"
        raise FetchError(msg)
    return REGION_EXTRACTS[region]


def extract_url(base_url: str, extract: str) -> str:
    """URL of the latest ``.osm.pbf`` of ``extract`` (e.g. ``europe/france/bretagne``) below ``base_url``."""
    if not _EXTRACT_PATH.match(extract):
        msg = f"chemin d'extrait invalide {extract!r} (attendu par exemple europe/france/bretagne)"
        raise FetchError(msg)
    return f"{base_url.rstrip('/')}/{extract}{SUFFIX}"


def fetch_extract(
    base_url: str,
    extract: str,
    dest_dir: str | Path,
    *,
    progress: Progress | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Fetched:
    """Download ``extract`` into ``dest_dir`` (resuming, MD5-checked, atomic; see the module).

    Parameters
    ----------
    base_url
        Server root, e.g. :data:`GEOFABRIK_URL` or a mirror with the same paths.
    extract
        Path of the extract below it, without the suffix: ``europe/france/bretagne``.
    dest_dir
        Folder of the file (created if needed); the file keeps the server's name.
    progress
        Optional callback (bytes on disk, total bytes or None).
    timeout_s
        Seconds without an answer after which a request fails.

    Returns
    -------
    Fetched
        The checked file. When a file of the same name already has the published MD5,
        nothing is downloaded.

    Raises
    ------
    FetchError
        Server unreachable or answering an error, download interrupted (the ``.part``
        is kept for the next call), or checksum mismatch (the ``.part`` is deleted).
    """
    url = extract_url(base_url, extract)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / url.rsplit("/", 1)[1]
    part = dest.with_name(dest.name + ".part")
    validator_file = dest.with_name(dest.name + ".part.date")
    expected = published_md5(url + ".md5", timeout_s=timeout_s)
    if dest.is_file() and file_md5(dest) == expected:
        return Fetched(path=dest, md5=expected, downloaded=False)

    offset = part.stat().st_size if part.is_file() else 0
    validator = validator_file.read_text(encoding="utf-8").strip() if validator_file.is_file() else ""
    headers = {"User-Agent": "atlas-spro (network fetch)"}
    if offset and validator:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = validator
    else:
        offset = 0
    request = urllib.request.Request(url, headers=headers)
    resumed_from = 0
    total: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            if response.status == 206 and offset:
                resumed_from = offset
                mode = "ab"
                total = _range_total(response.headers.get("Content-Range"))
            else:  # 200: whole file (no resume, or the file changed on the server)
                offset, mode = 0, "wb"
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            last_modified = response.headers.get("Last-Modified") or ""
            if mode == "wb":
                validator_file.write_text(last_modified, encoding="utf-8")
            done = offset
            with part.open(mode) as out:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the response's socket
        if exc.code == 416 and offset:  # the .part already holds the whole file
            resumed_from = offset
        else:
            msg = f"{url} : le serveur répond {exc.code} {exc.reason}"
            raise FetchError(msg) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        msg = f"{url} : téléchargement interrompu ou impossible ({reason}) ; relancer reprend où il s'est arrêté"
        raise FetchError(msg) from exc
    if total is not None and part.stat().st_size < total:
        msg = (
            f"{url} : téléchargement interrompu ({part.stat().st_size} octets sur {total}) ; "
            "relancer reprend où il s'est arrêté"
        )
        raise FetchError(msg)
    actual = file_md5(part)
    if actual != expected:
        part.unlink()
        validator_file.unlink(missing_ok=True)
        msg = (
            f"{url} : somme MD5 {actual} différente de celle publiée ({expected}) ; "
            "fichier incomplet ou altéré supprimé, relancer le téléchargement"
        )
        raise FetchError(msg)
    os.replace(part, dest)
    validator_file.unlink(missing_ok=True)
    return Fetched(path=dest, md5=expected, downloaded=True, resumed_from=resumed_from)


def published_md5(url: str, *, timeout_s: float = TIMEOUT_S) -> str:
    """The 32-hex-digit checksum published at ``url`` (``md5sum`` format), lower case."""
    request = urllib.request.Request(url, headers={"User-Agent": "atlas-spro (network fetch)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            text = response.read(4096).decode("ascii", errors="replace")
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the response's socket
        msg = f"{url} : le serveur répond {exc.code} {exc.reason}"
        raise FetchError(msg) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        msg = f"{url} : serveur injoignable ({getattr(exc, 'reason', exc)})"
        raise FetchError(msg) from exc
    match = _MD5.match(text.strip())
    if match is None:
        msg = f"{url} : pas une somme MD5 (attendu 32 chiffres hexadécimaux)"
        raise FetchError(msg)
    return match.group(1).lower()


def file_md5(path: Path, chunk: int = CHUNK_BYTES) -> str:
    """MD5 (hex, lower case) of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _range_total(content_range: str | None) -> int | None:
    """Total size from a ``Content-Range: bytes a-b/total`` header (None when ``*``)."""
    if not content_range or "/" not in content_range:
        return None
    size = content_range.rsplit("/", 1)[1].strip()
    return int(size) if size.isdigit() else None
