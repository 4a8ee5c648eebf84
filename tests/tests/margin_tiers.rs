//! Margin tiers on the `.so`: isolated collateral is held alone and borrows only reserves
//! flagged borrowable in isolation; siloed debt is owed alone; deposit and borrow caps in quote
//! value bind at the booked price (and the client's `max_borrow` names the cap exactly); unknown
//! flags are refused; a borrow weight reduces borrowing power exactly (and not the solvency
//! sums). E-mode: a group raises borrowing power exactly, refuses positions outside it, is left
//! only while healthy under the assets' own weights, is validated and set by the market owner
//! only, applies a change from the next refresh, and liquidates at the group's threshold and
//! bonus. Every refusal has its own error and changes nothing.
use solvent::errors::LendingError;
use solvent::math::{Wad, WAD};
use solvent::state::{
    EmodeGroup, ReserveConfig, RISK_FLAG_BORROWABLE_IN_ISOLATION, RISK_FLAG_ISOLATED_COLLATERAL, RISK_FLAG_SILOED_DEBT,
};
use solvent_tests::*;

const ONE: u64 = 1_000_000;
/// The isolated asset's debt ceiling: $1,500.
const ISO_CEILING: u64 = 1_500;

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
        let iso_config = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, isolation_debt_ceiling_value: ISO_CEILING, ..default_config() };
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
    let isolated = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, isolation_debt_ceiling_value: 1_000_000, ..sol_config() };
    s.h.must_send(&[update_config_ix(&s.m.market, &owner.pubkey(), &sol, isolated)], &[&owner]).await;
    let ixs = s.borrow_ixs(&a, &silo, a.silo_account, 10 * ONE).await;
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::NotBorrowableInIsolation, &keys).await;
    // USDC is borrowable in isolation (flagged in the set-up), but not while the isolated SOL
    // is held next to other collateral: once the USDC collateral is withdrawn, it is.
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 10 * ONE).await;
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::IsolatedCollateralMixed, &keys).await;
    let ix = withdraw_ix(&s.m.market, &usdc, &a.user.obligation, &a.user.keypair.pubkey(), &a.user.usdc_account, u64::MAX);
    s.h.must_send(&[ix], &[&a.user.keypair]).await;
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 10 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
    assert!(s.h.obligation(&a.user.obligation).await.is_isolated());
    // And no further collateral reserve joins it.
    let iso = s.iso.clone();
    let ix = deposit_ix(&s.m.market, &iso, &a.user.obligation, &a.user.keypair.pubkey(), &a.iso_account, ONE);
    let keys = s.watched(&a);
    assert_rejected(&mut s.h, &[ix], &[&a.user.keypair], LendingError::IsolatedCollateralMixed, &keys).await;
}

/// The isolated reserve's count and the obligations' charges agree: Σ charges = isolated debt.
async fn isolated_debt_of(s: &mut Tiered, obligations: &[Pubkey]) -> u64 {
    let iso = s.iso.reserve;
    let debt = s.h.reserve(&iso).await.isolated_debt;
    let mut charged = 0;
    for key in obligations {
        let obligation = s.h.obligation(key).await;
        let sum: u64 = obligation.isolation_charges.iter().sum();
        assert!(sum == 0 || obligation.isolation_reserve == iso, "charges are held against the isolated reserve");
        assert!(obligation.isolation_charges[obligation.borrow_count()..].iter().all(|c| *c == 0), "no charge without a debt");
        charged += sum;
    }
    assert_eq!(charged, debt, "the reserve's isolated debt is the sum of the obligations' charges");
    debt
}

/// Millionths of a quote unit.
const UNITS: u64 = 1_000_000;

