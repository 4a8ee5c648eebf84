//! A market crash on the built .so, cleared by the keeper.
//!
//! Three reserves (SOL, ETH, USDC), 200 borrowers with random positions near their borrowing
//! limits (seeded, so every run is the same), three of them whales above the per-call cap. SOL
//! falls 30% in four steps: three of 5% and a 15% gap. After each step the keeper runs one pass.
//!
//! Asserted after every pass: no obligation is liquidatable on chain (each is refreshed by the
//! program and read back); bad debt arose only on obligations whose collateral, when the keeper
//! first found them, no longer covered their debt plus the bonus (a gap the step jumped); and
//! every token is accounted for, per reserve: vault balance + outstanding debt + debt written off
//! = deposits − liquidity paid out + borrow fees + accrued interest, up to a rounding surplus of
//! less than one base unit per repayment, never below.
use solvent::math::{Rounding, Wad, BPS_DENOMINATOR, WAD};
use solvent::state::{Obligation, ReserveConfig};
use solvent_app::keeper::{Keeper, PassReport};
use solvent_tests::*;
use std::collections::{BTreeMap, BTreeSet};

const BORROWERS: usize = 200;
const WHALES: usize = 3;
/// SOL's price after each step, in Pyth units of expo -8: 150 → 142.5 → 135 → 127.5 → 105.
const SOL_STEPS: [i64; 4] = [14_250_000_000, 13_500_000_000, 12_750_000_000, 10_500_000_000];
const STEP_SECS: i64 = 60;

/// SplitMix64: a reproducible stream of positions (not for keys or anything secret).
/// Token flows each reserve's vault saw, as the test measured them.
#[derive(Default, Clone, Copy)]
struct Ledger {
    deposited: u64,
    borrowed_received: u64,
    borrow_fees: u64,
    repaid: u64,
    paid_out: u64,
    repayments: u64,
    interest: Wad,
    written_off: Wad,
}

fn auction(config: ReserveConfig, max_bonus_bps: u16) -> ReserveConfig {
    ReserveConfig { max_liquidation_bonus_bps: max_bonus_bps, liquidation_bonus_ramp_secs: 600, ..config }
}

fn dollars(value: f64) -> Wad {
    Wad((value * 1e6) as u128 * (WAD / 1_000_000))
}

struct Crash {
    h: Harness,
    market: TestMarket,
    /// SOL, ETH, USDC.
    reserves: Vec<TestReserve>,
    names: [&'static str; 3],
    keeper: Keeper,
    obligations: Vec<Pubkey>,
    ledger: BTreeMap<Pubkey, Ledger>,
}

impl Crash {
    async fn set_up() -> Crash {
        let mut h = Harness::start().await;
        let mut rng = Rng(0x5EED_CAFE);
        let owner = rng.keypair();
        h.fund(&owner.pubkey(), 100_000_000_000).await;
        // Every address comes from the seed, so the keeper meets obligations in the same order
        // and every run gives the same figures.
        let (market, _) = h.init_market_at(&owner, rng.keypair()).await;
        // A $25,000 cap per call, $20 dust, the protocol keeps 20% of each bonus.
        h.must_send(&[set_liquidation_limits_ix(&market, &owner.pubkey(), 25_000, 20, 2_000)], &[&owner]).await;
        let usdc_config = ReserveConfig { liquidation_bonus_bps: 400, ..usdc_config() };
        let specs = [
            (9u8, SOL_PRICE, SOL_PRICE_EXPO, auction(sol_config(), 1_000)),
            (8, 300_000_000_000, -8, auction(sol_config(), 1_000)),
            (6, USDC_PRICE, USDC_PRICE_EXPO, auction(usdc_config, 800)),
        ];
        let mut reserves = Vec::new();
        for (decimals, price, expo, config) in specs {
            let mint = h.create_mint_at(decimals, rng.keypair()).await;
            reserves.push(h.init_reserve_for_mint(&market, &owner, mint, price, expo, config).await.0);
        }
        let mut crash = Crash {
            h,
            market,
            reserves,
            names: ["SOL", "ETH", "USDC"],
            keeper: Keeper::new(Pubkey::default(), Keypair::new(), BTreeMap::new()),
            obligations: Vec::new(),
            ledger: BTreeMap::new(),
        };
        crash.keeper = crash.liquidator(&mut rng).await;
        // $30M of supply in each reserve.
        let supply = [200_000 * 1_000_000_000u64, 10_000 * 100_000_000, 30_000_000 * 1_000_000];
        let lender = rng.keypair();
        crash.open(&lender, &supply.iter().enumerate().map(|(i, a)| (i, *a)).collect::<Vec<_>>(), &[], false).await;
        crash.open_borrowers(&mut rng).await;
        crash
    }

