use super::token::{is_spendable_by, is_token_account_of, mint_shares, pay_into_liquidity_vault};
use crate::errors::LendingError;
use crate::events::ReserveLiquidityDeposited;
use crate::state::{LendingMarket, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[derive(Accounts)]
pub struct DepositReserveLiquidity<'info> {
    #[account(constraint = !lending_market.paused @ LendingError::MarketPaused)]
    pub lending_market: Account<'info, LendingMarket>,
    #[account(
        mut,
        constraint = {
            reserve.load()?.check_accounts(Some(&lending_market.key()), &liquidity_mint.key(), &liquidity_vault.key(), &token_program.key())?;
            true
        },
        has_one = collateral_mint @ LendingError::InvalidCollateralMint,
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    pub depositor: Signer<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub liquidity_vault: UncheckedAccount<'info>,
    #[account(mut)]
    pub collateral_mint: InterfaceAccount<'info, Mint>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&source_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint,
        constraint = is_spendable_by(&source_liquidity, &depositor.key()) @ LendingError::InvalidSourceAuthority
    )]
    pub source_liquidity: UncheckedAccount<'info>,
    #[account(mut, constraint = destination_collateral.mint == collateral_mint.key() @ LendingError::InvalidCollateralMint)]
    pub destination_collateral: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Lend-only: supplies `amount` tokens and receives share tokens (rounded down), outside any
/// obligation. Shares earn interest like obligation collateral but cannot be borrowed against.
pub fn handler(ctx: Context<DepositReserveLiquidity>, amount: u64) -> Result<()> {
    require!(amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let mut reserve = accounts.reserve.load_mut()?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    reserve.check_action(crate::state::ACTION_DEPOSIT, reserve.last_update_timestamp)?;
    let shares = reserve.deposit(amount)?;

    pay_into_liquidity_vault(
        &accounts.token_program,
        &accounts.source_liquidity,
        &accounts.liquidity_mint,
        reserve.liquidity_decimals,
        &accounts.liquidity_vault,
        &accounts.depositor,
        amount,
        reserve.available_amount,
    )?;
    mint_shares(
        &accounts.token_program,
        &accounts.collateral_mint,
        &accounts.destination_collateral,
        &accounts.market_authority,
        &accounts.lending_market,
        shares,
    )?;
    emit!(ReserveLiquidityDeposited {
        reserve: accounts.reserve.key(),
        depositor: accounts.depositor.key(),
        liquidity_amount: amount,
        collateral_shares: shares,
    });
    Ok(())
}
