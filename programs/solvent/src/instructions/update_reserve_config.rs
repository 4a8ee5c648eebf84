use crate::errors::LendingError;
use crate::events::ReserveConfigUpdated;
use crate::flash_loan::{require_no_open_flash_loan, INSTRUCTIONS_SYSVAR_ID};
use crate::state::{LendingMarket, Reserve, ReserveConfig};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct UpdateReserveConfig<'info> {
    #[account(has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: the instructions sysvar, by address: config cannot change under an open flash loan.
    #[account(address = INSTRUCTIONS_SYSVAR_ID @ LendingError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<UpdateReserveConfig>, config: ReserveConfig) -> Result<()> {
    config.validate()?;
    require_no_open_flash_loan(&ctx.accounts.instructions_sysvar, &ctx.accounts.lending_market.key())?;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    // Interest up to now is owed at the old curve.
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    // The dynamic settings must still fit (a size premium cap below the new LTV).
    reserve.dynamic_config.validate(config.loan_to_value_bps)?;
    // And the soft zone's bonus below the new liquidation bonus.
    reserve.soft_zone.validate(config.liquidation_bonus_bps)?;
    reserve.config = config;
    reserve.valuation_epoch = reserve.valuation_epoch.wrapping_add(1);
    // Positions must be revalued under the new parameters before anything relies on them.
    reserve.price_updated_slot = 0;
    emit!(ReserveConfigUpdated {
        reserve: ctx.accounts.reserve.key(),
        loan_to_value_bps: config.loan_to_value_bps,
        liquidation_threshold_bps: config.liquidation_threshold_bps,
        liquidation_bonus_bps: config.liquidation_bonus_bps,
    });
    Ok(())
}
