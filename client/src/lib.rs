//! `solvent-client`: what every off-chain user of the Solvent program needs, in one place.
//!
//! - `keys`: program ids, PDAs, `MarketKeys` / `ReserveKeys` (every account an instruction
//!   names, resolved from the reserve account or from market and mint);
//! - `instructions`: a builder for every instruction;
//! - `accounts`: decoding the program's accounts and token accounts (named byte offsets);
//! - `refresh`: the refresh sequence an action needs, written once;
//! - `view`: the market as the next transaction sees it (reserves refreshed with their oracles);
//! - `query`: `position` (the health engine's output by `HealthKind`, health factor,
//!   liquidation price per collateral), `max_borrow`, `max_withdraw`, `liquidation_price`, `quote_liquidation`,
//!   `best_liquidation`, `quote_deleverage` and `best_deleverage` (orders and the soft zone),
//!   `liquidation_distances` (distance and probability of liquidation within a horizon) — the
//!   program's own code run on copies, so they agree with it exactly;
//! - `chain`: the `Chain` trait and `RpcChain` (JSON-RPC); the test harness implements it for
//!   the embedded bank;
//! - `errors`: program errors by code, classified (`LendingError::class`).
//!
//! The keeper, the leverage builder, the demo, the benchmark and the tests stand on this crate.
pub mod accounts;
pub mod chain;
pub mod errors;
pub mod format;
pub mod instructions;
pub mod keys;
pub mod query;
pub mod refresh;
pub mod view;

pub use accounts::*;
pub use chain::{Chain, ChainError, RpcChain, Sent};
pub use format::*;
pub use instructions::*;
pub use keys::*;
pub use query::{
    best_deleverage, best_liquidation, first_true, liquidation_distances, liquidation_price, max_borrow, max_withdraw, normal_cdf, position, quote_deleverage,
    quote_liquidation, CollateralWeights, Limit, LiquidationDistance, Opportunity, Position,
};
pub use solvent::state::{Deleverage, OrderParams, SoftZoneConfig};
pub use solvent::state::{Health, HealthKind, ObligationValues};
pub use refresh::*;
pub use view::{MarketView, ReserveView};

pub use solana_keypair::Keypair;
pub use solana_signer::Signer;
pub use solvent;

#[cfg(test)]
mod readme {
    /// The README's Rust example is this crate's `examples/max_borrow.rs`, which the test command
    /// compiles: the two cannot drift apart.
    #[test]
    fn the_readme_shows_the_compiled_example() {
        let readme = include_str!("../../README.md");
        assert!(readme.contains(include_str!("../examples/max_borrow.rs")), "README.md's Rust example differs from client/examples/max_borrow.rs");
    }
}
