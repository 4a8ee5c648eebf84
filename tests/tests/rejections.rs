//! Every bad input is refused with its own error code and changes nothing: each case snapshots
//! the reserves, obligation, vaults and users' token accounts before and after.
use pyth_sdk_solana::state::PriceStatus;
use solvent::errors::LendingError;
use solvent::state::ReserveConfig;
use solvent_tests::*;
use solvent::state::HealthKind;

/// The standard market with the borrower holding 500 USDC of debt against 10 SOL.
async fn market_with_debt() -> (Harness, StandardMarket) {
    Harness::market_with_usdc_debt(500_000_000).await
}

fn watched(m: &StandardMarket) -> Vec<Pubkey> {
    vec![
        m.market.market,
        m.sol.reserve,
        m.usdc.reserve,
        m.sol.vault,
        m.usdc.vault,
        m.borrower.obligation,
        m.lender.obligation,
        m.borrower.sol_account,
        m.borrower.usdc_account,
        m.lender.usdc_account,
    ]
}

#[tokio::test]
async fn wrong_signers_are_rejected() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let stranger = Keypair::new();
    h.fund(&stranger.pubkey(), 1_000_000_000).await;
    // Admin instructions by someone other than the market owner.
    // (A config change may also come from the guardian, so its refusal says neither.)
    let ix = update_config_ix(&m.market, &stranger.pubkey(), &m.usdc, usdc_config());
    assert_rejected(&mut h, &[ix], &[&stranger], LendingError::NotOwnerOrGuardian, &keys).await;
    let ix = set_paused_ix(&m.market, &stranger.pubkey(), true);
    assert_rejected(&mut h, &[ix], &[&stranger], LendingError::InvalidMarketOwner, &keys).await;
    let receiver = h.create_token_account(&m.usdc.mint, &stranger.pubkey()).await;
    h.must_send(&[collect_fees_ix(&m.market, &m.usdc)], &[]).await; // anyone may move fees to the fee vault
    let mut keys_with_fees = watched(&m);
    keys_with_fees.extend([m.usdc.fee_vault, receiver]);
    let ix = withdraw_fees_ix(&m.market, &stranger.pubkey(), &m.usdc, &receiver, u64::MAX);
    assert_rejected(&mut h, &[ix], &[&stranger], LendingError::InvalidMarketOwner, &keys_with_fees).await;
    // The owner's withdrawal from another reserve's fee vault.
    let mut ix = withdraw_fees_ix(&m.market, &m.owner.pubkey(), &m.usdc, &receiver, u64::MAX);
    ix.accounts[4].pubkey = m.sol.fee_vault;
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidFeeVault, &keys_with_fees).await;
    let keys = watched(&m);
    // Borrowing and withdrawing against someone else's obligation.
    let b = &m.borrower;
    let stranger_usdc = h.create_token_account(&m.usdc.mint, &stranger.pubkey()).await;
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &stranger.pubkey(), &stranger_usdc, 1_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs[ixs.len() - 1..], &[&stranger], LendingError::InvalidObligationOwner, &keys).await;
    let stranger_sol = h.create_token_account(&m.sol.mint, &stranger.pubkey()).await;
    let ix = withdraw_ix(&m.market, &m.sol, &b.obligation, &stranger.pubkey(), &stranger_sol, 1);
    assert_rejected(&mut h, &[ix], &[&stranger], LendingError::InvalidObligationOwner, &keys).await;
}