    /// A liquidator with ample inventory of every asset.
    async fn liquidator(&mut self, rng: &mut Rng) -> Keeper {
        let liquidator = rng.keypair();
        self.h.fund(&liquidator.pubkey(), 10_000_000_000).await;
        let mut accounts = BTreeMap::new();
        let inventory = [100_000 * 1_000_000_000u64, 10_000 * 100_000_000, 50_000_000 * 1_000_000];
        for (reserve, amount) in self.reserves.clone().iter().zip(inventory) {
            let account = self.h.create_token_account(&reserve.mint, &liquidator.pubkey()).await;
            self.h.mint_to(&reserve.mint, &account, amount).await;
            accounts.insert(reserve.mint, account);
        }
        let mut keeper = Keeper::new(self.market.market, liquidator, accounts);
        keeper.verbose = std::env::var("KEEPER_VERBOSE").is_ok();
        keeper
    }

    /// Opens an obligation for `user`: deposits `(reserve index, amount)`, then borrows
    /// `(reserve index, amount)` after refreshing. Records the flows.
    async fn open(&mut self, user: &Keypair, deposits: &[(usize, u64)], borrows: &[(usize, u64)], track: bool) {
        self.h.fund(&user.pubkey(), 100_000_000).await;
        let obligation = self.h.init_obligation(&self.market, user).await;
        let mut deposit_ixs = Vec::new();
        for &(index, amount) in deposits {
            let reserve = self.reserves[index].clone();
            let source = self.h.create_token_account(&reserve.mint, &user.pubkey()).await;
            self.h.mint_to(&reserve.mint, &source, amount).await;
            deposit_ixs.push(deposit_ix(&self.market, &reserve, &obligation, &user.pubkey(), &source, amount));
            self.ledger.entry(reserve.reserve).or_default().deposited += amount;
        }
        self.h.must_send(&deposit_ixs, &[user]).await;
        for &(index, amount) in borrows {
            let reserve = self.reserves[index].clone();
            let destination = self.h.create_token_account(&reserve.mint, &user.pubkey()).await;
            let ix = borrow_ix(&self.market, &reserve, &obligation, &user.pubkey(), &destination, amount);
            let all: Vec<&TestReserve> = self.reserves.iter().collect();
            let ixs = self.h.with_refresh(&obligation, &all, ix).await;
            self.h.must_send(&ixs, &[user]).await;
            let received = self.h.token_balance(&destination).await;
            let entry = self.ledger.entry(reserve.reserve).or_default();
            entry.borrowed_received += received;
            entry.borrow_fees += amount - received;
        }
        if track {
            self.obligations.push(obligation);
        }
    }

