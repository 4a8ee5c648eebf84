//! Compute benchmark on the built .so in solana-program-test 4.4: the whole user transactions
//! (each action with its refreshes, as the client builds it, at 1+1 and 8+8), then every
//! obligation-facing instruction and a flash loan at obligation sizes 1+1, 4+4 and 8+8 (deposits
//! + borrows, one reserve and one oracle per position), each alone in its own transaction with
//! fresh inputs. Writes docs/compute-units.md and the README's tables between their markers.
//! Compute units are deterministic up to a few dozen CU (early-exit comparisons of random
//! addresses); CI checks them against tests/compute-budget.txt, not here.
use pyth_sdk_solana::state::PriceStatus;
use solvent_tests::*;

const SIZES: [(usize, usize); 3] = [(1, 1), (4, 4), (8, 8)];

/// The tiers-in-use run: every reserve in e-mode group 1 (LTV 80%, threshold 82%: still
/// liquidatable at $0.85), the obligation in the group.
const GROUP: solvent::state::EmodeGroup =
    solvent::state::EmodeGroup { loan_to_value_bps: 8_000, liquidation_threshold_bps: 8_200, liquidation_bonus_bps: 200, max_liquidation_bonus_bps: 500 };

async fn new_slot_at_prices(h: &mut Harness, loaded: &LoadedObligation, collateral_price: i64) {
    let now = h.now().await;
    h.set_time(now + 1).await;
    for reserve in &loaded.collateral {
        h.set_price(&reserve.oracle, collateral_price, 0, -6).await;
    }
    for reserve in &loaded.debts {
        h.set_price(&reserve.oracle, 1_000_000, 0, -6).await;
    }
}

/// Which margin tier the measured obligation uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tier {
    Cross,
    /// In e-mode group 1 (`GROUP`), its debt counted against the group's cap.
    Emode,
    /// Its one collateral isolated (a $1,000,000 debt ceiling), the debts borrowable in isolation.
    Isolated,
    /// Every reserve with every dynamic-margin part on (`DYNAMIC_SETTINGS`), sampling at every
    /// refresh.
    Dynamic,
    /// Two orders on the obligation (stop-losses on its first and last pairs) and a soft zone on
    /// every collateral (from the borrowing limit).
    Deleverage,
}

/// The deleverage run's soft zone: from the borrowing limit, 10% of a debt per call, up to 1%.
const SOFT_ZONE: solvent::state::SoftZoneConfig =
    solvent::state::SoftZoneConfig { enabled: 1, padding: [0], start_bps: 0, max_repay_bps: 1_000, max_bonus_bps: 100, bonus_ramp_secs: 600, min_interval_secs: 1 };

/// Sets `SOFT_ZONE` on every collateral and two stop-losses (collateral below $0.95, 2% of the
/// debt per execution: the obligation stays in the zone for the soft call after it).
async fn deleverage(h: &mut Harness, l: &LoadedObligation) {
    let owner = l.owner.insecure_clone();
    for reserve in &l.collateral {
        h.must_send(&[set_soft_zone_ix(&l.market, &owner.pubkey(), reserve, SOFT_ZONE)], &[&owner]).await;
    }
    let borrower = l.borrower.insecure_clone();
    let stop = solvent::state::OrderParams {
        trigger: solvent::state::TRIGGER_PRICE_BELOW,
        threshold_wad: 95 * solvent::math::WAD / 100,
        max_repay_bps: 200,
        max_bonus_bps: 200,
        bonus_ramp_secs: 600,
    };
    let pairs = [(&l.debts[0], &l.collateral[0]), (&l.debts[l.debts.len() - 1], &l.collateral[l.collateral.len() - 1])];
    for (index, (debt, collateral)) in pairs.into_iter().enumerate() {
        let ix = set_obligation_order_ix(&l.obligation, &borrower.pubkey(), &debt.reserve, &collateral.reserve, index as u8, stop);
        h.must_send(&[ix], &[&borrower]).await;
    }
}

