//! What a risk manager looks at: a table on the terminal, charts as PNG files and as SVG inside
//! one self-contained HTML page (no script or style from the network), drawn with `plotters`.
use crate::ladder::Rung;
use crate::sim::Outcome;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// One point of a parameter sweep: the setting, the population's borrowing power under it and
/// the bad debt the library produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SweepPoint {
    pub loan_to_value_bps: u16,
    pub liquidation_threshold_bps: u16,
    pub liquidation_bonus_bps: u16,
    /// The volatility haircut's z (0: no dynamic margin).
    pub dynamic_z_bps: u32,
    pub borrowing_power: f64,
    /// Written off plus left underwater, summed over the scenarios.
    pub bad_debt: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Sweep {
    pub reserve: String,
    pub target_bad_debt: f64,
    pub points: Vec<SweepPoint>,
    /// Index into `points` of the most efficient setting within the target, if any is.
    pub recommended: Option<usize>,
    /// Settings the program refused to list, with its error.
    pub refused: Vec<String>,
}

/// Of `points`, the one with the most borrowing power whose bad debt stays at or under `target`.
pub fn recommend(points: &[SweepPoint], target: f64) -> Option<usize> {
    points.iter().enumerate().filter(|(_, p)| p.bad_debt <= target).max_by(|a, b| a.1.borrowing_power.total_cmp(&b.1.borrowing_power)).map(|(i, _)| i)
}

/// Bad debt and liquidations of one gap size.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShockPoint {
    pub shock: f64,
    pub bad_debt: f64,
    pub underwater: f64,
    pub liquidations: usize,
}

/// Everything one run of the console produced.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub title: String,
    pub obligations: usize,
    pub reserves: Vec<String>,
    pub outcomes: Vec<Outcome>,
    pub shocks: Vec<ShockPoint>,
    pub ladder: Vec<Rung>,
    pub sweep: Option<Sweep>,
    /// How long it took, for the record (seconds: set-up, scenarios).
    pub timings: Vec<(String, f64)>,
}

const W: u32 = 900;
const H: u32 = 420;

/// Loads a system font for the PNGs' text (plotters draws text itself): DejaVu Sans, which
/// `scripts/setup.sh` installs. Returns whether one was found.
pub fn register_fonts() -> bool {
    use std::sync::OnceLock;
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let candidates = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"];
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

type Draw<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn colors(i: usize) -> RGBColor {
    [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(255, 127, 14), RGBColor(148, 103, 189), RGBColor(140, 86, 75)][i % 6]
}

/// Bad debt (written off + underwater) against the size of a gap.
fn draw_shocks<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, shocks: &[ShockPoint]) -> Draw<DB> {
    root.fill(&WHITE)?;
    let max_x = shocks.iter().map(|s| s.shock * 100.0).fold(1.0, f64::max);
    let max_y = shocks.iter().map(|s| s.bad_debt + s.underwater).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(root).caption("Bad debt vs gap size", ("sans-serif", 20)).margin(12).x_label_area_size(36).y_label_area_size(80).build_cartesian_2d(0.0..max_x, 0.0..max_y)?;
    chart.configure_mesh().x_desc("gap down in ETH and SOL (%)").y_desc("bad debt ($)").y_label_formatter(&|v| money(*v)).draw()?;
    chart
        .draw_series(LineSeries::new(shocks.iter().map(|s| (s.shock * 100.0, s.bad_debt + s.underwater)), colors(1).stroke_width(2)))?
        .label("written off + underwater")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colors(1)));
    chart.draw_series(shocks.iter().map(|s| Circle::new((s.shock * 100.0, s.bad_debt + s.underwater), 4, colors(1).filled())))?;
    chart
        .draw_series(LineSeries::new(shocks.iter().map(|s| (s.shock * 100.0, s.bad_debt)), colors(0).stroke_width(2)))?
        .label("written off")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colors(0)));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::UpperLeft).draw()?;
    root.present()
}

