use crate::math::Wad;
use anchor_lang::prelude::*;

pub const MARKET_AUTHORITY_SEED: &[u8] = b"authority";

/// The root of one market: who administers it, what prices are quoted in, and the pause switch.
#[account]
#[derive(InitSpace)]
pub struct LendingMarket {
    pub version: u8,
    /// Bump of the market authority PDA (`["authority", market]`) that owns every vault.
    pub authority_bump: u8,
    /// While set, what adds risk or takes liquidity out is refused (borrow, withdraw, flash
    /// borrow, lend-only deposit and redemption); what removes risk still runs (repay, deposit of
    /// collateral, refresh, liquidation, write-off), so no position can shelter behind a pause.
    pub paused: bool,
    pub owner: Pubkey,
    /// The market authority PDA, stored so instructions check it by address instead of hashing.
    pub authority: Pubkey,
    /// Symbol of the quote currency, e.g. "USD", zero padded.
    pub quote_currency: [u8; 32],
    /// Program that must own every oracle account of this market (Pyth's oracle program).
    pub oracle_program: Pubkey,
    /// Most debt value one liquidation call may repay, in whole quote units (0: no cap), so one
    /// call cannot dump a whale position into a thin market at once.
    pub liquidation_cap_value: u64,
    /// Below this much debt or collateral value, in whole quote units, an unhealthy obligation is
    /// liquidated in full, past the close factor and the cap, so no unliquidatable dust is left
    /// (0: off).
    pub dust_value: u64,
    /// Share of each liquidation's bonus the protocol keeps, as fees of the collateral reserve.
    pub liquidation_protocol_share_bps: u16,
    pub reserved: [u8; 110],
}

/// The market-wide bounds on one liquidation call, as `plan_liquidation` applies them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiquidationLimits {
    /// Largest repaid value, in quote units (Wad), unless the obligation is dust.
    pub cap_value: Option<Wad>,
    /// The obligation is below the dust threshold: its whole debt may be repaid at once.
    pub full_liquidation: bool,
}

impl LendingMarket {
    /// The limits for an obligation with these values.
    pub fn liquidation_limits(&self, deposited_value: Wad, borrowed_value: Wad) -> LiquidationLimits {
        let dust = Wad::from_u64(self.dust_value);
        let full_liquidation = self.dust_value > 0 && (borrowed_value < dust || deposited_value < dust);
        let cap_value = (self.liquidation_cap_value > 0 && !full_liquidation)
            .then(|| Wad::from_u64(self.liquidation_cap_value));
        LiquidationLimits { cap_value, full_liquidation }
    }
}
