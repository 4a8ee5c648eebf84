//! The core scenario on the built .so: deposit, borrow exactly to the LTV, accrue interest,
//! repay in part and in full, a price drop, a liquidation. Every balance is asserted to the base
//! unit against values computed here from the spec, not by calling the program's math.
use solvent::errors::LendingError;
use solvent::math::WAD;
use solvent_tests::*;

const SECONDS_PER_YEAR: f64 = 31_536_000.0;

#[tokio::test]
async fn core_lending_scenario() {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let mut compute_units = m.compute_units.clone();
    let (sol, usdc) = (m.sol.clone(), m.usdc.clone());
    let borrower = &m.borrower;
    let borrower_key = borrower.keypair.pubkey();

    // Deposits credited 1:1 shares on first deposit.
    let sol_reserve = h.reserve(&sol.reserve).await;
    assert_eq!(sol_reserve.available_amount, BORROWER_SOL_DEPOSIT);
    assert_eq!(sol_reserve.collateral_supply, BORROWER_SOL_DEPOSIT);
    assert_eq!(h.token_balance(&sol.vault).await, BORROWER_SOL_DEPOSIT);
    assert_eq!(h.token_balance(&usdc.vault).await, LENDER_USDC_DEPOSIT);

    // Each step as its own transaction in the same slot, so each instruction's units are its own.
    compute_units.push(("refresh_reserve".into(), h.must_send(&[refresh_reserve_ix(&sol)], &[]).await));
    h.must_send(&[refresh_reserve_ix(&usdc)], &[]).await;
    let units = h.must_send(&[refresh_obligation_ix(&m.market.market, &borrower.obligation, &[sol.reserve])], &[]).await;
    compute_units.push(("refresh_obligation (1 position)".into(), units));

    // The first deposit leaves DEAD_SHARES to nobody: the borrower holds 10 SOL less 1,000
    // lamports, at $150 with 75% LTV 1,124.9998875 USDC may be borrowed (USDC is exactly $1).
    let held = BORROWER_SOL_DEPOSIT - solvent::state::DEAD_SHARES;
    assert_eq!(h.obligation(&borrower.obligation).await.deposits[0].deposited_shares, held);
    let max_borrow: u64 = (held as u128 * 150 * 7_500 / 10_000 / 1_000) as u64;
    assert_eq!(max_borrow, 1_124_999_887);
    // borrow, withdraw and liquidate take the obligation's position reserves (to check none
    // changed since its refresh).
    let state = h.obligation(&borrower.obligation).await;
    let over = borrow_ix(&m.market, &usdc, &borrower.obligation, &borrower_key, &borrower.usdc_account, max_borrow + 1);
    let over = h.send(&[with_position_reserves(over, &state)], &[&borrower.keypair]).await;
    assert_eq!(over.custom_error(), Some(error_code(LendingError::BorrowTooLarge)), "{:?}", over.logs);
    let ix = with_position_reserves(borrow_ix(&m.market, &usdc, &borrower.obligation, &borrower_key, &borrower.usdc_account, max_borrow), &state);
    compute_units.push(("borrow".into(), h.must_send(&[ix], &[&borrower.keypair]).await));
    // 10 bps origination fee, rounded up, stays in the vault as protocol fees.
    let fee = (max_borrow as u128 * 10).div_ceil(10_000) as u64;
    assert_eq!(h.token_balance(&borrower.usdc_account).await, max_borrow - fee);
    assert_eq!(h.token_balance(&usdc.vault).await, LENDER_USDC_DEPOSIT - (max_borrow - fee));
    let usdc_reserve = h.reserve(&usdc.reserve).await;
    assert_eq!(usdc_reserve.borrowed_amount().raw(), max_borrow as u128 * WAD);
    assert_eq!(usdc_reserve.accumulated_protocol_fees().raw(), fee as u128 * WAD);

    // Interest: 30 days at the curve's rate for this utilization, compounded per second.
    let utilization = max_borrow as f64 / (LENDER_USDC_DEPOSIT + fee) as f64;
    let annual_rate_bps = 400.0 + (1_500.0 - 400.0) * utilization / 0.8;
    let elapsed = 30 * 86_400;
    // exp(n·ln1p(r)) keeps f64's full precision where (1 + r)^n would round 1 + r first.
    let growth = (elapsed as f64 * (annual_rate_bps / 10_000.0 / SECONDS_PER_YEAR).ln_1p()).exp();
    let expected_debt = max_borrow as f64 * growth;
    let start = h.now().await;
    h.set_time(start + elapsed as i64).await;
    h.set_price(&sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
    h.set_price(&usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let ixs = vec![
        refresh_reserve_ix(&sol),
        refresh_reserve_ix(&usdc),
        refresh_obligation_ix(&m.market.market, &borrower.obligation, &[sol.reserve, usdc.reserve]),
    ];
    let units = h.must_send(&ixs, &[]).await;
    compute_units.push(("refresh 2 reserves + obligation (2 positions)".into(), units));
    let obligation = h.obligation(&borrower.obligation).await;
    let debt = obligation.borrows[0].borrowed_amount();
    let debt_ceiling = debt.raw().div_ceil(WAD) as u64;
    assert_eq!(debt_ceiling, expected_debt.ceil() as u64, "debt {debt:?} vs expected {expected_debt}");
    assert!(debt_ceiling > max_borrow);
    let index = h.reserve(&usdc.reserve).await.cumulative_borrow_index();
    let index_f64 = index.raw() as f64 / WAD as f64;
    // The program rounds the per-second rate and every squaring up at 18 decimals: its index is
    // at or above the exact growth, by at most about 2 × elapsed × 1e-18.
    let bound = 2.0 * elapsed as f64 * 1e-18 + 1e-15;
    assert!(index_f64 >= growth - 1e-15 && index_f64 - growth <= bound, "index {index_f64} vs growth {growth}");

    // Partial repay of 500 USDC: exactly 500 USDC moves and the debt falls by exactly that.
    h.mint_to(&usdc.mint, &borrower.usdc_account, 100_000_000).await; // to cover interest and fee
    let wallet_before = h.token_balance(&borrower.usdc_account).await;
    let vault_before = h.token_balance(&usdc.vault).await;
    let ix = repay_ix(&usdc, &borrower.obligation, &borrower_key, &borrower.usdc_account, 500_000_000);
    compute_units.push(("repay".into(), h.must_send(&[ix], &[&borrower.keypair]).await));
    assert_eq!(h.token_balance(&borrower.usdc_account).await, wallet_before - 500_000_000);
    assert_eq!(h.token_balance(&usdc.vault).await, vault_before + 500_000_000);
    let remaining = h.obligation(&borrower.obligation).await.borrows[0].borrowed_amount();
    assert_eq!(remaining.raw(), debt.raw() - 500_000_000 * WAD);

    // Repaying more than owed repays the debt rounded up, and closes the position.
    let owed = remaining.raw().div_ceil(WAD) as u64;
    let wallet_before = h.token_balance(&borrower.usdc_account).await;
    let ix = repay_ix(&usdc, &borrower.obligation, &borrower_key, &borrower.usdc_account, u64::MAX);
    h.must_send(&[ix], &[&borrower.keypair]).await;
    assert_eq!(h.token_balance(&borrower.usdc_account).await, wallet_before - owed);
    assert_eq!(h.obligation(&borrower.obligation).await.borrow_count(), 0);

    // Borrow 1,100 USDC again; a healthy obligation cannot be liquidated.
    let liquidator = h.new_user(&m.market, &sol, &usdc).await;
    h.mint_to(&usdc.mint, &liquidator.usdc_account, 10_000_000_000).await;
    let borrow = borrow_ix(&m.market, &usdc, &borrower.obligation, &borrower_key, &borrower.usdc_account, 1_100_000_000);
    let ixs = h.with_refresh(&borrower.obligation, &[&sol, &usdc], borrow).await;
    h.must_send(&ixs, &[&borrower.keypair]).await;
    let liquidate = liquidate_ix(
        &m.market,
        &borrower.obligation,
        &liquidator.keypair.pubkey(),
        &usdc,
        &liquidator.usdc_account,
        &sol,
        &liquidator.sol_account,
        u64::MAX,
    );
    let ixs = h.with_refresh(&borrower.obligation, &[&sol, &usdc], liquidate.clone()).await;
    let healthy = h.send(&ixs, &[&liquidator.keypair]).await;
    assert_eq!(healthy.custom_error(), Some(error_code(LendingError::ObligationHealthy)));

    // SOL falls to $130: 10 SOL × $130 × 80% = $1,040 < $1,100 borrowed.
    h.set_price(&sol.oracle, 13_000_000_000, 0, SOL_PRICE_EXPO).await;
    let ixs = h.with_refresh(&borrower.obligation, &[&sol, &usdc], liquidate.clone()).await;
    let refresh_only = &ixs[..ixs.len() - 1];
    h.must_send(refresh_only, &[]).await;
    let before = h.obligation(&borrower.obligation).await;
    assert!(before.values().is_unhealthy());
    let debt_before = before.borrows[0].borrowed_amount();
    assert_eq!(debt_before.raw(), 1_100_000_000 * WAD);
    let liquidator_usdc = h.token_balance(&liquidator.usdc_account).await;
    let liquidate = with_position_reserves(liquidate, &before);
    compute_units.push(("liquidate".into(), h.must_send(&[liquidate], &[&liquidator.keypair]).await));

    // Close factor 50%: 550 USDC repaid; collateral worth $550 × 1.05 = $577.50 seized, of the
    // position's held × $130 (577.50 / 130 SOL: the share count cancels).
    let repaid = 550_000_000u64;
    let seized_shares = (57_750u128 * 1_000_000_000 / 13_000) as u64;
    assert_eq!(seized_shares, 4_442_307_692);
    assert_eq!(h.token_balance(&liquidator.usdc_account).await, liquidator_usdc - repaid);
    assert_eq!(h.token_balance(&liquidator.sol_account).await, seized_shares); // shares are 1:1 with SOL here
    let after = h.obligation(&borrower.obligation).await;
    assert_eq!(after.borrows[0].borrowed_amount().raw(), (1_100_000_000 - repaid) as u128 * WAD);
    assert_eq!(after.deposits[0].deposited_shares, held - seized_shares);
    assert_eq!(h.token_balance(&sol.vault).await, BORROWER_SOL_DEPOSIT - seized_shares);
    assert_eq!(h.reserve(&sol.reserve).await.available_amount, BORROWER_SOL_DEPOSIT - seized_shares);

    // Withdraw what is left of the lender's position is still possible (no borrows on it).
    let lender = &m.lender;
    let vault = h.token_balance(&usdc.vault).await;
    let ix = withdraw_ix(&m.market, &usdc, &lender.obligation, &lender.keypair.pubkey(), &lender.usdc_account, 1_000_000_000);
    compute_units.push(("withdraw".into(), h.must_send(&[ix], &[&lender.keypair]).await));
    let received = h.token_balance(&lender.usdc_account).await;
    assert!(received >= 1_000_000_000, "shares appreciated with interest: {received}");
    assert_eq!(h.token_balance(&usdc.vault).await, vault - received);

    // Protocol fees: anyone moves them to the fee vault; only the owner takes them out.
    let reserve = h.reserve(&usdc.reserve).await;
    let fees = (reserve.accumulated_protocol_fees().raw() / WAD) as u64;
    assert!(fees > fee);
    let ix = collect_fees_ix(&m.market, &usdc);
    compute_units.push(("collect_protocol_fees".into(), h.must_send(&[ix], &[]).await));
    assert_eq!(h.token_balance(&usdc.fee_vault).await, fees);
    assert_eq!(h.reserve(&usdc.reserve).await.accumulated_protocol_fees().raw(), reserve.accumulated_protocol_fees().raw() - fees as u128 * WAD);
    let receiver = h.create_token_account(&usdc.mint, &m.owner.pubkey()).await;
    let ix = withdraw_fees_ix(&m.market, &m.owner.pubkey(), &usdc, &receiver, u64::MAX);
    compute_units.push(("withdraw_protocol_fees".into(), h.must_send(&[ix], &[&m.owner]).await));
    assert_eq!(h.token_balance(&receiver).await, fees);
    assert_eq!(h.token_balance(&usdc.fee_vault).await, 0);

    // Lend-only: share tokens for liquidity, worth more after interest, redeemed rounded down.
    let saver = h.new_user(&m.market, &sol, &usdc).await;
    let saver_key = saver.keypair.pubkey();
    let shares_account = h.create_token_account(&usdc.collateral_mint, &saver_key).await;
    h.mint_to(&usdc.mint, &saver.usdc_account, 1_000_000_000).await;
    let before = h.reserve(&usdc.reserve).await;
    let total = before.total_liquidity().unwrap().raw();
    let expected_shares = (1_000_000_000u128 * WAD * before.collateral_supply as u128 / total) as u64;
    let ix = deposit_reserve_liquidity_ix(&m.market, &usdc, &saver_key, &saver.usdc_account, &shares_account, 1_000_000_000);
    compute_units.push(("deposit_reserve_liquidity".into(), h.must_send(&[ix], &[&saver.keypair]).await));
    assert_eq!(h.token_balance(&shares_account).await, expected_shares);
    assert!(expected_shares < 1_000_000_000, "shares are worth more than 1 USDC after interest");
    let mint_data = h.account(&usdc.collateral_mint).await.unwrap().data;
    assert_eq!(mint_supply(&mint_data), expected_shares);
    let after = h.reserve(&usdc.reserve).await;
    assert_eq!(after.collateral_supply, before.collateral_supply + expected_shares);
    let ix = redeem_reserve_collateral_ix(&m.market, &usdc, &saver_key, &shares_account, &saver.usdc_account, expected_shares);
    compute_units.push(("redeem_reserve_collateral".into(), h.must_send(&[ix], &[&saver.keypair]).await));
    let returned = h.token_balance(&saver.usdc_account).await;
    assert!((999_999_999..=1_000_000_000).contains(&returned), "redeemed {returned}");
    assert_eq!(h.token_balance(&shares_account).await, 0);
    assert_eq!(mint_supply(&h.account(&usdc.collateral_mint).await.unwrap().data), 0);

    println!("\ncompute units (built .so in solana-program-test 4.4, SPL Token = p-token):");
    println!("| instruction | compute units |\n|---|---:|");
    for (name, units) in &compute_units {
        println!("| {name} | {units} |");
    }
    check_compute_budget(&compute_units);
}
