//! Predictive deleveraging through the same crash, on the built .so (issue #17).
//!
//! One market (SOL $150, LTV 80%, threshold 85%, a 5% liquidation bonus; USDC), run twice with
//! the same borrowers and the same prices. Off: hard liquidation only. On: 40% of the borrowers
//! set a stop-loss order (SOL 6% below their entry, half the debt per execution, up to 2% over
//! ten minutes), and SOL has a soft zone over the last half of the margin band (10% of a debt
//! per call, up to 1% over twenty minutes, a call per minute at most). Borrowers open long-SOL
//! positions at 90–99% of what `max_borrow` allows; SOL then falls 1% every ten minutes for two
//! hours and gaps down 20%; the keeper runs after every step, executing whatever pays most
//! (`best_deleverage`). Printed and checked: the bonus borrowers paid, the calls by kind, and
//! the bad debt in each run.
#[path = "support/crash_market.rs"]
mod crash_market;
use crash_market::CrashMarket;
use solvent::math::WAD;
use solvent::state::{OrderParams, SoftZoneConfig, TRIGGER_PRICE_BELOW};
use solvent_tests::*;

const BORROWERS: usize = 20;

#[derive(Debug, Default)]
struct Outcome {
    borrowed: f64,
    liquidation_calls: usize,
    order_calls: usize,
    soft_calls: usize,
    /// Quote value the executors received above what they repaid, at spot: what borrowers paid.
    bonus_paid: f64,
    bad_debt: f64,
}

struct Sim {
    m: CrashMarket,
    rng: Rng,
}

impl Sim {
    async fn new() -> Sim {
        let sol_margin = solvent::state::ReserveConfig { loan_to_value_bps: 8_000, liquidation_threshold_bps: 8_500, liquidation_bonus_bps: 500, ..sol_config() };
        Sim { m: CrashMarket::new(&mut Rng(0xDE1E_7E4A), sol_margin).await, rng: Rng(0x5EED_0017) }
    }

    /// A borrower deposits SOL worth $1,000 to $200,000 and borrows 90–99% of `max_borrow`
    /// (seeded); with `order`, sets a stop-loss 6% below the entry price. Returns the USDC borrowed.
    async fn borrower(&mut self, order: bool) -> f64 {
        let value = (self.rng.between(1_000f64.ln(), 200_000f64.ln())).exp();
        let share = self.rng.between(0.90, 0.99);
        let long = self.m.open_long(&mut self.rng, value, |limit| (limit as f64 * share) as u64).await;
        if order {
            let level = (self.m.sol_price * 0.94 * 1e6) as u128 * (WAD / 1_000_000);
            let params = OrderParams { trigger: TRIGGER_PRICE_BELOW, threshold_wad: level, max_repay_bps: 5_000, max_bonus_bps: 200, bonus_ramp_secs: 600 };
            let ix = set_obligation_order_ix(&long.obligation, &long.user.pubkey(), &self.m.usdc.reserve, &self.m.sol.reserve, 0, params);
            self.m.h.must_send(&[ix], &[&long.user]).await;
        }
        long.borrowed
    }

    async fn keeper_pass(&mut self, outcome: &mut Outcome) {
        let report = self.m.keeper_pass().await;
        outcome.order_calls += report.orders_executed;
        outcome.soft_calls += report.soft_deleverages;
        outcome.liquidation_calls += report.calls - report.orders_executed - report.soft_deleverages;
        outcome.bonus_paid += (report.received_value.raw() as f64 - report.repaid_value.raw() as f64) / WAD as f64;
        outcome.bad_debt += report.bad_debt_value.raw() as f64 / WAD as f64;
    }
}

async fn run(deleverage: bool) -> Outcome {
    let mut sim = Sim::new().await;
    let mut outcome = Outcome::default();
    if deleverage {
        let zone = SoftZoneConfig { enabled: 1, padding: [0], start_bps: 5_000, max_repay_bps: 1_000, max_bonus_bps: 100, bonus_ramp_secs: 1_200, min_interval_secs: 60 };
        let owner = sim.m.owner.insecure_clone();
        sim.m.h.must_send(&[set_soft_zone_ix(&sim.m.market, &owner.pubkey(), &sim.m.sol, zone)], &[&owner]).await;
    }
    sim.m.step().await;
    for i in 0..BORROWERS {
        // The same draws in both runs: whether a borrower sets an order is by position.
        outcome.borrowed += sim.borrower(deleverage && i % 5 < 2).await;
    }
    for _ in 0..12 {
        sim.m.sol_price *= 0.99;
        sim.m.step().await;
        sim.keeper_pass(&mut outcome).await;
    }
    sim.m.sol_price *= 0.80;
    sim.m.step().await;
    sim.keeper_pass(&mut outcome).await;
    sim.m.step().await;
    sim.keeper_pass(&mut outcome).await;
    outcome
}

#[tokio::test]
async fn orders_and_the_soft_zone_cut_what_borrowers_pay_and_the_bad_debt() {
    let off = run(false).await;
    let on = run(true).await;
    println!("run                       | borrowed ($) | liquidation calls | order executions | soft calls | bonus paid by borrowers ($) | bad debt ($)");
    for (name, o) in [("liquidation only", &off), ("orders + soft zone", &on)] {
        println!(
            "{name:<25} | {:>12.0} | {:>17} | {:>16} | {:>10} | {:>27.2} | {:>12.2}",
            o.borrowed, o.liquidation_calls, o.order_calls, o.soft_calls, o.bonus_paid, o.bad_debt
        );
    }
    assert!((off.borrowed - on.borrowed).abs() < 1.0, "the same borrowers");
    assert_eq!((off.order_calls, off.soft_calls), (0, 0));
    assert!(on.order_calls > 0 && on.soft_calls > 0, "both kinds ran: {on:?}");
    assert!(off.liquidation_calls > 0 && off.bad_debt > 0.0, "the crash hurts without them: {off:?}");
    assert!(on.bonus_paid < off.bonus_paid, "borrowers pay less: {} vs {}", on.bonus_paid, off.bonus_paid);
    assert!(on.bad_debt < off.bad_debt, "less bad debt: {} vs {}", on.bad_debt, off.bad_debt);
}
