//! E-mode groups: a market's groups of correlated assets (SOL and its liquid staking tokens,
//! USD stablecoins), each with a loan-to-value, liquidation threshold and liquidation bonus of
//! its own, typically higher than the assets' own. An obligation opts into one group
//! (`set_obligation_emode`); while in it, positions in the group's member reserves
//! (`ReserveConfig::emode_groups`) are valued with the group's parameters and debt counts at
//! 100% (`Emode::risk_params`), and new positions outside the group are refused
//! (`NotInEmodeGroup`).
use crate::errors::LendingError;
use crate::math::BPS_DENOMINATOR;
use anchor_lang::prelude::*;

/// Seed of a group's debt account: `["emode_debt", market, [group]]`.
pub const EMODE_DEBT_SEED: &[u8] = b"emode_debt";

/// The debt owed by obligations in one e-mode group, held within the group's cap. Created by
/// `set_emode_group` the first time the group is set (so every group that can be entered has
/// one); borrow, repay, liquidate, write-off and `set_obligation_emode` of an obligation in the
/// group take it writable. `debt` is Σ over the group's obligations of `Obligation::emode_charges`.
#[account(zero_copy)]
#[derive(Debug)]
pub struct EmodeGroupDebt {
    pub version: u8,
    /// The group (1..=8).
    pub group: u8,
    pub bump: u8,
    pub padding0: [u8; 5],
    pub lending_market: Pubkey,
    /// Most debt the group's obligations may owe, in whole quote units (0: no cap), counted at
    /// the conservative debt price when borrowed (or when the obligation entered the group).
    pub debt_cap_value: u64,
    /// The group's obligations' debt as counted, in millionths of a quote unit
    /// (`DEBT_UNITS_PER_QUOTE`).
    pub debt: u64,
    /// Room for follow-up fields.
    pub reserved: [u8; 64],
}

impl EmodeGroupDebt {
    /// Counts `units` more debt in the group (`EmodeDebtCapExceeded` above the cap).
    pub fn charge(&mut self, units: u64) -> std::result::Result<(), LendingError> {
        self.debt = super::within_value_cap(self.debt, units, self.debt_cap_value).ok_or(LendingError::EmodeDebtCapExceeded)?;
        Ok(())
    }

    /// Takes `units` of repaid (or departed) debt off the group's count.
    pub fn release(&mut self, units: u64) -> std::result::Result<(), LendingError> {
        self.debt = crate::errors::overflow(self.debt.checked_sub(units))?;
        Ok(())
    }
}

/// Groups a market holds: 1..=8 (0 is "no group").
pub const MAX_EMODE_GROUPS: usize = 8;

/// The parameters of one e-mode group. All zero: the group is disabled.
#[zero_copy]
// Borsh derives straight from borsh: Anchor's own derives would add a second IDL
// implementation next to `#[zero_copy]`'s.
#[derive(Default, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
#[borsh(crate = "anchor_lang::prelude::borsh")]
pub struct EmodeGroup {
    /// Share of a member collateral's value that may be borrowed against.
    pub loan_to_value_bps: u16,
    /// Share of a member collateral's value above which the obligation is liquidatable.
    pub liquidation_threshold_bps: u16,
    /// Bonus a liquidator receives seizing a member collateral (the auction's start).
    pub liquidation_bonus_bps: u16,
    /// Upper end of the bonus auction (0: no auction, the bonus is `liquidation_bonus_bps`).
    pub max_liquidation_bonus_bps: u16,
}

/// Bytes of one group as the market stores it: the four fields as little-endian u16s.
pub const EMODE_GROUP_BYTES: usize = 8;

