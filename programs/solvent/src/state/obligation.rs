use super::{debt_units, in_soft_zone, weighted, Emode, ObligationOrder, MAX_OBLIGATION_ORDERS, EmodeGroup, Health, HealthKind, Reserve, ReserveConfig, Side, StoredWad};
use crate::errors::{overflow, LendingError};
use crate::math::{mul_div, shift_down, shift_to_64_bits, shift_up, Rounding, Wad};
use anchor_lang::prelude::*;

pub const OBLIGATION_SEED: &[u8] = b"obligation";
pub const MAX_OBLIGATION_DEPOSITS: usize = 8;
pub const MAX_OBLIGATION_BORROWS: usize = 8;

/// Collateral shares of one reserve held by an obligation.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct ObligationCollateral {
    pub deposit_reserve: Pubkey,
    pub deposited_shares: u64,
    /// Quote value at the last refresh, rounded down.
    pub market_value_wad: StoredWad,
}

/// Debt owed to one reserve by an obligation.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct ObligationLiquidity {
    pub borrow_reserve: Pubkey,
    /// The reserve's cumulative borrow index when `borrowed_amount_wad` was last brought up to date.
    pub cumulative_borrow_index_wad: StoredWad,
    /// Debt in base units, interest included.
    pub borrowed_amount_wad: StoredWad,
    /// Quote value at the last refresh, rounded up.
    pub market_value_wad: StoredWad,
}

/// One user's positions across the reserves of a market, and their cached values.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Obligation {
    pub version: u8,
    pub obligation_id: u8,
    /// Set by instructions that change positions without revaluing them (deposit, repay,
    /// liquidate); cleared by refresh_obligation.
    pub stale: u8,
    pub bump: u8,
    pub padding0: [u8; 4],
    pub lending_market: Pubkey,
    pub owner: Pubkey,
    pub last_update_slot: u64,
    pub deposited_value_wad: StoredWad,
    pub borrowed_value_wad: StoredWad,
    /// Σ collateral value × loan-to-value.
    pub allowed_borrow_value_wad: StoredWad,
    /// Σ collateral value × liquidation threshold; liquidatable when borrowed value exceeds it.
    pub unhealthy_borrow_value_wad: StoredWad,
    pub deposits: [ObligationCollateral; MAX_OBLIGATION_DEPOSITS],
    pub borrows: [ObligationLiquidity; MAX_OBLIGATION_BORROWS],
    /// Unix time a refresh first found the obligation unhealthy (0 while healthy): the start of
    /// the liquidation bonus auction.
    pub unhealthy_since: i64,
    /// Σ debt at the prices liquidation eligibility uses (the lower of spot and EMA).
    pub liquidation_borrowed_value_wad: StoredWad,
    /// 1 when a reserve of a position had its price circuit breaker tripped at the last refresh.
    pub uses_halted_price: u8,
    pub padding1: [u8; 7],
    /// Σ collateral at the prices liquidation eligibility uses, unweighted: with
    /// `liquidation_borrowed_value_wad`, whether the obligation is solvent.
    pub liquidation_deposited_value_wad: StoredWad,
    /// Σ `Reserve::valuation_epoch` over the positions' reserves (wrapping) at the last refresh.
    pub reserves_epoch_sum: u64,
    /// Σ debt at the liquidation prices, unweighted: the `Payout` liabilities
    /// (`liquidation_borrowed_value_wad` holds them weighted by the borrow weights).
    pub payout_borrowed_value_wad: StoredWad,
    /// Σ debt at the conservative debt price × borrow weight: the `Initial` liabilities
    /// (`borrowed_value_wad` holds them unweighted).
    pub initial_borrowed_value_wad: StoredWad,
    /// Margin tier of the positions (`TIER_*`), from the reserves' `risk_flags` when the
    /// first collateral / first debt was taken; it only counts while the obligation holds
    /// collateral (isolated) or debt (siloed).
    pub tier_flags: u8,
    pub padding2: [u8; 7],
    /// The e-mode group the owner opted into (`set_obligation_emode`; 0: none).
    pub emode_group: u8,
    pub padding3: [u8; 7],
    /// The group's parameters as the last refresh read them from the market (what the cached
    /// values were weighted with).
    pub emode_params: EmodeGroup,
    /// The isolated collateral reserve `isolation_charges` count against (meaningful while any
    /// charge is not zero; a new charge against another reserve replaces it only then).
    pub isolation_reserve: Pubkey,
    /// By borrow slot: the part of the reserve's `isolated_debt` this debt accounts for
    /// (millionths of a quote unit): its value when borrowed in isolation, less the share of it
    /// each repayment settled (rounded down, so the charge is never understated); all of it
    /// when the debt is closed. Σ over every obligation = `Reserve::isolated_debt`.
    pub isolation_charges: [u64; MAX_OBLIGATION_BORROWS],
    /// By borrow slot: the part of the e-mode group's `EmodeGroupDebt::debt` this debt
    /// accounts for, kept as `isolation_charges` are; charged when borrowed in the group or when
    /// the obligation entered it, all released when it leaves.
    pub emode_charges: [u64; MAX_OBLIGATION_BORROWS],
    /// By deposit: the loan-to-value (after a size premium) and the liquidation threshold, in
    /// bps, the cached values weighted the position with at its last valuation (its e-mode
    /// group's, or its reserve's with dynamic margin): what the obligation's figures rest on.
    pub collateral_weights_bps: [[u16; 2]; MAX_OBLIGATION_DEPOSITS],
    /// Unix time a refresh first found the obligation in the earliest soft-liquidation zone of
    /// its collaterals (0 outside every zone), reset by each soft deleverage: the start of the
    /// soft bonus ramp (`state::deleverage`).
    pub soft_zone_since: i64,
    /// Unix time of the last soft deleverage (0: none yet).
    pub last_soft_deleverage: i64,
    /// The owner's stop-loss / take-profit orders (`set_obligation_order`).
    pub orders: [ObligationOrder; MAX_OBLIGATION_ORDERS],
    /// Σ collateral × liquidation threshold at the borrowing-power prices, as the refresh's
    /// first pass summed it (`ObligationValues::conservative_threshold_assets`): with the
    /// `Initial` sums, the margin band the soft zone and health triggers are measured in.
    pub conservative_threshold_value_wad: StoredWad,
    /// Room for follow-up fields.
    pub reserved: [u8; 16],
}

