// One-transaction leverage on an ordinary obligation, around a flash loan: the TypeScript side
// of `app/src/leverage.rs`, step for step.
//
// - open / lever up: flash-borrow the debt asset, swap it for collateral, deposit, refresh,
//   borrow enough to repay the flash loan and its fee, flash-repay;
// - deleverage: flash-borrow the debt asset, repay debt, refresh, withdraw collateral, swap it
//   for the debt asset, flash-repay;
// - close: the same with the whole debt and all collateral; the user keeps what is left.
//
// Amounts come from the program's own rules (`./position.ts`) on copies of the accounts as a
// simulation of the refresh leaves them (`simulatePosition`), so a plan's prediction is what the
// program books, to the base unit, for a transaction in that slot. The swap is a
// `SwapProvider`: a quote and its instructions (a DEX or an aggregator; `OracleSwapStandIn` in
// tests). The transaction is large: send it with the provider's address lookup tables
// (`sendSolventTransaction({ addressLookupTables })`).
//
// Default entry: @solana/kit only, no Node built-in.
import { type Address, type AddressesByLookupTableAddress, type Instruction, type TransactionSigner } from '@solana/kit';
import { getTransferCheckedInstruction } from '@solana-program/token';
import * as generated from '../generated/index.ts';
import { reserveKeys, type ReserveKeys } from './actions.ts';
import { debtCounters, marketAuthorityAddress, obligationReserves, refreshObligationInstruction, withPositionReserves } from './index.ts';
import {
  U64_MAX,
  Wad,
  amountForValue,
  borrowFee,
  emodeRiskParams,
  findBorrow,
  findDeposit,
  firstTrue,
  flashBorrow,
  highestUnhealthyPrice,
  flashLoanFee,
  isUnhealthy,
  marketValue,
  optional,
  readWad,
  redeemAmount,
  refusal,
  reserveBorrow,
  reserveDeposit,
  reserveRedeem,
  revalue,
  storeWad,
  withinBorrowingPower,
  type Emode,
  type ObligationValues,
  type OraclePrice,
} from './position.ts';
import type { SimulatedPosition } from './simulate.ts';

/** Leverage in basis points of 1x: 30_000 is 3x. */
export const ONE_X_BPS = 10_000n;
/** Kept below the theoretical 1 / (1 − LTV): fees, slippage and one price tick must not turn
 *  the position's first borrow into `BorrowTooLarge`. */
export const DEFAULT_SAFETY_MARGIN_BPS = 2_500n;

/** One side of the position: the reserve (as the refresh leaves it) and the user's token account
 *  of its asset. */
export type LeverageSide = { keys: ReserveKeys; state: generated.Reserve; userAccount: Address };

/** Where the swap in the middle comes from. `quote` must be monotone in its input (it is
 *  searched); `instructions` take `amountIn` from the user's `from` account and pay `amountOut`
 *  into the user's `to` account. */
export interface SwapProvider {
  quote(from: LeverageSide, to: LeverageSide, amountIn: bigint): bigint;
  instructions(from: LeverageSide, to: LeverageSide, amountIn: bigint, amountOut: bigint, user: TransactionSigner): Instruction[];
  /** Lookup tables the swap's accounts are in (merged into the plan's). */
  addressLookupTables?: AddressesByLookupTableAddress;
}

/** `TransferChecked` under the mint's token program (SPL Token or Token-2022). */
const transferChecked = (tokenProgram: Address, source: Address, mint: Address, destination: Address, authority: TransactionSigner, amount: bigint, decimals: number) =>
  getTransferCheckedInstruction({ source, mint, destination, authority, amount, decimals }, { programAddress: tokenProgram });

/** A stand-in for a DEX, for tests and demos only: a market maker trading at the oracle price
 *  less `feeBps`, by two token transfers in the same transaction (the maker signs too). */
export class OracleSwapStandIn implements SwapProvider {
  constructor(
    readonly maker: TransactionSigner,
    /** The maker's token accounts, by mint. */
    readonly makerAccounts: ReadonlyMap<Address, Address>,
    readonly feeBps: bigint,
    /** Lookup tables to send the plans with (a real swap brings its own). */
    readonly addressLookupTables?: AddressesByLookupTableAddress,
  ) {}

