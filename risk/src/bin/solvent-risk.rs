//! `solvent-risk`: stress a Solvent market on the built program and write a report.
//!
//! ```text
//! solvent-risk [--scenario FILE.json] [--obligations N] [--seed S] [--only NAME,NAME]
//!              [--shocks 0.1,0.2,...] [--sweep RESERVE] [--sweep-obligations N]
//!              [--target-bad-debt DOLLARS] [--out DIR] [--screenshot] [--markdown]
//! solvent-risk --write-example FILE.json
//! ```
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use solvent_risk::console::{grid, market_ladder, run_library, shock_curve, sweep};
use solvent_risk::report::{self, Report};
use solvent_risk::scenario::{library, standard_market, ScenarioFile};
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
}

const USAGE: &str = "usage: solvent-risk [--scenario FILE.json] [--obligations N] [--seed S] [--only NAME,..] [--shocks F,..] [--sweep RESERVE] [--sweep-obligations N] [--target-bad-debt DOLLARS] [--out DIR] [--screenshot] [--markdown] | --write-example FILE.json";

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
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
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
    let multi = MultiProgress::new();
    let mut timings = Vec::new();
    let started = Instant::now();
    let building = bar(&multi, spec.population.obligations as u64, "opening positions");
    let mut sim = Sim::build(&spec, &|n| building.set_position(n as u64)).await?;
    building.finish();
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
            let settings = grid(&[6_000, 6_500, 7_000, 7_500, 8_000], &[300, 500, 1_000], &[300, 500, 800]);
            let sweeping = bar(&multi, settings.len() as u64, "sweep settings");
            let sweep_scenarios: Vec<_> = scenarios.iter().filter(|s| s.ticks <= 100).cloned().collect();
            let result = sweep(&base, reserve, &settings, &sweep_scenarios, args.target_bad_debt, &|n| sweeping.set_position(n as u64)).await?;
            sweeping.finish();
            timings.push((format!("sweep ({} settings × {} scenarios, {} obligations)", settings.len(), sweep_scenarios.len(), args.sweep_obligations), started.elapsed().as_secs_f64()));
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
                "sweep of {}: recommended LTV {} / threshold {} / bonus {} bps: borrowing power {}, bad debt {} (target {})",
                s.reserve,
                p.loan_to_value_bps,
                p.liquidation_threshold_bps,
                p.liquidation_bonus_bps,
                report::money(p.borrowing_power),
                report::money(p.bad_debt),
                report::money(s.target_bad_debt)
            ),
            None => println!("sweep of {}: no setting kept bad debt under {}", s.reserve, report::money(s.target_bad_debt)),
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
