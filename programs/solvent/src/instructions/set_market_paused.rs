use crate::errors::LendingError;
use crate::events::MarketPauseSet;
use crate::state::LendingMarket;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetMarketPaused<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
}

/// Pausing applies at once; lifting a pause waits the market's timelock (`ChangeNeedsTimelock`:
/// queue `UnpauseMarket`).
pub fn handler(ctx: Context<SetMarketPaused>, paused: bool) -> Result<()> {
    let market = &ctx.accounts.lending_market;
    market.policy().require_at_once(paused || !market.paused)?;
    ctx.accounts.lending_market.paused = paused;
    emit!(MarketPauseSet { market: ctx.accounts.lending_market.key(), paused });
    Ok(())
}
