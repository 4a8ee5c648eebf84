//! The report: every chart drawn as PNG and inline SVG, and the page opened in headless
//! Chromium renders them all with no script error. Bad inputs are refused before anything runs.
use solvent_risk::console::{grid, market_ladder, run_library, shock_curve, sweep, sweep_parallel, with_dynamic};
use solvent_risk::report::{self, Report};
use solvent_risk::scenario::*;
use solvent_risk::sim::Sim;

#[tokio::test]
async fn the_report_renders_every_chart_in_headless_chromium() {
    let spec = standard_market(40, 3);
    let mut sim = Sim::build(&spec, &|_| {}).await.expect("build");
    let scenarios: Vec<Scenario> = library().into_iter().filter(|s| s.name == "gap-down" || s.name == "oct-10-2025").collect();
    let outcomes = run_library(&mut sim, &scenarios, &|_, _| {}).await.expect("library");
    let shocks = shock_curve(&mut sim, &[0.1, 0.3], &|_| {}).await.expect("shocks");
    let ladder = market_ladder(&mut sim).await.expect("ladder");
    assert!(ladder.windows(2).all(|w| w[0].reserve != w[1].reserve || w[0].debt_value <= w[1].debt_value), "the ladder only grows as prices fall");
    let mut small = spec.clone();
    small.population.obligations = 15;
    let settings = grid(&[6_500, 7_500], &[500], &[500]);
    let sweep = sweep(&small, "SOL", &settings, &scenarios[..1], 1_000.0, &|_| {}).await.expect("sweep");
    assert!(sweep.points[1].borrowing_power > sweep.points[0].borrowing_power, "a higher LTV lends the population more");
    // On two threads, each with its own runtimes, the same points in the same order.
    let (small2, settings2, scenarios2) = (small.clone(), settings.clone(), scenarios[..1].to_vec());
    let parallel = std::thread::spawn(move || sweep_parallel(&small2, "SOL", &settings2, &scenarios2, 1_000.0, 2, &|_| {})).join().expect("thread").expect("parallel sweep");
    assert_eq!(serde_json::to_string(&parallel).unwrap(), serde_json::to_string(&sweep).unwrap());
    // Dynamic margin is a dimension of the grid: the same setting with SOL's volatility haircut
    // (z 2.33) lists on the program and runs.
    let dynamic = with_dynamic(&settings[..1], &[0, 23_300]);
    let both = solvent_risk::console::sweep(&small, "SOL", &dynamic, &scenarios[..1], 1_000.0, &|_| {}).await.expect("dynamic sweep");
    assert_eq!(both.points.iter().map(|p| p.dynamic_z_bps).collect::<Vec<_>>(), vec![0, 23_300]);
    assert!(both.refused.is_empty(), "{:?}", both.refused);
    assert_eq!(both.points[0].borrowing_power, both.points[1].borrowing_power);
    let report = Report {
        title: "test report".into(),
        obligations: 40,
        reserves: spec.reserves.iter().map(|r| r.name.clone()).collect(),
        outcomes,
        shocks,
        ladder,
        sweep: Some(sweep),
        timings: vec![],
    };
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("risk-report-test");
    let _ = std::fs::remove_dir_all(&dir);
    let page = report::write(&report, &dir).expect("write");
    // Shock curve, two cascades, the ladder, the health histogram, the frontier.
    let expected = 6;
    let html = std::fs::read_to_string(&page).expect("page");
    assert_eq!(html.matches("<figure class=\"chart\"").count(), expected);
    for remote in ["src=\"http", "href=\"http", "<script src", "<link", "@import"] {
        assert!(!html.contains(remote), "the page loads something ({remote}): it must be self-contained");
    }
    if report::register_fonts() {
        for id in ["shocks", "cascade-gap-down", "cascade-oct-10-2025", "ladder", "health", "frontier"] {
            let png = dir.join(format!("{id}.png"));
            assert!(std::fs::metadata(&png).map(|m| m.len() > 5_000).unwrap_or(false), "{} was not drawn", png.display());
        }
    }
    if solvent_risk::browser::find().is_none() {
        println!("SKIPPED the browser check: Chromium is not installed and scripts/setup.sh could not install it");
        return;
    }
    let (dom, log) = solvent_risk::browser::rendered_dom(&page).expect("chromium");
    assert!(dom.contains(&format!("data-charts=\"{expected}\"")), "the page's script did not count {expected} charts");
    assert!(dom.contains(&format!("data-drawn=\"{expected}\"")), "not every chart has a drawn box: {}", dom.lines().find(|l| l.contains("data-drawn")).unwrap_or(""));
    assert!(!dom.contains("data-errors=\"1") && !log.contains("Uncaught"), "a script error: {log}");
    let png = dir.join("screenshot.png");
    solvent_risk::browser::screenshot(&page, &png).expect("screenshot");
    assert!(std::fs::metadata(&png).expect("screenshot").len() > 20_000);
}

