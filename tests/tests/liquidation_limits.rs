//! The market's liquidation limits on the built .so: a per-call cap in quote value, and dust
//! obligations liquidated in full past the close factor and the cap.
use solvent::errors::LendingError;
use solvent::math::Wad;
use solvent::state::{protocol_share_of_bonus, quote_liquidation, LiquidationRequest};
use solvent_tests::*;

/// The standard market with the borrower at 1,000 USDC of debt against 10 SOL, then SOL at $120:
/// $1,200 of collateral, $960 liquidation threshold, unhealthy. Returns the liquidator.
async fn unhealthy_market() -> (Harness, StandardMarket, TestUser) {
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    h.set_price(&m.sol.oracle, 12_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 2_000_000_000).await;
    (h, m, liquidator)
}

/// The liquidator asks to repay all of the borrower's USDC debt for SOL.
fn liquidate_everything_ix(m: &StandardMarket, liquidator: &TestUser) -> Instruction {
    liquidate_ix(&m.market, &m.borrower.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, u64::MAX)
}

async fn liquidate_all_allowed(h: &mut Harness, m: &StandardMarket, liquidator: &TestUser) -> u64 {
    let before = h.token_balance(&liquidator.usdc_account).await;
    let ix = liquidate_everything_ix(m, liquidator);
    let ixs = h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    before - h.token_balance(&liquidator.usdc_account).await
}

#[tokio::test]
async fn one_call_repays_at_most_the_cap() {
    let (mut h, m, liquidator) = unhealthy_market().await;
    // Only the owner sets limits.
    let ix = set_liquidation_limits_ix(&m.market, &liquidator.keypair.pubkey(), 100, 0, 0);
    assert_rejected(&mut h, &[ix], &[&liquidator.keypair], LendingError::InvalidMarketOwner, &[m.market.market]).await;
    h.must_send(&[set_liquidation_limits_ix(&m.market, &m.owner.pubkey(), 100, 0, 0)], &[&m.owner]).await;
    let market = h.market(&m.market.market).await;
    assert_eq!((market.liquidation_cap_value, market.dust_value), (100, 0));

    // Asking for everything repays $100 (100 USDC at $1), not the 50% close factor ($500).
    assert_eq!(liquidate_all_allowed(&mut h, &m, &liquidator).await, 100_000_000);
    let debt = h.obligation(&m.borrower.obligation).await.borrows[0].borrowed_amount();
    assert_eq!(debt, Wad::from_u64(900_000_000));
    // And again: each call is bounded on its own.
    assert_eq!(liquidate_all_allowed(&mut h, &m, &liquidator).await, 100_000_000);
}

#[tokio::test]
async fn dust_obligations_are_liquidated_in_full() {
    let (mut h, m, liquidator) = unhealthy_market().await;
    // $1,000 of debt is below a $2,000 dust threshold: the whole debt goes in one call, past the
    // 50% close factor and the $100 cap; $1,000 × 1.05 = $1,050 of the $1,200 collateral covers it.
    h.must_send(&[set_liquidation_limits_ix(&m.market, &m.owner.pubkey(), 100, 2_000, 0)], &[&m.owner]).await;
    assert_eq!(liquidate_all_allowed(&mut h, &m, &liquidator).await, 1_000_000_000);
    let obligation = h.obligation(&m.borrower.obligation).await;
    assert_eq!(obligation.borrow_count(), 0, "no debt is left behind");
    // 1,050 / 120 SOL seized; the borrower keeps the rest.
    assert_eq!(h.token_balance(&liquidator.sol_account).await, 8_750_000_000);
}

/// What the program should do for `liquidate_everything_ix` right now, from a fresh refresh and
/// the program's own schedule and plan: the auction's bonus, the SOL the seized shares redeem for,
/// and the SOL reserve before.
struct ExpectedLiquidation {
    bonus_bps: u64,
    redeemed: u64,
    sol_before: solvent::state::Reserve,
}

