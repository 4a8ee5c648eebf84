use super::token::{is_spendable_by, is_token_account_of, pay_into_liquidity_vault};
use crate::errors::LendingError;
use crate::events::Deposited;
use crate::state::{operations, Obligation, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

#[derive(Accounts)]
pub struct Deposit<'info> {
    /// No pause check: adding collateral only lowers risk, and liquidation runs while paused,
    /// so borrowers must be able to cure their positions then.
    /// Deposit reads nothing from the market, so it is not deserialized.
    /// CHECK: the reserve's (`check_accounts`) and the obligation's (`has_one`) market, by key.
    pub lending_market: UncheckedAccount<'info>,
    #[account(
        mut,
        constraint = {
            reserve.load()?.check_accounts(Some(&lending_market.key()), &liquidity_mint.key(), &liquidity_vault.key(), &token_program.key())?;
            true
        }
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = owner @ LendingError::InvalidObligationOwner
    )]
    pub obligation: AccountLoader<'info, Obligation>,
    pub owner: Signer<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub liquidity_vault: UncheckedAccount<'info>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&source_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint,
        constraint = is_spendable_by(&source_liquidity, &owner.key()) @ LendingError::InvalidSourceAuthority
    )]
    pub source_liquidity: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Deposits `amount` tokens; the obligation is credited collateral shares (rounded down).
/// Needs no price: a stale oracle never stops anyone adding collateral.
pub fn handler(ctx: Context<Deposit>, amount: u64) -> Result<()> {
    require!(amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let reserve_key = accounts.reserve.key();
    let mut reserve = accounts.reserve.load_mut()?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    let mut obligation = accounts.obligation.load_mut()?;
    let shares = operations::deposit(&mut obligation, &mut reserve, &reserve_key, amount)?;

    pay_into_liquidity_vault(
        &accounts.token_program,
        &accounts.source_liquidity,
        &accounts.liquidity_mint,
        reserve.liquidity_decimals,
        &accounts.liquidity_vault,
        &accounts.owner,
        amount,
        reserve.available_amount,
    )?;
    emit!(Deposited {
        reserve: reserve_key,
        obligation: accounts.obligation.key(),
        liquidity_amount: amount,
        collateral_shares: shares,
    });
    Ok(())
}
