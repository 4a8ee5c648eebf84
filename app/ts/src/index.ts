// The Solvent TypeScript client: what the IDL cannot say. This is the package's default entry
// (`@solvent/client`): @solana/kit only, no Node built-ins, so it bundles for the browser.
//
// - `generated/`: the typed @solana/kit client Codama renders from idl/solvent.json
//   (`npm run generate`), re-exported here; `IDL` is that IDL as a module (`./idl.ts`, written
//   by the same script).
// - PDAs, "refresh then act" sequences with the compute-unit limit they need, an obligation
//   read into a position with the program's own rounding, and program errors by name.
// - The web3.js / @anchor-lang/core side (`anchorProgram()`, `parseEvents`,
//   `fromWeb3Instruction`) is the separate entry `@solvent/client/anchor` (`./anchor.ts`).
import { ERROR_CLASSES, type ErrorClass } from './error-classes.ts';
import {
  AccountRole,
  address,
  getAddressEncoder,
  getProgramDerivedAddress,
  type Address,
  type Instruction,
} from '@solana/kit';
import { IDL } from './idl.ts';
import * as generated from '../generated/index.ts';

export * from '../generated/index.ts';
// Builders with every account resolved from the reserve and the market (`deposit`, `borrow`,
// `actions`, …) and the market scan (`fetchMarketObligations`, …).
export * from './actions.ts';
export * from './scan.ts';

/** The program's IDL (idl/solvent.json), as an object. */
export { IDL } from './idl.ts';
export const PROGRAM_ID = address(IDL.address);
export const PYTH_RECEIVER_PROGRAM_ID = address('rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ');
export const TOKEN_PROGRAM_ID = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
export const COMPUTE_BUDGET_PROGRAM_ID = address('ComputeBudget111111111111111111111111111111');
export const ORACLE_SOURCE_PYTH_LEGACY = 0;
export const ORACLE_SOURCE_PYTH_PULL = 1;
/** Shares of the first deposit into an empty reserve that nobody receives (the program's `DEAD_SHARES`). */
export const DEAD_SHARES = 1_000n;

const enc = getAddressEncoder();
const utf8 = (text: string) => new TextEncoder().encode(text);
const pda = async (seeds: (string | Address | Uint8Array)[]) =>
  (
    await getProgramDerivedAddress({
      programAddress: PROGRAM_ID,
      seeds: seeds.map((seed) => (seed instanceof Uint8Array ? seed : seed.length >= 32 ? enc.encode(seed as Address) : utf8(seed))),
    })
  )[0];

export const marketAuthorityAddress = (market: Address) => pda(['authority', market]);
export const reserveAddress = (market: Address, mint: Address) => pda(['reserve', market, mint]);
export const liquidityVaultAddress = (reserve: Address) => pda(['liquidity_vault', reserve]);
export const feeVaultAddress = (reserve: Address) => pda(['fee_vault', reserve]);
export const collateralMintAddress = (reserve: Address) => pda(['collateral_mint', reserve]);
/** The debt account of e-mode group `group` (1..=8) of `market`. */
export const emodeGroupDebtAddress = (market: Address, group: number) => pda(['emode_debt', market, new Uint8Array([group])]);
export const obligationAddress = (market: Address, owner: Address, id = 0) => pda(['obligation', market, owner, new Uint8Array([id])]);

export { ERROR_CLASSES, type ErrorClass } from './error-classes.ts';
// Failures as classes (`decodeSolventError`), and sending with a simulated compute-unit limit.
// Named, so that the class `SolventError` takes the name over the generated union of codes.
export { SolventError, RefreshAndRetryError, UserError, MarketConditionError, FatalError, TransactionError, decodeSolventError, solventProgramError, type SolventErrorDetails } from './errors.ts';
export * from './send.ts';

/** A program error by code: its name and message from the IDL, and its class (what to do about
 * it: refresh and retry, fix the request, wait for the market, or report it). */
export function programError(code: number): { code: number; name: string; message: string; errorClass: ErrorClass } | undefined {
  const found = IDL.errors.find((error) => error.code === code);
  const errorClass = ERROR_CLASSES[code];
  return found && errorClass && { code, name: found.name, message: found.msg ?? found.name, errorClass };
}

/** The class of a program error code (undefined: not one of the program's). */
export function errorClass(code: number): ErrorClass | undefined {
  return ERROR_CLASSES[code];
}

/** The custom program error in a failed transaction's error, if any. */
export function customErrorCode(error: unknown): number | undefined {
  const text = typeof error === 'object' && error !== null && 'toString' in error ? String(error) : String(error);
  const match = /Custom\((\d+)\)|custom program error: 0x([0-9a-f]+)|"Custom":\s*(\d+)/i.exec(text);
  if (!match) return undefined;
  return match[1] ? Number(match[1]) : match[2] ? parseInt(match[2], 16) : Number(match[3]);
}

export function setComputeUnitLimitInstruction(units: number): Instruction {
  const data = new Uint8Array(5);
  data[0] = 2;
  new DataView(data.buffer).setUint32(1, units, true);
  return { programAddress: COMPUTE_BUDGET_PROGRAM_ID, accounts: [], data };
}

/** A `StoredWad` (16 little-endian bytes) as a bigint. */
export const storedWad = (value: { leBytes: ArrayLike<number> }) => {
  let out = 0n;
  for (let i = 15; i >= 0; i--) out = (out << 8n) | BigInt(value.leBytes[i]);
  return out;
};
const DEFAULT_ADDRESS = '11111111111111111111111111111111';

/** The reserves an obligation's refresh needs, in order: every deposit's, then every borrow's. */
export function obligationReserves(obligation: generated.Obligation): Address[] {
  const deposits = obligation.deposits.filter((d) => d.depositReserve !== DEFAULT_ADDRESS).map((d) => d.depositReserve);
  const borrows = obligation.borrows.filter((b) => b.borrowReserve !== DEFAULT_ADDRESS).map((b) => b.borrowReserve);
  return [...deposits, ...borrows];
}

/** Where a refresh finds each reserve's oracle: a function of the reserve's address, or the
 *  reserves themselves, decoded (a map by address, or accounts as `fetchAllReserve` and
 *  `fetchMarketReserves` return them), whose `oracle` field is used. */
