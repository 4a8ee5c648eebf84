// Position math pinned to the program: the program's own rules, in bigint with its rounding and
// its overflow bounds, on the decoded accounts. Each function here is a port of one function of
// the program (`programs/solvent/src/math.rs`, `state/reserve.rs`, `state/obligation.rs`,
// `state/health.rs`, `state/operations.rs`, `state/liquidation.rs`) or of the client crate's
// queries (`client/src/query.rs`, `view.rs`), named after it, so that
//
//   refreshObligation, maxBorrow, maxWithdraw, liquidationPrice, quoteLiquidation
//
// give the answers the Rust client gives, to the base unit (checked against the vectors the
// client crate writes: `app/ts/test/position-vectors.test.ts`), and the instruction on chain
// agrees with them for a transaction at the view's slot and time.
//
// Refusals are thrown as the program's error (`solventProgramError`: a `UserError`,
// `MarketConditionError`, … whose `name` is the program's, `'BorrowTooLarge'`); an overflow is
// the program's `MathOverflow` (a `FatalError`). Nothing here reads the network:
// `simulatePosition` (in `./simulate.ts`) refreshes in a simulation and builds the view.
//
// Default entry: @solana/kit only, no Node built-in.
import type { Address } from '@solana/kit';
import type * as generated from '../generated/index.ts';
import { getObligationOrderDecoder } from '../generated/index.ts';
import { SolventError, solventProgramError } from './errors.ts';
import { IDL } from './idl.ts';

// ---- Errors -------------------------------------------------------------------------------

const ERROR_CODES = new Map<string, number>(IDL.errors.map((error) => [error.name, error.code]));

/** The program error named `name` (`'BorrowTooLarge'`), as the instruction would fail with it. */
export function programErrorNamed(name: string): SolventError {
  const code = ERROR_CODES.get(name);
  const error = code === undefined ? undefined : solventProgramError(code);
  if (!error) throw new RangeError(`${name} is not an error of the Solvent program`);
  return error;
}

const fail = (name: string): never => {
  throw programErrorNamed(name);
};

/** `overflow(option)`: the value, or the program's `MathOverflow`. */
const ovf = <T>(value: T | undefined): T => (value === undefined ? fail('MathOverflow') : value);

/** The program error `run` throws, by name (undefined when it returns); other errors (a bug, a
 *  missing account) propagate. */
export function refusal(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof SolventError && error.errorClass !== undefined) return error.name;
    throw error;
  }
}

/** The value `run` returns, or undefined where it throws the program's refusal (other errors
 *  propagate). */
export function optional<T>(run: () => T): T | undefined {
  let value: T | undefined;
  return refusal(() => (value = run())) === undefined ? value : undefined;
}

// ---- math.rs -------------------------------------------------------------------------------

export const WAD = 10n ** 18n;
export const U64_MAX = (1n << 64n) - 1n;
export const U128_MAX = (1n << 128n) - 1n;
const BPS = 10_000n;
const SECONDS_PER_YEAR = 31_536_000n;

/** Lossy operations say which way they round: `'down'` or `'up'` (`math::Rounding`). */
export type Rounding = 'down' | 'up';

const u64 = (value: bigint | undefined) => (value === undefined || value < 0n || value > U64_MAX ? undefined : value);
const u128 = (value: bigint | undefined) => (value === undefined || value < 0n || value > U128_MAX ? undefined : value);
const addU64 = (a: bigint, b: bigint) => u64(a + b);
const subU64 = (a: bigint, b: bigint) => (b > a ? undefined : a - b);
const satSubU64 = (a: bigint, b: bigint) => (b > a ? 0n : a - b);
const satAddU64 = (a: bigint, b: bigint) => (a + b > U64_MAX ? U64_MAX : a + b);
const satMulU64 = (a: bigint, b: bigint) => (a * b > U64_MAX ? U64_MAX : a * b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const bitLength = (value: bigint) => (value === 0n ? 0 : value.toString(2).length);

/** `a × b / c`, rounded, None past u128 or for c = 0 (`math::mul_div`: every path is exact). */
export function mulDiv(a: bigint, b: bigint, c: bigint, rounding: Rounding): bigint | undefined {
  if (c === 0n) return undefined;
  const product = a * b;
  const quotient = product / c;
  return u128(rounding === 'up' && product % c !== 0n ? quotient + 1n : quotient);
}

/** `10^exponent` in u128 (0..=38). */
export function pow10(exponent: number): bigint | undefined {
  return exponent >= 0 && exponent <= 38 ? 10n ** BigInt(exponent) : undefined;
}

/** `math::shift_to_64_bits`: the right shift that brings `widest` below 2^64. */
const shiftTo64Bits = (widest: bigint) => Math.max(0, bitLength(widest) - 64);
const shiftDown = (value: bigint, shift: number) => value >> BigInt(shift);
const shiftUp = (value: bigint, shift: number) => {
  const s = BigInt(shift);
  return (value >> s) + (shift > 0 && (value & ((1n << s) - 1n)) !== 0n ? 1n : 0n);
};
/** `wrapping_mul` on u128. */
const wrap128 = (value: bigint) => value & U128_MAX;

/** `math::fraction_up`: `part / whole` as a Wad, rounded up, at most 2 raw units (and a
 *  relative 2^-62) above the exact quotient, in 64-bit divisions (the program's utilization). */
export function fractionUp(part: bigint, whole: bigint): bigint {
  if (whole === 0n) return 0n;
  part = min(part, whole);
  const shift = Math.max(0, bitLength(whole) - 64);
  const wholeScaled = shiftDown(whole, shift);
  const partScaled = min(shiftUp(part, shift), wholeScaled);
  const numerator = partScaled << 64n;
  const units = numerator / wholeScaled + (numerator % wholeScaled !== 0n ? 1n : 0n);
  const scaled = units * WAD;
  return (scaled >> 64n) + ((scaled & U64_MAX) !== 0n ? 1n : 0n);
}

/** Wad arithmetic (`math::Wad`), on raw values: each None where the program's is. */
export const Wad = {
  fromU64: (value: bigint) => value * WAD,
  fromBps: (bps: number | bigint) => BigInt(bps) * (WAD / BPS),
  add: (a: bigint, b: bigint) => u128(a + b),
  sub: (a: bigint, b: bigint) => (b > a ? undefined : a - b),
  mul: (a: bigint, b: bigint, rounding: Rounding) => mulDiv(a, b, WAD, rounding),
  div: (a: bigint, b: bigint, rounding: Rounding) => mulDiv(a, WAD, b, rounding),
  mulBps: (a: bigint, bps: number | bigint, rounding: Rounding) => mulDiv(a, BigInt(bps), BPS, rounding),
  mulRatio: (a: bigint, numerator: bigint, denominator: bigint, rounding: Rounding) => mulDiv(a, numerator, denominator, rounding),
  toU64: (a: bigint, rounding: Rounding) => u64(rounding === 'up' && a % WAD !== 0n ? a / WAD + 1n : a / WAD),
  pow(base: bigint, exponent: bigint, rounding: Rounding): bigint | undefined {
    let result: bigint | undefined = WAD;
    let power: bigint | undefined = base;
    while (exponent > 0n) {
      if ((exponent & 1n) === 1n) {
        result = mulDiv(result, power!, WAD, rounding);
        if (result === undefined) return undefined;
      }
      exponent >>= 1n;
      if (exponent > 0n) {
        power = mulDiv(power!, power!, WAD, rounding);
        if (power === undefined) return undefined;
      }
    }
    return result;
  },
};

/** `math::scaled_value`: `amount × mantissa × 10^scaleExponent`, rounded, None past u128. */
export function scaledValue(amount: bigint, mantissa: bigint, scaleExponent: number, rounding: Rounding): bigint | undefined {
  if (scaleExponent >= 0) {
    const factor = pow10(scaleExponent);
    const product = u128(amount * mantissa);
    return factor === undefined || product === undefined ? undefined : u128(product * factor);
  }
  const divisor = pow10(-scaleExponent);
  return divisor === undefined ? undefined : mulDiv(amount, mantissa, divisor, rounding);
}

/** A price as an oracle gives it: `mantissa × 10^exponent` quote per whole token. */
export type OraclePrice = { mantissa: bigint; exponent: number };

/** `OraclePrice::to_wad`. */
export function priceToWad(price: OraclePrice): bigint {
  const scale = ovf(pow10(18 + price.exponent));
  return ovf(u128(price.mantissa * scale));
}

// ---- Stored wide values --------------------------------------------------------------------

/** A `StoredWad` (16 little-endian bytes) as a bigint. */
export function readWad(value: { leBytes: ArrayLike<number> }): bigint {
  let result = 0n;
  for (let i = 15; i >= 0; i--) result = (result << 8n) | BigInt(value.leBytes[i]);
  return result;
}

/** A bigint (0..2^128) as a `StoredWad`. */
export function storeWad(value: bigint): generated.StoredWad {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return { leBytes: bytes };
}

// ---- health.rs -----------------------------------------------------------------------------

/** What a health is measured for (`HealthKind`): borrowing power, liquidation eligibility,
 *  what a liquidation may pay out (solvency). */
export type HealthKind = 'initial' | 'maintenance' | 'payout';
export const HEALTH_KINDS: readonly HealthKind[] = ['initial', 'maintenance', 'payout'];
const LIQUIDATION_KINDS: readonly HealthKind[] = ['maintenance', 'payout'];
/** One kind's sums: weighted collateral against weighted debt (quote value, Wad). */
export type Health = { assetsWad: bigint; liabilitiesWad: bigint };
type Side = 'asset' | 'liability';
/** Values round against the user: assets down, liabilities up. */
const sideRounding = (side: Side): Rounding => (side === 'asset' ? 'down' : 'up');

/** The margin parameters a position in a reserve is weighted with (`RiskParams`). */
export type RiskParams = {
  loanToValueBps: number;
  liquidationThresholdBps: number;
  /** At least 100% (an unset weight is 100%). */
  borrowWeightBps: number;
  liquidationBonusBps: number;
  maxLiquidationBonusBps: number;
  liquidationBonusRampSecs: number;
};

/** An obligation's e-mode: its group (0: none) and the group's parameters as last read. */
export type Emode = { group: number; params: generated.EmodeGroup };

const emodeActive = (emode: Emode) => emode.group !== 0 && emode.params.liquidationThresholdBps !== 0;

/** `ReserveConfig::is_in_emode_group`. */
export const isInEmodeGroup = (config: Pick<generated.ReserveConfig, 'emodeGroups'>, group: number) =>
  group >= 1 && group <= 8 && (config.emodeGroups & (1 << (group - 1))) !== 0;

/** `Emode::covers`: the reserve's positions use the group's parameters. */
export const emodeCovers = (emode: Emode, config: Pick<generated.ReserveConfig, 'emodeGroups'>) => emodeActive(emode) && isInEmodeGroup(config, emode.group);

/** `Reserve::risk_params`: the config's, with the loan-to-value and threshold lowered to the
 *  dynamic ones refresh_reserve computed. */
export function reserveRiskParams(reserve: Pick<generated.Reserve, 'config' | 'dynamicConfig' | 'dynamic'>): RiskParams {
  const { config } = reserve;
  const params: RiskParams = {
    loanToValueBps: config.loanToValueBps,
    liquidationThresholdBps: config.liquidationThresholdBps,
    borrowWeightBps: config.borrowWeightBps === 0 ? 10_000 : config.borrowWeightBps,
    liquidationBonusBps: config.liquidationBonusBps,
    maxLiquidationBonusBps: config.maxLiquidationBonusBps,
    liquidationBonusRampSecs: config.liquidationBonusRampSecs,
  };
  if (reserve.dynamicConfig.flags !== 0 && reserve.dynamic.initialized !== 0) {
    params.loanToValueBps = Math.min(params.loanToValueBps, reserve.dynamic.ltvBps);
    params.liquidationThresholdBps = Math.min(params.liquidationThresholdBps, reserve.dynamic.thresholdBps);
  }
  return params;
}

/** `Emode::risk_params`: the group's (debt at 100%) for a member of the active group, else the
 *  reserve's own. */
export function emodeRiskParams(emode: Emode, reserve: Pick<generated.Reserve, 'config' | 'dynamicConfig' | 'dynamic'>): RiskParams {
  if (!emodeCovers(emode, reserve.config)) return reserveRiskParams(reserve);
  const group = emode.params;
  return {
    loanToValueBps: group.loanToValueBps,
    liquidationThresholdBps: group.liquidationThresholdBps,
    borrowWeightBps: 10_000,
    liquidationBonusBps: group.liquidationBonusBps,
    maxLiquidationBonusBps: group.maxLiquidationBonusBps,
    liquidationBonusRampSecs: reserve.config.liquidationBonusRampSecs,
  };
}

/** `health::weights(...).of(side)`. */
function weightBps(params: RiskParams, kind: HealthKind, side: Side): number {
  if (kind === 'payout') return 10_000;
  if (side === 'liability') return params.borrowWeightBps;
  return kind === 'initial' ? params.loanToValueBps : params.liquidationThresholdBps;
}

/** `health::weighted`: a position's value as it counts for `kind`, rounded against the user. */
function weighted(value: bigint, params: RiskParams, kind: HealthKind, side: Side): bigint {
  const bps = weightBps(params, kind, side);
  return bps === 10_000 ? value : ovf(Wad.mulBps(value, bps, sideRounding(side)));
}

// ---- dynamic.rs: the size premium ------------------------------------------------------------

/** The dynamic-margin parts (`set_dynamic_margin`'s flags). */
export const DYNAMIC_VOLATILITY = 1;
export const DYNAMIC_SIZE = 2;
export const DYNAMIC_CONCENTRATION = 4;

/** ⌈√n⌉. */
function isqrtUp(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) / 2n;
    if (y >= x) break;
    x = y;
  }
  return x * x < n ? x + 1n : x;
}

