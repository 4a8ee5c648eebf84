//! Solvent: a cross-margin lending market. Instruction handlers are thin; the money logic lives
//! in `state` and `math` as pure functions that unit tests call natively.
use anchor_lang::prelude::*;

#[cfg(feature = "upstream-sbf")]
use solana_compiler_builtins as _;

pub mod errors;
pub mod events;
pub mod flash_loan;
pub mod instructions;
pub mod listing;
pub mod math;
pub mod oracle;
pub mod state;

use instructions::*;
use state::{Deleverage, DynamicMarginConfig, EmodeGroup, MarketPolicy, OrderParams, PendingChange, ReserveConfig, SoftZoneConfig};

declare_id!("H8d99JErLUz14gM7o4w41BtaXMY3o2pWrgygWyXCWMvb");

#[program]
pub mod solvent {
    use super::*;

    pub fn init_lending_market(
        ctx: Context<InitLendingMarket>,
        quote_currency: [u8; 32],
        oracle_program: Pubkey,
        policy: MarketPolicy,
        guardian: Pubkey,
    ) -> Result<()> {
        init_lending_market::handler(ctx, quote_currency, oracle_program, policy, guardian)
    }

    pub fn set_market_paused(ctx: Context<SetMarketPaused>, paused: bool) -> Result<()> {
        set_market_paused::handler(ctx, paused)
    }

    pub fn set_liquidation_limits(
        ctx: Context<SetLiquidationLimits>,
        liquidation_cap_value: u64,
        dust_value: u64,
        protocol_share_bps: u16,
    ) -> Result<()> {
        set_liquidation_limits::handler(ctx, liquidation_cap_value, dust_value, protocol_share_bps)
    }

    pub fn set_dynamic_margin(ctx: Context<SetDynamicMargin>, config: DynamicMarginConfig) -> Result<()> {
        set_dynamic_margin::handler(ctx, config)
    }

    pub fn set_emode_group(ctx: Context<SetEmodeGroup>, group: u8, params: EmodeGroup, debt_cap_value: u64) -> Result<()> {
        set_emode_group::handler(ctx, group, params, debt_cap_value)
    }

    pub fn init_reserve(ctx: Context<InitReserve>, config: ReserveConfig, oracle_source: u8, price_feed_id: [u8; 32]) -> Result<()> {
        init_reserve::handler(ctx, config, oracle_source, price_feed_id)
    }

    pub fn update_reserve_config(ctx: Context<UpdateReserveConfig>, config: ReserveConfig) -> Result<()> {
        update_reserve_config::handler(ctx, config)
    }

    pub fn refresh_reserve(ctx: Context<RefreshReserve>) -> Result<()> {
        refresh_reserve::handler(ctx)
    }

    pub fn init_obligation(ctx: Context<InitObligation>, obligation_id: u8) -> Result<()> {
        init_obligation::handler(ctx, obligation_id)
    }

