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
import {
  DEBT_UNITS_PER_QUOTE,
  TIER_ISOLATED_COLLATERAL,
  WAD,
  borrowCount,
  debtValue,
  depositCount,
  healthFactorWad,
  isUnhealthy,
  liquidationPrice,
  marketEmode,
  readWad,
  refreshObligation,
  optional,
  refusal,
  totalLiquidity,
  checkCollateralTier,
  checkDebtTier,
  debtUnits,
  isIsolated,
  positionTier,
  programErrorNamed,
  withinValueCap,
  type Health,
  type HealthKind,
  type MarketView,
  type OraclePrice,
} from './position.ts';

export * from '../generated/index.ts';
// Builders with every account resolved from the reserve and the market (`deposit`, `borrow`,
// `actions`, …) and the market scan (`fetchMarketObligations`, …).
export * from './actions.ts';
export * from './scan.ts';
// The program's position math in bigint: refreshObligation, maxBorrow, maxWithdraw,
// liquidationPrice, quoteLiquidation, the health engine and the deleveraging rules.
export * from './position.ts';
export * from './simulate.ts';
// One-transaction leverage around a flash loan (`app/src/leverage.rs` in TypeScript).
export * from './leverage.ts';

/** The program's IDL (idl/solvent.json), as an object. */
export { IDL } from './idl.ts';
export const PROGRAM_ID = address(IDL.address);
export const PYTH_RECEIVER_PROGRAM_ID = address('rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ');
export const TOKEN_PROGRAM_ID = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
export const COMPUTE_BUDGET_PROGRAM_ID = address('ComputeBudget111111111111111111111111111111');
export const ORACLE_SOURCE_PYTH_LEGACY = 0;
export const ORACLE_SOURCE_PYTH_PULL = 1;

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
export const storedWad = readWad;
/** `Reserve::total_liquidity` (`totalLiquidity`). */
export const totalLiquidityWad = (reserve: generated.Reserve) => totalLiquidity(reserve);
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

/** `refresh_obligation` of `obligation` (of `market`) with its position reserves `positions`
 *  after it, read-only, in the obligation's order (`obligationReserves`). */
