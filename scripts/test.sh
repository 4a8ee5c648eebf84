#!/usr/bin/env bash
# The test command: set-up, the SBF build, then every test (native unit and property tests of the
# money math, integration tests that run target/deploy/solvent.so in solana-program-test).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
cargo test --workspace --locked -- --nocapture 2>&1 | grep -v "DEBUG solana_runtime::message_processor::stable_log"
exit "${PIPESTATUS[0]}"
