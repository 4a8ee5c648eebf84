//! Liquidation soundness on the built .so: over thousands of random markets, positions and
//! prices, every liquidation does what `quote_liquidation` says to the base unit, pays a bonus
//! measured at spot no larger than the auction's (itself at most the configured maximum), never
//! lowers the health factor of a solvent obligation, leaves bad debt only where collateral was
//! already below debt, and conserves tokens. Plus: a fully borrowed collateral reserve pays in
//! shares; the auction clock stops when a position is cured by repay, deposit or liquidation;
//! liquidation and write-off run while the market is paused. A third of the cases run in an
//! e-mode group of random parameters holding every reserve (the group's threshold, bonus auction
//! and 100% debt weight apply).
use solvent::errors::LendingError;
use solvent::math::{Rounding, Wad};
use solvent::state::{quote_liquidation, EmodeGroup, LiquidationRequest, ObligationValues, ReserveConfig, DEAD_SHARES};
use solvent_tests::*;

const ETH_PRICE_EXPO: i32 = -8;

/// A Pyth legacy account with spot, EMA and both confidences, published at `time`.
#[allow(clippy::too_many_arguments)]
fn write_price(h: &mut Harness, oracle: &Pubkey, spot: i64, conf: u64, ema: i64, ema_conf: u64, expo: i32, time: i64) {
    let data = pyth_price_account_with_ema(spot, conf, ema, ema_conf, expo, time, pyth_sdk_solana::state::PriceStatus::Trading);
    h.set_account(oracle, &PYTH_PROGRAM_ID, data);
}

/// A liquidation bonus of at most `bonus_cap` and, 60% of the time, an auction maximum from it
/// to `max_cap` (else 0), both within `(1 + bonus) × threshold <= 100%`.
fn random_bonuses(rng: &mut Rng, threshold: u64, bonus_cap: u64, max_cap: u64) -> (u64, u64) {
    let bonus_ceiling = 100_000_000 / threshold - 10_000;
    let bonus = rng.range(0, bonus_ceiling.min(bonus_cap));
    let max_bonus = if rng.chance(0.6) { rng.range(bonus, bonus_ceiling.min(max_cap)) } else { 0 };
    (bonus, max_bonus)
}

/// A random config `validate()` accepts for a collateral reserve.
fn random_collateral_config(rng: &mut Rng) -> ReserveConfig {
    let threshold = rng.range(5_000, 9_500);
    let ltv = rng.range(threshold.saturating_sub(2_500).max(1_000), threshold - 50);
    let (bonus, max_bonus) = random_bonuses(rng, threshold, 1_500, 2_500);
    ReserveConfig {
        loan_to_value_bps: ltv as u16,
        liquidation_threshold_bps: threshold as u16,
        liquidation_bonus_bps: bonus as u16,
        max_liquidation_bonus_bps: max_bonus as u16,
        liquidation_bonus_ramp_secs: if rng.chance(0.5) { 600 } else { 0 },
        close_factor_bps: rng.range(2_000, 10_000) as u16,
        max_confidence_bps: rng.range(50, 1_000) as u16,
        valuation_mode: if rng.chance(0.25) { solvent::state::VALUATION_SPOT_ONLY } else { 0 },
        ..sol_config()
    }
}

/// A random e-mode group `validate()` accepts, with a threshold of 80% to 97%.
fn random_emode_group(rng: &mut Rng) -> EmodeGroup {
    let threshold = rng.range(8_000, 9_700);
    let ltv = rng.range(threshold - 1_500, threshold - 50);
    let (bonus, max_bonus) = random_bonuses(rng, threshold, 800, 1_500);
    EmodeGroup {
        loan_to_value_bps: ltv as u16,
        liquidation_threshold_bps: threshold as u16,
        liquidation_bonus_bps: bonus as u16,
        max_liquidation_bonus_bps: max_bonus as u16,
    }
}

/// A spot price and a second price within `spread` of it, and confidences within `max_bps`.
fn random_prices(rng: &mut Rng, spot: i64, spread: f64, max_bps: u16) -> (i64, u64, i64, u64) {
    let ema = ((spot as f64) * (1.0 + rng.unit() * 2.0 * spread - spread)).max(1.0) as i64;
    let conf = (spot as f64 * max_bps as f64 / 10_000.0 * rng.unit()) as u64;
    let ema_conf = (ema as f64 * max_bps as f64 / 10_000.0 * rng.unit()) as u64;
    (spot, conf, ema, ema_conf)
}

