use crate::errors::LendingError;
use crate::events::DynamicMarginSet;
use crate::flash_loan::{require_no_open_flash_loan, INSTRUCTIONS_SYSVAR_ID};
use crate::state::{DynamicMarginConfig, DynamicMarginState, LendingMarket, Reserve, DYNAMIC_VOLATILITY};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetDynamicMargin<'info> {
    #[account(has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: the instructions sysvar, by address: margin cannot change under an open flash loan.
    #[account(address = INSTRUCTIONS_SYSVAR_ID @ LendingError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
}

/// Sets the reserve's dynamic-margin settings (`DynamicMarginConfig::validate`; all zero: static
/// margin). The volatility estimate and the threshold are kept while volatility stays on (the
/// threshold then moves to its new target at its pace), and start over when it is switched off;
/// the weights are recomputed at the next refresh, which every use of the reserve needs first
/// (as after `update_reserve_config`).
/// On a market with a timelock, a change waits it (`ChangeNeedsTimelock`: queue it): lower
/// weights liquidate borrowers, higher ones expose depositors.
pub fn handler(ctx: Context<SetDynamicMargin>, config: DynamicMarginConfig) -> Result<()> {
    require_no_open_flash_loan(&ctx.accounts.instructions_sysvar, &ctx.accounts.lending_market.key())?;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    config.validate(reserve.config.loan_to_value_bps)?;
    ctx.accounts.lending_market.policy().require_at_once(reserve.dynamic_config == config)?;
    apply(ctx.accounts.reserve.key(), &mut reserve, config, Clock::get()?.unix_timestamp)
}

/// Sets the dynamic settings, as `set_dynamic_margin` and an executed queued change do.
pub fn apply(reserve_key: Pubkey, reserve: &mut Reserve, config: DynamicMarginConfig, now: i64) -> Result<()> {
    config.validate(reserve.config.loan_to_value_bps)?;
    reserve.accrue_interest(now)?;
    // The estimate and the threshold's place are kept while volatility stays on (re-sending the
    // settings must not move the threshold at once); switched off, everything starts over.
    if !config.has(DYNAMIC_VOLATILITY) {
        reserve.dynamic = DynamicMarginState::default();
    }
    reserve.dynamic_config = config;
    reserve.valuation_epoch = reserve.valuation_epoch.wrapping_add(1);
    reserve.price_updated_slot = 0;
    emit!(DynamicMarginSet { reserve: reserve_key, flags: config.flags });
    Ok(())
}
