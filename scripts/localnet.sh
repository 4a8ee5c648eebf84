#!/usr/bin/env bash
# Localnet: a real local Solana network with the program deployed and a market with SOL and USDC
# reserves created by the deploy script over JSON-RPC (run twice: the second run must change
# nothing), the TypeScript client's scenario over JSON-RPC, then one keeper pass over RPC.
#   ./scripts/localnet.sh            # leaves the network running; stop it with: kill $(cat target/localnet/validator.pid)
#   LOCALNET_STOP=1 ./scripts/localnet.sh   # stops it at the end (the tests run it so)
# The network is solana-test-validator when the Solana CLI is on PATH, otherwise solvent-localnet
# (localnet/: Surfpool's Surfnet embedded in a Rust binary, offline; built here on first use), so
# nothing beyond the README's set-up is needed. Needs Node.js; the wallet is
# $SOLANA_WALLET or ~/.config/solana/id.json (created for the Surfnet if missing).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[ -f target/deploy/solvent.so ] || ./scripts/build-sbf.sh
(cd app && npm install --no-audit --no-fund --loglevel=error)
wallet=${SOLANA_WALLET:-$HOME/.config/solana/id.json}
dir=$ROOT/target/localnet
rm -rf "$dir" && mkdir -p "$dir"
node_address='const k=require("@solana/web3.js").Keypair.fromSecretKey(Uint8Array.from(JSON.parse(require("fs").readFileSync(process.argv[1]))));console.log(k.publicKey.toBase58())'
if command -v solana-test-validator >/dev/null 2>&1 && command -v solana >/dev/null 2>&1 && [ -z "${LOCALNET_SURFNET:-}" ]; then
  network=solana-test-validator
  address=$(solana address --keypair "$wallet")
else
  network=surfnet
  if [ ! -f "$wallet" ]; then
    mkdir -p "$(dirname "$wallet")"
    (cd app && node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify([...require("@solana/web3.js").Keypair.generate().secretKey]))' "$wallet")
  fi
  address=$(cd app && node -e "$node_address" "$wallet")
fi
config=$(cd app && npx tsx ts/src/localnet-accounts.ts "$dir/accounts" "$address")
program_id=$(cd app && node -e 'console.log(JSON.parse(require("fs").readFileSync("idl/solvent.json")).address)')
if [ "$network" = solana-test-validator ]; then
  accounts=()
  for file in "$dir"/accounts/*-mint.json "$dir"/accounts/*-price.json; do
    accounts+=(--account "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).pubkey)' "$file")" "$file")
  done
  solana-test-validator --reset --quiet --ledger "$dir/ledger" "${accounts[@]}" > "$dir/validator.log" 2>&1 &
  echo $! > "$dir/validator.pid"
  url=http://127.0.0.1:8899
  for _ in $(seq 1 60); do solana cluster-version --url "$url" >/dev/null 2>&1 && break; sleep 1; done
  solana airdrop 100 "$address" --url "$url" >/dev/null
else
  binary=$CARGO_TARGET_DIR/debug/solvent-localnet
  [ -x "$binary" ] || cargo build -q --locked --manifest-path localnet/Cargo.toml --target-dir "$CARGO_TARGET_DIR"
  "$binary" --program-id "$program_id" --so target/deploy/solvent.so --accounts "$dir/accounts" --airdrop "$address" > "$dir/endpoints.json" 2> "$dir/validator.log" &
  echo $! > "$dir/validator.pid"
  for _ in $(seq 1 120); do [ -s "$dir/endpoints.json" ] && break; kill -0 "$(cat "$dir/validator.pid")" 2>/dev/null || { cat "$dir/validator.log" >&2; exit 1; }; sleep 0.5; done
  url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).rpc)' "$dir/endpoints.json")
fi
[ -n "${LOCALNET_STOP:-}" ] && trap 'kill $(cat "$dir/validator.pid") 2>/dev/null || true' EXIT
echo "== $network at $url =="
echo "== deploy (first run) =="
(cd app && npm run --silent deploy -- "$config" --rpc "$url" --wallet "$wallet")
echo "== deploy (second run: must change nothing) =="
(cd app && npm run --silent deploy -- "$config" --rpc "$url" --wallet "$wallet")
market=$(cd app && node -e "$node_address" "$dir/accounts/market.json")
echo "market $market; network log in $dir/validator.log"
echo "== the TypeScript client's scenario over JSON-RPC =="
(cd app && npx tsx ts/src/localnet-scenario.ts "$url" "$wallet" "$dir/accounts")
echo "== one keeper pass over RPC (nothing to liquidate) =="
cargo run -q --locked -p solvent-app --bin solvent-keeper -- --url "$url" --market "$market" --keypair "$wallet" --passes 1
