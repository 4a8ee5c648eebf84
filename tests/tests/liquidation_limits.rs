//! The market's liquidation limits on the built .so: a per-call cap in quote value, and dust
//! obligations liquidated in full past the close factor and the cap.
use solvent::errors::LendingError;
use solvent::math::Wad;
use solvent_tests::*;

/// The standard market with the borrower at 1,000 USDC of debt against 10 SOL, then SOL at $120:
/// $1,200 of collateral, $960 liquidation threshold, unhealthy. Returns the liquidator.
async fn unhealthy_market() -> (Harness, StandardMarket, TestUser) {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let b = &m.borrower;
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    h.set_price(&m.sol.oracle, 12_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 2_000_000_000).await;
    (h, m, liquidator)
}

async fn liquidate_all_allowed(h: &mut Harness, m: &StandardMarket, liquidator: &TestUser) -> u64 {
    let before = h.token_balance(&liquidator.usdc_account).await;
    let ix = liquidate_ix(&m.market, &m.borrower.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, u64::MAX);
    let ixs = h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    before - h.token_balance(&liquidator.usdc_account).await
}

#[tokio::test]
async fn one_call_repays_at_most_the_cap() {
    let (mut h, m, liquidator) = unhealthy_market().await;
    // Only the owner sets limits.
    let ix = set_liquidation_limits_ix(&m.market, &liquidator.keypair.pubkey(), 100, 0);
    assert_rejected(&mut h, &[ix], &[&liquidator.keypair], LendingError::InvalidMarketOwner, &[m.market.market]).await;
    h.must_send(&[set_liquidation_limits_ix(&m.market, &m.owner.pubkey(), 100, 0)], &[&m.owner]).await;
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
    h.must_send(&[set_liquidation_limits_ix(&m.market, &m.owner.pubkey(), 100, 2_000)], &[&m.owner]).await;
    assert_eq!(liquidate_all_allowed(&mut h, &m, &liquidator).await, 1_000_000_000);
    let obligation = h.obligation(&m.borrower.obligation).await;
    assert_eq!(obligation.borrow_count(), 0, "no debt is left behind");
    // 1,050 / 120 SOL seized; the borrower keeps the rest.
    assert_eq!(h.token_balance(&liquidator.sol_account).await, 8_750_000_000);
}
