//! The demo: a whole market on an embedded in-process validator (solana-program-test's bank)
//! running the built target/deploy/solvent.so with the real SPL Token program.
//! Lenders supply, borrowers lever up, SOL falls 17%, the liquidation keeper steps in.
use solvent_app::keeper::Keeper;
use solvent_app::leverage::{context_from_chain, format_amount};
#[path = "../tests/support/mod.rs"]
mod support;
use solvent_tests::*;

const SOL: u64 = 1_000_000_000;
const USDC: u64 = 1_000_000;

struct Borrower {
    name: &'static str,
    user: TestUser,
}

async fn print_table(h: &mut Harness, m: &StandardMarket, rows: &[(&str, Pubkey)]) {
    let names = [(m.sol.reserve, "SOL", 9u8), (m.usdc.reserve, "USDC", 6u8)];
    println!("{}", obligation_table_header());
    for (name, key) in rows {
        let obligation = h.obligation(key).await;
        println!("{}", format_obligation(name, &obligation, &names));
    }
    println!();
}

/// What a wallet shows alice before she acts: solvent-client's queries, the program's own code
/// run on copies of the accounts, and the program agreeing to the base unit.
async fn client_queries(h: &mut Harness, m: &StandardMarket, user: &TestUser) {
    let mut chain = InProcessChain { harness: h };
    let view = MarketView::load_with(&mut chain, &m.market.market, &[m.sol.reserve, m.usdc.reserve]).await.expect("view");
    let obligation = chain.obligation(&user.obligation).await.expect("obligation");
    let position = position(&view, &obligation).expect("position");
    let limit = max_borrow(&view, &obligation, &m.usdc.reserve).expect("max_borrow");
    println!("solvent-client on alice (health by kind, as the program computes it):");
    for kind in HealthKind::ALL {
        let health = position.values.health(kind);
        println!("  {:<12} ${:>10.2} weighted collateral against ${:>9.2} of debt", format!("{kind:?}"), wad_to_f64(health.assets), wad_to_f64(health.liabilities));
    }
    let price = position.liquidation_prices[0].1.map(|p| p.mantissa as f64 * 10f64.powi(p.exponent)).unwrap_or(0.0);
    println!("  liquidatable at SOL ${price:.2} or below; max_borrow: {} USDC more", view.amount(&m.usdc.reserve, limit.amount));
    let ix = borrow_ix(&m.market, &m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, limit.amount + 1);
    let ixs = h.with_refresh(&user.obligation, &[&m.sol, &m.usdc], ix).await;
    let outcome = h.send(&ixs, &[&user.keypair]).await;
    let refused = outcome.lending_error().expect("one unit more is refused");
    println!("  the program refuses one base unit more: {refused:?} (class {:?}; the client predicted {:?})\n", refused.class(), limit.refused_above.expect("refused"));
}