/// One scenario's cascade for one reserve: exogenous price, venue mid, oracle and EMA (as % of
/// the start) above, liquidation volume per tick below.
fn draw_cascade<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, outcome: &Outcome, reserve: usize, name: &str) -> Draw<DB> {
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(H * 62 / 100);
    let hours = outcome.ticks.last().map(|t| t.secs as f64 / 3_600.0).unwrap_or(1.0).max(1e-3);
    let (unit, scale) = if hours <= 3.0 { ("minutes", 60.0) } else { ("hours", 3_600.0) };
    let max_x = hours * 3_600.0 / scale;
    let start = outcome.start_prices.get(reserve).copied().unwrap_or(1.0);
    let series = |f: &dyn Fn(&crate::sim::Tick) -> f64| std::iter::once((0.0, 100.0)).chain(outcome.ticks.iter().map(|t| (t.secs as f64 / scale, 100.0 * f(t) / start))).collect::<Vec<_>>();
    let lines = [
        ("exogenous", series(&|t| t.exogenous[reserve])),
        ("venue mid", series(&|t| t.venue[reserve])),
        ("oracle", series(&|t| t.oracle[reserve])),
        ("oracle EMA", series(&|t| t.ema[reserve])),
    ];
    let low = lines.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).fold(100.0, f64::min);
    let high = lines.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).fold(100.0, f64::max);
    let pad = ((high - low) * 0.08).max(1.0);
    let mut chart = ChartBuilder::on(&upper)
        .caption(format!("{}: {name} price, % of start", outcome.scenario), ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(24)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_x, (low - pad)..(high + pad))?;
    chart.configure_mesh().y_desc("% of start").draw()?;
    for (i, (label, points)) in lines.iter().enumerate() {
        let color = colors(i);
        chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?.label(*label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::LowerLeft).draw()?;
    let max_volume = outcome.ticks.iter().map(|t| t.repaid_value).fold(1.0, f64::max);
    let step = outcome.ticks.first().map(|t| t.secs as f64 / scale).unwrap_or(1.0);
    let mut bars = ChartBuilder::on(&lower).margin(10).x_label_area_size(32).y_label_area_size(60).build_cartesian_2d(0.0..max_x, 0.0..max_volume * 1.1)?;
    bars.configure_mesh().x_desc(unit).y_desc("repaid ($)").y_label_formatter(&|v| money(*v)).draw()?;
    bars.draw_series(outcome.ticks.iter().map(|t| {
        let x = t.secs as f64 / scale;
        Rectangle::new([(x - step * 0.9, 0.0), (x, t.repaid_value)], colors(1).mix(0.7).filled())
    }))?;
    root.present()
}