#[tokio::test]
async fn substituted_accounts_are_rejected() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let b = &m.borrower;
    let owner = b.keypair.pubkey();

    // The USDC vault passed as the SOL reserve's vault.
    let mut ix = deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000);
    ix.accounts[5].pubkey = m.usdc.vault;
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidLiquidityVault, &keys).await;
    // The USDC mint passed as the SOL reserve's mint.
    let mut ix = deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000);
    ix.accounts[4].pubkey = m.usdc.mint;
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidLiquidityMint, &keys).await;
    // A source token account of another mint.
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.usdc_account, 1_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidLiquidityMint, &keys).await;
    // Another oracle for a reserve (even a valid Pyth account with the same price).
    let rogue_oracle = Keypair::new().pubkey();
    h.set_price(&rogue_oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
    let mut ix = refresh_reserve_ix(&m.sol);
    ix.accounts[1].pubkey = rogue_oracle;
    assert_rejected(&mut h, &[ix], &[], LendingError::InvalidOracleAccount, &keys).await;
    // The recorded oracle address, but now owned by another program.
    let bytes = pyth_price_account(SOL_PRICE, 0, SOL_PRICE_EXPO, h.now().await, PriceStatus::Trading);
    h.set_account(&m.sol.oracle, &TOKEN_PROGRAM_ID, bytes);
    assert_rejected(&mut h, &[refresh_reserve_ix(&m.sol)], &[], LendingError::InvalidOracleOwner, &keys).await;
    h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;

    // A reserve of another market, with its own vault and mint, used against this obligation.
    let other_owner = Keypair::new();
    h.fund(&other_owner.pubkey(), 10_000_000_000).await;
    let (other_market, _) = h.init_market(&other_owner).await;
    let (other_usdc, _) = h.init_reserve(&other_market, &other_owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;
    let mut ix = borrow_ix(&m.market, &other_usdc, &b.obligation, &owner, &b.usdc_account, 1_000);
    ix.accounts[0].pubkey = m.market.market;
    let ixs = vec![refresh_reserve_ix(&other_usdc), ix];
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::InvalidMarket, &keys).await;
    // Repaying through another market's reserve.
    let other_source = h.create_token_account(&other_usdc.mint, &owner).await;
    h.mint_to(&other_usdc.mint, &other_source, 1_000).await;
    let mut keys_other = keys.clone();
    keys_other.extend([other_source, other_usdc.reserve, other_usdc.vault]);
    let ix = repay_ix(&other_usdc, &b.obligation, &owner, &other_source, 1_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidMarket, &keys_other).await;
    // A refresh that passes another reserve in place of a position's reserve.
    let ix = refresh_obligation_ix(&m.market.market, &b.obligation, &[m.sol.reserve, other_usdc.reserve]);
    let ixs = vec![refresh_reserve_ix(&m.sol), refresh_reserve_ix(&other_usdc), ix];
    assert_rejected(&mut h, &ixs, &[], LendingError::ObligationReservesMismatch, &keys).await;
    // Liquidation paying into another reserve's vault.
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let mut ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 1);
    ix.accounts[5].pubkey = other_usdc.vault;
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::InvalidLiquidityVault, &keys).await;
}

#[tokio::test]
async fn bad_prices_are_rejected() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let oracle = m.sol.oracle;
    let now = h.now().await;
    let cases = [
        (SOL_PRICE, 0, now - 61, PriceStatus::Trading, LendingError::OraclePriceStale),
        (0, 0, now, PriceStatus::Trading, LendingError::OraclePriceNotPositive),
        (-SOL_PRICE, 0, now, PriceStatus::Trading, LendingError::OraclePriceNotPositive),
        // 2.01% confidence against a 2% limit.
        (SOL_PRICE, SOL_PRICE as u64 / 10_000 * 201, now, PriceStatus::Trading, LendingError::OraclePriceTooUncertain),
        (SOL_PRICE, 0, now, PriceStatus::Halted, LendingError::OraclePriceNotTrading),
    ];
    for (price, conf, time, status, error) in cases {
        h.set_price_at(&oracle, price, conf, SOL_PRICE_EXPO, time, status);
        assert_rejected(&mut h, &[refresh_reserve_ix(&m.sol)], &[], error, &keys).await;
    }
    h.set_price_at(&oracle, SOL_PRICE, 0, -19, now, PriceStatus::Trading);
    assert_rejected(&mut h, &[refresh_reserve_ix(&m.sol)], &[], LendingError::OracleExponentOutOfRange, &keys).await;
    // Exactly at the limits is accepted: 60 s old, 2.00% confidence.
    h.set_price_at(&oracle, SOL_PRICE, SOL_PRICE as u64 / 50, SOL_PRICE_EXPO, now - 60, PriceStatus::Trading);
    h.must_send(&[refresh_reserve_ix(&m.sol)], &[]).await;
}

