//! Crisis controls on the built .so: the outflow limit reached, refused with its error and
//! unchanged state, recovering with the clock, never in the way of a repayment or a liquidation;
//! pauses per action by the owner and by a guardian that can only tighten and whose pauses
//! expire; loosening changes queued behind the timelock and executed by a third party; the risk
//! step; a new listing's caps growing on schedule; ownership in two steps. A seeded property: the
//! program lets an outflow through exactly when the client's `outflow_room` says it fits.
use solvent::errors::LendingError;
use solvent::state::{
    MarketPolicy, PendingChange, ReserveConfig, ACTIONS_ALL, ACTION_BORROW, ACTION_DEPOSIT, ACTION_FLASH_LOAN, ACTION_LIQUIDATE,
    ACTION_WITHDRAW, CHANGE_GRACE_SECS,
};
use solvent::math::Rounding::{Down, Up};
use solvent_tests::*;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// The standard market with 1,000 USDC borrowed against 10 SOL.
async fn market() -> (Harness, StandardMarket) {
    Harness::market_with_usdc_debt(1_000_000_000).await
}

/// Moves the clock `secs` on and publishes the prices again (they are 60 s fresh).
async fn later(h: &mut Harness, m: &StandardMarket, secs: i64, sol_price: i64) {
    let now = h.now().await;
    h.set_time(now + secs).await;
    h.set_price(&m.sol.oracle, sol_price, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
}

async fn set_config(h: &mut Harness, m: &StandardMarket, reserve: &TestReserve, edit: impl FnOnce(&mut ReserveConfig)) {
    let mut config = h.reserve(&reserve.reserve).await.config;
    edit(&mut config);
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), reserve, config)], &[&m.owner]).await;
}

/// Queues `change` and returns its id.
async fn queue(h: &mut Harness, m: &StandardMarket, change: PendingChange, reserve: Option<&TestReserve>) -> u64 {
    let id = h.market(&m.market.market).await.next_change_id;
    let outcome = h.send(&[queue_change_ix(&m.market, &m.owner.pubkey(), id, change, reserve)], &[&m.owner]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::ChangeQueued>(), "{:?}", outcome.logs);
    id
}

fn execute(m: &StandardMarket, executor: &Pubkey, id: u64, change: &PendingChange, reserve: Option<&TestReserve>) -> Instruction {
    execute_change_ix(&m.market, executor, id, &m.owner.pubkey(), change, reserve)
}

/// The standard market under `policy` with a guardian (set through the queue while the market
/// has no timelock yet, then the policy, which only tightens).
async fn with_policy(policy: MarketPolicy) -> (Harness, StandardMarket, Keypair) {
    let (mut h, m) = market().await;
    let guardian = Keypair::new();
    h.fund(&guardian.pubkey(), 1_000_000_000).await;
    let open = MarketPolicy { timelock_secs: 0, ..policy };
    h.must_send(&[set_market_policy_ix(&m.market, &m.owner.pubkey(), open)], &[&m.owner]).await;
    let change = PendingChange::Guardian { guardian: to_anchor(&guardian.pubkey()) };
    let id = queue(&mut h, &m, change, None).await;
    h.must_send(&[execute(&m, &m.owner.pubkey(), id, &change, None)], &[&m.owner]).await;
    h.must_send(&[set_market_policy_ix(&m.market, &m.owner.pubkey(), policy)], &[&m.owner]).await;
    let state = h.market(&m.market.market).await;
    assert_eq!((state.policy(), from_anchor(&state.guardian)), (policy, guardian.pubkey()));
    (h, m, guardian)
}

/// A lender's withdrawal of about `amount` base units of USDC: shares for it at the share price
/// the instruction will see, rounded up (`Rounding::Up`: at least the amount) or down (at most).
async fn lender_withdraw(h: &mut Harness, m: &StandardMarket, amount: u64, rounding: solvent::math::Rounding) -> Instruction {
    let now = h.now().await;
    let mut reserve = h.reserve(&m.usdc.reserve).await;
    reserve.accrue_interest(now).unwrap();
    let shares = reserve.shares_for_amount(amount, rounding).unwrap();
    let l = &m.lender;
    withdraw_ix(&m.market, &m.usdc, &l.obligation, &l.keypair.pubkey(), &l.usdc_account, shares)
}

/// The outflow room the client computes for the reserve as the next instruction will see it
/// (interest accrued to now first, as every instruction does).
async fn room(h: &mut Harness, reserve: &Pubkey) -> solvent::state::OutflowRoom {
    let now = h.now().await;
    let mut state = h.reserve(reserve).await;
    state.accrue_interest(now).unwrap();
    state.outflow_room(now).unwrap()
}