  quote(from: LeverageSide, to: LeverageSide, amountIn: bigint): bigint {
    const value = Wad.mulBps(marketValue(from.state, Wad.fromU64(amountIn), 'down'), 10_000n - this.feeBps, 'down')!;
    return Wad.toU64(amountForValue(to.state, value, 'down'), 'down') ?? 0n;
  }

  instructions(from: LeverageSide, to: LeverageSide, amountIn: bigint, amountOut: bigint, user: TransactionSigner): Instruction[] {
    const account = (mint: Address) => {
      const found = this.makerAccounts.get(mint);
      if (!found) throw new RangeError(`the maker holds no account of ${mint}`);
      return found;
    };
    return [
      transferChecked(from.keys.tokenProgram, from.userAccount, from.keys.mint, account(from.keys.mint), user, amountIn, from.keys.decimals),
      transferChecked(to.keys.tokenProgram, account(to.keys.mint), to.keys.mint, to.userAccount, this.maker, amountOut, to.keys.decimals),
    ];
  }
}

/** Why a plan cannot be built (`LeverageError` of the Rust builder). */
export type LeverageErrorReason = 'TargetTooHigh' | 'TargetBelowOne' | 'OtherPositions' | 'NoEquity' | 'NothingToDo' | 'Unworkable';

export class LeverageError extends Error {
  constructor(
    readonly reason: LeverageErrorReason,
    message: string,
    /** For `TargetTooHigh`: the most the builder accepts, in bps of 1x. */
    readonly maximumBps?: bigint,
  ) {
    super(message);
    this.name = 'LeverageError';
  }
}

const unworkable = (why: string) => new LeverageError('Unworkable', `cannot build the transaction: ${why}`);
const must = <T>(value: T | undefined, why: string): T => {
  if (value === undefined) throw unworkable(why);
  return value;
};

/** `LTV / w` of a collateral against a debt of borrow weight `w`, as the obligation weighs
 *  both, rounded down. */
export const effectiveLoanToValueBps = (loanToValueBps: number, borrowWeightBps: number) => BigInt(Math.floor((loanToValueBps * 10_000) / borrowWeightBps));
/** The largest leverage the builder accepts: 1 / (1 − LTV) less the margin, in bps. */
export function maxLeverageBps(loanToValueBps: bigint): bigint {
  const theoretical = (ONE_X_BPS * 10_000n) / (10_000n - loanToValueBps);
  return theoretical > DEFAULT_SAFETY_MARGIN_BPS ? theoretical - DEFAULT_SAFETY_MARGIN_BPS : 0n;
}

/** The position a plan leads to, valued as refresh_obligation would value it. */
export type PositionSummary = {
  collateralShares: bigint;
  collateralAmount: bigint;
  debtWad: bigint;
  values: ObligationValues;
  /** Collateral value / equity, bps of 1x (0 without debt or equity). */
  leverageBps: bigint;
  /** The highest collateral oracle price at which it is liquidatable (other prices as now). */
  liquidationPrice: OraclePrice | undefined;
};

/** What a leverage transaction does, with every amount it moves. */
export type LeveragePlan = {
  /** A flash-loaned lever-up (open, add), a partial deleverage, or the close. */
  kind: 'leverUp' | 'deleverage' | 'close';
  instructions: Instruction[];
  addressLookupTables?: AddressesByLookupTableAddress;
  flashAmount: bigint;
  flashFee: bigint;
  swapIn: bigint;
  swapOut: bigint;
  depositAmount: bigint;
  borrowAmount: bigint;
  borrowFee: bigint;
  repayAmount: bigint;
  withdrawShares: bigint;
  withdrawAmount: bigint;
  /** Change of the user's collateral-asset and debt-asset token balances. */
  collateralBalanceChange: bigint;
  debtBalanceChange: bigint;
  after: PositionSummary;
};

