//! Crisis controls that bind everyone, the market's own admins included: the outflow limit of a
//! reserve, per-action pauses (the owner's, and a guardian's that expire on their own), the
//! listing ramp of a new reserve's caps, and the rule that decides which configuration changes
//! apply at once and which wait the market's timelock. Pure: the program, the client and the
//! tests run the same functions.
use super::{Reserve, ReserveConfig};
use crate::errors::{overflow, LendingError};
use crate::math::{div_rem_small, BPS_DENOMINATOR};
use anchor_lang::prelude::*;

/// Reserve actions a pause can stop (`Reserve::owner_paused` / `guardian_paused` bits).
pub const ACTION_DEPOSIT: u8 = 1;
pub const ACTION_BORROW: u8 = 2;
/// Collateral withdrawals and lend-only redemptions.
pub const ACTION_WITHDRAW: u8 = 4;
/// Liquidations, order executions and soft deleverages.
pub const ACTION_LIQUIDATE: u8 = 8;
pub const ACTION_FLASH_LOAN: u8 = 16;
pub const ACTIONS_ALL: u8 = ACTION_DEPOSIT | ACTION_BORROW | ACTION_WITHDRAW | ACTION_LIQUIDATE | ACTION_FLASH_LOAN;

/// Longest timelock a market may set: 30 days.
pub const MAX_TIMELOCK_SECS: u32 = 30 * 86_400;
/// Longest a guardian's pause lasts unconfirmed: 7 days.
pub const MAX_GUARDIAN_PAUSE_SECS: u32 = 7 * 86_400;
/// Longest listing ramp: 90 days.
pub const MAX_LISTING_RAMP_SECS: u32 = 90 * 86_400;
/// A queued change may be executed from its due time until this much later; after that it is
/// expired (`ChangeExpired`) and must be queued again, so no forgotten change waits in the
/// queue for a moment that suits an attacker.
pub const CHANGE_GRACE_SECS: i64 = 14 * 86_400;
/// Longest outflow window: 7 days.
pub const MAX_OUTFLOW_WINDOW_SECS: u32 = 7 * 86_400;

/// The market's rules for its own admins, set at creation; loosened only through the timelock.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketPolicy {
    /// Delay between queueing a change that loosens risk and its execution (0: loosening applies
    /// at once; for tests and devnets).
    pub timelock_secs: u32,
    /// How long a guardian's pause lasts unless the owner confirms it (above 0 with a guardian).
    pub guardian_pause_secs: u32,
    /// A new reserve's deposit and borrow caps grow linearly from 0 to the configured ones over
    /// this many seconds after listing (0: full caps at once).
    pub listing_ramp_secs: u32,
    /// Largest move of the loan-to-value or the liquidation threshold one change may make, bps
    /// (0: unbounded).
    pub max_risk_step_bps: u16,
    pub padding: [u8; 2],
}

/// Size of `MarketPolicy::to_le_bytes`.
pub const MARKET_POLICY_BYTES: usize = 16;

impl MarketPolicy {
    /// The policy as stored in the market: its fields in order, little-endian.
    pub fn to_le_bytes(&self) -> [u8; MARKET_POLICY_BYTES] {
        let mut bytes = [0u8; MARKET_POLICY_BYTES];
        bytes[0..4].copy_from_slice(&self.timelock_secs.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.guardian_pause_secs.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.listing_ramp_secs.to_le_bytes());
        bytes[12..14].copy_from_slice(&self.max_risk_step_bps.to_le_bytes());
        bytes[14..16].copy_from_slice(&self.padding);
        bytes
    }

    pub fn from_le_bytes(bytes: &[u8; MARKET_POLICY_BYTES]) -> MarketPolicy {
        let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        MarketPolicy {
            timelock_secs: u32_at(0),
            guardian_pause_secs: u32_at(4),
            listing_ramp_secs: u32_at(8),
            max_risk_step_bps: u16::from_le_bytes([bytes[12], bytes[13]]),
            padding: [bytes[14], bytes[15]],
        }
    }

    /// No controls: what a market created without a policy has (tests, devnets).
    pub const OFF: MarketPolicy =
        MarketPolicy { timelock_secs: 0, guardian_pause_secs: 0, listing_ramp_secs: 0, max_risk_step_bps: 0, padding: [0; 2] };
    /// The deploy tools' default: 2-day timelock, guardian pauses of 1 day, caps over 7 days,
    /// LTV and threshold steps of at most 5 points.
    pub const RECOMMENDED: MarketPolicy = MarketPolicy {
        timelock_secs: 2 * 86_400,
        guardian_pause_secs: 86_400,
        listing_ramp_secs: 7 * 86_400,
        max_risk_step_bps: 500,
        padding: [0; 2],
    };

