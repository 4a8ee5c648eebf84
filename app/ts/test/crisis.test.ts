// The crisis controls' read side (`outflowRoom`, `pausedActions`, `rampedLimit`): hand-computed
// cases with the program's rounding, then on the built .so in LiteSVM, on a reserve with debt
// (so the liquidity on hand the capacity is a share of is not the depositors' claim), the
// outflow room the client computes is exactly what a withdrawal may take (one base unit more is
// refused), a deposit and a withdrawal of the same amount leave it as it was, and an owner's
// pauses (a lasting one, and liquidations in their own expiring slot) read as the program
// applies them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Address, KeyPairSigner } from '@solana/kit';
import {
  ACTION_BORROW,
  ACTION_DEPOSIT,
  ACTION_LIQUIDATE,
  ACTION_WITHDRAW,
  POLICY_OFF,
  WAD,
  getBorrowInstruction,
  getDepositInstruction,
  getObligationDecoder,
  getReserveDecoder,
  getSetMarketPolicyInstruction,
  getSetReservePauseInstruction,
  getUpdateReserveConfigInstruction,
  getWithdrawInstruction,
  outflowRoom,
  pausedActions,
  rampedLimit,
  refreshThenAct,
  totalLiquidityWad,
  type OutflowRoom,
  type Reserve,
  type ReserveConfig,
} from '../src/index.ts';
import { parseEvents } from '../src/anchor.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED, type ListedReserve } from '../src/scenario.ts';
import { Chain, liteSvmScenarioChain } from './helpers.ts';

const U64_MAX = 2n ** 64n - 1n;
const wad = (value: bigint) => ({ leBytes: Uint8Array.from({ length: 16 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn)) });

/** A decoded reserve, all zero but for `fields` (and `config` over the scenario's). */
function reserveWith(fields: Partial<Reserve>, config: Partial<ReserveConfig> = {}): Reserve {
  const zero = getReserveDecoder().decode(new Uint8Array(getReserveDecoder().fixedSize));
  return { ...zero, ...fields, config: { ...zero.config, ...(reserveConfig() as ReserveConfig), ...config } };
}

/** 1,000,000 base units on hand; a 10% limit per hour, no floor. */
const limited = (fields: Partial<Reserve> = {}, config: Partial<ReserveConfig> = {}) =>
  reserveWith({ availableAmount: 1_000_000n, ...fields }, { outflowLimitBps: 1_000, outflowWindowSecs: 3_600, outflowFloor: 0n, ...config });

