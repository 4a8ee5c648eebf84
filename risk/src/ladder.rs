//! The liquidation ladder: for each collateral, the debt that becomes liquidatable as its price
//! falls, level by level (the others unchanged), valued by the program's own state functions on
//! copies of the reserves (`ReserveView::refreshed` with the shocked oracle account, then
//! `refresh_obligation`'s revaluation): where a cascade would start.
use crate::sim::{to_price, EXPO};
use solvent::state::Obligation;
use solvent_client::{MarketView, Pubkey, ReserveView};
use solvent_tests::{pyth_price_account, PriceStatus};

/// One rung: `reserve`'s price at `(1 − shock)` of now.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Rung {
    pub reserve: String,
    pub shock: f64,
    /// Obligations liquidatable at that price, and their debt (dollars at the oracle).
    pub obligations: usize,
    pub debt_value: f64,
}

/// The price levels of the ladder: −1% … −60%.
pub const SHOCKS: [f64; 14] = [0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.50, 0.60];

/// The oracle account the ladder values `reserve` at for `shock`: spot and EMA both at
/// `(1 − shock)` of the spot now, published now. The agreement test writes these same bytes.
pub fn shocked_oracle(spot_now: f64, shock: f64, now: i64) -> Vec<u8> {
    let price = to_price(spot_now * (1.0 - shock));
    pyth_price_account(price, 0, EXPO, now, PriceStatus::Trading)
}

/// The shocked oracle account for a reserve reading `source` (a legacy Pyth account, or a fully
/// verified `PriceUpdateV2` of `feed_id` for a pull-oracle reserve).
pub fn shocked_account(source: u8, feed_id: [u8; 32], spot_now: f64, shock: f64, now: i64) -> Vec<u8> {
    if source == solvent::oracle::ORACLE_SOURCE_PYTH_PULL {
        let price = to_price(spot_now * (1.0 - shock));
        solvent_tests::price_update_v2_account(solvent_tests::PullPrice { feed_id, price, conf: 0, ema_price: price, ema_conf: 0, expo: EXPO, publish_time: now }, true)
    } else {
        shocked_oracle(spot_now, shock, now)
    }
}

/// The spot price (dollars) a legacy Pyth account at `EXPO` holds.
pub fn oracle_spot(data: &[u8]) -> Option<f64> {
    let account: &pyth_sdk_solana::state::SolanaPriceAccount = bytemuck::try_from_bytes(data.get(..std::mem::size_of::<pyth_sdk_solana::state::SolanaPriceAccount>())?).ok()?;
    Some(account.agg.price as f64 * 10f64.powi(account.expo))
}

/// The obligations (of `obligations`) liquidatable once `reserve`'s oracle holds `oracle_data`.
pub fn liquidatable_at(view: &MarketView, obligations: &[(Pubkey, Obligation)], reserve: &Pubkey, oracle_data: &[u8]) -> Vec<(Pubkey, f64)> {
    let mut shocked = view.clone();
    let Some(current) = view.reserves.get(reserve) else { return Vec::new() };
    shocked.reserves.insert(*reserve, ReserveView::refreshed(*reserve, current.state, oracle_data, view.slot, view.now));
    obligations
        .iter()
        .filter(|(_, o)| o.has_borrows())
        .filter_map(|(key, o)| {
            let (refreshed, values) = shocked.refresh_obligation(o).ok()?;
            let insolvent_shell = refreshed.deposit_count() == 0 && refreshed.has_borrows();
            (values.is_unhealthy() || insolvent_shell).then(|| (*key, solvent_client::wad_to_f64(values.borrowed_value)))
        })
        .collect()
}

/// The whole ladder: each collateral reserve (by name) at each shock of `SHOCKS`, from its
/// price in the view, its oracle written as its source publishes.
pub fn ladder(view: &MarketView, obligations: &[(Pubkey, Obligation)], reserves: &[(String, Pubkey)]) -> Vec<Rung> {
    let mut rungs = Vec::new();
    for (name, key) in reserves {
        let Some(reserve) = view.reserves.get(key) else { continue };
        let spot = solvent_client::wad_to_f64(reserve.state.market_price());
        let (source, feed_id) = (reserve.state.oracle_source, reserve.state.price_feed_id);
        for &shock in &SHOCKS {
            let found = liquidatable_at(view, obligations, key, &shocked_account(source, feed_id, spot, shock, view.now));
            rungs.push(Rung { reserve: name.clone(), shock, obligations: found.len(), debt_value: found.iter().map(|(_, d)| d).sum() });
        }
    }
    rungs
}
