//! Markets, reserves, obligations and users: the standard two-asset market, a loaded
//! obligation of any size, and refresh helpers built on the client's refresh sequence.
use crate::*;
use solvent::state::{Obligation, ReserveConfig};

impl Harness {
    pub async fn init_market(&mut self, owner: &Keypair) -> (TestMarket, u64) {
        self.init_market_at(owner, Keypair::new()).await
    }

    /// A market at a given address (tests that need reproducible addresses).
    pub async fn init_market_at(&mut self, owner: &Keypair, market: Keypair) -> (TestMarket, u64) {
        let authority = market_authority(&market.pubkey());
        let ix = init_lending_market_ix(&owner.pubkey(), &market.pubkey(), &PYTH_PROGRAM_ID);
        let units = self.must_send(&[ix], &[owner, &market]).await;
        (TestMarket { market: market.pubkey(), authority, owner: owner.pubkey() }, units)
    }

    /// Creates a mint, its price account, and the reserve.
    pub async fn init_reserve(
        &mut self,
        market: &TestMarket,
        owner: &Keypair,
        decimals: u8,
        price: i64,
        expo: i32,
        config: ReserveConfig,
    ) -> (TestReserve, u64) {
        let mint = self.create_mint(decimals).await;
        self.init_reserve_for_mint(market, owner, mint, price, expo, config).await
    }

    /// Like `init_reserve`, for an existing mint.
    pub async fn init_reserve_for_mint(
        &mut self,
        market: &TestMarket,
        owner: &Keypair,
        mint: Pubkey,
        price: i64,
        expo: i32,
        config: ReserveConfig,
    ) -> (TestReserve, u64) {
        let decimals = self.account(&mint).await.expect("mint").data[44];
        let oracle = Keypair::new().pubkey();
        self.set_price(&oracle, price, 0, expo).await;
        let ix = init_reserve_ix(market, &owner.pubkey(), &mint, &oracle, config);
        let units = self.must_send(&[ix], &[owner]).await;
        (TestReserve::derived(market, mint, oracle, decimals), units)
    }

    /// Creates a mint, a PriceUpdateV2 account for `price` (published now) and a reserve reading it.
    pub async fn init_reserve_pull(&mut self, market: &TestMarket, owner: &Keypair, decimals: u8, mut price: PullPrice, config: ReserveConfig) -> TestReserve {
        let mint = self.create_mint(decimals).await;
        let oracle = Keypair::new().pubkey();
        price.publish_time = self.now().await;
        self.set_price_update(&oracle, price, true);
        let ix = init_reserve_with_oracle_ix(market, &owner.pubkey(), &mint, &oracle, config, solvent::oracle::ORACLE_SOURCE_PYTH_PULL, price.feed_id);
        self.must_send(&[ix], &[owner]).await;
        TestReserve::derived(market, mint, oracle, decimals)
    }

    pub async fn init_obligation(&mut self, market: &TestMarket, owner: &Keypair) -> Pubkey {
        let obligation = obligation_address(&market.market, &owner.pubkey(), 0);
        let ix = init_obligation_ix(&market.market, &owner.pubkey(), 0);
        self.must_send(&[ix], &[owner]).await;
        obligation
    }
}

/// A user with a keypair, an obligation and one token account per reserve.
pub struct TestUser {
    pub keypair: Keypair,
    pub obligation: Pubkey,
    pub sol_account: Pubkey,
    pub usdc_account: Pubkey,
}

/// The standard two-asset market: SOL (9 decimals, volatile, Pyth expo -8) and USDC (6 decimals,
/// stable, Pyth expo -6). A lender supplies USDC; a borrower deposits SOL.
pub struct StandardMarket {
    pub owner: Keypair,
    pub market: TestMarket,
    pub sol: TestReserve,
    pub usdc: TestReserve,
    pub lender: TestUser,
    pub borrower: TestUser,
    /// Compute units of the set-up instructions, by name.
    pub compute_units: Vec<(String, u64)>,
}

impl Harness {
    pub async fn new_user(&mut self, market: &TestMarket, sol: &TestReserve, usdc: &TestReserve) -> TestUser {
        let keypair = Keypair::new();
        self.fund(&keypair.pubkey(), 10_000_000_000).await;
        let obligation = self.init_obligation(market, &keypair).await;
        let sol_account = self.create_token_account(&sol.mint, &keypair.pubkey()).await;
        let usdc_account = self.create_token_account(&usdc.mint, &keypair.pubkey()).await;
        TestUser { keypair, obligation, sol_account, usdc_account }
    }

