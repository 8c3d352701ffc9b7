//! `ser check [--repair]`: prints what `store::check` finds, one line per
//! damaged file and the command that repairs it.

use std::path::Path;

use anyhow::Result;
use pipeline::EXIT_VERIFY_FAILED;

/// Runs the check (and the repair); returns the exit status: 0 when
/// nothing is damaged (or everything damaged was repaired), 5 otherwise.
pub fn check(store: &Path, repair: bool) -> Result<i32> {
    let report = store::check::check(store)?;
    for f in &report.findings {
        println!("damaged {}: {}", f.path.display(), f.problem);
        if !repair || f.fix == store::check::Fix::Manual {
            println!("  repair: {}", f.repair);
        }
    }
    let mut left = report.findings.len();
    if repair && !report.is_clean() {
        for line in store::check::repair(store, &report)? {
            println!("{line}");
        }
        left = report
            .findings
            .iter()
            .filter(|f| f.fix == store::check::Fix::Manual)
            .count();
    }
    println!(
        "check: {} files checked, {} damaged{}",
        report.checked,
        report.findings.len(),
        if repair && !report.is_clean() {
            format!(", {} left to repair by hand", left)
        } else {
            String::new()
        }
    );
    Ok(if left == 0 { 0 } else { EXIT_VERIFY_FAILED })
}
