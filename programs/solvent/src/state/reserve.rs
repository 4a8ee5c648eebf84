use super::{DynamicMarginConfig, DynamicMarginState, HealthKind, Side, SoftZoneConfig, StoredWad, DYNAMIC_CONCENTRATION, DYNAMIC_VOLATILITY};
use crate::errors::{overflow, LendingError, OrOverflow};
use crate::math::{mul_div, pow10, scaled_value, Rounding, Wad, BPS_DENOMINATOR, SECONDS_PER_YEAR, WAD};
use crate::oracle::{CheckedPrice, OraclePrice};
use anchor_lang::prelude::*;

pub const RESERVE_SEED: &[u8] = b"reserve";
pub const LIQUIDITY_VAULT_SEED: &[u8] = b"liquidity_vault";
pub const FEE_VAULT_SEED: &[u8] = b"fee_vault";
pub const COLLATERAL_MINT_SEED: &[u8] = b"collateral_mint";
pub const MAX_RATE_CURVE_POINTS: usize = 8;
/// 400% APR, the highest point a rate curve may have. With `MAX_ACCRUAL_GAP_SECS` it bounds one
/// accrual's growth factor by e^40 (about 2.4 × 10^17), which a Wad holds with room to spare.
pub const MAX_BORROW_RATE_BPS: u32 = 40_000;
/// The longest stretch one accrual charges interest for: ten years. A reserve nobody touched for
/// longer is charged ten years when next touched (any refresh, deposit or repayment touches it).
pub const MAX_ACCRUAL_GAP_SECS: i64 = 10 * SECONDS_PER_YEAR as i64;
/// The most debt a reserve carries: half of what a token account can hold, in base units, so
/// every obligation's debt (rounded up from the reserve's index) still converts to a u64 amount
/// and can be repaid. Interest stops compounding at this ceiling instead of overflowing.
pub const MAX_RESERVE_DEBT: Wad = Wad((u64::MAX / 2) as u128 * WAD);
/// The largest cumulative borrow index, 10^20: interest stops compounding there rather than
/// overflow (at the maximum rate, a century of 100% utilization; at real rates, never).
pub const MAX_BORROW_INDEX: Wad = Wad(100_000_000_000_000_000_000 * WAD);
pub const MAX_TOKEN_DECIMALS: u8 = 18;
/// Shares of the first deposit into an empty reserve that nobody receives (see `Reserve::deposit`).
pub const DEAD_SHARES: u64 = 1_000;

/// What a refresh changed that deserves an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// The circuit breaker tripped (`Some(true)`) or cleared (`Some(false)`).
    pub breaker: Option<bool>,
    /// The dynamic-margin weights moved (`Reserve::refresh_dynamic_margin`).
    pub dynamic_moved: bool,
}

/// One point of the borrow-rate curve: at `utilization_bps`, borrowers pay `borrow_rate_bps` APR.
#[zero_copy]
// Borsh derives straight from borsh: Anchor's own derives would add a second IDL
// implementation next to `#[zero_copy]`'s.
#[derive(Default, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
#[borsh(crate = "anchor_lang::prelude::borsh")]
pub struct RateCurvePoint {
    pub utilization_bps: u32,
    pub borrow_rate_bps: u32,
}

/// Risk parameters of a reserve, set by the market owner.
#[zero_copy]
// Borsh derives straight from borsh: Anchor's own derives would add a second IDL
// implementation next to `#[zero_copy]`'s.
#[derive(Default, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
#[borsh(crate = "anchor_lang::prelude::borsh")]
pub struct ReserveConfig {
    /// Share of collateral value that may be borrowed against.
    pub loan_to_value_bps: u16,
    /// Share of collateral value above which the obligation is liquidatable.
    pub liquidation_threshold_bps: u16,
    /// Extra collateral value a liquidator receives over what they repay.
    pub liquidation_bonus_bps: u16,
    /// Largest share of one borrow that one liquidation may repay.
    pub close_factor_bps: u16,
    /// Share of interest that goes to the protocol instead of depositors.
    pub protocol_take_rate_bps: u16,
    /// Origination fee, taken from the borrowed amount.
    pub borrow_fee_bps: u16,
    /// Largest confidence interval accepted, relative to the price.
    pub max_confidence_bps: u16,
    /// Fee on a flash loan, paid on top of the amount; split with the protocol like interest.
    pub flash_loan_fee_bps: u16,
    /// Oldest oracle publish time accepted, in seconds.
    pub max_price_age_secs: u32,
    /// Upper end of the liquidation bonus auction (0: no auction, the bonus is always
    /// `liquidation_bonus_bps`).
    pub max_liquidation_bonus_bps: u16,
    /// Seconds after an obligation turns unhealthy for the bonus to reach the maximum on time alone.
    pub liquidation_bonus_ramp_secs: u16,
    /// Circuit breaker: when spot is further than this from the EMA (in bps of the EMA), new
    /// borrows and collateral withdrawals against the reserve halt (0: no breaker).
    pub price_band_bps: u16,
    /// 0 (the default): conservative valuation from spot, EMA and confidence; 1: spot only.
    pub valuation_mode: u8,
    /// Margin tier flags (`RISK_FLAG_*`): isolated collateral, borrowable against isolated
    /// collateral, siloed debt. 0: an ordinary cross-margin asset.
    pub risk_flags: u8,
    /// Borrow weight: a debt's value counts this many bps of itself for borrowing power and
    /// liquidation eligibility (`Initial`, `Maintenance`), so a volatile debt asset consumes
    /// more collateral; not for what a liquidation pays out (`Payout`). 0: 100% (unset); else
    /// from 100% to `MAX_BORROW_WEIGHT_BPS`.
    pub borrow_weight_bps: u16,
    /// E-mode groups the reserve belongs to: bit `g - 1` for group `g` (see `state::emode`).
    /// 0: none.
    pub emode_groups: u8,
    pub config_padding: u8,
    /// Cap on total liquidity (available + borrowed), in base units.
    pub deposit_limit: u64,
    /// Cap on total borrowed, in base units.
    pub borrow_limit: u64,
    /// Cap on total liquidity's quote value in whole quote units (0: none), at the higher of
    /// spot and EMA as last booked.
    pub deposit_limit_value: u64,
    /// Cap on total borrowed's quote value in whole quote units (0: none), at the conservative
    /// debt price as last booked.
    pub borrow_limit_value: u64,
    /// For isolated collateral (`RISK_FLAG_ISOLATED_COLLATERAL`): the most debt, in whole quote
    /// units, that obligations holding it may owe against it, counted at the conservative debt
    /// price when borrowed (`Reserve::isolated_debt`). Above 0 when isolation is on; unused
    /// otherwise.
    pub isolation_debt_ceiling_value: u64,
    /// Of the protocol income `collect_protocol_fees` moves out, the share paid into the
    /// reserve's insurance fund, bps (the rest to the fee vault); needs the fund when above 0.
    pub insurance_share_bps: u16,
    /// Outflow limit (`state::policy`): withdrawals, redemptions, borrows and the payouts of
    /// orders and soft calls, net of deposits and repayments, may take at most this share of
    /// the liquidity on hand (bps) per `outflow_window_secs`, growing back linearly; never less
    /// than `outflow_floor` base units per window. Liquidations, repayments, deposits and flash
    /// loans are never limited. 0: off.
    pub outflow_limit_bps: u16,
    pub outflow_window_secs: u32,
    pub outflow_floor: u64,
    /// Piecewise-linear borrow rate: starts at 0% utilization, ends at the first point at 100%;
    /// points after the end are all zero.
    pub rate_curve: [RateCurvePoint; MAX_RATE_CURVE_POINTS],
}

