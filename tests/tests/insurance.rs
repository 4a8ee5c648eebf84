//! The insurance fund on the built .so: fees into the fund in the configured split, staking
//! with a cooldown, write-offs paid by the fund before depositors, every refusal, and a seeded
//! property: tokens are conserved across the vaults and the users.
use solvent::errors::LendingError;
use solvent::math::{mul_div, Rounding, Wad};
use solvent::state::{InsuranceFund, InsuranceStake, DEAD_SHARES};
use solvent_tests::*;

const DAY: u32 = 86_400;

struct Fund {
    h: Harness,
    m: StandardMarket,
    /// USDC with its fund's keys.
    usdc: TestReserve,
    staker: TestUser,
}

/// The standard market with 1,000 USDC borrowed, USDC's insurance share at `share_bps` and its
/// fund (a day's cooldown, `max_slash_bps`), and a staker holding 10,000 USDC.
async fn with_fund(share_bps: u16, max_slash_bps: u16) -> Fund {
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    let config = solvent::state::ReserveConfig { insurance_share_bps: share_bps, ..h.reserve(&m.usdc.reserve).await.config };
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, config)], &[&m.owner]).await;
    h.must_send(&[init_insurance_fund_ix(&m.market, &m.owner.pubkey(), &m.usdc, DAY, max_slash_bps)], &[&m.owner]).await;
    let usdc = ReserveKeys::from_state(m.usdc.reserve, &h.reserve(&m.usdc.reserve).await);
    assert!(usdc.insurance.is_some());
    let staker = h.new_user(&m.market, &m.sol, &m.usdc).await;
    h.mint_to(&m.usdc.mint, &staker.usdc_account, 10_000_000_000).await;
    Fund { h, m, usdc, staker }
}

impl Fund {
    async fn fund(&mut self) -> InsuranceFund {
        let key = self.usdc.insurance.unwrap().0;
        solvent_client::decode_insurance_fund(&self.h.account(&key).await.unwrap().data).unwrap()
    }

    async fn stake_of(&mut self, owner: &Pubkey) -> InsuranceStake {
        let key = insurance_stake_address(&self.usdc.insurance.unwrap().0, owner);
        solvent_client::decode_insurance_stake(&self.h.account(&key).await.unwrap().data).unwrap()
    }

    async fn vault(&mut self) -> u64 {
        let vault = self.usdc.insurance.unwrap().1;
        self.h.token_balance(&vault).await
    }

    async fn later(&mut self, secs: i64) {
        let now = self.h.now().await;
        self.h.set_time(now + secs).await;
        self.h.set_price(&self.m.sol.oracle, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
        self.h.set_price(&self.m.usdc.oracle, USDC_PRICE, 0, USDC_PRICE_EXPO).await;
    }
}

#[tokio::test]
async fn fees_flow_into_the_fund_in_the_configured_split() {
    // Without a fund, a share above 0 cannot be collected.
    let (mut h, m) = Harness::market_with_usdc_debt(1_000_000_000).await;
    let config = solvent::state::ReserveConfig { insurance_share_bps: 4_000, ..h.reserve(&m.usdc.reserve).await.config };
    let bad = solvent::state::ReserveConfig { insurance_share_bps: 10_001, ..config };
    let ix = update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, bad);
    assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidInsuranceFund, &[m.usdc.reserve]).await;
    h.must_send(&[update_config_ix(&m.market, &m.owner.pubkey(), &m.usdc, config)], &[&m.owner]).await;
    let ix = collect_fees_ix(&m.market, &m.usdc);
    assert_rejected(&mut h, &[ix], &[], LendingError::InsuranceFundRequired, &[m.usdc.reserve, m.usdc.vault, m.usdc.fee_vault]).await;
    // Only the owner creates the fund, within bounds.
    let stranger = h.new_user(&m.market, &m.sol, &m.usdc).await;
    let ix = init_insurance_fund_ix(&m.market, &stranger.keypair.pubkey(), &m.usdc, DAY, 5_000);
    assert_rejected(&mut h, &[ix], &[&stranger.keypair], LendingError::InvalidMarketOwner, &[m.usdc.reserve]).await;
    for (cooldown, slash) in [(60, 5_000), (91 * DAY, 5_000), (DAY, 0), (DAY, 10_001)] {
        let ix = init_insurance_fund_ix(&m.market, &m.owner.pubkey(), &m.usdc, cooldown, slash);
        assert_rejected(&mut h, &[ix], &[&m.owner], LendingError::InvalidInsuranceFund, &[m.usdc.reserve]).await;
    }
    h.must_send(&[init_insurance_fund_ix(&m.market, &m.owner.pubkey(), &m.usdc, DAY, 5_000)], &[&m.owner]).await;
    let usdc = ReserveKeys::from_state(m.usdc.reserve, &h.reserve(&m.usdc.reserve).await);
    // A collection that leaves the fund out is refused; with it, 40% of what is collected goes
    // to the fund (rounded down), the rest to the fee vault.
    assert_rejected(&mut h, &[collect_fees_ix(&m.market, &m.usdc)], &[], LendingError::InsuranceFundRequired, &[m.usdc.reserve]).await;
    let now = h.now().await;
    h.set_time(now + 30 * DAY as i64).await;
    let (fund_key, vault) = usdc.insurance.unwrap();
    let (fee_before, vault_before) = (h.token_balance(&usdc.fee_vault).await, h.token_balance(&vault).await);
    let outcome = h.send(&[collect_fees_ix(&m.market, &usdc)], &[]).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.logs);
    let to_fee = h.token_balance(&usdc.fee_vault).await - fee_before;
    let to_fund = h.token_balance(&vault).await - vault_before;
    let collected = to_fee + to_fund;
    assert!(collected > 1_000_000, "the borrow fee and a month of interest: {collected}");
    assert_eq!(to_fund, collected * 4_000 / 10_000, "40%, rounded down, to the base unit");
    let fund = solvent_client::decode_insurance_fund(&h.account(&fund_key).await.unwrap().data).unwrap();
    assert_eq!((fund.assets, fund.income_total), (to_fund, to_fund));
    println!("collected {collected}: {to_fee} to the fee vault, {to_fund} to the fund ({} CU)", outcome.compute_units);
    check_compute_budget(&[("collect_protocol_fees (insurance split)".to_string(), outcome.compute_units)]);
}

