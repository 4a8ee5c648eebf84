// The TypeScript position math (`src/position.ts`) against the Rust client crate's, case by
// case: `vectors/position.json` holds 600 random markets and obligations as account bytes and
// what `solvent-client` answers for them (written by `client/examples/ts-vectors.rs`;
// `scripts/test.sh` checks the file is what the program's math gives now). Every answer must
// agree to the base unit: the refreshed obligation byte for byte, the health sums by kind, each
// reserve's max borrow and each collateral's max withdraw (amount and the error one unit more
// gets), each collateral's liquidation price, and each liquidation quote (or its error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Address } from '@solana/kit';
import {
  bestDeleverage,
  getEmodeGroupDebtDecoder,
  getLendingMarketDecoder,
  getObligationDecoder,
  getObligationEncoder,
  getReserveDecoder,
  HEALTH_KINDS,
  liquidationPrice,
  maxBorrow,
  maxWithdraw,
  quoteLiquidation,
  refreshObligation,
  refusal,
  type Limit,
  type LiquidationQuote,
  type MarketView,
  type Deleverage,
  type OraclePrice,
} from '../src/index.ts';

type Health = { assetsWad: string; liabilitiesWad: string };
type LimitVector = { reserve: string; amount?: string; refusedAbove?: string | null; error?: string };
type QuoteVector = {
  repayReserve: string;
  withdrawReserve: string;
  maxRepay: string;
  acceptShares: boolean;
  mode: string;
  quote: Record<string, string | number | boolean> & { error?: string };
};
type Case = {
  id: number;
  slot: string;
  now: string;
  market: { address: string; data: string };
  reserves: { address: string; data: string }[];
  emodeDebts: { group: number; data: string }[];
  obligation: { address: string; data: string };
  refreshed: { data: string; health: Record<string, Health> } | { error: string };
  maxBorrow: LimitVector[];
  maxWithdraw: LimitVector[];
  liquidationPrice: { reserve: string; price?: { mantissa: string; exponent: number } | null; error?: string }[];
  quotes: QuoteVector[];
  takesShares: string[];
  best: { repayReserve: string; withdrawReserve: string; mode: string; repayAmount: string; repayValueWad: string; receivedValueWad: string } | null;
};

const path = fileURLToPath(new URL('./vectors/position.json', import.meta.url));
const { cases } = JSON.parse(readFileSync(path, 'utf8')) as { cases: Case[] };
const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));

function viewOf(vector: Case): MarketView {
  return {
    market: getLendingMarketDecoder().decode(bytes(vector.market.data)),
    reserves: new Map(vector.reserves.map((r) => [r.address as Address, getReserveDecoder().decode(bytes(r.data))])),
    emodeDebts: new Map(vector.emodeDebts.map((d) => [d.group, getEmodeGroupDebtDecoder().decode(bytes(d.data))])),
    slot: BigInt(vector.slot),
    now: BigInt(vector.now),
  };
}

/** The answer or the program error's name, as the vectors hold them. */
function attempt<T>(run: () => T): { value?: T; error?: string } {
  let value: T | undefined;
  const error = refusal(() => (value = run()));
  return error === undefined ? { value } : { error };
}

function limitJson(reserve: string, result: { value?: Limit; error?: string }): LimitVector {
  if (result.error !== undefined) return { reserve, error: result.error };
  return { reserve, amount: result.value!.amount.toString(), refusedAbove: result.value!.refusedAbove ?? null };
}

function quoteJson(result: { value?: LiquidationQuote; error?: string }) {
  if (result.error !== undefined) return { error: result.error };
  const q = result.value!;
  return {
    repayAmount: q.plan.repayAmount.toString(),
    settledDebtWad: q.plan.settledDebtWad.toString(),
    seizedShares: q.plan.seizedShares.toString(),
    repayValueWad: q.plan.repayValueWad.toString(),
    seizeValueWad: q.plan.seizeValueWad.toString(),
    auctionBonusBps: q.auctionBonusBps,
    bonusBps: q.bonusBps,
    insolvent: q.insolvent,
    tokens: q.payout.tokens.toString(),
    shares: q.payout.shares.toString(),
    redeemedShares: q.payout.redeemedShares.toString(),
    redeemedAmount: q.payout.redeemedAmount.toString(),
    protocolFee: q.payout.protocolFee.toString(),
  };
}

const modeOf = (name: string): Deleverage =>
  name === 'liquidation' ? { kind: 'liquidation' } : name === 'soft' ? { kind: 'soft' } : { kind: 'order', index: Number(name.slice('order'.length)) };
const modeName = (mode: Deleverage) => (mode.kind === 'order' ? `order${mode.index}` : mode.kind);

const priceJson = (price: OraclePrice | undefined) => (price === undefined ? null : { mantissa: price.mantissa.toString(), exponent: price.exponent });

