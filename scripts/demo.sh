#!/usr/bin/env bash
# The demo: builds the program and runs a whole market on an embedded in-process validator
# (solana-program-test's bank) with the built .so. No external services.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
RUST_LOG=${RUST_LOG:-error} cargo run --locked -p solvent-app --example demo
