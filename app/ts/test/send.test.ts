// Compute-unit limits from simulation and the send helper (ts/src/send.ts), over JSON-RPC on a
// real local network: a Surfnet with the built .so (solvent-localnet), one for the file, a
// market per test. A borrow's limit is the units its simulation consumed plus the margin, far
// below the measured table's; the margin covers the refresh path of a later clock, where the
// bare consumption of a simulation after the same-clock refreshes does not; a failing
// simulation throws its class and sends nothing; an RPC that cannot simulate leaves the table's
// limit; a failure is refused in the RPC's preflight, or (preflight skipped) fails on chain and
// comes back by polling; kit's sendAndConfirm on the Surfnet's WebSocket; lookup tables
// compress the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  AccountRole,
  appendTransactionMessageInstructions,
  compileTransaction,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  type Address,
  type Blockhash,
  type Instruction,
  type Signature,
} from '@solana/kit';
import {
  COMPUTE_BUDGET_PROGRAM_ID,
  COMPUTE_UNIT_MARGIN,
  MAX_COMPUTE_UNIT_LIMIT,
  PROGRAM_ID,
  RefreshAndRetryError,
  TransactionError,
  UserError,
  computeUnitLimitOf,
  getBorrowInstruction,
  getDepositInstruction,
  getObligationDecoder,
  getReserveDecoder,
  refreshInstructions,
  refreshThenAct,
  refreshThenActSeparately,
  reservesRefreshedBy,
  sendSolventTransaction,
  setComputeUnitLimitInstruction,
  simulatedComputeUnitLimit,
  sizeComputeUnitLimit,
  withComputeUnitLimit,
  type SolventSendRpc,
} from '../src/index.ts';
import { newObligation } from '../src/scenario.ts';
import { cargoBinary, confirmedTransaction, freshSolUsdcPrices, mustSendOn, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';
import { writeLookupTable } from '../src/surfnet.ts';

const LOCALNET = cargoBinary('solvent-localnet');
const skip = existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`;
const options = { skip, timeout: 300_000 };

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;

const limitsIn = (instructions: Instruction[]) => instructions.filter((ix) => ix.programAddress === COMPUTE_BUDGET_PROGRAM_ID);

/** `rpc` with every method call recorded (name and parameters), and `simulateTransaction`
 *  replaced when `simulate` is given. */
function recorded(rpc: SolventSendRpc, simulate?: () => Promise<never>) {
  const calls: { method: string; params: unknown[] }[] = [];
  const proxy = new Proxy(rpc, {
    get(target, method: string) {
      if (method === 'simulateTransaction' && simulate) return (...params: unknown[]) => (calls.push({ method, params }), { send: simulate });
      const original = (target as unknown as Record<string, (...p: unknown[]) => unknown>)[method];
      return (...params: unknown[]) => (calls.push({ method, params }), original(...params));
    },
  });
  return { rpc: proxy, calls };
}

/** One Surfnet for the file, started by the first test that runs (none when skipped). */
let started: ReturnType<typeof startSurfnet> | undefined;
async function startSurfnet() {
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address]);
  const { chain } = await surfnetChain(network.rpc, payer);
  return { network, chain };
}
test.after(() => started?.then(({ network }) => network.stop(), () => undefined));

/** `instructions` simulated as they are (fee payer `feePayer`, unsigned): the units consumed and
 *  the logs. */
async function simulation(rpc: SolventSendRpc, feePayer: Address, instructions: Instruction[]) {
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayer(feePayer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: '11111111111111111111111111111111' as Blockhash, lastValidBlockHeight: 0n }, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const wire = getBase64EncodedWireTransaction(compileTransaction(message));
  const { value } = await rpc.simulateTransaction(wire, { encoding: 'base64', sigVerify: false, replaceRecentBlockhash: true, commitment: 'confirmed' }).send();
  assert.equal(value.err, null, (value.logs ?? []).join('\n'));
  return { unitsConsumed: Number(value.unitsConsumed), logs: value.logs ?? [] };
}

/** What the program logged it consumed in its last top-level instruction of `logs`. */
function lastProgramUnits(logs: readonly string[]): number {
  const lines = logs.map((line) => new RegExp(`^Program ${PROGRAM_ID} consumed (\\d+) of \\d+ compute units$`).exec(line)).filter((m) => m !== null);
  assert.ok(lines.length > 0, logs.join('\n'));
  return Number(lines.at(-1)![1]);
}

async function setUp() {
  const { network, chain } = await (started ??= startSurfnet());
  const { market, sol, usdc, oracleOf } = await solUsdcMarketOn(chain);
  const user = await newObligation(chain, market);
  const solAccount = await chain.createTokenAccount(sol.mint, user.signer.address, 10n * SOL);
  const usdcAccount = await chain.createTokenAccount(usdc.mint, user.signer.address, 0n);
  await mustSendOn(chain, [getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: solAccount, amount: 10n * SOL })]);
  // The prices (shared by the file's markets) at the Surfnet's clock now: at most 60 s old.
  await freshSolUsdcPrices(chain, sol.oracle, usdc.oracle);
  const borrow = (amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: usdcAccount, marketAuthority: market.authority, amount });
  const obligation = async () => getObligationDecoder().decode(await chain.data(user.obligation));
  const borrowing = async (amount: bigint) => refreshThenAct(market.address, user.obligation, await obligation(), oracleOf, [usdc.reserve], borrow(amount));
  const rpc = createSolanaRpc(network.rpc) as SolventSendRpc;
  /** The units the transaction of `signature` consumed, as the Surfnet ran it. */
  const consumed = async (signature: Signature) => (await confirmedTransaction(network.rpc, signature)).computeUnits;
  return { network, chain, market, sol, usdc, oracleOf, user, usdcAccount, borrow, borrowing, obligation, rpc, consumed };
}

test('the limit helpers: replaced in place, never doubled; the margin counts the reserves refreshed', options, async () => {
  const { market, usdc, oracleOf, user, borrow, borrowing, obligation } = await setUp();
  const inline = await borrowing(10n * USDC);
  assert.equal(computeUnitLimitOf(inline), 44_500, "refreshThenAct's table: inlineComputeUnitsFor(2, 1)");
  const replaced = withComputeUnitLimit(inline, 20_000);
  assert.equal(replaced.length, inline.length);
  assert.equal(limitsIn(replaced).length, 1);
  assert.equal(computeUnitLimitOf(replaced), 20_000);
  assert.deepEqual(replaced.slice(1), inline.slice(1));
  // Two limits (a caller's and the builder's) become one, in the first one's place.
  const doubled = withComputeUnitLimit([inline[1], setComputeUnitLimitInstruction(1), inline[0]], 30_000);
  assert.deepEqual(doubled.map((ix) => ix.programAddress), [PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID]);
  assert.equal(computeUnitLimitOf(doubled), 30_000);
  // None: one put first.
  assert.deepEqual(withComputeUnitLimit([inline[1]], 5).map((ix) => ix.programAddress), [COMPUTE_BUDGET_PROGRAM_ID, PROGRAM_ID]);
  assert.throws(() => withComputeUnitLimit(inline, MAX_COMPUTE_UNIT_LIMIT + 1), RangeError);

  // Reserves refreshed: the inline borrow refreshes SOL (its position) and USDC (the new debt,
  // only its oracle passed); the separate sequence refreshes both with refresh_reserve.
  assert.equal(reservesRefreshedBy(inline), 2);
  const separate = await refreshThenActSeparately(market.address, user.obligation, await obligation(), oracleOf, [usdc.reserve], borrow(10n * USDC));
  assert.equal(reservesRefreshedBy(separate), 2, 'the action after refresh_reserve is not counted again');
  assert.equal(reservesRefreshedBy([inline[0]]), 0);
  // A borrow whose debt is already a position: two (reserve, oracle) pairs, nothing after.
  const pairs = { ...inline[1], accounts: [...inline[1].accounts!.slice(0, 11), { address: usdc.reserve, role: AccountRole.WRITABLE }, { address: oracleOf(usdc.reserve), role: AccountRole.READONLY }] };
  assert.equal(reservesRefreshedBy([pairs]), 2);
  const { percent, fixed, perReserve } = COMPUTE_UNIT_MARGIN;
  assert.equal(simulatedComputeUnitLimit(10_001, inline), 10_001 + Math.ceil(10_001 * percent / 100) + fixed + 2 * perReserve);
  assert.equal(simulatedComputeUnitLimit(1_390_000, inline), MAX_COMPUTE_UNIT_LIMIT);
});

test('a borrow sized by simulation: consumed + margin, far below the table, and it goes through', options, async (t) => {
  const { chain, market, sol, usdc, oracleOf, user, usdcAccount, borrow, borrowing, obligation, rpc, consumed } = await setUp();
  const built = await borrowing(1_000n * USDC);
  const table = computeUnitLimitOf(built)!;
  const sized = await sizeComputeUnitLimit(rpc, chain.payer, built);
  assert.equal(sized.source, 'simulation');
  assert.ok(sized.unitsConsumed! > 5_000, `a borrow consumes units: ${sized.unitsConsumed}`);
  assert.equal(sized.computeUnitLimit, simulatedComputeUnitLimit(sized.unitsConsumed!, built));
  assert.equal(sized.computeUnitLimit, sized.unitsConsumed! + Math.ceil(sized.unitsConsumed! / 10) + 1_000 + 2 * 3_000);
  assert.ok(sized.computeUnitLimit! < table / 1.5, `${sized.computeUnitLimit} well below the table's ${table}`);
  assert.equal(limitsIn(sized.instructions).length, 1, 'the limit replaced, not added');
  assert.equal(sized.instructions.length, built.length);
  assert.equal(computeUnitLimitOf(sized.instructions), sized.computeUnitLimit);

  // Simulated again by the send, maybe some seconds later: neither reserve has debt yet, so no
  // interest compounds in either simulation, and the path is the same.
  const sent = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: built });
  assert.equal(sent.limitSource, 'simulation');
  assert.equal(sent.computeUnitLimit, sized.computeUnitLimit, 'the same state simulates the same');
  const used = await consumed(sent.signature);
  assert.ok(used <= sent.computeUnitLimit!, `${used} <= ${sent.computeUnitLimit}`);
  assert.equal(await chain.tokenBalance(usdcAccount), 1_000n * USDC);
  t.diagnostic(`borrow (inline, new debt, 1+1): table ${table}, simulated ${sized.unitsConsumed} -> limit ${sent.computeUnitLimit}, consumed ${used}`);

  const separate = await refreshThenActSeparately(market.address, user.obligation, await obligation(), oracleOf, [usdc.reserve], borrow(1n * USDC));
  const separateSized = await sizeComputeUnitLimit(rpc, chain.payer, separate);
  assert.ok(separateSized.computeUnitLimit! < computeUnitLimitOf(separate)!);
  t.diagnostic(`borrow (separate sequence, 1+1): table ${computeUnitLimitOf(separate)}, simulated ${separateSized.unitsConsumed} -> limit ${separateSized.computeUnitLimit}`);

  // The margin's reason: a borrow simulated where its reserves were already refreshed at the
  // same clock (the interest accrued, nothing to compound) and sent later (the USDC debt's
  // interest compounds again) consumes more when sent. A live network does not let the test
  // pick the slot of a simulation, so the same-clock consumption is measured in one simulation
  // that refreshes both reserves first: the borrow's own units, as the program logs them, plus
  // what the transaction spends outside the program (measured on the borrow simulated alone).
  // The Surfnet's clock is moved 10 s on first: the last refresh on chain is seconds old.
  await chain.timeTravel(10n);
  await freshSolUsdcPrices(chain, sol.oracle, usdc.oracle);
  const more = await borrowing(100n * USDC);
  const alone = await simulation(rpc, chain.payer.address, more);
  const outside = alone.unitsConsumed - lastProgramUnits(alone.logs);
  const reserves = await Promise.all([sol, usdc].map(async (r) => ({ address: r.reserve, data: getReserveDecoder().decode(await chain.data(r.reserve)) })));
  const refreshedFirst = await simulation(rpc, chain.payer.address, [...refreshInstructions({ address: user.obligation, data: await obligation() }, reserves), ...more]);
  const sameClock = lastProgramUnits(refreshedFirst.logs) + outside;
  assert.ok(sameClock < alone.unitsConsumed, `the refreshed borrow consumes less: ${sameClock} < ${alone.unitsConsumed}`);
  const sameClockLimit = simulatedComputeUnitLimit(sameClock, more);
  // Sent with the last refresh on chain seconds old, the refresh path compounds again.
  const bare = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: withComputeUnitLimit(more, sameClock), simulate: false }).catch((e: unknown) => e);
  assert.ok(bare instanceof TransactionError, `the bare consumption runs out: ${bare}`);
  assert.match(bare.reason, /exceeded CUs meter/);
  assert.equal(bare.programAddress, PROGRAM_ID);
  const withMargin = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: withComputeUnitLimit(more, sameClockLimit), simulate: false });
  const later = await consumed(withMargin.signature);
  assert.ok(later > sameClock && later <= sameClockLimit, `${sameClock} < ${later} <= ${sameClockLimit}`);
  assert.equal(await chain.tokenBalance(usdcAccount), 1_100n * USDC);
  t.diagnostic(`borrow (inline, more debt): simulated after same-clock refreshes ${sameClock} -> limit ${sameClockLimit}; consumed with the refresh 10 s old ${later}; table ${computeUnitLimitOf(more)}`);
});