impl ReserveConfig {
    pub fn validate(&self) -> std::result::Result<(), LendingError> {
        let bps = BPS_DENOMINATOR as u64;
        if self.liquidation_threshold_bps as u64 > bps || self.liquidation_threshold_bps == 0 {
            return Err(LendingError::InvalidLiquidationThreshold);
        }
        if self.loan_to_value_bps >= self.liquidation_threshold_bps {
            return Err(LendingError::InvalidLoanToValue);
        }
        // Seizing repaid value x (1 + bonus) lowers weighted collateral by x (1 + bonus) LT and
        // debt by x: the position can only get healthier when (1 + bonus) LT <= 1.
        let weighted = (self.liquidation_threshold_bps as u64) * (bps + self.liquidation_bonus_bps as u64);
        if weighted > bps * bps {
            return Err(LendingError::InvalidLiquidationBonus);
        }
        if self.max_liquidation_bonus_bps != 0 {
            let weighted_max =
                (self.liquidation_threshold_bps as u64) * (bps + self.max_liquidation_bonus_bps as u64);
            if self.max_liquidation_bonus_bps < self.liquidation_bonus_bps || weighted_max > bps * bps {
                return Err(LendingError::InvalidLiquidationBonus);
            }
        }
        if self.close_factor_bps == 0 || self.close_factor_bps as u64 > bps {
            return Err(LendingError::InvalidCloseFactor);
        }
        if self.protocol_take_rate_bps as u64 > bps
            || self.borrow_fee_bps as u64 >= bps
            || self.flash_loan_fee_bps as u64 > bps
        {
            return Err(LendingError::InvalidFee);
        }
        if self.insurance_share_bps as u64 > bps {
            return Err(LendingError::InvalidInsuranceFund);
        }
        self.validate_outflow()?;
        if self.max_price_age_secs == 0
            || self.max_confidence_bps == 0
            || self.max_confidence_bps as u64 > bps
            || self.price_band_bps as u64 > bps
            || self.valuation_mode > VALUATION_SPOT_ONLY
        {
            return Err(LendingError::InvalidOracleConfig);
        }
        if self.risk_flags & !RISK_FLAGS_KNOWN != 0 {
            return Err(LendingError::InvalidRiskFlags);
        }
        if self.borrow_weight_bps != 0 && ((self.borrow_weight_bps as u128) < BPS_DENOMINATOR || self.borrow_weight_bps > MAX_BORROW_WEIGHT_BPS) {
            return Err(LendingError::InvalidBorrowWeight);
        }
        // An isolated asset borrowable in isolation could be charged against itself.
        if self.is_isolated_collateral() && (self.isolation_debt_ceiling_value == 0 || self.is_borrowable_in_isolation()) {
            return Err(LendingError::InvalidIsolationDebtCeiling);
        }
        self.validate_rate_curve()
    }

    fn validate_rate_curve(&self) -> std::result::Result<(), LendingError> {
        let curve = &self.rate_curve;
        if curve[0].utilization_bps != 0 {
            return Err(LendingError::InvalidRateCurve);
        }
        let end = self.rate_curve_end().ok_or(LendingError::InvalidRateCurve)?;
        if end == 0 {
            return Err(LendingError::InvalidRateCurve);
        }
        for i in 0..=end {
            if curve[i].borrow_rate_bps > MAX_BORROW_RATE_BPS {
                return Err(LendingError::InvalidRateCurve);
            }
            if i > 0
                && (curve[i].utilization_bps <= curve[i - 1].utilization_bps
                    || curve[i].borrow_rate_bps < curve[i - 1].borrow_rate_bps)
            {
                return Err(LendingError::InvalidRateCurve);
            }
        }
        if curve[end + 1..].iter().any(|point| *point != RateCurvePoint::default()) {
            return Err(LendingError::InvalidRateCurve);
        }
        Ok(())
    }

    /// Index of the point at 100% utilization.
    fn rate_curve_end(&self) -> Option<usize> {
        self.rate_curve.iter().position(|point| point.utilization_bps as u128 == BPS_DENOMINATOR)
    }

    /// Annual borrow rate at `utilization` (a fraction as Wad), interpolated and rounded up.
    pub fn borrow_rate(&self, utilization: Wad) -> Option<Wad> {
        let end = self.rate_curve_end()?;
        if utilization.is_zero() {
            // The first point's rate (the curve starts at 0% utilization), without a division.
            return Some(Wad::from_bps(self.rate_curve[0].borrow_rate_bps as u64));
        }
        let utilization = utilization.min(Wad::ONE);
        let bps_unit = WAD / BPS_DENOMINATOR;
        for i in 1..=end {
            let (low, high) = (self.rate_curve[i - 1], self.rate_curve[i]);
            let high_utilization = high.utilization_bps as u128 * bps_unit;
            if utilization.raw() <= high_utilization {
                let low_utilization = low.utilization_bps as u128 * bps_unit;
                let low_rate = Wad::from_bps(low.borrow_rate_bps as u64);
                let into_segment = utilization.raw().checked_sub(low_utilization)?;
                // rate span × into segment / segment, with the span (Δrate bps × 10^14) and the
                // segment (Δutilization bps × 10^14) both divided by the common 10^14: the same
                // quotient, rounded up, with a divisor below 2^32 (a cheap division on BPF).
                let rate_span_bps = (high.borrow_rate_bps - low.borrow_rate_bps) as u128;
                let segment_bps = high.utilization_bps.checked_sub(low.utilization_bps)? as u128;
                let extra = Wad(crate::math::mul_div(into_segment, rate_span_bps, segment_bps, Rounding::Up)?);
                return low_rate.checked_add(extra);
            }
        }
        None
    }
}

