//! What a stress run is made of, as a file states it (JSON): the market (reserves with their
//! configs, each asset's exit venue, the oracle's lag, the liquidators, a seeded population of
//! obligations) and the scenarios (an exogenous price path per asset, outflows, venue depth
//! decay, an oracle freeze). `library()` is the built-in scenario library; `standard_market()`
//! the built-in three-reserve market.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Seconds per slot, to turn the slot-denominated settings into time.
pub const SLOT_SECS: f64 = 0.4;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    /// Every address, position and random path comes from this seed.
    pub seed: u64,
    pub reserves: Vec<ReserveSpec>,
    pub population: PopulationSpec,
    pub liquidators: Vec<LiquidatorSpec>,
    pub oracle: OracleSpec,
    /// The market's liquidation limits: most debt value (dollars) per call, the dust value below
    /// which a position is liquidated in full, and the protocol's share of each bonus.
    pub liquidation_cap_value: u64,
    pub dust_value: u64,
    pub protocol_share_bps: u16,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveSpec {
    pub name: String,
    pub decimals: u8,
    /// Starting price in dollars.
    pub price: f64,
    /// A stablecoin: priced at 1 throughout, no venue (liquidators hold it).
    #[serde(default)]
    pub stable: bool,
    /// What the lender supplies, in dollars.
    pub supply_value: f64,
    pub loan_to_value_bps: u16,
    pub liquidation_threshold_bps: u16,
    pub liquidation_bonus_bps: u16,
    /// The bonus auction's ceiling (0: no auction) and its ramp.
    #[serde(default)]
    pub max_liquidation_bonus_bps: u16,
    #[serde(default = "default_ramp")]
    pub liquidation_bonus_ramp_secs: u16,
    #[serde(default)]
    pub venue: Option<VenueSpec>,
    /// Dollars staked in the reserve's insurance fund at the start (0: no fund). The fund pays
    /// this reserve's bad debt before its depositors do.
    #[serde(default)]
    pub insurance_value: f64,
    /// The reserve's volatility haircut (dynamic margin, issue #16), if any: the program measures
    /// realized volatility at each refresh and cuts borrowing power at once, the threshold at a
    /// bounded pace.
    #[serde(default)]
    pub dynamic_margin: Option<DynamicSpec>,
}

/// A volatility haircut: `z × σ(horizon)` off the weights, σ an EMA of squared returns sampled
/// every minute with this half-life; the threshold falls at most this fast.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DynamicSpec {
    pub z_bps: u32,
    #[serde(default = "hour")]
    pub half_life_secs: u32,
    #[serde(default = "hour")]
    pub horizon_secs: u32,
    #[serde(default = "point_an_hour")]
    pub max_threshold_drop_bps_per_hour: u16,
}

fn hour() -> u32 {
    3_600
}

fn point_an_hour() -> u16 {
    100
}

impl DynamicSpec {
    /// The program's settings: the demo's and the dynamic-margin tests' haircut with this z,
    /// half-life, horizon and pace.
    pub fn config(&self) -> solvent::state::DynamicMarginConfig {
        solvent::state::DynamicMarginConfig {
            vol_z_bps: self.z_bps,
            vol_half_life_secs: self.half_life_secs,
            vol_horizon_secs: self.horizon_secs,
            max_threshold_drop_bps_per_hour: self.max_threshold_drop_bps_per_hour,
            ..solvent_tests::volatility_haircut()
        }
    }
}

fn default_ramp() -> u16 {
    600
}