/// The ladder: debt liquidatable at each level of each collateral.
fn draw_ladder<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, ladder: &[Rung], reserves: &[String]) -> Draw<DB> {
    root.fill(&WHITE)?;
    let max_x = ladder.iter().map(|r| r.shock * 100.0).fold(1.0, f64::max);
    let max_y = ladder.iter().map(|r| r.debt_value).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(root).caption("Liquidation ladder: debt liquidatable as one collateral falls", ("sans-serif", 20)).margin(12).x_label_area_size(36).y_label_area_size(80).build_cartesian_2d(0.0..max_x, 0.0..max_y)?;
    chart.configure_mesh().x_desc("price fall (%)").y_desc("debt liquidatable ($)").y_label_formatter(&|v| money(*v)).draw()?;
    for (i, name) in reserves.iter().enumerate() {
        let points: Vec<(f64, f64)> = ladder.iter().filter(|r| &r.reserve == name).map(|r| (r.shock * 100.0, r.debt_value)).collect();
        if points.is_empty() {
            continue;
        }
        let color = colors(i);
        chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?.label(name.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::UpperLeft).draw()?;
    root.present()
}

/// Health factors before and after a scenario, as a histogram (3 and above in the last bin).
fn draw_health<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, outcome: &Outcome) -> Draw<DB> {
    root.fill(&WHITE)?;
    const BINS: usize = 30;
    let bin = |values: &[f64]| {
        let mut counts = [0usize; BINS];
        for v in values {
            counts[((v / 3.0 * BINS as f64) as usize).min(BINS - 1)] += 1;
        }
        counts
    };
    let (before, after) = (bin(&outcome.health_before), bin(&outcome.health_after));
    let max_y = before.iter().chain(after.iter()).copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{}: health factors before and after", outcome.scenario), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..3.0, 0.0..max_y)?;
    chart.configure_mesh().x_desc("health factor (liquidatable below 1)").y_desc("obligations").draw()?;
    let width = 3.0 / BINS as f64;
    for (series, counts, color, offset) in [("before", before, colors(0), 0.0), ("after", after, colors(1), 0.5)] {
        chart
            .draw_series(counts.iter().enumerate().map(move |(i, c)| {
                let x = i as f64 * width + offset * width;
                Rectangle::new([(x, 0.0), (x + width * 0.5, *c as f64)], color.mix(0.8).filled())
            }))?
            .label(series)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart.draw_series(LineSeries::new(vec![(1.0, 0.0), (1.0, max_y)], BLACK.stroke_width(1)))?;
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()
}

/// The sweep's frontier: borrowing power against bad debt, the target and the recommendation.
fn draw_frontier<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, sweep: &Sweep) -> Draw<DB> {
    root.fill(&WHITE)?;
    let min_x = sweep.points.iter().map(|p| p.borrowing_power).fold(f64::INFINITY, f64::min) * 0.95;
    let max_x = sweep.points.iter().map(|p| p.borrowing_power).fold(1.0, f64::max) * 1.05;
    let max_y = sweep.points.iter().map(|p| p.bad_debt).fold(sweep.target_bad_debt, f64::max).max(1.0) * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(format!("Sweep of {}: borrowing power vs bad debt", sweep.reserve), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(min_x..max_x, 0.0..max_y)?;
    chart.configure_mesh().x_desc("borrowing power of the population ($)").y_desc("bad debt over the library ($)").x_label_formatter(&|v| money(*v)).y_label_formatter(&|v| money(*v)).draw()?;
    chart.draw_series(sweep.points.iter().map(|p| Circle::new((p.borrowing_power, p.bad_debt), 4, colors(0).filled())))?.label("setting").legend(|(x, y)| Circle::new((x + 6, y), 4, colors(0).filled()));
    chart
        .draw_series(LineSeries::new(frontier(&sweep.points), colors(2).stroke_width(2)))?
        .label("frontier: least bad debt for as much borrowing power or more")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colors(2)));
    chart
        .draw_series(LineSeries::new(vec![(min_x, sweep.target_bad_debt), (max_x, sweep.target_bad_debt)], colors(1).stroke_width(1)))?
        .label("target")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colors(1)));
    if let Some(best) = sweep.recommended.map(|i| &sweep.points[i]) {
        chart
            .draw_series([Circle::new((best.borrowing_power, best.bad_debt), 8, colors(2).stroke_width(3))])?
            .label(format!("recommended: LTV {} / LT {} / bonus {} bps{}", best.loan_to_value_bps, best.liquidation_threshold_bps, best.liquidation_bonus_bps, haircut(best.dynamic_z_bps)))
            .legend(|(x, y)| Circle::new((x + 6, y), 6, colors(2).stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::UpperLeft).draw()?;
    root.present()
}

/// The efficient frontier: for each borrowing power reached, the least bad debt of any setting
/// lending at least as much (so the line only rises to the right).
pub fn frontier(points: &[SweepPoint]) -> Vec<(f64, f64)> {
    let mut powers: Vec<f64> = points.iter().map(|p| p.borrowing_power).collect();
    powers.sort_by(f64::total_cmp);
    powers.dedup();
    powers.iter().map(|&power| (power, points.iter().filter(|p| p.borrowing_power >= power).map(|p| p.bad_debt).fold(f64::INFINITY, f64::min))).collect()
}

/// ", haircut z 2.33" for a setting with dynamic margin, "" without.
pub fn haircut(z_bps: u32) -> String {
    if z_bps == 0 {
        String::new()
    } else {
        format!(", haircut z {:.2}", z_bps as f64 / 10_000.0)
    }
}

/// `1234567.891` → "1,234,567.89" (with `decimals`).
pub fn thousands(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, fraction) = text.split_once('.').map(|(w, f)| (w.to_string(), format!(".{f}"))).unwrap_or((text.clone(), String::new()));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}{fraction}", if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" })
}

