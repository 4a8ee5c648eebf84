#!/usr/bin/env bash
# The risk console's benchmark (not a test): the whole scenario library, the gap sizes and the
# ladder on a 10,000-obligation, 3-reserve market on the .so, then a 100-point parameter sweep of
# SOL. Built with the optimized `risk` profile. Prints what each part took.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./scripts/setup.sh
cargo build -q --locked --profile risk -p solvent-risk
BIN=${CARGO_TARGET_DIR:-target}/risk/solvent-risk
export RUST_LOG=${RUST_LOG:-error}
echo "== 10,000 obligations through the library =="
"$BIN" --obligations 10000 --out target/risk-bench-10k
echo "== a 100-point sweep of SOL (5 LTVs x 4 threshold gaps x 5 bonuses), 100 obligations each =="
"$BIN" --obligations 100 --shocks 0.2 --sweep SOL --sweep-obligations 100 \
  --sweep-ltv 6000,6500,7000,7500,8000 --sweep-gap 300,500,750,1000 --sweep-bonus 200,300,500,700,900 \
  --out target/risk-bench-sweep