async fn refresh_everything(h: &mut Harness, m: &StandardMarket, rows: &[(&str, Pubkey)]) {
    h.must_send(&[refresh_reserve_ix(&m.sol), refresh_reserve_ix(&m.usdc)], &[]).await;
    for (_, key) in rows {
        let obligation = h.obligation(key).await;
        h.must_send(&[refresh_obligation_ix(&m.market.market, key, &obligation_reserves(&obligation))], &[]).await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut h = Harness::start().await;
    println!("== Solvent demo: the built program on an in-process validator ==\n");
    let m = h.standard_market().await;
    println!("market {}\n  SOL reserve  {} (9 decimals, Pyth expo -8, LTV 75%, liquidation at 80%, bonus 5%)", m.market.market, m.sol.reserve);
    println!("  USDC reserve {} (6 decimals, Pyth expo -6, LTV 85%, liquidation at 90%, bonus 4%)", m.usdc.reserve);
    println!("  lender supplied {} USDC; prices SOL $150, USDC $1\n", LENDER_USDC_DEPOSIT / USDC);

    // Three more borrowers: two lever long SOL against USDC debt, one borrows SOL against USDC.
    let mut borrowers = vec![Borrower { name: "alice", user: m.borrower.clone_user() }];
    for name in ["bob", "carol"] {
        borrowers.push(Borrower { name, user: h.new_user(&m.market, &m.sol, &m.usdc).await });
    }
    h.mint_to(&m.sol.mint, &borrowers[1].user.sol_account, 20 * SOL).await;
    h.mint_to(&m.usdc.mint, &borrowers[2].user.usdc_account, 5_000 * USDC).await;
    // The lender's SOL side: someone has to supply SOL for carol to borrow.
    h.mint_to(&m.sol.mint, &m.lender.sol_account, 50 * SOL).await;
    let lender = &m.lender;
    let ix = deposit_ix(&m.market, &m.sol, &lender.obligation, &lender.keypair.pubkey(), &lender.sol_account, 50 * SOL);
    h.must_send(&[ix], &[&lender.keypair]).await;

    let plans: [(usize, &TestReserve, u64, &TestReserve, u64); 3] = [
        (0, &m.sol, 0, &m.usdc, 1_050 * USDC),      // alice: 10 SOL already deposited, borrows $1,050
        (1, &m.sol, 20 * SOL, &m.usdc, 1_500 * USDC), // bob: 20 SOL, borrows $1,500
        (2, &m.usdc, 5_000 * USDC, &m.sol, 20 * SOL), // carol: $5,000 USDC, borrows 20 SOL ($3,000)
    ];
    for (who, collateral, amount, debt, borrow_amount) in plans {
        let user = &borrowers[who].user;
        let owner = user.keypair.pubkey();
        if amount > 0 {
            let source = if collateral.reserve == m.sol.reserve { user.sol_account } else { user.usdc_account };
            let ix = deposit_ix(&m.market, collateral, &user.obligation, &owner, &source, amount);
            let units = h.must_send(&[ix], &[&user.keypair]).await;
            println!("{:<6} deposit       {:>8} CU", borrowers[who].name, units);
        }
        let destination = if debt.reserve == m.sol.reserve { user.sol_account } else { user.usdc_account };
        let ix = borrow_ix(&m.market, debt, &user.obligation, &owner, &destination, borrow_amount);
        let ixs = h.with_refresh(&user.obligation, &[&m.sol, &m.usdc], ix).await;
        let units = h.must_send(&ixs, &[&user.keypair]).await;
        println!("{:<6} refresh+borrow {:>7} CU (refresh reserves, refresh obligation, borrow in one transaction)", borrowers[who].name, units);
    }
    println!();
    let mut rows: Vec<(&str, Pubkey)> = borrowers.iter().map(|b| (b.name, b.user.obligation)).collect();
    rows.push(("lender", m.lender.obligation));
    println!("Obligations at SOL = $150:");
    refresh_everything(&mut h, &m, &rows).await;
    print_table(&mut h, &m, &rows).await;
    client_queries(&mut h, &m, &borrowers[0].user).await;

    println!("Price shock: SOL $150 -> $125 (-17%)\n");
    h.set_price(&m.sol.oracle, 12_500_000_000, 0, SOL_PRICE_EXPO).await;
    refresh_everything(&mut h, &m, &rows).await;
    println!("Obligations at SOL = $125:");
    print_table(&mut h, &m, &rows).await;

    // The keeper (app/src/keeper.rs) finds the unhealthy obligations, ranks them by profit and
    // liquidates each until it is healthy, with a liquidator's USDC and SOL inventory.
    println!("The keeper runs one pass over the market:");
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 10_000 * USDC).await;
    h.mint_to(&m.sol.mint, &liquidator.sol_account, 100 * SOL).await;
    let accounts = [(m.usdc.mint, liquidator.usdc_account), (m.sol.mint, liquidator.sol_account)].into_iter().collect();
    let keeper = Keeper::new(m.market.market, liquidator.keypair.insecure_clone(), accounts);
    let report = keeper.run_pass(&mut InProcessChain { harness: &mut h }).await.expect("keeper pass");
    assert_eq!(report.unhealthy_after, 0, "the keeper leaves nothing liquidatable");
    println!(
        "keeper: {} liquidation transactions, {} CU in all (refreshes included); liquidator net gain ${:.2}",
        report.calls,
        report.compute_units,
        wad_to_f64(report.received_value) - wad_to_f64(report.repaid_value)
    );
    println!();
    refresh_everything(&mut h, &m, &rows).await;
    println!("Obligations after liquidation:");
    print_table(&mut h, &m, &rows).await;

    liquidation_in_shares(&mut h, &m).await;
    leverage_round_trip(&mut h, &m).await;
    margin_tiers(&mut h, &m).await;
    emode_leverage(&mut h, &m).await;
    dynamic_margin(&mut h, &m).await;
    predictive_deleveraging(&mut h, &m).await;
    crisis_controls(&mut h).await;
    one_instruction_borrow(&mut h).await;

    let sol_reserve = h.reserve(&m.sol.reserve).await;
    let usdc_reserve = h.reserve(&m.usdc.reserve).await;
    println!("reserves: SOL available {:.9}, borrowed {:.9}; USDC available {:.6}, borrowed {:.6}",
        sol_reserve.available_amount as f64 / SOL as f64,
        wad_to_f64(sol_reserve.borrowed_amount()) / SOL as f64,
        usdc_reserve.available_amount as f64 / USDC as f64,
        wad_to_f64(usdc_reserve.borrowed_amount()) / USDC as f64);
    assert_eq!(h.token_balance(&m.sol.vault).await, sol_reserve.available_amount);
    assert_eq!(h.token_balance(&m.usdc.vault).await, usdc_reserve.available_amount);
    println!("vault balances match the reserves' recorded liquidity.");
}