export type OracleSource =
  | ((reserve: Address) => Address)
  | ReadonlyMap<Address, Pick<generated.Reserve, 'oracle'>>
  | Iterable<{ address: Address; data: Pick<generated.Reserve, 'oracle'> }>;

/** `source` as a function from a reserve to its oracle. For reserves given as data, looking up
 *  one that was not given throws (naming it) rather than guessing an account. */
export function oracleLookup(source: OracleSource): (reserve: Address) => Address {
  if (typeof source === 'function') return source;
  const oracles = new Map<Address, Address>();
  if (source instanceof Map) {
    for (const [key, reserve] of source as ReadonlyMap<Address, Pick<generated.Reserve, 'oracle'>>) oracles.set(key, reserve.oracle);
  } else {
    for (const { address, data } of source as Iterable<{ address: Address; data: Pick<generated.Reserve, 'oracle'> }>) oracles.set(address, data.oracle);
  }
  return (reserve) => {
    const oracle = oracles.get(reserve);
    if (!oracle) throw new Error(`reserve ${reserve} was not given: its oracle is not known`);
    return oracle;
  };
}

/** Compute units a refresh-then-act transaction needs: measured costs (README's compute table)
 *  with headroom, so clients need not guess. For the separate sequence: `reserves` refresh_reserve
 *  instructions, then refresh_obligation and the action over `positions` positions. */
export function computeUnitsFor(reserves: number, positions: number, action = 30_000): number {
  return 5_000 + 5_000 * reserves + 3_500 * positions + action;
}

/** Compute units of one `borrow` or `withdraw` that revalues its obligation inline
 *  (`withInlineRefresh`): `reserves` reserves refreshed from their oracles in place (the
 *  positions', and a new debt's), `positions` positions valued, with the headroom of
 *  `computeUnitsFor` but without the cost of separate refresh instructions. */
export function inlineComputeUnitsFor(reserves: number, positions: number, action = 30_000): number {
  return 5_000 + 3_000 * reserves + 3_500 * positions + action;
}

/** What `action` on `obligation` needs before it and with it, in one transaction, after a
 *  compute-unit limit sized for it (as the client crate's `refresh::refresh_then`):
 *  - `borrow` and `withdraw` revalue the obligation inline (`withInlineRefresh`): one
 *    instruction, no refresh before it; a withdraw from an obligation without debt needs no
 *    remaining accounts at all (the instruction as built);
 *  - any other action gets the separate sequence (`refreshThenActSeparately`): every reserve the
 *    obligation and `actionReserves` touch refreshed, the obligation (of `market`) refreshed,
 *    then the action with its position reserves (the order liquidate,
 *    execute_obligation_order, soft_deleverage and set_obligation_emode require).
 *  `oracles` gives a reserve's oracle (for every position reserve, and the reserve acted on):
 *  a function, or the decoded reserves themselves (`OracleSource`), whose `oracle` is used. */
export async function refreshThenAct(
  market: Address,
  obligationKey: Address,
  obligation: generated.Obligation | undefined,
  oracles: OracleSource,
  actionReserves: Address[],
  action: Instruction,
): Promise<Instruction[]> {
  const oracleOf = oracleLookup(oracles);
  if (isOneOf(action, [generated.WITHDRAW_DISCRIMINATOR]) && !(obligation && borrowsOf(obligation).length > 0)) {
    return [setComputeUnitLimitInstruction(inlineComputeUnitsFor(0, 0)), action];
  }
  const inline = await withInlineRefresh(action, obligation, oracleOf);
  if (inline) {
    const positions = obligation ? obligationReserves(obligation) : [];
    // Reserves refreshed in place: every position's, and a new debt's.
    const refreshed = new Set([...positions, action.accounts![1].address]).size;
    return [setComputeUnitLimitInstruction(inlineComputeUnitsFor(refreshed, positions.length)), inline];
  }
  return refreshThenActSeparately(market, obligationKey, obligation, oracleOf, actionReserves, action);
}

/** The separate refresh sequence and then `action`, for any action: a compute-unit limit,
 *  refresh_reserve for every reserve the obligation (and `actionReserves`) touch,
 *  refresh_obligation (of `market`), then the action with its position reserves and debt
 *  counters (`withPositionReserves`), in one transaction (as the client crate's
 *  `refresh::refresh_then_separately`). The program accepts this layout for `borrow` and
 *  `withdraw` too; for keepers batching refreshes, and the actions that cannot revalue inline.
 *  `oracles` as for `refreshThenAct`. */
export async function refreshThenActSeparately(
  market: Address,
  obligationKey: Address,
  obligation: generated.Obligation | undefined,
  oracles: OracleSource,
  actionReserves: Address[],
  action: Instruction,
): Promise<Instruction[]> {
  const oracleOf = oracleLookup(oracles);
  const positions = obligation ? obligationReserves(obligation) : [];
  const reserves = [...new Set([...positions, ...actionReserves])];
  const refreshObligation = generated.getRefreshObligationInstruction({ obligation: obligationKey, lendingMarket: market });
  return [
    setComputeUnitLimitInstruction(computeUnitsFor(reserves.length, positions.length)),
    ...reserves.map((reserve) => generated.getRefreshReserveInstruction({ reserve, oracle: oracleOf(reserve) })),
    {
      ...refreshObligation,
      accounts: [...refreshObligation.accounts, ...positions.map((reserve) => ({ address: reserve, role: AccountRole.READONLY }))],
    },
    withPositionReserves(action, positions, await debtCounters(action, obligation)),
  ];
}

/** Whether an instruction can revalue its obligation inline: `borrow` and `withdraw` (the
 *  program's `refresh_obligation::revalues_inline`), needing no refresh instruction before it. */
export function revaluesInline(action: Instruction): boolean {
  return isOneOf(action, [generated.BORROW_DISCRIMINATOR, generated.WITHDRAW_DISCRIMINATOR]);
}

