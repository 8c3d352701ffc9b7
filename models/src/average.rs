//! Stochastic weight averaging (Izmailov et al., 2018): the mean of the
//! weights a model passes through at the end of its last epochs, trained
//! at a constant learning rate, instead of the last point alone. One
//! model, at the training cost of one; an ensemble of those points for
//! the price of its last member.
//!
//! [`WeightAverage`] keeps running sums of every tensor of a model (its
//! batch-norm statistics too); [`WeightAverage::write`] puts the mean back.
//! The batch-norm statistics of the averaged weights are not the mean of
//! the points' statistics, so the training loop recomputes them with one
//! pass over the training data ([`crate::train::train`]).

use dfdx::prelude::*;

use crate::dataset::N_MFCC;
use crate::error::ModelError;
use crate::train::{Classifier, Dataset, EpochOrders, TrainError};
use crate::weights::{collect, encode_safetensors, load, NamedTensor};

/// The learning rate of the averaging epochs, as a fraction of the peak.
pub const SWA_LR: f64 = 0.1;

/// Running sums of a model's tensors, in the collection's order.
#[derive(Debug, Default)]
pub struct WeightAverage {
    /// Each tensor's name, shape and sum of its values over the points.
    sums: Vec<(String, Vec<usize>, Vec<f64>)>,
    points: usize,
}

impl WeightAverage {
    /// Adds `model`'s current weights as one more point.
    pub fn add<M: TensorCollection<f32, Cpu>>(&mut self, model: &M) {
        let now = collect(model, "");
        if self.sums.is_empty() {
            self.sums = now
                .into_iter()
                .map(|t| {
                    (
                        t.name,
                        t.shape,
                        t.data.iter().map(|&v| f64::from(v)).collect(),
                    )
                })
                .collect();
        } else {
            for ((_, _, sum), t) in self.sums.iter_mut().zip(&now) {
                for (s, &v) in sum.iter_mut().zip(&t.data) {
                    *s += f64::from(v);
                }
            }
        }
        self.points += 1;
    }

    /// Points added so far.
    pub fn points(&self) -> usize {
        self.points
    }

    /// The mean of the points, by tensor name (empty before any point).
    pub fn mean(&self) -> Vec<NamedTensor> {
        let n = self.points.max(1) as f64;
        self.sums
            .iter()
            .map(|(name, shape, sum)| NamedTensor {
                name: name.clone(),
                shape: shape.clone(),
                data: sum.iter().map(|s| (s / n) as f32).collect(),
            })
            .collect()
    }

    /// Sets `model`'s weights to the mean of the points (nothing before
    /// any point).
    pub fn write<M: TensorCollection<f32, Cpu>>(&self, model: &mut M) -> Result<(), ModelError> {
        if self.points == 0 {
            return Ok(());
        }
        let bytes = encode_safetensors(&self.mean(), Default::default())?;
        load(model, &bytes, "")
    }
}

/// Recomputes the running statistics of `model`'s batch norms for its
/// current weights: one pass over `train` in a seeded shuffle, as
/// training steps without augmentation or an update (the running
/// statistics follow each batch with momentum 0.1, so the last batches,
/// a random sample, dominate). Models without batch norm are left as they
/// are (dropout draws from `dev`).
pub(crate) fn refresh_batch_norm<M: Classifier>(
    model: &mut M,
    dev: &Cpu,
    train: &Dataset,
    batch: usize,
    seed: u64,
) -> Result<(), TrainError> {
    let mut orders = EpochOrders::new(train.len(), seed ^ 0x7377_6100_0000_0001);
    for chunk in orders.next_epoch().chunks(batch) {
        let (v, lengths) = train.batch_values(chunk);
        let x = dev.tensor_from_vec(v, (chunk.len(), train.frames, Const::<N_MFCC>));
        let grads = model.alloc_grads();
        model.train_logits(x.traced(grads), &lengths)?; // [b, n], discarded
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::si_cnn::SiCnnConfig;

    #[test]
    fn the_mean_of_two_models_is_their_elementwise_mean() {
        let dev: Cpu = Default::default();
        let a = SiCnnConfig::new(4, 5).init(&dev).unwrap();
        let b = SiCnnConfig::new(4, 5).init(&dev).unwrap();
        let mut avg = WeightAverage::default();
        avg.add(&a);
        avg.add(&b);
        assert_eq!(avg.points(), 2);
        let mut c = SiCnnConfig::new(4, 5).init(&dev).unwrap();
        avg.write(&mut c).unwrap();
        let (wa, wb, wc) = (collect(&a, ""), collect(&b, ""), collect(&c, ""));
        assert_eq!(wa.len(), wc.len());
        let mut differs = false;
        for ((ta, tb), tc) in wa.iter().zip(&wb).zip(&wc) {
            assert_eq!(ta.name, tc.name);
            for ((x, y), z) in ta.data.iter().zip(&tb.data).zip(&tc.data) {
                assert!(
                    (z - (x + y) / 2.0).abs() <= 1e-6 * (1.0 + z.abs()),
                    "{}",
                    ta.name
                );
                differs |= x != y;
            }
        }
        assert!(differs, "two draws of weights differ somewhere");
    }

    #[test]
    fn no_point_leaves_the_model_as_it_is() {
        let dev: Cpu = Default::default();
        let a = SiCnnConfig::new(3, 3).init(&dev).unwrap();
        let mut b = a.clone();
        WeightAverage::default().write(&mut b).unwrap();
        assert_eq!(collect(&a, ""), collect(&b, ""));
    }
}
