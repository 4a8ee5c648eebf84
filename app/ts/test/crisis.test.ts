// The crisis controls' read side (`outflowRoom`, `pausedActions`, `rampedLimit`): hand-computed
// cases with the program's rounding, then on the built .so in LiteSVM the outflow room the
// client computes is exactly what a withdrawal may take (one base unit more is refused), and
// an owner's pause reads as the program applies it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Address, KeyPairSigner } from '@solana/kit';
import {
  ACTION_BORROW,
  ACTION_DEPOSIT,
  ACTION_WITHDRAW,
  WAD,
  getDepositInstruction,
  getReserveDecoder,
  getSetReservePauseInstruction,
  getWithdrawInstruction,
  outflowRoom,
  pausedActions,
  rampedLimit,
  type Reserve,
  type ReserveConfig,
} from '../src/index.ts';
import { createMarket, listReserve, newObligation, reserveConfig, USDC_FEED, type ListedReserve } from '../src/scenario.ts';
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
  // Off: the whole of u64.
  assert.deepEqual(outflowRoom(reserveWith({ availableAmount: 5n, outflowUsed: 3n }), 100n), { available: U64_MAX, capacity: U64_MAX, fullInSecs: 0n });

  // A fresh window: 10% of 1,000,000.
  assert.deepEqual(outflowRoom(limited({ outflowUpdatedAt: 900n }), 1_000n), { available: 100_000n, capacity: 100_000n, fullInSecs: 0n });

  // The claim counts the insurance fund's payment not yet moved in and the debt, less fees, in
  // whole base units rounded down: 999,000 + 1,000 + 9.9 - 0.5 = 1,000,009.4 -> 1,000,009;
  // 10% of it is 100,000.9 -> 100,000.
  const claim = limited({ availableAmount: 999_000n, insuranceReceivable: 1_000n, borrowedAmountWad: wad((99n * WAD) / 10n), accumulatedProtocolFeesWad: wad(WAD / 2n) });
  assert.equal(outflowRoom(claim, 0n).capacity, 100_000n);
  assert.equal(outflowRoom({ ...claim, insuranceReceivable: 0n }, 0n).capacity, 99_900n, 'without the receivable: 999,009 -> 99,900');

  // Half a window (and a second) after 60,001 went out: floor(100,000 × 1,801 / 3,600) = 50,027
  // grew back; 9,974 still counted; full again in ceil(9,974 × 3,600 / 100,000) = 360 s.
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 60_001n, outflowUpdatedAt: 1_000n }), 2_801n), { available: 90_026n, capacity: 100_000n, fullInSecs: 360n });
  // Exactly half: 50,000 back.
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 60_000n, outflowUpdatedAt: 1_000n }), 2_800n), { available: 90_000n, capacity: 100_000n, fullInSecs: 360n });

  // A floor larger than the share is the capacity.
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 50_000n, outflowUpdatedAt: 0n }, { outflowFloor: 250_000n }), 0n), { available: 200_000n, capacity: 250_000n, fullInSecs: 720n });
  // With nothing deposited the floor alone; with no floor either, no room and nothing to wait for.
  assert.deepEqual(outflowRoom(limited({ availableAmount: 0n }, { outflowFloor: 7n }), 0n), { available: 7n, capacity: 7n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(limited({ availableAmount: 0n }), 0n), { available: 0n, capacity: 0n, fullInSecs: 0n });

  // Fully used: nothing now, a whole window to wait; after a window (or more), all of it.
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 100_000n, outflowUpdatedAt: 5_000n }), 5_000n), { available: 0n, capacity: 100_000n, fullInSecs: 3_600n });
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 100_000n, outflowUpdatedAt: 5_000n }), 8_600n), { available: 100_000n, capacity: 100_000n, fullInSecs: 0n });
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 100_000n, outflowUpdatedAt: 5_000n }), 50_000n), { available: 100_000n, capacity: 100_000n, fullInSecs: 0n });
  // A clock behind the last count: nothing grows back.
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 100_000n, outflowUpdatedAt: 5_000n }), 4_000n), { available: 0n, capacity: 100_000n, fullInSecs: 3_600n });

  // More counted than the capacity now (the claim shrank since): 150,000 counted, a quarter
  // window grows 25,000 back, 125,000 still counted, so nothing may leave for
  // ceil(125,000 × 3,600 / 100,000) = 4,500 s.
  assert.deepEqual(outflowRoom(limited({ outflowUsed: 150_000n, outflowUpdatedAt: 0n }), 900n), { available: 0n, capacity: 100_000n, fullInSecs: 4_500n });
});