/// At $0.92 of collateral (in the soft zone, both orders triggered, healthy): the clocks started
/// by a refresh, five minutes on an order executed, two minutes on a soft call.
async fn measure_deleverage(h: &mut Harness, l: &LoadedObligation, rows: &mut Vec<(&'static str, Measurement)>) {
    let executor = Keypair::new();
    h.fund(&executor.pubkey(), 1_000_000_000).await;
    let source = h.create_token_account(&l.debts[0].mint, &executor.pubkey()).await;
    h.mint_to(&l.debts[0].mint, &source, 10_000 * ONE_TOKEN).await;
    let destination = h.create_token_account(&l.collateral[0].mint, &executor.pubkey()).await;
    new_slot_at_prices(h, l, 920_000).await;
    h.refresh_separately(&l.obligation, &l.collateral, &l.debts).await;
    for (name, wait) in [("execute_obligation_order", 300), ("soft_deleverage", 120)] {
        let now = h.now().await;
        h.set_time(now + wait - 1).await;
        new_slot_at_prices(h, l, 920_000).await;
        h.refresh_separately(&l.obligation, &l.collateral, &l.debts).await;
        let state = h.obligation(&l.obligation).await;
        let ix = if name == "soft_deleverage" {
            soft_deleverage_ix(&l.market, &l.obligation, &executor.pubkey(), &l.debts[0], &source, &l.collateral[0], &destination, u64::MAX, None)
        } else {
            execute_obligation_order_ix(&l.market, &l.obligation, &executor.pubkey(), &l.debts[0], &source, &l.collateral[0], &destination, 0, u64::MAX, None)
        };
        rows.push((name, h.measure(&[with_position_reserves(ix, &state)], &[&executor]).await));
    }
}

/// The dynamic-margin run's settings: volatility sampled every second (the most work per
/// refresh), a size premium and a concentration limit.
const DYNAMIC_SETTINGS: solvent::state::DynamicMarginConfig = solvent::state::DynamicMarginConfig {
    flags: solvent::state::DYNAMIC_VOLATILITY | solvent::state::DYNAMIC_SIZE | solvent::state::DYNAMIC_CONCENTRATION,
    padding: [0; 3],
    vol_sample_secs: 1,
    vol_half_life_secs: 3_600,
    vol_horizon_secs: 3_600,
    vol_z_bps: 23_300,
    max_threshold_drop_bps_per_hour: 100,
    threshold_hysteresis_bps: 50,
    size_premium_bps: 1_000,
    max_size_premium_bps: 3_000,
    padding2: [0; 4],
    liquidity_depth_value: 1_000_000,
    concentration_limit_value: 1_000_000,
};

async fn dynamic(h: &mut Harness, l: &LoadedObligation) {
    let owner = l.owner.insecure_clone();
    for reserve in l.collateral.iter().chain(&l.debts) {
        h.must_send(&[set_dynamic_margin_ix(&l.market, &owner.pubkey(), reserve, DYNAMIC_SETTINGS)], &[&owner]).await;
    }
    // A first refresh records the price; every later one takes a sample.
    new_slot_at_prices(h, l, 1_000_000).await;
    for reserve in l.collateral.iter().chain(&l.debts) {
        h.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
    }
}

/// Flags the obligation's collateral (one reserve) isolated and its debts borrowable in
/// isolation; the next refresh puts it in isolation, and its next borrow is counted.
async fn isolate(h: &mut Harness, l: &LoadedObligation) {
    use solvent::state::{RISK_FLAG_BORROWABLE_IN_ISOLATION, RISK_FLAG_ISOLATED_COLLATERAL};
    assert_eq!(l.collateral.len(), 1, "isolated collateral is held alone");
    let owner = l.owner.insecure_clone();
    let flag = |reserve: &TestReserve, config: solvent::state::ReserveConfig| update_config_ix(&l.market, &owner.pubkey(), reserve, config);
    let mut ixs = Vec::new();
    let collateral = h.reserve(&l.collateral[0].reserve).await.config;
    ixs.push(flag(&l.collateral[0], solvent::state::ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, isolation_debt_ceiling_value: 1_000_000, ..collateral }));
    for debt in &l.debts {
        let config = h.reserve(&debt.reserve).await.config;
        ixs.push(flag(debt, solvent::state::ReserveConfig { risk_flags: RISK_FLAG_BORROWABLE_IN_ISOLATION, ..config }));
    }
    for ix in ixs {
        h.must_send(&[ix], &[&owner]).await;
    }
}

