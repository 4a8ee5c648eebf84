// Failures as classes (ts/src/errors.ts): real program errors provoked on the built .so in
// LiteSVM decode, from their logs and from the error text, to the class the program gives them;
// SPL Token's errors (alone, or inside a Solvent instruction's CPI) and another program's 6001
// do not decode as Solvent's; @solana/kit SolanaErrors as kit builds them, and RPC error text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SolanaError,
  SOLANA_ERROR__INSTRUCTION_ERROR__COMPUTATIONAL_BUDGET_EXCEEDED,
  SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR,
  SOLANA_ERROR__TRANSACTION__FAILED_WHEN_SIMULATING_TO_ESTIMATE_COMPUTE_LIMIT,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  getSolanaErrorFromJsonRpcError,
  getSolanaErrorFromTransactionError,
  type Address,
} from '@solana/kit';
import { getTransferInstruction } from '@solana-program/token';
import {
  ERROR_CLASSES,
  FatalError,
  IDL,
  MarketConditionError,
  PROGRAM_ID,
  RefreshAndRetryError,
  SolventError,
  TOKEN_PROGRAM_ID,
  TransactionError,
  UserError,
  decodeSolventError,
  getBorrowInstruction,
  getDepositInstruction,
  getObligationDecoder,
  refreshThenAct,
  setComputeUnitLimitInstruction,
  solventProgramError,
} from '../src/index.ts';
import { newObligation, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { Chain, solUsdcMarket } from './helpers.ts';

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;
const OTHER_PROGRAM = 'BPFLoaderUpgradeab1e11111111111111111111111' as Address;
const codeOf = (name: string) => IDL.errors.find((error) => error.name === name)!.code;
const CLASS_OF = { refreshAndRetry: RefreshAndRetryError, userError: UserError, marketCondition: MarketConditionError, fatal: FatalError } as const;

test('every IDL error decodes to the subclass of its class, with its IDL name and message', () => {
  for (const error of IDL.errors) {
    const decoded = solventProgramError(error.code)!;
    const expected = ERROR_CLASSES[error.code];
    assert.ok(decoded instanceof CLASS_OF[expected], `${error.name} is a ${expected}`);
    assert.ok(decoded instanceof SolventError && decoded instanceof Error);
    assert.equal(decoded.errorClass, expected);
    assert.equal(decoded.name, error.name);
    assert.equal(decoded.message, error.msg);
    assert.equal(decoded.code, error.code);
    assert.equal(decoded.programAddress, PROGRAM_ID);
    // As an RPC reports it: the hex code.
    const fromText = decodeSolventError(`custom program error: 0x${error.code.toString(16)}`)!;
    assert.equal(fromText.name, error.name);
  }
  assert.equal(solventProgramError(5_999), undefined);
  assert.equal(solventProgramError(6_000 + IDL.errors.length), undefined);
  // A class's constructor refuses another class's code.
  assert.throws(() => new UserError(codeOf('OraclePriceStale')), RangeError);
  assert.throws(() => new FatalError(1), RangeError);
  assert.ok(new RefreshAndRetryError(codeOf('OraclePriceStale')) instanceof RefreshAndRetryError);
});

test('program errors on the .so decode from their logs and their text; Token and runtime failures do not', async () => {
  const chain = await Chain.start();
  const { svm, market, sol, usdc, oracleOf } = await solUsdcMarket(chain);
  const user = await newObligation(svm, market);
  const solAccount = await chain.createTokenAccount(sol.mint, user.signer.address, 10n * SOL);
  const usdcAccount = await chain.createTokenAccount(usdc.mint, user.signer.address, 0n);
  const deposit = (amount: bigint) =>
    getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: solAccount, amount });
  const borrow = (amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: usdcAccount, marketAuthority: market.authority, amount });
  const borrowing = async (amount: bigint) =>
    refreshThenAct(market.address, user.obligation, getObligationDecoder().decode(chain.data(user.obligation)), oracleOf, [usdc.reserve], borrow(amount));
  const failure = async (instructions: Awaited<ReturnType<typeof borrowing>>) => {
    const sent = await chain.send(instructions);
    assert.equal(sent.ok, false);
    return sent as Extract<typeof sent, { ok: false }>;
  };

  // A Solvent deposit of more than the account holds: SPL Token's InsufficientFunds (1) in the
  // program's CPI, reported by the Solvent instruction (index 0) as its own error too.
  const cpi = await failure([deposit(11n * SOL)]);
  assert.match(cpi.error, /InstructionError\(0, Custom\(1\)\)/);
  for (const decoded of [decodeSolventError(undefined, cpi.logs), decodeSolventError(cpi.error)]) {
    assert.ok(decoded instanceof TransactionError, String(decoded));
    assert.equal(decoded.programAddress, TOKEN_PROGRAM_ID, 'the logs tell the Token program failed first');
    assert.equal(decoded.code, 1);
    assert.equal(decoded.errorClass, undefined);
  }
  await chain.mustSend([deposit(10n * SOL)]);

  // BorrowTooLarge (6029), a user error, at instruction 1 (after the compute-unit limit).
  chain.advance(1n);
  const tooLarge = await failure(await borrowing(100_000n * USDC));
  const fromLogs = decodeSolventError(undefined, tooLarge.logs)!;
  assert.ok(fromLogs instanceof UserError);
  assert.deepEqual([fromLogs.name, fromLogs.code, fromLogs.errorClass, fromLogs.programAddress], ['BorrowTooLarge', 6029, 'userError', PROGRAM_ID]);
  assert.deepEqual(fromLogs.logs, tooLarge.logs);
  const fromText = decodeSolventError(tooLarge.error)!; // LiteSVM's text: the error and the logs
  assert.ok(fromText instanceof UserError);
  assert.equal(fromText.name, 'BorrowTooLarge');
  assert.equal(fromText.instructionIndex, 1);
  assert.ok(fromText.logs!.some((line) => line.endsWith('failed: custom program error: 0x178d')));
  assert.equal(String(fromText), `BorrowTooLarge: ${IDL.errors.find((e) => e.code === 6029)!.msg}`);

  // A stale price: refresh and retry.
  chain.advance(100n); // past the reserves' 60-second price age
  const stale = await failure(await borrowing(10n * USDC));
  const staleError = decodeSolventError(undefined, stale.logs)!;
  assert.ok(staleError instanceof RefreshAndRetryError);
  assert.equal(staleError.name, 'OraclePriceStale');
  assert.ok(decodeSolventError(stale.error) instanceof RefreshAndRetryError);

  // A price of zero: a market condition.
  chain.setPriceUpdate(sol.oracle, SOL_FEED, 0n, 0n, -8);
  chain.setPriceUpdate(usdc.oracle, USDC_FEED, 1_000_000n, 1_000_000n, -6);
  const zero = await failure(await borrowing(10n * USDC));
  const zeroError = decodeSolventError(zero.error, zero.logs)!;
  assert.ok(zeroError instanceof MarketConditionError);
  assert.equal(zeroError.name, 'OraclePriceNotPositive');

  // Out of compute inside the Solvent instruction: no program code, the runtime's failure.
  chain.setPriceUpdate(sol.oracle, SOL_FEED, 15_000_000_000n, 15_000_000_000n, -8);
  chain.advance(1n);
  const starved = await borrowing(10n * USDC);
  starved[0] = setComputeUnitLimitInstruction(3_000);
  const outOfCompute = await failure(starved);
  const budget = decodeSolventError(outOfCompute.error, outOfCompute.logs)!;
  assert.ok(budget instanceof TransactionError);
  assert.equal(budget.programAddress, PROGRAM_ID);
  assert.equal(budget.code, undefined);
  assert.match(budget.reason, /exceeded CUs meter/);
  assert.equal(budget.instructionIndex, 1);

  // SPL Token alone: transfer more than the balance (InsufficientFunds = 1) is not ZeroAmount (6001).
  const transfer = await failure([getTransferInstruction({ source: usdcAccount, destination: usdcAccount, authority: user.signer, amount: 1n })]);
  const token = decodeSolventError(transfer.error, transfer.logs)!;
  assert.ok(token instanceof TransactionError && !(token instanceof UserError));
  assert.deepEqual([token.programAddress, token.code, token.reason], [TOKEN_PROGRAM_ID, 1, 'custom program error: 0x1']);
  assert.ok(decodeSolventError('InstructionError(0, Custom(1))') instanceof TransactionError, '1 is no Solvent code');
});