#[tokio::test]
async fn isolation_debt_ceiling_binds_and_repayments_release_it() {
    let mut s = Tiered::new().await;
    let (iso, usdc) = (s.iso.clone(), s.m.usdc.clone());
    let (a, b) = (s.trader().await, s.trader().await);
    let obligations = [a.user.obligation, b.user.obligation];
    // $2,000 of isolated collateral each (75% LTV: $1,500 of borrowing power each), a $1,500
    // ceiling for both together.
    ok(&s.deposit(&a, &iso, a.iso_account, 1_000 * ONE).await);
    ok(&s.deposit(&b, &iso, b.iso_account, 1_000 * ONE).await);
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 600 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
    // At USDC's $1 (no confidence): a charge of exactly $600 (the fee is part of the debt).
    assert_eq!(isolated_debt_of(&mut s, &obligations).await, 600 * UNITS);
    assert_eq!(s.h.obligation(&a.user.obligation).await.isolation_charges[0], 600 * UNITS);

    // The client's max_borrow names the ceiling: b may take $900 more, not a unit above.
    let keys: Vec<Pubkey> = s.reserves().iter().map(|r| r.reserve).collect();
    let view = MarketView::load_with(&mut InProcessChain { harness: &mut s.h }, &s.m.market.market, &keys).await.unwrap();
    let obligation = s.h.obligation(&b.user.obligation).await;
    let limit = max_borrow(&view, &obligation, &usdc.reserve).unwrap();
    assert_eq!(limit.amount, 900 * ONE);
    assert_eq!(limit.refused_above, Some(LendingError::IsolationDebtCeilingExceeded));
    let watched = s.watched(&b);
    let ixs = s.borrow_ixs(&b, &usdc, b.user.usdc_account, 900 * ONE + 1).await;
    assert_rejected(&mut s.h, &ixs, &[&b.user.keypair], LendingError::IsolationDebtCeilingExceeded, &watched).await;
    // Without the isolated reserve writable the borrow cannot be counted: refused. (The
    // refreshes go first in a transaction of their own: a transaction that refreshes the
    // isolated reserve has it writable in every instruction.)
    let action = borrow_ix(&s.m.market, &usdc, &b.user.obligation, &b.user.keypair.pubkey(), &b.user.usdc_account, 100 * ONE);
    let reserves = s.reserves();
    let refs: Vec<&TestReserve> = reserves.iter().collect();
    let mut ixs = s.h.with_refresh_separately(&b.user.obligation, &refs, action).await;
    let mut borrow = ixs.pop().unwrap();
    for meta in borrow.accounts.iter_mut().filter(|m| m.pubkey == iso.reserve) {
        meta.is_writable = false;
    }
    s.h.must_send(&ixs, &[]).await;
    assert_rejected(&mut s.h, &[borrow], &[&b.user.keypair], LendingError::IsolationReserveRequired, &watched).await;
    let ixs = s.borrow_ixs(&b, &usdc, b.user.usdc_account, 900 * ONE).await;
    s.h.must_send(&ixs, &[&b.user.keypair]).await;
    assert_eq!(isolated_debt_of(&mut s, &obligations).await, ISO_CEILING * UNITS);
    // Full: a dollar more is refused for either.
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, ONE).await;
    let watched = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::IsolationDebtCeilingExceeded, &watched).await;

    // A repayment needs the isolated reserve (writable) to release its share...
    let repayer = a.user.keypair.insecure_clone();
    let bare = repay_ix(&usdc, &a.user.obligation, &repayer.pubkey(), &a.user.usdc_account, 300 * ONE);
    assert_rejected(&mut s.h, &[bare.clone()], &[&repayer], LendingError::IsolationReserveRequired, &watched).await;
    let mut read_only = bare.clone();
    read_only.accounts.push(AccountMeta::new_readonly(iso.reserve, false));
    assert_rejected(&mut s.h, &[read_only], &[&repayer], LendingError::IsolationReserveRequired, &watched).await;
    // ... and releases charge x repaid / owed, rounded down (interest makes the debt a little more).
    let before = s.h.obligation(&a.user.obligation).await;
    s.h.must_send(&[with_position_reserves(bare, &before)], &[&repayer]).await;
    let after = s.h.obligation(&a.user.obligation).await;
    let owed = {
        let usdc_state = s.h.reserve(&usdc.reserve).await;
        let mut position = before.borrows[0];
        position.accrue_interest(usdc_state.cumulative_borrow_index()).unwrap();
        position.borrowed_amount()
    };
    let exact = solvent::math::mul_div(600 * UNITS as u128, 300 * ONE as u128 * WAD, owed.raw(), solvent::math::Rounding::Down).unwrap() as u64;
    let released = 600 * UNITS - after.isolation_charges[0];
    assert!(released <= exact && released + 1 >= exact, "never more than the exact share, at most a unit less: {released} vs {exact}");
    assert!(released <= 300 * UNITS && released + UNITS > 300 * UNITS, "{released}");
    assert_eq!(isolated_debt_of(&mut s, &obligations).await, ISO_CEILING * UNITS - released);
    // Repaying everything releases all of a's charge.
    let ix = with_position_reserves(repay_ix(&usdc, &a.user.obligation, &repayer.pubkey(), &a.user.usdc_account, u64::MAX), &after);
    s.h.must_send(&[ix], &[&repayer]).await;
    let closed = s.h.obligation(&a.user.obligation).await;
    assert_eq!((closed.borrow_count(), closed.isolation_charges), (0, [0; 8]));
    assert_eq!(isolated_debt_of(&mut s, &obligations).await, 900 * UNITS);

    // A liquidation of b releases the share it settles; taking all the collateral and writing
    // off the rest releases the remainder.
    s.h.set_price(&iso.oracle, 1_100_000, 0, -6).await;
    let liquidator = s.trader().await;
    let l = liquidator.user.keypair.insecure_clone();
    let ix = liquidate_ix(&s.m.market, &b.user.obligation, &l.pubkey(), &usdc, &liquidator.user.usdc_account, &iso, &liquidator.iso_account, 200 * ONE);
    let refs: Vec<TestReserve> = s.reserves();
    let refs: Vec<&TestReserve> = refs.iter().collect();
    let ixs = s.h.with_refresh(&b.user.obligation, &refs, ix).await;
    let before = s.h.obligation(&b.user.obligation).await;
    s.h.must_send(&ixs, &[&l]).await;
    let after = s.h.obligation(&b.user.obligation).await;
    assert!(after.isolation_charges[0] < before.isolation_charges[0]);
    let remaining = isolated_debt_of(&mut s, &obligations).await;
    assert_eq!(remaining, after.isolation_charges[0]);
    // The price collapses: the collateral is all seized, then the rest written off.
    s.h.set_price(&iso.oracle, 100_000, 0, -6).await;
    loop {
        let state = s.h.obligation(&b.user.obligation).await;
        if state.deposit_count() == 0 {
            break;
        }
        let ix = liquidate_ix(&s.m.market, &b.user.obligation, &l.pubkey(), &usdc, &liquidator.user.usdc_account, &iso, &liquidator.iso_account, u64::MAX);
        let ixs = s.h.with_refresh(&b.user.obligation, &refs, ix).await;
        s.h.must_send(&ixs, &[&l]).await;
        isolated_debt_of(&mut s, &obligations).await;
    }
    let state = s.h.obligation(&b.user.obligation).await;
    assert!(state.has_borrows() && state.isolation_charges[0] > 0, "bad debt left, still charged");
    let bare = write_off_bad_debt_ix(&s.m.market, &usdc, &b.user.obligation);
    let watched = s.watched(&b);
    assert_rejected(&mut s.h, &[bare.clone()], &[], LendingError::IsolationReserveRequired, &watched).await;
    s.h.must_send(&[with_position_reserves(bare, &state)], &[]).await;
    assert_eq!(isolated_debt_of(&mut s, &obligations).await, 0);
}