#[tokio::test]
async fn the_outflow_limit_refuses_recovers_and_never_blocks_repay_or_liquidation() {
    let (mut h, m) = market().await;
    // Out of range settings are refused.
    for (bps, window, floor) in [(10_001, 3_600, 0), (1_000, 0, 0), (1_000, 8 * DAY as u32, 0), (0, 3_600, 0), (0, 0, 5)] {
        let mut config = h.reserve(&m.usdc.reserve).await.config;
        (config.outflow_limit_bps, config.outflow_window_secs, config.outflow_floor) = (bps, window, floor);
        let ix = update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, config);
        assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidOutflowLimit, &[m.usdc.reserve]).await;
    }
    // USDC: 10% of the liquidity on hand per hour (about $99,000); SOL: 1% of 10 SOL per hour.
    set_config(&mut h, &m, &m.usdc, |c| (c.outflow_limit_bps, c.outflow_window_secs) = (1_000, 3_600)).await;
    set_config(&mut h, &m, &m.sol, |c| (c.outflow_limit_bps, c.outflow_window_secs) = (100, 3_600)).await;
    later(&mut h, &m, 1, SOL_PRICE).await;
    let full = room(&mut h, &m.usdc.reserve).await;
    let idle = h.reserve(&m.usdc.reserve).await.available_amount;
    assert!(full.capacity == idle / 10 && full.available == full.capacity && full.full_in_secs == 0, "{full:?}");

    // A borrow and a withdrawal use the room; one more base unit than is left is refused,
    // logging what is available and when the limit is full again, and changes nothing.
    let b = &m.borrower;
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 100_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    let left = room(&mut h, &m.usdc.reserve).await;
    // The payout counts (the 0.1% origination fee stays in the vault).
    assert_eq!((left.capacity, left.available), (full.capacity, full.capacity - (100_000_000 - 100_000)));
    let l = &m.lender;
    let keys = [m.usdc.reserve, m.usdc.vault, l.obligation, l.usdc_account];
    let too_much = lender_withdraw(&mut h, &m, left.available + 1, Up).await;
    let before = h.snapshot(&keys).await;
    let outcome = h.send(&[too_much], &[&l.keypair]).await;
    assert_eq!(outcome.lending_error(), Some(LendingError::OutflowLimitExceeded), "{:?}", outcome.logs);
    let line = outcome.logs.iter().find(|line| line.contains("outflow limit:")).expect("the room is logged");
    assert!(line.contains(&format!("{} available now", left.available)) && line.contains("full again in"), "{line}");
    assert!(h.snapshot(&keys).await == before, "a refused outflow changed state");
    let exact = lender_withdraw(&mut h, &m, left.available, Down).await;
    h.must_send(&[exact], &[&l.keypair]).await;
    let empty = room(&mut h, &m.usdc.reserve).await;
    assert!(empty.available < 2, "the room is used up (share rounding leaves at most a unit): {empty:?}");

    // A repayment is never limited, and nets against the outflow: the room grows by it. (The
    // capacity stays that of the claim before the window's flows: the withdrawal did not shrink
    // it.)
    let repay = repay_ix(&m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 500_000_000);
    h.must_send(&[repay], &[&b.keypair]).await;
    let repaid = room(&mut h, &m.usdc.reserve).await;
    assert_eq!((repaid.capacity, repaid.available), (empty.capacity, empty.available + 500_000_000));

    // Half a window later, half the capacity has grown back (rounded down; the capacity moved by
    // half an hour's interest on the claim, a few hundred base units).
    later(&mut h, &m, HOUR / 2, SOL_PRICE).await;
    let regrown = room(&mut h, &m.usdc.reserve).await;
    let expected = (repaid.available + regrown.capacity / 2).min(regrown.capacity);
    assert!(regrown.available.abs_diff(expected) <= 1_000, "{regrown:?} vs {expected}");
    let ix = lender_withdraw(&mut h, &m, regrown.available + 1, Up).await;
    assert_rejected(&mut h, &[ix], &[&l.keypair], LendingError::OutflowLimitExceeded, &keys).await;
    let ix = lender_withdraw(&mut h, &m, regrown.available, Down).await;
    h.must_send(&[ix], &[&l.keypair]).await;

    // SOL's room used up by the borrower, then SOL falls: the liquidation pays the liquidator
    // SOL all the same.
    let sol_room = room(&mut h, &m.sol.reserve).await;
    let sol = h.reserve(&m.sol.reserve).await;
    let shares = sol.shares_for_amount(sol_room.available, solvent::math::Rounding::Down).unwrap();
    let withdraw = withdraw_ix(&m.market, &m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, shares);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], withdraw).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    assert!(room(&mut h, &m.sol.reserve).await.available < 10, "SOL's room is used up");
    let withdraw = withdraw_ix(&m.market, &m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, 1_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], withdraw).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::OutflowLimitExceeded, &[m.sol.reserve, b.obligation]).await;
    h.set_price(&m.sol.oracle, 5_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 10_000_000_000).await;
    let liquidate = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 1_000_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], liquidate).await;
    let outcome = h.send(&ixs, &[&liquidator.keypair]).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.logs);
    assert!(h.token_balance(&liquidator.sol_account).await > 0, "the liquidator was paid SOL past the limit");
}

