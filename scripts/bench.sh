#!/usr/bin/env bash
# Compute benchmark: builds the program, measures every obligation-facing instruction at three
# obligation sizes on the built .so, writes docs/compute-units.md and the README's table.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
RUST_LOG=${RUST_LOG:-error} cargo run --locked -p solvent-app --example bench