const COLLATERAL_KEY = '11111111111111111111111111111112' as Address;
const DEBT_KEY = '11111111111111111111111111111113' as Address;
const DEFAULT_ADDRESS = '11111111111111111111111111111111' as Address;

/** A one-collateral, one-debt position valued by the program's own `revalue` (on an obligation
 *  in `emode` holding just these two positions). */
function valuesAt(emode: Emode, collateral: generated.Reserve, shares: bigint, debtReserve: generated.Reserve, debt: bigint): ObligationValues | undefined {
  const obligation = generated.getObligationDecoder().decode(new Uint8Array(generated.getObligationSize()));
  [obligation.emodeGroup, obligation.emodeParams] = [emode.group, emode.params];
  if (shares > 0n) obligation.deposits[0] = { depositReserve: COLLATERAL_KEY, depositedShares: shares, marketValueWad: storeWad(0n) };
  if (debt > 0n) obligation.borrows[0] = { borrowReserve: DEBT_KEY, cumulativeBorrowIndexWad: debtReserve.cumulativeBorrowIndexWad, borrowedAmountWad: storeWad(debt), marketValueWad: storeWad(0n) };
  return optional(() => revalue(obligation, (_, key) => (key === COLLATERAL_KEY ? collateral : debtReserve)));
}

function liquidationPriceOf(emode: Emode, collateral: generated.Reserve, debtReserve: generated.Reserve, shares: bigint, debt: bigint): OraclePrice | undefined {
  if (debt === 0n || shares === 0n) return undefined;
  return highestUnhealthyPrice(collateral, (priced) => {
    const values = valuesAt(emode, priced, shares, debtReserve, debt);
    return values === undefined || isUnhealthy(values);
  });
}

/** The position's values, leverage and liquidation price, in `emode`. */
export function summarize(emode: Emode, collateral: generated.Reserve, debtReserve: generated.Reserve, shares: bigint, debt: bigint): PositionSummary {
  const values = must(valuesAt(emode, collateral, shares, debtReserve, debt), 'the position cannot be valued');
  const equity = values.depositedValueWad - values.borrowedValueWad;
  const leverageBps = equity > 0n && debt > 0n ? (Wad.mulRatio(values.depositedValueWad, ONE_X_BPS, equity, 'down') ?? 0n) : 0n;
  return {
    collateralShares: shares,
    collateralAmount: optional(() => redeemAmount(collateral, shares)) ?? 0n,
    debtWad: debt,
    values,
    leverageBps,
    liquidationPrice: liquidationPriceOf(emode, collateral, debtReserve, shares, debt),
  };
}

/** Smallest borrow whose payout (less the origination fee) covers `owed`: [amount, fee]. */
export function borrowCovering(reserve: generated.Reserve, owed: bigint): [bigint, bigint] | undefined {
  const feeOf = (amount: bigint) => optional(() => borrowFee(reserve, amount));
  const feeBps = BigInt(reserve.config.borrowFeeBps);
  const estimate = (owed * 10_000n + (10_000n - feeBps) - 1n) / (10_000n - feeBps);
  if (estimate > U64_MAX) return undefined;
  let amount = estimate > 2n ? estimate - 2n : 0n;
  for (;;) {
    const fee = feeOf(amount);
    if (fee === undefined || fee > amount) return undefined;
    if (amount - fee >= owed) return [amount, fee];
    amount += 1n;
    if (amount > U64_MAX) return undefined;
  }
}

const leverageAtMost = (plan: LeveragePlan | undefined, target: bigint) => plan !== undefined && plan.after.leverageBps <= target;

/** What the builder reads: the market, both sides, the obligation, the owner; from a
 *  `simulatePosition` of the obligation with both reserves (`reserves: [collateral, debt]`). */
export class LeverageContext {
  private constructor(
    readonly market: Address,
    readonly marketAuthority: Address,
    readonly collateral: LeverageSide,
    readonly debt: LeverageSide,
    readonly obligationKey: Address,
    readonly obligation: generated.Obligation,
    readonly owner: TransactionSigner,
  ) {}