async fn measure_size(deposits: usize, borrows: usize, tier: Tier) -> Vec<(&'static str, Measurement)> {
    let mut h = Harness::start().await;
    let l = h.loaded_obligation(deposits, borrows).await;
    match tier {
        Tier::Emode => h.put_in_emode(&l, GROUP).await,
        Tier::Isolated => isolate(&mut h, &l).await,
        Tier::Dynamic => dynamic(&mut h, &l).await,
        Tier::Deleverage => deleverage(&mut h, &l).await,
        Tier::Cross => {}
    }
    let emode = tier == Tier::Emode;
    let borrower = l.borrower.insecure_clone();
    let owner = borrower.pubkey();
    let mut rows = Vec::new();
    new_slot_at_prices(&mut h, &l, 1_000_000).await;

    rows.push(("refresh_reserve", h.measure(&[refresh_reserve_ix(&l.collateral[0])], &[]).await));
    for reserve in l.collateral.iter().skip(1).chain(&l.debts) {
        h.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
    }
    let current = h.obligation(&l.obligation).await;
    let refresh = refresh_obligation_ix(&from_anchor(&current.lending_market), &l.obligation, &obligation_reserves(&current));
    rows.push(("refresh_obligation", h.measure(std::slice::from_ref(&refresh), &[]).await));
    // The same with spot 1% above the EMA and a 0.1% confidence interval: every position is
    // valued twice (borrowing power and liquidation eligibility) instead of once.
    let now = h.now().await;
    h.set_time(now + 1).await;
    for reserve in l.collateral.iter().chain(&l.debts) {
        h.set_account(&reserve.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(1_000_000, 1_000, 990_000, 1_000, -6, now + 1, PriceStatus::Trading));
        h.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
    }
    rows.push(("refresh_obligation (spot 1% off the EMA, 0.1% confidence)", h.measure(std::slice::from_ref(&refresh), &[]).await));
    // Collateral at $0.80 (EMA $0.79): unhealthy at conservative prices, so every position is
    // valued a second time at the liquidation prices.
    let now = h.now().await;
    h.set_time(now + 1).await;
    for (reserve, (spot, ema)) in l.collateral.iter().map(|r| (r, (800_000, 790_000))).chain(l.debts.iter().map(|r| (r, (1_000_000, 990_000)))) {
        h.set_account(&reserve.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(spot, 1_000, ema, 1_000, -6, now + 1, PriceStatus::Trading));
        h.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
    }
    rows.push(("refresh_obligation (unhealthy, prices apart: valued twice)", h.measure(std::slice::from_ref(&refresh), &[]).await));
    if tier == Tier::Deleverage {
        measure_deleverage(&mut h, &l, &mut rows).await;
        return rows;
    }
    if tier == Tier::Dynamic {
        // The price moves above make the estimate large: what is measured is the refreshes.
        return rows;
    }
    new_slot_at_prices(&mut h, &l, 1_000_000).await;
    for reserve in l.collateral.iter().chain(&l.debts) {
        h.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
    }
    h.must_send(std::slice::from_ref(&refresh), &[]).await;

    let ix = deposit_ix(&l.market, &l.collateral[0], &l.obligation, &owner, &l.collateral_accounts[0], ONE_TOKEN);
    rows.push(("deposit", h.measure(&[ix], &[&borrower]).await));
    h.must_send(std::slice::from_ref(&refresh), &[]).await;
    let state = h.obligation(&l.obligation).await;
    let ix = with_position_reserves(borrow_ix(&l.market, &l.debts[0], &l.obligation, &owner, &l.debt_accounts[0], ONE_TOKEN), &state);
    rows.push(("borrow", h.measure(&[ix], &[&borrower]).await));
    let ix = with_position_reserves(withdraw_ix(&l.market, &l.collateral[0], &l.obligation, &owner, &l.collateral_accounts[0], ONE_TOKEN), &state);
    rows.push(("withdraw", h.measure(&[ix], &[&borrower]).await));
    let ix = with_position_reserves(repay_ix(&l.debts[0], &l.obligation, &owner, &l.debt_accounts[0], ONE_TOKEN), &state);
    rows.push(("repay", h.measure(&[ix], &[&borrower]).await));
    let loan = [
        flash_borrow_ix(&l.market, &l.debts[0], &l.debt_accounts[0], ONE_TOKEN),
        flash_repay_ix(&l.market, &l.debts[0], &l.debt_accounts[0], &owner, ONE_TOKEN),
    ];
    rows.push(("flash_borrow + flash_repay (one transaction)", h.measure(&loan, &[&borrower]).await));
    if emode {
        // Leaving the group (healthy under the assets' own 75% LTV) and entering it again.
        for (name, group) in [("set_obligation_emode (leave)", 0), ("set_obligation_emode (enter)", 1)] {
            h.must_send(std::slice::from_ref(&refresh), &[]).await;
            let state = h.obligation(&l.obligation).await;
            let ix = with_position_reserves(set_obligation_emode_ix(&l.market, &l.obligation, &owner, group), &state);
            rows.push((name, h.measure(&[ix], &[&borrower]).await));
        }
    }

    // Collateral at $0.85 makes the obligation liquidatable at every size.
    new_slot_at_prices(&mut h, &l, 850_000).await;
    h.refresh_separately(&l.obligation, &l.collateral, &l.debts).await;
    let liquidator = Keypair::new();
    h.fund(&liquidator.pubkey(), 1_000_000_000).await;
    let source = h.create_token_account(&l.debts[0].mint, &liquidator.pubkey()).await;
    h.mint_to(&l.debts[0].mint, &source, 10_000 * ONE_TOKEN).await;
    let destination = h.create_token_account(&l.collateral[0].mint, &liquidator.pubkey()).await;
    let state = h.obligation(&l.obligation).await;
    let ix = liquidate_ix(&l.market, &l.obligation, &liquidator.pubkey(), &l.debts[0], &source, &l.collateral[0], &destination, u64::MAX);
    let ix = with_position_reserves(ix, &state);
    rows.push(("liquidate", h.measure(&[ix], &[&liquidator]).await));
    rows
}

