//! The test harness: a `solana-program-test` 4.4 bank that runs the built
//! `target/deploy/solvent.so` (prefer_bpf, so compute units, stack and heap are the real SBF
//! ones) with the real SPL Token programs, plus the fixtures the integration tests share. It
//! builds every instruction with `solvent-client` (re-exported here) and implements the
//! client's `Chain` for the bank (`InProcessChain`), so the keeper, the leverage builder and the
//! queries run on it exactly as over JSON-RPC.
//!
//! By entity: `bank` (the context, sending, accounts, clock, costs), `tokens` (mints and token
//! accounts), `oracle_fixtures` (Pyth accounts), `fixtures` (reserve configs and prices),
//! `market` (markets, reserves, obligations, users), `in_process` (`InProcessChain`), `tables`
//! (tables), `budget` (the CU budget), `rng` (a seeded generator).
pub use solana_program_test::{processor, ProgramTest, ProgramTestContext};
pub use solvent_client::*;

mod bank;
mod budget;
mod in_process;
mod fixtures;
mod tables;
mod market;
mod oracle_fixtures;
mod rng;
mod tokens;
mod transactions;

pub use bank::*;
pub use budget::*;
pub use in_process::*;
pub use fixtures::*;
pub use tables::*;
pub use market::*;
pub use oracle_fixtures::*;
pub use pyth_sdk_solana::state::PriceStatus;
pub use rng::*;
pub use tokens::*;
pub use transactions::*;

/// The client's market keys under the name the tests have always used.
pub type TestMarket = MarketKeys;
/// The client's reserve keys under the name the tests have always used.
pub type TestReserve = ReserveKeys;

pub const MINT_SIZE: u64 = 82;
pub const TOKEN_ACCOUNT_SIZE: u64 = 165;
/// Unix time the harness starts its clock at.
pub const START_TIME: i64 = 1_750_000_000;

/// Supply of an SPL Token mint.
pub fn mint_supply(data: &[u8]) -> u64 {
    solvent_client::mint_supply(data).expect("mint data")
}