/// An exit venue: a constant-product pool against dollars.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueSpec {
    /// Dollars on the quote side of the pool at the start (the asset side holds as much in
    /// value): selling `d` dollars' worth at the mid moves the mid by (1 / (1 + d / depth))².
    pub depth_value: f64,
    /// Arbitrage halves the gap between the pool's mid and the exogenous price in this time.
    pub recovery_half_life_secs: f64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleSpec {
    /// The oracle publishes the venue's mid as it was this many slots ago...
    pub lag_slots: u64,
    /// ...at most once per this many slots.
    pub publish_interval_slots: u64,
    /// The EMA's half-life (Pyth's EMA follows spot over about an hour).
    pub ema_half_life_secs: f64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidatorSpec {
    /// Debt (dollars) it can repay per slot.
    pub capacity_value_per_slot: f64,
    /// Slots between first seeing an obligation liquidatable and acting on it.
    pub latency_slots: u64,
    /// Dollars it holds to repay with; proceeds of selling seized collateral come back to it.
    pub inventory_value: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    pub obligations: usize,
    /// Collateral per obligation, log-uniform between these (dollars).
    pub min_value: f64,
    pub max_value: f64,
    /// The share of its borrowing limit each obligation borrows, uniform between these.
    pub min_usage: f64,
    pub max_usage: f64,
    pub profiles: Vec<ProfileSpec>,
}

/// Obligations holding these collaterals against these debts (reserve names), drawn with
/// `weight` out of the profiles' total.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub collateral: Vec<String>,
    pub debt: Vec<String>,
    pub weight: u32,
}

/// An exogenous price path, as a multiple of the starting price at each tick.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PathSpec {
    /// Unchanged.
    Flat,
    /// Down by `drop` (0.25 = 25%) at `at_tick`, and stays there.
    Gap { at_tick: usize, drop: f64 },
    /// Down by `drop` in a straight line from `from_tick` to `to_tick`, then stays.
    Linear { from_tick: usize, to_tick: usize, drop: f64 },
    /// Down by `drop` from `from_tick` to `to_tick`, then back up by `recover` (share of the
    /// drop) by `recover_tick`.
    Crash { from_tick: usize, to_tick: usize, drop: f64, recover: f64, recover_tick: usize },
    /// A driftless random walk: each tick's log return normal with this deviation (seeded).
    Walk { vol_per_tick: f64 },
}

impl PathSpec {
    /// The multiple of the starting price at `tick`, for the walk from `seed`.
    pub fn path(&self, ticks: usize, seed: u64) -> Vec<f64> {
        let mut rng = solvent_tests::Rng(seed);
        let mut level: f64 = 1.0;
        (0..=ticks)
            .map(|t| match *self {
                PathSpec::Flat => 1.0,
                PathSpec::Gap { at_tick, drop } => {
                    if t >= at_tick {
                        1.0 - drop
                    } else {
                        1.0
                    }
                }
                PathSpec::Linear { from_tick, to_tick, drop } => 1.0 - drop * ramp(t, from_tick, to_tick),
                PathSpec::Crash { from_tick, to_tick, drop, recover, recover_tick } => {
                    1.0 - drop * ramp(t, from_tick, to_tick) + drop * recover * ramp(t, to_tick, recover_tick)
                }
                PathSpec::Walk { vol_per_tick } => {
                    if t > 0 {
                        // Box–Muller from the seeded stream; the -σ²/2 keeps the mean flat.
                        let (u, v) = (rng.unit().max(1e-12), rng.unit());
                        let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
                        level *= (vol_per_tick * z - vol_per_tick * vol_per_tick / 2.0).exp();
                    }
                    level
                }
            })
            .collect()
    }
}