/** `size_premium_bps`: the loan-to-value a collateral position worth `valueWad` gives up,
 *  `size_premium_bps × √(value / depth)`, rounded up, at most `max_size_premium_bps`. */
export function sizePremiumBps(config: generated.DynamicMarginConfig, valueWad: bigint): number {
  if ((config.flags & DYNAMIC_SIZE) === 0 || config.liquidityDepthValue === 0n) return 0;
  const most = BigInt(config.maxSizePremiumBps);
  const factor = BigInt(config.sizePremiumBps);
  const depthUnits = config.liquidityDepthValue * (WAD / 100_000_000n);
  const up = (n: bigint, d: bigint) => (n + d - 1n) / d;
  const root = up(most * 10_000n, factor);
  const ratio = up(valueWad, depthUnits);
  const capped = min(ratio, root * root);
  return Number(min(up(factor * isqrtUp(capped), 10_000n), most));
}

// ---- reserve.rs ----------------------------------------------------------------------------

type Reserve = generated.Reserve;
type Obligation = generated.Obligation;

/** Reserve actions a pause can stop (`Reserve.ownerPaused` / `guardianPaused` bits; liquidations
 *  are paused in their own slot, `Reserve.liquidationPauseUntil`). */
export const ACTION_DEPOSIT = 1;
export const ACTION_BORROW = 2;
/** Collateral withdrawals and lend-only redemptions. */
export const ACTION_WITHDRAW = 4;
/** Liquidations, order executions and soft deleverages. */
export const ACTION_LIQUIDATE = 8;
export const ACTION_FLASH_LOAN = 16;
export const ACTIONS_ALL = ACTION_DEPOSIT | ACTION_BORROW | ACTION_WITHDRAW | ACTION_LIQUIDATE | ACTION_FLASH_LOAN;
const MAX_ACCRUAL_GAP_SECS = 10n * SECONDS_PER_YEAR;
const MAX_RESERVE_DEBT = (U64_MAX / 2n) * WAD;
const MAX_BORROW_INDEX = 100_000_000_000_000_000_000n * WAD;
export const DEBT_UNITS_PER_QUOTE = 1_000_000n;

function liquidityOnHand(r: Pick<Reserve, 'availableAmount' | 'flashLoanAmount' | 'insuranceReceivable'>): bigint {
  return ovf(u64(r.availableAmount + r.flashLoanAmount + r.insuranceReceivable));
}

/** `Reserve::total_liquidity`: the depositors' claim (base units, Wad). */
export function totalLiquidity(r: Reserve): bigint {
  const gross = ovf(Wad.add(Wad.fromU64(liquidityOnHand(r)), readWad(r.borrowedAmountWad)));
  return ovf(Wad.sub(gross, readWad(r.accumulatedProtocolFeesWad)));
}

/** `Reserve::utilization`. */
export function utilization(r: Reserve): bigint {
  const borrowed = readWad(r.borrowedAmountWad);
  const total = ovf(Wad.add(Wad.fromU64(liquidityOnHand(r)), borrowed));
  return fractionUp(borrowed, total);
}

/** `ReserveConfig::borrow_rate`: the annual rate (Wad) at `utilizationWad`. */
export function borrowRate(config: generated.ReserveConfig, utilizationWad: bigint): bigint | undefined {
  const curve = config.rateCurve;
  const end = curve.findIndex((point) => point.utilizationBps === 10_000);
  if (end < 0) return undefined;
  if (utilizationWad === 0n) return Wad.fromBps(curve[0].borrowRateBps);
  const used = min(utilizationWad, WAD);
  const bpsUnit = WAD / BPS;
  for (let i = 1; i <= end; i++) {
    const [low, high] = [curve[i - 1], curve[i]];
    if (used <= BigInt(high.utilizationBps) * bpsUnit) {
      const into = used - BigInt(low.utilizationBps) * bpsUnit;
      if (into < 0n || high.utilizationBps < low.utilizationBps) return undefined;
      const extra = mulDiv(into, BigInt(high.borrowRateBps - low.borrowRateBps), BigInt(high.utilizationBps - low.utilizationBps), 'up');
      return extra === undefined ? undefined : Wad.add(Wad.fromBps(low.borrowRateBps), extra);
    }
  }
  return undefined;
}

/** `Reserve::accrue_interest` to unix time `now`. */
export function accrueInterest(r: Reserve, now: bigint): void {
  let elapsed = now - r.lastUpdateTimestamp;
  if (elapsed > MAX_ACCRUAL_GAP_SECS) elapsed = MAX_ACCRUAL_GAP_SECS;
  if (elapsed <= 0n) return;
  const previous = readWad(r.borrowedAmountWad);
  if (previous === 0n) {
    r.lastUpdateTimestamp = now;
    return;
  }
  const annual = ovf(borrowRate(r.config, utilization(r)));
  const perSecond = ovf(Wad.mulRatio(annual, 1n, SECONDS_PER_YEAR, 'up'));
  let growth = ovf(Wad.pow(ovf(Wad.add(WAD, perSecond)), elapsed, 'up'));
  const index = readWad(r.cumulativeBorrowIndexWad);
  const grow = (factor: bigint): [bigint, bigint] | undefined => {
    const debt = Wad.mul(previous, factor, 'up');
    const next = Wad.mul(index, factor, 'up');
    return debt === undefined || debt > MAX_RESERVE_DEBT || next === undefined || next > MAX_BORROW_INDEX ? undefined : [debt, next];
  };
  let grown = grow(growth);
  if (!grown) {
    const byDebt = Wad.div(MAX_RESERVE_DEBT, previous, 'down') ?? growth;
    const byIndex = ovf(Wad.div(MAX_BORROW_INDEX, index, 'down'));
    growth = max(min(min(growth, byDebt), byIndex), WAD);
    grown = [ovf(Wad.mul(previous, growth, 'up')), ovf(Wad.mul(index, growth, 'up'))];
  }
  const [borrowed, nextIndex] = grown;
  const interest = ovf(Wad.sub(borrowed, previous));
  const protocolShare = ovf(Wad.mulBps(interest, r.config.protocolTakeRateBps, 'down'));
  r.borrowedAmountWad = storeWad(borrowed);
  addProtocolFees(r, protocolShare);
  r.cumulativeBorrowIndexWad = storeWad(nextIndex);
  r.lastUpdateTimestamp = now;
}

function addProtocolFees(r: Reserve, amount: bigint) {
  r.accumulatedProtocolFeesWad = storeWad(ovf(Wad.add(readWad(r.accumulatedProtocolFeesWad), amount)));
}

/** `Reserve::liquidity_for_shares`: the liquidity (Wad) `shares` redeem for. */
export function liquidityForShares(r: Reserve, shares: bigint, rounding: Rounding): bigint {
  if (r.collateralSupply === 0n) return 0n;
  return ovf(Wad.mulRatio(totalLiquidity(r), shares, r.collateralSupply, rounding));
}

/** `Reserve::shares_for_amount`. */
export function sharesForAmount(r: Reserve, amount: bigint, rounding: Rounding): bigint {
  const total = totalLiquidity(r);
  if (total === 0n) fail('ReserveValueWipedOut');
  return ovf(u64(ovf(mulDiv(Wad.fromU64(amount), r.collateralSupply, total, rounding))));
}

/** `Reserve::redeem_amount`: base units `shares` redeem for, rounded down. */
export function redeemAmount(r: Reserve, shares: bigint): bigint {
  return ovf(Wad.toU64(liquidityForShares(r, shares, 'down'), 'down'));
}

function valueAt(r: Reserve, mantissa: bigint, amount: bigint, rounding: Rounding): bigint {
  return ovf(scaledValue(amount, mantissa, r.marketPriceExponent - r.liquidityDecimals, rounding));
}

/** `Reserve::market_value`: quote value (Wad) of `amount` (base units, Wad) at spot. */
export function marketValue(r: Reserve, amount: bigint, rounding: Rounding): bigint {
  return valueAt(r, r.marketPriceMantissa, amount, rounding);
}

/** `Reserve::price_for`: the price mantissa positions on `side` are valued at for `kind`. */
function priceFor(r: Reserve, kind: HealthKind, side: Side): bigint {
  if (kind === 'initial') return side === 'asset' ? r.collateralPriceMantissa : r.debtPriceMantissa;
  return side === 'asset' ? r.liquidationCollateralPriceMantissa : r.liquidationDebtPriceMantissa;
}

const valueFor = (r: Reserve, kind: HealthKind, side: Side, amount: bigint) => valueAt(r, priceFor(r, kind, side), amount, sideRounding(side));
/** `Reserve::debt_value`: debt at the conservative debt price, rounded up. */
export const debtValue = (r: Reserve, amount: bigint) => valueFor(r, 'initial', 'liability', amount);
/** `Reserve::collateral_value`: shares at the conservative collateral price, rounded down. */
export const collateralValue = (r: Reserve, shares: bigint) => valueFor(r, 'initial', 'asset', liquidityForShares(r, shares, 'down'));

function liquidationDebtValue(r: Reserve, amount: bigint, value: bigint): bigint {
  return priceFor(r, 'maintenance', 'liability') === priceFor(r, 'initial', 'liability') ? value : valueFor(r, 'maintenance', 'liability', amount);
}

function liquidationCollateralValue(r: Reserve, shares: bigint, value: bigint): bigint {
  return priceFor(r, 'maintenance', 'asset') === priceFor(r, 'initial', 'asset') ? value : valueFor(r, 'maintenance', 'asset', liquidityForShares(r, shares, 'down'));
}

const liquidationValueOfRepaid = (r: Reserve, amount: bigint) => valueAt(r, priceFor(r, 'maintenance', 'liability'), amount, 'down');

function liquidationDebtAmountForValue(r: Reserve, value: bigint, rounding: Rounding): bigint {
  const price = priceToWad({ mantissa: r.liquidationDebtPriceMantissa, exponent: r.marketPriceExponent });
  const scale = ovf(pow10(r.liquidityDecimals));
  return ovf(Wad.mulRatio(value, ovf(u128(scale * WAD)), price, rounding));
}

/** `Reserve::set_market_price`: the reserve's prices all at `price` (spot = EMA, no
 *  confidence), as the liquidation-price search prices a collateral. */
export function setMarketPrice(r: Reserve, price: OraclePrice): void {
  const spot = price.mantissa;
  r.marketPriceWad = storeWad(priceToWad(price));
  r.marketPriceMantissa = spot;
  r.marketPriceExponent = price.exponent;
  r.emaPriceMantissa = spot;
  r.collateralPriceMantissa = r.config.valuationMode === 1 ? spot : max(spot, 1n);
  r.debtPriceMantissa = spot;
  r.liquidationCollateralPriceMantissa = spot;
  r.liquidationDebtPriceMantissa = spot;
}

/** The `ACTION_*` bits paused on a reserve at unix time `now`, as the program's
 *  `Reserve::paused_actions`: the owner's pauses, the guardian's until `guardianPauseUntil`, and
 *  liquidations until `liquidationPauseUntil` (their own slot: a liquidation pause, by the owner
 *  or the guardian, always expires; `guardianPaused` never holds `ACTION_LIQUIDATE`). */
export function pausedActions(
  reserve: Pick<generated.Reserve, 'ownerPaused' | 'guardianPaused' | 'guardianPauseUntil' | 'liquidationPauseUntil'>,
  now: bigint | number,
): number {
  const at = BigInt(now);
  const guardian = at < reserve.guardianPauseUntil ? reserve.guardianPaused : 0;
  const liquidation = at < reserve.liquidationPauseUntil ? ACTION_LIQUIDATE : 0;
  return reserve.ownerPaused | guardian | liquidation;
}

/** `Reserve::check_action`: `ActionPaused` while an owner or guardian pause covers `action`. */
function checkAction(r: Reserve, action: number, now: bigint): void {
  if ((pausedActions(r, now) & action) !== 0) fail('ActionPaused');
}

