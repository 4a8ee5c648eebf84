// A real local network for the tests and the demo: the `solvent-localnet` binary (an offline
// Surfnet, Surfpool's validator, with the built .so deployed), an RPC ScenarioChain on it with
// its two price accounts, and the SOL/USDC market the tests and the demo use. A Node tool of this
// repository, not part of the package.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSigner, getBase58Encoder, type Address, type KeyPairSigner } from '@solana/kit';
import { getDepositInstruction } from '../generated/index.ts';
import { OracleSwapStandIn } from './leverage.ts';
import { IDL } from './idl.ts';
import { RpcScenarioChain } from './rpc-chain.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED, type ScenarioChain } from './scenario.ts';

/** The built program (`scripts/build-sbf.sh`). */
export const SO_PATH = fileURLToPath(new URL('../../../target/deploy/solvent.so', import.meta.url));

/** A SOL ($150, LTV 75%, threshold 80%) and USDC ($1, 85% / 90%) market on any `ScenarioChain`
 *  (LiteSVM, or a Surfnet over RPC: `surfnetChain`), with a lender's 100,000 USDC. */
export async function solUsdcMarketOn(chain: ScenarioChain) {
  const market = await createMarket(chain);
  const sol = await listReserve(chain, market, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
  const usdc = await listReserve(chain, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ loanToValueBps: 8_500, liquidationThresholdBps: 9_000 }));
  const oracleOf = (reserve: Address) => (reserve === sol.reserve ? sol.oracle : usdc.oracle);
  const lender = await newObligation(chain, market);
  const supplied = 100_000_000_000n;
  const lenderUsdc = await chain.createTokenAccount(usdc.mint, lender.signer.address, supplied);
  const sent = await chain.send([getDepositInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: lender.obligation, owner: lender.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: lenderUsdc, amount: supplied })], [lender.signer]);
  if (!sent.ok) throw new Error(`the lender's deposit failed: ${sent.error}\n${sent.logs.join('\n')}`);
  return { market, sol, usdc, oracleOf, lender, lenderUsdc };
}

/** An RPC chain on a Surfnet (`startLocalnet`) paid by `payer`, with a SOL ($150) and a USDC ($1)
 *  PriceUpdateV2 account written by the Surfnet, which `listReserve` on it uses. */
export async function surfnetChain(rpc: string, payer: KeyPairSigner) {
  const prices = new Map<number, Address>();
  const chain = new RpcScenarioChain(rpc, payer, prices);
  for (const [feed, price, exponent] of [[SOL_FEED, 15_000_000_000n, -8], [USDC_FEED, 1_000_000n, -6]] as const) {
    const oracle = (await generateKeyPairSigner()).address;
    await chain.publishOnSurfnet(oracle, feed, price, exponent);
    prices.set(feed[0], oracle);
  }
  return { chain, solOracle: prices.get(SOL_FEED[0])!, usdcOracle: prices.get(USDC_FEED[0])! };
}

/** A built Rust binary of the workspace (scripts/test.sh builds them), by name. */
export function cargoBinary(name: string): string {
  const targetDir = process.env.CARGO_TARGET_DIR ?? fileURLToPath(new URL('../../../target', import.meta.url));
  return join(targetDir, 'debug', name);
}

/** A real local network for a test: the solvent-localnet binary (an offline Surfnet, Surfpool's
 *  validator: full JSON-RPC and WebSocket) with the built .so deployed and `airdrop` funded.
 *  It exits when this process closes its standard input (`stop()`, or this process dying). For the
 *  tests and the demo. */
export async function startLocalnet(airdrop: Address[]): Promise<{ rpc: string; ws: string; stop: () => void }> {
  const binary = cargoBinary('solvent-localnet');
  
  const child = spawn(binary, ['--program-id', IDL.address, '--so', SO_PATH, '--stdin', ...airdrop.flatMap((a) => ['--airdrop', a])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('close', (code) => reject(new Error(`solvent-localnet exited (${code}) before serving: ${errors}`)));
  });
  const { rpc, ws } = JSON.parse(line) as { rpc: string; ws: string };
  return { rpc, ws, stop: () => child.stdin.end() };
}

type SolUsdcMarket = Awaited<ReturnType<typeof solUsdcMarketOn>>;

/** A new obligation owner of the market holding `lamports` of SOL and no USDC in token accounts
 *  the chain creates; with `deposit`, the SOL is deposited as collateral. */
export async function solHolder(chain: ScenarioChain, { market, sol, usdc }: SolUsdcMarket, lamports: bigint, deposit: boolean) {
  const { signer, obligation } = await newObligation(chain, market);
  const solAccount = await chain.createTokenAccount(sol.mint, signer.address, lamports);
  const usdcAccount = await chain.createTokenAccount(usdc.mint, signer.address, 0n);
  if (deposit) {
    const ix = getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation, owner: signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: solAccount, amount: lamports });
    const sent = await chain.send([ix], [signer]);
    if (!sent.ok) throw new Error(`the deposit failed: ${sent.error}\n${sent.logs.join('\n')}`);
  }
  return { owner: signer, obligation, solAccount, usdcAccount };
}

/** The stand-in swap (`OracleSwapStandIn`, 0.3% under the oracle price) with a funded maker
 *  holding 1,000 SOL and 1,000,000 USDC, for leverage on the market. */
export async function standInSwap(chain: ScenarioChain, { sol, usdc }: SolUsdcMarket): Promise<OracleSwapStandIn> {
  const maker = await generateKeyPairSigner();
  await chain.fund(maker.address);
  const makerAccounts = new Map([
    [sol.mint, await chain.createTokenAccount(sol.mint, maker.address, 1_000_000_000_000n)],
    [usdc.mint, await chain.createTokenAccount(usdc.mint, maker.address, 1_000_000_000_000n)],
  ]);
  return new OracleSwapStandIn(maker, makerAccounts, 30n);
}

/** The address lookup table program. */
export const ADDRESS_LOOKUP_TABLE_PROGRAM = 'AddressLookupTab1e1111111111111111111111111' as Address;

/** An active address lookup table holding `addresses`, written by the Surfnet (the program's
 *  layout: a 56-byte header, then the addresses); returns its address. */
export async function writeLookupTable(chain: RpcScenarioChain, authority: Address, addresses: Address[]): Promise<Address> {
  const table = (await generateKeyPairSigner()).address;
  const data = new Uint8Array(56 + 32 * addresses.length);
  const view = new DataView(data.buffer);
  view.setUint32(0, 1, true); // ProgramState::LookupTable
  view.setBigUint64(4, 2n ** 64n - 1n, true); // not deactivated
  view.setBigUint64(12, 0n, true); // last extended in slot 0
  data[21] = 0;
  data[22] = 1; // an authority
  data.set(getBase58Encoder().encode(authority), 23);
  addresses.forEach((a, i) => data.set(getBase58Encoder().encode(a), 56 + 32 * i));
  await chain.writeOnSurfnet(table, ADDRESS_LOOKUP_TABLE_PROGRAM, data);
  return table;
}
