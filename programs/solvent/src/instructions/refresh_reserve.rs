use crate::errors::LendingError;
use crate::events::{DynamicMarginUpdated, PriceHaltEnded, PriceHaltStarted, ReserveRefreshed};
use crate::oracle::read_price;
use crate::state::Reserve;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct RefreshReserve<'info> {
    #[account(mut)]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: the reserve's oracle, owned by its oracle program (`refresh_from_oracle`).
    pub oracle: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<RefreshReserve>) -> Result<()> {
    let clock = Clock::get()?;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    refresh_from_oracle(&mut reserve, &ctx.accounts.reserve.key(), &ctx.accounts.oracle, &clock)
}

/// Refreshes `reserve` (at `reserve_key`) from `oracle`: interest to now, the oracle's price
/// (checked for owner, age and confidence), the price band's breaker and dynamic margin, with
/// their events. Written once for refresh_reserve and the actions that revalue inline
/// (`refresh_obligation::refresh_inline`). `oracle` must be the reserve's
/// (`InvalidOracleAccount`), owned by its oracle program (`InvalidOracleOwner`).
pub(crate) fn refresh_from_oracle(reserve: &mut Reserve, reserve_key: &Pubkey, oracle: &AccountInfo, clock: &Clock) -> Result<()> {
    require_keys_eq!(*oracle.key, reserve.oracle, LendingError::InvalidOracleAccount);
    require_keys_eq!(*oracle.owner, reserve.oracle_program, LendingError::InvalidOracleOwner);
    let price = read_price(
        reserve.oracle_source,
        &oracle.try_borrow_data()?,
        &reserve.price_feed_id,
        clock.unix_timestamp,
        reserve.config.max_price_age_secs,
        reserve.config.max_confidence_bps,
    )?;
    let refreshed = reserve.refresh(&price, clock.unix_timestamp, clock.slot)?;
    let reserve_key = *reserve_key;
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
