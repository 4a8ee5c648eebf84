//! One-transaction leverage on an ordinary obligation, around a flash loan.
//!
//! - open / lever up: flash-borrow the debt asset, swap it for collateral, deposit, refresh,
//!   borrow enough to repay the flash loan and its fee, flash-repay.
//! - deleverage: flash-borrow the debt asset, repay debt, refresh, withdraw collateral, swap it
//!   for the debt asset, flash-repay.
//! - close: the same with the whole debt and all collateral; the user keeps the collateral left.
//!
//! Amounts are computed with the program's own state methods (`Reserve`, `Obligation`, the
//! oracle reader) on copies of the accounts accrued to the transaction's time, so the builder's
//! prediction is what the program books, to the base unit.
use solvent::math::{Rounding, Wad, BPS_DENOMINATOR};
use solvent::oracle::{read_price, CheckedPrice, OraclePrice};
use solvent::state::{Emode, LendingMarket, Obligation, ObligationValues, Reserve, RiskParams};
pub use solvent_client::format_amount;
use solvent_client::{
    first_true, borrow_ix, deposit_ix, flash_borrow_ix, flash_repay_ix, obligation_reserves, refresh_obligation_ix, refresh_reserve_ix, repay_ix,
    with_position_reserves, withdraw_ix, AccountMeta, AnchorPubkey, Chain, Instruction, MarketKeys, Pubkey, ReserveKeys,
};
use std::fmt;

/// Leverage is expressed in basis points of 1x: 30_000 = 3x.
pub const ONE_X_BPS: u64 = 10_000;
/// Kept below the theoretical maximum 1 / (1 − LTV): fees, swap slippage and one price tick
/// must not turn the position's first borrow into `BorrowTooLarge`.
pub const DEFAULT_SAFETY_MARGIN_BPS: u64 = 2_500;

/// One side of the position: a reserve's addresses, its state (as read from chain), the price
/// its oracle gives now, and the user's token account for its asset.
#[derive(Clone)]
pub struct Side {
    pub reserve: ReserveKeys,
    pub state: Reserve,
    pub price: CheckedPrice,
    pub user_account: Pubkey,
}

impl Side {
    /// Quote value of `amount` base units at the oracle price, rounded down.
    pub fn value(&self, amount: u64) -> Wad {
        self.state.market_value(Wad::from_u64(amount), Rounding::Down).expect("value")
    }
}

/// Where the swap in the middle of a leverage transaction comes from (a DEX or aggregator in
/// production; `OracleSwapStandIn` in tests and the demo).
pub trait SwapSource {
    /// Output for exactly `amount_in` of `from`'s asset.
    fn quote(&self, from: &Side, to: &Side, amount_in: u64) -> u64;
    /// Instructions that take `amount_in` from the user's `from` account and pay `amount_out`
    /// into the user's `to` account.
    fn instructions(&self, from: &Side, to: &Side, amount_in: u64, amount_out: u64, user: &Pubkey) -> Vec<Instruction>;
}

/// A stand-in for a DEX, for tests and the demo only: a market maker who trades at the oracle
/// price less `fee_bps`, by two token transfers in the same transaction (the maker signs too).
pub struct OracleSwapStandIn {
    pub maker: Pubkey,
    /// The maker's token accounts, by mint.
    pub maker_accounts: Vec<(Pubkey, Pubkey)>,
    pub fee_bps: u64,
}

impl OracleSwapStandIn {
    pub fn maker_account(&self, mint: &Pubkey) -> Pubkey {
        self.maker_accounts.iter().find(|(m, _)| m == mint).expect("maker holds no account for this mint").1
    }
}

/// `TransferChecked` of SPL Token or Token-2022 (`token_program`; the same instruction layout).
pub fn transfer_checked_ix(token_program: &Pubkey, source: &Pubkey, mint: &Pubkey, destination: &Pubkey, authority: &Pubkey, amount: u64, decimals: u8) -> Instruction {
    let mut data = vec![12];
    data.extend_from_slice(&amount.to_le_bytes());
    data.push(decimals);
    Instruction {
        program_id: *token_program,
        accounts: vec![
            AccountMeta::new(*source, false),
            AccountMeta::new_readonly(*mint, false),
            AccountMeta::new(*destination, false),
            AccountMeta::new_readonly(*authority, true),
        ],
        data,
    }
}