/// "$1.2M"-style dollars.
pub fn money(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("${:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("${:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("${:.0}k", v / 1e3)
    } else {
        format!("${v:.0}")
    }
}

/// One chart of the report, by id.
struct Chart {
    id: String,
    title: String,
}

fn charts(report: &Report) -> Vec<Chart> {
    let mut out = vec![Chart { id: "shocks".into(), title: "Bad debt vs gap size".into() }];
    for o in &report.outcomes {
        out.push(Chart { id: format!("cascade-{}", o.scenario), title: format!("Cascade: {}", o.scenario) });
    }
    if !report.ladder.is_empty() {
        out.push(Chart { id: "ladder".into(), title: "Liquidation ladder".into() });
    }
    if let Some(o) = headline(report) {
        out.push(Chart { id: "health".into(), title: format!("Health factors: {}", o.scenario) });
    }
    if report.sweep.is_some() {
        out.push(Chart { id: "frontier".into(), title: "Sweep frontier".into() });
    }
    out
}

/// The scenario the health histogram shows: the one with the most bad debt (then liquidations).
fn headline(report: &Report) -> Option<&Outcome> {
    report.outcomes.iter().max_by(|a, b| (a.bad_debt_value + a.underwater_value, a.liquidations).partial_cmp(&(b.bad_debt_value + b.underwater_value, b.liquidations)).unwrap_or(std::cmp::Ordering::Equal))
}

/// The reserve a scenario's cascade chart follows: the volatile one whose venue it moved most.
fn cascade_reserve(outcome: &Outcome) -> usize {
    let n = outcome.ticks.first().map(|t| t.venue.len()).unwrap_or(0);
    (0..n)
        .max_by(|&a, &b| {
            let move_of = |i: usize| outcome.ticks.iter().map(|t| (t.venue[i] / outcome.start_prices.get(i).copied().unwrap_or(1.0) - 1.0).abs()).fold(0.0, f64::max);
            move_of(a).total_cmp(&move_of(b))
        })
        .unwrap_or(0)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &Report, id: &str) -> Draw<DB> {
    if id == "shocks" {
        return draw_shocks(root, &report.shocks);
    }
    if let Some(name) = id.strip_prefix("cascade-") {
        let outcome = report.outcomes.iter().find(|o| o.scenario == name).expect("a chart per outcome");
        let reserve = cascade_reserve(outcome);
        return draw_cascade(root, outcome, reserve, &report.reserves[reserve]);
    }
    match id {
        "ladder" => draw_ladder(root, &report.ladder, &report.reserves),
        "health" => draw_health(root, headline(report).expect("a headline scenario")),
        "frontier" => draw_frontier(root, report.sweep.as_ref().expect("a sweep")),
        _ => Ok(()),
    }
}

/// Writes every chart as `<dir>/<id>.png` and the page as `<dir>/index.html` (the charts as
/// inline SVG, the figures as tables, `report.json` beside it). Returns the page's path.
pub fn write(report: &Report, dir: &Path) -> Result<std::path::PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let fonts = register_fonts();
    let mut figures = String::new();
    for chart in charts(report) {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
            draw(&root, report, &chart.id).map_err(|e| format!("chart {}: {e}", chart.id))?;
        }
        if fonts {
            let path = dir.join(format!("{}.png", chart.id));
            let root = BitMapBackend::new(&path, (W, H)).into_drawing_area();
            draw(&root, report, &chart.id).map_err(|e| format!("chart {}: {e}", chart.id))?;
        }
        let _ = write!(figures, "<figure class=\"chart\" id=\"chart-{}\" data-chart=\"{}\">{svg}<figcaption>{}</figcaption></figure>\n", chart.id, chart.id, escape(&chart.title));
    }
    if !fonts {
        eprintln!("solvent-risk: no DejaVu Sans font found (scripts/setup.sh installs fonts-dejavu-core): PNGs skipped, the HTML page has every chart");
    }
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), json).map_err(|e| e.to_string())?;
    let html = page(report, &figures);
    let path = dir.join("index.html");
    std::fs::write(&path, html).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The per-scenario table, as Markdown rows (the README) or HTML.
