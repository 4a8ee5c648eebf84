//! Events for every state-changing instruction, with the amounts, for indexers and risk tools.
use anchor_lang::prelude::*;

#[event]
pub struct MarketInitialized {
    pub market: Pubkey,
    pub owner: Pubkey,
    pub oracle_program: Pubkey,
}

#[event]
pub struct MarketPauseSet {
    pub market: Pubkey,
    pub paused: bool,
}

#[event]
pub struct ReserveInitialized {
    pub market: Pubkey,
    pub reserve: Pubkey,
    pub liquidity_mint: Pubkey,
    pub oracle: Pubkey,
}

#[event]
pub struct ReserveConfigUpdated {
    pub reserve: Pubkey,
    pub loan_to_value_bps: u16,
    pub liquidation_threshold_bps: u16,
    pub liquidation_bonus_bps: u16,
}

#[event]
pub struct ReserveRefreshed {
    pub reserve: Pubkey,
    /// Quote value of one whole token, 18 decimals.
    pub price_wad: u128,
    pub cumulative_borrow_index_wad: u128,
    pub borrowed_amount_wad: u128,
}

#[event]
pub struct ObligationInitialized {
    pub market: Pubkey,
    pub obligation: Pubkey,
    pub owner: Pubkey,
}

#[event]
pub struct ObligationRefreshed {
    pub obligation: Pubkey,
    pub deposited_value_wad: u128,
    pub borrowed_value_wad: u128,
    pub allowed_borrow_value_wad: u128,
    pub unhealthy_borrow_value_wad: u128,
}

#[event]
pub struct Deposited {
    pub reserve: Pubkey,
    pub obligation: Pubkey,
    pub liquidity_amount: u64,
    pub collateral_shares: u64,
}

#[event]
pub struct Withdrawn {
    pub reserve: Pubkey,
    pub obligation: Pubkey,
    pub liquidity_amount: u64,
    pub collateral_shares: u64,
}

#[event]
pub struct Borrowed {
    pub reserve: Pubkey,
    pub obligation: Pubkey,
    /// Debt taken on; the borrower receives this minus `borrow_fee`.
    pub amount: u64,
    pub borrow_fee: u64,
}

#[event]
pub struct Repaid {
    pub reserve: Pubkey,
    pub obligation: Pubkey,
    pub repayer: Pubkey,
    pub amount: u64,
}

#[event]
pub struct Liquidated {
    pub obligation: Pubkey,
    pub liquidator: Pubkey,
    pub repay_reserve: Pubkey,
    pub withdraw_reserve: Pubkey,
    pub repay_amount: u64,
    /// Collateral shares taken from the obligation.
    pub seized_collateral_shares: u64,
    /// Liquidity tokens paid to the liquidator.
    pub seized_liquidity_amount: u64,
    /// Share tokens minted to the liquidator for what idle liquidity could not pay.
    pub paid_in_shares: u64,
    /// The bonus paid: the auction's, capped so the health factor cannot fall.
    pub bonus_bps: u64,
    /// The auction's bonus at this call, before that cap.
    pub auction_bonus_bps: u64,
    /// Of the seized liquidity, kept by the protocol as fees of the withdraw reserve.
    pub protocol_fee: u64,
    /// Collateral was below debt at the liquidation prices before the call (close-out).
    pub insolvent: bool,
}

#[event]
pub struct ProtocolFeesCollected {
    pub reserve: Pubkey,
    /// Tokens collected: to the fee vault, and of them to the insurance fund.
    pub amount: u64,
    pub to_insurance: u64,
}

#[event]
pub struct ProtocolFeesWithdrawn {
    pub reserve: Pubkey,
    pub destination: Pubkey,
    pub amount: u64,
}

/// Liquidity supplied for share tokens (lend-only, outside any obligation).
#[event]
pub struct ReserveLiquidityDeposited {
    pub reserve: Pubkey,
    pub depositor: Pubkey,
    pub liquidity_amount: u64,
    pub collateral_shares: u64,
}

#[event]
pub struct ReserveCollateralRedeemed {
    pub reserve: Pubkey,
    pub redeemer: Pubkey,
    pub liquidity_amount: u64,
    pub collateral_shares: u64,
}