test('a failing simulation throws its class and sends nothing; an RPC that cannot simulate leaves the table limit', options, async () => {
  const { chain, sol, usdc, usdcAccount, borrowing, rpc, consumed } = await setUp();
  const tooLarge = recorded(rpc);
  const refused = await sendSolventTransaction({ rpc: tooLarge.rpc, feePayer: chain.payer, instructions: await borrowing(100_000n * USDC) }).catch((e: unknown) => e);
  assert.ok(refused instanceof UserError, String(refused));
  assert.equal(refused.name, 'BorrowTooLarge');
  assert.equal(refused.instructionIndex, 1);
  assert.ok(refused.logs!.some((line) => line.includes('Error Code: BorrowTooLarge')));
  assert.deepEqual(tooLarge.calls.map((c) => c.method), ['getLatestBlockhash', 'simulateTransaction'], 'nothing sent');

  await chain.timeTravel(100n); // the Surfnet's clock 100 s on: the prices are older than the reserves allow
  const stale = await sizeComputeUnitLimit(rpc, chain.payer, await borrowing(10n * USDC)).catch((e: unknown) => e);
  assert.ok(stale instanceof RefreshAndRetryError && stale.name === 'OraclePriceStale', String(stale));
  await freshSolUsdcPrices(chain, sol.oracle, usdc.oracle);

  // Nothing listens there: the instructions as given, with the table's limit.
  const built = await borrowing(10n * USDC);
  const unreachable = await sizeComputeUnitLimit(createSolanaRpc('http://127.0.0.1:9'), chain.payer, built);
  assert.equal(unreachable.source, 'fallback');
  assert.equal(unreachable.computeUnitLimit, 44_500);
  assert.deepEqual(unreachable.instructions, built);
  assert.ok(unreachable.fallbackReason instanceof Error);
  // An RPC that does not simulate still sends, with the table's limit.
  const noSimulation = recorded(rpc, () => Promise.reject(new Error('simulateTransaction: method not found')));
  const sent = await sendSolventTransaction({ rpc: noSimulation.rpc, feePayer: chain.payer, instructions: built });
  assert.equal(sent.limitSource, 'fallback');
  assert.equal(sent.computeUnitLimit, 44_500);
  assert.ok((await consumed(sent.signature)) < 44_500);
  assert.equal(await chain.tokenBalance(usdcAccount), 10n * USDC);
});