/** `limit` (a deposit or borrow cap, in base units or quote value) as the listing ramp lets it
 *  count at unix time `now`, as the program's `Reserve::ramped_limit`: from 0 at listing to all
 *  of it `listingRampSecs` later, linearly, rounded down. The program ramps a value cap only when
 *  it is set (0 stays "no cap"). */
export function rampedLimit(reserve: Pick<generated.Reserve, 'listedAt' | 'listingRampSecs'>, limit: bigint, now: bigint | number): bigint {
  const ramp = BigInt(reserve.listingRampSecs);
  const since = BigInt(now) - reserve.listedAt;
  const elapsed = since < 0n ? 0n : since;
  if (ramp === 0n || elapsed >= ramp) return limit;
  return (limit * elapsed) / ramp;
}

/** The fields the outflow window is computed from. */
type OutflowFields = Pick<
  Reserve,
  'config' | 'outflowUsed' | 'outflowCredit' | 'outflowUpdatedAt' | 'outflowBase' | 'outflowBaseAt' | 'availableAmount' | 'flashLoanAmount' | 'insuranceReceivable'
>;

type OutflowNow = { capacity: bigint; used: bigint; credit: bigint; base: bigint; baseAt: bigint };

function outflowCapacityOf(r: OutflowFields, base: bigint) {
  return max((base * BigInt(r.config.outflowLimitBps)) / BPS, r.config.outflowFloor);
}

function outflowDecayed(r: OutflowFields, value: bigint, capacity: bigint, now: bigint) {
  const window = BigInt(r.config.outflowWindowSecs);
  const elapsed = min(max(now - r.outflowUpdatedAt, 0n), window);
  const decayed = (max(capacity, value) * elapsed) / max(window, 1n);
  return satSubU64(value, min(decayed, U64_MAX));
}

function outflowNow(r: OutflowFields, now: bigint): OutflowNow {
  const stored = outflowCapacityOf(r, r.outflowBase);
  const used = outflowDecayed(r, r.outflowUsed, stored, now);
  const credit = outflowDecayed(r, r.outflowCredit, stored, now);
  const windowEnd = r.outflowBaseAt + BigInt(r.config.outflowWindowSecs);
  const windowOver = now >= (windowEnd > (1n << 63n) - 1n ? (1n << 63n) - 1n : windowEnd);
  const [base, baseAt] = (used === 0n && credit === 0n) || windowOver ? [satSubU64(liquidityOnHand(r), credit), now] : [r.outflowBase, r.outflowBaseAt];
  return { capacity: outflowCapacityOf(r, base), used, credit, base, baseAt };
}

/** What the outflow limit lets out of a reserve, as the program's `OutflowRoom`. */
export type OutflowRoom = {
  /** Base units that may leave now (2^64 - 1 with the limit off). */
  available: bigint;
  /** The most that may leave within one window beyond the inflow credited: the larger of the
   *  share of the base (`outflowBase`, or the liquidity on hand now less the credit when it is
   *  taken again) and the floor (2^64 - 1 with the limit off). */
  capacity: bigint;
  /** Seconds until the whole capacity is available again (0: it is). */
  fullInSecs: bigint;
};

/** The outflow limit's room at unix time `now`, as the program's `Reserve::outflow_room`, with
 *  its rounding and order of operations. The bucket holds the outflow counted (`outflowUsed`)
 *  and the inflow credited beyond it (`outflowCredit`; inflows first take the count down, and
 *  outflows use the credit first), both decaying by the capacity of the stored base
 *  (`outflowBase`) per window, or by themselves per window when larger (nothing outlives its
 *  window), pro rata to the seconds since `outflowUpdatedAt` (at most a window, rounded down).
 *  The capacity is `outflowLimitBps` of a base (rounded down), or the floor when larger. The
 *  base is the stored one while the bucket is not empty after decay and less than a window has
 *  passed since `outflowBaseAt`; otherwise it is taken again: the liquidity on hand now
 *  (`availableAmount + flashLoanAmount + insuranceReceivable`, as `Reserve::liquidity_on_hand`;
 *  not the depositors' claim: debt and fees do not count) less the credit left (saturating at
 *  0). So a deposit made within the window only adds credit, not capacity, and a withdrawal
 *  does not shrink the capacity it counts against. Available now: the capacity less the count
 *  (at least 0), plus the credit; full again in ceil(count × window / capacity) seconds (0 with
 *  no capacity).
 *
 *  Interest does not move the liquidity on hand, so a reserve last updated before `now` gives
 *  the program's room exactly. Throws `MathOverflow` where the program would (liquidity on hand
 *  beyond u64, when the base is taken again). */
export function outflowRoom(reserve: OutflowFields, now: bigint | number): OutflowRoom {
  if (reserve.config.outflowLimitBps === 0) return { available: U64_MAX, capacity: U64_MAX, fullInSecs: 0n };
  const { capacity, used, credit } = outflowNow(reserve, BigInt(now));
  const window = BigInt(reserve.config.outflowWindowSecs);
  const fullInSecs = capacity === 0n ? 0n : min((used * window + capacity - 1n) / capacity, U64_MAX);
  return { available: satAddU64(satSubU64(capacity, used), credit), capacity, fullInSecs };
}

function storeOutflow(r: Reserve, state: OutflowNow, used: bigint, credit: bigint, now: bigint) {
  [r.outflowUsed, r.outflowCredit, r.outflowUpdatedAt] = [used, credit, now];
  [r.outflowBase, r.outflowBaseAt] = [state.base, state.baseAt];
}

/** `Reserve::record_outflow`: `OutflowLimitExceeded` past the window's room. */
function recordOutflow(r: Reserve, amount: bigint, now: bigint): void {
  if (r.config.outflowLimitBps === 0 || amount === 0n) return;
  const state = outflowNow(r, now);
  let used: bigint;
  let credit: bigint;
  if (amount < state.credit) {
    [used, credit] = [state.used, state.credit - amount];
  } else {
    const total = state.used + (amount - state.credit);
    if (total > U64_MAX || total > state.capacity) fail('OutflowLimitExceeded');
    [used, credit] = [total, 0n];
  }
  storeOutflow(r, state, used, credit, now);
}

/** `fee_on`: a fee of `bps` on `amount`, rounded up. */
const feeOn = (amount: bigint, bps: number) => ovf(Wad.toU64(ovf(Wad.mulBps(Wad.fromU64(amount), bps, 'up')), 'up'));

/** `Reserve::borrow`: the reserve's side of a borrow; returns the origination fee. */
export function reserveBorrow(r: Reserve, amount: bigint): bigint {
  checkAction(r, ACTION_BORROW, r.lastUpdateTimestamp);
  const fee = feeOn(amount, r.config.borrowFeeBps);
  const paidOut = ovf(subU64(amount, fee));
  if (paidOut === 0n) fail('ZeroAmount');
  if (paidOut > r.availableAmount) fail('InsufficientLiquidity');
  const now = r.lastUpdateTimestamp;
  const borrowed = ovf(Wad.add(readWad(r.borrowedAmountWad), Wad.fromU64(amount)));
  if (borrowed > Wad.fromU64(rampedLimit(r, r.config.borrowLimit, now))) fail('BorrowLimitExceeded');
  const cap = rampedLimit(r, r.config.borrowLimitValue, now);
  if (r.config.borrowLimitValue !== 0n && debtValue(r, borrowed) > Wad.fromU64(cap)) fail('BorrowValueCapExceeded');
  recordOutflow(r, paidOut, now);
  r.availableAmount -= paidOut;
  r.borrowedAmountWad = storeWad(borrowed);
  addProtocolFees(r, Wad.fromU64(fee));
  return fee;
}

/** `Reserve::redeem`: the reserve's side of a withdrawal; returns the base units paid out. */
export function reserveRedeem(r: Reserve, shares: bigint): bigint {
  checkAction(r, ACTION_WITHDRAW, r.lastUpdateTimestamp);
  const amount = redeemAmount(r, shares);
  if (amount > r.availableAmount) fail('InsufficientLiquidity');
  recordOutflow(r, amount, r.lastUpdateTimestamp);
  r.availableAmount -= amount;
  r.collateralSupply = ovf(subU64(r.collateralSupply, shares));
  return amount;
}

/** `Reserve::record_inflow`: a deposit or repayment frees outflow room. */
function recordInflow(r: Reserve, amount: bigint, now: bigint): void {
  if (r.config.outflowLimitBps === 0) return;
  let state: OutflowNow;
  try {
    state = outflowNow(r, now);
  } catch {
    return;
  }
  const [used, credit] = amount < state.used ? [state.used - amount, state.credit] : [0n, satAddU64(state.credit, amount - state.used)];
  storeOutflow(r, state, used, credit, now);
}

/** Shares of the first deposit into an empty reserve that nobody receives (the program's `DEAD_SHARES`). */
export const DEAD_SHARES = 1_000n;
const DYNAMIC_CONCENTRATION_FLAG = 4;

/** `Reserve::deposit`: the reserve's side of a deposit (limits, value cap, the concentration
 *  scale); returns the shares credited (the first deposit leaves `DEAD_SHARES` behind). */
export function reserveDeposit(r: Reserve, amount: bigint): bigint {
  const minted = r.collateralSupply === 0n ? amount : sharesForAmount(r, amount, 'down');
  const now = r.lastUpdateTimestamp;
  let shares = minted;
  if (r.collateralSupply === 0n) {
    if (minted <= DEAD_SHARES) fail('FirstDepositTooSmall');
    shares = minted - DEAD_SHARES;
  }
  if (shares === 0n) fail('ZeroAmount');
  const totalAfter = ovf(Wad.add(totalLiquidity(r), Wad.fromU64(amount)));
  if (totalAfter > Wad.fromU64(rampedLimit(r, r.config.depositLimit, now))) fail('DepositLimitExceeded');
  const cap = rampedLimit(r, r.config.depositLimitValue, now);
  if (r.config.depositLimitValue !== 0n && valueFor(r, 'maintenance', 'asset', totalAfter) > Wad.fromU64(cap)) fail('DepositValueCapExceeded');
  if ((r.dynamicConfig.flags & DYNAMIC_CONCENTRATION_FLAG) !== 0 && r.dynamic.initialized !== 0) {
    const value = Wad.toU64(valueFor(r, 'maintenance', 'asset', totalAfter), 'up') ?? U64_MAX;
    const limit = r.dynamicConfig.concentrationLimitValue;
    const concentration = value > limit ? Number((limit * BPS) / value) : 10_000;
    const before = [r.dynamic.concentrationBps, r.dynamic.ltvBps];
    r.dynamic.concentrationBps = concentration;
    r.dynamic.ltvBps = Math.floor((r.dynamic.volLtvBps * concentration) / 10_000);
    if (before[0] !== r.dynamic.concentrationBps || before[1] !== r.dynamic.ltvBps) r.valuationEpoch = (r.valuationEpoch + 1n) & U64_MAX;
  }
  recordInflow(r, amount, now);
  r.availableAmount = ovf(addU64(r.availableAmount, amount));
  r.collateralSupply = ovf(addU64(r.collateralSupply, minted));
  return shares;
}

/** `Reserve::flash_loan_fee`. */
export const flashLoanFee = (r: Reserve, amount: bigint) => feeOn(amount, r.config.flashLoanFeeBps);
/** `Reserve::borrow_fee`: the origination fee on a borrow of `amount`. */
export const borrowFee = (r: Reserve, amount: bigint) => feeOn(amount, r.config.borrowFeeBps);

/** `Reserve::flash_borrow`. */
export function flashBorrow(r: Reserve, amount: bigint): void {
  if (amount === 0n) fail('ZeroAmount');
  if (r.flashLoanAmount !== 0n) fail('FlashLoanNested');
  if (amount > r.availableAmount) fail('InsufficientLiquidity');
  r.availableAmount -= amount;
  r.flashLoanAmount = amount;
}

/** `Reserve::amount_for_value`: base units (Wad) worth `value` at spot. */
export function amountForValue(r: Reserve, value: bigint, rounding: Rounding): bigint {
  const scale = ovf(pow10(r.liquidityDecimals));
  return ovf(Wad.mulRatio(value, ovf(u128(scale * WAD)), readWad(r.marketPriceWad), rounding));
}

/** `debt_units`: a debt value in the counters' units (10^-6 quote), rounded up. */
export function debtUnits(value: bigint): bigint | undefined {
  const perUnit = WAD / DEBT_UNITS_PER_QUOTE;
  return u64((value + perUnit - 1n) / perUnit);
}

/** `within_value_cap`: the counter after `units` more, None past the cap (0: none). */
export function withinValueCap(used: bigint, units: bigint, capValue: bigint): bigint | undefined {
  const total = u64(used + units);
  return total !== undefined && (capValue === 0n || total <= capValue * DEBT_UNITS_PER_QUOTE) ? total : undefined;
}

