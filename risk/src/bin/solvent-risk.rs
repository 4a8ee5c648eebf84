//! `solvent-risk`: stress a Solvent market on the built program and write a report.
//!
//! ```text
//! solvent-risk [--scenario FILE.json] [--obligations N] [--seed S] [--only NAME,NAME]
//!              [--shocks 0.1,0.2,...] [--sweep RESERVE] [--sweep-obligations N] [--sweep-ltv BPS,..] [--sweep-gap BPS,..] [--sweep-bonus BPS,..] [--sweep-dynamic-z BPS,..]
//!              [--target-bad-debt DOLLARS] [--out DIR] [--screenshot] [--markdown]
//! solvent-risk --url URL --market PUBKEY [--name MINT=NAME].. [--venue NAME=DOLLARS]..
//!              [--default-venue-depth DOLLARS] [--only ..] [--out DIR] ...
//! solvent-risk --write-example FILE.json
//! ```
//! With `--url`, the market is a snapshot of a live one read over JSON-RPC and loaded into the
//! embedded runtime; otherwise it is generated from `--scenario` (or the built-in market).
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use solvent_risk::console::{grid, market_ladder, run_library, shock_curve, sweep_parallel, with_dynamic};
use solvent_risk::report::{self, Report};
use solvent_risk::scenario::{library, standard_market, ScenarioFile, VenueSpec};
use solvent_risk::sim::Sim;
use std::path::PathBuf;
use std::time::Instant;

struct Args {
    scenario: Option<PathBuf>,
    obligations: usize,
    seed: u64,
    only: Option<Vec<String>>,
    shocks: Vec<f64>,
    sweep: Option<String>,
    sweep_obligations: usize,
    target_bad_debt: f64,
    out: PathBuf,
    screenshot: bool,
    markdown: bool,
    write_example: Option<PathBuf>,
    sweep_ltv: Vec<u16>,
    sweep_gap: Vec<u16>,
    sweep_bonus: Vec<u16>,
    sweep_dynamic_z: Vec<u32>,
    url: Option<String>,
    market: Option<String>,
    names: Vec<(String, String)>,
    venues: Vec<(String, f64)>,
    default_venue_depth: f64,
}

const USAGE: &str = "usage: solvent-risk [--scenario FILE.json | --url URL --market PUBKEY [--name MINT=NAME].. [--venue NAME=DOLLARS].. [--default-venue-depth DOLLARS]] [--obligations N] [--seed S] [--only NAME,..] [--shocks F,..] [--sweep RESERVE] [--sweep-obligations N] [--sweep-ltv BPS,..] [--sweep-gap BPS,..] [--sweep-bonus BPS,..] [--sweep-dynamic-z BPS,..] [--target-bad-debt DOLLARS] [--out DIR] [--screenshot] [--markdown] | --write-example FILE.json";

