use super::{settle_repayment, HealthKind, LendingMarket, LiquidationLimits, Obligation, ObligationValues, Reserve, RiskParams};
use crate::errors::{LendingError, OrOverflow};
use crate::math::{Rounding, Wad, BPS_DENOMINATOR};

/// What one liquidation call moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationPlan {
    /// Tokens the liquidator pays into the repay reserve.
    pub repay_amount: u64,
    /// Debt taken off the obligation (equals `repay_amount` unless the whole debt is settled).
    pub settled_debt: Wad,
    /// Collateral shares taken from the obligation.
    pub seized_shares: u64,
    /// Quote value of the repayment at the liquidation debt price, rounded down.
    pub repay_value: Wad,
    /// Quote value of the collateral the seizure was sized at (the repayment's value × (1 +
    /// bonus), or the whole position's when it is all taken), at the liquidation collateral
    /// price: the seized shares are worth at most this.
    pub seize_value: Wad,
}

/// How the seized shares reach the liquidator: as liquidity tokens while the collateral
/// reserve's idle liquidity lasts, the rest as share tokens of that reserve (to redeem once
/// liquidity returns, earning interest meanwhile), so a fully borrowed reserve cannot jam the
/// liquidation of its collateral.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Payout {
    /// Liquidity tokens paid to the liquidator.
    pub tokens: u64,
    /// Share tokens minted to the liquidator.
    pub shares: u64,
    /// Seized shares redeemed for the tokens paid plus the protocol's part of the bonus, and
    /// the liquidity they redeem for (at the reserve's share price before the call).
    pub redeemed_shares: u64,
    pub redeemed_amount: u64,
    /// The protocol's part of the bonus as planned; the reserve keeps at least this (the
    /// rounding remainder of the redemption too).
    pub protocol_fee: u64,
}

/// Everything one liquidation call does, computed once: `liquidate` executes it and the keeper
/// ranks opportunities by it, so both see the same amounts to the base unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationQuote {
    pub plan: LiquidationPlan,
    /// The Dutch auction's bonus for this obligation now (the liquidation auction's, the
    /// order's or the soft zone's).
    pub auction_bonus_bps: u64,
    /// The bonus paid: the auction's, capped (for a solvent obligation) so the liquidation
    /// cannot lower the health factor or the collateral-to-debt ratio.
    pub bonus_bps: u64,
    /// Collateral below debt at the liquidation prices before the call: the loss exists already,
    /// the close factor is lifted and the rest goes to `write_off_bad_debt`.
    pub insolvent: bool,
    /// The seized position's value and the repaid debt's value at the liquidation prices before
    /// the call, as the refresh added them to the sums, and the collateral's threshold.
    pub collateral_value_before: Wad,
    pub collateral_threshold_bps: u16,
    pub debt_value_before: Wad,
    /// The repaid debt's borrow weight (bps): what the weighted debt sum loses per unit repaid.
    pub debt_weight_bps: u16,
    pub payout: Payout,
    /// The obligation's cached values the quote was made from.
    pub values_before: ObligationValues,
    /// For an order or a soft call, the most of the debt it may repay (its share, whatever
    /// was requested): what a call's repayment is measured against when it moves the bonus
    /// clock (`advance_clock`). 0 for a liquidation.
    pub deleverage_share: u64,
}

/// The inputs of a quote that are not account state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiquidationRequest {
    /// Index of the debt in `obligation.borrows` and of the collateral in `obligation.deposits`.
    pub borrow_slot: usize,
    pub deposit_index: usize,
    /// Most tokens the liquidator will repay.
    pub max_repay: u64,
    /// Unix time of the call (the auction clock).
    pub now: i64,
    /// The liquidator takes share tokens for what idle liquidity cannot pay.
    pub accept_shares: bool,
    /// Repay and withdraw reserve are one account: the repayment is liquidity for the payout.
    pub same_reserve: bool,
}

/// Bonus headroom kept below the exact health-preserving cap, so that rounding of the values
/// recomputed after the call (each a few raw units) cannot tip the health check.
pub const BONUS_CAP_MARGIN_BPS: u128 = 1;

