//! Dynamic margin: a reserve's weights follow the market. Three parts, each switched on by its
//! own flag in `DynamicMarginConfig::flags` (all off by default):
//!
//! - **Volatility.** `refresh_reserve` keeps an exponentially weighted estimate of the variance
//!   rate of the spot price's returns (`VolatilityEstimate`). The loan-to-value falls at once to
//!   `1 − z·σ·√horizon` when that is below the configured one; the liquidation threshold's target
//!   keeps the configured gap above it, and the threshold itself only moves toward its target at
//!   `max_threshold_drop_bps_per_hour` (it starts back up only once the target is the hysteresis
//!   above it, then goes on to the target),
//!   so no price update makes a healthy position liquidatable at once.
//! - **Size.** A collateral position's loan-to-value is reduced by
//!   `size_premium_bps × √(position value / liquidity_depth_value)`, capped at
//!   `max_size_premium_bps` (Drift's IMF shape): a whale needs more margin than a small account.
//! - **Concentration.** While the reserve's total deposits exceed `concentration_limit_value` in
//!   quote value, its loan-to-value is scaled by `limit / total` (marginfi's asset value limit).
//!
//! Size and concentration touch borrowing power only (`Initial`), never the liquidation
//! threshold: a price move cannot make a position liquidatable through them. E-mode groups keep
//! their own static parameters (their members are correlated: the pair's volatility is not the
//! assets').
use crate::errors::LendingError;
use super::StoredWad;
use crate::math::{Wad, BPS_DENOMINATOR, WAD};
use anchor_lang::prelude::*;

/// `DynamicMarginConfig::flags`: the volatility estimate and the haircut it drives.
pub const DYNAMIC_VOLATILITY: u8 = 1;
/// `DynamicMarginConfig::flags`: the size premium.
pub const DYNAMIC_SIZE: u8 = 2;
/// `DynamicMarginConfig::flags`: the concentration scale.
pub const DYNAMIC_CONCENTRATION: u8 = 4;
const DYNAMIC_KNOWN: u8 = DYNAMIC_VOLATILITY | DYNAMIC_SIZE | DYNAMIC_CONCENTRATION;

const MOTION_REST: u8 = 0;
const MOTION_FALLING: u8 = 1;
const MOTION_RISING: u8 = 2;

/// Bounds on the parameters.
pub const MAX_VOL_Z_BPS: u32 = 100_000;
pub const MAX_VOL_HORIZON_SECS: u32 = 7 * 86_400;
pub const MAX_VOL_HALF_LIFE_SECS: u32 = 30 * 86_400;
const SECONDS_PER_HOUR: u64 = 3_600;

/// The owner's dynamic-margin settings of one reserve (`set_dynamic_margin`).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
#[borsh(crate = "anchor_lang::prelude::borsh")]
pub struct DynamicMarginConfig {
    /// `DYNAMIC_*` parts switched on (0: static margin).
    pub flags: u8,
    pub padding: [u8; 3],
    /// Least time between two samples of the estimator, seconds (≥ 1).
    pub vol_sample_secs: u32,
    /// Half-life of the estimate, seconds (≥ the sample interval).
    pub vol_half_life_secs: u32,
    /// The liquidation horizon the haircut covers, seconds (1 ..= 7 days).
    pub vol_horizon_secs: u32,
    /// z of the haircut, in bps (23_300: 2.33, a one-sided 99%); at most 10.
    pub vol_z_bps: u32,
    /// Most the liquidation threshold may fall per hour, bps (> 0 with volatility on).
    pub max_threshold_drop_bps_per_hour: u16,
    /// The threshold rises back only once its target is this far above it, bps.
    pub threshold_hysteresis_bps: u16,
    /// Size premium at a position worth the whole depth, bps.
    pub size_premium_bps: u16,
    /// Cap on the size premium, bps (below the loan-to-value).
    pub max_size_premium_bps: u16,
    pub padding2: [u8; 4],
    /// Quote value sellable within the horizon at about the liquidation bonus in slippage,
    /// whole quote units (> 0 with size on).
    pub liquidity_depth_value: u64,
    /// Total deposits above this quote value scale borrowing power down, whole quote units
    /// (> 0 with concentration on).
    pub concentration_limit_value: u64,
}

