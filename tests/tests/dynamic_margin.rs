//! Dynamic margin on the `.so` (issue #16, in part): the settings are validated and the owner's
//! alone; volatility measured by refresh_reserve cuts borrowing power at once (the client's
//! `max_borrow` and the program agree to the base unit) while the liquidation threshold falls
//! only at its hourly pace; a size premium makes a whale need more margin than a small account;
//! the compute units of refresh_reserve with the estimator and of refresh_obligation at 8+8 with
//! every part on, within budget.
use solvent::errors::LendingError;
use solvent::math::Wad;
use solvent::state::{
    size_premium_bps, DynamicMarginConfig, HealthKind, DYNAMIC_CONCENTRATION, DYNAMIC_SIZE, DYNAMIC_VOLATILITY,
};
use solvent_tests::*;

const SOL: u64 = 1_000_000_000;

fn volatility() -> DynamicMarginConfig {
    volatility_haircut()
}

/// Moves the clock `secs` on and publishes `sol_price` (expo -8) and USDC at $1.
async fn minute_later(h: &mut Harness, m: &StandardMarket, secs: i64, sol_price: i64) {
    let now = h.now().await;
    h.set_time(now + secs).await;
    h.set_price(&m.sol.oracle, sol_price, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    h.must_send(&[refresh_reserve_ix(&m.sol), refresh_reserve_ix(&m.usdc)], &[]).await;
}

async fn max_usdc(h: &mut Harness, m: &StandardMarket, obligation: &Pubkey) -> Limit {
    let view = MarketView::load_with(&mut InProcessChain { harness: h }, &m.market.market, &[m.sol.reserve, m.usdc.reserve]).await.unwrap();
    let state = h.obligation(obligation).await;
    max_borrow(&view, &state, &m.usdc.reserve).unwrap()
}

#[tokio::test]
async fn settings_are_validated_and_the_owners_alone() {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let keys = [m.sol.reserve];
    for bad in [
        DynamicMarginConfig { flags: 8, ..volatility() },
        DynamicMarginConfig { vol_half_life_secs: 10, ..volatility() },
        DynamicMarginConfig { max_threshold_drop_bps_per_hour: 0, ..volatility() },
        DynamicMarginConfig { flags: DYNAMIC_SIZE, liquidity_depth_value: 1_000, size_premium_bps: 100, max_size_premium_bps: 7_500, ..volatility() },
        DynamicMarginConfig { flags: DYNAMIC_CONCENTRATION, ..volatility() },
    ] {
        let ix = set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &m.sol, bad);
        assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidDynamicMargin, &keys).await;
    }
    let stranger = Keypair::new();
    h.fund(&stranger.pubkey(), 1_000_000_000).await;
    let ix = set_dynamic_margin_ix(&m.market, &stranger.pubkey(), &m.sol, volatility());
    assert_rejected(&mut h, &[ix], &[&stranger], LendingError::InvalidMarketOwner, &keys).await;
    h.must_send(&[set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &m.sol, volatility())], &[&m.owner]).await;
    assert_eq!(h.reserve(&m.sol.reserve).await.dynamic_config, volatility());
    // A config update that would put the size premium's cap above the LTV is refused too.
    let sized = DynamicMarginConfig { flags: DYNAMIC_SIZE, liquidity_depth_value: 1_000_000, size_premium_bps: 100, max_size_premium_bps: 5_000, ..volatility() };
    h.must_send(&[set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &m.sol, sized)], &[&m.owner]).await;
    let lower = solvent::state::ReserveConfig { loan_to_value_bps: 4_000, ..sol_config() };
    let ix = update_config_ix(&m.market, &m.owner.pubkey(), &m.sol, lower);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidDynamicMargin, &keys).await;
}

