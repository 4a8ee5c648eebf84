// Predictive deleveraging through the TypeScript client, on the built .so in LiteSVM: the
// owner's stop-loss order (`set_obligation_order`, `readOrders`, `orderBonusBps`) executed by a
// third party with `refreshThenAct` + `getExecuteObligationOrderInstruction` once a refresh
// found its trigger holding, and the soft-liquidation zone (`set_soft_zone`,
// `soft_deleverage`). The model is tests/tests/deleverage.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSigner, type Address, type Instruction, type KeyPairSigner } from '@solana/kit';
import {
  DELEVERAGE_ORDER,
  DELEVERAGE_SOFT,
  SOLVENT_ERROR__INVALID_MARKET_OWNER,
  SOLVENT_ERROR__INVALID_OBLIGATION_OWNER,
  SOLVENT_ERROR__NOT_IN_SOFT_ZONE,
  SOLVENT_ERROR__OBLIGATION_RESERVES_MISMATCH,
  SOLVENT_ERROR__ORDER_BONUS_TOO_HIGH,
  SOLVENT_ERROR__ORDER_NOT_FOUND,
  SOLVENT_ERROR__ORDER_NOT_TRIGGERED,
  SOLVENT_ERROR__SOFT_ZONE_DISABLED,
  TOKEN_PROGRAM_ID,
  TRIGGER_HEALTH_BELOW,
  TRIGGER_PRICE_BELOW,
  TRIGGER_RATIO_ABOVE,
  WAD,
  cachedValues,
  debtFraction,
  dutchBonusBps,
  getBorrowInstruction,
  getCancelObligationOrderInstruction,
  getDepositInstruction,
  getExecuteObligationOrderInstruction,
  getObligationDecoder,
  getReserveDecoder,
  getSetObligationOrderInstruction,
  getSetSoftZoneInstruction,
  getSoftDeleverageInstruction,
  inSoftZone,
  isOrderTriggered,
  marginBandPositionBps,
  orderBonusBps,
  orderParams,
  programError,
  readOrders,
  refreshThenAct,
  softZoneBonusBps,
  storedWad,
  withRequiredAccounts,
  type Obligation,
  type SoftZoneConfig,
} from '../src/index.ts';
import { parseEvents } from '../src/anchor.ts';
import type { Sent } from '../src/scenario.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { Chain, liteSvmScenarioChain } from './helpers.ts';

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;
const U64_MAX = 2n ** 64n - 1n;
const DEBT = 800n * USDC; // 800 USDC against 10 SOL at $150: health 1,200 / 800 = 1.5

/** A stop-loss: SOL below $130, half the debt per execution, up to 3% over ten minutes. */
const STOP_LOSS = { trigger: TRIGGER_PRICE_BELOW, thresholdWad: 130n * WAD, maxRepayBps: 5_000, maxBonusBps: 300, bonusRampSecs: 600 };
/** The SOL reserve's soft zone: from halfway through the margin band, 10% of a debt per call,
 *  up to 1% over ten minutes, a minute apart. */
const ZONE: SoftZoneConfig = { enabled: 1, padding: new Uint8Array(1), startBps: 5_000, maxRepayBps: 1_000, maxBonusBps: 100, bonusRampSecs: 600, minIntervalSecs: 60 };

/** An event's field, whichever case the parser names it in. */
const field = (data: Record<string, unknown>, snake: string, camel: string) => String(data[snake] ?? data[camel]);

/** The program's refusal: its code, with the name and class the client maps it to. */
function refused(sent: Sent, code: number, name: string) {
  assert.equal(sent.ok, false, `expected ${name}, the transaction succeeded`);
  assert.ok(!sent.ok);
  assert.equal(sent.code, code, `expected ${name}, got ${sent.name} (${sent.error})\n${sent.logs.join('\n')}`);
  assert.equal(sent.name, name);
  assert.equal(programError(code)?.name, name);
}

/** A market with a lender's 100,000 USDC, a borrower owing 800 USDC against 10 SOL, and a third
 *  party (the executor) with 10,000 USDC and an empty SOL account. */
