//! `ser robustness`: a run's models on their own test clips under
//! recording conditions (level, band, high-pass, codec, noise, babble,
//! room, speed).

use anyhow::Result;
use pipeline::robustness::{most_answered, run_robustness, Conditions, RobustnessConfig};
use pipeline::EXIT_SKIPPED;
use store::runs::RobustnessClassRow;
use store::Store;

use crate::flags::{Env, StoreFlags};

#[derive(clap::Args)]
pub struct Args {
    /// The run (name, unique prefix of a name or of its hash, or folder).
    #[arg(long)]
    pub run: String,
    /// Comma-separated conditions: `clean`, `level:DB` (RMS in dBFS),
    /// `band:HZ` (resampled to HZ: 8000 telephone, 16000 wideband),
    /// `highpass:HZ` (a phone microphone's 4-pole roll-off), `tilt:DB`
    /// (dB per octave about 1 kHz: above 0 brighter), `mulaw`
    /// (G.711 at 8 kHz), `white:SNR` or `babble:SNR` (dB; babble from other
    /// speakers' clips), `reverb:RT60` (seconds), `speed:FACTOR`,
    /// `lead:SECONDS` (the quiet before the first word cut or lengthened to
    /// that) [default: clean, level:-20,-60, band:8000,16000, mulaw, white and
    /// babble at 20/10/5 dB, reverb:0.3,0.6,0.9, speed:0.9,1.1].
    #[arg(long)]
    pub conditions: Option<Conditions>,
    /// Seed of the noise, rooms and babble [default: 7].
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub s: StoreFlags,
}

pub fn run(a: &Args, env: &Env) -> Result<i32> {
    let store = Store::open(&env.store)?;
    let mut cfg = RobustnessConfig::default();
    if let Some(c) = &a.conditions {
        cfg.conditions = c.0.clone();
    }
    cfg.seed = a.seed.unwrap_or(cfg.seed);
    let r = run_robustness(&store, &a.run, &cfg, env.progress)?;
    let folds = r.rows.iter().filter(|x| x.fold.is_some()).count() / cfg.conditions.len().max(1);
    println!(
        "robustness: {} ({} split; each fold's model on its own clean test clips; UAR and accuracy are the mean over {folds} folds, the class most often said is over every fold's clips)",
        r.run, r.split
    );
    println!(
        "{:<14} {:>6} {:>7} {:>9} {:>6}  most often said",
        "condition", "UAR%", "drop", "accuracy%", "clips"
    );
    for row in r.rows.iter().filter(|x| x.fold.is_none()) {
        println!(
            "{:<14} {:>6.1} {:>+7.1} {:>9.1} {:>6}  {}",
            row.condition,
            100.0 * row.uar,
            -100.0 * row.uar_drop,
            100.0 * row.accuracy,
            row.clips,
            most_said(&r.classes, &row.condition)
        );
    }
    for p in &r.written {
        println!("wrote {}", p.display());
    }
    for (clip, why) in &r.skipped {
        eprintln!("skipped {clip}: {why}");
    }
    Ok(if r.skipped.is_empty() {
        0
    } else {
        EXIT_SKIPPED
    })
}

/// The class answered most often under `condition`, its share of the
/// answers and the share of the clips that are that class.
fn most_said(classes: &[RobustnessClassRow], condition: &str) -> String {
    most_answered(classes, condition)
        .map(|(c, share)| {
            format!(
                "{} {:.0}% (is {:.0}%)",
                c.class,
                100.0 * c.answered,
                100.0 * share
            )
        })
        .unwrap_or_default()
}