struct Soundness {
    h: Harness,
    owner: Keypair,
    market: TestMarket,
    sol: TestReserve,
    eth: TestReserve,
    usdc: TestReserve,
    liquidator: Keypair,
    liquidator_usdc: Pubkey,
    /// The liquidator's token and share-token account per collateral reserve.
    liquidator_accounts: Vec<(Pubkey, Pubkey)>,
    /// A short seller: keypair, obligation (USDC collateral), SOL and ETH token accounts.
    shorter: (Keypair, Pubkey, Pubkey, Pubkey),
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    liquidated: usize,
    insolvent: usize,
    capped: usize,
    healthy: usize,
    would_lower_health: usize,
    too_small: usize,
    paid_in_shares: usize,
    in_emode: usize,
}

impl Soundness {
    async fn new() -> Soundness {
        let mut h = Harness::start().await;
        let owner = Keypair::new();
        h.fund(&owner.pubkey(), 100_000_000_000).await;
        let (market, _) = h.init_market(&owner).await;
        let (sol, _) = h.init_reserve(&market, &owner, 9, SOL_PRICE, SOL_PRICE_EXPO, sol_config()).await;
        let (eth, _) = h.init_reserve(&market, &owner, 8, 300_000_000_000, ETH_PRICE_EXPO, sol_config()).await;
        let (usdc, _) = h.init_reserve(&market, &owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;
        // A lender supplies USDC for every case's borrow.
        let lender = h.new_user(&market, &sol, &usdc).await;
        h.mint_to(&usdc.mint, &lender.usdc_account, 1_000_000_000_000_000).await;
        let ix = deposit_ix(&market, &usdc, &lender.obligation, &lender.keypair.pubkey(), &lender.usdc_account, 1_000_000_000_000_000);
        h.must_send(&[ix], &[&lender.keypair]).await;
        let liquidator = Keypair::new();
        h.fund(&liquidator.pubkey(), 10_000_000_000).await;
        let liquidator_usdc = h.create_token_account(&usdc.mint, &liquidator.pubkey()).await;
        h.mint_to(&usdc.mint, &liquidator_usdc, 1_000_000_000_000_000).await;
        let mut liquidator_accounts = Vec::new();
        for reserve in [&sol, &eth] {
            let tokens = h.create_token_account(&reserve.mint, &liquidator.pubkey()).await;
            let shares = h.create_token_account(&reserve.collateral_mint, &liquidator.pubkey()).await;
            liquidator_accounts.push((tokens, shares));
        }
        let shorter = h.new_user(&market, &sol, &usdc).await;
        h.mint_to(&usdc.mint, &shorter.usdc_account, 100_000_000_000_000_000).await;
        let ix = deposit_ix(&market, &usdc, &shorter.obligation, &shorter.keypair.pubkey(), &shorter.usdc_account, 100_000_000_000_000_000);
        h.must_send(&[ix], &[&shorter.keypair]).await;
        let shorter_eth = h.create_token_account(&eth.mint, &shorter.keypair.pubkey()).await;
        let shorter = (shorter.keypair.insecure_clone(), shorter.obligation, shorter.sol_account, shorter_eth);
        Soundness { h, owner, market, sol, eth, usdc, liquidator, liquidator_usdc, liquidator_accounts, shorter }
    }

    fn reserves(&self) -> [&TestReserve; 3] {
        [&self.sol, &self.eth, &self.usdc]
    }

    /// The short seller borrows all idle SOL and ETH against its USDC.
    async fn drain_collateral_reserves(&mut self) {
        let h = &mut self.h;
        let (shorter, obligation) = (&self.shorter.0, self.shorter.1);
        let mut ixs = Vec::new();
        for (reserve, account) in [(&self.sol, self.shorter.2), (&self.eth, self.shorter.3)] {
            let idle = h.reserve(&reserve.reserve).await.available_amount;
            if idle > 0 {
                ixs.push(borrow_ix(&self.market, reserve, &obligation, &shorter.pubkey(), &account, idle));
            }
        }
        for ix in ixs {
            let ixs = h.with_refresh(&obligation, &[&self.sol, &self.eth, &self.usdc], ix).await;
            h.must_send(&ixs, &[shorter]).await;
        }
    }

    /// Every reserve's vault holds exactly what the reserve records as available.
    async fn assert_vaults_match(&mut self) {
        for reserve in self.reserves().map(|r| r.clone()) {
            let state = self.h.reserve(&reserve.reserve).await;
            assert_eq!(self.h.token_balance(&reserve.vault).await, state.available_amount, "vault of {}", reserve.mint);
        }
    }

    /// One random case; `seed` picks everything.
    async fn run_case(&mut self, rng: &mut Rng, tally: &mut Tally) {
        let h = &mut self.h;
        tally.cases += 1;
        // A third of the cases in an e-mode group holding every reserve.
        let emode = rng.chance(0.33).then(|| random_emode_group(rng));
        let emode_groups = u8::from(emode.is_some());
        let sol_config = ReserveConfig { emode_groups, ..random_collateral_config(rng) };
        let eth_config = ReserveConfig { emode_groups, ..random_collateral_config(rng) };
        // Half the cases weigh the debt (borrow weight 100%..300%; 100% in a group).
        let borrow_weight_bps = if rng.chance(0.5) { rng.range(10_000, 30_000) as u16 } else { 0 };
        let usdc_config = ReserveConfig {
            max_confidence_bps: 300,
            valuation_mode: if rng.chance(0.25) { 1 } else { 0 },
            borrow_weight_bps,
            emode_groups,
            ..usdc_config()
        };
        let mut ixs = vec![
            update_config_ix(&self.market, &self.owner.pubkey(), &self.sol, sol_config),
            update_config_ix(&self.market, &self.owner.pubkey(), &self.eth, eth_config),
            update_config_ix(&self.market, &self.owner.pubkey(), &self.usdc, usdc_config),
        ];
        if let Some(group) = emode {
            ixs.push(set_emode_group_ix(&self.market, &self.owner.pubkey(), 1, group, 0));
        }
        h.must_send(&ixs, &[&self.owner]).await;
        let now = h.now().await;
        // Prices at borrowing time: exact.
        let sol_price = rng.range(2_000_000_000, 30_000_000_000) as i64;
        let eth_price = rng.range(50_000_000_000, 500_000_000_000) as i64;
        write_price(h, &self.sol.oracle, sol_price, 0, sol_price, 0, SOL_PRICE_EXPO, now);
        write_price(h, &self.eth.oracle, eth_price, 0, eth_price, 0, ETH_PRICE_EXPO, now);
        write_price(h, &self.usdc.oracle, USDC_PRICE, 0, USDC_PRICE, 0, USDC_PRICE_EXPO, now);

        // A borrower with SOL and perhaps ETH collateral borrows a random share of its limit.
        let borrower = Keypair::new();
        h.fund(&borrower.pubkey(), 1_000_000_000).await;
        let obligation = h.init_obligation(&self.market, &borrower).await;
        let mut ixs = Vec::new();
        let mut allowed_usd = 0.0;
        let sol_amount = rng.range(10_000_000, 1_000_000_000_000);
        let with_eth = rng.chance(0.5);
        let eth_amount = if with_eth { rng.range(100_000, 10_000_000_000) } else { 0 };
        let ltv_of = |config: &ReserveConfig| emode.map(|g| g.loan_to_value_bps).unwrap_or(config.loan_to_value_bps);
        for (reserve, amount, price, decimals, ltv) in [
            (&self.sol, sol_amount, sol_price, 9, ltv_of(&sol_config)),
            (&self.eth, eth_amount, eth_price, 8, ltv_of(&eth_config)),
        ] {
            if amount == 0 {
                continue;
            }
            let account = h.create_token_account(&reserve.mint, &borrower.pubkey()).await;
            h.mint_to(&reserve.mint, &account, amount).await;
            ixs.push(deposit_ix(&self.market, reserve, &obligation, &borrower.pubkey(), &account, amount));
            allowed_usd += amount as f64 / 10f64.powi(decimals) * price as f64 / 1e8 * ltv as f64 / 10_000.0;
        }
        h.must_send(&ixs, &[&borrower]).await;
        if emode.is_some() {
            let enter = set_obligation_emode_ix(&self.market, &obligation, &borrower.pubkey(), 1);
            let ixs = h.with_refresh(&obligation, &[&self.sol, &self.eth, &self.usdc], enter).await;
            h.must_send(&ixs, &[&borrower]).await;
            tally.in_emode += 1;
        }
        let weight = if emode.is_some() { 1.0 } else { usdc_config.effective_borrow_weight_bps() as f64 / 10_000.0 };
        let borrow_usd = allowed_usd / weight * rng.range(70, 98) as f64 / 100.0;
        let borrow_amount = (borrow_usd * 1e6) as u64;
        if borrow_amount < 10 {
            return;
        }
        let usdc_account = h.create_token_account(&self.usdc.mint, &borrower.pubkey()).await;
        let ix = borrow_ix(&self.market, &self.usdc, &obligation, &borrower.pubkey(), &usdc_account, borrow_amount);
        let ixs = h.with_refresh(&obligation, &[&self.sol, &self.eth, &self.usdc], ix).await;
        h.must_send(&ixs, &[&borrower]).await;
        // Sometimes a short seller borrows every idle token of the collateral reserves, so the
        // liquidation must pay in shares.
        if rng.chance(0.15) {
            self.drain_collateral_reserves().await;
        }
        self.run_shock(rng, tally, obligation, (sol_price, eth_price), (sol_config, eth_config)).await;
    }

    async fn run_shock(&mut self, rng: &mut Rng, tally: &mut Tally, obligation: Pubkey, prices: (i64, i64), configs: (ReserveConfig, ReserveConfig)) {
        let h = &mut self.h;
        let (sol_price, eth_price) = prices;
        let (sol_config, eth_config) = configs;
        let now = h.now().await;

        // The shock: collateral falls (or not), with EMA, confidence and the debt's price apart.
        let fall = |rng: &mut Rng, price: i64| (price as f64 * (0.3 + 0.65 * rng.unit())) as i64;
        let (sol_spot, eth_spot) = (fall(rng, sol_price), fall(rng, eth_price));
        let sol_after = random_prices(rng, sol_spot, 0.12, sol_config.max_confidence_bps);
        let eth_after = random_prices(rng, eth_spot, 0.12, eth_config.max_confidence_bps);
        let usdc_spot = (USDC_PRICE as f64 * (0.98 + 0.04 * rng.unit())) as i64;
        let usdc_after = random_prices(rng, usdc_spot, 0.02, 300);
        let oracles = [self.sol.oracle, self.eth.oracle, self.usdc.oracle];
        let write_all = |h: &mut Harness, time: i64| {
            write_price(h, &oracles[0], sol_after.0, sol_after.1, sol_after.2, sol_after.3, SOL_PRICE_EXPO, time);
            write_price(h, &oracles[1], eth_after.0, eth_after.1, eth_after.2, eth_after.3, ETH_PRICE_EXPO, time);
            write_price(h, &oracles[2], usdc_after.0, usdc_after.1, usdc_after.2, usdc_after.3, USDC_PRICE_EXPO, time);
        };
        let all = [&self.sol, &self.eth, &self.usdc];
        // Sometimes the auction clock runs a while before the liquidator comes.
        if rng.chance(0.4) {
            write_all(h, now);
            let ixs = refresh_ixs(h, &obligation, &all).await;
            h.must_send(&ixs, &[]).await;
            h.set_time(now + rng.range(1, 900) as i64).await;
        }
        let now = h.now().await;
        write_all(h, now);

        // What the program will see: refresh, then quote off chain with the program's function.
        let refresh = refresh_ixs(h, &obligation, &all).await;
        h.must_send(&refresh, &[]).await;
        let before = h.obligation(&obligation).await;
        let values = before.values();
        if !values.is_unhealthy() {
            tally.healthy += 1;
            return;
        }
        let deposit_index = rng.range(0, before.deposit_count() as u64 - 1) as usize;
        let withdraw = if before.deposits[deposit_index].deposit_reserve == to_anchor(&self.sol.reserve) { self.sol.clone() } else { self.eth.clone() };
        let (tokens_account, shares_account) = self.liquidator_accounts[usize::from(withdraw.reserve != self.sol.reserve)];
        let debt = before.borrows[0].borrowed_amount().to_u64(Rounding::Up).unwrap();
        let max_repay = if rng.chance(0.3) { u64::MAX } else { rng.range(1, debt) };
        let (usdc_state, withdraw_state) = (h.reserve(&self.usdc.reserve).await, h.reserve(&withdraw.reserve).await);
        let market = h.market(&self.market.market).await;
        let request = LiquidationRequest { borrow_slot: 0, deposit_index, max_repay, now, accept_shares: true, same_reserve: false };
        let quote = quote_liquidation(&market, &before, &usdc_state, &withdraw_state, request);

        let ix = liquidate_with_shares_ix(
            &self.market,
            &obligation,
            &self.liquidator.pubkey(),
            &self.usdc,
            &self.liquidator_usdc,
            &withdraw,
            &tokens_account,
            max_repay,
            Some(&shares_account),
        );
        let ixs = h.with_refresh(&obligation, &all, ix).await;
        let watched = [obligation, self.usdc.reserve, withdraw.reserve, self.liquidator_usdc, tokens_account, shares_account, withdraw.vault, self.usdc.vault];
        let balances_before = (
            h.token_balance(&self.liquidator_usdc).await,
            h.token_balance(&tokens_account).await,
            h.token_balance(&shares_account).await,
        );
        let quote = match quote {
            Err(error) => {
                match error {
                    LendingError::LiquidationWouldLowerHealth => tally.would_lower_health += 1,
                    LendingError::LiquidationTooSmall => tally.too_small += 1,
                    other => panic!("unexpected refusal {other:?} for {values:?}"),
                }
                // The program refuses with the same error and changes nothing (beyond the refresh).
                let snapshot = h.snapshot(&watched[1..]).await;
                let outcome = h.send(&ixs, &[&self.liquidator]).await;
                assert_eq!(outcome.custom_error(), Some(error_code(error)), "{:?}\n{}", outcome.error, outcome.logs.join("\n"));
                assert!(h.snapshot(&watched[1..]).await == snapshot, "a refused liquidation changed state");
                return;
            }
            Ok(quote) => quote,
        };
        let outcome = h.send(&ixs, &[&self.liquidator]).await;
        assert!(outcome.error.is_none(), "quoted liquidation failed: {:?}\nquote {quote:?}\nvalues {values:?}\n{}", outcome.error, outcome.logs.join("\n"));
        tally.liquidated += 1;
        tally.insolvent += usize::from(quote.insolvent);
        tally.capped += usize::from(quote.bonus_bps < quote.auction_bonus_bps);
        tally.paid_in_shares += usize::from(quote.payout.shares > 0);

        // To the base unit, as quoted.
        let repaid = balances_before.0 - h.token_balance(&self.liquidator_usdc).await;
        let received = h.token_balance(&tokens_account).await - balances_before.1;
        let received_shares = h.token_balance(&shares_account).await - balances_before.2;
        assert_eq!((repaid, received, received_shares), (quote.plan.repay_amount, quote.payout.tokens, quote.payout.shares));

        // The bonus: at most the auction's, which is at most the configured maximum (the
        // group's in e-mode); measured at spot, what the liquidator got is worth at most the
        // repayment × (1 + bonus).
        let params = before.emode().risk_params(&withdraw_state);
        let ceiling = params.max_liquidation_bonus_bps.max(params.liquidation_bonus_bps) as u64;
        assert!(quote.bonus_bps <= quote.auction_bonus_bps && quote.auction_bonus_bps <= ceiling, "{quote:?}");
        let received_liquidity = Wad::from_u64(received).checked_add(withdraw_state.liquidity_for_shares(received_shares, Rounding::Down).unwrap()).unwrap();
        let received_value = withdraw_state.market_value(received_liquidity, Rounding::Down).unwrap();
        let repaid_value = usdc_state.market_value(Wad::from_u64(repaid), Rounding::Up).unwrap();
        assert!(
            received_value.raw() * 10_000 <= repaid_value.raw() * (10_000 + quote.bonus_bps as u128),
            "effective bonus at spot above {} bps: received {received_value:?} for {repaid_value:?}",
            quote.bonus_bps
        );

        // Health: a fresh refresh after the call finds the health factor no lower (or no debt),
        // unless the obligation was insolvent before it.
        let refresh = refresh_ixs(h, &obligation, &all).await;
        h.must_send(&refresh, &[]).await;
        let after = h.obligation(&obligation).await;
        let after_values: ObligationValues = after.values();
        if !quote.insolvent {
            assert!(after_values.health_not_below(&values), "health fell: before {values:?}\nafter {after_values:?}\nquote {quote:?}");
        }
        // Bad debt (debt with no collateral behind it) only where collateral was below debt.
        if after.deposit_count() == 0 && after.has_borrows() {
            assert!(!values.is_solvent(), "bad debt from a solvent obligation: {values:?}");
        }
        self.assert_vaults_match().await;
    }
}

/// Refreshes of every reserve of the obligation and of the obligation, as it is on chain now.
async fn refresh_ixs(h: &mut Harness, obligation: &Pubkey, reserves: &[&TestReserve]) -> Vec<Instruction> {
    let state = h.obligation(obligation).await;
    h.refresh_all_ixs(obligation, &state, reserves)
}

/// The property: `SOUNDNESS_CASES` (default 2,000) random cases on the .so.
#[tokio::test]
async fn liquidations_are_sound_over_random_markets() {
    let cases: usize = std::env::var("SOUNDNESS_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let mut s = Soundness::new().await;
    let mut rng = Rng(0x0501_7E47);
    let mut tally = Tally::default();
    for _ in 0..cases {
        s.run_case(&mut rng, &mut tally).await;
    }
    println!("liquidation soundness: {tally:?}");
    assert_eq!(tally.cases, cases);
    // Not vacuous: most cases liquidate, and each regime is reached.
    assert!(tally.liquidated * 2 > cases, "{tally:?}");
    assert!(tally.insolvent > 0 && tally.capped > 0 && tally.would_lower_health > 0 && tally.paid_in_shares > 0 && tally.in_emode > 0, "{tally:?}");
}

/// The standard market with the borrower at 1,100 USDC of debt against 10 SOL.
async fn borrowed_market() -> (Harness, StandardMarket) {
    Harness::market_with_usdc_debt(1_100_000_000).await
}

async fn new_liquidator(h: &mut Harness, m: &StandardMarket) -> TestUser {
    let liquidator = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 100_000_000_000).await;
    liquidator
}

async fn quote_now(h: &mut Harness, m: &StandardMarket, max_repay: u64, accept_shares: bool) -> solvent::state::LiquidationQuote {
    let b = &m.borrower;
    let ixs = refresh_ixs(h, &b.obligation, &[&m.sol, &m.usdc]).await;
    h.must_send(&ixs, &[]).await;
    let obligation = h.obligation(&b.obligation).await;
    let (usdc, sol, market) = (h.reserve(&m.usdc.reserve).await, h.reserve(&m.sol.reserve).await, h.market(&m.market.market).await);
    let now = h.now().await;
    let request = LiquidationRequest { borrow_slot: 0, deposit_index: 0, max_repay, now, accept_shares, same_reserve: false };
    quote_liquidation(&market, &obligation, &usdc, &sol, request).expect("liquidatable")
}

#[tokio::test]
async fn a_fully_borrowed_collateral_reserve_pays_the_liquidator_in_shares() {
    let (mut h, m) = borrowed_market().await;
    // A short seller posts USDC and borrows every idle SOL: the SOL reserve is at 100% utilisation.
    let shorter = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &shorter.usdc_account, 10_000_000_000).await;
    let ix = deposit_ix(&m.market, &m.usdc, &shorter.obligation, &shorter.keypair.pubkey(), &shorter.usdc_account, 10_000_000_000);
    h.must_send(&[ix], &[&shorter.keypair]).await;
    let idle = h.reserve(&m.sol.reserve).await.available_amount;
    assert_eq!(idle, BORROWER_SOL_DEPOSIT);
    let ix = borrow_ix(&m.market, &m.sol, &shorter.obligation, &shorter.keypair.pubkey(), &shorter.sol_account, idle);
    let ixs = h.with_refresh(&shorter.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&shorter.keypair]).await;
    assert_eq!(h.reserve(&m.sol.reserve).await.available_amount, 0);

    // SOL falls to $120: the borrower's 10 SOL ($1,200) back $1,100 of debt at an 80% threshold.
    h.set_price(&m.sol.oracle, 12_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = new_liquidator(&mut h, &m).await;
    let shares_account = h.create_token_account(&m.sol.collateral_mint, &liquidator.keypair.pubkey()).await;
    // Without a share account there is nothing to pay with: refused, nothing changes.
    let ix = liquidate_ix(&m.market, &m.borrower.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 300_000_000);
    let ixs = h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], ix).await;
    let keys = [m.borrower.obligation, m.sol.reserve, m.usdc.reserve, liquidator.usdc_account, liquidator.sol_account, m.sol.vault, m.usdc.vault];
    assert_rejected(&mut h, &ixs, &[&liquidator.keypair], LendingError::InsufficientLiquidity, &keys).await;

    // With one, the liquidation goes through and the collateral comes as SOL-reserve shares.
    let quote = quote_now(&mut h, &m, 300_000_000, true).await;
    assert_eq!(quote.payout.tokens, 0);
    assert!(quote.payout.shares > 0);
    let ix = liquidate_with_shares_ix(
        &m.market,
        &m.borrower.obligation,
        &liquidator.keypair.pubkey(),
        &m.usdc,
        &liquidator.usdc_account,
        &m.sol,
        &liquidator.sol_account,
        300_000_000,
        Some(&shares_account),
    );
    let ixs = h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], ix).await;
    let usdc_before = h.token_balance(&liquidator.usdc_account).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    assert_eq!(usdc_before - h.token_balance(&liquidator.usdc_account).await, quote.plan.repay_amount);
    assert_eq!(h.token_balance(&liquidator.sol_account).await, 0);
    let shares = h.token_balance(&shares_account).await;
    assert_eq!(shares, quote.payout.shares);
    // At $120 with a 5% bonus: $300 repaid for $315 of SOL, 2.625 SOL, less the rounding.
    let sol = h.reserve(&m.sol.reserve).await;
    let worth = sol.redeem_amount(shares).unwrap();
    assert!(worth <= 2_625_000_000 && worth > 2_624_990_000, "shares worth {worth}");

    // Liquidity comes back when the short is covered; the shares redeem for what they are worth.
    let owed = h.obligation(&shorter.obligation).await.borrows[0].borrowed_amount().to_u64(Rounding::Up).unwrap();
    h.mint_to(&m.sol.mint, &shorter.sol_account, owed - idle).await;
    let ix = repay_ix(&m.sol, &shorter.obligation, &shorter.keypair.pubkey(), &shorter.sol_account, owed);
    h.must_send(&[ix], &[&shorter.keypair]).await;
    let sol = h.reserve(&m.sol.reserve).await;
    let expected = sol.redeem_amount(shares).unwrap();
    let ix = redeem_reserve_collateral_ix(&m.market, &m.sol, &liquidator.keypair.pubkey(), &shares_account, &liquidator.sol_account, shares);
    h.must_send(&[ix], &[&liquidator.keypair]).await;
    assert_eq!(h.token_balance(&liquidator.sol_account).await, expected);
    assert_eq!(h.token_balance(&shares_account).await, 0);

    // Every SOL accounted for: the vault holds the deposit plus the short's interest less what
    // the liquidator redeemed, exactly as the reserve records; and every share is either in the
    // borrower's obligation or one of the dead shares.
    let sol = h.reserve(&m.sol.reserve).await;
    let vault = h.token_balance(&m.sol.vault).await;
    assert_eq!(vault, sol.available_amount);
    assert_eq!(vault, BORROWER_SOL_DEPOSIT + (owed - idle) - expected);
    let borrower = h.obligation(&m.borrower.obligation).await;
    assert_eq!(sol.collateral_supply, borrower.deposits[0].deposited_shares + DEAD_SHARES);
    assert_eq!(mint_supply(&h.account(&m.sol.collateral_mint).await.unwrap().data), 0);
}

