//! Predictive deleveraging: the owner's obligation orders (stop-loss / take-profit) and the
//! soft-liquidation zone, both executed by anyone through the liquidation's own sizing
//! (`quote_deleverage`): the executor repays part of one debt and receives collateral worth the
//! repayment plus a small bonus, both legs at the liquidation prices, the bonus capped so the
//! health factor cannot fall.
//!
//! - **Orders** (`set_obligation_order`, at most `MAX_OBLIGATION_ORDERS`): a trigger on the
//!   obligation's health factor, the collateral's spot price or the debt/collateral price ratio.
//!   refresh_obligation evaluates each trigger (`ObligationOrder::is_triggered`, shared with the
//!   client crate) and starts the order's auction clock when it first holds; the bonus then
//!   rises from 0 to the owner's maximum over the owner's ramp (`dutch_bonus_bps`), and restarts
//!   from 0 after each execution.
//! - **Soft zone** (`set_soft_zone`, per collateral reserve, off by default): between the
//!   borrowing limit and the liquidation threshold. With `A_i` the loan-to-value-weighted and
//!   `A_m` the threshold-weighted collateral and `D` the weighted debt, an obligation is in the
//!   zone of a collateral whose zone starts at `s` when `A_i + (A_m - A_i) s <= D <= A_m`
//!   (`in_soft_zone`). The zone is measured in margin, not in a probability of liquidation:
//!   with dynamic margin on, the volatility estimate already moves `A_i` and `A_m`, so the zone
//!   widens and narrows with it, and the measure stays one the program computes exactly. The
//!   refresh starts the zone clock when the obligation enters the earliest zone of its
//!   collaterals; each call repays at most `max_repay_bps` of a debt, at a bonus ramped by the
//!   time in the zone up to `max_bonus_bps`, at least `min_interval_secs` after the previous call.
use super::{HealthKind, ObligationValues, StoredWad};
use crate::errors::LendingError;
use crate::math::{Rounding, Wad, BPS_DENOMINATOR, WAD};
use anchor_lang::prelude::*;

/// Orders an obligation holds at most.
pub const MAX_OBLIGATION_ORDERS: usize = 2;

/// `ObligationOrder::trigger`: no order in the slot.
pub const TRIGGER_NONE: u8 = 0;
/// The health factor at the conservative prices (threshold-weighted collateral over weighted
/// debt, `margin_band`) is below the threshold (a Wad ratio above 1).
pub const TRIGGER_HEALTH_BELOW: u8 = 1;
/// The collateral's spot price (quote per whole token, Wad) is below the threshold: a stop-loss.
pub const TRIGGER_PRICE_BELOW: u8 = 2;
/// The collateral's spot price is above the threshold: a take-profit.
pub const TRIGGER_PRICE_ABOVE: u8 = 3;
/// The debt's spot price over the collateral's is above the threshold.
pub const TRIGGER_RATIO_ABOVE: u8 = 4;
/// The debt's spot price over the collateral's is below the threshold.
pub const TRIGGER_RATIO_BELOW: u8 = 5;
const LAST_TRIGGER: u8 = TRIGGER_RATIO_BELOW;

/// Longest auction ramp of an order.
pub const MAX_ORDER_RAMP_SECS: u32 = 7 * 86_400;
/// Highest health-factor trigger (100.0).
pub const MAX_HEALTH_TRIGGER_WAD: u128 = 100 * WAD;

/// One of the owner's orders on an obligation: when `trigger` holds, anyone may repay up to
/// `max_repay_bps` of the debt in `repay_reserve` and receive collateral of `withdraw_reserve`
/// worth the repayment plus a Dutch-auction bonus (0 → `max_bonus_bps` over `bonus_ramp_secs`
/// from `triggered_since`).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct ObligationOrder {
    /// The trigger's level: a health factor, a price (quote per whole token) or a price ratio.
    pub threshold_wad: StoredWad,
    pub repay_reserve: Pubkey,
    pub withdraw_reserve: Pubkey,
    /// Unix time a refresh first found the trigger holding (0 while it does not), reset to the
    /// execution's time by each execution: the start of the order's bonus auction.
    pub triggered_since: i64,
    pub bonus_ramp_secs: u32,
    pub max_repay_bps: u16,
    pub max_bonus_bps: u16,
    /// `TRIGGER_*` (`TRIGGER_NONE`: the slot is empty).
    pub trigger: u8,
    pub padding: [u8; 7],
}

