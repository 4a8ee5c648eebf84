use crate::errors::LendingError;
use crate::events::ObligationRefreshed;
use crate::math::Rounding;
use crate::state::{Obligation, ObligationValues, Reserve};
use anchor_lang::prelude::*;

/// Remaining accounts: the reserve of every deposit, then of every borrow, in the obligation's
/// order. Each must have been refreshed in this slot.
#[derive(Accounts)]
pub struct RefreshObligation<'info> {
    #[account(mut)]
    pub obligation: AccountLoader<'info, Obligation>,
}

pub fn handler<'info>(ctx: Context<'info, RefreshObligation<'info>>) -> Result<()> {
    let clock = Clock::get()?;
    let slot = clock.slot;
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    let (deposit_count, borrow_count) = (obligation.deposit_count(), obligation.borrow_count());
    let reserves = ctx.remaining_accounts;
    require!(reserves.len() == deposit_count + borrow_count, LendingError::ObligationReservesMismatch);

    let mut values = ObligationValues::default();
    for (position, info) in obligation.deposits[..deposit_count].iter_mut().zip(&reserves[..deposit_count]) {
        require_keys_eq!(*info.key, position.deposit_reserve, LendingError::ObligationReservesMismatch);
        let loader = AccountLoader::<Reserve>::try_from(info)?;
        let reserve = loader.load()?;
        require!(reserve.is_price_fresh(slot), LendingError::ReserveStale);
        let value = reserve.collateral_value(position.deposited_shares)?;
        position.market_value_wad.set(value);
        values.add_collateral(value, &reserve)?;
    }
    for (position, info) in obligation.borrows[..borrow_count].iter_mut().zip(&reserves[deposit_count..]) {
        require_keys_eq!(*info.key, position.borrow_reserve, LendingError::ObligationReservesMismatch);
        let loader = AccountLoader::<Reserve>::try_from(info)?;
        let reserve = loader.load()?;
        require!(reserve.is_price_fresh(slot), LendingError::ReserveStale);
        position.accrue_interest(reserve.cumulative_borrow_index())?;
        let value = reserve.market_value(position.borrowed_amount(), Rounding::Up)?;
        position.market_value_wad.set(value);
        values.borrowed_value = values.borrowed_value.checked_add(value).ok_or(LendingError::MathOverflow)?;
    }
    obligation.set_values(&values);
    obligation.track_health(&values, clock.unix_timestamp);
    obligation.last_update_slot = slot;
    obligation.stale = 0;
    emit!(ObligationRefreshed {
        obligation: ctx.accounts.obligation.key(),
        deposited_value_wad: values.deposited_value.raw(),
        borrowed_value_wad: values.borrowed_value.raw(),
        allowed_borrow_value_wad: values.allowed_borrow_value.raw(),
        unhealthy_borrow_value_wad: values.unhealthy_borrow_value.raw(),
    });
    Ok(())
}