test("another program's 6001 is not Solvent's ZeroAmount: the logs, or the instructions, say which failed", () => {
  const otherLogs = [
    `Program ${PROGRAM_ID} invoke [1]`,
    `Program ${PROGRAM_ID} success`,
    `Program ${OTHER_PROGRAM} invoke [1]`,
    'Program log: AnchorError occurred. Error Code: SomethingZero. Error Number: 6001. Error Message: Other.',
    `Program ${OTHER_PROGRAM} failed: custom program error: 0x1771`,
  ];
  const fromOther = decodeSolventError('InstructionError(1, Custom(6001))', otherLogs)!;
  assert.ok(fromOther instanceof TransactionError);
  assert.deepEqual([fromOther.programAddress, fromOther.code, fromOther.instructionIndex], [OTHER_PROGRAM, 6001, 1]);
  // The same code from the Solvent program is ZeroAmount.
  const solventLogs = [`Program ${OTHER_PROGRAM} invoke [1]`, `Program ${OTHER_PROGRAM} success`, `Program ${PROGRAM_ID} invoke [1]`, `Program ${PROGRAM_ID} failed: custom program error: 0x1771`];
  const zeroAmount = decodeSolventError('InstructionError(1, Custom(6001))', solventLogs)!;
  assert.ok(zeroAmount instanceof UserError);
  assert.equal(zeroAmount.name, 'ZeroAmount');
  // Logs cut short before the failure line: the AnchorError and the program that logged it.
  assert.ok(decodeSolventError(undefined, otherLogs.slice(0, 4)) instanceof TransactionError);
  assert.equal(decodeSolventError(undefined, [...solventLogs.slice(0, 3), 'Program log: AnchorError occurred. Error Code: ZeroAmount. Error Number: 6001. Error Message: x.'])?.name, 'ZeroAmount');
  // Without logs, the instruction at the error's index names the program.
  const instructions = [{ programAddress: PROGRAM_ID }, { programAddress: OTHER_PROGRAM }];
  assert.ok(decodeSolventError('InstructionError(1, Custom(6001))', undefined, instructions) instanceof TransactionError);
  assert.ok(decodeSolventError('InstructionError(0, Custom(6001))', undefined, instructions) instanceof UserError);
  // With neither, an IDL code is taken as Solvent's (documented).
  assert.ok(decodeSolventError('InstructionError(1, Custom(6001))') instanceof UserError);
});

