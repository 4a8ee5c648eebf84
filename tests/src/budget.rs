//! The committed compute-unit budget (`tests/compute-budget.txt`).

/// Every measured instruction but the inits has a budget line, and stays within it.
pub fn check_compute_budget(measured: &[(String, u64)]) {
    let text = include_str!("../compute-budget.txt");
    let budget: Vec<(&str, u64)> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, units) = line.rsplit_once(' ').expect("name units");
            (name, units.parse().expect("units"))
        })
        .collect();
    let mut over = Vec::new();
    for (name, units) in measured.iter().filter(|(name, _)| !name.starts_with("init_")) {
        let limit = budget.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no budget for {name}")).1;
        if *units > limit {
            over.push(format!("{name}: {units} CU > budget {limit}"));
        }
    }
    assert!(over.is_empty(), "compute budget exceeded:\n{}", over.join("\n"));
}