#[tokio::test]
async fn stakes_wait_their_cooldown_to_leave() {
    let mut f = with_fund(0, 10_000).await;
    let staker = f.staker.keypair.insecure_clone();
    let key = staker.pubkey();
    let ix = stake_insurance_ix(&f.usdc, &key, &f.staker.usdc_account, DEAD_SHARES);
    let fund_key = f.usdc.insurance.unwrap().0;
    assert_rejected(&mut f.h, &[ix], &[&staker], LendingError::StakeTooSmall, &[fund_key]).await;
    let outcome = f.h.send(&[stake_insurance_ix(&f.usdc, &key, &f.staker.usdc_account, 1_000_000_000)], &[&staker]).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.logs);
    let stake_units = outcome.compute_units;
    let stake = f.stake_of(&key).await;
    assert_eq!(stake.shares, 1_000_000_000 - DEAD_SHARES, "1:1 less the dead shares");
    assert_eq!(f.vault().await, 1_000_000_000);
    let stake_key = insurance_stake_address(&fund_key, &key);
    let watched = [fund_key, stake_key, f.usdc.insurance.unwrap().1, f.staker.usdc_account];
    // Refusals: more than staked, no request, before the cooldown.
    let ix = request_unstake_ix(&f.usdc, &key, stake.shares + 1);
    assert_rejected(&mut f.h, &[ix], &[&staker], LendingError::InsufficientStake, &watched).await;
    let ix = unstake_ix(&f.m.market, &f.usdc, &key, &f.staker.usdc_account);
    assert_rejected(&mut f.h, &[ix], &[&staker], LendingError::NoUnstakeRequested, &watched).await;
    let outcome = f.h.send(&[request_unstake_ix(&f.usdc, &key, 400_000_000)], &[&staker]).await;
    assert!(outcome.error.is_none() && outcome.emitted::<solvent::events::InsuranceUnstakeRequested>());
    let request_units = outcome.compute_units;
    assert_eq!(f.fund().await.pending_shares, 400_000_000);
    f.later(DAY as i64 - 1).await;
    let ix = unstake_ix(&f.m.market, &f.usdc, &key, &f.staker.usdc_account);
    assert_rejected(&mut f.h, &[ix.clone()], &[&staker], LendingError::UnstakeCooldownActive, &watched).await;
    // At the cooldown the requested shares leave at the fund's share price then.
    f.later(1).await;
    let before = f.h.token_balance(&f.staker.usdc_account).await;
    let fund = f.fund().await;
    let expected = mul_div(400_000_000, fund.assets as u128, fund.total_shares as u128, Rounding::Down).unwrap() as u64;
    let outcome = f.h.send(&[ix], &[&staker]).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.logs);
    assert_eq!(f.h.token_balance(&f.staker.usdc_account).await - before, expected);
    let (fund, stake) = (f.fund().await, f.stake_of(&key).await);
    assert_eq!((stake.shares, stake.pending_shares, fund.pending_shares), (600_000_000 - DEAD_SHARES, 0, 0));
    assert_eq!(fund.assets, 1_000_000_000 - expected);
    assert_eq!(f.vault().await, fund.assets);
    // A request not used within its window lapses: a staker cannot stand ready to leave.
    f.h.must_send(&[request_unstake_ix(&f.usdc, &key, 100_000_000)], &[&staker]).await;
    f.later(DAY as i64 + solvent::state::UNSTAKE_WINDOW_SECS + 1).await;
    let ix = unstake_ix(&f.m.market, &f.usdc, &key, &f.staker.usdc_account);
    assert_rejected(&mut f.h, &[ix], &[&staker], LendingError::UnstakeWindowLapsed, &watched).await;
    println!("stake {stake_units} CU, request {request_units} CU, unstake {} CU", outcome.compute_units);
    check_compute_budget(&[
        // The first stake creates the stake account, searching its PDA's bump (not budgeted, as
        // the other inits).
        ("init_ stake_insurance (first stake)".to_string(), stake_units),
        ("request_unstake".to_string(), request_units),
        ("unstake".to_string(), outcome.compute_units),
    ]);
}

