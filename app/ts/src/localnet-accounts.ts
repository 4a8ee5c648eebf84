// Writes what a fresh solana-test-validator needs for the deploy script, as --account files:
// two SPL Token mints (authority: the wallet) and two Pyth PriceUpdateV2 accounts owned by the
// receiver program (SOL $150, USDC $1, published at `now`), plus the deploy config naming them.
//   tsx ts/src/localnet-accounts.ts <out dir> <wallet address> [unix time]
import { Keypair } from '@solana/web3.js';
import { address } from '@solana/kit';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTH_RECEIVER_PROGRAM_ID, TOKEN_PROGRAM_ID } from './index.ts';
import { mintData, priceUpdateV2Data } from './accounts.ts';

const [outDir, wallet, time] = process.argv.slice(2);
if (!outDir || !wallet) {
  console.error('usage: localnet-accounts.ts <out dir> <wallet address> [unix time]');
  process.exit(2);
}
const now = BigInt(time ?? Math.floor(Date.now() / 1000));
mkdirSync(outDir, { recursive: true });

function accountFile(name: string, owner: string, data: Uint8Array): string {
  const pubkey = Keypair.generate().publicKey.toBase58();
  const path = join(outDir, `${name}.json`);
  const lamports = 1_000_000_000;
  writeFileSync(
    path,
    JSON.stringify({ pubkey, account: { lamports, data: [Buffer.from(data).toString('base64'), 'base64'], owner, executable: false, rentEpoch: 0, space: data.length } }),
  );
  return pubkey;
}

const solMint = accountFile('sol-mint', TOKEN_PROGRAM_ID, mintData(9, address(wallet)));
const usdcMint = accountFile('usdc-mint', TOKEN_PROGRAM_ID, mintData(6, address(wallet)));
const solOracle = accountFile('sol-price', PYTH_RECEIVER_PROGRAM_ID, priceUpdateV2Data(new Uint8Array(32).fill(0xef), 15_000_000_000n, 15_000_000_000n, -8, now));
const usdcOracle = accountFile('usdc-price', PYTH_RECEIVER_PROGRAM_ID, priceUpdateV2Data(new Uint8Array(32).fill(0xea), 1_000_000n, 1_000_000n, -6, now));
writeFileSync(join(outDir, 'market.json'), JSON.stringify([...Keypair.generate().secretKey]));
const base = JSON.parse(
  (await import('node:fs')).readFileSync(new URL('../../../migrations/localnet.json', import.meta.url), 'utf8'),
);
base.marketKeypair = 'market.json';
base.reserves[0] = { ...base.reserves[0], mint: solMint, oracle: solOracle };
base.reserves[1] = { ...base.reserves[1], mint: usdcMint, oracle: usdcOracle };
writeFileSync(join(outDir, 'config.json'), JSON.stringify(base, null, 2));
console.log(join(outDir, 'config.json'));