impl SwapSource for OracleSwapStandIn {
    fn quote(&self, from: &Side, to: &Side, amount_in: u64) -> u64 {
        let value = from.value(amount_in).mul_bps(BPS_DENOMINATOR as u64 - self.fee_bps, Rounding::Down).expect("fee");
        to.state.amount_for_value(value, Rounding::Down).expect("amount").to_u64(Rounding::Down).expect("u64")
    }

    fn instructions(&self, from: &Side, to: &Side, amount_in: u64, amount_out: u64, user: &Pubkey) -> Vec<Instruction> {
        vec![
            transfer_checked_ix(&from.reserve.token_program, &from.user_account, &from.reserve.mint, &self.maker_account(&from.reserve.mint), user, amount_in, from.reserve.decimals),
            transfer_checked_ix(&to.reserve.token_program, &self.maker_account(&to.reserve.mint), &to.reserve.mint, &to.user_account, &self.maker, amount_out, to.reserve.decimals),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeverageError {
    /// The target is above 1 / (1 − LTV) less the safety margin.
    TargetTooHigh { requested_bps: u64, maximum_bps: u64, loan_to_value_bps: u16 },
    /// Leverage below 1x means nothing borrowed; use close instead.
    TargetBelowOne,
    /// The obligation holds positions in other reserves; this builder handles one pair.
    OtherPositions,
    /// The position's equity is zero or negative: only closing (or liquidation) is left.
    NoEquity,
    /// Nothing to do: the target equals the current leverage.
    NothingToDo,
    /// Amounts outside what the reserves or the swap can do (e.g. liquidity).
    Unworkable(&'static str),
    /// An oracle price the reserve would refuse now.
    Oracle(solvent::errors::LendingError),
    /// Reading the chain failed.
    Chain(String),
}

impl fmt::Display for LeverageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeverageError::TargetTooHigh { requested_bps, maximum_bps, loan_to_value_bps } => write!(
                f,
                "target leverage {:.2}x is above the maximum {:.2}x for this collateral (1 / (1 - LTV {}%, after the debt's borrow weight) less a {:.2}x safety margin)",
                *requested_bps as f64 / ONE_X_BPS as f64,
                *maximum_bps as f64 / ONE_X_BPS as f64,
                *loan_to_value_bps as f64 / 100.0,
                DEFAULT_SAFETY_MARGIN_BPS as f64 / ONE_X_BPS as f64,
            ),
            LeverageError::TargetBelowOne => write!(f, "target leverage below 1x: close the position instead"),
            LeverageError::OtherPositions => write!(f, "the obligation holds other assets; the builder handles one collateral and one debt"),
            LeverageError::NoEquity => write!(f, "the position has no equity left"),
            LeverageError::NothingToDo => write!(f, "the position is already at the target leverage"),
            LeverageError::Unworkable(why) => write!(f, "cannot build the transaction: {why}"),
            LeverageError::Oracle(error) => write!(f, "the oracle price cannot be used now: {error:?}"),
            LeverageError::Chain(error) => write!(f, "reading the chain failed: {error}"),
        }
    }
}

impl std::error::Error for LeverageError {}

/// The loan-to-value of a collateral against a debt of borrow weight `w`, both with the
/// parameters the obligation weighs them with (their own, or their e-mode group's): `LTV / w`,
/// rounded down (a debt weighing 150% consumes 1.5x its value of borrowing power).
pub fn effective_loan_to_value_bps(collateral: &RiskParams, debt: &RiskParams) -> u16 {
    let weight = debt.borrow_weight_bps as u64;
    (collateral.loan_to_value_bps as u64 * BPS_DENOMINATOR as u64 / weight) as u16
}

/// Largest leverage the builder accepts for a collateral: 1 / (1 − LTV) less the margin, in bps.
pub fn max_leverage_bps(loan_to_value_bps: u16) -> u64 {
    let theoretical = ONE_X_BPS * BPS_DENOMINATOR as u64 / (BPS_DENOMINATOR as u64 - loan_to_value_bps as u64);
    theoretical.saturating_sub(DEFAULT_SAFETY_MARGIN_BPS)
}

/// Leverage that corresponds to a target loan-to-value (debt / collateral): 1 / (1 − ltv).
pub fn leverage_for_ltv_bps(target_ltv_bps: u64) -> u64 {
    ONE_X_BPS * BPS_DENOMINATOR as u64 / (BPS_DENOMINATOR as u64 - target_ltv_bps.min(BPS_DENOMINATOR as u64 - 1))
}

/// The position a plan leads to, valued as `refresh_obligation` would value it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionSummary {
    pub collateral_shares: u64,
    pub collateral_amount: u64,
    pub debt: Wad,
    pub values: ObligationValues,
    /// Collateral value / equity, in bps of 1x (0 when there is no debt or no equity).
    pub leverage_bps: u64,
    /// Highest collateral oracle price (same exponent as the oracle's) at which the position is
    /// liquidatable, the debt asset's price unchanged; one tick above it is healthy.
    pub liquidation_price: Option<OraclePrice>,
}