impl DynamicMarginConfig {
    pub fn validate(&self, loan_to_value_bps: u16) -> std::result::Result<(), LendingError> {
        if self.flags & !DYNAMIC_KNOWN != 0 {
            return Err(LendingError::InvalidDynamicMargin);
        }
        if self.flags & DYNAMIC_VOLATILITY != 0
            && (self.vol_sample_secs == 0
                || self.vol_half_life_secs < self.vol_sample_secs
                || self.vol_half_life_secs > MAX_VOL_HALF_LIFE_SECS
                || self.vol_horizon_secs == 0
                || self.vol_horizon_secs > MAX_VOL_HORIZON_SECS
                || self.vol_z_bps == 0
                || self.vol_z_bps > MAX_VOL_Z_BPS
                || self.max_threshold_drop_bps_per_hour == 0
                || self.threshold_hysteresis_bps as u128 > BPS_DENOMINATOR)
        {
            return Err(LendingError::InvalidDynamicMargin);
        }
        if self.flags & DYNAMIC_SIZE != 0
            && (self.liquidity_depth_value == 0
                || self.size_premium_bps == 0
                || self.max_size_premium_bps == 0
                || self.max_size_premium_bps >= loan_to_value_bps)
        {
            return Err(LendingError::InvalidDynamicMargin);
        }
        if self.flags & DYNAMIC_CONCENTRATION != 0 && self.concentration_limit_value == 0 {
            return Err(LendingError::InvalidDynamicMargin);
        }
        Ok(())
    }

    pub fn has(&self, part: u8) -> bool {
        self.flags & part != 0
    }
}

/// What `refresh_reserve` keeps for dynamic margin (zero: nothing measured yet).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct DynamicMarginState {
    /// Unix time of the last volatility sample (0: none yet).
    pub vol_sample_time: i64,
    /// Spot price at the last sample, quote per whole token.
    pub vol_sample_price_wad: StoredWad,
    /// Estimated variance rate of the returns, per second.
    pub variance_rate_wad: StoredWad,
    /// Unix time the threshold last moved (or was found at its target).
    pub threshold_time: i64,
    /// 1 once the weights below have been computed.
    pub initialized: u8,
    /// How the threshold is moving: 0 at rest, 1 falling, 2 rising (a rise starts once the
    /// target is the hysteresis above it, and goes on to the target). A move starts its clock at
    /// the refresh that finds it: time at rest never counts toward a fall.
    pub threshold_motion: u8,
    /// The loan-to-value after the volatility haircut (before the concentration scale), bps.
    pub vol_ltv_bps: u16,
    /// The concentration scale (limit / total deposits, at most 100%), bps.
    pub concentration_bps: u16,
    /// The loan-to-value positions get (before a size premium): haircut × concentration, bps.
    pub ltv_bps: u16,
    /// The liquidation threshold positions get, moving toward its target at a bounded rate.
    pub threshold_bps: u16,
    /// Where the threshold is headed: the configured one, or the haircut LTV plus the
    /// configured gap when that is lower.
    pub threshold_target_bps: u16,
    pub padding2: [u8; 4],
}

impl DynamicMarginState {
    pub fn variance_rate(&self) -> Wad {
        self.variance_rate_wad.get()
    }

    pub fn sample_price(&self) -> Wad {
        self.vol_sample_price_wad.get()
    }

    /// σ over `horizon_secs` in bps, rounded up: √(variance rate × horizon) (u64::MAX when the
    /// variance is beyond any haircut).
    pub fn sigma_bps_over(&self, horizon_secs: u32) -> u64 {
        // √(v / 10^18) × 10^4 = √(v / 10^10), v the variance over the horizon as a Wad.
        let rate = self.variance_rate().raw();
        // Below 2^64 × 2^32 the product takes the cheap multiply; beyond, no haircut is smaller.
        if rate >> 64 != 0 {
            return u64::MAX;
        }
        let variance = rate.wrapping_mul(horizon_secs as u128);
        match u64::try_from(div_ceil_e10(variance)) {
            Ok(scaled) => isqrt_up(scaled),
            Err(_) => u64::MAX,
        }
    }

    /// Annualised σ in bps (for events and tables), rounded up.
    pub fn annual_sigma_bps(&self) -> u64 {
        self.sigma_bps_over(crate::math::SECONDS_PER_YEAR as u32)
    }

