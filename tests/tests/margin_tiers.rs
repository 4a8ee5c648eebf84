//! Margin tiers on the `.so`: isolated collateral is held alone and borrows only reserves
//! flagged borrowable in isolation; siloed debt is owed alone; deposit and borrow caps in quote
//! value bind at the booked price (and the client's `max_borrow` names the cap exactly); unknown
//! flags are refused; a borrow weight reduces borrowing power exactly (and not the solvency
//! sums). Every refusal has its own error and changes nothing.
use solvent::errors::LendingError;
use solvent::state::{ReserveConfig, RISK_FLAG_BORROWABLE_IN_ISOLATION, RISK_FLAG_ISOLATED_COLLATERAL, RISK_FLAG_SILOED_DEBT};
use solvent_tests::*;

const ONE: u64 = 1_000_000;

struct Tiered {
    h: Harness,
    m: StandardMarket,
    /// Isolated collateral, $2, 6 decimals.
    iso: TestReserve,
    /// Siloed debt, $1, 6 decimals, supplied by the lender.
    silo: TestReserve,
}

/// A user with token accounts for every reserve, funded with `amount` of each.
struct Trader {
    user: TestUser,
    iso_account: Pubkey,
    silo_account: Pubkey,
}

impl Tiered {
    async fn new() -> Tiered {
        let mut h = Harness::start().await;
        let m = h.standard_market().await;
        let iso_config = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, ..default_config() };
        let (iso, _) = h.init_reserve(&m.market, &m.owner, 6, 2_000_000, -6, iso_config).await;
        let silo_config = ReserveConfig { risk_flags: RISK_FLAG_SILOED_DEBT, ..default_config() };
        let (silo, _) = h.init_reserve(&m.market, &m.owner, 6, 1_000_000, -6, silo_config).await;
        // USDC may be borrowed against isolated collateral.
        let usdc_config = ReserveConfig { risk_flags: RISK_FLAG_BORROWABLE_IN_ISOLATION, ..usdc_config() };
        h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, usdc_config)], &[&m.owner]).await;
        // The lender supplies SOL and the siloed asset.
        let lender = m.lender.clone_user();
        let silo_source = h.create_token_account(&silo.mint, &lender.keypair.pubkey()).await;
        h.mint_to(&silo.mint, &silo_source, 100_000 * ONE).await;
        h.mint_to(&m.sol.mint, &lender.sol_account, 1_000_000_000_000).await;
        let owner = lender.keypair.pubkey();
        h.must_send(&[deposit_ix(&m.market, &silo, &lender.obligation, &owner, &silo_source, 100_000 * ONE)], &[&lender.keypair]).await;
        h.must_send(&[deposit_ix(&m.market, &m.sol, &lender.obligation, &owner, &lender.sol_account, 1_000_000_000_000)], &[&lender.keypair]).await;
        Tiered { h, m, iso, silo }
    }

    async fn trader(&mut self) -> Trader {
        let user = self.h.new_user(&self.m.market, &self.m.sol, &self.m.usdc).await;
        let iso_account = self.h.create_token_account(&self.iso.mint, &user.keypair.pubkey()).await;
        let silo_account = self.h.create_token_account(&self.silo.mint, &user.keypair.pubkey()).await;
        self.h.mint_to(&self.iso.mint, &iso_account, 10_000 * ONE).await;
        self.h.mint_to(&self.m.sol.mint, &user.sol_account, 100_000_000_000).await;
        self.h.mint_to(&self.m.usdc.mint, &user.usdc_account, 10_000 * ONE).await;
        Trader { user, iso_account, silo_account }
    }

    fn reserves(&self) -> Vec<TestReserve> {
        vec![self.m.sol.clone(), self.m.usdc.clone(), self.iso.clone(), self.silo.clone()]
    }

    fn watched(&self, t: &Trader) -> Vec<Pubkey> {
        let mut keys = vec![t.user.obligation, t.user.sol_account, t.user.usdc_account, t.iso_account, t.silo_account];
        keys.extend(self.reserves().iter().flat_map(|r| [r.reserve, r.vault]));
        keys
    }

    async fn deposit(&mut self, t: &Trader, reserve: &TestReserve, source: Pubkey, amount: u64) -> TxOutcome {
        let ix = deposit_ix(&self.m.market, reserve, &t.user.obligation, &t.user.keypair.pubkey(), &source, amount);
        self.h.send(&[ix], &[&t.user.keypair]).await
    }

    async fn borrow_ixs(&mut self, t: &Trader, reserve: &TestReserve, destination: Pubkey, amount: u64) -> Vec<Instruction> {
        let ix = borrow_ix(&self.m.market, reserve, &t.user.obligation, &t.user.keypair.pubkey(), &destination, amount);
        let reserves = self.reserves();
        let refs: Vec<&TestReserve> = reserves.iter().collect();
        self.h.with_refresh(&t.user.obligation, &refs, ix).await
    }
}

