use anchor_lang::prelude::*;

/// Every rejection the program makes has its own code, so clients and tests can tell them apart.
#[error_code]
#[derive(PartialEq, Eq)]
pub enum LendingError {
    #[msg("Arithmetic overflow or division by zero")]
    MathOverflow,
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("The lending market is paused")]
    MarketPaused,
    #[msg("Signer is not the lending market owner")]
    InvalidMarketOwner,
    #[msg("Account belongs to a different lending market")]
    InvalidMarket,
    #[msg("Reserve account is not the one expected")]
    InvalidReserve,
    #[msg("Token mint does not match the reserve's liquidity mint")]
    InvalidLiquidityMint,
    #[msg("Vault is not the reserve's liquidity vault")]
    InvalidLiquidityVault,
    #[msg("Oracle account is not the one recorded on the reserve")]
    InvalidOracleAccount,
    #[msg("Oracle account is not owned by the market's oracle program")]
    InvalidOracleOwner,
    #[msg("Oracle account data is not a Pyth price account")]
    InvalidOracleData,
    #[msg("Oracle price is older than the reserve allows")]
    OraclePriceStale,
    #[msg("Oracle price is zero or negative")]
    OraclePriceNotPositive,
    #[msg("Oracle confidence interval is too wide relative to the price")]
    OraclePriceTooUncertain,
    #[msg("Oracle price status is not trading")]
    OraclePriceNotTrading,
    #[msg("Oracle exponent is outside the supported range")]
    OracleExponentOutOfRange,
    #[msg("Reserve must be refreshed in this slot first")]
    ReserveStale,
    #[msg("Obligation must be refreshed in this slot first")]
    ObligationStale,
    #[msg("Loan-to-value must be below the liquidation threshold")]
    InvalidLoanToValue,
    #[msg("Liquidation threshold must be above loan-to-value and at most 100%")]
    InvalidLiquidationThreshold,
    #[msg("Liquidation bonus too large: a liquidation could make the position less healthy")]
    InvalidLiquidationBonus,
    #[msg("Close factor must be between 0 and 100%")]
    InvalidCloseFactor,
    #[msg("Fee rate out of range")]
    InvalidFee,
    #[msg("Interest rate curve must start at 0%, end at 100% utilization and not decrease")]
    InvalidRateCurve,
    #[msg("Oracle limits out of range (max age must be positive, confidence at most 100%)")]
    InvalidOracleConfig,
    #[msg("Token decimals above 18 are not supported")]
    InvalidTokenDecimals,
    #[msg("Deposit would exceed the reserve's deposit limit")]
    DepositLimitExceeded,
    #[msg("Borrow would exceed the reserve's borrow limit")]
    BorrowLimitExceeded,
    #[msg("Reserve does not have enough available liquidity")]
    InsufficientLiquidity,
    #[msg("Borrow would exceed the obligation's allowed borrow value")]
    BorrowTooLarge,
    #[msg("Withdrawal would leave borrowed value above the allowed borrow value")]
    WithdrawTooLarge,
    #[msg("Obligation does not have that much collateral in this reserve")]
    InsufficientCollateral,
    #[msg("Obligation is healthy and cannot be liquidated")]
    ObligationHealthy,
    #[msg("Obligation has no free deposit slot")]
    ObligationDepositsFull,
    #[msg("Obligation has no free borrow slot")]
    ObligationBorrowsFull,
    #[msg("Obligation has no deposit in this reserve")]
    DepositNotFound,
    #[msg("Obligation has no borrow in this reserve")]
    BorrowNotFound,
    #[msg("Signer is not the obligation owner")]
    InvalidObligationOwner,
    #[msg("Accounts passed to refresh do not match the obligation's positions")]
    ObligationReservesMismatch,
    #[msg("Vault balance does not match the reserve's recorded liquidity")]
    VaultBalanceMismatch,
    #[msg("Liquidation amount too small to seize any collateral")]
    LiquidationTooSmall,
    #[msg("A borrower cannot liquidate their own obligation")]
    SelfLiquidation,
    #[msg("Fee vault is not the reserve's fee vault")]
    InvalidFeeVault,
    #[msg("Mint is not the reserve's collateral (share) mint")]
    InvalidCollateralMint,
    #[msg("Flash loans must be called as top-level instructions, not by CPI")]
    FlashLoanCpi,
    #[msg("A flash loan is already open on this reserve or in this transaction (no nesting)")]
    FlashLoanNested,
    #[msg("Flash borrow has no matching flash repay later in the transaction")]
    FlashRepayMissing,
    #[msg("The next flash repay in the transaction is for another reserve")]
    FlashRepayReserveMismatch,
    #[msg("Flash repay amount differs from the amount flash-borrowed")]
    FlashRepayAmountMismatch,
    #[msg("Flash repay without an open flash loan on this reserve")]
    FlashRepayWithoutBorrow,
    #[msg("Not allowed while a flash loan is open on this market in the transaction")]
    FlashLoanActive,
    #[msg("Account is not the instructions sysvar")]
    InvalidInstructionsSysvar,
    #[msg("Obligation still holds collateral: liquidate it first; only debt with nothing behind it is written off")]
    ObligationHasCollateral,
    #[msg("Oracle source must be 0 (Pyth legacy price account) or 1 (Pyth pull-oracle PriceUpdateV2)")]
    InvalidOracleSource,
    #[msg("Price update is for another feed than the one the reserve is pinned to")]
    OracleFeedMismatch,
    #[msg("Price update is only partially verified (not all Wormhole guardian signatures checked)")]
    OracleNotFullyVerified,
    #[msg("Price is outside the reserve's band around its EMA: new borrows and collateral withdrawals are halted")]
    PriceCircuitBreakerTripped,
    #[msg("Seizing this collateral would lower the health factor even without a bonus: liquidate a collateral with a lower liquidation threshold")]
    LiquidationWouldLowerHealth,
    #[msg("The liquidation would have lowered the obligation's health factor")]
    LiquidationLoweredHealth,
    #[msg("The first deposit into an empty reserve must exceed the 1,000 base units left to nobody")]
    FirstDepositTooSmall,
    #[msg("The reserve's depositors' claim is zero (its debt was written off): it takes no deposits")]
    ReserveValueWipedOut,
    #[msg("Destination collateral account is not a token account of the reserve's share mint")]
    InvalidCollateralAccount,
    #[msg("Oracle EMA confidence interval is too wide relative to the EMA price")]
    OracleEmaTooUncertain,
    #[msg("Token-2022 mint has a transfer fee: the vault would receive less than booked")]
    MintTransferFee,
    #[msg("Token-2022 mint has a transfer hook: another program could refuse vault transfers")]
    MintTransferHook,
    #[msg("Token-2022 mint has a permanent delegate: a third party could move vault tokens")]
    MintPermanentDelegate,
    #[msg("Token-2022 mint is non-transferable")]
    MintNonTransferable,
    #[msg("Token-2022 mint has confidential transfers: balances the program cannot read")]
    MintConfidentialTransfer,
    #[msg("Token-2022 mint freezes new token accounts by default")]
    MintDefaultFrozen,
    #[msg("Token-2022 mint has a close authority: the mint could be closed and re-created")]
    MintCloseAuthority,
    #[msg("Token-2022 mint has an extension outside the listing allowlist (metadata pointer, token metadata)")]
    MintExtensionNotAllowed,
    #[msg("Token program is not the one the reserve's mint belongs to")]
    InvalidTokenProgram,
    #[msg("Account is not the market's authority PDA")]
    InvalidMarketAuthority,
    #[msg("Signer is neither the owner nor the delegate of the source token account")]
    InvalidSourceAuthority,
    #[msg("A reserve of the obligation was refreshed again, written off or reconfigured since refresh_obligation: refresh the obligation again")]
    ReserveChangedSinceRefresh,
    #[msg("Reserve config has unknown risk flags")]
    InvalidRiskFlags,
    #[msg("Isolated collateral is held alone, not with other collateral nor added to an obligation already owing debt: open another obligation (another obligation id) for it")]
    IsolatedCollateralMixed,
    #[msg("An obligation with isolated collateral borrows only reserves flagged borrowable in isolation")]
    NotBorrowableInIsolation,
    #[msg("Siloed debt cannot be borrowed with any other debt: open another obligation (another obligation id) for it")]
    SiloedDebtMixed,
    #[msg("Deposit would exceed the reserve's deposit cap in quote value")]
    DepositValueCapExceeded,
    #[msg("Borrow would exceed the reserve's borrow cap in quote value")]
    BorrowValueCapExceeded,
    #[msg("Borrow weight must be 0 (100%) or from 100% to 500%")]
    InvalidBorrowWeight,
    #[msg("E-mode group must be 1 to 8 (0 leaves e-mode), and enabled to be entered")]
    InvalidEmodeGroup,
    #[msg("E-mode group liquidation threshold must be above 0 and at most 100%")]
    InvalidEmodeLiquidationThreshold,
    #[msg("E-mode group loan-to-value must be below its liquidation threshold")]
    InvalidEmodeLoanToValue,
    #[msg("E-mode group liquidation threshold x (1 + bonus) must be at most 100%, for the bonus and for the auction's maximum, which is not below the bonus")]
    InvalidEmodeLiquidationBonus,
    #[msg("The obligation's e-mode group does not include this reserve: leave the group first, or use another obligation")]
    NotInEmodeGroup,
    #[msg("The obligation would exceed its borrowing power under the new e-mode weights (to leave a group, be healthy under the assets' own weights): repay or add collateral first")]
    EmodeChangeUnhealthy,
    #[msg("The obligation's e-mode group was reconfigured since refresh_obligation: refresh the obligation again")]
    EmodeGroupChangedSinceRefresh,
    #[msg("Isolated collateral needs an isolation debt ceiling above 0, and cannot itself be borrowable in isolation")]
    InvalidIsolationDebtCeiling,
    #[msg("Borrow would exceed the isolated collateral's debt ceiling in quote value")]
    IsolationDebtCeilingExceeded,
    #[msg("The obligation's isolated collateral reserve must be passed writable (borrow, liquidate: among the position reserves; repay, write-off: as a remaining account)")]
    IsolationReserveRequired,
    #[msg("Borrow (or entering the group with this debt) would exceed the e-mode group's debt cap in quote value")]
    EmodeDebtCapExceeded,
    #[msg("The e-mode group's debt account (PDA [\"emode_debt\", market, group]) must be passed writable, after the position reserves")]
    EmodeGroupDebtRequired,
    #[msg("Dynamic margin settings out of range (unknown part; sample interval, half-life, horizon, z, threshold drop rate, hysteresis; size depth and premium below the LTV; concentration limit)")]
    InvalidDynamicMargin,
    #[msg("Obligation order out of range (trigger kind and level: a health factor above 1 and at most 100, a price or ratio above 0; repay share 1..=100%; bonus ramp 1 second..=7 days; order slot 0 or 1)")]
    InvalidObligationOrder,
    #[msg("Order bonus must be below the collateral's liquidation bonus")]
    OrderBonusTooHigh,
    #[msg("No order in that slot")]
    OrderNotFound,
    #[msg("The order's trigger does not hold at the last refresh")]
    OrderNotTriggered,
    #[msg("The reserves passed are not the order's debt and collateral")]
    OrderReserveMismatch,
    #[msg("Obligation is insolvent: only a liquidation may close it")]
    ObligationInsolvent,
    #[msg("Obligation is liquidatable: use liquidate")]
    ObligationUnhealthy,
    #[msg("The collateral reserve has no soft-liquidation zone")]
    SoftZoneDisabled,
    #[msg("Obligation is not in the collateral's soft-liquidation zone")]
    NotInSoftZone,
    #[msg("A soft deleverage of this obligation ran too recently")]
    SoftDeleverageTooSoon,
    #[msg("Soft-liquidation zone settings out of range (start below 100%; repay share 1..=25% of a debt; bonus at most 2% and below the liquidation bonus; ramp and interval 1 second..=1 day)")]
    InvalidSoftZone,
    #[msg("Insurance fund settings out of range (unstake cooldown 1 hour..=90 days; slashing cap above 0 and at most 100%) or the insurance share above 100%")]
    InvalidInsuranceFund,
    #[msg("The reserve has an insurance fund: pass its fund and vault")]
    InsuranceFundRequired,
    #[msg("Account is not the reserve's insurance fund or its vault")]
    InvalidInsuranceFundAccount,
    #[msg("Stake too small: it buys no insurance share")]
    StakeTooSmall,
    #[msg("Unstake more than staked")]
    InsufficientStake,
    #[msg("No unstake requested")]
    NoUnstakeRequested,
    #[msg("The unstake cooldown has not run yet")]
    UnstakeCooldownActive,
    #[msg("The unstake request lapsed (past its window after the cooldown): request again")]
    UnstakeWindowLapsed,
    #[msg("The reserve's outflow limit is reached: the log line says how much is available now and when the limit is full again")]
    OutflowLimitExceeded,
    #[msg("Outflow limit out of range (a share of 1..=100% per window of 1 second..=7 days, or all zero: off)")]
    InvalidOutflowLimit,
    #[msg("This action is paused on the reserve")]
    ActionPaused,
    #[msg("Pause mask must name at least one action and only known ones")]
    InvalidPauseMask,
    #[msg("Signer is neither the market's owner nor its guardian")]
    NotOwnerOrGuardian,
    #[msg("The guardian may only pause, and lower the loan-to-value, the borrow caps and the isolation ceiling")]
    GuardianCannotLoosen,
    #[msg("This change loosens risk or moves value between users: queue it (queue_change) and execute it after the market's timelock")]
    ChangeNeedsTimelock,
    #[msg("The change moves the loan-to-value or the liquidation threshold by more than the market's step")]
    RiskStepTooLarge,
    #[msg("Market policy out of range (timelock at most 30 days, guardian pause 1 second..=7 days with a guardian, listing ramp at most 90 days, step at most 100%)")]
    InvalidMarketPolicy,
    #[msg("The queued change's timelock has not run yet: the log line says when it may run")]
    TimelockNotElapsed,
    #[msg("The queued change expired (past its grace period): queue it again")]
    ChangeExpired,
    #[msg("The accounts passed do not match the queued change (its target reserve or e-mode debt account)")]
    InvalidQueuedChange,
    #[msg("Signer is not the market's pending owner")]
    NotPendingOwner,
    #[msg("The queued change no longer applies: its reserve's settings or the market's owner changed since it was queued; queue it again")]
    ChangeStale,
    #[msg("An expiring pause (the guardian's, or a liquidation pause) cannot start again until as long as it lasts has passed since the last one expired")]
    GuardianPauseCooldown,
    #[msg("Pausing liquidations needs a policy whose guardian_pause_secs is above 0: a liquidation pause always expires")]
    LiquidationPauseNeedsExpiry,
    #[msg("Under a listing ramp, a new reserve needs a deposit value cap (and a borrow value cap if it can be borrowed)")]
    ListingNeedsValueCaps,
    #[msg("Under a timelock a new reserve is listed at LTV 0 and outside e-mode groups: give it borrowing power through the timelock")]
    ListingNeedsZeroLtv,
}

