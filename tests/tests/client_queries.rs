//! The client's queries against the program, on the `.so`, over seeded random obligations
//! (`QUERY_CASES`, default 200): `max_withdraw` and `max_borrow` are exactly the program's
//! limits (the quoted maximum is accepted, one base unit more refused with the error the query
//! names), `position`'s liquidation price is exact to the oracle tick (liquidatable there, not
//! one tick above), and `quote_liquidation` (what the keeper ranks and sends) is exactly what
//! `liquidate` does: the same repayment, the same tokens and shares paid, the same debt settled
//! and collateral taken, to the base unit, or the same refusal.
use solvent::math::Wad;
use solvent_tests::*;

const SOL: u64 = 1_000_000_000;
const ETH: u64 = 100_000_000;
const ETH_PRICE: i64 = 300_000_000_000; // $3,000 with expo -8

struct Market {
    h: Harness,
    m: StandardMarket,
    eth: TestReserve,
    liquidator: Keypair,
    liquidator_usdc: Pubkey,
    /// The liquidator's token and share accounts for SOL and ETH.
    liquidator_collateral: Vec<(Pubkey, Pubkey, Pubkey)>,
}

impl Market {
    async fn new() -> Market {
        let mut h = Harness::start().await;
        let m = h.standard_market().await;
        let config = solvent::state::ReserveConfig { loan_to_value_bps: 7_000, liquidation_threshold_bps: 7_800, liquidation_bonus_bps: 600, ..sol_config() };
        let (eth, _) = h.init_reserve(&m.market, &m.owner, 8, ETH_PRICE, -8, config).await;
        // Deep USDC liquidity, so the borrowing-power rules bind rather than the vault.
        let whale = h.new_user(&m.market, &m.sol, &m.usdc).await;
        h.mint_to(&m.usdc.mint, &whale.usdc_account, 100_000_000 * 1_000_000).await;
        let ix = deposit_ix(&m.market, &m.usdc, &whale.obligation, &whale.keypair.pubkey(), &whale.usdc_account, 100_000_000 * 1_000_000);
        h.must_send(&[ix], &[&whale.keypair]).await;
        let liquidator = Keypair::new();
        h.fund(&liquidator.pubkey(), 10_000_000_000).await;
        let liquidator_usdc = h.create_token_account(&m.usdc.mint, &liquidator.pubkey()).await;
        h.mint_to(&m.usdc.mint, &liquidator_usdc, 1_000_000_000 * 1_000_000).await;
        let mut liquidator_collateral = Vec::new();
        for reserve in [&m.sol, &eth] {
            let tokens = h.create_token_account(&reserve.mint, &liquidator.pubkey()).await;
            let shares = h.create_token_account(&reserve.collateral_mint, &liquidator.pubkey()).await;
            liquidator_collateral.push((reserve.reserve, tokens, shares));
        }
        Market { h, m, eth, liquidator, liquidator_usdc, liquidator_collateral }
    }

    async fn view(&mut self) -> MarketView {
        let reserves = [self.m.sol.reserve, self.m.usdc.reserve, self.eth.reserve];
        MarketView::load_with(&mut InProcessChain { harness: &mut self.h }, &self.m.market.market, &reserves).await.expect("view")
    }

    async fn send_with_refresh(&mut self, obligation: &Pubkey, action: Instruction, signers: &[&Keypair]) -> TxOutcome {
        let reserves = [self.m.sol.clone(), self.m.usdc.clone(), self.eth.clone()];
        let refs: Vec<&TestReserve> = reserves.iter().collect();
        let ixs = self.h.with_refresh(obligation, &refs, action).await;
        self.h.send(&ixs, signers).await
    }