/// An order as the owner sends it to `set_obligation_order` (the reserves are its accounts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, AnchorSerialize, AnchorDeserialize)]
pub struct OrderParams {
    /// `TRIGGER_*`, not `TRIGGER_NONE`.
    pub trigger: u8,
    /// The trigger's level (Wad): above 1.0 and at most 100 for a health factor, above 0 else.
    pub threshold_wad: u128,
    /// Most of the debt one execution repays, bps (1 ..= 10,000).
    pub max_repay_bps: u16,
    /// The auction's end bonus, bps: below the collateral's liquidation bonus.
    pub max_bonus_bps: u16,
    /// Seconds the bonus takes from 0 to `max_bonus_bps` (1 ..= `MAX_ORDER_RAMP_SECS`).
    pub bonus_ramp_secs: u32,
}

impl OrderParams {
    /// Every bound (`InvalidObligationOrder`), and the bonus below `liquidation_bonus_bps`, the
    /// collateral's liquidation bonus as the obligation weighs it (`OrderBonusTooHigh`): an
    /// order is never dearer for the owner than being liquidated.
    pub fn validate(&self, liquidation_bonus_bps: u16) -> std::result::Result<(), LendingError> {
        let threshold_ok = match self.trigger {
            TRIGGER_HEALTH_BELOW => self.threshold_wad > WAD && self.threshold_wad <= MAX_HEALTH_TRIGGER_WAD,
            TRIGGER_PRICE_BELOW..=LAST_TRIGGER => self.threshold_wad > 0,
            _ => false,
        };
        let repay_ok = self.max_repay_bps > 0 && self.max_repay_bps as u128 <= BPS_DENOMINATOR;
        let ramp_ok = self.bonus_ramp_secs > 0 && self.bonus_ramp_secs <= MAX_ORDER_RAMP_SECS;
        if !(threshold_ok && repay_ok && ramp_ok) {
            return Err(LendingError::InvalidObligationOrder);
        }
        if self.max_bonus_bps > 0 && self.max_bonus_bps >= liquidation_bonus_bps {
            return Err(LendingError::OrderBonusTooHigh);
        }
        Ok(())
    }

    /// The order stored for these parameters on the two reserves, its clock stopped.
    pub fn order(&self, repay_reserve: Pubkey, withdraw_reserve: Pubkey) -> ObligationOrder {
        ObligationOrder {
            threshold_wad: StoredWad::new(Wad(self.threshold_wad)),
            repay_reserve,
            withdraw_reserve,
            triggered_since: 0,
            bonus_ramp_secs: self.bonus_ramp_secs,
            max_repay_bps: self.max_repay_bps,
            max_bonus_bps: self.max_bonus_bps,
            trigger: self.trigger,
            padding: [0; 7],
        }
    }
}

impl ObligationOrder {
    pub fn is_active(&self) -> bool {
        self.trigger != TRIGGER_NONE
    }

    /// Whether the trigger holds for an obligation valued `values` (as the refresh leaves them),
    /// with the collateral's spot price `collateral_price` and the debt's `debt_price` (quote per
    /// whole token). A health trigger needs debt; products round down (a ratio trigger fires
    /// when the exact ratio is past the level).
    pub fn is_triggered(&self, values: &ObligationValues, collateral_price: Wad, debt_price: Wad) -> bool {
        let level = self.threshold_wad.get();
        match self.trigger {
            TRIGGER_HEALTH_BELOW => {
                // HF = threshold-weighted collateral / weighted debt, both at the conservative
                // prices (`margin_band`: never above the health factor liquidation uses):
                // HF < level  <=>  A < level × L.
                let (_, assets, liabilities) = margin_band(values);
                !liabilities.is_zero() && liabilities.checked_mul(level, Rounding::Down).is_some_and(|bound| assets < bound)
            }
            TRIGGER_PRICE_BELOW => collateral_price < level,
            TRIGGER_PRICE_ABOVE => collateral_price > level,
            // debt / collateral > level  <=>  debt > level × collateral.
            TRIGGER_RATIO_ABOVE => collateral_price.checked_mul(level, Rounding::Down).is_some_and(|bound| debt_price > bound),
            TRIGGER_RATIO_BELOW => collateral_price.checked_mul(level, Rounding::Up).is_some_and(|bound| debt_price < bound),
            _ => false,
        }
    }