#[tokio::test]
async fn stale_state_is_rejected() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    let now = h.now().await;
    h.set_time(now + 10).await; // a new slot: nothing is fresh any more
    h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000);
    // Nothing refreshed: the obligation's freshness is checked first.
    assert_rejected(&mut h, std::slice::from_ref(&borrow), &[&b.keypair], LendingError::ObligationStale, &keys).await;
    // Reserves fresh, obligation not refreshed in this slot.
    let ixs = vec![refresh_reserve_ix(&m.sol), refresh_reserve_ix(&m.usdc), borrow.clone()];
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::ObligationStale, &keys).await;
    let withdraw = withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000);
    let ixs = vec![refresh_reserve_ix(&m.sol), refresh_reserve_ix(&m.usdc), withdraw];
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::ObligationStale, &keys).await;
    // The obligation cannot be refreshed against a reserve that is not fresh.
    let ixs = vec![refresh_reserve_ix(&m.sol), refresh_obligation_ix(&m.market.market, &b.obligation, &[m.sol.reserve, m.usdc.reserve])];
    assert_rejected(&mut h, &ixs, &[], LendingError::ReserveStale, &keys).await;
    // A deposit after the refresh makes the cached values stale again.
    h.mint_to(&m.sol.mint, &b.sol_account, 1_000).await;
    let keys = watched(&m);
    let mut ixs = h.with_refresh_separately(&b.obligation, &[&m.sol, &m.usdc], borrow.clone()).await;
    ixs.insert(ixs.len() - 1, deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000));
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::ObligationStale, &keys).await;
    // Revalued inline, the same deposit before the borrow is counted and the borrow goes through.
    let mut ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow.clone()).await;
    assert_eq!(ixs.len(), 1, "borrow revalues inline");
    ixs.insert(0, deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000));
    h.must_send(&ixs, &[&b.keypair]).await;
}

#[tokio::test]
async fn zero_amounts_are_rejected() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    let cases = [
        deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 0),
        withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 0),
        borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 0),
        repay_ix(&m.usdc, &b.obligation, &owner, &b.usdc_account, 0),
    ];
    for ix in cases {
        assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::ZeroAmount, &keys).await;
    }
    let shares = h.create_token_account(&m.usdc.collateral_mint, &owner).await;
    let ix = deposit_reserve_liquidity_ix(&m.market, &m.usdc, &owner, &b.usdc_account, &shares, 0);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::ZeroAmount, &keys).await;
    let ix = redeem_reserve_collateral_ix(&m.market, &m.usdc, &owner, &shares, &b.usdc_account, 0);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::ZeroAmount, &keys).await;
    // Nothing collected yet beyond what is there: a second collection in a row has nothing to move.
    h.must_send(&[collect_fees_ix(&m.market, &m.usdc)], &[]).await;
    let keys = watched(&m);
    assert_rejected(&mut h, &[collect_fees_ix(&m.market, &m.usdc)], &[], LendingError::ZeroAmount, &keys).await;
}

#[tokio::test]
async fn share_token_rejections() {
    let (mut h, m) = market_with_debt().await;
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    let shares = h.create_token_account(&m.usdc.collateral_mint, &owner).await;
    let sol_shares = h.create_token_account(&m.sol.collateral_mint, &owner).await;
    let mut keys = watched(&m);
    keys.extend([shares, sol_shares, m.usdc.collateral_mint, m.sol.collateral_mint]);
    // Another reserve's share mint.
    let mut ix = deposit_reserve_liquidity_ix(&m.market, &m.usdc, &owner, &b.usdc_account, &sol_shares, 1_000);
    ix.accounts[5].pubkey = m.sol.collateral_mint;
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidCollateralMint, &keys).await;
    // Shares credited to an account of another mint.
    let ix = deposit_reserve_liquidity_ix(&m.market, &m.usdc, &owner, &b.usdc_account, &sol_shares, 1_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidCollateralMint, &keys).await;
    // Redeeming more shares than held.
    let ix = deposit_reserve_liquidity_ix(&m.market, &m.usdc, &owner, &b.usdc_account, &shares, 1_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    let keys = {
        let mut k = watched(&m);
        k.extend([shares, m.usdc.collateral_mint]);
        k
    };
    let held = h.token_balance(&shares).await;
    let ix = redeem_reserve_collateral_ix(&m.market, &m.usdc, &owner, &shares, &b.usdc_account, held + 1);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InsufficientCollateral, &keys).await;
    // Paused: no lend-only deposit or redemption either.
    h.must_send(&[set_paused_ix(&m.market, &m.owner.pubkey(), true)], &[&m.owner]).await;
    let keys = {
        let mut k = watched(&m);
        k.extend([shares, m.usdc.collateral_mint]);
        k
    };
    let ix = redeem_reserve_collateral_ix(&m.market, &m.usdc, &owner, &shares, &b.usdc_account, held);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::MarketPaused, &keys).await;
    let ix = deposit_reserve_liquidity_ix(&m.market, &m.usdc, &owner, &b.usdc_account, &shares, 1_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::MarketPaused, &keys).await;
}

