//! The largest obligation the program allows (8 deposits and 8 borrows, each in its own reserve
//! with its own oracle) refreshed and liquidated in one versioned transaction with an address
//! lookup table, on the built .so: it must fit Solana's limits (1.4M compute units, 64 accounts,
//! 1,232 bytes, the default 32 KiB heap).
use solana_address_lookup_table_interface::state::{AddressLookupTable, LookupTableMeta};
use solana_message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_transaction::versioned::VersionedTransaction;
use solvent::state::{MAX_OBLIGATION_BORROWS, MAX_OBLIGATION_DEPOSITS};
use solvent_tests::*;
use std::borrow::Cow;

const LOOKUP_TABLE_PROGRAM_ID: Pubkey = Pubkey::from_str_const("AddressLookupTab1e1111111111111111111111111");
const COMPUTE_BUDGET_PROGRAM_ID: Pubkey = Pubkey::from_str_const("ComputeBudget111111111111111111111111111111");

fn set_compute_unit_limit(units: u32) -> Instruction {
    let mut data = vec![2];
    data.extend_from_slice(&units.to_le_bytes());
    Instruction { program_id: COMPUTE_BUDGET_PROGRAM_ID, accounts: vec![], data }
}

#[tokio::test]
async fn largest_obligation_refreshes_and_liquidates_in_one_transaction() {
    let units = worst_case(false).await;
    check_compute_budget(&[("worst case: refresh 16 reserves + obligation (8+8) + liquidate".to_string(), units)]);
}

/// The same with spot 1% above the EMA and a 0.1% confidence interval on every price, as live
/// markets have them: the obligation, unhealthy at conservative prices, is valued twice.
#[tokio::test]
async fn largest_obligation_with_spot_and_ema_apart() {
    let units = worst_case(true).await;
    check_compute_budget(&[("worst case, spot and EMA apart".to_string(), units)]);
}

/// The largest obligation with every position in an e-mode group (LTV 80%, threshold 82%,
/// still liquidatable at $0.85): the tiers-in-use cost of the refresh and the liquidation.
#[tokio::test]
async fn largest_obligation_in_emode() {
    let units = worst_case_in(false, true).await;
    check_compute_budget(&[("worst case in e-mode".to_string(), units)]);
}

/// The e-mode group of `largest_obligation_in_emode`.
pub const WORST_CASE_GROUP: solvent::state::EmodeGroup =
    solvent::state::EmodeGroup { loan_to_value_bps: 8_000, liquidation_threshold_bps: 8_200, liquidation_bonus_bps: 200, max_liquidation_bonus_bps: 500 };

/// Collateral at $0.85 (EMA $0.8415 when `apart`), debt at $1.00 (EMA $0.99).
fn set_prices(h: &mut Harness, collateral: &[TestReserve], debts: &[TestReserve], now: i64, apart: bool) {
    use pyth_sdk_solana::state::PriceStatus;
    let prices = collateral.iter().map(|r| (r, 850_000i64)).chain(debts.iter().map(|r| (r, 1_000_000)));
    for (reserve, spot) in prices {
        let (ema, conf) = if apart { (spot * 99 / 100, spot as u64 / 1_000) } else { (spot, 0) };
        h.set_account(&reserve.oracle, &PYTH_PROGRAM_ID, pyth_price_account_with_ema(spot, conf, ema, conf, -6, now, PriceStatus::Trading));
    }
}

async fn worst_case(apart: bool) -> u64 {
    worst_case_in(apart, false).await
}