    /// The auction's bonus at `now` (0 while the clock is stopped).
    pub fn bonus_bps(&self, now: i64) -> u64 {
        if self.triggered_since == 0 {
            return 0;
        }
        dutch_bonus_bps(self.max_bonus_bps, self.bonus_ramp_secs, now.saturating_sub(self.triggered_since))
    }
}

/// A Dutch auction's bonus `elapsed` seconds in: `max_bps × elapsed / ramp_secs`, at most
/// `max_bps`, rounded down (against the executor).
pub fn dutch_bonus_bps(max_bps: u16, ramp_secs: u32, elapsed: i64) -> u64 {
    let elapsed = elapsed.max(0) as u64;
    if ramp_secs == 0 || elapsed >= ramp_secs as u64 {
        return max_bps as u64;
    }
    max_bps as u64 * elapsed / ramp_secs as u64
}

/// Most of a debt of `debt` base units one call may repay at `bps`: rounded down, the whole
/// debt (rounded up) at 100%.
pub fn debt_fraction(debt: Wad, bps: u16) -> std::result::Result<u64, LendingError> {
    if bps as u128 >= BPS_DENOMINATOR {
        return debt.to_u64(Rounding::Up).ok_or_else(crate::errors::overflow_here);
    }
    debt.mul_bps(bps as u64, Rounding::Down).and_then(|part| part.to_u64(Rounding::Down)).ok_or_else(crate::errors::overflow_here)
}

/// Most of a debt a soft call may repay, bps.
pub const MAX_SOFT_REPAY_BPS: u16 = 2_500;
/// Highest soft-zone bonus, bps.
pub const MAX_SOFT_BONUS_BPS: u16 = 200;
/// Longest soft-zone ramp and interval, seconds.
pub const MAX_SOFT_SECS: u32 = 86_400;

/// A collateral reserve's soft-liquidation zone (`set_soft_zone`; all zero: off).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
#[borsh(crate = "anchor_lang::prelude::borsh")]
pub struct SoftZoneConfig {
    /// 1: on.
    pub enabled: u8,
    pub padding: [u8; 1],
    /// Where the zone opens between the borrowing limit (0) and the liquidation threshold
    /// (10,000), bps: 6,667 is the last third.
    pub start_bps: u16,
    /// Most of one debt a call repays, bps (1 ..= `MAX_SOFT_REPAY_BPS`).
    pub max_repay_bps: u16,
    /// The bonus after `bonus_ramp_secs` in the zone, bps (at most `MAX_SOFT_BONUS_BPS`, below
    /// the liquidation bonus).
    pub max_bonus_bps: u16,
    /// Seconds in the zone for the bonus to reach its maximum (1 ..= `MAX_SOFT_SECS`).
    pub bonus_ramp_secs: u32,
    /// Least seconds between two calls on one obligation (1 ..= `MAX_SOFT_SECS`).
    pub min_interval_secs: u32,
}

impl SoftZoneConfig {
    pub fn is_enabled(&self) -> bool {
        self.enabled != 0
    }

    /// Every bound (`InvalidSoftZone`); off is all zero. `liquidation_bonus_bps` is the
    /// reserve's: a soft call always pays less than a liquidation.
    pub fn validate(&self, liquidation_bonus_bps: u16) -> std::result::Result<(), LendingError> {
        if !self.is_enabled() {
            return if *self == SoftZoneConfig::default() { Ok(()) } else { Err(LendingError::InvalidSoftZone) };
        }
        let valid = self.enabled == 1
            && self.padding == [0]
            && (self.start_bps as u128) < BPS_DENOMINATOR
            && self.max_repay_bps > 0
            && self.max_repay_bps <= MAX_SOFT_REPAY_BPS
            && self.max_bonus_bps <= MAX_SOFT_BONUS_BPS
            && (self.max_bonus_bps == 0 || self.max_bonus_bps < liquidation_bonus_bps)
            && (1..=MAX_SOFT_SECS).contains(&self.bonus_ramp_secs)
            && (1..=MAX_SOFT_SECS).contains(&self.min_interval_secs);
        if valid { Ok(()) } else { Err(LendingError::InvalidSoftZone) }
    }
}