/// A liquidation cannot be jammed by a drained collateral reserve: frank, a short seller, borrows
/// every idle SOL; SOL dips and erin's SOL-backed loan is liquidated anyway, the keeper taking the
/// seized SOL as shares of the SOL reserve; once frank covers, the keeper redeems them.
async fn liquidation_in_shares(h: &mut Harness, m: &StandardMarket) {
    use solvent::math::Rounding;
    println!("A liquidation against a fully borrowed collateral reserve is paid in shares:");
    let erin = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &erin.sol_account, 10 * SOL).await;
    let ix = deposit_ix(&m.market, &m.sol, &erin.obligation, &erin.keypair.pubkey(), &erin.sol_account, 10 * SOL);
    h.must_send(&[ix], &[&erin.keypair]).await;
    let ix = borrow_ix(&m.market, &m.usdc, &erin.obligation, &erin.keypair.pubkey(), &erin.usdc_account, 900 * USDC);
    let ixs = h.with_refresh(&erin.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&erin.keypair]).await;
    let frank = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &frank.usdc_account, 50_000 * USDC).await;
    let ix = deposit_ix(&m.market, &m.usdc, &frank.obligation, &frank.keypair.pubkey(), &frank.usdc_account, 50_000 * USDC);
    h.must_send(&[ix], &[&frank.keypair]).await;
    let idle = h.reserve(&m.sol.reserve).await.available_amount;
    let ix = borrow_ix(&m.market, &m.sol, &frank.obligation, &frank.keypair.pubkey(), &frank.sol_account, idle);
    let ixs = h.with_refresh(&frank.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&frank.keypair]).await;
    println!("  erin borrows 900 USDC against 10 SOL; frank borrows all {} idle SOL: the SOL reserve has none left", format_amount(idle as i128, 9));
    h.set_price(&m.sol.oracle, 11_000_000_000, 0, SOL_PRICE_EXPO).await;
    println!("  SOL $125 -> $110: erin (and alice, again) can be liquidated");
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 10_000 * USDC).await;
    let shares = h.create_token_account(&m.sol.collateral_mint, &liquidator.keypair.pubkey()).await;
    let accounts = [(m.usdc.mint, liquidator.usdc_account), (m.sol.mint, liquidator.sol_account), (m.sol.collateral_mint, shares)];
    let mut keeper = Keeper::new(m.market.market, liquidator.keypair.insecure_clone(), accounts.into_iter().collect());
    keeper.verbose = false;
    let report = keeper.run_pass(&mut InProcessChain { harness: h }).await.expect("keeper pass");
    let held = h.token_balance(&shares).await;
    println!("  keeper: {} liquidation calls, {} paid in shares; it holds {} SOL-reserve shares and {} SOL", report.calls, report.paid_in_shares, format_amount(held as i128, 9), format_amount(h.token_balance(&liquidator.sol_account).await as i128, 9));
    let owed = h.obligation(&frank.obligation).await.borrows[0].borrowed_amount().to_u64(Rounding::Up).expect("debt");
    h.mint_to(&m.sol.mint, &frank.sol_account, owed - idle).await;
    h.must_send(&[repay_ix(&m.sol, &frank.obligation, &frank.keypair.pubkey(), &frank.sol_account, owed)], &[&frank.keypair]).await;
    let report = keeper.run_pass(&mut InProcessChain { harness: h }).await.expect("keeper pass");
    let redeemed: u64 = report.shares_redeemed.iter().map(|r| r.received).sum();
    println!("  frank covers his short; the keeper's next pass redeems the shares for {} SOL\n", format_amount(redeemed as i128, 9));
}

/// Dave opens a 3x long on SOL in one transaction (flash loan, swap, deposit, borrow) and later
/// closes it in one transaction (flash loan, repay, withdraw, swap). The swap is the test
/// stand-in for a DEX: a market maker trading at the oracle price less 0.3%.
async fn leverage_round_trip(h: &mut Harness, m: &StandardMarket) {
    println!("One-transaction leverage: dave turns 10 SOL into a 3x long against USDC, then closes it.");
    let dave = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &dave.sol_account, 10 * SOL).await;
    let (maker, swap) = support::swap_with_inventory(h, 30, &[(&m.sol, 1_000 * SOL), (&m.usdc, 100_000 * USDC)]).await;
    let sides = ((&m.sol, dave.sol_account), (&m.usdc, dave.usdc_account));

    let context = context_from_chain(&mut InProcessChain { harness: h }, &m.market, sides.0, sides.1, &dave.obligation).await.expect("context");
    let plan = context.adjust(10 * SOL, 30_000, &swap).expect("open plan");
    let cost = h.measure(&plan.instructions, &[&dave.keypair, &maker]).await;
    let after = &plan.after;
    let liquidation = after.liquidation_price.map(|p| p.mantissa as f64 * 10f64.powi(p.exponent)).unwrap_or(0.0);
    println!(
        "  open:  flash-borrow {} USDC, swap to {} SOL, deposit {} SOL, borrow {} USDC (fee {}), flash-repay with {} fee",
        format_amount(plan.flash_amount as i128, 6),
        format_amount(plan.swap_out as i128, 9),
        format_amount(plan.deposit_amount as i128, 9),
        format_amount(plan.borrow_amount as i128, 6),
        format_amount(plan.borrow_fee as i128, 6),
        format_amount(plan.flash_fee as i128, 6),
    );
    println!(
        "         leverage {:.3}x, health factor {:.4}, liquidated if SOL <= ${liquidation:.2}; {} CU, {} accounts, {} bytes, {} instructions",
        after.leverage_bps as f64 / 10_000.0,
        wad_to_f64(after.health_factor().expect("debt")),
        cost.compute_units,
        cost.accounts,
        cost.bytes,
        plan.instructions.len()
    );
    print_table(h, m, &[("dave", dave.obligation)]).await;

    let context = context_from_chain(&mut InProcessChain { harness: h }, &m.market, sides.0, sides.1, &dave.obligation).await.expect("context");
    let plan = context.close(&swap).expect("close plan");
    let cost = h.measure(&plan.instructions, &[&dave.keypair, &maker]).await;
    let sol_left = h.token_balance(&dave.sol_account).await;
    println!(
        "  close: flash-borrow {} USDC, repay it all, withdraw {} SOL, swap {} SOL back to USDC, flash-repay; {} CU, {} bytes",
        format_amount(plan.flash_amount as i128, 6),
        format_amount(plan.withdraw_amount as i128, 9),
        format_amount(plan.swap_in as i128, 9),
        cost.compute_units,
        cost.bytes
    );
    println!("         dave ends with {} SOL of his 10 (swap, flash and borrow fees)\n", format_amount(sol_left as i128, 9));
}

