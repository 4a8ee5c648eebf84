//! The timelock's queue: a change that loosens risk (or moves money between users) is queued in
//! a `QueuedChange` account, visible to everyone, and executed by anyone once the market's
//! delay has run; the owner may cancel it before. See `state::policy` for which changes apply at
//! once.
use super::{DynamicMarginConfig, EmodeGroup, MarketPolicy, Reserve, ReserveConfig, SoftZoneConfig, CHANGE_GRACE_SECS};
use crate::errors::LendingError;
use anchor_lang::prelude::*;

pub const QUEUED_CHANGE_SEED: &[u8] = b"change";
/// Room for the largest `PendingChange` (a whole `ReserveConfig`), Borsh-encoded.
pub const PENDING_CHANGE_SPACE: usize = 1 + 256;

/// A change waiting for the timelock. Each kind is what the owner's instruction of the same name
/// would set at once on a market without a timelock, checked again when executed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingChange {
    /// `update_reserve_config` of the target reserve.
    ReserveConfig { config: ReserveConfig },
    /// `set_emode_group` (the group's debt account must exist: `set_emode_group` without a
    /// change creates it at once).
    EmodeGroup { group: u8, params: EmodeGroup, debt_cap_value: u64 },
    /// `set_liquidation_limits`.
    LiquidationLimits { liquidation_cap_value: u64, dust_value: u64, protocol_share_bps: u16 },
    /// `set_dynamic_margin` of the target reserve.
    DynamicMargin { config: DynamicMarginConfig },
    /// `set_soft_zone` of the target reserve.
    SoftZone { config: SoftZoneConfig },
    /// Lifts the pauses of `actions` on the target reserve, the owner's and the guardian's.
    Unpause { actions: u8 },
    /// `set_market_paused(false)`.
    UnpauseMarket,
    /// A new policy (one that only tightens applies at once through `set_market_policy`).
    Policy { policy: MarketPolicy },
    /// A new guardian (the default key: none).
    Guardian { guardian: Pubkey },
    /// Names the next owner, who takes over by signing `accept_ownership` (the default key:
    /// withdraws a pending nomination).
    Owner { new_owner: Pubkey },
}

impl PendingChange {
    /// The kind's number, as events carry it (the variant's index).
    pub fn kind(&self) -> u8 {
        match self {
            PendingChange::ReserveConfig { .. } => 0,
            PendingChange::EmodeGroup { .. } => 1,
            PendingChange::LiquidationLimits { .. } => 2,
            PendingChange::DynamicMargin { .. } => 3,
            PendingChange::SoftZone { .. } => 4,
            PendingChange::Unpause { .. } => 5,
            PendingChange::UnpauseMarket => 6,
            PendingChange::Policy { .. } => 7,
            PendingChange::Guardian { .. } => 8,
            PendingChange::Owner { .. } => 9,
        }
    }

    /// The change acts on one reserve (passed as the target).
    pub fn targets_reserve(&self) -> bool {
        matches!(
            self,
            PendingChange::ReserveConfig { .. } | PendingChange::DynamicMargin { .. } | PendingChange::SoftZone { .. } | PendingChange::Unpause { .. }
        )
    }
}

/// One queued change (PDA `["change", market, id]`).
#[account]
pub struct QueuedChange {
    pub lending_market: Pubkey,
    pub id: u64,
    pub queued_at: i64,
    /// Executable by anyone from this Unix time until `CHANGE_GRACE_SECS` later.
    pub eta: i64,
    /// The reserve the change acts on, or the market.
    pub target: Pubkey,
    /// Paid the rent; receives it back when the change is executed or cancelled. A change runs
    /// only while its queuer is still the owner.
    pub queued_by: Pubkey,
    /// For a reserve change: `reserve_settings_hash` of the reserve when queued. The change
    /// runs only on those settings, so it cannot undo a tightening or a pause made since.
    pub base_hash: [u8; 32],
    pub change: PendingChange,
}

