#!/usr/bin/env bash
# Installs what building and testing need, once per machine: the host toolchain pinned in
# rust-toolchain.toml, and (through build-sbf.sh) the SBF toolchain; Debian's Chromium and the
# DejaVu fonts for the risk console's report (its PNGs and the headless-browser test; skipped
# with a message where apt cannot install them); then builds the program.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
channel=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml)
rustup toolchain install "$channel" --profile minimal -c clippy,rustfmt >&2
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]} (the risk report's browser test and fonts)" >&2
    (apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1)) ||
      echo "setup: could not install ${missing[*]}: the report's browser test will be skipped" >&2
  else
    echo "setup: ${missing[*]} missing and apt-get unavailable (or not root): the report's browser test will be skipped" >&2
  fi
fi
./scripts/build-sbf.sh
