//! A multi-day liquidity crisis on the built .so, with the outflow limit off and on. USDC is
//! 80% lent out; for two days every depositor asks each hour for a quarter of what it still has
//! in the reserve (in a seeded random order), taking what the reserve can pay; the borrower
//! repays 200 USDC an hour. Without the limit the first hour drains the idle liquidity and later
//! depositors wait on repayments; with it the reserve pays out at most 5% of its idle liquidity
//! each hour and never runs dry, time for the rate curve to pull liquidity back. Either way no
//! depositor loses anything: each one's claim (paid out plus what its shares are worth) never
//! falls below what it put in. `cargo test -p solvent-tests --test liquidity_crisis -- --nocapture`
//! prints the table the README shows.
use solvent::errors::LendingError;
use solvent::math::Rounding;
use solvent::state::Reserve;
use solvent_tests::*;

const DEPOSITORS: usize = 10;
const DEPOSIT: u64 = 10_000_000_000; // 10,000 USDC each
const HOURS: usize = 48;
const REPAY_PER_HOUR: u64 = 200_000_000;

#[derive(Debug, Default)]
struct Run {
    /// First hour at whose end the reserve had no idle liquidity left (None: never).
    dry_at: Option<usize>,
    paid: u64,
    paid_withdrawals: usize,
    refused_withdrawals: usize,
    /// Depositors paid something in the first 24 hours (first come, first served either way: the
    /// limit paces the run, it does not ration it).
    served_first_day: usize,
    /// The most any depositor's claim fell below its deposit (base units; 0: nobody lost).
    worst_loss: u64,
    idle_by_6h: Vec<u64>,
}

/// Shares that redeem for at most `amount` at the reserve's state now (accrued).
fn shares_for(reserve: &Reserve, amount: u64) -> u64 {
    reserve.shares_for_amount(amount, Rounding::Down).unwrap()
}

