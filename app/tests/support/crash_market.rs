//! The one-SOL-one-USDC market the crash runs share (`dynamic_crash.rs`, `deleverage_crash.rs`),
//! included by path: $50M of USDC to borrow, a keeper with inventory of both, ten-minute steps
//! at a chosen SOL price, and borrowers opening long-SOL positions at a share of `max_borrow`.
#![allow(dead_code)] // each crash test uses part of it
use solvent_app::keeper::Keeper;
use solvent_tests::*;
use std::collections::BTreeMap;

pub const SOL: u64 = 1_000_000_000;
pub const USDC: u64 = 1_000_000;
pub const STEP_SECS: i64 = 600;

pub struct CrashMarket {
    pub h: Harness,
    pub owner: Keypair,
    pub market: TestMarket,
    pub sol: TestReserve,
    pub usdc: TestReserve,
    pub keeper: Keeper,
    pub sol_price: f64,
}

/// A long-SOL position opened by `CrashMarket::open_long`.
pub struct Long {
    pub user: Keypair,
    pub obligation: Pubkey,
    /// USDC borrowed, and the SOL deposited at the price then (quote value).
    pub borrowed: f64,
    pub deposited_value: f64,
}

impl CrashMarket {
    /// The market, SOL at $150 listed with `sol_margin`, USDC with the fixtures' config; every
    /// key drawn from `rng`.
    pub async fn new(rng: &mut Rng, sol_margin: solvent::state::ReserveConfig) -> CrashMarket {
        let mut h = Harness::start().await;
        let owner = rng.keypair();
        h.fund(&owner.pubkey(), 100_000_000_000).await;
        let (market, _) = h.init_market_at(&owner, rng.keypair()).await;
        let (sol, _) = h.init_reserve(&market, &owner, 9, SOL_PRICE, SOL_PRICE_EXPO, sol_margin).await;
        let (usdc, _) = h.init_reserve(&market, &owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;
        let lender = rng.keypair();
        h.fund(&lender.pubkey(), 1_000_000_000).await;
        let obligation = h.init_obligation(&market, &lender).await;
        let source = h.create_token_account(&usdc.mint, &lender.pubkey()).await;
        h.mint_to(&usdc.mint, &source, 50_000_000 * USDC).await;
        h.must_send(&[deposit_ix(&market, &usdc, &obligation, &lender.pubkey(), &source, 50_000_000 * USDC)], &[&lender]).await;
        let liquidator = rng.keypair();
        h.fund(&liquidator.pubkey(), 10_000_000_000).await;
        let mut accounts = BTreeMap::new();
        for (reserve, amount) in [(&sol, 1_000_000 * SOL), (&usdc, 100_000_000 * USDC)] {
            let account = h.create_token_account(&reserve.mint, &liquidator.pubkey()).await;
            h.mint_to(&reserve.mint, &account, amount).await;
            accounts.insert(reserve.mint, account);
        }
        let mut keeper = Keeper::new(market.market, liquidator, accounts);
        keeper.verbose = false;
        CrashMarket { h, owner, market, sol, usdc, keeper, sol_price: 150.0 }
    }

    /// Ten minutes on: SOL at `self.sol_price`, USDC at $1, both refreshed.
    pub async fn step(&mut self) {
        let now = self.h.now().await;
        self.h.set_time(now + STEP_SECS).await;
        let mantissa = (self.sol_price * 1e8).round() as i64;
        self.h.set_price(&self.sol.oracle, mantissa, 0, SOL_PRICE_EXPO).await;
        self.h.set_price(&self.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
        self.h.must_send(&[refresh_reserve_ix(&self.sol), refresh_reserve_ix(&self.usdc)], &[]).await;
    }

    /// A borrower deposits SOL worth `value` and borrows `borrow_of(max_borrow now)`.
    pub async fn open_long(&mut self, rng: &mut Rng, value: f64, borrow_of: impl Fn(u64) -> u64) -> Long {
        let amount = (value / self.sol_price * SOL as f64) as u64;
        let user = rng.keypair();
        self.h.fund(&user.pubkey(), 100_000_000).await;
        let obligation = self.h.init_obligation(&self.market, &user).await;
        let source = self.h.create_token_account(&self.sol.mint, &user.pubkey()).await;
        self.h.mint_to(&self.sol.mint, &source, amount).await;
        self.h.must_send(&[deposit_ix(&self.market, &self.sol, &obligation, &user.pubkey(), &source, amount)], &[&user]).await;
        let view = MarketView::load_with(&mut InProcessChain { harness: &mut self.h }, &self.market.market, &[self.sol.reserve, self.usdc.reserve]).await.unwrap();
        let state = self.h.obligation(&obligation).await;
        let limit = max_borrow(&view, &state, &self.usdc.reserve).unwrap().amount;
        let borrow = borrow_of(limit);
        if borrow > 0 {
            let destination = self.h.create_token_account(&self.usdc.mint, &user.pubkey()).await;
            let ix = borrow_ix(&self.market, &self.usdc, &obligation, &user.pubkey(), &destination, borrow);
            let ixs = self.h.with_refresh(&obligation, &[&self.sol, &self.usdc], ix).await;
            self.h.must_send(&ixs, &[&user]).await;
        }
        Long { user, obligation, borrowed: borrow as f64 / USDC as f64, deposited_value: amount as f64 / SOL as f64 * self.sol_price }
    }

    /// One keeper pass; every action must have succeeded.
    pub async fn keeper_pass(&mut self) -> solvent_app::keeper::PassReport {
        let report = self.keeper.run_pass(&mut InProcessChain { harness: &mut self.h }).await.expect("keeper pass");
        for outcome in &report.outcomes {
            assert!(outcome.error.is_none(), "keeper failed on {}: {:?}", outcome.obligation, outcome.error);
        }
        report
    }
}