    async fn new_slot_at_prices(&mut self, sol_price: i64, eth_price: i64) {
        let now = self.h.now().await;
        self.h.set_time(now + 7).await;
        let (sol, usdc, eth) = (self.m.sol.oracle, self.m.usdc.oracle, self.eth.oracle);
        self.h.set_price(&sol, sol_price, 0, SOL_PRICE_EXPO).await;
        self.h.set_price(&usdc, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
        self.h.set_price(&eth, eth_price, 0, -8).await;
    }
}

/// `amount + 1` refused with the error the query named, `amount` accepted.
async fn check_limit(market: &mut Market, user: &TestUser, limit: Limit, build: impl Fn(u64) -> Instruction, what: &str) {
    if let Some(expected) = limit.refused_above {
        let outcome = market.send_with_refresh(&user.obligation, build(limit.amount + 1), &[&user.keypair]).await;
        assert_eq!(outcome.lending_error(), Some(expected), "{what} {} (one above the quoted maximum): {:?}", limit.amount + 1, outcome.error);
    }
    if limit.amount > 0 {
        let outcome = market.send_with_refresh(&user.obligation, build(limit.amount), &[&user.keypair]).await;
        assert!(outcome.error.is_none(), "{what} of the quoted maximum {} refused: {:?}\n{}", limit.amount, outcome.error, outcome.logs.join("\n"));
    }
}

#[tokio::test]
async fn the_client_queries_are_the_programs_limits_to_the_base_unit() {
    let cases: usize = std::env::var("QUERY_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let mut rng = Rng(0x5017_e17c_11e7);
    let mut market = Market::new().await;
    let (mut borrow_limits, mut withdraw_limits, mut liquidations, mut refusals, mut liquidation_prices) = (0, 0, 0, 0, 0);
    let mut bound_by = std::collections::BTreeMap::<String, usize>::new();
    for case in 0..cases {
        market.new_slot_at_prices(SOL_PRICE, ETH_PRICE).await;
        let (m, eth) = (&market.m, market.eth.clone());
        let (market_keys, sol, usdc) = (m.market.clone(), m.sol.clone(), m.usdc.clone());
        let user = market.h.new_user(&market_keys, &sol, &usdc).await;
        let eth_account = market.h.create_token_account(&eth.mint, &user.keypair.pubkey()).await;
        let owner = user.keypair.pubkey();

        // Collateral: SOL, and ETH in half the cases.
        let sol_amount = rng.range(SOL / 10, 40 * SOL);
        market.h.mint_to(&sol.mint, &user.sol_account, 2 * sol_amount).await;
        market.h.must_send(&[deposit_ix(&market_keys, &sol, &user.obligation, &owner, &user.sol_account, sol_amount)], &[&user.keypair]).await;
        if rng.chance(0.5) {
            let eth_amount = rng.range(ETH / 100, 5 * ETH);
            market.h.mint_to(&eth.mint, &eth_account, eth_amount).await;
            market.h.must_send(&[deposit_ix(&market_keys, &eth, &user.obligation, &owner, &eth_account, eth_amount)], &[&user.keypair]).await;
        }
        // Some debt, a random part of what may be borrowed.
        let view = market.view().await;
        let obligation = market.h.obligation(&user.obligation).await;
        let first = max_borrow(&view, &obligation, &usdc.reserve).expect("max_borrow");
        let part = (first.amount as f64 * rng.between(0.1, 0.9)) as u64;
        let outcome = market.send_with_refresh(&user.obligation, borrow_ix(&market_keys, &usdc, &user.obligation, &owner, &user.usdc_account, part), &[&user.keypair]).await;
        assert!(outcome.error.is_none(), "case {case}: borrowing {part} of {} refused: {:?}", first.amount, outcome.error);

        // max_withdraw of SOL: the maximum is accepted, one share more refused.
        market.new_slot_at_prices(SOL_PRICE, ETH_PRICE).await;
        let view = market.view().await;
        let obligation = market.h.obligation(&user.obligation).await;
        let limit = max_withdraw(&view, &obligation, &sol.reserve).expect("max_withdraw");
        *bound_by.entry(format!("withdraw: {:?}", limit.refused_above)).or_default() += 1;
        let (mk, sl, ob, sa) = (market_keys.clone(), sol.clone(), user.obligation, user.sol_account);
        check_limit(&mut market, &user, limit, |shares| withdraw_ix(&mk, &sl, &ob, &owner, &sa, shares), "withdraw").await;
        withdraw_limits += 1;
        // Put some back, then max_borrow: the maximum is accepted, one base unit more refused.
        let back = rng.range(1, sol_amount);
        market.h.must_send(&[deposit_ix(&market_keys, &sol, &user.obligation, &owner, &user.sol_account, back)], &[&user.keypair]).await;
        market.new_slot_at_prices(SOL_PRICE, ETH_PRICE).await;
        let view = market.view().await;
        let obligation = market.h.obligation(&user.obligation).await;
        let limit = max_borrow(&view, &obligation, &usdc.reserve).expect("max_borrow");
        *bound_by.entry(format!("borrow: {:?}", limit.refused_above)).or_default() += 1;
        let (us, ua) = (usdc.clone(), user.usdc_account);
        check_limit(&mut market, &user, limit, |amount| borrow_ix(&mk, &us, &ob, &owner, &ua, amount), "borrow").await;
        borrow_limits += 1;

        // Every fourth case: the SOL price at which the position turns liquidatable, on chain.
        if case % 4 == 0 {
            market.new_slot_at_prices(SOL_PRICE, ETH_PRICE).await;
            let view = market.view().await;
            let obligation = market.h.obligation(&user.obligation).await;
            let quoted = position(&view, &obligation).expect("position");
            let (_, price) = quoted.liquidation_prices.iter().find(|(r, _)| *r == sol.reserve).copied().expect("SOL is collateral");
            // None: the other collateral covers the debt even with SOL at one tick.
            let checks = match price {
                Some(price) => vec![(price.mantissa, true), (price.mantissa + 1, false)],
                None => vec![(1, false)],
            };
            for (mantissa, liquidatable) in checks {
                market.h.set_price(&sol.oracle, mantissa as i64, 0, SOL_PRICE_EXPO).await;
                let refresh = market.h.refresh_all_ixs(&user.obligation, &obligation, &[&sol, &usdc, &eth]);
                market.h.must_send(&refresh, &[]).await;
                let values = market.h.obligation(&user.obligation).await.values();
                assert_eq!(values.is_unhealthy(), liquidatable, "case {case}: SOL at {mantissa} (quoted liquidation price {price:?})");
            }
            liquidation_prices += 1;
        }

        // Prices fall (or not): quote_liquidation against liquidate.
        let sol_price = (SOL_PRICE as f64 * rng.between(0.55, 1.0)) as i64;
        let eth_price = (ETH_PRICE as f64 * rng.between(0.55, 1.0)) as i64;
        market.new_slot_at_prices(sol_price, eth_price).await;
        let obligation = market.h.obligation(&user.obligation).await;
        let withdraw = if obligation.deposit_count() > 1 && rng.chance(0.5) { eth.clone() } else { sol.clone() };
        let (_, tokens, shares) = *market.liquidator_collateral.iter().find(|(r, _, _)| *r == withdraw.reserve).unwrap();
        let accept_shares = rng.chance(0.5);
        let debt = obligation.borrows[0].borrowed_amount().to_u64(solvent::math::Rounding::Up).unwrap();
        let max_repay = if rng.chance(0.5) { u64::MAX } else { rng.range(1, debt.max(1)) };
        for step in 0..2 {
            let view = market.view().await;
            let obligation = market.h.obligation(&user.obligation).await;
            let quote = quote_liquidation(&view, &obligation, &usdc.reserve, &withdraw.reserve, max_repay, accept_shares);
            let before = [market.liquidator_usdc, tokens, shares];
            let mut balances = [0u64; 3];
            for (slot, key) in balances.iter_mut().zip(before) {
                *slot = market.h.token_balance(&key).await;
            }
            let ix = liquidate_with_shares_ix(
                &market_keys, &user.obligation, &market.liquidator.pubkey(), &usdc, &market.liquidator_usdc, &withdraw, &tokens, max_repay,
                accept_shares.then_some(&shares),
            );
            let liquidator = market.liquidator.insecure_clone();
            let outcome = market.send_with_refresh(&user.obligation, ix, &[&liquidator]).await;
            match quote {
                Err(expected) => {
                    assert_eq!(outcome.lending_error(), Some(expected), "case {case} step {step}: the quote refused with {expected:?}; liquidate: {:?}", outcome.error);
                    refusals += 1;
                    break;
                }
                Ok(quote) => {
                    assert!(outcome.error.is_none(), "case {case} step {step}: quoted {quote:?}, liquidate refused: {:?}\n{}", outcome.error, outcome.logs.join("\n"));
                    let after = market.h.obligation(&user.obligation).await;
                    let mut now = [0u64; 3];
                    for (slot, key) in now.iter_mut().zip(before) {
                        *slot = market.h.token_balance(&key).await;
                    }
                    assert_eq!(balances[0] - now[0], quote.plan.repay_amount, "case {case}: repaid");
                    assert_eq!(now[1] - balances[1], quote.payout.tokens, "case {case}: tokens paid");
                    assert_eq!(now[2] - balances[2], quote.payout.shares, "case {case}: shares paid");
                    let held = |o: &solvent::state::Obligation| o.find_deposit(&to_anchor(&withdraw.reserve)).map(|i| o.deposits[i].deposited_shares).unwrap_or(0);
                    assert_eq!(held(&obligation) - held(&after), quote.plan.seized_shares, "case {case}: collateral taken");
                    let owed = |o: &solvent::state::Obligation| o.find_borrow(&to_anchor(&usdc.reserve)).map(|i| o.borrows[i].borrowed_amount()).unwrap_or(Wad::ZERO);
                    let (refreshed, _) = view.refresh_obligation(&obligation).unwrap();
                    assert_eq!(owed(&refreshed).checked_sub(owed(&after)), Some(quote.plan.settled_debt), "case {case}: debt settled");
                    liquidations += 1;
                }
            }
        }
    }
    println!(
        "{cases} random obligations: {withdraw_limits} max_withdraw and {borrow_limits} max_borrow limits exact, {liquidation_prices} liquidation prices exact to the tick, {liquidations} liquidations as quoted, {refusals} refusals as quoted; limits bound by {bound_by:?}"
    );
    assert!(liquidations >= cases / 4 && refusals >= cases / 10, "the cases cover both outcomes: {liquidations} liquidations, {refusals} refusals");
}