    /// 200 borrowers: long SOL against USDC or ETH, long SOL and ETH against USDC, short SOL
    /// against ETH or USDC; each borrows 90%–99.5% of what its collateral allows.
    async fn open_borrowers(&mut self, rng: &mut Rng) {
        const PROFILES: [(&[usize], &[usize], u64); 6] = [
            (&[0], &[2], 35),
            (&[0, 1], &[2], 15),
            (&[0], &[1, 2], 15),
            (&[0, 2], &[1], 15),
            (&[1], &[0], 10),
            (&[2], &[0], 10),
        ];
        let states = [self.h.reserve(&self.reserves[0].reserve).await, self.h.reserve(&self.reserves[1].reserve).await, self.h.reserve(&self.reserves[2].reserve).await];
        for n in 0..BORROWERS {
            let mut pick = rng.next() % 100;
            let (collateral, debts, _) = *PROFILES.iter().find(|p| { let hit = pick < p.2; pick = pick.saturating_sub(p.2); hit }).unwrap();
            // Log-uniform from $1,000 to $400,000; the whales hold $2,000,000 (80× the cap).
            let total = if n < WHALES { 2_000_000.0 } else { (rng.between(1_000f64.ln(), 400_000f64.ln())).exp() };
            let weights: Vec<f64> = collateral.iter().map(|_| rng.between(0.2, 1.0)).collect();
            let weight_sum: f64 = weights.iter().sum();
            let mut deposits = Vec::new();
            let mut allowed = 0.0;
            for (&index, weight) in collateral.iter().zip(&weights) {
                let value = total * weight / weight_sum;
                let amount = states[index].amount_for_value(dollars(value), Rounding::Down).unwrap().to_u64(Rounding::Down).unwrap();
                deposits.push((index, amount));
                allowed += value * states[index].config.loan_to_value_bps as f64 / BPS_DENOMINATOR as f64;
            }
            let borrow_value = allowed * rng.between(0.90, 0.995);
            let debt_weights: Vec<f64> = debts.iter().map(|_| rng.between(0.2, 1.0)).collect();
            let debt_weight_sum: f64 = debt_weights.iter().sum();
            let borrows: Vec<(usize, u64)> = debts
                .iter()
                .zip(&debt_weights)
                .map(|(&index, weight)| {
                    let value = dollars(borrow_value * weight / debt_weight_sum);
                    (index, states[index].amount_for_value(value, Rounding::Down).unwrap().to_u64(Rounding::Down).unwrap())
                })
                .collect();
            let user = rng.keypair();
            self.open(&user, &deposits, &borrows, true).await;
        }
    }

    /// Refreshes all reserves in one transaction; interest accrued since the last refresh goes
    /// to the ledger.
    async fn refresh_reserves(&mut self) {
        let mut before = Vec::new();
        for reserve in &self.reserves.clone() {
            before.push(self.h.reserve(&reserve.reserve).await.borrowed_amount());
        }
        let ixs: Vec<Instruction> = self.reserves.iter().map(refresh_reserve_ix).collect();
        self.h.must_send(&ixs, &[]).await;
        for (reserve, before) in self.reserves.clone().iter().zip(before) {
            let after = self.h.reserve(&reserve.reserve).await.borrowed_amount();
            let entry = self.ledger.entry(reserve.reserve).or_default();
            entry.interest = entry.interest.checked_add(after.checked_sub(before).unwrap()).unwrap();
        }
    }

    /// Moves the clock on, publishes every price (SOL at `sol_price`), refreshes the reserves.
    async fn step(&mut self, sol_price: i64) {
        let now = self.h.now().await + STEP_SECS;
        self.h.set_time(now).await;
        let prices = [(sol_price, SOL_PRICE_EXPO), (300_000_000_000, -8), (USDC_PRICE, USDC_PRICE_EXPO)];
        for (reserve, (price, expo)) in self.reserves.clone().iter().zip(prices) {
            self.h.set_price(&reserve.oracle, price, 0, expo).await;
        }
        self.refresh_reserves().await;
    }

    fn record(&mut self, report: &PassReport) {
        for outcome in &report.outcomes {
            for call in &outcome.calls {
                let repay = self.ledger.get_mut(&call.repay_reserve).unwrap();
                repay.repaid += call.repaid;
                repay.repayments += 1;
                self.ledger.get_mut(&call.withdraw_reserve).unwrap().paid_out += call.received;
            }
            for (reserve, debt) in &outcome.written_off {
                let entry = self.ledger.get_mut(reserve).unwrap();
                entry.written_off = entry.written_off.checked_add(*debt).unwrap();
            }
        }
    }

