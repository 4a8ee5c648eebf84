// Sending Solvent transactions with @solana/kit: the compute-unit limit sized from a simulation
// (the measured table of `computeUnitsFor` asks about 3.5 times what a transaction uses), then
// signed, sent and confirmed, over WebSocket subscriptions or by polling, a failure thrown as
// the `SolventError` its logs decode to.
//
// Default entry: @solana/kit only, no Node built-in.
import {
  addSignersToTransactionMessage,
  appendTransactionMessageInstructions,
  assertIsSendableTransaction,
  assertIsTransactionWithBlockhashLifetime,
  commitmentComparator,
  compileTransaction,
  compressTransactionMessageUsingAddressLookupTables,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  getSolanaErrorFromTransactionError,
  isSolanaError,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayer,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  SolanaError,
  SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  type AccountMeta,
  type Address,
  type AddressesByLookupTableAddress,
  type Blockhash,
  type Commitment,
  type GetEpochInfoApi,
  type GetLatestBlockhashApi,
  type GetSignatureStatusesApi,
  type GetTransactionApi,
  type Instruction,
  type Rpc,
  type RpcSubscriptions,
  type SendTransactionApi,
  type Signature,
  type SignatureNotificationsApi,
  type SimulateTransactionApi,
  type SlotNotificationsApi,
  type TransactionSigner,
} from '@solana/kit';
import { BORROW_DISCRIMINATOR, REFRESH_RESERVE_DISCRIMINATOR, WITHDRAW_DISCRIMINATOR } from '../generated/index.ts';
import { decodeSolventError, TransactionError, type SolventError } from './errors.ts';
import { IDL } from './idl.ts';

const SOLVENT_PROGRAM = IDL.address as Address;
const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111' as Address;
/** `ComputeBudgetInstruction::SetComputeUnitLimit`: this byte, then the limit as a u32 LE. */
const SET_COMPUTE_UNIT_LIMIT = 2;
/** Any blockhash: the simulation replaces it (`replaceRecentBlockhash`). */
const PLACEHOLDER_BLOCKHASH = { blockhash: '11111111111111111111111111111111' as Blockhash, lastValidBlockHeight: 0n };

/** The most compute units a transaction may ask for (the runtime's `MAX_COMPUTE_UNIT_LIMIT`). */
export const MAX_COMPUTE_UNIT_LIMIT = 1_400_000;

/** What `simulatedComputeUnitLimit` adds to the units a simulation consumed. The transaction
 *  runs later than the simulation, in another slot, and the program's refresh takes another
 *  path there: a reserve refreshed earlier in the simulated slot (by anyone) skips interest
 *  accrual, which the next slot runs (an inline borrow at 1+1 measured 13,283 CU in the slot of
 *  a refresh and 16,319 one slot later: about 1,500 per reserve), and the volatility estimator
 *  samples on some refreshes only (refresh_reserve 4,987 CU sampling against about 2,000:
 *  tests/compute-budget.txt). So: `perReserve` for every reserve the transaction refreshes, plus
 *  `percent` of the consumption for what scales with it (compounding over a longer gap, address
 *  comparisons that end at other bytes), plus `fixed`. */
export const COMPUTE_UNIT_MARGIN = { percent: 10, fixed: 1_000, perReserve: 3_000 } as const;

const hasPrefix = (data: ArrayLike<number> | undefined, prefix: ArrayLike<number>) =>
  !!data && data.length >= prefix.length && Array.from(prefix).every((byte, i) => data[i] === byte);
const isSetComputeUnitLimit = (ix: Instruction) => ix.programAddress === COMPUTE_BUDGET_PROGRAM && ix.data?.length === 5 && ix.data[0] === SET_COMPUTE_UNIT_LIMIT;
const writable = (meta: AccountMeta | undefined) => !!meta && (meta.role & 1) === 1;

/** How many reserves `instructions` refresh, as the program runs them: one per `refresh_reserve`,
 *  and for a `borrow` or `withdraw` laid out to revalue inline (`withInlineRefresh`), one per
 *  (reserve writable, oracle read-only) pair after its nine named accounts, plus the reserve
 *  acted on when only its oracle follows the pairs. */