type ObligationResult<T> = std::result::Result<T, LendingError>;

/// The one rule of the obligation's clocks (the liquidation auction's `unhealthy_since`, the soft
/// zone's, each order's): started at `now` by the refresh that first finds the condition
/// holding, kept while it holds, 0 once it does not.
#[inline(always)]
fn condition_clock(since: i64, holds: bool, now: i64) -> i64 {
    match (holds, since) {
        (false, _) => 0,
        (true, 0) => now,
        (true, since) => since,
    }
}

/// `Obligation::tier_flags`: the collateral is an isolated asset.
pub const TIER_ISOLATED_COLLATERAL: u8 = 1;
/// `Obligation::tier_flags`: the debt is a siloed asset.
pub const TIER_SILOED_DEBT: u8 = 2;


/// The health engine's output for an obligation, as cached by the last refresh: one `Health`
/// per `HealthKind` (see `state::health`), plus the unweighted collateral at the borrowing-power
/// prices.
///
/// The liquidation kinds (`Maintenance`, `Payout`) are valued at prices that only make an
/// obligation look healthier than the conservative ones do. So an obligation healthy for
/// `Maintenance` at the conservative prices is healthy at the liquidation prices too: then the
/// liquidation kinds hold their values at the conservative prices (a lower bound of the health
/// factor), and only an obligation unhealthy there is valued a second time (`Obligation::revalue`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObligationValues {
    /// Σ collateral at the `Initial` asset prices, unweighted (dust limits, leverage, display).
    pub deposited_value: Wad,
    /// Σ debt at the `Initial` liability prices, unweighted (dust limits, leverage, display).
    pub borrowed_value: Wad,
    /// By `HealthKind as usize`.
    sums: [Health; 3],
    /// A position's reserve has its price circuit breaker tripped.
    pub uses_halted_price: bool,
    /// The e-mode the positions are weighted in (`Emode::risk_params`).
    pub emode: Emode,
    /// The earliest soft-liquidation zone start of the collaterals' reserves (None: no zone).
    pub soft_zone_start_bps: Option<u16>,
    /// By order slot: the order's trigger holds at these values (`ObligationOrder::is_triggered`).
    pub orders_triggered: [bool; MAX_OBLIGATION_ORDERS],
    /// The `Maintenance` assets at the conservative prices (the first pass's, before a
    /// revaluation at liquidation prices replaces them): with the `Initial` sums, which are
    /// always at those prices, the margin band from the borrowing limit to the threshold in one
    /// measure (`state::deleverage::in_soft_zone`).
    pub conservative_threshold_assets: Wad,
}

impl ObligationValues {
    /// The engine's output for `kind`.
    pub fn health(&self, kind: HealthKind) -> Health {
        self.sums[kind as usize]
    }

    /// Values with the given sums (for tests and off-chain what-ifs).
    pub fn with_health(deposited_value: Wad, borrowed_value: Wad, initial: Health, maintenance: Health, payout: Health) -> ObligationValues {
        ObligationValues {
            deposited_value,
            borrowed_value,
            sums: [initial, maintenance, payout],
            emode: Emode::NONE,
            conservative_threshold_assets: maintenance.assets,
            ..Default::default()
        }
    }

    /// Empty values weighted in `emode`.
    pub fn in_emode(emode: Emode) -> ObligationValues {
        ObligationValues { emode, ..Default::default() }
    }

    /// What a position in `reserve` is weighted with (its e-mode group's, or its own with
    /// dynamic margin).
    #[inline(always)]
    pub fn risk_params(&self, reserve: &Reserve) -> super::RiskParams {
        self.emode.risk_params(reserve)
    }

    /// What a collateral position worth `value` (at the borrowing-power price) in `reserve` is
    /// weighted with: `risk_params`, its loan-to-value less the reserve's size premium for that
    /// value (dynamic margin; not in an e-mode group).
    #[inline(always)]
    pub fn collateral_params(&self, value: Wad, reserve: &Reserve) -> super::RiskParams {
        let mut params = self.risk_params(reserve);
        if reserve.dynamic_config.has(super::DYNAMIC_SIZE) && !self.emode.covers(&reserve.config) {
            let premium = super::size_premium_bps(&reserve.dynamic_config, value);
            params.loan_to_value_bps = params.loan_to_value_bps.saturating_sub(premium);
        }
        params
    }

    #[inline(always)]
    fn add_for(&mut self, kinds: &[HealthKind], side: Side, value: Wad, params: &super::RiskParams) -> ObligationResult<()> {
        for &kind in kinds {
            self.sums[kind as usize].add(side, weighted(value, params, kind, side)?)?;
        }
        Ok(())
    }

