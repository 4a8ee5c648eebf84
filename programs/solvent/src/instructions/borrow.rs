use super::token::{is_token_account_of, market_in_place, pay_from_liquidity_vault};
use crate::errors::LendingError;
use super::debt_counters::{emode_group_debt, isolation_reserve};
use super::refresh_obligation::{check_refresh_current, refresh_inline, revalues_inline};
use super::refresh_reserve::refresh_from_oracle;
use crate::events::Borrowed;
use crate::state::{operations, Obligation, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

#[derive(Accounts)]
pub struct Borrow<'info> {
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

/// Borrows `amount` (the debt taken on); the borrower receives it less the origination fee.
/// The remaining accounts bring the obligation current in one of two layouts: after
/// refresh_reserve and refresh_obligation in this slot, the obligation's position reserves in
/// order (as refresh_obligation takes them), none changed since, the borrowed reserve refreshed
/// too; or, to revalue inline without those instructions, each position's reserve (writable)
/// followed by its oracle, then the borrowed reserve's oracle when it is no position yet
/// (`refresh_obligation::revalues_inline`). After them, an obligation holding isolated
/// collateral passes that reserve writable (among the positions when it is one), one in an
/// e-mode group the group's debt account (writable).
pub fn handler<'info>(ctx: Context<'info, Borrow<'info>>, amount: u64) -> Result<()> {
    // Before any account check, as every instruction refuses a zero amount first.
    require!(amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let clock = Clock::get()?;
    let reserve_key = accounts.reserve.key();
    let mut obligation = accounts.obligation.load_mut()?;
    let remaining = ctx.remaining_accounts;
    if revalues_inline(remaining) {
        let used = refresh_inline(&accounts.lending_market, &mut obligation, &accounts.obligation.key(), remaining, &clock)?;
        if obligation.find_borrow(&reserve_key).is_none() && obligation.find_deposit(&reserve_key).is_none() {
            // A new debt: its reserve is no position, so its oracle follows the pairs.
            let oracle = remaining.get(used).ok_or(LendingError::ObligationReservesMismatch)?;
            refresh_from_oracle(&mut *accounts.reserve.load_mut()?, &reserve_key, oracle, &clock)?;
        }
    } else {
        require!(obligation.is_fresh(clock.slot), LendingError::ObligationStale);
        check_refresh_current(&accounts.lending_market, &obligation, remaining)?;
    }
    let mut reserve = accounts.reserve.load_mut()?;
    require!(reserve.is_price_fresh(clock.slot), LendingError::ReserveStale);
    reserve.accrue_interest(clock.unix_timestamp)?;
    // The counters of the caps the borrow is charged to: isolated collateral (the first
    // deposit) keeps its ceiling's count, an e-mode group its debt account. A missing one is
    // refused by `operations::borrow`, after the tier rules (so those name the refusal first).
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
        &market_in_place(&accounts.lending_market)?,
        paid_out,
        reserve.available_amount,
    )?;
    emit!(Borrowed { reserve: reserve_key, obligation: accounts.obligation.key(), amount, borrow_fee: fee });
    Ok(())
}
