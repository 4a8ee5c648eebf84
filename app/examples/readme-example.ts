// Deposit 10 SOL and borrow 500 USDC in one transaction, then read the position back.
//   npx tsx readme-example.ts RPC_URL MARKET SOL_MINT USDC_MINT OWNER_KEYPAIR.json
import { readFileSync } from 'node:fs';
import { createKeyPairSignerFromBytes, createSolanaRpc, type Address } from '@solana/kit';
import { depositAndBorrow, fetchAllReserve, fetchObligation, fetchObligationsOf, obligationReserves, readPosition, reserveAddress,
  sendSolventTransaction } from '@solvent/client';

const [url, market, solMint, usdcMint, keypairFile] = process.argv.slice(2) as [string, Address, Address, Address, string];
const rpc = createSolanaRpc(url);
const owner = await createKeyPairSignerFromBytes(new Uint8Array(JSON.parse(readFileSync(keypairFile, 'utf8'))));
const [obligation] = await fetchObligationsOf(rpc, market, owner.address); // getProgramAccounts by market and owner
if (!obligation) throw new Error(`${owner.address} has no obligation in ${market}: send init_obligation first`);

// Every account is resolved from the reserves; the borrow carries the position the deposit opens.
const instructions = await depositAndBorrow({ market, obligation, owner,
  deposit: { reserve: await reserveAddress(market, solMint), amount: 10_000_000_000n }, // from the owner's SOL token account (ATA)
  borrow: { reserve: await reserveAddress(market, usdcMint), amount: 500_000_000n } }, { rpc }); // to its USDC ATA

// The compute-unit limit sized by simulation; a refusal is thrown as a class (e.g. UserError
// 'BorrowTooLarge', RefreshAndRetryError 'OraclePriceStale') with the logs.
const { signature } = await sendSolventTransaction({ rpc, feePayer: owner, instructions });

const after = (await fetchObligation(rpc, obligation.address, { commitment: 'confirmed' })).data;
const reserves = new Map((await fetchAllReserve(rpc, obligationReserves(after), { commitment: 'confirmed' })).map((r) => [r.address, r.data]));
const { healthFactor, liquidationPrice } = readPosition(after, reserves); // the program's own valuation, in bigint
console.log(`deposited and borrowed in ${signature}: health factor ${healthFactor?.toFixed(3)}, liquidated if SOL falls below $${liquidationPrice?.toFixed(2)}`);
