//! Grouping clips into shards and deciding which need computing.

use std::collections::BTreeMap;

use store::fingerprint::{file_sum, short_id};
use store::shard::read_shard;
use store::{ClipInput, Manifest, MetadataRow, PartEntry, ShardEntry, Store};

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
        // A part cut short (or grown) since it was written is not current.
        entry.digest == self.digest
            && entry
                .parts
                .iter()
                .all(|p| p.size_matches(&store.resolve(&p.path)))
    }

    /// Whether `manifest` lists this shard with these inputs (current or not).
    pub fn is_listed(&self, manifest: &Manifest, set_id: &str) -> bool {
        manifest
            .sets
            .get(set_id)
            .and_then(|s| s.shards.get(&self.key))
            .is_some_and(|e| e.digest == self.digest)
    }

    /// The shard's entry rebuilt from part files already on disk, when every
    /// variant's file holds exactly this plan's clips and fingerprints (a
    /// run whose manifest version was lost, or that died before its
    /// commit). Part files are named by the digest of their inputs and
    /// written atomically, so such files are this shard. `None` otherwise
    /// (a shard with rejected clips is computed again, to know why).
    pub fn adopt(&self, store: &Store, set_id: &str, variants: &[String]) -> Option<ShardEntry> {
        let mut parts = Vec::new();
        for variant in variants {
            let variant = variant.as_str();
            let rel = Store::part_rel_path(set_id, variant, self.actor, &self.digest);
            let path = store.resolve(&rel);
            if !path.is_file() {
                return None;
            }
            let rows = read_shard(&path).ok()?;
            let mut got: Vec<ClipInput> = rows
                .iter()
                .filter(|r| r.variant == variant)
                .map(|r| ClipInput {
                    clip_id: r.clip_id.clone(),
                    fingerprint: r.fingerprint.clone(),
                })
                .collect();
            got.sort();
            let mut want = self.inputs.clone();
            want.sort();
            if got != want || rows.len() != want.len() {
                return None;
            }
            let sum = file_sum(&path).ok()?;
            parts.push(PartEntry::new(variant, rel, rows.len(), sum));
        }
        Some(ShardEntry {
            digest: self.digest.clone(),
            inputs: self.inputs.clone(),
            parts,
            rejected: Vec::new(),
        })
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
