//! The whole transactions a client sends for each user action: the action and every refresh the
//! program requires in the same transaction, each built by the client crate (`refresh_then`),
//! compute-budget instruction excluded. One definition for the bench's table and the budget
//! test (`tests/tests/transactions.rs`).
//!
//! At 1+1 the market is the one the compute issue measured the peers in: USDC (6 decimals, $1)
//! and SOL (9 decimals, $150), both Pyth `PriceUpdateV2`; a lender supplies 100,000 USDC; the
//! borrower deposits 10 SOL into a new position, borrows 1,000 USDC, repays 100, withdraws 1 SOL;
//! 60 s of interest pass before the refresh row; SOL falls to $110 and 100 USDC of debt is
//! liquidated; the lender redeems a tenth of its supply. Each action in its own transaction and
//! slot. At 8+8 the obligation is the largest the program allows (8 deposits and 8 borrows, each
//! its own reserve and legacy Pyth oracle, `loaded_obligation`): the deposit adds to a position
//! (the obligation has no free deposit slot), borrow and repay move the first debt, the
//! collateral falls to $0.85 before the liquidation; those legacy transactions exceed 1,232
//! bytes and are sent with an address lookup table in practice (`worst_case.rs`).
use crate::*;
use solvent::state::Obligation;

/// The rows, in table order.
pub const USER_TRANSACTIONS: [&str; 8] = [
    "deposit collateral (opens a new position)",
    "borrow (with required refreshes, 1 collateral)",
    "repay (partial)",
    "withdraw collateral with debt outstanding",
    "liquidate (with refreshes)",
    "lend-only deposit",
    "lend-only withdraw",
    "refresh reserves + obligation",
];

/// The cheapest peer's figure for each row of `USER_TRANSACTIONS` (CU, measured side by side in
/// npm LiteSVM 1.5.0 by the compute issue) and that peer: the targets are a third of these.
pub const CHEAPEST_PEER: [(u64, &str); 8] = [
    (16_929, "marginfi v2"),
    (49_272, "marginfi v2"),
    (30_880, "marginfi v2"),
    (48_135, "marginfi v2"),
    (152_331, "Kamino klend"),
    (48_181, "Save"),
    (45_966, "Kamino klend"),
    (53_541, "Kamino klend"),
];

/// The target of a row: at most a third of the cheapest peer's figure.
pub fn target(row: usize) -> u64 {
    CHEAPEST_PEER[row].0 / 3
}

fn pull(feed: u8, price: i64, expo: i32) -> PullPrice {
    PullPrice { feed_id: [feed; 32], price, conf: 0, ema_price: price, ema_conf: 0, expo, publish_time: 0 }
}

/// Republishes both pull oracles at the current time (SOL at `sol_price`, expo -8).
async fn publish(h: &mut Harness, sol: &TestReserve, usdc: &TestReserve, sol_price: i64) {
    let now = h.now().await;
    h.set_price_update(&sol.oracle, PullPrice { publish_time: now, ..pull(1, sol_price, SOL_PRICE_EXPO) }, true);
    h.set_price_update(&usdc.oracle, PullPrice { publish_time: now, ..pull(2, USDC_PRICE, USDC_PRICE_EXPO) }, true);
}

/// Moves `secs` forward into the next slot and republishes the prices.
async fn next_slot(h: &mut Harness, secs: i64, sol: &TestReserve, usdc: &TestReserve, sol_price: i64) {
    let now = h.now().await;
    h.set_time(now + secs).await;
    publish(h, sol, usdc, sol_price).await;
}