/// What a call to the liquidation's sizing executes: a hard liquidation, one of the owner's
/// orders, or a soft-zone deleverage (`state::deleverage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleverage {
    /// `liquidate`: an unhealthy obligation, the liquidation auction's bonus, the close factor
    /// and the market's per-call cap.
    Liquidation,
    /// `execute_obligation_order`: the order in this slot, triggered at the refresh, its own
    /// bonus auction and repay share.
    Order(usize),
    /// `soft_deleverage`: an obligation in the collateral reserve's soft zone, at its ramped
    /// bonus and repay share, at most once per interval.
    Soft,
}

/// Sizes one liquidation of `obligation` (fresh, so its liquidation sums are at the liquidation
/// prices): the auction bonus, capped for a solvent obligation by
/// `health_preserving_bonus`; both legs valued at the liquidation prices of their asset
/// (collateral at the higher, debt at the lower of spot and EMA, the prices that made it
/// eligible), so the bonus measured at spot never exceeds the bonus paid; then the payout.
pub fn quote_liquidation(
    market: &LendingMarket,
    obligation: &Obligation,
    repay_reserve: &Reserve,
    withdraw_reserve: &Reserve,
    request: LiquidationRequest,
) -> Result<LiquidationQuote, LendingError> {
    quote_deleverage(market, obligation, repay_reserve, withdraw_reserve, request, Deleverage::Liquidation)
}