/** `rpc` whose `sendTransaction` skips the preflight (as a caller's own RPC may be set up to). */
function skippingPreflight(rpc: SolventSendRpc): SolventSendRpc {
  return new Proxy(rpc, {
    get(target, method: string) {
      const original = (target as unknown as Record<string, (...p: unknown[]) => unknown>)[method];
      if (method !== 'sendTransaction') return original;
      return (wire: unknown, config: object) => original(wire, { ...config, skipPreflight: true });
    },
  });
}

test('failures come back decoded with their logs: from the preflight, on chain by polling, and through kit sendAndConfirm', options, async () => {
  const { network, chain, usdcAccount, borrowing, rpc, consumed } = await setUp();
  // Not simulated by the helper: the RPC's preflight refuses it; the logs come with the refusal,
  // nothing is polled.
  const preflight = recorded(rpc);
  const inPreflight = await sendSolventTransaction({ rpc: preflight.rpc, feePayer: chain.payer, instructions: await borrowing(50_000n * USDC), simulate: false }).catch((e: unknown) => e);
  assert.ok(inPreflight instanceof UserError, String(inPreflight));
  assert.equal(inPreflight.name, 'BorrowTooLarge');
  assert.ok(inPreflight.logs!.some((line) => line.endsWith('failed: custom program error: 0x178d')), String(inPreflight.logs));
  assert.deepEqual(preflight.calls.map((c) => c.method), ['getLatestBlockhash', 'sendTransaction']);

  // Without the preflight it lands and fails on chain; the logs come from getTransaction.
  const polled = recorded(skippingPreflight(rpc));
  const onChain = await sendSolventTransaction({ rpc: polled.rpc, feePayer: chain.payer, instructions: await borrowing(50_000n * USDC), simulate: false }).catch((e: unknown) => e);
  assert.ok(onChain instanceof UserError, String(onChain));
  assert.equal(onChain.name, 'BorrowTooLarge');
  assert.ok(onChain.logs!.some((line) => line.endsWith('failed: custom program error: 0x178d')), String(onChain.logs));
  // (getEpochInfo between polls, while the status is not there yet.)
  assert.deepEqual([...new Set(polled.calls.map((c) => c.method))].filter((m) => m !== 'getEpochInfo'), ['getLatestBlockhash', 'sendTransaction', 'getSignatureStatuses', 'getTransaction']);

  // kit's sendAndConfirmTransactionFactory, on the Surfnet's WebSocket subscriptions.
  const rpcSubscriptions = createSolanaRpcSubscriptions(network.ws);
  const sent = await sendSolventTransaction({ rpc, rpcSubscriptions, feePayer: chain.payer, instructions: await borrowing(25n * USDC) });
  assert.ok((await consumed(sent.signature)) <= sent.computeUnitLimit!);
  assert.equal(await chain.tokenBalance(usdcAccount), 25n * USDC);
  const refused = await sendSolventTransaction({ rpc, rpcSubscriptions, feePayer: chain.payer, instructions: await borrowing(50_000n * USDC), simulate: false }).catch((e: unknown) => e);
  assert.ok(refused instanceof UserError && refused.name === 'BorrowTooLarge', String(refused));
  assert.ok(refused.logs!.length > 0);
});