  /** The context for the pair (`collateral`, `debt`) of a simulated position. Refuses
   *  (`OtherPositions`) an obligation holding other reserves, or collateral as debt. */
  static async fromSimulation(
    simulated: SimulatedPosition,
    args: { owner: TransactionSigner; collateral: { reserve: Address; userAccount: Address }; debt: { reserve: Address; userAccount: Address } },
  ): Promise<LeverageContext> {
    const side = (reserve: Address, userAccount: Address): LeverageSide => {
      const state = simulated.view.reserves.get(reserve);
      if (!state) throw unworkable(`reserve ${reserve} was not simulated (simulatePosition's reserves)`);
      return { keys: reserveKeys(reserve, state), state, userAccount };
    };
    const [collateral, debt] = [side(args.collateral.reserve, args.collateral.userAccount), side(args.debt.reserve, args.debt.userAccount)];
    const obligation = simulated.obligation.data;
    const allowed = [args.collateral.reserve, args.debt.reserve];
    if (obligationReserves(obligation).some((key) => !allowed.includes(key)) || findBorrow(obligation, args.collateral.reserve) !== undefined || findDeposit(obligation, args.debt.reserve) !== undefined) {
      throw new LeverageError('OtherPositions', 'the obligation holds other assets; the builder handles one collateral and one debt');
    }
    const market = obligation.lendingMarket;
    return new LeverageContext(market, await marketAuthorityAddress(market), collateral, debt, simulated.obligation.address, obligation, args.owner);
  }

  private emode(): Emode {
    return { group: this.obligation.emodeGroup, params: this.obligation.emodeParams };
  }

  private collateralShares(): bigint {
    const index = findDeposit(this.obligation, this.collateral.keys.reserve);
    return index === undefined ? 0n : this.obligation.deposits[index].depositedShares;
  }

  private debtWad(): bigint {
    const slot = findBorrow(this.obligation, this.debt.keys.reserve);
    return slot === undefined ? 0n : readWad(this.obligation.borrows[slot].borrowedAmountWad);
  }

  /** The position now, valued as a refresh in this slot would. */
  current(): PositionSummary {
    return summarize(this.emode(), this.collateral.state, this.debt.state, this.collateralShares(), this.debtWad());
  }

  /** The most `adjust` accepts: 1 / (1 − LTV / w) less the safety margin, bps of 1x. */
  maxLeverageBps(): bigint {
    const [collateral, debt] = [emodeRiskParams(this.emode(), this.collateral.state), emodeRiskParams(this.emode(), this.debt.state)];
    return maxLeverageBps(effectiveLoanToValueBps(collateral.loanToValueBps, debt.borrowWeightBps));
  }

