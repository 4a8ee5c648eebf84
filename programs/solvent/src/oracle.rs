//! Pyth price accounts, read from the account's bytes with `pyth-sdk-solana` (so Pyth's own
//! `Pubkey` type never meets Anchor's) and turned into a quote value per whole token.
use crate::errors::{LendingError, OrOverflow};
use crate::math::{pow10, Wad, BPS_DENOMINATOR};
use anchor_lang::prelude::{pubkey, Pubkey};
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
        let scale = pow10((18 + self.exponent) as u32).or_overflow()?;
        (self.mantissa as u128).checked_mul(scale).map(Wad).or_overflow()
    }
}

/// Where a reserve's price comes from (`Reserve::oracle_source`, stored as a `u8`).
pub const ORACLE_SOURCE_PYTH_LEGACY: u8 = 0;
pub const ORACLE_SOURCE_PYTH_PULL: u8 = 1;

/// `Reserve::oracle_source` as an enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleSource {
    /// A Pyth legacy price account owned by the market's oracle program.
    PythLegacy,
    /// A Pyth pull-oracle `PriceUpdateV2` account owned by the receiver program.
    PythPull,
}

impl OracleSource {
    /// The source a stored byte names (`InvalidOracleSource` for any other).
    pub fn from_u8(source: u8) -> Result<OracleSource, LendingError> {
        match source {
            ORACLE_SOURCE_PYTH_LEGACY => Ok(OracleSource::PythLegacy),
            ORACLE_SOURCE_PYTH_PULL => Ok(OracleSource::PythPull),
            _ => Err(LendingError::InvalidOracleSource),
        }
    }
}

/// `PriceUpdateV2`'s Borsh layout: the 8-byte discriminator, the 32-byte write authority, then
/// the verification level's tag at this offset (`Full` is the tag alone; `Partial` adds a
/// signature count, and is refused).
const PRICE_UPDATE_VERIFICATION_OFFSET: usize = 40;
const VERIFICATION_PARTIAL: u8 = 0;
const VERIFICATION_FULL: u8 = 1;
/// Where the price message starts after a `Full` tag.
const PRICE_MESSAGE_OFFSET: usize = PRICE_UPDATE_VERIFICATION_OFFSET + 1;
/// Field offsets within the price message: feed id (32 bytes), price, confidence (8 each),
/// exponent (4), publish time, previous publish time, EMA price, EMA confidence (8 each).
const MESSAGE_FEED_ID: usize = 0;
const MESSAGE_PRICE: usize = 32;
const MESSAGE_CONFIDENCE: usize = 40;
const MESSAGE_EXPONENT: usize = 48;
const MESSAGE_PUBLISH_TIME: usize = 52;
const MESSAGE_EMA_PRICE: usize = 68;
const MESSAGE_EMA_CONFIDENCE: usize = 76;

/// The Pyth Solana receiver program, owner of every `PriceUpdateV2` account (the same id on
/// mainnet and devnet).
pub const PYTH_RECEIVER_PROGRAM_ID: Pubkey = pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");
/// Anchor discriminator of `PriceUpdateV2`: sha256("account:PriceUpdateV2")[..8].
pub const PRICE_UPDATE_V2_DISCRIMINATOR: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];

/// A price as either Pyth account gives it, before the checks: spot and EMA with their
/// confidence intervals, all in units of `10^exponent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceReading {
    pub price: i64,
    pub confidence: u64,
    pub ema_price: i64,
    pub ema_confidence: u64,
    pub exponent: i32,
    pub publish_time: i64,
}

/// A price that passed every check: spot and EMA positive, same exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedPrice {
    pub spot: OraclePrice,
    pub ema: OraclePrice,
    pub confidence: u64,
    pub ema_confidence: u64,
}

impl CheckedPrice {
    /// A price with no spread: spot = EMA, no confidence interval.
    pub fn exact(price: OraclePrice) -> CheckedPrice {
        CheckedPrice { spot: price, ema: price, confidence: 0, ema_confidence: 0 }
    }

    /// The price collateral is valued at for borrowing: the lower of spot and EMA, less that
    /// price's confidence interval (never below one unit).
    pub fn collateral_price(&self) -> u64 {
        let (price, confidence) = if self.ema.mantissa < self.spot.mantissa {
            (self.ema.mantissa, self.ema_confidence)
        } else {
            (self.spot.mantissa, self.confidence)
        };
        price.saturating_sub(confidence).max(1)
    }

