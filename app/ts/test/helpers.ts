import { join } from 'node:path';
import { spawn } from 'node:child_process';
// A LiteSVM chain with the built program and SPL Token, and account builders for tests.
import {
  addSignersToTransactionMessage,
  appendTransactionMessageInstructions,
  createSolanaRpc,
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
  type Signature,
  type TransactionSigner,
} from '@solana/kit';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROGRAM_ID, PYTH_RECEIVER_PROGRAM_ID, TOKEN_PROGRAM_ID, customErrorCode, getDepositInstruction, programError } from '../src/index.ts';
import { mintData, priceUpdateV2Data, tokenAccountData } from '../src/accounts.ts';

export { SO_PATH, cargoBinary, solHolder, solUsdcMarketOn, standInSwap, startLocalnet, surfnetChain } from '../src/surfnet.ts';
import { SO_PATH, solUsdcMarketOn } from '../src/surfnet.ts';

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


/** `chain.send` (any `ScenarioChain`: the RPC one over a Surfnet), throwing with the program's
 *  error and the logs when the transaction fails: `Chain.mustSend` for chains without it. */
export async function mustSendOn(chain: ScenarioChain, instructions: Instruction[], signers: TransactionSigner[] = []): Promise<Sent> {
  const sent = await chain.send(instructions, signers);
  if (!sent.ok) throw new Error(`transaction failed: ${sent.error} ${sent.name ?? ''}\n${sent.logs.join('\n')}`);
  return sent;
}

/** SOL at $150 and USDC at $1 published again (at the Surfnet's clock now) into the price
 *  accounts of `surfnetChain`: the reserves take prices at most 60 s old, and a file whose tests
 *  share one Surfnet runs longer than that. */
export async function freshSolUsdcPrices(chain: RpcScenarioChain, solOracle: Address, usdcOracle: Address) {
  await chain.publishOnSurfnet(solOracle, SOL_FEED, 15_000_000_000n, -8);
  await chain.publishOnSurfnet(usdcOracle, USDC_FEED, 1_000_000n, -6);
}

/** A confirmed transaction as the network reports it (getTransaction): its slot, the compute
 *  units it consumed and its logs. */
export async function confirmedTransaction(url: string, signature: Signature): Promise<{ slot: bigint; computeUnits: number; logs: string[] }> {
  const found = await createSolanaRpc(url).getTransaction(signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0, encoding: 'json' }).send();
  if (!found) throw new Error(`no confirmed transaction ${signature}`);
  const units = found.meta?.computeUnitsConsumed;
  if (units === undefined || units === null) throw new Error(`transaction ${signature}: no computeUnitsConsumed`);
  return { slot: found.slot, computeUnits: Number(units), logs: [...(found.meta?.logMessages ?? [])] };
}
