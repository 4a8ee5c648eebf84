use super::token::pay_from_liquidity_vault;
use crate::errors::LendingError;
use crate::events::ProtocolFeesCollected;
use crate::state::{LendingMarket, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{TokenAccount, TokenInterface};

/// Permissionless: fees can only ever move to the reserve's own fee vault.
#[derive(Accounts)]
pub struct CollectProtocolFees<'info> {
    pub lending_market: Account<'info, LendingMarket>,
    #[account(
        has_one = token_program @ LendingError::InvalidTokenProgram,
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = liquidity_mint @ LendingError::InvalidLiquidityMint,
        has_one = liquidity_vault @ LendingError::InvalidLiquidityVault,
        has_one = fee_vault @ LendingError::InvalidFeeVault
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub liquidity_vault: UncheckedAccount<'info>,
    #[account(mut)]
    pub fee_vault: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Moves accrued protocol fees (interest share and borrow fees) from the liquidity vault to the
/// fee vault, as far as idle liquidity allows.
pub fn handler(ctx: Context<CollectProtocolFees>) -> Result<()> {
    let accounts = ctx.accounts;
    let mut reserve = accounts.reserve.load_mut()?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    let amount = reserve.collectable_protocol_fees()?;
    require!(amount > 0, LendingError::ZeroAmount);
    reserve.collect_protocol_fees(amount)?;

    pay_from_liquidity_vault(
        &accounts.token_program,
        &accounts.liquidity_vault,
        &accounts.liquidity_mint,
        reserve.liquidity_decimals,
        &accounts.fee_vault,
        &accounts.market_authority,
        &accounts.lending_market,
        amount,
        reserve.available_amount,
    )?;
    emit!(ProtocolFeesCollected { reserve: accounts.reserve.key(), amount });
    Ok(())
}