/// `quote_liquidation` for any `Deleverage`: the same sizing, payout and health cap; what
/// differs is who is eligible, the bonus and the most one call repays. An order or a soft call
/// needs a solvent obligation (`ObligationInsolvent`: the loss is the liquidation's to close),
/// pays no protocol share, and its bonus stays below the collateral's liquidation bonus.
/// Refusals, in order: the positions (`BorrowNotFound`, `DepositNotFound`); for a liquidation
/// `ObligationHealthy`; for an order `OrderNotFound`, `OrderReserveMismatch`,
/// `OrderNotTriggered`, `ObligationInsolvent`; for a soft call `SoftZoneDisabled`,
/// `ObligationUnhealthy`, `NotInSoftZone`, `SoftDeleverageTooSoon`.
pub fn quote_deleverage(
    market: &LendingMarket,
    obligation: &Obligation,
    repay_reserve: &Reserve,
    withdraw_reserve: &Reserve,
    request: LiquidationRequest,
    mode: Deleverage,
) -> Result<LiquidationQuote, LendingError> {
    let values = obligation.values();
    if mode == Deleverage::Liquidation && !values.is_unhealthy() {
        return Err(LendingError::ObligationHealthy);
    }
    let borrow = obligation.borrows.get(request.borrow_slot).ok_or(LendingError::BorrowNotFound)?;
    let collateral = obligation.deposits.get(request.deposit_index).ok_or(LendingError::DepositNotFound)?;
    // Both positions' parameters as the obligation weighs them (its e-mode group's for members).
    let (collateral_params, debt_params) = (values.risk_params(withdraw_reserve), values.risk_params(repay_reserve));
    let insolvent = !values.is_solvent();
    let debt = borrow.borrowed_amount();
    let below_liquidation = (collateral_params.liquidation_bonus_bps as u64).saturating_sub(1);
    let (auction_bonus_bps, limits, share, share_bps) = match mode {
        Deleverage::Liquidation => {
            let unhealthy_for_secs = request.now.saturating_sub(obligation.unhealthy_since);
            let bonus = liquidation_bonus_bps(&collateral_params, &values, unhealthy_for_secs);
            let limits = market.liquidation_limits(values.deposited_value, values.borrowed_value);
            (bonus, limits, 0, market.liquidation_protocol_share_bps as u64)
        }
        Deleverage::Order(index) => {
            let order = obligation.orders.get(index).filter(|order| order.is_active()).ok_or(LendingError::OrderNotFound)?;
            if order.repay_reserve != borrow.borrow_reserve || order.withdraw_reserve != collateral.deposit_reserve {
                return Err(LendingError::OrderReserveMismatch);
            }
            if order.triggered_since == 0 {
                return Err(LendingError::OrderNotTriggered);
            }
            if insolvent {
                return Err(LendingError::ObligationInsolvent);
            }
            let share = super::debt_fraction(debt, order.max_repay_bps)?;
            (order.bonus_bps(request.now).min(below_liquidation), LiquidationLimits::WHOLE_DEBT, share, 0)
        }
        Deleverage::Soft => {
            let zone = &withdraw_reserve.soft_zone;
            if !zone.is_enabled() {
                return Err(LendingError::SoftZoneDisabled);
            }
            if values.is_unhealthy() {
                return Err(LendingError::ObligationUnhealthy);
            }
            if !super::in_soft_zone(&values, zone.start_bps) || obligation.soft_zone_since == 0 {
                return Err(LendingError::NotInSoftZone);
            }
            let last = obligation.last_soft_deleverage;
            if last != 0 && request.now < last.saturating_add(zone.min_interval_secs as i64) {
                return Err(LendingError::SoftDeleverageTooSoon);
            }
            let elapsed = request.now.saturating_sub(obligation.soft_zone_since);
            let bonus = super::dutch_bonus_bps(zone.max_bonus_bps, zone.bonus_ramp_secs, elapsed).min(below_liquidation);
            let share = super::debt_fraction(debt, zone.max_repay_bps)?;
            (bonus, LiquidationLimits::WHOLE_DEBT, share, 0)
        }
    };
    let (collateral_threshold_bps, debt_weight_bps) = (collateral_params.liquidation_threshold_bps, debt_params.borrow_weight_bps);
    let bonus_bps = if insolvent {
        auction_bonus_bps
    } else {
        health_preserving_bonus(&values, collateral_threshold_bps, debt_weight_bps, auction_bonus_bps)?
    };
    // The values the fresh refresh added to the liquidation sums for these two positions.
    let collateral_value_before =
        withdraw_reserve.liquidation_collateral_value(collateral.deposited_shares, collateral.market_value_wad.get())?;
    let debt_value_before = repay_reserve.liquidation_debt_value(debt, borrow.market_value_wad.get())?;
    let max_repay = if mode == Deleverage::Liquidation { request.max_repay } else { request.max_repay.min(share) };
    let plan = plan_liquidation(
        max_repay,
        debt,
        repay_reserve,
        collateral.deposited_shares,
        collateral_value_before,
        bonus_bps,
        limits,
        insolvent,
    )?;
    let repaid_here = if request.same_reserve { plan.repay_amount } else { 0 };
    let available = withdraw_reserve.available_amount.checked_add(repaid_here).or_overflow()?;
    let payout = plan_payout(withdraw_reserve, available, plan.seized_shares, bonus_bps, share_bps, request.accept_shares)?;
    Ok(LiquidationQuote {
        plan,
        auction_bonus_bps,
        bonus_bps,
        insolvent,
        collateral_value_before,
        collateral_threshold_bps,
        debt_value_before,
        debt_weight_bps,
        payout,
        values_before: values,
        deleverage_share: share,
    })
}