#[tokio::test]
async fn pauses_by_action_and_a_guardian_that_only_tightens() {
    let policy = MarketPolicy { timelock_secs: 2 * DAY as u32, guardian_pause_secs: DAY as u32, listing_ramp_secs: 0, max_risk_step_bps: 500, padding: [0; 2] };
    let (mut h, m, guardian) = with_policy(policy).await;
    let b = &m.borrower;
    let stranger = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let keys = [m.usdc.reserve, m.sol.reserve, b.obligation];
    // Who may pause, and what.
    let ix = set_reserve_pause_ix(&m.market, &stranger.keypair.pubkey(), &m.usdc, ACTION_BORROW);
    assert_rejected(&mut h, &[ix], &[&stranger.keypair], LendingError::NotOwnerOrGuardian, &keys).await;
    for mask in [0, 32, ACTIONS_ALL + 1] {
        let ix = set_reserve_pause_ix(&m.market, &guardian.pubkey(), &m.usdc, mask);
        assert_rejected(&mut h, &[ix], &[&guardian], LendingError::InvalidPauseMask, &keys).await;
    }
    // The guardian pauses USDC borrows: a borrow is refused, a repayment is not.
    let outcome = h.send(&[set_reserve_pause_ix(&m.market, &guardian.pubkey(), &m.usdc, ACTION_BORROW)], &[&guardian]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::ReservePauseSet>(), "{:?}", outcome.logs);
    println!("set_reserve_pause (guardian): {} CU", outcome.compute_units);
    check_compute_budget(&[("set_reserve_pause (guardian)".to_string(), outcome.compute_units)]);
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow.clone()).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::ActionPaused, &keys).await;
    h.must_send(&[repay_ix(&m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000)], &[&b.keypair]).await;

    // The guardian tightens (a lower LTV and cap) but cannot loosen, nor touch the queue.
    let config = h.reserve(&m.sol.reserve).await.config;
    let tighter = ReserveConfig { loan_to_value_bps: config.loan_to_value_bps - 500, borrow_limit: 1_000_000_000_000, ..config };
    h.must_send(&[update_config_ix(&m.market, &guardian.pubkey(), &m.sol, tighter)], &[&guardian]).await;
    assert_eq!(h.reserve(&m.sol.reserve).await.config, tighter);
    let looser = ReserveConfig { loan_to_value_bps: tighter.loan_to_value_bps + 100, ..tighter };
    let ix = update_config_ix(&m.market, &guardian.pubkey(), &m.sol, looser);
    assert_rejected(&mut h, &[ix], &[&guardian], LendingError::GuardianCannotLoosen, &keys).await;
    // Nor set what would last past its pauses: a deposit cap, an outflow limit, a band, an oracle
    // tolerance (a fee and a lower threshold are not tightenings at all).
    let lasting = [
        ReserveConfig { deposit_limit: 1_000_000_000_000, ..tighter },
        ReserveConfig { outflow_limit_bps: 1, outflow_window_secs: 3_600, ..tighter },
        ReserveConfig { price_band_bps: 1, ..tighter },
        ReserveConfig { max_price_age_secs: 1, ..tighter },
        ReserveConfig { borrow_fee_bps: 1, ..tighter },
        ReserveConfig { liquidation_threshold_bps: tighter.liquidation_threshold_bps - 100, ..tighter },
    ];
    for fee in lasting {
        let ix = update_config_ix(&m.market, &guardian.pubkey(), &m.sol, fee);
        assert_rejected(&mut h, &[ix], &[&guardian], LendingError::GuardianCannotLoosen, &keys).await;
    }
    let id = h.market(&m.market.market).await.next_change_id;
    let ix = queue_change_ix(&m.market, &guardian.pubkey(), id, PendingChange::Unpause { actions: ACTION_BORROW }, Some(&m.usdc));
    assert_rejected(&mut h, &[ix], &[&guardian], LendingError::InvalidMarketOwner, &keys).await;

    // Pausing again while it runs does not extend it: unconfirmed, it expires a day after it
    // started and the borrow goes through; a new pause must wait as long again.
    later(&mut h, &m, HOUR, SOL_PRICE).await;
    h.must_send(&[set_reserve_pause_ix(&m.market, &guardian.pubkey(), &m.usdc, ACTION_BORROW | ACTION_DEPOSIT)], &[&guardian]).await;
    later(&mut h, &m, DAY - HOUR, SOL_PRICE).await;
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow.clone()).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    let ix = set_reserve_pause_ix(&m.market, &guardian.pubkey(), &m.usdc, ACTION_BORROW);
    assert_rejected(&mut h, &[ix], &[&guardian], LendingError::GuardianPauseCooldown, &keys).await;
    later(&mut h, &m, DAY, SOL_PRICE).await;

    // Paused again and confirmed by the owner, it outlives the guardian's day, and lifting it
    // waits the timelock (queued, refused early, executed by a stranger after it).
    h.must_send(&[set_reserve_pause_ix(&m.market, &guardian.pubkey(), &m.usdc, ACTION_BORROW)], &[&guardian]).await;
    h.must_send(&[set_reserve_pause_ix(&m.market, &m.owner.pubkey(), &m.usdc, ACTION_BORROW)], &[&m.owner]).await;
    later(&mut h, &m, DAY + 1, SOL_PRICE).await;
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow.clone()).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::ActionPaused, &keys).await;
    let lift = PendingChange::Unpause { actions: ACTION_BORROW };
    let id = queue(&mut h, &m, lift, Some(&m.usdc)).await;
    let ix = execute(&m, &stranger.keypair.pubkey(), id, &lift, Some(&m.usdc));
    let change_key = queued_change_address(&m.market.market, id);
    assert_rejected(&mut h, &[ix.clone()], &[&stranger.keypair], LendingError::TimelockNotElapsed, &[m.usdc.reserve, change_key]).await;
    later(&mut h, &m, 2 * DAY, SOL_PRICE).await;
    let wrong_reserve = execute(&m, &stranger.keypair.pubkey(), id, &lift, Some(&m.sol));
    assert_rejected(&mut h, &[wrong_reserve], &[&stranger.keypair], LendingError::InvalidQueuedChange, &[m.usdc.reserve, change_key]).await;
    h.must_send(&[ix], &[&stranger.keypair]).await;
    assert!(h.account(&change_key).await.is_none(), "the executed change is closed");
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow).await;
    h.must_send(&ixs, &[&b.keypair]).await;

    // Every other action, paused by the owner, is refused with the same error.
    h.must_send(&[set_reserve_pause_ix(&m.market, &m.owner.pubkey(), &m.usdc, ACTION_DEPOSIT | ACTION_WITHDRAW | ACTION_FLASH_LOAN)], &[&m.owner]).await;
    h.must_send(&[set_reserve_pause_ix(&m.market, &m.owner.pubkey(), &m.sol, ACTION_LIQUIDATE)], &[&m.owner]).await;
    let l = &m.lender;
    h.mint_to(&m.usdc.mint, &l.usdc_account, 1_000_000).await;
    let deposit = deposit_ix(&m.market, &m.usdc, &l.obligation, &l.keypair.pubkey(), &l.usdc_account, 1_000_000);
    assert_rejected(&mut h, &[deposit], &[&l.keypair], LendingError::ActionPaused, &keys).await;
    // A borrower too (an exemption would let a one-unit borrow carry new collateral past the
    // pause); it cures by repaying, which is never paused.
    let cure = deposit_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000);
    assert_rejected(&mut h, &[cure], &[&b.keypair], LendingError::ActionPaused, &keys).await;
    h.must_send(&[repay_ix(&m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000)], &[&b.keypair]).await;
    let withdraw = lender_withdraw(&mut h, &m, 1_000_000, Down).await;
    assert_rejected(&mut h, &[withdraw], &[&l.keypair], LendingError::ActionPaused, &keys).await;
    let flash = [flash_borrow_ix(&m.market, &m.usdc, &l.usdc_account, 1_000_000), flash_repay_ix(&m.market, &m.usdc, &l.usdc_account, &l.keypair.pubkey(), 1_000_000)];
    assert_rejected(&mut h, &flash, &[&l.keypair], LendingError::ActionPaused, &keys).await;
    h.set_price(&m.sol.oracle, 5_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 10_000_000_000).await;
    let liquidate = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 100_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], liquidate.clone()).await;
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::ActionPaused, &keys).await;
    // A liquidation pause expires even when the owner sets it: it cannot shelter a bad position.
    later(&mut h, &m, DAY, 5_000_000_000).await;
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], liquidate).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
}

