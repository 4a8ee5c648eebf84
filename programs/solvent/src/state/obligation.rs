use super::{Reserve, StoredWad};
use crate::errors::{overflow, LendingError};
use crate::math::{Rounding, Wad};
use anchor_lang::prelude::*;

pub const OBLIGATION_SEED: &[u8] = b"obligation";
pub const MAX_OBLIGATION_DEPOSITS: usize = 8;
pub const MAX_OBLIGATION_BORROWS: usize = 8;

/// Collateral shares of one reserve held by an obligation.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct ObligationCollateral {
    pub deposit_reserve: Pubkey,
    pub deposited_shares: u64,
    /// Quote value at the last refresh, rounded down.
    pub market_value_wad: StoredWad,
}

/// Debt owed to one reserve by an obligation.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct ObligationLiquidity {
    pub borrow_reserve: Pubkey,
    /// The reserve's cumulative borrow index when `borrowed_amount_wad` was last brought up to date.
    pub cumulative_borrow_index_wad: StoredWad,
    /// Debt in base units, interest included.
    pub borrowed_amount_wad: StoredWad,
    /// Quote value at the last refresh, rounded up.
    pub market_value_wad: StoredWad,
}

/// One user's positions across the reserves of a market, and their cached values.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Obligation {
    pub version: u8,
    pub obligation_id: u8,
    /// Set by instructions that change positions without revaluing them (deposit, repay,
    /// liquidate); cleared by refresh_obligation.
    pub stale: u8,
    pub bump: u8,
    pub padding0: [u8; 4],
    pub lending_market: Pubkey,
    pub owner: Pubkey,
    pub last_update_slot: u64,
    pub deposited_value_wad: StoredWad,
    pub borrowed_value_wad: StoredWad,
    /// Σ collateral value × loan-to-value.
    pub allowed_borrow_value_wad: StoredWad,
    /// Σ collateral value × liquidation threshold; liquidatable when borrowed value exceeds it.
    pub unhealthy_borrow_value_wad: StoredWad,
    pub deposits: [ObligationCollateral; MAX_OBLIGATION_DEPOSITS],
    pub borrows: [ObligationLiquidity; MAX_OBLIGATION_BORROWS],
    /// Unix time a refresh first found the obligation unhealthy (0 while healthy): the start of
    /// the liquidation bonus auction.
    pub unhealthy_since: i64,
    /// Σ debt at the prices liquidation eligibility uses (the lower of spot and EMA).
    pub liquidation_borrowed_value_wad: StoredWad,
    /// 1 when a reserve of a position had its price circuit breaker tripped at the last refresh.
    pub uses_halted_price: u8,
    pub padding1: [u8; 7],
    /// Σ collateral at the prices liquidation eligibility uses, unweighted: with
    /// `liquidation_borrowed_value_wad`, whether the obligation is solvent.
    pub liquidation_deposited_value_wad: StoredWad,
    /// Σ `Reserve::valuation_epoch` over the positions' reserves (wrapping) at the last refresh.
    pub reserves_epoch_sum: u64,
    /// Room for follow-up fields (risk tier).
    pub reserved: [u8; 200],
}

type ObligationResult<T> = std::result::Result<T, LendingError>;


/// What the position limits and health depend on, as cached by the last refresh.
///
/// Borrowing power compares `borrowed_value` (debt at the debt price) with
/// `allowed_borrow_value` (collateral at the collateral price × LTV). Liquidation eligibility
/// compares `liquidation_borrowed_value` with `unhealthy_borrow_value` (collateral × liquidation
/// threshold) at the prices a one-update spike cannot push over: collateral at the higher and
/// debt at the lower of spot and EMA. Since those prices only make an obligation look healthier,
/// an obligation healthy at the conservative prices is healthy at them too: then the two
/// liquidation sums hold the conservative values (a lower bound of the health factor), and only
/// an obligation unhealthy at conservative prices is valued a second time (`Obligation::revalue`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObligationValues {
    pub deposited_value: Wad,
    pub borrowed_value: Wad,
    pub allowed_borrow_value: Wad,
    pub unhealthy_borrow_value: Wad,
    pub liquidation_borrowed_value: Wad,
    /// Σ collateral at the liquidation prices, unweighted (at the conservative prices while
    /// the obligation is healthy at those, like the other two liquidation sums).
    pub liquidation_deposited_value: Wad,
    /// A position's reserve has its price circuit breaker tripped.
    pub uses_halted_price: bool,
}

