// Compute-unit limits from simulation and the send helper (ts/src/send.ts), over JSON-RPC: the
// bridge in front of LiteSVM with the built .so (rpc-bridge.ts, which serves simulateTransaction
// as Solana does). A borrow's limit is the units its simulation consumed plus the margin, far
// below the measured table's; the margin covers the refresh path of a later slot, where the
// bare consumption does not; a failing simulation throws its class and sends nothing; an RPC
// that cannot simulate leaves the table's limit; confirmation by polling and through kit's
// sendAndConfirm (with stand-in subscriptions); lookup tables compress the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccountRole,
  createSolanaRpc,
  generateKeyPairSigner,
  getBase58Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  type Address,
  type Instruction,
  type RpcSubscriptions,
  type Signature,
  type SignatureNotificationsApi,
  type SlotNotificationsApi,
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
import { newObligation, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { Chain, solUsdcMarket } from './helpers.ts';
import { RpcBridge } from './rpc-bridge.ts';
import { FailedTransactionMetadata } from 'litesvm';

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;
const ADDRESS_LOOKUP_TABLE_PROGRAM = 'AddressLookupTab1e1111111111111111111111111' as Address;

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

async function setUp() {
  const chain = await Chain.start();
  const { svm, market, sol, usdc, oracleOf } = await solUsdcMarket(chain);
  const user = await newObligation(svm, market);
  const solAccount = await chain.createTokenAccount(sol.mint, user.signer.address, 10n * SOL);
  const usdcAccount = await chain.createTokenAccount(usdc.mint, user.signer.address, 0n);
  await chain.mustSend([getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: solAccount, amount: 10n * SOL })]);
  const borrow = (amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: usdcAccount, marketAuthority: market.authority, amount });
  const obligation = () => getObligationDecoder().decode(chain.data(user.obligation));
  const borrowing = async (amount: bigint) => refreshThenAct(market.address, user.obligation, obligation(), oracleOf, [usdc.reserve], borrow(amount));
  const bridge = new RpcBridge(chain.svm);
  const rpc = createSolanaRpc(await bridge.start()) as SolventSendRpc;
  /** The units the transaction of `signature` consumed, as LiteSVM ran it. */
  const consumed = (signature: Signature) => {
    const found = chain.svm.getTransaction(signature);
    assert.ok(found && !(found instanceof FailedTransactionMetadata), `${signature} succeeded`);
    return Number(found.computeUnitsConsumed());
  };
  return { chain, market, sol, usdc, oracleOf, user, usdcAccount, borrow, borrowing, obligation, bridge, rpc, consumed };
}

test('the limit helpers: replaced in place, never doubled; the margin counts the reserves refreshed', async () => {
  const { market, usdc, oracleOf, user, borrow, borrowing, obligation, bridge } = await setUp();
  try {
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
    const separate = await refreshThenActSeparately(market.address, user.obligation, obligation(), oracleOf, [usdc.reserve], borrow(10n * USDC));
    assert.equal(reservesRefreshedBy(separate), 2, 'the action after refresh_reserve is not counted again');
    assert.equal(reservesRefreshedBy([inline[0]]), 0);
    // A borrow whose debt is already a position: two (reserve, oracle) pairs, nothing after.
    const pairs = { ...inline[1], accounts: [...inline[1].accounts!.slice(0, 11), { address: usdc.reserve, role: AccountRole.WRITABLE }, { address: oracleOf(usdc.reserve), role: AccountRole.READONLY }] };
    assert.equal(reservesRefreshedBy([pairs]), 2);
    const { percent, fixed, perReserve } = COMPUTE_UNIT_MARGIN;
    assert.equal(simulatedComputeUnitLimit(10_001, inline), 10_001 + Math.ceil(10_001 * percent / 100) + fixed + 2 * perReserve);
    assert.equal(simulatedComputeUnitLimit(1_390_000, inline), MAX_COMPUTE_UNIT_LIMIT);
  } finally {
    bridge.stop();
  }
});

