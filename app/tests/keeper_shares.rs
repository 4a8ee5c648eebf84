//! The keeper against a fully borrowed collateral reserve, on the built .so: a short seller has
//! borrowed every idle SOL, SOL falls, and the keeper liquidates the SOL-collateral borrower
//! anyway, taking the seized SOL as shares of the SOL reserve; once the short is covered and
//! liquidity is back, its next pass redeems the shares for exactly what they are worth.
use solvent::math::Rounding;
use solvent_app::keeper::{Keeper};
use solvent_tests::*;

#[tokio::test]
async fn the_keeper_takes_shares_when_liquidity_is_short_and_redeems_them_later() {
    let (mut h, m) = Harness::market_with_usdc_debt(1_100_000_000).await;
    // The short seller takes every idle SOL.
    let shorter = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &shorter.usdc_account, 10_000_000_000).await;
    let ix = deposit_ix(&m.market, &m.usdc, &shorter.obligation, &shorter.keypair.pubkey(), &shorter.usdc_account, 10_000_000_000);
    h.must_send(&[ix], &[&shorter.keypair]).await;
    let idle = h.reserve(&m.sol.reserve).await.available_amount;
    let ix = borrow_ix(&m.market, &m.sol, &shorter.obligation, &shorter.keypair.pubkey(), &shorter.sol_account, idle);
    let ixs = h.with_refresh(&shorter.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&shorter.keypair]).await;

    // SOL falls to $120; the keeper holds USDC, a SOL account and a SOL-reserve share account.
    h.set_price(&m.sol.oracle, 12_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 10_000_000_000).await;
    let shares_account = h.create_token_account(&m.sol.collateral_mint, &liquidator.keypair.pubkey()).await;
    let accounts = [(m.usdc.mint, liquidator.usdc_account), (m.sol.mint, liquidator.sol_account), (m.sol.collateral_mint, shares_account)]
        .into_iter()
        .collect();
    let keeper = Keeper::new(m.market.market, liquidator.keypair.insecure_clone(), accounts);
    let report = keeper.run_pass(&mut InProcessChain { harness: &mut h }).await.expect("pass");
    assert_eq!(report.liquidated, 1);
    assert!(report.paid_in_shares >= 1, "{report}");
    assert_eq!(report.unhealthy_after, 0, "{report}");
    assert!(report.shares_redeemed.is_empty(), "nothing to redeem with while the reserve is drained");
    assert_eq!(h.token_balance(&liquidator.sol_account).await, 0);
    let shares = h.token_balance(&shares_account).await;
    assert!(shares > 0);

    // The short is covered: the next pass redeems the shares for what they are worth.
    let owed = h.obligation(&shorter.obligation).await.borrows[0].borrowed_amount().to_u64(Rounding::Up).unwrap();
    h.mint_to(&m.sol.mint, &shorter.sol_account, owed - idle).await;
    h.must_send(&[repay_ix(&m.sol, &shorter.obligation, &shorter.keypair.pubkey(), &shorter.sol_account, owed)], &[&shorter.keypair]).await;
    let worth = h.reserve(&m.sol.reserve).await.redeem_amount(shares).unwrap();
    let report = keeper.run_pass(&mut InProcessChain { harness: &mut h }).await.expect("pass");
    assert_eq!(report.shares_redeemed.len(), 1, "{report}");
    assert_eq!((report.shares_redeemed[0].shares, report.shares_redeemed[0].received), (shares, worth));
    assert_eq!(h.token_balance(&shares_account).await, 0);
    assert_eq!(h.token_balance(&liquidator.sol_account).await, worth);
    assert_eq!(h.token_balance(&m.sol.vault).await, h.reserve(&m.sol.reserve).await.available_amount);
}