impl ObligationValues {
    /// Adds one collateral position's contribution, valued at the collateral price.
    pub fn add_collateral(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.deposited_value = overflow(self.deposited_value.checked_add(value))?;
        self.allowed_borrow_value = overflow(self.allowed_borrow_value.checked_add(loan_to_value(value, reserve)?))?;
        self.add_liquidation_collateral(value, reserve)
    }

    /// Removes one collateral position's contribution, computed exactly as `add_collateral` did.
    pub fn remove_collateral(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.deposited_value = overflow(self.deposited_value.checked_sub(value))?;
        self.allowed_borrow_value = overflow(self.allowed_borrow_value.checked_sub(loan_to_value(value, reserve)?))?;
        self.unhealthy_borrow_value = overflow(self.unhealthy_borrow_value.checked_sub(threshold(value, reserve)?))?;
        self.liquidation_deposited_value = overflow(self.liquidation_deposited_value.checked_sub(value))?;
        Ok(())
    }

    /// Adds one debt's contribution, valued at the debt price.
    pub fn add_debt(&mut self, value: Wad) -> ObligationResult<()> {
        self.borrowed_value = overflow(self.borrowed_value.checked_add(value))?;
        self.add_liquidation_debt(value)
    }

    /// Replaces one debt's contribution (`old` as `add_debt` added it) with `new`.
    pub fn replace_debt(&mut self, old: Wad, new: Wad) -> ObligationResult<()> {
        self.borrowed_value = overflow(self.borrowed_value.checked_sub(old).and_then(|v| v.checked_add(new)))?;
        let liquidation = self.liquidation_borrowed_value.checked_sub(old).and_then(|v| v.checked_add(new));
        self.liquidation_borrowed_value = overflow(liquidation)?;
        Ok(())
    }

    /// Unhealthy at the conservative prices: eligibility needs the liquidation prices.
    pub fn needs_liquidation_prices(&self) -> bool {
        self.borrowed_value > self.unhealthy_borrow_value
    }

    /// Starts the liquidation sums over, for a revaluation at liquidation prices.
    pub fn clear_liquidation_sums(&mut self) {
        self.unhealthy_borrow_value = Wad::ZERO;
        self.liquidation_borrowed_value = Wad::ZERO;
        self.liquidation_deposited_value = Wad::ZERO;
    }

    pub fn add_liquidation_collateral(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.unhealthy_borrow_value = overflow(self.unhealthy_borrow_value.checked_add(threshold(value, reserve)?))?;
        self.liquidation_deposited_value = overflow(self.liquidation_deposited_value.checked_add(value))?;
        Ok(())
    }

    /// Replaces one collateral position's part of the liquidation sums: `old` and `new` are its
    /// values at the liquidation collateral price before and after a change.
    pub fn revise_liquidation_collateral(&mut self, old: Wad, new: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.take_liquidation_collateral(old, threshold(old, reserve)?);
        self.unhealthy_borrow_value = overflow(self.unhealthy_borrow_value.checked_add(threshold(new, reserve)?))?;
        self.liquidation_deposited_value = overflow(self.liquidation_deposited_value.checked_add(new))?;
        Ok(())
    }

    /// Takes collateral worth `value` (`weighted` after its threshold) off the liquidation sums,
    /// saturating at zero: a share price that rounding moved up since the refresh can make a
    /// position's value a hair larger than what was added, and saturating can only understate
    /// the collateral.
    pub fn take_liquidation_collateral(&mut self, value: Wad, weighted: Wad) {
        self.unhealthy_borrow_value = self.unhealthy_borrow_value.checked_sub(weighted).unwrap_or(Wad::ZERO);
        self.liquidation_deposited_value = self.liquidation_deposited_value.checked_sub(value).unwrap_or(Wad::ZERO);
    }