#[tokio::test]
async fn isolation_debt_ceiling_is_validated() {
    let mut s = Tiered::new().await;
    let owner = s.m.owner.insecure_clone();
    let iso = s.iso.clone();
    let keys = [iso.reserve];
    let no_ceiling = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, ..default_config() };
    let ix = update_config_ix(&s.m.market, &owner.pubkey(), &iso, no_ceiling);
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::InvalidIsolationDebtCeiling, &keys).await;
    let flags = RISK_FLAG_ISOLATED_COLLATERAL | RISK_FLAG_BORROWABLE_IN_ISOLATION;
    let both = ReserveConfig { risk_flags: flags, isolation_debt_ceiling_value: ISO_CEILING, ..default_config() };
    let ix = update_config_ix(&s.m.market, &owner.pubkey(), &iso, both);
    assert_rejected(&mut s.h, &[ix], &[&owner], LendingError::InvalidIsolationDebtCeiling, &keys).await;
    // Lowering the ceiling below what is owed is a tightening: accepted; new borrows wait.
    let (usdc, a) = (s.m.usdc.clone(), s.trader().await);
    ok(&s.deposit(&a, &iso, a.iso_account, 1_000 * ONE).await);
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, 500 * ONE).await;
    s.h.must_send(&ixs, &[&a.user.keypair]).await;
    let lower = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, isolation_debt_ceiling_value: 400, ..default_config() };
    s.h.must_send(&[update_config_ix(&s.m.market, &owner.pubkey(), &iso, lower)], &[&owner]).await;
    let ixs = s.borrow_ixs(&a, &usdc, a.user.usdc_account, ONE).await;
    let watched = s.watched(&a);
    assert_rejected(&mut s.h, &ixs, &[&a.user.keypair], LendingError::IsolationDebtCeilingExceeded, &watched).await;
    assert_eq!(isolated_debt_of(&mut s, &[a.user.obligation]).await, 500 * UNITS);
}