export function reservesRefreshedBy(instructions: readonly Instruction[]): number {
  let count = 0;
  for (const ix of instructions) {
    if (ix.programAddress !== SOLVENT_PROGRAM) continue;
    if (hasPrefix(ix.data, REFRESH_RESERVE_DISCRIMINATOR)) count += 1;
    else if (hasPrefix(ix.data, BORROW_DISCRIMINATOR) || hasPrefix(ix.data, WITHDRAW_DISCRIMINATOR)) {
      const remaining = (ix.accounts ?? []).slice(9);
      let i = 0;
      while (i + 1 < remaining.length && writable(remaining[i]) && !writable(remaining[i + 1])) i += 2;
      const pairs = i / 2;
      // No pair: the separate layout (position reserves read-only, refreshed by refresh_reserve).
      if (pairs > 0) count += pairs + (i < remaining.length && !writable(remaining[i]) ? 1 : 0);
    }
  }
  return count;
}

/** The limit for a transaction whose simulation consumed `unitsConsumed`: that plus
 *  `COMPUTE_UNIT_MARGIN` (its percent rounded up, `perReserve` times `reservesRefreshedBy`),
 *  at most `MAX_COMPUTE_UNIT_LIMIT`. */
export function simulatedComputeUnitLimit(unitsConsumed: number, instructions: readonly Instruction[]): number {
  const { percent, fixed, perReserve } = COMPUTE_UNIT_MARGIN;
  const limit = unitsConsumed + Math.ceil((unitsConsumed * percent) / 100) + fixed + perReserve * reservesRefreshedBy(instructions);
  return Math.min(limit, MAX_COMPUTE_UNIT_LIMIT);
}

/** The compute-unit limit `instructions` set (their last SetComputeUnitLimit, as the runtime
 *  takes it), if any. */
export function computeUnitLimitOf(instructions: readonly Instruction[]): number | undefined {
  const found = instructions.filter(isSetComputeUnitLimit).pop();
  return found && new DataView(found.data!.buffer, found.data!.byteOffset, 5).getUint32(1, true);
}

/** `instructions` with the compute-unit limit `units`: every SetComputeUnitLimit among them
 *  replaced by one (in the place of the first), or one put first when there is none. */
export function withComputeUnitLimit(instructions: readonly Instruction[], units: number): Instruction[] {
  if (!Number.isInteger(units) || units < 0 || units > MAX_COMPUTE_UNIT_LIMIT) throw new RangeError(`compute-unit limit ${units} is not in 0..=${MAX_COMPUTE_UNIT_LIMIT}`);
  const data = new Uint8Array(5);
  data[0] = SET_COMPUTE_UNIT_LIMIT;
  new DataView(data.buffer).setUint32(1, units, true);
  const limit: Instruction = { programAddress: COMPUTE_BUDGET_PROGRAM, accounts: [], data };
  const first = instructions.findIndex(isSetComputeUnitLimit);
  if (first < 0) return [limit, ...instructions];
  return instructions.flatMap((ix, i) => (i === first ? [limit] : isSetComputeUnitLimit(ix) ? [] : [ix]));
}

/** `instructions` with their compute-unit limit sized, and how it was. */
export type SizedInstructions = {
  instructions: Instruction[];
  /** The limit they set (undefined: none, the runtime's default of 200,000 per instruction). */
  computeUnitLimit: number | undefined;
  /** `'simulation'`: consumed units plus the margin; `'fallback'`: the limit the instructions
   *  already set (`computeUnitsFor`'s table in `refreshThenAct`), because the RPC did not
   *  simulate. */
  source: 'simulation' | 'fallback';
  /** The units the simulation consumed. */
  unitsConsumed?: number;
  /** Why there was no simulation: what the RPC call threw, or that it gave no `unitsConsumed`. */
  fallbackReason?: unknown;
};

type SimulationOptions = {
  /** The lookup tables the transaction will be sent with (the simulated one is the same). */
  addressLookupTables?: AddressesByLookupTableAddress;
  commitment?: Commitment;
  abortSignal?: AbortSignal;
};

const messageOf = (
  feePayer: Address | TransactionSigner,
  lifetime: { blockhash: Blockhash; lastValidBlockHeight: bigint },
  instructions: readonly Instruction[],
  addressLookupTables: AddressesByLookupTableAddress | undefined,
  signers: readonly TransactionSigner[] = [],
) => {
  const base = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => (typeof feePayer === 'string' ? setTransactionMessageFeePayer(feePayer, m) : setTransactionMessageFeePayerSigner(feePayer, m)),
    (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
    (m) => addSignersToTransactionMessage([...signers], m),
  );
  return addressLookupTables ? compressTransactionMessageUsingAddressLookupTables(base, addressLookupTables) : base;
};

