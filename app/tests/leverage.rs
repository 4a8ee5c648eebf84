//! One-transaction leverage on the built `.so`: open 3x SOL against USDC, adjust to 2x, close
//! back to SOL, with every balance asserted to the base unit against the builder's plan, and
//! the builder's liquidation price checked against the program one tick either side.
use solvent::errors::LendingError;
use solvent::math::Wad;
use solvent_app::leverage::*;
use solvent_tests::*;
mod support;

const SOL: u64 = 1_000_000_000;
const USDC: u64 = 1_000_000;
const DAY: i64 = 86_400;

struct Setup {
    h: Harness,
    m: StandardMarket,
    trader: TestUser,
    maker: Keypair,
    maker_sol: Pubkey,
    maker_usdc: Pubkey,
    swap: OracleSwapStandIn,
}

async fn setup() -> Setup {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let trader = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.sol.mint, &trader.sol_account, 10 * SOL).await;
    let (maker, swap) = support::swap_with_inventory(&mut h, 30, &[(&m.sol, 1_000 * SOL), (&m.usdc, 1_000_000 * USDC)]).await;
    let (maker_sol, maker_usdc) = (swap.maker_account(&m.sol.mint), swap.maker_account(&m.usdc.mint));
    Setup { h, m, trader, maker, maker_sol, maker_usdc, swap }
}

impl Setup {
    async fn context(&mut self) -> Result<LeverageContext, LeverageError> {
        let (m, t) = (&self.m, &self.trader);
        context_from_chain(&mut InProcessChain { harness: &mut self.h }, &m.market, (&m.sol, t.sol_account), (&m.usdc, t.usdc_account), &t.obligation).await
    }

    async fn balances(&mut self) -> [u64; 6] {
        let keys = [self.trader.sol_account, self.trader.usdc_account, self.maker_sol, self.maker_usdc, self.m.sol.vault, self.m.usdc.vault];
        let mut out = [0; 6];
        for (slot, key) in out.iter_mut().zip(keys) {
            *slot = self.h.token_balance(&key).await;
        }
        out
    }

    /// Sends the plan and asserts every token movement and the obligation it leaves, exactly.
    async fn execute(&mut self, name: &str, plan: &LeveragePlan) -> Measurement {
        let before = self.balances().await;
        let signers = [&self.trader.keypair, &self.maker];
        let measured = self.h.measure(&plan.instructions, &signers).await;
        println!(
            "{name}: {} CU, {} accounts, {} bytes, {} instructions",
            measured.compute_units,
            measured.accounts,
            measured.bytes,
            plan.instructions.len()
        );
        let after = self.balances().await;
        let change = |i: usize| after[i] as i128 - before[i] as i128;
        assert_eq!(change(0), plan.collateral_balance_change, "trader SOL");
        assert_eq!(change(1), plan.debt_balance_change, "trader USDC");
        let (sol_in, usdc_in) = if plan.deposit_amount > 0 { (0, plan.swap_in) } else { (plan.swap_in, 0) };
        let (sol_out, usdc_out) = if plan.deposit_amount > 0 { (plan.swap_out, 0) } else { (0, plan.swap_out) };
        assert_eq!(change(2), sol_in as i128 - sol_out as i128, "maker SOL");
        assert_eq!(change(3), usdc_in as i128 - usdc_out as i128, "maker USDC");
        assert_eq!(change(4), plan.deposit_amount as i128 - plan.withdraw_amount as i128, "SOL vault");
        let usdc_vault = plan.flash_fee as i128 + plan.repay_amount as i128 - (plan.borrow_amount - plan.borrow_fee) as i128;
        assert_eq!(change(5), usdc_vault, "USDC vault");

        let obligation = self.h.obligation(&self.trader.obligation).await;
        let shares = obligation.find_deposit(&to_anchor(&self.m.sol.reserve)).map(|i| obligation.deposits[i].deposited_shares).unwrap_or(0);
        let debt = obligation.find_borrow(&to_anchor(&self.m.usdc.reserve)).map(|i| obligation.borrows[i].borrowed_amount()).unwrap_or(Wad::ZERO);
        assert_eq!(shares, plan.after.collateral_shares, "collateral shares");
        assert_eq!(debt, plan.after.debt, "debt to the raw Wad unit");
        if !debt.is_zero() {
            assert_eq!(obligation.values(), plan.after.values, "the program values the position as the builder did");
        }
        measured
    }