test('outflowRoom: the program\'s outflow_room, with its rounding', () => {
  // Off: the whole of u64, whatever the bucket holds.
  assert.deepEqual(outflowRoom(reserveWith({ availableAmount: 5n, outflowUsed: 3n, outflowCredit: 4n, outflowBase: 9n }), 100n), { available: U64_MAX, capacity: U64_MAX, fullInSecs: 0n });

  // An empty bucket takes its base from the liquidity on hand now: 10% of 1,000,000 (never
  // stored yet, or a stored base left from before: an empty bucket takes it again, within the
  // window or not).
  assert.deepEqual(outflowRoom(limited({ outflowUpdatedAt: 900n }), 1_000n), { available: 100_000n, capacity: 100_000n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(limited({ outflowBase: 5_000_000n, outflowBaseAt: 900n, outflowUpdatedAt: 900n }), 1_000n), { available: 100_000n, capacity: 100_000n, fullInSecs: 0n });

  // On hand counts idle liquidity, a flash loan out and the insurance fund's payment not yet
  // moved in; not the debt, nor the fees (the depositors' claim here is 1,499,508.4):
  // 998,005 + 500 + 1,000 = 999,505; 10% of it is 99,950.5 -> 99,950.
  const onHand = limited({
    availableAmount: 998_005n,
    flashLoanAmount: 500n,
    insuranceReceivable: 1_000n,
    borrowedAmountWad: wad(500_003n * WAD + (9n * WAD) / 10n),
    accumulatedProtocolFeesWad: wad(WAD / 2n),
  });
  assert.equal(totalLiquidityWad(onHand), 1_499_508n * WAD + (4n * WAD) / 10n);
  assert.deepEqual(outflowRoom(onHand, 0n), { available: 99_950n, capacity: 99_950n, fullInSecs: 0n });
  assert.equal(outflowRoom({ ...onHand, insuranceReceivable: 0n }, 0n).capacity, 99_850n, 'without the receivable: 998,505 -> 99,850');
  assert.equal(outflowRoom({ ...onHand, flashLoanAmount: 0n }, 0n).capacity, 99_900n, 'without the flash loan: 999,005 -> 99,900');
  // Taken again, on hand is a u64 sum, checked: beyond it the program fails with MathOverflow.
  assert.throws(() => outflowRoom(limited({ availableAmount: U64_MAX, flashLoanAmount: 1n }), 0n), /MathOverflow/);
  assert.throws(() => outflowRoom(limited({ availableAmount: U64_MAX - 1n, flashLoanAmount: 1n, insuranceReceivable: 1n }), 0n), /MathOverflow/);
  assert.equal(outflowRoom(limited({ availableAmount: U64_MAX - 1n, flashLoanAmount: 1n }), 0n).capacity, U64_MAX / 10n, 'u64::MAX on hand: no overflow');

  // With a count the stored base stays within its window: a deposit since (1,500,000 on hand
  // now) does not raise the capacity. Half a window (and a second) after 60,001 went out:
  // floor(100,000 × 1,801 / 3,600) = 50,027 decayed; 9,974 still counted; full again in
  // ceil(9,974 × 3,600 / 100,000) = 360 s.
  const counted = { outflowBase: 1_000_000n, outflowBaseAt: 1_000n, outflowUpdatedAt: 1_000n };
  assert.deepEqual(outflowRoom(limited({ ...counted, availableAmount: 1_500_000n, outflowUsed: 60_001n }), 2_801n), { available: 90_026n, capacity: 100_000n, fullInSecs: 360n });
  // Exactly half: 50,000 decayed.
  assert.deepEqual(outflowRoom(limited({ ...counted, outflowUsed: 60_000n }), 2_800n), { available: 90_000n, capacity: 100_000n, fullInSecs: 360n });
  // Nor does a withdrawal since shrink it (900,000 on hand now).
  assert.deepEqual(outflowRoom(limited({ ...counted, availableAmount: 900_000n, outflowUsed: 100_000n }), 1_000n), { available: 0n, capacity: 100_000n, fullInSecs: 3_600n });

  // Inflow credited adds to the room (the 30,000 deposited is on hand, not in the base), and
  // decays as a count does: a quarter window takes 25,000 off it; at 30,000 decayed the bucket
  // is empty and the base is taken again from the liquidity on hand: 10% of 1,030,000.
  const credited = limited({ ...counted, availableAmount: 1_030_000n, outflowCredit: 30_000n });
  assert.deepEqual(outflowRoom(credited, 1_000n), { available: 130_000n, capacity: 100_000n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(credited, 1_900n), { available: 105_000n, capacity: 100_000n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(credited, 2_079n), { available: 100_028n, capacity: 100_000n, fullInSecs: 0n }, 'floor(100,000 × 1,079 / 3,600) = 29,972 decayed: 28 left');
  assert.deepEqual(outflowRoom(credited, 2_080n), { available: 103_000n, capacity: 103_000n, fullInSecs: 0n });

  // A window after the base was taken it is taken again, count or not. Taken at 0 of 1,000,000;
  // 80,000 counted at 3,000; 1,200,000 on hand now. A second short of the window: 599 s
  // decayed floor(100,000 × 599 / 3,600) = 16,638, 63,362 counted of 100,000, full in
  // ceil(63,362 × 3,600 / 100,000) = 2,282 s. At the window: 16,666 decayed (at the stored
  // base's capacity), 63,334 counted of 120,000, full in ceil(63,334 × 3,600 / 120,000) = 1,901 s.
  const old = { outflowBase: 1_000_000n, outflowBaseAt: 0n, outflowUpdatedAt: 3_000n, availableAmount: 1_200_000n };
  assert.deepEqual(outflowRoom(limited({ ...old, outflowUsed: 80_000n }), 3_599n), { available: 36_638n, capacity: 100_000n, fullInSecs: 2_282n });
  assert.deepEqual(outflowRoom(limited({ ...old, outflowUsed: 80_000n }), 3_600n), { available: 56_666n, capacity: 120_000n, fullInSecs: 1_901n });
  // With credit instead (above the capacity, so it decays at its own size per window: nothing
  // outlives its window), the base taken again is on hand less the credit left: 200,000 less
  // floor(200,000 × 600 / 3,600) = 33,333 is 166,667; 1,200,000 - 166,667 = 1,033,333, capacity
  // 103,333, room 103,333 + 166,667.
  assert.deepEqual(outflowRoom(limited({ ...old, outflowCredit: 200_000n }), 3_600n), { available: 270_000n, capacity: 103_333n, fullInSecs: 0n });
  // Taken again at less on hand, the count can stand above the capacity: 200,000 counted of
  // a 2,000,000 base, a quarter window decays 50,000, then the base is 1,000,000: nothing may
  // leave for ceil(150,000 × 3,600 / 100,000) = 5,400 s.
  assert.deepEqual(
    outflowRoom(limited({ outflowBase: 2_000_000n, outflowBaseAt: 0n, outflowUsed: 200_000n, outflowUpdatedAt: 2_700n }), 3_600n),
    { available: 0n, capacity: 100_000n, fullInSecs: 5_400n },
  );

  // A floor larger than the share is the capacity, and the rate the count decays at.
  const floored = limited({ outflowBase: 1_000_000n, outflowUsed: 50_000n }, { outflowFloor: 250_000n });
  assert.deepEqual(outflowRoom(floored, 0n), { available: 200_000n, capacity: 250_000n, fullInSecs: 720n });
  assert.deepEqual(outflowRoom(floored, 360n), { available: 225_000n, capacity: 250_000n, fullInSecs: 360n });
  // With nothing deposited the floor alone; with no floor either, no room and nothing to wait for.
  assert.deepEqual(outflowRoom(limited({ availableAmount: 0n }, { outflowFloor: 7n }), 0n), { available: 7n, capacity: 7n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(limited({ availableAmount: 0n }), 0n), { available: 0n, capacity: 0n, fullInSecs: 0n });
  // A reserve listed with the limit on: its first deposit is credit on a capacity of 0. The
  // credit still decays (at its own size per window), so a window later the bucket is empty and
  // the base is taken again from the liquidity on hand: 10% of 500.
  assert.deepEqual(outflowRoom(limited({ availableAmount: 500n, outflowCredit: 500n }), 1_800n), { available: 250n, capacity: 0n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(limited({ availableAmount: 500n, outflowCredit: 500n }), 10_000n), { available: 50n, capacity: 50n, fullInSecs: 0n });

  // Fully used: nothing now, a whole window to wait; after a window (or more), all of it.
  const full = limited({ outflowBase: 1_000_000n, outflowBaseAt: 5_000n, outflowUsed: 100_000n, outflowUpdatedAt: 5_000n });
  assert.deepEqual(outflowRoom(full, 5_000n), { available: 0n, capacity: 100_000n, fullInSecs: 3_600n });
  assert.deepEqual(outflowRoom(full, 8_600n), { available: 100_000n, capacity: 100_000n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(full, 50_000n), { available: 100_000n, capacity: 100_000n, fullInSecs: 0n });
  // A clock behind the last count: nothing decays.
  assert.deepEqual(outflowRoom(full, 4_000n), { available: 0n, capacity: 100_000n, fullInSecs: 3_600n });
});

test('pausedActions: the owner\'s pauses, the guardian\'s until they expire, and liquidations until their own pause expires', () => {
  const reserve = reserveWith({ ownerPaused: ACTION_BORROW, guardianPaused: ACTION_WITHDRAW | ACTION_DEPOSIT, guardianPauseUntil: 1_000n });
  assert.equal(pausedActions(reserve, 999n), ACTION_BORROW | ACTION_WITHDRAW | ACTION_DEPOSIT);
  assert.equal(pausedActions(reserve, 1_000n), ACTION_BORROW, 'the guardian\'s pause has expired at its end time');
  assert.equal(pausedActions(reserveWith({}), 0), 0);
  // A liquidation pause (the owner's or the guardian's) has its own slot, `liquidationPauseUntil`,
  // apart from the guardian's pause of other actions: each ends at its own time.
  const liquidation = reserveWith({ liquidationPauseUntil: 1_000n });
  assert.equal(pausedActions(liquidation, 999n), ACTION_LIQUIDATE);
  assert.equal(pausedActions(liquidation, 1_000n), 0);
  const both = reserveWith({ ownerPaused: ACTION_BORROW, guardianPaused: ACTION_WITHDRAW, guardianPauseUntil: 2_000n, liquidationPauseUntil: 1_000n });
  assert.equal(pausedActions(both, 999n), ACTION_BORROW | ACTION_WITHDRAW | ACTION_LIQUIDATE);
  assert.equal(pausedActions(both, 1_500n), ACTION_BORROW | ACTION_WITHDRAW, 'liquidations resume while the guardian\'s pause runs');
  assert.equal(pausedActions({ ...both, guardianPauseUntil: 500n }, 999n), ACTION_BORROW | ACTION_LIQUIDATE, 'and stay paused after it ended');
});

test('rampedLimit: the listing ramp, linear and rounded down', () => {
  const reserve = reserveWith({ listedAt: 1_000n, listingRampSecs: 3_600 });
  assert.equal(rampedLimit(reserve, 1_000_000n, 1_000n), 0n);
  assert.equal(rampedLimit(reserve, 1_000_000n, 500n), 0n, 'a clock before listing counts as no time');
  assert.equal(rampedLimit(reserve, 1_000_000n, 1_001n), 277n, 'floor(1,000,000 / 3,600)');
  assert.equal(rampedLimit(reserve, 1_000_000n, 2_800n), 500_000n);
  assert.equal(rampedLimit(reserve, 1_000_000n, 4_599n), 999_722n);
  assert.equal(rampedLimit(reserve, 1_000_000n, 4_600n), 1_000_000n);
  assert.equal(rampedLimit(reserve, U64_MAX, 2_800n), U64_MAX / 2n, 'u64 limits do not overflow');
  assert.equal(rampedLimit(reserveWith({ listedAt: 1_000n }), 1_000_000n, 1_000n), 1_000_000n, 'no ramp: the whole limit');
});

test('on the program: a withdrawal may take exactly the outflow room, a share of the liquidity on hand; net flows leave it as it was; pauses stop it', async () => {
  const USDC = 1_000_000n;
  const SOL = 1_000_000_000n;
  const chain = await Chain.start();
  const scenario = liteSvmScenarioChain(chain);
  const market = await createMarket(scenario);
  // USDC at a flat 0% rate: the debt accrues nothing, so a share stays a base unit.
  const flat = [{ utilizationBps: 0, borrowRateBps: 0 }, { utilizationBps: 10_000, borrowRateBps: 0 }, ...Array.from({ length: 6 }, () => ({ utilizationBps: 0, borrowRateBps: 0 }))];
  const usdc = await listReserve(scenario, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ rateCurve: flat }));
  const sol = await listReserve(scenario, market, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
  const reserve = () => getReserveDecoder().decode(chain.data(usdc.reserve));
  const lender = await newObligation(scenario, market);
  const account = await chain.createTokenAccount(usdc.mint, lender.signer.address, 120_000n * USDC);
  const deposit = (amount: bigint) =>
    getDepositInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: lender.obligation, owner: lender.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: account, amount });
  assert.ok((await chain.send([deposit(100_000n * USDC)], [lender.signer])).ok);
  // A borrower takes 20,000 of it (200 SOL of collateral at $150): 80,000 on hand, the
  // depositors' claim still 100,000.
  const borrower = await newObligation(scenario, market);
  const solAccount = await chain.createTokenAccount(sol.mint, borrower.signer.address, 200n * SOL);
  const usdcAccount = await chain.createTokenAccount(usdc.mint, borrower.signer.address, 0n);
  const collateral = getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: solAccount, amount: 200n * SOL });
  assert.ok((await chain.send([collateral], [borrower.signer])).ok);
  const borrow = getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: usdcAccount, marketAuthority: market.authority, amount: 20_000n * USDC });
  const oracleOf = (r: Address) => [usdc, sol].find((listed) => listed.reserve === r)!.oracle;
  const obligation = getObligationDecoder().decode(chain.data(borrower.obligation));
  assert.ok((await chain.send(await refreshThenAct(market.address, borrower.obligation, obligation, oracleOf, [usdc.reserve], borrow), [borrower.signer])).ok);
  assert.equal(reserve().availableAmount, 80_000n * USDC);
  assert.equal(totalLiquidityWad(reserve()), 100_000n * USDC * WAD);
  // Then 10% of the liquidity on hand per hour. (Switched on after the deposit and the borrow: a
  // deposit under the limit is credit, and the first one, into an empty reserve, would be all
  // credit; the borrow would have been counted.)
  const limit = reserveConfig({ rateCurve: flat, outflowLimitBps: 1_000, outflowWindowSecs: 3_600 });
  assert.ok((await chain.send([getUpdateReserveConfigInstruction({ lendingMarket: market.address, authority: chain.payer, reserve: usdc.reserve, config: limit })])).ok);
  const withdraw = (user: { signer: KeyPairSigner; obligation: Address }, r: ListedReserve, amount: bigint) =>
    getWithdrawInstruction({ lendingMarket: market.address, reserve: r.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: r.mint, liquidityVault: r.vault, destinationLiquidity: account, marketAuthority: market.authority, collateralShares: amount });
  const program = async (amount: bigint) => {
    const sent = await chain.send([withdraw(lender, usdc, amount)], [lender.signer]);
    return sent.ok ? undefined : sent.name;
  };
  /** Exactly the room may leave: one base unit more is refused. */
  const takeRoom = async (room: OutflowRoom) => {
    assert.equal(await program(room.available + 1n), 'OutflowLimitExceeded');
    assert.equal(await program(room.available), undefined);
  };

  // The empty bucket takes its base from the liquidity on hand: 8,000 of 80,000 (not 10,000 of
  // the claim).
  let room = outflowRoom(reserve(), chain.now());
  assert.deepEqual(room, { available: 8_000n * USDC, capacity: 8_000n * USDC, fullInSecs: 0n });
  await takeRoom(room);
  // On hand shrank to 72,000, but the base stays for the window: 8,000 counted of 8,000,
  // nothing for an hour.
  room = outflowRoom(reserve(), chain.now());
  assert.deepEqual(room, { available: 0n, capacity: 8_000n * USDC, fullInSecs: 3_600n });
  assert.equal(await program(1n), 'OutflowLimitExceeded');

  // Half an hour later 4,000 has decayed: 4,000 may leave, not a base unit more.
  chain.advance(1_800n);
  room = outflowRoom(reserve(), chain.now());
  assert.deepEqual(room, { available: 4_000n * USDC, capacity: 8_000n * USDC, fullInSecs: 1_800n });
  await takeRoom(room);
  assert.deepEqual([reserve().outflowUsed, reserve().outflowCredit], [8_000n * USDC, 0n], 'the program counted what the client predicted');
  const spent = outflowRoom(reserve(), chain.now());
  assert.deepEqual(spent, { available: 0n, capacity: 8_000n * USDC, fullInSecs: 3_600n });

  // Net flows: a deposit of 30,000 takes the 8,000 count off and credits 22,000; the room grows
  // by exactly the deposit and the capacity stays (98,000 on hand now). Withdrawing the same
  // 30,000 uses the credit, then the count: the room is as it was.
  assert.ok((await chain.send([deposit(30_000n * USDC)], [lender.signer])).ok);
  room = outflowRoom(reserve(), chain.now());
  assert.deepEqual(room, { available: 30_000n * USDC, capacity: 8_000n * USDC, fullInSecs: 0n });
  assert.deepEqual([reserve().outflowUsed, reserve().outflowCredit], [0n, 22_000n * USDC]);
  await takeRoom(room);
  assert.deepEqual(outflowRoom(reserve(), chain.now()), spent, 'depositing and withdrawing the same leaves the room as it was');
  assert.deepEqual([reserve().outflowUsed, reserve().outflowCredit], [8_000n * USDC, 0n]);

  // A window after the base was taken it is taken again, count or not: 10% of the 68,000 on
  // hand (the claim is 88,000), with 4,000 still counted (decayed at the old capacity): 2,800
  // now, full again in ceil(4,000 × 3,600 / 6,800) = 2,118 s.
  chain.advance(1_800n);
  room = outflowRoom(reserve(), chain.now());
  assert.equal(totalLiquidityWad(reserve()), 88_000n * USDC * WAD);
  assert.deepEqual(room, { available: 2_800n * USDC, capacity: 6_800n * USDC, fullInSecs: 2_118n });
  await takeRoom(room);
  assert.equal(reserve().outflowUsed, 6_800n * USDC);

  // The owner pauses withdrawals: read as paused, refused as paused (before the limit).
  chain.advance(3_600n);
  assert.ok((await chain.send([getSetReservePauseInstruction({ lendingMarket: market.address, authority: chain.payer, reserve: usdc.reserve, actions: ACTION_WITHDRAW })])).ok);
  assert.equal(pausedActions(reserve(), chain.now()), ACTION_WITHDRAW);
  assert.equal(await program(1n), 'ActionPaused');

  // And liquidations (which need an expiry: pauses of an hour): in their own slot, not the
  // guardian's, ending an hour later while the owner's pause of withdrawals lasts.
  assert.ok((await chain.send([getSetMarketPolicyInstruction({ lendingMarket: market.address, owner: chain.payer, policy: { ...POLICY_OFF, guardianPauseSecs: 3_600 } })])).ok);
  const paused = await chain.send([getSetReservePauseInstruction({ lendingMarket: market.address, authority: chain.payer, reserve: usdc.reserve, actions: ACTION_LIQUIDATE })]);
  assert.ok(paused.ok);
  const until = chain.now() + 3_600n;
  assert.deepEqual([reserve().liquidationPauseUntil, reserve().guardianPaused, reserve().guardianPauseUntil, reserve().ownerPaused], [until, 0, 0n, ACTION_WITHDRAW]);
  const event = parseEvents(paused.logs).find((e) => e.name === 'ReservePauseSet');
  assert.equal(String(event?.data.liquidation_pause_until ?? event?.data.liquidationPauseUntil), String(until), 'the event carries the liquidation pause');
  assert.equal(pausedActions(reserve(), chain.now()), ACTION_WITHDRAW | ACTION_LIQUIDATE);
  chain.advance(3_600n);
  assert.equal(pausedActions(reserve(), chain.now()), ACTION_WITHDRAW);
});