    pub fn refresh_obligation<'info>(ctx: Context<'info, RefreshObligation<'info>>) -> Result<()> {
        refresh_obligation::handler(ctx)
    }

    pub fn set_obligation_emode<'info>(ctx: Context<'info, SetObligationEmode<'info>>, group: u8) -> Result<()> {
        set_obligation_emode::handler(ctx, group)
    }

    pub fn deposit(ctx: Context<Deposit>, amount: u64) -> Result<()> {
        deposit::handler(ctx, amount)
    }

    pub fn withdraw<'info>(ctx: Context<'info, Withdraw<'info>>, collateral_shares: u64) -> Result<()> {
        withdraw::handler(ctx, collateral_shares)
    }

    pub fn borrow<'info>(ctx: Context<'info, Borrow<'info>>, amount: u64) -> Result<()> {
        borrow::handler(ctx, amount)
    }

    pub fn repay<'info>(ctx: Context<'info, Repay<'info>>, amount: u64) -> Result<()> {
        repay::handler(ctx, amount)
    }

    pub fn liquidate<'info>(ctx: Context<'info, Liquidate<'info>>, repay_amount: u64) -> Result<()> {
        liquidate::handler(ctx, repay_amount)
    }

    pub fn set_obligation_order(ctx: Context<SetObligationOrder>, index: u8, params: OrderParams) -> Result<()> {
        obligation_orders::set_handler(ctx, index, params)
    }

    pub fn cancel_obligation_order(ctx: Context<CancelObligationOrder>, index: u8) -> Result<()> {
        obligation_orders::cancel_handler(ctx, index)
    }

    /// The owner's order `index`, triggered at this slot's refresh, executed by anyone: the
    /// liquidation's accounts and checks (`liquidate::execute`).
    pub fn execute_obligation_order<'info>(ctx: Context<'info, Liquidate<'info>>, index: u8, repay_amount: u64) -> Result<()> {
        liquidate::execute(ctx, repay_amount, Deleverage::Order(index as usize))
    }

    /// A small deleverage of an obligation in the collateral's soft-liquidation zone, by anyone:
    /// the liquidation's accounts and checks (`liquidate::execute`).
    pub fn soft_deleverage<'info>(ctx: Context<'info, Liquidate<'info>>, repay_amount: u64) -> Result<()> {
        liquidate::execute(ctx, repay_amount, Deleverage::Soft)
    }

    pub fn set_soft_zone(ctx: Context<SetDynamicMargin>, config: SoftZoneConfig) -> Result<()> {
        set_soft_zone::handler(ctx, config)
    }

    pub fn init_insurance_fund(ctx: Context<InitInsuranceFund>, unstake_cooldown_secs: u32, max_slash_bps: u16) -> Result<()> {
        insurance_fund::init_handler(ctx, unstake_cooldown_secs, max_slash_bps)
    }

    pub fn stake_insurance(ctx: Context<StakeInsurance>, amount: u64) -> Result<()> {
        insurance_fund::stake_handler(ctx, amount)
    }

    pub fn request_unstake(ctx: Context<RequestUnstake>, shares: u64) -> Result<()> {
        insurance_fund::request_handler(ctx, shares)
    }

    pub fn unstake(ctx: Context<Unstake>) -> Result<()> {
        insurance_fund::unstake_handler(ctx)
    }

    pub fn settle_insurance(ctx: Context<SettleInsurance>) -> Result<()> {
        insurance_fund::settle_handler(ctx)
    }

    pub fn deposit_reserve_liquidity(ctx: Context<DepositReserveLiquidity>, amount: u64) -> Result<()> {
        deposit_reserve_liquidity::handler(ctx, amount)
    }

    pub fn redeem_reserve_collateral(ctx: Context<RedeemReserveCollateral>, shares: u64) -> Result<()> {
        redeem_reserve_collateral::handler(ctx, shares)
    }

    pub fn flash_borrow(ctx: Context<FlashBorrow>, amount: u64) -> Result<()> {
        flash_borrow::handler(ctx, amount)
    }

    pub fn flash_repay(ctx: Context<FlashRepay>, amount: u64) -> Result<()> {
        flash_repay::handler(ctx, amount)
    }

    pub fn write_off_bad_debt<'info>(ctx: Context<'info, WriteOffBadDebt<'info>>) -> Result<()> {
        write_off_bad_debt::handler(ctx)
    }

    pub fn collect_protocol_fees(ctx: Context<CollectProtocolFees>) -> Result<()> {
        collect_protocol_fees::handler(ctx)
    }

    pub fn withdraw_protocol_fees(ctx: Context<WithdrawProtocolFees>, amount: u64) -> Result<()> {
        withdraw_protocol_fees::handler(ctx, amount)
    }

    pub fn set_reserve_pause(ctx: Context<SetReservePause>, actions: u8) -> Result<()> {
        crisis_controls::set_reserve_pause(ctx, actions)
    }

    pub fn set_market_policy(ctx: Context<SetMarketPolicy>, policy: MarketPolicy) -> Result<()> {
        crisis_controls::set_market_policy(ctx, policy)
    }

    pub fn queue_change(ctx: Context<QueueChange>, change: PendingChange) -> Result<()> {
        crisis_controls::queue_change(ctx, change)
    }

    pub fn execute_change(ctx: Context<ExecuteChange>) -> Result<()> {
        crisis_controls::execute_change(ctx)
    }

    pub fn cancel_change(ctx: Context<CancelChange>) -> Result<()> {
        crisis_controls::cancel_change(ctx)
    }

    pub fn accept_ownership(ctx: Context<AcceptOwnership>) -> Result<()> {
        crisis_controls::accept_ownership(ctx)
    }
}