test('a borrow sized by simulation: consumed + margin, far below the table, and it goes through', async (t) => {
  const { chain, market, usdc, oracleOf, user, usdcAccount, borrow, borrowing, obligation, bridge, rpc, consumed } = await setUp();
  try {
    chain.advance(1n);
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

    const sent = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: built });
    assert.equal(sent.limitSource, 'simulation');
    assert.equal(sent.computeUnitLimit, sized.computeUnitLimit, 'the same state simulates the same');
    const used = consumed(sent.signature);
    assert.ok(used <= sent.computeUnitLimit!, `${used} <= ${sent.computeUnitLimit}`);
    assert.equal(chain.tokenBalance(usdcAccount), 1_000n * USDC);
    t.diagnostic(`borrow (inline, new debt, 1+1): table ${table}, simulated ${sized.unitsConsumed} -> limit ${sent.computeUnitLimit}, consumed ${used}`);

    const separate = await refreshThenActSeparately(market.address, user.obligation, obligation(), oracleOf, [usdc.reserve], borrow(1n * USDC));
    const separateSized = await sizeComputeUnitLimit(rpc, chain.payer, separate);
    assert.ok(separateSized.computeUnitLimit! < computeUnitLimitOf(separate)!);
    t.diagnostic(`borrow (separate sequence, 1+1, in the slot of the refreshes): table ${computeUnitLimitOf(separate)}, simulated ${separateSized.unitsConsumed} -> limit ${separateSized.computeUnitLimit}`);

    // The margin's reason: simulated in the slot of that borrow's refreshes (interest already
    // accrued), sent in the next one (accrual runs again). Consumption alone would not do.
    const more = await borrowing(100n * USDC);
    const sameSlot = await sizeComputeUnitLimit(rpc, chain.payer, more);
    chain.advance(1n);
    const bare = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: withComputeUnitLimit(more, sameSlot.unitsConsumed!), simulate: false }).catch((e: unknown) => e);
    assert.ok(bare instanceof TransactionError, `the bare consumption runs out: ${bare}`);
    assert.match(bare.reason, /exceeded CUs meter/);
    assert.equal(bare.programAddress, PROGRAM_ID);
    chain.advance(1n);
    const withMargin = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: sameSlot.instructions, simulate: false });
    const nextSlot = consumed(withMargin.signature);
    assert.ok(nextSlot > sameSlot.unitsConsumed! && nextSlot <= sameSlot.computeUnitLimit!, `${sameSlot.unitsConsumed} < ${nextSlot} <= ${sameSlot.computeUnitLimit}`);
    assert.equal(chain.tokenBalance(usdcAccount), 1_100n * USDC);
    t.diagnostic(`borrow (inline, more debt): simulated in the refreshes' slot ${sameSlot.unitsConsumed} -> limit ${sameSlot.computeUnitLimit}; consumed a slot later ${nextSlot}; table ${computeUnitLimitOf(more)}`);
  } finally {
    bridge.stop();
  }
});

test('a failing simulation throws its class and sends nothing; an RPC that cannot simulate leaves the table limit', async () => {
  const { chain, sol, usdc, usdcAccount, borrowing, bridge, rpc, consumed } = await setUp();
  try {
    chain.advance(1n);
    const tooLarge = recorded(rpc);
    const refused = await sendSolventTransaction({ rpc: tooLarge.rpc, feePayer: chain.payer, instructions: await borrowing(100_000n * USDC) }).catch((e: unknown) => e);
    assert.ok(refused instanceof UserError, String(refused));
    assert.equal(refused.name, 'BorrowTooLarge');
    assert.equal(refused.instructionIndex, 1);
    assert.ok(refused.logs!.some((line) => line.includes('Error Code: BorrowTooLarge')));
    assert.deepEqual(tooLarge.calls.map((c) => c.method), ['getLatestBlockhash', 'simulateTransaction'], 'nothing sent');

    chain.advance(100n); // the prices are now older than the reserves allow
    const stale = await sizeComputeUnitLimit(rpc, chain.payer, await borrowing(10n * USDC)).catch((e: unknown) => e);
    assert.ok(stale instanceof RefreshAndRetryError && stale.name === 'OraclePriceStale', String(stale));
    chain.setPriceUpdate(sol.oracle, SOL_FEED, 15_000_000_000n, 15_000_000_000n, -8);
    chain.setPriceUpdate(usdc.oracle, USDC_FEED, 1_000_000n, 1_000_000n, -6);

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
    assert.ok(consumed(sent.signature) < 44_500);
    assert.equal(chain.tokenBalance(usdcAccount), 10n * USDC);
  } finally {
    bridge.stop();
  }
});

