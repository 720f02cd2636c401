"""Configuration of Atlas SPRO, read from environment variables (the only module that does).

| variable | default | meaning |
|---|---|---|
| ``DATABASE_URL`` | local cluster | PostgreSQL/PostGIS connection string; when unset, the project-local cluster under ``ATLAS_VAR_DIR`` is used (``atlas db up`` starts it) |
| ``ATLAS_REGION`` | the manifest's | INSEE code of the Région a load expects (a folder for another Région is refused) |
| ``ATLAS_CRS`` | per Région | projected CRS (metres) a load stores the Région in; by default the one of the manifest's Région (Lambert-93 on the mainland, UTM overseas); later commands read it from the database |
| ``ATLAS_DATA_DIR`` | ``data/bretagne`` | folder holding ``atlas.toml`` and the source files |
| ``ATLAS_VAR_DIR`` | ``var/`` | local state: the local PostGIS cluster, logs |
| ``ATLAS_HOST`` / ``ATLAS_PORT`` | ``127.0.0.1`` / ``5000`` | where ``atlas serve`` listens |
| ``ATLAS_RATELIMIT`` | ``300/minute`` | per-client limit on ``/api``; ``off`` disables it |
| ``ATLAS_RATELIMIT_STORAGE`` | ``memory://`` | counts per worker; ``redis://…`` shares them (needs the ``redis`` package) |
| ``ATLAS_TRUSTED_PROXIES`` | ``0`` | reverse proxies whose ``X-Forwarded-For`` / ``-Proto`` are trusted; 1 behind nginx |
| ``ATLAS_ACCESS_LOG`` | none (``-`` under ``atlas serve``) | where the web server writes its access log (route, status, size, time; never the client address, query string or searched place): ``-`` for standard output, a file path, or empty for none |
| ``ATLAS_OSM_MIRROR`` | ``https://download.geofabrik.de`` | where ``atlas network fetch`` downloads OSM extracts: Geofabrik or a mirror with the same paths (``europe/france/bretagne-latest.osm.pbf`` and its ``.md5``) |
| ``ATLAS_TILE_URL`` | none | Leaflet tile URL template of a basemap the deployer serves (e.g. ``/tuiles/{z}/{x}/{y}.png``); none: commune boundaries drawn as vectors |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Settings:
    """Immutable settings; build them with :meth:`from_env`."""

    database_url: str | None
    region: str | None
    data_dir: Path
    var_dir: Path
    host: str
    port: int
    tile_url: str | None = None
    ratelimit: str = "300/minute"
    ratelimit_storage: str = "memory://"
    trusted_proxies: int = 0
    access_log: str | None = None
    crs: str | None = None
    """``ATLAS_CRS`` when set: the CRS a load uses instead of its Région's default."""
    osm_mirror: str = "https://download.geofabrik.de"
    """``ATLAS_OSM_MIRROR``: base URL of the OSM extracts (Geofabrik's paths below it)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``); fail fast on bad values."""
        env = os.environ if environ is None else environ
        region = env.get("ATLAS_REGION", "").strip() or None
        if region is not None and not (region.isdigit() and len(region) == 2):
            msg = f"ATLAS_REGION must be a two-digit INSEE region code, got {region!r}"
            raise ValueError(msg)
        port_text = env.get("ATLAS_PORT", "5000")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            msg = f"ATLAS_PORT must be a TCP port number, got {port_text!r}"
            raise ValueError(msg)
        proxies_text = env.get("ATLAS_TRUSTED_PROXIES", "0").strip() or "0"
        if not proxies_text.isdigit() or int(proxies_text) > 10:
            msg = f"ATLAS_TRUSTED_PROXIES must be a number of proxies (0-10), got {proxies_text!r}"
            raise ValueError(msg)
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            region=region,
            data_dir=Path(env.get("ATLAS_DATA_DIR") or PROJECT_ROOT / "data" / "bretagne"),
            var_dir=Path(env.get("ATLAS_VAR_DIR") or PROJECT_ROOT / "var"),
            host=env.get("ATLAS_HOST", "127.0.0.1"),
            port=int(port_text),
            tile_url=env.get("ATLAS_TILE_URL") or None,
            ratelimit=env.get("ATLAS_RATELIMIT", "").strip() or "300/minute",
            ratelimit_storage=env.get("ATLAS_RATELIMIT_STORAGE", "").strip() or "memory://",
            trusted_proxies=int(proxies_text),
            access_log=env.get("ATLAS_ACCESS_LOG", "").strip() or None,
            crs=env.get("ATLAS_CRS") or None,
            osm_mirror=env.get("ATLAS_OSM_MIRROR", "").strip() or "https://download.geofabrik.de",
        )