/// The bonus to pay a solvent obligation: the auction's `bonus_bps`, or less if that would
/// lower the health factor `HF = WC / Dw` (`Maintenance`: threshold-weighted collateral against
/// debt weighted by the borrow weights) or the collateral-to-debt ratio `C / D` (`Payout`), all
/// at the liquidation prices, when repaying a debt of borrow weight `w` (`debt_weight_bps`) and
/// seizing collateral of liquidation threshold `lt_bps`. Repaying value `x` and seizing
/// `x (1 + b)` turns `WC / Dw` into `(WC - x (1 + b) LT) / (Dw - w x)`, which is not lower
/// exactly when `(1 + b) LT <= w HF`; likewise `C / D` is kept when `1 + b <= C / D`. So
/// `b <= min(w HF / LT, C / D) - 1`, less `BONUS_CAP_MARGIN_BPS` for the rounding of the values
/// recomputed after the call. `LiquidationWouldLowerHealth` when even no bonus would lower the
/// health factor (`w HF < LT`): a solvent obligation then has another collateral whose
/// threshold is lower, or another debt whose weight is higher.
pub fn health_preserving_bonus(values: &ObligationValues, lt_bps: u16, debt_weight_bps: u16, bonus_bps: u64) -> Result<u64, LendingError> {
    let (maintenance, payout) = (values.health(HealthKind::Maintenance), values.health(HealthKind::Payout));
    // Weighted debt Dw (borrow weights) for the health factor, unweighted D for solvency.
    let (debt_weighted, debt) = (maintenance.liabilities.raw(), payout.liabilities.raw());
    // Fast path, multiplications only: the auction's bonus keeps both ratios. The sums are
    // scaled to 64 bits, collateral rounded down and debt up, so the fast path can only be
    // refused where the exact computation below would have allowed it.
    use crate::math::{shift_down, shift_to_64_bits, shift_up};
    let (weighted, collateral) = (maintenance.assets.raw(), payout.assets.raw());
    let shift = shift_to_64_bits(weighted | collateral | debt_weighted | debt);
    // Bounds: scaled values <= 2^64, the multiplier < 2^40 (checked), lt < 2^14, the weight
    // < 2^16, 10^4 < 2^14: no product below reaches 2^128.
    let multiplier = BPS_DENOMINATOR + BONUS_CAP_MARGIN_BPS + bonus_bps as u128;
    if multiplier >> 40 != 0 {
        return Err(crate::errors::overflow_here());
    }
    let keeps_solvency = shift_up(debt, shift).wrapping_mul(multiplier) <= shift_down(collateral, shift).wrapping_mul(BPS_DENOMINATOR);
    // Repaying value x of a debt of weight w takes w x off Dw: the health factor is kept when
    // (1 + b) LT Dw <= w WC.
    let keeps_health = shift_up(debt_weighted, shift).wrapping_mul(multiplier).wrapping_mul(lt_bps as u128)
        <= shift_down(weighted, shift).wrapping_mul(debt_weight_bps as u128 * BPS_DENOMINATOR);
    if keeps_solvency && keeps_health {
        return Ok(bonus_bps);
    }
    // The cap, in 64-bit arithmetic: the weighted debt scaled to at most 20 bits (rounded up),
    // the unweighted debt (at least a fifth of it) and the collateral sums by the same shift
    // (collateral rounded down) keep each ratio within 1 bps of the exact one and never above
    // it, so the cap errs toward a smaller bonus.
    let debt_shift = 128 - debt_weighted.leading_zeros();
    let shift = debt_shift.saturating_sub(20);
    let narrow = |value: u128| u64::try_from(value).unwrap_or(u64::MAX);
    let (debt_weighted_up, debt_up) = (narrow(shift_up(debt_weighted, shift)), narrow(shift_up(debt, shift)));
    let (weighted_down, collateral_down) = (shift_down(weighted, shift), shift_down(collateral, shift));
    let full = BPS_DENOMINATOR as u64;
    // Unhealthy: the weighted sum is below the weighted debt, so its scaled value fits 20 bits.
    let health_ratio = u64::try_from(weighted_down)
        .unwrap_or(u64::MAX)
        .saturating_mul(debt_weight_bps as u64 * full)
        / debt_weighted_up.saturating_mul(lt_bps as u64).max(1);
    let solvency_ratio = u64::try_from(collateral_down).unwrap_or(u64::MAX >> 14).saturating_mul(full) / debt_up.max(1);
    let ratio = health_ratio.min(solvency_ratio);
    if ratio < full {
        return Err(LendingError::LiquidationWouldLowerHealth);
    }
    let cap = ratio.saturating_sub(full + BONUS_CAP_MARGIN_BPS as u64);
    Ok(bonus_bps.min(cap))
}