/** `action` (`borrow` or `withdraw`) in the layout that revalues the obligation inline, as the
 *  client crate's `refresh::with_inline_refresh`: after the named accounts, each position's
 *  reserve (writable) followed by its oracle (read-only), deposits then borrows in the
 *  obligation's order; for a borrow from a reserve that is no position yet, that reserve's
 *  oracle; then the debt counters (`debtCounters`) as `withPositionReserves` appends them (the
 *  isolated collateral reserve writable unless it is among the positions, already writable;
 *  the e-mode group debt account). Undefined for any other instruction. */
export async function withInlineRefresh(
  action: Instruction,
  obligation: generated.Obligation | undefined,
  oracleOf: (reserve: Address) => Address,
): Promise<Instruction | undefined> {
  if (!revaluesInline(action)) return undefined;
  const positions = obligation ? obligationReserves(obligation) : [];
  const appended: { address: Address; role: AccountRole }[] = [];
  for (const reserve of positions) {
    appended.push({ address: reserve, role: AccountRole.WRITABLE }, { address: oracleOf(reserve), role: AccountRole.READONLY });
  }
  // The reserve acted on is the second account (after the market), for borrow and withdraw.
  const actedOn = action.accounts?.[1]?.address;
  if (!actedOn) return undefined;
  if (!positions.includes(actedOn)) appended.push({ address: oracleOf(actedOn), role: AccountRole.READONLY });
  const counters = await debtCounters(action, obligation);
  if (counters.isolated && !positions.includes(counters.isolated)) appended.push({ address: counters.isolated, role: AccountRole.WRITABLE });
  for (const debt of counters.groupDebts) appended.push({ address: debt, role: AccountRole.WRITABLE });
  return { ...action, accounts: [...(action.accounts ?? []), ...appended] };
}

/** Instructions that check the obligation's cached values are still current: they take its
 * position reserves (deposits, then borrows) as remaining accounts. */
const CHECKS_VALUATION = [
  generated.BORROW_DISCRIMINATOR,
  generated.WITHDRAW_DISCRIMINATOR,
  generated.LIQUIDATE_DISCRIMINATOR,
  generated.EXECUTE_OBLIGATION_ORDER_DISCRIMINATOR,
  generated.SOFT_DELEVERAGE_DISCRIMINATOR,
  generated.SET_OBLIGATION_EMODE_DISCRIMINATOR,
];
/** Instructions that change debt charged against an isolation debt ceiling: they take the
 * isolated collateral reserve writable. */
const UPDATES_ISOLATED_DEBT = [
  generated.BORROW_DISCRIMINATOR,
  generated.REPAY_DISCRIMINATOR,
  generated.LIQUIDATE_DISCRIMINATOR,
  generated.EXECUTE_OBLIGATION_ORDER_DISCRIMINATOR,
  generated.SOFT_DELEVERAGE_DISCRIMINATOR,
  generated.WRITE_OFF_BAD_DEBT_DISCRIMINATOR,
];
const isOneOf = (action: Instruction, discriminators: ReadonlyArray<ArrayLike<number>>) => {
  const data = action.data ?? new Uint8Array();
  return action.programAddress === PROGRAM_ID && discriminators.some((d) => Array.from(d).every((byte, i) => data[i] === byte));
};

/** `Obligation::tier_flags`: the collateral is an isolated asset. */
export const TIER_ISOLATED_COLLATERAL = 1;
/** `Obligation::tier_flags`: the debt is a siloed asset. */
export const TIER_SILOED_DEBT = 2;
/** `ReserveConfig::risk_flags`. */
export const RISK_FLAG_ISOLATED_COLLATERAL = 1;
export const RISK_FLAG_BORROWABLE_IN_ISOLATION = 2;
export const RISK_FLAG_SILOED_DEBT = 4;
/** Debt counted against a cap (`Reserve::isolated_debt`, `EmodeGroupDebt::debt`, the
 *  obligation's charges) is in millionths of a quote unit. */
export const DEBT_UNITS_PER_QUOTE = 1_000_000n;

const depositsOf = (obligation: generated.Obligation) => obligation.deposits.filter((d) => d.depositReserve !== DEFAULT_ADDRESS);
const borrowsOf = (obligation: generated.Obligation) => obligation.borrows.filter((b) => b.borrowReserve !== DEFAULT_ADDRESS);

/** The isolated collateral reserve an instruction on `obligation` must pass writable (as the
 *  client crate's `refresh::isolation_reserve`): the one its charges are held against, or for a
 *  new charge the isolated collateral it holds. */
export function isolationReserve(obligation: generated.Obligation | undefined): Address | undefined {
  if (!obligation) return undefined;
  if (obligation.isolationCharges.some((c) => c !== 0n)) return obligation.isolationReserve;
  const deposits = depositsOf(obligation);
  if ((obligation.tierFlags & TIER_ISOLATED_COLLATERAL) !== 0 && deposits.length > 0) return deposits[0].depositReserve;
  return undefined;
}

/** The debt counters an instruction on `obligation` must pass writable, as the client crate's
 *  `with_position_reserves` finds them: the isolated collateral reserve (`isolationReserve`)
 *  and the e-mode group debt accounts (the obligation's group for what changes debt; for
 *  `set_obligation_emode` the group left and the group entered). */
export async function debtCounters(action: Instruction, obligation: generated.Obligation | undefined): Promise<{ isolated?: Address; groupDebts: Address[] }> {
  if (!obligation) return { groupDebts: [] };
  const current = obligation.emodeGroup;
  let groups: number[] = [];
  if (isOneOf(action, [generated.SET_OBLIGATION_EMODE_DISCRIMINATOR])) {
    const entering = action.data?.[8] ?? 0;
    groups = [current, entering].filter((g) => g !== 0 && current !== entering);
  } else if (isOneOf(action, UPDATES_ISOLATED_DEBT) && current !== 0) {
    groups = [current];
  }
  const isolated = isOneOf(action, UPDATES_ISOLATED_DEBT) ? isolationReserve(obligation) : undefined;
  return { isolated, groupDebts: await Promise.all(groups.map((g) => emodeGroupDebtAddress(obligation.lendingMarket, g))) };
}

