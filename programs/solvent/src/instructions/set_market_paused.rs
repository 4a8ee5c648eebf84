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

pub fn handler(ctx: Context<SetMarketPaused>, paused: bool) -> Result<()> {
    ctx.accounts.lending_market.paused = paused;
    emit!(MarketPauseSet { market: ctx.accounts.lending_market.key(), paused });
    Ok(())
}
