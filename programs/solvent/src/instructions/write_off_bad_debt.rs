use super::debt_counters::release_debt;
use crate::errors::{LendingError, OrOverflow};
use crate::events::BadDebtWrittenOff;
use crate::math::{Rounding, Wad};
use crate::state::{InsuranceFund, LendingMarket, Obligation, Reserve};
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
    /// The reserve's insurance fund, required when it has one (`Reserve::insurance_fund`).
    #[account(mut)]
    pub insurance_fund: Option<AccountLoader<'info, InsuranceFund>>,
}

/// Writes off the obligation's whole debt in `reserve`, once the obligation has no collateral
/// left (after liquidation took it all): the reserve's insurance fund pays first (at most its
/// `max_slash_bps` of the fund, booked as a repayment whose tokens `settle_insurance` moves),
/// and only the rest lowers the depositors' share price. Debt counted against a cap
/// releases its charge: the obligation's `isolation_reserve` and / or its e-mode group's debt
/// account are then remaining accounts, writable.
pub fn handler<'info>(ctx: Context<'info, WriteOffBadDebt<'info>>) -> Result<()> {
    let reserve_key = ctx.accounts.reserve.key();
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    require!(obligation.deposit_count() == 0, LendingError::ObligationHasCollateral);
    let slot = obligation.find_borrow(&reserve_key).ok_or(LendingError::BorrowNotFound)?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    obligation.borrows[slot].accrue_interest(reserve.cumulative_borrow_index())?;
    let debt = obligation.borrows[slot].borrowed_amount();
    let paid_by_insurance = if reserve.insurance_fund == Pubkey::default() {
        0
    } else {
        let fund = ctx.accounts.insurance_fund.as_ref().ok_or(LendingError::InsuranceFundRequired)?;
        require_keys_eq!(fund.key(), reserve.insurance_fund, LendingError::InvalidInsuranceFundAccount);
        // The debt rounded up to whole tokens: the fund pays the fraction too.
        fund.load_mut()?.absorb(debt.to_u64(Rounding::Up).or_overflow()?)?
    };
    // What the fund paid is a repayment (its tokens owed until settle_insurance); the rest is
    // the depositors' loss.
    let covered = Wad::from_u64(paid_by_insurance).min(debt);
    reserve.book_insurance_payment(paid_by_insurance, covered)?;
    let borne = debt.checked_sub(covered).or_overflow()?;
    let fees_forgone = reserve.write_off_bad_debt(borne)?;
    let released = obligation.repay(slot, debt)?;
    release_debt(ctx.remaining_accounts, &obligation.isolation_reserve, &obligation.lending_market, obligation.emode_group, released, false)?;
    obligation.mark_stale();
    emit!(BadDebtWrittenOff {
        reserve: reserve_key,
        obligation: ctx.accounts.obligation.key(),
        debt_wad: debt.raw(),
        protocol_fees_forgone_wad: fees_forgone.raw(),
        paid_by_insurance,
        borne_by_depositors_wad: borne.raw(),
    });
    Ok(())
}