    /// Takes a volatility sample of spot price `price` (Wad) at `now`, when `config.vol_sample_secs`
    /// have passed since the last (the first call only records the price). Returns whether one
    /// was taken.
    pub fn sample(&mut self, config: &DynamicMarginConfig, price: Wad, now: i64) -> std::result::Result<bool, LendingError> {
        if self.vol_sample_time == 0 || price.is_zero() || self.sample_price().is_zero() {
            self.vol_sample_time = now;
            self.vol_sample_price_wad.set(price);
            return Ok(false);
        }
        let elapsed = now.saturating_sub(self.vol_sample_time);
        if elapsed < config.vol_sample_secs as i64 {
            return Ok(false);
        }
        let dt = elapsed as u64;
        let sample = return_variance_rate(self.sample_price(), price, dt).ok_or(LendingError::MathOverflow)?;
        let keep = decay(dt, config.vol_half_life_secs as u64);
        // v' = keep × v + (1 − keep) × sample: the weights sum to one, so any sampling interval
        // gives an unbiased mean of unbiased samples.
        let old = self.variance_rate().raw();
        let mixed = mix(old, sample, keep).ok_or(LendingError::MathOverflow)?;
        self.variance_rate_wad.set(Wad(mixed));
        self.vol_sample_time = now;
        self.vol_sample_price_wad.set(price);
        Ok(true)
    }

    /// Recomputes the weights from the estimate, the deposits' quote value `deposits_value`
    /// (whole units) and the configured `ltv` / `threshold`; the threshold moves toward its
    /// target at the configured rate (`now` − `threshold_time` of it). Returns whether any moved.
    pub fn update_weights(&mut self, config: &DynamicMarginConfig, ltv: u16, threshold: u16, deposits_value: u64, now: i64) -> bool {
        let before = (self.ltv_bps, self.threshold_bps, self.threshold_target_bps, self.initialized);
        let bps = BPS_DENOMINATOR as u64;
        let vol_ltv = if config.has(DYNAMIC_VOLATILITY) {
            // haircut = z × σ√horizon, in bps, rounded up.
            let sigma_bps = self.sigma_bps_over(config.vol_horizon_secs);
            let haircut_bps = sigma_bps.saturating_mul(config.vol_z_bps as u64).div_ceil(bps).min(bps);
            (ltv as u64).min(bps - haircut_bps) as u16
        } else {
            ltv
        };
        let concentration = concentration_bps(config, deposits_value);
        let gap = threshold.saturating_sub(ltv);
        let target = threshold.min(vol_ltv.saturating_add(gap));
        self.threshold_target_bps = target;
        if self.initialized == 0 || !config.has(DYNAMIC_VOLATILITY) {
            self.threshold_bps = target;
            self.threshold_time = now;
        } else {
            self.move_threshold(config, target, threshold, now);
        }
        // Borrowing power falls at once, and comes back no faster than the threshold does: the
        // configured gap below it is kept, so a position at its limit is not at the threshold.
        let vol_ltv = vol_ltv.min(self.threshold_bps.saturating_sub(gap));
        self.vol_ltv_bps = vol_ltv;
        self.set_concentration(concentration);
        self.initialized = 1;
        before != (self.ltv_bps, self.threshold_bps, self.threshold_target_bps, self.initialized)
    }

    /// A deposit moved the reserve's total to `deposits_value` (whole quote units): the
    /// concentration scale and the loan-to-value follow at once, as the next refresh would set
    /// them (so a deposit cannot borrow at the scale from before it). Returns whether they moved.
    pub fn rescale_concentration(&mut self, config: &DynamicMarginConfig, deposits_value: u64) -> bool {
        let before = (self.concentration_bps, self.ltv_bps);
        self.set_concentration(concentration_bps(config, deposits_value));
        before != (self.concentration_bps, self.ltv_bps)
    }

    /// The concentration scale, and the loan-to-value positions get: the haircut LTV × it.
    fn set_concentration(&mut self, concentration: u16) {
        self.concentration_bps = concentration;
        self.ltv_bps = ((self.vol_ltv_bps as u64 * concentration as u64) / BPS_DENOMINATOR as u64) as u16;
    }