/// Margin tiers: an isolated asset is held alone, and borrows only what isolation allows.
async fn margin_tiers(h: &mut Harness, m: &StandardMarket) {
    use solvent::state::{ReserveConfig, RISK_FLAG_ISOLATED_COLLATERAL};
    println!("Margin tiers: MEME is listed as isolated collateral (LTV 50%).");
    let config = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, isolation_debt_ceiling_value: 2_000, loan_to_value_bps: 5_000, liquidation_threshold_bps: 6_000, ..sol_config() };
    let (meme, _) = h.init_reserve(&m.market, &m.owner, 6, 1_000_000, -6, config).await;
    let gina = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let meme_account = h.create_token_account(&meme.mint, &gina.keypair.pubkey()).await;
    h.mint_to(&meme.mint, &meme_account, 10_000 * USDC).await;
    h.mint_to(&m.sol.mint, &gina.sol_account, SOL).await;
    let owner = gina.keypair.pubkey();
    h.must_send(&[deposit_ix(&m.market, &meme, &gina.obligation, &owner, &meme_account, 10_000 * USDC)], &[&gina.keypair]).await;
    println!("  gina deposits 10,000 MEME");
    let refusal = |outcome: TxOutcome| outcome.lending_error().map(|e| format!("{e:?}: {e}")).unwrap_or_default();
    let sol_too = deposit_ix(&m.market, &m.sol, &gina.obligation, &owner, &gina.sol_account, SOL);
    println!("  adding 1 SOL to the same obligation is refused: {}", refusal(h.send(&[sol_too], &[&gina.keypair]).await));
    let borrow = borrow_ix(&m.market, &m.usdc, &gina.obligation, &owner, &gina.usdc_account, 100 * USDC);
    let ixs = h.with_refresh(&gina.obligation, &[&m.sol, &m.usdc, &meme], borrow).await;
    println!("  borrowing USDC (not flagged borrowable in isolation yet) is refused: {}", refusal(h.send(&ixs, &[&gina.keypair]).await));
    // The operator allows USDC against isolated collateral; MEME's debt ceiling is $2,000.
    let usdc_in_isolation = ReserveConfig { risk_flags: solvent::state::RISK_FLAG_BORROWABLE_IN_ISOLATION, ..usdc_config() };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, usdc_in_isolation)], &[&m.owner]).await;
    let borrow = borrow_ix(&m.market, &m.usdc, &gina.obligation, &owner, &gina.usdc_account, 1_500 * USDC);
    let ixs = h.with_refresh(&gina.obligation, &[&m.sol, &m.usdc, &meme], borrow).await;
    h.must_send(&ixs, &[&gina.keypair]).await;
    let used = h.reserve(&meme.reserve).await.isolated_debt;
    println!("  USDC flagged borrowable in isolation: gina borrows 1,500 USDC; MEME's isolated debt is now ${:.2} of its $2,000 ceiling", used as f64 / 1e6);
    let borrow = borrow_ix(&m.market, &m.usdc, &gina.obligation, &owner, &gina.usdc_account, 600 * USDC);
    let ixs = h.with_refresh(&gina.obligation, &[&m.sol, &m.usdc, &meme], borrow).await;
    println!("  600 USDC more is refused (within her borrowing power, above the ceiling): {}\n", refusal(h.send(&ixs, &[&gina.keypair]).await));
}

