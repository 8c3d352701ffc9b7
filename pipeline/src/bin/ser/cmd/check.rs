//! `ser check [--repair]`: prints what `store::check` finds, one line per
//! damaged file and the command that repairs it.

use anyhow::Result;
use pipeline::EXIT_VERIFY_FAILED;
use store::check::Fix;

use crate::flags::{Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    /// Drop damaged derived data (shards, manifest versions, rejects
    /// tables) so the next `ser features` rebuilds it, and restore a
    /// missing STORE.json.
    #[arg(long)]
    pub repair: bool,
    #[command(flatten)]
    pub s: StoreFlags,
}

/// Runs the check (and the repair); returns the exit status: 0 when
/// nothing is damaged (or everything damaged was repaired), 5 otherwise.
pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let report = store::check::check(&env.store)?;
    for f in &report.findings {
        println!("damaged {}: {}", f.path.display(), f.problem);
        if !a.repair || f.fix == Fix::Manual {
            println!("  repair: {}", f.repair);
        }
    }
    let mut left = report.findings.len();
    let repairing = a.repair && !report.is_clean();
    if repairing {
        for line in store::check::repair(&env.store, &report)? {
            println!("{line}");
        }
        left = report
            .findings
            .iter()
            .filter(|f| f.fix == Fix::Manual)
            .count();
    }
    println!(
        "check: {} files checked, {} damaged{}",
        report.checked,
        report.findings.len(),
        if repairing {
            format!(", {left} left to repair by hand")
        } else {
            String::new()
        }
    );
    Ok(if left == 0 { 0 } else { EXIT_VERIFY_FAILED })
}
