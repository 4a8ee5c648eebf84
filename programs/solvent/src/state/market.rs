use super::{MarketPolicy, MARKET_POLICY_BYTES, Emode, EmodeGroup, EMODE_GROUP_BYTES, MAX_EMODE_GROUPS};
use crate::errors::LendingError;
use crate::math::Wad;
use anchor_lang::prelude::*;

pub const MARKET_AUTHORITY_SEED: &[u8] = b"authority";

/// The root of one market: who administers it, what prices are quoted in, and the pause switch.
#[account]
#[derive(InitSpace)]
pub struct LendingMarket {
    pub version: u8,
    /// Bump of the market authority PDA (`["authority", market]`) that owns every vault.
    pub authority_bump: u8,
    /// While set, what adds risk or takes liquidity out is refused (borrow, withdraw, flash
    /// borrow, lend-only deposit and redemption); what removes risk still runs (repay, deposit of
    /// collateral, refresh, liquidation, write-off), so no position can shelter behind a pause.
    pub paused: bool,
    pub owner: Pubkey,
    /// The market authority PDA, stored so instructions check it by address instead of hashing.
    pub authority: Pubkey,
    /// Symbol of the quote currency, e.g. "USD", zero padded.
    pub quote_currency: [u8; 32],
    /// Program that must own every oracle account of this market (Pyth's oracle program).
    pub oracle_program: Pubkey,
    /// Most debt value one liquidation call may repay, in whole quote units (0: no cap), so one
    /// call cannot dump a whale position into a thin market at once.
    pub liquidation_cap_value: u64,
    /// Below this much debt or collateral value, in whole quote units, an unhealthy obligation is
    /// liquidated in full, past the close factor and the cap, so no unliquidatable dust is left
    /// (0: off).
    pub dust_value: u64,
    /// Share of each liquidation's bonus the protocol keeps, as fees of the collateral reserve.
    pub liquidation_protocol_share_bps: u16,
    /// E-mode groups 1..=8, set by `set_emode_group`: group `g` is the 8 bytes from
    /// `(g - 1) × 8`, its four `EmodeGroup` fields as little-endian u16s (all zero: disabled).
    /// Stored as bytes, read with `emode`: Borsh copies a byte array, where eight structs would
    /// cost every instruction that loads the market a few hundred compute units.
    pub emode_groups: [u8; MAX_EMODE_GROUPS * EMODE_GROUP_BYTES],
    pub reserved: [u8; 46],
    /// May only tighten: pause reserve actions (for `policy.guardian_pause_secs` unless the
    /// owner confirms), lower caps and loan-to-value (default key: no guardian).
    pub guardian: Pubkey,
    /// The owner a matured ownership change named; becomes the owner when it signs
    /// `accept_ownership` (default key: none).
    pub pending_owner: Pubkey,
    /// The rules binding the owner (`MarketPolicy`: the timelock, the guardian's pause, the
    /// listing ramp, the risk step), as `MarketPolicy::to_le_bytes`; read with `policy()`.
    /// Bytes, as `emode_groups`: Borsh copies an array where a struct costs every instruction
    /// that loads the market a field-by-field decode.
    pub policy_bytes: [u8; MARKET_POLICY_BYTES],
    /// Id of the next queued change (`QueuedChange` PDA seed).
    pub next_change_id: u64,
}

/// Byte offset of `LendingMarket::emode_groups` in the account (Borsh packs the fields in
/// order without padding; the discriminator first). refresh_obligation reads one group in place.
pub const EMODE_GROUPS_OFFSET: usize = 8 + 1 + 1 + 1 + 32 + 32 + 32 + 32 + 8 + 8 + 2;

/// Where group `group` (1..=8, `InvalidEmodeGroup` otherwise) lies in `emode_groups`.
fn emode_group_range(group: u8) -> std::result::Result<core::ops::Range<usize>, LendingError> {
    if !(1..=MAX_EMODE_GROUPS as u8).contains(&group) {
        return Err(LendingError::InvalidEmodeGroup);
    }
    let start = (group as usize - 1) * EMODE_GROUP_BYTES;
    Ok(start..start + EMODE_GROUP_BYTES)
}