/// `ReserveConfig::risk_flags`: isolated collateral. An obligation holding it holds no other
/// collateral, and borrows only reserves flagged `RISK_FLAG_BORROWABLE_IN_ISOLATION`.
pub const RISK_FLAG_ISOLATED_COLLATERAL: u8 = 1;
/// `ReserveConfig::risk_flags`: may be borrowed by an obligation whose collateral is isolated.
pub const RISK_FLAG_BORROWABLE_IN_ISOLATION: u8 = 2;
/// `ReserveConfig::risk_flags`: siloed debt. An obligation borrowing it borrows nothing else.
pub const RISK_FLAG_SILOED_DEBT: u8 = 4;
/// Debt counted against a cap in quote value (`Reserve::isolated_debt`,
/// `EmodeGroupDebt::debt`, the obligation's charges) is in millionths of a quote unit.
pub const DEBT_UNITS_PER_QUOTE: u64 = 1_000_000;

/// A quote value in millionths of a quote unit, rounded up (a charge is never understated).
pub fn debt_units(value: Wad) -> Option<u64> {
    let per_unit = WAD / DEBT_UNITS_PER_QUOTE as u128;
    u64::try_from(value.raw().div_ceil(per_unit)).ok()
}

/// `used + units` (millionths) when it stays within `cap_value` whole quote units (0: no
/// cap); None above it (or past u64).
pub fn within_value_cap(used: u64, units: u64, cap_value: u64) -> Option<u64> {
    let total = used.checked_add(units)?;
    let cap = cap_value as u128 * DEBT_UNITS_PER_QUOTE as u128;
    (cap_value == 0 || total as u128 <= cap).then_some(total)
}

/// Largest borrow weight accepted: 500%.
pub const MAX_BORROW_WEIGHT_BPS: u16 = 50_000;
const RISK_FLAGS_KNOWN: u8 = RISK_FLAG_ISOLATED_COLLATERAL | RISK_FLAG_BORROWABLE_IN_ISOLATION | RISK_FLAG_SILOED_DEBT;

/// `ReserveConfig::valuation_mode`: value everything at the spot price.
pub const VALUATION_SPOT_ONLY: u8 = 1;
/// `ReserveConfig::valuation_mode`: conservative valuation from spot, EMA and confidence.
pub const VALUATION_CONSERVATIVE: u8 = 0;

/// `ReserveConfig::valuation_mode` as an enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValuationMode {
    /// Collateral at the lower and debt at the higher of spot and EMA, less / plus confidence.
    Conservative,
    /// Everything at the spot price.
    SpotOnly,
}

impl ReserveConfig {
    pub fn is_isolated_collateral(&self) -> bool {
        self.risk_flags & RISK_FLAG_ISOLATED_COLLATERAL != 0
    }

    pub fn is_borrowable_in_isolation(&self) -> bool {
        self.risk_flags & RISK_FLAG_BORROWABLE_IN_ISOLATION != 0
    }

    pub fn is_siloed_debt(&self) -> bool {
        self.risk_flags & RISK_FLAG_SILOED_DEBT != 0
    }

    /// A member of e-mode group `group` (1..=8).
    pub fn is_in_emode_group(&self, group: u8) -> bool {
        (1..=super::MAX_EMODE_GROUPS as u8).contains(&group) && self.emode_groups & (1 << (group - 1)) != 0
    }

    /// The reserve's own margin parameters (outside any e-mode group).
    pub fn risk_params(&self) -> super::RiskParams {
        super::RiskParams {
            loan_to_value_bps: self.loan_to_value_bps,
            liquidation_threshold_bps: self.liquidation_threshold_bps,
            borrow_weight_bps: self.effective_borrow_weight_bps(),
            liquidation_bonus_bps: self.liquidation_bonus_bps,
            max_liquidation_bonus_bps: self.max_liquidation_bonus_bps,
            liquidation_bonus_ramp_secs: self.liquidation_bonus_ramp_secs,
        }
    }

    /// The borrow weight in bps, 100% when unset.
    pub fn effective_borrow_weight_bps(&self) -> u16 {
        if self.borrow_weight_bps == 0 {
            BPS_DENOMINATOR as u16
        } else {
            self.borrow_weight_bps
        }
    }

    /// The valuation mode (`validate` refuses any byte but the two).
    pub fn valuation(&self) -> ValuationMode {
        if self.valuation_mode == VALUATION_SPOT_ONLY {
            ValuationMode::SpotOnly
        } else {
            ValuationMode::Conservative
        }
    }
}