async fn run(limit_bps: u16) -> Run {
    let mut h = Harness::start().await;
    let m = h.standard_market().await;
    let owner = m.owner.pubkey();
    // Ten more depositors next to the standard lender.
    let mut depositors = Vec::new();
    for _ in 0..DEPOSITORS {
        let user = h.new_user(&m.market, &m.sol, &m.usdc).await;
        h.mint_to(&m.usdc.mint, &user.usdc_account, DEPOSIT).await;
        h.must_send(&[deposit_ix(&m.market, &m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, DEPOSIT)], &[&user.keypair]).await;
        depositors.push(user);
    }
    // A borrower with 2,000 SOL borrows 80% of the reserve (the lender's 100,000 USDC and the
    // depositors' 100,000).
    let b = &m.borrower;
    h.mint_to(&m.sol.mint, &b.sol_account, 1_990_000_000_000).await;
    h.must_send(&[deposit_ix(&m.market, &m.sol, &b.obligation, &b.keypair.pubkey(), &b.sol_account, 1_990_000_000_000)], &[&b.keypair]).await;
    let reserve = h.reserve(&m.usdc.reserve).await;
    let total = reserve.total_liquidity().unwrap().to_u64(Rounding::Down).unwrap();
    let borrow_amount = total * 8 / 10;
    let borrow = borrow_ix(&m.market, &m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, borrow_amount);
    let ixs = h.with_refresh(&b.obligation, &[&m.sol, &m.usdc], borrow).await;
    h.must_send(&ixs, &[&b.keypair]).await;
    h.mint_to(&m.usdc.mint, &b.usdc_account, REPAY_PER_HOUR * HOURS as u64).await;
    // Then the crisis: with the limit on, at most `limit_bps` of the idle liquidity leaves per
    // hour (net of the repayments).
    if limit_bps > 0 {
        let mut config = h.reserve(&m.usdc.reserve).await.config;
        (config.outflow_limit_bps, config.outflow_window_secs) = (limit_bps, 3_600);
        h.must_send(&[update_config_ix(&m.market, &owner, &m.usdc, config)], &[&m.owner]).await;
    }
    let mut all = vec![m.lender.clone_user()];
    all.extend(depositors.iter().map(|d| d.clone_user()));
    let deposits: Vec<u64> = std::iter::once(LENDER_USDC_DEPOSIT).chain(std::iter::repeat_n(DEPOSIT, DEPOSITORS)).collect();
    let mut paid_to = vec![0u64; all.len()];

    let mut rng = Rng(7);
    let mut out = Run::default();
    for hour in 0..HOURS {
        let mut order: Vec<usize> = (0..all.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.range(0, i as u64) as usize);
        }
        for &i in &order {
            let user = &all[i];
            let now = h.now().await;
            let mut reserve = h.reserve(&m.usdc.reserve).await;
            reserve.accrue_interest(now).unwrap();
            let held = h.obligation(&user.obligation).await.deposits[0].deposited_shares;
            let claim = reserve.redeem_amount(held).unwrap();
            if claim == 0 {
                continue;
            }
            // A quarter of what is left (all of a small remainder), within what can be paid now.
            let wanted = if claim < 1_000_000_000 { claim } else { claim / 4 };
            let payable = wanted.min(reserve.available_amount).min(reserve.outflow_room(now).unwrap().available);
            let shares = shares_for(&reserve, payable).min(held);
            if shares == 0 {
                out.refused_withdrawals += 1;
                continue;
            }
            let ix = withdraw_ix(&m.market, &m.usdc, &user.obligation, &user.keypair.pubkey(), &user.usdc_account, shares);
            let outcome = h.send(&[ix], &[&user.keypair]).await;
            match outcome.lending_error() {
                None => {
                    let amount = reserve.redeem_amount(shares).unwrap();
                    paid_to[i] += amount;
                    out.paid += amount;
                    out.paid_withdrawals += 1;
                }
                Some(LendingError::OutflowLimitExceeded | LendingError::InsufficientLiquidity) => out.refused_withdrawals += 1,
                other => panic!("unexpected {other:?}: {:?}", outcome.logs),
            }
        }
        if hour == 23 {
            out.served_first_day = paid_to.iter().filter(|paid| **paid > 0).count();
        }
        // What the hour's withdrawals left; then the borrower repays and an hour passes.
        let idle = h.reserve(&m.usdc.reserve).await.available_amount;
        if out.dry_at.is_none() && idle < 1_000_000 {
            out.dry_at = Some(hour);
        }
        h.must_send(&[repay_ix(&m.usdc, &b.obligation, &b.keypair.pubkey(), &b.usdc_account, REPAY_PER_HOUR)], &[&b.keypair]).await;
        if hour % 6 == 5 {
            out.idle_by_6h.push(idle);
        }
        let now = h.now().await;
        h.set_time(now + 3_600).await;
    }
    // No depositor lost: paid out plus what its shares are worth now, against its deposit.
    let now = h.now().await;
    let mut reserve = h.reserve(&m.usdc.reserve).await;
    reserve.accrue_interest(now).unwrap();
    for (i, user) in all.iter().enumerate() {
        let held = h.obligation(&user.obligation).await.deposits.first().map(|d| d.deposited_shares).unwrap_or(0);
        let claim = paid_to[i] + reserve.redeem_amount(held).unwrap();
        out.worst_loss = out.worst_loss.max(deposits[i].saturating_sub(claim));
    }
    out
}

#[tokio::test]
async fn a_liquidity_crisis_with_the_outflow_limit_off_and_on() {
    let off = run(0).await;
    let on = run(500).await;
    let usd = |units: u64| {
        let whole = (units / 1_000_000).to_string();
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("${grouped}")
    };
    println!("| outflow limit | idle liquidity gone at hour | paid out in 48 h | withdrawals paid / refused | depositors paid in the first day | idle at 6 h, 12 h, 24 h, 48 h | worst depositor loss |");
    println!("|---|---:|---:|---:|---:|---|---:|");
    for (name, run) in [("off", &off), ("5% of idle liquidity per hour", &on)] {
        let idle: Vec<String> = [0, 1, 3, 7].iter().map(|i| usd(run.idle_by_6h[*i])).collect();
        let dry = run.dry_at.map(|hour| format!("{}", hour + 1)).unwrap_or_else(|| "never".into());
        println!(
            "| {name} | {dry} | {} | {} / {} | {} of {} | {} | {} |",
            usd(run.paid),
            run.paid_withdrawals,
            run.refused_withdrawals,
            run.served_first_day,
            DEPOSITORS + 1,
            idle.join(", "),
            usd(run.worst_loss)
        );
    }
    assert_eq!((off.worst_loss, on.worst_loss), (0, 0), "no depositor loses anything either way");
    assert!(off.dry_at.is_some(), "without the limit the idle liquidity runs out: {off:?}");
    assert!(on.dry_at.map_or(true, |hour| hour > off.dry_at.unwrap()), "with it, later or never: {on:?}");
    // The limit slows the run, it does not lock anyone in: most of what the run without it paid
    // is paid within the two days, the rest stays in the reserve, claimable.
    assert!(on.paid < off.paid && on.paid > off.paid / 2, "{on:?} vs {off:?}");
}