#[tokio::test]
async fn loosening_waits_the_timelock_and_runs_for_anyone_after_it() {
    let policy = MarketPolicy { timelock_secs: 2 * DAY as u32, guardian_pause_secs: DAY as u32, listing_ramp_secs: 0, max_risk_step_bps: 500, padding: [0; 2] };
    let (mut h, m, _guardian) = with_policy(policy).await;
    let stranger = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let owner = m.owner.pubkey();
    let config = h.reserve(&m.sol.reserve).await.config;
    let keys = [m.sol.reserve, m.market.market];

    // Loosening at once is refused, in every form; tightening applies at once.
    let raised = ReserveConfig { loan_to_value_bps: config.loan_to_value_bps + 300, ..config };
    let lower_threshold = ReserveConfig { liquidation_threshold_bps: config.liquidation_threshold_bps - 100, ..config };
    for change in [raised, lower_threshold, ReserveConfig { liquidation_bonus_bps: config.liquidation_bonus_bps + 100, ..config }] {
        let ix = update_config_ix(&m.market, &owner, &m.sol, change);
        assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::ChangeNeedsTimelock, &keys).await;
    }
    let ix = set_paused_ix(&m.market, &owner, true);
    h.must_send(&[ix], &[&m.owner]).await;
    let ix = set_paused_ix(&m.market, &owner, false);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::ChangeNeedsTimelock, &keys).await;
    let ix = set_liquidation_limits_ix(&m.market, &owner, 1_000, 10, 100);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::ChangeNeedsTimelock, &keys).await;
    let ix = set_soft_zone_ix(&m.market, &owner, &m.sol, solvent::state::SoftZoneConfig::default());
    h.must_send(&[ix], &[&m.owner]).await; // no change: applies
    let lowered = ReserveConfig { loan_to_value_bps: config.loan_to_value_bps - 200, ..config };
    h.must_send(&[update_config_ix(&m.market, &owner, &m.sol, lowered)], &[&m.owner]).await;

    // A step larger than the market's is refused when queued (and would be when executed).
    let too_far = PendingChange::ReserveConfig { config: ReserveConfig { loan_to_value_bps: lowered.loan_to_value_bps + 600, ..lowered } };
    let id = h.market(&m.market.market).await.next_change_id;
    let ix = queue_change_ix(&m.market, &owner, id, too_far, Some(&m.sol));
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::RiskStepTooLarge, &keys).await;
    let ix = queue_change_ix(&m.market, &owner, id, too_far, None);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidQueuedChange, &keys).await;
    let stranger_queues = queue_change_ix(&m.market, &stranger.keypair.pubkey(), id, PendingChange::UnpauseMarket, None);
    assert_rejected(&mut h, &[stranger_queues], &[&stranger.keypair], LendingError::InvalidMarketOwner, &keys).await;

    // Queued within the step: visible on chain, refused before its delay, applied by a
    // stranger after it; the rent goes back to the owner.
    let change = PendingChange::ReserveConfig { config: ReserveConfig { loan_to_value_bps: lowered.loan_to_value_bps + 500, ..lowered } };
    let id = queue(&mut h, &m, change, Some(&m.sol)).await;
    let key = queued_change_address(&m.market.market, id);
    let queued = decode_queued_change(&h.account(&key).await.unwrap().data).unwrap();
    let now = h.now().await;
    assert_eq!((queued.change, queued.eta, from_anchor(&queued.target)), (change, now + 2 * DAY, m.sol.reserve));
    let ix = execute(&m, &stranger.keypair.pubkey(), id, &change, Some(&m.sol));
    later(&mut h, &m, 2 * DAY - 10, SOL_PRICE).await;
    let outcome = h.send(&[ix.clone()], &[&stranger.keypair]).await;
    assert_eq!(outcome.lending_error(), Some(LendingError::TimelockNotElapsed));
    assert!(outcome.logs.iter().any(|line| line.contains("executable in 10s")), "{:?}", outcome.logs);
    later(&mut h, &m, 10, SOL_PRICE).await;
    let owner_lamports = h.account(&owner).await.unwrap().lamports;
    let outcome = h.send(&[ix], &[&stranger.keypair]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::ChangeExecuted>(), "{:?}", outcome.logs);
    assert_eq!(h.reserve(&m.sol.reserve).await.config.loan_to_value_bps, lowered.loan_to_value_bps + 500);
    assert!(h.account(&owner).await.unwrap().lamports > owner_lamports, "the rent went back to the owner");
    println!("execute_change (reserve config): {} CU", outcome.compute_units);
    check_compute_budget(&[("execute_change (reserve config)".to_string(), outcome.compute_units)]);

    // A change runs only on the settings it was queued against: one queued before the owner
    // tightened at once cannot undo that tightening.
    let current = h.reserve(&m.sol.reserve).await.config;
    let stale = PendingChange::ReserveConfig { config: ReserveConfig { borrow_fee_bps: 5, ..current } };
    let id = queue(&mut h, &m, stale, Some(&m.sol)).await;
    h.must_send(&[update_config_ix(&m.market, &owner, &m.sol, ReserveConfig { borrow_limit: 1_000_000_000_000, ..current })], &[&m.owner]).await;
    later(&mut h, &m, 2 * DAY, SOL_PRICE).await;
    let ix = execute(&m, &stranger.keypair.pubkey(), id, &stale, Some(&m.sol));
    assert_rejected(&mut h, &[ix], &[&stranger.keypair], LendingError::ChangeStale, &keys).await;
    h.must_send(&[cancel_change_ix(&m.market, &owner, id, &owner)], &[&m.owner]).await;

    // Cancelled: gone; an expired one cannot run; the market's pause lifted through the queue.
    let id = queue(&mut h, &m, PendingChange::UnpauseMarket, None).await;
    let ix = cancel_change_ix(&m.market, &stranger.keypair.pubkey(), id, &owner);
    assert_rejected(&mut h, &[ix], &[&stranger.keypair], LendingError::InvalidMarketOwner, &keys).await;
    h.must_send(&[cancel_change_ix(&m.market, &owner, id, &owner)], &[&m.owner]).await;
    assert!(h.account(&queued_change_address(&m.market.market, id)).await.is_none());
    let id = queue(&mut h, &m, PendingChange::UnpauseMarket, None).await;
    later(&mut h, &m, 2 * DAY + CHANGE_GRACE_SECS + 1, SOL_PRICE).await;
    let ix = execute(&m, &stranger.keypair.pubkey(), id, &PendingChange::UnpauseMarket, None);
    assert_rejected(&mut h, &[ix], &[&stranger.keypair], LendingError::ChangeExpired, &keys).await;
    let id = queue(&mut h, &m, PendingChange::UnpauseMarket, None).await;
    later(&mut h, &m, 2 * DAY, SOL_PRICE).await;
    h.must_send(&[execute(&m, &stranger.keypair.pubkey(), id, &PendingChange::UnpauseMarket, None)], &[&stranger.keypair]).await;
    assert!(!h.market(&m.market.market).await.paused);

    // The liquidation limits and the policy itself: loosening the policy waits too.
    let limits = PendingChange::LiquidationLimits { liquidation_cap_value: 1_000, dust_value: 10, protocol_share_bps: 100 };
    let id = queue(&mut h, &m, limits, None).await;
    let shorter = MarketPolicy { timelock_secs: DAY as u32, ..policy };
    let ix = set_market_policy_ix(&m.market, &owner, shorter);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::ChangeNeedsTimelock, &keys).await;
    let longer = MarketPolicy { timelock_secs: 3 * DAY as u32, ..policy };
    h.must_send(&[set_market_policy_ix(&m.market, &owner, longer)], &[&m.owner]).await;
    later(&mut h, &m, 2 * DAY, SOL_PRICE).await;
    // Queued under 2 days, it now waits the 3 the policy says since.
    let ix = execute(&m, &stranger.keypair.pubkey(), id, &limits, None);
    assert_rejected(&mut h, &[ix.clone()], &[&stranger.keypair], LendingError::TimelockNotElapsed, &keys).await;
    later(&mut h, &m, DAY, SOL_PRICE).await;
    h.must_send(&[ix], &[&stranger.keypair]).await;
    assert_eq!(h.market(&m.market.market).await.liquidation_cap_value, 1_000);

    // Under a timelock a new asset is listed at LTV 0 (and outside e-mode); its LTV comes
    // through the queue, in one step from 0.
    let mint = h.create_mint(6).await;
    let ix = init_reserve_ix(&m.market, &owner, &mint, &m.usdc.oracle, usdc_config());
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::ListingNeedsZeroLtv, &keys).await;
    let ix = init_reserve_ix(&m.market, &owner, &mint, &m.usdc.oracle, ReserveConfig { loan_to_value_bps: 0, emode_groups: 1, ..usdc_config() });
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::ListingNeedsZeroLtv, &keys).await;
    let (fresh, _) = h.init_reserve_for_mint(&m.market, &m.owner, mint, USDC_PRICE, USDC_PRICE_EXPO, ReserveConfig { loan_to_value_bps: 0, ..usdc_config() }).await;
    let enable = PendingChange::ReserveConfig { config: usdc_config() };
    let id = queue(&mut h, &m, enable, Some(&fresh)).await;
    later(&mut h, &m, 3 * DAY, SOL_PRICE).await;
    h.must_send(&[execute(&m, &stranger.keypair.pubkey(), id, &enable, Some(&fresh))], &[&stranger.keypair]).await;
    assert_eq!(h.reserve(&fresh.reserve).await.config.loan_to_value_bps, usdc_config().loan_to_value_bps);
}

