//! The liquidation keeper against a JSON-RPC endpoint (solana-test-validator, devnet).
//!
//!   solvent-keeper --url http://127.0.0.1:8899 --market <MARKET> --keypair ~/.config/solana/id.json \
//!       --token-account <MINT>=<TOKEN ACCOUNT> [--token-account ...] [--interval-secs 10] [--passes N] [--ws ws://127.0.0.1:8900]
//!
//! With `--ws` it also subscribes over WebSocket to the market's program accounts and its
//! reserves' oracles (`solvent_app::watch`) and runs a pass as soon as one changes, instead of
//! waiting for the interval (which stays the fallback).
//!
//! The keypair pays fees and signs liquidations; each token account is the liquidator's for that
//! mint (repayments come from it, seized collateral goes to it). Prints a line per action and a
//! summary per pass. The tests and the demo run the same keeper in process (`InProcessChain`).
use solvent_app::keeper::{Keeper, RpcChain};
use solvent_app::watch;
use solvent_client::Pubkey;
use std::collections::BTreeMap;
use std::str::FromStr;

struct Args {
    url: String,
    market: Pubkey,
    keypair: String,
    token_accounts: BTreeMap<Pubkey, Pubkey>,
    interval_secs: u64,
    passes: Option<u64>,
    ws: Option<String>,
}

const USAGE: &str = "usage: solvent-keeper --url URL --market PUBKEY --keypair PATH --token-account MINT=ACCOUNT... [--interval-secs N] [--passes N] [--ws WS_URL]";

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut market, mut keypair) = (None, None, None);
    let mut token_accounts = BTreeMap::new();
    let (mut interval_secs, mut passes, mut ws) = (10, None, None);
    let key = |text: &str| Pubkey::from_str(text).map_err(|e| format!("{text}: {e}"));
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--market" => market = Some(key(&value()?)?),
            "--keypair" => keypair = Some(value()?),
            "--token-account" => {
                let pair = value()?;
                let (mint, account) = pair.split_once('=').ok_or_else(|| format!("{pair}: expected MINT=ACCOUNT"))?;
                token_accounts.insert(key(mint)?, key(account)?);
            }
            "--interval-secs" => interval_secs = value()?.parse().map_err(|e| format!("--interval-secs: {e}"))?,
            "--passes" => passes = Some(value()?.parse().map_err(|e| format!("--passes: {e}"))?),
            "--ws" => ws = Some(value()?),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Args {
        url: url.ok_or(USAGE)?,
        market: market.ok_or(USAGE)?,
        keypair: keypair.ok_or(USAGE)?,
        token_accounts,
        interval_secs,
        passes,
        ws,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args().unwrap_or_else(|message| {
        eprintln!("{message}");
        std::process::exit(2)
    });
    let liquidator = solana_keypair::read_keypair_file(&args.keypair).unwrap_or_else(|e| {
        eprintln!("cannot read keypair {}: {e}", args.keypair);
        std::process::exit(2)
    });
    let keeper = Keeper::new(args.market, liquidator, args.token_accounts);
    let mut chain = RpcChain::new(&args.url);
    let interval = std::time::Duration::from_secs(args.interval_secs);
    let mut changes = match &args.ws {
        Some(ws) => Some(subscribe(&keeper, &mut chain, ws).await),
        None => None,
    };
    let mut pass = 0u64;
    loop {
        pass += 1;
        match keeper.run_pass(&mut chain).await {
            Ok(report) => println!("pass {pass}: {report}"),
            Err(error) => eprintln!("pass {pass} failed: {error}"),
        }
        if args.passes.is_some_and(|limit| pass >= limit) {
            break;
        }
        match changes.as_mut() {
            Some(receiver) => {
                let burst = watch::wait_for_change(receiver, interval, std::time::Duration::from_millis(300)).await;
                match burst.first() {
                    Some(first) => println!("woken by {} change(s), first {first}", burst.len()),
                    None => println!("no change in {}s: rescanning", args.interval_secs),
                }
            }
            None => tokio::time::sleep(interval).await,
        }
    }
}

/// Starts the WebSocket watcher on the market and its reserves' oracles; returns once its
/// subscriptions are in place (or it failed: then the keeper polls).
async fn subscribe(keeper: &Keeper, chain: &mut RpcChain, ws: &str) -> tokio::sync::mpsc::UnboundedReceiver<watch::Change> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let oracles: Vec<Pubkey> = match keeper.view(chain).await {
        Ok(view) => view.reserves.values().map(|r| r.keys.oracle).collect(),
        Err(error) => {
            eprintln!("cannot read the market's reserves for their oracles: {error}");
            Vec::new()
        }
    };
    let (ready, subscribed) = tokio::sync::oneshot::channel();
    let (url, market) = (ws.to_string(), keeper.market);
    tokio::spawn(watch::watch_market_forever(url, market, oracles, ready, sender, std::time::Duration::from_secs(5)));
    match subscribed.await {
        Ok(count) => println!("watching over {ws}: the market's accounts and {} oracle(s)", count - 1),
        Err(_) => eprintln!("websocket: no subscription yet; polling every interval while it reconnects"),
    }
    receiver
}