/// E-mode: a SOL group (SOL and a liquid staking token, 90% LTV) lifts the leverage of an
/// LST-against-SOL position from the assets' own 3.75x cap to 9x.
async fn emode_leverage(h: &mut Harness, m: &StandardMarket) {
    use solvent::state::EmodeGroup;
    let group = EmodeGroup { loan_to_value_bps: 9_000, liquidation_threshold_bps: 9_300, liquidation_bonus_bps: 100, max_liquidation_bonus_bps: 300 };
    println!("E-mode: group 1 holds SOL and JitoSOL-like LST ($165, own LTV 75%) at 90% LTV, liquidation at 93%, bonus 1-3%, debt cap $20,000.");
    let (lst, _) = h.init_reserve(&m.market, &m.owner, 9, 165_000_000, -6, sol_config()).await;
    h.emode_group_of(&m.market, &m.owner, 1, group, &[&m.sol, &lst]).await;
    // The group may owe at most $20,000 in all.
    h.must_send(&[set_emode_group_ix(&m.market, &m.owner.pubkey(), 1, group, 20_000)], &[&m.owner]).await;
    // A SOL lender, and hank with 10 LST.
    let supplier = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &supplier.sol_account, 1_000 * SOL).await;
    h.must_send(&[deposit_ix(&m.market, &m.sol, &supplier.obligation, &supplier.keypair.pubkey(), &supplier.sol_account, 1_000 * SOL)], &[&supplier.keypair]).await;
    let hank = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let hank_lst = h.create_token_account(&lst.mint, &hank.keypair.pubkey()).await;
    h.mint_to(&lst.mint, &hank_lst, 10 * SOL).await;
    let (maker, swap) = support::swap_with_inventory(h, 30, &[(&m.sol, 1_000 * SOL), (&lst, 1_000 * SOL)]).await;
    let sides = ((&lst, hank_lst), (&m.sol, hank.sol_account));
    let context = context_from_chain(&mut InProcessChain { harness: h }, &m.market, sides.0, sides.1, &hank.obligation).await.expect("context");
    println!("  hank asks for 9x LST against SOL on the assets' own weights: {}", context.adjust(10 * SOL, 90_000, &swap).expect_err("over the cap"));
    let enter = set_obligation_emode_ix(&m.market, &hank.obligation, &hank.keypair.pubkey(), 1);
    let ixs = h.with_refresh(&hank.obligation, &[&m.sol, &lst], enter).await;
    let units = h.must_send(&ixs, &[&hank.keypair]).await;
    println!("  hank enters group 1 (refresh + set_obligation_emode: {units} CU)");
    let context = context_from_chain(&mut InProcessChain { harness: h }, &m.market, sides.0, sides.1, &hank.obligation).await.expect("context");
    let plan = context.adjust(10 * SOL, 90_000, &swap).expect("9x in e-mode");
    let cost = h.measure(&plan.instructions, &[&hank.keypair, &maker]).await;
    let after = &plan.after;
    let liquidation = after.liquidation_price.map(|p| p.mantissa as f64 * 10f64.powi(p.exponent)).unwrap_or(0.0);
    println!(
        "  open 9x in one transaction: {} LST of collateral against {} SOL of debt, leverage {:.3}x, health factor {:.4}, liquidated if LST <= ${liquidation:.2} at the current SOL price; {} CU",
        format_amount(after.collateral_amount as i128, 9),
        format_amount(after.debt.to_u64(solvent::math::Rounding::Up).unwrap_or(0) as i128, 9),
        after.leverage_bps as f64 / 10_000.0,
        wad_to_f64(after.health_factor().expect("debt")),
        cost.compute_units,
    );
    let counted = h.account(&emode_group_debt_address(&m.market.market, 1)).await.and_then(|a| decode_emode_group_debt(&a.data)).map(|d| d.debt).unwrap_or(0);
    println!("  group 1 now counts ${:.2} of debt against its $20,000 cap", counted as f64 / 1e6);
    let leave = set_obligation_emode_ix(&m.market, &hank.obligation, &hank.keypair.pubkey(), 0);
    let ixs = h.with_refresh(&hank.obligation, &[&m.sol, &lst], leave).await;
    let refused = h.send(&ixs, &[&hank.keypair]).await.lending_error().map(|e| format!("{e:?}")).unwrap_or_default();
    println!("  leaving the group at 9x is refused: {refused} (healthy only under the group's weights)\n");
}

/// One minute later: ALT at `price` (expo -6) and USDC at $1, both refreshed.
async fn alt_minute(h: &mut Harness, m: &StandardMarket, alt: &TestReserve, price: i64) {
    let now = h.now().await;
    h.set_time(now + 60).await;
    h.set_price(&alt.oracle, price, 0, -6).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    h.must_send(&[refresh_reserve_ix(alt), refresh_reserve_ix(&m.usdc)], &[]).await;
}

/// Dynamic margin: a reserve's borrowing power follows the volatility refresh_reserve measures,
/// at once; its liquidation threshold only at a bounded pace.
async fn dynamic_margin(h: &mut Harness, m: &StandardMarket) {
    println!("Dynamic margin: ALT ($1, LTV 75%, threshold 80%) with the volatility haircut on (z 2.33 over a 1-hour horizon; the threshold falls at most 1 point an hour).");
    let (alt, _) = h.init_reserve(&m.market, &m.owner, 6, 1_000_000, -6, sol_config()).await;
    h.must_send(&[set_dynamic_margin_ix(&m.market, &m.owner.pubkey(), &alt, volatility_haircut())], &[&m.owner]).await;
    let jo = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let jo_alt = h.create_token_account(&alt.mint, &jo.keypair.pubkey()).await;
    h.mint_to(&alt.mint, &jo_alt, 10_000 * USDC).await;
    h.must_send(&[deposit_ix(&m.market, &alt, &jo.obligation, &jo.keypair.pubkey(), &jo_alt, 10_000 * USDC)], &[&jo.keypair]).await;
    for minute in 0..60 {
        alt_minute(h, m, &alt, if minute % 2 == 0 { 1_000_500 } else { 999_500 }).await;
    }
    report_dynamic(h, m, &alt, &jo.obligation, "after a calm hour (0.05% moves)").await;
    for minute in 0..30 {
        alt_minute(h, m, &alt, if minute % 2 == 0 { 1_040_000 } else { 960_000 }).await;
    }
    report_dynamic(h, m, &alt, &jo.obligation, "after 30 minutes of 4% swings, no trend").await;
    println!("  borrowing power fell at once; the threshold only half a point, so no position became liquidatable on the move\n");
}

