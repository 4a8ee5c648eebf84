//! The dynamic-margin estimator and weights (`state::dynamic`), natively, on the program's own
//! types: against an exact floating-point reference on the same samples, across sampling
//! frequencies, against manipulation (refresh spam, one wild price), and the bounded pace of the
//! liquidation threshold.
use proptest::prelude::*;
use solvent::math::{Wad, WAD};
use solvent::state::{
    decay, size_premium_bps, DynamicMarginConfig, DynamicMarginState, DYNAMIC_CONCENTRATION, DYNAMIC_SIZE, DYNAMIC_VOLATILITY,
};

fn vol_config(sample_secs: u32, half_life_secs: u32) -> DynamicMarginConfig {
    DynamicMarginConfig {
        flags: DYNAMIC_VOLATILITY,
        vol_sample_secs: sample_secs,
        vol_half_life_secs: half_life_secs,
        vol_horizon_secs: 3_600,
        vol_z_bps: 23_300,
        max_threshold_drop_bps_per_hour: 100,
        threshold_hysteresis_bps: 50,
        ..Default::default()
    }
}

/// SplitMix64 and Box-Muller: the same normal draws on every run.
struct Normal(u64);

impl Normal {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn draw(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unit()).cos()
    }
}

/// A price path, one price per second, of a driftless geometric Brownian motion with
/// `annual_sigma`, from $100.
fn path(seed: u64, seconds: usize, annual_sigma: f64) -> Vec<f64> {
    let mut normal = Normal(seed);
    let per_second = annual_sigma / (31_536_000f64).sqrt();
    let mut price = 100.0f64;
    (0..seconds)
        .map(|_| {
            price *= (per_second * normal.draw() - per_second * per_second / 2.0).exp();
            price
        })
        .collect()
}

fn wad(price: f64) -> Wad {
    Wad((price * 1e12) as u128 * 1_000_000)
}

/// Runs the estimator over `prices` (one per second), refreshed every `every` seconds.
fn estimate(config: &DynamicMarginConfig, prices: &[f64], every: usize) -> (DynamicMarginState, Vec<(i64, f64)>) {
    let mut state = DynamicMarginState::default();
    let mut samples = Vec::new();
    for (t, price) in prices.iter().enumerate().step_by(every) {
        let now = 1_000_000 + t as i64;
        if state.sample(config, wad(*price), now).unwrap() || samples.is_empty() {
            samples.push((now, *price));
        }
    }
    (state, samples)
}

fn sigma_annual(state: &DynamicMarginState) -> f64 {
    (state.variance_rate().raw() as f64 / WAD as f64 * 31_536_000.0).sqrt()
}

/// The exact reference: log returns and 2^(−dt/h) in f64, on the samples the estimator took.
fn reference(samples: &[(i64, f64)], half_life: f64) -> f64 {
    let mut variance = 0.0f64;
    for pair in samples.windows(2) {
        let ((t0, p0), (t1, p1)) = (pair[0], pair[1]);
        let dt = (t1 - t0) as f64;
        let r = (p1 / p0).ln();
        let keep = (-(dt / half_life) * std::f64::consts::LN_2).exp();
        variance = keep * variance + (1.0 - keep) * r * r / dt;
    }
    (variance * 31_536_000.0).sqrt()
}

