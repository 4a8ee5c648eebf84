//! The admin side of the crisis controls (`state::policy`, `state::timelock`): pauses by the
//! owner or the guardian, the market policy, and the timelock's queue (queue, execute by anyone,
//! cancel), with the two-step ownership handover.
use crate::errors::LendingError;
use crate::events::{
    ChangeCancelled, ChangeExecuted, ChangeQueued, GuardianSet, MarketPauseSet, MarketPolicySet, OwnershipAccepted, OwnershipProposed,
    ReservePauseSet,
};
use crate::flash_loan::{require_no_open_flash_loan, INSTRUCTIONS_SYSVAR_ID};
use crate::state::{check_pause_mask, reserve_settings_hash, EmodeGroupDebt, ACTION_LIQUIDATE, LendingMarket, MarketPolicy, PendingChange, QueuedChange, Reserve, QUEUED_CHANGE_SEED};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct SetReservePause<'info> {
    pub lending_market: Account<'info, LendingMarket>,
    /// The market's owner or its guardian.
    pub authority: Signer<'info>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub reserve: AccountLoader<'info, Reserve>,
}

/// Pauses `actions` (`ACTION_*` bits) on the reserve, at once. Liquidations, by anyone: in
/// their own expiring slot (`Reserve::liquidation_pause`: it ends `policy.guardian_pause_secs`
/// after it started and cannot be chained), since a lasting liquidation pause would shelter bad
/// positions at the depositors' cost. Other actions by the guardian: an expiring pause
/// (`Reserve::guardian_pause`); by the owner: until lifted through the timelock
/// (`PendingChange::Unpause`), which also confirms a guardian's pause of them. Nobody can lift a
/// pause here.
pub fn set_reserve_pause(ctx: Context<SetReservePause>, actions: u8) -> Result<()> {
    check_pause_mask(actions)?;
    let market = &ctx.accounts.lending_market;
    let signer = ctx.accounts.authority.key();
    let by_guardian = signer != market.owner;
    require!(!by_guardian || market.is_guardian(&signer), LendingError::NotOwnerOrGuardian);
    let secs = market.policy().guardian_pause_secs;
    let liquidations = actions & ACTION_LIQUIDATE != 0;
    require!(!liquidations || secs > 0, LendingError::LiquidationPauseNeedsExpiry);
    let others = actions & !ACTION_LIQUIDATE;
    let now = Clock::get()?.unix_timestamp;
    let mut reserve = ctx.accounts.reserve.load_mut()?;
    if liquidations {
        reserve.liquidation_pause(now, secs)?;
    }
    match (others, by_guardian) {
        (0, _) => {}
        (others, true) => reserve.guardian_pause(others, now, secs)?,
        (others, false) => reserve.owner_paused |= others,
    }
    emit_pause(ctx.accounts.reserve.key(), &reserve, by_guardian);
    Ok(())
}

fn emit_pause(reserve_key: Pubkey, reserve: &Reserve, by_guardian: bool) {
    emit!(ReservePauseSet {
        reserve: reserve_key,
        owner_paused: reserve.owner_paused,
        guardian_paused: reserve.guardian_paused,
        guardian_pause_until: reserve.guardian_pause_until,
        liquidation_pause_until: reserve.liquidation_pause_until,
        by_guardian,
    });
}

#[derive(Accounts)]
pub struct SetMarketPolicy<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
}

/// Sets a policy that binds the admins at least as much as the current one
/// (`MarketPolicy::tightened_by`), at once; any other waits the timelock (`ChangeNeedsTimelock`:
/// queue `PendingChange::Policy`), unless the market has none.
pub fn set_market_policy(ctx: Context<SetMarketPolicy>, policy: MarketPolicy) -> Result<()> {
    let market = &mut ctx.accounts.lending_market;
    policy.validate(market.guardian != Pubkey::default())?;
    market.policy().require_at_once(market.policy().tightened_by(&policy))?;
    apply_policy(market, policy)
}

fn apply_policy(market: &mut Account<LendingMarket>, policy: MarketPolicy) -> Result<()> {
    policy.validate(market.guardian != Pubkey::default())?;
    market.set_policy(&policy);
    emit!(MarketPolicySet {
        market: market.key(),
        timelock_secs: policy.timelock_secs,
        guardian_pause_secs: policy.guardian_pause_secs,
        listing_ramp_secs: policy.listing_ramp_secs,
        max_risk_step_bps: policy.max_risk_step_bps,
    });
    Ok(())
}

#[derive(Accounts)]
#[instruction(change: PendingChange)]
pub struct QueueChange<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        init,
        payer = owner,
        space = QueuedChange::SPACE,
        seeds = [QUEUED_CHANGE_SEED, lending_market.key().as_ref(), &lending_market.next_change_id.to_le_bytes()],
        bump
    )]
    pub queued_change: Account<'info, QueuedChange>,
    /// The reserve a reserve change acts on (None for a market change).
    #[account(has_one = lending_market @ LendingError::InvalidMarket)]
    pub reserve: Option<AccountLoader<'info, Reserve>>,
    pub system_program: Program<'info, System>,
}