async fn report_dynamic(h: &mut Harness, m: &StandardMarket, alt: &TestReserve, obligation: &Pubkey, phase: &str) {
    let state = h.reserve(&alt.reserve).await.dynamic;
    let view = MarketView::load_with(&mut InProcessChain { harness: h }, &m.market.market, &[alt.reserve, m.usdc.reserve]).await.expect("view");
    let limit = max_borrow(&view, &h.obligation(obligation).await, &m.usdc.reserve).expect("max_borrow");
    println!(
        "  {phase}: σ {:.0}%/yr, LTV {:.2}%, threshold {:.2}% (headed to {:.2}%): jo may borrow {} USDC against 10,000 ALT",
        state.annual_sigma_bps() as f64 / 100.0,
        state.ltv_bps as f64 / 100.0,
        state.threshold_bps as f64 / 100.0,
        state.threshold_target_bps as f64 / 100.0,
        view.amount(&m.usdc.reserve, limit.amount),
    );
}

/// Predictive deleveraging: kim sets a stop-loss on her ETH-backed loan, lee relies on ETH's
/// soft zone; ETH slides and the keeper trims both in small steps before either is liquidatable.
async fn predictive_deleveraging(h: &mut Harness, m: &StandardMarket) {
    use solvent::state::{OrderParams, SoftZoneConfig, TRIGGER_PRICE_BELOW};
    println!("Predictive deleveraging: ETH ($3,000, LTV 75%, liquidation at 80%, bonus 5%) with a soft zone over the last half of the margin band (10% of a debt per call, bonus up to 1%).");
    let (eth, _) = h.init_reserve(&m.market, &m.owner, 8, 300_000_000_000, -8, sol_config()).await;
    let zone = SoftZoneConfig { enabled: 1, padding: [0], start_bps: 5_000, max_repay_bps: 1_000, max_bonus_bps: 100, bonus_ramp_secs: 600, min_interval_secs: 60 };
    h.must_send(&[set_soft_zone_ix(&m.market, &m.owner.pubkey(), &eth, zone)], &[&m.owner]).await;
    let mut users = Vec::new();
    for (name, usdc) in [("kim", 2_100), ("lee", 2_200)] {
        let user = h.new_user(&m.market, &m.sol, &m.usdc).await;
        let eth_account = h.create_token_account(&eth.mint, &user.keypair.pubkey()).await;
        h.mint_to(&eth.mint, &eth_account, 100_000_000).await;
        h.must_send(&[deposit_ix(&m.market, &eth, &user.obligation, &user.keypair.pubkey(), &eth_account, 100_000_000)], &[&user.keypair]).await;
        let ix = borrow_ix(&m.market, &m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, usdc * USDC);
        let ixs = h.with_refresh(&user.obligation, &[&eth, &m.usdc], ix).await;
        h.must_send(&ixs, &[&user.keypair]).await;
        println!("  {name} deposits 1 ETH and borrows {usdc} USDC");
        users.push((name, user));
    }
    let stop = OrderParams { trigger: TRIGGER_PRICE_BELOW, threshold_wad: 2_850 * solvent::math::WAD, max_repay_bps: 5_000, max_bonus_bps: 200, bonus_ramp_secs: 600 };
    let kim = &users[0].1;
    h.must_send(&[set_obligation_order_ix(&kim.obligation, &kim.keypair.pubkey(), &m.usdc.reserve, &eth.reserve, 0, stop)], &[&kim.keypair]).await;
    println!("  kim sets a stop-loss: ETH below $2,850, half her debt per execution, the executor's bonus rising to 2% over 10 minutes");
    let executor = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let executor_eth = h.create_token_account(&eth.mint, &executor.keypair.pubkey()).await;
    h.mint_to(&m.usdc.mint, &executor.usdc_account, 10_000 * USDC).await;
    let accounts = [(m.usdc.mint, executor.usdc_account), (eth.mint, executor_eth)].into_iter().collect();
    let mut keeper = Keeper::new(m.market.market, executor.keypair.insecure_clone(), accounts);
    keeper.verbose = false;
    for (minutes, dollars) in [(0, 2_840), (10, 2_820), (20, 2_800)] {
        let now = h.now().await;
        h.set_time(now + if minutes == 0 { 1 } else { 600 }).await;
        h.set_price(&eth.oracle, dollars * 100_000_000, 0, -8).await;
        h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
        let view = MarketView::load_with(&mut InProcessChain { harness: h }, &m.market.market, &[eth.reserve, m.usdc.reserve]).await.expect("view");
        for (name, user) in &users {
            let state = h.obligation(&user.obligation).await;
            let distance = liquidation_distances(&view, &state, 86_400).expect("distance")[0];
            let health = position(&view, &state).expect("position").health_factor.map(wad_to_f64).unwrap_or(f64::INFINITY);
            println!(
                "  t+{minutes:>2} min, ETH ${dollars}: {name} health {health:.3}, liquidation at ${:.0} ({:.1}% below)",
                distance.liquidation_price.unwrap_or(0.0),
                100.0 * distance.fall_to_liquidation.unwrap_or(0.0)
            );
        }
        let report = keeper.run_pass(&mut InProcessChain { harness: h }).await.expect("keeper pass");
        println!(
            "  keeper: {} clocks started or stopped, {} orders executed, {} soft deleverages, {} liquidations; executors earned ${:.2}",
            report.armed,
            report.orders_executed,
            report.soft_deleverages,
            report.calls - report.orders_executed - report.soft_deleverages,
            wad_to_f64(report.received_value) - wad_to_f64(report.repaid_value)
        );
    }
    for (name, user) in &users {
        let state = h.obligation(&user.obligation).await;
        println!("  {name} now owes {} USDC against {} ETH", state.borrows[0].borrowed_amount().raw() / solvent::math::WAD / USDC as u128, state.deposits[0].deposited_shares as f64 / 1e8);
    }
    println!("  both trimmed before liquidation, at bonuses below the 5% a liquidation pays\n");
}

