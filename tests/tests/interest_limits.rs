//! Interest cannot brick a reserve, on the built .so: `validate` caps a rate curve at
//! `MAX_BORROW_RATE_BPS` (400% APR); a reserve left idle for ten years at that rate accrues
//! without overflow (growth stops at `MAX_RESERVE_DEBT`), and everything still works after:
//! refresh, repay, deposit, liquidation, write-off, and another decade.
use solvent::errors::LendingError;
use solvent::state::{ReserveConfig, MAX_BORROW_RATE_BPS, MAX_RESERVE_DEBT};
use solvent_tests::*;

const TEN_YEARS: i64 = 10 * 31_536_000;

#[tokio::test]
async fn ten_years_idle_at_the_maximum_rate() {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let owner = m.owner.pubkey();
    // A curve above the ceiling is refused; one at it is accepted.
    let over = ReserveConfig { rate_curve: kinked_curve(MAX_BORROW_RATE_BPS, 5_000, MAX_BORROW_RATE_BPS, MAX_BORROW_RATE_BPS + 1), ..usdc_config() };
    let keys = [m.usdc.reserve];
    assert_rejected(&mut h, &[update_config_ix(&m.market, &owner, &m.usdc, over)], &[&m.owner], LendingError::InvalidRateCurve, &keys).await;
    // All interest to the protocol, so that once the debt is written off nothing is left for
    // depositors: the reserve's claim is zero.
    let flat = ReserveConfig {
        rate_curve: kinked_curve(MAX_BORROW_RATE_BPS, 5_000, MAX_BORROW_RATE_BPS, MAX_BORROW_RATE_BPS),
        protocol_take_rate_bps: 10_000,
        ..usdc_config()
    };
    h.must_send(&[update_config_ix(&m.market, &owner, &m.usdc, flat)], &[&m.owner]).await;

    let b = &m.borrower;
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&b.keypair]).await;

    // Ten years at 400%: e^40 would take 1,000 USDC past what any token account holds.
    for decade in 1..=2 {
        let later = h.now().await + TEN_YEARS;
        h.set_time(later).await;
        h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
        h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
        let obligation = h.obligation(&b.obligation).await;
        let ixs = h.refresh_all_ixs(&b.obligation, &obligation, &[&m.sol, &m.usdc]);
        h.must_send(&ixs, &[]).await;
        let usdc = h.reserve(&m.usdc.reserve).await;
        assert!(usdc.borrowed_amount() <= MAX_RESERVE_DEBT && usdc.borrowed_amount().raw() > MAX_RESERVE_DEBT.raw() / 2, "decade {decade}: {:?}", usdc.borrowed_amount());
        let debt = h.obligation(&b.obligation).await.borrows[0].borrowed_amount();
        assert!(debt <= usdc.borrowed_amount(), "the obligation owes no more than the reserve records");
    }

    // Everything still works: a repayment, a deposit, the liquidation of the (now insolvent)
    // position, and the write-off of what no collateral covers.
    let ix = repay_ix(&m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 1_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    h.mint_to(&m.sol.mint, &b.sol_account, 1_000_000_000).await;
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, 1_000_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 1_000_000_000_000).await;
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 1_000_000_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    assert_eq!(h.obligation(&b.obligation).await.deposit_count(), 0, "an insolvent position is closed out");
    h.must_send(&[write_off_bad_debt_ix(&m.market, &m.usdc, &b.obligation)], &[]).await;
    assert!(!h.obligation(&b.obligation).await.has_borrows());
    assert_eq!(h.token_balance(&m.usdc.vault).await, h.reserve(&m.usdc.reserve).await.available_amount);

    // The protocol's claim absorbed what was left: depositors' claim is zero with shares still
    // outstanding. A deposit is refused with its own error instead of dividing by zero.
    let usdc = h.reserve(&m.usdc.reserve).await;
    assert!(usdc.total_liquidity().unwrap().is_zero() && usdc.collateral_supply > 0);
    let lender = &m.lender;
    h.mint_to(&m.usdc.mint, &lender.usdc_account, 1_000_000).await;
    let ix = deposit_ix(&m.market, &m.usdc, &lender.obligation, &lender.keypair.pubkey(), &lender.usdc_account, 1_000_000);
    let keys = [m.usdc.reserve, m.usdc.vault, lender.obligation, lender.usdc_account];
    assert_rejected(&mut h, &[ix], &[&lender.keypair], LendingError::ReserveValueWipedOut, &keys).await;
}