    /// Adds one collateral position worth `value` at the conservative collateral price, to every
    /// kind (the liquidation kinds get their lower bound). Returns the `[loan-to-value,
    /// threshold]` it was weighted with (for `Obligation::collateral_weights_bps`).
    pub fn add_collateral(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<[u16; 2]> {
        self.deposited_value = overflow(self.deposited_value.checked_add(value))?;
        let params = self.collateral_params(value, reserve);
        self.add_for(&HealthKind::ALL, Side::Asset, value, &params)?;
        Ok([params.loan_to_value_bps, params.liquidation_threshold_bps])
    }

    /// Removes one collateral position's contribution, computed exactly as `add_collateral` did.
    pub fn remove_collateral(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.deposited_value = overflow(self.deposited_value.checked_sub(value))?;
        let params = self.collateral_params(value, reserve);
        for kind in HealthKind::ALL {
            self.sums[kind as usize].remove(Side::Asset, weighted(value, &params, kind, Side::Asset)?)?;
        }
        Ok(())
    }

    /// Adds one debt worth `value` at the conservative debt price, to every kind.
    pub fn add_debt(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.borrowed_value = overflow(self.borrowed_value.checked_add(value))?;
        let params = self.risk_params(reserve);
        self.add_for(&HealthKind::ALL, Side::Liability, value, &params)
    }

    /// Replaces one debt's contribution (`old` as `add_debt` added it) with `new`.
    pub fn replace_debt(&mut self, old: Wad, new: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.borrowed_value = overflow(self.borrowed_value.checked_sub(old).and_then(|v| v.checked_add(new)))?;
        let params = self.risk_params(reserve);
        for kind in HealthKind::ALL {
            let health = &mut self.sums[kind as usize];
            health.remove(Side::Liability, weighted(old, &params, kind, Side::Liability)?)?;
            health.add(Side::Liability, weighted(new, &params, kind, Side::Liability)?)?;
        }
        Ok(())
    }

    /// Unhealthy for `Maintenance` at the conservative prices: eligibility needs the liquidation
    /// prices.
    pub fn needs_liquidation_prices(&self) -> bool {
        !self.health(HealthKind::Maintenance).is_healthy()
    }

    /// Starts the liquidation kinds over, for a revaluation at liquidation prices.
    pub fn clear_liquidation_sums(&mut self) {
        for kind in HealthKind::LIQUIDATION {
            self.sums[kind as usize] = Health::default();
        }
    }

    /// Adds one collateral position worth `value` at the liquidation collateral price.
    pub fn add_liquidation_collateral(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        let params = self.risk_params(reserve);
        self.add_for(&HealthKind::LIQUIDATION, Side::Asset, value, &params)
    }

    /// Adds one debt worth `value` at the liquidation debt price.
    pub fn add_liquidation_debt(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        let params = self.risk_params(reserve);
        self.add_for(&HealthKind::LIQUIDATION, Side::Liability, value, &params)
    }

    /// Replaces one collateral position's part of the liquidation kinds: `old` and `new` are its
    /// values at the liquidation collateral price before and after a change.
    pub fn revise_liquidation_collateral(&mut self, old: Wad, new: Wad, reserve: &Reserve) -> ObligationResult<()> {
        self.take_liquidation_collateral(old, reserve)?;
        self.add_liquidation_collateral(new, reserve)
    }

    /// Takes collateral worth `value` at the liquidation price, weighted as it was added, off the
    /// liquidation kinds, saturating at zero: a share price that rounding moved up since the
    /// refresh can make a position's value a hair larger than what was added, and saturating
    /// can only understate the collateral.
    pub fn take_liquidation_collateral(&mut self, value: Wad, reserve: &Reserve) -> ObligationResult<()> {
        let params = self.risk_params(reserve);
        for kind in HealthKind::LIQUIDATION {
            self.sums[kind as usize].take(Side::Asset, weighted(value, &params, kind, Side::Asset)?);
        }
        Ok(())
    }

    /// Takes collateral off the liquidation kinds with its weighted amounts given (`by_kind`,
    /// for `Maintenance` then `Payout`), saturating at zero.
    pub fn take_liquidation_collateral_weighted(&mut self, by_kind: [Wad; 2]) {
        for (kind, value) in HealthKind::LIQUIDATION.into_iter().zip(by_kind) {
            self.sums[kind as usize].take(Side::Asset, value);
        }
    }

    /// Takes debt off the liquidation kinds with its weighted values given (`by_kind`, for
    /// `Maintenance` then `Payout`), saturating at zero.
    pub fn take_liquidation_debt_weighted(&mut self, by_kind: [Wad; 2]) {
        for (kind, value) in HealthKind::LIQUIDATION.into_iter().zip(by_kind) {
            self.sums[kind as usize].take(Side::Liability, value);
        }
    }

    /// Collateral covers debt at the liquidation prices (trivially without debt).
    pub fn is_solvent(&self) -> bool {
        self.health(HealthKind::Payout).is_healthy()
    }

    /// The `Maintenance` health factor did not fall from `before` to `self`:
    /// `WC' / D' >= WC / D`, compared as `WC' · D >= WC · D'`. The four sums are scaled to 64
    /// bits by one common shift so each product fits a `u128`, the left side rounded down and
    /// the right side up: the check can only be stricter than the exact one (by 2^-63 relative
    /// at most, far inside the bonus cap's margin). A position left without debt passes.
    pub fn health_not_below(&self, before: &ObligationValues) -> bool {
        let (now, was) = (self.health(HealthKind::Maintenance), before.health(HealthKind::Maintenance));
        if now.liabilities.is_zero() {
            return true;
        }
        let (weighted_after, debt_before) = (now.assets.raw(), was.liabilities.raw());
        let (weighted_before, debt_after) = (was.assets.raw(), now.liabilities.raw());
        use crate::math::{shift_down, shift_to_64_bits, shift_up};
        let shift = shift_to_64_bits(weighted_after | debt_before | weighted_before | debt_after);
        // Each scaled value is at most 2^64: the products fit, or fail the check.
        let after = shift_down(weighted_after, shift).checked_mul(shift_down(debt_before, shift));
        let was = shift_up(weighted_before, shift).checked_mul(shift_up(debt_after, shift));
        matches!((after, was), (Some(after), Some(was)) if after >= was)
    }

    /// Health factor: the `Maintenance` ratio, at liquidation prices when below 1 at the
    /// conservative ones, else at the conservative ones (None without debt).
    pub fn health_factor(&self) -> Option<Wad> {
        self.health(HealthKind::Maintenance).ratio()
    }

    /// Liquidatable: unhealthy for `Maintenance`.
    pub fn is_unhealthy(&self) -> bool {
        !self.health(HealthKind::Maintenance).is_healthy()
    }

    /// Within borrowing power: healthy for `Initial`.
    pub fn within_borrowing_power(&self) -> bool {
        self.health(HealthKind::Initial).is_healthy()
    }
}

impl ObligationLiquidity {
    pub fn borrowed_amount(&self) -> Wad {
        self.borrowed_amount_wad.get()
    }

