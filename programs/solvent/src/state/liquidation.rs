use super::{settle_repayment, LiquidationLimits, ObligationValues, Reserve, ReserveConfig};
use crate::errors::LendingError;
use crate::math::{Rounding, Wad, BPS_DENOMINATOR};

/// What one liquidation call moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationPlan {
    /// Tokens the liquidator pays into the repay reserve.
    pub repay_amount: u64,
    /// Debt taken off the obligation (equals `repay_amount` unless the whole debt is settled).
    pub settled_debt: Wad,
    /// Collateral shares taken from the obligation and redeemed to the liquidator.
    pub seized_shares: u64,
}

/// How far below its liquidation threshold an obligation must be for the auction's depth part
/// to reach the maximum bonus: debt 10% above the threshold-weighted collateral.
pub const DEPTH_FOR_MAX_BONUS_BPS: u128 = 1_000;

/// The liquidation bonus of a collateral reserve for an obligation, a Dutch auction from the
/// reserve's `liquidation_bonus_bps` up to `max_liquidation_bonus_bps`: it rises with how far the
/// debt exceeds the threshold-weighted collateral (full at `DEPTH_FOR_MAX_BONUS_BPS`) plus how long
/// the obligation has been unhealthy (full after `liquidation_bonus_ramp_secs`), capped at the
/// maximum. Rounded down, against the liquidator.
pub fn liquidation_bonus_bps(config: &ReserveConfig, values: &ObligationValues, unhealthy_for_secs: i64) -> u64 {
    let (min, max) = (config.liquidation_bonus_bps as u128, config.max_liquidation_bonus_bps as u128);
    if max <= min {
        return min as u64;
    }
    let full = BPS_DENOMINATOR;
    let depth = match values.liquidation_borrowed_value.checked_sub(values.unhealthy_borrow_value) {
        Some(excess) if !values.unhealthy_borrow_value.is_zero() => crate::math::mul_div(
            excess.raw(),
            full * full,
            values.unhealthy_borrow_value.raw().saturating_mul(DEPTH_FOR_MAX_BONUS_BPS),
            Rounding::Down,
        )
        .unwrap_or(full),
        Some(_) => full,
        None => 0,
    };
    let ramp = config.liquidation_bonus_ramp_secs as u128;
    let time = (unhealthy_for_secs.max(0) as u128).saturating_mul(full).checked_div(ramp).unwrap_or(0);
    let progress = depth.saturating_add(time).min(full);
    (min + (max - min) * progress / full) as u64
}

/// The protocol's part of a seizure of `seized_amount` paid at `bonus_bps`: `share_bps` of the
/// bonus part, `seized × bonus / (1 + bonus)`, both rounded down (the liquidator keeps the dust).
pub fn protocol_share_of_bonus(seized_amount: u64, bonus_bps: u64, share_bps: u64) -> Option<u64> {
    if share_bps == 0 || bonus_bps == 0 {
        return Some(0);
    }
    let bonus_part = crate::math::mul_div(seized_amount as u128, bonus_bps as u128, BPS_DENOMINATOR + bonus_bps as u128, Rounding::Down)?;
    let share = crate::math::mul_div(bonus_part, share_bps as u128, BPS_DENOMINATOR, Rounding::Down)?;
    u64::try_from(share).ok()
}

