use crate::events::ObligationInitialized;
use crate::state::{LendingMarket, Obligation, ACCOUNT_VERSION, OBLIGATION_SEED};
use anchor_lang::prelude::*;

#[derive(Accounts)]
#[instruction(obligation_id: u8)]
pub struct InitObligation<'info> {
    pub lending_market: Account<'info, LendingMarket>,
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        init,
        payer = owner,
        space = 8 + std::mem::size_of::<Obligation>(),
        seeds = [OBLIGATION_SEED, lending_market.key().as_ref(), owner.key().as_ref(), &[obligation_id]],
        bump
    )]
    pub obligation: AccountLoader<'info, Obligation>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<InitObligation>, obligation_id: u8) -> Result<()> {
    let mut obligation = ctx.accounts.obligation.load_init()?;
    obligation.version = ACCOUNT_VERSION;
    obligation.obligation_id = obligation_id;
    obligation.bump = ctx.bumps.obligation;
    obligation.lending_market = ctx.accounts.lending_market.key();
    obligation.owner = ctx.accounts.owner.key();
    obligation.mark_stale();
    emit!(ObligationInitialized {
        market: obligation.lending_market,
        obligation: ctx.accounts.obligation.key(),
        owner: obligation.owner,
    });
    Ok(())
}