    /// Brings the debt up to the reserve's index: debt × index_now / index_then, rounded up.
    pub fn accrue_interest(&mut self, cumulative_borrow_index: Wad) -> ObligationResult<()> {
        let snapshot = self.cumulative_borrow_index_wad.get();
        if cumulative_borrow_index == snapshot {
            return Ok(());
        }
        if cumulative_borrow_index < snapshot {
            return Err(crate::errors::overflow_here());
        }
        let borrowed =
            overflow(self.borrowed_amount().mul_ratio(cumulative_borrow_index.raw(), snapshot.raw(), Rounding::Up))?;
        self.borrowed_amount_wad.set(borrowed);
        self.cumulative_borrow_index_wad.set(cumulative_borrow_index);
        Ok(())
    }
}

impl Obligation {
    /// The cached values. Storage: `Initial` is (`allowed_borrow_value_wad`,
    /// `initial_borrowed_value_wad`), `Maintenance` is (`unhealthy_borrow_value_wad`,
    /// `liquidation_borrowed_value_wad`), `Payout` is (`liquidation_deposited_value_wad`,
    /// `payout_borrowed_value_wad`); `deposited_value_wad` and `borrowed_value_wad` the
    /// unweighted sums at the `Initial` prices.
    pub fn values(&self) -> ObligationValues {
        let mut values = ObligationValues::with_health(
            self.deposited_value_wad.get(),
            self.borrowed_value_wad.get(),
            Health { assets: self.allowed_borrow_value_wad.get(), liabilities: self.initial_borrowed_value_wad.get() },
            Health { assets: self.unhealthy_borrow_value_wad.get(), liabilities: self.liquidation_borrowed_value_wad.get() },
            Health { assets: self.liquidation_deposited_value_wad.get(), liabilities: self.payout_borrowed_value_wad.get() },
        );
        values.uses_halted_price = self.uses_halted_price != 0;
        values.emode = self.emode();
        values.conservative_threshold_assets = self.conservative_threshold_value_wad.get();
        values
    }

    /// The e-mode the positions are valued in: the group opted into, with its parameters as
    /// the last refresh read them.
    pub fn emode(&self) -> Emode {
        Emode { group: self.emode_group, params: self.emode_params }
    }

    /// Takes the group's parameters as `market` holds them now, as refresh_obligation does
    /// (which reads them in place): for off-chain copies valued like the next refresh.
    pub fn take_emode_params(&mut self, market: &super::LendingMarket) -> ObligationResult<()> {
        self.emode_params = market.emode(self.emode_group)?.params;
        Ok(())
    }

    pub fn set_values(&mut self, values: &ObligationValues) {
        let initial = values.health(HealthKind::Initial);
        self.deposited_value_wad.set(values.deposited_value);
        self.borrowed_value_wad.set(values.borrowed_value);
        self.initial_borrowed_value_wad.set(initial.liabilities);
        self.allowed_borrow_value_wad.set(initial.assets);
        self.store_liquidation_kinds(values);
        self.uses_halted_price = values.uses_halted_price as u8;
        self.conservative_threshold_value_wad.set(values.conservative_threshold_assets);
    }

    fn store_liquidation_kinds(&mut self, values: &ObligationValues) {
        let (maintenance, payout) = (values.health(HealthKind::Maintenance), values.health(HealthKind::Payout));
        self.unhealthy_borrow_value_wad.set(maintenance.assets);
        self.liquidation_borrowed_value_wad.set(maintenance.liabilities);
        self.liquidation_deposited_value_wad.set(payout.assets);
        self.payout_borrowed_value_wad.set(payout.liabilities);
    }

    /// Stores revised liquidation sums (after a repay, deposit or liquidation that changed the
    /// positions without a full revaluation) and stops the auction clock when they show the
    /// obligation healthy again: the next unhealthy episode then starts at the minimum bonus.
    pub fn store_liquidation_sums(&mut self, values: &ObligationValues) {
        self.store_liquidation_kinds(values);
        if !values.is_unhealthy() {
            self.unhealthy_since = 0;
        }
    }

    /// Whether the auction clock runs: the last refresh found the obligation unhealthy and
    /// nothing since has shown it cured. Then the cached liquidation sums are at liquidation
    /// prices, and repay / deposit keep them current so a cure stops the clock.
    pub fn auction_clock_running(&self) -> bool {
        self.unhealthy_since != 0
    }

