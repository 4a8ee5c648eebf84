use super::debt_counters::release_debt;
use super::token::{is_spendable_by, is_token_account_of, pay_into_liquidity_vault};
use crate::errors::LendingError;
use crate::events::Repaid;
use crate::state::{settle_repayment, Obligation, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

/// No pause check and no price: repaying must always be possible. Nothing of the market is read,
/// so it is not passed: the reserve and the obligation need only belong to the same one.
#[derive(Accounts)]
pub struct Repay<'info> {
    #[account(
        mut,
        constraint = {
            reserve.load()?.check_accounts(None, &liquidity_mint.key(), &liquidity_vault.key(), &token_program.key())?;
            true
        }
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    #[account(
        mut,
        constraint = obligation.load()?.lending_market == reserve.load()?.lending_market @ LendingError::InvalidMarket
    )]
    pub obligation: AccountLoader<'info, Obligation>,
    /// Anyone may repay any obligation's debt.
    pub repayer: Signer<'info>,
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
    pub token_program: Interface<'info, TokenInterface>,
}

/// Repays up to `amount`; more than is owed repays what is owed (the debt rounded up). Debt
/// counted against a cap releases its share of it: then the obligation's `isolation_reserve`
/// and / or its e-mode group's debt account are remaining accounts, writable.
pub fn handler<'info>(ctx: Context<'info, Repay<'info>>, amount: u64) -> Result<()> {
    require!(amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let reserve_key = accounts.reserve.key();
    let mut reserve = accounts.reserve.load_mut()?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    let mut obligation = accounts.obligation.load_mut()?;
    let slot = obligation.find_borrow(&reserve_key).ok_or(LendingError::BorrowNotFound)?;
    obligation.borrows[slot].accrue_interest(reserve.cumulative_borrow_index())?;
    let (paid, settled) = settle_repayment(amount, obligation.borrows[slot].borrowed_amount())?;
    reserve.repay(paid, settled)?;
    let released = obligation.repay(slot, settled)?;
    release_debt(ctx.remaining_accounts, &obligation.isolation_reserve, &obligation.lending_market, obligation.emode_group, released, false)?;
    obligation.note_repayment(&reserve, settled)?;
    obligation.mark_stale();

    pay_into_liquidity_vault(
        &accounts.token_program,
        &accounts.source_liquidity,
        &accounts.liquidity_mint,
        reserve.liquidity_decimals,
        &accounts.liquidity_vault,
        &accounts.repayer,
        paid,
        reserve.available_amount,
    )?;
    emit!(Repaid {
        reserve: reserve_key,
        obligation: accounts.obligation.key(),
        repayer: accounts.repayer.key(),
        amount: paid,
    });
    Ok(())
}