    /// Every bound in range (`InvalidMarketPolicy`); with a guardian, its pause lasts > 0.
    pub fn validate(&self, has_guardian: bool) -> std::result::Result<(), LendingError> {
        let ok = self.timelock_secs <= MAX_TIMELOCK_SECS
            && self.guardian_pause_secs <= MAX_GUARDIAN_PAUSE_SECS
            && self.listing_ramp_secs <= MAX_LISTING_RAMP_SECS
            && self.max_risk_step_bps as u128 <= BPS_DENOMINATOR
            && self.padding == [0; 2]
            && (!has_guardian || self.guardian_pause_secs > 0);
        if ok {
            Ok(())
        } else {
            Err(LendingError::InvalidMarketPolicy)
        }
    }

    /// `new` binds the admins at least as much as `self`: a longer or equal timelock and listing
    /// ramp, an equal or smaller (nonzero) risk step, the same guardian pause (longer gives the
    /// guardian more, shorter gives it less: both wait).
    pub fn tightened_by(&self, new: &MarketPolicy) -> bool {
        let step_tighter = new.max_risk_step_bps != 0 && (self.max_risk_step_bps == 0 || new.max_risk_step_bps <= self.max_risk_step_bps);
        new.timelock_secs >= self.timelock_secs
            && new.guardian_pause_secs == self.guardian_pause_secs
            && new.listing_ramp_secs >= self.listing_ramp_secs
            && (step_tighter || new.max_risk_step_bps == self.max_risk_step_bps)
    }

    /// A change that does not apply at once (`at_once` false) needs the timelock: refused with
    /// `ChangeNeedsTimelock` (queue it instead) unless the market has none.
    pub fn require_at_once(&self, at_once: bool) -> std::result::Result<(), LendingError> {
        if at_once || self.timelock_secs == 0 {
            Ok(())
        } else {
            Err(LendingError::ChangeNeedsTimelock)
        }
    }

    /// Refuses `new` when it moves the LTV or the threshold by more than the step
    /// (`RiskStepTooLarge`), in either direction: a big drop of the threshold liquidates
    /// borrowers as surely as a big rise exposes depositors. An LTV of 0 has no borrowers to
    /// protect: the first LTV of a listing (or of a reserve cut to 0) may be any.
    pub fn check_risk_step(&self, old: &ReserveConfig, new: &ReserveConfig) -> std::result::Result<(), LendingError> {
        let step = self.max_risk_step_bps;
        if step == 0 {
            return Ok(());
        }
        let ltv_move = if old.loan_to_value_bps == 0 { 0 } else { old.loan_to_value_bps.abs_diff(new.loan_to_value_bps) };
        let threshold_move = old.liquidation_threshold_bps.abs_diff(new.liquidation_threshold_bps);
        if ltv_move > step || threshold_move > step {
            return Err(LendingError::RiskStepTooLarge);
        }
        Ok(())
    }
}

/// A cap where 0 means none: `new` is at most `old`.
fn cap_tighter(old: u64, new: u64) -> bool {
    new != 0 && (old == 0 || new <= old)
}