/// The market-wide bounds on one liquidation call, as `plan_liquidation` applies them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiquidationLimits {
    /// Largest repaid value, in quote units (Wad), unless the obligation is dust.
    pub cap_value: Option<Wad>,
    /// The obligation is below the dust threshold: its whole debt may be repaid at once.
    pub full_liquidation: bool,
}

impl LiquidationLimits {
    /// No close factor and no per-call cap: for a call whose repayment is bounded before
    /// sizing (an order's or a soft call's share of the debt).
    pub const WHOLE_DEBT: LiquidationLimits = LiquidationLimits { cap_value: None, full_liquidation: true };
}

/// What the hot instructions read of a market, in place (`LendingMarket::header_in`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketHeader {
    pub authority_bump: u8,
    pub paused: bool,
    pub authority: Pubkey,
}

/// Byte offsets in the market account (after the 8-byte discriminator: Borsh lays the fields
/// before `emode_groups` at fixed offsets): `authority_bump`, `paused`, `authority`.
const AUTHORITY_BUMP_OFFSET: usize = 8 + 1;
const PAUSED_OFFSET: usize = 8 + 2;
const AUTHORITY_OFFSET: usize = 8 + 1 + 1 + 1 + 32;

impl LendingMarket {
    /// Group `group`'s parameters: `Emode::NONE` for 0, else the group (1..=8, `InvalidEmodeGroup`
    /// beyond), enabled or not.
    pub fn emode(&self, group: u8) -> std::result::Result<Emode, LendingError> {
        if group == 0 {
            return Ok(Emode::NONE);
        }
        let bytes = &self.emode_groups[emode_group_range(group)?];
        let params = EmodeGroup::from_le_bytes(bytes.try_into().map_err(|_| LendingError::InvalidEmodeGroup)?);
        Ok(Emode { group, params })
    }

    /// Stores group `group` (1..=8, `InvalidEmodeGroup` beyond) as `params`, once
    /// `EmodeGroup::validate` accepts them.
    pub fn set_emode_group(&mut self, group: u8, params: &EmodeGroup) -> std::result::Result<(), LendingError> {
        let range = emode_group_range(group)?;
        params.validate()?;
        self.emode_groups[range].copy_from_slice(&params.to_le_bytes());
        Ok(())
    }

    /// The bump, the pause and the authority, read in place from the market account's data
    /// (discriminator included; `InvalidMarket` when too short).
    pub fn header_in(data: &[u8]) -> std::result::Result<MarketHeader, LendingError> {
        let authority = data.get(AUTHORITY_OFFSET..AUTHORITY_OFFSET + 32).ok_or(LendingError::InvalidMarket)?;
        Ok(MarketHeader {
            authority_bump: data[AUTHORITY_BUMP_OFFSET],
            paused: data[PAUSED_OFFSET] != 0,
            authority: Pubkey::new_from_array(authority.try_into().map_err(|_| LendingError::InvalidMarket)?),
        })
    }

    /// Group `group` (1..=8) read in place from the market account's data.
    pub fn emode_group_in(data: &[u8], group: u8) -> std::result::Result<EmodeGroup, LendingError> {
        let range = emode_group_range(group)?;
        let bytes = data.get(EMODE_GROUPS_OFFSET + range.start..EMODE_GROUPS_OFFSET + range.end).ok_or(LendingError::InvalidMarket)?;
        Ok(EmodeGroup::from_le_bytes(bytes.try_into().map_err(|_| LendingError::InvalidMarket)?))
    }

    /// The market's policy.
    pub fn policy(&self) -> MarketPolicy {
        MarketPolicy::from_le_bytes(&self.policy_bytes)
    }

    pub fn set_policy(&mut self, policy: &MarketPolicy) {
        self.policy_bytes = policy.to_le_bytes();
    }

    /// `signer` is the market's guardian (never the default key).
    pub fn is_guardian(&self, signer: &Pubkey) -> bool {
        self.guardian != Pubkey::default() && *signer == self.guardian
    }