/// One asset of the market: its vault, its risk config, its interest state and its price.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Reserve {
    pub version: u8,
    pub liquidity_decimals: u8,
    pub liquidity_vault_bump: u8,
    pub bump: u8,
    pub padding0: [u8; 4],
    pub lending_market: Pubkey,
    pub liquidity_mint: Pubkey,
    /// Token account (PDA `["liquidity_vault", reserve]`) owned by the market authority.
    pub liquidity_vault: Pubkey,
    /// Token account (PDA `["fee_vault", reserve]`) that collected protocol fees are moved to.
    pub fee_vault: Pubkey,
    /// Share mint (PDA `["collateral_mint", reserve]`): shares held outside obligations as tokens.
    /// Shares inside obligations are a ledger entry; `collateral_supply` counts both.
    pub collateral_mint: Pubkey,
    /// Token program of the mint (SPL Token or Token-2022).
    pub token_program: Pubkey,
    /// The one price account this reserve accepts.
    pub oracle: Pubkey,
    /// Program that must own `oracle`, copied from the market at init.
    pub oracle_program: Pubkey,
    /// Unix time interest was last accrued to.
    pub last_update_timestamp: i64,
    /// Slot in which the price was last read; borrow, withdraw and liquidate need the current one.
    pub price_updated_slot: u64,
    /// Tokens in the vault: depositors' idle liquidity plus uncollected protocol fees.
    pub available_amount: u64,
    /// Collateral shares outstanding: in obligations plus the share mint's supply.
    pub collateral_supply: u64,
    /// Quote value of one whole token at the spot price, from the last refresh.
    pub market_price_wad: StoredWad,
    /// The same price as the oracle gave it, `mantissa × 10^exponent`: values are computed from
    /// these in u128 instead of dividing 256-bit products of the Wad.
    pub market_price_mantissa: u64,
    pub market_price_exponent: i32,
    pub padding1: [u8; 4],
    /// Total debt, interest included, in base units.
    pub borrowed_amount_wad: StoredWad,
    /// Product of all interest growth factors since the reserve was created; starts at 1.
    pub cumulative_borrow_index_wad: StoredWad,
    /// Interest owed to the protocol, part of available + borrowed but not of depositors' claim.
    pub accumulated_protocol_fees_wad: StoredWad,
    pub config: ReserveConfig,
    /// Liquidity lent by a flash loan that is open in the current transaction; zero otherwise.
    pub flash_loan_amount: u64,
    /// Where the price comes from: `ORACLE_SOURCE_PYTH_LEGACY` or `ORACLE_SOURCE_PYTH_PULL`.
    pub oracle_source: u8,
    /// 1 while spot is outside `config.price_band_bps` of the EMA: new borrows and collateral
    /// withdrawals against this reserve are refused until a refresh finds it back inside.
    pub price_halted: u8,
    pub padding2: [u8; 6],
    /// For a PriceUpdateV2 oracle: the Pyth feed id each update must carry.
    pub price_feed_id: [u8; 32],
    /// The prices of the last refresh, all with exponent `market_price_exponent`: the EMA;
    /// collateral for borrowing power (lower of spot and EMA, less confidence); debt (higher of
    /// spot and EMA, plus confidence); and for liquidation eligibility collateral at the higher
    /// and debt at the lower of spot and EMA, so a one-update spike cannot trigger a liquidation
    /// that the EMA does not support.
    pub ema_price_mantissa: u64,
    pub collateral_price_mantissa: u64,
    pub debt_price_mantissa: u64,
    pub liquidation_collateral_price_mantissa: u64,
    pub liquidation_debt_price_mantissa: u64,
    /// Bumped by everything that can change what this reserve's positions are worth: every
    /// refresh (a new price), a write-off (a lower share price), a config update (other
    /// weights). An obligation records the sum over its positions' reserves at refresh;
    /// borrow, withdraw and liquidate refuse when the sum is no longer the same
    /// (`ReserveChangedSinceRefresh`), so cached values never outlive what they came from.
    pub valuation_epoch: u64,
    /// For isolated collateral: the debt obligations holding it owe against it, in millionths of
    /// a quote unit (`DEBT_UNITS_PER_QUOTE`), as each borrow's value at the conservative
    /// debt price when borrowed (rounded up), less what repayments took off
    /// (`Obligation::isolation_charges`): Σ of the obligations' charges, held at most
    /// `config.isolation_debt_ceiling_value` by borrows.
    pub isolated_debt: u64,
    /// Dynamic margin settings (`set_dynamic_margin`; all zero: static margin).
    pub dynamic_config: DynamicMarginConfig,
    /// What refresh_reserve measured for dynamic margin: the volatility estimate and the
    /// effective weights (`DynamicMarginState`).
    pub dynamic: DynamicMarginState,
    /// The soft-liquidation zone of this reserve's collateral (`set_soft_zone`; all zero: off).
    pub soft_zone: SoftZoneConfig,
    /// The reserve's insurance fund (`init_insurance_fund`; default: none). With a fund, every
    /// write-off and every fee collection must pass it.
    pub insurance_fund: Pubkey,
    /// Tokens the insurance fund has paid toward written-off debt and not yet moved into the
    /// liquidity vault (`settle_insurance` moves them): part of the depositors' claim, not yet
    /// available to lend.
    pub insurance_receivable: u64,
    /// Outflow counted in the current window (base units), inflow credited against later
    /// outflows in it (at most one of the two above 0), and when they were last counted
    /// (`state::policy`, `ReserveConfig::outflow_limit_bps`).
    pub outflow_used: u64,
    pub outflow_credit: u64,
    pub outflow_updated_at: i64,
    /// The liquidity on hand the outflow capacity is a share of, and when it was taken (when
    /// the bucket was empty, or a window after the last time, less the credit then).
    pub outflow_base: u64,
    pub outflow_base_at: i64,
    /// Unix time of listing, and the market's listing ramp then: the deposit and borrow caps
    /// grow from 0 to the configured ones over the ramp (`Reserve::ramped_limit`).
    pub listed_at: i64,
    pub listing_ramp_secs: u32,
    /// Actions paused (`ACTION_*` bits) by the owner, until lifted through the timelock.
    pub owner_paused: u8,
    /// Actions paused by the guardian, until `guardian_pause_until`; the owner confirms them by
    /// pausing them too. Never liquidations: those have their own slot.
    pub guardian_paused: u8,
    pub pause_padding: [u8; 2],
    pub guardian_pause_until: i64,
    /// Liquidations are paused until then (by the owner or the guardian: always expiring).
    pub liquidation_pause_until: i64,
    /// Room for follow-up fields (second oracle).
    pub reserved: [u8; 128],
}

type ReserveResult<T> = std::result::Result<T, LendingError>;

/// `amount × bps`, rounded up to a whole base unit (fees round against the payer).
#[inline(always)]
fn fee_on(amount: u64, bps: u16) -> ReserveResult<u64> {
    overflow(Wad::from_u64(amount).mul_bps(bps as u64, Rounding::Up).and_then(|fee| fee.to_u64(Rounding::Up)))
}


impl Reserve {
    /// The accounts passed with this reserve are the ones it pins, checked with one load of the
    /// reserve (an Anchor `has_one` per field loads it once each), in the order of their errors:
    /// its market (when the instruction takes one), its liquidity mint, its vault, and the token
    /// program of its mint.
    pub fn check_accounts(&self, market: Option<&Pubkey>, mint: &Pubkey, vault: &Pubkey, token_program: &Pubkey) -> ReserveResult<()> {
        if market.is_some_and(|market| *market != self.lending_market) {
            return Err(LendingError::InvalidMarket);
        }
        if *mint != self.liquidity_mint {
            return Err(LendingError::InvalidLiquidityMint);
        }
        if *vault != self.liquidity_vault {
            return Err(LendingError::InvalidLiquidityVault);
        }
        if *token_program != self.token_program {
            return Err(LendingError::InvalidTokenProgram);
        }
        Ok(())
    }

    pub fn market_price(&self) -> Wad {
        self.market_price_wad.get()
    }

    /// Sets every price of the reserve to `price` (spot = EMA, no confidence interval).
    pub fn set_market_price(&mut self, price: OraclePrice) -> ReserveResult<()> {
        self.set_prices(&CheckedPrice::exact(price))
    }

    /// Books a checked oracle price: spot, EMA, and the valuation prices the config asks for.
    pub fn set_prices(&mut self, price: &CheckedPrice) -> ReserveResult<()> {
        let spot = price.spot.mantissa;
        self.market_price_wad.set(price.spot.to_wad()?);
        self.market_price_mantissa = spot;
        self.market_price_exponent = price.spot.exponent;
        self.ema_price_mantissa = price.ema.mantissa;
        if self.config.valuation() == ValuationMode::SpotOnly {
            self.collateral_price_mantissa = spot;
            self.debt_price_mantissa = spot;
            self.liquidation_collateral_price_mantissa = spot;
            self.liquidation_debt_price_mantissa = spot;
        } else {
            self.collateral_price_mantissa = price.collateral_price();
            self.debt_price_mantissa = price.debt_price();
            self.liquidation_collateral_price_mantissa = spot.max(price.ema.mantissa);
            self.liquidation_debt_price_mantissa = spot.min(price.ema.mantissa);
        }
        Ok(())
    }

    pub fn borrowed_amount(&self) -> Wad {
        self.borrowed_amount_wad.get()
    }

    pub fn cumulative_borrow_index(&self) -> Wad {
        self.cumulative_borrow_index_wad.get()
    }