async function setup() {
  const svm = await Chain.start();
  const chain = liteSvmScenarioChain(svm);
  const market = await createMarket(chain);
  const sol = await listReserve(chain, market, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
  const usdc = await listReserve(chain, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig());
  const oracleOf = (reserve: Address) => (reserve === sol.reserve ? sol.oracle : usdc.oracle);
  const obligationOf = async (key: Address): Promise<Obligation> => getObligationDecoder().decode(await chain.data(key));

  const lender = await newObligation(chain, market);
  const lenderUsdc = await chain.createTokenAccount(usdc.mint, lender.signer.address, 100_000n * USDC);
  const lend = getDepositInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: lender.obligation, owner: lender.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: lenderUsdc, amount: 100_000n * USDC });
  assert.ok((await chain.send([lend], [lender.signer])).ok);

  const borrower = await newObligation(chain, market);
  const borrowerSol = await chain.createTokenAccount(sol.mint, borrower.signer.address, 10n * SOL);
  const borrowerUsdc = await chain.createTokenAccount(usdc.mint, borrower.signer.address, 0n);
  const collateral = getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: borrowerSol, amount: 10n * SOL });
  assert.ok((await chain.send([collateral], [borrower.signer])).ok);
  const borrow = getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: borrowerUsdc, marketAuthority: market.authority, amount: DEBT });
  assert.ok((await chain.send(await refreshThenAct(market.address, borrower.obligation, await obligationOf(borrower.obligation), oracleOf, [usdc.reserve], borrow), [borrower.signer])).ok);
  assert.equal(await chain.tokenBalance(borrowerUsdc), DEBT);

  const executor = await generateKeyPairSigner();
  await chain.fund(executor.address);
  const executorUsdc = await chain.createTokenAccount(usdc.mint, executor.address, 10_000n * USDC);
  const executorSol = await chain.createTokenAccount(sol.mint, executor.address, 0n);

  /** Moves `seconds` on (a later slot) and publishes SOL at `solDollars` (USDC at $1) then. */
  const at = (seconds: bigint, solDollars: bigint) => {
    svm.advance(seconds);
    svm.setPriceUpdate(sol.oracle, SOL_FEED, solDollars * 100_000_000n, solDollars * 100_000_000n, -8);
    svm.setPriceUpdate(usdc.oracle, USDC_FEED, 1_000_000n, 1_000_000n, -6);
  };
  const obligation = () => obligationOf(borrower.obligation);
  /** `action` after refreshing the borrower's reserves and obligation, in one transaction. */
  const refreshed = async (action: Instruction) => refreshThenAct(market.address, borrower.obligation, await obligation(), oracleOf, [], action);
  /** A transaction that only refreshes: it starts (or stops) the orders' and the zone's clocks. */
  const refreshOnly = async () => {
    const noop = { programAddress: '11111111111111111111111111111111' as Address, accounts: [], data: new Uint8Array() };
    assert.ok((await chain.send((await refreshed(noop)).slice(0, -1))).ok);
  };
  /** The accounts the executor passes to `liquidate`, `execute_obligation_order` and
   *  `soft_deleverage`: repay the borrower's USDC, receive its SOL. */
  const deleverageAccounts = (liquidator: KeyPairSigner, source: Address, destination: Address) => ({
    lendingMarket: market.address,
    obligation: borrower.obligation,
    liquidator,
    repayReserve: usdc.reserve,
    repayLiquidityMint: usdc.mint,
    repayLiquidityVault: usdc.vault,
    sourceLiquidity: source,
    withdrawReserve: sol.reserve,
    withdrawLiquidityMint: sol.mint,
    withdrawLiquidityVault: sol.vault,
    destinationLiquidity: destination,
    marketAuthority: market.authority,
    repayTokenProgram: TOKEN_PROGRAM_ID,
    withdrawTokenProgram: TOKEN_PROGRAM_ID,
  });
  const execute = (index: number, repayAmount: bigint) =>
    getExecuteObligationOrderInstruction({ ...deleverageAccounts(executor, executorUsdc, executorSol), index, repayAmount });
  const soft = (repayAmount: bigint) => getSoftDeleverageInstruction({ ...deleverageAccounts(executor, executorUsdc, executorSol), repayAmount });
  return { svm, chain, market, sol, usdc, borrower, executor, executorUsdc, executorSol, at, obligation, refreshed, refreshOnly, execute, soft };
}

