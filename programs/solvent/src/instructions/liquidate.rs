use super::token::{is_spendable_by, is_token_account_of, mint_shares, pay_from_liquidity_vault, pay_into_liquidity_vault};
use crate::errors::LendingError;
use super::refresh_obligation::check_refresh_current;
use super::debt_counters::release_debt;
use crate::events::{Deleveraged, Liquidated, DELEVERAGE_ORDER, DELEVERAGE_SOFT};
use crate::flash_loan::{require_no_open_flash_loan, INSTRUCTIONS_SYSVAR_ID};
use crate::state::{advance_clock, quote_deleverage, ACTION_LIQUIDATE, ACTION_WITHDRAW, soft_interval_mark, values_after_liquidation, Deleverage, LendingMarket, LiquidationRequest, Obligation, ObligationOrder, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

#[derive(Accounts)]
pub struct Liquidate<'info> {
    /// No pause check: liquidation removes risk, so it runs while the market is paused (see
    /// the README's pause semantics).
    pub lending_market: Account<'info, LendingMarket>,
    #[account(mut, has_one = lending_market @ LendingError::InvalidMarket)]
    pub obligation: AccountLoader<'info, Obligation>,
    pub liquidator: Signer<'info>,
    #[account(
        mut,
        constraint = {
            repay_reserve.load()?.check_accounts(
                Some(&lending_market.key()),
                &repay_liquidity_mint.key(),
                &repay_liquidity_vault.key(),
                &repay_token_program.key(),
            )?;
            true
        }
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
        constraint = is_token_account_of(&source_liquidity, &repay_liquidity_mint.key(), &repay_token_program.key()) @ LendingError::InvalidLiquidityMint,
        constraint = is_spendable_by(&source_liquidity, &liquidator.key()) @ LendingError::InvalidSourceAuthority
    )]
    pub source_liquidity: UncheckedAccount<'info>,
    #[account(
        mut,
        constraint = {
            withdraw_reserve.load()?.check_accounts(
                Some(&lending_market.key()),
                &withdraw_liquidity_mint.key(),
                &withdraw_liquidity_vault.key(),
                &withdraw_token_program.key(),
            )?;
            true
        }
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
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub repay_token_program: Interface<'info, TokenInterface>,
    pub withdraw_token_program: Interface<'info, TokenInterface>,
    /// CHECK: the instructions sysvar, by address: liquidation is refused while a flash loan is open.
    #[account(address = INSTRUCTIONS_SYSVAR_ID @ LendingError::InvalidInstructionsSysvar)]
    pub instructions_sysvar: UncheckedAccount<'info>,
    /// CHECK: optional, with `destination_collateral`: the withdraw reserve's share mint, by key.
    /// Passing both lets the liquidation pay in share tokens what idle liquidity cannot.
    #[account(mut, address = withdraw_reserve.load()?.collateral_mint @ LendingError::InvalidCollateralMint)]
    pub withdraw_collateral_mint: Option<UncheckedAccount<'info>>,
    /// CHECK: optional: the liquidator's token account of the withdraw reserve's share mint.
    #[account(
        mut,
        constraint = is_token_account_of(destination_collateral, &withdraw_reserve.load()?.collateral_mint, &withdraw_token_program.key())
            @ LendingError::InvalidCollateralAccount
    )]
    pub destination_collateral: Option<UncheckedAccount<'info>>,
}

/// Repays up to `repay_amount` of an unhealthy obligation's debt in `repay_reserve` and receives
/// collateral from `withdraw_reserve`, sized by `quote_liquidation` (close factor, per-call cap,
/// auction bonus capped so health cannot fall, both legs at the liquidation prices). The
/// collateral comes as tokens while the reserve's idle liquidity lasts and, when the optional
/// share accounts are passed, the rest as share tokens (`InsufficientLiquidity` without them).
/// The remaining accounts are the obligation's position reserves in order, none changed since its
/// refresh; debt counted against a cap releases its share of it (the isolated reserve is then
/// the withdraw reserve or a writable remaining account, the e-mode group's debt account a
/// writable remaining account after the positions). Afterwards
/// the obligation's health factor at the liquidation prices must not have fallen
/// (`LiquidationLoweredHealth`), unless it was insolvent before the call.
pub fn handler<'info>(ctx: Context<'info, Liquidate<'info>>, repay_amount: u64) -> Result<()> {
    execute(ctx, repay_amount, Deleverage::Liquidation)
}

