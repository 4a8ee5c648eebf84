use super::token::{is_token_account_of, transfer_from_authority_account};
use crate::errors::LendingError;
use crate::events::ProtocolFeesWithdrawn;
use crate::state::{LendingMarket, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{TokenAccount, TokenInterface};

#[derive(Accounts)]
pub struct WithdrawProtocolFees<'info> {
    #[account(has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
    #[account(
        has_one = token_program @ LendingError::InvalidTokenProgram,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = liquidity_mint @ LendingError::InvalidLiquidityMint,
        has_one = fee_vault @ LendingError::InvalidFeeVault
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub liquidity_mint: UncheckedAccount<'info>,
    #[account(mut)]
    pub fee_vault: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&destination, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint
    )]
    pub destination: UncheckedAccount<'info>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Pays `amount` (u64::MAX: all) out of the fee vault to an account of the owner's choosing.
pub fn handler(ctx: Context<WithdrawProtocolFees>, amount: u64) -> Result<()> {
    let accounts = ctx.accounts;
    let amount = if amount == u64::MAX { accounts.fee_vault.amount } else { amount };
    require!(amount > 0, LendingError::ZeroAmount);
    require!(amount <= accounts.fee_vault.amount, LendingError::InsufficientLiquidity);
    transfer_from_authority_account(
        &accounts.token_program,
        accounts.fee_vault.to_account_info(),
        &accounts.liquidity_mint,
        accounts.reserve.load()?.liquidity_decimals,
        &accounts.destination,
        &accounts.market_authority,
        &accounts.lending_market,
        amount,
    )?;
    emit!(ProtocolFeesWithdrawn { reserve: accounts.reserve.key(), destination: accounts.destination.key(), amount });
    Ok(())
}