test('the order bonus is the program\'s Dutch auction', () => {
  // `dutch_bonus_bps`' own cases.
  assert.equal(dutchBonusBps(300, 600, 0), 0);
  assert.equal(dutchBonusBps(300, 600, 300), 150);
  assert.equal(dutchBonusBps(300, 600, 599), 299, 'rounded down');
  assert.equal(dutchBonusBps(300, 600, 6_000), 300);
  assert.equal(dutchBonusBps(300, 600, -5), 0);
  const order = { triggeredSince: 1_000n, maxBonusBps: 300, bonusRampSecs: 600 };
  assert.equal(orderBonusBps(order, 1_300n), 150);
  assert.equal(orderBonusBps(order, 1_300), 150, 'now as a number');
  assert.equal(orderBonusBps({ ...order, triggeredSince: 0n }, 1_300n), 0, 'clock stopped');
  assert.equal(softZoneBonusBps({ softZoneSince: 1_000n }, ZONE, 1_300n), 50);
  assert.equal(softZoneBonusBps({ softZoneSince: 0n }, ZONE, 1_300n), 0);
  // The debt one call repays.
  assert.equal(debtFraction(1_001n * WAD, 1_000), 100n);
  assert.equal(debtFraction(1_000n * WAD + 1n, 10_000), 1_001n, 'the whole debt, rounded up');
  // The triggers, as `triggers_compare_as_documented`: HF 1.25, SOL $150, USDC $1.
  const health = {
    initial: { assetsWad: 700n * WAD, liabilitiesWad: 640n * WAD },
    maintenance: { assetsWad: 800n * WAD, liabilitiesWad: 640n * WAD },
    payout: { assetsWad: 1_600n * WAD, liabilitiesWad: 640n * WAD },
  };
  const level = (trigger: number, wad: bigint) => ({ trigger, thresholdWad: { leBytes: leBytes(wad) } });
  assert.ok(isOrderTriggered(level(TRIGGER_HEALTH_BELOW, (13n * WAD) / 10n), health, 150n * WAD, WAD));
  assert.ok(!isOrderTriggered(level(TRIGGER_HEALTH_BELOW, (125n * WAD) / 100n), health, 150n * WAD, WAD), 'equal is not below');
  assert.ok(isOrderTriggered(level(TRIGGER_PRICE_BELOW, 151n * WAD), health, 150n * WAD, WAD));
  assert.ok(!isOrderTriggered(level(TRIGGER_PRICE_BELOW, 150n * WAD), health, 150n * WAD, WAD));
  assert.ok(isOrderTriggered(level(TRIGGER_RATIO_ABOVE, (6n * WAD) / 1_000n), health, 150n * WAD, WAD));
  assert.ok(!isOrderTriggered(level(TRIGGER_RATIO_ABOVE, (7n * WAD) / 1_000n), health, 150n * WAD, WAD));
  // The soft zone of `the_soft_zone_is_the_last_part_of_the_margin_band`: limit $700, threshold $800.
  const band = (debt: bigint) => ({
    initial: { assetsWad: 700n * WAD, liabilitiesWad: debt * WAD },
    maintenance: { assetsWad: 800n * WAD, liabilitiesWad: debt * WAD },
    payout: { assetsWad: 1_600n * WAD, liabilitiesWad: debt * WAD },
  });
  assert.ok(!inSoftZone(band(766n), 6_667));
  assert.ok(inSoftZone(band(767n), 6_667));
  assert.ok(inSoftZone(band(800n), 6_667), 'at the threshold: still healthy');
  assert.ok(!inSoftZone(band(801n), 6_667), 'liquidatable: the hard path');
  assert.equal(marginBandPositionBps(band(750n)), 5_000);
  assert.equal(marginBandPositionBps(band(650n)), -5_000);
  // Past the threshold at the conservative prices ($800) but healthy at the liquidation ones
  // ($935): past the whole band, in every zone, and a health trigger holds.
  const lifted = { ...band(860n), maintenance: { assetsWad: 935n * WAD, liabilitiesWad: 860n * WAD } };
  assert.ok(inSoftZone(lifted, 9_999, 800n * WAD) && inSoftZone(lifted, 0, 800n * WAD));
  assert.equal(marginBandPositionBps(lifted, 800n * WAD), 16_000);
  assert.ok(isOrderTriggered(level(TRIGGER_HEALTH_BELOW, (105n * WAD) / 100n), lifted, 150n * WAD, WAD, 800n * WAD));
  // Bounds checked before sending.
  assert.deepEqual(orderParams(STOP_LOSS, 500), STOP_LOSS);
  assert.throws(() => orderParams({ ...STOP_LOSS, maxBonusBps: 500 }, 500), /OrderBonusTooHigh/);
  assert.throws(() => orderParams({ ...STOP_LOSS, maxRepayBps: 0 }), /InvalidObligationOrder/);
  assert.throws(() => orderParams({ ...STOP_LOSS, trigger: TRIGGER_HEALTH_BELOW, thresholdWad: WAD }), /InvalidObligationOrder/);
});

