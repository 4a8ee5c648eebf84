//! The counters an instruction must update when it changes debt charged against a cap in
//! quote value: the isolated collateral's reserve (`Reserve::isolated_debt`) and the e-mode
//! group's `EmodeGroupDebt`. Found among the instruction's remaining accounts, one place for
//! borrow, repay, liquidate, write-off and set_obligation_emode. Each is borrowed once, with
//! one owner and one discriminator check (where `AccountLoader::try_from` + `load_mut` would
//! check the discriminator twice).
use crate::errors::LendingError;
use crate::state::{EmodeGroupDebt, Released, Reserve};
use anchor_lang::prelude::*;
use std::cell::RefMut;

/// `info`'s state as a `T`, mutably: owned by this program, writable, with `T`'s discriminator
/// (None otherwise).
fn counter_mut<'a, T: bytemuck::Pod + Discriminator>(info: &'a AccountInfo) -> Option<RefMut<'a, T>> {
    if !info.is_writable || *info.owner != crate::ID {
        return None;
    }
    let data = info.try_borrow_mut_data().ok()?;
    let size = 8 + std::mem::size_of::<T>();
    if data.len() < size || data[..8] != *T::DISCRIMINATOR {
        return None;
    }
    Some(RefMut::map(data, |data| bytemuck::from_bytes_mut(&mut data[8..size])))
}

/// The reserve `key` among `accounts`, writable (`IsolationReserveRequired` when it is missing
/// or read-only).
pub fn isolation_reserve<'a>(accounts: &'a [AccountInfo], key: &Pubkey) -> Result<RefMut<'a, Reserve>> {
    let info = accounts.iter().find(|info| info.key == key).ok_or(LendingError::IsolationReserveRequired)?;
    Ok(counter_mut(info).ok_or(LendingError::IsolationReserveRequired)?)
}

/// The debt account of e-mode group `group` of `market` among `accounts` (searched from the
/// end, where clients append it), writable (`EmodeGroupDebtRequired` when there is none). It
/// is recognised by its owner, discriminator and contents (market and group), so no address
/// has to be derived on chain.
pub fn emode_group_debt<'a>(accounts: &'a [AccountInfo], market: &Pubkey, group: u8) -> Result<RefMut<'a, EmodeGroupDebt>> {
    for info in accounts.iter().rev() {
        if let Some(debt) = counter_mut::<EmodeGroupDebt>(info) {
            if debt.lending_market == *market && debt.group == group {
                return Ok(debt);
            }
        }
    }
    err!(LendingError::EmodeGroupDebtRequired)
}

/// Takes what a repayment released (`Obligation::repay`) off the counters: the isolated
/// reserve `isolation_key` and the debt account of the obligation's e-mode group (`group` of
/// `market`), found among `accounts`; nothing is looked up for what released nothing.
/// `skip_isolation`: the caller released the isolated part itself (liquidate, whose withdraw
/// reserve it is).
#[inline(always)]
pub fn release_debt(accounts: &[AccountInfo], isolation_key: &Pubkey, market: &Pubkey, group: u8, released: Released, skip_isolation: bool) -> Result<()> {
    if released == Released::default() {
        return Ok(());
    }
    release_counted(accounts, isolation_key, market, group, released, skip_isolation)
}

#[inline(never)]
fn release_counted(accounts: &[AccountInfo], isolation_key: &Pubkey, market: &Pubkey, group: u8, released: Released, skip_isolation: bool) -> Result<()> {
    if released.isolation != 0 && !skip_isolation {
        isolation_reserve(accounts, isolation_key)?.release_isolated_debt(released.isolation)?;
    }
    if released.emode != 0 {
        emode_group_debt(accounts, market, group)?.release(released.emode)?;
    }
    Ok(())
}
