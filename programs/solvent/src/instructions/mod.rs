pub mod borrow;
pub mod collect_protocol_fees;
pub mod deposit;
pub mod deposit_reserve_liquidity;
pub mod flash_borrow;
pub mod flash_repay;
pub mod init_lending_market;
pub mod init_obligation;
pub mod init_reserve;
pub mod liquidate;
pub mod refresh_obligation;
pub mod redeem_reserve_collateral;
pub mod refresh_reserve;
pub mod repay;
pub mod set_liquidation_limits;
pub mod set_market_paused;
pub mod token;
pub mod update_reserve_config;
pub mod withdraw;
pub mod withdraw_protocol_fees;
pub mod write_off_bad_debt;

// Anchor's #[program] needs each accounts struct at this path; the `handler` names collide
// harmlessly because handlers are always called by their module path.
#[allow(ambiguous_glob_reexports)]
pub use borrow::*;
pub use collect_protocol_fees::*;
pub use deposit::*;
pub use deposit_reserve_liquidity::*;
pub use flash_borrow::*;
pub use flash_repay::*;
pub use init_lending_market::*;
pub use init_obligation::*;
pub use init_reserve::*;
pub use liquidate::*;
pub use refresh_obligation::*;
pub use redeem_reserve_collateral::*;
pub use refresh_reserve::*;
pub use repay::*;
pub use set_liquidation_limits::*;
pub use set_market_paused::*;
pub use update_reserve_config::*;
pub use withdraw::*;
pub use withdraw_protocol_fees::*;
pub use write_off_bad_debt::*;