#[tokio::test]
async fn volatility_cuts_borrowing_power_at_once_and_the_threshold_only_at_its_pace() {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    h.must_send(&[set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &m.sol, volatility())], &[&m.owner]).await;
    let borrower = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &borrower.sol_account, 10 * SOL).await;
    let ix = deposit_ix(&m.market, &m.sol, &borrower.obligation, &borrower.keypair.pubkey(), &borrower.sol_account, 10 * SOL);
    h.must_send(&[ix], &[&borrower.keypair]).await;
    // A calm hour: SOL at $150 to within 0.05% per minute.
    for minute in 0..60 {
        let wiggle = if minute % 2 == 0 { 7_500_000 } else { -7_500_000 };
        minute_later(&mut h, &m, 60, SOL_PRICE + wiggle).await;
    }
    let calm = h.reserve(&m.sol.reserve).await.dynamic;
    assert_eq!((calm.ltv_bps, calm.threshold_bps), (7_500, 8_000), "calm: the configured weights");
    let calm_limit = max_usdc(&mut h, &m, &borrower.obligation).await;
    // Then 4% swings every minute for half an hour, no trend.
    let mut events = 0;
    for minute in 0..30 {
        let swing = if minute % 2 == 0 { SOL_PRICE * 104 / 100 } else { SOL_PRICE * 96 / 100 };
        minute_later(&mut h, &m, 60, swing).await;
        let state = h.reserve(&m.sol.reserve).await.dynamic;
        assert!(state.threshold_bps >= 8_000 - (minute + 1) * 100 / 60 - 1, "minute {minute}: threshold {}", state.threshold_bps);
        events += 1;
    }
    minute_later(&mut h, &m, 60, SOL_PRICE).await;
    let volatile = h.reserve(&m.sol.reserve).await.dynamic;
    assert!(volatile.annual_sigma_bps() > 5 * calm.annual_sigma_bps(), "{} vs {}", volatile.annual_sigma_bps(), calm.annual_sigma_bps());
    assert!(volatile.ltv_bps < 6_000, "borrowing power cut at once: LTV {}", volatile.ltv_bps);
    assert!(volatile.threshold_bps >= 8_000 - 52 && volatile.threshold_bps < 8_000, "half an hour at 100 bps/hour: {}", volatile.threshold_bps);
    assert!(volatile.threshold_target_bps < volatile.threshold_bps);
    // The program refuses what calm allowed; the client names the new limit to the base unit.
    let limit = max_usdc(&mut h, &m, &borrower.obligation).await;
    assert!(limit.amount < calm_limit.amount * 8 / 10, "{} vs calm {}", limit.amount, calm_limit.amount);
    let keys = [borrower.obligation, m.sol.reserve, m.usdc.reserve, borrower.usdc_account];
    let borrow = |amount| borrow_ix(&m.market, &m.usdc, &borrower.obligation, &borrower.keypair.pubkey(), &borrower.usdc_account, amount);
    let ixs = h.with_refresh(&borrower.obligation, &[&m.sol, &m.usdc], borrow(limit.amount + 1)).await;
    assert_rejected(&mut h, &ixs, &[&borrower.keypair], LendingError::BorrowTooLarge, &keys).await;
    let ixs = h.with_refresh(&borrower.obligation, &[&m.sol, &m.usdc], borrow(limit.amount)).await;
    h.must_send(&ixs, &[&borrower.keypair]).await;
    // The obligation's cached values were weighted with the dynamic weights.
    let values = h.obligation(&borrower.obligation).await.values();
    let collateral = h.obligation(&borrower.obligation).await.deposits[0].market_value_wad.get();
    let state = h.reserve(&m.sol.reserve).await.dynamic;
    assert_eq!(values.health(HealthKind::Initial).assets, collateral.mul_bps(state.ltv_bps as u64, solvent::math::Rounding::Down).unwrap());
    assert_eq!(h.obligation(&borrower.obligation).await.collateral_weights_bps[0], [state.ltv_bps, state.threshold_bps], "and records them");
    assert!(events > 0);
}