#[tokio::test]
async fn bad_specs_and_scenarios_are_refused_before_anything_runs() {
    let good = standard_market(5, 1);
    let refuse = |spec: MarketSpec, needle: &str| {
        let error = validate(&spec).expect_err("refused");
        assert!(error.contains(needle), "{error:?} should mention {needle:?}");
    };
    let mut spec = good.clone();
    spec.reserves[1].name = "ETH".into();
    refuse(spec, "listed twice");
    let mut spec = good.clone();
    spec.reserves[0].loan_to_value_bps = spec.reserves[0].liquidation_threshold_bps;
    refuse(spec, "loan_to_value_bps");
    let mut spec = good.clone();
    spec.reserves[1].venue = None;
    refuse(spec, "needs a venue");
    let mut spec = good.clone();
    spec.population.profiles[0].collateral = vec!["BTC".into()];
    refuse(spec, "BTC");
    let mut spec = good.clone();
    spec.population.profiles[0].debt = spec.population.profiles[0].collateral.clone();
    refuse(spec, "different reserves");
    let mut spec = good.clone();
    spec.population.max_usage = 1.0;
    refuse(spec, "max_usage");
    let mut spec = good.clone();
    spec.liquidators.clear();
    refuse(spec, "no liquidators");
    let mut spec = good.clone();
    spec.reserves[0].venue.as_mut().expect("venue").depth_value = 0.0;
    refuse(spec, "depth_value");
    // A file with a misspelt field is refused by name.
    let text = serde_json::to_string(&ScenarioFile { market: good.clone(), scenarios: vec![] }).expect("json").replace("\"seed\"", "\"sede\"");
    let error = serde_json::from_str::<ScenarioFile>(&text).expect_err("refused").to_string();
    assert!(error.contains("sede"), "{error}");
    // Scenarios are checked against the market before a runtime starts.
    let refuse_scenario = |edit: &dyn Fn(&mut Scenario), needle: &str| {
        let mut scenario = library().remove(0);
        edit(&mut scenario);
        let error = validate_scenario(&good, &scenario).expect_err("refused");
        assert!(error.contains(needle), "{error:?} should mention {needle:?}");
    };
    refuse_scenario(&|s| s.tick_secs = 0, "tick_secs");
    refuse_scenario(&|s| s.ticks = 0, "ticks");
    refuse_scenario(&|s| s.depth_per_day = 0.0, "depth_per_day");
    refuse_scenario(&|s| s.name = "../escape".into(), "names files");
    refuse_scenario(&|s| s.oracle_freeze = Some((5, 5)), "oracle_freeze");
    refuse_scenario(&|s| { s.paths.insert("SOL".into(), PathSpec::Gap { at_tick: 1, drop: 1.0 }); }, "out of range");
    refuse_scenario(&|s| { s.paths.insert("USDC".into(), PathSpec::Gap { at_tick: 1, drop: 0.1 }); }, "a stable");
    for scenario in library() {
        validate_scenario(&good, &scenario).expect("the library is valid");
    }
    // A sweep grid past 95% (or past u16) is empty, not an overflow.
    assert!(grid(&[60_000], &[6_000], &[500]).is_empty());
    assert_eq!(grid(&[7_000, 9_400], &[500], &[500]).len(), 1);
    // A scenario moving a reserve the market does not list is refused, and the market is untouched.
    let mut sim = Sim::build(&good, &|_| {}).await.expect("build");
    let mut scenario = library().remove(0);
    scenario.paths.insert("BTC".into(), PathSpec::Gap { at_tick: 1, drop: 0.5 });
    let error = sim.run(&scenario, &|_| {}).await.expect_err("refused");
    assert!(error.contains("BTC"), "{error}");
    let outcome = sim.run(&library().remove(0), &|_| {}).await.expect("the market still runs");
    assert_eq!(outcome.obligations, 5, "every borrower has debt");
}