    /// Takes debt worth `value` at the liquidation debt price off the liquidation sums,
    /// saturating at zero (only a stale cache could hold less).
    pub fn take_liquidation_debt(&mut self, value: Wad) {
        self.liquidation_borrowed_value = self.liquidation_borrowed_value.checked_sub(value).unwrap_or(Wad::ZERO);
    }

    /// Collateral covers debt at the liquidation prices (trivially without debt).
    pub fn is_solvent(&self) -> bool {
        self.liquidation_deposited_value >= self.liquidation_borrowed_value
    }

    /// The health factor did not fall from `before` to `self`: `WC' / D' >= WC / D`, compared as
    /// `WC' · D >= WC · D'`. The four sums are scaled to 64 bits by one common shift so each
    /// product fits a `u128`, the left side rounded down and the right side up: the check can
    /// only be stricter than the exact one (by 2^-63 relative at most, far inside the bonus
    /// cap's margin). A position left without debt passes.
    pub fn health_not_below(&self, before: &ObligationValues) -> bool {
        if self.liquidation_borrowed_value.is_zero() {
            return true;
        }
        let (weighted_after, debt_before) = (self.unhealthy_borrow_value.raw(), before.liquidation_borrowed_value.raw());
        let (weighted_before, debt_after) = (before.unhealthy_borrow_value.raw(), self.liquidation_borrowed_value.raw());
        use crate::math::{shift_down, shift_to_64_bits, shift_up};
        let shift = shift_to_64_bits(weighted_after | debt_before | weighted_before | debt_after);
        // Each scaled value is at most 2^64: the products fit, or fail the check.
        let after = shift_down(weighted_after, shift).checked_mul(shift_down(debt_before, shift));
        let was = shift_up(weighted_before, shift).checked_mul(shift_up(debt_after, shift));
        matches!((after, was), (Some(after), Some(was)) if after >= was)
    }

    pub fn add_liquidation_debt(&mut self, value: Wad) -> ObligationResult<()> {
        self.liquidation_borrowed_value = overflow(self.liquidation_borrowed_value.checked_add(value))?;
        Ok(())
    }

    /// Health factor = unhealthy borrow value / debt, at liquidation prices when below 1 at the
    /// conservative ones, else at the conservative ones (None without debt).
    pub fn health_factor(&self) -> Option<Wad> {
        if self.liquidation_borrowed_value.is_zero() {
            return None;
        }
        self.unhealthy_borrow_value.checked_div(self.liquidation_borrowed_value, Rounding::Down)
    }

    pub fn is_unhealthy(&self) -> bool {
        self.liquidation_borrowed_value > self.unhealthy_borrow_value
    }
}

/// A collateral value weighted by the liquidation threshold, rounded down.
fn threshold(value: Wad, reserve: &Reserve) -> ObligationResult<Wad> {
    overflow(value.mul_bps(reserve.config.liquidation_threshold_bps as u64, Rounding::Down))
}

/// A collateral value weighted by loan-to-value, rounded down.
fn loan_to_value(value: Wad, reserve: &Reserve) -> ObligationResult<Wad> {
    overflow(value.mul_bps(reserve.config.loan_to_value_bps as u64, Rounding::Down))
}


impl ObligationLiquidity {
    pub fn borrowed_amount(&self) -> Wad {
        self.borrowed_amount_wad.get()
    }

    /// Brings the debt up to the reserve's index: debt × index_now / index_then, rounded up.
    pub fn accrue_interest(&mut self, cumulative_borrow_index: Wad) -> ObligationResult<()> {
        let snapshot = self.cumulative_borrow_index_wad.get();
        if cumulative_borrow_index == snapshot {
            return Ok(());
        }
        if cumulative_borrow_index < snapshot {
            return Err(crate::errors::overflow_here());
        }
        let borrowed =
            overflow(self.borrowed_amount().mul_ratio(cumulative_borrow_index.raw(), snapshot.raw(), Rounding::Up))?;
        self.borrowed_amount_wad.set(borrowed);
        self.cumulative_borrow_index_wad.set(cumulative_borrow_index);
        Ok(())
    }
}