export function refreshObligationInstruction(obligation: Address, market: Address, positions: readonly Address[]): Instruction {
  const refresh = generated.getRefreshObligationInstruction({ obligation, lendingMarket: market });
  return { ...refresh, accounts: [...refresh.accounts, ...positions.map((address) => ({ address, role: AccountRole.READONLY }))] };
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
  return [
    setComputeUnitLimitInstruction(computeUnitsFor(reserves.length, positions.length)),
    ...reserves.map((reserve) => generated.getRefreshReserveInstruction({ reserve, oracle: oracleOf(reserve) })),
    refreshObligationInstruction(obligationKey, market, positions),
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
  const o = structuredClone(obligation);
  if (action.kind === 'deposit') return refusal(() => checkCollateralTier(o, action.reserve, target.config));
  // The tier the borrow's refresh will find.
  o.tierFlags = positionTier(o, (_, key) => reserveOf(key));
  return refusal(() => {
    checkDebtTier(o, action.reserve, target.config);
    if (action.amount === undefined) return;
    const units = debtUnits(debtValue(target, action.amount * WAD));
    if (units === undefined) throw programErrorNamed('MathOverflow');
    if (isIsolated(o)) {
      const isolated = reserveOf(o.deposits[0].depositReserve);
      if (withinValueCap(isolated.isolatedDebt, units, isolated.config.isolationDebtCeilingValue) === undefined) throw programErrorNamed('IsolationDebtCeilingExceeded');
    }
    // Counted in the group even while it is disabled (as the program does).
    if (o.emodeGroup !== 0 && groupDebt && withinValueCap(groupDebt.debt, units, groupDebt.debtCapValue) === undefined) throw programErrorNamed('EmodeDebtCapExceeded');
  });
}

// ---- Position math: the program's own rules in bigint (`./position.ts`). ----

/** An obligation read into a position (`readPosition`). */
export type Position = {
  /** The program's health engine output by kind (`ObligationValues::health`). */
  health: Record<HealthKind, Health>;
  /** Each collateral with the weights it was valued with (e-mode, dynamic margin and the size
   *  premium included) and its reserve's volatility estimate (annualised fraction). */
  deposits: { reserve: Address; shares: bigint; valueWad: bigint; loanToValueBps: number; liquidationThresholdBps: number; annualVolatility: number }[];
  borrows: { reserve: Address; debtWad: bigint; valueWad: bigint }[];
  depositedValueWad: bigint;
  borrowedValueWad: bigint;
  allowedBorrowValueWad: bigint;
  unhealthyBorrowValueWad: bigint;
  liquidationBorrowedValueWad: bigint;
  /** Maintenance assets / liabilities, rounded down (`health_factor`); undefined without debt. */
  healthFactor: number | undefined;
  liquidatable: boolean;
  /** Per collateral, the exact `liquidationPrice` (oracle ticks; undefined where none). */
  liquidationPrices: { reserve: Address; price: OraclePrice | undefined }[];
  /** With one collateral asset: its `liquidationPrices` entry in quote per whole token. */
  liquidationPrice: number | undefined;
};

/** A reserve's volatility estimate, annualised (a fraction: 0.8 is 80%), from refresh_reserve. */
export function annualVolatility(reserve: Pick<generated.Reserve, 'dynamic'>): number {
  const rate = Number(readWad(reserve.dynamic.varianceRateWad)) / 1e18;
  return Math.sqrt(rate * 31_536_000);
}

/** E-mode group `group` (1..=8) of a market, decoded from `LendingMarket.emodeGroups` (8 bytes
 *  per group, as `LendingMarket::emode` reads them); throws `InvalidEmodeGroup` past 8. */
export function emodeGroupOf(market: Pick<generated.LendingMarket, 'emodeGroups'>, group: number): generated.EmodeGroup {
  return marketEmode(market, group).params;
}

/** An obligation valued at its reserves' last refreshed state by the program's own
 *  `Obligation::revalue` (`./position.ts`): in its e-mode group, with the group's parameters
 *  from `market` when given (what the next refresh reads), else as its last refresh read them.
 *  Throws the program's error where refresh_obligation would fail (`MathOverflow`), and a
 *  RangeError for a reserve of the obligation missing from `reserves`. */
export function readPosition(obligation: generated.Obligation, reserves: Map<Address, generated.Reserve>, market?: generated.LendingMarket): Position {
  for (const reserve of obligationReserves(obligation)) {
    if (!reserves.has(reserve)) throw new RangeError(`reserve ${reserve} of the obligation was not given`);
  }
  // Without the market, a stand-in holding the group's parameters as the obligation stored them.
  const groups = new Uint8Array(64);
  if (obligation.emodeGroup >= 1 && obligation.emodeGroup <= 8) {
    const p = obligation.emodeParams;
    const fields = [p.loanToValueBps, p.liquidationThresholdBps, p.liquidationBonusBps, p.maxLiquidationBonusBps];
    fields.forEach((field, i) => groups.set([field & 0xff, field >> 8], (obligation.emodeGroup - 1) * 8 + 2 * i));
  }
  const view: MarketView = {
    market: market ?? ({ emodeGroups: groups } as unknown as generated.LendingMarket),
    reserves,
    emodeDebts: new Map(),
    slot: obligation.lastUpdateSlot,
    now: 0n,
  };
  const { obligation: refreshed, values } = refreshObligation(view, obligation);
  const deposits = refreshed.deposits.slice(0, depositCount(refreshed)).map((d, i) => ({
    reserve: d.depositReserve,
    shares: d.depositedShares,
    valueWad: readWad(d.marketValueWad),
    loanToValueBps: refreshed.collateralWeightsBps[i][0],
    liquidationThresholdBps: refreshed.collateralWeightsBps[i][1],
    annualVolatility: annualVolatility(reserves.get(d.depositReserve)!),
  }));
  const borrows = refreshed.borrows
    .slice(0, borrowCount(refreshed))
    .map((b) => ({ reserve: b.borrowReserve, debtWad: readWad(b.borrowedAmountWad), valueWad: readWad(b.marketValueWad) }));
  // A collateral the search cannot price does not hide the others.
  const liquidationPrices = deposits.map((d) => ({ reserve: d.reserve, price: optional(() => liquidationPrice(view, obligation, d.reserve)) }));
  const factor = healthFactorWad(values);
  const single = liquidationPrices.length === 1 ? liquidationPrices[0].price : undefined;
  const { initial, maintenance } = values.health;
  return {
    health: values.health,
    deposits,
    borrows,
    depositedValueWad: values.depositedValueWad,
    borrowedValueWad: values.borrowedValueWad,
    allowedBorrowValueWad: initial.assetsWad,
    unhealthyBorrowValueWad: maintenance.assetsWad,
    liquidationBorrowedValueWad: maintenance.liabilitiesWad,
    healthFactor: factor === undefined ? undefined : Number(factor) / 1e18,
    liquidatable: isUnhealthy(values),
    liquidationPrices,
    liquidationPrice: single === undefined ? undefined : Number(single.mantissa) * 10 ** single.exponent,
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

