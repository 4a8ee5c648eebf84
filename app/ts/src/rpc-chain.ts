// `ScenarioChain` over JSON-RPC (a solana-test-validator, devnet): mints and token accounts
// are created with real System and SPL Token instructions; prices come from PriceUpdateV2
// accounts that already exist on the cluster (preloaded on localnet).
import { getCreateAccountInstruction } from '@solana-program/system';
import { getInitializeAccount3Instruction, getInitializeMint2Instruction, getMintToInstruction } from '@solana-program/token';
import {
  addSignersToTransactionMessage,
  appendTransactionMessageInstructions,
  createSolanaRpc,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
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
import { PYTH_RECEIVER_PROGRAM_ID, TOKEN_PROGRAM_ID, customErrorCode, programError } from './index.ts';
import { priceUpdateV2Data } from './accounts.ts';
import type { ScenarioChain, Sent } from './scenario.ts';

type Rpc = ReturnType<typeof createSolanaRpc>;

/** Signs with the payer (and `signers`), sends, and waits for confirmation; failures come back
 *  with the program's error name and the logs. Shared by the scenario and the deploy script. */
export async function sendOverRpc(rpc: Rpc, payer: KeyPairSigner, instructions: Instruction[], signers: TransactionSigner[] = []): Promise<Sent> {
  const { value: blockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
    (m) => addSignersToTransactionMessage(signers, m),
  );
  const tx = await signTransactionMessageWithSigners(message);
  const signature = getSignatureFromTransaction(tx);
  try {
    await rpc.sendTransaction(getBase64EncodedWireTransaction(tx), { encoding: 'base64', skipPreflight: true }).send();
  } catch (error) {
    return { ok: false, error: String(error), logs: [] };
  }
  for (let i = 0; i < 120; i++) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const status = value[0];
    if (status && (status.err || status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')) {
      const details = await rpc.getTransaction(signature, { commitment: 'confirmed', maxSupportedTransactionVersion: 0, encoding: 'json' }).send();
      const logs = [...(details?.meta?.logMessages ?? [])];
      if (!status.err) return { ok: true, logs };
      const error = JSON.stringify(status.err, (_, v) => (typeof v === 'bigint' ? Number(v) : v));
      const code = customErrorCode(error) ?? customErrorCode(logs.join('\n'));
      return { ok: false, error, code, name: code === undefined ? undefined : programError(code)?.name, logs };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { ok: false, error: `transaction ${signature} not confirmed in 30 s`, logs: [] };
}

/** One JSON-RPC call of a method kit's typed RPC does not know (Surfpool's cheatcodes); throws
 *  the server's error. */
async function surfnetCall(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const reply = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
  return reply.result;
}

export class RpcScenarioChain implements ScenarioChain {
  private rpc: Rpc;
  constructor(
    readonly url: string,
    readonly payer: KeyPairSigner,
    /** Existing PriceUpdateV2 accounts, by the first byte of their feed id. */
    private prices: Map<number, Address>,
  ) {
    this.rpc = createSolanaRpc(url);
  }

  send(instructions: Instruction[], signers: TransactionSigner[] = []): Promise<Sent> {
    return sendOverRpc(this.rpc, this.payer, instructions, signers);
  }

  private async mustSend(instructions: Instruction[], signers: TransactionSigner[] = []) {
    const sent = await this.send(instructions, signers);
    if (!sent.ok) throw new Error(`transaction failed: ${sent.error}\n${sent.logs.join('\n')}`);
  }

  async data(address: Address) {
    const { value } = await this.rpc.getAccountInfo(address, { encoding: 'base64', commitment: 'confirmed' }).send();
    if (!value) throw new Error(`no account ${address}`);
    return new Uint8Array(Buffer.from(value.data[0], 'base64'));
  }

  async fund(address: Address) {
    await this.mustSend([
      {
        programAddress: '11111111111111111111111111111111' as Address,
        accounts: [
          { address: this.payer.address, role: 3, signer: this.payer },
          { address, role: 1 },
        ],
        data: (() => {
          const data = new Uint8Array(12);
          const view = new DataView(data.buffer);
          view.setUint32(0, 2, true); // SystemInstruction::Transfer
          view.setBigUint64(4, 100_000_000n, true);
          return data;
        })(),
      } as Instruction,
    ]);
  }

  private async rent(space: number) {
    return lamports(await this.rpc.getMinimumBalanceForRentExemption(BigInt(space)).send());
  }

  async createMint(decimals: number) {
    const mint = await generateKeyPairSigner();
    await this.mustSend([
      getCreateAccountInstruction({ payer: this.payer, newAccount: mint, lamports: await this.rent(82), space: 82, programAddress: TOKEN_PROGRAM_ID }),
      getInitializeMint2Instruction({ mint: mint.address, decimals, mintAuthority: this.payer.address }),
    ]);
    return mint.address;
  }

  async createTokenAccount(mint: Address, owner: Address, amount: bigint) {
    const account = await generateKeyPairSigner();
    const instructions: Instruction[] = [
      getCreateAccountInstruction({ payer: this.payer, newAccount: account, lamports: await this.rent(165), space: 165, programAddress: TOKEN_PROGRAM_ID }),
      getInitializeAccount3Instruction({ account: account.address, mint, owner }),
    ];
    if (amount > 0n) instructions.push(getMintToInstruction({ mint, token: account.address, mintAuthority: this.payer, amount }));
    await this.mustSend(instructions);
    return account.address;
  }

  async tokenBalance(account: Address) {
    const data = await this.data(account);
    return new DataView(data.buffer, data.byteOffset).getBigUint64(64, true);
  }

  /** Whether the cluster writes accounts on request (Surfpool's `surfnet_setAccount`
   *  cheatcode): a Surfnet does, solana-test-validator and public clusters do not. */
  static async writesAccounts(url: string): Promise<boolean> {
    const probe = (await generateKeyPairSigner()).address;
    const reply = await surfnetCall(url, 'surfnet_setAccount', [probe, { lamports: 1 }]).catch(() => undefined);
    return reply !== undefined;
  }

  /** On a Surfnet only (`writesAccounts`): the PriceUpdateV2 account rewritten with `price`
   *  (spot and EMA), published at the cluster's clock, as Pyth's receiver would post it. */
  async publishOnSurfnet(account: Address, feed: Uint8Array, price: bigint, exponent: number) {
    await this.writeOnSurfnet(account, PYTH_RECEIVER_PROGRAM_ID, priceUpdateV2Data(feed, price, price, exponent, await this.clock()));
  }

  /** On a Surfnet only: `address` written with `data`, owned by `owner` (rent-exempt lamports). */
  async writeOnSurfnet(address: Address, owner: Address, data: Uint8Array) {
    const lamports = await this.rent(data.length);
    await surfnetCall(this.url, 'surfnet_setAccount', [address, { lamports: Number(lamports), owner, data: Buffer.from(data).toString('hex') }]);
  }

  /** The cluster's unix time (the Clock sysvar). */
  async clock(): Promise<bigint> {
    const clock = await this.data('SysvarC1ock11111111111111111111111111111111' as Address);
    // Clock: slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp (i64 LE).
    return new DataView(clock.buffer, clock.byteOffset).getBigInt64(32, true);
  }

  /** On a Surfnet only: moves the cluster's clock `seconds` ahead (Surfpool's
   *  `surfnet_timeTravel`, whose absolute target is in milliseconds). */
  async timeTravel(seconds: bigint) {
    const from = BigInt(Math.max(Date.now(), Number(await this.clock()) * 1000));
    await surfnetCall(this.url, 'surfnet_timeTravel', [{ absoluteTimestamp: Number(from + seconds * 1000n) }]);
  }

  async priceAccount(feed: Uint8Array) {
    const found = this.prices.get(feed[0]);
    if (!found) throw new Error(`no preloaded PriceUpdateV2 account for feed ${feed[0].toString(16)}…`);
    return found;
  }
}
