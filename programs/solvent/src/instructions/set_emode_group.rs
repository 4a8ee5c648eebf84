use crate::errors::LendingError;
use crate::events::EmodeGroupSet;
use crate::state::{EmodeGroup, LendingMarket};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetEmodeGroup<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
}

/// Sets e-mode group `group` (1..=8) to `params` (`LendingMarket::set_emode_group`: the group
/// number, then `EmodeGroup::validate`; all zero disables it). Obligations in the group are valued with the new parameters from their next
/// refresh; one refreshed before the change must refresh again before it borrows, withdraws or
/// is liquidated (`EmodeGroupChangedSinceRefresh`).
pub fn handler(ctx: Context<SetEmodeGroup>, group: u8, params: EmodeGroup) -> Result<()> {
    let market = &mut ctx.accounts.lending_market;
    market.set_emode_group(group, &params)?;
    emit!(EmodeGroupSet {
        market: market.key(),
        group,
        loan_to_value_bps: params.loan_to_value_bps,
        liquidation_threshold_bps: params.liquidation_threshold_bps,
        liquidation_bonus_bps: params.liquidation_bonus_bps,
        max_liquidation_bonus_bps: params.max_liquidation_bonus_bps,
    });
    Ok(())
}
