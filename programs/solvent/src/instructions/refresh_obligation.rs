use crate::errors::LendingError;
use crate::events::ObligationRefreshed;
use crate::state::{HealthKind, LendingMarket, Obligation, Reserve};
use anchor_lang::prelude::*;

/// Remaining accounts: the reserve of every deposit, then of every borrow, in the obligation's
/// order. Each must have been refreshed in this slot.
#[derive(Accounts)]
pub struct RefreshObligation<'info> {
    #[account(mut)]
    pub obligation: AccountLoader<'info, Obligation>,
    /// CHECK: the obligation's market, by key (checked in the handler); read in place, only for
    /// an obligation in an e-mode group (its parameters).
    pub lending_market: UncheckedAccount<'info>,
}

pub fn handler<'info>(ctx: Context<'info, RefreshObligation<'info>>) -> Result<()> {
    let clock = Clock::get()?;
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    let reserves = ctx.remaining_accounts;
    require!(reserves.len() == obligation.deposit_count() + obligation.borrow_count(), LendingError::ObligationReservesMismatch);
    let market = &ctx.accounts.lending_market;
    require_keys_eq!(market.key(), obligation.lending_market, LendingError::InvalidMarket);
    if obligation.emode_group != 0 {
        // The group's parameters now: a change by the market owner applies from this refresh.
        obligation.emode_params = emode_group_of(market, obligation.emode_group)?;
    }
    revalue_positions(&mut obligation, &ctx.accounts.obligation.key(), reserves, 1, &clock)
}

/// Values every position of `obligation` (at `obligation_key`) from its reserve, each refreshed
/// in this slot, and stores the result as the obligation's refresh (values, health clocks,
/// slot, the reserves' epoch sum) with its `ObligationRefreshed` event: the one valuation of
/// refresh_obligation and of the actions that revalue inline. The reserve of position `i` is
/// `reserves[i * stride]` (stride 1: the reserves alone; 2: each followed by its oracle). The
/// caller has stored the obligation's e-mode parameters as the market holds them now.
pub(crate) fn revalue_positions(obligation: &mut Obligation, obligation_key: &Pubkey, reserves: &[AccountInfo], stride: usize, clock: &Clock) -> Result<()> {
    let slot = clock.slot;
    // The reserves' valuation epochs, summed on the first pass over the positions (a revaluation
    // at liquidation prices visits them again).
    let (positions, mut visited, mut epoch_sum) = (obligation.deposit_count() + obligation.borrow_count(), 0usize, 0u64);
    let values = obligation.revalue(|index, expected| {
        let reserve = position_reserve(&reserves[index * stride], expected)?;
        require!(reserve.is_price_fresh(slot), LendingError::ReserveStale);
        if visited < positions {
            visited += 1;
            epoch_sum = epoch_sum.wrapping_add(reserve.valuation_epoch);
        }
        Ok::<_, Error>(reserve)
    })?;
    obligation.finish_refresh(&values, clock.unix_timestamp, slot);
    obligation.reserves_epoch_sum = epoch_sum;
    emit!(ObligationRefreshed {
        obligation: *obligation_key,
        deposited_value_wad: values.deposited_value.raw(),
        borrowed_value_wad: values.borrowed_value.raw(),
        allowed_borrow_value_wad: values.health(HealthKind::Initial).assets.raw(),
        unhealthy_borrow_value_wad: values.health(HealthKind::Maintenance).assets.raw(),
    });
    Ok(())
}

/// Whether an action's remaining accounts revalue the obligation inline: the layout of
/// `refresh_inline` (each position's reserve followed by its oracle, so one of the first two
/// accounts is an oracle; a lone oracle for an obligation without positions) rather than the
/// position reserves after a refresh_obligation in this transaction (whose first accounts,
/// reserves or debt counters, are all this program's). Either layout is checked in full by its
/// own path, so the choice is the client's.
pub fn revalues_inline(remaining: &[AccountInfo]) -> bool {
    remaining.iter().take(2).any(|info| *info.owner != crate::ID)
}

/// Refreshes every position reserve of `obligation` from its oracle and revalues the
/// obligation, in place of refresh_reserve for each position and refresh_obligation before an
/// action: `accounts` starts with each position's reserve (writable), then its oracle, in the
/// obligation's order (deposits, then borrows). Returns how many accounts it used (the
/// instruction's other remaining accounts follow). Takes the e-mode group's parameters from
/// the market account `market`, as refresh_obligation does. The checks are refresh_reserve's and
/// refresh_obligation's: each reserve the position's (`ObligationReservesMismatch`), this
/// program's, writable; each oracle the reserve's and its program's; the price fresh.
pub(crate) fn refresh_inline(market: &AccountInfo, obligation: &mut Obligation, obligation_key: &Pubkey, accounts: &[AccountInfo], clock: &Clock) -> Result<usize> {
    let used = refresh_reserves_inline(market, obligation, accounts, clock)?;
    revalue_positions(obligation, obligation_key, accounts, 2, clock)?;
    Ok(used)
}

