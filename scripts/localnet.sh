#!/usr/bin/env bash
# Localnet for users with the Solana CLI: a real solana-test-validator, the program deployed and
# a market with SOL and USDC reserves created by the deploy script over JSON-RPC (run twice: the
# second run must change nothing), the TypeScript client's scenario over JSON-RPC, then one
# keeper pass over RPC.
#   ./scripts/localnet.sh            # leaves the validator running; stop it with: kill $(cat target/localnet/validator.pid)
# Needs solana-test-validator and solana on PATH (Anza's toolchain), Node.js, and a funded
# wallet at ~/.config/solana/id.json (solana-keygen new). This machine has no validator: see README.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
for tool in solana-test-validator solana; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "localnet: $tool is not on PATH. Install Anza's Solana toolchain (https://solana.com/docs/intro/installation);" >&2
    echo "localnet: without it, the same deploy steps run against LiteSVM in 'cd app && npm test'." >&2
    exit 1
  fi
done
[ -f target/deploy/solvent.so ] || ./scripts/build-sbf.sh
(cd app && npm install --no-audit --no-fund --loglevel=error)
wallet=${SOLANA_WALLET:-$HOME/.config/solana/id.json}
address=$(solana address --keypair "$wallet")
dir=$ROOT/target/localnet
rm -rf "$dir" && mkdir -p "$dir"
config=$(cd app && npx tsx ts/src/localnet-accounts.ts "$dir/accounts" "$address")
accounts=()
for file in "$dir"/accounts/*-mint.json "$dir"/accounts/*-price.json; do
  accounts+=(--account "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).pubkey)' "$file")" "$file")
done
solana-test-validator --reset --quiet --ledger "$dir/ledger" "${accounts[@]}" > "$dir/validator.log" 2>&1 &
echo $! > "$dir/validator.pid"
for _ in $(seq 1 60); do solana cluster-version --url http://127.0.0.1:8899 >/dev/null 2>&1 && break; sleep 1; done
solana airdrop 100 "$address" --url http://127.0.0.1:8899 >/dev/null
echo "== deploy (first run) =="
(cd app && npm run --silent deploy -- "$config" --rpc http://127.0.0.1:8899 --wallet "$wallet")
echo "== deploy (second run: must change nothing) =="
(cd app && npm run --silent deploy -- "$config" --rpc http://127.0.0.1:8899 --wallet "$wallet")
market=$(node -e 'const k=require("@solana/web3.js").Keypair.fromSecretKey(Uint8Array.from(JSON.parse(require("fs").readFileSync(process.argv[1]))));console.log(k.publicKey.toBase58())' "$dir/accounts/market.json" 2>/dev/null || true)
echo "market $market; validator log in $dir/validator.log"
echo "== the TypeScript client's scenario over JSON-RPC =="
(cd app && npx tsx ts/src/localnet-scenario.ts http://127.0.0.1:8899 "$wallet" "$dir/accounts")
echo "== one keeper pass over RPC (nothing to liquidate) =="
cargo run -q --release -p solvent-app --bin solvent-keeper -- --url http://127.0.0.1:8899 --market "$market" --keypair "$wallet" --passes 1
