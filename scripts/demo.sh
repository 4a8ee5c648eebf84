#!/usr/bin/env bash
# The demo: builds the program and runs a whole market on an embedded in-process validator
# (solana-program-test's bank) with the built .so. No external services.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
RUST_LOG=${RUST_LOG:-error} cargo run --locked -p solvent-app --example demo
# The risk console on the same .so: 200 seeded borrowers through a gap and the 10 Oct 2025 crash,
# with liquidations sold into thin venues; the HTML report is written to target/risk-demo/.
echo
echo "== the risk console (solvent-risk): a cascade stress test on the built program =="
RUST_LOG=${RUST_LOG:-error} cargo run -q --locked -p solvent-risk -- --obligations 200 --only gap-down,oct-10-2025 --shocks 0.1,0.3 --out target/risk-demo
# The TypeScript SDK (@solvent/client) on a real local network: a Surfnet (solvent-localnet)
# with the same .so; a borrow limit, a liquidation price, a liquidation quoted and paid, and a
# 3x position opened and closed, each from the SDK.
echo
echo "== the TypeScript SDK on a Surfnet (solvent-localnet) =="
cargo build -q --locked --manifest-path localnet/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-$ROOT/target}"
(cd app && npm install --no-audit --no-fund --loglevel=error >/dev/null && npx tsx examples/sdk-demo.ts)