/// Two obligations left with bad debt after SOL falls to $50: the first write-off is paid whole
/// by the fund (the depositors' share price does not move), the second is larger than what is
/// left of it: the fund pays what it has and the depositors bear exactly the rest. A request to
/// unstake made when the loss was in sight still bears it.
#[tokio::test]
async fn the_fund_pays_bad_debt_before_depositors() {
    let mut f = with_fund(0, 10_000).await;
    let staker = f.staker.keypair.insecure_clone();
    f.h.must_send(&[stake_insurance_ix(&f.usdc, &staker.pubkey(), &f.staker.usdc_account, 700_000_000)], &[&staker]).await;
    // A second borrower, the same position.
    let second = f.h.new_user(&f.m.market, &f.m.sol, &f.m.usdc).await;
    f.h.mint_to(&f.m.sol.mint, &second.sol_account, BORROWER_SOL_DEPOSIT).await;
    f.h.must_send(&[deposit_ix(&f.m.market, &f.m.sol, &second.obligation, &second.keypair.pubkey(), &second.sol_account, BORROWER_SOL_DEPOSIT)], &[&second.keypair]).await;
    let ix = borrow_ix(&f.m.market, &f.m.usdc, &second.obligation, &second.keypair.pubkey(), &second.usdc_account, 1_000_000_000);
    let (sol, usdc) = (f.m.sol.clone(), f.m.usdc.clone());
    let ixs = f.h.with_refresh(&second.obligation, &[&sol, &usdc], ix).await;
    f.h.must_send(&ixs, &[&second.keypair]).await;
    // The staker sees the crash coming and asks out: the request does not spare it the loss.
    f.h.must_send(&[request_unstake_ix(&f.usdc, &staker.pubkey(), 699_000_000)], &[&staker]).await;
    f.h.set_price(&f.m.sol.oracle, 5_000_000_000, 0, SOL_PRICE_EXPO).await;
    let liquidator = f.h.new_user(&f.m.market, &f.m.sol, &f.m.usdc).await;
    f.h.mint_to(&f.m.usdc.mint, &liquidator.usdc_account, 2_000_000_000).await;
    for obligation in [f.m.borrower.obligation, second.obligation] {
        let ix = liquidate_ix(&f.m.market, &obligation, &liquidator.keypair.pubkey(), &usdc, &liquidator.usdc_account, &sol, &liquidator.sol_account, u64::MAX);
        let ixs = f.h.with_refresh(&obligation, &[&sol, &usdc], ix).await;
        f.h.must_send(&ixs, &[&liquidator.keypair]).await;
    }
    // A write-off that leaves the fund out is refused.
    let ix = write_off_bad_debt_ix(&f.m.market, &f.m.usdc, &f.m.borrower.obligation);
    assert_rejected(&mut f.h, &[ix], &[], LendingError::InsuranceFundRequired, &[f.m.usdc.reserve, f.m.borrower.obligation]).await;

    // The first: about $524 against a $700 fund, paid whole.
    let debt = f.h.obligation(&f.m.borrower.obligation).await.borrows[0].borrowed_amount();
    let loss = debt.to_u64(Rounding::Up).unwrap();
    let before = f.h.reserve(&f.m.usdc.reserve).await;
    let (fund_before, vault_before) = (f.fund().await, f.vault().await);
    let outcome = f.h.send(&[write_off_bad_debt_ix(&f.m.market, &f.usdc, &f.m.borrower.obligation)], &[]).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.logs);
    let write_off_units = outcome.compute_units;
    let after = f.h.reserve(&f.m.usdc.reserve).await;
    let fund_after = f.fund().await;
    assert_eq!(fund_after.assets, fund_before.assets - loss, "the fund paid the debt, rounded up to a token");
    assert_eq!((fund_after.owed_to_reserve, after.insurance_receivable), (loss, loss), "owed until settled");
    assert_eq!(f.vault().await, vault_before, "no token moved in the write-off");
    // Settling moves the tokens: anyone may send it.
    let liquidity_before = f.h.token_balance(&f.m.usdc.vault).await;
    let outcome = f.h.send(&[settle_insurance_ix(&f.m.market, &f.usdc)], &[]).await;
    assert!(outcome.error.is_none(), "{:?}", outcome.logs);
    let settle_units = outcome.compute_units;
    assert_eq!(f.vault().await, vault_before - loss);
    assert_eq!(f.h.token_balance(&f.m.usdc.vault).await, liquidity_before + loss);
    let settled = f.h.reserve(&f.m.usdc.reserve).await;
    assert_eq!((settled.available_amount, settled.insurance_receivable), (before.available_amount + loss, 0), "as a repayment");
    assert_eq!(settled.total_liquidity().unwrap(), after.total_liquidity().unwrap(), "settling does not move the claim");
    let ix = settle_insurance_ix(&f.m.market, &f.usdc);
    assert_rejected(&mut f.h, &[ix], &[], LendingError::ZeroAmount, &[f.m.usdc.reserve, f.usdc.insurance.unwrap().0]).await;
    let price = |r: &solvent::state::Reserve| r.total_liquidity().unwrap().checked_div(Wad::from_u64(r.collateral_supply), Rounding::Down).unwrap();
    assert!(price(&after) >= price(&before), "the depositors' share price did not fall: {:?} -> {:?}", price(&before), price(&after));
    assert_eq!(f.h.obligation(&f.m.borrower.obligation).await.borrow_count(), 0);

    // The second is larger than the fund's remaining ~$176: the fund pays all it has and the
    // depositors bear exactly the rest.
    let debt2 = f.h.obligation(&second.obligation).await.borrows[0].borrowed_amount();
    let before = f.h.reserve(&f.m.usdc.reserve).await;
    let fund_left = f.fund().await.assets;
    assert!(Wad::from_u64(fund_left) < debt2);
    f.h.must_send(&[write_off_bad_debt_ix(&f.m.market, &f.usdc, &second.obligation), settle_insurance_ix(&f.m.market, &f.usdc)], &[]).await;
    let after = f.h.reserve(&f.m.usdc.reserve).await;
    assert_eq!(f.fund().await.assets, 0, "the fund paid everything it had");
    assert_eq!(f.vault().await, 0);
    let borne = debt2.checked_sub(Wad::from_u64(fund_left)).unwrap();
    assert_eq!(after.total_liquidity().unwrap(), before.total_liquidity().unwrap().checked_sub(borne).unwrap(), "the depositors bear exactly the rest");
    // The staker's request waited; its shares are now worth nothing.
    f.later(DAY as i64).await;
    let before = f.h.token_balance(&f.staker.usdc_account).await;
    f.h.must_send(&[unstake_ix(&f.m.market, &f.usdc, &staker.pubkey(), &f.staker.usdc_account)], &[&staker]).await;
    assert_eq!(f.h.token_balance(&f.staker.usdc_account).await, before, "the loss came first");
    println!("write-off paid by the fund: {write_off_units} CU, settle_insurance {settle_units} CU");
    check_compute_budget(&[
        ("write_off_bad_debt (insurance fund)".to_string(), write_off_units),
        ("settle_insurance".to_string(), settle_units),
    ]);
}

