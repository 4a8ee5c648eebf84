import { join } from 'node:path';
import { spawn } from 'node:child_process';
// A LiteSVM chain with the built program and SPL Token, and account builders for tests.
import {
  addSignersToTransactionMessage,
  appendTransactionMessageInstructions,
  createTransactionMessage,
  generateKeyPairSigner,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Instruction,
  type KeyPairSigner,
  type TransactionSigner,
} from '@solana/kit';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROGRAM_ID, PYTH_RECEIVER_PROGRAM_ID, TOKEN_PROGRAM_ID, customErrorCode, getDepositInstruction, programError } from '../src/index.ts';
import { mintData, priceUpdateV2Data, tokenAccountData } from '../src/accounts.ts';

export const SO_PATH = fileURLToPath(new URL('../../../target/deploy/solvent.so', import.meta.url));

import type { ScenarioChain, Sent } from '../src/scenario.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { RpcScenarioChain } from '../src/rpc-chain.ts';

export class Chain {
  svm: LiteSVM;
  payer!: KeyPairSigner;

  private constructor(withProgram: boolean) {
    if (!existsSync(SO_PATH)) throw new Error(`${SO_PATH} is missing: run scripts/build-sbf.sh first`);
    this.svm = new LiteSVM();
    if (withProgram) this.svm.addProgramFromFile(PROGRAM_ID, SO_PATH);
  }

  /** A new chain with the program loaded (or not, for the deploy script to load). */
  static async start(withProgram = true): Promise<Chain> {
    const chain = new Chain(withProgram);
    chain.payer = await generateKeyPairSigner();
    chain.svm.airdrop(chain.payer.address, lamports(1_000_000_000_000n));
    return chain;
  }

  now(): bigint {
    return this.svm.getClock().unixTimestamp;
  }

  /** Moves to a later slot and unix time (refreshes are per slot). */
  advance(seconds: bigint) {
    const clock = this.svm.getClock();
    clock.slot += 1n;
    clock.unixTimestamp += seconds;
    this.svm.setClock(clock);
    this.svm.expireBlockhash();
  }

  async send(instructions: Instruction[], signers: TransactionSigner[] = []): Promise<Sent> {
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(this.payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: this.svm.latestBlockhash(), lastValidBlockHeight: 0n }, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
      (m) => addSignersToTransactionMessage(signers, m),
    );
    const tx = await signTransactionMessageWithSigners(message);
    const result = this.svm.sendTransaction(tx);
    this.svm.expireBlockhash();
    if (result instanceof FailedTransactionMetadata) {
      const logs = result.meta().logs();
      const error = result.toString();
      const code = customErrorCode(error) ?? customErrorCode(logs.join('\n'));
      return { ok: false, error, code, name: code === undefined ? undefined : programError(code)?.name, logs };
    }
    return { ok: true, computeUnits: result.computeUnitsConsumed(), logs: result.logs() };
  }

  async mustSend(instructions: Instruction[], signers: TransactionSigner[] = []) {
    const sent = await this.send(instructions, signers);
    if (!sent.ok) throw new Error(`transaction failed: ${sent.error} ${sent.name ?? ''}\n${sent.logs.join('\n')}`);
    return sent;
  }

  setAccount(address: Address, owner: Address, data: Uint8Array) {
    this.svm.setAccount({
      address,
      data,
      executable: false,
      lamports: lamports(this.svm.minimumBalanceForRentExemption(BigInt(data.length))),
      programAddress: owner,
      space: BigInt(data.length),
    });
  }

  data(address: Address): Uint8Array {
    const account = this.svm.getAccount(address);
    if (!account.exists) throw new Error(`no account ${address}`);
    return account.data as Uint8Array;
  }

  tokenBalance(account: Address): bigint {
    return new DataView(this.data(account).buffer, this.data(account).byteOffset).getBigUint64(64, true);
  }

  /** An SPL Token mint with `authority`, written directly. */
  async createMint(decimals: number, authority: Address): Promise<Address> {
    const mint = (await generateKeyPairSigner()).address;
    this.setAccount(mint, TOKEN_PROGRAM_ID, mintData(decimals, authority));
    return mint;
  }

  /** An initialized SPL Token account holding `amount`, written directly. */
  async createTokenAccount(mint: Address, owner: Address, amount: bigint): Promise<Address> {
    const account = (await generateKeyPairSigner()).address;
    this.setAccount(account, TOKEN_PROGRAM_ID, tokenAccountData(mint, owner, amount));
    return account;
  }

  /** A fully verified Pyth PriceUpdateV2 account (the receiver program's layout), published now. */
  setPriceUpdate(account: Address, feedId: Uint8Array, price: bigint, emaPrice: bigint, exponent: number, confidence = 0n) {
    this.setAccount(account, PYTH_RECEIVER_PROGRAM_ID, priceUpdateV2Data(feedId, price, emaPrice, exponent, this.now(), confidence));
  }
}

export { reserveConfig };

/** The LiteSVM chain of the tests as a ScenarioChain: accounts are written directly. */
export function liteSvmScenarioChain(chain: Chain): ScenarioChain {
  return {
    payer: chain.payer,
    send: (instructions, signers) => chain.send(instructions, signers),
    data: async (address) => chain.data(address),
    fund: async (address) => void chain.svm.airdrop(address, 10_000_000_000n as never),
    createMint: (decimals) => chain.createMint(decimals, chain.payer.address),
    createTokenAccount: (mint, owner, amount) => chain.createTokenAccount(mint, owner, amount),
    tokenBalance: async (account) => chain.tokenBalance(account),
    priceAccount: async (feed, price, exponent) => {
      const account = (await generateKeyPairSigner()).address;
      chain.setPriceUpdate(account, feed, price, price, exponent);
      return account;
    },
    publishPrice: async (account, feed, price, exponent) => {
      chain.advance(10n);
      chain.setPriceUpdate(account, feed, price, price, exponent);
    },
  };
}

/** The two-asset market most tests start from, on `chain`: SOL (9 decimals, $150) and USDC
 *  (6 decimals, $1, LTV 85%, threshold 90%) on pull oracles, and a lender who supplied 100,000
 *  USDC as collateral in its obligation. */
export async function solUsdcMarket(chain: Chain) {
  const svm = liteSvmScenarioChain(chain);
  return { svm, ...(await solUsdcMarketOn(svm)) };
}

/** `solUsdcMarket` on any `ScenarioChain` (LiteSVM, or a Surfnet over RPC: `surfnetChain`). */
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

/** Runs `binary` with `args` to its end: exit code and everything it printed. */
export function runBinary(binary: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, args);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A real local network for a test: the solvent-localnet binary (an offline Surfnet, Surfpool's
 *  validator: full JSON-RPC and WebSocket) with the built .so deployed and `airdrop` funded.
 *  It exits when this process closes its standard input (`stop()`, or this process dying). */
export async function startLocalnet(airdrop: Address[]): Promise<{ rpc: string; ws: string; stop: () => void }> {
  const binary = cargoBinary('solvent-localnet');
  const { IDL } = await import('../src/idl.ts');
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