/// The margin band of an obligation valued `values`, at the conservative prices: the borrowing
/// limit (`Initial` assets), the threshold-weighted collateral
/// (`ObligationValues::conservative_threshold_assets`) and the weighted debt (`Initial`
/// liabilities: the `Maintenance` ones at those prices). One measure whether or not the refresh
/// revalued the liquidation kinds at the liquidation prices: an obligation past its threshold
/// at the conservative prices but not at the liquidation ones is past the whole band.
pub fn margin_band(values: &ObligationValues) -> (Wad, Wad, Wad) {
    let initial = values.health(HealthKind::Initial);
    (initial.assets, values.conservative_threshold_assets, initial.liabilities)
}

/// Whether an obligation valued `values` is in a soft zone that starts `start_bps` of the way
/// along its margin band (`margin_band`): it has debt, is not liquidatable (`Maintenance`
/// healthy), and its weighted debt is at least `limit + (threshold - limit) × start` (rounded
/// down: the zone opens no later than exact).
pub fn in_soft_zone(values: &ObligationValues, start_bps: u16) -> bool {
    let maintenance = values.health(HealthKind::Maintenance);
    if maintenance.liabilities.is_zero() || !maintenance.is_healthy() {
        return false;
    }
    let (limit, threshold, debt) = margin_band(values);
    let width = threshold.checked_sub(limit).unwrap_or(Wad::ZERO);
    match width.mul_bps(start_bps as u64, Rounding::Down).and_then(|part| part.checked_add(limit)) {
        Some(line) => debt >= line,
        None => false,
    }
}

/// How far along the margin band (`margin_band`: 0 at the borrowing limit, 10,000 at the
/// threshold) the weighted debt is, bps (may be below 0 or above 10,000; None without debt or
/// without the band). For clients and the risk console.
pub fn margin_band_position_bps(values: &ObligationValues) -> Option<i64> {
    let (limit, threshold, debt) = margin_band(values);
    if debt.is_zero() || threshold <= limit {
        return None;
    }
    let width = threshold.raw() - limit.raw();
    let offset = debt.raw() as i128 - limit.raw() as i128;
    i64::try_from(offset.checked_mul(BPS_DENOMINATOR as i128)? / width as i128).ok()
}

/// A bonus clock started at `since`, after a call that repaid `repaid` of the `share` it was
/// allowed: moved toward `now` by that fraction of the time run (rounded up: against the
/// executor). A call that uses its whole share starts the next auction from 0; a token-sized
/// one leaves the clock almost where it was, so nobody can hold a bonus down with dust calls.
pub fn advance_clock(since: i64, now: i64, repaid: u64, share: u64) -> i64 {
    let run = now.saturating_sub(since).max(0) as u128;
    if share == 0 || repaid >= share {
        return now.max(since);
    }
    let moved = crate::math::mul_div(run, repaid as u128, share as u128, Rounding::Up).unwrap_or(run);
    since.saturating_add(moved as i64).min(now.max(since))
}

