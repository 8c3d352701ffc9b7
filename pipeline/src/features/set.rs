//! Which feature set a command reads, and the config it hashes
//! (`features/set=<id>/config.json`): `ser features` writes it, `ser
//! train` and `ser report` pick a set and read it back here.

use store::manifest::FeatureSetEntry;
use store::Store;

use super::config::FeatureConfig;
use crate::error::{PipelineError, Result};

/// Picks the feature set: the one asked for, the store's only one, or
/// (of several) the one the default feature config computes.
pub fn pick_set(store: &Store, want: Option<&str>) -> Result<(String, FeatureSetEntry)> {
    pick_set_with(store, want, &[])
}

/// Picks the feature set a run that trains on `variants` reads: the one
/// asked for; else the store's only one; else, of the sets that hold every
/// one of `variants` (`ser features --augment N` adds `aug1..augN`), the
/// default feature config's with just the copies asked for (`ser features
/// --augment N` and nothing else) if it is one of them, or the only one.
pub fn pick_set_with(
    store: &Store,
    want: Option<&str>,
    variants: &[String],
) -> Result<(String, FeatureSetEntry)> {
    let manifest = store.latest_manifest()?;
    let ids: Vec<&String> = manifest.sets.keys().collect();
    let list = |ids: &[&String]| {
        ids.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The default config with just the copies asked for (`ser features
    // --augment N` and nothing else): what a plain run reads.
    let plain_id = FeatureConfig {
        augment: FeatureConfig::copies_for(variants),
        ..FeatureConfig::default()
    }
    .id();
    let id = match want {
        Some(id) => id.to_string(),
        None if ids.len() == 1 => ids[0].clone(),
        None if ids.is_empty() => {
            return Err(PipelineError::Config(format!(
                "no feature sets in {}: run `ser features` first",
                store.root().display()
            )))
        }
        None => {
            let holding: Vec<&String> = ids
                .iter()
                .copied()
                .filter(|id| holds(store, id, variants))
                .collect();
            match holding.as_slice() {
                _ if holding.contains(&&plain_id) => plain_id,
                [one] => (*one).clone(),
                [] => {
                    return Err(PipelineError::Config(format!(
                        "no feature set holds {} (sets: {}): `ser features --augment N` computes aug1..augN",
                        variants.join(","),
                        list(&ids)
                    )))
                }
                many => {
                    return Err(PipelineError::Config(format!(
                        "several feature sets ({}): pick one with --set",
                        list(many)
                    )))
                }
            }
        }
    };
    let entry = manifest.sets.get(&id).cloned().ok_or_else(|| {
        PipelineError::Config(format!(
            "feature set `{id}` not in the store (have: {})",
            list(&ids)
        ))
    })?;
    Ok((id, entry))
}

/// Whether set `id`'s config makes every one of `variants` (a set whose
/// config cannot be read holds none).
fn holds(store: &Store, id: &str, variants: &[String]) -> bool {
    read_feature_config(store, id).is_ok_and(|c| {
        let have = c.variants();
        variants.iter().all(|v| have.contains(v))
    })
}

/// The feature config set `set` hashes.
pub fn read_feature_config(store: &Store, set: &str) -> Result<FeatureConfig> {
    let path = store.set_config_path(set);
    let text = std::fs::read_to_string(&path).map_err(|e| PipelineError::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| PipelineError::Config(format!("{}: {e}", path.display())))
}

/// Writes the config of set `cfg.id()` unless it is there already (a set's
/// config never changes: a changed config is a new set).
pub(crate) fn save_feature_config(store: &Store, cfg: &FeatureConfig) -> Result<()> {
    let path = store.set_config_path(&cfg.id());
    if !path.is_file() {
        store.write_json(&path, cfg)?;
    }
    Ok(())
}