impl PositionSummary {
    pub fn health_factor(&self) -> Option<Wad> {
        self.values.health_factor()
    }
}

/// What a leverage transaction does, with every amount it moves.
#[derive(Clone, Debug)]
pub struct LeveragePlan {
    pub instructions: Vec<Instruction>,
    pub flash_amount: u64,
    pub flash_fee: u64,
    pub swap_in: u64,
    pub swap_out: u64,
    /// Collateral deposited (the user's own plus the swap's output), or 0.
    pub deposit_amount: u64,
    /// Debt taken on by the borrow (the user receives it less the borrow fee), or 0.
    pub borrow_amount: u64,
    pub borrow_fee: u64,
    /// Debt repaid, or 0.
    pub repay_amount: u64,
    /// Collateral shares withdrawn and the tokens they pay, or 0.
    pub withdraw_shares: u64,
    pub withdraw_amount: u64,
    /// Change of the user's collateral-asset and debt-asset token balances.
    pub collateral_balance_change: i128,
    pub debt_balance_change: i128,
    pub after: PositionSummary,
}

/// Everything the builder reads: the market, both sides, the obligation, and the transaction's
/// unix time (interest is accrued to it exactly as the program will).
pub struct LeverageContext {
    pub market: MarketKeys,
    pub collateral: Side,
    pub debt: Side,
    pub obligation_key: Pubkey,
    pub obligation: Obligation,
    pub owner: Pubkey,
    pub now: i64,
}

fn unworkable<T>(value: Option<T>, why: &'static str) -> Result<T, LeverageError> {
    value.ok_or(LeverageError::Unworkable(why))
}

impl LeverageContext {
    /// Accrues both reserves and the obligation's debt to `now` and applies the oracle prices,
    /// as refresh_reserve would. Refuses obligations holding other reserves.
    pub fn new(
        market: MarketKeys,
        market_state: &LendingMarket,
        mut collateral: Side,
        mut debt: Side,
        obligation_key: Pubkey,
        mut obligation: Obligation,
        now: i64,
    ) -> Result<LeverageContext, LeverageError> {
        for side in [&mut collateral, &mut debt] {
            side.state.accrue_interest(now).map_err(|_| LeverageError::Unworkable("interest accrual overflows"))?;
            side.state.set_prices(&side.price).map_err(|_| LeverageError::Unworkable("oracle price out of range"))?;
        }
        let allowed = [collateral.reserve.reserve, debt.reserve.reserve];
        if obligation_reserves(&obligation).iter().any(|key| !allowed.contains(key))
            || obligation.find_borrow(&collateral.reserve.reserve).is_some()
            || obligation.find_deposit(&debt.reserve.reserve).is_some()
        {
            return Err(LeverageError::OtherPositions);
        }
        if let Some(slot) = obligation.find_borrow(&debt.reserve.reserve) {
            let index = debt.state.cumulative_borrow_index();
            obligation.borrows[slot].accrue_interest(index).map_err(|_| LeverageError::Unworkable("debt accrual"))?;
        }
        let owner = obligation.owner;
        // The obligation's e-mode group as the market holds it now, as the refresh will read it.
        obligation.take_emode_params(market_state).map_err(|_| LeverageError::Unworkable("the obligation's e-mode group"))?;
        Ok(LeverageContext { market, collateral, debt, obligation_key, obligation, owner: owner_key(&owner), now })
    }