    pub fn accumulated_protocol_fees(&self) -> Wad {
        self.accumulated_protocol_fees_wad.get()
    }

    /// The price circuit breaker is tripped (`price_halted`): spot is outside the band around
    /// the EMA, so new borrows and collateral withdrawals against this reserve wait.
    pub fn is_price_halted(&self) -> bool {
        self.price_halted != 0
    }

    pub fn is_price_fresh(&self, current_slot: u64) -> bool {
        self.price_updated_slot == current_slot
    }

    /// Idle liquidity, counting a flash loan that is out as still here: it is back by the end of
    /// the transaction, so neither the share price nor the interest rate moves while it is out.
    /// Idle liquidity, a flash loan out, and the insurance fund's payment not yet moved in.
    pub(crate) fn liquidity_on_hand(&self) -> ReserveResult<u64> {
        overflow(self.available_amount.checked_add(self.flash_loan_amount).and_then(|on_hand| on_hand.checked_add(self.insurance_receivable)))
    }

    /// Books the insurance fund's payment of `paid` tokens toward written-off debt: `settled` of
    /// debt off the books, the tokens owed by the fund until `settle_insurance` moves them.
    pub fn book_insurance_payment(&mut self, paid: u64, settled: Wad) -> ReserveResult<()> {
        self.insurance_receivable = overflow(self.insurance_receivable.checked_add(paid))?;
        self.reduce_borrowed(settled);
        Ok(())
    }

    /// The fund's owed tokens arrived in the liquidity vault: now available.
    pub fn settle_insurance(&mut self, amount: u64) -> ReserveResult<()> {
        self.insurance_receivable = overflow(self.insurance_receivable.checked_sub(amount))?;
        self.available_amount = overflow(self.available_amount.checked_add(amount))?;
        Ok(())
    }

    /// Depositors' claim: idle liquidity plus debt owed to them, less protocol fees.
    pub fn total_liquidity(&self) -> ReserveResult<Wad> {
        let gross = overflow(Wad::from_u64(self.liquidity_on_hand()?).checked_add(self.borrowed_amount()))?;
        overflow(gross.checked_sub(self.accumulated_protocol_fees()))
    }

    /// Borrowed / (on hand + borrowed), as a fraction rounded up (the higher rate: interest
    /// never grows slower than the curve says), within a few raw units of the exact quotient
    /// (`math::fraction_up`, where the exact one costs a 256-bit division on every accrual).
    pub fn utilization(&self) -> ReserveResult<Wad> {
        let borrowed = self.borrowed_amount();
        let total = overflow(Wad::from_u64(self.liquidity_on_hand()?).checked_add(borrowed))?;
        Ok(Wad(crate::math::fraction_up(borrowed.raw(), total.raw())))
    }

    /// What refresh_reserve books: interest up to `now`, then the oracle's prices as of `slot`,
    /// then the circuit breaker. Returns `Some(halted)` when the breaker changed state.
    /// Off-chain readers call it on a copy to see the reserve as the next refresh will.
    pub fn refresh(&mut self, price: &CheckedPrice, now: i64, slot: u64) -> ReserveResult<Refreshed> {
        self.accrue_interest(now)?;
        self.valuation_epoch = self.valuation_epoch.wrapping_add(1);
        self.set_prices(price)?;
        self.price_updated_slot = slot;
        let band = self.config.price_band_bps as u128;
        let halted = band > 0 && price.spot != price.ema && price.deviation_bps() > band;
        let was_halted = self.is_price_halted();
        self.price_halted = halted as u8;
        let dynamic_moved = self.refresh_dynamic_margin(now)?;
        Ok(Refreshed { breaker: (halted != was_halted).then_some(halted), dynamic_moved })
    }

    /// The dynamic-margin step of `refresh`: a volatility sample of the spot
    /// price when one is due and the price is not halted by the circuit breaker (a price outside
    /// the band is not sampled), then the effective weights. Returns whether the weights moved
    /// (for the `DynamicMarginUpdated` event). Nothing for a reserve with dynamic margin off.
    pub fn refresh_dynamic_margin(&mut self, now: i64) -> ReserveResult<bool> {
        let config = self.dynamic_config;
        if config.flags == 0 {
            return Ok(false);
        }
        if config.has(DYNAMIC_VOLATILITY) && !self.is_price_halted() {
            let price = self.market_price();
            self.dynamic.sample(&config, price, now)?;
        }
        let deposits_value = if config.has(DYNAMIC_CONCENTRATION) {
            // At the higher of spot and EMA: the exposure is never understated.
            let value = self.value_for(HealthKind::Maintenance, Side::Asset, self.total_liquidity()?)?;
            value.to_u64(Rounding::Up).unwrap_or(u64::MAX)
        } else {
            0
        };
        let (ltv, threshold) = (self.config.loan_to_value_bps, self.config.liquidation_threshold_bps);
        Ok(self.dynamic.update_weights(&config, ltv, threshold, deposits_value, now))
    }

    /// The margin parameters of this reserve's positions outside an e-mode group: the config's,
    /// with the loan-to-value and threshold lowered to the dynamic ones when dynamic margin is on
    /// (never raised above the config's).
    #[inline(always)]
    pub fn risk_params(&self) -> super::RiskParams {
        let mut params = self.config.risk_params();
        if self.dynamic_config.flags != 0 && self.dynamic.initialized != 0 {
            params.loan_to_value_bps = params.loan_to_value_bps.min(self.dynamic.ltv_bps);
            params.liquidation_threshold_bps = params.liquidation_threshold_bps.min(self.dynamic.threshold_bps);
        }
        params
    }

