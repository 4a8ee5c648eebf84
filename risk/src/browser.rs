//! Headless Chromium (Debian's `chromium`, which `scripts/setup.sh` installs): the report's
//! screenshot and its rendered DOM, for the test that the page draws its charts.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary on this machine, if any.
pub fn find() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].iter().find_map(|name| {
        let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
        let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!path.is_empty()).then(|| PathBuf::from(path))
    })
}

fn headless(page: &Path, extra: &[String]) -> Result<std::process::Output, String> {
    let chromium = find().ok_or("Chromium is not installed (scripts/setup.sh installs Debian's chromium)")?;
    let page = page.canonicalize().map_err(|e| format!("{}: {e}", page.display()))?;
    let profile = std::env::temp_dir().join(format!("solvent-risk-chromium-{}", std::process::id()));
    let mut command = Command::new(chromium);
    command
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--allow-file-access-from-files"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()));
    let out = command.output().map_err(|e| format!("running Chromium: {e}"))?;
    let _ = std::fs::remove_dir_all(&profile);
    if !out.status.success() {
        return Err(format!("Chromium exited with {}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(out)
}

/// A PNG of the page's top, 1000 px wide.
pub fn screenshot(page: &Path, png: &Path) -> Result<(), String> {
    let png = std::env::current_dir().map_err(|e| e.to_string())?.join(png);
    headless(page, &["--window-size=1000,2600".to_string(), format!("--screenshot={}", png.display())])?;
    if !png.exists() {
        return Err("Chromium wrote no screenshot".into());
    }
    Ok(())
}

/// The DOM after the page's scripts ran, and Chromium's log (console messages included).
pub fn rendered_dom(page: &Path) -> Result<(String, String), String> {
    let out = headless(page, &["--dump-dom".to_string(), "--virtual-time-budget=3000".to_string(), "--enable-logging=stderr".to_string(), "--v=0".to_string()])?;
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
}
