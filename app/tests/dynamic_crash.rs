//! Static vs dynamic margin through the same crash, on the built .so (issue #16).
//!
//! One market (SOL $150, LTV 85%, threshold 90%, 5% bonus; USDC), run twice with the same users
//! and the same prices: once with static weights, once with SOL's volatility haircut on (z 2.33
//! over a one-day liquidation horizon, the threshold falling at most 1 point an hour). A calm day
//! (SOL ±0.3% every 10 minutes, no trend), then a day of 4x the volatility (±1.2%, no trend),
//! then the crash: three −5% steps and a −15% gap. Borrowers open long-SOL positions at 95% of
//! what `max_borrow` allows at the time: a first group at the end of the calm day, a second
//! during the volatile day. The keeper runs every 8 hours of the volatile day and after each crash
//! step. Printed and checked: borrowing power in the calm (dynamic within 5% of static), the
//! borrowing the volatile day prevented, liquidations, and bad debt in each run.
#[path = "support/crash_market.rs"]
mod crash_market;
use crash_market::{CrashMarket, STEP_SECS};
use solvent::math::WAD;
use solvent::state::{DynamicMarginConfig, DYNAMIC_VOLATILITY};
use solvent_tests::*;

const STEPS_PER_DAY: usize = 144;
const GROUP: usize = 24;

#[derive(Debug, Default)]
struct Outcome {
    /// USDC the first borrower of the calm group could borrow per $1,000 of SOL.
    calm_power_per_1000: f64,
    /// USDC borrowed by each group.
    calm_borrowed: f64,
    volatile_borrowed: f64,
    /// The SOL threshold when the crash starts.
    threshold_at_crash_bps: u16,
    liquidated_before_crash: usize,
    liquidation_calls: usize,
    bad_debt: f64,
}

struct Sim {
    m: CrashMarket,
    rng: Rng,
}

impl Sim {
    async fn new(dynamic: bool) -> Sim {
        let sol_margin = solvent::state::ReserveConfig { loan_to_value_bps: 8_500, liquidation_threshold_bps: 9_000, liquidation_bonus_bps: 500, ..sol_config() };
        let mut m = CrashMarket::new(&mut Rng(0xD1A_C4A5), sol_margin).await;
        if dynamic {
            let settings = DynamicMarginConfig {
                flags: DYNAMIC_VOLATILITY,
                vol_sample_secs: STEP_SECS as u32,
                vol_half_life_secs: 6 * 3_600,
                vol_horizon_secs: 86_400,
                vol_z_bps: 23_300,
                max_threshold_drop_bps_per_hour: 100,
                threshold_hysteresis_bps: 50,
                ..Default::default()
            };
            let owner = m.owner.insecure_clone();
            m.h.must_send(&[set_dynamic_margin_ix(&m.market, &owner.pubkey(), &m.sol, settings)], &[&owner]).await;
        }
        Sim { m, rng: Rng(0x5A3E_0001) }
    }

    /// `steps` of ±`swing` around $150 (no trend).
    async fn wiggle(&mut self, steps: usize, swing: f64) {
        for i in 0..steps {
            self.m.sol_price = 150.0 * if i % 2 == 0 { 1.0 + swing } else { 1.0 - swing };
            self.m.step().await;
        }
        self.m.sol_price = 150.0;
    }

    /// A borrower deposits SOL worth $1,000 to $200,000 (seeded) and borrows 95% of what
    /// `max_borrow` allows now. Returns (USDC borrowed, SOL value deposited).
    async fn borrower(&mut self) -> (f64, f64) {
        let value = (self.rng.between(1_000f64.ln(), 200_000f64.ln())).exp();
        let long = self.m.open_long(&mut self.rng, value, |limit| limit / 100 * 95).await;
        (long.borrowed, long.deposited_value)
    }

    async fn keeper_pass(&mut self) -> (usize, usize, f64) {
        let report = self.m.keeper_pass().await;
        (report.liquidated, report.calls, report.bad_debt_value.raw() as f64 / WAD as f64)
    }
}

async fn run(dynamic: bool) -> Outcome {
    let mut sim = Sim::new(dynamic).await;
    let mut outcome = Outcome::default();
    sim.wiggle(STEPS_PER_DAY, 0.003).await;
    for i in 0..GROUP {
        let (borrowed, value) = sim.borrower().await;
        if i == 0 {
            outcome.calm_power_per_1000 = borrowed / 0.95 / value * 1_000.0;
        }
        outcome.calm_borrowed += borrowed;
    }
    // The volatile day, in three 8-hour parts: borrowers open in each, the keeper runs after.
    for _ in 0..3 {
        sim.wiggle(STEPS_PER_DAY / 3, 0.012).await;
        for _ in 0..GROUP / 3 {
            outcome.volatile_borrowed += sim.borrower().await.0;
        }
        let (liquidated, calls, bad_debt) = sim.keeper_pass().await;
        outcome.liquidated_before_crash += liquidated;
        outcome.liquidation_calls += calls;
        outcome.bad_debt += bad_debt;
    }
    outcome.threshold_at_crash_bps = sim.m.h.reserve(&sim.m.sol.reserve).await.risk_params().liquidation_threshold_bps;
    // The crash: three −5% steps and a −15% gap, the keeper after each.
    for factor in [0.95, 0.95, 0.95, 0.85] {
        sim.m.sol_price *= factor;
        sim.m.step().await;
        let (_, calls, bad_debt) = sim.keeper_pass().await;
        outcome.liquidation_calls += calls;
        outcome.bad_debt += bad_debt;
    }
    outcome
}

#[tokio::test]
async fn dynamic_margin_cuts_the_bad_debt_of_a_crash_after_volatility() {
    let fixed = run(false).await;
    let dynamic = run(true).await;
    println!("run     | calm power per $1,000 | borrowed calm | borrowed volatile | threshold at crash | liquidated before crash | liquidation calls | bad debt ($)");
    for (name, o) in [("static", &fixed), ("dynamic", &dynamic)] {
        println!(
            "{name:<7} | {:>21.2} | {:>13.0} | {:>17.0} | {:>17.2}% | {:>23} | {:>17} | {:>12.2}",
            o.calm_power_per_1000,
            o.calm_borrowed,
            o.volatile_borrowed,
            o.threshold_at_crash_bps as f64 / 100.0,
            o.liquidated_before_crash,
            o.liquidation_calls,
            o.bad_debt
        );
    }
    let prevented = 1.0 - dynamic.volatile_borrowed / fixed.volatile_borrowed;
    let ratio = if fixed.bad_debt > 0.0 { dynamic.bad_debt / fixed.bad_debt } else { 0.0 };
    println!("the volatile day's borrowing prevented: {:.1}%; bad debt under dynamic margin: {:.1}% of static (goal <= 25%)", 100.0 * prevented, 100.0 * ratio);
    assert!((dynamic.calm_power_per_1000 - fixed.calm_power_per_1000).abs() <= 0.05 * fixed.calm_power_per_1000, "calm borrowing power within 5%");
    assert!((dynamic.calm_borrowed - fixed.calm_borrowed).abs() <= 0.05 * fixed.calm_borrowed);
    assert!(dynamic.volatile_borrowed < fixed.volatile_borrowed, "the volatile day's borrowing is cut");
    assert!(dynamic.threshold_at_crash_bps < 9_000 && fixed.threshold_at_crash_bps == 9_000);
    assert!(fixed.bad_debt > 0.0, "the crash leaves bad debt under static margin");
    assert!(dynamic.bad_debt <= fixed.bad_debt, "dynamic margin leaves no more bad debt than static");
}
