//! The console's runs, each on the `.so`: the scenario library, bad debt against gap size, the
//! ladder and the parameter sweep.
use crate::ladder::{ladder, Rung};
use crate::report::{recommend, ShockPoint, Sweep, SweepPoint};
use crate::scenario::{MarketSpec, PathSpec, Scenario};
use crate::sim::{Outcome, Sim};
use solvent_client::Pubkey;

/// A gap of `shock` in every volatile asset at the second tick, then 40 minutes.
pub fn gap(spec: &MarketSpec, shock: f64) -> Scenario {
    Scenario {
        name: format!("gap-{:.0}", shock * 100.0),
        description: format!("every volatile asset {:.0}% down at once", shock * 100.0),
        tick_secs: 60,
        ticks: 40,
        paths: spec.reserves.iter().filter(|r| !r.stable).map(|r| (r.name.clone(), PathSpec::Gap { at_tick: 1, drop: shock })).collect(),
        outflow_per_hour_bps: 0,
        depth_per_day: 1.0,
        oracle_freeze: None,
    }
}

/// Bad debt and liquidations for a gap of each size.
pub async fn shock_curve(sim: &mut Sim, shocks: &[f64], progress: &dyn Fn(usize)) -> Result<Vec<ShockPoint>, String> {
    let mut points = Vec::new();
    for (i, &shock) in shocks.iter().enumerate() {
        let outcome = sim.run(&gap(&sim.spec.clone(), shock), &|_| {}).await?;
        points.push(ShockPoint { shock, bad_debt: outcome.bad_debt_value, underwater: outcome.underwater_value, liquidations: outcome.liquidations });
        progress(i + 1);
    }
    Ok(points)
}

/// The ladder of the market as set up (every volatile collateral at every level).
pub async fn market_ladder(sim: &mut Sim) -> Result<Vec<Rung>, String> {
    sim.restore().await;
    sim.load_obligations().await;
    let scan = sim.scan().await?;
    let oracles: Vec<(String, Pubkey)> = sim.spec.reserves.iter().zip(&sim.reserves).filter(|(spec, _)| !spec.stable).map(|(spec, keys)| (spec.name.clone(), keys.reserve)).collect();
    let population: Vec<(Pubkey, solvent::state::Obligation)> = sim.obligations.iter().filter_map(|k| sim.obligation(k).map(|o| (*k, o))).collect();
    Ok(ladder(&scan.view, &population, &oracles))
}

/// Runs `scenarios` and returns their outcomes; `progress(scenario, tick)`.
pub async fn run_library(sim: &mut Sim, scenarios: &[Scenario], progress: &dyn Fn(usize, usize)) -> Result<Vec<Outcome>, String> {
    let mut outcomes = Vec::new();
    for (i, scenario) in scenarios.iter().enumerate() {
        outcomes.push(sim.run(scenario, &|tick| progress(i, tick)).await?);
    }
    Ok(outcomes)
}

/// One setting of the swept reserve.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub loan_to_value_bps: u16,
    pub liquidation_threshold_bps: u16,
    pub liquidation_bonus_bps: u16,
    /// The volatility haircut's z (0: no dynamic margin).
    pub dynamic_z_bps: u32,
}

/// Each setting once per haircut z of `zs` (0: without dynamic margin).
pub fn with_dynamic(settings: &[Setting], zs: &[u32]) -> Vec<Setting> {
    settings.iter().flat_map(|s| zs.iter().map(move |&z| Setting { dynamic_z_bps: z, ..*s })).collect()
}

/// The grid: every LTV × threshold gap × bonus with 0 < LTV < threshold ≤ 95% and a bonus of
/// at most 50%.
pub fn grid(ltvs: &[u16], gaps: &[u16], bonuses: &[u16]) -> Vec<Setting> {
    let mut out = Vec::new();
    for &ltv in ltvs {
        for &gap in gaps {
            for &bonus in bonuses {
                let threshold = ltv as u32 + gap as u32;
                if ltv > 0 && gap > 0 && threshold <= 9_500 && bonus <= 5_000 {
                    out.push(Setting { loan_to_value_bps: ltv, liquidation_threshold_bps: threshold as u16, liquidation_bonus_bps: bonus, dynamic_z_bps: 0 });
                }
            }
        }
    }
    out
}

