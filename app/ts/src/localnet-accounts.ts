// Writes what a fresh solana-test-validator needs for the deploy script, as --account files:
// two SPL Token mints (authority: the wallet) and two Pyth PriceUpdateV2 accounts owned by the
// receiver program (SOL $150, USDC $1, published at `now`), plus the deploy config naming them.
//   tsx ts/src/localnet-accounts.ts <out dir> <wallet address> [unix time]
import { Keypair, PublicKey } from '@solana/web3.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTH_RECEIVER_PROGRAM_ID, TOKEN_PROGRAM_ID } from './index.ts';

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

function mint(decimals: number): Uint8Array {
  const data = new Uint8Array(82);
  data.set([1, 0, 0, 0], 0);
  data.set(new PublicKey(wallet).toBytes(), 4);
  data[44] = decimals;
  data[45] = 1;
  return data;
}

function priceUpdate(feed: number, price: bigint, exponent: number): Uint8Array {
  const data = new Uint8Array(134);
  const view = new DataView(data.buffer);
  data.set([34, 241, 35, 99, 157, 126, 244, 205], 0);
  data[40] = 1;
  data.fill(feed, 41, 73);
  view.setBigInt64(73, price, true);
  view.setInt32(89, exponent, true);
  view.setBigInt64(93, now, true);
  view.setBigInt64(101, now - 1n, true);
  view.setBigInt64(109, price, true);
  return data;
}

const solMint = accountFile('sol-mint', TOKEN_PROGRAM_ID, mint(9));
const usdcMint = accountFile('usdc-mint', TOKEN_PROGRAM_ID, mint(6));
const solOracle = accountFile('sol-price', PYTH_RECEIVER_PROGRAM_ID, priceUpdate(0xef, 15_000_000_000n, -8));
const usdcOracle = accountFile('usdc-price', PYTH_RECEIVER_PROGRAM_ID, priceUpdate(0xea, 1_000_000n, -6));
writeFileSync(join(outDir, 'market.json'), JSON.stringify([...Keypair.generate().secretKey]));
const base = JSON.parse(
  (await import('node:fs')).readFileSync(new URL('../../../migrations/localnet.json', import.meta.url), 'utf8'),
);
base.marketKeypair = 'market.json';
base.reserves[0] = { ...base.reserves[0], mint: solMint, oracle: solOracle };
base.reserves[1] = { ...base.reserves[1], mint: usdcMint, oracle: usdcOracle };
writeFileSync(join(outDir, 'config.json'), JSON.stringify(base, null, 2));
console.log(join(outDir, 'config.json'));