async fn expected_liquidation(h: &mut Harness, m: &StandardMarket) -> ExpectedLiquidation {
    let b = &m.borrower;
    h.refresh_separately(&b.obligation, std::slice::from_ref(&m.sol), std::slice::from_ref(&m.usdc)).await;
    let obligation = h.obligation(&b.obligation).await;
    let (sol, usdc) = (h.reserve(&m.sol.reserve).await, h.reserve(&m.usdc.reserve).await);
    let now = h.now().await;
    let market = h.market(&m.market.market).await;
    let request = LiquidationRequest { borrow_slot: 0, deposit_index: 0, max_repay: u64::MAX, now, accept_shares: false, same_reserve: false };
    let quote = quote_liquidation(&market, &obligation, &usdc, &sol, request).unwrap();
    let bonus_bps = quote.bonus_bps;
    let plan = quote.plan;
    ExpectedLiquidation { bonus_bps, redeemed: sol.redeem_amount(plan.seized_shares).unwrap(), sol_before: sol }
}

/// Liquidates (up to the $100 cap) and checks the liquidator was paid at the auction's bonus;
/// returns that bonus and the SOL received.
async fn liquidate_at_auction_price(h: &mut Harness, m: &StandardMarket, liquidator: &TestUser) -> (u64, u64) {
    let expected = expected_liquidation(h, m).await;
    let before = h.token_balance(&liquidator.sol_account).await;
    let state = h.obligation(&m.borrower.obligation).await;
    h.must_send(&[with_position_reserves(liquidate_everything_ix(m, liquidator), &state)], &[&liquidator.keypair]).await;
    let received = h.token_balance(&liquidator.sol_account).await - before;
    assert_eq!(received, expected.redeemed, "the liquidator is paid at the auction's bonus");
    (expected.bonus_bps, received)
}

#[tokio::test]
async fn the_bonus_auction_rises_with_depth_and_time() {
    let (mut h, m, liquidator) = unhealthy_market().await;
    // SOL collateral: bonus from 5% up to 10% (threshold 80%: 1.10 × 0.8 <= 1), full after 10 minutes.
    let config = solvent::state::ReserveConfig { max_liquidation_bonus_bps: 1_000, liquidation_bonus_ramp_secs: 600, ..sol_config() };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.sol, config)], &[&m.owner]).await;
    h.must_send(&[set_liquidation_limits_ix(&m.market, &m.owner.pubkey(), 100, 0, 0)], &[&m.owner]).await;
    let start = h.now().await;

    // $1,000 of debt over $960 of threshold-weighted collateral: 4.17% deep, 42% of the depth
    // that earns the maximum, so 5% + 42% of 5% = 7.08%, at the first refresh.
    let (first_bonus, first_paid) = liquidate_at_auction_price(&mut h, &m, &liquidator).await;
    assert_eq!(h.obligation(&m.borrower.obligation).await.unhealthy_since, start, "the auction started at the first unhealthy refresh");
    assert_eq!(first_bonus, 708);
    // Five minutes later, still unhealthy: half the ramp on top of the depth (which the first
    // liquidation made shallower).
    h.set_time(start + 300).await;
    h.set_price(&m.sol.oracle, 12_000_000_000, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let (later_bonus, later_paid) = liquidate_at_auction_price(&mut h, &m, &liquidator).await;
    assert_eq!(h.obligation(&m.borrower.obligation).await.unhealthy_since, start, "the clock does not restart");
    assert!(later_bonus > first_bonus, "bonus {first_bonus} -> {later_bonus}");
    assert!(later_paid > first_paid, "the same $100 repay buys more collateral later");
    // Past the ramp: the maximum, never more.
    h.set_time(start + 10_000).await;
    h.set_price(&m.sol.oracle, 12_000_000_000, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let (max_bonus, _) = liquidate_at_auction_price(&mut h, &m, &liquidator).await;
    assert_eq!(max_bonus, 1_000);
    println!("auction bonus: {first_bonus} bps at the start, {later_bonus} after 5 minutes, {max_bonus} after the ramp");
}

#[tokio::test]
async fn the_protocol_keeps_its_share_of_the_bonus() {
    let (mut h, m, liquidator) = unhealthy_market().await;
    // Out of range: more than the whole bonus.
    let ix = set_liquidation_limits_ix(&m.market, &m.owner.pubkey(), 0, 0, 10_001);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidFee, &[m.market.market]).await;
    h.must_send(&[set_liquidation_limits_ix(&m.market, &m.owner.pubkey(), 0, 0, 4_000)], &[&m.owner]).await;
    let ExpectedLiquidation { bonus_bps, redeemed, sol_before: sol } = expected_liquidation(&mut h, &m).await;
    assert_eq!(bonus_bps, 500, "a fixed bonus without an auction");
    let protocol_fee = protocol_share_of_bonus(redeemed, bonus_bps, 4_000).unwrap();
    // $500 repaid at a 5% bonus seizes $525 of SOL; 40% of the $25 bonus is $10: 1/12 SOL.
    assert_eq!(protocol_fee, 83_333_333);

    let state = h.obligation(&m.borrower.obligation).await;
    h.must_send(&[with_position_reserves(liquidate_everything_ix(&m, &liquidator), &state)], &[&liquidator.keypair]).await;
    let after = h.reserve(&m.sol.reserve).await;
    assert_eq!(h.token_balance(&liquidator.sol_account).await, redeemed - protocol_fee);
    assert_eq!(after.accumulated_protocol_fees(), sol.accumulated_protocol_fees().checked_add(Wad::from_u64(protocol_fee)).unwrap());
    assert_eq!(after.available_amount, sol.available_amount - redeemed + protocol_fee);
    assert_eq!(h.token_balance(&m.sol.vault).await, after.available_amount, "the fee stays in the vault");
}

