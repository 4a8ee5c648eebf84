//! One health engine, by kind. A health is weighted assets against weighted liabilities: each
//! position is valued at its reserve's price for that kind and side (`Reserve::price_for`) and
//! weighted by the one `weights` function. Three kinds ask the three questions the program asks:
//!
//! - `Initial` (borrowing power, initial margin): collateral at the conservative collateral
//!   price × loan-to-value against debt at the conservative debt price. `borrow` and `withdraw`
//!   must leave it healthy.
//! - `Maintenance` (liquidation eligibility, maintenance margin): collateral at the higher of
//!   spot and EMA × liquidation threshold against debt at the lower: prices a one-update spike
//!   cannot push over. Unhealthy means liquidatable.
//! - `Payout` (what a liquidation may pay out): the same prices, unweighted, i.e. solvency. An
//!   insolvent obligation's liquidation lifts the close factor; a solvent one's bonus is capped
//!   so neither the `Maintenance` nor the `Payout` ratio falls (`health_preserving_bonus`).
//!
//! Margin tiers, e-mode and a volatility adjustment change `weights`, and nothing else. The
//! keeper, the leverage builder and the clients read the same `ObligationValues::health(kind)`.
use super::ReserveConfig;
use crate::errors::{overflow, LendingError};
use crate::math::{Rounding, Wad, BPS_DENOMINATOR};

/// What a health is measured for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthKind {
    /// Borrowing power (initial margin).
    Initial = 0,
    /// Liquidation eligibility (maintenance margin).
    Maintenance = 1,
    /// What a liquidation may pay out: collateral at full value against debt (solvency).
    Payout = 2,
}

impl HealthKind {
    pub const ALL: [HealthKind; 3] = [HealthKind::Initial, HealthKind::Maintenance, HealthKind::Payout];
    /// The kinds valued at the liquidation prices.
    pub const LIQUIDATION: [HealthKind; 2] = [HealthKind::Maintenance, HealthKind::Payout];
}

/// Which side of the balance a position is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Asset,
    Liability,
}

impl Side {
    /// Values and weights round against the user: assets down, liabilities up.
    pub const fn rounding(self) -> Rounding {
        match self {
            Side::Asset => Rounding::Down,
            Side::Liability => Rounding::Up,
        }
    }
}

/// How much of a position's value counts for one kind, in bps of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weights {
    pub asset_bps: u16,
    pub liability_bps: u16,
}

impl Weights {
#[inline(always)]
    pub const fn of(&self, side: Side) -> u16 {
        match side {
            Side::Asset => self.asset_bps,
            Side::Liability => self.liability_bps,
        }
    }
}

const FULL_WEIGHT: u16 = BPS_DENOMINATOR as u16;

/// The weights of a reserve for a kind: the one place they come from. Liabilities weigh the
/// reserve's borrow weight (at least 100%) for borrowing power and eligibility, in full for the
/// payout.
#[inline(always)]
pub fn weights(config: &ReserveConfig, kind: HealthKind) -> Weights {
    match kind {
        HealthKind::Initial => Weights { asset_bps: config.loan_to_value_bps, liability_bps: config.effective_borrow_weight_bps() },
        HealthKind::Maintenance => Weights { asset_bps: config.liquidation_threshold_bps, liability_bps: config.effective_borrow_weight_bps() },
        HealthKind::Payout => Weights { asset_bps: FULL_WEIGHT, liability_bps: FULL_WEIGHT },
    }
}

/// `value` of a position on `side` as it counts for `kind`: weighted, rounded against the user
/// (a full weight is the value itself, at no cost).
#[inline(always)]
pub fn weighted(value: Wad, config: &ReserveConfig, kind: HealthKind, side: Side) -> Result<Wad, LendingError> {
    let bps = weights(config, kind).of(side);
    if bps == FULL_WEIGHT {
        return Ok(value);
    }
    overflow(value.mul_bps(bps as u64, side.rounding()))
}

/// One kind's sums: weighted assets against weighted liabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    pub assets: Wad,
    pub liabilities: Wad,
}