    /// Revalues every position with its reserve (already refreshed): `reserve_at(i, key)` gives
    /// the reserve of position `i` (deposits first, then borrows), which must be `key`.
    /// refresh_obligation and off-chain readers (the keeper, the leverage builder) share this,
    /// so all see one health. Positions are weighted in the obligation's e-mode: the caller
    /// first stores the group's current parameters (`emode_params`, from the market).
    pub fn revalue<R, E>(
        &mut self,
        mut reserve_at: impl FnMut(usize, &Pubkey) -> std::result::Result<R, E>,
    ) -> std::result::Result<ObligationValues, E>
    where
        R: core::ops::Deref<Target = Reserve>,
        E: From<LendingError>,
    {
        let (deposit_count, borrow_count) = (self.deposit_count(), self.borrow_count());
        let mut values = ObligationValues::in_emode(self.emode());
        // The tier follows the positions' reserves as they are flagged now.
        let mut tier = 0;
        // The earliest soft zone of the collaterals (u16::MAX: none).
        let mut soft_zone_start = u16::MAX;
        for index in 0..deposit_count {
            let reserve = reserve_at(index, &self.deposits[index].deposit_reserve)?;
            let position = &mut self.deposits[index];
            let value = reserve.collateral_value(position.deposited_shares)?;
            position.market_value_wad.set(value);
            values.uses_halted_price |= reserve.is_price_halted();
            tier |= if reserve.config.is_isolated_collateral() { TIER_ISOLATED_COLLATERAL } else { 0 };
            self.collateral_weights_bps[index] = values.add_collateral(value, &reserve)?;
            if reserve.soft_zone.is_enabled() {
                soft_zone_start = soft_zone_start.min(reserve.soft_zone.start_bps);
            }
        }
        for index in 0..borrow_count {
            let reserve = reserve_at(deposit_count + index, &self.borrows[index].borrow_reserve)?;
            let position = &mut self.borrows[index];
            position.accrue_interest(reserve.cumulative_borrow_index())?;
            let value = reserve.debt_value(position.borrowed_amount())?;
            position.market_value_wad.set(value);
            values.uses_halted_price |= reserve.is_price_halted();
            tier |= if reserve.config.is_siloed_debt() { TIER_SILOED_DEBT } else { 0 };
            values.add_debt(value, &reserve)?;
        }
        self.tier_flags = tier;
        values.soft_zone_start_bps = (soft_zone_start != u16::MAX).then_some(soft_zone_start);
        values.conservative_threshold_assets = values.health(HealthKind::Maintenance).assets;
        if values.needs_liquidation_prices() {
            values.clear_liquidation_sums();
            for index in 0..deposit_count {
                let reserve = reserve_at(index, &self.deposits[index].deposit_reserve)?;
                let position = &self.deposits[index];
                let value = reserve.liquidation_collateral_value(position.deposited_shares, position.market_value_wad.get())?;
                values.add_liquidation_collateral(value, &reserve)?;
            }
            for index in 0..borrow_count {
                let reserve = reserve_at(deposit_count + index, &self.borrows[index].borrow_reserve)?;
                let position = &self.borrows[index];
                values.add_liquidation_debt(reserve.liquidation_debt_value(position.borrowed_amount(), position.market_value_wad.get())?, &reserve)?;
            }
        }
        // Each order's trigger, at the values and its two reserves' spot prices (the reserves
        // visited again: only obligations with orders pay for it).
        if self.orders.iter().any(ObligationOrder::is_active) {
            values.orders_triggered = self.orders_triggered(&values, &mut reserve_at)?;
        }
        Ok(values)
    }

    /// By order slot: whether the order's trigger holds at `values`, with its two reserves' spot
    /// prices (`reserve_at` as for `revalue`); an order whose debt or collateral is no longer
    /// held is cleared. Out of line: only obligations with orders run it.
    #[cold]
    #[inline(never)]
    fn orders_triggered<R, E>(
        &mut self,
        values: &ObligationValues,
        reserve_at: &mut impl FnMut(usize, &Pubkey) -> std::result::Result<R, E>,
    ) -> std::result::Result<[bool; MAX_OBLIGATION_ORDERS], E>
    where
        R: core::ops::Deref<Target = Reserve>,
    {
        let mut triggered = [false; MAX_OBLIGATION_ORDERS];
        for (order, positions) in self.order_positions().into_iter().enumerate() {
            let Some((deposit, borrow)) = positions else {
                // Its debt or its collateral is gone (repaid, withdrawn, liquidated): the order
                // is used up and does not come back with a later position.
                self.orders[order] = ObligationOrder::default();
                continue;
            };
            let collateral_price = reserve_at(deposit, &self.deposits[deposit].deposit_reserve)?.market_price();
            let debt_price = reserve_at(self.deposit_count() + borrow, &self.borrows[borrow].borrow_reserve)?.market_price();
            triggered[order] = self.orders[order].is_triggered(values, collateral_price, debt_price);
        }
        Ok(triggered)
    }

    /// By order slot: the deposit and borrow index of an active order's collateral and debt
    /// (None for an empty slot, or an order whose positions are not both held).
    pub fn order_positions(&self) -> [Option<(usize, usize)>; MAX_OBLIGATION_ORDERS] {
        let mut positions = [None; MAX_OBLIGATION_ORDERS];
        for (slot, order) in self.orders.iter().enumerate() {
            if order.is_active() {
                positions[slot] = self.find_deposit(&order.withdraw_reserve).zip(self.find_borrow(&order.repay_reserve));
            }
        }
        positions
    }

    /// Starts the soft-zone clock when the refresh finds the obligation in a zone and each
    /// order's auction clock when its trigger holds; stops each when it no longer does.
    #[inline(always)]
    pub fn track_deleverage(&mut self, values: &ObligationValues, now: i64) {
        let orders = self.orders.iter().fold(0, |any, order| any | order.trigger);
        if values.soft_zone_start_bps.is_some() || self.soft_zone_since != 0 || orders != 0 {
            self.track_deleverage_clocks(values, now);
        }
    }

    #[cold]
    #[inline(never)]
    fn track_deleverage_clocks(&mut self, values: &ObligationValues, now: i64) {
        let in_zone = values.soft_zone_start_bps.is_some_and(|start| in_soft_zone(values, start));
        self.soft_zone_since = condition_clock(self.soft_zone_since, in_zone, now);
        for (order, triggered) in self.orders.iter_mut().zip(values.orders_triggered) {
            order.triggered_since = condition_clock(order.triggered_since, triggered, now);
        }
    }

