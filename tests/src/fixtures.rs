//! Reserve configurations and prices the tests share.
use crate::*;
use solvent::state::{RateCurvePoint, ReserveConfig};

/// A kinked curve: 0% → `base`, optimal utilization → `optimal`, 100% → `max` (APR bps).
pub fn kinked_curve(base: u32, optimal_utilization_bps: u32, optimal: u32, max: u32) -> [RateCurvePoint; 8] {
    let mut curve = [RateCurvePoint::default(); 8];
    curve[0] = RateCurvePoint { utilization_bps: 0, borrow_rate_bps: base };
    curve[1] = RateCurvePoint { utilization_bps: optimal_utilization_bps, borrow_rate_bps: optimal };
    curve[2] = RateCurvePoint { utilization_bps: 10_000, borrow_rate_bps: max };
    curve
}

/// Sane defaults for a test reserve; tests override fields as needed.
pub fn default_config() -> ReserveConfig {
    ReserveConfig {
        loan_to_value_bps: 7_500,
        liquidation_threshold_bps: 8_000,
        liquidation_bonus_bps: 500,
        close_factor_bps: 5_000,
        protocol_take_rate_bps: 1_000,
        borrow_fee_bps: 0,
        max_confidence_bps: 200,
        max_price_age_secs: 60,
        flash_loan_fee_bps: 9,
        deposit_limit: u64::MAX,
        borrow_limit: u64::MAX,
        rate_curve: kinked_curve(0, 8_000, 1_000, 10_000),
        ..Default::default()
    }
}

pub const SOL_PRICE_EXPO: i32 = -8;
pub const USDC_PRICE_EXPO: i32 = -6;
/// $150.00000000 with expo -8.
pub const SOL_PRICE: i64 = 15_000_000_000;
/// $1.000000 with expo -6.
pub const USDC_PRICE: i64 = 1_000_000;
pub const LENDER_USDC_DEPOSIT: u64 = 100_000_000_000; // 100,000 USDC
pub const BORROWER_SOL_DEPOSIT: u64 = 10_000_000_000; // 10 SOL

pub fn sol_config() -> ReserveConfig {
    default_config()
}

pub fn usdc_config() -> ReserveConfig {
    ReserveConfig {
        loan_to_value_bps: 8_500,
        liquidation_threshold_bps: 9_000,
        liquidation_bonus_bps: 400,
        borrow_fee_bps: 10,
        rate_curve: kinked_curve(400, 8_000, 1_500, 15_000),
        ..default_config()
    }
}

/// The volatility haircut the demo and the dynamic-margin tests use: a sample a minute, a one-hour
/// half-life and horizon, z 2.33, the threshold falling at most 1 point an hour, 0.5 point of
/// hysteresis.
pub fn volatility_haircut() -> solvent::state::DynamicMarginConfig {
    solvent::state::DynamicMarginConfig {
        flags: solvent::state::DYNAMIC_VOLATILITY,
        vol_sample_secs: 60,
        vol_half_life_secs: 3_600,
        vol_horizon_secs: 3_600,
        vol_z_bps: 23_300,
        max_threshold_drop_bps_per_hour: 100,
        threshold_hysteresis_bps: 50,
        ..Default::default()
    }
}
