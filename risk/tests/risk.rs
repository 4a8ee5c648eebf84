//! The risk console on the built `.so`: the same seed gives the same figures; thin venues
//! cascade further than deep ones, and the venue moves exactly as its model says; the ladder's
//! liquidatable obligations are exactly those `liquidate` accepts at that price.
use solvent_risk::ladder::{liquidatable_at, oracle_spot, shocked_oracle};
use solvent_risk::scenario::*;
use solvent_risk::sim::{Outcome, Sim};
use solvent_risk::venue::Venue;
use solvent_tests::*;
use std::collections::BTreeSet;

fn figures(outcome: &Outcome) -> String {
    serde_json::to_string(outcome).expect("serialize")
}

fn scenario(name: &str) -> Scenario {
    library().into_iter().find(|s| s.name == name).expect("in the library")
}

#[tokio::test]
async fn the_same_seed_gives_the_same_figures_to_the_base_unit() {
    let runs = [("gap-down", 11u64), ("oct-10-2025", 11)];
    let mut first = Vec::new();
    let mut sim = Sim::build(&standard_market(40, 11), &|_| {}).await.expect("build");
    for (name, _) in runs {
        first.push(figures(&sim.run(&scenario(name), &|_| {}).await.expect("run")));
    }
    // A second market from the same seed, on a fresh runtime.
    let mut again = Sim::build(&standard_market(40, 11), &|_| {}).await.expect("build");
    for ((name, _), expected) in runs.iter().zip(&first) {
        assert_eq!(&figures(&again.run(&scenario(name), &|_| {}).await.expect("run")), expected, "{name} differs between two runs of one seed");
    }
    // The same scenario again on the first market (restored from its snapshot) agrees too.
    assert_eq!(figures(&sim.run(&scenario("gap-down"), &|_| {}).await.expect("run")), first[0]);
    // And the figures depend on the seed: another seed gives another population and run.
    let mut other = Sim::build(&standard_market(40, 12), &|_| {}).await.expect("build");
    assert_ne!(figures(&other.run(&scenario("gap-down"), &|_| {}).await.expect("run")), first[0]);
    let outcome: Outcome = sim.run(&scenario("oct-10-2025"), &|_| {}).await.expect("run");
    assert!(outcome.liquidations > 0, "the crash liquidates something");
}

/// The built-in market (60 obligations) with every venue's depth scaled by `factor`.
fn with_depth(factor: f64) -> MarketSpec {
    let mut spec = standard_market(60, 21);
    for reserve in &mut spec.reserves {
        if let Some(venue) = reserve.venue.as_mut() {
            venue.depth_value *= factor;
        }
    }
    spec
}

