#!/usr/bin/env bash
# The test command: set-up, the SBF build, the IDL check, then every test: native unit and
# property tests of the money math, integration tests that run target/deploy/solvent.so in
# solana-program-test, and the TypeScript client's tests (npm test in app/, on the same .so in
# LiteSVM). Ends with one line totalling every test's results.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
# The committed IDL (app/idl/solvent.json) must be the one the program builds.
cargo run -q --locked -p solvent-app --bin solvent-idl -- --check
# The TypeScript position math is pinned to vectors this crate's queries generate
# (app/ts/test/position-vectors.test.ts): the committed file must be what they give now.
cargo run -q --locked -p solvent-client --example ts-vectors -- --check app/ts/test/vectors/position.json
# No production binary links the test runtime: solvent-app (keeper, leverage builder, IDL tool)
# reaches solana-program-test only through dev-dependencies (its tests and examples).
if cargo tree --locked -p solvent-app -e normal -i solana-program-test 2>/dev/null | grep -q solana-program-test; then
  echo "solvent-app links solana-program-test as a normal dependency:" >&2
  cargo tree --locked -p solvent-app -e normal -i solana-program-test >&2
  exit 1
fi
echo "dependency check: solvent-app does not link solana-program-test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --lib --bins --tests --examples -- --nocapture 2>&1 |
  grep --line-buffered -v "DEBUG solana_runtime::message_processor::stable_log" | tee "$log" || status=$?
# The npm tests also run the keeper and leverage binaries over JSON-RPC.
cargo build -q --locked -p solvent-app --bin solvent-keeper --bin solvent-leverage
# The real local network of the RPC tests (localnet/, its own workspace: Surfpool's Surfnet).
cargo build -q --locked --manifest-path localnet/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-$ROOT/target}"
(cd app && npm install --no-audit --no-fund --loglevel=error && npm test --silent) 2>&1 | tee -a "$log" || status=$?
awk '/^test result:/ { passed += $4; failed += $6 } /^# pass / { passed += $3 } /^# fail / { failed += $3 }
  END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
