//! Pyth price accounts, read from the account's bytes with `pyth-sdk-solana` (so Pyth's own
//! `Pubkey` type never meets Anchor's) and turned into a quote value per whole token.
use crate::errors::LendingError;
use crate::math::{pow10, Wad, BPS_DENOMINATOR};
use pyth_sdk_solana::state::{load_price_account, PriceStatus, SolanaPriceAccount};

/// Exponents accepted: enough for any Pyth feed, small enough that 10^(18 + expo) is exact.
pub const MIN_PRICE_EXPONENT: i32 = -18;
pub const MAX_PRICE_EXPONENT: i32 = 8;

/// Reads and checks a Pyth legacy price account. Returns the price of one whole token in the
/// quote currency as a Wad: `price × 10^expo`, exact.
pub fn read_pyth_price(
    data: &[u8],
    now_unix_timestamp: i64,
    max_price_age_secs: u32,
    max_confidence_bps: u16,
) -> Result<Wad, LendingError> {
    let account = load_price_account::<32, ()>(data).map_err(|_| LendingError::InvalidOracleData)?;
    let _: &SolanaPriceAccount = account;
    if account.agg.status != PriceStatus::Trading {
        return Err(LendingError::OraclePriceNotTrading);
    }
    // A publish time ahead of the clock is not stale; it is as fresh as it gets.
    let age = now_unix_timestamp.saturating_sub(account.timestamp);
    if age > max_price_age_secs as i64 {
        return Err(LendingError::OraclePriceStale);
    }
    let price = account.agg.price;
    if price <= 0 {
        return Err(LendingError::OraclePriceNotPositive);
    }
    let price = price as u128;
    let confidence = account.agg.conf as u128;
    if confidence * BPS_DENOMINATOR > price * max_confidence_bps as u128 {
        return Err(LendingError::OraclePriceTooUncertain);
    }
    if !(MIN_PRICE_EXPONENT..=MAX_PRICE_EXPONENT).contains(&account.expo) {
        return Err(LendingError::OracleExponentOutOfRange);
    }
    let scale = pow10((18 + account.expo) as u32).ok_or(LendingError::MathOverflow)?;
    price.checked_mul(scale).map(Wad).ok_or(LendingError::MathOverflow)
}