impl Obligation {
    pub fn values(&self) -> ObligationValues {
        ObligationValues {
            deposited_value: self.deposited_value_wad.get(),
            borrowed_value: self.borrowed_value_wad.get(),
            allowed_borrow_value: self.allowed_borrow_value_wad.get(),
            unhealthy_borrow_value: self.unhealthy_borrow_value_wad.get(),
            liquidation_borrowed_value: self.liquidation_borrowed_value_wad.get(),
            liquidation_deposited_value: self.liquidation_deposited_value_wad.get(),
            uses_halted_price: self.uses_halted_price != 0,
        }
    }

    pub fn set_values(&mut self, values: &ObligationValues) {
        self.deposited_value_wad.set(values.deposited_value);
        self.borrowed_value_wad.set(values.borrowed_value);
        self.allowed_borrow_value_wad.set(values.allowed_borrow_value);
        self.unhealthy_borrow_value_wad.set(values.unhealthy_borrow_value);
        self.liquidation_borrowed_value_wad.set(values.liquidation_borrowed_value);
        self.liquidation_deposited_value_wad.set(values.liquidation_deposited_value);
        self.uses_halted_price = values.uses_halted_price as u8;
    }

    /// Stores revised liquidation sums (after a repay, deposit or liquidation that changed the
    /// positions without a full revaluation) and stops the auction clock when they show the
    /// obligation healthy again: the next unhealthy episode then starts at the minimum bonus.
    pub fn store_liquidation_sums(&mut self, values: &ObligationValues) {
        self.unhealthy_borrow_value_wad.set(values.unhealthy_borrow_value);
        self.liquidation_borrowed_value_wad.set(values.liquidation_borrowed_value);
        self.liquidation_deposited_value_wad.set(values.liquidation_deposited_value);
        if !values.is_unhealthy() {
            self.unhealthy_since = 0;
        }
    }

    /// Whether the auction clock runs: the last refresh found the obligation unhealthy and
    /// nothing since has shown it cured. Then the cached liquidation sums are at liquidation
    /// prices, and repay / deposit keep them current so a cure stops the clock.
    pub fn auction_clock_running(&self) -> bool {
        self.unhealthy_since != 0
    }

    /// Revalues every position with its reserve (already refreshed): `reserve_at(i, key)` gives
    /// the reserve of position `i` (deposits first, then borrows), which must be `key`.
    /// refresh_obligation and off-chain readers (the keeper, the leverage builder) share this,
    /// so all see one health.
    pub fn revalue<R, E>(
        &mut self,
        mut reserve_at: impl FnMut(usize, &Pubkey) -> std::result::Result<R, E>,
    ) -> std::result::Result<ObligationValues, E>
    where
        R: core::ops::Deref<Target = Reserve>,
        E: From<LendingError>,
    {
        let (deposit_count, borrow_count) = (self.deposit_count(), self.borrow_count());
        let mut values = ObligationValues::default();
        for index in 0..deposit_count {
            let reserve = reserve_at(index, &self.deposits[index].deposit_reserve)?;
            let position = &mut self.deposits[index];
            let value = reserve.collateral_value(position.deposited_shares)?;
            position.market_value_wad.set(value);
            values.uses_halted_price |= reserve.price_halted != 0;
            values.add_collateral(value, &reserve)?;
        }
        for index in 0..borrow_count {
            let reserve = reserve_at(deposit_count + index, &self.borrows[index].borrow_reserve)?;
            let position = &mut self.borrows[index];
            position.accrue_interest(reserve.cumulative_borrow_index())?;
            let value = reserve.debt_value(position.borrowed_amount())?;
            position.market_value_wad.set(value);
            values.uses_halted_price |= reserve.price_halted != 0;
            values.add_debt(value)?;
        }
        if values.needs_liquidation_prices() {
            values.clear_liquidation_sums();
            for index in 0..deposit_count {
                let reserve = reserve_at(index, &self.deposits[index].deposit_reserve)?;
                let position = &self.deposits[index];
                let value = reserve.liquidation_collateral_value(position.deposited_shares, position.market_value_wad.get())?;
                values.add_liquidation_collateral(value, &reserve)?;
            }
            for index in 0..borrow_count {
                let reserve = reserve_at(deposit_count + index, &self.borrows[index].borrow_reserve)?;
                let position = &self.borrows[index];
                values.add_liquidation_debt(reserve.liquidation_debt_value(position.borrowed_amount(), position.market_value_wad.get())?)?;
            }
        }
        Ok(values)
    }