    /// The obligation's e-mode group, with the market's current parameters for it.
    fn emode(&self) -> Emode {
        self.obligation.emode()
    }

    fn collateral_shares(&self) -> u64 {
        self.obligation.find_deposit(&self.collateral.reserve.reserve).map(|i| self.obligation.deposits[i].deposited_shares).unwrap_or(0)
    }

    fn debt(&self) -> Wad {
        self.obligation.find_borrow(&self.debt.reserve.reserve).map(|i| self.obligation.borrows[i].borrowed_amount()).unwrap_or(Wad::ZERO)
    }

    /// The position now, valued as a refresh in this slot would.
    pub fn current(&self) -> PositionSummary {
        summarize(self.emode(), &self.collateral, &self.debt, self.collateral_shares(), self.debt())
    }

    /// Opens or changes the position to `target_leverage_bps`, adding `own_collateral` of the
    /// user's collateral asset on the way (0 when adjusting).
    pub fn adjust(&self, own_collateral: u64, target_leverage_bps: u64, swap: &dyn SwapSource) -> Result<LeveragePlan, LeverageError> {
        if target_leverage_bps < ONE_X_BPS {
            return Err(LeverageError::TargetBelowOne);
        }
        let loan_to_value_bps =
            effective_loan_to_value_bps(&self.emode().risk_params(&self.collateral.state), &self.emode().risk_params(&self.debt.state));
        let maximum_bps = max_leverage_bps(loan_to_value_bps);
        if target_leverage_bps > maximum_bps {
            return Err(LeverageError::TargetTooHigh { requested_bps: target_leverage_bps, maximum_bps, loan_to_value_bps });
        }
        let current = self.current();
        let collateral_value = unworkable(current.values.deposited_value.checked_add(self.collateral.value(own_collateral)), "value")?;
        let debt_value = current.values.borrowed_value;
        let equity = collateral_value.checked_sub(debt_value).filter(|e| !e.is_zero()).ok_or(LeverageError::NoEquity)?;
        // Before costs: the debt value at which equity × target = collateral.
        let target_debt_value = unworkable(equity.mul_bps(target_leverage_bps - ONE_X_BPS, Rounding::Down), "target")?;
        let to_debt_amount = |value: Wad| self.debt.state.amount_for_value(value, Rounding::Down).ok().and_then(|a| a.to_u64(Rounding::Down));
        if target_debt_value > debt_value {
            // Costs (swap, flash and borrow fees) come out of equity, so the naive flash amount
            // overshoots the target; take the largest amount whose result stays at or below it.
            let naive = unworkable(to_debt_amount(unworkable(target_debt_value.checked_sub(debt_value), "extra")?), "flash amount")?;
            let best = largest_at_most(naive, target_leverage_bps, |flash| self.lever_up(own_collateral, flash, swap).ok())
                .ok_or(LeverageError::NothingToDo)?;
            self.lever_up(own_collateral, best, swap)
        } else if target_debt_value < debt_value && own_collateral == 0 {
            // Repaying more lowers leverage; take the smallest repayment that reaches the target.
            let debt = unworkable(self.debt().to_u64(Rounding::Down), "debt")?;
            let naive = unworkable(to_debt_amount(unworkable(debt_value.checked_sub(target_debt_value), "less")?), "repay")?;
            let ceiling = naive.saturating_mul(2).min(debt.saturating_sub(1));
            let best = smallest_at_most(ceiling, target_leverage_bps, |repay| self.deleverage(repay, false, swap).ok())
                .ok_or(LeverageError::Unworkable("the target cannot be reached without closing"))?;
            self.deleverage(best, false, swap)
        } else {
            Err(LeverageError::NothingToDo)
        }
    }

    /// Repays all debt and withdraws all collateral; the user keeps the collateral the swap does
    /// not need.
    pub fn close(&self, swap: &dyn SwapSource) -> Result<LeveragePlan, LeverageError> {
        let debt = unworkable(self.debt().to_u64(Rounding::Up), "debt")?;
        if debt == 0 {
            return Err(LeverageError::NothingToDo);
        }
        self.deleverage(debt, true, swap)
    }