/// Property: over random borrows, repayments and price moves by several isolated obligations,
/// the reserve's isolated debt is always the sum of their charges and never exceeds the
/// ceiling after a borrow; a refused borrow is refused for the ceiling or borrowing power and
/// changes nothing.
#[tokio::test]
async fn isolated_debt_is_the_sum_of_charges_over_random_sequences() {
    let mut s = Tiered::new().await;
    let (iso, usdc) = (s.iso.clone(), s.m.usdc.clone());
    let mut rng = Rng(0x150_1a7e);
    let mut traders = Vec::new();
    for _ in 0..3 {
        let t = s.trader().await;
        ok(&s.deposit(&t, &iso, t.iso_account, rng.range(300, 1_500) * ONE).await);
        traders.push(t);
    }
    let obligations: Vec<Pubkey> = traders.iter().map(|t| t.user.obligation).collect();
    let (mut borrowed, mut refused) = (0, 0);
    for step in 0..36 {
        let t = &traders[rng.range(0, traders.len() as u64 - 1) as usize];
        let (key, owner) = (t.user.obligation, t.user.keypair.insecure_clone());
        let usdc_account = t.user.usdc_account;
        match rng.range(0, 3) {
            0 | 1 => {
                let amount = rng.range(1, 700) * ONE;
                let ixs = s.borrow_ixs(t, &usdc, usdc_account, amount).await;
                let before = s.h.snapshot(&s.watched(t)).await;
                let outcome = s.h.send(&ixs, &[&owner]).await;
                match outcome.lending_error() {
                    None => borrowed += 1,
                    Some(LendingError::IsolationDebtCeilingExceeded | LendingError::BorrowTooLarge) => {
                        refused += 1;
                        assert_eq!(s.h.snapshot(&s.watched(t)).await, before, "step {step}: a refusal changes nothing");
                    }
                    other => panic!("step {step}: {other:?}\n{}", outcome.logs.join("\n")),
                }
            }
            2 => {
                let state = s.h.obligation(&key).await;
                if state.has_borrows() {
                    let amount = if rng.chance(0.3) { u64::MAX } else { rng.range(1, 400) * ONE };
                    let ix = with_position_reserves(repay_ix(&usdc, &key, &owner.pubkey(), &usdc_account, amount), &state);
                    s.h.must_send(&[ix], &[&owner]).await;
                }
            }
            _ => {
                // A price move and some time for interest.
                let now = s.h.now().await;
                s.h.set_time(now + rng.range(60, 86_400) as i64).await;
                let price = rng.range(1_600_000, 2_400_000) as i64;
                s.h.set_price(&iso.oracle, price, 0, -6).await;
                let (sol_oracle, usdc_oracle) = (s.m.sol.oracle, usdc.oracle);
                s.h.set_price(&sol_oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
                s.h.set_price(&usdc_oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
            }
        }
        let debt = isolated_debt_of(&mut s, &obligations).await;
        assert!(debt <= ISO_CEILING * UNITS, "step {step}: {debt}");
    }
    assert!(borrowed >= 5 && refused >= 2, "both branches exercised: {borrowed} borrowed, {refused} refused");
}

/// The SOL group of the e-mode tests: 90% LTV, 93% threshold, bonus 1% rising to 3%.
const SOL_GROUP: EmodeGroup = EmodeGroup { loan_to_value_bps: 9_000, liquidation_threshold_bps: 9_300, liquidation_bonus_bps: 100, max_liquidation_bonus_bps: 300 };

/// A market with e-mode group 1 (`SOL_GROUP`) holding SOL ($150) and a liquid staking token
/// ($165, 9 decimals, its own LTV 75% and threshold 80%), supplied with SOL by the lender.
struct Emoded {
    s: Tiered,
    lst: TestReserve,
}

/// The lender's first LST deposit: 1 LST.
const SEED_LST: u64 = 1_000_000_000;

/// A trader of the e-mode market with 100 LST.
struct LstTrader {
    t: Trader,
    lst_account: Pubkey,
}

impl Emoded {
    async fn new() -> Emoded {
        let mut s = Tiered::new().await;
        let owner = s.m.owner.insecure_clone();
        let lst_config = ReserveConfig { max_liquidation_bonus_bps: 0, ..default_config() };
        let (lst, _) = s.h.init_reserve(&s.m.market, &owner, 9, 165_000_000, -6, lst_config).await;
        let sol = s.m.sol.clone();
        s.h.emode_group_of(&s.m.market, &owner, 1, SOL_GROUP, &[&sol, &lst]).await;
        // The lender makes the reserve's first deposit (which leaves DEAD_SHARES to nobody), so
        // a trader's tokens are worth exactly their price.
        let lender = s.m.lender.clone_user();
        let seed = s.h.create_token_account(&lst.mint, &lender.keypair.pubkey()).await;
        s.h.mint_to(&lst.mint, &seed, SEED_LST).await;
        s.h.must_send(&[deposit_ix(&s.m.market, &lst, &lender.obligation, &lender.keypair.pubkey(), &seed, SEED_LST)], &[&lender.keypair]).await;
        Emoded { s, lst }
    }

    async fn trader(&mut self) -> LstTrader {
        let t = self.s.trader().await;
        let lst_account = self.s.h.create_token_account(&self.lst.mint, &t.user.keypair.pubkey()).await;
        self.s.h.mint_to(&self.lst.mint, &lst_account, 100_000_000_000).await;
        LstTrader { t, lst_account }
    }

    fn reserves(&self) -> Vec<TestReserve> {
        let mut reserves = self.s.reserves();
        reserves.push(self.lst.clone());
        reserves
    }

    fn watched(&self, t: &LstTrader) -> Vec<Pubkey> {
        let mut keys = self.s.watched(&t.t);
        keys.extend([t.lst_account, self.lst.reserve, self.lst.vault, self.s.m.market.market]);
        keys
    }

    /// The refresh sequence and `action` for the trader's obligation.
    async fn with_refresh(&mut self, t: &LstTrader, action: Instruction) -> Vec<Instruction> {
        let reserves = self.reserves();
        let refs: Vec<&TestReserve> = reserves.iter().collect();
        self.s.h.with_refresh(&t.t.user.obligation, &refs, action).await
    }

    async fn set_emode(&mut self, t: &LstTrader, group: u8) -> Vec<Instruction> {
        let ix = set_obligation_emode_ix(&self.s.m.market, &t.t.user.obligation, &t.t.user.keypair.pubkey(), group);
        self.with_refresh(t, ix).await
    }

    async fn borrow_sol(&mut self, t: &LstTrader, amount: u64) -> Vec<Instruction> {
        let sol = self.s.m.sol.clone();
        let ix = borrow_ix(&self.s.m.market, &sol, &t.t.user.obligation, &t.t.user.keypair.pubkey(), &t.t.user.sol_account, amount);
        self.with_refresh(t, ix).await
    }

    /// The client's `max_borrow` of SOL now.
    async fn sol_limit(&mut self, t: &LstTrader) -> Limit {
        let keys: Vec<Pubkey> = self.reserves().iter().map(|r| r.reserve).collect();
        let view = MarketView::load_with(&mut InProcessChain { harness: &mut self.s.h }, &self.s.m.market.market, &keys).await.unwrap();
        let obligation = self.s.h.obligation(&t.t.user.obligation).await;
        max_borrow(&view, &obligation, &self.s.m.sol.reserve).unwrap()
    }
}

#[tokio::test]
async fn emode_raises_borrowing_power_exactly_and_is_left_only_while_healthy_under_own_weights() {
    let mut e = Emoded::new().await;
    let (lst, usdc) = (e.lst.clone(), e.s.m.usdc.clone());
    let a = e.trader().await;
    let signer = a.t.user.keypair.insecure_clone();
    // 10 LST at $165: $1,650; at its own 75% LTV, $1,237.50 of SOL at $150 = 8.25 SOL.
    ok(&e.s.deposit(&a.t, &lst, a.lst_account, 10_000_000_000).await);
    assert_eq!(e.sol_limit(&a).await.amount, 8_250_000_000);
    // In the SOL group, 90%: $1,485 = 9.9 SOL, to the base unit.
    let ixs = e.set_emode(&a, 1).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    let obligation = e.s.h.obligation(&a.t.user.obligation).await;
    assert_eq!((obligation.emode_group, obligation.emode_params), (1, SOL_GROUP));
    assert_eq!(obligation.values().health(HealthKind::Initial).assets, Wad::from_u64(1_485));
    let limit = e.sol_limit(&a).await;
    assert_eq!(limit, Limit { amount: 9_900_000_000, refused_above: Some(LendingError::BorrowTooLarge) });
    let keys = e.watched(&a);
    let ixs = e.borrow_sol(&a, limit.amount + 1).await;
    assert_rejected(&mut e.s.h, &ixs, &[&signer], LendingError::BorrowTooLarge, &keys).await;
    let ixs = e.borrow_sol(&a, limit.amount).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    // Positions outside the group are refused: USDC as collateral or as debt.
    let ix = deposit_ix(&e.s.m.market, &usdc, &a.t.user.obligation, &signer.pubkey(), &a.t.user.usdc_account, ONE);
    assert_rejected(&mut e.s.h, &[ix], &[&signer], LendingError::NotInEmodeGroup, &keys).await;
    let ix = borrow_ix(&e.s.m.market, &usdc, &a.t.user.obligation, &signer.pubkey(), &a.t.user.usdc_account, ONE);
    let ixs = e.with_refresh(&a, ix).await;
    assert_rejected(&mut e.s.h, &ixs, &[&signer], LendingError::NotInEmodeGroup, &keys).await;
    // Leaving: $1,485 of debt against $1,237.50 of own borrowing power is refused.
    let ixs = e.set_emode(&a, 0).await;
    assert_rejected(&mut e.s.h, &ixs, &[&signer], LendingError::EmodeChangeUnhealthy, &keys).await;
    // Repaid down to 8.25 SOL ($1,237.50, exactly the own borrowing power): it may leave.
    let sol = e.s.m.sol.clone();
    let ix = repay_ix(&sol, &a.t.user.obligation, &signer.pubkey(), &a.t.user.sol_account, 1_650_000_000);
    // Debt counted in the group: the repayment takes the group's debt account too.
    let state = e.s.h.obligation(&a.t.user.obligation).await;
    e.s.h.must_send(&[with_position_reserves(ix, &state)], &[&signer]).await;
    let ixs = e.set_emode(&a, 0).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    let obligation = e.s.h.obligation(&a.t.user.obligation).await;
    assert_eq!(obligation.emode_group, 0);
    let initial = obligation.values().health(HealthKind::Initial);
    assert_eq!((initial.assets, initial.liabilities), (Wad(1_237 * WAD + WAD / 2), Wad(1_237 * WAD + WAD / 2)));
    // Out of the group, USDC collateral is taken again.
    ok(&e.s.deposit(&a.t, &usdc, a.t.user.usdc_account, ONE).await);
}

/// The group's debt as counted, checked against the obligations' charges: Σ charges = debt.
async fn group_debt_of(e: &mut Emoded, group: u8, obligations: &[Pubkey]) -> u64 {
    let address = emode_group_debt_address(&e.s.m.market.market, group);
    let data = e.s.h.account(&address).await.expect("the group's debt account").data;
    let debt = decode_emode_group_debt(&data).expect("an EmodeGroupDebt");
    let mut charged = 0;
    for key in obligations {
        let obligation = e.s.h.obligation(key).await;
        let sum: u64 = obligation.emode_charges.iter().sum();
        assert!(sum == 0 || obligation.emode_group == group, "charges only while in the group");
        assert!(obligation.emode_charges[obligation.borrow_count()..].iter().all(|c| *c == 0), "no charge without a debt");
        charged += sum;
    }
    assert_eq!(charged, debt.debt, "the group's debt is the sum of its obligations' charges");
    debt.debt
}

#[tokio::test]
async fn emode_group_debt_cap_binds_borrows_and_entry_and_leaving_releases_it() {
    let mut e = Emoded::new().await;
    let (lst, sol) = (e.lst.clone(), e.s.m.sol.clone());
    let owner = e.s.m.owner.insecure_clone();
    // Group 1 may owe $2,000 in all.
    e.s.h.must_send(&[set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 1, SOL_GROUP, 2_000)], &[&owner]).await;
    let (a, b, c) = (e.trader().await, e.trader().await, e.trader().await);
    let obligations = [a.t.user.obligation, b.t.user.obligation, c.t.user.obligation];
    let group_account = emode_group_debt_address(&e.s.m.market.market, 1);
    for t in [&a, &b] {
        ok(&e.s.deposit(&t.t, &lst, t.lst_account, 10_000_000_000).await);
        let ixs = e.set_emode(t, 1).await;
        e.s.h.must_send(&ixs, &[&t.t.user.keypair]).await;
    }
    // a borrows 9.9 SOL ($1,485 at $150): counted exactly.
    let ixs = e.borrow_sol(&a, 9_900_000_000).await;
    e.s.h.must_send(&ixs, &[&a.t.user.keypair]).await;
    assert_eq!(group_debt_of(&mut e, 1, &obligations).await, 1_485 * UNITS);
    // b could borrow 9.9 SOL on its margin, but the group has $515 of room: 3.4333... SOL, to
    // the lamport, as the client's max_borrow says.
    let limit = e.sol_limit(&b).await;
    assert_eq!(limit, Limit { amount: 3_433_333_333, refused_above: Some(LendingError::EmodeDebtCapExceeded) });
    let mut keys = e.watched(&b);
    keys.push(group_account);
    let ixs = e.borrow_sol(&b, limit.amount + 1).await;
    assert_rejected(&mut e.s.h, &ixs, &[&b.t.user.keypair], LendingError::EmodeDebtCapExceeded, &keys).await;
    // Without the group's debt account the borrow cannot be counted: refused.
    let mut ixs = e.borrow_sol(&b, ONE).await;
    let borrow = ixs.last_mut().unwrap();
    assert_eq!(borrow.accounts.pop().map(|m| m.pubkey), Some(group_account));
    assert_rejected(&mut e.s.h, &ixs, &[&b.t.user.keypair], LendingError::EmodeGroupDebtRequired, &keys).await;
    let ixs = e.borrow_sol(&b, limit.amount).await;
    e.s.h.must_send(&ixs, &[&b.t.user.keypair]).await;
    assert_eq!(group_debt_of(&mut e, 1, &obligations).await, 2_000 * UNITS);

    // c borrows on its own weights, then cannot bring that debt into the full group.
    ok(&e.s.deposit(&c.t, &lst, c.lst_account, 10_000_000_000).await);
    let ixs = e.borrow_sol(&c, 1_000_000_000).await;
    e.s.h.must_send(&ixs, &[&c.t.user.keypair]).await;
    let mut keys = e.watched(&c);
    keys.push(group_account);
    let ixs = e.set_emode(&c, 1).await;
    assert_rejected(&mut e.s.h, &ixs, &[&c.t.user.keypair], LendingError::EmodeDebtCapExceeded, &keys).await;

    // a repays 1.65 SOL (the group's debt account taken), then leaves the group: all of its
    // charge is released; c now fits, its $150 counted on entry.
    let ix = repay_ix(&sol, &a.t.user.obligation, &a.t.user.keypair.pubkey(), &a.t.user.sol_account, 1_650_000_000);
    let state = e.s.h.obligation(&a.t.user.obligation).await;
    e.s.h.must_send(&[with_position_reserves(ix, &state)], &[&a.t.user.keypair]).await;
    let after_repay = group_debt_of(&mut e, 1, &obligations).await;
    assert!(after_repay < 2_000 * UNITS && after_repay > 1_750 * UNITS, "{after_repay}");
    let ixs = e.set_emode(&a, 0).await;
    e.s.h.must_send(&ixs, &[&a.t.user.keypair]).await;
    assert_eq!(e.s.h.obligation(&a.t.user.obligation).await.emode_charges, [0; 8]);
    let ixs = e.set_emode(&c, 1).await;
    e.s.h.must_send(&ixs, &[&c.t.user.keypair]).await;
    let c_state = e.s.h.obligation(&c.t.user.obligation).await;
    assert_eq!(c_state.emode_charges[0], 150 * UNITS, "1 SOL at $150 when entering");
    let b_state = e.s.h.obligation(&b.t.user.obligation).await;
    assert_eq!(group_debt_of(&mut e, 1, &obligations).await, b_state.emode_charges[0] + 150 * UNITS);
    // The cap is owner-only and lowering it is a tightening: accepted, new debt waits.
    let stranger = Keypair::new();
    e.s.h.fund(&stranger.pubkey(), 1_000_000_000).await;
    let ix = set_emode_group_ix(&e.s.m.market, &stranger.pubkey(), 1, SOL_GROUP, 0);
    assert_rejected(&mut e.s.h, &[ix], &[&stranger], LendingError::InvalidMarketOwner, &[group_account]).await;
    e.s.h.must_send(&[set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 1, SOL_GROUP, 100)], &[&owner]).await;
    let ixs = e.borrow_sol(&c, ONE).await;
    let keys = e.watched(&c);
    assert_rejected(&mut e.s.h, &ixs, &[&c.t.user.keypair], LendingError::EmodeDebtCapExceeded, &keys).await;
    // A disabled group still counts its obligations' debt, so enabling it again (or a cap set
    // later) binds all of it.
    e.s.h.must_send(&[set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 1, EmodeGroup::DISABLED, 1_000_000)], &[&owner]).await;
    let before = group_debt_of(&mut e, 1, &obligations).await;
    let ixs = e.borrow_sol(&c, 1_000_000_000).await;
    e.s.h.must_send(&ixs, &[&c.t.user.keypair]).await;
    assert_eq!(group_debt_of(&mut e, 1, &obligations).await, before + 150 * UNITS, "1 SOL borrowed in the disabled group, counted");
}

