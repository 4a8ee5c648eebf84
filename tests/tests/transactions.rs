//! The whole transactions a client sends for each user action (`solvent_tests::transactions`:
//! the action and every refresh the program requires, as the client crate builds them), at 1+1
//! and 8+8 positions, against the committed compute budget; at 1+1 each must also stay within
//! its target, a third of the cheapest peer's figure for the same transaction.
use solvent_tests::*;

fn named(size: &str, rows: &[(&'static str, Measurement)]) -> Vec<(String, u64)> {
    rows.iter().map(|(name, m)| (format!("transaction {size}: {name}"), m.compute_units)).collect()
}

#[tokio::test]
async fn user_transactions_at_one_plus_one_stay_within_budget_and_target() {
    let rows = user_transactions_1x1().await;
    assert_eq!(rows.iter().map(|(n, _)| *n).collect::<Vec<_>>(), USER_TRANSACTIONS);
    for (row, (name, m)) in rows.iter().enumerate() {
        println!("1+1 {name}: {} CU, {} accounts, {} bytes (target {})", m.compute_units, m.accounts, m.bytes, target(row));
        assert!(m.bytes <= 1_232 && m.accounts <= 64, "{name} does not fit a legacy transaction");
        assert!(m.compute_units <= target(row), "{name}: {} CU, over its target {}", m.compute_units, target(row));
    }
    check_compute_budget(&named("1+1", &rows));
}

#[tokio::test]
async fn user_transactions_at_eight_plus_eight_stay_within_budget() {
    let rows = user_transactions_8x8().await;
    for (name, m) in &rows {
        println!("8+8 {name}: {} CU, {} accounts, {} bytes", m.compute_units, m.accounts, m.bytes);
        assert!(m.accounts <= 64, "{name} locks more than 64 accounts");
    }
    check_compute_budget(&named("8+8", &rows));
}