// ---- obligation.rs -------------------------------------------------------------------------

const DEFAULT_ADDRESS = '11111111111111111111111111111111';
export const TIER_ISOLATED_COLLATERAL = 1;
export const TIER_SILOED_DEBT = 2;
/** `ReserveConfig::risk_flags`. */
export const RISK_FLAG_ISOLATED_COLLATERAL = 1;
export const RISK_FLAG_BORROWABLE_IN_ISOLATION = 2;
export const RISK_FLAG_SILOED_DEBT = 4;

/** `ObligationValues`: what a refresh computes, and the borrow / withdraw rules update. */
export type ObligationValues = {
  depositedValueWad: bigint;
  borrowedValueWad: bigint;
  /** The health engine's sums by kind (`ObligationValues::health`). */
  health: Record<HealthKind, Health>;
  usesHaltedPrice: boolean;
  emode: Emode;
  /** The earliest soft zone of the collateral reserves (undefined: none). */
  softZoneStartBps: number | undefined;
  ordersTriggered: boolean[];
  /** Σ collateral × threshold at the borrowing-power prices (the margin band's top). */
  conservativeThresholdWad: bigint;
};

const zeroHealth = (): Record<HealthKind, Health> => ({
  initial: { assetsWad: 0n, liabilitiesWad: 0n },
  maintenance: { assetsWad: 0n, liabilitiesWad: 0n },
  payout: { assetsWad: 0n, liabilitiesWad: 0n },
});

const isHealthy = (health: Health) => health.liabilitiesWad <= health.assetsWad;
/** Liquidatable: the maintenance health is below 1. */
export const isUnhealthy = (values: Pick<ObligationValues, 'health'>) => !isHealthy(values.health.maintenance);
/** `within_borrowing_power`: the initial health is at least 1. */
export const withinBorrowingPower = (values: Pick<ObligationValues, 'health'>) => isHealthy(values.health.initial);
/** `health_factor`: maintenance assets / liabilities, Wad, rounded down (undefined without debt). */
export function healthFactorWad(values: Pick<ObligationValues, 'health'>): bigint | undefined {
  const { assetsWad, liabilitiesWad } = values.health.maintenance;
  return liabilitiesWad === 0n ? undefined : mulDiv(assetsWad, WAD, liabilitiesWad, 'down');
}

function addTo(values: ObligationValues, kind: HealthKind, side: Side, value: bigint) {
  const health = values.health[kind];
  if (side === 'asset') health.assetsWad = ovf(Wad.add(health.assetsWad, value));
  else health.liabilitiesWad = ovf(Wad.add(health.liabilitiesWad, value));
}

function removeFrom(values: ObligationValues, kind: HealthKind, side: Side, value: bigint) {
  const health = values.health[kind];
  if (side === 'asset') health.assetsWad = ovf(Wad.sub(health.assetsWad, value));
  else health.liabilitiesWad = ovf(Wad.sub(health.liabilitiesWad, value));
}

/** `ObligationValues::collateral_params`: the reserve's parameters, with a size premium off the
 *  loan-to-value (outside an e-mode group). */
export function collateralParams(values: Pick<ObligationValues, 'emode'>, valueWad: bigint, r: Reserve): RiskParams {
  const params = emodeRiskParams(values.emode, r);
  if ((r.dynamicConfig.flags & DYNAMIC_SIZE) !== 0 && !emodeCovers(values.emode, r.config)) {
    params.loanToValueBps = Math.max(0, params.loanToValueBps - sizePremiumBps(r.dynamicConfig, valueWad));
  }
  return params;
}

function addCollateral(values: ObligationValues, value: bigint, r: Reserve): [number, number] {
  values.depositedValueWad = ovf(Wad.add(values.depositedValueWad, value));
  const params = collateralParams(values, value, r);
  for (const kind of HEALTH_KINDS) addTo(values, kind, 'asset', weighted(value, params, kind, 'asset'));
  return [params.loanToValueBps, params.liquidationThresholdBps];
}

function removeCollateral(values: ObligationValues, value: bigint, r: Reserve) {
  values.depositedValueWad = ovf(Wad.sub(values.depositedValueWad, value));
  const params = collateralParams(values, value, r);
  for (const kind of HEALTH_KINDS) removeFrom(values, kind, 'asset', weighted(value, params, kind, 'asset'));
}

function addDebt(values: ObligationValues, value: bigint, r: Reserve) {
  values.borrowedValueWad = ovf(Wad.add(values.borrowedValueWad, value));
  const params = emodeRiskParams(values.emode, r);
  for (const kind of HEALTH_KINDS) addTo(values, kind, 'liability', weighted(value, params, kind, 'liability'));
}

function replaceDebt(values: ObligationValues, old: bigint, next: bigint, r: Reserve) {
  values.borrowedValueWad = ovf(Wad.add(ovf(Wad.sub(values.borrowedValueWad, old)), next));
  const params = emodeRiskParams(values.emode, r);
  for (const kind of HEALTH_KINDS) {
    removeFrom(values, kind, 'liability', weighted(old, params, kind, 'liability'));
    addTo(values, kind, 'liability', weighted(next, params, kind, 'liability'));
  }
}

/** `Obligation::emode`. */
export const obligationEmode = (o: Obligation): Emode => ({ group: o.emodeGroup, params: o.emodeParams });

/** `Obligation::values`: what the last refresh (or rule) stored. */
export function obligationValues(o: Obligation): ObligationValues {
  const health: Record<HealthKind, Health> = {
    initial: { assetsWad: readWad(o.allowedBorrowValueWad), liabilitiesWad: readWad(o.initialBorrowedValueWad) },
    maintenance: { assetsWad: readWad(o.unhealthyBorrowValueWad), liabilitiesWad: readWad(o.liquidationBorrowedValueWad) },
    payout: { assetsWad: readWad(o.liquidationDepositedValueWad), liabilitiesWad: readWad(o.payoutBorrowedValueWad) },
  };
  return {
    depositedValueWad: readWad(o.depositedValueWad),
    borrowedValueWad: readWad(o.borrowedValueWad),
    health,
    usesHaltedPrice: o.usesHaltedPrice !== 0,
    emode: obligationEmode(o),
    softZoneStartBps: undefined,
    ordersTriggered: o.orders.map(() => false),
    conservativeThresholdWad: readWad(o.conservativeThresholdValueWad),
  };
}

function setValues(o: Obligation, values: ObligationValues) {
  const { initial, maintenance, payout } = values.health;
  o.depositedValueWad = storeWad(values.depositedValueWad);
  o.borrowedValueWad = storeWad(values.borrowedValueWad);
  o.initialBorrowedValueWad = storeWad(initial.liabilitiesWad);
  o.allowedBorrowValueWad = storeWad(initial.assetsWad);
  o.unhealthyBorrowValueWad = storeWad(maintenance.assetsWad);
  o.liquidationBorrowedValueWad = storeWad(maintenance.liabilitiesWad);
  o.liquidationDepositedValueWad = storeWad(payout.assetsWad);
  o.payoutBorrowedValueWad = storeWad(payout.liabilitiesWad);
  o.usesHaltedPrice = values.usesHaltedPrice ? 1 : 0;
  o.conservativeThresholdValueWad = storeWad(values.conservativeThresholdWad);
}

/** Positions in use (the arrays are packed from the front). */
export const depositCount = (o: Obligation) => {
  const index = o.deposits.findIndex((d) => d.depositReserve === DEFAULT_ADDRESS);
  return index < 0 ? o.deposits.length : index;
};
export const borrowCount = (o: Obligation) => {
  const index = o.borrows.findIndex((b) => b.borrowReserve === DEFAULT_ADDRESS);
  return index < 0 ? o.borrows.length : index;
};
export const hasBorrows = (o: Obligation) => o.borrows[0].borrowReserve !== DEFAULT_ADDRESS;
const hasDeposits = (o: Obligation) => o.deposits[0].depositReserve !== DEFAULT_ADDRESS;
/** `Obligation::find_deposit` / `find_borrow`: the position's index (undefined: none). */
export const findDeposit = (o: Obligation, reserve: Address) => {
  const index = o.deposits.slice(0, depositCount(o)).findIndex((d) => d.depositReserve === reserve);
  return index < 0 ? undefined : index;
};
export const findBorrow = (o: Obligation, reserve: Address) => {
  const index = o.borrows.slice(0, borrowCount(o)).findIndex((b) => b.borrowReserve === reserve);
  return index < 0 ? undefined : index;
};
export const isIsolated = (o: Obligation) => (o.tierFlags & TIER_ISOLATED_COLLATERAL) !== 0 && hasDeposits(o);
const isSiloed = (o: Obligation) => (o.tierFlags & TIER_SILOED_DEBT) !== 0 && hasBorrows(o);

/** `ObligationLiquidity::accrue_interest`: the debt grown to the reserve's index, rounded up. */
function accrueDebt(position: generated.ObligationLiquidity, index: bigint) {
  const snapshot = readWad(position.cumulativeBorrowIndexWad);
  if (index === snapshot) return;
  if (index < snapshot) fail('MathOverflow');
  position.borrowedAmountWad = storeWad(ovf(Wad.mulRatio(readWad(position.borrowedAmountWad), index, snapshot, 'up')));
  position.cumulativeBorrowIndexWad = storeWad(index);
}

let defaultOrder: generated.ObligationOrder | undefined;
const emptyOrder = (): generated.ObligationOrder => {
  defaultOrder ??= getObligationOrderDecoder().decode(new Uint8Array(getObligationOrderDecoder().fixedSize));
  return structuredClone(defaultOrder);
};

/** Where a reserve of the obligation comes from: its state, or a refusal (thrown). */
export type ReserveAt = (index: number, reserve: Address) => Reserve;

/** `Obligation::revalue`: every position at its reserve's refreshed prices, by the one health
 *  engine; the obligation's cached position values, weights and tier are updated. */
export function revalue(o: Obligation, reserveAt: ReserveAt): ObligationValues {
  const [deposits, borrows] = [depositCount(o), borrowCount(o)];
  const values: ObligationValues = {
    depositedValueWad: 0n,
    borrowedValueWad: 0n,
    health: zeroHealth(),
    usesHaltedPrice: false,
    emode: obligationEmode(o),
    softZoneStartBps: undefined,
    ordersTriggered: o.orders.map(() => false),
    conservativeThresholdWad: 0n,
  };
  let softZoneStart = 0xffff;
  for (let index = 0; index < deposits; index++) {
    const r = reserveAt(index, o.deposits[index].depositReserve);
    const position = o.deposits[index];
    const value = collateralValue(r, position.depositedShares);
    position.marketValueWad = storeWad(value);
    values.usesHaltedPrice ||= r.priceHalted !== 0;
    o.collateralWeightsBps[index] = addCollateral(values, value, r);
    if (r.softZone.enabled !== 0) softZoneStart = Math.min(softZoneStart, r.softZone.startBps);
  }
  for (let index = 0; index < borrows; index++) {
    const r = reserveAt(deposits + index, o.borrows[index].borrowReserve);
    const position = o.borrows[index];
    accrueDebt(position, readWad(r.cumulativeBorrowIndexWad));
    const value = debtValue(r, readWad(position.borrowedAmountWad));
    position.marketValueWad = storeWad(value);
    values.usesHaltedPrice ||= r.priceHalted !== 0;
    addDebt(values, value, r);
  }
  o.tierFlags = positionTier(o, reserveAt);
  values.softZoneStartBps = softZoneStart !== 0xffff ? softZoneStart : undefined;
  values.conservativeThresholdWad = values.health.maintenance.assetsWad;
  if (isUnhealthy(values)) {
    // Liquidatable at the conservative prices: judged at the liquidation prices instead.
    for (const kind of LIQUIDATION_KINDS) values.health[kind] = { assetsWad: 0n, liabilitiesWad: 0n };
    for (let index = 0; index < deposits; index++) {
      const r = reserveAt(index, o.deposits[index].depositReserve);
      const position = o.deposits[index];
      const value = liquidationCollateralValue(r, position.depositedShares, readWad(position.marketValueWad));
      const params = emodeRiskParams(values.emode, r);
      for (const kind of LIQUIDATION_KINDS) addTo(values, kind, 'asset', weighted(value, params, kind, 'asset'));
    }
    for (let index = 0; index < borrows; index++) {
      const r = reserveAt(deposits + index, o.borrows[index].borrowReserve);
      const position = o.borrows[index];
      const value = liquidationDebtValue(r, readWad(position.borrowedAmountWad), readWad(position.marketValueWad));
      const params = emodeRiskParams(values.emode, r);
      for (const kind of LIQUIDATION_KINDS) addTo(values, kind, 'liability', weighted(value, params, kind, 'liability'));
    }
  }
  if (o.orders.some((order) => order.trigger !== 0)) {
    o.orders.forEach((order, slot) => {
      if (order.trigger === 0) return;
      const [deposit, borrow] = [findDeposit(o, order.withdrawReserve), findBorrow(o, order.repayReserve)];
      if (deposit === undefined || borrow === undefined) {
        // Its debt or its collateral is gone: the order is used up.
        o.orders[slot] = emptyOrder();
        return;
      }
      const collateralPrice = readWad(reserveAt(deposit, o.deposits[deposit].depositReserve).marketPriceWad);
      const debtPrice = readWad(reserveAt(deposits + borrow, o.borrows[borrow].borrowReserve).marketPriceWad);
      values.ordersTriggered[slot] = orderTriggered(order, values, collateralPrice, debtPrice);
    });
  }
  return values;
}

