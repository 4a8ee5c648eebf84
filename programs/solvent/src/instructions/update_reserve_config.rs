use crate::errors::LendingError;
use crate::events::ReserveConfigUpdated;
use crate::flash_loan::{require_no_open_flash_loan, INSTRUCTIONS_SYSVAR_ID};
use crate::state::{LendingMarket, MarketPolicy, Reserve, ReserveConfig};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct UpdateReserveConfig<'info> {
    pub lending_market: Account<'info, LendingMarket>,
    /// The market's owner, or its guardian for a change that only tightens.
    pub authority: Signer<'info>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: the instructions sysvar, by address: config cannot change under an open flash loan.
    #[account(address = INSTRUCTIONS_SYSVAR_ID @ LendingError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
}

/// Sets the reserve's config at once when it only tightens (`Reserve::applies_at_once`), by the
/// owner or (a narrower set) the guardian; any other change only by the owner on a market without a timelock
/// (`ChangeNeedsTimelock`: queue it; `GuardianCannotLoosen` for the guardian). Either way the
/// loan-to-value and threshold move at most the market's step (`RiskStepTooLarge`).
pub fn handler(ctx: Context<UpdateReserveConfig>, config: ReserveConfig) -> Result<()> {
    config.validate()?;
    let market = &ctx.accounts.lending_market;
    let signer = ctx.accounts.authority.key();
    let is_owner = signer == market.owner;
    require!(is_owner || market.is_guardian(&signer), LendingError::NotOwnerOrGuardian);
    require_no_open_flash_loan(&ctx.accounts.instructions_sysvar, &market.key())?;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    if !reserve.applies_at_once(&config, !is_owner) {
        require!(is_owner, LendingError::GuardianCannotLoosen);
        market.policy().require_at_once(false)?;
    }
    apply(&market.policy(), ctx.accounts.reserve.key(), &mut reserve, config, Clock::get()?.unix_timestamp)
}

/// Whether `config` may replace the reserve's: valid, within the market's risk step, and with
/// the reserve's dynamic settings (a size premium cap below the new LTV) and soft zone (a bonus
/// below the new liquidation bonus) still fitting. `apply` runs it, and `queue_change` before
/// it queues a config.
pub fn check(policy: &MarketPolicy, reserve: &Reserve, config: &ReserveConfig) -> Result<()> {
    config.validate()?;
    policy.check_risk_step(&reserve.config, config)?;
    reserve.dynamic_config.validate(config.loan_to_value_bps)?;
    reserve.soft_zone.validate(config.liquidation_bonus_bps)?;
    Ok(())
}

/// Sets `config` on the reserve, as `update_reserve_config` and an executed queued change do:
/// the config valid, within the market's risk step, the dynamic settings and the soft zone still
/// fitting; interest up to now at the old curve; positions revalued before anything relies on
/// them.
pub fn apply(policy: &MarketPolicy, reserve_key: Pubkey, reserve: &mut Reserve, config: ReserveConfig, now: i64) -> Result<()> {
    check(policy, reserve, &config)?;
    // Interest up to now is owed at the old curve.
    reserve.accrue_interest(now)?;
    reserve.config = config;
    reserve.valuation_epoch = reserve.valuation_epoch.wrapping_add(1);
    // Positions must be revalued under the new parameters before anything relies on them.
    reserve.price_updated_slot = 0;
    emit!(ReserveConfigUpdated {
        reserve: reserve_key,
        loan_to_value_bps: config.loan_to_value_bps,
        liquidation_threshold_bps: config.liquidation_threshold_bps,
        liquidation_bonus_bps: config.liquidation_bonus_bps,
    });
    Ok(())
}