#[tokio::test]
async fn entering_a_group_needs_every_position_in_it_an_enabled_group_and_the_owner() {
    let mut e = Emoded::new().await;
    let (lst, usdc) = (e.lst.clone(), e.s.m.usdc.clone());
    let a = e.trader().await;
    let signer = a.t.user.keypair.insecure_clone();
    ok(&e.s.deposit(&a.t, &lst, a.lst_account, 10_000_000_000).await);
    ok(&e.s.deposit(&a.t, &usdc, a.t.user.usdc_account, ONE).await);
    let keys = e.watched(&a);
    // USDC is not in the SOL group.
    let ixs = e.set_emode(&a, 1).await;
    assert_rejected(&mut e.s.h, &ixs, &[&signer], LendingError::NotInEmodeGroup, &keys).await;
    // Group 2 is not enabled; there is no group 9.
    for group in [2u8, 9] {
        let ixs = e.set_emode(&a, group).await;
        assert_rejected(&mut e.s.h, &ixs, &[&signer], LendingError::InvalidEmodeGroup, &keys).await;
    }
    // Someone else cannot move the obligation into a group.
    let b = e.trader().await;
    let ix = set_obligation_emode_ix(&e.s.m.market, &a.t.user.obligation, &b.t.user.keypair.pubkey(), 1);
    let ixs = e.with_refresh(&a, ix).await;
    assert_rejected(&mut e.s.h, &ixs, &[&b.t.user.keypair], LendingError::InvalidObligationOwner, &keys).await;
    // Without the refresh first: stale.
    let ix = with_position_reserves(set_obligation_emode_ix(&e.s.m.market, &a.t.user.obligation, &signer.pubkey(), 1), &e.s.h.obligation(&a.t.user.obligation).await);
    assert_rejected(&mut e.s.h, &[ix], &[&signer], LendingError::ObligationStale, &keys).await;
}

