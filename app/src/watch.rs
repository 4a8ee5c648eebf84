//! The keeper's WebSocket mode: instead of waking every `--interval-secs` to rescan, it wakes
//! when something that can change an obligation's health changes. One `programSubscribe` covers
//! every account of the program in the market (obligations and reserves both hold the market at
//! `LENDING_MARKET_OFFSET`: a deposit, a borrow, a refresh), and one `accountSubscribe` per
//! reserve oracle covers the price moves that make positions liquidatable. The notifications
//! are sent on a channel; the keeper runs a pass per burst of them (`wait_for_change`), and
//! still rescans at its interval when nothing is heard (a dropped connection is reported, the
//! keeper polls, and the watcher reconnects: `watch_market_forever`).
use futures_util::stream::{select_all, BoxStream, StreamExt};
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
use solvent_client::{Pubkey, LENDING_MARKET_OFFSET};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// An obligation or a reserve of the market.
    Account(Pubkey),
    /// A reserve's price account.
    Oracle(Pubkey),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Account(key) => write!(f, "account {key}"),
            Change::Oracle(key) => write!(f, "oracle {key}"),
        }
    }
}

/// Subscribes to the market's program accounts and to `oracles` at `ws_url`, says so on
/// `ready` (how many subscriptions), then forwards every notification to `changes` until the
/// connection ends or the receiver is gone. Errors name the step that failed.
pub async fn watch_market(ws_url: &str, market: Pubkey, oracles: Vec<Pubkey>, ready: Option<tokio::sync::oneshot::Sender<usize>>, changes: UnboundedSender<Change>) -> Result<(), String> {
    let client = PubsubClient::new(ws_url).await.map_err(|e| format!("cannot connect to {ws_url}: {e}"))?;
    let account_config = RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), commitment: Some(solana_commitment_config::CommitmentConfig::confirmed()), ..Default::default() };
    let program_config = RpcProgramAccountsConfig {
        filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(LENDING_MARKET_OFFSET, market.to_bytes().to_vec()))]),
        account_config: account_config.clone(),
        ..Default::default()
    };
    let program = Pubkey::new_from_array(solvent::ID.to_bytes());
    let (accounts, _unsubscribe) = client.program_subscribe(&program, Some(program_config)).await.map_err(|e| format!("programSubscribe: {e}"))?;
    let mut streams: Vec<BoxStream<'_, Change>> = vec![accounts.map(|update| Change::Account(Pubkey::from_str(&update.value.pubkey).unwrap_or_default())).boxed()];
    let mut unsubscribes = vec![_unsubscribe];
    for oracle in oracles {
        let (prices, unsubscribe) = client.account_subscribe(&oracle, Some(account_config.clone())).await.map_err(|e| format!("accountSubscribe {oracle}: {e}"))?;
        streams.push(prices.map(move |_| Change::Oracle(oracle)).boxed());
        unsubscribes.push(unsubscribe);
    }
    if let Some(ready) = ready {
        let _ = ready.send(streams.len());
    }
    let mut all = select_all(streams);
    while let Some(change) = all.next().await {
        if changes.send(change).is_err() {
            break;
        }
    }
    drop(all);
    for unsubscribe in unsubscribes {
        unsubscribe().await;
    }
    Ok(())
}

/// `watch_market` for as long as `changes` has a receiver: a connection that fails or ends is
/// reported and opened again after `retry` (the keeper polls at its interval meanwhile).
/// `ready` hears of the first connection's subscriptions (dropped unheard if it fails).
pub async fn watch_market_forever(ws_url: String, market: Pubkey, oracles: Vec<Pubkey>, ready: tokio::sync::oneshot::Sender<usize>, changes: UnboundedSender<Change>, retry: Duration) {
    let mut ready = Some(ready);
    loop {
        let result = watch_market(&ws_url, market, oracles.clone(), ready.take(), changes.clone()).await;
        if changes.is_closed() {
            return;
        }
        match result {
            Err(error) => eprintln!("websocket: {error}; polling, reconnecting in {}s", retry.as_secs()),
            Ok(()) => eprintln!("websocket: the connection ended; polling, reconnecting in {}s", retry.as_secs()),
        }
        tokio::time::sleep(retry).await;
    }
}

/// Waits up to `timeout` for the first change, then gathers the burst that follows it within
/// `settle` (a transaction's accounts arrive one by one). Returns the changes (empty: timed out,
/// or the watcher is gone).
pub async fn wait_for_change(changes: &mut UnboundedReceiver<Change>, timeout: Duration, settle: Duration) -> Vec<Change> {
    let Ok(Some(first)) = tokio::time::timeout(timeout, changes.recv()).await else {
        return Vec::new();
    };
    let mut burst = vec![first];
    tokio::time::sleep(settle).await;
    while let Ok(change) = changes.try_recv() {
        burst.push(change);
    }
    burst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_burst_of_changes_is_one_wake_and_silence_is_a_timeout() {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        sender.send(Change::Oracle(a)).unwrap();
        sender.send(Change::Account(b)).unwrap();
        let burst = wait_for_change(&mut receiver, Duration::from_millis(200), Duration::from_millis(20)).await;
        assert_eq!(burst, vec![Change::Oracle(a), Change::Account(b)]);
        assert!(wait_for_change(&mut receiver, Duration::from_millis(200), Duration::from_millis(20)).await.is_empty(), "nothing within the timeout");
        drop(sender);
        assert!(wait_for_change(&mut receiver, Duration::from_millis(200), Duration::from_millis(20)).await.is_empty(), "the watcher gone");
        assert_eq!(format!("{}", Change::Oracle(a)), format!("oracle {a}"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn without_a_server_the_watcher_keeps_retrying_until_the_keeper_is_gone() {
        let (ready, subscribed) = tokio::sync::oneshot::channel();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        // Nothing listens on port 1: every connection is refused at once.
        let task = tokio::spawn(watch_market_forever("ws://127.0.0.1:1".into(), Pubkey::new_unique(), vec![], ready, sender, Duration::from_millis(50)));
        assert!(subscribed.await.is_err(), "no subscription is reported");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!task.is_finished(), "it keeps reconnecting while the keeper runs");
        drop(receiver);
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("it stops once the keeper is gone").unwrap();
    }
}