test('@solana/kit SolanaErrors decode as kit builds them: instruction errors, preflight and simulation failures', () => {
  const custom = decodeSolventError(new SolanaError(SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM, { code: 6029, index: 1 }))!;
  assert.ok(custom instanceof UserError);
  assert.deepEqual([custom.name, custom.instructionIndex], ['BorrowTooLarge', 1]);
  assert.ok(custom.cause instanceof SolanaError);
  // From the RPC's transaction error (bigint codes, as kit's RPC returns numbers).
  assert.ok(decodeSolventError(getSolanaErrorFromTransactionError({ InstructionError: [1n, { Custom: 6011n }] } as never)) instanceof RefreshAndRetryError);
  assert.ok(decodeSolventError(getSolanaErrorFromTransactionError({ InstructionError: [0, { Custom: 6000 }] })) instanceof FatalError);

  // A preflight failure as kit makes it from the JSON-RPC error: the transaction error is the
  // cause and the simulation's logs are in the context.
  const logs = [`Program ${PROGRAM_ID} invoke [1]`, 'Program log: AnchorError occurred. Error Code: OraclePriceNotPositive. Error Number: 6012. Error Message: x.', `Program ${PROGRAM_ID} failed: custom program error: 0x177c`];
  const preflight = getSolanaErrorFromJsonRpcError({
    code: -32002,
    message: 'Transaction simulation failed: Error processing Instruction 1: custom program error: 0x177c',
    data: { accounts: null, err: { InstructionError: [1, { Custom: 6012 }] }, logs, unitsConsumed: 5_347n, returnData: null },
  });
  assert.equal((preflight as SolanaError).context.__code, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE);
  const decoded = decodeSolventError(preflight)!;
  assert.ok(decoded instanceof MarketConditionError);
  assert.deepEqual([decoded.name, decoded.instructionIndex, decoded.logs], ['OraclePriceNotPositive', 1, logs]);
  // The preflight's logs attribute its code: a Token error inside a Solvent instruction.
  const tokenLogs = [`Program ${PROGRAM_ID} invoke [1]`, `Program ${TOKEN_PROGRAM_ID} invoke [2]`, `Program ${TOKEN_PROGRAM_ID} failed: custom program error: 0x1`, `Program ${PROGRAM_ID} failed: custom program error: 0x1`];
  const tokenPreflight = new SolanaError(SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE, {
    accounts: null, fee: null, innerInstructions: null, loadedAccountsDataSize: null, loadedAddresses: null, logs: tokenLogs, postBalances: null, postTokenBalances: null, preBalances: null, preTokenBalances: null, replacementBlockhash: null, returnData: null, unitsConsumed: 4_527n,
    cause: new SolanaError(SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM, { code: 1, index: 0 }),
  });
  const token = decodeSolventError(tokenPreflight)!;
  assert.ok(token instanceof TransactionError);
  assert.deepEqual([token.programAddress, token.code, token.instructionIndex], [TOKEN_PROGRAM_ID, 1, 0]);
  // kit's compute-limit estimation wraps the simulation's failure the same way.
  const estimating = new SolanaError(SOLANA_ERROR__TRANSACTION__FAILED_WHEN_SIMULATING_TO_ESTIMATE_COMPUTE_LIMIT, {
    accounts: null, fee: null, innerInstructions: null, loadedAccountsDataSize: null, loadedAddresses: null, logs: null, postBalances: null, postTokenBalances: null, preBalances: null, preTokenBalances: null, replacementBlockhash: null, returnData: null, unitsConsumed: 1n,
    cause: new SolanaError(SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM, { code: 6074, index: 2 }),
  });
  assert.equal(decodeSolventError(estimating)?.name, 'ReserveChangedSinceRefresh');

  // Failures without a program code: the runtime's, the transaction's.
  const budget = decodeSolventError(new SolanaError(SOLANA_ERROR__INSTRUCTION_ERROR__COMPUTATIONAL_BUDGET_EXCEEDED, { index: 1 }), undefined, [{ programAddress: TOKEN_PROGRAM_ID }, { programAddress: PROGRAM_ID }])!;
  assert.ok(budget instanceof TransactionError);
  assert.deepEqual([budget.instructionIndex, budget.programAddress, budget.code], [1, PROGRAM_ID, undefined]);
  assert.ok(decodeSolventError(new SolanaError(SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)) instanceof TransactionError);
  // A kit custom error from another program's instruction, attributed by the instructions.
  assert.ok(decodeSolventError(new SolanaError(SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM, { code: 6001, index: 0 }), undefined, [{ programAddress: OTHER_PROGRAM }]) instanceof TransactionError);

  // No transaction failure at all: undefined, for the caller to rethrow.
  assert.equal(decodeSolventError(new SolanaError(SOLANA_ERROR__RPC__TRANSPORT_HTTP_ERROR, { headers: new Headers(), message: 'Bad Gateway', statusCode: 502 })), undefined);
  assert.equal(decodeSolventError(new TypeError('fetch failed')), undefined);
  assert.equal(decodeSolventError(undefined), undefined);
  assert.equal(decodeSolventError('something else entirely'), undefined);
  // Idempotent.
  assert.equal(decodeSolventError(custom), custom);
});

