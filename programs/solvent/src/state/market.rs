use anchor_lang::prelude::*;

pub const MARKET_AUTHORITY_SEED: &[u8] = b"authority";

/// The root of one market: who administers it, what prices are quoted in, and the pause switch.
#[account]
#[derive(InitSpace)]
pub struct LendingMarket {
    pub version: u8,
    /// Bump of the market authority PDA (`["authority", market]`) that owns every vault.
    pub authority_bump: u8,
    /// While set, deposit, withdraw, borrow and liquidate are refused; repay and refresh still work.
    pub paused: bool,
    pub owner: Pubkey,
    /// The market authority PDA, stored so instructions check it by address instead of hashing.
    pub authority: Pubkey,
    /// Symbol of the quote currency, e.g. "USD", zero padded.
    pub quote_currency: [u8; 32],
    /// Program that must own every oracle account of this market (Pyth's oracle program).
    pub oracle_program: Pubkey,
    pub reserved: [u8; 128],
}
