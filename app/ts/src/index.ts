// The Solvent TypeScript client: what the IDL cannot say.
//
// - `generated/`: the typed @solana/kit client Codama renders from idl/solvent.json
//   (`npm run generate`), re-exported here.
// - `anchorProgram()`: the same IDL in @anchor-lang/core's `Program` (accounts decode,
//   instructions build, events parse).
// - PDAs, "refresh then act" sequences with the compute-unit limit they need, an obligation
//   read into a position with the program's own rounding, and program errors by name.
import { ERROR_CLASSES, type ErrorClass } from './error-classes.ts';
import { AnchorProvider, BorshCoder, EventParser, Program, type Idl } from '@anchor-lang/core';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import {
  AccountRole,
  address,
  getAddressEncoder,
  getProgramDerivedAddress,
  type Address,
  type Instruction,
} from '@solana/kit';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as generated from '../generated/index.ts';

export * from '../generated/index.ts';

export const IDL = JSON.parse(readFileSync(fileURLToPath(new URL('../../idl/solvent.json', import.meta.url)), 'utf8')) as Idl & {
  errors: { code: number; name: string; msg: string }[];
};
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

/** The IDL in @anchor-lang/core's Program. Building instructions and decoding need no network; the
 *  connection is only used if you call `.rpc()` or fetch through it. */
export function anchorProgram(connection = new Connection('http://127.0.0.1:8899')): Program {
  const wallet = Keypair.generate();
  const provider = new AnchorProvider(
    connection,
    {
      publicKey: wallet.publicKey,
      signTransaction: async (tx) => tx,
      signAllTransactions: async (txs) => txs,
    },
    {},
  );
  return new Program(IDL, provider);
}

/** Events in a transaction's log lines, decoded with the IDL. */
export function parseEvents(logs: string[]): { name: string; data: Record<string, unknown> }[] {
  const parser = new EventParser(new PublicKey(PROGRAM_ID), new BorshCoder(IDL));
  return [...parser.parseLogs(logs)];
}

/** A web3.js v1 instruction (what Anchor's Program builds) as a @solana/kit instruction. */
export function fromWeb3Instruction(ix: {
  programId: PublicKey;
  keys: { pubkey: PublicKey; isSigner: boolean; isWritable: boolean }[];
  data: Uint8Array;
}): Instruction {
  return {
    programAddress: address(ix.programId.toBase58()),
    accounts: ix.keys.map((key) => ({
      address: address(key.pubkey.toBase58()),
      role: key.isSigner
        ? key.isWritable
          ? AccountRole.WRITABLE_SIGNER
          : AccountRole.READONLY_SIGNER
        : key.isWritable
          ? AccountRole.WRITABLE
          : AccountRole.READONLY,
    })),
    data: new Uint8Array(ix.data),
  };
}

export { ERROR_CLASSES, type ErrorClass } from './error-classes.ts';

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

/** Compute units a refresh-then-act transaction needs: measured costs (README's compute table)
 *  with headroom, so clients need not guess. */
export function computeUnitsFor(reserves: number, positions: number, action = 30_000): number {
  return 5_000 + 5_000 * reserves + 3_500 * positions + action;
}

/** Refresh every reserve the obligation (and the action) touches, refresh the obligation (of
 *  `market`), then act: the order borrow, withdraw, liquidate and set_obligation_emode require,
 *  in one transaction. */
export async function refreshThenAct(
  market: Address,
  obligationKey: Address,
  obligation: generated.Obligation | undefined,
  oracleOf: (reserve: Address) => Address,
  actionReserves: Address[],
  action: Instruction,
): Promise<Instruction[]> {
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

/** Instructions that check the obligation's cached values are still current: they take its
 * position reserves (deposits, then borrows) as remaining accounts. */
const CHECKS_VALUATION = [
  generated.BORROW_DISCRIMINATOR,
  generated.WITHDRAW_DISCRIMINATOR,
  generated.LIQUIDATE_DISCRIMINATOR,
  generated.SET_OBLIGATION_EMODE_DISCRIMINATOR,
];
/** Instructions that change debt charged against an isolation debt ceiling: they take the
 * isolated collateral reserve writable. */
const UPDATES_ISOLATED_DEBT = [
  generated.BORROW_DISCRIMINATOR,
  generated.REPAY_DISCRIMINATOR,
  generated.LIQUIDATE_DISCRIMINATOR,
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
 * `borrow`, `withdraw`, `liquidate` and `set_obligation_emode` take the obligation's position
 * reserves; the debt counters (`debtCounters`) come writable: the isolated collateral reserve
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

function liquidityForShares(reserve: generated.Reserve, shares: bigint): bigint {
  if (reserve.collateralSupply === 0n) return 0n;
  const onHand = (reserve.availableAmount + reserve.flashLoanAmount) * WAD;
  const total = onHand + storedWad(reserve.borrowedAmountWad) - storedWad(reserve.accumulatedProtocolFeesWad);
  return (total * shares) / reserve.collateralSupply;
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
  };
}