    /// Stores the values of a complete revaluation made at `slot` and `now`.
    pub fn finish_refresh(&mut self, values: &ObligationValues, now: i64, slot: u64) {
        self.set_values(values);
        self.track_health(values, now);
        self.last_update_slot = slot;
        self.stale = 0;
    }

    /// Starts the auction clock when the obligation turns unhealthy, stops it when it recovers.
    pub fn track_health(&mut self, values: &ObligationValues, now: i64) {
        if !values.is_unhealthy() {
            self.unhealthy_since = 0;
        } else if self.unhealthy_since == 0 {
            self.unhealthy_since = now;
        }
    }

    /// After a repayment settled `settled` of a debt in `reserve`: while the auction clock runs,
    /// takes the settled debt's value (at the reserve's last liquidation debt price, rounded
    /// down, so the cached debt is never understated) off the liquidation sums, and stops the
    /// clock when that cures the obligation.
    pub fn note_repayment(&mut self, reserve: &Reserve, settled: Wad) -> ObligationResult<()> {
        if !self.auction_clock_running() {
            return Ok(());
        }
        let mut values = self.values();
        values.take_liquidation_debt(reserve.liquidation_value_of_repaid(settled)?);
        self.store_liquidation_sums(&values);
        Ok(())
    }

    /// After a deposit took a collateral position in `reserve` from `shares_before` to
    /// `shares_after`: while the auction clock runs, revises the liquidation sums at the
    /// reserve's last liquidation collateral price (rounded down) and stops the clock when that
    /// cures the obligation.
    pub fn note_deposit(&mut self, reserve: &Reserve, shares_before: u64, shares_after: u64) -> ObligationResult<()> {
        if !self.auction_clock_running() {
            return Ok(());
        }
        let mut values = self.values();
        let before = reserve.liquidation_collateral_value_of(shares_before)?;
        let after = reserve.liquidation_collateral_value_of(shares_after)?;
        values.revise_liquidation_collateral(before, after, reserve)?;
        self.store_liquidation_sums(&values);
        Ok(())
    }

    /// The cached values were computed from the reserves as they are now: `epochs` gives, for
    /// each position in order, the reserve passed for it and its `valuation_epoch`. The keys
    /// must be the positions' (`ObligationReservesMismatch`) and the epochs must sum to the
    /// recorded sum (`ReserveChangedSinceRefresh`: a reserve was refreshed again, written off or
    /// reconfigured since the obligation's refresh).
    pub fn check_valuation_current(&self, epochs: impl ExactSizeIterator<Item = (Pubkey, u64)>) -> ObligationResult<()> {
        let (deposits, borrows) = (self.deposit_count(), self.borrow_count());
        if epochs.len() != deposits + borrows {
            return Err(LendingError::ObligationReservesMismatch);
        }
        let positions = self.deposits[..deposits].iter().map(|d| d.deposit_reserve).chain(self.borrows[..borrows].iter().map(|b| b.borrow_reserve));
        let mut sum = 0u64;
        for ((key, epoch), expected) in epochs.zip(positions) {
            if key != expected {
                return Err(LendingError::ObligationReservesMismatch);
            }
            sum = sum.wrapping_add(epoch);
        }
        if sum != self.reserves_epoch_sum {
            return Err(LendingError::ReserveChangedSinceRefresh);
        }
        Ok(())
    }

    pub fn is_fresh(&self, current_slot: u64) -> bool {
        self.stale == 0 && self.last_update_slot == current_slot
    }

    pub fn mark_stale(&mut self) {
        self.stale = 1;
    }

    pub fn deposit_count(&self) -> usize {
        self.deposits.iter().take_while(|d| d.deposit_reserve != Pubkey::default()).count()
    }