    pub async fn standard_market(&mut self) -> StandardMarket {
        let owner = Keypair::new();
        self.fund(&owner.pubkey(), 100_000_000_000).await;
        let mut compute_units = Vec::new();
        let (market, units) = self.init_market(&owner).await;
        compute_units.push(("init_lending_market".to_string(), units));
        let (sol, units) = self.init_reserve(&market, &owner, 9, SOL_PRICE, SOL_PRICE_EXPO, sol_config()).await;
        compute_units.push(("init_reserve".to_string(), units));
        let (usdc, _) = self.init_reserve(&market, &owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;

        let lender = self.new_user(&market, &sol, &usdc).await;
        self.mint_to(&usdc.mint, &lender.usdc_account, LENDER_USDC_DEPOSIT).await;
        let ix = deposit_ix(&market, &usdc, &lender.obligation, &lender.keypair.pubkey(), &lender.usdc_account, LENDER_USDC_DEPOSIT);
        let units = self.must_send(&[ix], &[&lender.keypair]).await;
        compute_units.push(("deposit".to_string(), units));

        let borrower = self.new_user(&market, &sol, &usdc).await;
        self.mint_to(&sol.mint, &borrower.sol_account, BORROWER_SOL_DEPOSIT).await;
        let ix = deposit_ix(&market, &sol, &borrower.obligation, &borrower.keypair.pubkey(), &borrower.sol_account, BORROWER_SOL_DEPOSIT);
        self.must_send(&[ix], &[&borrower.keypair]).await;
        StandardMarket { owner, market, sol, usdc, lender, borrower, compute_units }
    }

    /// Refreshes every reserve of the obligation and the obligation, in one transaction.
    pub fn refresh_all_ixs(&self, obligation_key: &Pubkey, obligation: &Obligation, reserves: &[&TestReserve]) -> Vec<Instruction> {
        refresh_obligation_sequence(obligation_key, obligation, reserves)
    }

    /// What must precede `action` and `action`, for an obligation as it is on chain now, as the
    /// client builds it (`refresh_then`: borrow and withdraw revalue inline).
    pub async fn with_refresh(&mut self, obligation_key: &Pubkey, reserves: &[&TestReserve], action: Instruction) -> Vec<Instruction> {
        let obligation = self.obligation(obligation_key).await;
        refresh_then(obligation_key, &obligation, reserves, action)
    }

    /// The refresh sequence (refresh_reserve, refresh_obligation) and then `action` with the
    /// position reserves, for an obligation as it is on chain now (`refresh_then_separately`).
    pub async fn with_refresh_separately(&mut self, obligation_key: &Pubkey, reserves: &[&TestReserve], action: Instruction) -> Vec<Instruction> {
        let obligation = self.obligation(obligation_key).await;
        refresh_then_separately(obligation_key, &obligation, reserves, action)
    }
}

impl TestUser {
    /// The same user again (keypairs do not implement Clone).
    pub fn clone_user(&self) -> TestUser {
        TestUser {
            keypair: self.keypair.insecure_clone(),
            obligation: self.obligation,
            sol_account: self.sol_account,
            usdc_account: self.usdc_account,
        }
    }
}

/// A market with one reserve per position (each with its own oracle, 6 decimals, $1) and an
/// obligation holding `deposits` collateral positions of $1,000 and `borrows` debts of $700 ×
/// 8 / `borrows`, supplied by a lender: $5,600 of debt against $8,000 × deposits / 8 of collateral.
pub struct LoadedObligation {
    pub owner: Keypair,
    pub market: TestMarket,
    pub collateral: Vec<TestReserve>,
    pub debts: Vec<TestReserve>,
    pub borrower: Keypair,
    pub obligation: Pubkey,
    /// The borrower's token account for each collateral reserve, then each debt reserve.
    pub collateral_accounts: Vec<Pubkey>,
    pub debt_accounts: Vec<Pubkey>,
}

pub const ONE_TOKEN: u64 = 1_000_000;

impl Harness {
    pub async fn loaded_obligation(&mut self, deposits: usize, borrows: usize) -> LoadedObligation {
        let owner = Keypair::new();
        self.fund(&owner.pubkey(), 100_000_000_000).await;
        let (market, _) = self.init_market(&owner).await;
        let mut reserves = Vec::new();
        for _ in 0..deposits + borrows {
            let (reserve, _) = self.init_reserve(&market, &owner, 6, 1_000_000, -6, default_config()).await;
            reserves.push(reserve);
        }
        let debts = reserves.split_off(deposits);
        let collateral = reserves;

        let lender = Keypair::new();
        self.fund(&lender.pubkey(), 10_000_000_000).await;
        let lender_obligation = self.init_obligation(&market, &lender).await;
        for reserve in &debts {
            let source = self.create_token_account(&reserve.mint, &lender.pubkey()).await;
            self.mint_to(&reserve.mint, &source, 10_000 * ONE_TOKEN).await;
            let ix = deposit_ix(&market, reserve, &lender_obligation, &lender.pubkey(), &source, 10_000 * ONE_TOKEN);
            self.must_send(&[ix], &[&lender]).await;
        }
        let borrower = Keypair::new();
        self.fund(&borrower.pubkey(), 10_000_000_000).await;
        let obligation = self.init_obligation(&market, &borrower).await;
        let per_deposit = 8_000 * ONE_TOKEN / deposits as u64;
        let mut collateral_accounts = Vec::new();
        for reserve in &collateral {
            let source = self.create_token_account(&reserve.mint, &borrower.pubkey()).await;
            self.mint_to(&reserve.mint, &source, 2 * per_deposit).await;
            let ix = deposit_ix(&market, reserve, &obligation, &borrower.pubkey(), &source, per_deposit);
            self.must_send(&[ix], &[&borrower]).await;
            collateral_accounts.push(source);
        }
        let per_borrow = 5_600 * ONE_TOKEN / borrows.max(1) as u64;
        let mut debt_accounts = Vec::new();
        for reserve in &debts {
            self.refresh_separately(&obligation, &collateral, &debts).await;
            let destination = self.create_token_account(&reserve.mint, &borrower.pubkey()).await;
            let ix = borrow_ix(&market, reserve, &obligation, &borrower.pubkey(), &destination, per_borrow);
            let state = self.obligation(&obligation).await;
            self.must_send(&[with_position_reserves(ix, &state)], &[&borrower]).await;
            debt_accounts.push(destination);
        }
        LoadedObligation { owner, market, collateral, debts, borrower, obligation, collateral_accounts, debt_accounts }
    }