    fn refresh_reserves(&self) -> Vec<Instruction> {
        vec![refresh_reserve_ix(&self.collateral.reserve), refresh_reserve_ix(&self.debt.reserve)]
    }

    fn lever_up(&self, own_collateral: u64, flash_amount: u64, swap: &dyn SwapSource) -> Result<LeveragePlan, LeverageError> {
        let (collateral, debt) = (&self.collateral, &self.debt);
        if flash_amount == 0 {
            return Err(LeverageError::NothingToDo);
        }
        let flash_fee = unworkable(debt.state.flash_loan_fee(flash_amount).ok(), "flash fee")?;
        let swap_out = swap.quote(debt, collateral, flash_amount);
        let deposit_amount = own_collateral + swap_out;
        let owed = flash_amount + flash_fee;
        let (borrow_amount, borrow_fee) = unworkable(borrow_covering(&debt.state, owed), "borrow amount")?;

        // Replay the program's bookkeeping on copies.
        let mut collateral_state = collateral.state;
        let shares = collateral_state.deposit(deposit_amount).map_err(|_| LeverageError::Unworkable("deposit"))?;
        let mut debt_state = debt.state;
        debt_state.flash_borrow(flash_amount).map_err(|_| LeverageError::Unworkable("flash loan exceeds liquidity"))?;
        debt_state.borrow(borrow_amount).map_err(|_| LeverageError::Unworkable("borrow exceeds liquidity or limit"))?;
        let mut obligation = self.obligation;
        obligation.deposit(&collateral.reserve.reserve, shares).map_err(|_| LeverageError::Unworkable("deposit slots"))?;
        let reserves_after_deposit = obligation_reserves(&obligation);

        let after_collateral = Side { state: collateral_state, ..collateral.clone() };
        let after = summarize(self.emode(), &after_collateral, debt, self.collateral_shares() + shares, unworkable(self.debt().checked_add(Wad::from_u64(borrow_amount)), "debt")?);
        if !after.values.within_borrowing_power() {
            return Err(LeverageError::Unworkable("the borrow would exceed the allowed borrow value"));
        }

        let (market, owner) = (&self.market, &self.owner);
        let mut instructions = self.refresh_reserves();
        instructions.push(flash_borrow_ix(market, &debt.reserve, &debt.user_account, flash_amount));
        instructions.extend(swap.instructions(debt, collateral, flash_amount, swap_out, owner));
        instructions.push(deposit_ix(market, &collateral.reserve, &self.obligation_key, owner, &collateral.user_account, deposit_amount));
        instructions.push(refresh_obligation_ix(&market.market, &self.obligation_key, &reserves_after_deposit));
        instructions.push(with_position_reserves(borrow_ix(market, &debt.reserve, &self.obligation_key, owner, &debt.user_account, borrow_amount), &obligation));
        instructions.push(flash_repay_ix(market, &debt.reserve, &debt.user_account, owner, flash_amount));
        Ok(LeveragePlan {
            instructions,
            flash_amount,
            flash_fee,
            swap_in: flash_amount,
            swap_out,
            deposit_amount,
            borrow_amount,
            borrow_fee,
            repay_amount: 0,
            withdraw_shares: 0,
            withdraw_amount: 0,
            collateral_balance_change: -(own_collateral as i128),
            debt_balance_change: (borrow_amount - borrow_fee) as i128 - owed as i128,
            after,
        })
    }