    /// The price debt is valued at: the higher of spot and EMA, plus that price's confidence.
    pub fn debt_price(&self) -> u64 {
        let (price, confidence) = if self.ema.mantissa > self.spot.mantissa {
            (self.ema.mantissa, self.ema_confidence)
        } else {
            (self.spot.mantissa, self.confidence)
        };
        price.saturating_add(confidence)
    }

    /// Spot's distance from the EMA, in basis points of the EMA, rounded up.
    pub fn deviation_bps(&self) -> u128 {
        let (spot, ema) = (self.spot.mantissa as u128, self.ema.mantissa as u128);
        (spot.abs_diff(ema) * BPS_DENOMINATOR).div_ceil(ema)
    }
}

/// Reads a Pyth legacy price account (`pyth-sdk-solana`'s layout); its status must be trading.
pub fn read_pyth_legacy(data: &[u8]) -> Result<PriceReading, LendingError> {
    let account = load_price_account::<32, ()>(data).map_err(|_| LendingError::InvalidOracleData)?;
    let _: &SolanaPriceAccount = account;
    if account.agg.status != PriceStatus::Trading {
        return Err(LendingError::OraclePriceNotTrading);
    }
    Ok(PriceReading {
        price: account.agg.price,
        confidence: account.agg.conf,
        ema_price: account.ema_price.val,
        ema_confidence: account.ema_conf.val as u64,
        exponent: account.expo,
        publish_time: account.timestamp,
    })
}

/// Reads a Pyth pull-oracle `PriceUpdateV2` account (`pyth-solana-receiver-sdk` 2.x) from its
/// Borsh bytes: discriminator, write authority, verification level (`Partial { num_signatures }`
/// is two bytes, `Full` one), then the price message. Only fully verified updates for `feed_id`
/// are accepted.
pub fn read_price_update_v2(data: &[u8], feed_id: &[u8; 32]) -> Result<PriceReading, LendingError> {
    let invalid = LendingError::InvalidOracleData;
    if data.get(..8) != Some(&PRICE_UPDATE_V2_DISCRIMINATOR[..]) {
        return Err(invalid);
    }
    let message = match data.get(PRICE_UPDATE_VERIFICATION_OFFSET) {
        Some(&VERIFICATION_FULL) => PRICE_MESSAGE_OFFSET,
        Some(&VERIFICATION_PARTIAL) => return Err(LendingError::OracleNotFullyVerified),
        _ => return Err(invalid),
    };
    let field = |offset: usize, len: usize| data.get(message + offset..message + offset + len).ok_or(invalid);
    let i64_at = |offset: usize| field(offset, 8).map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()));
    if field(MESSAGE_FEED_ID, 32)? != feed_id {
        return Err(LendingError::OracleFeedMismatch);
    }
    Ok(PriceReading {
        price: i64_at(MESSAGE_PRICE)?,
        confidence: i64_at(MESSAGE_CONFIDENCE)? as u64,
        exponent: i32::from_le_bytes(field(MESSAGE_EXPONENT, 4)?.try_into().unwrap_or_default()),
        publish_time: i64_at(MESSAGE_PUBLISH_TIME)?,
        ema_price: i64_at(MESSAGE_EMA_PRICE)?,
        ema_confidence: i64_at(MESSAGE_EMA_CONFIDENCE)? as u64,
    })
}

/// Reads the reserve's price account by its source and checks the price.
pub fn read_price(
    source: u8,
    data: &[u8],
    feed_id: &[u8; 32],
    now_unix_timestamp: i64,
    max_price_age_secs: u32,
    max_confidence_bps: u16,
) -> Result<CheckedPrice, LendingError> {
    let reading = match OracleSource::from_u8(source)? {
        OracleSource::PythLegacy => read_pyth_legacy(data)?,
        OracleSource::PythPull => read_price_update_v2(data, feed_id)?,
    };
    check_price(&reading, now_unix_timestamp, max_price_age_secs, max_confidence_bps)
}