/** The remaining accounts the program requires, as the client crate's `with_position_reserves`:
 * `borrow`, `withdraw`, `liquidate`, `execute_obligation_order`, `soft_deleverage` and
 * `set_obligation_emode` take the obligation's position reserves; the debt counters (`debtCounters`) come writable: the isolated collateral reserve
 * among the positions when it is one, else appended, then the group debt accounts. Any other
 * instruction is returned unchanged. */
export function withPositionReserves(action: Instruction, positions: Address[], counters: { isolated?: Address; groupDebts: Address[] }): Instruction {
  const charged = counters.isolated;
  const appended: { address: Address; role: AccountRole }[] = [];
  if (isOneOf(action, CHECKS_VALUATION)) {
    for (const reserve of positions) appended.push({ address: reserve, role: reserve === charged ? AccountRole.WRITABLE : AccountRole.READONLY });
  }
  if (charged && !appended.some((meta) => meta.address === charged)) appended.push({ address: charged, role: AccountRole.WRITABLE });
  for (const debt of counters.groupDebts) appended.push({ address: debt, role: AccountRole.WRITABLE });
  if (appended.length === 0) return action;
  return { ...action, accounts: [...(action.accounts ?? []), ...appended] };
}

/** `action` on `obligation` with every remaining account the program requires of it. */
export async function withRequiredAccounts(action: Instruction, obligation: generated.Obligation | undefined): Promise<Instruction> {
  return withPositionReserves(action, obligation ? obligationReserves(obligation) : [], await debtCounters(action, obligation));
}

/** What a tier rule of the program would refuse about a new position, checked before sending:
 *  the name of the program's error, or undefined when the tier rules allow it (the program's
 *  `check_collateral_tier` / `check_debt_tier` and, for a borrow of `amount` base units, the
 *  isolation debt ceiling and, given the group's debt account `groupDebt`, the e-mode group's
 *  debt cap; values at the reserves' last booked prices). A deposit is checked against the tier of the last refresh (deposit
 *  does not refresh); a borrow against the tier its refresh will find, from the reserves' flags
 *  now. Other limits (borrowing power, caps, liquidity) are not checked here. */
export function tierRefusal(
  obligation: generated.Obligation,
  reserves: Map<Address, generated.Reserve>,
  action: { kind: 'deposit' | 'borrow'; reserve: Address; amount?: bigint },
  groupDebt?: generated.EmodeGroupDebt,
): string | undefined {
  const reserveOf = (key: Address) => {
    const reserve = reserves.get(key);
    if (!reserve) throw new Error(`reserve ${key} was not given`);
    return reserve;
  };
  const target = reserveOf(action.reserve);
  const flags = target.config.riskFlags;
  const deposits = depositsOf(obligation);
  const borrows = borrowsOf(obligation);
  const emodeActive = obligation.emodeGroup !== 0 && obligation.emodeParams.liquidationThresholdBps !== 0;
  const inGroup = obligation.emodeGroup >= 1 && obligation.emodeGroup <= 8 && (target.config.emodeGroups & (1 << (obligation.emodeGroup - 1))) !== 0;
  const emodeRefusal = emodeActive && !inGroup ? 'NotInEmodeGroup' : undefined;
  if (action.kind === 'deposit') {
    if (deposits.some((d) => d.depositReserve === action.reserve)) return undefined;
    if (emodeRefusal) return emodeRefusal;
    const isolated = (obligation.tierFlags & TIER_ISOLATED_COLLATERAL) !== 0 && deposits.length > 0;
    const newIsolated = (flags & RISK_FLAG_ISOLATED_COLLATERAL) !== 0;
    if (deposits.length > 0) return newIsolated || isolated ? 'IsolatedCollateralMixed' : undefined;
    return newIsolated && borrows.length > 0 ? 'IsolatedCollateralMixed' : undefined;
  }
  const isolated = deposits.some((d) => (reserveOf(d.depositReserve).config.riskFlags & RISK_FLAG_ISOLATED_COLLATERAL) !== 0);
  const siloed = borrows.some((b) => (reserveOf(b.borrowReserve).config.riskFlags & RISK_FLAG_SILOED_DEBT) !== 0);
  if (isolated && (flags & RISK_FLAG_BORROWABLE_IN_ISOLATION) === 0) return 'NotBorrowableInIsolation';
  if (isolated && deposits.length > 1) return 'IsolatedCollateralMixed';
  if (!borrows.some((b) => b.borrowReserve === action.reserve)) {
    if (emodeRefusal) return emodeRefusal;
    if (borrows.length > 0 && ((flags & RISK_FLAG_SILOED_DEBT) !== 0 || siloed)) return 'SiloedDebtMixed';
  }
  if (action.amount === undefined) return undefined;
  const value = valueAt(target, target.debtPriceMantissa, action.amount * WAD, true);
  const perUnit = WAD / DEBT_UNITS_PER_QUOTE;
  const units = (value + perUnit - 1n) / perUnit;
  const exceeds = (used: bigint, capValue: bigint) => capValue !== 0n && used + units > capValue * DEBT_UNITS_PER_QUOTE;
  if (isolated && exceeds(reserveOf(deposits[0].depositReserve).isolatedDebt, reserveOf(deposits[0].depositReserve).config.isolationDebtCeilingValue)) {
    return 'IsolationDebtCeilingExceeded';
  }
  // Counted in the group even while it is disabled (as the program does).
  if (obligation.emodeGroup !== 0 && groupDebt && exceeds(groupDebt.debt, groupDebt.debtCapValue)) return 'EmodeDebtCapExceeded';
  return undefined;
}

// ---- Position math: the program's Obligation::revalue, in bigint, with its rounding. ----

export const WAD = 10n ** 18n;
const divRound = (numerator: bigint, denominator: bigint, up: boolean) =>
  up ? (numerator + denominator - 1n) / denominator : numerator / denominator;

function valueAt(reserve: generated.Reserve, mantissa: bigint, amountWad: bigint, up: boolean): bigint {
  const scale = reserve.marketPriceExponent - reserve.liquidityDecimals;
  return scale >= 0 ? amountWad * mantissa * 10n ** BigInt(scale) : divRound(amountWad * mantissa, 10n ** BigInt(-scale), up);
}

