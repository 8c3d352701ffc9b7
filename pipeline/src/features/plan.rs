//! Grouping clips into shards and deciding which need computing.

use std::collections::BTreeMap;

use store::fingerprint::short_id;
use store::{ClipInput, Manifest, MetadataRow, Store};

/// One shard: an actor's clips in a feature set.
#[derive(Debug, Clone)]
pub struct ShardPlan {
    /// Manifest key, `actor=NN`.
    pub key: String,
    /// Actor.
    pub actor: u32,
    /// Clips, sorted by id.
    pub clips: Vec<MetadataRow>,
    /// (clip id, fingerprint) pairs, sorted.
    pub inputs: Vec<ClipInput>,
    /// Hash of the set id and the inputs; names the part files.
    pub digest: String,
}

impl ShardPlan {
    /// Whether `manifest` already holds this shard with the same inputs and
    /// its part files are on disk.
    pub fn is_current(&self, store: &Store, manifest: &Manifest, set_id: &str) -> bool {
        let Some(entry) = manifest
            .sets
            .get(set_id)
            .and_then(|s| s.shards.get(&self.key))
        else {
            return false;
        };
        entry.digest == self.digest && entry.parts.iter().all(|p| store.resolve(&p.path).is_file())
    }
}

/// Groups `clips` by actor into shards, in key order.
pub fn plan_shards(set_id: &str, clips: &[MetadataRow]) -> Vec<ShardPlan> {
    let mut by_actor: BTreeMap<u32, Vec<MetadataRow>> = BTreeMap::new();
    for c in clips {
        by_actor.entry(c.actor as u32).or_default().push(c.clone());
    }
    by_actor
        .into_iter()
        .map(|(actor, mut clips)| {
            clips.sort_by(|a, b| a.clip_id.cmp(&b.clip_id));
            let inputs: Vec<ClipInput> = clips
                .iter()
                .map(|c| ClipInput {
                    clip_id: c.clip_id.clone(),
                    fingerprint: c.fingerprint.clone(),
                })
                .collect();
            let mut text = format!("{set_id}\n");
            for i in &inputs {
                text.push_str(&format!("{} {}\n", i.clip_id, i.fingerprint));
            }
            ShardPlan {
                key: format!("actor={actor:02}"),
                actor,
                clips,
                inputs,
                digest: short_id(text.as_bytes()),
            }
        })
        .collect()
}