/** The margin tier a refresh finds (`Obligation::tier_flags`): isolated collateral and siloed
 *  debt, from the positions' reserves' flags as they are now. */
export function positionTier(o: Obligation, reserveAt: ReserveAt): number {
  const deposits = depositCount(o);
  let tier = 0;
  for (let index = 0; index < deposits; index++) {
    if ((reserveAt(index, o.deposits[index].depositReserve).config.riskFlags & RISK_FLAG_ISOLATED_COLLATERAL) !== 0) tier |= TIER_ISOLATED_COLLATERAL;
  }
  for (let index = 0; index < borrowCount(o); index++) {
    if ((reserveAt(deposits + index, o.borrows[index].borrowReserve).config.riskFlags & RISK_FLAG_SILOED_DEBT) !== 0) tier |= TIER_SILOED_DEBT;
  }
  return tier;
}

/** `ObligationOrder::is_triggered` on refreshed values. */
type OrderTrigger = (order: generated.ObligationOrder, values: ObligationValues, collateralPriceWad: bigint, debtPriceWad: bigint) => boolean;
/** `in_soft_zone` on refreshed values. */
type SoftZoneTest = (values: ObligationValues, startBps: number) => boolean;

/** `condition_clock`: when a condition started holding (0 while it does not). */
const conditionClock = (since: bigint, holds: boolean, now: bigint) => (!holds ? 0n : since === 0n ? now : since);

/** `Obligation::finish_refresh`: the values stored, the auction, soft-zone and order clocks
 *  run, and the obligation fresh at `slot`. */
export function finishRefresh(o: Obligation, values: ObligationValues, now: bigint, slot: bigint): void {
  setValues(o, values);
  o.unhealthySince = conditionClock(o.unhealthySince, isUnhealthy(values), now);
  const orders = o.orders.reduce((any, order) => any | order.trigger, 0);
  if (values.softZoneStartBps !== undefined || o.softZoneSince !== 0n || orders !== 0) {
    const zone = values.softZoneStartBps !== undefined && inZone(values, values.softZoneStartBps);
    o.softZoneSince = conditionClock(o.softZoneSince, zone, now);
    o.orders.forEach((order, slotIndex) => {
      order.triggeredSince = conditionClock(order.triggeredSince, values.ordersTriggered[slotIndex], now);
    });
  }
  o.lastUpdateSlot = slot;
  o.stale = 0;
}

/** `LendingMarket::emode`: group `group`'s parameters (`InvalidEmodeGroup` past 8). */
export function marketEmode(market: Pick<generated.LendingMarket, 'emodeGroups'>, group: number): Emode {
  if (group === 0) return { group, params: { loanToValueBps: 0, liquidationThresholdBps: 0, liquidationBonusBps: 0, maxLiquidationBonusBps: 0 } };
  if (group < 1 || group > 8) fail('InvalidEmodeGroup');
  const bytes = Uint8Array.from(market.emodeGroups).subarray((group - 1) * 8, group * 8);
  const field = (i: number) => bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return { group, params: { loanToValueBps: field(0), liquidationThresholdBps: field(1), liquidationBonusBps: field(2), maxLiquidationBonusBps: field(3) } };
}

function checkEmodeMember(o: Obligation, config: generated.ReserveConfig) {
  const emode = obligationEmode(o);
  if (emodeActive(emode) && !isInEmodeGroup(config, emode.group)) fail('NotInEmodeGroup');
}

/** `Obligation::check_collateral_tier`: isolation and e-mode membership for new collateral. */
export function checkCollateralTier(o: Obligation, reserve: Address, config: generated.ReserveConfig) {
  if (findDeposit(o, reserve) !== undefined) return;
  checkEmodeMember(o, config);
  const isolatedAsset = (config.riskFlags & RISK_FLAG_ISOLATED_COLLATERAL) !== 0;
  if (depositCount(o) > 0) {
    if (isolatedAsset || isIsolated(o)) fail('IsolatedCollateralMixed');
    return;
  }
  // Isolated collateral does not come to back debt already owed (not borrowed in isolation).
  if (isolatedAsset && hasBorrows(o)) fail('IsolatedCollateralMixed');
  o.tierFlags = isolatedAsset ? o.tierFlags | TIER_ISOLATED_COLLATERAL : o.tierFlags & ~TIER_ISOLATED_COLLATERAL;
}

/** `Obligation::check_debt_tier`: isolation, siloed debt and e-mode membership for new debt. */
export function checkDebtTier(o: Obligation, reserve: Address, config: generated.ReserveConfig) {
  if (isIsolated(o) && (config.riskFlags & RISK_FLAG_BORROWABLE_IN_ISOLATION) === 0) fail('NotBorrowableInIsolation');
  if (isIsolated(o) && depositCount(o) > 1) fail('IsolatedCollateralMixed');
  if (findBorrow(o, reserve) !== undefined) return;
  checkEmodeMember(o, config);
  const siloed = (config.riskFlags & RISK_FLAG_SILOED_DEBT) !== 0;
  if (borrowCount(o) > 0) {
    if (siloed || isSiloed(o)) fail('SiloedDebtMixed');
    return;
  }
  o.tierFlags = siloed ? o.tierFlags | TIER_SILOED_DEBT : o.tierFlags & ~TIER_SILOED_DEBT;
}

/** `Obligation::borrow`: the debt position (opened at the reserve's index), grown by `amount`. */
function obligationBorrow(o: Obligation, reserve: Address, amount: bigint, index: bigint): number {
  let slot = findBorrow(o, reserve);
  if (slot === undefined) {
    slot = borrowCount(o);
    if (slot === o.borrows.length) fail('ObligationBorrowsFull');
    o.borrows[slot] = { borrowReserve: reserve, cumulativeBorrowIndexWad: storeWad(index), borrowedAmountWad: storeWad(0n), marketValueWad: storeWad(0n) };
  }
  const position = o.borrows[slot!];
  accrueDebt(position, index);
  position.borrowedAmountWad = storeWad(ovf(Wad.add(readWad(position.borrowedAmountWad), amount)));
  return slot!;
}

function chargeIsolation(o: Obligation, slot: number, reserve: Address, units: bigint) {
  if (o.isolationReserve !== reserve && o.isolationCharges.some((charge) => charge !== 0n)) fail('IsolatedCollateralMixed');
  o.isolationReserve = reserve;
  o.isolationCharges[slot] = ovf(addU64(o.isolationCharges[slot], units));
}

function dropEmptyDeposit(o: Obligation, index: number) {
  if (o.deposits[index].depositedShares !== 0n) return;
  const count = depositCount(o);
  const empty = { depositReserve: DEFAULT_ADDRESS as Address, depositedShares: 0n, marketValueWad: storeWad(0n) };
  o.deposits.splice(index, 1);
  o.deposits.splice(count - 1, 0, empty);
  o.collateralWeightsBps.splice(index, 1);
  o.collateralWeightsBps.splice(count - 1, 0, [0, 0]);
}

// ---- operations.rs -------------------------------------------------------------------------

/** The debt counters a borrow charges: the isolated collateral's reserve, the e-mode group's. */
export type DebtCounters = { isolated?: Reserve; emode?: generated.EmodeGroupDebt };

/** `operations::borrow` (`applyBorrow`, beside the `borrow` instruction builder): the borrow rules on the accounts (refreshed: the obligation at the
 *  reserve's prices); returns the origination fee. */
export function applyBorrow(o: Obligation, r: Reserve, reserveKey: Address, amount: bigint, counters: DebtCounters = {}): bigint {
  if (amount === 0n) fail('ZeroAmount');
  const values = obligationValues(o);
  if (r.priceHalted !== 0 || values.usesHaltedPrice) fail('PriceCircuitBreakerTripped');
  checkDebtTier(o, reserveKey, r.config);
  const fee = reserveBorrow(r, amount);
  const slot = obligationBorrow(o, reserveKey, Wad.fromU64(amount), readWad(r.cumulativeBorrowIndexWad));
  const [isolated, emode] = [isIsolated(o), o.emodeGroup !== 0];
  if (isolated || emode) {
    const units = ovf(debtUnits(debtValue(r, Wad.fromU64(amount))));
    if (isolated) {
      const reserve = counters.isolated ?? fail('IsolationReserveRequired');
      reserve.isolatedDebt = withinValueCap(reserve.isolatedDebt, units, reserve.config.isolationDebtCeilingValue) ?? fail('IsolationDebtCeilingExceeded');
      chargeIsolation(o, slot, o.deposits[0].depositReserve, units);
    }
    if (emode) {
      const debt = counters.emode ?? fail('EmodeGroupDebtRequired');
      debt.debt = withinValueCap(debt.debt, units, debt.debtCapValue) ?? fail('EmodeDebtCapExceeded');
      o.emodeCharges[slot] = ovf(addU64(o.emodeCharges[slot], units));
    }
  }
  const position = o.borrows[slot];
  const positionValue = debtValue(r, readWad(position.borrowedAmountWad));
  const initial = values.health.initial;
  const params = emodeRiskParams(values.emode, r);
  const before = readWad(position.marketValueWad);
  const [oldWeighted, newWeighted] = [weighted(before, params, 'initial', 'liability'), weighted(positionValue, params, 'initial', 'liability')];
  const rest = Wad.sub(initial.liabilitiesWad, oldWeighted);
  const borrowed = rest === undefined ? undefined : Wad.add(rest, newWeighted);
  if (borrowed === undefined || borrowed > initial.assetsWad) fail('BorrowTooLarge');
  replaceDebt(values, before, positionValue, r);
  position.marketValueWad = storeWad(positionValue);
  setValues(o, values);
  return fee;
}

/** What a withdrawal takes: collateral shares and the base units they redeem for. */
export type Withdrawal = { shares: bigint; amount: bigint };

/** `operations::withdraw` (`applyWithdraw`): the withdrawal rules (`u64::MAX` shares: all of the position). */
export function applyWithdraw(o: Obligation, r: Reserve, reserveKey: Address, collateralShares: bigint, slot: bigint): Withdrawal {
  if (collateralShares === 0n) fail('ZeroAmount');
  const index = findDeposit(o, reserveKey) ?? fail('DepositNotFound');
  const held = o.deposits[index].depositedShares;
  const shares = collateralShares === U64_MAX ? held : collateralShares;
  if (shares > held) fail('InsufficientCollateral');
  const amount = reserveRedeem(r, shares);
  if (amount === 0n) fail('ZeroAmount');
  o.deposits[index].depositedShares = held - shares;
  if (hasBorrows(o)) {
    if (r.priceUpdatedSlot !== slot) fail('ReserveStale');
    const values = obligationValues(o);
    const position = o.deposits[index];
    const remaining = collateralValue(r, position.depositedShares);
    removeCollateral(values, readWad(position.marketValueWad), r);
    const weights = addCollateral(values, remaining, r);
    if (r.priceHalted !== 0 || values.usesHaltedPrice) fail('PriceCircuitBreakerTripped');
    if (!withinBorrowingPower(values)) fail('WithdrawTooLarge');
    position.marketValueWad = storeWad(remaining);
    o.collateralWeightsBps[index] = weights;
    values.conservativeThresholdWad = values.health.maintenance.assetsWad;
    setValues(o, values);
  } else {
    o.stale = 1;
  }
  dropEmptyDeposit(o, index);
  return { shares, amount };
}

// ---- liquidation.rs ------------------------------------------------------------------------

/** `LiquidationPlan`: what one call repays and seizes. */
export type LiquidationPlan = { repayAmount: bigint; settledDebtWad: bigint; seizedShares: bigint; repayValueWad: bigint; seizeValueWad: bigint };
/** `Payout`: how the seizure is paid (tokens, the rest as shares) and the protocol's part. */
export type Payout = { tokens: bigint; shares: bigint; redeemedShares: bigint; redeemedAmount: bigint; protocolFee: bigint };
/** `LiquidationQuote`: the program's own sizing of a liquidation, order execution or soft call. */
export type LiquidationQuote = {
  plan: LiquidationPlan;
  /** The bonus the auction offers now, before the health-preserving cap. */
  auctionBonusBps: number;
  /** The bonus paid: the auction's, capped so neither health ratio falls (solvent obligations). */
  bonusBps: number;
  insolvent: boolean;
  collateralValueBeforeWad: bigint;
  collateralThresholdBps: number;
  debtValueBeforeWad: bigint;
  debtWeightBps: number;
  payout: Payout;
  valuesBefore: ObligationValues;
  /** For an order or a soft call: the most of the debt it may repay (0 for a liquidation). */
  deleverageShare: bigint;
};
/** Which instruction sizes the call (`Deleverage`). */
export type Deleverage = { kind: 'liquidation' } | { kind: 'order'; index: number } | { kind: 'soft' };
export type LiquidationRequest = { borrowSlot: number; depositIndex: number; maxRepay: bigint; now: bigint; acceptShares: boolean; sameReserve: boolean };

