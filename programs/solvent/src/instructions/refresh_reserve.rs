use crate::errors::LendingError;
use crate::events::{DynamicMarginUpdated, PriceHaltEnded, PriceHaltStarted, ReserveRefreshed};
use crate::oracle::read_price;
use crate::state::Reserve;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct RefreshReserve<'info> {
    #[account(mut)]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: must be the oracle recorded on the reserve, owned by the program its source names.
    #[account(address = reserve.load()?.oracle @ LendingError::InvalidOracleAccount)]
    pub oracle: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<RefreshReserve>) -> Result<()> {
    let clock = Clock::get()?;
    let reserve_key = ctx.accounts.reserve.key();
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    require_keys_eq!(*ctx.accounts.oracle.owner, reserve.oracle_program, LendingError::InvalidOracleOwner);
    let price = read_price(
        reserve.oracle_source,
        &ctx.accounts.oracle.try_borrow_data()?,
        &reserve.price_feed_id,
        clock.unix_timestamp,
        reserve.config.max_price_age_secs,
        reserve.config.max_confidence_bps,
    )?;
    let refreshed = reserve.refresh(&price, clock.unix_timestamp, clock.slot)?;
    let breaker = refreshed.breaker;
    if refreshed.dynamic_moved {
        let state = &reserve.dynamic;
        emit!(DynamicMarginUpdated {
            reserve: reserve_key,
            annual_sigma_bps: state.annual_sigma_bps(),
            loan_to_value_bps: state.ltv_bps,
            concentration_bps: state.concentration_bps,
            liquidation_threshold_bps: state.threshold_bps,
            threshold_target_bps: state.threshold_target_bps,
        });
    }
    let (spot_mantissa, ema_mantissa, exponent) = (price.spot.mantissa, price.ema.mantissa, price.spot.exponent);
    match breaker {
        Some(true) => emit!(PriceHaltStarted {
            reserve: reserve_key,
            spot_mantissa,
            ema_mantissa,
            exponent,
            price_band_bps: reserve.config.price_band_bps,
        }),
        Some(false) => emit!(PriceHaltEnded { reserve: reserve_key, spot_mantissa, ema_mantissa, exponent }),
        None => {}
    }
    emit!(ReserveRefreshed {
        reserve: reserve_key,
        price_wad: reserve.market_price().raw(),
        cumulative_borrow_index_wad: reserve.cumulative_borrow_index().raw(),
        borrowed_amount_wad: reserve.borrowed_amount().raw(),
    });
    Ok(())
}