#[tokio::test]
async fn ownership_changes_hands_in_two_timelocked_steps() {
    let policy = MarketPolicy { timelock_secs: DAY as u32, guardian_pause_secs: DAY as u32, listing_ramp_secs: 0, max_risk_step_bps: 0, padding: [0; 2] };
    let (mut h, m, _guardian) = with_policy(policy).await;
    let next = Keypair::new();
    h.fund(&next.pubkey(), 1_000_000_000).await;
    let stranger = Keypair::new();
    h.fund(&stranger.pubkey(), 1_000_000_000).await;
    let keys = [m.market.market];
    let accept = accept_ownership_ix(&m.market, &next.pubkey());
    assert_rejected(&mut h, &[accept.clone()], &[&next], LendingError::NotPendingOwner, &keys).await;
    let change = PendingChange::Owner { new_owner: to_anchor(&next.pubkey()) };
    let id = queue(&mut h, &m, change, None).await;
    let leftover = queue(&mut h, &m, PendingChange::UnpauseMarket, None).await;
    let ix = execute(&m, &stranger.pubkey(), id, &change, None);
    assert_rejected(&mut h, &[ix.clone()], &[&stranger], LendingError::TimelockNotElapsed, &keys).await;
    later(&mut h, &m, DAY, SOL_PRICE).await;
    h.must_send(&[ix], &[&stranger]).await;
    assert_eq!(from_anchor(&h.market(&m.market.market).await.pending_owner), next.pubkey());
    // Named, but not yet the owner: only its own signature completes the handover.
    let ix = accept_ownership_ix(&m.market, &stranger.pubkey());
    assert_rejected(&mut h, &[ix], &[&stranger], LendingError::NotPendingOwner, &keys).await;
    assert_eq!(from_anchor(&h.market(&m.market.market).await.owner), m.owner.pubkey());
    let outcome = h.send(&[accept], &[&next]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::OwnershipAccepted>(), "{:?}", outcome.logs);
    let state = h.market(&m.market.market).await;
    assert_eq!((from_anchor(&state.owner), state.pending_owner), (next.pubkey(), Default::default()));
    let ix = set_paused_ix(&m.market, &m.owner.pubkey(), true);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidMarketOwner, &keys).await;
    h.must_send(&[set_paused_ix(&m.market, &next.pubkey(), true)], &[&next]).await;
    // What the former owner queued dies with the handover.
    let ix = execute(&m, &stranger.pubkey(), leftover, &PendingChange::UnpauseMarket, None);
    assert_rejected(&mut h, &[ix], &[&stranger], LendingError::ChangeStale, &keys).await;
    assert!(h.market(&m.market.market).await.paused);
}

