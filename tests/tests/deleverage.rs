//! Predictive deleveraging on the built .so: the owner's stop-loss / take-profit orders and the
//! soft-liquidation zone, executed by a third party through the liquidation's own checks.
use solvent::errors::LendingError;
use solvent::math::{Wad, WAD};
use solvent::state::{
    Obligation, OrderParams, SoftZoneConfig, TRIGGER_HEALTH_BELOW, TRIGGER_PRICE_ABOVE, TRIGGER_PRICE_BELOW, TRIGGER_RATIO_ABOVE,
};
use solvent_tests::*;

const DEBT: u64 = 800_000_000; // 800 USDC against 10 SOL at $150

/// A stop-loss: SOL below $130, half the debt per execution, up to 3% over ten minutes.
fn stop_loss() -> OrderParams {
    OrderParams { trigger: TRIGGER_PRICE_BELOW, threshold_wad: 130 * WAD, max_repay_bps: 5_000, max_bonus_bps: 300, bonus_ramp_secs: 600 }
}

fn zone() -> SoftZoneConfig {
    SoftZoneConfig { enabled: 1, padding: [0], start_bps: 5_000, max_repay_bps: 1_000, max_bonus_bps: 100, bonus_ramp_secs: 600, min_interval_secs: 60 }
}

struct Setup {
    h: Harness,
    m: StandardMarket,
    executor: TestUser,
}

async fn setup() -> Setup {
    let (mut h, m) = Harness::market_with_usdc_debt(DEBT).await;
    let executor = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &executor.usdc_account, 10_000_000_000).await;
    Setup { h, m, executor }
}

impl Setup {
    fn set_order_ix(&self, signer: &Pubkey, index: u8, params: OrderParams) -> Instruction {
        set_obligation_order_ix(&self.m.borrower.obligation, signer, &self.m.usdc.reserve, &self.m.sol.reserve, index, params)
    }

    fn execute_ix(&self, index: u8, amount: u64) -> Instruction {
        let (m, e) = (&self.m, &self.executor);
        execute_obligation_order_ix(&m.market, &m.borrower.obligation, &e.keypair.pubkey(), &m.usdc, &e.usdc_account, &m.sol, &e.sol_account, index, amount, None)
    }

    fn soft_ix(&self, amount: u64) -> Instruction {
        let (m, e) = (&self.m, &self.executor);
        soft_deleverage_ix(&m.market, &m.borrower.obligation, &e.keypair.pubkey(), &m.usdc, &e.usdc_account, &m.sol, &e.sol_account, amount, None)
    }

    async fn with_refresh(&mut self, ix: Instruction) -> Vec<Instruction> {
        let (sol, usdc) = (self.m.sol.clone(), self.m.usdc.clone());
        self.h.with_refresh(&self.m.borrower.obligation, &[&sol, &usdc], ix).await
    }

    /// Refreshes the reserves and the obligation alone: starts an order's or the zone's clock.
    async fn refresh(&mut self) {
        let (sol, usdc) = (self.m.sol.clone(), self.m.usdc.clone());
        self.h.refresh_separately(&self.m.borrower.obligation, &[sol], &[usdc]).await;
    }

    async fn obligation(&mut self) -> Obligation {
        self.h.obligation(&self.m.borrower.obligation).await
    }

    /// Accounts a refused deleverage must leave as they were.
    fn watched(&self) -> Vec<Pubkey> {
        let (m, e) = (&self.m, &self.executor);
        vec![m.borrower.obligation, m.sol.reserve, m.usdc.reserve, m.sol.vault, m.usdc.vault, e.sol_account, e.usdc_account]
    }

