//! Pyth price accounts, read from the account's bytes with `pyth-sdk-solana` (so Pyth's own
//! `Pubkey` type never meets Anchor's) and turned into a quote value per whole token.
use crate::errors::LendingError;
use crate::math::{pow10, Wad, BPS_DENOMINATOR};
use pyth_sdk_solana::state::{load_price_account, PriceStatus, SolanaPriceAccount};

/// Exponents accepted: enough for any Pyth feed, small enough that 10^(18 + expo) is exact.
pub const MIN_PRICE_EXPONENT: i32 = -18;
pub const MAX_PRICE_EXPONENT: i32 = 8;

/// A checked oracle price of one whole token: `mantissa × 10^exponent` in the quote currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OraclePrice {
    pub mantissa: u64,
    pub exponent: i32,
}

impl OraclePrice {
    /// The same price as a Wad, exact (the exponent range keeps 10^(18 + exponent) integral).
    pub fn to_wad(self) -> Result<Wad, LendingError> {
        let scale = pow10((18 + self.exponent) as u32).ok_or(LendingError::MathOverflow)?;
        (self.mantissa as u128).checked_mul(scale).map(Wad).ok_or(LendingError::MathOverflow)
    }
}

/// Reads and checks a Pyth legacy price account.
pub fn read_pyth_price(
    data: &[u8],
    now_unix_timestamp: i64,
    max_price_age_secs: u32,
    max_confidence_bps: u16,
) -> Result<OraclePrice, LendingError> {
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
    let confidence = account.agg.conf as u128;
    if confidence * BPS_DENOMINATOR > price as u128 * max_confidence_bps as u128 {
        return Err(LendingError::OraclePriceTooUncertain);
    }
    if !(MIN_PRICE_EXPONENT..=MAX_PRICE_EXPONENT).contains(&account.expo) {
        return Err(LendingError::OracleExponentOutOfRange);
    }
    let price = OraclePrice { mantissa: price as u64, exponent: account.expo };
    price.to_wad()?; // every accepted price is representable as a Wad
    Ok(price)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{Rounding, WAD};
    use crate::state::Reserve;
    use bytemuck::Zeroable;
    use pyth_sdk_solana::state::{AccountType, MAGIC, VERSION_2};

    #[allow(clippy::field_reassign_with_default)] // the Pyth type has no constructor
    fn account(price: i64, conf: u64, expo: i32, time: i64) -> Vec<u8> {
        let mut account = SolanaPriceAccount::default();
        account.magic = MAGIC;
        account.ver = VERSION_2;
        account.atype = AccountType::Price as u32;
        account.expo = expo;
        account.timestamp = time;
        account.agg.price = price;
        account.agg.conf = conf;
        account.agg.status = PriceStatus::Trading;
        bytemuck::bytes_of(&account).to_vec()
    }

    fn reserve(decimals: u8, price: OraclePrice) -> Reserve {
        let mut reserve = Reserve::zeroed();
        reserve.liquidity_decimals = decimals;
        reserve.set_market_price(price).unwrap();
        reserve
    }

    #[test]
    fn exponents_normalize_exactly() {
        // $123.45678901 three ways.
        let cases = [(12_345_678_901i64, -8), (12_345_679, -5), (123, 0)];
        let expected = [123_456_789_010_000_000_000u128, 123_456_790_000_000_000_000, 123 * WAD];
        for ((price, expo), want) in cases.into_iter().zip(expected) {
            assert_eq!(read_pyth_price(&account(price, 0, expo, 100), 100, 60, 100).and_then(|p| p.to_wad()), Ok(Wad(want)));
        }
    }

    #[test]
    fn values_are_exact_across_decimals() {
        // 2.5 tokens at $123.45678901: $308.641972525, for 6 and 9 decimals alike.
        let price = read_pyth_price(&account(12_345_678_901, 0, -8, 100), 100, 60, 100).unwrap();
        let want = Wad(308_641_972_525_000_000_000);
        assert_eq!(reserve(6, price).market_value(Wad::from_u64(2_500_000), Rounding::Down), Ok(want));
        assert_eq!(reserve(9, price).market_value(Wad::from_u64(2_500_000_000), Rounding::Down), Ok(want));
        // One base unit of a 9-decimal token at $0.00001 is $1e-14: 10,000 raw units of 1e-18.
        let tiny = read_pyth_price(&account(1, 0, -5, 100), 100, 60, 100).unwrap();
        assert_eq!(reserve(9, tiny).market_value(Wad::from_u64(1), Rounding::Up), Ok(Wad(10_000)));
        assert_eq!(reserve(9, tiny).market_value(Wad(1), Rounding::Up), Ok(Wad(1)));
        assert_eq!(reserve(9, tiny).market_value(Wad(1), Rounding::Down), Ok(Wad(0)));
    }

    #[test]
    fn each_check_has_its_error() {
        let ok = account(100, 1, -2, 100);
        assert!(read_pyth_price(&ok, 160, 60, 100).is_ok());
        assert_eq!(read_pyth_price(&ok, 161, 60, 100), Err(LendingError::OraclePriceStale));
        assert_eq!(read_pyth_price(&account(100, 2, -2, 100), 100, 60, 100), Err(LendingError::OraclePriceTooUncertain));
        assert_eq!(read_pyth_price(&account(0, 0, -2, 100), 100, 60, 100), Err(LendingError::OraclePriceNotPositive));
        assert_eq!(read_pyth_price(&account(1, 0, 9, 100), 100, 60, 100), Err(LendingError::OracleExponentOutOfRange));
        assert_eq!(read_pyth_price(&ok[..100], 100, 60, 100), Err(LendingError::InvalidOracleData));
        let mut not_price = ok.clone();
        not_price[0] = 0; // magic
        assert_eq!(read_pyth_price(&not_price, 100, 60, 100), Err(LendingError::InvalidOracleData));
    }
}
