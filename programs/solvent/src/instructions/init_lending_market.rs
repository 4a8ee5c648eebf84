use crate::events::MarketInitialized;
use crate::state::{LendingMarket, MarketPolicy, ACCOUNT_VERSION, MARKET_AUTHORITY_SEED};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct InitLendingMarket<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(init, payer = owner, space = 8 + LendingMarket::INIT_SPACE)]
    pub lending_market: Account<'info, LendingMarket>,
    /// CHECK: PDA that will own every vault of the market; derived here once and stored.
    #[account(seeds = [MARKET_AUTHORITY_SEED, lending_market.key().as_ref()], bump)]
    pub market_authority: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Creates the market with its `policy` (`MarketPolicy::OFF`: no timelock, ramp or step; the
/// deploy tools default to `MarketPolicy::RECOMMENDED`) and `guardian` (the default key: none).
pub fn handler(ctx: Context<InitLendingMarket>, quote_currency: [u8; 32], oracle_program: Pubkey, policy: MarketPolicy, guardian: Pubkey) -> Result<()> {
    policy.validate(guardian != Pubkey::default())?;
    let market = &mut ctx.accounts.lending_market;
    market.set_policy(&policy);
    market.guardian = guardian;
    market.version = ACCOUNT_VERSION;
    market.authority_bump = ctx.bumps.market_authority;
    market.authority = ctx.accounts.market_authority.key();
    market.paused = false;
    market.owner = ctx.accounts.owner.key();
    market.quote_currency = quote_currency;
    market.oracle_program = oracle_program;
    emit!(MarketInitialized { market: market.key(), owner: market.owner, oracle_program });
    Ok(())
}