    /// Stores the values of a complete revaluation made at `slot` and `now`.
    pub fn finish_refresh(&mut self, values: &ObligationValues, now: i64, slot: u64) {
        self.set_values(values);
        self.track_health(values, now);
        self.track_deleverage(values, now);
        self.last_update_slot = slot;
        self.stale = 0;
    }

    /// Starts the auction clock when the obligation turns unhealthy, stops it when it recovers.
    pub fn track_health(&mut self, values: &ObligationValues, now: i64) {
        self.unhealthy_since = condition_clock(self.unhealthy_since, values.is_unhealthy(), now);
    }

    /// After a repayment settled `settled` of a debt in `reserve`: while the auction clock runs,
    /// takes the settled debt's value (at the reserve's last liquidation debt price, rounded
    /// down, so the cached debt is never understated) off the liquidation sums, and stops the
    /// clock when that cures the obligation.
    pub fn note_repayment(&mut self, reserve: &Reserve, settled: Wad) -> ObligationResult<()> {
        if !self.auction_clock_running() {
            return Ok(());
        }
        let mut values = self.values();
        // Unweighted for both kinds: a borrow weight raised since the refresh must not take more
        // off than the refresh added (a weight is at least 100%, so this understates health).
        let value = reserve.liquidation_value_of_repaid(settled)?;
        values.take_liquidation_debt_weighted([value, value]);
        self.store_liquidation_sums(&values);
        Ok(())
    }

    /// After a deposit took a collateral position in `reserve` from `shares_before` to
    /// `shares_after`: while the auction clock runs, revises the liquidation sums at the
    /// reserve's last liquidation collateral price (rounded down) and stops the clock when that
    /// cures the obligation.
    pub fn note_deposit(&mut self, reserve: &Reserve, shares_before: u64, shares_after: u64) -> ObligationResult<()> {
        if !self.auction_clock_running() {
            return Ok(());
        }
        let mut values = self.values();
        let before = reserve.liquidation_collateral_value_of(shares_before)?;
        let after = reserve.liquidation_collateral_value_of(shares_after)?;
        values.revise_liquidation_collateral(before, after, reserve)?;
        self.store_liquidation_sums(&values);
        Ok(())
    }

    /// The cached values were computed from the reserves as they are now: `epochs` gives, for
    /// each position in order, the reserve passed for it and its `valuation_epoch`. The keys
    /// must be the positions' (`ObligationReservesMismatch`) and the epochs must sum to the
    /// recorded sum (`ReserveChangedSinceRefresh`: a reserve was refreshed again, written off or
    /// reconfigured since the obligation's refresh).
    pub fn check_valuation_current(&self, epochs: impl ExactSizeIterator<Item = (Pubkey, u64)>) -> ObligationResult<()> {
        let (deposits, borrows) = (self.deposit_count(), self.borrow_count());
        // The positions first; accounts after them are the instruction's others (debt counters).
        if epochs.len() < deposits + borrows {
            return Err(LendingError::ObligationReservesMismatch);
        }
        let positions = self.deposits[..deposits].iter().map(|d| d.deposit_reserve).chain(self.borrows[..borrows].iter().map(|b| b.borrow_reserve));
        let mut sum = 0u64;
        for ((key, epoch), expected) in epochs.zip(positions) {
            if key != expected {
                return Err(LendingError::ObligationReservesMismatch);
            }
            sum = sum.wrapping_add(epoch);
        }
        if sum != self.reserves_epoch_sum {
            return Err(LendingError::ReserveChangedSinceRefresh);
        }
        Ok(())
    }

    /// Holds isolated collateral (and so no other collateral).
    pub fn is_isolated(&self) -> bool {
        self.tier_flags & TIER_ISOLATED_COLLATERAL != 0 && self.has_deposits()
    }

    /// Owes siloed debt (and so no other debt).
    pub fn is_siloed(&self) -> bool {
        self.tier_flags & TIER_SILOED_DEBT != 0 && self.has_borrows()
    }

    fn set_tier(&mut self, flag: u8, on: bool) {
        self.tier_flags = if on { self.tier_flags | flag } else { self.tier_flags & !flag };
    }

    /// The collateral tier rule, before collateral of `reserve` (with `config`) is added:
    /// a new position in an active e-mode group only of a member (`NotInEmodeGroup`);
    /// isolated collateral is held alone (`IsolatedCollateralMixed`), and not added to an
    /// obligation already owing debt. The first collateral sets the obligation's tier, and every
    /// refresh sets it again from the positions' reserves (so a flag set on a reserve later
    /// applies from the obligation's next refresh).
    pub fn check_collateral_tier(&mut self, reserve: &Pubkey, config: &ReserveConfig) -> ObligationResult<()> {
        if self.find_deposit(reserve).is_some() {
            return Ok(());
        }
        self.check_emode_member(config)?;
        if self.deposit_count() > 0 {
            if config.is_isolated_collateral() || self.is_isolated() {
                return Err(LendingError::IsolatedCollateralMixed);
            }
            return Ok(());
        }
        // Isolated collateral does not come to back debt that is already owed (left by a
        // liquidation that took all the collateral): that debt was not borrowed in isolation.
        if config.is_isolated_collateral() && self.has_borrows() {
            return Err(LendingError::IsolatedCollateralMixed);
        }
        self.set_tier(TIER_ISOLATED_COLLATERAL, config.is_isolated_collateral());
        Ok(())
    }