/// What a client should do about an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// State moved under the transaction (a price, a slot, an account changed): rebuild it with a
    /// fresh refresh sequence and send again.
    RefreshAndRetry,
    /// The request itself is wrong (amount, accounts, signer, limits of this position): fix it.
    UserError,
    /// The market does not allow it now (liquidity, caps, pause, circuit breaker, an oracle that
    /// cannot be used): wait, or act elsewhere.
    MarketCondition,
    /// A configuration or arithmetic fault that retrying cannot cure: report it.
    Fatal,
}

impl LendingError {
    /// The last variant. New errors go after it and this names the new last one
    /// (`solvent-client`'s tests check it against the IDL).
    pub const LAST: LendingError = LendingError::ListingNeedsZeroLtv;

    /// The error of a custom program error code (Anchor's offset 6000 included).
    pub fn from_code(code: u32) -> Option<LendingError> {
        let offset = code.checked_sub(anchor_lang::error::ERROR_CODE_OFFSET)?;
        if offset > Self::LAST as u32 {
            return None;
        }
        // SAFETY: Anchor's `error_code` makes the enum `#[repr(u32)]` and fieldless, with
        // consecutive discriminants from 0; `offset` is at most the last one.
        Some(unsafe { core::mem::transmute::<u32, LendingError>(offset) })
    }