/** The depositors' claim on a reserve (base units, Wad), as the program's
 *  `Reserve::total_liquidity`: idle liquidity, a flash loan out and the insurance fund's payment
 *  not yet moved in, plus the debt owed to depositors, less protocol fees. At the reserve as
 *  given: the program accrues interest to now first. */
export function totalLiquidityWad(
  reserve: Pick<generated.Reserve, 'availableAmount' | 'flashLoanAmount' | 'insuranceReceivable' | 'borrowedAmountWad' | 'accumulatedProtocolFeesWad'>,
): bigint {
  const onHand = (reserve.availableAmount + reserve.flashLoanAmount + reserve.insuranceReceivable) * WAD;
  return onHand + storedWad(reserve.borrowedAmountWad) - storedWad(reserve.accumulatedProtocolFeesWad);
}

function liquidityForShares(reserve: generated.Reserve, shares: bigint): bigint {
  if (reserve.collateralSupply === 0n) return 0n;
  return (totalLiquidityWad(reserve) * shares) / reserve.collateralSupply;
}

/** What a health is measured for, as the program's `HealthKind`: borrowing power (`initial`),
 *  liquidation eligibility (`maintenance`), what a liquidation may pay out (`payout`). */
export type HealthKind = 'initial' | 'maintenance' | 'payout';
/** One kind's sums: weighted collateral against weighted debt (quote value, 18 decimals). */
export type Health = { assetsWad: bigint; liabilitiesWad: bigint };

export type Position = {
  /** The program's health engine output by kind (`ObligationValues::health`). */
  health: Record<HealthKind, Health>;
  /** Each collateral with the weights it was valued with (dynamic margin and the size premium
   *  included) and its reserve's volatility estimate (annualised fraction). */
  deposits: { reserve: Address; shares: bigint; valueWad: bigint; loanToValueBps: number; liquidationThresholdBps: number; annualVolatility: number }[];
  borrows: { reserve: Address; debtWad: bigint; valueWad: bigint }[];
  depositedValueWad: bigint;
  borrowedValueWad: bigint;
  allowedBorrowValueWad: bigint;
  unhealthyBorrowValueWad: bigint;
  liquidationBorrowedValueWad: bigint;
  /** unhealthy borrow value / debt at liquidation prices; undefined without debt. */
  healthFactor: number | undefined;
  liquidatable: boolean;
  /** With one collateral asset: the collateral price (quote per whole token) at which the
   *  position becomes liquidatable, other prices unchanged. */
  liquidationPrice: number | undefined;
};

/** The margin parameters a position in a reserve is weighted with, as the program's
 *  `Emode::risk_params`: the group's (debt at 100%) for a member of the obligation's active
 *  e-mode group, else the reserve's own. */
export type RiskParams = {
  loanToValueBps: number;
  liquidationThresholdBps: number;
  borrowWeightBps: number;
  liquidationBonusBps: number;
  maxLiquidationBonusBps: number;
};

/** The fields of a reserve config the margin parameters come from. */
export type MarginConfig = Pick<
  generated.ReserveConfig,
  'loanToValueBps' | 'liquidationThresholdBps' | 'borrowWeightBps' | 'liquidationBonusBps' | 'maxLiquidationBonusBps' | 'emodeGroups'
>;

export function riskParams(config: MarginConfig, emodeGroup: number, group: generated.EmodeGroup): RiskParams {
  const member = emodeGroup >= 1 && emodeGroup <= 8 && (config.emodeGroups & (1 << (emodeGroup - 1))) !== 0;
  if (member && group.liquidationThresholdBps !== 0) {
    return {
      loanToValueBps: group.loanToValueBps,
      liquidationThresholdBps: group.liquidationThresholdBps,
      borrowWeightBps: 10_000,
      liquidationBonusBps: group.liquidationBonusBps,
      maxLiquidationBonusBps: group.maxLiquidationBonusBps,
    };
  }
  return {
    loanToValueBps: config.loanToValueBps,
    liquidationThresholdBps: config.liquidationThresholdBps,
    borrowWeightBps: config.borrowWeightBps === 0 ? 10_000 : config.borrowWeightBps,
    liquidationBonusBps: config.liquidationBonusBps,
    maxLiquidationBonusBps: config.maxLiquidationBonusBps,
  };
}

/** The dynamic-margin parts (`ReserveConfig`-independent settings, `set_dynamic_margin`). */
export const DYNAMIC_VOLATILITY = 1;
export const DYNAMIC_SIZE = 2;
export const DYNAMIC_CONCENTRATION = 4;

/** ⌈√n⌉ for a bigint. */
function isqrtUp(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) / 2n;
    if (y >= x) break;
    x = y;
  }
  return x * x < n ? x + 1n : x;
}

/** The size premium of a collateral position worth `valueWad` (as the program's
 *  `size_premium_bps`): `size_premium_bps × √(value / depth)`, rounded up, capped. */
export function sizePremiumBps(config: generated.DynamicMarginConfig, valueWad: bigint): number {
  if ((config.flags & DYNAMIC_SIZE) === 0 || config.liquidityDepthValue === 0n) return 0;
  const max = BigInt(config.maxSizePremiumBps);
  const factor = BigInt(config.sizePremiumBps);
  const depthUnits = config.liquidityDepthValue * (WAD / 100_000_000n);
  const root = divRound(max * 10_000n, factor, true);
  const ratio = divRound(valueWad, depthUnits, true);
  const capped = ratio < root * root ? ratio : root * root;
  const premium = divRound(factor * isqrtUp(capped), 10_000n, true);
  return Number(premium < max ? premium : max);
}

/** A reserve's own margin parameters: its config's, with the loan-to-value and threshold lowered
 *  to the dynamic ones refresh_reserve computed (as the program's `Reserve::risk_params`). */