/** `instructions` with the compute-unit limit a simulation measures: the transaction (fee payer
 *  `feePayer`, unsigned: `sigVerify: false`, `replaceRecentBlockhash: true`) simulated with the
 *  limit at `MAX_COMPUTE_UNIT_LIMIT`, then the limit set to the units consumed plus
 *  `COMPUTE_UNIT_MARGIN` (`simulatedComputeUnitLimit`), replacing the SetComputeUnitLimit in the
 *  list rather than adding a second (`withComputeUnitLimit`).
 *  - The simulation failing (`err` set) throws what it decodes to (`decodeSolventError` with its
 *    logs): a `RefreshAndRetryError`, `UserError`, `MarketConditionError` or `FatalError` for a
 *    Solvent error, a `TransactionError` for any other failure. Nothing is sent.
 *  - The RPC not simulating (the call throws: a network or HTTP error, a method it does not
 *    serve; or no `unitsConsumed` in its answer) leaves `instructions` as they are, with the
 *    limit they set (`computeUnitsFor`'s measured table when `refreshThenAct` built them):
 *    `source: 'fallback'`, and the reason. An abort through `abortSignal` is thrown. */
export async function sizeComputeUnitLimit(
  rpc: Rpc<SimulateTransactionApi>,
  feePayer: Address | TransactionSigner,
  instructions: readonly Instruction[],
  options: SimulationOptions = {},
): Promise<SizedInstructions> {
  const simulated = withComputeUnitLimit(instructions, MAX_COMPUTE_UNIT_LIMIT);
  const wire = getBase64EncodedWireTransaction(compileTransaction(messageOf(feePayer, PLACEHOLDER_BLOCKHASH, simulated, options.addressLookupTables)));
  const fallback = (reason: unknown): SizedInstructions => ({ instructions: [...instructions], computeUnitLimit: computeUnitLimitOf(instructions), source: 'fallback', fallbackReason: reason });
  let value;
  try {
    ({ value } = await rpc
      .simulateTransaction(wire, { encoding: 'base64', sigVerify: false, replaceRecentBlockhash: true, commitment: options.commitment ?? 'confirmed' })
      .send({ abortSignal: options.abortSignal }));
  } catch (error) {
    options.abortSignal?.throwIfAborted();
    return fallback(error);
  }
  if (value.err) throw simulationFailure(value.err, value.logs ?? undefined, simulated);
  if (value.unitsConsumed === undefined || value.unitsConsumed === null) return fallback(new Error('the simulation gave no unitsConsumed'));
  const unitsConsumed = Number(value.unitsConsumed);
  const limit = simulatedComputeUnitLimit(unitsConsumed, instructions);
  return { instructions: withComputeUnitLimit(instructions, limit), computeUnitLimit: limit, source: 'simulation', unitsConsumed };
}

/** The simulation failure `value.err` as the error it decodes to (`decodeSolventError` with its
 *  logs; a `TransactionError` for any other failure). */
function simulationFailure(err: unknown, logs: readonly string[] | undefined, instructions: readonly Instruction[]) {
  const kitError = getSolanaErrorFromTransactionError(err as Parameters<typeof getSolanaErrorFromTransactionError>[0]);
  return decodeSolventError(kitError, logs, instructions) ?? new TransactionError(kitError.message, {}, { logs, cause: kitError });
}

/** `instructions` simulated (fee payer `feePayer`, unsigned, the limit at
 *  `MAX_COMPUTE_UNIT_LIMIT`), returning the accounts `addresses` as the transaction left them
 *  (base64, null for a missing one), the units consumed, the slot and the logs. A failure
 *  throws what it decodes to, as `sizeComputeUnitLimit`'s does. */