    /// The class of this error (exported to TypeScript as `errorClass`).
    pub fn class(&self) -> ErrorClass {
        use LendingError::*;
        match self {
            // A stale pull-oracle price clears once the client posts a fresh update; a stale
            // legacy one only when its publisher does.
            ReserveStale | ObligationStale | ReserveChangedSinceRefresh | EmodeGroupChangedSinceRefresh | ObligationReservesMismatch
            | OraclePriceStale => {
                ErrorClass::RefreshAndRetry
            }
            MarketPaused | InsufficientLiquidity | DepositLimitExceeded | BorrowLimitExceeded | DepositValueCapExceeded
            | BorrowValueCapExceeded | IsolationDebtCeilingExceeded | EmodeDebtCapExceeded | PriceCircuitBreakerTripped
            | OraclePriceNotPositive | OraclePriceTooUncertain | OracleEmaTooUncertain | OraclePriceNotTrading
            | OracleNotFullyVerified | ObligationHealthy | ReserveValueWipedOut | OrderNotTriggered | ObligationInsolvent
            | ObligationUnhealthy | NotInSoftZone | SoftDeleverageTooSoon | UnstakeCooldownActive | OutflowLimitExceeded | ActionPaused
            | TimelockNotElapsed | GuardianPauseCooldown => ErrorClass::MarketCondition,
            MathOverflow | OracleExponentOutOfRange | InvalidOracleData | VaultBalanceMismatch => ErrorClass::Fatal,
            _ => ErrorClass::UserError,
        }
    }

