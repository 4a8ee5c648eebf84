//! Bad debt on the built .so: SOL falls 67% in one step, liquidation takes all the collateral
//! and leaves debt with nothing behind it; the permissionless write-off removes that debt from
//! the USDC reserve, so its depositors' share price falls by exactly that amount and nothing else
//! in the market changes. Every refusal is checked first.
use solvent::errors::LendingError;
use solvent::math::{Rounding, Wad};
use solvent_tests::*;

#[tokio::test]
async fn debt_left_without_collateral_is_written_off_against_depositors() {
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    let b = &m.borrower;

    // SOL $150 -> $50: 10 SOL ($500) behind $1,000 of debt. Half the debt with the 5% bonus
    // would need $525 of collateral, so the liquidation takes all of it and repays less.
    h.set_price(&m.sol.oracle, 5_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 1_000_000_000).await;
    let liquidate = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, u64::MAX);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], liquidate).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    let obligation = h.obligation(&b.obligation).await;
    assert_eq!(obligation.deposit_count(), 0, "the liquidation took all the collateral");
    let debt = obligation.borrows[0].borrowed_amount();
    assert!(debt > Wad::from_u64(500_000_000), "about $524 of debt is left");

    // Refusals, each changing nothing.
    let keys = [m.usdc.reserve, m.sol.reserve, b.obligation, m.lender.obligation];
    let ix = write_off_bad_debt_ix(&m.market, &m.usdc, &m.lender.obligation);
    assert_rejected(&mut h, &[ix], &[], LendingError::ObligationHasCollateral, &keys).await;
    let ix = write_off_bad_debt_ix(&m.market, &m.sol, &b.obligation);
    assert_rejected(&mut h, &[ix], &[], LendingError::BorrowNotFound, &keys).await;
    let other_owner = Keypair::new();
    h.fund(&other_owner.pubkey(), 100_000_000_000).await;
    let (other_market, _) = h.init_market(&other_owner).await;
    let (other_usdc, _) = h.init_reserve(&other_market, &other_owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;
    let ix = write_off_bad_debt_ix(&m.market, &other_usdc, &b.obligation);
    assert_rejected(&mut h, &[ix], &[], LendingError::InvalidMarket, &keys).await;
    // The write-off: anyone may send it, even while the market is paused; no price is read.
    h.must_send(&[set_paused_ix(&m.market, &m.owner.pubkey(), true)], &[&m.owner]).await;
    let before = h.reserve(&m.usdc.reserve).await;
    let sol_before = h.snapshot(&[m.sol.reserve, m.lender.obligation]).await;
    let vault_before = h.token_balance(&m.usdc.vault).await;
    let lender_shares = h.obligation(&m.lender.obligation).await.deposits[0].deposited_shares;
    let lender_claim_before = before.liquidity_for_shares(lender_shares, Rounding::Down).unwrap();
    let units = h.must_send(&[write_off_bad_debt_ix(&m.market, &m.usdc, &b.obligation)], &[]).await;
    let after = h.reserve(&m.usdc.reserve).await;

    assert_eq!(h.obligation(&b.obligation).await.borrow_count(), 0, "the debt is gone");
    assert_eq!(after.borrowed_amount(), before.borrowed_amount().checked_sub(debt).unwrap());
    assert_eq!(after.total_liquidity().unwrap(), before.total_liquidity().unwrap().checked_sub(debt).unwrap());
    assert_eq!(after.accumulated_protocol_fees(), before.accumulated_protocol_fees(), "the fees are still covered");
    assert_eq!(after.available_amount, before.available_amount);
    assert_eq!(after.collateral_supply, before.collateral_supply);
    assert_eq!(h.token_balance(&m.usdc.vault).await, vault_before, "no token moves");
    assert_eq!(h.snapshot(&[m.sol.reserve, m.lender.obligation]).await, sol_before, "nothing else changes");
    // The lender holds every USDC share but the first deposit's dead ones, so the lender's claim
    // falls by the debt × its part of the supply; the dead shares bear the rest.
    assert_eq!(lender_shares + solvent::state::DEAD_SHARES, after.collateral_supply);
    let lender_claim_after = after.liquidity_for_shares(lender_shares, Rounding::Down).unwrap();
    let loss = lender_claim_before.checked_sub(lender_claim_after).unwrap();
    let lender_part = solvent::math::mul_div(debt.raw(), lender_shares as u128, after.collateral_supply as u128, Rounding::Down).unwrap();
    assert!(loss.raw().abs_diff(lender_part) <= 1, "loss {loss:?} vs the lender's part {lender_part} of debt {debt:?}");
    println!(
        "bad debt written off: {:.6} USDC ({units} CU); the lender's claim fell from {:.6} to {:.6} USDC",
        wad_to_f64(debt) / 1e6,
        wad_to_f64(lender_claim_before) / 1e6,
        wad_to_f64(lender_claim_after) / 1e6
    );
    check_compute_budget(&[("write_off_bad_debt".to_string(), units)]);

    // Nothing left to write off.
    let ix = write_off_bad_debt_ix(&m.market, &m.usdc, &b.obligation);
    assert_rejected(&mut h, &[ix], &[], LendingError::BorrowNotFound, &[m.usdc.reserve, b.obligation]).await;
}