#[tokio::test]
async fn emode_groups_are_validated_and_set_by_the_market_owner_only() {
    let mut e = Emoded::new().await;
    let owner = e.s.m.owner.insecure_clone();
    let keys = vec![e.s.m.market.market];
    let cases = [
        (EmodeGroup { liquidation_threshold_bps: 0, ..SOL_GROUP }, LendingError::InvalidEmodeLiquidationThreshold),
        (EmodeGroup { liquidation_threshold_bps: 10_001, ..SOL_GROUP }, LendingError::InvalidEmodeLiquidationThreshold),
        (EmodeGroup { loan_to_value_bps: 9_300, ..SOL_GROUP }, LendingError::InvalidEmodeLoanToValue),
        // 93% × 1.08 > 100%, for the bonus or the auction's maximum; a maximum below the bonus.
        (EmodeGroup { liquidation_bonus_bps: 800, max_liquidation_bonus_bps: 0, ..SOL_GROUP }, LendingError::InvalidEmodeLiquidationBonus),
        (EmodeGroup { max_liquidation_bonus_bps: 800, ..SOL_GROUP }, LendingError::InvalidEmodeLiquidationBonus),
        (EmodeGroup { max_liquidation_bonus_bps: 50, ..SOL_GROUP }, LendingError::InvalidEmodeLiquidationBonus),
    ];
    for (params, error) in cases {
        let ix = set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 2, params, 0);
        assert_rejected(&mut e.s.h, &[ix], &[&owner], error, &keys).await;
    }
    for group in [0u8, 9] {
        let ix = set_emode_group_ix(&e.s.m.market, &owner.pubkey(), group, SOL_GROUP, 0);
        assert_rejected(&mut e.s.h, &[ix], &[&owner], LendingError::InvalidEmodeGroup, &keys).await;
    }
    let stranger = Keypair::new();
    e.s.h.fund(&stranger.pubkey(), 1_000_000_000).await;
    let ix = set_emode_group_ix(&e.s.m.market, &stranger.pubkey(), 2, SOL_GROUP, 0);
    assert_rejected(&mut e.s.h, &[ix], &[&stranger], LendingError::InvalidMarketOwner, &keys).await;
    // The edge (93% × 1.0752 <= 100%) is accepted and stored.
    let edge = EmodeGroup { max_liquidation_bonus_bps: 752, ..SOL_GROUP };
    e.s.h.must_send(&[set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 2, edge, 0)], &[&owner]).await;
    assert_eq!(e.s.h.market(&e.s.m.market.market).await.emode(2).unwrap().params, edge);
}