    /// Compound interest from the last update to `now`, per second at the current utilization.
    /// Growth rounds up: debt never grows slower than the curve says. A reserve without debt
    /// accrues nothing (its index stands still).
    ///
    /// Never overflows, so no reserve can be bricked by time: `validate` bounds the rate by
    /// `MAX_BORROW_RATE_BPS`, one accrual charges at most `MAX_ACCRUAL_GAP_SECS`, and growth stops
    /// at `MAX_RESERVE_DEBT` and `MAX_BORROW_INDEX` (debt and index grow by the same factor, so
    /// every obligation's debt stays consistent with the reserve's).
    pub fn accrue_interest(&mut self, now: i64) -> ReserveResult<()> {
        let elapsed = now.saturating_sub(self.last_update_timestamp).min(MAX_ACCRUAL_GAP_SECS);
        if elapsed <= 0 {
            return Ok(());
        }
        if self.borrowed_amount().is_zero() {
            // No debt, no interest: the index stands still, as nothing owes against it (the
            // obligations' debts, each rounded up, exceed the reserve's total by a few raw units
            // at most, less than a base unit, and a repayment settles whole base units).
            self.last_update_timestamp = now;
            return Ok(());
        }
        let annual_rate = overflow(self.config.borrow_rate(self.utilization()?))?;
        let rate_per_second = overflow(annual_rate.mul_ratio(1, SECONDS_PER_YEAR as u128, Rounding::Up))?;
        let mut growth = overflow(
            overflow(Wad::ONE.checked_add(rate_per_second))?.checked_pow(elapsed as u64, Rounding::Up),
        )?;
        let previous_borrowed = self.borrowed_amount();
        let index = self.cumulative_borrow_index();
        let grown = |growth: Wad| {
            let debt = previous_borrowed.checked_mul(growth, Rounding::Up).filter(|debt| *debt <= MAX_RESERVE_DEBT)?;
            let index = index.checked_mul(growth, Rounding::Up).filter(|index| *index <= MAX_BORROW_INDEX)?;
            Some((debt, index))
        };
        let (borrowed, new_index) = match grown(growth) {
            Some(grown) => grown,
            None => {
                // Saturate: the largest growth both ceilings allow (rounded down, so it fits).
                let by_debt = MAX_RESERVE_DEBT.checked_div(previous_borrowed, Rounding::Down).unwrap_or(growth);
                let by_index = overflow(MAX_BORROW_INDEX.checked_div(index, Rounding::Down))?;
                growth = growth.min(by_debt).min(by_index).max(Wad::ONE);
                let debt = overflow(previous_borrowed.checked_mul(growth, Rounding::Up))?;
                (debt, overflow(index.checked_mul(growth, Rounding::Up))?)
            }
        };
        let interest = overflow(borrowed.checked_sub(previous_borrowed))?;
        let protocol_share = overflow(interest.mul_bps(self.config.protocol_take_rate_bps as u64, Rounding::Down))?;
        self.borrowed_amount_wad.set(borrowed);
        self.add_protocol_fees(protocol_share)?;
        self.cumulative_borrow_index_wad.set(new_index);
        self.last_update_timestamp = now;
        Ok(())
    }

    /// Shares minted for a deposit of `liquidity_amount`, rounded down (against the depositor).
    /// The first deposit into an empty reserve mints one share per base unit.
    pub fn collateral_shares_for_deposit(&self, liquidity_amount: u64) -> ReserveResult<u64> {
        if self.collateral_supply == 0 {
            return Ok(liquidity_amount);
        }
        self.shares_for_amount(liquidity_amount, Rounding::Down)
    }

    /// Liquidity that `shares` are worth, unrounded (Wad).
    pub fn liquidity_for_shares(&self, shares: u64, rounding: Rounding) -> ReserveResult<Wad> {
        if self.collateral_supply == 0 {
            return Ok(Wad::ZERO);
        }
        let total = self.total_liquidity()?;
        overflow(total.mul_ratio(shares as u128, self.collateral_supply as u128, rounding))
    }

    /// Shares worth `amount` of liquidity, rounded as asked.
    pub fn shares_for_amount(&self, amount: u64, rounding: Rounding) -> ReserveResult<u64> {
        let total = self.total_liquidity()?;
        if total.is_zero() {
            return Err(LendingError::ReserveValueWipedOut);
        }
        let shares = overflow(mul_div(Wad::from_u64(amount).raw(), self.collateral_supply as u128, total.raw(), rounding))?;
        u64::try_from(shares).ok().or_overflow()
    }

    /// Whole tokens paid out when `shares` are redeemed, rounded down (against the withdrawer).
    pub fn redeem_amount(&self, shares: u64) -> ReserveResult<u64> {
        overflow(self.liquidity_for_shares(shares, Rounding::Down)?.to_u64(Rounding::Down))
    }

    /// Quote value of `amount` base units at `price_mantissa` (exponent `market_price_exponent`).
    fn value_at(&self, price_mantissa: u64, amount: Wad, rounding: Rounding) -> ReserveResult<Wad> {
        let scale_exponent = self.market_price_exponent - self.liquidity_decimals as i32;
        overflow(scaled_value(amount, price_mantissa, scale_exponent, rounding))
    }

    /// Quote value of `amount` base units at the spot price.
    pub fn market_value(&self, amount: Wad, rounding: Rounding) -> ReserveResult<Wad> {
        self.value_at(self.market_price_mantissa, amount, rounding)
    }

    /// The price a health kind values a side at (mantissa, exponent `market_price_exponent`):
    /// `Initial` at the conservative collateral and debt prices, the liquidation kinds at the
    /// higher (collateral) and lower (debt) of spot and EMA.
    pub fn price_for(&self, kind: HealthKind, side: Side) -> u64 {
        match (kind, side) {
            (HealthKind::Initial, Side::Asset) => self.collateral_price_mantissa,
            (HealthKind::Initial, Side::Liability) => self.debt_price_mantissa,
            (_, Side::Asset) => self.liquidation_collateral_price_mantissa,
            (_, Side::Liability) => self.liquidation_debt_price_mantissa,
        }
    }

    /// Quote value of `amount` base units of liquidity at a kind's price for a side, rounded
    /// against the user (assets down, liabilities up). Unweighted.
    pub fn value_for(&self, kind: HealthKind, side: Side, amount: Wad) -> ReserveResult<Wad> {
        self.value_at(self.price_for(kind, side), amount, side.rounding())
    }

    /// Quote value of `amount` base units of debt (at the debt price), rounded up.
    pub fn debt_value(&self, amount: Wad) -> ReserveResult<Wad> {
        self.value_for(HealthKind::Initial, Side::Liability, amount)
    }

    /// The liquidation-eligibility value of `amount` of debt whose debt-price value is `value`
    /// (the same when the two prices are).
    pub fn liquidation_debt_value(&self, amount: Wad, value: Wad) -> ReserveResult<Wad> {
        if self.price_for(HealthKind::Maintenance, Side::Liability) == self.price_for(HealthKind::Initial, Side::Liability) {
            return Ok(value);
        }
        self.value_for(HealthKind::Maintenance, Side::Liability, amount)
    }

    /// The liquidation-eligibility value of `shares` of collateral whose borrowing-power value
    /// is `value` (the same when the two prices are).
    pub fn liquidation_collateral_value(&self, shares: u64, value: Wad) -> ReserveResult<Wad> {
        if self.price_for(HealthKind::Maintenance, Side::Asset) == self.price_for(HealthKind::Initial, Side::Asset) {
            return Ok(value);
        }
        self.liquidation_collateral_value_of(shares)
    }

    /// Quote value of `shares` of collateral at the liquidation collateral price, rounded down,
    /// computed from the shares (never from a cached value): what a liquidation sizes the
    /// seizure with and checks health with.
    pub fn liquidation_collateral_value_of(&self, shares: u64) -> ReserveResult<Wad> {
        self.value_for(HealthKind::Maintenance, Side::Asset, self.liquidity_for_shares(shares, Rounding::Down)?)
    }