    /// Each obligation refreshed by the program and read back: the ones still liquidatable.
    async fn liquidatable_on_chain(&mut self) -> Vec<Pubkey> {
        let all: Vec<&TestReserve> = self.reserves.iter().collect();
        let ixs: Vec<Instruction> = all.iter().map(|r| refresh_reserve_ix(r)).collect();
        self.h.must_send(&ixs, &[]).await;
        let mut left = Vec::new();
        for key in self.obligations.clone() {
            let obligation = self.h.obligation(&key).await;
            self.h.must_send(&[refresh_obligation_ix(&from_anchor(&obligation.lending_market), &key, &obligation_reserves(&obligation))], &[]).await;
            let refreshed: Obligation = self.h.obligation(&key).await;
            if refreshed.values().is_unhealthy() || (refreshed.deposit_count() == 0 && refreshed.has_borrows()) {
                left.push(key);
            }
        }
        left
    }

    /// What the keeper left liquidatable, for a failing run's output.
    async fn describe_liquidatable(&mut self, report: &PassReport) {
        let scan = self.keeper.scan(&mut InProcessChain { harness: &mut self.h }).await.expect("scan");
        for left in scan.unhealthy() {
            let outcome = report.outcomes.iter().rfind(|o| o.obligation == left.obligation);
            eprintln!(
                "left liquidatable: {} values {:?} best {:?} last outcome {:?}",
                left.obligation, left.values, left.best, outcome
            );
        }
    }