/// The first half of `refresh_inline`: every position reserve refreshed from its oracle and the
/// e-mode group's parameters taken from the market, without the valuation (which an action
/// that changes a position first, as withdraw, runs itself with `revalue_positions`, stride 2).
pub(crate) fn refresh_reserves_inline(market: &AccountInfo, obligation: &mut Obligation, accounts: &[AccountInfo], clock: &Clock) -> Result<usize> {
    let (deposits, borrows) = (obligation.deposit_count(), obligation.borrow_count());
    let used = 2 * (deposits + borrows);
    require!(accounts.len() >= used, LendingError::ObligationReservesMismatch);
    let positions = obligation.deposits[..deposits].iter().map(|d| d.deposit_reserve).chain(obligation.borrows[..borrows].iter().map(|b| b.borrow_reserve));
    for (pair, expected) in accounts.chunks_exact(2).zip(positions) {
        let (info, oracle) = (&pair[0], &pair[1]);
        require!(info.is_writable, ErrorCode::ConstraintMut);
        let mut reserve = position_reserve_mut(info, &expected)?;
        super::refresh_reserve::refresh_from_oracle(&mut reserve, info.key, oracle, clock)?;
    }
    if obligation.emode_group != 0 {
        obligation.emode_params = emode_group_of(market, obligation.emode_group)?;
    }
    Ok(used)
}

/// The reserve account passed for a position: the one the position names, owned by this
/// program, with the Reserve discriminator. Read in place (one owner and one discriminator
/// check, where `AccountLoader::try_from` + `load` would check the discriminator twice: with up
/// to 16 positions this loop is the hottest in the program).
pub(crate) fn position_reserve<'a>(info: &'a AccountInfo, expected: &Pubkey) -> Result<std::cell::Ref<'a, Reserve>> {
    check_position_reserve(info, expected)?;
    let data = info.try_borrow_data()?;
    let size = reserve_size(&data)?;
    Ok(std::cell::Ref::map(data, |data| bytemuck::from_bytes(&data[8..size])))
}

/// `position_reserve`, mutably (for a refresh in place).
fn position_reserve_mut<'a>(info: &'a AccountInfo, expected: &Pubkey) -> Result<std::cell::RefMut<'a, Reserve>> {
    check_position_reserve(info, expected)?;
    let data = info.try_borrow_mut_data()?;
    let size = reserve_size(&data)?;
    Ok(std::cell::RefMut::map(data, |data| bytemuck::from_bytes_mut(&mut data[8..size])))
}

/// The account checks of `position_reserve(_mut)`, before its data is borrowed: the reserve the
/// position names, owned by this program.
#[inline(always)]
fn check_position_reserve(info: &AccountInfo, expected: &Pubkey) -> Result<()> {
    require_keys_eq!(*info.key, *expected, LendingError::ObligationReservesMismatch);
    if *info.owner != crate::ID {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    Ok(())
}

/// The end of a reserve's bytes in `data` (discriminator included), which must start with the
/// Reserve discriminator and hold a whole reserve.
#[inline(always)]
fn reserve_size(data: &[u8]) -> Result<usize> {
    let size = 8 + std::mem::size_of::<Reserve>();
    if data.len() < size || data[..8] != *Reserve::DISCRIMINATOR {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    Ok(size)
}

/// E-mode group `group` of the market account, read in place (one owner and one discriminator
/// check, as `position_reserve`'s, which stays written out for the hottest loop: sharing one
/// helper cost it a few compute units per position; a Borsh deserialization of the whole market
/// would cost more than the read).
fn emode_group_of(info: &AccountInfo, group: u8) -> Result<crate::state::EmodeGroup> {
    if *info.owner != crate::ID {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    let data = info.try_borrow_data()?;
    if data.len() < 8 || data[..8] != *LendingMarket::DISCRIMINATOR {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    Ok(LendingMarket::emode_group_in(&data, group)?)
}

/// Byte offset of `Reserve::valuation_epoch` in a reserve account (after the discriminator).
const VALUATION_EPOCH_OFFSET: usize = 8 + core::mem::offset_of!(Reserve, valuation_epoch);

/// For borrow, withdraw, liquidate and set_obligation_emode: the obligation's cached values are
/// the refresh's and still current. `reserves` (the remaining accounts) are the obligation's
/// position reserves in order, as refresh_obligation takes them, and none has been refreshed
/// again, written off or reconfigured since (`Obligation::check_valuation_current`); nor has its
/// e-mode group (read in place from `market`, `EmodeGroupChangedSinceRefresh`). Each epoch is read in place; the key
/// check makes each account the position's reserve. Accounts after the positions are the
/// instruction's others (debt counters, see `debt_counters`). Call it before any of them is
/// borrowed mutably.
pub fn check_refresh_current(market: &AccountInfo, obligation: &Obligation, reserves: &[AccountInfo]) -> Result<()> {
    if obligation.emode_group != 0 && emode_group_of(market, obligation.emode_group)? != obligation.emode_params {
        return err!(LendingError::EmodeGroupChangedSinceRefresh);
    }
    let epoch = |info: &AccountInfo| -> u64 {
        info.try_borrow_data()
            .ok()
            .and_then(|data| data.get(VALUATION_EPOCH_OFFSET..VALUATION_EPOCH_OFFSET + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())))
            .unwrap_or(u64::MAX)
    };
    obligation.check_valuation_current(reserves.iter().map(|info| (*info.key, epoch(info))))?;
    Ok(())
}