#[tokio::test]
async fn a_new_listing_grows_its_caps_on_schedule() {
    let (mut h, m) = market().await;
    let policy = MarketPolicy { timelock_secs: 0, guardian_pause_secs: 0, listing_ramp_secs: 7 * DAY as u32, max_risk_step_bps: 0, padding: [0; 2] };
    h.must_send(&[set_market_policy_ix(&m.market, &m.owner.pubkey(), policy)], &[&m.owner]).await;
    // Under a ramp a listing needs caps in value: u64::MAX base units ramped from 0 is no cap.
    let mint = h.create_mint(6).await;
    let oracle = Keypair::new().pubkey();
    h.set_price(&oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let ix = init_reserve_ix(&m.market, &m.owner.pubkey(), &mint, &oracle, usdc_config());
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::ListingNeedsValueCaps, &[m.market.market]).await;
    let cap_value = 7_000_000u64; // $7,000,000 of deposits; $3,500,000 of borrows
    let config = ReserveConfig { deposit_limit_value: cap_value, borrow_limit_value: cap_value / 2, ..usdc_config() };
    let (fresh, _) = h.init_reserve_for_mint(&m.market, &m.owner, mint, USDC_PRICE, USDC_PRICE_EXPO, config).await;
    let listed = h.reserve(&fresh.reserve).await;
    assert_eq!(listed.listing_ramp_secs, 7 * DAY as u32);
    let user = Keypair::new();
    h.fund(&user.pubkey(), 10_000_000_000).await;
    let obligation = h.init_obligation(&m.market, &user).await;
    let account = h.create_token_account(&fresh.mint, &user.pubkey()).await;
    h.mint_to(&fresh.mint, &account, cap_value * 1_000_000).await;
    let deposit = |amount| deposit_ix(&m.market, &fresh, &obligation, &user.pubkey(), &account, amount);
    // At listing every cap counts as zero; a day later a seventh of it, to the base unit ($1 a
    // token: the value cap binds).
    assert_rejected(&mut h, &[deposit(10_000)], &[&user], LendingError::DepositLimitExceeded, &[fresh.reserve]).await;
    for day in 1..=2i64 {
        h.set_time(listed.listed_at + day * DAY).await;
        h.set_price(&fresh.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
        let state = h.reserve(&fresh.reserve).await;
        let cap = state.ramped_limit(cap_value, listed.listed_at + day * DAY) * 1_000_000;
        assert_eq!(cap, cap_value / 7 * day as u64 * 1_000_000);
        let total = state.total_liquidity().unwrap().to_u64(solvent::math::Rounding::Up).unwrap();
        assert_rejected(&mut h, &[deposit(cap - total + 1)], &[&user], LendingError::DepositValueCapExceeded, &[fresh.reserve]).await;
        h.must_send(&[deposit(cap - total)], &[&user]).await;
    }
    // The borrow cap ramps the same way: two days in, 2/7 of $3,500,000.
    let borrow_cap = listed.ramped_limit(cap_value / 2, listed.listed_at + 2 * DAY) * 1_000_000;
    let b = &m.borrower;
    let fresh_account = h.create_token_account(&fresh.mint, &b.keypair.pubkey()).await;
    let sol = 10_000_000_000_000u64; // 10,000 SOL behind it
    h.mint_to(&m.sol.mint, &b.sol_account, sol).await;
    h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    h.must_send(&[deposit_ix(&m.market, &m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, sol)], &[&b.keypair]).await;
    let too_much = borrow_ix(&m.market, &fresh, &b.obligation, &b.keypair.pubkey(), &fresh_account, borrow_cap + 1_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc, &fresh], too_much).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::BorrowValueCapExceeded, &[fresh.reserve, b.obligation]).await;
    let within = borrow_ix(&m.market, &fresh, &b.obligation, &b.keypair.pubkey(), &fresh_account, borrow_cap - 1_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc, &fresh], within).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    h.set_time(listed.listed_at + 7 * DAY).await;
    let state = h.reserve(&fresh.reserve).await;
    assert_eq!(state.ramped_limit(cap_value, listed.listed_at + 7 * DAY), cap_value, "the full cap after the ramp");
}

