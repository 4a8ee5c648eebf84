//! The production tools on the Solvent program, standing on `solvent-client`: the liquidation
//! keeper (polling, or woken over WebSocket: `watch`) and the one-transaction leverage builder. The demo and the benchmark are examples of
//! this crate (they run on the test harness's embedded bank, a dev-dependency).
pub mod keeper;
pub mod leverage;
pub mod watch;