impl Health {
    /// Assets cover liabilities (trivially without liabilities).
    pub fn is_healthy(&self) -> bool {
        self.liabilities <= self.assets
    }

    /// Assets / liabilities, rounded down (None without liabilities).
    pub fn ratio(&self) -> Option<Wad> {
        if self.liabilities.is_zero() {
            return None;
        }
        self.assets.checked_div(self.liabilities, Rounding::Down)
    }

#[inline(always)]
    fn sum(&mut self, side: Side) -> &mut Wad {
        match side {
            Side::Asset => &mut self.assets,
            Side::Liability => &mut self.liabilities,
        }
    }

    /// Adds `value` (already weighted) to a side.
#[inline(always)]
    pub fn add(&mut self, side: Side, value: Wad) -> Result<(), LendingError> {
        let sum = self.sum(side);
        *sum = overflow(sum.checked_add(value))?;
        Ok(())
    }

    /// Removes `value` (already weighted, as it was added) from a side.
    pub fn remove(&mut self, side: Side, value: Wad) -> Result<(), LendingError> {
        let sum = self.sum(side);
        *sum = overflow(sum.checked_sub(value))?;
        Ok(())
    }

    /// Takes `value` off a side, saturating at zero: for sums a price movement since the
    /// refresh could make a hair smaller than what is taken (saturating only understates).
    pub fn take(&mut self, side: Side, value: Wad) {
        let sum = self.sum(side);
        *sum = sum.checked_sub(value).unwrap_or(Wad::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_by_kind_come_from_the_config() {
        let config = ReserveConfig { loan_to_value_bps: 7_500, liquidation_threshold_bps: 8_000, ..Default::default() };
        assert_eq!(weights(&config, HealthKind::Initial), Weights { asset_bps: 7_500, liability_bps: 10_000 });
        assert_eq!(weights(&config, HealthKind::Maintenance), Weights { asset_bps: 8_000, liability_bps: 10_000 });
        assert_eq!(weights(&config, HealthKind::Payout), Weights { asset_bps: 10_000, liability_bps: 10_000 });
        // 1 base unit of Wad at 75%: rounded down for an asset.
        assert_eq!(weighted(Wad(3), &config, HealthKind::Initial, Side::Asset).unwrap(), Wad(2));
        assert_eq!(weighted(Wad(3), &config, HealthKind::Payout, Side::Asset).unwrap(), Wad(3));
    }

    #[test]
    fn a_borrow_weight_weighs_debt_for_margin_but_not_for_the_payout() {
        let config = ReserveConfig { borrow_weight_bps: 15_000, ..Default::default() };
        assert_eq!(weighted(Wad(3), &config, HealthKind::Initial, Side::Liability).unwrap(), Wad(5), "4.5 rounded up");
        assert_eq!(weighted(Wad(3), &config, HealthKind::Maintenance, Side::Liability).unwrap(), Wad(5));
        assert_eq!(weighted(Wad(3), &config, HealthKind::Payout, Side::Liability).unwrap(), Wad(3));
        let unset = ReserveConfig::default();
        assert_eq!(weights(&unset, HealthKind::Initial).liability_bps, 10_000);
    }

    #[test]
    fn a_health_is_healthy_while_assets_cover_liabilities() {
        let mut health = Health::default();
        assert!(health.is_healthy() && health.ratio().is_none());
        health.add(Side::Liability, Wad::from_u64(2)).unwrap();
        assert!(!health.is_healthy());
        health.add(Side::Asset, Wad::from_u64(3)).unwrap();
        assert!(health.is_healthy());
        assert_eq!(health.ratio(), Wad::from_u64(3).checked_div(Wad::from_u64(2), Rounding::Down));
        assert_eq!(health.remove(Side::Asset, Wad::from_u64(4)), Err(LendingError::MathOverflow));
        health.take(Side::Asset, Wad::from_u64(4));
        assert_eq!(health.assets, Wad::ZERO);
    }
}
