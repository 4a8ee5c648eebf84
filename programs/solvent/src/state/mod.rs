//! Account types and the money logic on them. Methods here are pure (no CPI, no sysvars), so
//! unit and property tests call them natively.
pub mod health;
pub mod market;
pub mod liquidation;
pub mod obligation;
pub mod operations;
pub mod reserve;
pub mod stored_wad;

pub use health::*;
pub use liquidation::*;
pub use market::*;
pub use obligation::*;
pub use reserve::*;
pub use stored_wad::*;

/// Current layout version of every account; bumped when a layout change needs a migration.
/// Fields carved out of reserved space read as zero on existing accounts, so zero must always be
/// their valid initial value (as for `Reserve::flash_loan_amount`).
pub const ACCOUNT_VERSION: u8 = 1;