impl ReserveConfig {
    /// `new` only tightens: every field equal to this config's except ones moved in a direction
    /// that applies at once. For the owner: a lower loan-to-value (it limits new borrows only),
    /// lower caps (deposit, borrow, their values, the isolation ceiling), a tighter outflow
    /// limit (a lower share, a longer window, a lower floor; switched on) and a narrower price
    /// band (switched on). For the guardian only what limits new borrowing: the loan-to-value,
    /// the borrow caps and the isolation ceiling (a deposit cap, an outflow limit or a band it
    /// set would last; its pauses expire). Everything else waits the timelock, in both
    /// directions: a lower threshold or a higher borrow weight liquidates existing borrowers, a
    /// higher bonus takes more from them, fees and the rate curve move money between users, a
    /// tighter oracle age or confidence can stop every refresh (and so every liquidation), and
    /// those it falls on get the delay to leave.
    pub fn tightened_by(&self, new: &ReserveConfig, by_guardian: bool) -> bool {
        let mut probe = *new;
        if new.loan_to_value_bps <= self.loan_to_value_bps {
            probe.loan_to_value_bps = self.loan_to_value_bps;
        }
        if new.borrow_limit <= self.borrow_limit {
            probe.borrow_limit = self.borrow_limit;
        }
        if cap_tighter(self.borrow_limit_value, new.borrow_limit_value) {
            probe.borrow_limit_value = self.borrow_limit_value;
        }
        if new.isolation_debt_ceiling_value <= self.isolation_debt_ceiling_value && (new.isolation_debt_ceiling_value != 0 || !new.is_isolated_collateral()) {
            probe.isolation_debt_ceiling_value = self.isolation_debt_ceiling_value;
        }
        if !by_guardian {
            if new.deposit_limit <= self.deposit_limit {
                probe.deposit_limit = self.deposit_limit;
            }
            if cap_tighter(self.deposit_limit_value, new.deposit_limit_value) {
                probe.deposit_limit_value = self.deposit_limit_value;
            }
            if cap_tighter(self.outflow_limit_bps as u64, new.outflow_limit_bps as u64) {
                probe.outflow_limit_bps = self.outflow_limit_bps;
            }
            if new.outflow_window_secs >= self.outflow_window_secs {
                probe.outflow_window_secs = self.outflow_window_secs;
            }
            if new.outflow_floor <= self.outflow_floor {
                probe.outflow_floor = self.outflow_floor;
            }
            if cap_tighter(self.price_band_bps as u64, new.price_band_bps as u64) {
                probe.price_band_bps = self.price_band_bps;
            }
        }
        probe == *self
    }

    /// The outflow limit is on (`outflow_limit_bps` above 0).
    pub fn has_outflow_limit(&self) -> bool {
        self.outflow_limit_bps != 0
    }

    /// The outflow settings in range: a share up to 100% with a window of 1 second..=7 days, or
    /// all zero (off) (`InvalidOutflowLimit`).
    pub fn validate_outflow(&self) -> std::result::Result<(), LendingError> {
        let off = self.outflow_limit_bps == 0 && self.outflow_window_secs == 0 && self.outflow_floor == 0;
        let on = self.outflow_limit_bps != 0
            && self.outflow_limit_bps as u128 <= BPS_DENOMINATOR
            && (1..=MAX_OUTFLOW_WINDOW_SECS).contains(&self.outflow_window_secs);
        if off || on {
            Ok(())
        } else {
            Err(LendingError::InvalidOutflowLimit)
        }
    }
}

/// What the outflow limit lets out now, and how it grows back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutflowRoom {
    /// Base units that may leave now (u64::MAX with the limit off).
    pub available: u64,
    /// The most that may leave within one window: the larger of the share of the depositors'
    /// claim and the floor.
    pub capacity: u64,
    /// Seconds until the whole capacity is available again (0: it is).
    pub full_in_secs: u64,
}

/// The outflow bucket as of a moment: the capacity, and the outflow counted and inflow credited
/// after their decay, with the claim the capacity is a share of.
struct OutflowNow {
    capacity: u64,
    used: u64,
    credit: u64,
    base: u64,
    base_at: i64,
}

impl Reserve {
    /// The capacity for a claim of `base`: `outflow_limit_bps` of it, rounded down, or the floor
    /// when that is larger.
    fn outflow_capacity_of(&self, base: u64) -> u64 {
        // base × bps < 2^78: one long division by 10^4.
        let share = div_rem_small(base as u128 * self.config.outflow_limit_bps as u128, BPS_DENOMINATOR as u64).0 as u64;
        share.max(self.config.outflow_floor)
    }

    /// `value` at `now`: less what has decayed since the last count, pro rata to the seconds
    /// elapsed and rounded down, at `capacity` per window (so the room never grows back faster
    /// than the limit says), or at the value's own size per window when larger: a count or a
    /// credit left alone is gone a window later, and one touched in between decays at least at
    /// the capacity's pace. (Without that, a reserve listed with the limit on would keep its
    /// first deposits as credit forever, on a capacity of zero.)
    fn outflow_decayed(&self, value: u64, capacity: u64, now: i64) -> u64 {
        let window = self.config.outflow_window_secs as u64;
        let elapsed = (now.saturating_sub(self.outflow_updated_at).max(0) as u64).min(window);
        let rate = capacity.max(value);
        let decayed = div_rem_small(rate as u128 * elapsed as u128, window.max(1)).0;
        value.saturating_sub(decayed.min(u64::MAX as u128) as u64)
    }

