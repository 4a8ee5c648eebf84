// Failed transactions as error classes: a Solvent program error becomes the class of what to do
// about it (`RefreshAndRetryError`, `UserError`, `MarketConditionError`, `FatalError`, from the
// program's own `LendingError::class` in `ERROR_CLASSES`), any other failure a
// `TransactionError`. `decodeSolventError` reads them alike from @solana/kit `SolanaError`s
// (preflight and simulation failures wrap the transaction error as their `cause`), RPC error
// objects and strings, and transaction logs, which say which program failed.
//
// Default entry: @solana/kit only, no Node built-in.
import { address, type Address } from '@solana/kit';
import { ERROR_CLASSES, type ErrorClass } from './error-classes.ts';
import { IDL } from './idl.ts';

const SOLVENT_PROGRAM = address(IDL.address);

/** What is known of a failure besides its code: where it happened and the transaction's logs. */
export type SolventErrorDetails = {
  /** The transaction's logs, when they were given or found in the error. */
  logs?: readonly string[];
  /** The index in the transaction of the top-level instruction that failed. */
  instructionIndex?: number;
  /** The error this one was decoded from. */
  cause?: unknown;
};

/** A failed Solvent transaction. `errorClass` says what to do about it; it is set exactly for
 *  the program's own errors (the IDL's, 6000 and up), which are always one of the four
 *  subclasses, and undefined for a `TransactionError` (any other failure). `name` is the IDL
 *  error name (`'BorrowTooLarge'`) for a program error, `'TransactionError'` otherwise; the
 *  message is the IDL's message or a description of the failure. */
export class SolventError extends Error {
  /** The failing program's custom error code: Solvent's for a program error; for a
   *  `TransactionError`, the other program's (or an Anchor framework code), when there is one. */
  readonly code?: number;
  /** What a client should do about it (program errors only). */
  readonly errorClass: ErrorClass | undefined;
  /** The program that failed, when known (always the Solvent program for a program error). */
  readonly programAddress?: Address;
  readonly logs?: readonly string[];
  readonly instructionIndex?: number;

  protected constructor(
    name: string,
    message: string,
    fields: { code?: number; errorClass: ErrorClass | undefined; programAddress?: Address },
    details: SolventErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = name;
    this.code = fields.code;
    this.errorClass = fields.errorClass;
    this.programAddress = fields.programAddress;
    this.logs = details.logs;
    this.instructionIndex = details.instructionIndex;
  }
}

/** A Solvent program error (a code of the IDL), of the subclass its class names. */
abstract class ProgramErrorBase extends SolventError {
  declare readonly code: number;
  declare readonly errorClass: ErrorClass;
  declare readonly programAddress: Address;
  protected constructor(expected: ErrorClass, code: number, details?: SolventErrorDetails) {
    const known = IDL.errors.find((error) => error.code === code);
    if (!known || ERROR_CLASSES[code] !== expected) {
      throw new RangeError(`${code} is not a Solvent error of class ${expected}`);
    }
    super(known.name, known.msg ?? known.name, { code, errorClass: expected, programAddress: SOLVENT_PROGRAM }, details);
  }
}

/** The program refused stale state (a stale oracle, reserve or obligation, a reserve changed
 *  since its refresh): build the transaction again from fresh accounts and send it again. */
export class RefreshAndRetryError extends ProgramErrorBase {
  declare readonly errorClass: 'refreshAndRetry';
  /** Throws a RangeError unless `code` is a Solvent error of this class. */
  constructor(code: number, details?: SolventErrorDetails) {
    super('refreshAndRetry', code, details);
  }
}

/** The request is wrong (too large, wrong accounts, not the owner): retrying it unchanged fails again. */
export class UserError extends ProgramErrorBase {
  declare readonly errorClass: 'userError';
  /** Throws a RangeError unless `code` is a Solvent error of this class. */
  constructor(code: number, details?: SolventErrorDetails) {
    super('userError', code, details);
  }
}

/** The market does not allow it now (paused, caps reached, no liquidity, an oracle price it
 *  does not trust): it may pass later, unchanged. */
export class MarketConditionError extends ProgramErrorBase {
  declare readonly errorClass: 'marketCondition';
  /** Throws a RangeError unless `code` is a Solvent error of this class. */
  constructor(code: number, details?: SolventErrorDetails) {
    super('marketCondition', code, details);
  }
}

/** Something that should not happen (a math overflow, books that do not balance, oracle data
 *  it cannot read): report it. */