    async fn advance(&mut self, seconds: i64) {
        let now = self.h.now().await;
        self.h.set_time(now + seconds).await;
        self.h.set_price(&self.m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
        self.h.set_price(&self.m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    }
}

fn describe(name: &str, plan: &LeveragePlan) {
    let after = &plan.after;
    let health = after.health_factor().map(|h| format!("{:.4}", h.raw() as f64 / 1e18)).unwrap_or("-".into());
    let liquidation = after
        .liquidation_price
        .map(|p| format!("${:.2}", p.mantissa as f64 * 10f64.powi(p.exponent)))
        .unwrap_or("-".into());
    println!(
        "{name}: flash {} USDC (fee {}), swap {} -> {}, leverage {:.3}x, health {health}, SOL liquidation price {liquidation}",
        format_amount(plan.flash_amount as i128, 6),
        format_amount(plan.flash_fee as i128, 6),
        plan.swap_in,
        plan.swap_out,
        after.leverage_bps as f64 / 10_000.0
    );
}

#[tokio::test]
async fn open_three_x_adjust_to_two_x_and_close() {
    let mut s = setup().await;
    let mut measured = Vec::new();

    let plan = s.context().await.unwrap().adjust(10 * SOL, 30_000, &s.swap).unwrap();
    describe("open 3x", &plan);
    assert!((29_900..=30_000).contains(&plan.after.leverage_bps), "leverage {}", plan.after.leverage_bps);
    measured.push(("leverage open (3x)".to_string(), s.execute("open 3x", &plan).await));

    // A month of interest, then halve the extra exposure.
    s.advance(30 * DAY).await;
    let context = s.context().await.unwrap();
    let debt_before = context.current().debt;
    let plan = context.adjust(0, 20_000, &s.swap).unwrap();
    describe("adjust to 2x", &plan);
    assert!((19_900..=20_000).contains(&plan.after.leverage_bps), "leverage {}", plan.after.leverage_bps);
    assert!(plan.after.debt < debt_before);
    measured.push(("leverage adjust (3x -> 2x)".to_string(), s.execute("adjust to 2x", &plan).await));

    s.advance(DAY).await;
    let plan = s.context().await.unwrap().close(&s.swap).unwrap();
    describe("close", &plan);
    measured.push(("leverage close".to_string(), s.execute("close", &plan).await));

    let obligation = s.h.obligation(&s.trader.obligation).await;
    assert_eq!((obligation.deposit_count(), obligation.borrow_count()), (0, 0), "the position is gone");
    let sol_left = s.h.token_balance(&s.trader.sol_account).await;
    let usdc_left = s.h.token_balance(&s.trader.usdc_account).await;
    println!(
        "round trip: 10 SOL in, {} SOL and {} USDC out (swap fees, flash and borrow fees, 31 days of interest)",
        format_amount(sol_left as i128, 9),
        format_amount(usdc_left as i128, 6)
    );
    assert!(sol_left < 10 * SOL && sol_left > 9 * SOL, "costs are a few percent at most");
    check_compute_budget(&measured.iter().map(|(n, m)| (n.clone(), m.compute_units)).collect::<Vec<_>>());
    for (name, m) in &measured {
        assert!(m.bytes <= 1_232, "{name} exceeds the transaction size limit");
    }
}

#[tokio::test]
async fn the_builders_liquidation_price_is_the_programs() {
    let mut s = setup().await;
    let plan = s.context().await.unwrap().adjust(10 * SOL, 30_000, &s.swap).unwrap();
    s.execute("open 3x", &plan).await;
    let liquidation = plan.after.liquidation_price.expect("a leveraged position has one");
    assert_eq!(liquidation.exponent, SOL_PRICE_EXPO);
    println!("builder: liquidatable at SOL <= {} (x 10^{})", liquidation.mantissa, liquidation.exponent);

    let (m, t) = (&s.m, &s.trader);
    let liquidate = liquidate_ix(&m.market, &t.obligation, &s.maker.pubkey(), &m.usdc, &s.maker_usdc, &m.sol, &s.maker_sol, 100 * USDC);
    // One tick above: healthy, and liquidation is refused.
    s.h.set_price(&m.sol.oracle, liquidation.mantissa as i64 + 1, 0, SOL_PRICE_EXPO).await;
    let ixs = s.h.with_refresh(&t.obligation, &[&m.sol, &m.usdc], liquidate.clone()).await;
    let outcome = s.h.send(&ixs, &[&s.maker]).await;
    assert_eq!(outcome.custom_error(), Some(error_code(LendingError::ObligationHealthy)));
    // At the price: liquidatable, and the liquidation goes through.
    s.h.set_price(&m.sol.oracle, liquidation.mantissa as i64, 0, SOL_PRICE_EXPO).await;
    let ixs = s.h.with_refresh(&t.obligation, &[&m.sol, &m.usdc], liquidate).await;
    s.h.must_send(&ixs, &[&s.maker]).await;
}

#[tokio::test]
async fn targets_above_the_maximum_are_refused_with_the_maximum() {
    let mut s = setup().await;
    let error = s.context().await.unwrap().adjust(10 * SOL, 39_000, &s.swap).unwrap_err();
    assert_eq!(error, LeverageError::TargetTooHigh { requested_bps: 39_000, maximum_bps: 37_500, loan_to_value_bps: 7_500 });
    assert!(error.to_string().contains("maximum 3.75x"), "{error}");
    // The maximum itself is accepted and goes through on chain.
    let plan = s.context().await.unwrap().adjust(10 * SOL, 37_500, &s.swap).unwrap();
    s.execute("open 3.75x", &plan).await;
}

/// E-mode lifts the builder's maximum: a liquid staking token ($165, own LTV 75%) levered
/// against SOL ($150) reaches at most 3.75x on the assets' own weights, and 9x in a SOL group
/// of 90% LTV (10x less the margin: 9.75x), on the `.so`, the program valuing the position as
/// the builder did.
#[tokio::test]
async fn emode_lifts_a_sol_lst_pair_to_nine_x() {
    use solvent::state::EmodeGroup;
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let owner = m.owner.insecure_clone();
    let (lst, _) = h.init_reserve(&m.market, &owner, 9, 165_000_000, -6, default_config()).await;
    let group = EmodeGroup { loan_to_value_bps: 9_000, liquidation_threshold_bps: 9_300, liquidation_bonus_bps: 100, max_liquidation_bonus_bps: 300 };
    h.emode_group_of(&m.market, &owner, 1, group, &[&m.sol, &lst]).await;
    // The lender supplies SOL; the trader holds 10 LST.
    h.mint_to(&m.sol.mint, &m.lender.sol_account, 1_000 * SOL).await;
    let lender = m.lender.keypair.insecure_clone();
    h.must_send(&[deposit_ix(&m.market, &m.sol, &m.lender.obligation, &lender.pubkey(), &m.lender.sol_account, 1_000 * SOL)], &[&lender]).await;
    let trader = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let trader_lst = h.create_token_account(&lst.mint, &trader.keypair.pubkey()).await;
    h.mint_to(&lst.mint, &trader_lst, 10 * SOL).await;
    let (maker, swap) = support::swap_with_inventory(&mut h, 30, &[(&m.sol, 1_000 * SOL), (&lst, 1_000 * SOL)]).await;

    async fn context(h: &mut Harness, m: &StandardMarket, lst: &TestReserve, trader: &TestUser, trader_lst: Pubkey) -> LeverageContext {
        context_from_chain(&mut InProcessChain { harness: h }, &m.market, (lst, trader_lst), (&m.sol, trader.sol_account), &trader.obligation).await.unwrap()
    }
    // Outside e-mode: 9x is refused, with the maximum.
    let error = context(&mut h, &m, &lst, &trader, trader_lst).await.adjust(10 * SOL, 90_000, &swap).unwrap_err();
    assert_eq!(error, LeverageError::TargetTooHigh { requested_bps: 90_000, maximum_bps: 37_500, loan_to_value_bps: 7_500 });
    // In the group: 9x is accepted, and the program agrees to the raw unit.
    let enter = set_obligation_emode_ix(&m.market, &trader.obligation, &trader.keypair.pubkey(), 1);
    let ixs = h.with_refresh(&trader.obligation, &[&m.sol, &lst], enter).await;
    h.must_send(&ixs, &[&trader.keypair]).await;
    let plan = context(&mut h, &m, &lst, &trader, trader_lst).await.adjust(10 * SOL, 90_000, &swap).unwrap();
    println!(
        "open 9x in e-mode: flash {} SOL (fee {}), swap to {} LST, leverage {:.3}x",
        format_amount(plan.flash_amount as i128, 9),
        format_amount(plan.flash_fee as i128, 9),
        format_amount(plan.swap_out as i128, 9),
        plan.after.leverage_bps as f64 / 10_000.0
    );
    assert!((89_900..=90_000).contains(&plan.after.leverage_bps), "leverage {}", plan.after.leverage_bps);
    let measured = h.measure(&plan.instructions, &[&trader.keypair, &maker]).await;
    println!("open 9x in e-mode: {} CU, {} accounts, {} bytes", measured.compute_units, measured.accounts, measured.bytes);
    let obligation = h.obligation(&trader.obligation).await;
    assert_eq!(obligation.values(), plan.after.values, "the program values the position as the builder did");
    assert!(plan.after.health_factor().is_some_and(|hf| hf > Wad::ONE));
    check_compute_budget(&[("leverage open (9x, e-mode)".to_string(), measured.compute_units)]);
}
