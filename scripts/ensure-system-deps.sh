#!/usr/bin/env bash
# Install the Debian packages Atlas SPRO needs when they are missing:
# PostgreSQL server binaries and PostGIS 3 (postgresql-15-postgis-3), plus contrib (unaccent, pg_trgm).
# Idempotent and quick when everything is there. Uses sudo when not run as root.
set -euo pipefail

have_postgis() { compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null; }
have_server() { compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; }
have_contrib() { compgen -G "/usr/share/postgresql/*/extension/unaccent.control" >/dev/null; }

if have_postgis && have_server && have_contrib; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "PostgreSQL 15 + PostGIS 3 are missing and this is not a Debian system:" >&2
  echo "install them with your package manager, or set DATABASE_URL to a PostGIS server." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing PostgreSQL 15 and PostGIS 3 (Debian packages)..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  postgresql-15 postgresql-contrib postgresql-15-postgis-3 >/dev/null
have_postgis && have_server