/// The user transactions at 1+1 (see the module), in `USER_TRANSACTIONS` order.
pub async fn user_transactions_1x1() -> Vec<(&'static str, Measurement)> {
    let mut h = Harness::start().await;
    let owner = Keypair::new();
    h.fund(&owner.pubkey(), 100_000_000_000).await;
    let (market, _) = h.init_market(&owner).await;
    let sol = h.init_reserve_pull(&market, &owner, 9, pull(1, SOL_PRICE, SOL_PRICE_EXPO), sol_config()).await;
    let usdc = h.init_reserve_pull(&market, &owner, 6, pull(2, USDC_PRICE, USDC_PRICE_EXPO), usdc_config()).await;
    let reserves = [&sol, &usdc];
    let mut rows: Vec<(&'static str, Measurement)> = Vec::new();

    // The lender supplies 100,000 USDC lend-only (share tokens, no obligation).
    let lender = h.new_user(&market, &sol, &usdc).await;
    let lender_shares = h.create_token_account(&usdc.collateral_mint, &lender.keypair.pubkey()).await;
    h.mint_to(&usdc.mint, &lender.usdc_account, LENDER_USDC_DEPOSIT).await;
    next_slot(&mut h, 1, &sol, &usdc, SOL_PRICE).await;
    let supply = deposit_reserve_liquidity_ix(&market, &usdc, &lender.keypair.pubkey(), &lender.usdc_account, &lender_shares, LENDER_USDC_DEPOSIT);
    let lend_only_deposit = h.measure(&[supply], &[&lender.keypair]).await;

    let b = h.new_user(&market, &sol, &usdc).await;
    let key = b.keypair.pubkey();
    h.mint_to(&sol.mint, &b.sol_account, BORROWER_SOL_DEPOSIT).await;
    h.mint_to(&usdc.mint, &b.usdc_account, 100_000_000).await;
    next_slot(&mut h, 1, &sol, &usdc, SOL_PRICE).await;
    let deposit = deposit_ix(&market, &sol, &b.obligation, &key, &b.sol_account, BORROWER_SOL_DEPOSIT);
    rows.push((USER_TRANSACTIONS[0], h.measure(&[deposit], &[&b.keypair]).await));

    next_slot(&mut h, 1, &sol, &usdc, SOL_PRICE).await;
    let borrow = borrow_ix(&market, &usdc, &b.obligation, &key, &b.usdc_account, 1_000_000_000);
    let ixs = h.with_refresh(&b.obligation, &reserves, borrow).await;
    rows.push((USER_TRANSACTIONS[1], h.measure(&ixs, &[&b.keypair]).await));

    next_slot(&mut h, 1, &sol, &usdc, SOL_PRICE).await;
    let state = h.obligation(&b.obligation).await;
    let repay = with_position_reserves(repay_ix(&usdc, &b.obligation, &key, &b.usdc_account, 100_000_000), &state);
    rows.push((USER_TRANSACTIONS[2], h.measure(&[repay], &[&b.keypair]).await));

    next_slot(&mut h, 1, &sol, &usdc, SOL_PRICE).await;
    let shares = h.obligation(&b.obligation).await.deposits[0].deposited_shares / 10;
    let withdraw = withdraw_ix(&market, &sol, &b.obligation, &key, &b.sol_account, shares);
    let ixs = h.with_refresh(&b.obligation, &reserves, withdraw).await;
    rows.push((USER_TRANSACTIONS[3], h.measure(&ixs, &[&b.keypair]).await));

    next_slot(&mut h, 60, &sol, &usdc, SOL_PRICE).await;
    let state = h.obligation(&b.obligation).await;
    let refresh = refresh_obligation_sequence(&b.obligation, &state, &reserves);
    let refresh_row = h.measure(&refresh, &[]).await;

    // SOL at $110: 9 SOL = $990 of collateral against ~$900 of debt, past the 80% threshold.
    next_slot(&mut h, 1, &sol, &usdc, 11_000_000_000).await;
    let liquidator = h.new_user(&market, &sol, &usdc).await;
    h.mint_to(&usdc.mint, &liquidator.usdc_account, 1_000_000_000).await;
    let liquidate = liquidate_ix(&market, &b.obligation, &liquidator.keypair.pubkey(), &usdc, &liquidator.usdc_account, &sol, &liquidator.sol_account, 100_000_000);
    let ixs = h.with_refresh(&b.obligation, &reserves, liquidate).await;
    rows.push((USER_TRANSACTIONS[4], h.measure(&ixs, &[&liquidator.keypair]).await));

    rows.push((USER_TRANSACTIONS[5], lend_only_deposit));
    next_slot(&mut h, 1, &sol, &usdc, 11_000_000_000).await;
    let held = h.token_balance(&lender_shares).await;
    let redeem = redeem_reserve_collateral_ix(&market, &usdc, &lender.keypair.pubkey(), &lender_shares, &lender.usdc_account, held / 10);
    rows.push((USER_TRANSACTIONS[6], h.measure(&[redeem], &[&lender.keypair]).await));
    rows.push((USER_TRANSACTIONS[7], refresh_row));
    rows
}

/// The user transactions at 8+8 (see the module), in `USER_TRANSACTIONS` order.
pub async fn user_transactions_8x8() -> Vec<(&'static str, Measurement)> {
    use solvent::state::{MAX_OBLIGATION_BORROWS, MAX_OBLIGATION_DEPOSITS};
    let mut h = Harness::start().await;
    let l = h.loaded_obligation(MAX_OBLIGATION_DEPOSITS, MAX_OBLIGATION_BORROWS).await;
    let reserves: Vec<&TestReserve> = l.collateral.iter().chain(&l.debts).collect();
    let key = l.borrower.pubkey();
    let borrower = l.borrower.insecure_clone();
    let mut rows: Vec<(&'static str, Measurement)> = Vec::new();
    next_slot_loaded(&mut h, &l, 1, 1_000_000).await;
    let deposit = deposit_ix(&l.market, &l.collateral[0], &l.obligation, &key, &l.collateral_accounts[0], ONE_TOKEN);
    rows.push((USER_TRANSACTIONS[0], h.measure(&[deposit], &[&borrower]).await));

    next_slot_loaded(&mut h, &l, 1, 1_000_000).await;
    let state: Obligation = h.obligation(&l.obligation).await;
    let borrow = borrow_ix(&l.market, &l.debts[0], &l.obligation, &key, &l.debt_accounts[0], ONE_TOKEN);
    let ixs = refresh_then(&l.obligation, &state, &reserves, borrow);
    rows.push((USER_TRANSACTIONS[1], h.measure(&ixs, &[&borrower]).await));

    next_slot_loaded(&mut h, &l, 1, 1_000_000).await;
    let state = h.obligation(&l.obligation).await;
    let repay = with_position_reserves(repay_ix(&l.debts[0], &l.obligation, &key, &l.debt_accounts[0], ONE_TOKEN), &state);
    rows.push((USER_TRANSACTIONS[2], h.measure(&[repay], &[&borrower]).await));

    next_slot_loaded(&mut h, &l, 1, 1_000_000).await;
    let state = h.obligation(&l.obligation).await;
    let withdraw = withdraw_ix(&l.market, &l.collateral[0], &l.obligation, &key, &l.collateral_accounts[0], ONE_TOKEN);
    let ixs = refresh_then(&l.obligation, &state, &reserves, withdraw);
    rows.push((USER_TRANSACTIONS[3], h.measure(&ixs, &[&borrower]).await));

    next_slot_loaded(&mut h, &l, 60, 1_000_000).await;
    let state = h.obligation(&l.obligation).await;
    let refresh = refresh_obligation_sequence(&l.obligation, &state, &reserves);
    let refresh_row = h.measure(&refresh, &[]).await;

    // Collateral at $0.85: $6,800 × 80% < $5,600 borrowed.
    next_slot_loaded(&mut h, &l, 1, 850_000).await;
    let liquidator = Keypair::new();
    h.fund(&liquidator.pubkey(), 1_000_000_000).await;
    let source = h.create_token_account(&l.debts[0].mint, &liquidator.pubkey()).await;
    h.mint_to(&l.debts[0].mint, &source, 1_000 * ONE_TOKEN).await;
    let destination = h.create_token_account(&l.collateral[0].mint, &liquidator.pubkey()).await;
    let state = h.obligation(&l.obligation).await;
    let liquidate = liquidate_ix(&l.market, &l.obligation, &liquidator.pubkey(), &l.debts[0], &source, &l.collateral[0], &destination, 100 * ONE_TOKEN);
    let ixs = refresh_then(&l.obligation, &state, &reserves, liquidate);
    rows.push((USER_TRANSACTIONS[4], h.measure(&ixs, &[&liquidator]).await));

    // Lend-only, on the first debt reserve of the same market.
    let lender = Keypair::new();
    h.fund(&lender.pubkey(), 1_000_000_000).await;
    let reserve = &l.debts[0];
    let source = h.create_token_account(&reserve.mint, &lender.pubkey()).await;
    let shares = h.create_token_account(&reserve.collateral_mint, &lender.pubkey()).await;
    h.mint_to(&reserve.mint, &source, 1_000 * ONE_TOKEN).await;
    next_slot_loaded(&mut h, &l, 1, 850_000).await;
    let supply = deposit_reserve_liquidity_ix(&l.market, reserve, &lender.pubkey(), &source, &shares, 1_000 * ONE_TOKEN);
    rows.push((USER_TRANSACTIONS[5], h.measure(&[supply], &[&lender]).await));
    next_slot_loaded(&mut h, &l, 1, 850_000).await;
    let held = h.token_balance(&shares).await;
    let redeem = redeem_reserve_collateral_ix(&l.market, reserve, &lender.pubkey(), &shares, &source, held / 10);
    rows.push((USER_TRANSACTIONS[6], h.measure(&[redeem], &[&lender]).await));
    rows.push((USER_TRANSACTIONS[7], refresh_row));
    rows
}

/// Moves `secs` forward into the next slot and republishes every oracle of `l` (collateral at
/// `collateral_price`, debts at $1, expo -6).
async fn next_slot_loaded(h: &mut Harness, l: &LoadedObligation, secs: i64, collateral_price: i64) {
    let now = h.now().await;
    h.set_time(now + secs).await;
    for reserve in &l.collateral {
        h.set_price(&reserve.oracle, collateral_price, 0, -6).await;
    }
    for reserve in &l.debts {
        h.set_price(&reserve.oracle, 1_000_000, 0, -6).await;
    }
}