    fn deleverage(&self, repay_amount: u64, close: bool, swap: &dyn SwapSource) -> Result<LeveragePlan, LeverageError> {
        let (collateral, debt) = (&self.collateral, &self.debt);
        if repay_amount == 0 {
            return Err(LeverageError::NothingToDo);
        }
        let flash_fee = unworkable(debt.state.flash_loan_fee(repay_amount).ok(), "flash fee")?;
        let owed = repay_amount + flash_fee;
        let held_shares = self.collateral_shares();
        let swap_in = unworkable(smallest_input_for(swap, collateral, debt, owed), "swap input")?;
        let withdraw_shares = if close {
            held_shares
        } else {
            unworkable(shares_paying_at_least(&collateral.state, swap_in, held_shares), "not enough collateral to cover the repayment")?
        };
        let mut collateral_state = collateral.state;
        let withdraw_amount = collateral_state.redeem(withdraw_shares).map_err(|_| LeverageError::Unworkable("collateral liquidity"))?;
        if withdraw_amount < swap_in {
            return Err(LeverageError::Unworkable("the collateral does not cover the repayment"));
        }
        let swap_out = swap.quote(collateral, debt, swap_in);
        let debt_after = if close { Wad::ZERO } else { unworkable(self.debt().checked_sub(Wad::from_u64(repay_amount)), "repay above debt")? };
        let after_collateral = Side { state: collateral_state, ..collateral.clone() };
        let after = summarize(self.emode(), &after_collateral, debt, held_shares - withdraw_shares, debt_after);
        if !after.values.within_borrowing_power() {
            return Err(LeverageError::Unworkable("the withdrawal would exceed the allowed borrow value"));
        }

        let (market, owner) = (&self.market, &self.owner);
        let mut instructions = Vec::new();
        if !close {
            // The withdrawal keeps debt outstanding, so prices and the obligation must be fresh.
            instructions.extend(self.refresh_reserves());
        }
        instructions.push(flash_borrow_ix(market, &debt.reserve, &debt.user_account, repay_amount));
        instructions.push(with_position_reserves(repay_ix(&debt.reserve, &self.obligation_key, owner, &debt.user_account, repay_amount), &self.obligation));
        if !close {
            instructions.push(refresh_obligation_ix(&market.market, &self.obligation_key, &obligation_reserves(&self.obligation)));
        }
        let shares_argument = if close { u64::MAX } else { withdraw_shares };
        let withdraw = withdraw_ix(market, &collateral.reserve, &self.obligation_key, owner, &collateral.user_account, shares_argument);
        instructions.push(if close { withdraw } else { with_position_reserves(withdraw, &self.obligation) });
        instructions.extend(swap.instructions(collateral, debt, swap_in, swap_out, owner));
        instructions.push(flash_repay_ix(market, &debt.reserve, &debt.user_account, owner, repay_amount));
        Ok(LeveragePlan {
            instructions,
            flash_amount: repay_amount,
            flash_fee,
            swap_in,
            swap_out,
            deposit_amount: 0,
            borrow_amount: 0,
            borrow_fee: 0,
            repay_amount,
            withdraw_shares,
            withdraw_amount,
            collateral_balance_change: withdraw_amount as i128 - swap_in as i128,
            debt_balance_change: swap_out as i128 - owed as i128,
            after,
        })
    }
}

fn owner_key(key: &AnchorPubkey) -> Pubkey {
    Pubkey::new_from_array(key.to_bytes())
}

/// Smallest borrow whose payout (amount less the origination fee, as `Reserve::borrow` takes
/// it) covers `owed`. Returns (amount, fee).
pub fn borrow_covering(reserve: &Reserve, owed: u64) -> Option<(u64, u64)> {
    let fee_of = |amount: u64| reserve.borrow_fee(amount).ok();
    let fee_bps = reserve.config.borrow_fee_bps as u128;
    let estimate = (owed as u128 * BPS_DENOMINATOR).div_ceil(BPS_DENOMINATOR - fee_bps);
    let mut amount = u64::try_from(estimate).ok()?.saturating_sub(2);
    while amount.checked_sub(fee_of(amount)?)? < owed {
        amount = amount.checked_add(1)?;
    }
    Some((amount, fee_of(amount)?))
}

fn leverage_at_most(plan: Option<LeveragePlan>, target: u64) -> bool {
    plan.is_some_and(|p| p.after.leverage_bps <= target)
}

/// Largest amount in 1..=upper whose plan's leverage is at most `target` (leverage rises with it).
fn largest_at_most(upper: u64, target: u64, plan: impl Fn(u64) -> Option<LeveragePlan>) -> Option<u64> {
    if upper == 0 || !leverage_at_most(plan(1), target) {
        return None;
    }
    Some(first_true(1, upper.checked_add(1)?, |amount| !leverage_at_most(plan(amount), target)) - 1)
}

