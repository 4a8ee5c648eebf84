use super::token::{burn_shares, is_token_account_of, pay_from_liquidity_vault};
use crate::errors::LendingError;
use crate::events::ReserveCollateralRedeemed;
use crate::state::{LendingMarket, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[derive(Accounts)]
pub struct RedeemReserveCollateral<'info> {
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
    pub redeemer: Signer<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub liquidity_vault: UncheckedAccount<'info>,
    #[account(mut)]
    pub collateral_mint: InterfaceAccount<'info, Mint>,
    #[account(mut, constraint = source_collateral.mint == collateral_mint.key() @ LendingError::InvalidCollateralMint)]
    pub source_collateral: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&destination_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint
    )]
    pub destination_liquidity: UncheckedAccount<'info>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Burns `shares` share tokens and pays out the liquidity they are worth, rounded down.
pub fn handler(ctx: Context<RedeemReserveCollateral>, shares: u64) -> Result<()> {
    require!(shares > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    require!(shares <= accounts.source_collateral.amount, LendingError::InsufficientCollateral);
    let mut reserve = accounts.reserve.load_mut()?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    let amount = reserve.redeem(shares)?;
    require!(amount > 0, LendingError::ZeroAmount);

    burn_shares(&accounts.token_program, &accounts.collateral_mint, &accounts.source_collateral, &accounts.redeemer, shares)?;
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
    emit!(ReserveCollateralRedeemed {
        reserve: accounts.reserve.key(),
        redeemer: accounts.redeemer.key(),
        liquidity_amount: amount,
        collateral_shares: shares,
    });
    Ok(())
}