    /// The bucket at `now`. The capacity is a share of the reserve's liquidity on hand (idle, a
    /// flash loan out, the insurance fund's payment owed) as it stood when the bucket was last
    /// empty (`outflow_base`), taken again once a window has passed, less the inflow credited.
    /// On hand is what every counted flow moves, so nothing inflates it: a deposit adds as much
    /// credit as liquidity, a borrow that uses the credit takes as much liquidity, a flash loan
    /// moves neither. (A first design took the depositors' claim, which a borrow does not
    /// lower: a deposit whose credit a borrow then used left the claim inflated.) A withdrawal
    /// does not shrink the capacity it is counted against.
    fn outflow_now(&self, now: i64) -> std::result::Result<OutflowNow, LendingError> {
        let stored_capacity = self.outflow_capacity_of(self.outflow_base);
        let used = self.outflow_decayed(self.outflow_used, stored_capacity, now);
        let credit = self.outflow_decayed(self.outflow_credit, stored_capacity, now);
        let window_over = now >= self.outflow_base_at.saturating_add(self.config.outflow_window_secs as i64);
        let (base, base_at) = if (used == 0 && credit == 0) || window_over {
            (self.liquidity_on_hand()?.saturating_sub(credit), now)
        } else {
            (self.outflow_base, self.outflow_base_at)
        };
        Ok(OutflowNow { capacity: self.outflow_capacity_of(base), used, credit, base, base_at })
    }

    fn store_outflow(&mut self, state: &OutflowNow, used: u64, credit: u64, now: i64) {
        (self.outflow_used, self.outflow_credit, self.outflow_updated_at) = (used, credit, now);
        (self.outflow_base, self.outflow_base_at) = (state.base, state.base_at);
    }

    /// The outflow limit's room at `now` (the whole of u64 with the limit off): the capacity less
    /// the outflow counted, plus the inflow credited.
    pub fn outflow_room(&self, now: i64) -> std::result::Result<OutflowRoom, LendingError> {
        if !self.config.has_outflow_limit() {
            return Ok(OutflowRoom { available: u64::MAX, capacity: u64::MAX, full_in_secs: 0 });
        }
        let OutflowNow { capacity, used, credit, .. } = self.outflow_now(now)?;
        let window = self.config.outflow_window_secs as u128;
        let full_in_secs = match capacity {
            0 => 0,
            _ => ((used as u128 * window).div_ceil(capacity as u128)).min(u64::MAX as u128) as u64,
        };
        Ok(OutflowRoom { available: capacity.saturating_sub(used).saturating_add(credit), capacity, full_in_secs })
    }

    /// Counts `amount` leaving the reserve (a withdrawal, a redemption, a borrow's payout, an
    /// order's or soft call's payout) against the outflow limit at `now`: first against the
    /// inflow credited in the window, then against the capacity. Refuses it with
    /// `OutflowLimitExceeded` (logging what is available now and when the limit is full again)
    /// and leaves the bucket as it was.
    pub fn record_outflow(&mut self, amount: u64, now: i64) -> std::result::Result<(), LendingError> {
        if !self.config.has_outflow_limit() || amount == 0 {
            return Ok(());
        }
        let state = self.outflow_now(now)?;
        let (used, credit) = match amount.checked_sub(state.credit) {
            None => (state.used, state.credit - amount),
            Some(rest) => match state.used.checked_add(rest).filter(|total| *total <= state.capacity) {
                Some(total) => (total, 0),
                None => {
                    refused_outflow(self, now);
                    return Err(LendingError::OutflowLimitExceeded);
                }
            },
        };
        self.store_outflow(&state, used, credit, now);
        Ok(())
    }

    /// Credits `amount` coming in (a deposit, a repayment, a liquidation's repayment): first
    /// off the outflow counted in the window, the rest as credit for outflows in it. Net outflow
    /// is what the limit bounds, so depositing and withdrawing the same amount (with a flash
    /// loan or without) leaves the room as it was and cannot fill it for others. Never fails:
    /// an inflow is never refused (if the claim cannot be computed, the bucket is left alone).
    pub fn record_inflow(&mut self, amount: u64, now: i64) {
        if !self.config.has_outflow_limit() {
            return;
        }
        let Ok(state) = self.outflow_now(now) else {
            return;
        };
        let (used, credit) = match amount.checked_sub(state.used) {
            None => (state.used - amount, state.credit),
            Some(rest) => (0, state.credit.saturating_add(rest)),
        };
        self.store_outflow(&state, used, credit, now);
    }

    /// Actions paused at `now`: the owner's pauses, the guardian's until they expire, and
    /// liquidations until their own pause expires.
    pub fn paused_actions(&self, now: i64) -> u8 {
        let guardian = if now < self.guardian_pause_until { self.guardian_paused } else { 0 };
        let liquidation = if now < self.liquidation_pause_until { ACTION_LIQUIDATE } else { 0 };
        self.owner_paused | guardian | liquidation
    }