#[tokio::test]
async fn unhealthy_results_are_rejected() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    // 10 SOL × $150 × 75% = $1,125 allowed; $500 borrowed.
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 625_000_001);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::BorrowTooLarge, &keys).await;
    // Withdrawing 6 of 10 SOL leaves $600 × 75% = $450 < $500.
    let ix = withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 6_000_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::WithdrawTooLarge, &keys).await;
    // More shares than the position holds.
    let ix = withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, BORROWER_SOL_DEPOSIT + 1);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::InsufficientCollateral, &keys).await;
    // Withdrawing 3 SOL keeps $700 × 75% = $525 >= $500: allowed.
    let ix = withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 3_000_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    assert_eq!(h.token_balance(&b.sol_account).await, 3_000_000_000);
}

#[tokio::test]
async fn liquidation_rejections() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let b = &m.borrower;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 1_000_000_000).await;
    let mut keys_with_liquidator = keys.clone();
    keys_with_liquidator.extend([liquidator.usdc_account, liquidator.sol_account]);
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 100_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::ObligationHealthy, &keys_with_liquidator).await;

    // SOL at $60: $600 × 80% = $480 < $500.
    h.set_price(&m.sol.oracle, 6_000_000_000, 0, SOL_PRICE_EXPO).await;
    // The borrower cannot liquidate themself.
    let ix = liquidate_ix(&m.market, &b.obligation, &b.keypair.pubkey(), &m.usdc, &b.usdc_account, &m.sol, &b.sol_account, 100_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::SelfLiquidation, &keys).await;
    // Repaying a debt the obligation does not have (SOL) / seizing collateral it does not hold (USDC).
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.sol, &liquidator.sol_account, &m.usdc, &liquidator.usdc_account, 1_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::BorrowNotFound, &keys_with_liquidator).await;
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.usdc, &liquidator.usdc_account, 1_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::DepositNotFound, &keys_with_liquidator).await;
    // Collateral paid out of another vault (the USDC vault posing as SOL's).
    let mut ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 1_000);
    ix.accounts[9].pubkey = m.usdc.vault;
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::InvalidLiquidityVault, &keys_with_liquidator).await;
    // Another market's obligation and another market's collateral reserve, under this market.
    let other_owner = Keypair::new();
    h.fund(&other_owner.pubkey(), 10_000_000_000).await;
    let (other_market, _) = h.init_market(&other_owner).await;
    let (other_sol, _) = h.init_reserve(&other_market, &other_owner, 9, SOL_PRICE, SOL_PRICE_EXPO, sol_config()).await;
    let other_obligation = h.init_obligation(&other_market, &liquidator.keypair).await;
    let ix = liquidate_ix(&m.market, &other_obligation, &b.keypair.pubkey(), &m.usdc, &b.usdc_account, &m.sol, &b.sol_account, 1_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    let mut keys_other = keys.clone();
    keys_other.push(other_obligation);
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::InvalidMarket, &keys_other).await;
    let other_sol_account = h.create_token_account(&other_sol.mint, &liquidator.keypair.pubkey()).await;
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &other_sol, &other_sol_account, 1_000);
    let mut ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    ixs.insert(0, refresh_reserve_ix(&other_sol));
    keys_with_liquidator.extend([other_sol.reserve, other_sol.vault, other_sol_account]);
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::InvalidMarket, &keys_with_liquidator).await;
    // Paused market: liquidation still runs (it removes risk; see the README's pause semantics).
    let ixs = vec![set_paused_ix(&m.market, &m.owner.pubkey(), true)];
    h.must_send(&ixs, &[&m.owner]).await;
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 100_000_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
}

#[tokio::test]
async fn repaying_another_reserves_debt_is_rejected() {
    let (mut h, m) = market_with_debt().await;
    let b = &m.borrower;
    h.mint_to(&m.sol.mint, &b.sol_account, 1_000_000).await;
    let keys = watched(&m);
    let ix = repay_ix(&m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, 1_000_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::BorrowNotFound, &keys).await;
}

