//! Amounts and values for people to read (display only: never used in money math).
use crate::keys::Pubkey;
use solvent::math::{Wad, WAD};

/// Signed token amount as text with `decimals`.
pub fn format_amount(amount: i128, decimals: u8) -> String {
    let scale = 10i128.pow(decimals as u32);
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}{}.{:0width$}", amount.abs() / scale, amount.abs() % scale, width = decimals as usize)
}

/// Quote value as a decimal number, for printing only.
pub fn wad_to_f64(value: Wad) -> f64 {
    value.raw() as f64 / WAD as f64
}

/// The first 8 characters of an address.
pub fn short(key: &Pubkey) -> String {
    let text = key.to_string();
    format!("{}…", &text[..8])
}