fn ok(outcome: &TxOutcome) {
    assert!(outcome.error.is_none(), "{:?}\n{}", outcome.error, outcome.logs.join("\n"));
}

#[tokio::test]
async fn isolated_collateral_is_held_alone_and_borrows_only_what_isolation_allows() {
    let mut s = Tiered::new().await;
    let (iso, sol, usdc) = (s.iso.clone(), s.m.sol.clone(), s.m.usdc.clone());
    let a = s.trader().await;
    ok(&s.deposit(&a, &iso, a.iso_account, 1_000 * ONE).await);
    // A second collateral next to isolated collateral: refused, nothing changes.
    let keys = s.watched(&a);
    let ix = deposit_ix(&s.m.market, &sol, &a.user.obligation, &a.user.keypair.pubkey(), &a.user.sol_account, 1_000_000_000);
    assert_rejected(&mut s.h, &[ix], &[&a.user.keypair], LendingError::IsolatedCollateralMixed, &keys).await;
    // More of the same isolated collateral is fine.
    ok(&s.deposit(&a, &iso, a.iso_account, 500 * ONE).await);
    // Against isolated collateral: SOL is not borrowable in isolation, USDC is.
    let ixs = s.borrow_ixs(&a, &sol, a.user.sol_account, 1_000_000).await;
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::NotBorrowableInIsolation, &keys).await;
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 100 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;

    // The other order: isolated collateral next to an ordinary one is refused too.
    let b = s.trader().await;
    ok(&s.deposit(&b, &sol, b.user.sol_account, 1_000_000_000).await);
    let keys = s.watched(&b);
    let ix = deposit_ix(&s.m.market, &iso, &b.user.obligation, &b.user.keypair.pubkey(), &b.iso_account, 1_000 * ONE);
    assert_rejected(&mut s.h, &[ix], &[&b.user.keypair], LendingError::IsolatedCollateralMixed, &keys).await;

    // Withdrawing the isolated collateral entirely (no debt) ends isolation: ordinary collateral
    // and ordinary debt are taken again.
    let c = s.trader().await;
    ok(&s.deposit(&c, &iso, c.iso_account, 1_000 * ONE).await);
    let ix = withdraw_ix(&s.m.market, &iso, &c.user.obligation, &c.user.keypair.pubkey(), &c.iso_account, u64::MAX);
    s.h.must_send(&[ix], &[&c.user.keypair]).await;
    ok(&s.deposit(&c, &sol, c.user.sol_account, 1_000_000_000).await);
    let ixs = s.borrow_ixs(&c, &sol, c.user.sol_account, 1_000_000).await;
    s.h.must_send(&ixs, &[&c.user.keypair]).await;
    let obligation = s.h.obligation(&c.user.obligation).await;
    assert!(!obligation.is_isolated());
}