#[tokio::test]
async fn limits_and_pause_are_enforced() {
    let (mut h, m) = market_with_debt().await;
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    // Deposit limit: 10 SOL deposited, limit set to 10.5 SOL.
    let config = ReserveConfig { deposit_limit: 10_500_000_000, ..sol_config() };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.sol, config)], &[&m.owner]).await;
    h.mint_to(&m.sol.mint, &b.sol_account, 1_000_000_000).await;
    let keys = watched(&m);
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 500_000_001);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::DepositLimitExceeded, &keys).await;
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 500_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;

    // Borrow limit on USDC: 500 borrowed, limit 600.
    let config = ReserveConfig { borrow_limit: 600_000_000, ..usdc_config() };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, config)], &[&m.owner]).await;
    let keys = watched(&m);
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 100_000_001);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::BorrowLimitExceeded, &keys).await;

    // Paused: withdraw and borrow refused; deposit (only its limit applies) and repay still work.
    h.must_send(&[set_paused_ix(&m.market, &m.owner.pubkey(), true)], &[&m.owner]).await;
    assert!(h.market(&m.market.market).await.paused);
    let keys = watched(&m);
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::DepositLimitExceeded, &keys).await;
    let ix = withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::MarketPaused, &keys).await;
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::MarketPaused, &keys).await;
    let before = h.token_balance(&b.usdc_account).await;
    let ix = repay_ix(&m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    assert_eq!(h.token_balance(&b.usdc_account).await, before - 1_000_000);
}

#[tokio::test]
async fn invalid_configs_are_rejected() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let base = usdc_config();
    let mut bad_curve = base;
    bad_curve.rate_curve[1].borrow_rate_bps = 100; // falls below the 400 bps start
    let cases = [
        (ReserveConfig { loan_to_value_bps: 9_000, ..base }, LendingError::InvalidLoanToValue),
        (ReserveConfig { liquidation_threshold_bps: 10_001, ..base }, LendingError::InvalidLiquidationThreshold),
        // 90% threshold × 1.12 > 100%: a liquidation could worsen health.
        (ReserveConfig { liquidation_bonus_bps: 1_200, ..base }, LendingError::InvalidLiquidationBonus),
        (ReserveConfig { close_factor_bps: 0, ..base }, LendingError::InvalidCloseFactor),
        (ReserveConfig { borrow_fee_bps: 10_000, ..base }, LendingError::InvalidFee),
        (ReserveConfig { flash_loan_fee_bps: 10_001, ..base }, LendingError::InvalidFee),
        // The auction's maximum is held to the same rule (90% × 1.12 > 100%) and may not be
        // below its start.
        (ReserveConfig { max_liquidation_bonus_bps: 1_200, ..base }, LendingError::InvalidLiquidationBonus),
        (ReserveConfig { max_liquidation_bonus_bps: 300, ..base }, LendingError::InvalidLiquidationBonus),
        (ReserveConfig { max_price_age_secs: 0, ..base }, LendingError::InvalidOracleConfig),
        // A circuit-breaker band over 100% of the EMA, and an unknown valuation mode.
        (ReserveConfig { price_band_bps: 10_001, ..base }, LendingError::InvalidOracleConfig),
        (ReserveConfig { valuation_mode: 2, ..base }, LendingError::InvalidOracleConfig),
        (bad_curve, LendingError::InvalidRateCurve),
    ];
    for (config, error) in cases {
        let ix = update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, config);
        assert_rejected(&mut h, &[ix], &[&m.owner], error, &keys).await;
    }
    // A second reserve for the same mint cannot be created (the address is taken).
    let ix = init_reserve_ix(&m.market, &m.owner.pubkey(), &m.usdc.mint, &m.usdc.oracle, base);
    assert!(h.send(&[ix], &[&m.owner]).await.error.is_some());
}