/// The insurance fund's instructions, which do not depend on the obligation's size: on the
/// standard market with 1,000 USDC borrowed, a USDC fund (40% of fees, a day's cooldown), a
/// month of interest, then a 67% SOL crash that leaves bad debt.
async fn measure_insurance() -> Vec<(String, Measurement)> {
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    let config = solvent::state::ReserveConfig { insurance_share_bps: 4_000, ..h.reserve(&m.usdc.reserve).await.config };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, config)], &[&m.owner]).await;
    h.must_send(&[init_insurance_fund_ix(&m.market, &m.owner.pubkey(), &m.usdc, 86_400, 10_000)], &[&m.owner]).await;
    let usdc = ReserveKeys::from_state(m.usdc.reserve, &h.reserve(&m.usdc.reserve).await);
    let staker = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &staker.usdc_account, 2_000_000_000).await;
    let key = staker.keypair.pubkey();
    h.must_send(&[stake_insurance_ix(&usdc, &key, &staker.usdc_account, 1_000_000_000)], &[&staker.keypair]).await;
    let mut rows = Vec::new();
    rows.push(("stake_insurance (stake account exists)", h.measure(&[stake_insurance_ix(&usdc, &key, &staker.usdc_account, 1_000_000)], &[&staker.keypair]).await));
    rows.push(("request_unstake", h.measure(&[request_unstake_ix(&usdc, &key, 1_000_000)], &[&staker.keypair]).await));
    let now = h.now().await;
    h.set_time(now + 30 * 86_400).await;
    rows.push(("collect_protocol_fees (40% to the insurance fund)", h.measure(&[collect_fees_ix(&m.market, &usdc)], &[]).await));
    // The first request lapsed with the month: request again and wait the cooldown.
    h.must_send(&[request_unstake_ix(&usdc, &key, 1_000_000)], &[&staker.keypair]).await;
    let now = h.now().await;
    h.set_time(now + 86_400 + 1).await;
    rows.push(("unstake", h.measure(&[unstake_ix(&m.market, &usdc, &key, &staker.usdc_account)], &[&staker.keypair]).await));
    h.set_price(&m.sol.oracle, 5_000_000_000, 0, -8).await;
    h.set_price(&m.usdc.oracle, 1_000_000, 0, -6).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 1_000_000_000).await;
    let b = &m.borrower;
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, u64::MAX);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    rows.push(("write_off_bad_debt (paid by the insurance fund)", h.measure(&[write_off_bad_debt_ix(&m.market, &usdc, &b.obligation)], &[]).await));
    rows.push(("settle_insurance", h.measure(&[settle_insurance_ix(&m.market, &usdc)], &[]).await));
    rows.into_iter().map(|(name, measured)| (name.to_string(), measured)).collect()
}