#[tokio::test]
async fn siloed_debt_is_owed_alone() {
    let mut s = Tiered::new().await;
    let (silo, sol, usdc) = (s.silo.clone(), s.m.sol.clone(), s.m.usdc.clone());
    let a = s.trader().await;
    ok(&s.deposit(&a, &sol, a.user.sol_account, 50_000_000_000).await);
    let ixs = s.borrow_ixs(&a, &silo, a.silo_account, 100 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
    // Any other debt next to siloed debt: refused, nothing changes.
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 100 * ONE).await;
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::SiloedDebtMixed, &keys).await;
    // More of the same siloed debt is fine.
    let ixs = s.borrow_ixs(&a, &silo, a.silo_account, 100 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;

    // The other order: siloed debt next to ordinary debt is refused too.
    let b = s.trader().await;
    ok(&s.deposit(&b, &sol, b.user.sol_account, 50_000_000_000).await);
    let ixs = s.borrow_ixs(&b, &usdc, b.user.usdc_account, 100 * ONE).await;
    s.h.must_send(&ixs, &[&b.user.keypair]).await;
    let ixs = s.borrow_ixs(&b, &silo, b.silo_account, 100 * ONE).await;
    let keys = s.watched(&b);
    assert_rejected(&mut s.h, &ixs, &[&b.user.keypair], LendingError::SiloedDebtMixed, &keys).await;

    // Repaying the siloed debt in full ends the silo: ordinary debt is taken again.
    s.h.mint_to(&silo.mint, &a.silo_account, ONE).await;
    let ix = repay_ix(&silo, &a.user.obligation, &a.user.keypair.pubkey(), &a.silo_account, u64::MAX);
    s.h.must_send(&[ix], &[&a.user.keypair]).await;
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 100 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
    assert!(!s.h.obligation(&a.user.obligation).await.is_siloed());
}

#[tokio::test]
async fn value_caps_bind_at_the_booked_price_and_the_client_names_them() {
    let mut s = Tiered::new().await;
    let (sol, usdc) = (s.m.sol.clone(), s.m.usdc.clone());
    // Caps on USDC: $150,000 supplied, $1,200 borrowed.
    let owner = s.m.owner.insecure_clone();
    let usdc_capped = ReserveConfig { deposit_limit_value: 150_000, borrow_limit_value: 1_200, ..usdc_config() };
    s.h.must_send(&[update_config_ix(&s.m.market, &owner.pubkey(), &usdc, usdc_capped)], &[&owner]).await;
    let a = s.trader().await;
    // $100,000 of USDC is supplied; $50,000 more would pass $150,000 only by a unit.
    s.h.mint_to(&usdc.mint, &a.user.usdc_account, 60_000 * ONE).await;
    let keys = s.watched(&a);
    let ix = deposit_ix(&s.m.market, &usdc, &a.user.obligation, &a.user.keypair.pubkey(), &a.user.usdc_account, 50_000 * ONE + 1);
    assert_rejected(&mut s.h, &[ix], &[&a.user.keypair], LendingError::DepositValueCapExceeded, &keys).await;
    ok(&s.deposit(&a, &usdc, a.user.usdc_account, 50_000 * ONE).await);

    // Borrowing against SOL: the borrow cap binds first, and max_borrow says so to the unit.
    ok(&s.deposit(&a, &sol, a.user.sol_account, 100_000_000_000).await);
    let view = MarketView::load_with(&mut InProcessChain { harness: &mut s.h }, &s.m.market.market, &[sol.reserve, usdc.reserve]).await.unwrap();
    let obligation = s.h.obligation(&a.user.obligation).await;
    let limit = max_borrow(&view, &obligation, &usdc.reserve).unwrap();
    assert_eq!(limit.refused_above, Some(LendingError::BorrowValueCapExceeded), "{limit:?}");
    assert_eq!(limit.amount, 1_200 * ONE, "the cap is $1,200 of debt at $1");
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, limit.amount + 1).await;
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::BorrowValueCapExceeded, &keys).await;
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, limit.amount).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
}

#[tokio::test]
async fn unknown_risk_flags_are_refused() {
    let mut s = Tiered::new().await;
    let owner = s.m.owner.insecure_clone();
    let bad = ReserveConfig { risk_flags: 8, ..sol_config() };
    let keys = vec![s.m.sol.reserve];
    let ix = update_config_ix(&s.m.market, &owner.pubkey(), &s.m.sol, bad);
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::InvalidRiskFlags, &keys).await;
    let mint = s.h.create_mint(6).await;
    let oracle = Keypair::new().pubkey();
    s.h.set_price(&oracle, 1_000_000, 0, -6).await;
    let ix = init_reserve_ix(&s.m.market, &owner.pubkey(), &mint, &oracle, bad);
    let reserve = reserve_address(&s.m.market.market, &mint);
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::InvalidRiskFlags, &[reserve]).await;
}