#[tokio::test]
async fn one_reserve_can_be_repaid_and_seized_in_one_call() {
    // The borrower also deposits 1,000 USDC and borrows USDC against both: at SOL $120 the
    // liquidator repays USDC and takes USDC collateral, through the same reserve account.
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let b = &m.borrower;
    h.mint_to(&m.usdc.mint, &b.usdc_account, 1_000_000_000).await;
    let ix = deposit_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_800_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    // At SOL $100 the threshold-weighted collateral is $1,000 × 80% + $1,000 × 90% = $1,700,
    // below the $1,800 of debt.
    h.set_price(&m.sol.oracle, 10_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 2_000_000_000).await;
    h.refresh_separately(&b.obligation, &[m.sol.clone(), m.usdc.clone()], &[]).await;
    let obligation = h.obligation(&b.obligation).await;
    assert!(obligation.values().is_unhealthy());
    let usdc_index = obligation.find_deposit(&to_anchor(&m.usdc.reserve)).unwrap();
    let shares_before = obligation.deposits[usdc_index].deposited_shares;
    let usdc = h.reserve(&m.usdc.reserve).await;

    let before = h.token_balance(&liquidator.usdc_account).await;
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.usdc, &liquidator.usdc_account, 100_000_000);
    h.must_send(&[with_position_reserves(ix, &obligation)], &[&liquidator.keypair]).await;
    // 100 USDC repaid for 104 USDC of collateral (4% bonus, no protocol share): 4 USDC net.
    assert_eq!(h.token_balance(&liquidator.usdc_account).await - before, 4_000_000);
    let after = h.reserve(&m.usdc.reserve).await;
    assert_eq!(after.available_amount, usdc.available_amount + 100_000_000 - 104_000_000);
    assert_eq!(h.token_balance(&m.usdc.vault).await, after.available_amount);
    let obligation = h.obligation(&b.obligation).await;
    assert_eq!(shares_before - obligation.deposits[usdc_index].deposited_shares, usdc.collateral_shares_for_deposit(104_000_000).unwrap());
}