/// Seeded random sequences (`INSURANCE_CASES`, default 30 steps each in 4 markets) of fee
/// collections, stakes, unstake requests, unstakes, write-offs and settlements: the USDC held by
/// the liquidity vault, the fee vault, the insurance vault and the users never changes in total,
/// the fund's vault holds exactly its assets and what it owes the reserve, and that debt is the
/// reserve's receivable.
#[tokio::test]
async fn tokens_are_conserved_across_the_vaults_and_users() {
    let steps: usize = std::env::var("INSURANCE_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    for seed in 0..4u64 {
        let mut f = with_fund(2_500 + 2_500 * seed as u16 % 10_000, 5_000 + 1_000 * seed as u16).await;
        let mut rng = Rng(0x1A5E_0000 + seed);
        let mut stakers = vec![f.staker.clone_user()];
        for _ in 0..2 {
            let user = f.h.new_user(&f.m.market, &f.m.sol, &f.m.usdc).await;
            f.h.mint_to(&f.m.usdc.mint, &user.usdc_account, 5_000_000_000).await;
            stakers.push(user);
        }
        // Borrowers that a crash will leave with bad debt.
        let mut doomed = Vec::new();
        for _ in 0..3 {
            let user = f.h.new_user(&f.m.market, &f.m.sol, &f.m.usdc).await;
            let sol = rng.range(1_000_000_000, 5_000_000_000);
            f.h.mint_to(&f.m.sol.mint, &user.sol_account, sol).await;
            f.h.must_send(&[deposit_ix(&f.m.market, &f.m.sol, &user.obligation, &user.keypair.pubkey(), &user.sol_account, sol)], &[&user.keypair]).await;
            let ix = borrow_ix(&f.m.market, &f.m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, sol / 1_000 * 100);
            let (s, u) = (f.m.sol.clone(), f.m.usdc.clone());
            let ixs = f.h.with_refresh(&user.obligation, &[&s, &u], ix).await;
            f.h.must_send(&ixs, &[&user.keypair]).await;
            doomed.push(user);
        }
        let mut accounts = vec![f.m.usdc.vault, f.m.usdc.fee_vault, f.usdc.insurance.unwrap().1];
        accounts.extend(stakers.iter().map(|s| s.usdc_account));
        let start = total(&mut f.h, &accounts).await;
        let mut crashed = false;
        for _ in 0..steps {
            let staker = &stakers[rng.range(0, stakers.len() as u64 - 1) as usize];
            let key = staker.keypair.pubkey();
            let signed = |ix: Instruction| (ix, true);
            let (ix, needs_signer) = match rng.range(0, 5) {
                0 => (collect_fees_ix(&f.m.market, &f.usdc), false),
                5 => (settle_insurance_ix(&f.m.market, &f.usdc), false),
                1 => signed(stake_insurance_ix(&f.usdc, &key, &staker.usdc_account, rng.range(1, 1_000_000_000))),
                2 => signed(request_unstake_ix(&f.usdc, &key, rng.range(1, 500_000_000))),
                3 => signed(unstake_ix(&f.m.market, &f.usdc, &key, &staker.usdc_account)),
                _ => {
                    if !crashed {
                        // SOL to $20: the doomed borrowers are liquidated down to bad debt.
                        f.h.set_price(&f.m.sol.oracle, 2_000_000_000, 0, SOL_PRICE_EXPO).await;
                        crashed = true;
                    }
                    let user = &doomed[rng.range(0, doomed.len() as u64 - 1) as usize];
                    let state = f.h.obligation(&user.obligation).await;
                    if state.deposit_count() > 0 && state.borrow_count() > 0 {
                        let liquidator = &stakers[0];
                        let ix = liquidate_ix(&f.m.market, &user.obligation, &liquidator.keypair.pubkey(), &f.m.usdc, &liquidator.usdc_account, &f.m.sol, &liquidator.sol_account, u64::MAX);
                        let (s, u) = (f.m.sol.clone(), f.m.usdc.clone());
                        let ixs = f.h.with_refresh(&user.obligation, &[&s, &u], ix).await;
                        let signer = liquidator.keypair.insecure_clone();
                        f.h.send(&ixs, &[&signer]).await;
                    }
                    (write_off_bad_debt_ix(&f.m.market, &f.usdc, &user.obligation), false)
                }
            };
            let signer = staker.keypair.insecure_clone();
            let signers: Vec<&Keypair> = if needs_signer { vec![&signer] } else { vec![] };
            let _ = f.h.send(&[ix], &signers).await;
            // Liquidation moves USDC from a staker (the liquidator) into the vault: still inside.
            assert_eq!(total(&mut f.h, &accounts).await, start, "seed {seed}: USDC conserved");
            let fund = f.fund().await;
            assert_eq!(fund.assets + fund.owed_to_reserve, f.vault().await, "seed {seed}: the fund counts its vault");
            assert_eq!(fund.owed_to_reserve, f.h.reserve(&f.m.usdc.reserve).await.insurance_receivable, "seed {seed}");
            f.later(rng.range(0, DAY as u64) as i64).await;
            if crashed {
                f.h.set_price(&f.m.sol.oracle, 2_000_000_000, 0, SOL_PRICE_EXPO).await;
            }
        }
    }
}

async fn total(h: &mut Harness, accounts: &[Pubkey]) -> u64 {
    let mut sum = 0u64;
    for account in accounts {
        sum += h.token_balance(account).await;
    }
    sum
}
