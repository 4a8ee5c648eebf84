//! The one-transaction leverage builder against a JSON-RPC endpoint (solana-test-validator,
//! Surfpool, devnet): opens, adjusts or closes a one-collateral / one-debt position around a
//! flash loan, with every amount computed beforehand by the program's own math.
//!
//!   solvent-leverage --url URL --keypair USER.json --obligation OBLIGATION \
//!       --collateral-reserve RESERVE=TOKEN_ACCOUNT --debt-reserve RESERVE=TOKEN_ACCOUNT \
//!       --maker-keypair MAKER.json --maker-account MINT=ACCOUNT [--maker-account ...] [--swap-fee-bps 30] \
//!       (open --own-collateral AMOUNT --target-bps BPS | close)
//!
//! The swap in the middle is the oracle-priced stand-in (a maker who co-signs two transfers),
//! for networks without a DEX; the user's keypair pays the fees and signs. Prints the plan and
//! the position it leaves; exits 1 when the program refuses the transaction.
use solvent_app::leverage::{context_from_chain, format_amount, LeveragePlan, OracleSwapStandIn, ONE_X_BPS};
use solvent_client::{Chain, MarketKeys, Pubkey, ReserveKeys, RpcChain, Signer};
use std::str::FromStr;

const USAGE: &str = "usage: solvent-leverage --url URL --keypair PATH --obligation PUBKEY --collateral-reserve RESERVE=ACCOUNT --debt-reserve RESERVE=ACCOUNT --maker-keypair PATH --maker-account MINT=ACCOUNT... [--swap-fee-bps N] (open --own-collateral N --target-bps N | close)";

enum Action {
    Open { own_collateral: u64, target_bps: u64 },
    Close,
}

struct Args {
    url: String,
    keypair: String,
    obligation: Pubkey,
    collateral: (Pubkey, Pubkey),
    debt: (Pubkey, Pubkey),
    maker_keypair: String,
    maker_accounts: Vec<(Pubkey, Pubkey)>,
    swap_fee_bps: u64,
    action: Action,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let key = |text: &str| Pubkey::from_str(text).map_err(|e| format!("{text}: {e}"));
    let pair = |text: &str| -> Result<(Pubkey, Pubkey), String> {
        let (a, b) = text.split_once('=').ok_or_else(|| format!("{text}: expected KEY=KEY"))?;
        Ok((key(a)?, key(b)?))
    };
    let (mut url, mut keypair, mut obligation, mut collateral, mut debt, mut maker_keypair) = (None, None, None, None, None, None);
    let (mut maker_accounts, mut swap_fee_bps, mut action, mut own_collateral, mut target_bps) = (Vec::new(), 30, None, None, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--keypair" => keypair = Some(value()?),
            "--obligation" => obligation = Some(key(&value()?)?),
            "--collateral-reserve" => collateral = Some(pair(&value()?)?),
            "--debt-reserve" => debt = Some(pair(&value()?)?),
            "--maker-keypair" => maker_keypair = Some(value()?),
            "--maker-account" => maker_accounts.push(pair(&value()?)?),
            "--swap-fee-bps" => swap_fee_bps = value()?.parse().map_err(|e| format!("--swap-fee-bps: {e}"))?,
            "--own-collateral" => own_collateral = Some(value()?.parse().map_err(|e| format!("--own-collateral: {e}"))?),
            "--target-bps" => target_bps = Some(value()?.parse().map_err(|e| format!("--target-bps: {e}"))?),
            "open" | "close" => action = Some(flag.clone()),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let action = match action.as_deref() {
        Some("open") => Action::Open {
            own_collateral: own_collateral.ok_or("open needs --own-collateral")?,
            target_bps: target_bps.ok_or("open needs --target-bps")?,
        },
        Some("close") => Action::Close,
        _ => return Err(USAGE.into()),
    };
    Ok(Args {
        url: url.ok_or(USAGE)?,
        keypair: keypair.ok_or(USAGE)?,
        obligation: obligation.ok_or(USAGE)?,
        collateral: collateral.ok_or(USAGE)?,
        debt: debt.ok_or(USAGE)?,
        maker_keypair: maker_keypair.ok_or(USAGE)?,
        maker_accounts,
        swap_fee_bps,
        action,
    })
}

fn fail(message: impl std::fmt::Display, code: i32) -> ! {
    eprintln!("{message}");
    std::process::exit(code)
}

fn describe(plan: &LeveragePlan, collateral: &ReserveKeys, debt: &ReserveKeys) -> String {
    let after = &plan.after;
    let health = after.health_factor().map(|h| format!("{:.4}", solvent_client::wad_to_f64(h))).unwrap_or_else(|| "-".into());
    format!(
        "flash {} (fee {}), swap {} -> {}, deposit {}, borrow {}, repay {}, withdraw {}; position: {} collateral shares, debt {}, leverage {:.2}x, health {health}",
        format_amount(plan.flash_amount as i128, debt.decimals),
        format_amount(plan.flash_fee as i128, debt.decimals),
        plan.swap_in,
        plan.swap_out,
        format_amount(plan.deposit_amount as i128, collateral.decimals),
        format_amount(plan.borrow_amount as i128, debt.decimals),
        format_amount(plan.repay_amount as i128, debt.decimals),
        plan.withdraw_shares,
        after.collateral_shares,
        solvent_client::wad_to_f64(after.debt) / 10f64.powi(debt.decimals as i32),
        after.leverage_bps as f64 / ONE_X_BPS as f64,
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args().unwrap_or_else(|message| fail(message, 2));
    let read_keypair = |path: &str| solana_keypair::read_keypair_file(path).unwrap_or_else(|e| fail(format!("cannot read keypair {path}: {e}"), 2));
    let (user, maker) = (read_keypair(&args.keypair), read_keypair(&args.maker_keypair));
    let mut chain = RpcChain::new(&args.url);
    let obligation = chain.obligation(&args.obligation).await.unwrap_or_else(|e| fail(e, 1));
    let market_key = solvent_client::from_anchor(&obligation.lending_market);
    let market = chain.market(&market_key).await.unwrap_or_else(|e| fail(e, 1));
    let market = MarketKeys::from_state(market_key, &market);
    let mut sides = Vec::new();
    for (reserve, account) in [args.collateral, args.debt] {
        let state = chain.reserve(&reserve).await.unwrap_or_else(|e| fail(e, 1));
        sides.push((ReserveKeys::from_state(reserve, &state), account));
    }
    let (collateral, debt) = (&sides[0], &sides[1]);
    let context = context_from_chain(&mut chain, &market, (&collateral.0, collateral.1), (&debt.0, debt.1), &args.obligation)
        .await
        .unwrap_or_else(|e| fail(e, 1));
    let swap = OracleSwapStandIn { maker: maker.pubkey(), maker_accounts: args.maker_accounts, fee_bps: args.swap_fee_bps };
    let plan = match args.action {
        Action::Open { own_collateral, target_bps } => context.adjust(own_collateral, target_bps, &swap),
        Action::Close => context.close(&swap),
    }
    .unwrap_or_else(|e| fail(e, 1));
    println!("plan: {}", describe(&plan, &collateral.0, &debt.0));
    let sent = chain.send(&plan.instructions, &[&user, &maker]).await.unwrap_or_else(|e| fail(e, 1));
    if let Some(error) = &sent.error {
        let named = sent.lending_error().map(|e| format!(" ({e:?}, {:?})", e.class())).unwrap_or_default();
        fail(format!("the program refused the transaction{named}: {error}"), 1);
    }
    println!("sent: {} instructions", plan.instructions.len());
}