/// Smallest amount in 1..=upper whose plan's leverage is at most `target` (leverage falls with it).
fn smallest_at_most(upper: u64, target: u64, plan: impl Fn(u64) -> Option<LeveragePlan>) -> Option<u64> {
    if upper == 0 || !leverage_at_most(plan(upper), target) {
        return None;
    }
    Some(first_true(0, upper, |amount| leverage_at_most(plan(amount), target)))
}

/// Smallest input the swap turns into at least `out` (the quote is monotone in its input).
fn smallest_input_for(swap: &dyn SwapSource, from: &Side, to: &Side, out: u64) -> Option<u64> {
    let mut high = 1u64;
    while swap.quote(from, to, high) < out {
        high = high.checked_mul(2)?;
    }
    Some(first_true(0, high, |amount| swap.quote(from, to, amount) >= out))
}

/// Fewest shares (at most `held`) that redeem for at least `amount` tokens.
fn shares_paying_at_least(reserve: &Reserve, amount: u64, held: u64) -> Option<u64> {
    if reserve.redeem_amount(held).ok()? < amount {
        return None;
    }
    Some(first_true(0, held, |shares| reserve.redeem_amount(shares).is_ok_and(|paid| paid >= amount)))
}

/// Values a one-collateral, one-debt position exactly as `refresh_obligation` does (with the
/// program's own `Obligation::revalue`, on an obligation in `emode` holding just these two
/// positions).
fn values_at(emode: Emode, collateral: &Reserve, shares: u64, debt_reserve: &Reserve, debt: Wad) -> Option<ObligationValues> {
    let (collateral_key, debt_key) = (AnchorPubkey::new_from_array([1; 32]), AnchorPubkey::new_from_array([2; 32]));
    let mut obligation: Obligation = bytemuck::Zeroable::zeroed();
    (obligation.emode_group, obligation.emode_params) = (emode.group, emode.params);
    if shares > 0 {
        obligation.deposit(&collateral_key, shares).ok()?;
    }
    if !debt.is_zero() {
        obligation.borrow(&debt_key, debt, debt_reserve.cumulative_borrow_index()).ok()?;
    }
    obligation
        .revalue(|_, key| -> Result<&Reserve, solvent::errors::LendingError> { Ok(if *key == collateral_key { collateral } else { debt_reserve }) })
        .ok()
}

/// The position's values, leverage and liquidation price, in `emode`.
pub fn summarize(emode: Emode, collateral: &Side, debt: &Side, shares: u64, debt_amount: Wad) -> PositionSummary {
    let values = values_at(emode, &collateral.state, shares, &debt.state, debt_amount).expect("values");
    let equity = values.deposited_value.checked_sub(values.borrowed_value);
    let leverage_bps = match equity {
        Some(equity) if !equity.is_zero() && !debt_amount.is_zero() => {
            values.deposited_value.mul_ratio(ONE_X_BPS as u128, equity.raw(), Rounding::Down).map(|w| w.raw() as u64).unwrap_or(0)
        }
        _ => 0,
    };
    PositionSummary {
        collateral_shares: shares,
        collateral_amount: collateral.state.redeem_amount(shares).unwrap_or(0),
        debt: debt_amount,
        values,
        leverage_bps,
        liquidation_price: liquidation_price(emode, collateral, debt, shares, debt_amount),
    }
}

/// Highest collateral price (in the oracle's ticks) at which the position is liquidatable,
/// found with the program's own valuation: liquidatability falls as the price rises.
fn liquidation_price(emode: Emode, collateral: &Side, debt: &Side, shares: u64, debt_amount: Wad) -> Option<OraclePrice> {
    if debt_amount.is_zero() || shares == 0 {
        return None;
    }
    let unhealthy_at = |mantissa: u64| -> bool {
        let mut state = collateral.state;
        let price = OraclePrice { mantissa, exponent: collateral.price.spot.exponent };
        if mantissa == 0 || state.set_market_price(price).is_err() {
            return true;
        }
        values_at(emode, &state, shares, &debt.state, debt_amount).map(|v| v.is_unhealthy()).unwrap_or(true)
    };
    // Liquidatable at 0, healthy at `high`.
    let mut high = collateral.price.spot.mantissa.max(1);
    while unhealthy_at(high) {
        high = high.checked_mul(2)?;
    }
    let low = first_true(0, high, |mantissa| !unhealthy_at(mantissa)) - 1;
    (low > 0).then_some(OraclePrice { mantissa: low, exponent: collateral.price.spot.exponent })
}