export async function simulateInstructions(
  rpc: Rpc<SimulateTransactionApi>,
  feePayer: Address,
  instructions: readonly Instruction[],
  addresses: readonly Address[],
  commitment: Commitment = 'confirmed',
): Promise<{ accounts: ({ data: readonly [string, 'base64'] } | null)[]; unitsConsumed: number | undefined; slot: bigint; logs: readonly string[] }> {
  const simulated = withComputeUnitLimit(instructions, MAX_COMPUTE_UNIT_LIMIT);
  const wire = getBase64EncodedWireTransaction(compileTransaction(messageOf(feePayer, PLACEHOLDER_BLOCKHASH, simulated, undefined)));
  const { context, value } = await rpc
    .simulateTransaction(wire, { encoding: 'base64', sigVerify: false, replaceRecentBlockhash: true, commitment, accounts: { addresses: [...addresses], encoding: 'base64' } })
    .send();
  const logs = value.logs ?? [];
  if (value.err) throw simulationFailure(value.err, logs, simulated);
  const accounts = (value.accounts ?? []).map((account) => (account ? { data: account.data as readonly [string, 'base64'] } : null));
  return { accounts, unitsConsumed: value.unitsConsumed == null ? undefined : Number(value.unitsConsumed), slot: context.slot, logs };
}

/** What `sendSolventTransaction` needs of the RPC. */
export type SolventSendRpc = Rpc<GetEpochInfoApi & GetLatestBlockhashApi & GetSignatureStatusesApi & GetTransactionApi & SendTransactionApi & SimulateTransactionApi>;

export type SendSolventTransactionConfig = {
  rpc: SolventSendRpc;
  /** Confirm through signature and slot notifications (kit's `sendAndConfirmTransactionFactory`);
   *  without them, by polling `getSignatureStatuses`. */
  rpcSubscriptions?: RpcSubscriptions<SignatureNotificationsApi & SlotNotificationsApi>;
  feePayer: TransactionSigner;
  instructions: readonly Instruction[];
  /** Signers beyond the fee payer and those the instructions' accounts carry. */
  signers?: readonly TransactionSigner[];
  /** Compress the message with these lookup tables (`compressTransactionMessageUsingAddressLookupTables`). */
  addressLookupTables?: AddressesByLookupTableAddress;
  /** Default `'confirmed'`. */
  commitment?: Commitment;
  /** Size the compute-unit limit by simulation (`sizeComputeUnitLimit`); default true. With
   *  false, the instructions are sent as given. */
  simulate?: boolean;
  /** Between two polls of `getSignatureStatuses` (no subscriptions); default 500 ms. */
  pollIntervalMs?: number;
  abortSignal?: AbortSignal;
};

export type SentSolventTransaction = {
  signature: Signature;
  /** The limit the sent transaction set, and how it was sized (`SizedInstructions`). */
  computeUnitLimit: number | undefined;
  limitSource: 'simulation' | 'fallback' | 'given';
  /** The units the simulation consumed. */
  unitsConsumed?: number;
  /** The instructions as sent (with the sized limit). */
  instructions: Instruction[];
};

const sleep = (ms: number, abortSignal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    abortSignal?.addEventListener('abort', () => (clearTimeout(timer), reject(abortSignal.reason)), { once: true });
  });

/** Builds, sizes, signs, sends and confirms one transaction of `instructions`, and resolves once
 *  it is confirmed at `commitment` without error:
 *  1. the message: version 0, `feePayer` paying, the latest blockhash, the signers the
 *     instructions' accounts carry and `signers`, compressed with `addressLookupTables`;
 *  2. its compute-unit limit by simulation (`sizeComputeUnitLimit`: a failing simulation throws
 *     its decoded `SolventError` and nothing is sent; an RPC that cannot simulate leaves the
 *     limit given);
 *  3. signed, sent (with the RPC's preflight), then confirmed through `rpcSubscriptions` or,
 *     without them, by polling `getSignatureStatuses` until the status is at `commitment` or the
 *     blockhash's last valid block height has passed (`SolanaError`
 *     `SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED`).
 *  A transaction that fails (in preflight or on chain) throws the `SolventError` it decodes to
 *  (`decodeSolventError`: the program error class for a Solvent error, `TransactionError`
 *  otherwise), with the transaction's logs (from the preflight, or `getTransaction`). Errors
 *  that are no transaction failure (network, expiry, abort) are thrown as they came. */
