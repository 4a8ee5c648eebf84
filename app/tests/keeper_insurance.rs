//! The keeper's write-off path with an insurance fund, on the built .so: SOL falls 67%, the
//! keeper liquidates the collateral, writes off the rest and settles the fund's payment in the
//! same transaction, and reports how much the fund bore and how much fell on depositors.
use solvent::math::Wad;
use solvent_app::keeper::Keeper;
use solvent_tests::*;

#[tokio::test]
async fn the_keeper_reports_what_the_fund_and_the_depositors_bore() {
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    h.must_send(&[init_insurance_fund_ix(&m.market, &m.owner.pubkey(), &m.usdc, 86_400, 10_000)], &[&m.owner]).await;
    let usdc = ReserveKeys::from_state(m.usdc.reserve, &h.reserve(&m.usdc.reserve).await);
    // $300 staked: the fund covers part of the ~$524 the crash leaves.
    let staker = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &staker.usdc_account, 300_000_000).await;
    h.must_send(&[stake_insurance_ix(&usdc, &staker.keypair.pubkey(), &staker.usdc_account, 300_000_000)], &[&staker.keypair]).await;
    h.set_price(&m.sol.oracle, 5_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 10_000_000_000).await;
    let accounts = [(m.usdc.mint, liquidator.usdc_account), (m.sol.mint, liquidator.sol_account)].into_iter().collect();
    let keeper = Keeper::new(m.market.market, liquidator.keypair.insecure_clone(), accounts);
    let report = keeper.run_pass(&mut InProcessChain { harness: &mut h }).await.expect("keeper pass");
    println!("{report}");
    assert_eq!(report.written_off, 1);
    assert_eq!(report.insurance_paid_value, Wad::from_u64(300), "the fund paid all it had ($300)");
    assert!(report.bad_debt_value > report.insurance_paid_value, "the rest fell on depositors");
    let fund = solvent_client::decode_insurance_fund(&h.account(&usdc.insurance.unwrap().0).await.unwrap().data).unwrap();
    assert_eq!((fund.assets, fund.owed_to_reserve), (0, 0), "paid and settled");
    assert_eq!(h.reserve(&m.usdc.reserve).await.insurance_receivable, 0);
}