/// The crisis controls' instructions and the user instructions the outflow limit touches, with
/// it on (size-independent): the standard market with 1,000 USDC borrowed, USDC limited to 10%
/// of its deposits per hour, a guardian and a 2-day timelock.
async fn measure_crisis_controls() -> Vec<(String, Measurement)> {
    use solvent::state::{MarketPolicy, PendingChange, ACTION_FLASH_LOAN};
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    let owner = m.owner.pubkey();
    let mut config = h.reserve(&m.usdc.reserve).await.config;
    (config.outflow_limit_bps, config.outflow_window_secs) = (1_000, 3_600);
    h.must_send(&[update_config_ix(&m.market, &owner, &m.usdc, config)], &[&m.owner]).await;
    let guardian = Keypair::new();
    h.fund(&guardian.pubkey(), 1_000_000_000).await;
    let policy = MarketPolicy { timelock_secs: 2 * 86_400, ..MarketPolicy::RECOMMENDED };
    h.must_send(&[set_market_policy_ix(&m.market, &owner, MarketPolicy { timelock_secs: 0, ..policy })], &[&m.owner]).await;
    let change = PendingChange::Guardian { guardian: to_anchor(&guardian.pubkey()) };
    h.must_send(&[queue_change_ix(&m.market, &owner, 0, change, None), execute_change_ix(&m.market, &owner, 0, &owner, &change, None)], &[&m.owner]).await;
    h.must_send(&[set_market_policy_ix(&m.market, &owner, policy)], &[&m.owner]).await;
    let mut rows = Vec::new();
    let l = &m.lender;
    let withdraw = withdraw_ix(&m.market, &m.usdc, &l.obligation, &l.keypair.pubkey(), &l.usdc_account, 1_000_000_000);
    rows.push(("withdraw (outflow limit on)", h.measure(&[withdraw], &[&l.keypair]).await));
    h.mint_to(&m.usdc.mint, &l.usdc_account, 1_000_000).await;
    let deposit = deposit_ix(&m.market, &m.usdc, &l.obligation, &l.keypair.pubkey(), &l.usdc_account, 1_000_000);
    rows.push(("deposit (outflow limit on, netted)", h.measure(&[deposit], &[&l.keypair]).await));
    let b = &m.borrower;
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow).await;
    let all = h.measure(&ixs, &[&b.keypair]).await;
    rows.push(("borrow with its refreshes (outflow limit on, 1+1)", all));
    let pause = set_reserve_pause_ix(&m.market, &guardian.pubkey(), &m.sol, ACTION_FLASH_LOAN);
    rows.push(("set_reserve_pause (guardian)", h.measure(&[pause], &[&guardian]).await));
    let raised = solvent::state::ReserveConfig { loan_to_value_bps: config.loan_to_value_bps + 100, ..config };
    let change = PendingChange::ReserveConfig { config: raised };
    h.must_send(&[queue_change_ix(&m.market, &owner, 1, change, Some(&m.usdc))], &[&m.owner]).await;
    let now = h.now().await;
    h.set_time(now + 2 * 86_400).await;
    let stranger = Keypair::new();
    h.fund(&stranger.pubkey(), 1_000_000_000).await;
    let execute = execute_change_ix(&m.market, &stranger.pubkey(), 1, &owner, &change, Some(&m.usdc));
    rows.push(("execute_change (a reserve config, by anyone)", h.measure(&[execute], &[&stranger]).await));
    rows.into_iter().map(|(name, measured)| (name.to_string(), measured)).collect()
}