export class FatalError extends ProgramErrorBase {
  declare readonly errorClass: 'fatal';
  /** Throws a RangeError unless `code` is a Solvent error of this class. */
  constructor(code: number, details?: SolventErrorDetails) {
    super('fatal', code, details);
  }
}

/** A failure that is not a Solvent program error: another program's (an SPL Token error, with
 *  its `code` and `programAddress`), the runtime's inside a Solvent instruction (compute budget
 *  exhausted), an Anchor framework code from the Solvent program (below 6000), or the
 *  transaction's (an account not found, a blockhash expired). `reason` is what the logs or the
 *  RPC said of it. */
export class TransactionError extends SolventError {
  declare readonly errorClass: undefined;
  /** E.g. `custom program error: 0x1`, `exceeded CUs meter at BPF instruction`, or the RPC's
   *  error name (`ProgramFailedToComplete`, `BlockhashNotFound`). */
  readonly reason: string;
  constructor(reason: string, fields: { code?: number; programAddress?: Address } = {}, details?: SolventErrorDetails) {
    const where = [
      fields.programAddress && `program ${fields.programAddress}`,
      details?.instructionIndex !== undefined && `instruction ${details.instructionIndex}`,
    ].filter(Boolean);
    super('TransactionError', `${where.length ? `${where.join(', ')}: ` : ''}${reason}`, { ...fields, errorClass: undefined }, details);
    this.reason = reason;
  }
}

/** The Solvent program error of `code`, of the subclass its class names; undefined when `code`
 *  is not one of the IDL's. */
export function solventProgramError(code: number, details?: SolventErrorDetails): RefreshAndRetryError | UserError | MarketConditionError | FatalError | undefined {
  switch (ERROR_CLASSES[code]) {
    case 'refreshAndRetry':
      return new RefreshAndRetryError(code, details);
    case 'userError':
      return new UserError(code, details);
    case 'marketCondition':
      return new MarketConditionError(code, details);
    case 'fatal':
      return new FatalError(code, details);
    default:
      return undefined;
  }
}

/** A failure as the error structure or its text gives it, before attribution. */
type Found = { code?: number; index?: number; reason?: string; logs?: readonly string[] };

const isStringArray = (value: unknown): value is readonly string[] => Array.isArray(value) && value.every((line) => typeof line === 'string');
const toNumber = (value: unknown) => (typeof value === 'number' || typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined);
const KIT_INSTRUCTION_ERRORS = [4_615_000, 4_616_000];
const KIT_INSTRUCTION_ERROR_CUSTOM = 4_615_026;
const KIT_TRANSACTION_ERRORS = [7_050_000, 7_051_000];

/** An RPC `TransactionError` value (`{ InstructionError: [1, { Custom: 6029 }] }`,
 *  `{ InstructionError: [0, 'ProgramFailedToComplete'] }`, `'BlockhashNotFound'`). */
function fromRpcTransactionError(err: unknown): Found | undefined {
  if (typeof err === 'string') return /^[A-Z][A-Za-z]+$/.test(err) ? { reason: err } : undefined;
  if (typeof err !== 'object' || err === null) return undefined;
  const instructionError = (err as { InstructionError?: unknown }).InstructionError;
  if (Array.isArray(instructionError) && instructionError.length === 2) {
    const index = toNumber(instructionError[0]);
    const inner = instructionError[1];
    if (typeof inner === 'string') return { index, reason: inner };
    if (typeof inner === 'object' && inner !== null) {
      const [name, value] = Object.entries(inner)[0] ?? [];
      if (name === 'Custom') return { index, code: toNumber(value), reason: 'Custom' };
      if (name) return { index, reason: name };
    }
    return undefined;
  }
  const keys = Object.keys(err);
  return keys.length === 1 && /^[A-Z][A-Za-z]+$/.test(keys[0]) ? { reason: keys[0] } : undefined;
}

const isSolanaErrorLike = (value: unknown): value is Error & { context: Record<string, unknown> & { __code: number } } =>
  value instanceof Error && value.name === 'SolanaError' && typeof (value as { context?: { __code?: unknown } }).context?.__code === 'number';

/** A @solana/kit `SolanaError` chain: the logs a preflight or simulation failure carries, and
 *  the instruction or transaction error it wraps (its `cause`). */