export async function sendSolventTransaction(config: SendSolventTransactionConfig): Promise<SentSolventTransaction> {
  const { rpc, feePayer, abortSignal } = config;
  const commitment = config.commitment ?? 'confirmed';
  const { value: lifetime } = await rpc.getLatestBlockhash({ commitment }).send({ abortSignal });
  let sized: { instructions: Instruction[]; computeUnitLimit: number | undefined; source: SentSolventTransaction['limitSource']; unitsConsumed?: number };
  if (config.simulate === false) {
    sized = { instructions: [...config.instructions], computeUnitLimit: computeUnitLimitOf(config.instructions), source: 'given' };
  } else {
    sized = await sizeComputeUnitLimit(rpc, feePayer, config.instructions, { addressLookupTables: config.addressLookupTables, commitment, abortSignal });
  }
  const instructions = sized.instructions;
  const transaction = await signTransactionMessageWithSigners(messageOf(feePayer, lifetime, instructions, config.addressLookupTables, config.signers));
  assertIsSendableTransaction(transaction);
  assertIsTransactionWithBlockhashLifetime(transaction);
  const signature = getSignatureFromTransaction(transaction);

  const logsOf = async () => {
    try {
      const details = await rpc
        .getTransaction(signature, { commitment: commitment === 'finalized' ? 'finalized' : 'confirmed', maxSupportedTransactionVersion: 0, encoding: 'json' })
        .send({ abortSignal });
      return details?.meta?.logMessages ?? undefined;
    } catch {
      return undefined;
    }
  };
  const failed = async (error: unknown): Promise<never> => {
    const preflight = isSolanaError(error, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE);
    const decoded: SolventError | undefined = decodeSolventError(error, preflight ? undefined : await logsOf(), instructions);
    throw decoded ?? error;
  };

  try {
    if (config.rpcSubscriptions) {
      await sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions: config.rpcSubscriptions } as Parameters<typeof sendAndConfirmTransactionFactory>[0])(transaction, { commitment, abortSignal });
    } else {
      await rpc.sendTransaction(getBase64EncodedWireTransaction(transaction), { encoding: 'base64', preflightCommitment: commitment }).send({ abortSignal });
      await pollConfirmation(rpc, signature, commitment, transaction.lifetimeConstraint.lastValidBlockHeight, config.pollIntervalMs ?? 500, abortSignal);
    }
  } catch (error) {
    if (isTransactionFailure(error)) await failed(error);
    throw error;
  }
  return { signature, computeUnitLimit: sized.computeUnitLimit, limitSource: sized.source, unitsConsumed: sized.unitsConsumed, instructions };
}

/** Whether `error` is a transaction's failure (preflight, instruction or transaction error), as
 *  opposed to the network's, an expiry or an abort. */
const isTransactionFailure = (error: unknown) => {
  if (!isSolanaError(error)) return false;
  const code = error.context.__code as number;
  return code === SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE || (code >= 4_615_000 && code < 4_616_000) || (code >= 7_050_000 && code < 7_051_000);
};

/** Polls `getSignatureStatuses` until `signature` is at `commitment` (resolves), failed (throws
 *  its transaction error as kit's `getSolanaErrorFromTransactionError` makes it), or the block
 *  height passed `lastValidBlockHeight` without it (throws `SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED`). */
async function pollConfirmation(
  rpc: Rpc<GetEpochInfoApi & GetSignatureStatusesApi>,
  signature: Signature,
  commitment: Commitment,
  lastValidBlockHeight: bigint,
  intervalMs: number,
  abortSignal?: AbortSignal,
): Promise<void> {
  for (let expired = false; ; ) {
    const { value } = await rpc.getSignatureStatuses([signature]).send({ abortSignal });
    const status = value[0];
    if (status?.err) throw getSolanaErrorFromTransactionError(status.err as Parameters<typeof getSolanaErrorFromTransactionError>[0]);
    if (status?.confirmationStatus && commitmentComparator(status.confirmationStatus, commitment) >= 0) return;
    // Checked once more after the block height passed: it may have landed just before.
    if (expired) break;
    const { blockHeight } = await rpc.getEpochInfo({ commitment }).send({ abortSignal });
    if (blockHeight > lastValidBlockHeight) {
      expired = true;
      continue;
    }
    await sleep(intervalMs, abortSignal);
  }
  const { blockHeight } = await rpc.getEpochInfo({ commitment }).send({ abortSignal });
  throw new SolanaError(SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED, { currentBlockHeight: blockHeight, lastValidBlockHeight });
}
