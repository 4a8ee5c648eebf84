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
    let slot = clock.slot;
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    let (deposit_count, borrow_count) = (obligation.deposit_count(), obligation.borrow_count());
    let reserves = ctx.remaining_accounts;
    require!(reserves.len() == deposit_count + borrow_count, LendingError::ObligationReservesMismatch);
    let market = &ctx.accounts.lending_market;
    require_keys_eq!(market.key(), obligation.lending_market, LendingError::InvalidMarket);
    if obligation.emode_group != 0 {
        // The group's parameters now: a change by the market owner applies from this refresh.
        obligation.emode_params = emode_group_of(market, obligation.emode_group)?;
    }

    // The reserves' valuation epochs, summed on the first pass over the positions (a revaluation
    // at liquidation prices visits them again).
    let (positions, mut visited, mut epoch_sum) = (reserves.len(), 0usize, 0u64);
    let values = obligation.revalue(|index, expected| {
        let reserve = position_reserve(&reserves[index], expected)?;
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
        obligation: ctx.accounts.obligation.key(),
        deposited_value_wad: values.deposited_value.raw(),
        borrowed_value_wad: values.borrowed_value.raw(),
        allowed_borrow_value_wad: values.health(HealthKind::Initial).assets.raw(),
        unhealthy_borrow_value_wad: values.health(HealthKind::Maintenance).assets.raw(),
    });
    Ok(())
}

/// The reserve account passed for a position: the one the position names, owned by this
/// program, with the Reserve discriminator. Read in place (one owner and one discriminator
/// check, where `AccountLoader::try_from` + `load` would check the discriminator twice: with up
/// to 16 positions this loop is the hottest in the program).
pub(crate) fn position_reserve<'a>(info: &'a AccountInfo, expected: &Pubkey) -> Result<std::cell::Ref<'a, Reserve>> {
    require_keys_eq!(*info.key, *expected, LendingError::ObligationReservesMismatch);
    if *info.owner != crate::ID {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    let data = info.try_borrow_data()?;
    let size = 8 + std::mem::size_of::<Reserve>();
    if data.len() < size || data[..8] != *Reserve::DISCRIMINATOR {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    Ok(std::cell::Ref::map(data, |data| bytemuck::from_bytes(&data[8..size])))
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
/// e-mode group (`LendingMarket::check_emode_current`). Each epoch is read in place; the key
/// check makes each account the position's reserve. Accounts after the positions are the
/// instruction's others (debt counters, see `debt_counters`). Call it before any of them is
/// borrowed mutably.
pub fn check_refresh_current(market: &LendingMarket, obligation: &Obligation, reserves: &[AccountInfo]) -> Result<()> {
    market.check_emode_current(&obligation.emode())?;
    let epoch = |info: &AccountInfo| -> u64 {
        info.try_borrow_data()
            .ok()
            .and_then(|data| data.get(VALUATION_EPOCH_OFFSET..VALUATION_EPOCH_OFFSET + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())))
            .unwrap_or(u64::MAX)
    };
    obligation.check_valuation_current(reserves.iter().map(|info| (*info.key, epoch(info))))?;
    Ok(())
}