/// The token program, the market authority and the borrow limit each get their own error.
#[tokio::test]
async fn wrong_token_program_authority_and_limit_get_their_own_errors() {
    let (mut h, m) = market_with_debt().await;
    let keys = watched(&m);
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    // Token-2022 passed for an SPL Token reserve: InvalidTokenProgram, not the mint's error.
    for ix in [
        deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000),
        repay_ix(&m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000),
    ] {
        let mut ix = ix;
        ix.accounts.iter_mut().filter(|meta| meta.pubkey == TOKEN_PROGRAM_ID).for_each(|meta| meta.pubkey = TOKEN_2022_PROGRAM_ID);
        assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidTokenProgram, &keys).await;
    }
    // Another account in the market authority's place: InvalidMarketAuthority.
    let mut ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000);
    ix.accounts.iter_mut().filter(|meta| meta.pubkey == m.market.authority).for_each(|meta| meta.pubkey = m.owner.pubkey());
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::InvalidMarketAuthority, &keys).await;

    // An obligation unhealthy at conservative prices (SOL spot $50, EMA $150) whose debt price
    // carries a confidence interval (so its liquidation sums are at other prices than its
    // borrowing-power sums): a further borrow is BorrowTooLarge, not an arithmetic error.
    let now = h.now().await;
    h.set_account(&m.sol.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(5_000_000_000, 0, SOL_PRICE, 0, SOL_PRICE_EXPO, now, PriceStatus::Trading));
    h.set_account(&m.usdc.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(USDC_PRICE, 1_000, USDC_PRICE, 1_000, USDC_PRICE_EXPO, now, PriceStatus::Trading));
    let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000_000);
    let ixs = h.with_refresh_separately(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs[..ixs.len() - 1], &[]).await;
    let values = h.obligation(&b.obligation).await.values();
    assert!(values.health(HealthKind::Payout).assets > values.deposited_value && !values.is_unhealthy(), "revalued at liquidation prices, healthy there: {values:?}");
    assert!(values.health(HealthKind::Maintenance).liabilities < values.health(HealthKind::Initial).liabilities);
    let keys = watched(&m);
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::BorrowTooLarge, &keys).await;
}

/// Spending from a token account the signer neither owns nor is the delegate of: its own error,
/// not the token program's; an approved delegate may spend.
#[tokio::test]
async fn a_source_account_the_signer_cannot_spend_is_refused() {
    let (mut h, m) = market_with_debt().await;
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    let keys = watched(&m);
    // The borrower tries to repay and deposit from the lender's token account.
    h.mint_to(&m.usdc.mint, &m.lender.usdc_account, 1_000_000).await;
    let keys_with = [keys.clone(), vec![m.lender.usdc_account]].concat();
    let ix = repay_ix(&m.usdc, &b.obligation, &owner, &m.lender.usdc_account, 1_000_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidSourceAuthority, &keys_with).await;
    let lender_sol = h.create_token_account(&m.sol.mint, &m.lender.keypair.pubkey()).await;
    h.mint_to(&m.sol.mint, &lender_sol, 1_000_000).await;
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &owner, &lender_sol, 1_000_000);
    assert_rejected(&mut h, &[ix], &[&b.keypair], LendingError::InvalidSourceAuthority, &[keys_with.clone(), vec![lender_sol]].concat()).await;
    // Once the lender approves the borrower as delegate, the same repayment goes through.
    let mut data = vec![4];
    data.extend_from_slice(&1_000_000u64.to_le_bytes());
    let approve = Instruction {
        program_id: TOKEN_PROGRAM_ID,
        accounts: vec![AccountMeta::new(m.lender.usdc_account, false), AccountMeta::new_readonly(owner, false), AccountMeta::new_readonly(m.lender.keypair.pubkey(), true)],
        data,
    };
    h.must_send(&[approve], &[&m.lender.keypair]).await;
    let ix = repay_ix(&m.usdc, &b.obligation, &owner, &m.lender.usdc_account, 1_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    assert_eq!(h.token_balance(&m.lender.usdc_account).await, 0);
}

