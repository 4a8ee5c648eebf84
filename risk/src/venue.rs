//! The off-chain world around the market: each asset's exit venue (a constant-product pool
//! against dollars, pulled back toward an exogenous price by arbitrage) and the oracle that
//! publishes the venue's price with a lag, with an EMA as Pyth keeps one.
use crate::scenario::{OracleSpec, VenueSpec};

/// A constant-product pool: `asset` units against `quote` dollars, `asset × quote = k`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Venue {
    pub asset: f64,
    pub quote: f64,
    pub recovery_half_life_secs: f64,
}

impl Venue {
    /// A pool at `price` with `depth_value` dollars on the quote side.
    pub fn new(spec: VenueSpec, price: f64) -> Venue {
        Venue { asset: spec.depth_value / price, quote: spec.depth_value, recovery_half_life_secs: spec.recovery_half_life_secs }
    }

    pub fn mid(&self) -> f64 {
        self.quote / self.asset
    }

    /// Dollars received for selling `amount` of the asset (the pool takes no fee).
    pub fn quote_sell(&self, amount: f64) -> f64 {
        self.quote * amount / (self.asset + amount)
    }

    /// Dollars it costs to buy `amount` of the asset (infinite at or beyond the pool's holding).
    pub fn quote_buy(&self, amount: f64) -> f64 {
        if amount >= self.asset {
            return f64::INFINITY;
        }
        self.quote * amount / (self.asset - amount)
    }

    /// Sells `amount` into the pool; returns the dollars received. The mid moves to
    /// `mid × (asset / (asset + amount))²`.
    pub fn sell(&mut self, amount: f64) -> f64 {
        let out = self.quote_sell(amount);
        self.asset += amount;
        self.quote -= out;
        out
    }

    /// Buys `amount` from the pool; returns the dollars paid.
    pub fn buy(&mut self, amount: f64) -> f64 {
        let cost = self.quote_buy(amount);
        self.asset -= amount;
        self.quote += cost;
        cost
    }

    /// The mid `sell(amount)` would leave, by the formula (what the tests hold the pool to).
    pub fn mid_after_sell(mid: f64, asset: f64, amount: f64) -> f64 {
        mid * (asset / (asset + amount)).powi(2)
    }

    /// Arbitrage over `secs`: the mid closes `1 − 2^(−secs / half-life)` of its gap to
    /// `exogenous`, trading along the curve (k unchanged).
    pub fn recover(&mut self, exogenous: f64, secs: f64) {
        let share = 1.0 - 0.5f64.powf(secs / self.recovery_half_life_secs.max(1e-9));
        let target = self.mid() + share * (exogenous - self.mid());
        let k = self.asset * self.quote;
        self.asset = (k / target).sqrt();
        self.quote = (k * target).sqrt();
    }

    /// Scales both sides by `factor` (liquidity providers leaving: the mid is unchanged).
    pub fn scale_depth(&mut self, factor: f64) {
        self.asset *= factor;
        self.quote *= factor;
    }

    /// The share of the value sold lost to price impact, against the mid, for `amount`.
    pub fn slippage(&self, amount: f64) -> f64 {
        if amount <= 0.0 {
            return 0.0;
        }
        1.0 - self.quote_sell(amount) / (amount * self.mid())
    }
}

/// An oracle that publishes the venue's mid of `lag_slots` ago, at most every
/// `publish_interval_slots`, and keeps an EMA of what it published.
#[derive(Clone, Debug)]
pub struct Oracle {
    pub spec: OracleSpec,
    /// (time, venue mid) as the venue moved.
    history: Vec<(f64, f64)>,
    pub spot: f64,
    pub ema: f64,
    /// Unix time of the last publish.
    pub published_at: i64,
}

impl Oracle {
    pub fn new(spec: OracleSpec, price: f64, now: i64) -> Oracle {
        Oracle { spec, history: vec![(now as f64, price)], spot: price, ema: price, published_at: now }
    }

    /// Records the venue's mid at `now`.
    pub fn observe(&mut self, now: i64, mid: f64) {
        self.history.push((now as f64, mid));
    }