/// 0 before `from`, 1 from `to`, linear between.
fn ramp(t: usize, from: usize, to: usize) -> f64 {
    if t <= from {
        0.0
    } else if t >= to {
        1.0
    } else {
        (t - from) as f64 / (to - from) as f64
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub tick_secs: u64,
    pub ticks: usize,
    /// By reserve name; a reserve not named stays flat (stables always do).
    pub paths: BTreeMap<String, PathSpec>,
    /// Depositors withdraw this share of what they still hold, per hour (bps).
    #[serde(default)]
    pub outflow_per_hour_bps: u32,
    /// Each venue's depth is multiplied by this per day (0.5: halves daily; 1: unchanged).
    #[serde(default = "one")]
    pub depth_per_day: f64,
    /// The oracle publishes nothing from the first tick to before the second.
    #[serde(default)]
    pub oracle_freeze: Option<(usize, usize)>,
}

fn one() -> f64 {
    1.0
}

/// The built-in market: ETH (a major), SOL (traded as an alt here) and USDC, a population of
/// `obligations` near their limits, three liquidators. Up to 500 obligations each reserve has
/// $30M of supply and the venues $20M (ETH) and $8M (SOL) of depth; a larger population gets a
/// proportionally larger market (supply and depth × obligations / 500), so utilisation and the
/// population's weight against the venues stay the same.
pub fn standard_market(obligations: usize, seed: u64) -> MarketSpec {
    let scale = (obligations as f64 / 500.0).max(1.0);
    let volatile = |name: &str, decimals, price, depth: f64| ReserveSpec {
        name: name.into(),
        decimals,
        price,
        stable: false,
        supply_value: 30_000_000.0 * scale,
        loan_to_value_bps: 7_500,
        liquidation_threshold_bps: 8_000,
        liquidation_bonus_bps: 500,
        max_liquidation_bonus_bps: 1_000,
        liquidation_bonus_ramp_secs: 600,
        venue: Some(VenueSpec { depth_value: depth * scale, recovery_half_life_secs: 120.0 }),
        insurance_value: 0.0,
        dynamic_margin: None,
    };
    let profile = |collateral: &[&str], debt: &[&str], weight| ProfileSpec {
        collateral: collateral.iter().map(|s| s.to_string()).collect(),
        debt: debt.iter().map(|s| s.to_string()).collect(),
        weight,
    };
    MarketSpec {
        seed,
        reserves: vec![
            volatile("ETH", 8, 3_000.0, 20_000_000.0),
            volatile("SOL", 9, 150.0, 8_000_000.0),
            ReserveSpec {
                name: "USDC".into(),
                decimals: 6,
                price: 1.0,
                stable: true,
                supply_value: 30_000_000.0 * scale,
                loan_to_value_bps: 8_500,
                liquidation_threshold_bps: 9_000,
                liquidation_bonus_bps: 400,
                max_liquidation_bonus_bps: 800,
                liquidation_bonus_ramp_secs: 600,
                venue: None,
                insurance_value: 0.0,
                dynamic_margin: None,
            },
        ],
        population: PopulationSpec {
            obligations,
            min_value: 1_000.0,
            max_value: 400_000.0,
            min_usage: 0.6,
            max_usage: 0.98,
            profiles: vec![
                profile(&["SOL"], &["USDC"], 35),
                profile(&["ETH"], &["USDC"], 25),
                profile(&["SOL", "ETH"], &["USDC"], 15),
                profile(&["USDC"], &["SOL"], 10),
                profile(&["ETH"], &["SOL", "USDC"], 15),
            ],
        },
        liquidators: vec![
            LiquidatorSpec { capacity_value_per_slot: 2_000.0, latency_slots: 2, inventory_value: 5_000_000.0 },
            LiquidatorSpec { capacity_value_per_slot: 1_000.0, latency_slots: 10, inventory_value: 2_000_000.0 },
            LiquidatorSpec { capacity_value_per_slot: 500.0, latency_slots: 50, inventory_value: 1_000_000.0 },
        ],
        oracle: OracleSpec { lag_slots: 5, publish_interval_slots: 1, ema_half_life_secs: 900.0 },
        liquidation_cap_value: 250_000,
        dust_value: 20,
        protocol_share_bps: 2_000,
    }
}

/// The scenario library: each deterministic from the market's seed.
pub fn library() -> Vec<Scenario> {
    let paths = |entries: &[(&str, PathSpec)]| entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>();
    vec![
        Scenario {
            name: "gap-down".into(),
            description: "ETH and SOL gap 25% down between two ticks and stay there".into(),
            tick_secs: 60,
            ticks: 40,
            paths: paths(&[("ETH", PathSpec::Gap { at_tick: 2, drop: 0.25 }), ("SOL", PathSpec::Gap { at_tick: 2, drop: 0.25 })]),
            outflow_per_hour_bps: 0,
            depth_per_day: 1.0,
            oracle_freeze: None,
        },
        Scenario {
            name: "slow-bleed".into(),
            description: "ETH and SOL lose 40% in a straight line over a day".into(),
            tick_secs: 900,
            ticks: 100,
            paths: paths(&[("ETH", PathSpec::Linear { from_tick: 0, to_tick: 96, drop: 0.4 }), ("SOL", PathSpec::Linear { from_tick: 0, to_tick: 96, drop: 0.4 })]),
            outflow_per_hour_bps: 0,
            depth_per_day: 1.0,
            oracle_freeze: None,
        },
        Scenario {
            name: "oracle-freeze".into(),
            description: "the oracle stops publishing for 20 minutes while SOL falls 30% and ETH 15%, then jumps".into(),
            tick_secs: 60,
            ticks: 50,
            paths: paths(&[("ETH", PathSpec::Linear { from_tick: 2, to_tick: 22, drop: 0.15 }), ("SOL", PathSpec::Linear { from_tick: 2, to_tick: 22, drop: 0.3 })]),
            outflow_per_hour_bps: 0,
            depth_per_day: 1.0,
            oracle_freeze: Some((2, 22)),
        },
        Scenario {
            name: "volatility-spike".into(),
            description: "six hours of a driftless random walk at 3% per five minutes (SOL), 2% (ETH)".into(),
            tick_secs: 300,
            ticks: 72,
            paths: paths(&[("ETH", PathSpec::Walk { vol_per_tick: 0.02 }), ("SOL", PathSpec::Walk { vol_per_tick: 0.03 })]),
            outflow_per_hour_bps: 0,
            depth_per_day: 1.0,
            oracle_freeze: None,
        },
        Scenario {
            name: "liquidity-crisis".into(),
            description: "three days: depositors withdraw 4% of what they hold per hour, venue depth halves per day, prices drift 15% down".into(),
            tick_secs: 3_600,
            ticks: 72,
            paths: paths(&[("ETH", PathSpec::Linear { from_tick: 0, to_tick: 72, drop: 0.15 }), ("SOL", PathSpec::Linear { from_tick: 0, to_tick: 72, drop: 0.15 })]),
            outflow_per_hour_bps: 400,
            depth_per_day: 0.5,
            oracle_freeze: None,
        },
        Scenario {
            name: "oct-10-2025".into(),
            description: "the intraday crash of 10 Oct 2025: SOL (an alt here) -35% and ETH -12% within an hour, a third of it back two hours later".into(),
            tick_secs: 60,
            ticks: 180,
            paths: paths(&[
                ("ETH", PathSpec::Crash { from_tick: 5, to_tick: 65, drop: 0.12, recover: 0.33, recover_tick: 180 }),
                ("SOL", PathSpec::Crash { from_tick: 5, to_tick: 50, drop: 0.35, recover: 0.33, recover_tick: 180 }),
            ]),
            outflow_per_hour_bps: 0,
            depth_per_day: 1.0,
            oracle_freeze: None,
        },
    ]
}

/// A scenario file: a market and the scenarios to run on it (the library when none are given).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub market: MarketSpec,
    #[serde(default)]
    pub scenarios: Vec<Scenario>,
}