    /// The threshold toward `target`, at most `max_threshold_drop_bps_per_hour` per hour of the
    /// time since it last moved; a rise starts only once the target is the hysteresis above it
    /// and then goes on to the target. Never above the configured `threshold` (a configured cut
    /// applies at once).
    fn move_threshold(&mut self, config: &DynamicMarginConfig, target: u16, threshold: u16, now: i64) {
        let current = self.threshold_bps.min(threshold);
        let rising = target > current;
        let motion = if rising { MOTION_RISING } else { MOTION_FALLING };
        // A rise waits for the hysteresis, except back to the configured threshold itself (so a
        // calm market always gets it back).
        let holds = rising && self.threshold_motion != MOTION_RISING && target - current < config.threshold_hysteresis_bps && target < threshold;
        if target == current || holds {
            self.threshold_bps = current;
            self.threshold_time = now;
            self.threshold_motion = MOTION_REST;
            return;
        }
        if self.threshold_motion != motion {
            // The move starts now: the time since the last refresh, at rest or the other way,
            // does not count (a reserve nobody refreshed for a day cannot drop a day's worth).
            self.threshold_motion = motion;
            self.threshold_bps = current;
            self.threshold_time = now;
            return;
        }
        let elapsed = now.saturating_sub(self.threshold_time).max(0) as u64;
        let allowed = (config.max_threshold_drop_bps_per_hour as u64).saturating_mul(elapsed) / SECONDS_PER_HOUR;
        if allowed == 0 {
            // Too little time for a whole bps: keep the clock, so the time adds up.
            self.threshold_bps = current;
            return;
        }
        let step = allowed.min(current.abs_diff(target) as u64) as u16;
        self.threshold_bps = if rising { current + step } else { current - step };
        // Limited by the rate: the clock advances by the time the step used (rounded up, so the
        // rate is never exceeded), and what is left carries over; at the target, to now.
        self.threshold_time = if step as u64 == allowed && target != self.threshold_bps {
            let rate = config.max_threshold_drop_bps_per_hour as u64;
            self.threshold_time.saturating_add((step as u64 * SECONDS_PER_HOUR).div_ceil(rate) as i64)
        } else {
            now
        };
    }
}

/// The concentration scale for deposits worth `deposits_value` (whole quote units): limit /
/// total, rounded down, while the total is above the limit; 100% otherwise (or when off).
pub fn concentration_bps(config: &DynamicMarginConfig, deposits_value: u64) -> u16 {
    if config.has(DYNAMIC_CONCENTRATION) && deposits_value > config.concentration_limit_value {
        ((config.concentration_limit_value as u128 * BPS_DENOMINATOR) / deposits_value as u128) as u16
    } else {
        BPS_DENOMINATOR as u16
    }
}

/// The size premium of a collateral position worth `value` in a reserve with `config`, bps:
/// `size_premium_bps × √(value / depth)`, rounded up, capped at `max_size_premium_bps`.
pub fn size_premium_bps(config: &DynamicMarginConfig, value: Wad) -> u16 {
    if !config.has(DYNAMIC_SIZE) || config.liquidity_depth_value == 0 {
        return 0;
    }
    let max = config.max_size_premium_bps as u64;
    let factor = config.size_premium_bps as u64;
    // √(value / depth) in bps is √(value / depth × 10^8); beyond (max / factor)² the cap binds,
    // so the ratio fits a u64 and the root takes native divisions.
    // value / 10^10 (quote units × 10^8), then / depth.
    let scaled = div_ceil_e10(value.raw());
    let root_cap = (max * 10_000).div_ceil(factor);
    let ratio_e8 = u64::try_from(scaled).unwrap_or(u64::MAX).div_ceil(config.liquidity_depth_value).min(root_cap * root_cap);
    let premium = (factor * isqrt_up(ratio_e8)).div_ceil(10_000);
    premium.min(max) as u16
}

/// r² / dt for the return from `from` to `to` over `dt` seconds, with r = 2(p − p₀)/(p + p₀):
/// the log return's approximation 2 artanh⁻¹ to first order, whose r² is off ln(p/p₀)² by about
/// r²/6 (0.02% for a 3.5% move); r is bounded by 2, so a crash within one sample is understated
/// (−90%: r² 2.68 against ln² 5.30), which still takes the haircut to 100%. Wad per second, rounded up. Both prices are brought below
/// 2^31 first (their ratio kept to 2^-31) and r is taken in 32.32 fixed point, so every division
/// is a native 64-bit one: r is exact to 2.4e-10.
pub fn return_variance_rate(from: Wad, to: Wad, dt: u64) -> Option<u128> {
    let (a, b) = (from.raw(), to.raw());
    let sum = a.checked_add(b)?;
    let shift = (128 - sum.leading_zeros()).saturating_sub(32);
    let (a, b) = ((a >> shift) as u64, (b >> shift) as u64);
    let small_sum = a + b;
    if small_sum == 0 {
        return None;
    }
    // r × 2^32 = 2 |a − b| × 2^32 / (a + b), with a + b < 2^32.
    let (r, _) = crate::math::div_rem_small(((2 * a.abs_diff(b)) as u128) << 32, small_sum);
    // r² as a Wad: r² / 2^64 × 10^18, rounded up. r < 2^34, so r² × 10^18 < 2^128: the
    // wrapping multiplies cannot wrap (and skip the slow overflow-checking ones).
    if r >> 34 != 0 {
        return None;
    }
    let squared = r.wrapping_mul(r).wrapping_mul(WAD);
    let r_squared = (squared >> 64) + u128::from(squared & (u64::MAX as u128) != 0);
    let (rate, rest) = crate::math::div_rem_small(r_squared, dt.clamp(1, u32::MAX as u64));
    Some(rate + u128::from(rest != 0))
}