async fn worst_case_in(apart: bool, emode: bool) -> u64 {
    let mut h = Harness::start().await;
    let loaded = h.loaded_obligation(MAX_OBLIGATION_DEPOSITS, MAX_OBLIGATION_BORROWS).await;
    if emode {
        h.put_in_emode(&loaded, WORST_CASE_GROUP).await;
    }
    let (market, obligation, owner) = (loaded.market.clone(), loaded.obligation, loaded.owner.insecure_clone());
    let (collateral, debts) = (&loaded.collateral, &loaded.debts);
    let reserves: Vec<TestReserve> = collateral.iter().chain(debts).cloned().collect();
    let full = h.obligation(&obligation).await;
    assert_eq!((full.deposit_count(), full.borrow_count()), (MAX_OBLIGATION_DEPOSITS, MAX_OBLIGATION_BORROWS));

    // Collateral falls to $0.85: $6,800 × 80% = $5,440 < $5,600 borrowed.
    let now = h.now().await;
    set_prices(&mut h, collateral, debts, now, apart);
    let liquidator = Keypair::new();
    h.fund(&liquidator.pubkey(), 10_000_000_000).await;
    let repay_source = h.create_token_account(&debts[0].mint, &liquidator.pubkey()).await;
    h.mint_to(&debts[0].mint, &repay_source, 1_000 * ONE_TOKEN).await;
    let seized_destination = h.create_token_account(&collateral[0].mint, &liquidator.pubkey()).await;

    let mut instructions = vec![set_compute_unit_limit(1_400_000)];
    instructions.extend(reserves.iter().map(refresh_reserve_ix));
    instructions.push(refresh_obligation_ix(&from_anchor(&full.lending_market), &obligation, &obligation_reserves(&full)));
    let liquidate = liquidate_ix(&market, &obligation, &liquidator.pubkey(), &debts[0], &repay_source, &collateral[0], &seized_destination, u64::MAX);
    instructions.push(with_position_reserves(liquidate, &full));

    // Every account but the signers goes in a lookup table.
    let mut addresses: Vec<Pubkey> = Vec::new();
    for ix in &instructions {
        for key in std::iter::once(&ix.program_id).chain(ix.accounts.iter().map(|m| &m.pubkey)) {
            if !addresses.contains(key) && *key != liquidator.pubkey() && *key != h.payer.pubkey() {
                addresses.push(*key);
            }
        }
    }
    let table_key = Keypair::new().pubkey();
    let table = AddressLookupTable { meta: LookupTableMeta::new(owner.pubkey()), addresses: Cow::Owned(addresses.clone()) };
    h.set_account(&table_key, &LOOKUP_TABLE_PROGRAM_ID, table.serialize_for_tests().expect("lookup table"));
    let now = h.now().await;
    h.set_time(now + 1).await; // the table's addresses are usable from the next slot
    set_prices(&mut h, collateral, debts, now + 1, apart);

    let blockhash = h.context.get_new_latest_blockhash().await.expect("blockhash");
    let lookup = AddressLookupTableAccount { key: table_key, addresses };
    let message = v0::Message::try_compile(&h.payer.pubkey(), &instructions, &[lookup], blockhash).expect("compile");
    let account_count = message.account_keys.len()
        + message.address_table_lookups.iter().map(|l| l.writable_indexes.len() + l.readonly_indexes.len()).sum::<usize>();
    let versioned = VersionedMessage::V0(message);
    let transaction = VersionedTransaction::try_new(versioned, &[&h.payer, &liquidator]).expect("sign");
    let size = transaction.message.serialize().len() + 1 + 64 * transaction.signatures.len();
    let seized_before = h.token_balance(&seized_destination).await;
    let result = h.context.banks_client.process_transaction_with_metadata(transaction).await.expect("banks");
    let metadata = result.metadata.expect("metadata");
    assert!(result.result.is_ok(), "{:?}\n{}", result.result, metadata.log_messages.join("\n"));
    let units = metadata.compute_units_consumed;
    println!(
        "\nworst case{}: 16 refresh_reserve + refresh_obligation (8 deposits, 8 borrows) + liquidate in one v0 transaction:\n  {units} compute units, {account_count} accounts, {size} bytes, {} instructions",
        if apart { " (spot and EMA apart)" } else if emode { " (every position in an e-mode group)" } else { "" },
        instructions.len()
    );
    assert!(h.token_balance(&seized_destination).await > seized_before, "the liquidation seized collateral");
    assert!(units <= 1_400_000, "{units} CU over the transaction limit");
    assert!(account_count <= 64, "{account_count} accounts over the lock limit");
    assert!(size <= 1_232, "{size} bytes over the packet limit");
    units
}