/// Crisis controls on a second market: the outflow limit, a guardian's pause, a loosening change
/// behind the timelock and a new listing's ramp.
async fn crisis_controls(h: &mut Harness) {
    use solvent::state::{MarketPolicy, PendingChange, ReserveConfig, ACTION_BORROW};
    let refusal = |outcome: TxOutcome| outcome.lending_error().map(|e| format!("{e:?}")).unwrap_or_else(|| "accepted".into());
    let m = h.standard_market().await;
    let owner = m.owner.pubkey();
    let policy = MarketPolicy { timelock_secs: 2 * 86_400, guardian_pause_secs: 86_400, listing_ramp_secs: 7 * 86_400, max_risk_step_bps: 500, padding: [0; 2] };
    println!("Crisis controls: a second market with a 2-day timelock, a guardian (pauses of 1 day unless confirmed), a 7-day listing ramp, LTV/threshold steps of 5 points.");
    let mut usdc = h.reserve(&m.usdc.reserve).await.config;
    (usdc.outflow_limit_bps, usdc.outflow_window_secs) = (500, 3_600);
    h.must_send(&[update_config_ix(&m.market, &owner, &m.usdc, usdc)], &[&m.owner]).await;
    let guardian = Keypair::new();
    h.fund(&guardian.pubkey(), SOL).await;
    h.must_send(&[set_market_policy_ix(&m.market, &owner, MarketPolicy { timelock_secs: 0, ..policy })], &[&m.owner]).await;
    let change = PendingChange::Guardian { guardian: to_anchor(&guardian.pubkey()) };
    h.must_send(&[queue_change_ix(&m.market, &owner, 0, change, None), execute_change_ix(&m.market, &owner, 0, &owner, &change, None)], &[&m.owner]).await;
    h.must_send(&[set_market_policy_ix(&m.market, &owner, policy)], &[&m.owner]).await;

    // The outflow limit: 5% of USDC's idle liquidity per hour.
    let l = &m.lender;
    let room = |reserve: &solvent::state::Reserve, now| reserve.outflow_room(now).expect("room");
    let now = h.now().await;
    let state = h.reserve(&m.usdc.reserve).await;
    let withdraw = |state: &solvent::state::Reserve, amount: u64| {
        let shares = state.shares_for_amount(amount, solvent::math::Rounding::Down).expect("shares");
        withdraw_ix(&m.market, &m.usdc, &l.obligation, &l.keypair.pubkey(), &l.usdc_account, shares)
    };
    let outcome = h.send(&[withdraw(&state, 8_000 * USDC)], &[&l.keypair]).await;
    let logged = outcome.logs.iter().find(|line| line.contains("outflow limit:")).map(|line| line.trim_start_matches("Program log: ").to_string()).unwrap_or_default();
    println!("  USDC outflows limited to 5% of its idle liquidity per hour; the lender asks for 8,000 USDC: {}
    ({logged})", refusal(outcome));
    let available = room(&state, now).available;
    h.must_send(&[withdraw(&state, available)], &[&l.keypair]).await;
    h.set_time(now + 1_800).await;
    let state = h.reserve(&m.usdc.reserve).await;
    println!("  takes the {} USDC available; half an hour later {} USDC more is available again", format_amount(available as i128, 6), format_amount(room(&state, now + 1_800).available as i128, 6));
    h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;

    // The guardian pauses SOL-backed USDC borrows, and cannot loosen anything.
    h.must_send(&[set_reserve_pause_ix(&m.market, &guardian.pubkey(), &m.usdc, ACTION_BORROW)], &[&guardian]).await;
    let b = &m.borrower;
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 100 * USDC);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow).await;
    println!("  the guardian pauses USDC borrows: a borrow is refused ({}); the pause lapses in a day unless the owner confirms it", refusal(h.send(&ixs, &[&b.keypair]).await));
    let sol = h.reserve(&m.sol.reserve).await.config;
    let raised = ReserveConfig { loan_to_value_bps: sol.loan_to_value_bps + 300, ..sol };
    let by_guardian = h.send(&[update_config_ix(&m.market, &guardian.pubkey(), &m.sol, raised)], &[&guardian]).await;
    let by_owner = h.send(&[update_config_ix(&m.market, &owner, &m.sol, raised)], &[&m.owner]).await;
    println!("  raising SOL's LTV 75% -> 78%: by the guardian {}, by the owner at once {}", refusal(by_guardian), refusal(by_owner));
    let change = PendingChange::ReserveConfig { config: raised };
    h.must_send(&[queue_change_ix(&m.market, &owner, 1, change, Some(&m.sol))], &[&m.owner]).await;
    let stranger = Keypair::new();
    h.fund(&stranger.pubkey(), SOL).await;
    let execute = execute_change_ix(&m.market, &stranger.pubkey(), 1, &owner, &change, Some(&m.sol));
    let early = refusal(h.send(&[execute.clone()], &[&stranger]).await);
    let now = h.now().await;
    h.set_time(now + 2 * 86_400).await;
    let units = h.must_send(&[execute], &[&stranger]).await;
    println!("  queued instead (change #1, public on chain): executed by a stranger before the delay {early}; 2 days later accepted ({units} CU), LTV now {}%", h.reserve(&m.sol.reserve).await.config.loan_to_value_bps as f64 / 100.0);

    // A new listing's caps grow over 7 days.
    let no_value_caps = init_reserve_ix(&m.market, &owner, &h.create_mint(6).await, &m.usdc.oracle, ReserveConfig { loan_to_value_bps: 0, ..usdc_config() });
    let refused = refusal(h.send(&[no_value_caps], &[&m.owner]).await);
    let borrowable = ReserveConfig { deposit_limit_value: 1_000_000, borrow_limit_value: 500_000, ..usdc_config() };
    let with_ltv = init_reserve_ix(&m.market, &owner, &h.create_mint(6).await, &m.usdc.oracle, borrowable);
    let refused_ltv = refusal(h.send(&[with_ltv], &[&m.owner]).await);
    let config = ReserveConfig { loan_to_value_bps: 0, ..borrowable };
    let (fresh, _) = h.init_reserve(&m.market, &m.owner, 6, USDC_PRICE, USDC_PRICE_EXPO, config).await;
    let listed = h.reserve(&fresh.reserve).await;
    let caps: Vec<String> = [0, 1, 3, 7].iter().map(|day| format!("day {day}: ${}", listed.ramped_limit(config.deposit_limit_value, listed.listed_at + day * 86_400))).collect();
    println!("  a new listing needs caps in value ({refused} without) and starts at LTV 0 ({refused_ltv} with 85%): its LTV comes through the timelock; its $1,000,000 deposit cap counts as {}\n", caps.join(", "));
}