/// The client's `max_borrow` of USDC for a trader's obligation now.
async fn usdc_limit(s: &mut Tiered, t: &Trader) -> Limit {
    let reserves = [s.m.sol.reserve, s.m.usdc.reserve];
    let view = MarketView::load_with(&mut InProcessChain { harness: &mut s.h }, &s.m.market.market, &reserves).await.unwrap();
    let obligation = s.h.obligation(&t.user.obligation).await;
    max_borrow(&view, &obligation, &s.m.usdc.reserve).unwrap()
}

#[tokio::test]
async fn a_borrow_weight_reduces_borrowing_power_exactly() {
    let mut s = Tiered::new().await;
    let (sol, usdc) = (s.m.sol.clone(), s.m.usdc.clone());
    let a = s.trader().await;
    // 10 SOL at $150, LTV 75%: $1,125 of borrowing power.
    ok(&s.deposit(&a, &sol, a.user.sol_account, 10_000_000_000).await);
    let unweighted = usdc_limit(&mut s, &a).await;
    assert_eq!(unweighted.amount, 1_125 * ONE);
    // USDC debt weighs 150%: $1,125 / 1.5 = $750 of USDC, to the base unit.
    let owner = s.m.owner.insecure_clone();
    let weighted = ReserveConfig { borrow_weight_bps: 15_000, risk_flags: RISK_FLAG_BORROWABLE_IN_ISOLATION, ..usdc_config() };
    s.h.must_send(&[update_config_ix(&s.m.market, &owner.pubkey(), &usdc, weighted)], &[&owner]).await;
    let limit = usdc_limit(&mut s, &a).await;
    assert_eq!(limit, Limit { amount: 750 * ONE, refused_above: Some(LendingError::BorrowTooLarge) });
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, limit.amount + 1).await;
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::BorrowTooLarge, &keys).await;
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, limit.amount).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
    let values = s.h.obligation(&a.user.obligation).await.values();
    // Borrowing power and eligibility see $1,125 of debt; solvency the $750 owed.
    assert_eq!(values.health(HealthKind::Initial).liabilities, solvent::math::Wad::from_u64(1_125));
    assert_eq!(values.health(HealthKind::Maintenance).liabilities, solvent::math::Wad::from_u64(1_125));
    assert_eq!(values.health(HealthKind::Payout).liabilities, solvent::math::Wad::from_u64(750));
    // Out-of-range weights are refused.
    for bad in [9_999u16, 50_001] {
        let config = ReserveConfig { borrow_weight_bps: bad, ..usdc_config() };
        let ix = update_config_ix(&s.m.market, &owner.pubkey(), &usdc, config);
        assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::InvalidBorrowWeight, &[usdc.reserve]).await;
    }
}

#[tokio::test]
async fn a_flag_set_later_applies_from_the_next_refresh() {
    let mut s = Tiered::new().await;
    let (sol, usdc, silo) = (s.m.sol.clone(), s.m.usdc.clone(), s.silo.clone());
    let a = s.trader().await;
    // Ordinary collateral in SOL and USDC.
    ok(&s.deposit(&a, &sol, a.user.sol_account, 10_000_000_000).await);
    ok(&s.deposit(&a, &usdc, a.user.usdc_account, 1_000 * ONE).await);
    // The operator flags SOL as isolated collateral: the next refresh puts the obligation in
    // isolation, so the siloed asset (not borrowable in isolation) is refused.
    let owner = s.m.owner.insecure_clone();
    let isolated = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, ..sol_config() };
    s.h.must_send(&[update_config_ix(&s.m.market, &owner.pubkey(), &sol, isolated)], &[&owner]).await;
    let ixs = s.borrow_ixs(&a, &silo, a.silo_account, 10 * ONE).await;
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::NotBorrowableInIsolation, &keys).await;
    // USDC is borrowable in isolation (flagged in the set-up): still allowed.
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 10 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
    assert!(s.h.obligation(&a.user.obligation).await.is_isolated());
    // And no further collateral reserve joins it.
    let iso = s.iso.clone();
    let ix = deposit_ix(&s.m.market, &iso, &a.user.obligation, &a.user.keypair.pubkey(), &a.iso_account, ONE);
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &[ix], &[&a.user.keypair], LendingError::IsolatedCollateralMixed, &keys).await;
}
