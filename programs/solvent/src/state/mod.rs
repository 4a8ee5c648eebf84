//! Account types and the money logic on them. Methods here are pure (no CPI, no sysvars), so
//! unit and property tests call them natively.
pub mod market;
pub mod liquidation;
pub mod obligation;
pub mod reserve;
pub mod stored_wad;

pub use liquidation::*;
pub use market::*;
pub use obligation::*;
pub use reserve::*;
pub use stored_wad::*;

/// Current layout version of every account; bumped when reserved space is put to use.
pub const ACCOUNT_VERSION: u8 = 1;
