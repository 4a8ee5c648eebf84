use crate::errors::LendingError;
use crate::events::ReserveRefreshed;
use crate::oracle::read_pyth_price;
use crate::state::Reserve;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct RefreshReserve<'info> {
    #[account(mut)]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: must be the oracle recorded on the reserve, owned by the market's oracle program.
    #[account(address = reserve.load()?.oracle @ LendingError::InvalidOracleAccount)]
    pub oracle: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<RefreshReserve>) -> Result<()> {
    let clock = Clock::get()?;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    require_keys_eq!(*ctx.accounts.oracle.owner, reserve.oracle_program, LendingError::InvalidOracleOwner);
    let price = read_pyth_price(
        &ctx.accounts.oracle.try_borrow_data()?,
        clock.unix_timestamp,
        reserve.config.max_price_age_secs,
        reserve.config.max_confidence_bps,
    )?;
    reserve.refresh(price, clock.unix_timestamp, clock.slot)?;
    emit!(ReserveRefreshed {
        reserve: ctx.accounts.reserve.key(),
        price_wad: reserve.market_price().raw(),
        cumulative_borrow_index_wad: reserve.cumulative_borrow_index().raw(),
        borrowed_amount_wad: reserve.borrowed_amount().raw(),
    });
    Ok(())
}
