//! The Solvent risk console: stress a market on the built program.
//!
//! - `scenario`: what a run is made of (a market spec and scenarios, as JSON), the built-in
//!   market and the scenario library;
//! - `venue`: the off-chain world, exit venues with price impact and recovery, the lagged oracle
//!   and its EMA;
//! - `sim`: the market on the `.so` in the embedded runtime, driven tick by tick, the liquidators
//!   on the keeper's ranking;
//! - `ladder`: the debt liquidatable at each price level of each collateral;
//! - `report`: the terminal table, the charts (PNG and inline SVG) and the HTML page.
pub mod browser;
pub mod console;
pub mod ladder;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod venue;
