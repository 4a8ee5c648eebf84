use super::token::{is_spendable_by, is_token_account_of, pay_into_liquidity_vault};
use crate::errors::{LendingError, OrOverflow};
use crate::events::FlashRepaid;
use crate::flash_loan::require_top_level;
use crate::state::Reserve;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

/// Market first and reserve second, as in `FlashBorrow`. No pause check: a loan that is out must
/// always be able to come back, so nothing of the market is read.
#[derive(Accounts)]
pub struct FlashRepay<'info> {
    /// CHECK: the reserve's market, by key (constraint on the reserve).
    pub lending_market: UncheckedAccount<'info>,
    #[account(
        mut,
        constraint = {
            reserve.load()?.check_accounts(Some(&lending_market.key()), &liquidity_mint.key(), &liquidity_vault.key(), &token_program.key())?;
            true
        },
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub liquidity_vault: UncheckedAccount<'info>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&source_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint,
        constraint = is_spendable_by(&source_liquidity, &repayer.key()) @ LendingError::InvalidSourceAuthority
    )]
    pub source_liquidity: UncheckedAccount<'info>,
    pub repayer: Signer<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Pays back the open flash loan of `amount` plus the flash fee, from `source_liquidity`.
pub fn handler(ctx: Context<FlashRepay>, amount: u64) -> Result<()> {
    require!(amount > 0, LendingError::ZeroAmount);
    require_top_level()?;
    let accounts = ctx.accounts;
    let mut reserve = accounts.reserve.load_mut()?;
    let (fee, protocol_fee) = reserve.flash_repay(amount)?;
    let returned = amount.checked_add(fee).or_overflow()?;
    pay_into_liquidity_vault(
        &accounts.token_program,
        &accounts.source_liquidity,
        &accounts.liquidity_mint,
        reserve.liquidity_decimals,
        &accounts.liquidity_vault,
        &accounts.repayer,
        returned,
        reserve.available_amount,
    )?;
    emit!(FlashRepaid { reserve: accounts.reserve.key(), amount, fee, protocol_fee });
    Ok(())
}
