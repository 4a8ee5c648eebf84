use super::SetDynamicMargin;
use crate::events::SoftZoneSet;
use crate::flash_loan::require_no_open_flash_loan;
use crate::state::{Reserve, SoftZoneConfig};
use anchor_lang::prelude::*;

/// Sets the reserve's soft-liquidation zone (`SoftZoneConfig::validate` against the reserve's
/// liquidation bonus; all zero: off). The accounts are `set_dynamic_margin`'s: the market's
/// owner sets a reserve's risk settings. The zone applies from the next refresh of the
/// reserve, which every use of it needs first.
/// On a market with a timelock, a change waits it (`ChangeNeedsTimelock`: queue it): the zone
/// takes a bonus from borrowers.
pub fn handler(ctx: Context<SetDynamicMargin>, config: SoftZoneConfig) -> Result<()> {
    require_no_open_flash_loan(&ctx.accounts.instructions_sysvar, &ctx.accounts.lending_market.key())?;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    config.validate(reserve.config.liquidation_bonus_bps)?;
    ctx.accounts.lending_market.policy().require_at_once(reserve.soft_zone == config)?;
    apply(ctx.accounts.reserve.key(), &mut reserve, config, Clock::get()?.unix_timestamp)
}

/// Sets the soft zone, as `set_soft_zone` and an executed queued change do.
pub fn apply(reserve_key: Pubkey, reserve: &mut Reserve, config: SoftZoneConfig, now: i64) -> Result<()> {
    config.validate(reserve.config.liquidation_bonus_bps)?;
    reserve.accrue_interest(now)?;
    reserve.soft_zone = config;
    reserve.valuation_epoch = reserve.valuation_epoch.wrapping_add(1);
    reserve.price_updated_slot = 0;
    emit!(SoftZoneSet {
        reserve: reserve_key,
        enabled: config.is_enabled(),
        start_bps: config.start_bps,
        max_repay_bps: config.max_repay_bps,
        max_bonus_bps: config.max_bonus_bps,
    });
    Ok(())
}
