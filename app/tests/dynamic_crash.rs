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
use solvent::math::WAD;
use solvent::state::{DynamicMarginConfig, DYNAMIC_VOLATILITY};
use solvent_app::keeper::Keeper;
use solvent_tests::*;
use std::collections::BTreeMap;

const SOL: u64 = 1_000_000_000;
const USDC: u64 = 1_000_000;
const STEP_SECS: i64 = 600;
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
    h: Harness,
    market: TestMarket,
    sol: TestReserve,
    usdc: TestReserve,
    keeper: Keeper,
    rng: Rng,
    sol_price: f64,
}

impl Sim {
    async fn new(dynamic: bool) -> Sim {
        let mut h = Harness::start().await;
        let mut rng = Rng(0xD1A_C4A5);
        let owner = rng.keypair();
        h.fund(&owner.pubkey(), 100_000_000_000).await;
        let (market, _) = h.init_market_at(&owner, rng.keypair()).await;
        let sol_margin = solvent::state::ReserveConfig { loan_to_value_bps: 8_500, liquidation_threshold_bps: 9_000, liquidation_bonus_bps: 500, ..sol_config() };
        let (sol, _) = h.init_reserve(&market, &owner, 9, SOL_PRICE, SOL_PRICE_EXPO, sol_margin).await;
        let (usdc, _) = h.init_reserve(&market, &owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;
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
            h.must_send(&[set_dynamic_margin_ix(&market, &owner.pubkey(), &sol, settings)], &[&owner]).await;
        }
        // $50M of USDC to borrow, and a liquidator with inventory of both.
        let lender = rng.keypair();
        h.fund(&lender.pubkey(), 1_000_000_000).await;
        let obligation = h.init_obligation(&market, &lender).await;
        let source = h.create_token_account(&usdc.mint, &lender.pubkey()).await;
        h.mint_to(&usdc.mint, &source, 50_000_000 * USDC).await;
        h.must_send(&[deposit_ix(&market, &usdc, &obligation, &lender.pubkey(), &source, 50_000_000 * USDC)], &[&lender]).await;
        let liquidator = rng.keypair();
        h.fund(&liquidator.pubkey(), 10_000_000_000).await;
        let mut accounts = BTreeMap::new();
        for (reserve, amount) in [(&sol, 1_000_000 * SOL), (&usdc, 100_000_000 * USDC)] {
            let account = h.create_token_account(&reserve.mint, &liquidator.pubkey()).await;
            h.mint_to(&reserve.mint, &account, amount).await;
            accounts.insert(reserve.mint, account);
        }
        let keeper = Keeper::new(market.market, liquidator, accounts);
        Sim { h, market, sol, usdc, keeper, rng: Rng(0x5A3E_0001), sol_price: 150.0 }
    }

    /// Ten minutes on: SOL at `self.sol_price`, USDC at $1, both refreshed.
    async fn step(&mut self) {
        let now = self.h.now().await;
        self.h.set_time(now + STEP_SECS).await;
        let mantissa = (self.sol_price * 1e8).round() as i64;
        self.h.set_price(&self.sol.oracle, mantissa, 0, SOL_PRICE_EXPO).await;
        self.h.set_price(&self.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
        self.h.must_send(&[refresh_reserve_ix(&self.sol), refresh_reserve_ix(&self.usdc)], &[]).await;
    }

    /// `steps` of ±`swing` around $150 (no trend).
    async fn wiggle(&mut self, steps: usize, swing: f64) {
        for i in 0..steps {
            self.sol_price = 150.0 * if i % 2 == 0 { 1.0 + swing } else { 1.0 - swing };
            self.step().await;
        }
        self.sol_price = 150.0;
    }

    /// A borrower deposits SOL worth $1,000 to $200,000 (seeded) and borrows 95% of what
    /// `max_borrow` allows now. Returns (USDC borrowed, SOL value deposited).
    async fn borrower(&mut self) -> (f64, f64) {
        let value = (self.rng.between(1_000f64.ln(), 200_000f64.ln())).exp();
        let amount = (value / self.sol_price * SOL as f64) as u64;
        let user = self.rng.keypair();
        self.h.fund(&user.pubkey(), 100_000_000).await;
        let obligation = self.h.init_obligation(&self.market, &user).await;
        let source = self.h.create_token_account(&self.sol.mint, &user.pubkey()).await;
        self.h.mint_to(&self.sol.mint, &source, amount).await;
        self.h.must_send(&[deposit_ix(&self.market, &self.sol, &obligation, &user.pubkey(), &source, amount)], &[&user]).await;
        let view = MarketView::load_with(&mut InProcessChain { harness: &mut self.h }, &self.market.market, &[self.sol.reserve, self.usdc.reserve]).await.unwrap();
        let state = self.h.obligation(&obligation).await;
        let limit = max_borrow(&view, &state, &self.usdc.reserve).unwrap().amount;
        let borrow = limit / 100 * 95;
        if borrow > 0 {
            let destination = self.h.create_token_account(&self.usdc.mint, &user.pubkey()).await;
            let ix = borrow_ix(&self.market, &self.usdc, &obligation, &user.pubkey(), &destination, borrow);
            let ixs = self.h.with_refresh(&obligation, &[&self.sol, &self.usdc], ix).await;
            self.h.must_send(&ixs, &[&user]).await;
        }
        (borrow as f64 / USDC as f64, amount as f64 / SOL as f64 * self.sol_price)
    }

    async fn keeper_pass(&mut self) -> (usize, usize, f64) {
        let report = self.keeper.run_pass(&mut InProcessChain { harness: &mut self.h }).await.expect("keeper pass");
        for outcome in &report.outcomes {
            assert!(outcome.error.is_none(), "keeper failed on {}: {:?}", outcome.obligation, outcome.error);
        }
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
    outcome.threshold_at_crash_bps = sim.h.reserve(&sim.sol.reserve).await.risk_params().liquidation_threshold_bps;
    // The crash: three −5% steps and a −15% gap, the keeper after each.
    for factor in [0.95, 0.95, 0.95, 0.85] {
        sim.sol_price *= factor;
        sim.step().await;
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