function fromSolanaError(error: Error & { context: Record<string, unknown> & { __code: number } }): Found | undefined {
  let logs: readonly string[] | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 8 && isSolanaErrorLike(current); depth++) {
    const { context } = current;
    const code = context.__code;
    if (!logs && isStringArray(context.logs)) logs = context.logs;
    const preflight = context.preflightData as { logs?: unknown } | undefined;
    if (!logs && preflight && isStringArray(preflight.logs)) logs = preflight.logs;
    if (code === KIT_INSTRUCTION_ERROR_CUSTOM) return { code: toNumber(context.code), index: toNumber(context.index), reason: 'Custom', logs };
    if (code >= KIT_INSTRUCTION_ERRORS[0] && code < KIT_INSTRUCTION_ERRORS[1]) {
      return { index: toNumber(context.index), reason: typeof context.errorName === 'string' ? context.errorName : current.message, logs };
    }
    if (code >= KIT_TRANSACTION_ERRORS[0] && code < KIT_TRANSACTION_ERRORS[1]) {
      return { reason: typeof context.errorName === 'string' ? context.errorName : current.message, logs };
    }
    current = current.cause;
  }
  return logs ? { logs } : undefined;
}

/** Log lines quoted inside a text (a LiteSVM failure's or web3.js's message). */
function logsInText(text: string): string[] {
  return [...text.matchAll(/Program (?:log: AnchorError[^"\n]*|\w{32,44} (?:invoke \[\d+\]|success|failed: [^"\n]*))/g)].map((match) => match[0]);
}

/** An RPC error as text: `custom program error: 0x1771`, `"Custom":6001`, `Custom(6001)`, with
 *  the instruction index when it is there (`InstructionError(1, …)`, `"InstructionError":[1,…`,
 *  `Error processing Instruction 1`). */