/// The `last_soft_deleverage` a soft call at `now` leaves, so that the next call waits the part
/// of `interval_secs` the call used of its share (rounded up): a call of the whole share waits
/// the whole interval, a token-sized one barely blocks the next.
pub fn soft_interval_mark(now: i64, interval_secs: u32, repaid: u64, share: u64) -> i64 {
    let interval = interval_secs as u128;
    let blocked = if share == 0 || repaid >= share {
        interval
    } else {
        crate::math::mul_div(interval, repaid as u128, share as u128, Rounding::Up).unwrap_or(interval)
    };
    now.saturating_sub(interval as i64).saturating_add(blocked as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Health;

    fn values(ltv_weighted: u128, threshold_weighted: u128, debt: u128) -> ObligationValues {
        let wad = |v: u128| Wad(v * WAD);
        ObligationValues::with_health(
            wad(2 * threshold_weighted),
            wad(debt),
            Health { assets: wad(ltv_weighted), liabilities: wad(debt) },
            Health { assets: wad(threshold_weighted), liabilities: wad(debt) },
            Health { assets: wad(2 * threshold_weighted), liabilities: wad(debt) },
        )
    }

    #[test]
    fn the_soft_zone_is_the_last_part_of_the_margin_band() {
        // Borrowing limit $700, threshold $800: the last third opens at $766.67.
        let start = 6_667;
        assert!(!in_soft_zone(&values(700, 800, 700), start), "at the borrowing limit");
        assert!(!in_soft_zone(&values(700, 800, 766), start));
        assert!(in_soft_zone(&values(700, 800, 767), start));
        assert!(in_soft_zone(&values(700, 800, 800), start), "at the threshold: still healthy");
        assert!(!in_soft_zone(&values(700, 800, 801), start), "liquidatable: the hard path");
        assert!(!in_soft_zone(&values(700, 800, 0), start), "no debt");
        assert!(in_soft_zone(&values(700, 800, 700), 0), "a zone from the borrowing limit");
        assert_eq!(margin_band_position_bps(&values(700, 800, 750)), Some(5_000));
        assert_eq!(margin_band_position_bps(&values(700, 800, 650)), Some(-5_000));
        // Past the threshold at the conservative prices, healthy at the liquidation prices
        // (collateral at the higher of spot and EMA): past the whole band, so in every zone.
        let revalued = values(700, 800, 860);
        let wad = |v: u128| Wad(v * WAD);
        let lifted = ObligationValues::with_health(
            wad(1_100),
            wad(860),
            Health { assets: wad(700), liabilities: wad(860) },
            Health { assets: wad(935), liabilities: wad(860) },
            Health { assets: wad(1_100), liabilities: wad(860) },
        );
        let mut lifted = lifted;
        lifted.conservative_threshold_assets = wad(800);
        assert!(in_soft_zone(&lifted, 9_999) && in_soft_zone(&lifted, 0));
        assert!(!in_soft_zone(&revalued, 0), "liquidatable at its own values: the hard path");
        assert_eq!(margin_band_position_bps(&lifted), Some(16_000));
    }

    #[test]
    fn clocks_move_by_the_share_a_call_used() {
        assert_eq!(advance_clock(1_000, 1_600, 50, 50), 1_600, "the whole share: the auction starts over");
        assert_eq!(advance_clock(1_000, 1_600, 25, 50), 1_300, "half the share: half the run");
        assert_eq!(advance_clock(1_000, 1_600, 1, 1_000_000), 1_001, "dust: the clock barely moves (rounded up)");
        assert_eq!(advance_clock(1_000, 1_600, 0, 0), 1_600);
        assert_eq!(soft_interval_mark(10_000, 60, 100, 100), 10_000, "the whole share waits the whole interval");
        assert_eq!(soft_interval_mark(10_000, 60, 50, 100), 9_970, "half the share: 30 s");
        assert_eq!(soft_interval_mark(10_000, 60, 1, 1_000_000), 9_941, "dust: 1 s (rounded up)");
    }

    #[test]
    fn the_dutch_bonus_rises_to_its_maximum_and_stops() {
        assert_eq!(dutch_bonus_bps(300, 600, 0), 0);
        assert_eq!(dutch_bonus_bps(300, 600, 300), 150);
        assert_eq!(dutch_bonus_bps(300, 600, 599), 299, "rounded down");
        assert_eq!(dutch_bonus_bps(300, 600, 6_000), 300);
        assert_eq!(dutch_bonus_bps(300, 600, -5), 0);
    }

    #[test]
    fn triggers_compare_as_documented() {
        let order = |trigger, level: u128| ObligationOrder { trigger, threshold_wad: StoredWad::new(Wad(level)), ..Default::default() };
        let v = values(700, 800, 640); // HF 1.25 at the conservative prices
        let (sol, usdc) = (Wad(150 * WAD), Wad(WAD));
        assert!(order(TRIGGER_HEALTH_BELOW, 13 * WAD / 10).is_triggered(&v, sol, usdc));
        assert!(!order(TRIGGER_HEALTH_BELOW, 125 * WAD / 100).is_triggered(&v, sol, usdc), "equal is not below");
        assert!(!order(TRIGGER_HEALTH_BELOW, 2 * WAD).is_triggered(&values(700, 800, 0), sol, usdc), "no debt");
        assert!(order(TRIGGER_PRICE_BELOW, 151 * WAD).is_triggered(&v, sol, usdc));
        assert!(!order(TRIGGER_PRICE_BELOW, 150 * WAD).is_triggered(&v, sol, usdc));
        assert!(order(TRIGGER_PRICE_ABOVE, 149 * WAD).is_triggered(&v, sol, usdc));
        // USDC / SOL = 1/150 = 0.00667: above 0.006, below 0.007.
        assert!(order(TRIGGER_RATIO_ABOVE, 6 * WAD / 1_000).is_triggered(&v, sol, usdc));
        assert!(!order(TRIGGER_RATIO_ABOVE, 7 * WAD / 1_000).is_triggered(&v, sol, usdc));
        assert!(order(TRIGGER_RATIO_BELOW, 7 * WAD / 1_000).is_triggered(&v, sol, usdc));
        assert!(!order(TRIGGER_NONE, WAD).is_triggered(&v, sol, usdc));
    }

    #[test]
    fn order_and_zone_bounds_are_validated() {
        let ok = OrderParams { trigger: TRIGGER_PRICE_BELOW, threshold_wad: 100 * WAD, max_repay_bps: 5_000, max_bonus_bps: 200, bonus_ramp_secs: 600 };
        assert_eq!(ok.validate(500), Ok(()));
        assert_eq!(OrderParams { max_bonus_bps: 500, ..ok }.validate(500), Err(LendingError::OrderBonusTooHigh));
        for bad in [
            OrderParams { trigger: 0, ..ok },
            OrderParams { trigger: 6, ..ok },
            OrderParams { threshold_wad: 0, ..ok },
            OrderParams { trigger: TRIGGER_HEALTH_BELOW, threshold_wad: WAD, ..ok },
            OrderParams { trigger: TRIGGER_HEALTH_BELOW, threshold_wad: 101 * WAD, ..ok },
            OrderParams { max_repay_bps: 0, ..ok },
            OrderParams { max_repay_bps: 10_001, ..ok },
            OrderParams { bonus_ramp_secs: 0, ..ok },
            OrderParams { bonus_ramp_secs: MAX_ORDER_RAMP_SECS + 1, ..ok },
        ] {
            assert_eq!(bad.validate(500), Err(LendingError::InvalidObligationOrder), "{bad:?}");
        }
        let zone = SoftZoneConfig { enabled: 1, padding: [0], start_bps: 6_667, max_repay_bps: 1_000, max_bonus_bps: 100, bonus_ramp_secs: 600, min_interval_secs: 60 };
        assert_eq!(zone.validate(500), Ok(()));
        assert_eq!(SoftZoneConfig::default().validate(500), Ok(()));
        for bad in [
            SoftZoneConfig { enabled: 2, ..zone },
            SoftZoneConfig { start_bps: 10_000, ..zone },
            SoftZoneConfig { max_repay_bps: 0, ..zone },
            SoftZoneConfig { max_repay_bps: MAX_SOFT_REPAY_BPS + 1, ..zone },
            SoftZoneConfig { max_bonus_bps: MAX_SOFT_BONUS_BPS + 1, ..zone },
            SoftZoneConfig { bonus_ramp_secs: 0, ..zone },
            SoftZoneConfig { min_interval_secs: 0, ..zone },
            SoftZoneConfig { min_interval_secs: MAX_SOFT_SECS + 1, ..zone },
            SoftZoneConfig { enabled: 0, ..zone },
        ] {
            assert_eq!(bad.validate(500), Err(LendingError::InvalidSoftZone), "{bad:?}");
        }
        assert_eq!(zone.validate(100), Err(LendingError::InvalidSoftZone), "the bonus must stay below the liquidation bonus");
        assert_eq!(debt_fraction(Wad::from_u64(1_001), 1_000), Ok(100));
        assert_eq!(debt_fraction(Wad(1_000 * WAD + 1), 10_000), Ok(1_001), "the whole debt, rounded up");
    }

}