#[event]
pub struct FlashBorrowed {
    pub reserve: Pubkey,
    pub amount: u64,
}

#[event]
pub struct FlashRepaid {
    pub reserve: Pubkey,
    pub amount: u64,
    /// Paid on top of `amount`; `protocol_fee` of it is the protocol's, the rest the depositors'.
    pub fee: u64,
    pub protocol_fee: u64,
}

#[event]
pub struct BadDebtWrittenOff {
    pub reserve: Pubkey,
    pub obligation: Pubkey,
    /// Debt removed, in base units (Wad, 18 decimals).
    pub debt_wad: u128,
    /// Of the loss, protocol fees forgone because the reserve could no longer cover them (Wad).
    pub protocol_fees_forgone_wad: u128,
    /// Tokens the insurance fund paid toward the debt (0 without a fund).
    pub paid_by_insurance: u64,
    /// Debt left on the depositors (Wad): what lowered their share price.
    pub borne_by_depositors_wad: u128,
}

#[event]
pub struct EmodeGroupSet {
    pub market: Pubkey,
    pub group: u8,
    pub loan_to_value_bps: u16,
    pub liquidation_threshold_bps: u16,
    pub liquidation_bonus_bps: u16,
    pub max_liquidation_bonus_bps: u16,
    /// The group's debt cap in whole quote units (0: none).
    pub debt_cap_value: u64,
}

/// An obligation entered e-mode group `group` (0: left e-mode), revalued with its weights.
#[event]
pub struct ObligationEmodeSet {
    pub obligation: Pubkey,
    pub group: u8,
    pub allowed_borrow_value_wad: u128,
    pub unhealthy_borrow_value_wad: u128,
}

#[event]
pub struct LiquidationLimitsSet {
    pub market: Pubkey,
    pub liquidation_cap_value: u64,
    pub dust_value: u64,
    pub protocol_share_bps: u16,
}

/// The reserve's spot price left its band around the EMA: new borrows and collateral
/// withdrawals against it halt until it returns.
#[event]
pub struct PriceHaltStarted {
    pub reserve: Pubkey,
    pub spot_mantissa: u64,
    pub ema_mantissa: u64,
    pub exponent: i32,
    pub price_band_bps: u16,
}

/// The spot price is back inside the band: borrowing and withdrawing resume.
#[event]
pub struct PriceHaltEnded {
    pub reserve: Pubkey,
    pub spot_mantissa: u64,
    pub ema_mantissa: u64,
    pub exponent: i32,
}

/// A reserve's dynamic-margin weights moved at a refresh (or were first computed).
#[event]
pub struct DynamicMarginUpdated {
    pub reserve: Pubkey,
    /// The volatility estimate, annualised, in bps.
    pub annual_sigma_bps: u64,
    /// The loan-to-value positions get (before a size premium), bps.
    pub loan_to_value_bps: u16,
    /// Of which the concentration scale, bps.
    pub concentration_bps: u16,
    /// The liquidation threshold positions get, bps, and where it is headed.
    pub liquidation_threshold_bps: u16,
    pub threshold_target_bps: u16,
}

/// The owner set a reserve's dynamic-margin settings.
#[event]
pub struct DynamicMarginSet {
    pub reserve: Pubkey,
    pub flags: u8,
}

/// The owner set an order on an obligation (`set_obligation_order`), replacing any in the slot.
#[event]
pub struct ObligationOrderSet {
    pub obligation: Pubkey,
    pub index: u8,
    pub trigger: u8,
    pub threshold_wad: u128,
    pub repay_reserve: Pubkey,
    pub withdraw_reserve: Pubkey,
    pub max_repay_bps: u16,
    pub max_bonus_bps: u16,
    pub bonus_ramp_secs: u32,
}

/// The owner cancelled an order.
#[event]
pub struct ObligationOrderCancelled {
    pub obligation: Pubkey,
    pub index: u8,
}

/// `Deleveraged::kind`: an owner's order was executed.
pub const DELEVERAGE_ORDER: u8 = 1;
/// `Deleveraged::kind`: a soft-zone deleverage.
pub const DELEVERAGE_SOFT: u8 = 2;

