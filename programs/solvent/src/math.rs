//! Fixed-point money math. Pure: no Anchor or Solana types, so it runs natively in unit and
//! property tests and in off-chain tools exactly as on chain.
//!
//! `Wad` is an unsigned fixed-point number with 18 decimals stored in a `u128`. Every operation
//! that can lose precision takes a `Rounding`, so each call site states which way it rounds.
//! Products are computed in `u128` when they fit and fall back to a 256-bit intermediate
//! (the `uint` crate) only when they do not.

use uint::construct_uint;

construct_uint! {
    /// 256-bit intermediate for products that overflow `u128`.
    pub struct U256(4);
}

pub const WAD: u128 = 1_000_000_000_000_000_000;
pub const BPS_DENOMINATOR: u128 = 10_000;
pub const SECONDS_PER_YEAR: u64 = 31_536_000;

/// Which way an inexact result goes. The caller picks the direction that favours the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Up,
}

/// `a * b / c`, rounded as asked. `None` on division by zero or a result over `u128::MAX`.
pub fn mul_div(a: u128, b: u128, c: u128, rounding: Rounding) -> Option<u128> {
    if c == 0 {
        return None;
    }
    if let Some(product) = a.checked_mul(b) {
        let quotient = product / c;
        let remainder = product % c;
        return if rounding == Rounding::Up && remainder != 0 { quotient.checked_add(1) } else { Some(quotient) };
    }
    let product = U256::from(a).checked_mul(U256::from(b))?;
    let (quotient, remainder) = product.div_mod(U256::from(c));
    let quotient = if rounding == Rounding::Up && !remainder.is_zero() {
        quotient.checked_add(U256::one())?
    } else {
        quotient
    };
    if quotient > U256::from(u128::MAX) {
        return None;
    }
    Some(quotient.as_u128())
}

/// Unsigned 18-decimal fixed point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Wad(pub u128);

impl Wad {
    pub const ZERO: Wad = Wad(0);
    pub const ONE: Wad = Wad(WAD);

    pub fn from_u64(value: u64) -> Wad {
        // u64::MAX * 1e18 < u128::MAX, so this cannot overflow.
        Wad(value as u128 * WAD)
    }

    /// `bps / 10_000` as a Wad, exact.
    pub fn from_bps(bps: u64) -> Wad {
        Wad(bps as u128 * (WAD / BPS_DENOMINATOR))
    }

    pub fn raw(self) -> u128 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Wad) -> Option<Wad> {
        self.0.checked_add(other.0).map(Wad)
    }

    pub fn checked_sub(self, other: Wad) -> Option<Wad> {
        self.0.checked_sub(other.0).map(Wad)
    }

    pub fn checked_mul(self, other: Wad, rounding: Rounding) -> Option<Wad> {
        mul_div(self.0, other.0, WAD, rounding).map(Wad)
    }

    pub fn checked_div(self, other: Wad, rounding: Rounding) -> Option<Wad> {
        mul_div(self.0, WAD, other.0, rounding).map(Wad)
    }

    /// `self * bps / 10_000`.
    pub fn mul_bps(self, bps: u64, rounding: Rounding) -> Option<Wad> {
        mul_div(self.0, bps as u128, BPS_DENOMINATOR, rounding).map(Wad)
    }

    /// `self * numerator / denominator` with one rounding step.
    pub fn mul_ratio(self, numerator: u128, denominator: u128, rounding: Rounding) -> Option<Wad> {
        mul_div(self.0, numerator, denominator, rounding).map(Wad)
    }

    /// The integer part, rounded as asked; `None` if it does not fit in a `u64`.
    pub fn to_u64(self, rounding: Rounding) -> Option<u64> {
        let whole = self.0 / WAD;
        let whole = if rounding == Rounding::Up && self.0 % WAD != 0 { whole.checked_add(1)? } else { whole };
        u64::try_from(whole).ok()
    }

    /// `self ^ exponent` by squaring; every step rounds the same way, so `Up` gives an upper
    /// bound of the exact power and `Down` a lower bound.
    pub fn checked_pow(self, mut exponent: u64, rounding: Rounding) -> Option<Wad> {
        let mut base = self;
        let mut result = Wad::ONE;
        while exponent > 0 {
            if exponent & 1 == 1 {
                result = result.checked_mul(base, rounding)?;
            }
            exponent >>= 1;
            if exponent > 0 {
                base = base.checked_mul(base, rounding)?;
            }
        }
        Some(result)
    }
}

/// `10^exponent` for the exponents prices and token decimals use.
pub fn pow10(exponent: u32) -> Option<u128> {
    10u128.checked_pow(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_div_rounds_both_ways() {
        assert_eq!(mul_div(10, 10, 3, Rounding::Down), Some(33));
        assert_eq!(mul_div(10, 10, 3, Rounding::Up), Some(34));
        assert_eq!(mul_div(9, 10, 3, Rounding::Up), Some(30));
        assert_eq!(mul_div(1, 1, 0, Rounding::Down), None);
    }

    #[test]
    fn mul_div_wide_path_matches_narrow_semantics() {
        // (2^127) * 6 / 4 overflows u128 in the product but not in the result.
        let a = 1u128 << 127;
        assert_eq!(mul_div(a, 6, 8, Rounding::Down), Some(a / 8 * 6));
        assert_eq!(mul_div(u128::MAX, 3, 3, Rounding::Down), Some(u128::MAX));
        assert_eq!(mul_div(u128::MAX, 3, 2, Rounding::Down), None);
        // u128::MAX * 3 / 4 leaves a remainder of 1: Up is Down + 1.
        let down = mul_div(u128::MAX, 3, 4, Rounding::Down).unwrap();
        assert_eq!(down, u128::MAX / 4 * 3 + 2);
        assert_eq!(mul_div(u128::MAX, 3, 4, Rounding::Up), Some(down + 1));
    }

    #[test]
    fn to_u64_rounds() {
        assert_eq!(Wad(WAD + 1).to_u64(Rounding::Down), Some(1));
        assert_eq!(Wad(WAD + 1).to_u64(Rounding::Up), Some(2));
        assert_eq!(Wad::from_u64(7).to_u64(Rounding::Up), Some(7));
        assert_eq!(Wad(u128::MAX).to_u64(Rounding::Down), None);
    }

    #[test]
    fn pow_brackets_the_exact_value() {
        let rate = Wad(WAD + WAD / 1_000_000); // 1.000001
        let up = rate.checked_pow(1_000, Rounding::Up).unwrap();
        let down = rate.checked_pow(1_000, Rounding::Down).unwrap();
        // (1 + 1e-6)^1000 = 1.001000499666208425...
        let exact = 1.001_000_499_666_208_4f64;
        assert!(down <= up);
        assert!((up.0 as f64 / WAD as f64 - exact).abs() < 1e-12);
        assert_eq!(Wad::ONE.checked_pow(0, Rounding::Up), Some(Wad::ONE));
        assert_eq!(rate.checked_pow(1, Rounding::Up), Some(rate));
    }

    #[test]
    fn bps_conversion_is_exact() {
        assert_eq!(Wad::from_bps(10_000), Wad::ONE);
        assert_eq!(Wad::from_bps(1), Wad(WAD / 10_000));
        assert_eq!(Wad::from_u64(3).mul_bps(5_000, Rounding::Down), Some(Wad(WAD * 3 / 2)));
    }
}