/** A Wad as a `StoredWad`'s 16 little-endian bytes. */
function leBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

test('a stop-loss order waits for its trigger, then a third party executes it at its auction bonus', async () => {
  const s = await setup();
  const { chain, svm, borrower, executor } = s;
  const owner = borrower.signer;
  const setOrder = (signer: KeyPairSigner, index: number, params: typeof STOP_LOSS) =>
    getSetObligationOrderInstruction({ obligation: borrower.obligation, owner: signer, repayReserve: s.usdc.reserve, withdrawReserve: s.sol.reserve, index, ...params });

  // The bonus must stay below SOL's 5% liquidation bonus: the client and the program agree.
  assert.throws(() => orderParams({ ...STOP_LOSS, maxBonusBps: 500 }, 500), /OrderBonusTooHigh/);
  refused(await chain.send([setOrder(owner, 0, { ...STOP_LOSS, maxBonusBps: 500 })], [owner]), SOLVENT_ERROR__ORDER_BONUS_TOO_HIGH, 'OrderBonusTooHigh');

  // The owner sets the stop-loss in slot 0; readOrders shows it, its clock stopped.
  const set = await chain.send([setOrder(owner, 0, orderParams(STOP_LOSS, 500))], [owner]);
  assert.ok(set.ok, !set.ok ? set.error : '');
  assert.ok(parseEvents(set.logs).some((e) => e.name === 'ObligationOrderSet'), 'the ObligationOrderSet event parses');
  assert.deepEqual(readOrders(await s.obligation(), svm.now()), [
    { index: 0, ...STOP_LOSS, repayReserve: s.usdc.reserve, withdrawReserve: s.sol.reserve, triggeredSince: 0n, bonusBpsNow: 0 },
  ]);

  // withRequiredAccounts passes the position reserves (SOL, then USDC) to the execution, and
  // the isolation/e-mode counters it would need (none here).
  const withPositions = await withRequiredAccounts(s.execute(0, U64_MAX), await s.obligation());
  assert.deepEqual(withPositions.accounts!.slice(-2).map((a) => a.address), [s.sol.reserve, s.usdc.reserve]);

  // At $150 the trigger does not hold: a third party's execution is refused.
  s.at(10n, 150n);
  const early = await chain.send(await s.refreshed(s.execute(0, U64_MAX)), [executor]);
  refused(early, SOLVENT_ERROR__ORDER_NOT_TRIGGERED, 'OrderNotTriggered');
  assert.equal(!early.ok && programError(early.code!)?.errorClass, 'marketCondition', 'wait for the market');
  assert.equal(await chain.tokenBalance(s.executorUsdc), 10_000n * USDC);

  // SOL falls to $125: a refresh-only transaction starts the auction clock.
  s.at(10n, 125n);
  const start = svm.now();
  await s.refreshOnly();
  let state = await s.obligation();
  assert.equal(readOrders(state, start)[0].triggeredSince, start, 'the clock started at the refresh');
  assert.equal(readOrders(state, start)[0].bonusBpsNow, 0);
  const solReserve = getReserveDecoder().decode(await chain.data(s.sol.reserve));
  const usdcReserve = getReserveDecoder().decode(await chain.data(s.usdc.reserve));
  assert.ok(isOrderTriggered(state.orders[0], cachedValues(state).health, storedWad(solReserve.marketPriceWad), storedWad(usdcReserve.marketPriceWad)), 'the client sees the trigger the program found');

  // Half the ramp later: half the 3% maximum.
  s.at(BigInt(STOP_LOSS.bonusRampSecs / 2), 125n);
  const now = svm.now();
  assert.equal(orderBonusBps(state.orders[0], now), STOP_LOSS.maxBonusBps / 2);
  assert.equal(readOrders(state, now)[0].bonusBpsNow, 150);
  // The debt the execution will see: refreshed now (same slot as the execution).
  await s.refreshOnly();
  state = await s.obligation();
  const debtWad = storedWad(state.borrows[0].borrowedAmountWad);
  const shares = state.deposits[0].depositedShares;
  assert.ok(debtWad > DEBT * WAD, 'interest accrued');
  const expectedRepay = debtFraction(debtWad, STOP_LOSS.maxRepayBps);
  assert.equal(expectedRepay, (debtWad * 5_000n) / 10_000n / WAD, 'floor(debt × maxRepayBps / 10,000)');

  // Without the position reserves refreshThenAct appends (CHECKS_VALUATION), the program
  // cannot check the refresh covers the positions.
  const bare = await s.refreshed(s.execute(0, U64_MAX));
  const action = bare[bare.length - 1];
  bare[bare.length - 1] = { ...action, accounts: action.accounts!.slice(0, -2) };
  refused(await chain.send(bare, [executor]), SOLVENT_ERROR__OBLIGATION_RESERVES_MISMATCH, 'ObligationReservesMismatch');

  const executed = await chain.send(await s.refreshed(s.execute(0, U64_MAX)), [executor]);
  assert.ok(executed.ok, !executed.ok ? `${executed.error} ${executed.name}\n${executed.logs.join('\n')}` : '');
  const paid = 10_000n * USDC - (await chain.tokenBalance(s.executorUsdc));
  const received = await chain.tokenBalance(s.executorSol);
  assert.equal(paid, expectedRepay, 'half the refreshed debt, rounded down');
  // SOL for it at $125 plus the 1.5% bonus, as the program sizes it (one position, share price 1):
  // the seizure's value rounded down, then that share of the position, rounded down.
  const repayValue = (paid * WAD) / USDC;
  const seizeValue = (repayValue * (10_000n + 150n)) / 10_000n;
  const positionValue = (shares * 125n * WAD) / SOL;
  assert.equal(received, (shares * seizeValue) / positionValue);
  const receivedValue = (received * 125n * WAD) / SOL;
  const bonusBps = Number(((receivedValue - repayValue) * 10_000n) / repayValue);
  assert.ok(bonusBps >= 149 && bonusBps <= 150, `received SOL worth ${bonusBps} bps more than the USDC repaid`);
  const event = parseEvents(executed.logs).find((e) => e.name === 'Deleveraged');
  assert.ok(event, 'the Deleveraged event parses');
  assert.equal(field(event.data, 'kind', 'kind'), String(DELEVERAGE_ORDER));
  assert.equal(field(event.data, 'bonus_bps', 'bonusBps'), '150');
  assert.equal(field(event.data, 'auction_bonus_bps', 'auctionBonusBps'), '150');
  assert.equal(field(event.data, 'repay_amount', 'repayAmount'), String(paid));
  assert.equal(field(event.data, 'seized_liquidity_amount', 'seizedLiquidityAmount'), String(received));
  assert.equal(field(event.data, 'order_closed', 'orderClosed'), 'false');

  // The owner's position: less debt, less collateral; the order kept, its auction restarted
  // at the execution.
  state = await s.obligation();
  assert.equal(state.deposits[0].depositedShares, shares - received);
  assert.ok(storedWad(state.borrows[0].borrowedAmountWad) < debtWad);
  const [kept] = readOrders(state, now);
  assert.equal(kept.trigger, TRIGGER_PRICE_BELOW);
  assert.equal(kept.triggeredSince, now);
  assert.equal(kept.bonusBpsNow, 0);

  // Cancel: only the owner, only an order that exists.
  const cancel = (signer: KeyPairSigner) => getCancelObligationOrderInstruction({ obligation: borrower.obligation, owner: signer, index: 0 });
  refused(await chain.send([cancel(executor)], [executor]), SOLVENT_ERROR__INVALID_OBLIGATION_OWNER, 'InvalidObligationOwner');
  assert.equal(readOrders(await s.obligation(), now).length, 1, 'still there');
  const cancelled = await chain.send([cancel(owner)], [owner]);
  assert.ok(cancelled.ok && parseEvents(cancelled.logs).some((e) => e.name === 'ObligationOrderCancelled'));
  assert.deepEqual(readOrders(await s.obligation(), now), []);
  refused(await chain.send([cancel(owner)], [owner]), SOLVENT_ERROR__ORDER_NOT_FOUND, 'OrderNotFound');
  s.at(1n, 125n);
  refused(await chain.send(await s.refreshed(s.execute(0, U64_MAX)), [executor]), SOLVENT_ERROR__ORDER_NOT_FOUND, 'OrderNotFound');
});