    /// The limits for an obligation with these values.
    pub fn liquidation_limits(&self, deposited_value: Wad, borrowed_value: Wad) -> LiquidationLimits {
        let dust = Wad::from_u64(self.dust_value);
        let full_liquidation = self.dust_value > 0 && (borrowed_value < dust || deposited_value < dust);
        let cap_value = (self.liquidation_cap_value > 0 && !full_liquidation)
            .then(|| Wad::from_u64(self.liquidation_cap_value));
        LiquidationLimits { cap_value, full_liquidation }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_read_in_place_is_the_stored_one() {
        let mut market = LendingMarket {
            version: 2,
            authority_bump: 255,
            paused: true,
            owner: Pubkey::new_from_array([1; 32]),
            authority: Pubkey::new_from_array([2; 32]),
            quote_currency: [3; 32],
            oracle_program: Pubkey::new_from_array([4; 32]),
            liquidation_cap_value: u64::MAX,
            dust_value: 7,
            liquidation_protocol_share_bps: 9_999,
            emode_groups: [0; MAX_EMODE_GROUPS * EMODE_GROUP_BYTES],
            reserved: [0xff; 46],
            guardian: Pubkey::new_from_array([5; 32]),
            pending_owner: Pubkey::new_from_array([6; 32]),
            policy_bytes: MarketPolicy::RECOMMENDED.to_le_bytes(),
            next_change_id: 3,
        };
        let group_of = |g: u16| EmodeGroup {
            loan_to_value_bps: 9_000 + g,
            liquidation_threshold_bps: 9_300 + g,
            liquidation_bonus_bps: 100 + g,
            max_liquidation_bonus_bps: 500 + g,
        };
        for g in 1..=MAX_EMODE_GROUPS as u16 {
            market.set_emode_group(g as u8, &group_of(g)).unwrap();
        }
        assert_eq!(market.set_emode_group(9, &group_of(9)), Err(LendingError::InvalidEmodeGroup));
        let mut data = Vec::new();
        anchor_lang::AccountSerialize::try_serialize(&market, &mut data).unwrap();
        assert_eq!(data.len(), 8 + LendingMarket::INIT_SPACE);
        for group in 1..=MAX_EMODE_GROUPS as u8 {
            assert_eq!(LendingMarket::emode_group_in(&data, group), Ok(group_of(group as u16)));
            assert_eq!(market.emode(group).unwrap().params, group_of(group as u16));
        }
        assert_eq!(LendingMarket::emode_group_in(&data, 0), Err(LendingError::InvalidEmodeGroup));
        assert_eq!(LendingMarket::emode_group_in(&data, 9), Err(LendingError::InvalidEmodeGroup));
        assert_eq!(market.emode(9), Err(LendingError::InvalidEmodeGroup));
        assert_eq!(market.emode(0), Ok(Emode::NONE));
        // The header read in place is the stored bump, pause and authority, paused or not.
        let header = LendingMarket::header_in(&data).unwrap();
        assert_eq!(header, MarketHeader { authority_bump: 255, paused: true, authority: Pubkey::new_from_array([2; 32]) });
        let mut unpaused = Vec::new();
        anchor_lang::AccountSerialize::try_serialize(&LendingMarket { paused: false, authority_bump: 7, ..market.clone() }, &mut unpaused).unwrap();
        assert_eq!(LendingMarket::header_in(&unpaused).unwrap(), MarketHeader { authority_bump: 7, paused: false, authority: Pubkey::new_from_array([2; 32]) });
        assert_eq!(LendingMarket::header_in(&data[..60]), Err(LendingError::InvalidMarket));
        assert_eq!(market.policy(), MarketPolicy::RECOMMENDED);
        let odd = MarketPolicy { timelock_secs: 0x0102_0304, guardian_pause_secs: 5, listing_ramp_secs: u32::MAX, max_risk_step_bps: 0xabcd, padding: [7, 9] };
        market.set_policy(&odd);
        assert_eq!(market.policy(), odd);
    }
}
