//! The insurance fund through a crash, on the built .so (issue #21).
//!
//! The market and crash of `deleverage_crash.rs` without orders or a soft zone (SOL $150, LTV
//! 80%, threshold 85%; 20 borrowers long SOL at 90–99% of `max_borrow`; SOL −1% every ten
//! minutes for two hours, then a −20% gap; the keeper after every step), run three times: no
//! fund; a $10,000 USDC fund (staked, slashing cap 100%); and a fund the size of the first run's
//! bad debt. Reported per run: the bad debt, what the fund paid, what the depositors bore, and the
//! fund that would have kept them whole. Checked: the fund pays first, depositors bear exactly
//! the rest, and a fund the size of the bad debt leaves depositors whole.
#[path = "support/crash_market.rs"]
mod crash_market;
use crash_market::{CrashMarket, USDC};
use solvent::math::WAD;
use solvent_tests::*;

#[derive(Debug, Default)]
struct Outcome {
    bad_debt: f64,
    paid_by_fund: f64,
    borne_by_depositors: f64,
    fund_left: f64,
}

async fn run(fund_usdc: u64) -> Outcome {
    let sol_margin = solvent::state::ReserveConfig { loan_to_value_bps: 8_000, liquidation_threshold_bps: 8_500, liquidation_bonus_bps: 500, ..sol_config() };
    let mut m = CrashMarket::new(&mut Rng(0xDE1E_7E4A), sol_margin).await;
    let mut rng = Rng(0x5EED_0017);
    let owner = m.owner.insecure_clone();
    let mut usdc = m.usdc.clone();
    if fund_usdc > 0 {
        m.h.must_send(&[init_insurance_fund_ix(&m.market, &owner.pubkey(), &m.usdc, 86_400, 10_000)], &[&owner]).await;
        usdc = ReserveKeys::from_state(m.usdc.reserve, &m.h.reserve(&m.usdc.reserve).await);
        let staker = Rng(0x57A4_E001).keypair();
        m.h.fund(&staker.pubkey(), 1_000_000_000).await;
        let source = m.h.create_token_account(&m.usdc.mint, &staker.pubkey()).await;
        m.h.mint_to(&m.usdc.mint, &source, fund_usdc * USDC).await;
        m.h.must_send(&[stake_insurance_ix(&usdc, &staker.pubkey(), &source, fund_usdc * USDC)], &[&staker]).await;
    }
    m.step().await;
    for _ in 0..20 {
        let value = (rng.between(1_000f64.ln(), 200_000f64.ln())).exp();
        let share = rng.between(0.90, 0.99);
        m.open_long(&mut rng, value, |limit| (limit as f64 * share) as u64).await;
    }
    let mut outcome = Outcome::default();
    let pass = |report: solvent_app::keeper::PassReport, outcome: &mut Outcome| {
        outcome.bad_debt += report.bad_debt_value.raw() as f64 / WAD as f64;
        outcome.paid_by_fund += report.insurance_paid_value.raw() as f64 / WAD as f64;
    };
    for step in 0..14 {
        m.sol_price *= if step == 12 { 0.80 } else if step < 12 { 0.99 } else { 1.0 };
        m.step().await;
        let report = m.keeper_pass().await;
        pass(report, &mut outcome);
    }
    outcome.borne_by_depositors = outcome.bad_debt - outcome.paid_by_fund;
    if let Some((fund, _)) = usdc.insurance {
        let state = solvent_client::decode_insurance_fund(&m.h.account(&fund).await.unwrap().data).unwrap();
        outcome.fund_left = state.assets as f64 / USDC as f64;
        assert_eq!(state.owed_to_reserve, 0, "the keeper settled every payment");
    }
    outcome
}

#[tokio::test]
async fn the_fund_pays_the_crash_before_depositors() {
    let none = run(0).await;
    let small = run(10_000).await;
    let whole = run(none.bad_debt.ceil() as u64 + 1).await;
    println!("fund ($) | bad debt ($) | paid by the fund ($) | borne by depositors ($) | fund left ($)");
    for (fund, o) in [(0.0, &none), (10_000.0, &small), (none.bad_debt.ceil() + 1.0, &whole)] {
        println!("{fund:>8.0} | {:>12.2} | {:>20.2} | {:>23.2} | {:>13.2}", o.bad_debt, o.paid_by_fund, o.borne_by_depositors, o.fund_left);
    }
    println!("a fund of ${:.0} would have kept the USDC depositors whole", none.bad_debt.ceil());
    assert!(none.bad_debt > 10_000.0, "the crash leaves more bad debt than the small fund: {none:?}");
    assert_eq!(none.paid_by_fund, 0.0);
    assert!((small.bad_debt - none.bad_debt).abs() < 0.01, "the fund does not change the liquidations");
    assert!((small.paid_by_fund - 10_000.0).abs() < 0.01 && small.fund_left < 0.01, "the small fund paid all it had: {small:?}");
    // The fund pays each debt rounded up to a whole base unit: at most a few millionths over.
    assert!(whole.borne_by_depositors <= 1e-4 && whole.paid_by_fund > 0.0, "a fund the size of the bad debt leaves depositors whole: {whole:?}");
}