    /// Moves time on and publishes SOL at `price` dollars (USDC at $1) at the new time.
    async fn at(&mut self, time: i64, sol_dollars: i64) {
        self.h.set_time(time).await;
        self.h.set_price(&self.m.sol.oracle, sol_dollars * 100_000_000, 0, SOL_PRICE_EXPO).await;
        self.h.set_price(&self.m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    }

    /// The program's own quote of `mode` now (the client's `quote_deleverage` on this slot).
    async fn quote(&mut self, mode: Deleverage) -> solvent::state::LiquidationQuote {
        let keys = [self.m.sol.reserve, self.m.usdc.reserve];
        let view = MarketView::load_with(&mut InProcessChain { harness: &mut self.h }, &self.m.market.market, &keys).await.unwrap();
        let obligation = self.h.obligation(&self.m.borrower.obligation).await;
        quote_deleverage(&view, &obligation, &self.m.usdc.reserve, &self.m.sol.reserve, u64::MAX, false, mode).unwrap()
    }

    /// Executes `ix` after a refresh; returns the USDC the executor paid and the SOL it got,
    /// and checks the obligation's health factor did not fall.
    async fn execute(&mut self, ix: Instruction) -> (u64, u64) {
        let (usdc_before, sol_before) = (self.h.token_balance(&self.executor.usdc_account).await, self.h.token_balance(&self.executor.sol_account).await);
        self.refresh().await;
        let health_before = conservative_health(&self.obligation().await);
        let ixs = self.with_refresh(ix).await;
        let signer = self.executor.keypair.insecure_clone();
        self.h.must_send(&ixs, &[&signer]).await;
        self.refresh().await;
        let health_after = conservative_health(&self.obligation().await);
        assert!(health_after >= health_before, "health fell: {health_before:?} -> {health_after:?}");
        let paid = usdc_before - self.h.token_balance(&self.executor.usdc_account).await;
        (paid, self.h.token_balance(&self.executor.sol_account).await - sol_before)
    }
}

/// The health factor at the conservative prices (threshold-weighted collateral over weighted
/// debt, `state::margin_band`): one set of prices before and after, whether or not a refresh
/// revalued the obligation at the liquidation prices.
fn conservative_health(obligation: &Obligation) -> Wad {
    let (_, threshold, debt) = solvent::state::margin_band(&obligation.values());
    threshold.checked_div(debt, solvent::math::Rounding::Down).unwrap()
}

/// SOL paid for `repay` USDC at `bonus_bps`, SOL priced at `sol_dollars`, as the program sizes
/// it with one collateral position of `shares` SOL shares at a share price of 1: the seizure's
/// value `repay × (1 + bonus)` rounded down, then that share of the position, rounded down.
fn seized_sol(repay: u64, bonus_bps: u64, sol_dollars: u128, shares: u64) -> u64 {
    let repay_value = repay as u128 * WAD / 1_000_000;
    let seize_value = repay_value * (10_000 + bonus_bps as u128) / 10_000;
    let position_value = shares as u128 * sol_dollars * WAD / 1_000_000_000;
    (shares as u128 * seize_value / position_value) as u64
}

#[tokio::test]
async fn an_order_waits_for_its_trigger_and_pays_its_auction_bonus() {
    let mut s = setup().await;
    let owner = s.m.borrower.keypair.insecure_clone();
    let stranger = s.executor.keypair.insecure_clone();
    let obligation = s.m.borrower.obligation;

    // Refusals, each leaving the obligation as it was.
    let ix = s.set_order_ix(&stranger.pubkey(), 0, stop_loss());
    assert_rejected(&mut s.h, &[ix], &[&stranger], LendingError::InvalidObligationOwner, &[obligation]).await;
    let ix = s.set_order_ix(&owner.pubkey(), 0, OrderParams { max_bonus_bps: 500, ..stop_loss() });
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::OrderBonusTooHigh, &[obligation]).await;
    for bad in [OrderParams { trigger: 9, ..stop_loss() }, OrderParams { max_repay_bps: 0, ..stop_loss() }, OrderParams { bonus_ramp_secs: 0, ..stop_loss() }] {
        let ix = s.set_order_ix(&owner.pubkey(), 0, bad);
        assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::InvalidObligationOrder, &[obligation]).await;
    }
    let ix = s.set_order_ix(&owner.pubkey(), 2, stop_loss());
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::InvalidObligationOrder, &[obligation]).await;
    // The debt must be one the obligation owes.
    let ix = set_obligation_order_ix(&obligation, &owner.pubkey(), &s.m.sol.reserve, &s.m.sol.reserve, 0, stop_loss());
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::BorrowNotFound, &[obligation]).await;

    let ix = s.set_order_ix(&owner.pubkey(), 0, stop_loss());
    let outcome = s.h.send(&[ix], &[&owner]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::ObligationOrderSet>(), "{:?}", outcome.logs);
    let order = s.obligation().await.orders[0];
    assert_eq!((order.trigger, order.threshold_wad.get(), order.triggered_since), (TRIGGER_PRICE_BELOW, Wad(130 * WAD), 0));

    // At $150 the trigger does not hold.
    let ixs = s.with_refresh(s.execute_ix(0, u64::MAX)).await;
    let watched = s.watched();
    assert_rejected(&mut s.h, &ixs, &[&stranger], LendingError::OrderNotTriggered, &watched).await;

    // SOL at $125: a refresh starts the auction clock; five minutes on, the bonus is half of 3%.
    let start = s.h.now().await + 10;
    s.at(start, 125).await;
    s.refresh().await;
    assert_eq!(s.obligation().await.orders[0].triggered_since, start);
    // The owner cannot execute their own order.
    let ix = execute_obligation_order_ix(&s.m.market, &obligation, &owner.pubkey(), &s.m.usdc, &s.m.borrower.usdc_account, &s.m.sol, &s.m.borrower.sol_account, 0, 1, None);
    let ixs = s.with_refresh(ix).await;
    assert_rejected(&mut s.h, &ixs, &[&owner], LendingError::SelfLiquidation, &watched).await;
    // Not the order's reserves: its collateral is SOL.
    let e = &s.executor;
    let ix = execute_obligation_order_ix(&s.m.market, &obligation, &e.keypair.pubkey(), &s.m.usdc, &e.usdc_account, &s.m.usdc, &e.usdc_account, 0, 1, None);
    let ixs = s.with_refresh(ix).await;
    assert_rejected(&mut s.h, &ixs, &[&stranger], LendingError::DepositNotFound, &watched).await;

    s.at(start + 300, 125).await;
    let quote = s.quote(Deleverage::Order(0)).await;
    assert_eq!((quote.auction_bonus_bps, quote.bonus_bps), (150, 150));
    s.refresh().await;
    let before = s.obligation().await;
    let (paid, received) = s.execute(s.execute_ix(0, u64::MAX)).await;
    assert_eq!(paid, quote.plan.repay_amount);
    assert_eq!(received, quote.payout.tokens);
    // Independently: half the accrued debt (rounded down), SOL for it at $125 plus 1.5%.
    let repay = before.borrows[0].borrowed_amount().mul_bps(5_000, solvent::math::Rounding::Down).unwrap().to_u64(solvent::math::Rounding::Down).unwrap();
    assert!(repay > DEBT / 2, "interest accrued");
    assert_eq!(paid, repay, "half of the accrued debt");
    assert_eq!(received, seized_sol(repay, 150, 125, before.deposits[0].deposited_shares));
    // The owner's position: the rest of the debt, the rest of the collateral, the order kept
    // with its auction restarted at the execution.
    let after = s.obligation().await;
    assert_eq!(after.deposits[0].deposited_shares, before.deposits[0].deposited_shares - received);
    assert!(after.borrows[0].borrowed_amount() < before.borrows[0].borrowed_amount());
    assert_eq!(after.orders[0].trigger, TRIGGER_PRICE_BELOW);
    assert_eq!(after.orders[0].triggered_since, start + 300);

    // Cancel: only the owner, only an order that exists.
    let ix = cancel_obligation_order_ix(&obligation, &stranger.pubkey(), 0);
    assert_rejected(&mut s.h, &[ix], &[&stranger], LendingError::InvalidObligationOwner, &[obligation]).await;
    let outcome = s.h.send(&[cancel_obligation_order_ix(&obligation, &owner.pubkey(), 0)], &[&owner]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::ObligationOrderCancelled>());
    assert!(!s.obligation().await.orders[0].is_active());
    let ix = cancel_obligation_order_ix(&obligation, &owner.pubkey(), 0);
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::OrderNotFound, &[obligation]).await;
    let ixs = s.with_refresh(s.execute_ix(0, u64::MAX)).await;
    assert_rejected(&mut s.h, &ixs, &[&stranger], LendingError::OrderNotFound, &watched).await;
}

