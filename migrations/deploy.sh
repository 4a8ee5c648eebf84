#!/usr/bin/env bash
# Deploy (or upgrade) the program to a cluster with the Solana CLI.
#   migrations/deploy.sh [localnet|devnet|<rpc url>]
# Needs `solana` on PATH and a funded wallet (~/.config/solana/id.json, or SOLANA_WALLET).
# The market and its reserves are created from a config file by the deploy script, which also
# deploys the program if it is missing: cd app && npm run deploy -- <config.json> (or -- --help)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cluster=${1:-localnet}
case $cluster in
  localnet) url=http://127.0.0.1:8899 ;;
  devnet) url=https://api.devnet.solana.com ;;
  *) url=$cluster ;;
esac
if ! command -v solana >/dev/null 2>&1; then
  echo "deploy: the Solana CLI is not installed (solana not on PATH); see README 'Build and deploy with the Solana toolchain'" >&2
  exit 1
fi
[ -f "$ROOT/target/deploy/solvent.so" ] || "$ROOT/scripts/build-sbf.sh"
wallet=${SOLANA_WALLET:-$HOME/.config/solana/id.json}
solana program deploy "$ROOT/target/deploy/solvent.so" \
  --program-id "$ROOT/keys/solvent-keypair.json" \
  --keypair "$wallet" --url "$url"