/// Queues `change`, executable by anyone from `policy.timelock_secs` from now for
/// `CHANGE_GRACE_SECS`. It is checked now as it will be when executed (valid settings, within
/// the risk step, a reserve for a reserve change), so a change that could never run is refused
/// at once; it is checked again when it runs.
pub fn queue_change(ctx: Context<QueueChange>, change: PendingChange) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market = &ctx.accounts.lending_market;
    let (target, base_hash) = match (change.targets_reserve(), &ctx.accounts.reserve) {
        (true, Some(reserve)) => {
            let state = reserve.load()?;
            check_reserve_change(market, &state, &change)?;
            (reserve.key(), reserve_settings_hash(&state, &change))
        }
        (false, None) => {
            check_market_change(market, &change)?;
            (market.key(), [0; 32])
        }
        _ => return err!(LendingError::InvalidQueuedChange),
    };
    let eta = now.checked_add(market.policy().timelock_secs as i64).ok_or(LendingError::MathOverflow)?;
    let queued = &mut ctx.accounts.queued_change;
    queued.lending_market = market.key();
    queued.id = market.next_change_id;
    queued.queued_at = now;
    queued.eta = eta;
    queued.target = target;
    queued.queued_by = ctx.accounts.owner.key();
    queued.base_hash = base_hash;
    queued.change = change;
    emit!(ChangeQueued { market: market.key(), change: queued.key(), id: queued.id, kind: change.kind(), target, eta });
    let market = &mut ctx.accounts.lending_market;
    market.next_change_id = market.next_change_id.checked_add(1).ok_or(LendingError::MathOverflow)?;
    Ok(())
}

/// What executing `change` on `reserve` would check first.
fn check_reserve_change(market: &LendingMarket, reserve: &Reserve, change: &PendingChange) -> Result<()> {
    match change {
        PendingChange::ReserveConfig { config } => super::update_reserve_config::check(&market.policy(), reserve, config)?,
        PendingChange::DynamicMargin { config } => config.validate(reserve.config.loan_to_value_bps)?,
        PendingChange::SoftZone { config } => config.validate(reserve.config.liquidation_bonus_bps)?,
        PendingChange::Unpause { actions } => check_pause_mask(*actions)?,
        _ => return err!(LendingError::InvalidQueuedChange),
    }
    Ok(())
}

/// What executing a market `change` would check first.
fn check_market_change(market: &LendingMarket, change: &PendingChange) -> Result<()> {
    match change {
        PendingChange::EmodeGroup { group, params, .. } => {
            market.emode(*group)?;
            params.validate()?;
        }
        PendingChange::LiquidationLimits { protocol_share_bps, .. } => require!(*protocol_share_bps <= 10_000, LendingError::InvalidFee),
        PendingChange::UnpauseMarket => {}
        PendingChange::Policy { policy } => policy.validate(market.guardian != Pubkey::default())?,
        PendingChange::Guardian { guardian } => market.policy().validate(*guardian != Pubkey::default())?,
        PendingChange::Owner { .. } => {}
        _ => return err!(LendingError::InvalidQueuedChange),
    }
    Ok(())
}

#[derive(Accounts)]
pub struct ExecuteChange<'info> {
    #[account(mut)]
    pub lending_market: Account<'info, LendingMarket>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = queued_by @ LendingError::InvalidQueuedChange,
        close = queued_by
    )]
    pub queued_change: Account<'info, QueuedChange>,
    /// CHECK: receives the change's rent; by address (`has_one`).
    #[account(mut)]
    pub queued_by: UncheckedAccount<'info>,
    /// The change's target reserve, for a reserve change.
    #[account(mut)]
    pub reserve: Option<AccountLoader<'info, Reserve>>,
    /// The group's debt account, for an e-mode change.
    #[account(mut)]
    pub emode_group_debt: Option<AccountLoader<'info, EmodeGroupDebt>>,
    /// CHECK: the instructions sysvar, by address: no change under an open flash loan.
    #[account(address = INSTRUCTIONS_SYSVAR_ID @ LendingError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
    pub executor: Signer<'info>,
}