  /** Opens or changes the position to `targetLeverageBps`, adding `ownCollateral` of the user's
   *  collateral asset on the way (0 when adjusting). */
  adjust(ownCollateral: bigint, targetLeverageBps: bigint, swap: SwapProvider): LeveragePlan {
    if (targetLeverageBps < ONE_X_BPS) throw new LeverageError('TargetBelowOne', 'target leverage below 1x: close the position instead');
    const maximumBps = this.maxLeverageBps();
    if (targetLeverageBps > maximumBps) {
      const x = (bps: bigint) => (Number(bps) / 10_000).toFixed(2);
      throw new LeverageError('TargetTooHigh', `target leverage ${x(targetLeverageBps)}x is above the maximum ${x(maximumBps)}x for this pair`, maximumBps);
    }
    const current = this.current();
    const collateralValue = current.values.depositedValueWad + marketValue(this.collateral.state, Wad.fromU64(ownCollateral), 'down');
    const debtValue = current.values.borrowedValueWad;
    if (collateralValue <= debtValue) throw new LeverageError('NoEquity', 'the position has no equity left');
    const equity = collateralValue - debtValue;
    const targetDebtValue = must(Wad.mulBps(equity, targetLeverageBps - ONE_X_BPS, 'down'), 'target');
    const toDebtAmount = (value: bigint) => optional(() => Wad.toU64(amountForValue(this.debt.state, value, 'down'), 'down'));
    const plans = new Map<bigint, LeveragePlan | undefined>();
    if (targetDebtValue > debtValue) {
      // Costs come out of equity: the naive flash amount overshoots; the largest whose result
      // stays at or below the target.
      const naive = must(toDebtAmount(targetDebtValue - debtValue), 'flash amount');
      const plan = (flash: bigint) => {
        if (!plans.has(flash)) plans.set(flash, this.tryPlan(() => this.leverUp(ownCollateral, flash, swap)));
        return plans.get(flash);
      };
      if (naive === 0n || !leverageAtMost(plan(1n), targetLeverageBps)) throw new LeverageError('NothingToDo', 'the position is already at the target leverage');
      const best = firstTrue(1n, naive + 1n, (amount) => !leverageAtMost(plan(amount), targetLeverageBps)) - 1n;
      return this.leverUp(ownCollateral, best, swap);
    }
    if (targetDebtValue < debtValue && ownCollateral === 0n) {
      const debt = must(Wad.toU64(this.debtWad(), 'down'), 'debt');
      const naive = must(toDebtAmount(debtValue - targetDebtValue), 'repay');
      const ceiling = naive * 2n < debt - 1n ? naive * 2n : debt - 1n;
      const plan = (repay: bigint) => {
        if (!plans.has(repay)) plans.set(repay, this.tryPlan(() => this.deleverage(repay, false, swap)));
        return plans.get(repay);
      };
      if (ceiling <= 0n || !leverageAtMost(plan(ceiling), targetLeverageBps)) throw unworkable('the target cannot be reached without closing');
      return this.deleverage(firstTrue(0n, ceiling, (amount) => leverageAtMost(plan(amount), targetLeverageBps)), false, swap);
    }
    throw new LeverageError('NothingToDo', 'the position is already at the target leverage');
  }

  /** Repays all debt and withdraws all collateral; the user keeps what the swap does not need.
   *  The repayment settles the whole debt as it is when the transaction runs (`repay` of
   *  2^64 − 1); the flash loan is the debt now plus `interestMargin` base units (default: 1 bps
   *  of the debt, plus 1), for the interest accrued until it lands, and what the repayment does
   *  not use goes back with the flash repayment. */
  close(swap: SwapProvider, interestMargin?: bigint): LeveragePlan {
    const debt = must(Wad.toU64(this.debtWad(), 'up'), 'debt');
    if (debt === 0n) throw new LeverageError('NothingToDo', 'the position has no debt');
    return this.deleverage(debt, true, swap, interestMargin ?? debt / 10_000n + 1n);
  }

  private tryPlan(build: () => LeveragePlan): LeveragePlan | undefined {
    try {
      return build();
    } catch (error) {
      if (error instanceof LeverageError) return undefined;
      throw error;
    }
  }

  private refreshReserves(): Instruction[] {
    return [this.collateral, this.debt].map((side) => generated.getRefreshReserveInstruction({ reserve: side.keys.reserve, oracle: side.keys.oracle }));
  }

  private flashBorrowIx(amount: bigint) {
    const d = this.debt.keys;
    return generated.getFlashBorrowInstruction({ lendingMarket: this.market, reserve: d.reserve, liquidityMint: d.mint, liquidityVault: d.vault, destinationLiquidity: this.debt.userAccount, marketAuthority: this.marketAuthority, tokenProgram: d.tokenProgram, amount });
  }

  private flashRepayIx(amount: bigint) {
    const d = this.debt.keys;
    return generated.getFlashRepayInstruction({ lendingMarket: this.market, reserve: d.reserve, liquidityMint: d.mint, liquidityVault: d.vault, sourceLiquidity: this.debt.userAccount, repayer: this.owner, tokenProgram: d.tokenProgram, amount });
  }

  private async withPositions(action: Instruction, obligation: generated.Obligation): Promise<Instruction> {
    return withPositionReserves(action, obligationReserves(obligation), await debtCounters(action, obligation));
  }