const BONUS_CAP_MARGIN_BPS = 1n;
const DEPTH_FOR_MAX_BONUS_BPS = 1_000n;

/** `liquidation_bonus_bps`: the auction's bonus, from the minimum toward the maximum with the
 *  depth below the threshold and the time unhealthy. */
export function liquidationBonusBps(params: RiskParams, values: Pick<ObligationValues, 'health'>, unhealthyForSecs: bigint): number {
  const [least, most] = [BigInt(params.liquidationBonusBps), BigInt(params.maxLiquidationBonusBps)];
  if (most <= least) return Number(least);
  const full = BPS;
  const { assetsWad, liabilitiesWad } = values.health.maintenance;
  let depth: bigint;
  if (liabilitiesWad < assetsWad) depth = 0n;
  else if (assetsWad === 0n) depth = full;
  else depth = mulDiv(liabilitiesWad - assetsWad, full * full, min(assetsWad * DEPTH_FOR_MAX_BONUS_BPS, U128_MAX), 'down') ?? full;
  const ramp = BigInt(params.liquidationBonusRampSecs);
  const time = ramp === 0n ? 0n : (min(max(unhealthyForSecs, 0n) * full, U128_MAX)) / ramp;
  const progress = min(min(depth + time, U128_MAX), full);
  return Number(least + ((most - least) * progress) / full);
}

/** `health_preserving_bonus`: the largest bonus up to `bonusBps` after which neither the
 *  maintenance nor the payout ratio falls (`LiquidationWouldLowerHealth` when none does). */
export function healthPreservingBonus(values: Pick<ObligationValues, 'health'>, ltBps: number, debtWeightBps: number, bonusBps: number): number {
  const { maintenance, payout } = values.health;
  const [debtWeighted, debt] = [maintenance.liabilitiesWad, payout.liabilitiesWad];
  const [weightedAssets, collateral] = [maintenance.assetsWad, payout.assetsWad];
  let shift = shiftTo64Bits(weightedAssets | collateral | debtWeighted | debt);
  const multiplier = BPS + BONUS_CAP_MARGIN_BPS + BigInt(bonusBps);
  if (multiplier >> 40n !== 0n) fail('MathOverflow');
  const keepsSolvency = wrap128(shiftUp(debt, shift) * multiplier) <= wrap128(shiftDown(collateral, shift) * BPS);
  const keepsHealth =
    wrap128(wrap128(shiftUp(debtWeighted, shift) * multiplier) * BigInt(ltBps)) <= wrap128(shiftDown(weightedAssets, shift) * (BigInt(debtWeightBps) * BPS));
  if (keepsSolvency && keepsHealth) return bonusBps;
  shift = Math.max(0, bitLength(debtWeighted) - 20);
  const narrow = (value: bigint) => min(value, U64_MAX);
  const [debtWeightedUp, debtUp] = [narrow(shiftUp(debtWeighted, shift)), narrow(shiftUp(debt, shift))];
  const [weightedDown, collateralDown] = [shiftDown(weightedAssets, shift), shiftDown(collateral, shift)];
  const healthRatio = satMulU64(narrow(weightedDown), BigInt(debtWeightBps) * BPS) / max(satMulU64(debtWeightedUp, BigInt(ltBps)), 1n);
  const solvencyRatio = satMulU64(collateralDown > U64_MAX ? U64_MAX >> 14n : collateralDown, BPS) / max(debtUp, 1n);
  const ratio = min(healthRatio, solvencyRatio);
  if (ratio < BPS) fail('LiquidationWouldLowerHealth');
  const cap = satSubU64(ratio, BPS + BONUS_CAP_MARGIN_BPS);
  return Number(min(BigInt(bonusBps), cap));
}

/** `protocol_share_of_bonus`: the protocol's part of the bonus within a seizure. */
function protocolShareOfBonus(seizedAmount: bigint, bonusBps: bigint, shareBps: bigint): bigint | undefined {
  if (shareBps === 0n || bonusBps === 0n) return 0n;
  const bonusPart = mulDiv(seizedAmount, bonusBps, BPS + bonusBps, 'down');
  const share = bonusPart === undefined ? undefined : mulDiv(bonusPart, shareBps, BPS, 'down');
  return u64(share);
}

/** `settle_repayment`: what a repayment of `amount` pays and settles of `debt`. */
function settleRepayment(amount: bigint, debt: bigint): [bigint, bigint] {
  const ceiling = ovf(Wad.toU64(debt, 'up'));
  return amount >= ceiling ? [ceiling, debt] : [amount, Wad.fromU64(amount)];
}

type LiquidationLimits = { capValueWad: bigint | undefined; fullLiquidation: boolean };
const WHOLE_DEBT: LiquidationLimits = { capValueWad: undefined, fullLiquidation: true };

/** `LendingMarket::liquidation_limits`: the per-call cap and the dust rule. */
function liquidationLimits(market: generated.LendingMarket, depositedValue: bigint, borrowedValue: bigint): LiquidationLimits {
  const dust = Wad.fromU64(market.dustValue);
  const fullLiquidation = market.dustValue > 0n && (borrowedValue < dust || depositedValue < dust);
  const capValueWad = market.liquidationCapValue > 0n && !fullLiquidation ? Wad.fromU64(market.liquidationCapValue) : undefined;
  return { capValueWad, fullLiquidation };
}

/** `plan_liquidation`. */
function planLiquidation(
  requestedRepay: bigint,
  debt: bigint,
  repayReserve: Reserve,
  collateralShares: bigint,
  collateralValue: bigint,
  bonusBps: bigint,
  limits: LiquidationLimits,
  insolvent: boolean,
): LiquidationPlan {
  const closeFactor = limits.fullLiquidation || insolvent ? BPS : BigInt(repayReserve.config.closeFactorBps);
  let maxRepay = ovf(Wad.toU64(ovf(Wad.mulBps(debt, closeFactor, 'up')), 'up'));
  if (limits.capValueWad !== undefined) {
    const capAmount = ovf(Wad.toU64(liquidationDebtAmountForValue(repayReserve, limits.capValueWad, 'down'), 'down'));
    maxRepay = min(maxRepay, capAmount);
  }
  let [repayAmount, settledDebt] = settleRepayment(min(requestedRepay, maxRepay), debt);
  const multiplier = BPS + bonusBps;
  let repayValue = liquidationValueOfRepaid(repayReserve, Wad.fromU64(repayAmount));
  let seizeValue = ovf(Wad.mulBps(repayValue, multiplier, 'down'));
  let seizedShares: bigint;
  if (seizeValue >= collateralValue) {
    const coveredValue = ovf(Wad.mulRatio(collateralValue, BPS, multiplier, 'up'));
    const coveredAmount = ovf(Wad.toU64(liquidationDebtAmountForValue(repayReserve, coveredValue, 'up'), 'up'));
    [repayAmount, settledDebt] = settleRepayment(min(coveredAmount, repayAmount), debt);
    repayValue = liquidationValueOfRepaid(repayReserve, Wad.fromU64(repayAmount));
    seizeValue = collateralValue;
    seizedShares = collateralShares;
  } else {
    seizedShares = ovf(u64(ovf(mulDiv(collateralShares, seizeValue, collateralValue, 'down'))));
  }
  if (repayAmount === 0n || seizedShares === 0n) fail('LiquidationTooSmall');
  return { repayAmount, settledDebtWad: settledDebt, seizedShares, repayValueWad: repayValue, seizeValueWad: seizeValue };
}

/** `plan_payout`: the seizure in tokens while the vault has them, the rest as shares. */
function planPayout(r: Reserve, available: bigint, seizedShares: bigint, bonusBps: bigint, shareBps: bigint, acceptShares: boolean): Payout {
  const seizedAmount = redeemAmount(r, seizedShares);
  const protocolFee = ovf(protocolShareOfBonus(seizedAmount, bonusBps, shareBps));
  const owed = seizedAmount - protocolFee;
  if (owed <= available) return { tokens: owed, shares: 0n, redeemedShares: seizedShares, redeemedAmount: seizedAmount, protocolFee };
  if (!acceptShares) fail('InsufficientLiquidity');
  const redeemed = sharesForAmount(r, ovf(addU64(available, protocolFee)), 'up');
  const shares = ovf(subU64(seizedShares, redeemed));
  return { tokens: available, shares, redeemedShares: redeemed, redeemedAmount: redeemAmount(r, redeemed), protocolFee };
}

/** `quote_deleverage`: the program's sizing of a liquidation, an order execution or a soft
 *  deleverage of a refreshed obligation. */
export function quoteDeleverage(
  market: generated.LendingMarket,
  o: Obligation,
  repayReserve: Reserve,
  withdrawReserve: Reserve,
  request: LiquidationRequest,
  mode: Deleverage,
): LiquidationQuote {
  const values = obligationValues(o);
  if (mode.kind === 'liquidation' && !isUnhealthy(values)) fail('ObligationHealthy');
  const borrowPosition = o.borrows[request.borrowSlot] ?? fail('BorrowNotFound');
  const collateral = o.deposits[request.depositIndex] ?? fail('DepositNotFound');
  const [collateralParamsOf, debtParams] = [emodeRiskParams(values.emode, withdrawReserve), emodeRiskParams(values.emode, repayReserve)];
  const insolvent = !isHealthy(values.health.payout);
  const debt = readWad(borrowPosition.borrowedAmountWad);
  const belowLiquidation = Math.max(0, collateralParamsOf.liquidationBonusBps - 1);
  let auctionBonus: number;
  let limits: LiquidationLimits;
  let share = 0n;
  let shareBps = 0n;
  if (mode.kind === 'liquidation') {
    auctionBonus = liquidationBonusBps(collateralParamsOf, values, request.now - o.unhealthySince);
    limits = liquidationLimits(market, values.depositedValueWad, values.borrowedValueWad);
    shareBps = BigInt(market.liquidationProtocolShareBps);
  } else if (mode.kind === 'order') {
    const order = o.orders[mode.index];
    if (!order || order.trigger === 0) fail('OrderNotFound');
    if (order.repayReserve !== borrowPosition.borrowReserve || order.withdrawReserve !== collateral.depositReserve) fail('OrderReserveMismatch');
    if (order.triggeredSince === 0n) fail('OrderNotTriggered');
    if (insolvent) fail('ObligationInsolvent');
    share = debtFraction(debt, order.maxRepayBps);
    const elapsed = request.now - order.triggeredSince;
    auctionBonus = Math.min(dutchBonusBps(order.maxBonusBps, order.bonusRampSecs, elapsed), belowLiquidation);
    limits = WHOLE_DEBT;
  } else {
    const zone = withdrawReserve.softZone;
    if (zone.enabled === 0) fail('SoftZoneDisabled');
    if (isUnhealthy(values)) fail('ObligationUnhealthy');
    if (!inZone(values, zone.startBps) || o.softZoneSince === 0n) fail('NotInSoftZone');
    const last = o.lastSoftDeleverage;
    if (last !== 0n && request.now < last + BigInt(zone.minIntervalSecs)) fail('SoftDeleverageTooSoon');
    auctionBonus = Math.min(dutchBonusBps(zone.maxBonusBps, zone.bonusRampSecs, request.now - o.softZoneSince), belowLiquidation);
    share = debtFraction(debt, zone.maxRepayBps);
    limits = WHOLE_DEBT;
  }
  const [thresholdBps, weightBps] = [collateralParamsOf.liquidationThresholdBps, debtParams.borrowWeightBps];
  const bonusBps = insolvent ? auctionBonus : healthPreservingBonus(values, thresholdBps, weightBps, auctionBonus);
  const collateralValueBefore = liquidationCollateralValue(withdrawReserve, collateral.depositedShares, readWad(collateral.marketValueWad));
  const debtValueBefore = liquidationDebtValue(repayReserve, debt, readWad(borrowPosition.marketValueWad));
  const maxRepay = mode.kind === 'liquidation' ? request.maxRepay : min(request.maxRepay, share);
  const plan = planLiquidation(maxRepay, debt, repayReserve, collateral.depositedShares, collateralValueBefore, BigInt(bonusBps), limits, insolvent);
  const available = ovf(addU64(withdrawReserve.availableAmount, request.sameReserve ? plan.repayAmount : 0n));
  const payout = planPayout(withdrawReserve, available, plan.seizedShares, BigInt(bonusBps), shareBps, request.acceptShares);
  return {
    plan,
    auctionBonusBps: auctionBonus,
    bonusBps,
    insolvent,
    collateralValueBeforeWad: collateralValueBefore,
    collateralThresholdBps: thresholdBps,
    debtValueBeforeWad: debtValueBefore,
    debtWeightBps: weightBps,
    payout,
    valuesBefore: values,
    deleverageShare: share,
  };
}