pub fn scenario_rows(report: &Report) -> Vec<[String; 10]> {
    report
        .outcomes
        .iter()
        .map(|o| {
            let survival = o
                .survival_hours
                .iter()
                .filter_map(|(name, h)| h.map(|h| format!("{name} {h:.0} h")))
                .collect::<Vec<_>>()
                .join(", ");
            [
                o.scenario.clone(),
                thousands(o.bad_debt_value, 2),
                thousands(o.underwater_value, 2),
                format!("{} ({} obligations)", thousands(o.liquidations as f64, 0), thousands(o.liquidated_obligations as f64, 0)),
                thousands(o.liquidation_volume, 0),
                thousands(o.slippage_value, 0),
                format!("{} / {} / {}", o.failed, o.declined, o.unprofitable),
                format!("{:.1}%", o.peak_price_impact * 100.0),
                format!("{:.3}", o.lowest_health),
                if survival.is_empty() { "not reached".into() } else { survival },
            ]
        })
        .collect()
}

pub const SCENARIO_HEADER: [&str; 10] = [
    "scenario",
    "bad debt written off ($)",
    "underwater at end ($)",
    "liquidations",
    "volume repaid ($)",
    "slippage paid ($)",
    "failed / declined / unprofitable",
    "peak price impact",
    "lowest health",
    "survival horizon",
];

