#!/usr/bin/env bash
# Installs what building and testing need, once per machine: the host toolchain pinned in
# rust-toolchain.toml, and (through build-sbf.sh) the SBF toolchain; then builds the program.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
channel=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' rust-toolchain.toml)
rustup toolchain install "$channel" --profile minimal -c clippy,rustfmt >&2
./scripts/build-sbf.sh