// ---- Predictive deleveraging: the owner's orders and the soft zone (state::deleverage). ----

/** `ObligationOrder::trigger` (the program's `TRIGGER_*`): no order in the slot. */
export const TRIGGER_NONE = 0;
/** The `Maintenance` health factor is below the threshold (a Wad ratio above 1). */
export const TRIGGER_HEALTH_BELOW = 1;
/** The collateral's spot price (quote per whole token, Wad) is below the threshold: a stop-loss. */
export const TRIGGER_PRICE_BELOW = 2;
/** The collateral's spot price is above the threshold: a take-profit. */
export const TRIGGER_PRICE_ABOVE = 3;
/** The debt's spot price over the collateral's (Wad) is above the threshold. */
export const TRIGGER_RATIO_ABOVE = 4;
/** The debt's spot price over the collateral's is below the threshold. */
export const TRIGGER_RATIO_BELOW = 5;
/** Orders an obligation holds at most (`MAX_OBLIGATION_ORDERS`: slots 0 and 1). */
export const MAX_OBLIGATION_ORDERS = 2;
/** Longest auction ramp of an order (`MAX_ORDER_RAMP_SECS`). */
export const MAX_ORDER_RAMP_SECS = 7 * 86_400;
/** Highest health-factor trigger, 100.0 (`MAX_HEALTH_TRIGGER_WAD`). */
export const MAX_HEALTH_TRIGGER_WAD = 100n * WAD;
/** `Deleveraged::kind`: an owner's order was executed (`DELEVERAGE_ORDER`). */
export const DELEVERAGE_ORDER = 1;
/** `Deleveraged::kind`: a soft-zone deleverage (`DELEVERAGE_SOFT`). */
export const DELEVERAGE_SOFT = 2;

/** A Dutch auction's bonus `elapsed` seconds in, as the program's `dutch_bonus_bps`:
 *  `maxBps × elapsed / rampSecs`, at most `maxBps`, rounded down (against the executor); no
 *  time (or negative time) is no bonus. */
export function dutchBonusBps(maxBps: number, rampSecs: number, elapsed: bigint | number): number {
  const seconds = BigInt(elapsed) > 0n ? BigInt(elapsed) : 0n;
  if (rampSecs === 0 || seconds >= BigInt(rampSecs)) return maxBps;
  return Number((BigInt(maxBps) * seconds) / BigInt(rampSecs));
}

/** The order's auction bonus at unix time `now`, as the program's `ObligationOrder::bonus_bps`:
 *  0 while its clock is stopped (`triggeredSince` 0: no refresh found the trigger holding since
 *  it was set or last stopped), else `dutchBonusBps` from `triggeredSince`. This is the bonus
 *  before the health-preserving cap (`Deleveraged::auction_bonus_bps`), and the program also
 *  keeps it below the collateral's liquidation bonus. */
export function orderBonusBps(order: Pick<generated.ObligationOrder, 'triggeredSince' | 'maxBonusBps' | 'bonusRampSecs'>, now: bigint | number): number {
  if (order.triggeredSince === 0n) return 0;
  return dutchBonusBps(order.maxBonusBps, order.bonusRampSecs, BigInt(now) - order.triggeredSince);
}

/** Whether the order's trigger holds, as the program's `ObligationOrder::is_triggered`, for an
 *  obligation whose health sums are `health` (as the refresh leaves them: `cachedValues(…).health`
 *  or `readPosition(…).health`), with the collateral's spot price `collateralPriceWad` and the
 *  debt's `debtPriceWad` (quote per whole token, Wad: the reserves' `marketPriceWad`). A health
 *  trigger needs debt; products round as the program's (a ratio trigger fires when the exact
 *  ratio is past the level). */
export function isOrderTriggered(
  order: Pick<generated.ObligationOrder, 'trigger' | 'thresholdWad'>,
  health: Record<HealthKind, Health>,
  collateralPriceWad: bigint,
  debtPriceWad: bigint,
  conservativeThresholdWad?: bigint,
): boolean {
  const level = readWad(order.thresholdWad);
  // `Wad::checked_mul`: None (no trigger) past u128.
  const mulWad = (a: bigint, b: bigint, up: boolean) => {
    return mulDiv(a, b, WAD, up ? 'up' : 'down');
  };
  switch (order.trigger) {
    case TRIGGER_HEALTH_BELOW: {
      // HF at the conservative prices (`marginBand`) < level  <=>  A < level × L.
      const [, assetsWad, liabilitiesWad] = marginBand(health, conservativeThresholdWad);
      const bound = mulWad(liabilitiesWad, level, false);
      return liabilitiesWad !== 0n && bound !== undefined && assetsWad < bound;
    }
    case TRIGGER_PRICE_BELOW:
      return collateralPriceWad < level;
    case TRIGGER_PRICE_ABOVE:
      return collateralPriceWad > level;
    case TRIGGER_RATIO_ABOVE: {
      const bound = mulWad(collateralPriceWad, level, false);
      return bound !== undefined && debtPriceWad > bound;
    }
    case TRIGGER_RATIO_BELOW: {
      const bound = mulWad(collateralPriceWad, level, true);
      return bound !== undefined && debtPriceWad < bound;
    }
    default:
      return false;
  }
}

/** Most of a debt of `debtWad` (base units, Wad) one call may repay at `bps`, as the program's
 *  `debt_fraction`: rounded down, the whole debt (rounded up) at 100%. An order repays at most
 *  this of its refreshed debt at `maxRepayBps`, a soft call at the zone's `maxRepayBps`. */
export function debtFraction(debtWad: bigint, bps: number): bigint {
  if (bps >= 10_000) return ovf(Wad.toU64(debtWad, 'up'));
  return ovf(Wad.toU64(ovf(Wad.mulBps(debtWad, bps, 'down')), 'down'));
}

/** An active order of an obligation, as `readOrders` reads it. */
export type ReadOrder = {
  /** The order's slot (`index` of set/cancel/execute_obligation_order). */
  index: number;
  /** `TRIGGER_*`. */
  trigger: number;
  /** The trigger's level (Wad): a health factor, a price (quote per whole token) or a ratio. */
  thresholdWad: bigint;
  repayReserve: Address;
  withdrawReserve: Address;
  maxRepayBps: number;
  maxBonusBps: number;
  bonusRampSecs: number;
  /** Unix time the last refresh found the trigger first holding (0: not holding). */
  triggeredSince: bigint;
  /** `orderBonusBps` at the `now` given to `readOrders`. */
  bonusBpsNow: number;
};

/** The obligation's active orders (slots whose trigger is not `TRIGGER_NONE`), with their
 *  auction bonus at unix time `now` (`orderBonusBps`). `triggeredSince` is what the last
 *  refresh found: refresh in the same transaction (`refreshThenAct`) before executing. */
export function readOrders(obligation: Pick<generated.Obligation, 'orders'>, now: bigint | number): ReadOrder[] {
  return obligation.orders.flatMap((order, index) =>
    order.trigger === TRIGGER_NONE
      ? []
      : [
          {
            index,
            trigger: order.trigger,
            thresholdWad: readWad(order.thresholdWad),
            repayReserve: order.repayReserve,
            withdrawReserve: order.withdrawReserve,
            maxRepayBps: order.maxRepayBps,
            maxBonusBps: order.maxBonusBps,
            bonusRampSecs: order.bonusRampSecs,
            triggeredSince: order.triggeredSince,
            bonusBpsNow: orderBonusBps(order, now),
          },
        ],
  );
}

/** The parameters of an order (`OrderParams`), checked as the program's `OrderParams::validate`
 *  checks them before sending, ready to spread into `getSetObligationOrderInstruction` with
 *  the accounts and the slot. `liquidationBonusBps`, when given, is the collateral's
 *  liquidation bonus as the obligation weighs it (`riskParams`): the order's bonus must stay
 *  below it. Throws with the program's error name (`InvalidObligationOrder`,
 *  `OrderBonusTooHigh`) where the program would refuse. */
export function orderParams(
  params: { trigger: number; thresholdWad: bigint; maxRepayBps: number; maxBonusBps: number; bonusRampSecs: number },
  liquidationBonusBps?: number,
): { trigger: number; thresholdWad: bigint; maxRepayBps: number; maxBonusBps: number; bonusRampSecs: number } {
  const { trigger, thresholdWad, maxRepayBps, maxBonusBps, bonusRampSecs } = params;
  const thresholdOk =
    trigger === TRIGGER_HEALTH_BELOW
      ? thresholdWad > WAD && thresholdWad <= MAX_HEALTH_TRIGGER_WAD
      : trigger >= TRIGGER_PRICE_BELOW && trigger <= TRIGGER_RATIO_BELOW && thresholdWad > 0n;
  const repayOk = maxRepayBps > 0 && maxRepayBps <= 10_000;
  const rampOk = bonusRampSecs > 0 && bonusRampSecs <= MAX_ORDER_RAMP_SECS;
  if (!(thresholdOk && repayOk && rampOk && thresholdWad < 1n << 128n && maxBonusBps >= 0 && maxBonusBps < 1 << 16)) {
    throw new Error('InvalidObligationOrder');
  }
  if (liquidationBonusBps !== undefined && maxBonusBps > 0 && maxBonusBps >= liquidationBonusBps) throw new Error('OrderBonusTooHigh');
  return { trigger, thresholdWad, maxRepayBps, maxBonusBps, bonusRampSecs };
}

/** The margin band at the conservative prices, as the program's `margin_band`: the borrowing
 *  limit (`initial` assets), the threshold-weighted collateral at those prices
 *  (`cachedValues(…).conservativeThresholdValueWad`; the `maintenance` assets when not given,
 *  which they equal unless the refresh revalued the obligation at liquidation prices) and the
 *  weighted debt (`initial` liabilities). */
export function marginBand(health: Record<HealthKind, Health>, conservativeThresholdWad?: bigint): [bigint, bigint, bigint] {
  return [health.initial.assetsWad, conservativeThresholdWad ?? health.maintenance.assetsWad, health.initial.liabilitiesWad];
}

/** Whether an obligation with health sums `health` is in a soft zone that starts `startBps` of
 *  the way along its margin band (`marginBand`), as the program's `in_soft_zone`: it has debt,
 *  is not liquidatable (`maintenance` healthy), and its weighted debt is at least
 *  `limit + (threshold - limit) × start` (rounded down). */
export function inSoftZone(health: Record<HealthKind, Health>, startBps: number, conservativeThresholdWad?: bigint): boolean {
  const { maintenance } = health;
  if (maintenance.liabilitiesWad === 0n || maintenance.liabilitiesWad > maintenance.assetsWad) return false;
  const [limit, threshold, debt] = marginBand(health, conservativeThresholdWad);
  const width = threshold > limit ? threshold - limit : 0n;
  const line = (width * BigInt(startBps)) / 10_000n + limit;
  return line < 1n << 128n && debt >= line;
}

/** How far along the margin band (`marginBand`: 0 at the borrowing limit, 10,000 at the
 *  threshold) the weighted debt is, bps (below 0 or above 10,000 outside it; undefined without
 *  debt or without the band), as the program's `margin_band_position_bps` (truncated toward zero). */
export function marginBandPositionBps(health: Record<HealthKind, Health>, conservativeThresholdWad?: bigint): number | undefined {
  const [limit, threshold, debt] = marginBand(health, conservativeThresholdWad);
  if (debt === 0n || threshold <= limit) return undefined;
  return Number(((debt - limit) * 10_000n) / (threshold - limit));
}

/** The soft zone's bonus for the obligation at unix time `now` with the collateral reserve's
 *  `zone` (`Reserve.softZone`), as `quote_deleverage` ramps it for `soft_deleverage`: 0 while
 *  the obligation is outside every zone (`softZoneSince` 0), else `dutchBonusBps` from
 *  `softZoneSince` (before the health-preserving cap and the liquidation bonus bound). */
export function softZoneBonusBps(
  obligation: Pick<generated.Obligation, 'softZoneSince'>,
  zone: Pick<generated.SoftZoneConfig, 'maxBonusBps' | 'bonusRampSecs'>,
  now: bigint | number,
): number {
  if (obligation.softZoneSince === 0n) return 0;
  return dutchBonusBps(zone.maxBonusBps, zone.bonusRampSecs, BigInt(now) - obligation.softZoneSince);
}

// ---- client/src/view.rs + query.rs -----------------------------------------------------------

