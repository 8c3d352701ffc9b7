//! Per-example steps of a training batch: each example's setting is drawn
//! in order, so a seed gives the same batch on any number of threads, and
//! the examples are then changed in parallel.

use rayon::prelude::*;

use crate::dataset::N_MFCC;
use crate::split::SplitMix;

/// For each example of `x` (`[b, frames, 40]`; `lengths` real frames
/// each), with chance `p`, draws a setting with `draw`, in order; then
/// calls `apply(example, its real frames, setting)` on the drawn ones in
/// parallel. Padding frames are the caller's to leave alone.
pub(crate) fn each_drawn<T: Send + Sync>(
    x: &mut [f32],
    frames: usize,
    lengths: &[usize],
    p: f64,
    rng: &mut SplitMix,
    mut draw: impl FnMut(&mut SplitMix) -> T,
    apply: impl Fn(&mut [f32], usize, &T) + Sync,
) {
    let width = frames * N_MFCC;
    if p <= 0.0 || frames == 0 || x.len() != lengths.len() * width {
        return;
    }
    let drawn: Vec<Option<T>> = lengths
        .iter()
        .map(|_| (rng.unit() < p).then(|| draw(rng)))
        .collect();
    x.par_chunks_mut(width)
        .zip(drawn.par_iter().zip(lengths.par_iter()))
        .for_each(|(ex, (setting, &len))| {
            if let Some(s) = setting {
                apply(ex, len.min(frames), s);
            }
        });
}