#[test]
fn decay_matches_the_exponential() {
    for (dt, half_life) in [(1u64, 3_600u64), (60, 3_600), (599, 600), (3_599, 3_600), (10_000, 3_600), (86_400, 21_600)] {
        let exact = 2f64.powf(-(dt as f64) / half_life as f64);
        let got = decay(dt, half_life) as f64 / WAD as f64;
        assert!((got - exact).abs() < 1e-9, "{dt}/{half_life}: {got} vs {exact}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On the same samples, the fixed-point estimate is the exact one to 0.1% (relative, in σ):
    /// the return's approximation 2(p − p₀)/(p + p₀) is off the log return by about r³/12, so
    /// r² by r²/6 (below 2e-4 for the ≤ 3.5% per-sample moves here), and the fixed point adds
    /// rounding of 1e-18 per step.
    #[test]
    fn the_estimate_matches_an_exact_float_reference(
        seed in any::<u64>(),
        annual_sigma in 0.1f64..3.0,
        sample_secs in 30u32..900,
        half_life_hours in 1u32..24,
    ) {
        let config = vol_config(sample_secs, half_life_hours * 3_600);
        let prices = path(seed, 2 * 86_400, annual_sigma);
        let (state, samples) = estimate(&config, &prices, 1);
        let exact = reference(&samples, config.vol_half_life_secs as f64);
        let got = sigma_annual(&state);
        prop_assert!((got - exact).abs() <= 1e-3 * exact, "fixed {} vs exact {}", got, exact);
    }
}

/// Refreshed every second or every 10 minutes, the estimate of one path is the same σ: both are
/// unbiased (a sample r²/dt estimates σ² for any dt, and the weights sum to one), so over five
/// days with a one-day half-life they agree within 15% and sit within 20% of the true σ.
#[test]
fn the_estimate_does_not_depend_on_how_often_the_reserve_is_refreshed() {
    let config = vol_config(60, 86_400);
    for (seed, sigma) in [(1u64, 0.5f64), (2, 0.8), (3, 1.5)] {
        let prices = path(seed, 5 * 86_400, sigma);
        let every_second = sigma_annual(&estimate(&config, &prices, 1).0);
        let every_ten_minutes = sigma_annual(&estimate(&config, &prices, 600).0);
        assert!((every_second - every_ten_minutes).abs() <= 0.15 * sigma, "{every_second} vs {every_ten_minutes} (σ {sigma})");
        for got in [every_second, every_ten_minutes] {
            assert!((got - sigma).abs() <= 0.2 * sigma, "{got} vs true {sigma}");
        }
    }
}

/// Refresh spam inside the sample interval changes nothing: the estimate after refreshing every
/// second equals the one after refreshing exactly once per interval.
#[test]
fn refresh_spam_has_no_effect() {
    let config = vol_config(60, 3_600);
    let prices = path(7, 86_400, 0.8);
    let spammed = estimate(&config, &prices, 1).0;
    let once_per_interval = estimate(&config, &prices, 60).0;
    assert_eq!(spammed.variance_rate(), once_per_interval.variance_rate());
}

/// One wild price (3x for one sample, then back): the estimate jumps, so borrowing power falls at
/// once, but the liquidation threshold moves at most its hourly rate: no position turns
/// liquidatable on the update.
#[test]
fn one_wild_price_moves_the_threshold_only_at_its_pace() {
    let config = vol_config(60, 3_600);
    let mut state = DynamicMarginState::default();
    let (ltv, threshold) = (7_500u16, 8_000u16);
    let mut now = 1_000_000i64;
    for minute in 0..120 {
        let price = 100.0 * (1.0 + 0.001 * ((minute % 2) as f64 - 0.5));
        state.sample(&config, wad(price), now).unwrap();
        state.update_weights(&config, ltv, threshold, 0, now);
        now += 60;
    }
    let calm = state;
    assert_eq!(calm.threshold_bps, threshold, "calm: the configured threshold");
    state.sample(&config, wad(300.0), now).unwrap();
    state.update_weights(&config, ltv, threshold, 0, now);
    assert!(state.ltv_bps < 1_000, "borrowing power falls at once: {}", state.ltv_bps);
    assert!(state.threshold_target_bps < 2_000, "target {}", state.threshold_target_bps);
    // One minute since the threshold last moved: 100 bps/hour allows 1 bps.
    assert!(threshold - state.threshold_bps <= 2, "threshold {}", state.threshold_bps);
    // An hour later it has fallen at most 100 bps more.
    let before = state.threshold_bps;
    for _ in 0..60 {
        now += 60;
        state.sample(&config, wad(300.0), now).unwrap();
        state.update_weights(&config, ltv, threshold, 0, now);
    }
    assert!(before - state.threshold_bps <= 100 && before - state.threshold_bps >= 99, "{} -> {}", before, state.threshold_bps);
    assert!(state.ltv_bps + (threshold - ltv) <= state.threshold_bps, "the gap below the threshold is kept");
}

/// The threshold comes back up at the same pace once the target is the hysteresis above it,
/// and borrowing power with it (never closer than the configured gap).
#[test]
fn the_threshold_recovers_at_its_pace_with_hysteresis() {
    let config = vol_config(60, 600);
    let (ltv, threshold) = (7_500u16, 8_000u16);
    let mut state = DynamicMarginState::default();
    let mut now = 1_000_000i64;
    // A violent hour, then calm for long.
    for minute in 0..60i64 {
        let price = 100.0 * (1.0 + 0.05 * ((minute % 2) as f64 - 0.5));
        state.sample(&config, wad(price), now).unwrap();
        state.update_weights(&config, ltv, threshold, 0, now);
        assert!(state.ltv_bps as u32 + 500 <= state.threshold_bps as u32 || state.threshold_bps < 500, "gap kept at minute {minute}");
        now += 60;
    }
    let low = state.threshold_bps;
    assert!(low < threshold && low >= threshold - 100, "it fell at its pace: {low}");
    let mut last = low;
    for _ in 0..(60 * 48) {
        state.sample(&config, wad(100.0), now).unwrap();
        state.update_weights(&config, ltv, threshold, 0, now);
        assert!(state.threshold_bps.abs_diff(last) <= 2, "moves at most 100 bps an hour either way");
        assert!(state.ltv_bps + 500 <= state.threshold_bps, "borrowing power comes back no faster than the threshold");
        last = state.threshold_bps;
        now += 60;
    }
    assert_eq!(state.threshold_bps, threshold, "back at the configured threshold");
    assert_eq!(state.ltv_bps, ltv);
}

#[test]
fn the_size_premium_grows_with_the_square_root_and_is_capped() {
    let config = DynamicMarginConfig {
        flags: DYNAMIC_SIZE,
        size_premium_bps: 1_000,
        max_size_premium_bps: 3_000,
        liquidity_depth_value: 1_000_000,
        ..Default::default()
    };
    assert_eq!(size_premium_bps(&config, Wad::from_u64(1_000_000)), 1_000, "at the depth: the factor");
    assert_eq!(size_premium_bps(&config, Wad::from_u64(250_000)), 500, "a quarter: half");
    assert_eq!(size_premium_bps(&config, Wad::from_u64(4_000_000)), 2_000);
    assert_eq!(size_premium_bps(&config, Wad::from_u64(100_000_000)), 3_000, "capped");
    assert_eq!(size_premium_bps(&config, Wad::from_u64(10)), 4, "rounded up");
    assert_eq!(size_premium_bps(&DynamicMarginConfig::default(), Wad::from_u64(1_000_000)), 0, "off");
}

#[test]
fn concentration_scales_borrowing_power_and_not_the_threshold() {
    let config = DynamicMarginConfig { flags: DYNAMIC_CONCENTRATION, concentration_limit_value: 1_000_000, ..Default::default() };
    let mut state = DynamicMarginState::default();
    state.update_weights(&config, 7_500, 8_000, 500_000, 1);
    assert_eq!((state.ltv_bps, state.threshold_bps), (7_500, 8_000), "under the limit");
    state.update_weights(&config, 7_500, 8_000, 4_000_000, 2);
    assert_eq!((state.concentration_bps, state.ltv_bps, state.threshold_bps), (2_500, 1_875, 8_000));
}

#[test]
fn every_setting_is_validated() {
    let good = vol_config(60, 3_600);
    assert_eq!(good.validate(7_500), Ok(()));
    let bad = [
        DynamicMarginConfig { flags: 8, ..good },
        DynamicMarginConfig { vol_sample_secs: 0, ..good },
        DynamicMarginConfig { vol_half_life_secs: 30, ..good },
        DynamicMarginConfig { vol_horizon_secs: 0, ..good },
        DynamicMarginConfig { vol_horizon_secs: 8 * 86_400, ..good },
        DynamicMarginConfig { vol_z_bps: 0, ..good },
        DynamicMarginConfig { vol_z_bps: 100_001, ..good },
        DynamicMarginConfig { max_threshold_drop_bps_per_hour: 0, ..good },
        DynamicMarginConfig { threshold_hysteresis_bps: 10_001, ..good },
        DynamicMarginConfig { flags: DYNAMIC_SIZE, liquidity_depth_value: 0, size_premium_bps: 100, max_size_premium_bps: 100, ..good },
        DynamicMarginConfig { flags: DYNAMIC_SIZE, liquidity_depth_value: 1, size_premium_bps: 100, max_size_premium_bps: 7_500, ..good },
        DynamicMarginConfig { flags: DYNAMIC_CONCENTRATION, concentration_limit_value: 0, ..good },
    ];
    for config in bad {
        assert_eq!(config.validate(7_500), Err(solvent::errors::LendingError::InvalidDynamicMargin), "{config:?}");
    }
    assert_eq!(DynamicMarginConfig::default().validate(7_500), Ok(()), "off");
}
