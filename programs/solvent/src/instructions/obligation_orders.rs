use crate::errors::LendingError;
use crate::events::{ObligationOrderCancelled, ObligationOrderSet};
use crate::state::{Obligation, ObligationOrder, OrderParams, Reserve, MAX_OBLIGATION_ORDERS};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetObligationOrder<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidObligationOwner)]
    pub obligation: AccountLoader<'info, Obligation>,
    pub owner: Signer<'info>,
    /// The debt the order repays: one of the obligation's borrows.
    pub repay_reserve: AccountLoader<'info, Reserve>,
    /// The collateral the order sells: one of the obligation's deposits; its liquidation bonus
    /// (as the obligation weighs it) bounds the order's.
    pub withdraw_reserve: AccountLoader<'info, Reserve>,
}

/// Sets order `index` (0 or 1) of the obligation, replacing what the slot held: when `params`'
/// trigger holds at a refresh, anyone may repay up to its share of the debt in `repay_reserve`
/// for collateral of `withdraw_reserve` at its auction bonus (`execute_obligation_order`). The
/// positions must be held now (`BorrowNotFound`, `DepositNotFound`); every bound is checked
/// (`OrderParams::validate`). The auction clock starts at the next refresh that finds the
/// trigger holding.
pub fn set_handler(ctx: Context<SetObligationOrder>, index: u8, params: OrderParams) -> Result<()> {
    let index = index as usize;
    require!(index < MAX_OBLIGATION_ORDERS, LendingError::InvalidObligationOrder);
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    let (repay_key, withdraw_key) = (ctx.accounts.repay_reserve.key(), ctx.accounts.withdraw_reserve.key());
    obligation.find_borrow(&repay_key).ok_or(LendingError::BorrowNotFound)?;
    obligation.find_deposit(&withdraw_key).ok_or(LendingError::DepositNotFound)?;
    let bonus_bound = {
        let withdraw_reserve = ctx.accounts.withdraw_reserve.load()?;
        obligation.values().risk_params(&withdraw_reserve).liquidation_bonus_bps
    };
    params.validate(bonus_bound)?;
    obligation.orders[index] = params.order(repay_key, withdraw_key);
    emit!(ObligationOrderSet {
        obligation: ctx.accounts.obligation.key(),
        index: index as u8,
        trigger: params.trigger,
        threshold_wad: params.threshold_wad,
        repay_reserve: repay_key,
        withdraw_reserve: withdraw_key,
        max_repay_bps: params.max_repay_bps,
        max_bonus_bps: params.max_bonus_bps,
        bonus_ramp_secs: params.bonus_ramp_secs,
    });
    Ok(())
}

#[derive(Accounts)]
pub struct CancelObligationOrder<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidObligationOwner)]
    pub obligation: AccountLoader<'info, Obligation>,
    pub owner: Signer<'info>,
}

/// Clears order `index` (`OrderNotFound` when the slot is empty).
pub fn cancel_handler(ctx: Context<CancelObligationOrder>, index: u8) -> Result<()> {
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    let order = obligation.orders.get_mut(index as usize).filter(|order| order.is_active()).ok_or(LendingError::OrderNotFound)?;
    *order = ObligationOrder::default();
    emit!(ObligationOrderCancelled { obligation: ctx.accounts.obligation.key(), index });
    Ok(())
}
