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
//! The weights come from a reserve's `RiskParams`: its own, or its e-mode group's for an
//! obligation in the group (`Emode::risk_params`). Margin tiers, e-mode and a volatility
//! adjustment change `RiskParams` and `weights`, and nothing else. The keeper, the leverage
//! builder and the clients read the same `ObligationValues::health(kind)`.
use super::{EmodeGroup, ReserveConfig};
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

/// The margin parameters one obligation's positions in a reserve are valued with: the
/// reserve's own (`ReserveConfig::risk_params`), or its e-mode group's while the obligation is
/// in a group the reserve belongs to (`Emode::risk_params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskParams {
    pub loan_to_value_bps: u16,
    pub liquidation_threshold_bps: u16,
    /// The borrow weight, at least 100% (an unset weight is 100%).
    pub borrow_weight_bps: u16,
    pub liquidation_bonus_bps: u16,
    pub max_liquidation_bonus_bps: u16,
    pub liquidation_bonus_ramp_secs: u16,
}

/// An obligation's e-mode: the group it opted into (1..=`MAX_EMODE_GROUPS`, 0: none) and that
/// group's parameters as the last refresh read them from the market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Emode {
    pub group: u8,
    pub params: EmodeGroup,
}

impl Emode {
    pub const NONE: Emode = Emode { group: 0, params: EmodeGroup::DISABLED };

    /// In a group that is enabled: its members' positions use its parameters.
    pub fn is_active(&self) -> bool {
        self.group != 0 && self.params.is_enabled()
    }

    /// The parameters of a reserve's positions: the group's (LTV, threshold, bonus; debt at
    /// 100%, the group being of correlated assets) for a member of the active group, else the
    /// reserve's own. A reserve taken out of the group after a position was opened is valued at
    /// its own parameters from the next refresh.
    #[inline(always)]
    pub fn risk_params(&self, reserve: &super::Reserve) -> RiskParams {
        self.params_for(&reserve.config, reserve.risk_params())
    }

    /// `risk_params` for a reserve with `config`, whose own parameters are `own`.
    #[inline(always)]
    pub fn params_for(&self, config: &ReserveConfig, own: RiskParams) -> RiskParams {
        if self.is_active() && config.is_in_emode_group(self.group) {
            let group = &self.params;
            RiskParams {
                loan_to_value_bps: group.loan_to_value_bps,
                liquidation_threshold_bps: group.liquidation_threshold_bps,
                borrow_weight_bps: FULL_WEIGHT,
                liquidation_bonus_bps: group.liquidation_bonus_bps,
                max_liquidation_bonus_bps: group.max_liquidation_bonus_bps,
                liquidation_bonus_ramp_secs: config.liquidation_bonus_ramp_secs,
            }
        } else {
            own
        }
    }

    /// Whether a reserve with `config` is weighted with the group's parameters.
    #[inline(always)]
    pub fn covers(&self, config: &ReserveConfig) -> bool {
        self.is_active() && config.is_in_emode_group(self.group)
    }
}

/// The weights of a reserve's positions for a kind: the one place they come from. Liabilities
/// weigh the borrow weight (at least 100%) for borrowing power and eligibility, in full for the
/// payout.
#[inline(always)]
pub fn weights(params: &RiskParams, kind: HealthKind) -> Weights {
    match kind {
        HealthKind::Initial => Weights { asset_bps: params.loan_to_value_bps, liability_bps: params.borrow_weight_bps },
        HealthKind::Maintenance => Weights { asset_bps: params.liquidation_threshold_bps, liability_bps: params.borrow_weight_bps },
        HealthKind::Payout => Weights { asset_bps: FULL_WEIGHT, liability_bps: FULL_WEIGHT },
    }
}

/// `value` of a position on `side` as it counts for `kind`: weighted, rounded against the user
/// (a full weight is the value itself, at no cost).
#[inline(always)]
pub fn weighted(value: Wad, params: &RiskParams, kind: HealthKind, side: Side) -> Result<Wad, LendingError> {
    let bps = weights(params, kind).of(side);
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
        let config = ReserveConfig { loan_to_value_bps: 7_500, liquidation_threshold_bps: 8_000, ..Default::default() }.risk_params();
        assert_eq!(weights(&config, HealthKind::Initial), Weights { asset_bps: 7_500, liability_bps: 10_000 });
        assert_eq!(weights(&config, HealthKind::Maintenance), Weights { asset_bps: 8_000, liability_bps: 10_000 });
        assert_eq!(weights(&config, HealthKind::Payout), Weights { asset_bps: 10_000, liability_bps: 10_000 });
        // 1 base unit of Wad at 75%: rounded down for an asset.
        assert_eq!(weighted(Wad(3), &config, HealthKind::Initial, Side::Asset).unwrap(), Wad(2));
        assert_eq!(weighted(Wad(3), &config, HealthKind::Payout, Side::Asset).unwrap(), Wad(3));
    }

    #[test]
    fn a_borrow_weight_weighs_debt_for_margin_but_not_for_the_payout() {
        let config = ReserveConfig { borrow_weight_bps: 15_000, ..Default::default() }.risk_params();
        assert_eq!(weighted(Wad(3), &config, HealthKind::Initial, Side::Liability).unwrap(), Wad(5), "4.5 rounded up");
        assert_eq!(weighted(Wad(3), &config, HealthKind::Maintenance, Side::Liability).unwrap(), Wad(5));
        assert_eq!(weighted(Wad(3), &config, HealthKind::Payout, Side::Liability).unwrap(), Wad(3));
        let unset = ReserveConfig::default().risk_params();
        assert_eq!(weights(&unset, HealthKind::Initial).liability_bps, 10_000);
    }

    #[test]
    fn a_member_of_the_active_group_takes_the_groups_parameters() {
        let config = ReserveConfig {
            loan_to_value_bps: 7_000,
            liquidation_threshold_bps: 7_500,
            liquidation_bonus_bps: 500,
            borrow_weight_bps: 12_000,
            emode_groups: 0b10,
            ..Default::default()
        };
        let group = EmodeGroup { loan_to_value_bps: 9_000, liquidation_threshold_bps: 9_300, liquidation_bonus_bps: 200, max_liquidation_bonus_bps: 400 };
        let in_group = Emode { group: 2, params: group }.params_for(&config, config.risk_params());
        assert_eq!((in_group.loan_to_value_bps, in_group.liquidation_threshold_bps, in_group.borrow_weight_bps), (9_000, 9_300, 10_000));
        assert_eq!((in_group.liquidation_bonus_bps, in_group.max_liquidation_bonus_bps), (200, 400));
        // Another group, no group, or a disabled group: the reserve's own.
        assert_eq!(Emode { group: 1, params: group }.params_for(&config, config.risk_params()), config.risk_params());
        assert_eq!(Emode::NONE.params_for(&config, config.risk_params()), config.risk_params());
        assert_eq!(Emode { group: 2, params: EmodeGroup::DISABLED }.params_for(&config, config.risk_params()), config.risk_params());
        assert_eq!(config.risk_params().borrow_weight_bps, 12_000);
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