/// A side as it is on chain now: the reserve account and its oracle's current price.
pub async fn side_from_chain(chain: &mut impl Chain, reserve: &ReserveKeys, user_account: Pubkey) -> Result<Side, LeverageError> {
    let read = |e: solvent_client::ChainError| LeverageError::Chain(e.to_string());
    let state = chain.reserve(&reserve.reserve).await.map_err(read)?;
    let (_, now) = chain.clock().await.map_err(read)?;
    let oracle = chain.account_data(&reserve.oracle).await.map_err(read)?.unwrap_or_default();
    let config = state.config;
    let price = read_price(state.oracle_source, &oracle, &state.price_feed_id, now, config.max_price_age_secs, config.max_confidence_bps)
        .map_err(LeverageError::Oracle)?;
    Ok(Side { reserve: reserve.clone(), state, price, user_account })
}

/// A builder context for `obligation` as it is on chain now, for a transaction at the current
/// clock time.
pub async fn context_from_chain(
    chain: &mut impl Chain,
    market: &MarketKeys,
    collateral: (&ReserveKeys, Pubkey),
    debt: (&ReserveKeys, Pubkey),
    obligation_key: &Pubkey,
) -> Result<LeverageContext, LeverageError> {
    let collateral = side_from_chain(chain, collateral.0, collateral.1).await?;
    let debt = side_from_chain(chain, debt.0, debt.1).await?;
    let obligation = chain.obligation(obligation_key).await.map_err(|e| LeverageError::Chain(e.to_string()))?;
    let (_, now) = chain.clock().await.map_err(|e| LeverageError::Chain(e.to_string()))?;
    let market_state = chain.market(&market.market).await.map_err(|e| LeverageError::Chain(e.to_string()))?;
    LeverageContext::new(market.clone(), &market_state, collateral, debt, *obligation_key, obligation, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maximum_leverage_follows_the_loan_to_value() {
        // LTV 75%: 1 / 0.25 = 4x, less the 0.25x margin.
        assert_eq!(max_leverage_bps(7_500), 37_500);
        assert_eq!(max_leverage_bps(5_000), 17_500);
        // A debt weighing 150%: LTV 75% acts as 50%.
        let collateral = solvent::state::ReserveConfig { loan_to_value_bps: 7_500, ..Default::default() }.risk_params();
        let debt = solvent::state::ReserveConfig { borrow_weight_bps: 15_000, ..Default::default() };
        assert_eq!(effective_loan_to_value_bps(&collateral, &debt.risk_params()), 5_000);
        assert_eq!(effective_loan_to_value_bps(&collateral, &solvent::state::ReserveConfig::default().risk_params()), 7_500);
        assert_eq!(leverage_for_ltv_bps(6_000), 25_000);
    }

    #[test]
    fn the_refusal_states_the_maximum() {
        let error = LeverageError::TargetTooHigh { requested_bps: 39_000, maximum_bps: 37_500, loan_to_value_bps: 7_500 };
        assert_eq!(
            error.to_string(),
            "target leverage 3.90x is above the maximum 3.75x for this collateral (1 / (1 - LTV 75%, after the debt's borrow weight) less a 0.25x safety margin)"
        );
    }

    #[test]
    fn the_borrow_covers_what_is_owed_after_its_fee() {
        let mut reserve: Reserve = bytemuck::Zeroable::zeroed();
        for fee_bps in [0u16, 1, 10, 30, 9_999] {
            reserve.config.borrow_fee_bps = fee_bps;
            for owed in [1u64, 7, 999, 1_000_000, 3_000_000_123] {
                let (amount, fee) = borrow_covering(&reserve, owed).unwrap();
                assert!(amount - fee >= owed);
                let (smaller, smaller_fee) = (amount - 1, Wad::from_u64(amount - 1).mul_bps(fee_bps as u64, Rounding::Up).unwrap().to_u64(Rounding::Up).unwrap());
                assert!(smaller - smaller_fee < owed, "not the smallest: {owed} at {fee_bps} bps");
            }
        }
    }
}