  /** The lever-up plan for a flash loan of `flashAmount` (its instructions: `instructionsFor`). */
  private leverUp(ownCollateral: bigint, flashAmount: bigint, swap: SwapProvider): LeveragePlan {
    const { collateral, debt } = this;
    if (flashAmount === 0n) throw new LeverageError('NothingToDo', 'nothing to borrow');
    const flashFee = must(optional(() => flashLoanFee(debt.state, flashAmount)), 'flash fee');
    const swapOut = swap.quote(debt, collateral, flashAmount);
    const depositAmount = ownCollateral + swapOut;
    const owed = flashAmount + flashFee;
    const [borrowAmount, borrowFee] = must(borrowCovering(debt.state, owed), 'borrow amount');
    const collateralState = structuredClone(collateral.state);
    const shares = must(optional(() => reserveDeposit(collateralState, depositAmount)), 'deposit');
    const debtState = structuredClone(debt.state);
    if (refusal(() => flashBorrow(debtState, flashAmount)) !== undefined) throw unworkable('flash loan exceeds liquidity');
    must(optional(() => reserveBorrow(debtState, borrowAmount)), 'borrow exceeds liquidity or limit');
    const after = summarize(this.emode(), collateralState, debt.state, this.collateralShares() + shares, this.debtWad() + Wad.fromU64(borrowAmount));
    if (!withinBorrowingPower(after.values)) throw unworkable('the borrow would exceed the allowed borrow value');
    return {
      kind: 'leverUp',
      instructions: [],
      flashAmount,
      flashFee,
      swapIn: flashAmount,
      swapOut,
      depositAmount,
      borrowAmount,
      borrowFee,
      repayAmount: 0n,
      withdrawShares: 0n,
      withdrawAmount: 0n,
      collateralBalanceChange: -ownCollateral,
      debtBalanceChange: borrowAmount - borrowFee - owed,
      after,
    };
  }

  private deleverage(repayAmount: bigint, close: boolean, swap: SwapProvider, interestMargin = 0n): LeveragePlan {
    const { collateral, debt } = this;
    if (repayAmount === 0n) throw new LeverageError('NothingToDo', 'nothing to repay');
    const flashAmount = repayAmount + interestMargin;
    const flashFee = must(optional(() => flashLoanFee(debt.state, flashAmount)), 'flash fee');
    const owed = flashAmount + flashFee;
    const held = this.collateralShares();
    // The smallest swap input that pays `owed`.
    let high = 1n;
    while (swap.quote(collateral, debt, high) < owed) {
      if (high * 2n > U64_MAX) throw unworkable('swap input');
      high *= 2n;
    }
    const swapIn = firstTrue(0n, high, (amount) => swap.quote(collateral, debt, amount) >= owed);
    let withdrawShares = held;
    if (!close) {
      const pays = (shares: bigint) => (optional(() => redeemAmount(collateral.state, shares)) ?? -1n) >= swapIn;
      if (!pays(held)) throw unworkable('not enough collateral to cover the repayment');
      withdrawShares = firstTrue(0n, held, pays);
    }
    const collateralState = structuredClone(collateral.state);
    const withdrawAmount = must(optional(() => reserveRedeem(collateralState, withdrawShares)), 'collateral liquidity');
    if (withdrawAmount < swapIn) throw unworkable('the collateral does not cover the repayment');
    const swapOut = swap.quote(collateral, debt, swapIn);
    const debtAfter = close ? 0n : must(Wad.sub(this.debtWad(), Wad.fromU64(repayAmount)), 'repay above debt');
    const after = summarize(this.emode(), collateralState, debt.state, held - withdrawShares, debtAfter);
    if (!withinBorrowingPower(after.values)) throw unworkable('the withdrawal would exceed the allowed borrow value');
    return {
      kind: close ? 'close' : 'deleverage',
      instructions: [],
      flashAmount,
      flashFee,
      swapIn,
      swapOut,
      depositAmount: 0n,
      borrowAmount: 0n,
      borrowFee: 0n,
      repayAmount,
      withdrawShares,
      withdrawAmount,
      collateralBalanceChange: withdrawAmount - swapIn,
      // Flash-borrowed, less the repayment, plus the swap, less the flash repayment.
      debtBalanceChange: flashAmount - repayAmount + swapOut - owed,
      after,
    };
  }