/// What is wrong with a scenario for `spec`'s market, before anything runs.
pub fn validate_scenario(spec: &MarketSpec, s: &Scenario) -> Result<(), String> {
    let named = |what: &str| format!("scenario {}: {what}", s.name);
    if s.name.is_empty() || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("scenario name {:?}: use letters, digits, '-' and '_' (it names files)", s.name));
    }
    if !(1..=7 * 86_400).contains(&s.tick_secs) || !(1..=100_000).contains(&s.ticks) {
        return Err(named("tick_secs must be 1 s to 7 days and ticks 1 to 100,000"));
    }
    if !(s.depth_per_day > 0.0 && s.depth_per_day <= 1.0) {
        return Err(named("depth_per_day must be in (0, 1]"));
    }
    if let Some((from, to)) = s.oracle_freeze {
        if from >= to {
            return Err(named("oracle_freeze must start before it ends"));
        }
    }
    for (name, path) in &s.paths {
        let Some(reserve) = spec.reserves.iter().find(|r| &r.name == name) else {
            return Err(named(&format!("moves {name}, which the market does not list")));
        };
        if reserve.stable {
            return Err(named(&format!("moves {name}, a stable (priced at 1 throughout)")));
        }
        let ok = match *path {
            PathSpec::Flat => true,
            PathSpec::Gap { drop, .. } => (0.0..1.0).contains(&drop),
            PathSpec::Linear { from_tick, to_tick, drop } => from_tick <= to_tick && (0.0..1.0).contains(&drop),
            PathSpec::Crash { from_tick, to_tick, drop, recover, recover_tick } => {
                from_tick <= to_tick && to_tick <= recover_tick && (0.0..1.0).contains(&drop) && (0.0..=1.0).contains(&recover)
            }
            PathSpec::Walk { vol_per_tick } => (0.0..=1.0).contains(&vol_per_tick),
        };
        if !ok {
            return Err(named(&format!("{name}'s path is out of range (a drop in [0, 1), ticks in order, a walk's vol in [0, 1])")));
        }
    }
    Ok(())
}