export function ownRiskParams(reserve: Pick<generated.Reserve, 'config' | 'dynamicConfig' | 'dynamic'>): RiskParams {
  const own = riskParams(reserve.config, 0, { loanToValueBps: 0, liquidationThresholdBps: 0, liquidationBonusBps: 0, maxLiquidationBonusBps: 0 });
  if (reserve.dynamicConfig.flags !== 0 && reserve.dynamic.initialized !== 0) {
    own.loanToValueBps = Math.min(own.loanToValueBps, reserve.dynamic.ltvBps);
    own.liquidationThresholdBps = Math.min(own.liquidationThresholdBps, reserve.dynamic.thresholdBps);
  }
  return own;
}

/** A reserve's volatility estimate, annualised (a fraction: 0.8 is 80%), from refresh_reserve. */
export function annualVolatility(reserve: Pick<generated.Reserve, 'dynamic'>): number {
  const rate = Number(storedWad(reserve.dynamic.varianceRateWad)) / 1e18;
  return Math.sqrt(rate * 31_536_000);
}

/** E-mode group `group` (1..=8) of a market, decoded from `LendingMarket.emodeGroups` (8 bytes
 *  per group: its four fields as little-endian u16s, as `LendingMarket::emode` reads them). */
export function emodeGroupOf(market: Pick<generated.LendingMarket, 'emodeGroups'>, group: number): generated.EmodeGroup {
  if (group < 1 || group > 8) throw new Error(`e-mode group ${group} is not 1..=8`);
  const bytes = Uint8Array.from(market.emodeGroups).subarray((group - 1) * 8, group * 8);
  const field = (i: number) => bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return { loanToValueBps: field(0), liquidationThresholdBps: field(1), liquidationBonusBps: field(2), maxLiquidationBonusBps: field(3) };
}

/** An obligation valued at its reserves' last refreshed state, exactly as refresh_obligation
 *  would: in its e-mode group, with the group's parameters from `market` when given (what the
 *  next refresh reads), else as its last refresh read them. */
export function readPosition(obligation: generated.Obligation, reserves: Map<Address, generated.Reserve>, market?: generated.LendingMarket): Position {
  const group = market && obligation.emodeGroup >= 1 && obligation.emodeGroup <= 8 ? emodeGroupOf(market, obligation.emodeGroup) : obligation.emodeParams;
  const inGroup = (reserve: generated.Reserve) =>
    group.liquidationThresholdBps !== 0 && obligation.emodeGroup >= 1 && obligation.emodeGroup <= 8 && (reserve.config.emodeGroups & (1 << (obligation.emodeGroup - 1))) !== 0;
  // The group's parameters for a member, else the reserve's own with dynamic margin.
  const paramsOf = (reserve: generated.Reserve) => (inGroup(reserve) ? riskParams(reserve.config, obligation.emodeGroup, group) : ownRiskParams(reserve));
  const reserveOf = (key: Address) => {
    const reserve = reserves.get(key);
    if (!reserve) throw new Error(`reserve ${key} of the obligation was not given`);
    return reserve;
  };
  const deposits = obligation.deposits
    .filter((d) => d.depositReserve !== DEFAULT_ADDRESS)
    .map((d) => {
      const reserve = reserveOf(d.depositReserve);
      const liquidity = liquidityForShares(reserve, d.depositedShares);
      const valueWad = valueAt(reserve, reserve.collateralPriceMantissa, liquidity, false);
      const params = { ...paramsOf(reserve) };
      // The size premium lowers a position's borrowing power (outside an e-mode group).
      if (!inGroup(reserve)) params.loanToValueBps = Math.max(0, params.loanToValueBps - sizePremiumBps(reserve.dynamicConfig, valueWad));
      return {
        reserve: d.depositReserve,
        shares: d.depositedShares,
        liquidity,
        valueWad,
        liquidationValueWad: valueAt(reserve, reserve.liquidationCollateralPriceMantissa, liquidity, false),
        params,
        reserveState: reserve,
      };
    });
  const borrows = obligation.borrows
    .filter((b) => b.borrowReserve !== DEFAULT_ADDRESS)
    .map((b) => {
      const reserve = reserveOf(b.borrowReserve);
      const snapshot = storedWad(b.cumulativeBorrowIndexWad);
      const index = storedWad(reserve.cumulativeBorrowIndexWad);
      const debt = storedWad(b.borrowedAmountWad);
      const debtWad = index === snapshot ? debt : divRound(debt * index, snapshot, true);
      return {
        reserve: b.borrowReserve,
        debtWad,
        valueWad: valueAt(reserve, reserve.debtPriceMantissa, debtWad, true),
        liquidationValueWad: valueAt(reserve, reserve.liquidationDebtPriceMantissa, debtWad, true),
        // The borrow weight (at least 100%), weighing debt for borrowing power and eligibility.
        weightBps: paramsOf(reserve).borrowWeightBps,
      };
    });
  const bps = (value: bigint, factor: number) => (value * BigInt(factor)) / 10_000n;
  // Liabilities weigh rounded up, and a full weight is the value itself (as the program's `weighted`).
  const weighUp = (value: bigint, factor: number) => (factor === 10_000 ? value : (value * BigInt(factor) + 9_999n) / 10_000n);
  const depositedValueWad = deposits.reduce((sum, d) => sum + d.valueWad, 0n);
  const allowedBorrowValueWad = deposits.reduce((sum, d) => sum + bps(d.valueWad, d.params.loanToValueBps), 0n);
  const borrowedValueWad = borrows.reduce((sum, b) => sum + b.valueWad, 0n);
  const initialLiabilitiesWad = borrows.reduce((sum, b) => sum + weighUp(b.valueWad, b.weightBps), 0n);
  let unhealthyBorrowValueWad = deposits.reduce((sum, d) => sum + bps(d.valueWad, d.params.liquidationThresholdBps), 0n);
  let liquidationBorrowedValueWad = initialLiabilitiesWad;
  let payoutAssetsWad = depositedValueWad;
  let payoutLiabilitiesWad = borrows.reduce((sum, b) => sum + b.valueWad, 0n);
  if (initialLiabilitiesWad > unhealthyBorrowValueWad) {
    // Unhealthy at conservative prices: judged at liquidation prices, as the program does.
    unhealthyBorrowValueWad = deposits.reduce((sum, d) => sum + bps(d.liquidationValueWad, d.params.liquidationThresholdBps), 0n);
    liquidationBorrowedValueWad = borrows.reduce((sum, b) => sum + weighUp(b.liquidationValueWad, b.weightBps), 0n);
    payoutAssetsWad = deposits.reduce((sum, d) => sum + d.liquidationValueWad, 0n);
    payoutLiabilitiesWad = borrows.reduce((sum, b) => sum + b.liquidationValueWad, 0n);
  }
  const healthFactor =
    liquidationBorrowedValueWad === 0n ? undefined : Number((unhealthyBorrowValueWad * 1_000_000n) / liquidationBorrowedValueWad) / 1e6;
  let liquidationPrice: number | undefined;
  if (deposits.length === 1 && liquidationBorrowedValueWad > 0n) {
    const d = deposits[0];
    const tokens = Number(d.liquidity) / 1e18 / 10 ** d.reserveState.liquidityDecimals;
    liquidationPrice = Number(liquidationBorrowedValueWad) / 1e18 / (tokens * (d.params.liquidationThresholdBps / 10_000));
  }
  return {
    health: {
      initial: { assetsWad: allowedBorrowValueWad, liabilitiesWad: initialLiabilitiesWad },
      maintenance: { assetsWad: unhealthyBorrowValueWad, liabilitiesWad: liquidationBorrowedValueWad },
      payout: { assetsWad: payoutAssetsWad, liabilitiesWad: payoutLiabilitiesWad },
    },
    deposits: deposits.map(({ reserve, shares, valueWad, params, reserveState }) => ({
      reserve,
      shares,
      valueWad,
      loanToValueBps: params.loanToValueBps,
      liquidationThresholdBps: params.liquidationThresholdBps,
      annualVolatility: annualVolatility(reserveState),
    })),
    borrows: borrows.map(({ reserve, debtWad, valueWad }) => ({ reserve, debtWad, valueWad })),
    depositedValueWad,
    borrowedValueWad,
    allowedBorrowValueWad,
    unhealthyBorrowValueWad,
    liquidationBorrowedValueWad,
    healthFactor,
    liquidatable: liquidationBorrowedValueWad > unhealthyBorrowValueWad,
    liquidationPrice,
  };
}