    /// The identity per reserve; returns the rounding surplus in raw Wad units per reserve.
    async fn check_accounting(&mut self) -> Vec<u128> {
        let mut surpluses = Vec::new();
        for reserve in self.reserves.clone() {
            let state = self.h.reserve(&reserve.reserve).await;
            let vault = self.h.token_balance(&reserve.vault).await;
            let ledger = self.ledger[&reserve.reserve];
            // Tokens: what went in and out of the vault, measured at the users' accounts.
            let expected_vault = ledger.deposited + ledger.repaid - ledger.borrowed_received - ledger.paid_out;
            assert_eq!(vault, expected_vault, "vault of {} differs from the measured flows", reserve.reserve);
            assert_eq!(vault, state.available_amount, "vault of {} differs from the reserve's books", reserve.reserve);
            // Claims: vault + debt + written off = deposits − paid out + fees + interest + surplus.
            let held = Wad::from_u64(vault).checked_add(state.borrowed_amount()).unwrap().checked_add(ledger.written_off).unwrap();
            let owed = Wad::from_u64(ledger.deposited + ledger.borrow_fees).checked_add(ledger.interest).unwrap().checked_sub(Wad::from_u64(ledger.paid_out)).unwrap();
            let surplus = held.checked_sub(owed).unwrap_or_else(|| panic!("{}: the books lost {} raw units", reserve.reserve, owed.raw() - held.raw()));
            assert!(
                surplus.raw() < ledger.repayments.max(1) as u128 * WAD,
                "{}: surplus {} raw is more than a base unit per repayment ({})",
                reserve.reserve,
                surplus.raw(),
                ledger.repayments
            );
            surpluses.push(surplus.raw());
        }
        surpluses
    }
}

#[tokio::test]
async fn the_keeper_clears_a_30_percent_crash() {
    let started = std::time::Instant::now();
    let mut crash = Crash::set_up().await;
    assert_eq!(crash.obligations.len(), BORROWERS);
    let set_up_secs = started.elapsed().as_secs_f64();
    crash.refresh_reserves().await;
    crash.check_accounting().await;
    // Depositors' claims and the price of one collateral share, in tokens, before the crash.
    let (mut initial_claims, mut share_prices) = (Vec::new(), Vec::new());
    for reserve in crash.reserves.clone() {
        let state = crash.h.reserve(&reserve.reserve).await;
        initial_claims.push(state.total_liquidity().unwrap());
        share_prices.push(wad_to_f64(state.total_liquidity().unwrap()) / state.collateral_supply as f64);
    }

    let mut became_liquidatable = BTreeSet::new();
    let mut liquidated = BTreeSet::new();
    let mut written_off = BTreeSet::new();
    let mut bad_debt_value = Wad::ZERO;
    let mut calls = 0;
    println!("step | SOL price | liquidatable | liquidated | calls | repaid ($) | collateral to liquidator ($) | written off | bad debt ($) | CU");
    for (step, &price) in SOL_STEPS.iter().enumerate() {
        crash.step(price).await;
        let report = {
            let mut chain = InProcessChain { harness: &mut crash.h };
            crash.keeper.run_pass(&mut chain).await.expect("keeper pass")
        };
        crash.record(&report);
        for outcome in &report.outcomes {
            became_liquidatable.insert(outcome.obligation);
            if !outcome.calls.is_empty() {
                liquidated.insert(outcome.obligation);
            }
            assert!(outcome.error.is_none(), "keeper failed on {}: {:?}", outcome.obligation, outcome.error);
            if !outcome.written_off.is_empty() {
                written_off.insert(outcome.obligation);
                // Bad debt only where the collateral found no longer covered debt + bonus.
                let bonus = outcome.calls.iter().map(|c| c.bonus_bps).max().unwrap_or(outcome.found_bonus_bps);
                let needed = outcome.found_values.borrowed_value.mul_bps(BPS_DENOMINATOR as u64 + bonus, Rounding::Up).unwrap();
                assert!(
                    outcome.found_values.deposited_value < needed,
                    "{} ended in bad debt though its ${:.2} of collateral covered ${:.2} of debt plus a {bonus} bps bonus",
                    outcome.obligation,
                    wad_to_f64(outcome.found_values.deposited_value),
                    wad_to_f64(outcome.found_values.borrowed_value)
                );
            }
        }
        bad_debt_value = bad_debt_value.checked_add(report.bad_debt_value).unwrap();
        calls += report.calls;
        println!(
            "{:>4} | {:>9.2} | {:>12} | {:>10} | {:>5} | {:>10.2} | {:>28.2} | {:>11} | {:>12.2} | {}",
            step + 1,
            price as f64 / 1e8,
            report.unhealthy,
            report.liquidated,
            report.calls,
            wad_to_f64(report.repaid_value),
            wad_to_f64(report.received_value),
            report.written_off,
            wad_to_f64(report.bad_debt_value),
            report.compute_units
        );
        if step < 3 {
            // A 5% step leaves every obligation that was healthy before it with collateral worth
            // more than its debt plus the largest bonus (1 / 80% × 95% > 110%): no bad debt.
            assert_eq!(report.written_off, 0, "bad debt after a 5% step");
        }
        assert_eq!(report.skipped, 0);
        if report.unhealthy_after > 0 {
            crash.describe_liquidatable(&report).await;
        }
        assert_eq!(report.unhealthy_after, 0, "the keeper's own rescan still finds liquidatable obligations");
        let left = crash.liquidatable_on_chain().await;
        assert!(left.is_empty(), "still liquidatable on chain after step {}: {left:?}", step + 1);
        crash.check_accounting().await;
    }

    let surpluses = crash.check_accounting().await;
    println!("\nSOL $150 -> $105 (-30%) in 4 steps; {BORROWERS} borrowers ({WHALES} whales of $2M), set up in {set_up_secs:.1} s");
    println!("obligations that became liquidatable: {}", became_liquidatable.len());
    println!("obligations liquidated: {} ({calls} calls)", liquidated.len());
    println!("obligations written off: {} (bad debt ${:.2})", written_off.len(), wad_to_f64(bad_debt_value));
    println!("reserve | written off (tokens) | share price at start | at end | depositors' loss (% of supply) | rounding surplus (raw Wad)");
    for (i, reserve) in crash.reserves.clone().iter().enumerate() {
        let state = crash.h.reserve(&reserve.reserve).await;
        let ledger = crash.ledger[&reserve.reserve];
        let scale = 10f64.powi(reserve.decimals as i32);
        let price_at_end = wad_to_f64(state.total_liquidity().unwrap()) / state.collateral_supply as f64;
        println!(
            "{:<7} | {:>20.6} | {:>20.9} | {:>11.9} | {:>29.4}% | {}",
            crash.names[i],
            wad_to_f64(ledger.written_off) / scale,
            share_prices[i],
            price_at_end,
            100.0 * wad_to_f64(ledger.written_off) / wad_to_f64(initial_claims[i]),
            surpluses[i]
        );
    }
    assert!(liquidated.len() >= BORROWERS / 4, "a 30% crash liquidates a good share of positions near their limits");
    assert!(became_liquidatable.len() >= liquidated.len());
}