/// 60 seeded steps of withdrawals, deposits and time: each outflow is let through exactly when
/// the client's `outflow_room` says it fits, and then takes exactly its amount off the room; a
/// refusal changes nothing; a deposit adds exactly its amount (net flows are what the limit
/// counts, so depositing and withdrawing the same cannot fill the room for others).
#[tokio::test]
async fn outflows_pass_exactly_when_the_client_room_allows() {
    let (mut h, m) = market().await;
    set_config(&mut h, &m, &m.usdc, |c| (c.outflow_limit_bps, c.outflow_window_secs, c.outflow_floor) = (500, 7_200, 1_000_000_000)).await;
    let mut rng = Rng(0xC0FFEE);
    let l = &m.lender;
    let (mut passed, mut refused) = (0, 0);
    for step in 0..60 {
        match rng.range(0, 9) {
            0..=1 => later(&mut h, &m, rng.range(1, HOUR as u64) as i64, SOL_PRICE).await,
            2 => {
                let amount = rng.range(1_000_000, 3_000_000_000);
                h.mint_to(&m.usdc.mint, &l.usdc_account, amount).await;
                let before = room(&mut h, &m.usdc.reserve).await;
                h.must_send(&[deposit_ix(&m.market, &m.usdc, &l.obligation, &l.keypair.pubkey(), &l.usdc_account, amount)], &[&l.keypair]).await;
                let after = room(&mut h, &m.usdc.reserve).await;
                assert_eq!(after.available, before.available + amount, "step {step}: a deposit adds exactly its amount to the room");
            }
            _ => {
                let now = h.now().await;
                let mut state = h.reserve(&m.usdc.reserve).await;
                state.accrue_interest(now).unwrap();
                let room = state.outflow_room(now).unwrap();
                let shares = rng.range(1_000, (room.available.max(1_000_000) * 2).min(state.available_amount / 2));
                let amount = state.redeem_amount(shares).unwrap();
                let ix = withdraw_ix(&m.market, &m.usdc, &l.obligation, &l.keypair.pubkey(), &l.usdc_account, shares);
                let keys = [m.usdc.reserve, l.obligation, l.usdc_account];
                if amount <= room.available {
                    h.must_send(&[ix], &[&l.keypair]).await;
                    passed += 1;
                    let after = h.reserve(&m.usdc.reserve).await;
                    let after = after.outflow_room(now).unwrap();
                    assert_eq!((after.capacity, after.available), (room.capacity, room.available - amount), "step {step}: the room fell by exactly the amount");
                } else {
                    assert_rejected(&mut h, &[ix], &[&l.keypair], LendingError::OutflowLimitExceeded, &keys).await;
                    refused += 1;
                }
            }
        }
    }
    assert!(passed >= 10 && refused >= 5, "both sides of the limit were exercised: {passed} passed, {refused} refused");
}

/// An order pays collateral out as a withdrawal does, and its owner can run it from a second
/// key: the outflow limit and the withdraw pause apply to it (a liquidation's seizure is never
/// limited: see the first test).
#[tokio::test]
async fn an_order_pays_out_within_the_outflow_limit_and_the_withdraw_pause() {
    use solvent::state::{OrderParams, TRIGGER_PRICE_ABOVE};
    let (mut h, m) = market().await;
    set_config(&mut h, &m, &m.sol, |c| (c.outflow_limit_bps, c.outflow_window_secs) = (100, 3_600)).await;
    let b = &m.borrower;
    // An order that holds at once: SOL above $1, the whole debt per execution, no bonus.
    let always = OrderParams { trigger: TRIGGER_PRICE_ABOVE, threshold_wad: solvent::math::WAD, max_repay_bps: 10_000, max_bonus_bps: 0, bonus_ramp_secs: 60 };
    h.must_send(&[set_obligation_order_ix(&b.obligation, &b.keypair.pubkey(), &m.usdc.reserve, &m.sol.reserve, 0, always)], &[&b.keypair]).await;
    let second_key = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &second_key.usdc_account, 200_000_000).await;
    later(&mut h, &m, 1, SOL_PRICE).await;
    let sol_room = room(&mut h, &m.sol.reserve).await;
    assert_eq!(sol_room.available, 100_000_000, "1% of 10 SOL");
    let e = &second_key;
    let execute = |amount| execute_obligation_order_ix(&m.market, &b.obligation, &e.keypair.pubkey(), &m.usdc, &e.usdc_account, &m.sol, &e.sol_account, 0, amount, None);
    // 100 USDC buys 0.667 SOL of collateral at $150: more than the 0.1 SOL of room.
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], execute(100_000_000)).await;
    assert_rejected(&mut h, &ixs, &[&e.keypair], LendingError::OutflowLimitExceeded, &[m.sol.reserve, m.usdc.reserve, b.obligation]).await;
    // 10 USDC buys 0.0667 SOL: within it, and the room falls by exactly what was paid out.
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], execute(10_000_000)).await;
    h.must_send(&ixs, &[&e.keypair]).await;
    let paid = h.token_balance(&e.sol_account).await;
    assert!(paid > 60_000_000, "{paid}");
    assert_eq!(room(&mut h, &m.sol.reserve).await.available, sol_room.available - paid);
    // With SOL withdrawals paused, the order cannot take SOL out at all.
    h.must_send(&[set_reserve_pause_ix(&m.market, &m.owner.pubkey(), &m.sol, ACTION_WITHDRAW)], &[&m.owner]).await;
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], execute(1_000_000)).await;
    assert_rejected(&mut h, &ixs, &[&e.keypair], LendingError::ActionPaused, &[m.sol.reserve, b.obligation]).await;
}