/** The values refresh_obligation cached on the obligation, as bigints. */
export function cachedValues(obligation: generated.Obligation) {
  const health: Record<HealthKind, Health> = {
    initial: { assetsWad: storedWad(obligation.allowedBorrowValueWad), liabilitiesWad: storedWad(obligation.initialBorrowedValueWad) },
    maintenance: { assetsWad: storedWad(obligation.unhealthyBorrowValueWad), liabilitiesWad: storedWad(obligation.liquidationBorrowedValueWad) },
    payout: { assetsWad: storedWad(obligation.liquidationDepositedValueWad), liabilitiesWad: storedWad(obligation.payoutBorrowedValueWad) },
  };
  return {
    health,
    depositedValueWad: storedWad(obligation.depositedValueWad),
    borrowedValueWad: storedWad(obligation.borrowedValueWad),
    allowedBorrowValueWad: storedWad(obligation.allowedBorrowValueWad),
    unhealthyBorrowValueWad: storedWad(obligation.unhealthyBorrowValueWad),
    liquidationBorrowedValueWad: storedWad(obligation.liquidationBorrowedValueWad),
    /** Σ collateral × threshold at the borrowing-power prices (the refresh's first pass): with
     *  `health.initial`, the margin band the soft zone and health triggers are measured in. */
    conservativeThresholdValueWad: storedWad(obligation.conservativeThresholdValueWad),
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
  const level = storedWad(order.thresholdWad);
  // `Wad::checked_mul`: None (no trigger) past u128.
  const mulWad = (a: bigint, b: bigint, up: boolean) => {
    const product = divRound(a * b, WAD, up);
    return product < 1n << 128n ? product : undefined;
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
  if (bps >= 10_000) return divRound(debtWad, WAD, true);
  return (debtWad * BigInt(bps)) / 10_000n / WAD;
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
            thresholdWad: storedWad(order.thresholdWad),
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

// ---- The insurance fund (state::insurance). ----

export const insuranceFundAddress = (reserve: Address) => pda(['insurance_fund', reserve]);
export const insuranceVaultAddress = (reserve: Address) => pda(['insurance_vault', reserve]);
export const insuranceStakeAddress = (fund: Address, owner: Address) => pda(['insurance_stake', fund, owner]);

/** A reserve's insurance fund as a reader needs it: its size, what a share is worth, what is
 *  asked out, and what it still owes the reserve for written-off debt (`settle_insurance`). */
export function readInsuranceFund(fund: generated.InsuranceFund) {
  const shareValueWad = fund.totalShares === 0n ? 0n : (fund.assets * WAD) / fund.totalShares;
  return {
    assets: fund.assets,
    totalShares: fund.totalShares,
    /** Tokens per share (Wad), rounded down as `InsuranceFund::value_of` rounds. */
    shareValueWad,
    pendingShares: fund.pendingShares,
    owedToReserve: fund.owedToReserve,
    incomeTotal: fund.incomeTotal,
    lossesPaidTotal: fund.lossesPaidTotal,
    unstakeCooldownSecs: fund.unstakeCooldownSecs,
    maxSlashBps: fund.maxSlashBps,
  };
}

/** Tokens `shares` of the fund are worth now, as the program's `InsuranceFund::value_of`
 *  (rounded down), and when a stake's request may be unstaked (0: no request). */
export function insuranceStakeValue(fund: generated.InsuranceFund, stake: generated.InsuranceStake) {
  const value = (shares: bigint) => (fund.totalShares === 0n ? 0n : (shares * fund.assets) / fund.totalShares);
  return {
    shares: stake.shares,
    value: value(stake.shares),
    pendingShares: stake.pendingShares,
    pendingValue: value(stake.pendingShares),
    unstakeAt: stake.pendingShares === 0n ? 0n : stake.requestedAt + BigInt(fund.unstakeCooldownSecs),
  };
}

// ---- Crisis controls (state::policy, state::timelock). ----

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

/** Bounds of a `MarketPolicy` and of the outflow window (the program's `MAX_*`). */
export const MAX_TIMELOCK_SECS = 30 * 86_400;
export const MAX_GUARDIAN_PAUSE_SECS = 7 * 86_400;
export const MAX_LISTING_RAMP_SECS = 90 * 86_400;
export const MAX_OUTFLOW_WINDOW_SECS = 7 * 86_400;
/** A queued change may be executed from its `eta` until this much later (`CHANGE_GRACE_SECS`). */
export const CHANGE_GRACE_SECS = 14 * 86_400;

/** No crisis controls (the program's `MarketPolicy::OFF`): every config change applies at once,
 *  new reserves have their full caps, no risk step. For tests and devnets. */
export const POLICY_OFF: generated.MarketPolicy = { timelockSecs: 0, guardianPauseSecs: 0, listingRampSecs: 0, maxRiskStepBps: 0, padding: new Uint8Array(2) };
/** The deploy tools' default (`MarketPolicy::RECOMMENDED`): a 2-day timelock, guardian pauses
 *  of 1 day, caps ramped in over 7 days, LTV and threshold steps of at most 5 points. */
export const POLICY_RECOMMENDED: generated.MarketPolicy = {
  timelockSecs: 2 * 86_400,
  guardianPauseSecs: 86_400,
  listingRampSecs: 7 * 86_400,
  maxRiskStepBps: 500,
  padding: new Uint8Array(2),
};
/** The default key, as `LendingMarket.guardian` and `init_lending_market`'s `guardian` take it: no guardian. */
export const NO_GUARDIAN = DEFAULT_ADDRESS as Address;

/** A market's policy, decoded from `LendingMarket.policyBytes` (its fields in order,
 *  little-endian, as `LendingMarket::policy` reads them: `MarketPolicy`'s Borsh layout). */
export function marketPolicyOf(market: Pick<generated.LendingMarket, 'policyBytes'>): generated.MarketPolicy {
  return generated.getMarketPolicyDecoder().decode(Uint8Array.from(market.policyBytes));
}

/** Whether the program's `MarketPolicy::validate` accepts `policy` (else it refuses it with
 *  `InvalidMarketPolicy`): every bound in range, and with a guardian, a pause above 0. */
export function isValidMarketPolicy(policy: generated.MarketPolicyArgs, hasGuardian: boolean): boolean {
  return (
    policy.timelockSecs <= MAX_TIMELOCK_SECS &&
    policy.guardianPauseSecs <= MAX_GUARDIAN_PAUSE_SECS &&
    policy.listingRampSecs <= MAX_LISTING_RAMP_SECS &&
    policy.maxRiskStepBps <= 10_000 &&
    Array.from(policy.padding).every((byte) => byte === 0) &&
    (!hasGuardian || policy.guardianPauseSecs > 0)
  );
}

/** A queued change of `market` (`QueuedChange` PDA `["change", market, id as u64 LE]`); the
 *  next one queued gets `LendingMarket.nextChangeId`. */
export const queuedChangeAddress = (market: Address, id: bigint | number) => {
  const le = new Uint8Array(8);
  new DataView(le.buffer).setBigUint64(0, BigInt(id), true);
  return pda(['change', market, le]);
};

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

const U64_MAX = 2n ** 64n - 1n;

const I64_MAX = 2n ** 63n - 1n;
const min = (a: bigint, b: bigint) => (a < b ? a : b);

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
export function outflowRoom(
  reserve: Pick<
    generated.Reserve,
    | 'config'
    | 'outflowUsed'
    | 'outflowCredit'
    | 'outflowUpdatedAt'
    | 'outflowBase'
    | 'outflowBaseAt'
    | 'availableAmount'
    | 'flashLoanAmount'
    | 'insuranceReceivable'
  >,
  now: bigint | number,
): OutflowRoom {
  const { outflowLimitBps, outflowWindowSecs, outflowFloor } = reserve.config;
  if (outflowLimitBps === 0) return { available: U64_MAX, capacity: U64_MAX, fullInSecs: 0n };
  const at = BigInt(now);
  const window = BigInt(outflowWindowSecs);
  // `outflow_capacity_of`: the share of a base, rounded down, or the floor when larger.
  const capacityOf = (base: bigint) => {
    const share = (base * BigInt(outflowLimitBps)) / 10_000n;
    return share > outflowFloor ? share : outflowFloor;
  };
  // `outflow_decayed`: less the capacity per window since the last count (or the value per
  // window, when larger: nothing outlives its window), at most a window's worth.
  const since = at - reserve.outflowUpdatedAt;
  const elapsed = since < 0n ? 0n : since > window ? window : since;
  const decayed = (value: bigint, capacity: bigint) => {
    const rate = capacity > value ? capacity : value;
    let gone = (rate * elapsed) / (window > 1n ? window : 1n);
    if (gone > U64_MAX) gone = U64_MAX;
    return value > gone ? value - gone : 0n;
  };
  // `outflow_now`: the count and credit decayed at the stored base's capacity; the base taken
  // again when the bucket is empty or a window has passed since it was.
  const storedCapacity = capacityOf(reserve.outflowBase);
  const used = decayed(reserve.outflowUsed, storedCapacity);
  const credit = decayed(reserve.outflowCredit, storedCapacity);
  const windowOver = at >= min(reserve.outflowBaseAt + window, I64_MAX); // i64 saturating add
  let base = reserve.outflowBase;
  if ((used === 0n && credit === 0n) || windowOver) {
    // `liquidity_on_hand`: u64 checked adds.
    const idleAndFlash = reserve.availableAmount + reserve.flashLoanAmount;
    if (idleAndFlash > U64_MAX) throw new Error('MathOverflow');
    const onHand = idleAndFlash + reserve.insuranceReceivable;
    if (onHand > U64_MAX) throw new Error('MathOverflow');
    base = onHand > credit ? onHand - credit : 0n;
  }
  const capacity = capacityOf(base);
  const fullInSecs = capacity === 0n ? 0n : min((used * window + capacity - 1n) / capacity, U64_MAX);
  const left = capacity > used ? capacity - used : 0n;
  return { available: min(left + credit, U64_MAX), capacity, fullInSecs };
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
