//! Decoding the program's accounts and the token accounts around them.
use anchor_lang::Discriminator;
use solvent::state::{EmodeGroupDebt, InsuranceFund, InsuranceStake, LendingMarket, Obligation, QueuedChange, Reserve};

/// Byte offset of the amount in an SPL Token (and Token-2022) account: after mint and owner.
pub const TOKEN_ACCOUNT_AMOUNT_OFFSET: usize = 64;
/// Byte offset of the supply in an SPL Token mint: after the optional mint authority.
pub const MINT_SUPPLY_OFFSET: usize = 36;
/// Byte offset of the decimals in an SPL Token mint.
pub const MINT_DECIMALS_OFFSET: usize = 44;
/// Byte offset of `lending_market` in both Reserve and Obligation accounts (after the 8-byte
/// discriminator and 8 bytes of small fields): scans filter on it.
pub const LENDING_MARKET_OFFSET: usize = 16;

/// A zero-copy account's state after its discriminator (None: another account type, or short).
pub fn decode<T: bytemuck::Pod + Discriminator>(data: &[u8]) -> Option<T> {
    if !data.starts_with(T::DISCRIMINATOR) {
        return None;
    }
    let body = data.get(8..8 + std::mem::size_of::<T>())?;
    Some(bytemuck::pod_read_unaligned(body))
}

pub fn decode_reserve(data: &[u8]) -> Option<Reserve> {
    decode(data)
}

pub fn decode_emode_group_debt(data: &[u8]) -> Option<EmodeGroupDebt> {
    decode(data)
}

pub fn decode_insurance_fund(data: &[u8]) -> Option<InsuranceFund> {
    decode(data)
}

pub fn decode_insurance_stake(data: &[u8]) -> Option<InsuranceStake> {
    decode(data)
}

pub fn decode_obligation(data: &[u8]) -> Option<Obligation> {
    decode(data)
}

/// The market account (a Borsh account, not zero-copy).
pub fn decode_market(data: &[u8]) -> Option<LendingMarket> {
    use anchor_lang::AccountDeserialize;
    LendingMarket::try_deserialize(&mut &data[..]).ok()
}

/// A queued change of the timelock (None: another account type).
pub fn decode_queued_change(data: &[u8]) -> Option<QueuedChange> {
    use anchor_lang::AccountDeserialize;
    QueuedChange::try_deserialize(&mut &data[..]).ok()
}

fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(offset..offset + 8)?.try_into().ok()?))
}

/// Token account balance, from its data.
pub fn token_amount(data: &[u8]) -> Option<u64> {
    u64_at(data, TOKEN_ACCOUNT_AMOUNT_OFFSET)
}

/// Supply of a mint, from its data.
pub fn mint_supply(data: &[u8]) -> Option<u64> {
    u64_at(data, MINT_SUPPLY_OFFSET)
}

pub fn mint_decimals(data: &[u8]) -> Option<u8> {
    data.get(MINT_DECIMALS_OFFSET).copied()
}

/// (slot, unix_timestamp) from the Clock sysvar's bincode layout: slot, epoch_start_timestamp,
/// epoch, leader_schedule_epoch, unix_timestamp.
pub fn clock_from_sysvar(data: &[u8]) -> Option<(u64, i64)> {
    let slot = u64_at(data, 0)?;
    let now = i64::from_le_bytes(data.get(32..40)?.try_into().ok()?);
    Some((slot, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_filter_offset_is_the_lending_market_field() {
        assert_eq!(8 + std::mem::offset_of!(Obligation, lending_market), LENDING_MARKET_OFFSET);
        assert_eq!(8 + std::mem::offset_of!(Reserve, lending_market), LENDING_MARKET_OFFSET);
    }

    #[test]
    fn the_clock_sysvar_is_read_at_its_bincode_offsets() {
        // Clock { slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp }, as
        // the runtime writes it: five little-endian 8-byte fields.
        let fields: [u64; 5] = [7, 1, 2, 3, 1_750_000_123];
        let data: Vec<u8> = fields.iter().flat_map(|f| f.to_le_bytes()).collect();
        assert_eq!(clock_from_sysvar(&data), Some((7, 1_750_000_123)));
        assert_eq!(clock_from_sysvar(&data[..39]), None);
    }

    #[test]
    fn a_wrong_discriminator_decodes_to_nothing() {
        let mut data = vec![0u8; 8 + std::mem::size_of::<Reserve>()];
        assert!(decode_reserve(&data).is_none());
        data[..8].copy_from_slice(Reserve::DISCRIMINATOR);
        assert!(decode_reserve(&data).is_some());
        assert!(decode_obligation(&data).is_none());
        assert!(decode_reserve(&data[..100]).is_none());
    }
}