#[tokio::test]
async fn a_whale_needs_more_margin_than_a_small_account() {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let sized = DynamicMarginConfig {
        flags: DYNAMIC_SIZE,
        size_premium_bps: 1_000,
        max_size_premium_bps: 3_000,
        liquidity_depth_value: 100_000,
        ..Default::default()
    };
    h.must_send(&[set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &m.sol, sized)], &[&m.owner]).await;
    let mut per_dollar = Vec::new();
    for sol in [10u64, 2_000] {
        let user = h.new_user(&m.market, &m.sol, &m.usdc).await;
        h.mint_to(&m.sol.mint, &user.sol_account, sol * SOL).await;
        let ix = deposit_ix(&m.market, &m.sol, &user.obligation, &user.keypair.pubkey(), &user.sol_account, sol * SOL);
        h.must_send(&[ix], &[&user.keypair]).await;
        let current = h.obligation(&user.obligation).await;
        let ixs = h.refresh_all_ixs(&user.obligation, &current, &[&m.sol, &m.usdc]);
        h.must_send(&ixs, &[]).await;
        let state = h.obligation(&user.obligation).await;
        let value = state.deposits[0].market_value_wad.get();
        let premium = size_premium_bps(&sized, value);
        let expected = value.mul_bps(7_500 - premium as u64, solvent::math::Rounding::Down).unwrap();
        assert_eq!(state.values().health(HealthKind::Initial).assets, expected, "{sol} SOL: LTV 75% less {premium} bps");
        // The liquidation threshold is not touched by the premium.
        assert_eq!(state.values().health(HealthKind::Maintenance).assets, value.mul_bps(8_000, solvent::math::Rounding::Down).unwrap());
        // The client reports the same weights.
        let view = MarketView::load_with(&mut InProcessChain { harness: &mut h }, &m.market.market, &[m.sol.reserve, m.usdc.reserve]).await.unwrap();
        let reported = position(&view, &state).unwrap().collateral_weights[0];
        assert_eq!((reported.loan_to_value_bps, reported.liquidation_threshold_bps), (7_500 - premium, 8_000));
        assert_eq!(state.collateral_weights_bps[0], [7_500 - premium, 8_000], "the obligation records the weights it used");
        per_dollar.push((premium, expected.raw() as f64 / value.raw() as f64));
    }
    // $1,500 against $100,000 of depth: 1000 × √0.015 = 123 bps; $300,000: 1000 × √3 = 1,733.
    assert_eq!((per_dollar[0].0, per_dollar[1].0), (123, 1_733));
    assert!(per_dollar[1].1 < per_dollar[0].1 - 0.15);
}

/// refresh_reserve with the estimator sampling (issue: ≤ 5,000), with every part on, and
/// refresh_obligation at 8+8 with every dynamic part on every reserve (issue: ≤ 32,000), within
/// budget. Each refresh one second after the last (as a reserve refreshed every slot is).
#[tokio::test]
async fn dynamic_margin_compute_units_are_within_budget() {
    let mut h = Harness::start().await;
    let l = h.loaded_obligation(8, 8).await;
    let every_part = DynamicMarginConfig {
        flags: DYNAMIC_VOLATILITY | DYNAMIC_SIZE | DYNAMIC_CONCENTRATION,
        vol_sample_secs: 1,
        liquidity_depth_value: 1_000_000,
        size_premium_bps: 1_000,
        max_size_premium_bps: 3_000,
        concentration_limit_value: 500,
        ..volatility()
    };
    let estimator = DynamicMarginConfig { flags: DYNAMIC_VOLATILITY, vol_sample_secs: 1, ..volatility() };
    let owner = l.owner.insecure_clone();
    let reserves: Vec<TestReserve> = l.collateral.iter().chain(&l.debts).cloned().collect();
    for reserve in &reserves[1..] {
        h.must_send(&[set_dynamic_margin_ix(&l.market, &owner.pubkey(), reserve, every_part)], &[&owner]).await;
    }
    h.must_send(&[set_dynamic_margin_ix(&l.market, &owner.pubkey(), &reserves[0], estimator)], &[&owner]).await;
    let (mut estimator_units, mut every_part_units) = (0, 0);
    for round in 0..3 {
        let now = h.now().await;
        h.set_time(now + 1).await;
        for (i, reserve) in reserves.iter().enumerate() {
            h.set_price(&reserve.oracle, 1_000_000 + (round % 2) * 30_000, 0, -6).await;
            let units = h.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
            if round > 0 {
                if i == 0 { estimator_units = estimator_units.max(units) } else { every_part_units = every_part_units.max(units) }
            }
        }
    }
    let sampled = h.reserve(&reserves[0].reserve).await.dynamic;
    assert!(sampled.variance_rate() > Wad::ZERO, "sampled: {sampled:?}");
    let concentrated = h.reserve(&reserves[1].reserve).await.dynamic;
    assert!(concentrated.concentration_bps < 10_000, "concentrated: {concentrated:?}");
    let current = h.obligation(&l.obligation).await;
    let refresh = refresh_obligation_ix(&from_anchor(&current.lending_market), &l.obligation, &obligation_reserves(&current));
    let obligation_units = h.must_send(&[refresh], &[]).await;
    println!("dynamic margin: refresh_reserve sampling {estimator_units} CU, every part {every_part_units} CU; refresh_obligation 8+8 {obligation_units} CU");
    assert!(estimator_units <= 5_000 && obligation_units <= 32_000, "the issue's bounds");
    check_compute_budget(&[
        ("refresh_reserve, volatility estimator sampling".to_string(), estimator_units),
        ("refresh_reserve, every dynamic part on".to_string(), every_part_units),
        ("refresh_obligation 8+8, dynamic margin (every part on)".to_string(), obligation_units),
    ]);
}