function fromText(text: string): Found | undefined {
  const index = toNumber((/InstructionError\(\s*(\d+)|"InstructionError"\s*:\s*\[\s*(\d+)|[Ii]nstruction (\d+)/.exec(text) ?? []).slice(1).find((group) => group !== undefined));
  const custom = /Custom\(\s*(\d+)\s*\)|"Custom"\s*:\s*(\d+)|custom program error: 0x([0-9a-f]+)/i.exec(text);
  const logs = logsInText(text);
  if (custom) {
    const decimal = custom[1] ?? custom[2];
    const code = decimal !== undefined ? Number(decimal) : parseInt(custom[3], 16);
    return { code, index, reason: 'Custom', logs: logs.length ? logs : undefined };
  }
  const named = /InstructionError\(\s*\d+\s*,\s*(\w+)|"InstructionError"\s*:\s*\[\s*\d+\s*,\s*"(\w+)"/.exec(text);
  if (named) return { index, reason: named[1] ?? named[2], logs: logs.length ? logs : undefined };
  return logs.length ? { logs } : undefined;
}

/** What a transaction's logs say of its failure: the first program to fail (the innermost one,
 *  before the programs that invoked it report its error as theirs) and what it said, and the
 *  last AnchorError logged, with the program that logged it (the one executing then). */
function failureInLogs(logs: readonly string[]): { programAddress?: Address; message?: string; code?: number; anchor?: { programAddress?: Address; name: string; code: number } } | undefined {
  const stack: Address[] = [];
  let anchor: { programAddress?: Address; name: string; code: number } | undefined;
  for (const line of logs) {
    const invoke = /^Program (\w+) invoke \[(\d+)\]$/.exec(line);
    if (invoke) {
      stack.length = Math.max(0, Number(invoke[2]) - 1);
      stack.push(invoke[1] as Address);
      continue;
    }
    if (/^Program \w+ success$/.test(line)) {
      stack.pop();
      continue;
    }
    const failed = /^Program (\w+) failed: (.*)$/.exec(line);
    if (failed) {
      const custom = /custom program error: 0x([0-9a-f]+)/i.exec(failed[2]);
      return { programAddress: failed[1] as Address, message: failed[2], code: custom ? parseInt(custom[1], 16) : undefined, anchor };
    }
    const anchorError = /^Program log: AnchorError.*Error Code: (\w+)\. Error Number: (\d+)\./.exec(line);
    if (anchorError) anchor = { programAddress: stack[stack.length - 1], name: anchorError[1], code: Number(anchorError[2]) };
  }
  return anchor ? { anchor } : undefined;
}

/** The failure in `error` as a `SolventError`, or undefined when it holds no transaction or
 *  instruction failure (a network error, a timeout, anything else: rethrow those as they are).
 *  `error` may be a @solana/kit `SolanaError` (an instruction or transaction error, or a
 *  preflight / simulation failure wrapping one, whose logs it carries), an RPC error value
 *  (`{ InstructionError: [1, { Custom: 6029 }] }`, or an object with `err` and `logs` such as a
 *  simulation result), an Error or a string with the RPC's text (`custom program error: 0x178d`,
 *  `"Custom":6029`, `Custom(6029)`), or only logs (pass `undefined` and the logs).
 *
 *  Which program failed is read, in order, from:
 *  1. the logs (`logs`, else any found in `error`): the first `Program <id> failed: …` line, or
 *     without one the last AnchorError and the program that logged it. A custom code is
 *     Solvent's only when the Solvent program itself failed with it; an SPL Token error inside a
 *     Solvent instruction (its CPI) or another program's 6001 is a `TransactionError` with that
 *     program's address and code;
 *  2. `instructions` (the transaction's, in order): the program of the instruction at the
 *     error's index. Solvent only calls SPL Token, whose codes are below 6000, so a Solvent
 *     instruction's IDL code is Solvent's;
 *  3. nothing: an IDL code (6000-6131) is taken as Solvent's. Pass the logs to be sure.
 *  A Solvent IDL code gives its class's subclass; anything else a `TransactionError`. The
 *  result carries the logs, the instruction index when known, and `error` as its cause. */
export function decodeSolventError(
  error: unknown,
  logs?: readonly string[],
  instructions?: readonly { programAddress: Address }[],
): SolventError | undefined {
  if (error instanceof SolventError) return error;
  let found: Found | undefined;
  if (isSolanaErrorLike(error)) found = fromSolanaError(error);
  else if (typeof error === 'string') found = fromText(error);
  else if (typeof error === 'object' && error !== null) {
    const withErr = error as { err?: unknown; logs?: unknown };
    const direct = fromRpcTransactionError(error) ?? (withErr.err !== undefined ? fromRpcTransactionError(withErr.err) : undefined);
    // An Error's message, or an object's own text (LiteSVM's failures print their error and logs).
    const own = String(error);
    const text = error instanceof Error ? error.message : own !== '[object Object]' ? own : safeJson(error);
    found = direct ?? fromText(text);
    if (found && !found.logs && isStringArray(withErr.logs)) found = { ...found, logs: withErr.logs };
  }
  const allLogs = logs ?? found?.logs;
  const details: SolventErrorDetails = { logs: allLogs, instructionIndex: found?.index, cause: error };
  const inLogs = allLogs ? failureInLogs(allLogs) : undefined;

  if (inLogs?.programAddress) {
    if (inLogs.programAddress === SOLVENT_PROGRAM && inLogs.code !== undefined) {
      const programError = solventProgramError(inLogs.code, details);
      if (programError) return programError;
      const anchor = inLogs.anchor?.programAddress === SOLVENT_PROGRAM && inLogs.anchor.code === inLogs.code ? inLogs.anchor.name : undefined;
      return new TransactionError(anchor ?? inLogs.message ?? 'Custom', { code: inLogs.code, programAddress: SOLVENT_PROGRAM }, details);
    }
    return new TransactionError(inLogs.message ?? 'failed', { code: inLogs.code, programAddress: inLogs.programAddress }, details);
  }
  if (inLogs?.anchor) {
    const { anchor } = inLogs;
    if (anchor.programAddress === SOLVENT_PROGRAM) {
      return solventProgramError(anchor.code, details) ?? new TransactionError(anchor.name, { code: anchor.code, programAddress: SOLVENT_PROGRAM }, details);
    }
    return new TransactionError(anchor.name, { code: anchor.code, programAddress: anchor.programAddress }, details);
  }
  if (!found || (found.code === undefined && found.reason === undefined)) return undefined;
  if (found.code !== undefined) {
    const program = found.index !== undefined ? instructions?.[found.index]?.programAddress : undefined;
    if (program === undefined || program === SOLVENT_PROGRAM) {
      const programError = solventProgramError(found.code, details);
      if (programError) return programError;
    }
    return new TransactionError(`custom program error: 0x${found.code.toString(16)}`, { code: found.code, programAddress: program }, details);
  }
  const program = found.index !== undefined ? instructions?.[found.index]?.programAddress : undefined;
  return new TransactionError(found.reason!, { programAddress: program }, details);
}

const safeJson = (value: unknown) => {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? Number(v) : v)) ?? '';
  } catch {
    return String(value);
  }
};