    /// Refuses `action` (an `ACTION_*` bit) while it is paused (`ActionPaused`).
    pub fn check_action(&self, action: u8, now: i64) -> std::result::Result<(), LendingError> {
        if self.paused_actions(now) & action != 0 {
            return Err(LendingError::ActionPaused);
        }
        Ok(())
    }

    /// An expiring pause at `now` lasting `secs`, ending at `*until`: joins a pause still running
    /// without extending it; once one has expired, the next may start only `secs` after
    /// (`GuardianPauseCooldown`), so expiring pauses cannot be chained into a lasting one.
    /// Returns whether a new pause started (the caller then sets its actions afresh).
    fn start_expiring(until: &mut i64, now: i64, secs: u32) -> std::result::Result<bool, LendingError> {
        if now < *until {
            return Ok(false);
        }
        let ready_at = overflow(until.checked_add(secs as i64))?;
        if *until != 0 && now < ready_at {
            return Err(LendingError::GuardianPauseCooldown);
        }
        *until = overflow(now.checked_add(secs as i64))?;
        Ok(true)
    }

    /// The guardian pauses `actions` but liquidations (`expiring pause`: see `start_expiring`).
    pub fn guardian_pause(&mut self, actions: u8, now: i64, secs: u32) -> std::result::Result<(), LendingError> {
        if Self::start_expiring(&mut self.guardian_pause_until, now, secs)? {
            self.guardian_paused = actions;
        } else {
            self.guardian_paused |= actions;
        }
        Ok(())
    }

    /// Liquidations paused, by the owner or the guardian: always an expiring pause, in a slot of
    /// its own (a guardian's pause of other actions never delays it), since a lasting
    /// liquidation pause would shelter bad positions at the depositors' cost.
    pub fn liquidation_pause(&mut self, now: i64, secs: u32) -> std::result::Result<(), LendingError> {
        Self::start_expiring(&mut self.liquidation_pause_until, now, secs).map(|_| ())
    }

    /// Lifts `actions`, the owner's pauses and the expiring ones alike (after the timelock).
    pub fn unpause(&mut self, actions: u8, now: i64) {
        self.owner_paused &= !actions;
        self.guardian_paused &= !actions;
        if actions & ACTION_LIQUIDATE != 0 && now < self.liquidation_pause_until {
            // Ended now: the next one waits its cooldown from here.
            self.liquidation_pause_until = now;
        }
    }

    /// A config change applies at once: it only tightens (`ReserveConfig::tightened_by`), and a
    /// lower loan-to-value moves no existing position (without a soft zone, whose band starts
    /// at the loan-to-value, and without dynamic margin, whose threshold follows it).
    pub fn applies_at_once(&self, new: &ReserveConfig, by_guardian: bool) -> bool {
        let ltv_moves_positions = self.soft_zone.is_enabled() || self.dynamic_config.flags != 0;
        self.config.tightened_by(new, by_guardian) && (new.loan_to_value_bps == self.config.loan_to_value_bps || !ltv_moves_positions)
    }

    /// `limit` as the listing ramp lets it count at `now`: from 0 at listing to all of it
    /// `listing_ramp_secs` later, linearly, rounded down.
    pub fn ramped_limit(&self, limit: u64, now: i64) -> u64 {
        let ramp = self.listing_ramp_secs as u64;
        let elapsed = now.saturating_sub(self.listed_at).max(0) as u64;
        if ramp == 0 || elapsed >= ramp {
            return limit;
        }
        div_rem_small(limit as u128 * elapsed as u128, ramp).0 as u64
    }
}

/// Logs the refused outflow's room (cold: only on the refusal).
#[cold]
#[inline(never)]
fn refused_outflow(reserve: &Reserve, now: i64) {
    if let Ok(room) = reserve.outflow_room(now) {
        msg!(
            "outflow limit: {} available now of {} per {}s window; full again in {}s",
            room.available,
            room.capacity,
            reserve.config.outflow_window_secs,
            room.full_in_secs
        );
    }
}

/// Checks a pause mask: nonzero and only known actions (`InvalidPauseMask`).
pub fn check_pause_mask(actions: u8) -> std::result::Result<(), LendingError> {
    if actions == 0 || actions & !ACTIONS_ALL != 0 {
        return Err(LendingError::InvalidPauseMask);
    }
    Ok(())
}
