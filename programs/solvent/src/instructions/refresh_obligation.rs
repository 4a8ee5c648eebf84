use crate::errors::LendingError;
use crate::events::ObligationRefreshed;
use crate::state::{Obligation, Reserve};
use anchor_lang::prelude::*;

/// Remaining accounts: the reserve of every deposit, then of every borrow, in the obligation's
/// order. Each must have been refreshed in this slot.
#[derive(Accounts)]
pub struct RefreshObligation<'info> {
    #[account(mut)]
    pub obligation: AccountLoader<'info, Obligation>,
}

pub fn handler<'info>(ctx: Context<'info, RefreshObligation<'info>>) -> Result<()> {
    let clock = Clock::get()?;
    let slot = clock.slot;
    let mut obligation = ctx.accounts.obligation.load_mut()?;
    let (deposit_count, borrow_count) = (obligation.deposit_count(), obligation.borrow_count());
    let reserves = ctx.remaining_accounts;
    require!(reserves.len() == deposit_count + borrow_count, LendingError::ObligationReservesMismatch);

    let values = obligation.revalue(|index, expected| {
        let reserve = position_reserve(&reserves[index], expected)?;
        require!(reserve.is_price_fresh(slot), LendingError::ReserveStale);
        Ok::<_, Error>(reserve)
    })?;
    obligation.finish_refresh(&values, clock.unix_timestamp, slot);
    emit!(ObligationRefreshed {
        obligation: ctx.accounts.obligation.key(),
        deposited_value_wad: values.deposited_value.raw(),
        borrowed_value_wad: values.borrowed_value.raw(),
        allowed_borrow_value_wad: values.allowed_borrow_value.raw(),
        unhealthy_borrow_value_wad: values.unhealthy_borrow_value.raw(),
    });
    Ok(())
}

/// The reserve account passed for a position: the one the position names, owned by this
/// program, with the Reserve discriminator. Read in place (one owner and one discriminator
/// check, where `AccountLoader::try_from` + `load` would check the discriminator twice: with up
/// to 16 positions this loop is the hottest in the program).
fn position_reserve<'a>(info: &'a AccountInfo, expected: &Pubkey) -> Result<std::cell::Ref<'a, Reserve>> {
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