test('the vectors are the committed 600 cases, each with the queries the Rust client answered', () => {
  assert.equal(cases.length, 600);
  const quotes = cases.flatMap((c) => c.quotes);
  // The cases reach every outcome the math has: liquidations paid, refused as healthy, too small,
  // would lower health, insolvent (the close factor lifted); soft deleverages and order
  // executions paid and refused.
  const outcomes = new Set(quotes.map((q) => `${q.mode.replace(/[0-9]/, '')} ${q.quote.error ?? (q.quote.insolvent ? 'insolvent' : 'ok')}`));
  for (const outcome of ['liquidation ok', 'liquidation insolvent', 'liquidation ObligationHealthy', 'liquidation LiquidationTooSmall', 'liquidation LiquidationWouldLowerHealth', 'soft ok', 'soft NotInSoftZone', 'order ok', 'order OrderNotTriggered']) {
    assert.ok(outcomes.has(outcome), `no quote vector ends ${outcome}: ${[...outcomes].join(', ')}`);
  }
  assert.ok(cases.some((c) => c.best?.mode === 'soft') && cases.some((c) => c.best?.mode.startsWith('order')), 'best calls of each kind');
  assert.ok(cases.some((c) => c.emodeDebts.length > 0), 'e-mode cases');
});

test('refreshObligation gives the refreshed obligation byte for byte and the health sums by kind', () => {
  for (const vector of cases) {
    const view = viewOf(vector);
    const obligation = getObligationDecoder().decode(bytes(vector.obligation.data));
    const result = attempt(() => refreshObligation(view, obligation));
    if ('error' in vector.refreshed) {
      assert.equal(result.error, vector.refreshed.error, `case ${vector.id}`);
      continue;
    }
    assert.equal(result.error, undefined, `case ${vector.id}: ${result.error}`);
    const { obligation: refreshed, values } = result.value!;
    assert.deepEqual(Buffer.from(getObligationEncoder().encode(refreshed)).toString('base64'), vector.refreshed.data, `case ${vector.id}: refreshed bytes`);
    for (const kind of HEALTH_KINDS) {
      const expected: Health = vector.refreshed.health[kind];
      assert.deepEqual(
        { assetsWad: values.health[kind].assetsWad.toString(), liabilitiesWad: values.health[kind].liabilitiesWad.toString() },
        expected,
        `case ${vector.id}: ${kind} health`,
      );
    }
  }
});

test('maxBorrow and maxWithdraw agree with the Rust client to the base unit, refusal included', () => {
  for (const vector of cases) {
    const view = viewOf(vector);
    const obligation = getObligationDecoder().decode(bytes(vector.obligation.data));
    for (const expected of vector.maxBorrow) {
      const got = limitJson(expected.reserve, attempt(() => maxBorrow(view, obligation, expected.reserve as Address)));
      assert.deepEqual(got, expected, `case ${vector.id}: max borrow of ${expected.reserve}`);
    }
    for (const expected of vector.maxWithdraw) {
      const got = limitJson(expected.reserve, attempt(() => maxWithdraw(view, obligation, expected.reserve as Address)));
      assert.deepEqual(got, expected, `case ${vector.id}: max withdraw of ${expected.reserve}`);
    }
  }
});

test('liquidationPrice is the Rust client\'s, tick for tick', () => {
  for (const vector of cases) {
    const view = viewOf(vector);
    const obligation = getObligationDecoder().decode(bytes(vector.obligation.data));
    for (const expected of vector.liquidationPrice) {
      const result = attempt(() => liquidationPrice(view, obligation, expected.reserve as Address));
      const got = result.error !== undefined ? { reserve: expected.reserve, error: result.error } : { reserve: expected.reserve, price: priceJson(result.value) };
      assert.deepEqual(got, expected, `case ${vector.id}: liquidation price of ${expected.reserve}`);
    }
  }
});

test('quoteLiquidation sizes each liquidation as the program does: bonus auction, caps, dust, protocol share', () => {
  for (const vector of cases) {
    const view = viewOf(vector);
    const obligation = getObligationDecoder().decode(bytes(vector.obligation.data));
    for (const expected of vector.quotes) {
      const request = {
        repayReserve: expected.repayReserve as Address,
        withdrawReserve: expected.withdrawReserve as Address,
        maxRepay: BigInt(expected.maxRepay),
        acceptShares: expected.acceptShares,
        mode: modeOf(expected.mode),
      };
      const got = quoteJson(attempt(() => quoteLiquidation(view, obligation, request)));
      assert.deepEqual(got, expected.quote, `case ${vector.id}: ${expected.mode} quote ${expected.repayReserve} -> ${expected.withdrawReserve}`);
    }
  }
});

test('bestDeleverage picks the keeper\'s call: the one that pays the executor most', () => {
  for (const vector of cases) {
    const view = viewOf(vector);
    const obligation = getObligationDecoder().decode(bytes(vector.obligation.data));
    const result = attempt(() => bestDeleverage(view, obligation, (reserve) => vector.takesShares.includes(reserve)));
    const best = result.value;
    const got =
      best === undefined
        ? null
        : {
            repayReserve: best.repayReserve,
            withdrawReserve: best.withdrawReserve,
            mode: modeName(best.mode),
            repayAmount: best.quote.plan.repayAmount.toString(),
            repayValueWad: best.repayValueWad.toString(),
            receivedValueWad: best.receivedValueWad.toString(),
          };
    assert.deepEqual(got, vector.best, `case ${vector.id}: best call`);
  }
});