#[tokio::test]
async fn a_thin_venue_cascades_into_more_liquidations_and_bad_debt_and_moves_as_its_model_says() {
    let gap = Scenario {
        name: "gap-20".into(),
        description: "ETH and SOL 20% down at once".into(),
        tick_secs: 60,
        ticks: 40,
        paths: [("ETH".to_string(), PathSpec::Gap { at_tick: 1, drop: 0.2 }), ("SOL".to_string(), PathSpec::Gap { at_tick: 1, drop: 0.2 })].into_iter().collect(),
        outflow_per_hour_bps: 0,
        depth_per_day: 1.0,
        oracle_freeze: None,
    };
    let deep = Sim::build(&with_depth(1.0), &|_| {}).await.expect("build").run(&gap, &|_| {}).await.expect("deep run");
    let thin = Sim::build(&with_depth(0.01), &|_| {}).await.expect("build").run(&gap, &|_| {}).await.expect("thin run");
    println!(
        "deep: {} liquidations, bad debt ${:.2}, underwater ${:.2}, impact {:.4}; thin: {} liquidations, bad debt ${:.2}, underwater ${:.2}, impact {:.4}",
        deep.liquidations, deep.bad_debt_value, deep.underwater_value, deep.peak_price_impact, thin.liquidations, thin.bad_debt_value, thin.underwater_value, thin.peak_price_impact
    );
    assert!(thin.liquidations > deep.liquidations, "thin {} vs deep {} liquidations", thin.liquidations, deep.liquidations);
    let losses = |o: &Outcome| o.bad_debt_value + o.underwater_value;
    assert!(losses(&thin) > losses(&deep), "thin ${:.2} vs deep ${:.2} of bad debt", losses(&thin), losses(&deep));
    assert!(thin.peak_price_impact > deep.peak_price_impact);
    // Every tick's trades moved each pool exactly as a constant-product pool without fees does:
    // the mid after is mid × (x / (x + sold − bought))², whatever the order of the trades.
    let mut checked = 0;
    for run in [&deep, &thin] {
        for tick in &run.ticks {
            for flow in tick.flows.iter().flatten().filter(|f| f.sold + f.bought > 0.0) {
                let predicted = Venue::mid_after_sell(flow.mid_before, flow.asset_before, flow.sold - flow.bought);
                assert!((flow.mid_after / predicted - 1.0).abs() < 1e-9, "mid {} after trades, the model says {predicted}", flow.mid_after);
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "some tick traded");
}

#[tokio::test]
async fn the_ladder_counts_exactly_the_obligations_liquidate_accepts() {
    let mut sim = Sim::build(&standard_market(40, 5), &|_| {}).await.expect("build");
    let mut nontrivial = 0;
    for (reserve_index, shock) in [(1usize, 0.04), (1, 0.12), (1, 0.3), (0, 0.08), (0, 0.2)] {
        sim.restore().await;
        sim.h.unique_by_nonce = true;
        sim.load_obligations().await;
        let scan = sim.scan().await.expect("scan");
        let key = sim.reserves[reserve_index].clone();
        let now_data = sim.h.account(&key.oracle).await.expect("oracle").data;
        let oracle = shocked_oracle(oracle_spot(&now_data).expect("pyth"), shock, scan.view.now);
        let population: Vec<(Pubkey, solvent::state::Obligation)> = scan.assessments.iter().map(|a| (a.obligation, sim.obligation(&a.obligation).expect("cached"))).collect();
        let predicted: BTreeSet<Pubkey> = liquidatable_at(&scan.view, &population, &key.reserve, &oracle).into_iter().map(|(k, _)| k).collect();
        // Now on chain: the oracle at that price, and a liquidation tried on every obligation.
        sim.h.set_account(&key.oracle, &PYTH_PROGRAM_ID, oracle.clone());
        let mut accepted = BTreeSet::new();
        for (obligation_key, _) in &population {
            if sim.try_liquidate(obligation_key).await.expect("liquidate") {
                accepted.insert(*obligation_key);
            }
        }
        println!("reserve {reserve_index} at -{:.0}%: ladder {} liquidatable, liquidate accepted {}", shock * 100.0, predicted.len(), accepted.len());
        assert_eq!(predicted, accepted, "at -{:.0}% of reserve {reserve_index}", shock * 100.0);
        if !predicted.is_empty() && predicted.len() < population.len() {
            nontrivial += 1;
        }
    }
    assert!(nontrivial >= 3, "most sampled levels split the population");
}

#[tokio::test]
async fn an_insurance_fund_pays_its_reserve_s_bad_debt_before_the_depositors_do() {
    // A 70% gap in ETH and SOL leaves USDC debt no collateral backs, which the keeper writes off.
    let spec = standard_market(60, 4);
    let mut crash = solvent_risk::console::gap(&spec, 0.7);
    crash.ticks = 60;
    let without = Sim::build(&spec, &|_| {}).await.expect("build").run(&crash, &|_| {}).await.expect("run");
    let mut spec = standard_market(60, 4);
    let usdc = spec.reserves.iter_mut().find(|r| r.name == "USDC").expect("USDC");
    usdc.insurance_value = 1_000.0;
    let with = Sim::build(&spec, &|_| {}).await.expect("build").run(&crash, &|_| {}).await.expect("run");
    let loss = |o: &Outcome| o.depositor_loss.iter().find(|(n, _, _)| n == "USDC").map(|l| l.1).expect("USDC");
    println!("USDC depositors lose {:.6} without a fund, {:.6} with one that paid {:?}", loss(&without), loss(&with), with.insurance_paid);
    assert!(loss(&without) > 1_000.0, "the gap leaves more USDC bad debt than the fund holds");
    // Depositors bear a loss only once the fund is spent: the fund paid its whole stake.
    let paid = with.insurance_paid.iter().find(|(n, _, _)| n == "USDC").map(|p| p.1).expect("the fund is reported");
    assert!(loss(&with) > 0.0 && (paid - 1_000.0).abs() < 1e-6, "paid {paid} of a $1,000 stake while depositors lost {}", loss(&with));
    // And they lose less: at least the fund's payment (more where the fund's repayment kept the
    // USDC share price, and with it USDC collateral, up for later positions).
    assert!(loss(&with) <= loss(&without) - paid + 1e-6, "with a fund {} vs without {} less {paid}", loss(&with), loss(&without));
    assert!(without.insurance_paid.is_empty());
}