/// An order was executed or an obligation in its soft zone deleveraged: part of a debt repaid
/// by `executor` for collateral at a small bonus.
#[event]
pub struct Deleveraged {
    pub obligation: Pubkey,
    pub executor: Pubkey,
    /// `DELEVERAGE_ORDER` or `DELEVERAGE_SOFT`.
    pub kind: u8,
    /// The order's slot (0 for a soft call).
    pub order_index: u8,
    pub repay_reserve: Pubkey,
    pub withdraw_reserve: Pubkey,
    pub repay_amount: u64,
    pub seized_collateral_shares: u64,
    pub seized_liquidity_amount: u64,
    pub paid_in_shares: u64,
    /// The bonus paid (the ramp's, capped so the health factor cannot fall).
    pub bonus_bps: u64,
    /// The ramp's bonus at this call, before that cap.
    pub auction_bonus_bps: u64,
    /// The order was used up (its debt or its collateral is gone) and its slot cleared.
    pub order_closed: bool,
}

/// The owner set a reserve's soft-liquidation zone.
#[event]
pub struct SoftZoneSet {
    pub reserve: Pubkey,
    pub enabled: bool,
    pub start_bps: u16,
    pub max_repay_bps: u16,
    pub max_bonus_bps: u16,
}

/// The owner created a reserve's insurance fund.
#[event]
pub struct InsuranceFundCreated {
    pub reserve: Pubkey,
    pub fund: Pubkey,
    pub unstake_cooldown_secs: u32,
    pub max_slash_bps: u16,
}

#[event]
pub struct InsuranceStaked {
    pub fund: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
    pub shares: u64,
}

#[event]
pub struct InsuranceUnstakeRequested {
    pub fund: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    /// Unix time from which `unstake` pays.
    pub available_at: i64,
}

#[event]
pub struct InsuranceUnstaked {
    pub fund: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    pub amount: u64,
}

/// The fund's payment toward written-off debt moved into the reserve's liquidity vault.
#[event]
pub struct InsuranceSettled {
    pub reserve: Pubkey,
    pub fund: Pubkey,
    pub amount: u64,
}

/// A change was queued behind the market's timelock.
#[event]
pub struct ChangeQueued {
    pub market: Pubkey,
    pub change: Pubkey,
    pub id: u64,
    /// `PendingChange::kind`.
    pub kind: u8,
    pub target: Pubkey,
    /// Executable by anyone from this Unix time.
    pub eta: i64,
}

#[event]
pub struct ChangeExecuted {
    pub market: Pubkey,
    pub change: Pubkey,
    pub id: u64,
    pub kind: u8,
    pub target: Pubkey,
    pub executor: Pubkey,
}

#[event]
pub struct ChangeCancelled {
    pub market: Pubkey,
    pub change: Pubkey,
    pub id: u64,
    pub kind: u8,
}

/// The reserve's paused actions changed (a pause by the owner or the guardian, or a lift).
#[event]
pub struct ReservePauseSet {
    pub reserve: Pubkey,
    /// `ACTION_*` bits paused by the owner.
    pub owner_paused: u8,
    /// `ACTION_*` bits paused by the guardian, until `guardian_pause_until`.
    pub guardian_paused: u8,
    pub guardian_pause_until: i64,
    /// Liquidations are paused until then.
    pub liquidation_pause_until: i64,
    pub by_guardian: bool,
}

#[event]
pub struct MarketPolicySet {
    pub market: Pubkey,
    pub timelock_secs: u32,
    pub guardian_pause_secs: u32,
    pub listing_ramp_secs: u32,
    pub max_risk_step_bps: u16,
}

#[event]
pub struct GuardianSet {
    pub market: Pubkey,
    pub guardian: Pubkey,
}

/// A matured ownership change named `pending_owner`.
#[event]
pub struct OwnershipProposed {
    pub market: Pubkey,
    pub owner: Pubkey,
    pub pending_owner: Pubkey,
}

#[event]
pub struct OwnershipAccepted {
    pub market: Pubkey,
    pub previous_owner: Pubkey,
    pub owner: Pubkey,
}