test('pausedActions: the owner\'s pauses, and the guardian\'s until they expire', () => {
  const reserve = reserveWith({ ownerPaused: ACTION_BORROW, guardianPaused: ACTION_WITHDRAW | ACTION_DEPOSIT, guardianPauseUntil: 1_000n });
  assert.equal(pausedActions(reserve, 999n), ACTION_BORROW | ACTION_WITHDRAW | ACTION_DEPOSIT);
  assert.equal(pausedActions(reserve, 1_000n), ACTION_BORROW, 'the guardian\'s pause has expired at its end time');
  assert.equal(pausedActions(reserveWith({}), 0), 0);
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

test('on the program: a withdrawal may take exactly the outflow room, and a pause stops it', async () => {
  const USDC = 1_000_000n;
  const chain = await Chain.start();
  const scenario = liteSvmScenarioChain(chain);
  const market = await createMarket(scenario);
  // 10% of the depositors' claim per hour.
  const usdc = await listReserve(scenario, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ outflowLimitBps: 1_000, outflowWindowSecs: 3_600 }));
  const reserve = () => getReserveDecoder().decode(chain.data(usdc.reserve));
  const lender = await newObligation(scenario, market);
  const account = await chain.createTokenAccount(usdc.mint, lender.signer.address, 100_000n * USDC);
  const deposit = getDepositInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: lender.obligation, owner: lender.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: account, amount: 100_000n * USDC });
  assert.ok((await chain.send([deposit], [lender.signer])).ok);
  // No debt: a share is a base unit, and the reserve as read is the reserve the program sees.
  const withdraw = (user: { signer: KeyPairSigner; obligation: Address }, r: ListedReserve, amount: bigint) =>
    getWithdrawInstruction({ lendingMarket: market.address, reserve: r.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: r.mint, liquidityVault: r.vault, destinationLiquidity: account, marketAuthority: market.authority, collateralShares: amount });
  const program = async (amount: bigint) => {
    const sent = await chain.send([withdraw(lender, usdc, amount)], [lender.signer]);
    return sent.ok ? undefined : sent.name;
  };

  let room = outflowRoom(reserve(), chain.now());
  assert.deepEqual(room, { available: 10_000n * USDC, capacity: 10_000n * USDC, fullInSecs: 0n });
  assert.equal(await program(room.available + 1n), 'OutflowLimitExceeded');
  assert.equal(await program(room.available), undefined);
  // The claim shrank to 90,000: 9,000 per hour, 10,000 counted: nothing for 4,000 s.
  room = outflowRoom(reserve(), chain.now());
  assert.deepEqual(room, { available: 0n, capacity: 9_000n * USDC, fullInSecs: 4_000n });
  assert.equal(await program(1n), 'OutflowLimitExceeded');

  // Half an hour later 4,500 grew back: 3,500 may leave, not a base unit more.
  chain.advance(1_800n);
  room = outflowRoom(reserve(), chain.now());
  assert.deepEqual(room, { available: 3_500n * USDC, capacity: 9_000n * USDC, fullInSecs: 2_200n });
  assert.equal(await program(room.available + 1n), 'OutflowLimitExceeded');
  assert.equal(await program(room.available), undefined);
  assert.equal(reserve().outflowUsed, 9_000n * USDC, 'the program counted what the client predicted');
  assert.equal(outflowRoom(reserve(), chain.now()).available, 0n);

  // The owner pauses withdrawals: read as paused, refused as paused (before the limit).
  chain.advance(3_600n);
  assert.ok((await chain.send([getSetReservePauseInstruction({ lendingMarket: market.address, authority: chain.payer, reserve: usdc.reserve, actions: ACTION_WITHDRAW })])).ok);
  assert.equal(pausedActions(reserve(), chain.now()), ACTION_WITHDRAW);
  assert.equal(await program(1n), 'ActionPaused');
});