/// A reserve listed with the limit already on: its first deposits are credit on a capacity of
/// zero, which decays within a window like any credit, so from the next window the limit holds.
#[tokio::test]
async fn a_reserve_listed_with_the_limit_on_holds_from_its_first_window() {
    let (mut h, m) = market().await;
    let config = ReserveConfig { outflow_limit_bps: 1_000, outflow_window_secs: 3_600, ..usdc_config() };
    let (fresh, _) = h.init_reserve(&m.market, &m.owner, 6, USDC_PRICE, USDC_PRICE_EXPO, config).await;
    let user = Keypair::new();
    h.fund(&user.pubkey(), 10_000_000_000).await;
    let obligation = h.init_obligation(&m.market, &user).await;
    let account = h.create_token_account(&fresh.mint, &user.pubkey()).await;
    h.mint_to(&fresh.mint, &account, 100_000_000_000).await;
    h.must_send(&[deposit_ix(&m.market, &fresh, &obligation, &user.pubkey(), &account, 100_000_000_000)], &[&user]).await;
    let now = h.now().await;
    h.set_time(now + 3_600).await;
    let room_now = room(&mut h, &fresh.reserve).await;
    assert_eq!(room_now.capacity, 10_000_000_000, "10% of the liquidity on hand, once the first window is over");
    let state = h.reserve(&fresh.reserve).await;
    let withdraw = |shares| withdraw_ix(&m.market, &fresh, &obligation, &user.pubkey(), &account, shares);
    let half = state.shares_for_amount(50_000_000_000, Down).unwrap();
    assert_rejected(&mut h, &[withdraw(half)], &[&user], LendingError::OutflowLimitExceeded, &[fresh.reserve, obligation]).await;
    let tenth = state.shares_for_amount(room_now.available, Down).unwrap();
    h.must_send(&[withdraw(tenth)], &[&user]).await;
}

/// Policies out of range are refused at creation and later; a liquidation pause needs a policy
/// under which it expires.
#[tokio::test]
async fn policies_out_of_range_and_a_liquidation_pause_that_could_not_expire_are_refused() {
    let (mut h, m) = market().await;
    let owner = m.owner.pubkey();
    let keys = [m.market.market, m.sol.reserve];
    let ok = MarketPolicy { timelock_secs: DAY as u32, guardian_pause_secs: DAY as u32, listing_ramp_secs: 0, max_risk_step_bps: 500, padding: [0; 2] };
    let bad = [
        MarketPolicy { timelock_secs: 31 * DAY as u32, ..ok },
        MarketPolicy { guardian_pause_secs: 8 * DAY as u32, ..ok },
        MarketPolicy { listing_ramp_secs: 91 * DAY as u32, ..ok },
        MarketPolicy { max_risk_step_bps: 10_001, ..ok },
        MarketPolicy { padding: [1, 0], ..ok },
    ];
    for policy in bad {
        let ix = set_market_policy_ix(&m.market, &owner, policy);
        assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidMarketPolicy, &keys).await;
        let market = Keypair::new();
        let ix = init_lending_market_with_policy_ix(&owner, &market.pubkey(), &PYTH_PROGRAM_ID, &policy, &Pubkey::default());
        assert_rejected(&mut h, &[ix], &[&m.owner, &market], LendingError::InvalidMarketPolicy, &[market.pubkey()]).await;
    }
    // A guardian needs pauses that last: a policy with none is refused with one.
    let market = Keypair::new();
    let no_pause = MarketPolicy { guardian_pause_secs: 0, ..ok };
    let ix = init_lending_market_with_policy_ix(&owner, &market.pubkey(), &PYTH_PROGRAM_ID, &no_pause, &Keypair::new().pubkey());
    assert_rejected(&mut h, &[ix], &[&m.owner, &market], LendingError::InvalidMarketPolicy, &[market.pubkey()]).await;
    // Without a pause length (this market has no policy), liquidations cannot be paused at all;
    // other actions can.
    let ix = set_reserve_pause_ix(&m.market, &owner, &m.sol, ACTION_LIQUIDATE | ACTION_BORROW);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::LiquidationPauseNeedsExpiry, &keys).await;
    h.must_send(&[set_reserve_pause_ix(&m.market, &owner, &m.sol, ACTION_BORROW)], &[&m.owner]).await;
}