    pub fn borrow_count(&self) -> usize {
        self.borrows.iter().take_while(|b| b.borrow_reserve != Pubkey::default()).count()
    }

    pub fn has_borrows(&self) -> bool {
        self.borrow_count() > 0
    }

    pub fn find_deposit(&self, reserve: &Pubkey) -> Option<usize> {
        self.deposits[..self.deposit_count()].iter().position(|d| d.deposit_reserve == *reserve)
    }

    pub fn find_borrow(&self, reserve: &Pubkey) -> Option<usize> {
        self.borrows[..self.borrow_count()].iter().position(|b| b.borrow_reserve == *reserve)
    }

    /// Credits shares to the reserve's position, opening one if needed. Returns the position's
    /// shares before and after.
    pub fn deposit(&mut self, reserve: &Pubkey, shares: u64) -> ObligationResult<(u64, u64)> {
        let index = match self.find_deposit(reserve) {
            Some(index) => index,
            None => {
                let index = self.deposit_count();
                if index == MAX_OBLIGATION_DEPOSITS {
                    return Err(LendingError::ObligationDepositsFull);
                }
                self.deposits[index] = ObligationCollateral { deposit_reserve: *reserve, ..Default::default() };
                index
            }
        };
        let position = &mut self.deposits[index];
        let before = position.deposited_shares;
        position.deposited_shares = overflow(before.checked_add(shares))?;
        Ok((before, position.deposited_shares))
    }

    /// Removes shares from a position, closing it (positions stay packed in order) when empty.
    pub fn withdraw_shares(&mut self, index: usize, shares: u64) -> ObligationResult<()> {
        let position = &mut self.deposits[index];
        position.deposited_shares =
            position.deposited_shares.checked_sub(shares).ok_or(LendingError::InsufficientCollateral)?;
        if position.deposited_shares == 0 {
            let count = self.deposit_count();
            self.deposits.copy_within(index + 1..count, index);
            self.deposits[count - 1] = ObligationCollateral::default();
        }
        Ok(())
    }

    /// Adds debt to the reserve's position (already accrued to `index`), opening one if needed.
    pub fn borrow(&mut self, reserve: &Pubkey, amount: Wad, index: Wad) -> ObligationResult<usize> {
        let slot = match self.find_borrow(reserve) {
            Some(slot) => slot,
            None => {
                let slot = self.borrow_count();
                if slot == MAX_OBLIGATION_BORROWS {
                    return Err(LendingError::ObligationBorrowsFull);
                }
                self.borrows[slot] = ObligationLiquidity { borrow_reserve: *reserve, ..Default::default() };
                self.borrows[slot].cumulative_borrow_index_wad.set(index);
                slot
            }
        };
        let position = &mut self.borrows[slot];
        position.accrue_interest(index)?;
        position.borrowed_amount_wad.set(overflow(position.borrowed_amount().checked_add(amount))?);
        Ok(slot)
    }

    /// Takes `settled` off a debt position, closing it when nothing is left.
    pub fn repay(&mut self, slot: usize, settled: Wad) -> ObligationResult<()> {
        let position = &mut self.borrows[slot];
        let remaining = overflow(position.borrowed_amount().checked_sub(settled))?;
        position.borrowed_amount_wad.set(remaining);
        if remaining.is_zero() {
            let count = self.borrow_count();
            self.borrows.copy_within(slot + 1..count, slot);
            self.borrows[count - 1] = ObligationLiquidity::default();
            if count == 1 {
                // No debt left: nothing can be unhealthy, the auction is over.
                self.unhealthy_since = 0;
            }
        }
        Ok(())
    }
}

/// How much of a debt a payment of `amount` whole tokens settles: all of it once `amount`
/// covers the debt rounded up, otherwise exactly `amount`. Returns (tokens taken, debt settled).
pub fn settle_repayment(amount: u64, debt: Wad) -> ObligationResult<(u64, Wad)> {
    let debt_ceiling = overflow(debt.to_u64(Rounding::Up))?;
    if amount >= debt_ceiling {
        Ok((debt_ceiling, debt))
    } else {
        Ok((amount, Wad::from_u64(amount)))
    }
}