/// What is wrong with a market spec, before anything runs.
pub fn validate(spec: &MarketSpec) -> Result<(), String> {
    if spec.reserves.is_empty() {
        return Err("the market has no reserves".into());
    }
    for (i, r) in spec.reserves.iter().enumerate() {
        if spec.reserves[..i].iter().any(|o| o.name == r.name) {
            return Err(format!("reserve {} is listed twice", r.name));
        }
        if !(r.price > 0.0 && r.price.is_finite()) {
            return Err(format!("reserve {}: price must be positive", r.name));
        }
        if r.loan_to_value_bps >= r.liquidation_threshold_bps || r.liquidation_threshold_bps > 10_000 {
            return Err(format!("reserve {}: loan_to_value_bps must be below liquidation_threshold_bps ≤ 10000", r.name));
        }
        if !(r.insurance_value >= 0.0 && r.insurance_value.is_finite()) {
            return Err(format!("reserve {}: insurance_value must be zero or positive dollars", r.name));
        }
        if !r.stable && r.venue.is_none() {
            return Err(format!("reserve {}: a volatile asset needs a venue", r.name));
        }
        if let Some(v) = r.venue {
            if !(v.depth_value > 0.0) || !(v.recovery_half_life_secs > 0.0) {
                return Err(format!("reserve {}: venue depth_value and recovery_half_life_secs must be positive", r.name));
            }
        }
    }
    let p = &spec.population;
    if p.profiles.is_empty() || p.profiles.iter().all(|f| f.weight == 0) {
        return Err("the population has no profile with a weight".into());
    }
    for f in &p.profiles {
        for name in f.collateral.iter().chain(&f.debt) {
            if !spec.reserves.iter().any(|r| &r.name == name) {
                return Err(format!("a profile names reserve {name}, which the market does not list"));
            }
        }
        if f.collateral.is_empty() || f.debt.is_empty() || f.collateral.iter().any(|c| f.debt.contains(c)) {
            return Err("each profile needs collateral and debt in different reserves".into());
        }
    }
    if !(0.0 < p.min_value && p.min_value <= p.max_value) || !(0.0 <= p.min_usage && p.min_usage <= p.max_usage && p.max_usage < 1.0) {
        return Err("population: need 0 < min_value ≤ max_value and 0 ≤ min_usage ≤ max_usage < 1".into());
    }
    if spec.liquidators.is_empty() {
        return Err("the market has no liquidators".into());
    }
    if p.obligations > 1_000_000 {
        return Err("population: at most 1,000,000 obligations".into());
    }
    if spec.oracle.publish_interval_slots == 0 {
        return Err("oracle.publish_interval_slots must be at least 1".into());
    }
    Ok(())
}