#[tokio::test]
async fn take_profit_health_and_ratio_triggers_fire_where_set() {
    let mut s = setup().await;
    let owner = s.m.borrower.keypair.insecure_clone();
    // Take profit above $160 in slot 0; health below 1.4 in slot 1 (HF at $150: 1,200 / 800 = 1.5).
    let take_profit = OrderParams { trigger: TRIGGER_PRICE_ABOVE, threshold_wad: 160 * WAD, ..stop_loss() };
    let health = OrderParams { trigger: TRIGGER_HEALTH_BELOW, threshold_wad: 14 * WAD / 10, max_bonus_bps: 0, ..stop_loss() };
    s.h.must_send(&[s.set_order_ix(&owner.pubkey(), 0, take_profit), s.set_order_ix(&owner.pubkey(), 1, health)], &[&owner]).await;
    let now = s.h.now().await;
    s.at(now + 5, 150).await;
    s.refresh().await;
    let o = s.obligation().await;
    assert_eq!((o.orders[0].triggered_since, o.orders[1].triggered_since), (0, 0));
    // $161: take profit; HF 1.61.
    s.at(now + 10, 161).await;
    s.refresh().await;
    let o = s.obligation().await;
    assert_eq!((o.orders[0].triggered_since, o.orders[1].triggered_since), (now + 10, 0));
    // $139: HF 1,112 / 800 = 1.39 < 1.4; the take-profit clock stops.
    s.at(now + 20, 139).await;
    s.refresh().await;
    let o = s.obligation().await;
    assert_eq!((o.orders[0].triggered_since, o.orders[1].triggered_since), (0, now + 20));
    // A zero-bonus order executes at once, with nothing for the executor beyond the repayment's
    // worth (the executor's profit is the service's price the owner chose).
    let quote = s.quote(Deleverage::Order(1)).await;
    assert_eq!(quote.bonus_bps, 0);
    let (paid, received) = s.execute(s.execute_ix(1, u64::MAX)).await;
    assert_eq!(received, seized_sol(paid, 0, 139, s.obligation().await.deposits[0].deposited_shares + received));
    // A ratio trigger: USDC / SOL above 1/120 fires below $120.
    let ratio = OrderParams { trigger: TRIGGER_RATIO_ABOVE, threshold_wad: WAD / 120, ..stop_loss() };
    s.h.must_send(&[s.set_order_ix(&owner.pubkey(), 0, ratio)], &[&owner]).await;
    s.at(now + 30, 121).await;
    s.refresh().await;
    assert_eq!(s.obligation().await.orders[0].triggered_since, 0);
    s.at(now + 40, 119).await;
    s.refresh().await;
    assert_eq!(s.obligation().await.orders[0].triggered_since, now + 40);
}

