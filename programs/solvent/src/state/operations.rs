//! The position rules of `borrow` and `withdraw` as pure functions on the accounts. The
//! handlers run them after their account and freshness checks; off-chain queries
//! (`solvent-client`'s `max_borrow` / `max_withdraw`) run the very same code on copies, so a
//! quoted maximum and the instruction cannot disagree by a base unit.
use super::{debt_units, weighted, Emode, EmodeGroupDebt, HealthKind, Obligation, ObligationValues, Reserve, Side};
use crate::errors::{overflow, LendingError};
use crate::math::Wad;
use anchor_lang::prelude::Pubkey;

type OperationResult<T> = std::result::Result<T, LendingError>;

/// The counters a borrow may be charged to: the isolated collateral's reserve (its
/// `isolated_debt`) and the e-mode group's `EmodeGroupDebt`. Off chain, copies of them.
#[derive(Default)]
pub struct DebtCounters<'a> {
    pub isolated: Option<&'a mut Reserve>,
    pub emode: Option<&'a mut EmodeGroupDebt>,
}

/// Borrows `amount` (the debt taken on) from `reserve` (price fresh, interest accrued) into
/// `obligation` (refreshed in this slot). The debt tier rules first
/// (`Obligation::check_debt_tier`), then the reserve's limits; books the debt on both, revalues the position at the
/// debt price (rounded up) and requires the borrowing-power sums to cover it
/// (`BorrowTooLarge`). Returns the origination fee, which the borrower does not receive.
///
/// The limit is checked on the borrowing-power sums alone: an obligation whose liquidation sums
/// are at other prices (unhealthy at conservative ones) is refused as too large, not on their
/// arithmetic. A borrow that passes leaves it healthy at conservative prices, where the
/// liquidation sums equal those.
///
/// The borrow's value (at the debt price, rounded up) is charged against the caps that count
/// it (`DebtCounters`): an obligation holding isolated collateral against that collateral's
/// debt ceiling (`IsolationDebtCeilingExceeded`), one in an e-mode group (enabled or not)
/// against the group's debt cap (`EmodeDebtCapExceeded`); the counter must be given
/// (`IsolationReserveRequired`, `EmodeGroupDebtRequired`).
pub fn borrow(obligation: &mut Obligation, reserve: &mut Reserve, reserve_key: &Pubkey, amount: u64, counters: DebtCounters) -> OperationResult<u64> {
    if amount == 0 {
        return Err(LendingError::ZeroAmount);
    }
    let mut values = obligation.values();
    if reserve.is_price_halted() || values.uses_halted_price {
        return Err(LendingError::PriceCircuitBreakerTripped);
    }
    obligation.check_debt_tier(reserve_key, &reserve.config)?;
    let fee = reserve.borrow(amount)?;
    let slot = obligation.borrow(reserve_key, Wad::from_u64(amount), reserve.cumulative_borrow_index())?;
    // In a group, counted even while the owner has it disabled: a cap set or a group enabled
    // again later binds all of its obligations' debt.
    let (isolated, emode) = (obligation.is_isolated(), obligation.emode_group != 0);
    if isolated || emode {
        let units = debt_units(reserve.debt_value(Wad::from_u64(amount))?).ok_or(LendingError::MathOverflow)?;
        if isolated {
            counters.isolated.ok_or(LendingError::IsolationReserveRequired)?.charge_isolated_debt(units)?;
            let isolated_key = obligation.deposits[0].deposit_reserve;
            obligation.charge_isolation(slot, &isolated_key, units)?;
        }
        if emode {
            counters.emode.ok_or(LendingError::EmodeGroupDebtRequired)?.charge(units)?;
            obligation.emode_charges[slot] = overflow(obligation.emode_charges[slot].checked_add(units))?;
        }
    }
    let position = &mut obligation.borrows[slot];
    let position_value = reserve.debt_value(position.borrowed_amount())?;
    let initial = values.health(HealthKind::Initial);
    // The position's part of the borrowing-power debt, before and after: weighted by the
    // borrow weight, as refresh_obligation added it.
    let params = values.risk_params(reserve);
    let weighed = |value| weighted(value, &params, HealthKind::Initial, Side::Liability);
    let (old_weighted, new_weighted) = (weighed(position.market_value_wad.get())?, weighed(position_value)?);
    let borrowed = initial.liabilities.checked_sub(old_weighted).and_then(|v| v.checked_add(new_weighted));
    if !borrowed.is_some_and(|b| b <= initial.assets) {
        return Err(LendingError::BorrowTooLarge);
    }
    values.replace_debt(position.market_value_wad.get(), position_value, reserve)?;
    position.market_value_wad.set(position_value);
    obligation.set_values(&values);
    Ok(fee)
}

