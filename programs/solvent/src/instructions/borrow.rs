use super::token::{is_token_account_of, pay_from_liquidity_vault};
use crate::errors::LendingError;
use super::debt_counters::{emode_group_debt, isolation_reserve};
use super::refresh_obligation::check_refresh_current;
use crate::events::Borrowed;
use crate::state::{operations, LendingMarket, Obligation, Reserve};
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
/// obligation's position reserves in order (as refresh_obligation takes them), none changed since;
/// an obligation holding isolated collateral passes that reserve writable, one in an e-mode group
/// the group's debt account (writable, after the positions).
pub fn handler<'info>(ctx: Context<'info, Borrow<'info>>, amount: u64) -> Result<()> {
    // Before any account check, as every instruction refuses a zero amount first.
    require!(amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let clock = Clock::get()?;
    let reserve_key = accounts.reserve.key();
    let mut obligation = accounts.obligation.load_mut()?;
    require!(obligation.is_fresh(clock.slot), LendingError::ObligationStale);
    check_refresh_current(&accounts.lending_market, &obligation, ctx.remaining_accounts)?;
    let mut reserve = accounts.reserve.load_mut()?;
    require!(reserve.is_price_fresh(clock.slot), LendingError::ReserveStale);
    reserve.accrue_interest(clock.unix_timestamp)?;
    // The counters of the caps the borrow is charged to: isolated collateral (the first
    // deposit) keeps its ceiling's count, an e-mode group its debt account. A missing one is
    // refused by `operations::borrow`, after the tier rules (so those name the refusal first).
    let remaining = ctx.remaining_accounts;
    let isolated = match obligation.is_isolated() {
        true => isolation_reserve(remaining, &obligation.deposits[0].deposit_reserve).ok(),
        false => None,
    };
    let group = match obligation.emode_group != 0 {
        true => emode_group_debt(remaining, &accounts.lending_market.key(), obligation.emode_group).ok(),
        false => None,
    };
    let (mut isolated, mut group) = (isolated, group);
    let counters = operations::DebtCounters { isolated: isolated.as_deref_mut(), emode: group.as_deref_mut() };
    let fee = operations::borrow(&mut obligation, &mut reserve, &reserve_key, amount, counters)?;
    drop((isolated, group));

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