impl EmodeGroup {
    pub fn from_le_bytes(bytes: &[u8; EMODE_GROUP_BYTES]) -> EmodeGroup {
        let field = |i: usize| u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]);
        EmodeGroup {
            loan_to_value_bps: field(0),
            liquidation_threshold_bps: field(1),
            liquidation_bonus_bps: field(2),
            max_liquidation_bonus_bps: field(3),
        }
    }

    pub fn to_le_bytes(&self) -> [u8; EMODE_GROUP_BYTES] {
        let mut bytes = [0u8; EMODE_GROUP_BYTES];
        for (i, field) in [self.loan_to_value_bps, self.liquidation_threshold_bps, self.liquidation_bonus_bps, self.max_liquidation_bonus_bps]
            .into_iter()
            .enumerate()
        {
            bytes[2 * i..2 * i + 2].copy_from_slice(&field.to_le_bytes());
        }
        bytes
    }

    pub const DISABLED: EmodeGroup =
        EmodeGroup { loan_to_value_bps: 0, liquidation_threshold_bps: 0, liquidation_bonus_bps: 0, max_liquidation_bonus_bps: 0 };

    pub fn is_enabled(&self) -> bool {
        self.liquidation_threshold_bps != 0
    }

    /// All zero (disabled), or: threshold in (0, 100%] (`InvalidEmodeLiquidationThreshold`),
    /// LTV below it (`InvalidEmodeLoanToValue`), threshold × (1 + bonus) ≤ 100% for the bonus
    /// and for the auction's maximum, which is not below the bonus
    /// (`InvalidEmodeLiquidationBonus`): as for a reserve, seizing a member collateral can then
    /// only make the position healthier.
    pub fn validate(&self) -> std::result::Result<(), LendingError> {
        if *self == EmodeGroup::DISABLED {
            return Ok(());
        }
        let bps = BPS_DENOMINATOR as u64;
        let threshold = self.liquidation_threshold_bps as u64;
        if threshold == 0 || threshold > bps {
            return Err(LendingError::InvalidEmodeLiquidationThreshold);
        }
        if self.loan_to_value_bps >= self.liquidation_threshold_bps {
            return Err(LendingError::InvalidEmodeLoanToValue);
        }
        let keeps_health = |bonus: u16| threshold * (bps + bonus as u64) <= bps * bps;
        if !keeps_health(self.liquidation_bonus_bps) {
            return Err(LendingError::InvalidEmodeLiquidationBonus);
        }
        if self.max_liquidation_bonus_bps != 0
            && (self.max_liquidation_bonus_bps < self.liquidation_bonus_bps || !keeps_health(self.max_liquidation_bonus_bps))
        {
            return Err(LendingError::InvalidEmodeLiquidationBonus);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_validated_like_a_reserve() {
        let group = EmodeGroup { loan_to_value_bps: 9_000, liquidation_threshold_bps: 9_300, liquidation_bonus_bps: 200, max_liquidation_bonus_bps: 700 };
        assert_eq!(group.validate(), Ok(()));
        assert_eq!(EmodeGroup::DISABLED.validate(), Ok(()));
        let bad = |g: EmodeGroup| g.validate().unwrap_err();
        assert_eq!(bad(EmodeGroup { liquidation_threshold_bps: 0, ..group }), LendingError::InvalidEmodeLiquidationThreshold);
        assert_eq!(bad(EmodeGroup { liquidation_threshold_bps: 10_001, ..group }), LendingError::InvalidEmodeLiquidationThreshold);
        assert_eq!(bad(EmodeGroup { loan_to_value_bps: 9_300, ..group }), LendingError::InvalidEmodeLoanToValue);
        // 93% × 1.08 > 100%.
        assert_eq!(bad(EmodeGroup { liquidation_bonus_bps: 800, max_liquidation_bonus_bps: 0, ..group }), LendingError::InvalidEmodeLiquidationBonus);
        assert_eq!(bad(EmodeGroup { max_liquidation_bonus_bps: 800, ..group }), LendingError::InvalidEmodeLiquidationBonus);
        assert_eq!(bad(EmodeGroup { max_liquidation_bonus_bps: 100, ..group }), LendingError::InvalidEmodeLiquidationBonus);
        // 93% × 1.0752 = 99.99%: the edge is allowed.
        assert_eq!(EmodeGroup { max_liquidation_bonus_bps: 752, ..group }.validate(), Ok(()));
    }
}