/// The whole-transaction rows before the compute issue's levers (commit 853b4a7, measured the
/// same way: `solvent_tests::user_transactions_*`), at 1+1 and 8+8, in `USER_TRANSACTIONS` order.
const BEFORE: [[u64; 8]; 2] = [
    [7_476, 18_502, 9_603, 24_438, 30_357, 10_850, 13_771, 17_855],
    [8_178, 114_068, 9_623, 117_224, 125_849, 13_665, 13_364, 126_328],
];

/// The table of whole transactions (each action with every refresh the program requires, as the
/// client crate builds it) against the cheapest peer's figure and the target.
async fn transactions_table() -> String {
    eprintln!("measuring whole user transactions at 1+1 and 8+8 ...");
    let small = user_transactions_1x1().await;
    let large = user_transactions_8x8().await;
    let mut table = String::from(
        "| transaction | before, 1+1 | now, 1+1: CU / accounts / bytes | cheapest peer | that peer | target (≤ a third) | before, 8+8 | now, 8+8: CU / accounts / bytes |\n|---|---:|---:|---:|---|---:|---:|---:|\n",
    );
    for (row, ((name, now), (_, big))) in small.iter().zip(&large).enumerate() {
        let (peer, who) = CHEAPEST_PEER[row];
        let met = if now.compute_units <= target(row) { "✓" } else { "✗" };
        table += &format!(
            "| {name} | {} | {} / {} / {} {met} | {peer} | {who} | {} | {} | {} / {} / {} |\n",
            BEFORE[0][row], now.compute_units, now.accounts, now.bytes, target(row), BEFORE[1][row], big.compute_units, big.accounts, big.bytes
        );
    }
    table
}