/// Deposits `amount` tokens of `reserve` (interest accrued) as collateral of `obligation`:
/// the collateral tier rule first (`Obligation::check_collateral_tier`), then the reserve's
/// limits, then the shares (rounded down) credited. Needs no price (value caps use the last
/// booked one): a stale oracle never stops anyone adding collateral. Returns the shares.
pub fn deposit(obligation: &mut Obligation, reserve: &mut Reserve, reserve_key: &Pubkey, amount: u64) -> OperationResult<u64> {
    if amount == 0 {
        return Err(LendingError::ZeroAmount);
    }
    obligation.check_collateral_tier(reserve_key, &reserve.config)?;
    // A deposit pause stops every deposit (an exemption for obligations with debt let a
    // one-unit borrow carry new collateral past it); a borrower cures by repaying, which is
    // never paused. Every caller accrues interest first: the reserve's clock is now.
    reserve.check_action(super::ACTION_DEPOSIT, reserve.last_update_timestamp)?;
    let shares = reserve.deposit(amount)?;
    let (shares_before, shares_after) = obligation.deposit(reserve_key, shares)?;
    obligation.note_deposit(reserve, shares_before, shares_after)?;
    obligation.mark_stale();
    Ok(shares)
}

/// What a withdrawal pays: shares taken off the obligation and the tokens they redeem for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub shares: u64,
    pub amount: u64,
}

/// Withdraws `collateral_shares` (u64::MAX: all) of `reserve`'s collateral (interest accrued)
/// from `obligation`, redeemed for tokens rounded down. With debt outstanding the reserve's price
/// must be from `slot` (`ReserveStale`) and the position is revalued at the collateral price
/// (rounded down): the borrowing-power sums must still cover the debt (`WithdrawTooLarge`).
/// Without debt the obligation is marked stale instead. For an obligation refreshed before it
/// (refresh_obligation); `take_collateral` and `finish_withdrawal` are the two halves around a
/// revaluation of the whole obligation (an action that revalues inline).
pub fn withdraw(obligation: &mut Obligation, reserve: &mut Reserve, reserve_key: &Pubkey, collateral_shares: u64, slot: u64) -> OperationResult<Withdrawal> {
    let (index, withdrawal) = take_collateral(obligation, reserve, reserve_key, collateral_shares)?;
    if obligation.has_borrows() {
        if !reserve.is_price_fresh(slot) {
            return Err(LendingError::ReserveStale);
        }
        let mut values = obligation.values();
        let position = &mut obligation.deposits[index];
        let remaining_value = reserve.collateral_value(position.deposited_shares)?;
        values.remove_collateral(position.market_value_wad.get(), reserve)?;
        let weights = values.add_collateral(remaining_value, reserve)?;
        check_withdrawal(&values, reserve)?;
        position.market_value_wad.set(remaining_value);
        obligation.collateral_weights_bps[index] = weights;
        // Within borrowing power, so the refresh valued the liquidation kinds at the
        // conservative prices: the threshold-weighted sum is the margin band's.
        values.conservative_threshold_assets = values.health(super::HealthKind::Maintenance).assets;
        obligation.set_values(&values);
    } else {
        obligation.mark_stale();
    }
    obligation.drop_empty_deposit(index);
    Ok(withdrawal)
}

/// The first half of a withdrawal: `collateral_shares` (u64::MAX: all) of the position in
/// `reserve` (interest accrued) taken off it and redeemed for tokens, rounded down. The position
/// keeps its slot even when emptied, so a revaluation of the obligation that follows values what
/// is left with the accounts laid out for its positions; `finish_withdrawal` drops it. Returns
/// the position's index and what is paid.
pub fn take_collateral(obligation: &mut Obligation, reserve: &mut Reserve, reserve_key: &Pubkey, collateral_shares: u64) -> OperationResult<(usize, Withdrawal)> {
    if collateral_shares == 0 {
        return Err(LendingError::ZeroAmount);
    }
    let index = obligation.find_deposit(reserve_key).ok_or(LendingError::DepositNotFound)?;
    let held = obligation.deposits[index].deposited_shares;
    let shares = if collateral_shares == u64::MAX { held } else { collateral_shares };
    if shares > held {
        return Err(LendingError::InsufficientCollateral);
    }
    let amount = reserve.redeem(shares)?;
    if amount == 0 {
        return Err(LendingError::ZeroAmount);
    }
    obligation.take_shares(index, shares)?;
    Ok((index, Withdrawal { shares, amount }))
}