/// Executes a queued change whose delay has run (`TimelockNotElapsed`; under the timelock now,
/// if it was lengthened since) and whose grace period has not (`ChangeExpired`); anyone may
/// sign. It runs only while its queuer is the owner and, for a reserve change, on the settings
/// it was queued against (`ChangeStale`), so it cannot undo a tightening or a pause made since.
/// The change is applied by the same code as the owner's instruction of that kind, every check
/// included, and the account closed.
pub fn execute_change(ctx: Context<ExecuteChange>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = ctx.accounts;
    let queued = &accounts.queued_change;
    queued.check_due(now, accounts.lending_market.policy().timelock_secs)?;
    // Queued by a former owner: the handover ends it.
    require_keys_eq!(queued.queued_by, accounts.lending_market.owner, LendingError::ChangeStale);
    require_no_open_flash_loan(&accounts.instructions_sysvar, &accounts.lending_market.key())?;
    let change = queued.change;
    if change.targets_reserve() {
        let reserve_loader = accounts.reserve.as_ref().ok_or(LendingError::InvalidQueuedChange)?;
        require_keys_eq!(reserve_loader.key(), queued.target, LendingError::InvalidQueuedChange);
        let reserve_key = reserve_loader.key();
        let mut reserve = reserve_loader.load_mut()?;
        require!(reserve_settings_hash(&reserve, &change) == queued.base_hash, LendingError::ChangeStale);
        match change {
            PendingChange::ReserveConfig { config } => {
                super::update_reserve_config::apply(&accounts.lending_market.policy(), reserve_key, &mut reserve, config, now)?
            }
            PendingChange::DynamicMargin { config } => super::set_dynamic_margin::apply(reserve_key, &mut reserve, config, now)?,
            PendingChange::SoftZone { config } => super::set_soft_zone::apply(reserve_key, &mut reserve, config, now)?,
            PendingChange::Unpause { actions } => {
                reserve.unpause(actions, now);
                emit_pause(reserve_key, &reserve, false);
            }
            _ => return err!(LendingError::InvalidQueuedChange),
        }
    } else {
        let market = &mut accounts.lending_market;
        match change {
            PendingChange::EmodeGroup { group, params, debt_cap_value } => {
                let debt_loader = accounts.emode_group_debt.as_ref().ok_or(LendingError::InvalidQueuedChange)?;
                let mut debt = debt_loader.load_mut()?;
                require!(debt.lending_market == market.key() && debt.group == group, LendingError::InvalidQueuedChange);
                super::set_emode_group::apply(market, &mut debt, group, params, debt_cap_value)?;
            }
            PendingChange::LiquidationLimits { liquidation_cap_value, dust_value, protocol_share_bps } => {
                super::set_liquidation_limits::apply(market, liquidation_cap_value, dust_value, protocol_share_bps)?
            }
            PendingChange::UnpauseMarket => {
                market.paused = false;
                emit!(MarketPauseSet { market: market.key(), paused: false });
            }
            PendingChange::Policy { policy } => apply_policy(market, policy)?,
            PendingChange::Guardian { guardian } => {
                market.policy().validate(guardian != Pubkey::default())?;
                market.guardian = guardian;
                emit!(GuardianSet { market: market.key(), guardian });
            }
            PendingChange::Owner { new_owner } => {
                market.pending_owner = new_owner;
                emit!(OwnershipProposed { market: market.key(), owner: market.owner, pending_owner: new_owner });
            }
            _ => return err!(LendingError::InvalidQueuedChange),
        }
    }
    let queued = &accounts.queued_change;
    emit!(ChangeExecuted {
        market: accounts.lending_market.key(),
        change: queued.key(),
        id: queued.id,
        kind: change.kind(),
        target: queued.target,
        executor: accounts.executor.key(),
    });
    Ok(())
}

#[derive(Accounts)]
pub struct CancelChange<'info> {
    #[account(has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = queued_by @ LendingError::InvalidQueuedChange,
        close = queued_by
    )]
    pub queued_change: Account<'info, QueuedChange>,
    /// CHECK: receives the change's rent; by address (`has_one`).
    #[account(mut)]
    pub queued_by: UncheckedAccount<'info>,
}

/// The owner withdraws a queued change before it runs (the account is closed).
pub fn cancel_change(ctx: Context<CancelChange>) -> Result<()> {
    let queued = &ctx.accounts.queued_change;
    emit!(ChangeCancelled { market: queued.lending_market, change: queued.key(), id: queued.id, kind: queued.change.kind() });
    Ok(())
}

#[derive(Accounts)]
pub struct AcceptOwnership<'info> {
    #[account(mut)]
    pub lending_market: Account<'info, LendingMarket>,
    pub new_owner: Signer<'info>,
}

/// The owner named by an executed ownership change takes over (`NotPendingOwner` for anyone
/// else): the second step of the handover, so a mistyped key can never receive the market.
pub fn accept_ownership(ctx: Context<AcceptOwnership>) -> Result<()> {
    let market = &mut ctx.accounts.lending_market;
    let signer = ctx.accounts.new_owner.key();
    require!(market.pending_owner != Pubkey::default() && signer == market.pending_owner, LendingError::NotPendingOwner);
    let previous_owner = market.owner;
    market.owner = signer;
    market.pending_owner = Pubkey::default();
    emit!(OwnershipAccepted { market: market.key(), previous_owner, owner: signer });
    Ok(())
}
