use super::debt_counters::emode_group_debt;
use super::refresh_obligation::{check_refresh_current, position_reserve};
use crate::errors::LendingError;
use crate::events::ObligationEmodeSet;
use crate::state::{operations, HealthKind, LendingMarket, Obligation};
use anchor_lang::prelude::*;

/// Remaining accounts: the obligation's position reserves in order, as refresh_obligation takes
/// them, none changed since its refresh; then, writable, the debt account of the group left
/// (when the debt is charged there) and of the group entered (with debt).
#[derive(Accounts)]
pub struct SetObligationEmode<'info> {
    /// No pause check: changing group moves no tokens, and leaving one is held to the assets'
    /// own borrowing power.
    pub lending_market: Account<'info, LendingMarket>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = owner @ LendingError::InvalidObligationOwner
    )]
    pub obligation: AccountLoader<'info, Obligation>,
    pub owner: Signer<'info>,
}

/// Puts the obligation (refreshed in this slot) in e-mode group `group` (1..=8, enabled), or
/// out of any group (0), by `operations::set_emode`: every position must be in the group, and
/// with debt the obligation must be within its borrowing power under the new weights.
pub fn handler<'info>(ctx: Context<'info, SetObligationEmode<'info>>, group: u8) -> Result<()> {
    let accounts = ctx.accounts;
    let clock = Clock::get()?;
    let emode = accounts.lending_market.emode(group)?;
    let mut obligation = accounts.obligation.load_mut()?;
    require!(obligation.is_fresh(clock.slot), LendingError::ObligationStale);
    check_refresh_current(accounts.lending_market.as_ref(), &obligation, ctx.remaining_accounts)?;
    let reserves = ctx.remaining_accounts;
    // The debt moves from the group left (where it is charged) to the group entered.
    let market_key = accounts.lending_market.key();
    let changes_group = obligation.emode_group != group;
    // A missing account is refused by `operations::set_emode`, after the group's own checks.
    let leaving = match changes_group && obligation.has_emode_charges() {
        true => emode_group_debt(reserves, &market_key, obligation.emode_group).ok(),
        false => None,
    };
    let entering = match changes_group && group != 0 && obligation.has_borrows() {
        true => emode_group_debt(reserves, &market_key, group).ok(),
        false => None,
    };
    let (mut leaving, mut entering) = (leaving, entering);
    let counters = operations::GroupChange { leaving: leaving.as_deref_mut(), entering: entering.as_deref_mut() };
    let values = operations::set_emode(&mut obligation, emode, clock.unix_timestamp, clock.slot, |index, expected| {
        position_reserve(&reserves[index], expected)
    }, counters)?;
    emit!(ObligationEmodeSet {
        obligation: accounts.obligation.key(),
        group,
        allowed_borrow_value_wad: values.health(HealthKind::Initial).assets.raw(),
        unhealthy_borrow_value_wad: values.health(HealthKind::Maintenance).assets.raw(),
    });
    Ok(())
}