/// `execute_obligation_order` (`Deleverage::Order`) and `soft_deleverage` (`Deleverage::Soft`):
/// the liquidation's accounts, checks and execution, sized by `quote_deleverage` for the order
/// or the soft zone (see `state::deleverage`). A call moves its bonus clock toward now by the
/// share of its allowance it repaid (`advance_clock`: the whole share restarts the auction from
/// 0) and a soft call blocks the next for that share of the interval (`soft_interval_mark`);
/// an order's slot is cleared once its debt or its collateral is gone.
pub fn execute<'info>(ctx: Context<'info, Liquidate<'info>>, repay_amount: u64, mode: Deleverage) -> Result<()> {
    require!(repay_amount > 0, LendingError::ZeroAmount);
    let accounts = ctx.accounts;
    let clock = Clock::get()?;
    let slot = clock.slot;
    let (repay_key, withdraw_key) = (accounts.repay_reserve.key(), accounts.withdraw_reserve.key());
    let share_accounts = match (&accounts.withdraw_collateral_mint, &accounts.destination_collateral) {
        (Some(mint), Some(destination)) => Some((mint, destination)),
        (None, None) => None,
        _ => return err!(LendingError::InvalidCollateralAccount),
    };
    let mut obligation = accounts.obligation.load_mut()?;
    require_keys_neq!(obligation.owner, accounts.liquidator.key(), LendingError::SelfLiquidation);
    require_no_open_flash_loan(&accounts.instructions_sysvar, &accounts.lending_market.key())?;
    // Repay and withdraw reserves may be one account (an obligation borrowing the asset it
    // deposits): read both, then write each in turn, never holding two borrows of one account.
    let (quote, borrow_slot, deposit_index) = {
        let repay_reserve = accounts.repay_reserve.load()?;
        let withdraw_reserve = accounts.withdraw_reserve.load()?;
        require!(
            repay_reserve.is_price_fresh(slot) && withdraw_reserve.is_price_fresh(slot),
            LendingError::ReserveStale
        );
        require!(obligation.is_fresh(slot), LendingError::ObligationStale);
        repay_reserve.check_action(ACTION_LIQUIDATE, clock.unix_timestamp)?;
        withdraw_reserve.check_action(ACTION_LIQUIDATE, clock.unix_timestamp)?;
        check_refresh_current(accounts.lending_market.as_ref(), &obligation, ctx.remaining_accounts)?;
        let borrow_slot = obligation.find_borrow(&repay_key).ok_or(LendingError::BorrowNotFound)?;
        let deposit_index = obligation.find_deposit(&withdraw_key).ok_or(LendingError::DepositNotFound)?;
        let request = LiquidationRequest {
            borrow_slot,
            deposit_index,
            max_repay: repay_amount,
            now: clock.unix_timestamp,
            accept_shares: share_accounts.is_some(),
            same_reserve: repay_key == withdraw_key,
        };
        let quote = quote_deleverage(&accounts.lending_market, &obligation, &repay_reserve, &withdraw_reserve, request, mode)?;
        (quote, borrow_slot, deposit_index)
    };
    let (plan, payout) = (quote.plan, quote.payout);
    let debt_settled_whole = plan.settled_debt == obligation.borrows[borrow_slot].borrowed_amount();
    let collateral_taken_whole = plan.seized_shares == obligation.deposits[deposit_index].deposited_shares;
    accounts.repay_reserve.load_mut()?.repay(plan.repay_amount, plan.settled_debt)?;
    let released = obligation.repay(borrow_slot, plan.settled_debt)?;
    // The isolated reserve is normally the one seized from (isolated collateral is held alone).
    let released_here = released.isolation != 0 && obligation.isolation_reserve == withdraw_key;
    let protocol_fee = {
        let mut withdraw_reserve = accounts.withdraw_reserve.load_mut()?;
        if released_here {
            withdraw_reserve.release_isolated_debt(released.isolation)?;
        }
        if !matches!(mode, Deleverage::Liquidation) && payout.tokens > 0 {
            // An order or a soft call pays collateral out as a withdrawal does (its owner can
            // run it from a second key): the withdraw pause and the outflow limit apply to the
            // tokens it pays (shares paid instead move no liquidity).
            withdraw_reserve.check_action(ACTION_WITHDRAW, clock.unix_timestamp)?;
            withdraw_reserve.record_outflow(payout.tokens, clock.unix_timestamp)?;
        }
        withdraw_reserve.settle_seizure(payout.redeemed_shares, payout.redeemed_amount, payout.tokens)?
    };
    release_debt(ctx.remaining_accounts, &obligation.isolation_reserve, &obligation.lending_market, obligation.emode_group, released, released_here)?;
    obligation.withdraw_shares(deposit_index, plan.seized_shares)?;
    let after = values_after_liquidation(&quote.values_before, &quote, collateral_taken_whole, debt_settled_whole)?;
    obligation.store_liquidation_sums(&after);
    let now = clock.unix_timestamp;
    let order_closed = match mode {
        Deleverage::Liquidation => false,
        Deleverage::Order(index) => {
            let closed = debt_settled_whole || collateral_taken_whole;
            let order = &mut obligation.orders[index];
            if closed {
                *order = ObligationOrder::default();
            } else {
                order.triggered_since = advance_clock(order.triggered_since, now, plan.repay_amount, quote.deleverage_share);
            }
            closed
        }
        Deleverage::Soft => {
            let interval = accounts.withdraw_reserve.load()?.soft_zone.min_interval_secs;
            obligation.last_soft_deleverage = soft_interval_mark(now, interval, plan.repay_amount, quote.deleverage_share);
            obligation.soft_zone_since = advance_clock(obligation.soft_zone_since, now, plan.repay_amount, quote.deleverage_share);
            false
        }
    };
    obligation.mark_stale();
    drop(obligation);

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
    let (withdraw_decimals, withdraw_available) = {
        let withdraw_reserve = accounts.withdraw_reserve.load()?;
        (withdraw_reserve.liquidity_decimals, withdraw_reserve.available_amount)
    };
    if payout.tokens > 0 {
        pay_from_liquidity_vault(
            &accounts.withdraw_token_program,
            &accounts.withdraw_liquidity_vault,
            &accounts.withdraw_liquidity_mint,
            withdraw_decimals,
            &accounts.destination_liquidity,
            &accounts.market_authority,
            &accounts.lending_market,
            payout.tokens,
            withdraw_available,
        )?;
    }
    if let (Some((mint, destination)), true) = (share_accounts, payout.shares > 0) {
        mint_shares(
            &accounts.withdraw_token_program,
            mint,
            destination,
            &accounts.market_authority,
            &accounts.lending_market,
            payout.shares,
        )?;
    }
    if let Deleverage::Order(_) | Deleverage::Soft = mode {
        emit!(Deleveraged {
            obligation: accounts.obligation.key(),
            executor: accounts.liquidator.key(),
            kind: if mode == Deleverage::Soft { DELEVERAGE_SOFT } else { DELEVERAGE_ORDER },
            order_index: if let Deleverage::Order(index) = mode { index as u8 } else { 0 },
            repay_reserve: repay_key,
            withdraw_reserve: withdraw_key,
            repay_amount: plan.repay_amount,
            seized_collateral_shares: plan.seized_shares,
            seized_liquidity_amount: payout.tokens,
            paid_in_shares: payout.shares,
            bonus_bps: quote.bonus_bps,
            auction_bonus_bps: quote.auction_bonus_bps,
            order_closed,
        });
        return Ok(());
    }
    emit!(Liquidated {
        obligation: accounts.obligation.key(),
        liquidator: accounts.liquidator.key(),
        repay_reserve: repay_key,
        withdraw_reserve: withdraw_key,
        repay_amount: plan.repay_amount,
        seized_collateral_shares: plan.seized_shares,
        seized_liquidity_amount: payout.tokens,
        paid_in_shares: payout.shares,
        bonus_bps: quote.bonus_bps,
        auction_bonus_bps: quote.auction_bonus_bps,
        protocol_fee,
        insolvent: quote.insolvent,
    });
    Ok(())
}