    /// Quote value of `amount` of debt a liquidator repays, at the liquidation debt price,
    /// rounded down: what the repayment is credited with when sizing the seizure.
    pub fn liquidation_value_of_repaid(&self, amount: Wad) -> ReserveResult<Wad> {
        // Rounded down although it is debt: it credits the liquidator, and less credit only
        // shrinks the seizure.
        self.value_at(self.price_for(HealthKind::Maintenance, Side::Liability), amount, Rounding::Down)
    }

    /// Base units of debt worth `value` at the liquidation debt price.
    pub fn liquidation_debt_amount_for_value(&self, value: Wad, rounding: Rounding) -> ReserveResult<Wad> {
        let price = OraclePrice { mantissa: self.liquidation_debt_price_mantissa, exponent: self.market_price_exponent }.to_wad()?;
        self.amount_at(price, value, rounding)
    }

    /// Base units worth `value` at `price` (quote per whole token).
    fn amount_at(&self, price: Wad, value: Wad, rounding: Rounding) -> ReserveResult<Wad> {
        let scale = overflow(pow10(self.liquidity_decimals as u32))?;
        overflow(value.mul_ratio(overflow(scale.checked_mul(WAD))?, price.raw(), rounding))
    }

    /// Base units worth `value` at the spot price.
    pub fn amount_for_value(&self, value: Wad, rounding: Rounding) -> ReserveResult<Wad> {
        self.amount_at(self.market_price(), value, rounding)
    }

    /// Quote value of `shares` of collateral for borrowing power, rounded down (collateral is
    /// never overvalued).
    pub fn collateral_value(&self, shares: u64) -> ReserveResult<Wad> {
        self.value_for(HealthKind::Initial, Side::Asset, self.liquidity_for_shares(shares, Rounding::Down)?)
    }

    /// Record a deposit: liquidity in, shares out. The first deposit into an empty reserve
    /// leaves `DEAD_SHARES` of its shares to nobody: they stay in `collateral_supply` for good,
    /// so the share price can never again be set by a handful of shares (the first-depositor
    /// inflation attack: with them, pushing the price of a share up by `p` costs the attacker
    /// `DEAD_SHARES × p` given to those shares, while a later depositor loses at most `p`).
    pub fn deposit(&mut self, liquidity_amount: u64) -> ReserveResult<u64> {
        let minted = self.collateral_shares_for_deposit(liquidity_amount)?;
        // Every caller accrues interest first: the reserve's clock is now.
        let now = self.last_update_timestamp;
        let shares = if self.collateral_supply == 0 {
            if minted <= DEAD_SHARES {
                return Err(LendingError::FirstDepositTooSmall);
            }
            minted - DEAD_SHARES
        } else {
            minted
        };
        if shares == 0 {
            return Err(LendingError::ZeroAmount);
        }
        let total_after = overflow(self.total_liquidity()?.checked_add(Wad::from_u64(liquidity_amount)))?;
        if total_after > Wad::from_u64(self.ramped_limit(self.config.deposit_limit, now)) {
            return Err(LendingError::DepositLimitExceeded);
        }
        // At the higher of spot and EMA: the exposure is never understated.
        let cap = self.ramped_limit(self.config.deposit_limit_value, now);
        if self.config.deposit_limit_value != 0 && self.value_for(HealthKind::Maintenance, Side::Asset, total_after)? > Wad::from_u64(cap) {
            return Err(LendingError::DepositValueCapExceeded);
        }
        if self.dynamic_config.has(DYNAMIC_CONCENTRATION) && self.dynamic.initialized != 0 {
            // The scale follows the deposit at once; obligations valued before it revalue. (With
            // a value cap too, the value is computed twice: sharing it cost every deposit CU.)
            let value = self.value_for(HealthKind::Maintenance, Side::Asset, total_after)?.to_u64(Rounding::Up).unwrap_or(u64::MAX);
            let config = self.dynamic_config;
            if self.dynamic.rescale_concentration(&config, value) {
                self.valuation_epoch = self.valuation_epoch.wrapping_add(1);
            }
        }
        self.record_inflow(liquidity_amount, now);
        self.available_amount = overflow(self.available_amount.checked_add(liquidity_amount))?;
        self.collateral_supply = overflow(self.collateral_supply.checked_add(minted))?;
        Ok(shares)
    }

    /// Record a redemption of `shares`; returns the tokens paid out. Counted against the
    /// outflow limit at the reserve's clock (every caller accrues interest to now first).
    pub fn redeem(&mut self, shares: u64) -> ReserveResult<u64> {
        self.check_action(super::ACTION_WITHDRAW, self.last_update_timestamp)?;
        let amount = self.redeem_amount(shares)?;
        if amount > self.available_amount {
            return Err(LendingError::InsufficientLiquidity);
        }
        self.record_outflow(amount, self.last_update_timestamp)?;
        self.available_amount -= amount;
        self.collateral_supply = overflow(self.collateral_supply.checked_sub(shares))?;
        Ok(amount)
    }

    /// Record a borrow of `amount`; returns the origination fee, which stays in the vault.
    pub fn borrow(&mut self, amount: u64) -> ReserveResult<u64> {
        self.check_action(super::ACTION_BORROW, self.last_update_timestamp)?;
        let fee = self.borrow_fee(amount)?;
        let paid_out = overflow(amount.checked_sub(fee))?;
        if paid_out == 0 {
            return Err(LendingError::ZeroAmount);
        }
        if paid_out > self.available_amount {
            return Err(LendingError::InsufficientLiquidity);
        }
        let now = self.last_update_timestamp;
        let borrowed = overflow(self.borrowed_amount().checked_add(Wad::from_u64(amount)))?;
        if borrowed > Wad::from_u64(self.ramped_limit(self.config.borrow_limit, now)) {
            return Err(LendingError::BorrowLimitExceeded);
        }
        // At the conservative debt price (rounded up): the exposure is never understated.
        let cap = self.ramped_limit(self.config.borrow_limit_value, now);
        if self.config.borrow_limit_value != 0 && self.debt_value(borrowed)? > Wad::from_u64(cap) {
            return Err(LendingError::BorrowValueCapExceeded);
        }
        self.record_outflow(paid_out, now)?;
        self.available_amount -= paid_out;
        self.borrowed_amount_wad.set(borrowed);
        self.add_protocol_fees(Wad::from_u64(fee))?;
        Ok(fee)
    }

    /// Charges `units` (millionths of a quote unit) of new debt against this isolated
    /// collateral's ceiling (`IsolationDebtCeilingExceeded` above it).
    pub fn charge_isolated_debt(&mut self, units: u64) -> ReserveResult<()> {
        // Isolated collateral always has a ceiling above 0 (`ReserveConfig::validate`).
        self.isolated_debt = within_value_cap(self.isolated_debt, units, self.config.isolation_debt_ceiling_value)
            .ok_or(LendingError::IsolationDebtCeilingExceeded)?;
        Ok(())
    }