test('address lookup tables compress the message; the simulated and sent transactions use them', options, async () => {
  const { chain, market, sol, usdc, usdcAccount, borrowing, rpc, consumed } = await setUp();
  const addresses = [market.address, market.authority, sol.reserve, sol.oracle, usdc.reserve, usdc.oracle, usdc.mint, usdc.vault, usdcAccount];
  const table = await writeLookupTable(chain, chain.payer.address, addresses);

  const watched = recorded(rpc);
  const sent = await sendSolventTransaction({ rpc: watched.rpc, feePayer: chain.payer, instructions: await borrowing(5n * USDC), addressLookupTables: { [table]: addresses } });
  assert.equal(sent.limitSource, 'simulation');
  for (const method of ['simulateTransaction', 'sendTransaction']) {
    const wire = watched.calls.find((c) => c.method === method)!.params[0] as string;
    const message = getCompiledTransactionMessageDecoder().decode(getTransactionDecoder().decode(Buffer.from(wire, 'base64')).messageBytes);
    const lookups = 'addressTableLookups' in message ? message.addressTableLookups : undefined;
    assert.equal(lookups?.length, 1, `${method}: one lookup table`);
    assert.ok(lookups![0].writableIndexes.length + lookups![0].readonlyIndexes.length >= 6, `${method}: accounts looked up`);
  }
  assert.ok((await consumed(sent.signature)) <= sent.computeUnitLimit!);
  assert.equal(await chain.tokenBalance(usdcAccount), 5n * USDC);
});