    /// Sets e-mode group `group` of `market` to `params` and makes each of `members` a member
    /// (its current config with the group's bit added).
    pub async fn emode_group_of(&mut self, market: &TestMarket, owner: &Keypair, group: u8, params: solvent::state::EmodeGroup, members: &[&TestReserve]) {
        self.must_send(&[set_emode_group_ix(market, &owner.pubkey(), group, params, 0)], &[owner]).await;
        for reserve in members {
            let current = self.reserve(&reserve.reserve).await.config;
            let config = solvent::state::ReserveConfig { emode_groups: current.emode_groups | 1 << (group - 1), ..current };
            self.must_send(&[update_config_ix(market, &owner.pubkey(), reserve, config)], &[owner]).await;
        }
    }

    /// Puts every reserve of `loaded` in e-mode group 1 with `group`'s parameters and moves the
    /// obligation into the group (the benchmark's and the worst case's tiers-in-use variant).
    pub async fn put_in_emode(&mut self, loaded: &LoadedObligation, group: solvent::state::EmodeGroup) {
        let members: Vec<&TestReserve> = loaded.collateral.iter().chain(&loaded.debts).collect();
        self.emode_group_of(&loaded.market, &loaded.owner, 1, group, &members).await;
        self.refresh_separately(&loaded.obligation, &loaded.collateral, &loaded.debts).await;
        let state = self.obligation(&loaded.obligation).await;
        let enter = set_obligation_emode_ix(&loaded.market, &loaded.obligation, &loaded.borrower.pubkey(), 1);
        self.must_send(&[with_position_reserves(enter, &state)], &[&loaded.borrower]).await;
        assert_eq!(self.obligation(&loaded.obligation).await.emode_group, 1);
    }

    /// Refreshes every reserve and then the obligation, each in its own transaction of this slot
    /// (a legacy transaction cannot carry them all for a large obligation).
    pub async fn refresh_separately(&mut self, obligation: &Pubkey, collateral: &[TestReserve], debts: &[TestReserve]) {
        for reserve in collateral.iter().chain(debts) {
            self.must_send(&[refresh_reserve_ix(reserve)], &[]).await;
        }
        let current = self.obligation(obligation).await;
        self.must_send(&[refresh_obligation_ix(&from_anchor(&current.lending_market), obligation, &obligation_reserves(&current))], &[]).await;
    }
}

impl Harness {
    /// The standard market, with the borrower owing `usdc_debt` (base units) against its 10 SOL.
    pub async fn market_with_usdc_debt(usdc_debt: u64) -> (Harness, StandardMarket) {
        let mut h = Harness::start().await;
        let m = h.standard_market().await;
        let b = &m.borrower;
        let ix = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, usdc_debt);
        let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], ix).await;
        h.must_send(&ixs, &[&b.keypair]).await;
        (h, m)
    }
}