#[tokio::test]
async fn a_group_change_applies_from_the_next_refresh() {
    let mut e = Emoded::new().await;
    let lst = e.lst.clone();
    let owner = e.s.m.owner.insecure_clone();
    let a = e.trader().await;
    let signer = a.t.user.keypair.insecure_clone();
    ok(&e.s.deposit(&a.t, &lst, a.lst_account, 10_000_000_000).await);
    let ixs = e.set_emode(&a, 1).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    // The owner lowers the group's LTV between the refresh and a borrow: the borrow is refused.
    let lowered = EmodeGroup { loan_to_value_bps: 8_000, ..SOL_GROUP };
    let sol = e.s.m.sol.clone();
    let borrow = borrow_ix(&e.s.m.market, &sol, &a.t.user.obligation, &signer.pubkey(), &a.t.user.sol_account, ONE);
    let reserves = e.reserves();
    let refs: Vec<&TestReserve> = reserves.iter().collect();
    let mut ixs = e.s.h.with_refresh_separately(&a.t.user.obligation, &refs, borrow).await;
    ixs.insert(ixs.len() - 1, set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 1, lowered, 0));
    let keys = e.watched(&a);
    assert_rejected(&mut e.s.h, &ixs, &[&signer, &owner], LendingError::EmodeGroupChangedSinceRefresh, &keys).await;
    // Once set, the next refresh values the obligation with it: 80% of $1,650.
    e.s.h.must_send(&[set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 1, lowered, 0)], &[&owner]).await;
    assert_eq!(e.sol_limit(&a).await.amount, 8_800_000_000, "the client reads the market's parameters");
    let ixs = e.borrow_sol(&a, ONE).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    let obligation = e.s.h.obligation(&a.t.user.obligation).await;
    assert_eq!(obligation.emode_params, lowered);
    assert_eq!(obligation.values().health(HealthKind::Initial).assets, Wad::from_u64(1_320));
    // A disabled group values at the assets' own weights and refuses nothing.
    e.s.h.must_send(&[set_emode_group_ix(&e.s.m.market, &owner.pubkey(), 1, EmodeGroup::DISABLED, 0)], &[&owner]).await;
    let ixs = e.borrow_sol(&a, ONE).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    let obligation = e.s.h.obligation(&a.t.user.obligation).await;
    assert_eq!(obligation.values().health(HealthKind::Initial).assets, Wad(1_237 * WAD + WAD / 2));
    let usdc = e.s.m.usdc.clone();
    ok(&e.s.deposit(&a.t, &usdc, a.t.user.usdc_account, ONE).await);
}