    /// The debt tier rules, before debt of `reserve` (with `config`) is added: against isolated
    /// collateral only reserves borrowable in isolation (`NotBorrowableInIsolation`), and only
    /// while it is the one collateral (`IsolatedCollateralMixed`); a new debt in an active e-mode group only of a member (`NotInEmodeGroup`); siloed debt is owed
    /// alone (`SiloedDebtMixed`). The first debt sets the obligation's tier.
    pub fn check_debt_tier(&mut self, reserve: &Pubkey, config: &ReserveConfig) -> ObligationResult<()> {
        if self.is_isolated() && !config.is_borrowable_in_isolation() {
            return Err(LendingError::NotBorrowableInIsolation);
        }
        // Isolated next to other collateral (a reserve flagged isolated after it was
        // deposited): no new debt until the isolated collateral is held alone, as the first
        // deposit, whose ceiling the debt is charged against.
        if self.is_isolated() && self.deposit_count() > 1 {
            return Err(LendingError::IsolatedCollateralMixed);
        }
        if self.find_borrow(reserve).is_some() {
            return Ok(());
        }
        self.check_emode_member(config)?;
        if self.borrow_count() > 0 {
            if config.is_siloed_debt() || self.is_siloed() {
                return Err(LendingError::SiloedDebtMixed);
            }
            return Ok(());
        }
        self.set_tier(TIER_SILOED_DEBT, config.is_siloed_debt());
        Ok(())
    }

    /// The e-mode rule, before a new position in a reserve with `config` is opened: in an
    /// active group, only the group's members (`NotInEmodeGroup`).
    pub fn check_emode_member(&self, config: &ReserveConfig) -> ObligationResult<()> {
        let emode = self.emode();
        if emode.is_active() && !config.is_in_emode_group(emode.group) {
            return Err(LendingError::NotInEmodeGroup);
        }
        Ok(())
    }

    /// A position changed since the last refresh (`stale`).
    pub fn is_stale(&self) -> bool {
        self.stale != 0
    }

    pub fn is_fresh(&self, current_slot: u64) -> bool {
        !self.is_stale() && self.last_update_slot == current_slot
    }

    pub fn mark_stale(&mut self) {
        self.stale = 1;
    }

    pub fn deposit_count(&self) -> usize {
        self.deposits.iter().take_while(|d| d.deposit_reserve != Pubkey::default()).count()
    }

    pub fn borrow_count(&self) -> usize {
        self.borrows.iter().take_while(|b| b.borrow_reserve != Pubkey::default()).count()
    }

    /// Positions are packed from slot 0, so the first slot says whether there are any.
    pub fn has_borrows(&self) -> bool {
        self.borrows[0].borrow_reserve != Pubkey::default()
    }

    pub fn has_deposits(&self) -> bool {
        self.deposits[0].deposit_reserve != Pubkey::default()
    }

    pub fn find_deposit(&self, reserve: &Pubkey) -> Option<usize> {
        self.deposits[..self.deposit_count()].iter().position(|d| d.deposit_reserve == *reserve)
    }

    pub fn find_borrow(&self, reserve: &Pubkey) -> Option<usize> {
        self.borrows[..self.borrow_count()].iter().position(|b| b.borrow_reserve == *reserve)
    }

    /// Credits shares to the reserve's position, opening one if needed. Returns the position's
    /// shares before and after.
    pub fn deposit(&mut self, reserve: &Pubkey, shares: u64) -> ObligationResult<(u64, u64)> {
        let index = match self.find_deposit(reserve) {
            Some(index) => index,
            None => {
                let index = self.deposit_count();
                if index == MAX_OBLIGATION_DEPOSITS {
                    return Err(LendingError::ObligationDepositsFull);
                }
                self.deposits[index] = ObligationCollateral { deposit_reserve: *reserve, ..Default::default() };
                index
            }
        };
        let position = &mut self.deposits[index];
        let before = position.deposited_shares;
        position.deposited_shares = overflow(before.checked_add(shares))?;
        Ok((before, position.deposited_shares))
    }

    /// Removes shares from a position, closing it (positions stay packed in order) when empty.
    pub fn withdraw_shares(&mut self, index: usize, shares: u64) -> ObligationResult<()> {
        self.take_shares(index, shares)?;
        self.drop_empty_deposit(index);
        Ok(())
    }

    /// Takes `shares` off deposit `index`, leaving the position in its slot even when emptied.
    pub fn take_shares(&mut self, index: usize, shares: u64) -> ObligationResult<()> {
        let position = &mut self.deposits[index];
        position.deposited_shares = position.deposited_shares.checked_sub(shares).ok_or(LendingError::InsufficientCollateral)?;
        Ok(())
    }

    /// Removes deposit `index` if it holds no shares, the positions after it moving up.
    pub fn drop_empty_deposit(&mut self, index: usize) {
        if self.deposits[index].deposited_shares == 0 {
            let count = self.deposit_count();
            self.deposits.copy_within(index + 1..count, index);
            self.deposits[count - 1] = ObligationCollateral::default();
            self.collateral_weights_bps.copy_within(index + 1..count, index);
            self.collateral_weights_bps[count - 1] = [0; 2];
        }
    }

    /// Adds debt to the reserve's position (already accrued to `index`), opening one if needed.
    pub fn borrow(&mut self, reserve: &Pubkey, amount: Wad, index: Wad) -> ObligationResult<usize> {
        let slot = match self.find_borrow(reserve) {
            Some(slot) => slot,
            None => {
                let slot = self.borrow_count();
                if slot == MAX_OBLIGATION_BORROWS {
                    return Err(LendingError::ObligationBorrowsFull);
                }
                self.borrows[slot] = ObligationLiquidity { borrow_reserve: *reserve, ..Default::default() };
                self.borrows[slot].cumulative_borrow_index_wad.set(index);
                slot
            }
        };
        let position = &mut self.borrows[slot];
        position.accrue_interest(index)?;
        position.borrowed_amount_wad.set(overflow(position.borrowed_amount().checked_add(amount))?);
        Ok(slot)
    }

