use super::debt_counters::release_debt;
use crate::errors::LendingError;
use crate::events::BadDebtWrittenOff;
use crate::state::{LendingMarket, Obligation, Reserve};
use anchor_lang::prelude::*;

/// Permissionless: anyone may recognise a loss that already exists. No price is needed, since
/// the obligation has nothing left to value.
#[derive(Accounts)]
pub struct WriteOffBadDebt<'info> {
    /// No pause check: the loss exists already, and booking it keeps share prices honest.
    pub lending_market: Account<'info, LendingMarket>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub reserve: AccountLoader<'info, Reserve>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub obligation: AccountLoader<'info, Obligation>,
}

/// Writes off the obligation's whole debt in `reserve` against that reserve's depositors, once
/// the obligation has no collateral left (after liquidation took it all). Debt counted against
/// a cap releases its charge: the obligation's `isolation_reserve` and / or its e-mode group's
/// debt account are then remaining accounts, writable.
pub fn handler<'info>(ctx: Context<'info, WriteOffBadDebt<'info>>) -> Result<()> {
    let reserve_key = ctx.accounts.reserve.key();
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    require!(obligation.deposit_count() == 0, LendingError::ObligationHasCollateral);
    let slot = obligation.find_borrow(&reserve_key).ok_or(LendingError::BorrowNotFound)?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    obligation.borrows[slot].accrue_interest(reserve.cumulative_borrow_index())?;
    let debt = obligation.borrows[slot].borrowed_amount();
    let fees_forgone = reserve.write_off_bad_debt(debt)?;
    let released = obligation.repay(slot, debt)?;
    release_debt(ctx.remaining_accounts, &obligation.isolation_reserve, &obligation.lending_market, obligation.emode_group, released, false)?;
    obligation.mark_stale();
    emit!(BadDebtWrittenOff {
        reserve: reserve_key,
        obligation: ctx.accounts.obligation.key(),
        debt_wad: debt.raw(),
        protocol_fees_forgone_wad: fees_forgone.raw(),
    });
    Ok(())
}