/// Cached values never outlive what they were computed from: after refresh_obligation, a
/// reserve refreshed again (at a moved price, in the same slot), written off or reconfigured
/// makes a following borrow, withdraw or liquidate refuse with ReserveChangedSinceRefresh; the
/// reserves must be the obligation's, in order.
#[tokio::test]
async fn cached_values_do_not_outlive_their_prices() {
    let (mut h, m) = market_with_debt().await;
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    let keys = watched(&m);
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000_000);
    // Refresh at $150, then SOL is refreshed again at $100 in the same slot before the borrow.
    let mut ixs = h.with_refresh_separately(&b.obligation, &[&m.sol, &m.usdc], borrow.clone()).await;
    let now = h.now().await;
    let moved = pyth_price_account(10_000_000_000, 0, SOL_PRICE_EXPO, now, PriceStatus::Trading);
    let oracle = m.sol.oracle;
    h.set_account(&oracle, &PYTH_PROGRAM_ID, moved);
    ixs.insert(ixs.len() - 1, refresh_reserve_ix(&m.sol));
    assert_rejected(&mut h, &ixs, &[&b.keypair], LendingError::ReserveChangedSinceRefresh, &keys).await;
    // The same for a withdrawal, and after a configuration change of a position's reserve.
    let withdraw = withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000);
    let mut ixs = h.with_refresh_separately(&b.obligation, &[&m.sol, &m.usdc], withdraw).await;
    ixs.insert(ixs.len() - 1, update_config_ix(&m.market, &m.owner.pubkey(), &m.sol, sol_config()));
    assert_rejected(&mut h, &ixs, &[&b.keypair, &m.owner], LendingError::ReserveChangedSinceRefresh, &keys).await;
    // Missing or reordered reserves are refused.
    let ixs = h.with_refresh_separately(&b.obligation, &[&m.sol, &m.usdc], borrow.clone()).await;
    let mut short = ixs.clone();
    short.last_mut().unwrap().accounts.pop();
    assert_rejected(&mut h, &short, &[&b.keypair], LendingError::ObligationReservesMismatch, &keys).await;
    let mut swapped = ixs.clone();
    let metas = &mut swapped.last_mut().unwrap().accounts;
    let n = metas.len();
    metas.swap(n - 1, n - 2);
    assert_rejected(&mut h, &swapped, &[&b.keypair], LendingError::ObligationReservesMismatch, &keys).await;
    // Refreshed in the right order, the same borrow goes through.
    h.must_send(&ixs, &[&b.keypair]).await;
}

/// A write-off lowers a reserve's share price: obligations refreshed before it in the same
/// transaction cannot borrow on their old collateral values.
#[tokio::test]
async fn a_write_off_invalidates_values_cached_before_it() {
    // The lender's USDC collateral backs a SOL borrow; another borrower's USDC debt goes bad.
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    let b = &m.borrower;
    h.set_price(&m.sol.oracle, 1_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 1_000_000_000).await;
    let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, u64::MAX);
    let ixs = h.with_refresh_separately(&b.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    assert_eq!(h.obligation(&b.obligation).await.deposit_count(), 0);
    // The lender refreshes, then someone writes the bad debt off, then the lender borrows SOL.
    let lender = &m.lender;
    let borrow = borrow_ix(&m.market, &m.sol, &lender.obligation, &lender.keypair.pubkey(), &lender.sol_account, 1_000_000);
    let mut ixs = h.with_refresh_separately(&lender.obligation, &[&m.sol, &m.usdc], borrow).await;
    ixs.insert(ixs.len() - 1, write_off_bad_debt_ix(&m.market, &m.usdc, &b.obligation));
    let keys = [watched(&m), vec![lender.sol_account]].concat();
    assert_rejected(&mut h, &ixs, &[&lender.keypair], LendingError::ReserveChangedSinceRefresh, &keys).await;
}