/// The second half of a withdrawal taken by `take_collateral` at `index`, once the obligation has
/// been revalued with what is left (its values are the revaluation's): with debt outstanding it
/// must use no halted price and stay within borrowing power (`check_withdrawal`); the emptied
/// position is dropped.
pub fn finish_withdrawal(obligation: &mut Obligation, reserve: &Reserve, index: usize) -> OperationResult<()> {
    if obligation.has_borrows() {
        check_withdrawal(&obligation.values(), reserve)?;
    }
    obligation.drop_empty_deposit(index);
    Ok(())
}

/// What a withdrawal with debt outstanding must leave: no price halted by the circuit breaker
/// among the withdrawn reserve and the positions (`PriceCircuitBreakerTripped`), the
/// borrowing-power sums covering the debt (`WithdrawTooLarge`).
fn check_withdrawal(values: &super::ObligationValues, reserve: &Reserve) -> OperationResult<()> {
    if reserve.is_price_halted() || values.uses_halted_price {
        return Err(LendingError::PriceCircuitBreakerTripped);
    }
    if !values.within_borrowing_power() {
        return Err(LendingError::WithdrawTooLarge);
    }
    Ok(())
}

/// The group debt counters an e-mode change moves the obligation's debt between: the group it
/// leaves (needed when its debt is charged there) and the group it enters (needed with debt).
#[derive(Default)]
pub struct GroupChange<'a> {
    pub leaving: Option<&'a mut EmodeGroupDebt>,
    pub entering: Option<&'a mut EmodeGroupDebt>,
}

/// Moves `obligation` (refreshed in this slot) into the e-mode group of `emode` (`Emode::NONE`:
/// out of any group), revaluing its positions with `reserve_at` (as `Obligation::revalue`; the
/// reserves as the refresh saw them). A group must be enabled (`InvalidEmodeGroup`) and hold
/// every position's reserve (`NotInEmodeGroup`). With debt, the obligation must be within its
/// borrowing power under the new weights (`EmodeChangeUnhealthy`): in particular it leaves a
/// group only while healthy under the assets' own weights. A change of group moves the debt's
/// charges: released from the group left, the debt's value charged to the group entered
/// within its cap (`EmodeDebtCapExceeded`). Returns the new values, stored.
pub fn set_emode<R, E>(
    obligation: &mut Obligation,
    emode: Emode,
    now: i64,
    slot: u64,
    mut reserve_at: impl FnMut(usize, &Pubkey) -> std::result::Result<R, E>,
    counters: GroupChange,
) -> std::result::Result<ObligationValues, E>
where
    R: core::ops::Deref<Target = Reserve>,
    E: From<LendingError>,
{
    if emode.group != 0 && !emode.is_active() {
        return Err(LendingError::InvalidEmodeGroup.into());
    }
    let changes_group = obligation.emode_group != emode.group;
    if changes_group && obligation.has_emode_charges() {
        let leaving = counters.leaving.ok_or(LendingError::EmodeGroupDebtRequired)?;
        leaving.release(obligation.release_emode_debts())?;
    }
    obligation.emode_group = emode.group;
    obligation.emode_params = emode.params;
    let values = obligation.revalue(|index, key| -> std::result::Result<R, E> {
        let reserve = reserve_at(index, key)?;
        if emode.is_active() && !reserve.config.is_in_emode_group(emode.group) {
            return Err(LendingError::NotInEmodeGroup.into());
        }
        Ok(reserve)
    })?;
    if obligation.has_borrows() && !values.within_borrowing_power() {
        return Err(LendingError::EmodeChangeUnhealthy.into());
    }
    // The debt comes into the group's count at its value now (the debt price of this refresh).
    if changes_group && emode.is_active() && obligation.has_borrows() {
        let entering = counters.entering.ok_or(LendingError::EmodeGroupDebtRequired)?;
        entering.charge(obligation.charge_emode_debts()?)?;
    }
    obligation.finish_refresh(&values, now, slot);
    Ok(values)
}
