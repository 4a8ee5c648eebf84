use super::token::{is_token_account_of, pay_from_liquidity_vault, pay_into_liquidity_vault};
use crate::errors::LendingError;
use crate::events::Liquidated;
use crate::flash_loan::{require_no_open_flash_loan, INSTRUCTIONS_SYSVAR_ID};
use crate::state::{liquidation_bonus_bps, plan_liquidation, protocol_share_of_bonus, LendingMarket, Obligation, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

#[derive(Accounts)]
pub struct Liquidate<'info> {
    #[account(constraint = !lending_market.paused @ LendingError::MarketPaused)]
    pub lending_market: Account<'info, LendingMarket>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub obligation: AccountLoader<'info, Obligation>,
    pub liquidator: Signer<'info>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        constraint = repay_reserve.load()?.liquidity_mint == repay_liquidity_mint.key() @ LendingError::InvalidLiquidityMint,
        constraint = repay_reserve.load()?.liquidity_vault == repay_liquidity_vault.key() @ LendingError::InvalidLiquidityVault
    )]
    pub repay_reserve: AccountLoader<'info, Reserve>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub repay_liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub repay_liquidity_vault: UncheckedAccount<'info>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&source_liquidity, &repay_liquidity_mint.key(), &repay_token_program.key()) @ LendingError::InvalidLiquidityMint
    )]
    pub source_liquidity: UncheckedAccount<'info>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        constraint = withdraw_reserve.load()?.liquidity_mint == withdraw_liquidity_mint.key() @ LendingError::InvalidLiquidityMint,
        constraint = withdraw_reserve.load()?.liquidity_vault == withdraw_liquidity_vault.key() @ LendingError::InvalidLiquidityVault
    )]
    pub withdraw_reserve: AccountLoader<'info, Reserve>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub withdraw_liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub withdraw_liquidity_vault: UncheckedAccount<'info>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&destination_liquidity, &withdraw_liquidity_mint.key(), &withdraw_token_program.key())
            @ LendingError::InvalidLiquidityMint
    )]
    pub destination_liquidity: UncheckedAccount<'info>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarket)]
    pub market_authority: UncheckedAccount<'info>,
    pub repay_token_program: Interface<'info, TokenInterface>,
    pub withdraw_token_program: Interface<'info, TokenInterface>,
    /// CHECK: the instructions sysvar, by address: liquidation is refused while a flash loan is open.
    #[account(address = INSTRUCTIONS_SYSVAR_ID @ LendingError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
}

/// Repays up to `repay_amount` of an unhealthy obligation's debt in `repay_reserve` (at most the
/// close factor) and receives collateral from `withdraw_reserve` worth the repaid value plus the
/// liquidation bonus, as tokens.
pub fn handler(ctx: Context<Liquidate>, repay_amount: u64) -> Result<()> {
    require!(repay_amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let clock = Clock::get()?;
    let slot = clock.slot;
    let (repay_key, withdraw_key) = (accounts.repay_reserve.key(), accounts.withdraw_reserve.key());
    let mut obligation = accounts.obligation.load_mut()?;
    require_keys_neq!(obligation.owner, accounts.liquidator.key(), LendingError::SelfLiquidation);
    require_no_open_flash_loan(&accounts.instructions_sysvar, &accounts.lending_market.key())?;
    // Repay and withdraw reserves may be one account (an obligation borrowing the asset it
    // deposits): read both, then write each in turn, never holding two borrows of one account.
    let (plan, bonus_bps, borrow_slot, deposit_index) = {
        let repay_reserve = accounts.repay_reserve.load()?;
        let withdraw_reserve = accounts.withdraw_reserve.load()?;
        require!(
            repay_reserve.is_price_fresh(slot) && withdraw_reserve.is_price_fresh(slot),
            LendingError::ReserveStale
        );
        require!(obligation.is_fresh(slot), LendingError::ObligationStale);
        let values = obligation.values();
        require!(values.is_unhealthy(), LendingError::ObligationHealthy);
        let limits = accounts.lending_market.liquidation_limits(values.deposited_value, values.borrowed_value);
        let borrow_slot = obligation.find_borrow(&repay_key).ok_or(LendingError::BorrowNotFound)?;
        let deposit_index = obligation.find_deposit(&withdraw_key).ok_or(LendingError::DepositNotFound)?;
        let collateral = obligation.deposits[deposit_index];
        let unhealthy_for_secs = clock.unix_timestamp.saturating_sub(obligation.unhealthy_since);
        let bonus_bps = liquidation_bonus_bps(&withdraw_reserve.config, &values, unhealthy_for_secs);
        let plan = plan_liquidation(
            repay_amount,
            obligation.borrows[borrow_slot].borrowed_amount(),
            &repay_reserve,
            collateral.deposited_shares,
            collateral.market_value_wad.get(),
            bonus_bps,
            limits,
        )?;
        (plan, bonus_bps, borrow_slot, deposit_index)
    };
    accounts.repay_reserve.load_mut()?.repay(plan.repay_amount, plan.settled_debt)?;
    obligation.repay(borrow_slot, plan.settled_debt)?;
    let (protocol_fee, seized_amount, withdraw_decimals) = {
        let mut withdraw_reserve = accounts.withdraw_reserve.load_mut()?;
        let redeemed = withdraw_reserve.redeem(plan.seized_shares)?;
        let share_bps = accounts.lending_market.liquidation_protocol_share_bps as u64;
        let protocol_fee = protocol_share_of_bonus(redeemed, bonus_bps, share_bps).ok_or(LendingError::MathOverflow)?;
        if protocol_fee > 0 {
            withdraw_reserve.retain_protocol_fee(protocol_fee)?;
        }
        (protocol_fee, redeemed - protocol_fee, withdraw_reserve.liquidity_decimals)
    };
    obligation.withdraw_shares(deposit_index, plan.seized_shares)?;
    obligation.mark_stale();

    let (repay_decimals, repay_available) = {
        let repay_reserve = accounts.repay_reserve.load()?;
        (repay_reserve.liquidity_decimals, repay_reserve.available_amount)
    };
    pay_into_liquidity_vault(
        &accounts.repay_token_program,
        &accounts.source_liquidity,
        &accounts.repay_liquidity_mint,
        repay_decimals,
        &accounts.repay_liquidity_vault,
        &accounts.liquidator,
        plan.repay_amount,
        repay_available,
    )?;
    if seized_amount > 0 {
        let withdraw_available = accounts.withdraw_reserve.load()?.available_amount;
        pay_from_liquidity_vault(
            &accounts.withdraw_token_program,
            &accounts.withdraw_liquidity_vault,
            &accounts.withdraw_liquidity_mint,
            withdraw_decimals,
            &accounts.destination_liquidity,
            &accounts.market_authority,
            &accounts.lending_market,
            seized_amount,
            withdraw_available,
        )?;
    }
    emit!(Liquidated {
        obligation: accounts.obligation.key(),
        liquidator: accounts.liquidator.key(),
        repay_reserve: repay_key,
        withdraw_reserve: withdraw_key,
        repay_amount: plan.repay_amount,
        seized_collateral_shares: plan.seized_shares,
        seized_liquidity_amount: seized_amount,
        bonus_bps,
        protocol_fee,
    });
    Ok(())
}