/// Crashes SOL to `price` and refreshes (the auction clock starts), then lets `secs` pass.
async fn unhealthy_for(h: &mut Harness, m: &StandardMarket, price: i64, secs: i64) -> i64 {
    h.set_price(&m.sol.oracle, price, 0, SOL_PRICE_EXPO).await;
    let ixs = refresh_ixs(h, &m.borrower.obligation, &[&m.sol, &m.usdc]).await;
    h.must_send(&ixs, &[]).await;
    let started = h.obligation(&m.borrower.obligation).await.unhealthy_since;
    assert_eq!(started, h.now().await);
    let later = h.now().await + secs;
    h.set_time(later).await;
    h.set_price(&m.sol.oracle, price, 0, SOL_PRICE_EXPO).await;
    h.set_price(&m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    started
}

/// After a cure, the next unhealthy episode starts its auction from scratch.
async fn assert_clock_restarts(h: &mut Harness, m: &StandardMarket, price: i64) {
    assert_eq!(h.obligation(&m.borrower.obligation).await.unhealthy_since, 0, "the cure stops the clock");
    h.set_price(&m.sol.oracle, price, 0, SOL_PRICE_EXPO).await;
    let quote = quote_now(h, m, u64::MAX, false).await;
    assert_eq!(h.obligation(&m.borrower.obligation).await.unhealthy_since, h.now().await, "a new episode starts now");
    let obligation = h.obligation(&m.borrower.obligation).await;
    let sol = h.reserve(&m.sol.reserve).await;
    let fresh = solvent::state::liquidation_bonus_bps(&sol.config.risk_params(), &obligation.values(), 0);
    assert_eq!(quote.auction_bonus_bps, fresh, "no time credit from the old episode");
}

/// The SOL collateral with a time-ramped auction: 5% up to 10% over 10 minutes.
async fn auction_market() -> (Harness, StandardMarket) {
    let (mut h, m) = borrowed_market().await;
    let config = ReserveConfig { max_liquidation_bonus_bps: 1_000, liquidation_bonus_ramp_secs: 600, ..sol_config() };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.sol, config)], &[&m.owner]).await;
    (h, m)
}