test('RPC error text and values in their shapes', () => {
  const cases: [unknown, string, number | undefined][] = [
    ['Transaction simulation failed: Error processing Instruction 1: custom program error: 0x178d', 'BorrowTooLarge', 1],
    ['{"InstructionError":[1,{"Custom":6001}]}', 'ZeroAmount', 1],
    ['failed to send transaction: InstructionError(2, Custom(6001))', 'ZeroAmount', 2],
    [{ InstructionError: [2, { Custom: 6074 }] }, 'ReserveChangedSinceRefresh', 2],
    [{ err: { InstructionError: [0, { Custom: 6114n }] }, logs: null }, 'OutflowLimitExceeded', 0],
    [new Error('RPC response error -32002: custom program error: 0x178b'), 'BorrowLimitExceeded', undefined],
  ];
  for (const [error, name, index] of cases) {
    const decoded = decodeSolventError(error)!;
    assert.equal(decoded?.name, name, String(error));
    assert.equal(decoded.instructionIndex, index, String(error));
    assert.equal(decoded.errorClass, ERROR_CLASSES[decoded.code!]);
  }
  const failedToComplete = decodeSolventError('InstructionError(0, ProgramFailedToComplete)')!;
  assert.ok(failedToComplete instanceof TransactionError);
  assert.equal(failedToComplete.reason, 'ProgramFailedToComplete');
  assert.ok(decodeSolventError({ InstructionError: [0, 'InvalidAccountData'] }) instanceof TransactionError);
  assert.ok(decodeSolventError({ err: 'BlockhashNotFound' }) instanceof TransactionError, 'a status err value');
  assert.ok(decodeSolventError(`Custom(${6_000 + IDL.errors.length})`) instanceof TransactionError, 'a code past the IDL is not a Solvent error');
});
