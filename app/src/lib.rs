//! Client-side tools around the program: the leverage builder and the liquidation keeper.
//! They use the program crate's own state methods, so what they compute is what the program books.
pub mod leverage;
pub mod keeper;