    /// Charges `units` of the debt at `slot` against the isolated collateral of `reserve`
    /// (`Reserve::charge_isolated_debt` has accepted them).
    pub fn charge_isolation(&mut self, slot: usize, reserve: &Pubkey, units: u64) -> ObligationResult<()> {
        if self.isolation_reserve != *reserve && self.isolation_charges.iter().any(|c| *c != 0) {
            // Charges are held against one reserve: isolated collateral is held alone.
            return Err(LendingError::IsolatedCollateralMixed);
        }
        self.isolation_reserve = *reserve;
        self.isolation_charges[slot] = overflow(self.isolation_charges[slot].checked_add(units))?;
        Ok(())
    }

    /// Takes `settled` off a debt position, closing it when nothing is left. Returns the
    /// charges released with it (for `isolation_reserve`'s `release_isolated_debt` and the
    /// group's `EmodeGroupDebt::release`): each charge × settled / debt, rounded down (never more
    /// than the exact share); the whole charge when the debt is closed.
    pub fn repay(&mut self, slot: usize, settled: Wad) -> ObligationResult<Released> {
        let position = &mut self.borrows[slot];
        let owed = position.borrowed_amount();
        let remaining = overflow(owed.checked_sub(settled))?;
        position.borrowed_amount_wad.set(remaining);
        let (isolation, emode) = (self.isolation_charges[slot], self.emode_charges[slot]);
        let mut released = Released::default();
        if isolation | emode != 0 {
            released = if remaining.is_zero() {
                Released { isolation, emode }
            } else {
                // settled / owed with both brought below 2^64 (settled down, owed up: the ratio
                // only shrinks), so charge × settled takes the 64-bit multiply, not 256 bits.
                let shift = shift_to_64_bits(owed.raw());
                let (part, whole) = (shift_down(settled.raw(), shift), shift_up(owed.raw(), shift));
                let share = |charge: u64| overflow(mul_div(charge as u128, part, whole, Rounding::Down).and_then(|r| u64::try_from(r).ok()));
                Released { isolation: share(isolation)?, emode: share(emode)? }
            };
            self.isolation_charges[slot] = isolation - released.isolation;
            self.emode_charges[slot] = emode - released.emode;
        }
        if remaining.is_zero() {
            let count = self.borrow_count();
            self.borrows.copy_within(slot + 1..count, slot);
            self.borrows[count - 1] = ObligationLiquidity::default();
            self.isolation_charges.copy_within(slot + 1..count, slot);
            self.isolation_charges[count - 1] = 0;
            self.emode_charges.copy_within(slot + 1..count, slot);
            self.emode_charges[count - 1] = 0;
            if count == 1 {
                // No debt left: nothing can be unhealthy, the auction is over.
                self.unhealthy_since = 0;
            }
        }
        Ok(released)
    }

    /// Charges each debt's value at the last refresh (the debt price, rounded up) to the
    /// e-mode group being entered. Returns the sum, for `EmodeGroupDebt::charge`.
    pub fn charge_emode_debts(&mut self) -> ObligationResult<u64> {
        let mut total = 0u64;
        for slot in 0..self.borrow_count() {
            let units = debt_units(self.borrows[slot].market_value_wad.get()).ok_or(LendingError::EmodeDebtCapExceeded)?;
            self.emode_charges[slot] = units;
            total = total.checked_add(units).ok_or(LendingError::EmodeDebtCapExceeded)?;
        }
        Ok(total)
    }

    /// Releases every e-mode charge (the obligation leaves its group). Returns the sum.
    pub fn release_emode_debts(&mut self) -> u64 {
        let total = self.emode_charges.iter().sum();
        self.emode_charges = [0; MAX_OBLIGATION_BORROWS];
        total
    }

    /// Something of the debt is counted against the e-mode group.
    pub fn has_emode_charges(&self) -> bool {
        self.emode_charges.iter().any(|c| *c != 0)
    }
}

/// What a repayment released of a debt's charges against caps (millionths of a quote unit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Released {
    /// Of the isolated collateral's ceiling (`Obligation::isolation_reserve`).
    pub isolation: u64,
    /// Of the e-mode group's cap (`Obligation::emode_group`).
    pub emode: u64,
}

/// How much of a debt a payment of `amount` whole tokens settles: all of it once `amount`
/// covers the debt rounded up, otherwise exactly `amount`. Returns (tokens taken, debt settled).
pub fn settle_repayment(amount: u64, debt: Wad) -> ObligationResult<(u64, Wad)> {
    let debt_ceiling = overflow(debt.to_u64(Rounding::Up))?;
    if amount >= debt_ceiling {
        Ok((debt_ceiling, debt))
    } else {
        Ok((amount, Wad::from_u64(amount)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RISK_FLAG_ISOLATED_COLLATERAL;
    use bytemuck::Zeroable;

    /// Debt left behind by a liquidation that took all the collateral was not borrowed in
    /// isolation: isolated collateral is not added to back it.
    #[test]
    fn isolated_collateral_does_not_come_to_back_debt_already_owed() {
        let isolated = ReserveConfig { risk_flags: RISK_FLAG_ISOLATED_COLLATERAL, ..Default::default() };
        let mut obligation = Obligation::zeroed();
        obligation.borrow(&Pubkey::new_from_array([2; 32]), Wad::from_u64(5), Wad::ONE).unwrap();
        assert_eq!(obligation.check_collateral_tier(&Pubkey::new_from_array([1; 32]), &isolated), Err(LendingError::IsolatedCollateralMixed));
        assert_eq!(obligation.tier_flags, 0, "a refusal leaves the tier as it was");
        // Ordinary collateral may still come to back it.
        assert_eq!(obligation.check_collateral_tier(&Pubkey::new_from_array([3; 32]), &ReserveConfig::default()), Ok(()));
        // Without debt, isolated collateral opens an isolated obligation.
        let mut fresh = Obligation::zeroed();
        fresh.check_collateral_tier(&Pubkey::new_from_array([1; 32]), &isolated).unwrap();
        fresh.deposit(&Pubkey::new_from_array([1; 32]), 10).unwrap();
        assert!(fresh.is_isolated());
    }
}