#[tokio::test]
async fn the_soft_zone_trims_a_position_in_small_steps() {
    let mut s = setup().await;
    let owner_key = s.m.owner.pubkey();
    let market_owner = s.m.owner.insecure_clone();
    let stranger = s.executor.keypair.insecure_clone();
    let sol_reserve = s.m.sol.reserve;
    let watched = s.watched();

    // Off by default: no soft call.
    let at = s.h.now().await + 5;
    s.at(at, 102).await;
    let ixs = s.with_refresh(s.soft_ix(u64::MAX)).await;
    assert_rejected(&mut s.h, &ixs, &[&stranger], LendingError::SoftZoneDisabled, &watched).await;
    // Only the owner sets it; every bound is checked.
    let ix = set_soft_zone_ix(&s.m.market, &stranger.pubkey(), &s.m.sol, zone());
    assert_rejected(&mut s.h, &[ix], &[&stranger], LendingError::InvalidMarketOwner, &[sol_reserve]).await;
    for bad in [
        SoftZoneConfig { max_repay_bps: 5_000, ..zone() },
        SoftZoneConfig { max_bonus_bps: 500, ..zone() },
        SoftZoneConfig { start_bps: 10_000, ..zone() },
        SoftZoneConfig { min_interval_secs: 0, ..zone() },
    ] {
        let ix = set_soft_zone_ix(&s.m.market, &owner_key, &s.m.sol, bad);
        assert_rejected(&mut s.h, &[ix], &[&market_owner], LendingError::InvalidSoftZone, &[sol_reserve]).await;
    }
    let outcome = s.h.send(&[set_soft_zone_ix(&s.m.market, &owner_key, &s.m.sol, zone())], &[&market_owner]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::SoftZoneSet>());
    // The reserve's liquidation bonus cannot drop below the zone's bonus afterwards.
    let current = s.h.reserve(&sol_reserve).await.config;
    let lower = solvent::state::ReserveConfig { liquidation_bonus_bps: 100, max_liquidation_bonus_bps: 0, ..current };
    let ix = update_config_ix(&s.m.market, &owner_key, &s.m.sol, lower);
    assert_rejected(&mut s.h, &[ix], &[&market_owner], LendingError::InvalidSoftZone, &[sol_reserve]).await;

    // At $110: borrowing limit $825, threshold $880, the zone (from halfway) at $852.50; $800 owed.
    s.at(at + 10, 110).await;
    let ixs = s.with_refresh(s.soft_ix(u64::MAX)).await;
    assert_rejected(&mut s.h, &ixs, &[&stranger], LendingError::NotInSoftZone, &watched).await;
    // At $102: limit $765, threshold $816, the zone from $790.50: in it, healthy.
    let enter = at + 20;
    s.at(enter, 102).await;
    s.refresh().await;
    assert_eq!(s.obligation().await.soft_zone_since, enter);
    // Five minutes in: half of the 1% bonus; at most 10% of the debt.
    s.at(enter + 300, 102).await;
    let quote = s.quote(Deleverage::Soft).await;
    assert_eq!(quote.bonus_bps, 50);
    s.refresh().await;
    let before = s.obligation().await;
    let debt = before.borrows[0].borrowed_amount();
    let (paid, received) = s.execute(s.soft_ix(u64::MAX)).await;
    assert_eq!((paid, received), (quote.plan.repay_amount, quote.payout.tokens));
    let tenth = debt.mul_bps(1_000, solvent::math::Rounding::Down).unwrap().to_u64(solvent::math::Rounding::Down).unwrap();
    assert_eq!(paid, tenth, "a tenth of the accrued debt");
    assert!(paid > DEBT / 10);
    assert_eq!(received, seized_sol(paid, 50, 102, before.deposits[0].deposited_shares));
    // One call took it out of the zone ($720 owed, the zone now from about $728): its clock stopped.
    let after = s.obligation().await;
    assert_eq!((after.last_soft_deleverage, after.soft_zone_since), (enter + 300, 0));

    // SOL at $99 brings it back in. Within the interval: refused.
    s.at(enter + 330, 99).await;
    let ixs = s.with_refresh(s.soft_ix(u64::MAX)).await;
    assert_rejected(&mut s.h, &ixs, &[&stranger], LendingError::SoftDeleverageTooSoon, &watched).await;
    // After it, the ramp runs from the new entry: 60 s of 600 = 0.1%.
    s.at(enter + 360, 99).await;
    s.refresh().await;
    assert_eq!(s.obligation().await.soft_zone_since, enter + 360);
    s.at(enter + 420, 99).await;
    assert_eq!(s.quote(Deleverage::Soft).await.bonus_bps, 10);
    s.execute(s.soft_ix(u64::MAX)).await;

    // Past the threshold it is a liquidation's, not the zone's.
    s.at(enter + 500, 90).await;
    let ixs = s.with_refresh(s.soft_ix(u64::MAX)).await;
    assert_rejected(&mut s.h, &ixs, &[&stranger], LendingError::ObligationUnhealthy, &watched).await;
}

