//! How long the planned runs will take on this machine: each distinct
//! model configuration trains a few batches of random inputs of its real
//! shape, timed after one warm-up batch.

use std::collections::HashMap;
use std::time::Instant;

use models::{Dataset, TrainConfig};

use super::PlannedRun;
use crate::train::TrainPlan;

/// Seconds per training step (one batch, forward and backward, plus a
/// share of the per-epoch evaluation) of each run; 0 for a run with no
/// steps left (`todo`), which is not timed.
pub fn seconds_per_step(planned: &[PlannedRun], plans: &[TrainPlan], todo: &[usize]) -> Vec<f64> {
    // Runs of the same shape are timed once: the key is everything the
    // timing builds from, so no two shapes can share a timing.
    let mut cache: HashMap<Shape, f64> = HashMap::new();
    planned
        .iter()
        .zip(plans)
        .zip(todo)
        .map(|((p, plan), &steps)| {
            if steps == 0 {
                return 0.0;
            }
            let shape = Shape {
                model: p.config.model,
                classes: plan.config.classes.len(),
                kernel: p.config.kernel,
                attention: plan.config.resolved().attention,
                frames: plan.config.window,
                batch: plan.config.batch_size,
            };
            *cache.entry(shape).or_insert_with(|| time_steps(shape))
        })
        .collect()
}

/// What a training step's time depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    model: models::ModelKind,
    classes: usize,
    kernel: usize,
    attention: usize,
    frames: usize,
    batch: usize,
}

fn time_steps(s: Shape) -> f64 {
    let Shape {
        model,
        classes,
        kernel,
        attention,
        frames,
        batch,
    } = s;
    let Ok(mut net) = models::build(model, classes, kernel, attention, 0, models::Init::Keras)
    else {
        return 0.0;
    };
    let data = |n: usize| {
        let x = (0..n * frames * 40)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        Dataset::new(x, frames, (0..n).map(|i| i % classes).collect())
    };
    let empty = Dataset::new(Vec::new(), frames, Vec::new());
    let warm = TrainConfig::new(1, batch, 1e-3, 0);
    let _ = net.fit(&data(batch), &empty, &warm, &mut |_| {});
    let steps = 3;
    let t = Instant::now();
    let _ = net.fit(&data(steps * batch), &empty, &warm, &mut |_| {});
    // The test side is evaluated each epoch: about a third of a step's
    // work per test example at the paper's 75/25 split.
    1.15 * t.elapsed().as_secs_f64() / steps as f64
}
