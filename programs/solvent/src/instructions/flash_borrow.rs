use super::token::{is_token_account_of, pay_from_liquidity_vault};
use crate::errors::LendingError;
use crate::events::FlashBorrowed;
use crate::flash_loan::{require_repay_follows, require_top_level, INSTRUCTIONS_SYSVAR_ID};
use crate::state::{LendingMarket, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

/// Market first and reserve second: `flash_loan::FlashStep` reads them at these positions.
#[derive(Accounts)]
pub struct FlashBorrow<'info> {
    #[account(constraint = !lending_market.paused @ LendingError::MarketPaused)]
    pub lending_market: Account<'info, LendingMarket>,
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
        constraint = is_token_account_of(&destination_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint
    )]
    pub destination_liquidity: UncheckedAccount<'info>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    /// CHECK: the instructions sysvar, by address.
    #[account(address = INSTRUCTIONS_SYSVAR_ID @ LendingError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Lends `amount` for the rest of the transaction. A `flash_repay` of the same reserve and amount
/// must be the next flash instruction; no price or obligation is involved.
pub fn handler(ctx: Context<FlashBorrow>, amount: u64) -> Result<()> {
    require!(amount > 0, LendingError::ZeroAmount);
    require_top_level()?;
    let accounts = ctx.accounts;
    let reserve_key = accounts.reserve.key();
    require_repay_follows(&accounts.instructions_sysvar, &reserve_key, amount)?;
    let mut reserve = accounts.reserve.load_mut()?;
    reserve.check_action(crate::state::ACTION_FLASH_LOAN, Clock::get()?.unix_timestamp)?;
    reserve.flash_borrow(amount)?;
    pay_from_liquidity_vault(
        &accounts.token_program,
        &accounts.liquidity_vault,
        &accounts.liquidity_mint,
        reserve.liquidity_decimals,
        &accounts.destination_liquidity,
        &accounts.market_authority,
        &accounts.lending_market,
        amount,
        reserve.available_amount,
    )?;
    emit!(FlashBorrowed { reserve: reserve_key, amount });
    Ok(())
}