/// Seeded random cases (`DELEVERAGE_CASES`, default 40) on the .so: borrowers at random
/// leverage with a random order (any trigger, share, bonus, ramp), SOL's soft zone at random
/// settings, a random price and wait, then an order execution and a soft call of random size.
/// Every accepted call: the health factor (as the next refresh values it) did not fall, the
/// bonus is at most the order's or the zone's maximum and below the liquidation bonus, and
/// tokens are conserved (what the executor paid is what the debt reserve's vault gained and the
/// debt lost; what it received is what the collateral vault lost and the position's shares).
/// Every refused call: one of the documented refusals, and no account changed.
#[tokio::test]
async fn random_orders_and_soft_calls_never_lower_health_or_overpay() {
    use solvent::math::Rounding;
    use solvent::state::TRIGGER_RATIO_BELOW;
    let cases: usize = std::env::var("DELEVERAGE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let mut s = setup().await;
    let mut rng = Rng(0x0D1E_5EED_0017);
    let market_owner = s.m.owner.insecure_clone();
    let executor = s.executor.keypair.insecure_clone();
    s.h.mint_to(&s.m.usdc.mint, &s.executor.usdc_account, 1_000_000_000_000).await;
    let (mut accepted, mut refused) = (0usize, std::collections::BTreeMap::<String, usize>::new());
    for case in 0..cases {
        let zone = SoftZoneConfig {
            enabled: 1,
            padding: [0],
            start_bps: rng.range(0, 9_000) as u16,
            max_repay_bps: rng.range(1, 2_500) as u16,
            max_bonus_bps: rng.range(0, 200) as u16,
            bonus_ramp_secs: rng.range(1, 3_600) as u32,
            min_interval_secs: rng.range(1, 600) as u32,
        };
        let now = s.h.now().await;
        s.at(now + 1, 150).await;
        s.h.must_send(&[set_soft_zone_ix(&s.m.market, &market_owner.pubkey(), &s.m.sol, zone)], &[&market_owner]).await;
        // A borrower at 60–100% of its borrowing power.
        let user = s.h.new_user(&s.m.market, &s.m.sol, &s.m.usdc).await;
        let sol = rng.range(100_000_000, 100_000_000_000);
        s.h.mint_to(&s.m.sol.mint, &user.sol_account, sol).await;
        s.h.must_send(&[deposit_ix(&s.m.market, &s.m.sol, &user.obligation, &user.keypair.pubkey(), &user.sol_account, sol)], &[&user.keypair]).await;
        let keys = [s.m.sol.reserve, s.m.usdc.reserve];
        let view = MarketView::load_with(&mut InProcessChain { harness: &mut s.h }, &s.m.market.market, &keys).await.unwrap();
        let limit = max_borrow(&view, &s.h.obligation(&user.obligation).await, &s.m.usdc.reserve).unwrap().amount;
        let borrow = (limit as f64 * rng.between(0.6, 1.0)) as u64;
        let ix = borrow_ix(&s.m.market, &s.m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, borrow.max(1));
        let ixs = s.h.with_refresh(&user.obligation, &[&s.m.sol, &s.m.usdc], ix).await;
        s.h.must_send(&ixs, &[&user.keypair]).await;
        let trigger = rng.range(TRIGGER_HEALTH_BELOW as u64, TRIGGER_RATIO_BELOW as u64) as u8;
        let threshold_wad = match trigger {
            TRIGGER_HEALTH_BELOW => WAD + rng.range(1, WAD as u64 / 2) as u128,
            TRIGGER_PRICE_BELOW | TRIGGER_PRICE_ABOVE => rng.range(100, 160) as u128 * WAD,
            _ => WAD / rng.range(100, 160) as u128,
        };
        let params = OrderParams {
            trigger,
            threshold_wad,
            max_repay_bps: rng.range(1, 10_000) as u16,
            max_bonus_bps: rng.range(0, 499) as u16,
            bonus_ramp_secs: rng.range(1, 3_600) as u32,
        };
        let ix = set_obligation_order_ix(&user.obligation, &user.keypair.pubkey(), &s.m.usdc.reserve, &s.m.sol.reserve, 0, params);
        s.h.must_send(&[ix], &[&user.keypair]).await;
        // A price move, a refresh that may start the clocks, and a wait.
        let price = rng.range(95, 160) as i64;
        let now = s.h.now().await;
        s.at(now + 1, price).await;
        s.h.refresh_separately(&user.obligation, std::slice::from_ref(&s.m.sol), std::slice::from_ref(&s.m.usdc)).await;
        let now = s.h.now().await;
        s.at(now + rng.range(0, 1_200) as i64, price).await;
        for kind in [Deleverage::Order(0), Deleverage::Soft] {
            let e = &s.executor;
            let amount = if rng.chance(0.5) { u64::MAX } else { rng.range(1, borrow.max(2)) };
            let ix = match kind {
                Deleverage::Soft => soft_deleverage_ix(&s.m.market, &user.obligation, &executor.pubkey(), &s.m.usdc, &e.usdc_account, &s.m.sol, &e.sol_account, amount, None),
                _ => execute_obligation_order_ix(&s.m.market, &user.obligation, &executor.pubkey(), &s.m.usdc, &e.usdc_account, &s.m.sol, &e.sol_account, 0, amount, None),
            };
            let ixs = s.h.with_refresh(&user.obligation, &[&s.m.sol, &s.m.usdc], ix).await;
            s.h.refresh_separately(&user.obligation, std::slice::from_ref(&s.m.sol), std::slice::from_ref(&s.m.usdc)).await;
            let before = s.h.obligation(&user.obligation).await;
            let view = MarketView::load_with(&mut InProcessChain { harness: &mut s.h }, &s.m.market.market, &keys).await.unwrap();
            let quote = quote_deleverage(&view, &before, &s.m.usdc.reserve, &s.m.sol.reserve, amount, false, kind);
            let watched = [user.obligation, s.m.sol.vault, s.m.usdc.vault, e.sol_account, e.usdc_account];
            let snapshot = s.h.snapshot(&watched).await;
            let tracked = [s.m.usdc.vault, s.m.sol.vault, s.executor.usdc_account, s.executor.sol_account];
            let tokens_before = balances(&mut s.h, &tracked).await;
            let outcome = s.h.send(&ixs, &[&executor]).await;
            match (outcome.lending_error(), &quote) {
                (None, Ok(quote)) => {
                    accepted += 1;
                    let tokens_after = balances(&mut s.h, &tracked).await;
                    let paid = tokens_before[2] - tokens_after[2];
                    let received = tokens_after[3] - tokens_before[3];
                    assert_eq!((paid, received), (quote.plan.repay_amount, quote.payout.tokens), "case {case}: the quote is what ran");
                    assert_eq!(tokens_after[0] - tokens_before[0], paid, "case {case}: the USDC vault gained what was paid");
                    assert_eq!(tokens_before[1] - tokens_after[1], received, "case {case}: the SOL vault paid what was received");
                    let after = s.h.obligation(&user.obligation).await;
                    let debt_gone = before.borrows[0].borrowed_amount().checked_sub(after.borrows[0].borrowed_amount()).unwrap();
                    assert_eq!(debt_gone, quote.plan.settled_debt, "case {case}: the debt fell by what was settled");
                    let shares_left = if after.deposit_count() == 0 { 0 } else { after.deposits[0].deposited_shares };
                    assert_eq!(before.deposits[0].deposited_shares - shares_left, quote.plan.seized_shares, "case {case}");
                    let (max, cap) = match kind {
                        Deleverage::Soft => (zone.max_bonus_bps as u64, zone.max_repay_bps),
                        _ => (params.max_bonus_bps as u64, params.max_repay_bps),
                    };
                    assert!(quote.bonus_bps <= max && quote.bonus_bps < 500, "case {case}: bonus {} over {max}", quote.bonus_bps);
                    let share = before.borrows[0].borrowed_amount().mul_bps(cap as u64, Rounding::Up).unwrap().to_u64(Rounding::Up).unwrap();
                    assert!(paid <= share, "case {case}: {paid} over the {cap} bps share {share}");
                    s.h.refresh_separately(&user.obligation, std::slice::from_ref(&s.m.sol), std::slice::from_ref(&s.m.usdc)).await;
                    let refreshed = s.h.obligation(&user.obligation).await;
                    // The refreshed health factor against the one before (the check rounds
                    // against passing: stricter than exact).
                    assert!(refreshed.values().health_not_below(&before.values()), "case {case}: health fell");
                }
                (Some(error), Err(expected)) => {
                    assert_eq!(error, *expected, "case {case}: the client's quote names the program's refusal");
                    assert!(
                        [
                            LendingError::OrderNotTriggered,
                            LendingError::NotInSoftZone,
                            LendingError::SoftDeleverageTooSoon,
                            LendingError::ObligationUnhealthy,
                            LendingError::ObligationInsolvent,
                            LendingError::LiquidationTooSmall,
                            LendingError::OrderNotFound,
                            LendingError::BorrowNotFound,
                        ]
                        .contains(&error),
                        "case {case}: unexpected refusal {error:?}"
                    );
                    assert!(s.h.snapshot(&watched).await == snapshot, "case {case}: a refused call changed state");
                    *refused.entry(format!("{error:?}")).or_default() += 1;
                }
                (got, expected) => panic!("case {case}: program {got:?} vs quote {expected:?}\n{}", outcome.logs.join("\n")),
            }
        }
    }
    println!("{accepted} executions accepted; refusals: {refused:?}");
    assert!(accepted >= cases / 4, "enough executions ran: {accepted}");
}

async fn balances(h: &mut Harness, accounts: &[Pubkey; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (i, account) in accounts.iter().enumerate() {
        out[i] = h.token_balance(account).await;
    }
    out
}

/// The compute units of the deleveraging paths at the largest obligation (8 deposits + 8 debts),
/// against the committed budget: refresh_obligation with two orders and a soft zone on every
/// collateral, an order execution and a soft call (each alone, after a refresh in the slot).
#[tokio::test]
async fn deleverage_compute_units_are_within_budget() {
    let mut h = Harness::start().await;
    let l = h.loaded_obligation(8, 8).await;
    let owner = l.owner.insecure_clone();
    let soft = SoftZoneConfig { start_bps: 0, min_interval_secs: 1, ..zone() };
    for reserve in &l.collateral {
        h.must_send(&[set_soft_zone_ix(&l.market, &owner.pubkey(), reserve, soft)], &[&owner]).await;
    }
    let borrower = l.borrower.insecure_clone();
    // Stop-losses below $0.95 on the first and the last pair, 2% of the debt per execution.
    let stop = OrderParams { threshold_wad: 95 * WAD / 100, max_repay_bps: 200, max_bonus_bps: 200, ..stop_loss() };
    for (index, (debt, collateral)) in [(&l.debts[0], &l.collateral[0]), (&l.debts[7], &l.collateral[7])].into_iter().enumerate() {
        let ix = set_obligation_order_ix(&l.obligation, &borrower.pubkey(), &debt.reserve, &collateral.reserve, index as u8, stop);
        h.must_send(&[ix], &[&borrower]).await;
    }
    let executor = Keypair::new();
    h.fund(&executor.pubkey(), 1_000_000_000).await;
    let source = h.create_token_account(&l.debts[0].mint, &executor.pubkey()).await;
    h.mint_to(&l.debts[0].mint, &source, 10_000 * ONE_TOKEN).await;
    let destination = h.create_token_account(&l.collateral[0].mint, &executor.pubkey()).await;
    // Collateral at $0.92: in the zone (from the borrowing limit) and both orders triggered.
    let mut measured = Vec::new();
    for (name, wait) in [("refresh_obligation 8+8, 2 orders + soft zone", 1), ("execute_obligation_order 8+8", 300), ("soft_deleverage 8+8", 120)] {
        let now = h.now().await;
        h.set_time(now + wait).await;
        for reserve in &l.collateral {
            h.set_price(&reserve.oracle, 920_000, 0, -6).await;
        }
        for reserve in &l.debts {
            h.set_price(&reserve.oracle, 1_000_000, 0, -6).await;
        }
        for reserve in l.collateral.iter().chain(&l.debts) {
            h.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
        }
        let state = h.obligation(&l.obligation).await;
        let refresh = refresh_obligation_ix(&from_anchor(&state.lending_market), &l.obligation, &obligation_reserves(&state));
        let refresh_units = h.must_send(&[refresh], &[]).await;
        let ix = match name {
            "execute_obligation_order 8+8" => {
                execute_obligation_order_ix(&l.market, &l.obligation, &executor.pubkey(), &l.debts[0], &source, &l.collateral[0], &destination, 0, u64::MAX, None)
            }
            "soft_deleverage 8+8" => soft_deleverage_ix(&l.market, &l.obligation, &executor.pubkey(), &l.debts[0], &source, &l.collateral[0], &destination, u64::MAX, None),
            _ => {
                let refreshed = h.obligation(&l.obligation).await;
                assert!(refreshed.orders.iter().all(|o| o.triggered_since != 0) && refreshed.soft_zone_since != 0, "both orders and the zone armed");
                measured.push((name.to_string(), refresh_units));
                continue;
            }
        };
        let state = h.obligation(&l.obligation).await;
        let outcome = h.send(&[with_position_reserves(ix, &state)], &[&executor]).await;
        assert!(outcome.error.is_none(), "{name}: {:?}\n{}", outcome.error, outcome.logs.join("\n"));
        assert!(outcome.emitted::<solvent::events::Deleveraged>());
        measured.push((name.to_string(), outcome.compute_units));
    }
    println!("{measured:?}");
    check_compute_budget(&measured);
}

/// A call's repayment moves its bonus clock by the share of its allowance it used: a stranger's
/// dust execution barely moves an order's auction, and a dust soft call barely blocks the next.
#[tokio::test]
async fn dust_calls_cannot_hold_a_bonus_down() {
    let mut s = setup().await;
    let owner = s.m.borrower.keypair.insecure_clone();
    let owner_key = s.m.owner.pubkey();
    let market_owner = s.m.owner.insecure_clone();
    s.h.must_send(&[s.set_order_ix(&owner.pubkey(), 0, stop_loss())], &[&owner]).await;
    let start = s.h.now().await + 10;
    s.at(start, 125).await;
    s.refresh().await;
    s.at(start + 300, 125).await;
    // Ten base units of USDC (of a share of about 400 USDC): the auction moves by a second at most.
    s.execute(s.execute_ix(0, 10)).await;
    let since = s.obligation().await.orders[0].triggered_since;
    assert_eq!(since, start + 1, "300 s × 10 / share, rounded up");
    assert_eq!(s.quote(Deleverage::Order(0)).await.auction_bonus_bps, 149);

    // The soft zone: a dust call blocks the next for a second, not the minute.
    s.h.must_send(&[cancel_obligation_order_ix(&s.m.borrower.obligation, &owner.pubkey(), 0)], &[&owner]).await;
    s.h.must_send(&[set_soft_zone_ix(&s.m.market, &owner_key, &s.m.sol, zone())], &[&market_owner]).await;
    let enter = start + 400;
    s.at(enter, 102).await;
    s.refresh().await;
    s.at(enter + 300, 102).await;
    s.execute(s.soft_ix(10)).await;
    let after = s.obligation().await;
    assert_eq!(after.last_soft_deleverage, enter + 300 - 60 + 1, "blocks the next call for 1 s of the 60");
    s.at(enter + 302, 102).await;
    assert!(s.quote(Deleverage::Soft).await.bonus_bps >= 49, "the ramp barely moved");
}

/// An obligation past its threshold at the conservative prices (spot below the EMA) but not at
/// the liquidation prices (collateral at the higher of the two) is past its whole margin band:
/// in the soft zone and under a health trigger, not out of both.
#[tokio::test]
async fn a_position_past_its_conservative_threshold_stays_in_the_zone() {
    let mut s = setup().await;
    let owner = s.m.borrower.keypair.insecure_clone();
    let market_owner = s.m.owner.insecure_clone();
    s.h.must_send(&[set_soft_zone_ix(&s.m.market, &s.m.owner.pubkey(), &s.m.sol, zone())], &[&market_owner]).await;
    let health = OrderParams { trigger: TRIGGER_HEALTH_BELOW, threshold_wad: 105 * WAD / 100, ..stop_loss() };
    s.h.must_send(&[s.set_order_ix(&owner.pubkey(), 0, health)], &[&owner]).await;
    // Spot $100, EMA $110: $800 of threshold-weighted collateral at the conservative price
    // against $800.80 owed; $880 at the liquidation price: not liquidatable.
    let now = s.h.now().await + 5;
    s.h.set_time(now).await;
    s.h.set_account(&s.m.sol.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(10_000_000_000, 0, 11_000_000_000, 0, SOL_PRICE_EXPO, now, PriceStatus::Trading));
    s.h.set_price(&s.m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    s.refresh().await;
    let o = s.obligation().await;
    assert!(!o.values().is_unhealthy(), "not liquidatable at the liquidation prices");
    let band = o.values().conservative_threshold_assets;
    assert!(band <= Wad::from_u64(800) && band > Wad::from_u64(799), "the band at the conservative price: {band:?}");
    assert_eq!((o.soft_zone_since, o.orders[0].triggered_since), (now, now), "in the zone and triggered");
    s.h.set_time(now + 120).await;
    s.h.set_account(&s.m.sol.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(10_000_000_000, 0, 11_000_000_000, 0, SOL_PRICE_EXPO, now + 120, PriceStatus::Trading));
    s.h.set_price(&s.m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let quote = s.quote(Deleverage::Soft).await;
    assert!(quote.bonus_bps > 0);
    s.execute(s.soft_ix(u64::MAX)).await;
}

/// The client's distance to liquidation: the liquidation price is the client's
/// `liquidation_price`, the fall is measured from spot, and with the reserve's volatility
/// estimate the probability of touching it is `2 Φ(−ln(spot / price) / (σ √t))`, rising with
/// the horizon; without the estimator there is no probability.
#[tokio::test]
async fn the_distance_to_liquidation_uses_the_volatility_estimate() {
    let mut s = setup().await;
    let market_owner = s.m.owner.insecure_clone();
    let keys = [s.m.sol.reserve, s.m.usdc.reserve];
    let view = MarketView::load_with(&mut InProcessChain { harness: &mut s.h }, &s.m.market.market, &keys).await.unwrap();
    let obligation = s.obligation().await;
    let static_distance = liquidation_distances(&view, &obligation, 86_400).unwrap()[0];
    assert_eq!((static_distance.annual_volatility, static_distance.probability_within_horizon), (None, None));
    // $800.80 owed against 10 SOL at an 80% threshold: liquidatable at $100.10 and below.
    let price = liquidation_price(&view, &obligation, &s.m.sol.reserve).unwrap().unwrap();
    assert_eq!(static_distance.liquidation_price, Some(wad_to_f64(price.to_wad().unwrap())));
    assert!((static_distance.fall_to_liquidation.unwrap() - (1.0 - static_distance.liquidation_price.unwrap() / 150.0)).abs() < 1e-12);

    // SOL swinging 2% a minute: the estimator measures it.
    s.h.must_send(&[set_dynamic_margin_ix(&s.m.market, &market_owner.pubkey(), &s.m.sol, volatility_haircut())], &[&market_owner]).await;
    for minute in 0..30 {
        let now = s.h.now().await;
        s.h.set_time(now + 60).await;
        let sol = if minute % 2 == 0 { 15_300_000_000 } else { 14_700_000_000 };
        s.h.set_price(&s.m.sol.oracle, sol, 0, SOL_PRICE_EXPO).await;
        s.h.must_send(&[refresh_reserve_ix(&s.m.sol)], &[]).await;
    }
    let later = s.h.now().await + 1;
    s.at(later, 150).await;
    let view = MarketView::load_with(&mut InProcessChain { harness: &mut s.h }, &s.m.market.market, &keys).await.unwrap();
    let obligation = s.obligation().await;
    let hour = liquidation_distances(&view, &obligation, 3_600).unwrap()[0];
    let day = liquidation_distances(&view, &obligation, 86_400).unwrap()[0];
    let sigma = hour.annual_volatility.expect("the estimate");
    assert_eq!(sigma, view.reserve(&s.m.sol.reserve).unwrap().state.dynamic.annual_sigma_bps() as f64 / 10_000.0);
    let (spot, level) = (hour.spot_price, hour.liquidation_price.unwrap());
    let expected = |secs: f64| 2.0 * normal_cdf(-(spot / level).ln() / (sigma * (secs / 31_536_000.0).sqrt()));
    assert!((hour.probability_within_horizon.unwrap() - expected(3_600.0)).abs() < 1e-12);
    assert!((day.probability_within_horizon.unwrap() - expected(86_400.0)).abs() < 1e-12);
    assert!(hour.probability_within_horizon < day.probability_within_horizon, "a longer horizon is likelier: {hour:?} {day:?}");
    assert!(day.probability_within_horizon.unwrap() > 0.0 && day.probability_within_horizon.unwrap() < 1.0);
}
