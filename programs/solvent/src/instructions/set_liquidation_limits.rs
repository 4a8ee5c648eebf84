use crate::errors::LendingError;
use crate::events::LiquidationLimitsSet;
use crate::state::LendingMarket;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetLiquidationLimits<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
}

/// Sets the per-call liquidation cap and the dust threshold, both in whole quote units (0: off),
/// and the protocol's share of the liquidation bonus.
pub fn handler(
    ctx: Context<SetLiquidationLimits>,
    liquidation_cap_value: u64,
    dust_value: u64,
    protocol_share_bps: u16,
) -> Result<()> {
    let market = &mut ctx.accounts.lending_market;
    let unchanged = (market.liquidation_cap_value, market.dust_value, market.liquidation_protocol_share_bps)
        == (liquidation_cap_value, dust_value, protocol_share_bps);
    // Both directions move value between borrowers and liquidators: the timelock's.
    market.policy().require_at_once(unchanged)?;
    apply(market, liquidation_cap_value, dust_value, protocol_share_bps)
}

/// Sets the limits, as `set_liquidation_limits` and an executed queued change do.
pub fn apply(market: &mut Account<LendingMarket>, liquidation_cap_value: u64, dust_value: u64, protocol_share_bps: u16) -> Result<()> {
    require!(protocol_share_bps <= 10_000, LendingError::InvalidFee);
    market.liquidation_cap_value = liquidation_cap_value;
    market.dust_value = dust_value;
    market.liquidation_protocol_share_bps = protocol_share_bps;
    emit!(LiquidationLimitsSet { market: market.key(), liquidation_cap_value, dust_value, protocol_share_bps });
    Ok(())
}