    /// Takes `units` of repaid debt off the isolated debt (what `Obligation::repay` released).
    pub fn release_isolated_debt(&mut self, units: u64) -> ReserveResult<()> {
        self.isolated_debt = overflow(self.isolated_debt.checked_sub(units))?;
        Ok(())
    }

    /// Record a repayment: `amount` tokens in, `settled` debt (Wad) off the books.
    pub fn repay(&mut self, amount: u64, settled: Wad) -> ReserveResult<()> {
        self.record_inflow(amount, self.last_update_timestamp);
        self.available_amount = overflow(self.available_amount.checked_add(amount))?;
        self.reduce_borrowed(settled);
        Ok(())
    }

    /// Protocol fees that can be moved to the fee vault now (bounded by idle liquidity), in whole tokens.
    pub fn collectable_protocol_fees(&self) -> ReserveResult<u64> {
        let fees = overflow(self.accumulated_protocol_fees().to_u64(Rounding::Down))?;
        Ok(fees.min(self.available_amount))
    }

    /// Of `amount` collected protocol fees, the insurance fund's part
    /// (`config.insurance_share_bps`, rounded down: the fee vault keeps the dust).
    pub fn insurance_part(&self, amount: u64) -> ReserveResult<u64> {
        let bps = self.config.insurance_share_bps as u128;
        if bps == 0 {
            return Ok(0);
        }
        // amount × bps < 2^78: one long division by 10^4 in native 64-bit steps.
        Ok(crate::math::div_rem_small(amount as u128 * bps, BPS_DENOMINATOR as u64).0 as u64)
    }

    pub fn collect_protocol_fees(&mut self, amount: u64) -> ReserveResult<()> {
        self.available_amount = overflow(self.available_amount.checked_sub(amount))?;
        self.accumulated_protocol_fees_wad
            .set(overflow(self.accumulated_protocol_fees().checked_sub(Wad::from_u64(amount)))?);
        Ok(())
    }

    /// Fee owed on a flash loan of `amount`, rounded up (against the borrower).
    pub fn flash_loan_fee(&self, amount: u64) -> ReserveResult<u64> {
        fee_on(amount, self.config.flash_loan_fee_bps)
    }

    /// Origination fee on a borrow of `amount`, rounded up (against the borrower).
    pub fn borrow_fee(&self, amount: u64) -> ReserveResult<u64> {
        fee_on(amount, self.config.borrow_fee_bps)
    }

    /// Adds to the protocol's claim on the reserve.
    fn add_protocol_fees(&mut self, amount: Wad) -> ReserveResult<()> {
        self.accumulated_protocol_fees_wad.set(overflow(self.accumulated_protocol_fees().checked_add(amount))?);
        Ok(())
    }

    /// Takes `settled` off the total debt. Each obligation rounds its debt up, so their sum can
    /// exceed the reserve's total by a few raw units; the last repayer (or write-off) must not be
    /// blocked by that.
    fn reduce_borrowed(&mut self, settled: Wad) {
        self.borrowed_amount_wad.set(self.borrowed_amount().checked_sub(settled).unwrap_or(Wad::ZERO));
    }

    /// Record a flash loan of `amount` going out; at most one may be open per reserve.
    pub fn flash_borrow(&mut self, amount: u64) -> ReserveResult<()> {
        if amount == 0 {
            return Err(LendingError::ZeroAmount);
        }
        if self.flash_loan_amount != 0 {
            return Err(LendingError::FlashLoanNested);
        }
        if amount > self.available_amount {
            return Err(LendingError::InsufficientLiquidity);
        }
        self.available_amount -= amount;
        self.flash_loan_amount = amount;
        Ok(())
    }

    /// Record the open flash loan of `amount` coming back with its fee. Returns (fee, protocol
    /// share of the fee); the rest of the fee goes to depositors.
    pub fn flash_repay(&mut self, amount: u64) -> ReserveResult<(u64, u64)> {
        if self.flash_loan_amount == 0 {
            return Err(LendingError::FlashRepayWithoutBorrow);
        }
        if amount != self.flash_loan_amount {
            return Err(LendingError::FlashRepayAmountMismatch);
        }
        let fee = self.flash_loan_fee(amount)?;
        let protocol_share = overflow(
            Wad::from_u64(fee)
                .mul_bps(self.config.protocol_take_rate_bps as u64, Rounding::Down)
                .and_then(|share| share.to_u64(Rounding::Down)),
        )?;
        let returned = overflow(amount.checked_add(fee))?;
        self.available_amount = overflow(self.available_amount.checked_add(returned))?;
        self.flash_loan_amount = 0;
        self.add_protocol_fees(Wad::from_u64(protocol_share))?;
        Ok((fee, protocol_share))
    }

    /// Takes `debt` that can no longer be repaid off the books: the depositors' claim, and so
    /// the share price, falls by it. Protocol fees are part of the same pool; if the loss leaves
    /// less than they claim, the protocol's claim shrinks to what is left. Returns the fees
    /// forgone that way.
    pub fn write_off_bad_debt(&mut self, debt: Wad) -> ReserveResult<Wad> {
        self.reduce_borrowed(debt);
        self.valuation_epoch = self.valuation_epoch.wrapping_add(1);
        let pool = overflow(Wad::from_u64(self.liquidity_on_hand()?).checked_add(self.borrowed_amount()))?;
        let fees = self.accumulated_protocol_fees();
        if fees <= pool {
            return Ok(Wad::ZERO);
        }
        self.accumulated_protocol_fees_wad.set(pool);
        overflow(fees.checked_sub(pool))
    }

    /// Record a liquidation's seizure: `redeemed_shares` leave the supply; `tokens_out` of the
    /// `redeemed_amount` they were quoted at go to the liquidator and the rest stays in the vault
    /// as protocol fees (the protocol's part of the bonus plus the redemption's rounding).
    /// `redeemed_amount` is `redeem_amount(redeemed_shares)` at this reserve's state before the
    /// call; a repayment into it since can only have raised the share price, so the amount is
    /// never more than the shares are worth and the share price never falls. Shares paid as share
    /// tokens are not touched: they move from the obligation's ledger to the share mint, and
    /// `collateral_supply` counts both. Returns the fee kept.
    pub fn settle_seizure(&mut self, redeemed_shares: u64, redeemed_amount: u64, tokens_out: u64) -> ReserveResult<u64> {
        let fee = redeemed_amount.checked_sub(tokens_out).or_overflow()?;
        if tokens_out > self.available_amount {
            return Err(LendingError::InsufficientLiquidity);
        }
        self.available_amount -= tokens_out;
        self.collateral_supply = overflow(self.collateral_supply.checked_sub(redeemed_shares))?;
        self.add_protocol_fees(Wad::from_u64(fee))?;
        Ok(fee)
    }
}
