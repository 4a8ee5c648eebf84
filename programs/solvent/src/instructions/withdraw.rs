use super::token::{is_token_account_of, market_in_place, pay_from_liquidity_vault};
use crate::errors::LendingError;
use super::refresh_obligation::{check_refresh_current, refresh_reserves_inline, revalue_positions, revalues_inline};
use crate::events::Withdrawn;
use crate::state::{operations, Obligation, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

#[derive(Accounts)]
pub struct Withdraw<'info> {
    /// The market, read in place (owner, discriminator, the pause, the authority, the e-mode
    /// groups); the reserve and the obligation name it.
    /// CHECK: `market_in_place`.
    #[account(constraint = !market_in_place(&lending_market)?.header.paused @ LendingError::MarketPaused)]
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
        constraint = is_token_account_of(&destination_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint
    )]
    pub destination_liquidity: UncheckedAccount<'info>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = market_in_place(&lending_market)?.header.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Redeems `collateral_shares` (u64::MAX: all) for tokens, rounded down. With debt outstanding,
/// the reserve and obligation must be current, and health is recomputed for the position: the
/// remaining accounts are either the obligation's position reserves in order after
/// refresh_reserve and refresh_obligation in this slot (none changed since), or each
/// position's reserve (writable) followed by its oracle, to revalue inline
/// (`refresh_obligation::revalues_inline`).
pub fn handler<'info>(ctx: Context<'info, Withdraw<'info>>, collateral_shares: u64) -> Result<()> {
    // Before any account check, as every instruction refuses a zero amount first.
    require!(collateral_shares > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let clock = Clock::get()?;
    let reserve_key = accounts.reserve.key();
    let mut obligation = accounts.obligation.load_mut()?;
    let remaining = ctx.remaining_accounts;
    let (shares, amount, reserve) = if obligation.has_borrows() && revalues_inline(remaining) {
        // Revalued inline: the position reserves refreshed from their oracles, the shares taken
        // off, then one valuation of what is left, then the checks of a withdrawal.
        refresh_reserves_inline(&accounts.lending_market, &mut obligation, remaining, &clock)?;
        let (index, operations::Withdrawal { shares, amount }) = {
            let mut reserve = accounts.reserve.load_mut()?;
            operations::take_collateral(&mut obligation, &mut reserve, &reserve_key, collateral_shares)?
        };
        revalue_positions(&mut obligation, &accounts.obligation.key(), remaining, 2, &clock)?;
        let reserve = accounts.reserve.load()?;
        operations::finish_withdrawal(&mut obligation, &reserve, index)?;
        (shares, amount, (reserve.liquidity_decimals, reserve.available_amount))
    } else {
        if obligation.has_borrows() {
            require!(obligation.is_fresh(clock.slot), LendingError::ObligationStale);
            check_refresh_current(&accounts.lending_market, &obligation, remaining)?;
        }
        let mut reserve = accounts.reserve.load_mut()?;
        reserve.accrue_interest(clock.unix_timestamp)?;
        let operations::Withdrawal { shares, amount } =
            operations::withdraw(&mut obligation, &mut reserve, &reserve_key, collateral_shares, clock.slot)?;
        (shares, amount, (reserve.liquidity_decimals, reserve.available_amount))
    };
    let (decimals, available) = reserve;

    pay_from_liquidity_vault(
        &accounts.token_program,
        &accounts.liquidity_vault,
        &accounts.liquidity_mint,
        decimals,
        &accounts.destination_liquidity,
        &accounts.market_authority,
        &market_in_place(&accounts.lending_market)?,
        amount,
        available,
    )?;
    emit!(Withdrawn {
        reserve: reserve_key,
        obligation: accounts.obligation.key(),
        liquidity_amount: amount,
        collateral_shares: shares,
    });
    Ok(())
}