/// Splits a seizure of `seized_shares` into what the liquidator is paid and what the protocol
/// keeps: the shares' liquidity, less the protocol's part of the bonus, in tokens while
/// `available` lasts; the rest as share tokens when `accept_shares`, else
/// `InsufficientLiquidity`. Shares paid as shares round down (against the liquidator).
pub fn plan_payout(
    reserve: &Reserve,
    available: u64,
    seized_shares: u64,
    bonus_bps: u64,
    share_bps: u64,
    accept_shares: bool,
) -> Result<Payout, LendingError> {
    let seized_amount = reserve.redeem_amount(seized_shares)?;
    let protocol_fee = protocol_share_of_bonus(seized_amount, bonus_bps, share_bps).or_overflow()?;
    let owed = seized_amount - protocol_fee;
    if owed <= available {
        return Ok(Payout { tokens: owed, shares: 0, redeemed_shares: seized_shares, redeemed_amount: seized_amount, protocol_fee });
    }
    if !accept_shares {
        return Err(LendingError::InsufficientLiquidity);
    }
    // Redeem the fewest shares that cover the tokens paid and the protocol's part (rounded up),
    // and pay the rest of the seizure as shares.
    let redeemed = reserve.shares_for_amount(available.checked_add(protocol_fee).or_overflow()?, Rounding::Up)?;
    let shares = seized_shares.checked_sub(redeemed).or_overflow()?;
    let redeemed_amount = reserve.redeem_amount(redeemed)?;
    Ok(Payout { tokens: available, shares, redeemed_shares: redeemed, redeemed_amount, protocol_fee })
}

/// How far below its liquidation threshold an obligation must be for the auction's depth part
/// to reach the maximum bonus: debt 10% above the threshold-weighted collateral.
pub const DEPTH_FOR_MAX_BONUS_BPS: u128 = 1_000;

/// The liquidation bonus of a collateral position for an obligation (`params`: the reserve's, or
/// its e-mode group's), a Dutch auction from `liquidation_bonus_bps` up to
/// `max_liquidation_bonus_bps`: it rises with how far the
/// debt exceeds the threshold-weighted collateral (full at `DEPTH_FOR_MAX_BONUS_BPS`) plus how long
/// the obligation has been unhealthy (full after `liquidation_bonus_ramp_secs`), capped at the
/// maximum. Rounded down, against the liquidator.
pub fn liquidation_bonus_bps(params: &RiskParams, values: &ObligationValues, unhealthy_for_secs: i64) -> u64 {
    let (min, max) = (params.liquidation_bonus_bps as u128, params.max_liquidation_bonus_bps as u128);
    if max <= min {
        return min as u64;
    }
    let full = BPS_DENOMINATOR;
    let maintenance = values.health(HealthKind::Maintenance);
    let depth = match maintenance.liabilities.checked_sub(maintenance.assets) {
        Some(excess) if !maintenance.assets.is_zero() => crate::math::mul_div(
            excess.raw(),
            full * full,
            maintenance.assets.raw().saturating_mul(DEPTH_FOR_MAX_BONUS_BPS),
            Rounding::Down,
        )
        .unwrap_or(full),
        Some(_) => full,
        None => 0,
    };
    let ramp = params.liquidation_bonus_ramp_secs as u128;
    let time = (unhealthy_for_secs.max(0) as u128).saturating_mul(full).checked_div(ramp).unwrap_or(0);
    let progress = depth.saturating_add(time).min(full);
    (min + (max - min) * progress / full) as u64
}

/// The protocol's part of a seizure of `seized_amount` paid at `bonus_bps`: `share_bps` of the
/// bonus part, `seized × bonus / (1 + bonus)`, both rounded down (the liquidator keeps the dust).
pub fn protocol_share_of_bonus(seized_amount: u64, bonus_bps: u64, share_bps: u64) -> Option<u64> {
    if share_bps == 0 || bonus_bps == 0 {
        return Some(0);
    }
    let bonus_part = crate::math::mul_div(seized_amount as u128, bonus_bps as u128, BPS_DENOMINATOR + bonus_bps as u128, Rounding::Down)?;
    let share = crate::math::mul_div(bonus_part, share_bps as u128, BPS_DENOMINATOR, Rounding::Down)?;
    u64::try_from(share).ok()
}