/// borrow and withdraw revalue inline when given each position's reserve (writable) and its
/// oracle: every check of refresh_reserve and refresh_obligation holds there too. A wrong oracle,
/// a read-only or missing position reserve, positions out of order, the borrowed reserve's
/// oracle missing, a stale price: each refused with its own error and nothing changed. Given
/// right, the inline borrow accepts exactly what the separate refreshes accept.
#[tokio::test]
async fn inline_revaluation_checks_what_the_refreshes_check() {
    let (mut h, m) = market_with_debt().await;
    let b = &m.borrower;
    let owner = b.keypair.pubkey();
    let keys = watched(&m);
    let now = h.now().await;
    h.set_time(now + 10).await;
    h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    let state = h.obligation(&b.obligation).await;
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, 1_000_000);
    let n = borrow.accounts.len();
    let inline = with_inline_refresh(borrow.clone(), &state, &[&m.sol, &m.usdc]).expect("inline layout");
    // SOL (the deposit) then USDC (the debt), each reserve then oracle.
    assert_eq!(inline.accounts[n..].iter().map(|a| a.pubkey).collect::<Vec<_>>(), [m.sol.reserve, m.sol.oracle, m.usdc.reserve, m.usdc.oracle]);

    let mut wrong_oracle = inline.clone();
    wrong_oracle.accounts.swap(n + 1, n + 3);
    assert_rejected(&mut h, &[wrong_oracle], &[&b.keypair], LendingError::InvalidOracleAccount, &keys).await;
    let mut out_of_order = inline.clone();
    out_of_order.accounts[n..].rotate_left(2);
    assert_rejected(&mut h, &[out_of_order], &[&b.keypair], LendingError::ObligationReservesMismatch, &keys).await;
    let mut short = inline.clone();
    short.accounts.truncate(n + 3);
    assert_rejected(&mut h, &[short], &[&b.keypair], LendingError::ObligationReservesMismatch, &keys).await;
    let mut read_only = inline.clone();
    read_only.accounts[n].is_writable = false;
    let before = h.snapshot(&keys).await;
    let outcome = h.send(&[read_only], &[&b.keypair]).await;
    assert_eq!(outcome.custom_error(), Some(anchor_lang::error::ErrorCode::ConstraintMut as u32), "{:?}", outcome.logs);
    assert!(h.snapshot(&keys).await == before);
    // A withdrawal checks the same, and a stale price stops it as it stops refresh_reserve.
    let withdraw = withdraw_ix(&m.market, &m.sol, &b.obligation, &owner, &b.sol_account, 1_000);
    let inline_withdraw = with_inline_refresh(withdraw, &state, &[&m.sol, &m.usdc]).expect("inline layout");
    let mut wrong_oracle = inline_withdraw.clone();
    let w = inline_withdraw.accounts.len() - 4;
    wrong_oracle.accounts.swap(w + 1, w + 3);
    assert_rejected(&mut h, &[wrong_oracle], &[&b.keypair], LendingError::InvalidOracleAccount, &keys).await;
    let now = h.now().await;
    h.set_price_at(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO, now - 3_600, PriceStatus::Trading);
    assert_rejected(&mut h, std::slice::from_ref(&inline_withdraw), &[&b.keypair], LendingError::OraclePriceStale, &keys).await;
    assert_rejected(&mut h, std::slice::from_ref(&inline), &[&b.keypair], LendingError::OraclePriceStale, &keys).await;
    h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;

    // A first debt: the borrowed reserve is no position, so its oracle follows the pairs.
    let fresh = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &fresh.sol_account, 1_000_000_000).await;
    let deposit = deposit_ix(&m.market, &m.sol, &fresh.obligation, &fresh.keypair.pubkey(), &fresh.sol_account, 1_000_000_000);
    h.must_send(&[deposit], &[&fresh.keypair]).await;
    let fresh_state = h.obligation(&fresh.obligation).await;
    let first = borrow_ix(&m.market, &m.usdc, &fresh.obligation, &fresh.keypair.pubkey(), &fresh.usdc_account, 1_000_000);
    let first_inline = with_inline_refresh(first, &fresh_state, &[&m.sol, &m.usdc]).expect("inline layout");
    assert_eq!(first_inline.accounts.last().map(|a| a.pubkey), Some(m.usdc.oracle));
    let mut no_oracle = first_inline.clone();
    no_oracle.accounts.pop();
    let fresh_keys = [keys.clone(), vec![fresh.obligation, fresh.usdc_account]].concat();
    assert_rejected(&mut h, &[no_oracle], &[&fresh.keypair], LendingError::ObligationReservesMismatch, &fresh_keys).await;
    h.must_send(&[first_inline], &[&fresh.keypair]).await;

    // The limit inline is the limit after the separate refreshes: the client's max_borrow on the
    // refreshed state is accepted inline, one base unit more refused.
    let reserves = [m.sol.reserve, m.usdc.reserve];
    let view = MarketView::load_with(&mut InProcessChain { harness: &mut h }, &m.market.market, &reserves).await.expect("view");
    let state = h.obligation(&b.obligation).await;
    let limit = max_borrow(&view, &state, &m.usdc.reserve).expect("max_borrow");
    let over = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, limit.amount + 1);
    let over = with_inline_refresh(over, &state, &[&m.sol, &m.usdc]).unwrap();
    assert_rejected(&mut h, &[over], &[&b.keypair], limit.refused_above.expect("a limit"), &keys).await;
    let at = borrow_ix(&m.market, &m.usdc, &b.obligation, &owner, &b.usdc_account, limit.amount);
    h.must_send(&[with_inline_refresh(at, &state, &[&m.sol, &m.usdc]).unwrap()], &[&b.keypair]).await;
}