#[tokio::test]
async fn an_emode_liquidation_uses_the_groups_threshold_and_bonus() {
    let mut e = Emoded::new().await;
    let (lst, sol) = (e.lst.clone(), e.s.m.sol.clone());
    let a = e.trader().await;
    let signer = a.t.user.keypair.insecure_clone();
    ok(&e.s.deposit(&a.t, &lst, a.lst_account, 10_000_000_000).await);
    let ixs = e.set_emode(&a, 1).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    let ixs = e.borrow_sol(&a, 9_900_000_000).await;
    e.s.h.must_send(&ixs, &[&signer]).await;
    // LST at $160: 93% of $1,600 = $1,488 still covers the $1,485 owed (its own 80% would not).
    e.s.h.set_price(&lst.oracle, 160_000_000, 0, -6).await;
    let liquidator = e.trader().await;
    let l = liquidator.t.user.keypair.insecure_clone();
    let ix = liquidate_ix(&e.s.m.market, &a.t.user.obligation, &l.pubkey(), &sol, &liquidator.t.user.sol_account, &lst, &liquidator.lst_account, u64::MAX);
    let ixs = e.with_refresh(&a, ix.clone()).await;
    let keys = e.watched(&a);
    assert_rejected(&mut e.s.h, &ixs, &[&l], LendingError::ObligationHealthy, &keys).await;
    // At $159: $1,478.70 < $1,485. The bonus is the group's (1% to 3%), not the LST's own 5%.
    e.s.h.set_price(&lst.oracle, 159_000_000, 0, -6).await;
    let keys: Vec<Pubkey> = e.reserves().iter().map(|r| r.reserve).collect();
    let view = MarketView::load_with(&mut InProcessChain { harness: &mut e.s.h }, &e.s.m.market.market, &keys).await.unwrap();
    let before = e.s.h.obligation(&a.t.user.obligation).await;
    let quote = quote_liquidation(&view, &before, &sol.reserve, &lst.reserve, u64::MAX, false).unwrap();
    assert!((100..=300).contains(&quote.auction_bonus_bps), "{quote:?}");
    assert_eq!(quote.collateral_threshold_bps, 9_300);
    let ixs = e.with_refresh(&a, ix).await;
    e.s.h.must_send(&ixs, &[&l]).await;
    let after = e.s.h.obligation(&a.t.user.obligation).await;
    assert_eq!(after.borrows[0].borrowed_amount(), before.borrows[0].borrowed_amount().checked_sub(quote.plan.settled_debt).unwrap());
    assert!(after.values().health_not_below(&quote.values_before), "a liquidation in e-mode does not lower health");
}
