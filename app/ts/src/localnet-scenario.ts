// The client's scenario over JSON-RPC, for scripts/localnet.sh:
//   tsx ts/src/localnet-scenario.ts <rpc url> <wallet keypair file> <accounts dir>
// The prices are the PriceUpdateV2 accounts preloaded into the validator (localnet-accounts.ts),
// which a solana-test-validator cannot update: the reserves accept a day-old price, and the price
// move and the liquidation are left to the LiteSVM run (npm test). A Surfnet (solvent-localnet)
// rewrites them on request (surfnet_setAccount), so there the whole scenario runs over RPC, the
// liquidation included.
import { createKeyPairSignerFromBytes, type Address } from '@solana/kit';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RpcScenarioChain } from './rpc-chain.ts';
import { runScenario } from './scenario.ts';

const [url, walletPath, accountsDir] = process.argv.slice(2);
if (!url || !walletPath || !accountsDir) {
  console.error('usage: localnet-scenario.ts <rpc url> <wallet keypair file> <accounts dir>');
  process.exit(2);
}
const payer = await createKeyPairSignerFromBytes(new Uint8Array(JSON.parse(readFileSync(walletPath, 'utf8'))));
const preloaded = (name: string) => JSON.parse(readFileSync(join(accountsDir, `${name}.json`), 'utf8')).pubkey as Address;
const prices = new Map([
  [0xef, preloaded('sol-price')],
  [0xea, preloaded('usdc-price')],
]);
const chain = new RpcScenarioChain(url, payer, prices);
// On a Surfnet the prices move (the account rewritten) and the liquidation runs over RPC too.
const publishPrice = (await RpcScenarioChain.writesAccounts(url)) ? chain.publishOnSurfnet.bind(chain) : undefined;
await runScenario(Object.assign(chain, { publishPrice }), (line) => console.log(`scenario: ${line}`), 86_400);
console.log('scenario: passed over JSON-RPC');
