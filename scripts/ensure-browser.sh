#!/usr/bin/env bash
# Install Debian's headless-capable Chromium when it is missing (the end-to-end tests in
# tests/e2e drive it through Playwright's Python package; Playwright never downloads a
# browser here). Idempotent and quick when chromium is there. Uses sudo when not root.
set -euo pipefail

have_chromium() { command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; }

if have_chromium; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "chromium is missing and this is not a Debian system: install it with your package manager" >&2
  echo "(the end-to-end tests look for /usr/bin/chromium and are skipped without it)." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing chromium (Debian package) for the end-to-end tests..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
have_chromium