/// Sizes a liquidation: repay at most the close factor of one debt and at most the market's
/// per-call cap in value (the whole debt when the obligation is dust), receive collateral worth
/// the repaid value × (1 + `bonus_bps`), never more than the position holds. Every rounding goes against
/// the liquidator: repaid value down, seized shares down, repay needed for a capped seizure up.
pub fn plan_liquidation(
    requested_repay: u64,
    debt: Wad,
    repay_reserve: &Reserve,
    collateral_shares: u64,
    collateral_value: Wad,
    bonus_bps: u64,
    limits: LiquidationLimits,
) -> Result<LiquidationPlan, LendingError> {
    let overflow = LendingError::MathOverflow;
    let close_factor_bps = if limits.full_liquidation { BPS_DENOMINATOR as u64 } else { repay_reserve.config.close_factor_bps as u64 };
    let mut max_repay = debt.mul_bps(close_factor_bps, Rounding::Up).and_then(|w| w.to_u64(Rounding::Up)).ok_or(overflow)?;
    if let Some(cap_value) = limits.cap_value {
        let cap_amount = repay_reserve.debt_amount_for_value(cap_value, Rounding::Down)?.to_u64(Rounding::Down).ok_or(overflow)?;
        max_repay = max_repay.min(cap_amount);
    }
    let (mut repay_amount, mut settled_debt) = settle_repayment(requested_repay.min(max_repay), debt)?;
    let bonus_multiplier = BPS_DENOMINATOR as u64 + bonus_bps;
    let repay_value = repay_reserve.value_of_debt_repaid(Wad::from_u64(repay_amount))?;
    let seize_value = repay_value.mul_bps(bonus_multiplier, Rounding::Down).ok_or(overflow)?;

    let seized_shares = if seize_value >= collateral_value {
        // The position cannot cover the bonus on this repay: take all of it, and repay only what
        // it covers.
        let covered_value = collateral_value
            .mul_ratio(BPS_DENOMINATOR, bonus_multiplier as u128, Rounding::Up)
            .ok_or(overflow)?;
        let covered_amount = repay_reserve
            .debt_amount_for_value(covered_value, Rounding::Up)?
            .to_u64(Rounding::Up)
            .ok_or(overflow)?;
        (repay_amount, settled_debt) = settle_repayment(covered_amount.min(repay_amount), debt)?;
        collateral_shares
    } else {
        let shares = crate::math::mul_div(
            collateral_shares as u128,
            seize_value.raw(),
            collateral_value.raw(),
            Rounding::Down,
        )
        .ok_or(overflow)?;
        u64::try_from(shares).map_err(|_| overflow)?
    };
    if repay_amount == 0 || seized_shares == 0 {
        return Err(LendingError::LiquidationTooSmall);
    }
    Ok(LiquidationPlan { repay_amount, settled_debt, seized_shares })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::WAD;
    use crate::state::ReserveConfig;
    use bytemuck::Zeroable;

    fn reserve(decimals: u8, price_dollars: u128, bonus_bps: u16) -> Reserve {
        let mut reserve = Reserve::zeroed();
        reserve.liquidity_decimals = decimals;
        reserve.set_market_price(crate::oracle::OraclePrice { mantissa: price_dollars as u64, exponent: 0 }).unwrap();
        reserve.config = ReserveConfig { close_factor_bps: 5_000, liquidation_bonus_bps: bonus_bps, ..Default::default() };
        reserve
    }

    #[test]
    fn close_factor_bounds_the_repay() {
        let usdc = reserve(6, 1, 0);
        // $1,000 debt, $2,000 of collateral in 20e9 shares; asks to repay everything.
        let plan = plan_liquidation(u64::MAX, Wad::from_u64(1_000_000_000), &usdc, 20_000_000_000, Wad(2_000 * WAD), 500, LiquidationLimits::default())
            .unwrap();
        assert_eq!(plan.repay_amount, 500_000_000);
        assert_eq!(plan.settled_debt, Wad::from_u64(500_000_000));
        // $500 × 1.05 = $525 of $2,000: 5.25e9 of 20e9 shares.
        assert_eq!(plan.seized_shares, 5_250_000_000);
    }

    #[test]
    fn seizure_is_capped_at_the_position_and_repay_shrinks() {
        let usdc = reserve(6, 1, 0);
        // $1,000 debt but only $210 of collateral: repay what $210 covers at a 5% bonus, $200.
        let plan =
            plan_liquidation(u64::MAX, Wad::from_u64(1_000_000_000), &usdc, 2_100_000_000, Wad(210 * WAD), 500, LiquidationLimits::default()).unwrap();
        assert_eq!(plan.seized_shares, 2_100_000_000);
        assert_eq!(plan.repay_amount, 200_000_000);
    }

    #[test]
    fn dust_repay_is_refused() {
        let usdc = reserve(6, 1, 0);
        // One share of a $1,000,000 position of 1e9 shares is worth $0.001; repaying one base unit
        // of USDC ($0.000001) earns less than a share, so the seizure rounds to zero.
        let result = plan_liquidation(1, Wad::from_u64(1_000_000), &usdc, 1_000_000_000, Wad(1_000_000 * WAD), 500, LiquidationLimits::default());
        assert_eq!(result, Err(LendingError::LiquidationTooSmall));
    }

    #[test]
    fn the_cap_bounds_the_repay_and_dust_lifts_both_bounds() {
        let usdc = reserve(6, 1, 0);
        let debt = Wad::from_u64(1_000_000_000);
        let capped = LiquidationLimits { cap_value: Some(Wad(100 * WAD)), full_liquidation: false };
        let plan = plan_liquidation(u64::MAX, debt, &usdc, 20_000_000_000, Wad(2_000 * WAD), 500, capped).unwrap();
        assert_eq!(plan.repay_amount, 100_000_000, "$100 cap at $1 per USDC");
        let dust = LiquidationLimits { cap_value: None, full_liquidation: true };
        let plan = plan_liquidation(u64::MAX, debt, &usdc, 20_000_000_000, Wad(2_000 * WAD), 500, dust).unwrap();
        assert_eq!(plan.repay_amount, 1_000_000_000, "the whole debt, past the 50% close factor");
        assert_eq!(plan.settled_debt, debt);
    }

    #[test]
    fn the_bonus_auction_runs_from_the_minimum_to_the_maximum() {
        let config = ReserveConfig {
            liquidation_bonus_bps: 500,
            max_liquidation_bonus_bps: 1_500,
            liquidation_bonus_ramp_secs: 600,
            ..Default::default()
        };
        let values = |borrowed: u128, unhealthy: u128| ObligationValues {
            liquidation_borrowed_value: Wad(borrowed * WAD),
            unhealthy_borrow_value: Wad(unhealthy * WAD),
            ..Default::default()
        };
        // Just unhealthy, just now: the minimum.
        assert_eq!(liquidation_bonus_bps(&config, &values(1_000, 1_000), 0), 500);
        // 5% over the threshold (half of the 10% depth): halfway, 1,000 bps.
        assert_eq!(liquidation_bonus_bps(&config, &values(1_050, 1_000), 0), 1_000);
        // Half the ramp on time alone: also halfway.
        assert_eq!(liquidation_bonus_bps(&config, &values(1_000, 1_000), 300), 1_000);
        // Depth and time add up: a quarter each.
        assert_eq!(liquidation_bonus_bps(&config, &values(1_025, 1_000), 150), 1_000);
        // Both past their ends: the maximum, never more.
        assert_eq!(liquidation_bonus_bps(&config, &values(2_000, 1_000), 10_000), 1_500);
        assert_eq!(liquidation_bonus_bps(&config, &values(1_000, 0), 0), 1_500, "no collateral left: the maximum");
        // Without a maximum there is no auction.
        let fixed = ReserveConfig { max_liquidation_bonus_bps: 0, ..config };
        assert_eq!(liquidation_bonus_bps(&fixed, &values(2_000, 1_000), 10_000), 500);
    }

    #[test]
    fn the_protocol_takes_its_share_of_the_bonus_only() {
        // 1,050 seized at a 5% bonus: 50 of it is bonus; a 40% share is 20.
        assert_eq!(protocol_share_of_bonus(1_050, 500, 4_000), Some(20));
        assert_eq!(protocol_share_of_bonus(1_050, 500, 0), Some(0));
        assert_eq!(protocol_share_of_bonus(1_050, 0, 10_000), Some(0), "no bonus, nothing to share");
        assert_eq!(protocol_share_of_bonus(1_049, 500, 10_000), Some(49), "rounded down");
    }
}