test('failures on chain come back decoded with their logs, by polling and through kit sendAndConfirm', async () => {
  const { chain, usdcAccount, borrowing, bridge, rpc, consumed } = await setUp();
  try {
    // Not simulated (the bridge runs no preflight): it fails on chain; the logs come from getTransaction.
    chain.advance(1n);
    const polled = recorded(rpc);
    const onChain = await sendSolventTransaction({ rpc: polled.rpc, feePayer: chain.payer, instructions: await borrowing(50_000n * USDC), simulate: false }).catch((e: unknown) => e);
    assert.ok(onChain instanceof UserError, String(onChain));
    assert.equal(onChain.name, 'BorrowTooLarge');
    assert.ok(onChain.logs!.some((line) => line.endsWith('failed: custom program error: 0x178d')));
    assert.deepEqual([...new Set(polled.calls.map((c) => c.method))], ['getLatestBlockhash', 'sendTransaction', 'getSignatureStatuses', 'getTransaction']);

    // kit's sendAndConfirmTransactionFactory, with subscriptions that never notify (the bridge has
    // no WebSocket): kit confirms from its getSignatureStatuses lookup.
    const silent = (abortSignal: AbortSignal) => ({
      async *[Symbol.asyncIterator]() {
        await new Promise((resolve) => abortSignal.addEventListener('abort', resolve));
      },
    });
    const rpcSubscriptions = {
      signatureNotifications: () => ({ subscribe: async ({ abortSignal }: { abortSignal: AbortSignal }) => silent(abortSignal) }),
      slotNotifications: () => ({ subscribe: async ({ abortSignal }: { abortSignal: AbortSignal }) => silent(abortSignal) }),
    } as unknown as RpcSubscriptions<SignatureNotificationsApi & SlotNotificationsApi>;
    chain.advance(1n);
    const sent = await sendSolventTransaction({ rpc, rpcSubscriptions, feePayer: chain.payer, instructions: await borrowing(25n * USDC) });
    assert.ok(consumed(sent.signature) <= sent.computeUnitLimit!);
    assert.equal(chain.tokenBalance(usdcAccount), 25n * USDC);
    chain.advance(1n);
    const refused = await sendSolventTransaction({ rpc, rpcSubscriptions, feePayer: chain.payer, instructions: await borrowing(50_000n * USDC), simulate: false }).catch((e: unknown) => e);
    assert.ok(refused instanceof UserError && refused.name === 'BorrowTooLarge', String(refused));
    assert.ok(refused.logs!.length > 0);
  } finally {
    bridge.stop();
  }
});

test('address lookup tables compress the message; the simulated and sent transactions use them', async () => {
  const { chain, market, sol, usdc, usdcAccount, borrowing, bridge, rpc, consumed } = await setUp();
  try {
    // A lookup table written directly (the program's layout: a 56-byte header, then addresses).
    const table = (await generateKeyPairSigner()).address;
    const addresses = [market.address, market.authority, sol.reserve, sol.oracle, usdc.reserve, usdc.oracle, usdc.mint, usdc.vault, usdcAccount];
    const data = new Uint8Array(56 + 32 * addresses.length);
    const view = new DataView(data.buffer);
    view.setUint32(0, 1, true); // ProgramState::LookupTable
    view.setBigUint64(4, 2n ** 64n - 1n, true); // not deactivated
    view.setBigUint64(12, 0n, true); // last extended in slot 0
    data[21] = 0;
    data[22] = 1; // an authority
    data.set(getBase58Encoder().encode(chain.payer.address), 23);
    addresses.forEach((a, i) => data.set(getBase58Encoder().encode(a), 56 + 32 * i));
    chain.setAccount(table, ADDRESS_LOOKUP_TABLE_PROGRAM, data);
    chain.advance(1n);

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
    assert.ok(consumed(sent.signature) <= sent.computeUnitLimit!);
    assert.equal(chain.tokenBalance(usdcAccount), 5n * USDC);
  } finally {
    bridge.stop();
  }
});