/// A borrow as the client sends it: revalued inline in one instruction, against the refresh
/// sequence it replaces (both still accepted), on a fresh standard market: two borrowers with the
/// same position (10 SOL, 100 USDC owed), each borrowing 100 USDC more a minute after the last.
async fn one_instruction_borrow(h: &mut Harness) {
    println!("\nCompute: a borrow as the client builds it (refresh_then) against the refresh sequence");
    let m = h.standard_market().await;
    let second = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &second.sol_account, BORROWER_SOL_DEPOSIT).await;
    let deposit = deposit_ix(&m.market, &m.sol, &second.obligation, &second.keypair.pubkey(), &second.sol_account, BORROWER_SOL_DEPOSIT);
    h.must_send(&[deposit], &[&second.keypair]).await;
    let borrowers = [&m.borrower, &second];
    for user in borrowers {
        let ix = borrow_ix(&m.market, &m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, 100_000_000);
        let ixs = h.with_refresh(&user.obligation, &[&m.sol, &m.usdc], ix).await;
        h.must_send(&ixs, &[&user.keypair]).await;
    }
    for (user, how, inline) in [(borrowers[0], "refresh_reserve x2 + refresh_obligation + borrow", false), (borrowers[1], "borrow revaluing inline", true)] {
        let now = h.now().await;
        h.set_time(now + 60).await;
        h.set_price(&m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
        h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
        let ix = borrow_ix(&m.market, &m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, 100_000_000);
        let ixs = match inline {
            true => h.with_refresh(&user.obligation, &[&m.sol, &m.usdc], ix).await,
            false => h.with_refresh_separately(&user.obligation, &[&m.sol, &m.usdc], ix).await,
        };
        let units = h.must_send(&ixs, &[&user.keypair]).await;
        println!("  {how}: {} instruction(s), {units} CU", ixs.len());
    }
}