/// Sizes a liquidation: repay at most the close factor of one debt (all of it when the
/// obligation is dust or insolvent) and at most the market's per-call cap in value (not for
/// dust); receive collateral worth the repaid value × (1 + `bonus_bps`), never more than the
/// position holds. Both legs at the liquidation prices: the repayment at the debt's (the lower
/// of spot and EMA), `collateral_value` at the collateral's (the higher). Every rounding goes
/// against the liquidator: repaid value down, seized shares down, repay needed for a capped
/// seizure up.
#[allow(clippy::too_many_arguments)]
pub fn plan_liquidation(
    requested_repay: u64,
    debt: Wad,
    repay_reserve: &Reserve,
    collateral_shares: u64,
    collateral_value: Wad,
    bonus_bps: u64,
    limits: LiquidationLimits,
    insolvent: bool,
) -> Result<LiquidationPlan, LendingError> {
    let whole_debt = limits.full_liquidation || insolvent;
    let close_factor_bps = if whole_debt { BPS_DENOMINATOR as u64 } else { repay_reserve.config.close_factor_bps as u64 };
    let mut max_repay = debt.mul_bps(close_factor_bps, Rounding::Up).and_then(|w| w.to_u64(Rounding::Up)).or_overflow()?;
    if let Some(cap_value) = limits.cap_value {
        let cap_amount = repay_reserve.liquidation_debt_amount_for_value(cap_value, Rounding::Down)?.to_u64(Rounding::Down).or_overflow()?;
        max_repay = max_repay.min(cap_amount);
    }
    let (mut repay_amount, mut settled_debt) = settle_repayment(requested_repay.min(max_repay), debt)?;
    let bonus_multiplier = BPS_DENOMINATOR as u64 + bonus_bps;
    let mut repay_value = repay_reserve.liquidation_value_of_repaid(Wad::from_u64(repay_amount))?;
    let mut seize_value = repay_value.mul_bps(bonus_multiplier, Rounding::Down).or_overflow()?;

    let seized_shares = if seize_value >= collateral_value {
        // The position cannot cover the bonus on this repay: take all of it, and repay only what
        // it covers.
        let covered_value = collateral_value
            .mul_ratio(BPS_DENOMINATOR, bonus_multiplier as u128, Rounding::Up)
            .or_overflow()?;
        let covered_amount = repay_reserve
            .liquidation_debt_amount_for_value(covered_value, Rounding::Up)?
            .to_u64(Rounding::Up)
            .or_overflow()?;
        (repay_amount, settled_debt) = settle_repayment(covered_amount.min(repay_amount), debt)?;
        repay_value = repay_reserve.liquidation_value_of_repaid(Wad::from_u64(repay_amount))?;
        seize_value = collateral_value;
        collateral_shares
    } else {
        let shares = crate::math::mul_div(
            collateral_shares as u128,
            seize_value.raw(),
            collateral_value.raw(),
            Rounding::Down,
        )
        .or_overflow()?;
        u64::try_from(shares).ok().or_overflow()?
    };
    if repay_amount == 0 || seized_shares == 0 {
        return Err(LendingError::LiquidationTooSmall);
    }
    Ok(LiquidationPlan { repay_amount, settled_debt, seized_shares, repay_value, seize_value })
}

