use super::token::{is_token_account_of, pay_from_liquidity_vault};
use crate::errors::LendingError;
use super::refresh_obligation::check_reserves_unchanged;
use crate::events::Borrowed;
use crate::math::Wad;
use crate::state::{LendingMarket, Obligation, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

#[derive(Accounts)]
pub struct Borrow<'info> {
    #[account(constraint = !lending_market.paused @ LendingError::MarketPaused)]
    pub lending_market: Account<'info, LendingMarket>,
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
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Borrows `amount` (the debt taken on); the borrower receives it less the origination fee.
/// Reserve and obligation must have been refreshed in this slot; the remaining accounts are the
/// obligation's position reserves in order (as refresh_obligation takes them), none changed since.
pub fn handler<'info>(ctx: Context<'info, Borrow<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let clock = Clock::get()?;
    let reserve_key = accounts.reserve.key();
    let mut obligation = accounts.obligation.load_mut()?;
    require!(obligation.is_fresh(clock.slot), LendingError::ObligationStale);
    check_reserves_unchanged(&obligation, ctx.remaining_accounts)?;
    let mut reserve = accounts.reserve.load_mut()?;
    require!(reserve.is_price_fresh(clock.slot), LendingError::ReserveStale);
    let mut values = obligation.values();
    require!(reserve.price_halted == 0 && !values.uses_halted_price, LendingError::PriceCircuitBreakerTripped);
    reserve.accrue_interest(clock.unix_timestamp)?;

    let fee = reserve.borrow(amount)?;
    let slot = obligation.borrow(&reserve_key, Wad::from_u64(amount), reserve.cumulative_borrow_index())?;
    let position = &mut obligation.borrows[slot];
    let position_value = reserve.debt_value(position.borrowed_amount())?;
    // The limit first, on the borrowing-power sums alone: an obligation whose liquidation sums
    // are at other prices (unhealthy at conservative ones) is refused as too large, not on
    // their arithmetic. A borrow that passes leaves it healthy at conservative prices, where
    // the liquidation sums equal those.
    let borrowed = values.borrowed_value.checked_sub(position.market_value_wad.get()).and_then(|v| v.checked_add(position_value));
    require!(borrowed.is_some_and(|b| b <= values.allowed_borrow_value), LendingError::BorrowTooLarge);
    values.replace_debt(position.market_value_wad.get(), position_value)?;
    position.market_value_wad.set(position_value);
    obligation.set_values(&values);

    let paid_out = amount - fee;
    pay_from_liquidity_vault(
        &accounts.token_program,
        &accounts.liquidity_vault,
        &accounts.liquidity_mint,
        reserve.liquidity_decimals,
        &accounts.destination_liquidity,
        &accounts.market_authority,
        &accounts.lending_market,
        paid_out,
        reserve.available_amount,
    )?;
    emit!(Borrowed { reserve: reserve_key, obligation: accounts.obligation.key(), amount, borrow_fee: fee });
    Ok(())
}