/// `confidence / price > max_bps / 10,000`. In 64-bit arithmetic when both products fit (any
/// real feed's mantissa and interval are far below 2^49), else in 128 bits.
fn too_uncertain(confidence: u64, price: u64, max_bps: u16) -> bool {
    if (confidence | price) >> 49 == 0 {
        confidence * BPS_DENOMINATOR as u64 > price * max_bps as u64
    } else {
        confidence as u128 * BPS_DENOMINATOR > price as u128 * max_bps as u128
    }
}

/// The checks every price passes, each with its own error: age against the publish time, spot
/// and EMA positive, spot's and the EMA's confidence each within `max_confidence_bps` of its
/// price, exponent in range.
pub fn check_price(
    reading: &PriceReading,
    now_unix_timestamp: i64,
    max_price_age_secs: u32,
    max_confidence_bps: u16,
) -> Result<CheckedPrice, LendingError> {
    // A publish time ahead of the clock is not stale; it is as fresh as it gets.
    let age = now_unix_timestamp.saturating_sub(reading.publish_time);
    if age > max_price_age_secs as i64 {
        return Err(LendingError::OraclePriceStale);
    }
    if reading.price <= 0 || reading.ema_price <= 0 {
        return Err(LendingError::OraclePriceNotPositive);
    }
    if too_uncertain(reading.confidence, reading.price as u64, max_confidence_bps) {
        return Err(LendingError::OraclePriceTooUncertain);
    }
    // The EMA's own interval is bounded the same way: collateral and debt may be valued at the
    // EMA less or plus it.
    if too_uncertain(reading.ema_confidence, reading.ema_price as u64, max_confidence_bps) {
        return Err(LendingError::OracleEmaTooUncertain);
    }
    if !(MIN_PRICE_EXPONENT..=MAX_PRICE_EXPONENT).contains(&reading.exponent) {
        return Err(LendingError::OracleExponentOutOfRange);
    }
    let exponent = reading.exponent;
    let price = CheckedPrice {
        spot: OraclePrice { mantissa: reading.price as u64, exponent },
        ema: OraclePrice { mantissa: reading.ema_price as u64, exponent },
        confidence: reading.confidence,
        ema_confidence: reading.ema_confidence,
    };
    // Every price the reserve will use must be representable as a Wad; the debt price is the
    // largest of them (spot and EMA are at most it, with the same exponent).
    OraclePrice { mantissa: price.debt_price(), exponent }.to_wad()?;
    Ok(price)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{Rounding, WAD};
    use crate::state::Reserve;
    use bytemuck::Zeroable;
    use pyth_sdk_solana::state::{AccountType, MAGIC, VERSION_2};

    fn read_pyth_price(data: &[u8], now: i64, max_age: u32, max_confidence_bps: u16) -> Result<OraclePrice, LendingError> {
        read_price(ORACLE_SOURCE_PYTH_LEGACY, data, &[0; 32], now, max_age, max_confidence_bps).map(|p| p.spot)
    }

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
        account.ema_price.val = price;
        account.ema_conf.val = conf as i64;
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

    #[test]
    fn conservative_prices_take_the_worse_side() {
        let at = |mantissa| OraclePrice { mantissa, exponent: -2 };
        let price = CheckedPrice { spot: at(300), ema: at(100), confidence: 6, ema_confidence: 2 };
        assert_eq!(price.collateral_price(), 98, "EMA below spot: EMA less its confidence");
        assert_eq!(price.debt_price(), 306, "spot above EMA: spot plus its confidence");
        assert_eq!(price.deviation_bps(), 20_000);
        let crash = CheckedPrice { spot: at(33), ema: at(100), confidence: 1, ema_confidence: 2 };
        assert_eq!((crash.collateral_price(), crash.debt_price()), (32, 102));
        assert_eq!(crash.deviation_bps(), 6_700);
        assert_eq!(CheckedPrice::exact(at(5)).collateral_price(), 5);
        let wide = CheckedPrice { spot: at(5), ema: at(5), confidence: 9, ema_confidence: 9 };
        assert_eq!(wide.collateral_price(), 1, "never zero");
    }

    #[test]
    fn an_ema_that_is_not_positive_is_refused() {
        let mut data = account(100, 0, -2, 100);
        let mut parsed: SolanaPriceAccount = *bytemuck::from_bytes(&data);
        parsed.ema_price.val = 0;
        data = bytemuck::bytes_of(&parsed).to_vec();
        assert_eq!(read_pyth_price(&data, 100, 60, 100), Err(LendingError::OraclePriceNotPositive));
    }
}