#[tokio::test]
async fn a_repayment_that_cures_stops_the_auction_clock() {
    let (mut h, m) = auction_market().await;
    let b = &m.borrower;
    let started = unhealthy_for(&mut h, &m, 12_000_000_000, 300).await;
    // $960 of threshold-weighted collateral: a $100 repayment leaves $1,000 of debt, still unhealthy.
    let ix = repay_ix(&m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 100_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    assert_eq!(h.obligation(&b.obligation).await.unhealthy_since, started, "not cured: the clock runs on");
    // Another $100 brings the debt under $960: cured.
    let ix = repay_ix(&m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, 100_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    assert_clock_restarts(&mut h, &m, 10_500_000_000).await;
}

#[tokio::test]
async fn a_deposit_that_cures_stops_the_auction_clock() {
    let (mut h, m) = auction_market().await;
    let b = &m.borrower;
    unhealthy_for(&mut h, &m, 12_000_000_000, 300).await;
    h.mint_to(&m.sol.mint, &b.sol_account, 2_000_000_000).await;
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, 2_000_000_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    // 12 SOL at $120 × 80% = $1,152 against $1,100: cured at the last refresh's prices.
    assert_clock_restarts(&mut h, &m, 11_000_000_000).await;
}

#[tokio::test]
async fn a_liquidation_that_cures_stops_the_auction_clock() {
    let (mut h, m) = auction_market().await;
    // $137: 10 SOL × 80% = $1,096 of weighted collateral against $1,100.
    unhealthy_for(&mut h, &m, 13_700_000_000, 300).await;
    let liquidator = new_liquidator(&mut h, &m).await;
    let ix = liquidate_ix(&m.market, &m.borrower.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, u64::MAX);
    let ixs = h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], ix).await;
    h.must_send(&ixs, &[&liquidator.keypair]).await;
    let after = h.obligation(&m.borrower.obligation).await;
    assert!(!after.values().is_unhealthy(), "half the debt repaid cures it");
    assert_clock_restarts(&mut h, &m, 8_000_000_000).await;
}