/// 2^(−dt / half_life) as a Wad: the estimate's weight after `dt` seconds. Exact in the integer
/// part of dt / half_life (a shift); the fraction by e^(−f·ln 2) to 12 terms in 32.32 fixed point
/// with native 64-bit arithmetic (error below 1e-9). After 60 half-lives, 0.
pub fn decay(dt: u64, half_life: u64) -> u128 {
    const ONE: u64 = 1 << 32;
    // ln 2 × 2^32.
    const LN2: u64 = 2_977_044_472;
    let half_life = half_life.max(1);
    let whole = dt / half_life;
    if whole >= 60 {
        return 0;
    }
    let fraction = dt % half_life;
    // y = fraction / half_life × ln 2 (< 0.7), in 32.32.
    let y = ((LN2 as u128 * fraction as u128) / half_life as u128) as u64;
    let mut term = ONE;
    let mut sum = ONE as i64;
    for k in 1..=12u64 {
        // term < 2^32 and y < 2^32: the product fits a u64.
        term = ((term * y) >> 32) / k;
        if term == 0 {
            break;
        }
        sum += if k % 2 == 1 { -(term as i64) } else { term as i64 };
    }
    ((sum.max(0) as u128 * WAD) >> 32) >> whole
}

/// ⌈n / 10^10⌉ in two native long divisions (10^10 does not fit the 32-bit divisors
/// `div_rem_small` takes).
fn div_ceil_e10(n: u128) -> u128 {
    let (high, low_rest) = crate::math::div_rem_small(n, 100_000);
    let (scaled, high_rest) = crate::math::div_rem_small(high, 100_000);
    scaled + u128::from(low_rest != 0 || high_rest != 0)
}

/// keep × old + (1 − keep) × sample, keep a Wad fraction.
fn mix(old: u128, sample: u128, keep: u128) -> Option<u128> {
    let kept = crate::math::mul_div(old, keep, WAD, crate::math::Rounding::Up)?;
    let fresh = crate::math::mul_div(sample, WAD - keep.min(WAD), WAD, crate::math::Rounding::Up)?;
    kept.checked_add(fresh)
}

/// ⌈√n⌉ (Newton's method from a power of two above the root, native 64-bit divisions).
pub fn isqrt_up(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let bits = 64 - n.leading_zeros();
    let mut x = 1u64 << bits.div_ceil(2);
    loop {
        let y = (x + n / x) / 2;
        if y >= x {
            break;
        }
        x = y;
    }
    // x = ⌊√n⌋.
    if x.checked_mul(x).is_some_and(|square| square < n) {
        x + 1
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isqrt_rounds_up() {
        for n in [0u64, 1, 2, 3, 4, 5, 15, 16, 17, 1 << 40, (1 << 40) + 1, u64::MAX - 1, u64::MAX] {
            let r = isqrt_up(n) as u128;
            let n = n as u128;
            assert!(r * r >= n && (r == 0 || (r - 1) * (r - 1) < n), "{n}: {r}");
        }
    }

    #[test]
    fn decay_halves_per_half_life() {
        assert_eq!(decay(0, 3_600), WAD);
        let half = decay(3_600, 3_600);
        assert_eq!(half, WAD / 2);
        let quarter = decay(7_200, 3_600);
        assert_eq!(quarter, WAD / 4);
        let f = decay(1_800, 3_600) as f64 / WAD as f64;
        assert!((f - 0.5f64.sqrt()).abs() < 1e-9, "{f}");
        assert_eq!(decay(3_600 * 61, 3_600), 0);
    }
}