    /// Publishes at `now` if the interval has passed: spot is the mid observed nearest to
    /// `now − lag` (the latest of equals: the venue is observed once per tick and after each
    /// trade, so a lag is rounded to the tick), the EMA moves toward it by
    /// `1 − 2^(−Δt / half-life)`. Returns whether it published.
    pub fn publish(&mut self, now: i64) -> bool {
        let interval = (self.spec.publish_interval_slots as f64 * crate::scenario::SLOT_SECS).ceil() as i64;
        if now - self.published_at < interval.max(1) {
            return false;
        }
        let seen_at = now as f64 - self.spec.lag_slots as f64 * crate::scenario::SLOT_SECS;
        let spot = self
            .history
            .iter()
            .enumerate()
            .min_by(|(i, a), (j, b)| (a.0 - seen_at).abs().total_cmp(&(b.0 - seen_at).abs()).then(j.cmp(i)))
            .map(|(_, &(_, p))| p)
            .unwrap_or(self.spot);
        let dt = (now - self.published_at) as f64;
        let alpha = 1.0 - 0.5f64.powf(dt / self.spec.ema_half_life_secs.max(1.0));
        self.spot = spot;
        self.ema += alpha * (spot - self.ema);
        self.published_at = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sale_moves_the_mid_as_the_formula_says_and_recovery_closes_the_gap() {
        let mut venue = Venue::new(VenueSpec { depth_value: 1_000_000.0, recovery_half_life_secs: 3_600.0 }, 100.0);
        assert!((venue.mid() - 100.0).abs() < 1e-9);
        let (mid, asset) = (venue.mid(), venue.asset);
        let out = venue.sell(1_000.0);
        // Selling a tenth of the pool's asset side: mid × (1/1.1)².
        assert!((venue.mid() - Venue::mid_after_sell(mid, asset, 1_000.0)).abs() < 1e-9);
        assert!((venue.mid() - 100.0 / 1.21).abs() < 1e-9);
        assert!((out - 1_000_000.0 * 1_000.0 / 11_000.0).abs() < 1e-6);
        let gap = 100.0 - venue.mid();
        venue.recover(100.0, 3_600.0);
        assert!((100.0 - venue.mid() - gap / 2.0).abs() < 1e-9, "one half-life closes half the gap");
        let before = venue.mid();
        venue.scale_depth(0.5);
        assert!((venue.mid() - before).abs() < 1e-9);
        assert!(venue.slippage(100.0) > 0.0 && venue.quote_buy(venue.asset).is_infinite());
    }

    #[test]
    fn a_lag_shorter_than_the_tick_publishes_this_tick_s_mid() {
        let spec = OracleSpec { lag_slots: 5, publish_interval_slots: 1, ema_half_life_secs: 900.0 };
        let mut oracle = Oracle::new(spec, 100.0, 0);
        oracle.observe(60, 75.0);
        assert!(oracle.publish(60));
        assert_eq!(oracle.spot, 75.0, "2 s of lag at 60 s ticks rounds to this tick");
    }

    #[test]
    fn the_oracle_publishes_the_lagged_mid_and_the_ema_follows() {
        let spec = OracleSpec { lag_slots: 150, publish_interval_slots: 1, ema_half_life_secs: 60.0 };
        let mut oracle = Oracle::new(spec, 100.0, 0);
        oracle.observe(30, 80.0);
        // At 60 s the oracle sees the mid of 0 s (lag 150 slots = 60 s): still 100.
        assert!(oracle.publish(60));
        assert_eq!(oracle.spot, 100.0);
        assert!(oracle.publish(90));
        assert_eq!(oracle.spot, 80.0);
        // 30 s at a 60 s half-life: the EMA closes 1 − 2^−½ of the gap.
        assert!((oracle.ema - (100.0 - 20.0 * (1.0 - 0.5f64.sqrt()))).abs() < 1e-9);
        assert!(!oracle.publish(90), "no second publish in the same interval");
    }
}