/// A deposit above the concentration limit scales borrowing power at once (not only at the next
/// refresh_reserve), so a borrow after it in the same transaction sees the scale.
#[tokio::test]
async fn a_deposit_rescales_concentration_at_once() {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let limited = DynamicMarginConfig { flags: DYNAMIC_CONCENTRATION, concentration_limit_value: 15_000, ..Default::default() };
    h.must_send(&[set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &m.sol, limited)], &[&m.owner]).await;
    h.must_send(&[refresh_reserve_ix(&m.sol)], &[]).await;
    let before = h.reserve(&m.sol.reserve).await;
    assert_eq!(before.dynamic.ltv_bps, 7_500, "under the limit");
    let whale = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &whale.sol_account, 1_000 * SOL).await;
    // $150,000 deposited: ten times the limit, so a tenth of the LTV.
    let ix = deposit_ix(&m.market, &m.sol, &whale.obligation, &whale.keypair.pubkey(), &whale.sol_account, 1_000 * SOL);
    h.must_send(&[ix], &[&whale.keypair]).await;
    let after = h.reserve(&m.sol.reserve).await;
    assert!(after.dynamic.concentration_bps <= 1_000 && after.dynamic.ltv_bps <= 750, "{:?}", after.dynamic);
    assert_ne!(after.valuation_epoch, before.valuation_epoch, "obligations valued before it revalue");
    let limit = max_usdc(&mut h, &m, &whale.obligation).await;
    assert!(limit.amount <= 150_000 * 1_000_000 * 750 / 10_000, "{}", limit.amount);
}

/// A wild price the circuit breaker halts (spot 30% off the EMA, band 10%) is not sampled: the
/// estimate is unchanged, so one bad print cannot move the weights.
#[tokio::test]
async fn a_price_the_breaker_halts_is_not_sampled() {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let banded = solvent::state::ReserveConfig { price_band_bps: 1_000, ..sol_config() };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.sol, banded)], &[&m.owner]).await;
    h.must_send(&[set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &m.sol, volatility())], &[&m.owner]).await;
    for minute in 0..10 {
        minute_later(&mut h, &m, 60, if minute % 2 == 0 { SOL_PRICE + 1_500_000_000 } else { SOL_PRICE }).await;
    }
    let before = h.reserve(&m.sol.reserve).await;
    assert!(!before.is_price_halted() && before.dynamic.variance_rate() > Wad::ZERO);
    // Spot 30% above an EMA left at $150.
    let now = h.now().await;
    h.set_time(now + 60).await;
    h.set_account(&m.sol.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(19_500_000_000, 0, SOL_PRICE, 0, SOL_PRICE_EXPO, now + 60, PriceStatus::Trading));
    h.must_send(&[refresh_reserve_ix(&m.sol)], &[]).await;
    let after = h.reserve(&m.sol.reserve).await;
    assert!(after.is_price_halted(), "the breaker trips");
    assert_eq!(after.dynamic.variance_rate(), before.dynamic.variance_rate(), "not sampled");
    assert_eq!(after.dynamic.vol_sample_time, before.dynamic.vol_sample_time);
}