/** A market as the next transaction will see it: reserves refreshed at `slot` / `now` (as a
 *  `simulatePosition` or the reserves after `refresh_reserve` leave them), the e-mode groups'
 *  debt accounts, and the reserves whose price could not be read (`priceErrors`: the program
 *  error name refresh_reserve would fail with). */
export type MarketView = {
  market: generated.LendingMarket;
  reserves: ReadonlyMap<Address, Reserve>;
  emodeDebts: ReadonlyMap<number, generated.EmodeGroupDebt>;
  slot: bigint;
  now: bigint;
  priceErrors?: ReadonlyMap<Address, string>;
};

/** The largest amount an instruction accepts now, and the error one base unit more gets
 *  (the error 1 gets when `amount` is 0; undefined when the search stopped at its bound). */
export type Limit = { amount: bigint; refusedAbove: string | undefined };

/** `ObligationOrder::is_triggered` at refreshed values. */
const orderTriggered: OrderTrigger = (order, values, collateralPriceWad, debtPriceWad) =>
  isOrderTriggered(order, values.health, collateralPriceWad, debtPriceWad, values.conservativeThresholdWad);
/** `in_soft_zone` at refreshed values. */
const inZone: SoftZoneTest = (values, startBps) => inSoftZone(values.health, startBps, values.conservativeThresholdWad);

export const reserveOf = (view: MarketView, key: Address): Reserve => view.reserves.get(key) ?? fail('InvalidReserve');
export const usable = (view: MarketView, key: Address): Reserve => {
  const reserve = reserveOf(view, key);
  const error = view.priceErrors?.get(key);
  return error === undefined ? reserve : fail(error);
};

/** `MarketView::refresh_obligation`: the obligation as refresh_obligation leaves it at the
 *  view (a copy), and the values the health engine computed. */
export function refreshObligation(view: MarketView, obligation: Obligation): { obligation: Obligation; values: ObligationValues } {
  const o = structuredClone(obligation);
  o.emodeParams = marketEmode(view.market, o.emodeGroup).params;
  const values = revalue(o, (_, key) => usable(view, key));
  finishRefresh(o, values, view.now, view.slot);
  return { obligation: o, values };
}

/** `max_borrow`: the most `borrow` of `reserve` accepts for the obligation in a transaction
 *  that refreshes both first (the origination fee included in the debt taken on). */
export function maxBorrow(view: MarketView, obligation: Obligation, reserve: Address): Limit {
  const { obligation: refreshed } = refreshObligation(view, obligation);
  const state = structuredClone(usable(view, reserve));
  accrueInterest(state, view.now);
  const isolated = isIsolated(refreshed) ? reserveOf(view, refreshed.deposits[0].depositReserve) : undefined;
  const group = view.emodeDebts.get(refreshed.emodeGroup);
  return largestAccepted(U64_MAX - 1n, (amount) => {
    const counters = { isolated: isolated && structuredClone(isolated), emode: group && structuredClone(group) };
    applyBorrow(structuredClone(refreshed), structuredClone(state), reserve, amount, counters);
  });
}

/** `max_withdraw`: the most collateral shares `withdraw` of `reserve` accepts. */
export function maxWithdraw(view: MarketView, obligation: Obligation, reserve: Address): Limit {
  const [refreshed, reserveState] = hasBorrows(obligation)
    ? [refreshObligation(view, obligation).obligation, usable(view, reserve)]
    : [obligation, reserveOf(view, reserve)];
  const state = structuredClone(reserveState);
  accrueInterest(state, view.now);
  const index = findDeposit(refreshed, reserve) ?? fail('DepositNotFound');
  const held = refreshed.deposits[index].depositedShares;
  return largestAccepted(held, (shares) => {
    applyWithdraw(structuredClone(refreshed), structuredClone(state), reserve, shares, view.slot);
  });
}

/** `liquidation_price`: the highest price of `collateral`'s oracle (its ticks, spot = EMA,
 *  other prices as now) at which the obligation is liquidatable; one tick above it is not.
 *  Undefined: no debt, the collateral is also owed, liquidatable at no positive price or at
 *  every price. */
export function liquidationPrice(view: MarketView, obligation: Obligation, collateral: Address): OraclePrice | undefined {
  if (!hasBorrows(obligation) || findBorrow(obligation, collateral) !== undefined) return undefined;
  return highestUnhealthyPrice(usable(view, collateral), (priced) => {
    const reserves = new Map(view.reserves).set(collateral, priced);
    return optional(() => isUnhealthy(refreshObligation({ ...view, reserves }, obligation).values)) ?? true;
  });
}

/** The highest price of `collateral` (its oracle's ticks and exponent, spot = EMA: the reserve
 *  repriced by `setMarketPrice`) at which `unhealthyAt` holds, for a test that holds at low
 *  prices and not from some price up; undefined when it does not hold at 1 tick or holds up to
 *  2^64. A price the reserve cannot take counts as unhealthy. The one search of
 *  `liquidationPrice` and the leverage builder's planned positions. */
export function highestUnhealthyPrice(collateral: Reserve, unhealthyAt: (priced: Reserve) => boolean): OraclePrice | undefined {
  const exponent = collateral.marketPriceExponent;
  const unhealthy = (mantissa: bigint): boolean => {
    if (mantissa === 0n) return true;
    const priced = structuredClone(collateral);
    return refusal(() => setMarketPrice(priced, { mantissa, exponent })) !== undefined || unhealthyAt(priced);
  };
  if (!unhealthy(1n)) return undefined;
  let high = max(collateral.marketPriceMantissa, 2n);
  while (unhealthy(high)) {
    if (high * 2n > U64_MAX) return undefined;
    high *= 2n;
  }
  return { mantissa: firstTrue(1n, high, (mantissa) => !unhealthy(mantissa)) - 1n, exponent };
}

/** `quote_deleverage` (query): the call's sizing for the obligation as the transaction's
 *  refresh leaves it; `mode` defaults to a liquidation. */
export function quoteLiquidation(view: MarketView, obligation: Obligation, request: QuoteRequest): LiquidationQuote {
  return quoteRefreshed(view, refreshObligation(view, obligation).obligation, request);
}

/** What to quote: the pair, the most to repay (default 2^64 − 1), whether shares are taken for
 *  what the vault cannot pay, and the instruction (default a liquidation). */
export type QuoteRequest = { repayReserve: Address; withdrawReserve: Address; maxRepay?: bigint; acceptShares?: boolean; mode?: Deleverage };

/** `quote_deleverage_refreshed`: `quoteLiquidation` for an obligation already refreshed at the view. */
export function quoteRefreshed(view: MarketView, refreshed: Obligation, request: QuoteRequest): LiquidationQuote {
  const borrowSlot = findBorrow(refreshed, request.repayReserve) ?? fail('BorrowNotFound');
  const depositIndex = findDeposit(refreshed, request.withdrawReserve) ?? fail('DepositNotFound');
  const repay = usable(view, request.repayReserve);
  const withdrawFrom = usable(view, request.withdrawReserve);
  const liquidation = {
    borrowSlot,
    depositIndex,
    maxRepay: request.maxRepay ?? U64_MAX,
    now: view.now,
    acceptShares: request.acceptShares ?? false,
    sameReserve: request.repayReserve === request.withdrawReserve,
  };
  return quoteDeleverage(view.market, refreshed, repay, withdrawFrom, liquidation, request.mode ?? { kind: 'liquidation' });
}


/** One liquidation, order execution or soft deleverage the program would execute now, valued
 *  at spot for the executor (`Opportunity`). */
export type Opportunity = {
  repayReserve: Address;
  withdrawReserve: Address;
  mode: Deleverage;
  /** The program's sizing of the call, as the instruction runs it. */
  quote: LiquidationQuote;
  /** The repayment at spot, rounded up. */
  repayValueWad: bigint;
  /** What the executor receives (tokens, and shares at their redemption value) at spot, after
   *  the protocol's share, rounded down. */
  receivedValueWad: bigint;
  /** Received less repaid (0 when negative). */
  profitWad: bigint;
};

/** The program's quote of one call on a refreshed obligation, valued at spot (undefined where
 *  the program refuses the call). */
function opportunity(view: MarketView, refreshed: Obligation, repayKey: Address, withdrawKey: Address, acceptShares: boolean, mode: Deleverage): Opportunity | undefined {
  return optional((): Opportunity => {
    const quote = quoteRefreshed(view, refreshed, { repayReserve: repayKey, withdrawReserve: withdrawKey, acceptShares, mode });
    const [repay, withdrawFrom] = [usable(view, repayKey), usable(view, withdrawKey)];
    const sharesValue = liquidityForShares(withdrawFrom, quote.payout.shares, 'down');
    const received = ovf(Wad.add(Wad.fromU64(quote.payout.tokens), sharesValue));
    const repayValueWad = marketValue(repay, Wad.fromU64(quote.plan.repayAmount), 'up');
    const receivedValueWad = marketValue(withdrawFrom, received, 'down');
    const profitWad = receivedValueWad > repayValueWad ? receivedValueWad - repayValueWad : 0n;
    return { repayReserve: repayKey, withdrawReserve: withdrawKey, mode, quote, repayValueWad, receivedValueWad, profitWad };
  });
}

/** `best_deleverage`: of everything anyone may execute on the obligation now (a liquidation,
 *  a soft deleverage, each triggered order, on every pair the program allows), the call that
 *  pays the executor most, as the keeper ranks them; undefined when the program would refuse
 *  every call. `acceptsShares(reserve)`: the executor can take that reserve's collateral as
 *  share tokens. `modes` narrows the search (`[{ kind: 'liquidation' }]`: `best_liquidation`). */
export function bestDeleverage(
  view: MarketView,
  obligation: Obligation,
  acceptsShares: (reserve: Address) => boolean = () => false,
  modes?: Deleverage[],
): Opportunity | undefined {
  const { obligation: refreshed } = refreshObligation(view, obligation);
  const searched: Deleverage[] = modes ?? [
    { kind: 'liquidation' },
    { kind: 'soft' },
    ...refreshed.orders.flatMap((order, index): Deleverage[] => (order.triggeredSince !== 0n ? [{ kind: 'order', index }] : [])),
  ];
  const collateral = refreshed.deposits.slice(0, depositCount(refreshed)).map((d) => d.depositReserve);
  const debts = refreshed.borrows.slice(0, borrowCount(refreshed)).map((b) => b.borrowReserve);
  let best: Opportunity | undefined;
  const consider = (candidate: Opportunity | undefined) => {
    if (candidate && (!best || candidate.profitWad > best.profitWad)) best = candidate;
  };
  for (const mode of searched) {
    if (mode.kind === 'order') {
      // An order names its one pair.
      const order = refreshed.orders[mode.index];
      consider(opportunity(view, refreshed, order.repayReserve, order.withdrawReserve, acceptsShares(order.withdrawReserve), mode));
      continue;
    }
    for (const repayKey of debts) {
      for (const withdrawKey of collateral) consider(opportunity(view, refreshed, repayKey, withdrawKey, acceptsShares(withdrawKey), mode));
    }
  }
  return best;
}

/** `first_true`: the smallest `x` in `(low, high]` with `holds(x)`, for a monotone `holds`
 *  taken as true at `high`. */
export function firstTrue(low: bigint, high: bigint, holds: (x: bigint) => boolean): bigint {
  while (low + 1n < high) {
    const middle = low + (high - low) / 2n;
    if (holds(middle)) high = middle;
    else low = middle;
  }
  return high;
}

/** `largest_accepted`: the largest amount in 1..=upper that `accepts` (throwing the program's
 *  refusal otherwise), for rules refused below it only for paying out nothing (`ZeroAmount`). */
export function largestAccepted(upper: bigint, accepts: (amount: bigint) => void): Limit {
  const refused = (amount: bigint) => refusal(() => accepts(amount));
  if (upper === 0n) return { amount: 0n, refusedAbove: refused(1n) };
  const paysNothing = (amount: bigint) => refused(amount) === 'ZeroAmount';
  let probe = 1n;
  let start: bigint;
  for (;;) {
    const amount = min(probe, upper);
    const error = refused(amount);
    if (error === undefined) {
      start = amount;
      break;
    }
    if (error === 'ZeroAmount' && amount < upper) {
      probe = probe * 2n > U64_MAX ? U64_MAX : probe * 2n;
      continue;
    }
    if (error === 'ZeroAmount') return { amount: 0n, refusedAbove: refused(1n) };
    const high = firstTrue(amount / 2n, amount, (middle) => !paysNothing(middle));
    if (refused(high) === undefined) {
      start = high;
      break;
    }
    return { amount: 0n, refusedAbove: refused(1n) };
  }
  if (refused(upper) === undefined) return { amount: upper, refusedAbove: upper === U64_MAX ? undefined : refused(upper + 1n) };
  const high = firstTrue(start, upper, (middle) => refused(middle) !== undefined);
  return { amount: high - 1n, refusedAbove: refused(high) };
}