fn parse() -> Result<Args, String> {
    let mut args = Args {
        scenario: None,
        obligations: 1_000,
        seed: 0x5EED,
        only: None,
        shocks: vec![0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5],
        sweep: None,
        sweep_obligations: 200,
        target_bad_debt: 10_000.0,
        out: PathBuf::from("target/risk-report"),
        screenshot: false,
        markdown: false,
        write_example: None,
        sweep_ltv: vec![7_000, 7_500, 8_000, 8_500, 9_000],
        sweep_gap: vec![300, 500, 1_000],
        sweep_bonus: vec![300, 500, 800],
        sweep_dynamic_z: vec![0],
        url: None,
        market: None,
        names: Vec::new(),
        venues: Vec::new(),
        default_venue_depth: 2_000_000.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        let number = |v: String, what: &str| v.parse::<f64>().map_err(|_| format!("{what}: {v} is not a number"));
        match flag.as_str() {
            "--scenario" => args.scenario = Some(PathBuf::from(value()?)),
            "--obligations" => args.obligations = value()?.parse().map_err(|_| "--obligations needs a whole number".to_string())?,
            "--seed" => args.seed = value()?.parse().map_err(|_| "--seed needs a whole number".to_string())?,
            "--only" => args.only = Some(value()?.split(',').map(str::to_string).collect()),
            "--shocks" => args.shocks = value()?.split(',').map(|v| number(v.to_string(), "--shocks")).collect::<Result<_, _>>()?,
            "--sweep" => args.sweep = Some(value()?),
            "--sweep-obligations" => args.sweep_obligations = value()?.parse().map_err(|_| "--sweep-obligations needs a whole number".to_string())?,
            "--target-bad-debt" => args.target_bad_debt = number(value()?, "--target-bad-debt")?,
            "--out" => args.out = PathBuf::from(value()?),
            "--screenshot" => args.screenshot = true,
            "--markdown" => args.markdown = true,
            "--write-example" => args.write_example = Some(PathBuf::from(value()?)),
            "--sweep-ltv" | "--sweep-gap" | "--sweep-bonus" => {
                let v = value()?;
                let list = v.split(',').map(|x| x.parse::<u16>().map_err(|_| format!("{flag}: {x} is not basis points"))).collect::<Result<Vec<_>, _>>()?;
                match flag.as_str() {
                    "--sweep-ltv" => args.sweep_ltv = list,
                    "--sweep-gap" => args.sweep_gap = list,
                    _ => args.sweep_bonus = list,
                }
            }
            "--sweep-dynamic-z" => {
                let v = value()?;
                args.sweep_dynamic_z = v.split(',').map(|x| x.parse::<u32>().map_err(|_| format!("--sweep-dynamic-z: {x} is not a z in bps (0: off, 23300: z 2.33)"))).collect::<Result<Vec<_>, _>>()?;
            }
            "--url" => args.url = Some(value()?),
            "--market" => args.market = Some(value()?),
            "--name" => {
                let v = value()?;
                let (mint, name) = v.split_once('=').ok_or(format!("--name takes MINT=NAME, not {v}"))?;
                args.names.push((mint.to_string(), name.to_string()));
            }
            "--venue" => {
                let v = value()?;
                let (name, depth) = v.split_once('=').ok_or(format!("--venue takes NAME=DOLLARS, not {v}"))?;
                args.venues.push((name.to_string(), number(depth.to_string(), "--venue")?));
            }
            "--default-venue-depth" => args.default_venue_depth = number(value()?, "--default-venue-depth")?,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if args.url.is_some() != args.market.is_some() {
        return Err("--url and --market go together".into());
    }
    if args.url.is_some() && (args.sweep.is_some() || args.scenario.is_some()) {
        return Err("--url stresses a live market as it is: --sweep and --scenario build generated markets (use --only to pick scenarios)".into());
    }
    if args.venues.iter().any(|(_, d)| !(*d > 0.0)) || !(args.default_venue_depth > 0.0) {
        return Err("venue depths must be positive dollars".into());
    }
    if args.shocks.iter().any(|s| !(0.0..1.0).contains(s)) {
        return Err("--shocks: each gap is a share in [0, 1)".into());
    }
    Ok(args)
}

fn bar(multi: &MultiProgress, len: u64, label: &str) -> ProgressBar {
    let bar = multi.add(ProgressBar::new(len));
    bar.set_style(ProgressStyle::with_template("{prefix:>18} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}").expect("template").progress_chars("=> "));
    bar.set_prefix(label.to_string());
    bar
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("solvent-risk: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let args = parse()?;
    if let Some(path) = &args.write_example {
        let file = ScenarioFile { market: standard_market(args.obligations, args.seed), scenarios: library() };
        std::fs::write(path, serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote the built-in market and scenario library to {}", path.display());
        return Ok(());
    }
    let (spec, mut scenarios) = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let file: ScenarioFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let scenarios = if file.scenarios.is_empty() { library() } else { file.scenarios };
            (file.market, scenarios)
        }
        None => (standard_market(args.obligations, args.seed), library()),
    };
    if let Some(only) = &args.only {
        for name in only {
            if !scenarios.iter().any(|s| &s.name == name) {
                return Err(format!("--only: no scenario named {name} (have: {})", scenarios.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")));
            }
        }
        scenarios.retain(|s| only.contains(&s.name));
    }
    if let (Some(reserve), None) = (&args.sweep, &args.url) {
        if !spec.reserves.iter().any(|r| &r.name == reserve && !r.stable) {
            return Err(format!("--sweep: {reserve} is not a volatile reserve of the market"));
        }
    }
    if args.url.is_none() {
        solvent_risk::scenario::validate(&spec)?;
        for scenario in &scenarios {
            solvent_risk::scenario::validate_scenario(&spec, scenario)?;
        }
    }
    let multi = MultiProgress::new();
    let mut timings = Vec::new();
    let started = Instant::now();
    let mut sim = match (&args.url, &args.market) {
        (Some(url), Some(market)) => {
            let market: solvent_client::Pubkey = market.parse().map_err(|_| format!("--market: {market} is not an address"))?;
            let mut names = std::collections::BTreeMap::new();
            for (mint, name) in &args.names {
                names.insert(mint.parse::<solvent_client::Pubkey>().map_err(|_| format!("--name: {mint} is not an address"))?, name.clone());
            }
            let venues = args.venues.iter().map(|(n, d)| (n.clone(), VenueSpec { depth_value: *d, recovery_half_life_secs: 120.0 })).collect();
            let default_venue = VenueSpec { depth_value: args.default_venue_depth, recovery_half_life_secs: 120.0 };
            let mut chain = solvent_client::RpcChain::new(url);
            println!("reading market {market} from {url}");
            Sim::from_chain(&mut chain, &market, &names, &venues, default_venue, &spec).await?
        }
        _ => {
            let building = bar(&multi, spec.population.obligations as u64, "opening positions");
            let sim = Sim::build(&spec, &|n| building.set_position(n as u64)).await?;
            building.finish();
            sim
        }
    };
    let spec = sim.spec.clone();
    // A live market lists its own reserves: a scenario's path for an asset it does not hold is
    // dropped (said so), the rest run as written.
    for scenario in &mut scenarios {
        let before: Vec<String> = scenario.paths.keys().cloned().collect();
        scenario.paths.retain(|name, _| spec.reserves.iter().any(|r| &r.name == name && !r.stable));
        let dropped: Vec<&String> = before.iter().filter(|n| !scenario.paths.contains_key(*n)).collect();
        if !dropped.is_empty() {
            eprintln!("solvent-risk: scenario {}: the market has no volatile reserve named {dropped:?}; those paths are left out (name reserves with --name MINT=NAME)", scenario.name);
        }
        solvent_risk::scenario::validate_scenario(&spec, scenario)?;
    }
    timings.push(("set-up".to_string(), started.elapsed().as_secs_f64()));
    let started = Instant::now();
    let ticks: u64 = scenarios.iter().map(|s| s.ticks as u64).sum();
    let running = bar(&multi, ticks, "scenario ticks");
    let offsets: Vec<u64> = scenarios.iter().scan(0u64, |acc, s| {
        let start = *acc;
        *acc += s.ticks as u64;
        Some(start)
    }).collect();
    let outcomes = run_library(&mut sim, &scenarios, &|i, tick| running.set_position(offsets[i] + tick as u64)).await?;
    running.finish();
    timings.push(("scenario library".to_string(), started.elapsed().as_secs_f64()));
    let started = Instant::now();
    let shocking = bar(&multi, args.shocks.len() as u64, "gap sizes");
    let shocks = shock_curve(&mut sim, &args.shocks, &|n| shocking.set_position(n as u64)).await?;
    shocking.finish();
    timings.push(("gap sizes".to_string(), started.elapsed().as_secs_f64()));
    let ladder = market_ladder(&mut sim).await?;
    let sweep_result = match &args.sweep {
        Some(reserve) => {
            let started = Instant::now();
            let mut base = spec.clone();
            base.population.obligations = args.sweep_obligations;
            let settings = with_dynamic(&grid(&args.sweep_ltv, &args.sweep_gap, &args.sweep_bonus), &args.sweep_dynamic_z);
            if settings.is_empty() {
                return Err("the sweep grid is empty (every LTV + gap is above 95%)".into());
            }
            let sweeping = bar(&multi, settings.len() as u64, "sweep settings");
            let sweep_scenarios: Vec<_> = scenarios.iter().filter(|s| s.ticks <= 100).cloned().collect();
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let result = sweep_parallel(&base, reserve, &settings, &sweep_scenarios, args.target_bad_debt, threads, &|n| sweeping.set_position(n as u64))?;
            sweeping.finish();
            timings.push((format!("sweep ({} settings × {} scenarios, {} obligations, {threads} threads)", settings.len(), sweep_scenarios.len(), args.sweep_obligations), started.elapsed().as_secs_f64()));
            Some(result)
        }
        None => None,
    };
    let report = Report {
        title: format!("Solvent risk report: {} obligations, seed {}", spec.population.obligations, spec.seed),
        obligations: spec.population.obligations,
        reserves: spec.reserves.iter().map(|r| r.name.clone()).collect(),
        outcomes,
        shocks,
        ladder,
        sweep: sweep_result,
        timings,
    };
    println!("\n{}", report::terminal_table(&report));
    for point in &report.shocks {
        println!("gap {:>4.0}%: {} liquidations, bad debt written off {}, underwater {}", point.shock * 100.0, point.liquidations, report::money(point.bad_debt), report::money(point.underwater));
    }
    if let Some(s) = &report.sweep {
        match s.recommended.map(|i| &s.points[i]) {
            Some(p) => println!(
                "sweep of {}: recommended LTV {} / threshold {} / bonus {} bps{}: borrowing power {}, bad debt {} (target {})",
                s.reserve,
                p.loan_to_value_bps,
                p.liquidation_threshold_bps,
                p.liquidation_bonus_bps,
                report::haircut(p.dynamic_z_bps),
                report::money(p.borrowing_power),
                report::money(p.bad_debt),
                report::money(s.target_bad_debt)
            ),
            None => println!("sweep of {}: no setting kept bad debt under {}", s.reserve, report::money(s.target_bad_debt)),
        }
        for refused in &s.refused {
            println!("sweep of {}: the program refused {refused}", s.reserve);
        }
    }
    for (what, secs) in &report.timings {
        println!("{what}: {secs:.1} s");
    }
    if args.markdown {
        println!("\n{}", report::markdown_table(&report));
    }
    let page = report::write(&report, &args.out)?;
    println!("report: {}", page.display());
    if args.screenshot {
        let png = args.out.join("screenshot.png");
        match solvent_risk::browser::screenshot(&page, &png) {
            Ok(()) => println!("screenshot: {}", png.display()),
            Err(e) => eprintln!("solvent-risk: no screenshot: {e}"),
        }
    }
    Ok(())
}