/// The scenario table as Markdown.
pub fn markdown_table(report: &Report) -> String {
    let mut out = format!("| {} |\n|{}\n", SCENARIO_HEADER.join(" | "), "---|".repeat(SCENARIO_HEADER.len()));
    for row in scenario_rows(report) {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// The scenario table for the terminal.
pub fn terminal_table(report: &Report) -> String {
    let rows = scenario_rows(report);
    let widths: Vec<usize> = (0..SCENARIO_HEADER.len()).map(|c| rows.iter().map(|r| r[c].chars().count()).chain([SCENARIO_HEADER[c].chars().count()]).max().unwrap_or(0)).collect();
    let line = |cells: Vec<String>| cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join(" | ");
    let mut out = line(SCENARIO_HEADER.iter().map(|s| s.to_string()).collect()) + "\n";
    out += &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-");
    out += "\n";
    for row in rows {
        out += &line(row.to_vec());
        out += "\n";
    }
    out
}

fn page(report: &Report, figures: &str) -> String {
    let mut rows = String::new();
    for row in scenario_rows(report) {
        rows += "<tr>";
        for cell in row {
            let _ = write!(rows, "<td>{}</td>", escape(&cell));
        }
        rows += "</tr>\n";
    }
    let header: String = SCENARIO_HEADER.iter().map(|h| format!("<th>{}</th>", escape(h))).collect();
    let mut losses = String::new();
    for o in &report.outcomes {
        for (name, tokens, share) in &o.depositor_loss {
            if *tokens > 0.0 {
                let _ = write!(losses, "<tr><td>{}</td><td>{}</td><td>{tokens:.6}</td><td>{:.4}%</td></tr>", escape(&o.scenario), escape(name), share * 100.0);
            }
        }
    }
    if losses.is_empty() {
        losses = "<tr><td colspan=\"4\">no depositor lost anything in any scenario</td></tr>".into();
    }
    let mut insurance = String::new();
    for o in &report.outcomes {
        for (name, tokens, dollars) in &o.insurance_paid {
            let _ = write!(insurance, "<tr><td>{}</td><td>{}</td><td>{tokens:.6}</td><td>{}</td></tr>", escape(&o.scenario), escape(name), money(*dollars));
        }
    }
    if !insurance.is_empty() {
        insurance = format!("<h2>Insurance funds</h2>\n<table id=\"insurance\"><thead><tr><th>scenario</th><th>reserve</th><th>paid toward bad debt (tokens)</th><th>($)</th></tr></thead><tbody>{insurance}</tbody></table>");
    }
    let recommendation = match &report.sweep {
        Some(s) => match s.recommended.map(|i| &s.points[i]) {
            Some(p) => format!(
                "<p id=\"recommendation\">Sweep of {}: the most efficient setting with bad debt under {} is LTV {} bps, threshold {} bps, bonus {} bps{} (borrowing power {}, bad debt {}).</p>",
                escape(&s.reserve),
                money(s.target_bad_debt),
                p.loan_to_value_bps,
                p.liquidation_threshold_bps,
                p.liquidation_bonus_bps,
                haircut(p.dynamic_z_bps),
                money(p.borrowing_power),
                money(p.bad_debt)
            ),
            None => format!("<p id=\"recommendation\">Sweep of {}: no setting kept bad debt under {}.</p>", escape(&s.reserve), money(s.target_bad_debt)),
        },
        None => String::new(),
    };
    let refused: String = match &report.sweep {
        Some(s) if !s.refused.is_empty() => format!("<p id=\"refused\">Settings the program refused to list: {}.</p>", s.refused.iter().map(|r| escape(r)).collect::<Vec<_>>().join("; ")),
        _ => String::new(),
    };
    let timings: String = report.timings.iter().map(|(k, v)| format!("{} {v:.1} s", escape(k))).collect::<Vec<_>>().join(", ");
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 24px auto; max-width: 960px; color: #222; }}
table {{ border-collapse: collapse; margin: 12px 0; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
figure.chart {{ margin: 18px 0; }}
figcaption {{ color: #555; font-size: 13px; }}
#status {{ color: #888; font-size: 12px; }}
</style>
<script>
window.__errors = 0;
window.addEventListener("error", function () {{ window.__errors += 1; document.documentElement.dataset.errors = String(window.__errors); }});
</script>
</head><body data-errors="0">
<h1>{title}</h1>
<p>{obligations} obligations on {reserves} reserves, run on the built program (<code>target/deploy/solvent.so</code>) in an embedded runtime. Bad debt written off is what the keeper wrote off; underwater is debt its collateral no longer covered at the end, which no liquidator would take.</p>
<h2>Scenarios</h2>
<table id="scenarios"><thead><tr>{header}</tr></thead><tbody>
{rows}</tbody></table>
<h2>Depositors' losses</h2>
<table id="losses"><thead><tr><th>scenario</th><th>reserve</th><th>lost (tokens, after insurance)</th><th>of the depositors' claims</th></tr></thead><tbody>{losses}</tbody></table>
{insurance}
{recommendation}
{refused}
<h2>Charts</h2>
{figures}
<p id="status">timings: {timings}</p>
<script>
(function () {{
  var charts = document.querySelectorAll("figure.chart svg");
  var drawn = 0;
  charts.forEach(function (svg) {{ if (svg.getBBox().width > 0) drawn += 1; }});
  document.body.dataset.charts = String(charts.length);
  document.body.dataset.drawn = String(drawn);
  document.getElementById("status").textContent += " | " + drawn + " charts drawn";
}})();
</script>
</body></html>
"#,
        title = escape(&report.title),
        obligations = report.obligations,
        reserves = report.reserves.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(ltv: u16, power: f64, bad_debt: f64) -> SweepPoint {
        SweepPoint { loan_to_value_bps: ltv, liquidation_threshold_bps: ltv + 500, liquidation_bonus_bps: 500, dynamic_z_bps: 0, borrowing_power: power, bad_debt }
    }

    #[test]
    fn the_recommendation_is_the_most_efficient_setting_within_the_target_and_the_frontier_only_rises() {
        let points = [point(6_000, 100.0, 0.0), point(7_000, 120.0, 50.0), point(7_000, 120.0, 5.0), point(8_000, 140.0, 900.0)];
        assert_eq!(recommend(&points, 10.0), Some(2));
        assert_eq!(recommend(&points, 1_000.0), Some(3));
        assert_eq!(recommend(&points, -1.0), None, "nothing within a target below zero");
        assert_eq!(frontier(&points), vec![(100.0, 0.0), (120.0, 5.0), (140.0, 900.0)]);
        assert_eq!(money(1_234_567.0), "$1.2M");
        assert_eq!(money(950.0), "$950");
        assert_eq!(thousands(11_803_947.384, 2), "11,803,947.38");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(-1_000.0, 0), "-1,000");
        assert_eq!(thousands(-0.0, 2), "0.00");
    }
}