/// The obligation's liquidation sums after a liquidation executed from `quote`, and the check
/// that it kept health: a solvent obligation's health factor must not fall
/// (`LiquidationLoweredHealth` otherwise); an insolvent one is exempt (its loss exists already:
/// the close-out takes collateral and `write_off_bad_debt` books the rest).
///
/// What the call took off the sums is bounded from what it moved, so the sums after can only
/// understate health. A position taken whole or a debt settled whole leaves exactly what the
/// refresh added for it. Otherwise the seized shares `s` of the `h` held are at most
/// `seize_value` (`s = floor(h × seize_value / value)`), and the collateral left is worth at least
/// `value - seize_value` (value is linear in shares at one price, and a seizure never lowers the
/// share price), so the weighted sum loses at most `seize_value × threshold` rounded up; and the
/// debt left is worth at most its value before (rounded up) less the repayment's (rounded down).
pub fn values_after_liquidation(
    before: &ObligationValues,
    quote: &LiquidationQuote,
    collateral_taken_whole: bool,
    debt_settled_whole: bool,
) -> Result<ObligationValues, LendingError> {
    let mut after = *before;
    let plan = &quote.plan;
    let threshold = quote.collateral_threshold_bps as u64;
    // What the sums lose for the collateral: exactly what the refresh added for a position
    // taken whole (its value × threshold rounded down); at most the seizure's value otherwise.
    let (value, weighted) = if collateral_taken_whole {
        (quote.collateral_value_before, quote.collateral_value_before.mul_bps(threshold, Rounding::Down))
    } else {
        (plan.seize_value, plan.seize_value.mul_bps(threshold, Rounding::Up))
    };
    after.take_liquidation_collateral_weighted([weighted.or_overflow()?, value]);
    // The debt: exactly what the refresh added for a debt settled whole (its value weighted,
    // rounded up); at most the repayment's value weighted, rounded down, otherwise.
    let weight = quote.debt_weight_bps as u64;
    let full = weight as u128 == BPS_DENOMINATOR;
    let (debt_value, rounding) = if debt_settled_whole { (quote.debt_value_before, Rounding::Up) } else { (plan.repay_value, Rounding::Down) };
    let weighted_debt = if full { debt_value } else { debt_value.mul_bps(weight, rounding).or_overflow()? };
    after.take_liquidation_debt_weighted([weighted_debt, debt_value]);
    if !quote.insolvent && !after.health_not_below(before) {
        return Err(LendingError::LiquidationLoweredHealth);
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::WAD;
    use crate::state::{Health, ReserveConfig};
    use bytemuck::Zeroable;

    fn reserve(decimals: u8, price_dollars: u128, bonus_bps: u16) -> Reserve {
        let mut reserve = Reserve::zeroed();
        reserve.liquidity_decimals = decimals;
        reserve.set_market_price(crate::oracle::OraclePrice { mantissa: price_dollars as u64, exponent: 0 }).unwrap();
        reserve.config = ReserveConfig { close_factor_bps: 5_000, liquidation_bonus_bps: bonus_bps, ..Default::default() };
        reserve
    }

    #[test]
    fn close_factor_bounds_the_repay() {
        let usdc = reserve(6, 1, 0);
        // $1,000 debt, $2,000 of collateral in 20e9 shares; asks to repay everything.
        let plan = plan_liquidation(u64::MAX, Wad::from_u64(1_000_000_000), &usdc, 20_000_000_000, Wad(2_000 * WAD), 500, LiquidationLimits::default(), false)
            .unwrap();
        assert_eq!(plan.repay_amount, 500_000_000);
        assert_eq!(plan.settled_debt, Wad::from_u64(500_000_000));
        // $500 × 1.05 = $525 of $2,000: 5.25e9 of 20e9 shares.
        assert_eq!(plan.seized_shares, 5_250_000_000);
    }

    #[test]
    fn seizure_is_capped_at_the_position_and_repay_shrinks() {
        let usdc = reserve(6, 1, 0);
        // $1,000 debt but only $210 of collateral: repay what $210 covers at a 5% bonus, $200.
        let plan =
            plan_liquidation(u64::MAX, Wad::from_u64(1_000_000_000), &usdc, 2_100_000_000, Wad(210 * WAD), 500, LiquidationLimits::default(), false).unwrap();
        assert_eq!(plan.seized_shares, 2_100_000_000);
        assert_eq!(plan.repay_amount, 200_000_000);
    }

    #[test]
    fn dust_repay_is_refused() {
        let usdc = reserve(6, 1, 0);
        // One share of a $1,000,000 position of 1e9 shares is worth $0.001; repaying one base unit
        // of USDC ($0.000001) earns less than a share, so the seizure rounds to zero.
        let result = plan_liquidation(1, Wad::from_u64(1_000_000), &usdc, 1_000_000_000, Wad(1_000_000 * WAD), 500, LiquidationLimits::default(), false);
        assert_eq!(result, Err(LendingError::LiquidationTooSmall));
    }

    #[test]
    fn the_cap_bounds_the_repay_and_dust_lifts_both_bounds() {
        let usdc = reserve(6, 1, 0);
        let debt = Wad::from_u64(1_000_000_000);
        let capped = LiquidationLimits { cap_value: Some(Wad(100 * WAD)), full_liquidation: false };
        let plan = plan_liquidation(u64::MAX, debt, &usdc, 20_000_000_000, Wad(2_000 * WAD), 500, capped, false).unwrap();
        assert_eq!(plan.repay_amount, 100_000_000, "$100 cap at $1 per USDC");
        let dust = LiquidationLimits { cap_value: None, full_liquidation: true };
        let plan = plan_liquidation(u64::MAX, debt, &usdc, 20_000_000_000, Wad(2_000 * WAD), 500, dust, false).unwrap();
        assert_eq!(plan.repay_amount, 1_000_000_000, "the whole debt, past the 50% close factor");
        assert_eq!(plan.settled_debt, debt);
    }

    #[test]
    fn the_bonus_auction_runs_from_the_minimum_to_the_maximum() {
        let config = ReserveConfig {
            liquidation_bonus_bps: 500,
            max_liquidation_bonus_bps: 1_500,
            liquidation_bonus_ramp_secs: 600,
            ..Default::default()
        };
        let values = |borrowed: u128, unhealthy: u128| {
            let maintenance = Health { assets: Wad(unhealthy * WAD), liabilities: Wad(borrowed * WAD) };
            ObligationValues::with_health(Wad::ZERO, Wad::ZERO, Health::default(), maintenance, Health::default())
        };
        // Just unhealthy, just now: the minimum.
        assert_eq!(liquidation_bonus_bps(&config.risk_params(), &values(1_000, 1_000), 0), 500);
        // 5% over the threshold (half of the 10% depth): halfway, 1,000 bps.
        assert_eq!(liquidation_bonus_bps(&config.risk_params(), &values(1_050, 1_000), 0), 1_000);
        // Half the ramp on time alone: also halfway.
        assert_eq!(liquidation_bonus_bps(&config.risk_params(), &values(1_000, 1_000), 300), 1_000);
        // Depth and time add up: a quarter each.
        assert_eq!(liquidation_bonus_bps(&config.risk_params(), &values(1_025, 1_000), 150), 1_000);
        // Both past their ends: the maximum, never more.
        assert_eq!(liquidation_bonus_bps(&config.risk_params(), &values(2_000, 1_000), 10_000), 1_500);
        assert_eq!(liquidation_bonus_bps(&config.risk_params(), &values(1_000, 0), 0), 1_500, "no collateral left: the maximum");
        // Without a maximum there is no auction.
        let fixed = ReserveConfig { max_liquidation_bonus_bps: 0, ..config };
        assert_eq!(liquidation_bonus_bps(&fixed.risk_params(), &values(2_000, 1_000), 10_000), 500);
    }

    #[test]
    fn the_protocol_takes_its_share_of_the_bonus_only() {
        // 1,050 seized at a 5% bonus: 50 of it is bonus; a 40% share is 20.
        assert_eq!(protocol_share_of_bonus(1_050, 500, 4_000), Some(20));
        assert_eq!(protocol_share_of_bonus(1_050, 500, 0), Some(0));
        assert_eq!(protocol_share_of_bonus(1_050, 0, 10_000), Some(0), "no bonus, nothing to share");
        assert_eq!(protocol_share_of_bonus(1_049, 500, 10_000), Some(49), "rounded down");
    }
}
