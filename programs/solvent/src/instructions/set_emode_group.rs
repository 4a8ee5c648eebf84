use crate::errors::LendingError;
use crate::events::EmodeGroupSet;
use crate::state::{EmodeGroup, EmodeGroupDebt, LendingMarket, ACCOUNT_VERSION, EMODE_DEBT_SEED};
use anchor_lang::prelude::*;

#[derive(Accounts)]
#[instruction(group: u8)]
pub struct SetEmodeGroup<'info> {
    #[account(mut, has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    /// The group's debt account, created the first time the group is set (the owner pays its
    /// rent), so every group that can be entered has one.
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + std::mem::size_of::<EmodeGroupDebt>(),
        seeds = [EMODE_DEBT_SEED, lending_market.key().as_ref(), &[group]],
        bump
    )]
    pub emode_group_debt: AccountLoader<'info, EmodeGroupDebt>,
    #[account(mut)]
    pub owner: Signer<'info>,
    pub system_program: Program<'info, System>,
}

/// Sets e-mode group `group` (1..=8) to `params` (`LendingMarket::set_emode_group`: the group
/// number, then `EmodeGroup::validate`; all zero disables it) and its debt cap to
/// `debt_cap_value` whole quote units (0: none; a cap below the debt already counted refuses new
/// debt until repayments bring it under). Obligations in the group are valued with the new
/// parameters from their next refresh; one refreshed before the change must refresh again before
/// it borrows, withdraws or is liquidated (`EmodeGroupChangedSinceRefresh`).
/// On a market with a timelock, only a call that changes nothing applies at once (it creates the
/// group's debt account, which a queued change of the group needs); any change waits the
/// timelock (`ChangeNeedsTimelock`: queue it), since both directions move value between users.
pub fn handler(ctx: Context<SetEmodeGroup>, group: u8, params: EmodeGroup, debt_cap_value: u64) -> Result<()> {
    let market_key = ctx.accounts.lending_market.key();
    let market = &mut ctx.accounts.lending_market;
    let debt = &ctx.accounts.emode_group_debt;
    // A new account is all zero; an existing one is loaded as it is.
    let mut state = match debt.load_mut() {
        Ok(state) => state,
        Err(_) => debt.load_init()?,
    };
    if state.version == 0 {
        state.version = ACCOUNT_VERSION;
        state.group = group;
        state.bump = ctx.bumps.emode_group_debt;
        state.lending_market = market_key;
    }
    params.validate()?;
    let unchanged = market.emode(group)?.params == params && state.debt_cap_value == debt_cap_value;
    market.policy().require_at_once(unchanged)?;
    apply(market, &mut state, group, params, debt_cap_value)
}

/// Sets group `group`, as `set_emode_group` and an executed queued change do.
pub fn apply(market: &mut Account<LendingMarket>, state: &mut EmodeGroupDebt, group: u8, params: EmodeGroup, debt_cap_value: u64) -> Result<()> {
    market.set_emode_group(group, &params)?;
    state.debt_cap_value = debt_cap_value;
    emit!(EmodeGroupSet {
        market: market.key(),
        group,
        loan_to_value_bps: params.loan_to_value_bps,
        liquidation_threshold_bps: params.liquidation_threshold_bps,
        liquidation_bonus_bps: params.liquidation_bonus_bps,
        max_liquidation_bonus_bps: params.max_liquidation_bonus_bps,
        debt_cap_value,
    });
    Ok(())
}
