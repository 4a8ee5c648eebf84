//! Account types and the money logic on them. Methods here are pure (no CPI, no sysvars), so
//! unit and property tests call them natively.
pub mod deleverage;
pub mod dynamic;
pub mod emode;
pub mod health;
pub mod insurance;
pub mod market;
pub mod liquidation;
pub mod obligation;
pub mod operations;
pub mod policy;
pub mod reserve;
pub mod stored_wad;
pub mod timelock;

pub use deleverage::*;
pub use dynamic::*;
pub use emode::*;
pub use health::*;
pub use insurance::*;
pub use liquidation::*;
pub use market::*;
pub use obligation::*;
pub use policy::*;
pub use reserve::*;
pub use stored_wad::*;
pub use timelock::*;

/// Current layout version of every account; bumped when a layout change needs a migration.
/// Fields carved out of reserved space read as zero on existing accounts, so zero must always be
/// their valid initial value (as for `Reserve::flash_loan_amount`).
/// Version 2: the margin-tier layout (ReserveConfig's risk flags, borrow weight and value caps
/// move the reserve's later fields; the obligation's tier and weighted sums). Version 1 accounts
/// are not migrated: no deployment holds any; a market is created anew.
/// Version 3: the isolation debt ceiling (`ReserveConfig::isolation_debt_ceiling_value` moves
/// the reserve's later fields again; `Reserve::isolated_debt`, the obligation's isolation
/// charges). Version 2 accounts are not migrated either.
/// Version 4: predictive deleveraging (the obligation's orders and soft-zone clocks make it
/// longer; the reserve's `soft_zone` comes out of reserved space). Version 3 obligations are
/// not migrated.
/// Version 5: the insurance fund (`ReserveConfig::insurance_share_bps` moves the reserve's later
/// fields; `Reserve::insurance_fund` and `insurance_receivable`). Version 4 reserves are not
/// migrated.
/// Version 6: crisis controls (`ReserveConfig`'s outflow limit moves the reserve's later fields;
/// the reserve's outflow count, listing ramp and pauses; the market's guardian, pending owner,
/// policy and change counter make it longer). Version 5 accounts are not migrated.
pub const ACCOUNT_VERSION: u8 = 6;
