use crate::errors::LendingError;
use crate::events::ReserveConfigUpdated;
use crate::state::{LendingMarket, Reserve, ReserveConfig};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct UpdateReserveConfig<'info> {
    #[account(has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub reserve: AccountLoader<'info, Reserve>,
}

pub fn handler(ctx: Context<UpdateReserveConfig>, config: ReserveConfig) -> Result<()> {
    config.validate()?;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    // Interest up to now is owed at the old curve.
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    reserve.config = config;
    // Positions must be revalued under the new parameters before anything relies on them.
    reserve.price_updated_slot = 0;
    emit!(ReserveConfigUpdated {
        reserve: ctx.accounts.reserve.key(),
        loan_to_value_bps: config.loan_to_value_bps,
        liquidation_threshold_bps: config.liquidation_threshold_bps,
        liquidation_bonus_bps: config.liquidation_bonus_bps,
    });
    Ok(())
}