/// Replaces the text between `<!-- {marker}:start -->` and `<!-- {marker}:end -->` in `text`.
fn between_markers(text: &str, marker: &str, content: &str) -> Option<String> {
    let (start, end) = (format!("<!-- {marker}:start -->\n"), format!("<!-- {marker}:end -->"));
    let (i, j) = (text.find(&start)?, text.find(&end)?);
    Some(format!("{}{start}{content}{}", &text[..i], &text[j..]))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let transactions = transactions_table().await;
    let mut results = Vec::new();
    eprintln!("measuring the insurance fund's instructions (size-independent) ...");
    let insurance = measure_insurance().await;
    eprintln!("measuring the crisis controls (size-independent) ...");
    let crisis = measure_crisis_controls().await;
    for (deposits, borrows) in SIZES {
        eprintln!("measuring an obligation with {deposits} deposits and {borrows} borrows ...");
        let mut rows: Vec<(String, Measurement)> = measure_size(deposits, borrows, Tier::Cross).await.into_iter().map(|(n, m)| (n.to_string(), m)).collect();
        eprintln!("... and the same in an e-mode group");
        // The instructions whose cost tiers can change, in e-mode.
        let unaffected = ["refresh_reserve", "flash_borrow + flash_repay (one transaction)"];
        for (name, measured) in measure_size(deposits, borrows, Tier::Emode).await {
            if !unaffected.contains(&name) {
                let name = if name.starts_with("set_obligation_emode") { name.to_string() } else { format!("{name}, e-mode") };
                rows.push((name, measured));
            }
        }
        eprintln!("... and with dynamic margin");
        for (name, measured) in measure_size(deposits, borrows, Tier::Dynamic).await {
            if name.starts_with("refresh_") {
                rows.push((format!("{name}, dynamic margin (every part on)"), measured));
            }
        }
        eprintln!("... and with two orders and a soft zone");
        for (name, measured) in measure_size(deposits, borrows, Tier::Deleverage).await {
            let name = if name.starts_with("refresh_obligation") { format!("{name}, 2 orders + soft zone") } else { name.to_string() };
            if name != "refresh_reserve" {
                rows.push((name, measured));
            }
        }
        eprintln!("... and isolated: 1 collateral + {borrows} borrows");
        for (name, measured) in measure_size(1, borrows, Tier::Isolated).await {
            if !unaffected.contains(&name) && !name.starts_with("refresh_obligation (") {
                rows.push((format!("{name}, isolated (1 collateral + N debts)"), measured));
            }
        }
        rows.extend(insurance.iter().cloned());
        rows.extend(crisis.iter().cloned());
        results.push(rows);
    }
    let mut table = String::from("| instruction |");
    for (d, b) in SIZES {
        table += &format!(" {d}+{b} positions: CU / accounts / bytes |");
    }
    table += "\n|---|";
    table += &"---:|".repeat(SIZES.len());
    table += "\n";
    for (row, (name, _)) in results[0].iter().enumerate() {
        table += &format!("| {name} |");
        for size in &results {
            let m = size[row].1;
            table += &format!(" {} / {} / {} |", m.compute_units, m.accounts, m.bytes);
        }
        table += "\n";
    }
    println!("{transactions}\n{table}");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let doc = format!(
        "# Compute units\n\nWritten by `./scripts/bench.sh` (the built .so in solana-program-test 4.4, SPL Token = p-token).\n\n\
         ## Whole user transactions\n\nEach action with every refresh the program requires in the same transaction, as the client\n\
         crate builds it (`refresh_then`; compute-budget instruction excluded), in the market of the compute\n\
         issue (`tests/src/transactions.rs`). The peers' figures were measured by that issue in npm LiteSVM\n\
         1.5.0 with their own binaries; \"before\" is commit 853b4a7. At 8+8 the legacy transactions\n\
         exceed 1,232 bytes: they go with an address lookup table (`tests/tests/worst_case.rs`).\n\n{transactions}\n\
         ## By instruction and obligation size\n\nEach instruction alone in a legacy transaction with fresh inputs; obligations of N deposits + N\n\
         borrows, one reserve and one Pyth account per position. Accounts and bytes are the whole\n\
         transaction's, fee payer and signatures included.\n\n{table}"
    );
    std::fs::create_dir_all(format!("{root}/docs")).expect("docs dir");
    std::fs::write(format!("{root}/docs/compute-units.md"), doc).expect("write docs/compute-units.md");
    let readme_path = format!("{root}/README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README");
    let updated = between_markers(&readme, "bench", &table).and_then(|text| between_markers(&text, "bench-transactions", &transactions));
    if let Some(updated) = updated {
        std::fs::write(&readme_path, updated).expect("write README");
        eprintln!("wrote docs/compute-units.md and the README's tables");
    }
}