  /** The plan's transaction: its instructions (without a compute-unit limit: size it with
   *  `sizeComputeUnitLimit`) and the swap's lookup tables. */
  async instructionsFor(plan: LeveragePlan, swap: SwapProvider): Promise<LeveragePlan> {
    const { collateral, debt, owner } = this;
    const c = collateral.keys;
    const d = debt.keys;
    const instructions: Instruction[] = [];
    if (plan.kind === 'leverUp') {
      const obligation = structuredClone(this.obligation);
      if (findDeposit(obligation, c.reserve) === undefined) {
        const slot = obligation.deposits.findIndex((p) => p.depositReserve === DEFAULT_ADDRESS);
        obligation.deposits[slot] = { depositReserve: c.reserve, depositedShares: 1n, marketValueWad: storeWad(0n) };
      }
      const borrowIx = generated.getBorrowInstruction({ lendingMarket: this.market, reserve: d.reserve, obligation: this.obligationKey, owner, liquidityMint: d.mint, liquidityVault: d.vault, destinationLiquidity: debt.userAccount, marketAuthority: this.marketAuthority, tokenProgram: d.tokenProgram, amount: plan.borrowAmount });
      instructions.push(
        ...this.refreshReserves(),
        this.flashBorrowIx(plan.flashAmount),
        ...swap.instructions(debt, collateral, plan.flashAmount, plan.swapOut, owner),
        generated.getDepositInstruction({ lendingMarket: this.market, reserve: c.reserve, obligation: this.obligationKey, owner, liquidityMint: c.mint, liquidityVault: c.vault, sourceLiquidity: collateral.userAccount, tokenProgram: c.tokenProgram, amount: plan.depositAmount }),
        refreshObligationInstruction(this.obligationKey, this.market, obligationReserves(obligation)),
        await this.withPositions(borrowIx, obligation),
        this.flashRepayIx(plan.flashAmount),
      );
    } else {
      const close = plan.kind === 'close';
      if (!close) instructions.push(...this.refreshReserves());
      instructions.push(this.flashBorrowIx(plan.flashAmount));
      const repayIx = generated.getRepayInstruction({ reserve: d.reserve, obligation: this.obligationKey, repayer: owner, liquidityMint: d.mint, liquidityVault: d.vault, sourceLiquidity: debt.userAccount, tokenProgram: d.tokenProgram, amount: close ? U64_MAX : plan.repayAmount });
      instructions.push(await this.withPositions(repayIx, this.obligation));
      if (!close) instructions.push(refreshObligationInstruction(this.obligationKey, this.market, obligationReserves(this.obligation)));
      const withdrawIx = generated.getWithdrawInstruction({ lendingMarket: this.market, reserve: c.reserve, obligation: this.obligationKey, owner, liquidityMint: c.mint, liquidityVault: c.vault, destinationLiquidity: collateral.userAccount, marketAuthority: this.marketAuthority, tokenProgram: c.tokenProgram, collateralShares: close ? U64_MAX : plan.withdrawShares });
      instructions.push(close ? withdrawIx : await this.withPositions(withdrawIx, this.obligation));
      instructions.push(...swap.instructions(collateral, debt, plan.swapIn, plan.swapOut, owner), this.flashRepayIx(plan.flashAmount));
    }
    return { ...plan, instructions, addressLookupTables: swap.addressLookupTables };
  }
}

/** Plans (and builds) `adjust`: open or change a position to `targetLeverageBps`. */
export async function planLeverage(context: LeverageContext, ownCollateral: bigint, targetLeverageBps: bigint, swap: SwapProvider): Promise<LeveragePlan> {
  return context.instructionsFor(context.adjust(ownCollateral, targetLeverageBps, swap), swap);
}

/** Plans (and builds) `close` (`interestMargin` as `LeverageContext.close`). */
export async function planClose(context: LeverageContext, swap: SwapProvider, interestMargin?: bigint): Promise<LeveragePlan> {
  return context.instructionsFor(context.close(swap, interestMargin), swap);
}