test('the soft zone: set by the market owner, refused outside the zone, a small step inside it', async () => {
  const s = await setup();
  const { chain, svm, executor } = s;
  const setZone = (signer: KeyPairSigner, config: SoftZoneConfig) =>
    getSetSoftZoneInstruction({ lendingMarket: s.market.address, owner: signer, reserve: s.sol.reserve, config });

  // Off by default.
  s.at(5n, 150n);
  refused(await chain.send(await s.refreshed(s.soft(U64_MAX)), [executor]), SOLVENT_ERROR__SOFT_ZONE_DISABLED, 'SoftZoneDisabled');
  // Only the market owner (the payer of these helpers) sets it.
  refused(await chain.send([setZone(executor, ZONE)], [executor]), SOLVENT_ERROR__INVALID_MARKET_OWNER, 'InvalidMarketOwner');
  const set = await chain.send([setZone(chain.payer, ZONE)]);
  assert.ok(set.ok, !set.ok ? `${set.error} ${set.name}` : '');
  assert.ok(parseEvents(set.logs).some((e) => e.name === 'SoftZoneSet'));
  assert.deepEqual({ ...getReserveDecoder().decode(await chain.data(s.sol.reserve)).softZone, padding: new Uint8Array(1) }, ZONE);

  // At $150: borrowing limit $1,125, threshold $1,200, the zone from $1,162.50; $800 owed.
  s.at(5n, 150n);
  refused(await chain.send(await s.refreshed(s.soft(U64_MAX)), [executor]), SOLVENT_ERROR__NOT_IN_SOFT_ZONE, 'NotInSoftZone');
  await s.refreshOnly();
  let state = await s.obligation();
  assert.equal(state.softZoneSince, 0n);
  assert.ok(!inSoftZone(cachedValues(state).health, ZONE.startBps), 'the client agrees: outside the zone');
  assert.ok(marginBandPositionBps(cachedValues(state).health)! < 0, 'below the borrowing limit');

  // At $102: limit $765, threshold $816, the zone from $790.50: in it, still healthy.
  s.at(5n, 102n);
  const enter = svm.now();
  await s.refreshOnly();
  state = await s.obligation();
  assert.equal(state.softZoneSince, enter);
  assert.ok(inSoftZone(cachedValues(state).health, ZONE.startBps), 'the client agrees: inside the zone');
  // Five minutes in: half of the 1% bonus, at most 10% of the debt.
  s.at(300n, 102n);
  assert.equal(softZoneBonusBps(state, ZONE, svm.now()), 50);
  await s.refreshOnly();
  state = await s.obligation();
  const expectedRepay = debtFraction(storedWad(state.borrows[0].borrowedAmountWad), ZONE.maxRepayBps);
  const sent = await chain.send(await s.refreshed(s.soft(U64_MAX)), [executor]);
  assert.ok(sent.ok, !sent.ok ? `${sent.error} ${sent.name}\n${sent.logs.join('\n')}` : '');
  assert.equal(10_000n * USDC - (await chain.tokenBalance(s.executorUsdc)), expectedRepay, 'a tenth of the refreshed debt');
  const event = parseEvents(sent.logs).find((e) => e.name === 'Deleveraged');
  assert.ok(event);
  assert.equal(field(event.data, 'kind', 'kind'), String(DELEVERAGE_SOFT));
  assert.equal(field(event.data, 'bonus_bps', 'bonusBps'), '50');
  assert.equal(field(event.data, 'seized_liquidity_amount', 'seizedLiquidityAmount'), String(await chain.tokenBalance(s.executorSol)));
  // One step took it out of the zone: its clock stopped at the next refresh.
  s.at(5n, 102n);
  await s.refreshOnly();
  state = await s.obligation();
  assert.ok(state.lastSoftDeleverage > 0n);
  assert.equal(state.softZoneSince, 0n);
  refused(await chain.send(await s.refreshed(s.soft(U64_MAX)), [executor]), SOLVENT_ERROR__NOT_IN_SOFT_ZONE, 'NotInSoftZone');
});
