//! Obligations as table rows, for people to read.
use crate::*;
use solvent::state::Obligation;

/// One row per obligation: deposits, borrows, values and health factor, for people to read.
pub fn format_obligation(name: &str, obligation: &Obligation, reserve_names: &[(Pubkey, &str, u8)]) -> String {
    let label = |key: &AnchorPubkey| {
        reserve_names
            .iter()
            .find(|(k, _, _)| *k == from_anchor(key))
            .map(|(_, n, d)| (n.to_string(), *d))
            .unwrap_or(("?".into(), 0))
    };
    let deposits: Vec<String> = obligation.deposits[..obligation.deposit_count()]
        .iter()
        .map(|d| {
            let (n, _) = label(&d.deposit_reserve);
            format!("{n}: {} shares (${:.2})", d.deposited_shares, wad_to_f64(d.market_value_wad.get()))
        })
        .collect();
    let borrows: Vec<String> = obligation.borrows[..obligation.borrow_count()]
        .iter()
        .map(|b| {
            let (n, decimals) = label(&b.borrow_reserve);
            let amount = wad_to_f64(b.borrowed_amount()) / 10f64.powi(decimals as i32);
            format!("{n}: {amount:.6} (${:.2})", wad_to_f64(b.market_value_wad.get()))
        })
        .collect();
    let values = obligation.values();
    let health = values.health_factor().map(|h| format!("{:.4}", wad_to_f64(h))).unwrap_or_else(|| "-".into());
    format!(
        "{name:<10} | {:<40} | {:<32} | ${:>12.2} | ${:>12.2} | {health:>8}{}",
        deposits.join(", "),
        borrows.join(", "),
        wad_to_f64(values.deposited_value),
        wad_to_f64(values.borrowed_value),
        if values.is_unhealthy() { "  LIQUIDATABLE" } else { "" }
    )
}

pub fn obligation_table_header() -> String {
    format!(
        "{:<10} | {:<40} | {:<32} | {:>13} | {:>13} | {:>8}",
        "obligation", "deposits", "borrows", "deposited", "borrowed", "health"
    )
}