    /// The oracle could not be used (stale, uncertain, not trading, malformed, unverified).
    pub fn is_oracle_error(&self) -> bool {
        use LendingError::*;
        matches!(
            self,
            InvalidOracleAccount | InvalidOracleOwner | InvalidOracleData | OraclePriceStale | OraclePriceNotPositive
                | OraclePriceTooUncertain | OraclePriceNotTrading | OracleExponentOutOfRange | OracleFeedMismatch
                | OracleNotFullyVerified | OracleEmaTooUncertain | InvalidOracleSource
        )
    }
}

/// `None` is an arithmetic overflow (or division by zero) at the caller's line: logs the file
/// and line (as Drift's `SafeMath` does) and returns `MathOverflow`.
pub trait OrOverflow<T> {
    fn or_overflow(self) -> std::result::Result<T, LendingError>;
}

impl<T> OrOverflow<T> for Option<T> {
    #[track_caller]
    #[inline(always)]
    fn or_overflow(self) -> std::result::Result<T, LendingError> {
        match self {
            Some(value) => Ok(value),
            None => Err(math_overflow(core::panic::Location::caller())),
        }
    }
}

/// `MathOverflow`, after logging where it happened.
#[track_caller]
pub fn overflow_here() -> LendingError {
    math_overflow(core::panic::Location::caller())
}

#[cold]
#[inline(never)]
fn math_overflow(location: &'static core::panic::Location<'static>) -> LendingError {
    // On chain only: off-chain callers (the client's searches probe extreme amounts) get the
    // error without a line on stdout.
    #[cfg(target_os = "solana")]
    msg!("math overflow at {}:{}", location.file(), location.line());
    #[cfg(not(target_os = "solana"))]
    let _ = location;
    LendingError::MathOverflow
}

/// `value`, or `MathOverflow` logged with the caller's file and line.
#[track_caller]
#[inline(always)]
pub fn overflow<T>(value: Option<T>) -> std::result::Result<T, LendingError> {
    value.or_overflow()
}