/// `sweep` on `threads` OS threads, each with its own runtime and markets (the settings are
/// independent, so the figures are those of one thread, in the settings' order).
pub fn sweep_parallel(
    base: &MarketSpec,
    reserve: &str,
    settings: &[Setting],
    scenarios: &[Scenario],
    target: f64,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Sweep, String> {
    let threads = threads.clamp(1, settings.len().max(1));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let chunk = settings.len().div_ceil(threads);
    let parts: Vec<Result<Sweep, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = settings
            .chunks(chunk.max(1))
            .map(|part| {
                let done = &done;
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                    runtime.block_on(sweep(base, reserve, part, scenarios, target, &|_| progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a sweep thread panicked".to_string()))).collect()
    });
    let (mut points, mut refused) = (Vec::new(), Vec::new());
    for part in parts {
        let part = part?;
        points.extend(part.points);
        refused.extend(part.refused);
    }
    let recommended = recommend(&points, target);
    Ok(Sweep { reserve: reserve.to_string(), target_bad_debt: target, points, recommended, refused })
}

/// For each setting of `reserve`: a market built with it (the same seeded population, each
/// borrowing its share of the limit that setting gives), the scenarios run on it; the frontier
/// and the most efficient setting whose bad debt (written off + underwater, summed over the
/// scenarios) stays within `target`. `progress` is told each setting done.
pub async fn sweep(base: &MarketSpec, reserve: &str, settings: &[Setting], scenarios: &[Scenario], target: f64, progress: &dyn Fn(usize)) -> Result<Sweep, String> {
    if !base.reserves.iter().any(|r| r.name == reserve && !r.stable) {
        return Err(format!("the sweep needs a volatile reserve of the market; {reserve} is not one"));
    }
    let mut points = Vec::new();
    let mut refused = Vec::new();
    for (i, setting) in settings.iter().enumerate() {
        let mut spec = base.clone();
        let r = spec.reserves.iter_mut().find(|r| r.name == reserve).expect("checked");
        r.loan_to_value_bps = setting.loan_to_value_bps;
        r.liquidation_threshold_bps = setting.liquidation_threshold_bps;
        r.liquidation_bonus_bps = setting.liquidation_bonus_bps;
        r.max_liquidation_bonus_bps = r.max_liquidation_bonus_bps.max(setting.liquidation_bonus_bps);
        r.dynamic_margin = (setting.dynamic_z_bps > 0).then_some(crate::scenario::DynamicSpec { z_bps: setting.dynamic_z_bps, half_life_secs: 3_600, horizon_secs: 3_600, max_threshold_drop_bps_per_hour: 100 });
        let mut sim = match Sim::build(&spec, &|_| {}).await {
            Ok(sim) => sim,
            // The program refuses the setting itself (say, a bonus its threshold cannot pay).
            Err(error) if error.starts_with(&format!("listing {reserve} failed")) => {
                refused.push(format!("LTV {} / threshold {} / bonus {} bps / haircut z {}: {error}", setting.loan_to_value_bps, setting.liquidation_threshold_bps, setting.liquidation_bonus_bps, setting.dynamic_z_bps));
                progress(i + 1);
                continue;
            }
            Err(error) => return Err(error),
        };
        let mut bad_debt = 0.0;
        for scenario in scenarios {
            let o = sim.run(scenario, &|_| {}).await?;
            bad_debt += o.bad_debt_value + o.underwater_value;
        }
        points.push(SweepPoint {
            loan_to_value_bps: setting.loan_to_value_bps,
            liquidation_threshold_bps: setting.liquidation_threshold_bps,
            liquidation_bonus_bps: setting.liquidation_bonus_bps,
            dynamic_z_bps: setting.dynamic_z_bps,
            borrowing_power: sim.borrowing_power,
            bad_debt,
        });
        progress(i + 1);
    }
    let recommended = recommend(&points, target);
    Ok(Sweep { reserve: reserve.to_string(), target_bad_debt: target, points, recommended, refused })
}