#[tokio::test]
async fn liquidation_write_off_and_deposits_run_while_paused() {
    let (mut h, m) = borrowed_market().await;
    h.must_send(&[set_paused_ix(&m.market, &m.owner.pubkey(), true)], &[&m.owner]).await;
    let b = &m.borrower;
    // A borrower can still add collateral...
    h.mint_to(&m.sol.mint, &b.sol_account, 1_000).await;
    let ix = deposit_ix(&m.market, &m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, 1_000);
    h.must_send(&[ix], &[&b.keypair]).await;
    // ...and a crash is liquidated down to nothing, then written off, all while paused.
    h.set_price(&m.sol.oracle, 5_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = new_liquidator(&mut h, &m).await;
    for _ in 0..10 {
        if h.obligation(&b.obligation).await.deposit_count() == 0 {
            break;
        }
        let ix = liquidate_ix(&m.market, &b.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, u64::MAX);
        let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
        h.must_send(&ixs, &[&liquidator.keypair]).await;
    }
    assert_eq!(h.obligation(&b.obligation).await.deposit_count(), 0, "an insolvent position is closed out");
    h.must_send(&[write_off_bad_debt_ix(&m.market, &m.usdc, &b.obligation)], &[]).await;
    assert!(!h.obligation(&b.obligation).await.has_borrows());
    assert!(h.market(&m.market.market).await.paused);
}

#[tokio::test]
async fn the_first_depositor_cannot_inflate_the_share_price() {
    let mut h = Harness::start().await;
    let owner = Keypair::new();
    h.fund(&owner.pubkey(), 100_000_000_000).await;
    let (market, _) = h.init_market(&owner).await;
    let (usdc, _) = h.init_reserve(&market, &owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;
    let (sol, _) = h.init_reserve(&market, &owner, 9, SOL_PRICE, SOL_PRICE_EXPO, sol_config()).await;
    let attacker = h.new_user(&market, &sol, &usdc).await;
    let victim = h.new_user(&market, &sol, &usdc).await;
    let start = 10_000_000_000u64; // 10,000 USDC
    h.mint_to(&usdc.mint, &attacker.usdc_account, start).await;
    h.mint_to(&usdc.mint, &victim.usdc_account, 1_000_000_000).await;
    // A first deposit no larger than the dead shares is refused, and changes nothing.
    let ix = deposit_ix(&market, &usdc, &attacker.obligation, &attacker.keypair.pubkey(), &attacker.usdc_account, DEAD_SHARES);
    let keys = [usdc.reserve, usdc.vault, attacker.obligation, attacker.usdc_account];
    assert_rejected(&mut h, &[ix], &[&attacker.keypair], LendingError::FirstDepositTooSmall, &keys).await;
    // The attack: the smallest first deposit, then a large "donation" through a flash loan fee
    // paid to itself, then the victim deposits, then the attacker withdraws everything.
    let ix = deposit_ix(&market, &usdc, &attacker.obligation, &attacker.keypair.pubkey(), &attacker.usdc_account, DEAD_SHARES + 1);
    h.must_send(&[ix], &[&attacker.keypair]).await;
    let config = ReserveConfig { flash_loan_fee_bps: 10_000, ..usdc_config() };
    h.must_send(&[update_config_ix(&market, &owner.pubkey(), &usdc, config)], &[&owner]).await;
    let available = h.reserve(&usdc.reserve).await.available_amount;
    let loan = available;
    let ixs = vec![
        flash_borrow_ix(&market, &usdc, &attacker.usdc_account, loan),
        flash_repay_ix(&market, &usdc, &attacker.usdc_account, &attacker.keypair.pubkey(), loan),
    ];
    h.must_send(&ixs, &[&attacker.keypair]).await;
    let ix = deposit_ix(&market, &usdc, &victim.obligation, &victim.keypair.pubkey(), &victim.usdc_account, 1_000_000_000);
    let outcome = h.send(&[ix], &[&victim.keypair]).await;
    let ix = withdraw_ix(&market, &usdc, &attacker.obligation, &attacker.keypair.pubkey(), &attacker.usdc_account, u64::MAX);
    h.must_send(&[ix], &[&attacker.keypair]).await;
    let attacker_end = h.token_balance(&attacker.usdc_account).await;
    assert!(attacker_end < start, "the attacker gains nothing: {attacker_end} of {start}");
    if outcome.error.is_none() {
        // The victim's loss is at most one share's worth.
        let reserve = h.reserve(&usdc.reserve).await;
        let victim_shares = h.obligation(&victim.obligation).await.deposits[0].deposited_shares;
        let claim = reserve.redeem_amount(victim_shares).unwrap();
        let one_share = reserve.redeem_amount(1).unwrap() + 1;
        assert!(1_000_000_000 - claim <= one_share, "victim lost {} (one share is {one_share})", 1_000_000_000 - claim);
    }
}