/// A hash of what a reserve `change` may undo: for a lift of pauses, the pauses; for any
/// other reserve change, the reserve's config, dynamic-margin settings and soft zone (not its
/// pauses: a guardian pausing when a change falls due must not make it stale, nor its prices or
/// measured state).
pub fn reserve_settings_hash(reserve: &Reserve, change: &PendingChange) -> [u8; 32] {
    let hash = match change {
        PendingChange::Unpause { .. } => solana_sha256_hasher::hashv(&[
            &[reserve.owner_paused, reserve.guardian_paused],
            &reserve.guardian_pause_until.to_le_bytes(),
            &reserve.liquidation_pause_until.to_le_bytes(),
        ]),
        _ => solana_sha256_hasher::hashv(&[
            bytemuck::bytes_of(&reserve.config),
            bytemuck::bytes_of(&reserve.dynamic_config),
            bytemuck::bytes_of(&reserve.soft_zone),
        ]),
    };
    hash.to_bytes()
}

impl QueuedChange {
    pub const SPACE: usize = 8 + 32 + 8 + 8 + 8 + 32 + 32 + 32 + PENDING_CHANGE_SPACE;

    /// When the change may run under a timelock of `timelock_secs`: its own due time, or later
    /// if the timelock was lengthened since it was queued.
    pub fn due_at(&self, timelock_secs: u32) -> i64 {
        self.eta.max(self.queued_at.saturating_add(timelock_secs as i64))
    }

    /// The change may run at `now` under a timelock of `timelock_secs`: its delay has passed
    /// (`TimelockNotElapsed`, logging the seconds left) and its grace period has not
    /// (`ChangeExpired`).
    pub fn check_due(&self, now: i64, timelock_secs: u32) -> std::result::Result<(), LendingError> {
        let due = self.due_at(timelock_secs);
        if now < due {
            msg!("timelock: executable in {}s (at {})", due - now, due);
            return Err(LendingError::TimelockNotElapsed);
        }
        if now > due.saturating_add(CHANGE_GRACE_SECS) {
            return Err(LendingError::ChangeExpired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_change_fits_its_space() {
        let change = PendingChange::ReserveConfig { config: ReserveConfig::default() };
        let bytes = borsh::to_vec(&change).unwrap();
        assert!(bytes.len() <= PENDING_CHANGE_SPACE, "{} bytes", bytes.len());
        for change in [
            PendingChange::EmodeGroup { group: 1, params: EmodeGroup::default(), debt_cap_value: 1 },
            PendingChange::DynamicMargin { config: DynamicMarginConfig::default() },
            PendingChange::SoftZone { config: SoftZoneConfig::default() },
            PendingChange::Policy { policy: MarketPolicy::RECOMMENDED },
        ] {
            assert!(borsh::to_vec(&change).unwrap().len() <= bytes.len());
        }
    }

    #[test]
    fn a_change_is_due_from_its_eta_through_its_grace_period() {
        let queued = QueuedChange {
            lending_market: Pubkey::default(),
            id: 0,
            queued_at: 100,
            eta: 1_000,
            target: Pubkey::default(),
            queued_by: Pubkey::default(),
            base_hash: [0; 32],
            change: PendingChange::UnpauseMarket,
        };
        assert_eq!(queued.check_due(999, 900), Err(LendingError::TimelockNotElapsed));
        assert_eq!(queued.check_due(1_000, 900), Ok(()));
        assert_eq!(queued.check_due(1_000 + CHANGE_GRACE_SECS, 900), Ok(()));
        assert_eq!(queued.check_due(1_001 + CHANGE_GRACE_SECS, 900), Err(LendingError::ChangeExpired));
        // A timelock lengthened since: the change waits it from when it was queued.
        assert_eq!(queued.check_due(1_050, 1_000), Err(LendingError::TimelockNotElapsed));
        assert_eq!(queued.check_due(1_100, 1_000), Ok(()));
    }
}
