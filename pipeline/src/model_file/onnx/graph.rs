//! The si-cnn network of a model file as an ONNX graph (opset 13), from
//! raw MFCC frames to the probabilities `ser predict` gives, every step
//! as `ser` computes it:
//!
//! 1. **window** ([`crate::train::data::Framing`]): the first `window`
//!    frames (`crop start`) or the middle ones (`crop centre`) of a longer
//!    input, or (`crop speech`) each clip's from a third of a window
//!    before its first frame within 25 dB of its loudest (found on c0),
//!    as far as a full window allows; the whole of a shorter one;
//! 2. **standardisation** with the training statistics, `(x - mean) / std`
//!    per coefficient; with a test-time warp ([`models::test_warp`]) each
//!    clip is then heard as it is and warped by each factor (back to raw
//!    coefficients, times the factor's matrix, standardised again), the
//!    versions stacked along the batch; then zero frames after a short
//!    input up to the window (zero is the training mean once standardised);
//! 3. **the network** ([`models::si_cnn`]): three blocks of Conv1D
//!    ("same" zero padding, the odd pad after), ReLU, max-pool (2, 2, 1;
//!    "valid") and batch norm (running statistics); mean and standard
//!    deviation over time; Dense 64 ReLU; Dense N (logits);
//! 4. **softmax**, the mean over a clip's versions (with a test-time
//!    warp); with a seed ensemble (`--members K`), steps 3 and 4 for each
//!    member (its nodes and weights named `m<j>/…` after the first) and the
//!    mean of their probabilities; then the model file's temperature as
//!    [`models::calibration::Temperature::apply`] does it: `p` floored at
//!    1e-12, `softmax(ln p / T)` (skipped when `T` is 1).
//!
//! `ser` keeps sequences as `[batch, frames, channels]`; ONNX's Conv wants
//! `[batch, channels, frames]`, so the graph transposes once after step 2
//! and the filters `[kernel, in, out]` are stored as `[out, in, kernel]`.

use std::collections::BTreeMap;

use models::calibration::FLOOR;
use models::layers::{BN_EPSILON, STATS_EPSILON};
use models::NamedTensor;

use super::proto::{Attr, Data, Dim, Graph, Node, Tensor, ValueInfo};
use crate::train::data::{speech_lead, N_MFCC, SPEECH_WITHIN_DB};
use crate::train::Crop;

/// Name of the graph's input: raw MFCCs `[batch, frames, 40]`.
pub const INPUT: &str = "mfcc";
/// Name of the graph's output: class probabilities `[batch, classes]`.
pub const OUTPUT: &str = "probabilities";

/// What the graph needs besides the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Frames per example.
    pub window: usize,
    /// Which frames of a longer input are kept.
    pub crop: Crop,
    /// Mel bands behind the cepstra (where `crop speech` finds speech).
    pub n_mels: usize,
    /// Temperature applied to the probabilities (1: none).
    pub temperature: f64,
    /// The test-time warp's matrices in raw coefficients, `[40, 40]`
    /// row-major each (a frame `c` becomes `c W`); none: each clip is
    /// heard as it is only.
    pub heard: Vec<Vec<f32>>,
}

/// One model's tensors by field path (`conv1.weight`, `norm.mean`).
#[derive(Debug, Clone, Default)]
pub struct Weights(BTreeMap<String, NamedTensor>);

impl Weights {
    /// The tensors named `prefix` + path (`fold1/conv1.weight`), by path.
    pub fn with_prefix(tensors: &[NamedTensor], prefix: &str) -> Weights {
        Weights(
            tensors
                .iter()
                .filter_map(|t| Some((t.name.strip_prefix(prefix)?.to_string(), t.clone())))
                .collect(),
        )
    }

    /// The tensor `name`; `Err` says what is missing or the wrong shape.
    fn get(&self, name: &str) -> Result<&NamedTensor, String> {
        self.0
            .get(name)
            .ok_or_else(|| format!("tensor `{name}` missing"))
    }

    /// The values of `name`, which must have shape `want`.
    fn values(&self, name: &str, want: &[usize]) -> Result<&[f32], String> {
        let t = self.get(name)?;
        if t.shape != want || t.data.len() != want.iter().product::<usize>() {
            return Err(format!(
                "tensor `{name}` has shape {:?}, expected {want:?}",
                t.shape
            ));
        }
        Ok(&t.data)
    }
}

/// Nodes and constants in the order they are added.
#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    constants: Vec<Tensor>,
    /// Put before every name added (`m1/`: a second member's nodes and
    /// weights); empty for the first member and the shared steps, so a
    /// one-model graph names everything as it always did. [`OUTPUT`] is
    /// never scoped.
    scope: String,
}

impl Builder {
    /// `name` in the current scope.
    fn scoped(&self, name: &str) -> String {
        if name == OUTPUT {
            name.to_string()
        } else {
            format!("{}{name}", self.scope)
        }
    }

    /// Adds `op` reading `inputs`; its output (and the node) is named `out`
    /// (in the current scope).
    fn op(&mut self, out: &str, op: &'static str, inputs: &[&str], attrs: Vec<Attr>) -> String {
        let out = self.scoped(out);
        self.nodes.push(Node {
            op,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![out.clone()],
            name: out.clone(),
            attrs,
        });
        out
    }

    /// A float constant of shape `dims` (empty: a scalar).
    fn floats(&mut self, name: &str, dims: &[usize], data: Vec<f32>) -> String {
        let name = self.scoped(name);
        self.constants.push(Tensor {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data: Data::F32(data),
        });
        name
    }

    /// An int64 scalar constant.
    fn int(&mut self, name: &str, value: i64) -> String {
        let name = self.scoped(name);
        self.constants.push(Tensor {
            name: name.clone(),
            dims: vec![],
            data: Data::I64(vec![value]),
        });
        name
    }

    /// A one-dimensional int64 constant.
    fn ints(&mut self, name: &str, data: &[i64]) -> String {
        let name = self.scoped(name);
        self.constants.push(Tensor {
            name: name.clone(),
            dims: vec![data.len() as i64],
            data: Data::I64(data.to_vec()),
        });
        name
    }
}

/// The graph of the si-cnn whose members' tensors are `members` (one
/// model: one; a seed ensemble: each member's, the first also holding the
/// standardisation they share), `classes` outputs. `Err` names a tensor
/// that is missing or has the wrong shape.
pub fn si_cnn(members: &[Weights], spec: &Spec, classes: usize) -> Result<Graph, String> {
    let first = members.first().ok_or("the model file holds no model")?;
    let mut g = Builder::default();
    let x = window(&mut g, spec); // [batch, min(frames, window), 40]
    let (x, mean, std) = standardise(&mut g, first, &x)?; // [batch, kept, 40]
    let x = heard_versions(&mut g, &x, &mean, &std, &spec.heard); // [versions * batch, kept, 40]
    let x = pad(&mut g, &x, spec.window); // [versions * batch, window, 40]
    let x = g.op(
        "channels_first",
        "Transpose",
        &[&x],
        vec![Attr::ints("perm", &[0, 2, 1])],
    ); // [versions * batch, 40, window]
    let calibrated = spec.temperature != 1.0;
    let ensemble = members.len() > 1;
    let mut each = Vec::with_capacity(members.len());
    for (j, w) in members.iter().enumerate() {
        g.scope = if j == 0 {
            String::new()
        } else {
            format!("m{j}/")
        };
        let logits = network(&mut g, w, &x, classes)?; // [versions * batch, classes]
        let last = !calibrated && !ensemble;
        each.push(member_probabilities(&mut g, &logits, spec, classes, last)); // [batch, classes]
    }
    g.scope.clear();
    let p = if ensemble {
        let inputs: Vec<&str> = each.iter().map(String::as_str).collect();
        let name = if calibrated { "members.mean" } else { OUTPUT };
        g.op(name, "Mean", &inputs, vec![])
    } else {
        each.swap_remove(0)
    };
    if calibrated {
        calibrate(&mut g, &p, spec.temperature);
    }
    Ok(Graph {
        name: "si-cnn".into(),
        nodes: g.nodes,
        initializers: g.constants,
        inputs: vec![ValueInfo {
            name: INPUT.into(),
            dims: vec![
                Dim::Named("batch"),
                Dim::Named("frames"),
                Dim::Fixed(N_MFCC as i64),
            ],
            doc: "raw MFCCs, frames x 40 per clip, computed with the feature config in the \
                  metadata (`feature_config`); any number of frames"
                .into(),
        }],
        outputs: vec![ValueInfo {
            name: OUTPUT.into(),
            dims: vec![Dim::Named("batch"), Dim::Fixed(classes as i64)],
            doc: "class probabilities, in the order of the metadata's `classes`".into(),
        }],
        doc: String::new(),
    })
}

/// The frames of [`INPUT`] the window keeps: `[batch, frames, 40]` ->
/// `[batch, min(frames, window), 40]`.
fn window(g: &mut Builder, spec: &Spec) -> String {
    // The slice's axis and the window's size (in this order, as graphs
    // before the speech crop named them).
    let axis_and_size = |g: &mut Builder| {
        let one = g.ints("window.axis", &[1]);
        (one, g.ints("window.size", &[spec.window as i64]))
    };
    match spec.crop {
        Crop::Start => {
            let (one, size) = axis_and_size(g);
            let start = g.ints("window.start", &[0]);
            g.op("window", "Slice", &[INPUT, &start, &size, &one], vec![])
        }
        Crop::Centre => {
            let (one, size) = axis_and_size(g);
            // start = max(frames - window, 0) / 2 (integer division).
            let frames = frames_of(g, INPUT, "window"); // [1]
            let over = g.op("window.over", "Sub", &[&frames, &size], vec![]);
            let zero = g.ints("window.zero", &[0]);
            let over = g.op("window.over_pos", "Max", &[&over, &zero], vec![]);
            let two = g.ints("window.two", &[2]);
            let start = g.op("window.start", "Div", &[&over, &two], vec![]);
            let end = g.op("window.end", "Add", &[&start, &size], vec![]);
            g.op("window", "Slice", &[INPUT, &start, &end, &one], vec![])
        }
        Crop::Speech => {
            let size = g.ints("window.size", &[spec.window as i64]);
            speech_window(g, spec, &size)
        }
    }
}

/// `crop speech`'s window: for each clip, frames `[start, start + kept)`
/// with `kept = min(frames, window)` and `start = clamp(onset - [`speech_lead`],
/// 0, max(frames - window, 0))`, `onset` its first frame whose c0 is
/// within [`SPEECH_WITHIN_DB`] (times `sqrt(n_mels)`) of its loudest
/// frame's ([`crate::train::data::speech_onset`]). `[batch, frames, 40]`
/// -> `[batch, kept, 40]`.
fn speech_window(g: &mut Builder, spec: &Spec, size: &str) -> String {
    let frames = frames_of(g, INPUT, "window"); // [1]
    let zero = g.ints("window.zero", &[0]);
    let (from, to, axis) = (
        g.ints("window.c0_from", &[0]),
        g.ints("window.c0_to", &[1]),
        g.ints("window.c0_axis", &[2]),
    );
    let c0 = g.op("window.c0", "Slice", &[INPUT, &from, &to, &axis], vec![]); // [batch, frames, 1]
    let loudest = g.op(
        "window.loudest",
        "ReduceMax",
        &[&c0],
        vec![Attr::ints("axes", &[1]), Attr::int("keepdims", 1)],
    ); // [batch, 1, 1]
    let within = SPEECH_WITHIN_DB * (spec.n_mels.max(1) as f32).sqrt();
    let within = g.floats("window.within", &[], vec![within]);
    let floor = g.op("window.floor", "Sub", &[&loudest, &within], vec![]);
    let speech = g.op("window.speech", "GreaterOrEqual", &[&c0, &floor], vec![]);
    // The first speech frame: the least index among them (no reliance on
    // ArgMax's tie-breaking), never more than `frames`.
    let (first, step) = (g.int("window.range_from", 0), g.int("window.range_step", 1));
    let scalar = g.ints("window.scalar", &[]);
    let all = g.op(
        "window.frames_scalar",
        "Reshape",
        &[&frames, &scalar],
        vec![],
    );
    let every = g.op("window.every", "Range", &[&first, &all, &step], vec![]); // [frames]
    let column = g.ints("window.column", &[1, -1, 1]);
    let every = g.op("window.every_column", "Reshape", &[&every, &column], vec![]);
    let at = g.op(
        "window.speech_at",
        "Where",
        &[&speech, &every, &frames],
        vec![],
    );
    let onset = g.op(
        "window.onset",
        "ReduceMin",
        &[&at],
        vec![Attr::ints("axes", &[1]), Attr::int("keepdims", 1)],
    ); // [batch, 1, 1], int64
    let lead = g.ints("window.lead", &[speech_lead(spec.window) as i64]);
    let start = g.op("window.early", "Sub", &[&onset, &lead], vec![]);
    let start = g.op("window.from_zero", "Max", &[&start, &zero], vec![]);
    let over = g.op("window.over", "Sub", &[&frames, size], vec![]);
    let latest = g.op("window.latest", "Max", &[&over, &zero], vec![]); // [1]
    let start = g.op("window.start", "Min", &[&start, &latest], vec![]); // [batch, 1, 1]
    let kept = g.op("window.kept", "Min", &[&frames, size], vec![]); // [1]
    let kept = g.op("window.kept_scalar", "Reshape", &[&kept, &scalar], vec![]);
    let range = g.op("window.range", "Range", &[&first, &kept, &step], vec![]); // [kept]
    let range = g.op("window.range_column", "Reshape", &[&range, &column], vec![]);
    let at = g.op("window.at", "Add", &[&start, &range], vec![]); // [batch, kept, 1]
    let width = g.ints("window.width", &[1, 1, N_MFCC as i64]);
    let at = g.op("window.at_every", "Expand", &[&at, &width], vec![]); // [batch, kept, 40]
    g.op(
        "window",
        "GatherElements",
        &[INPUT, &at],
        vec![Attr::int("axis", 1)],
    )
}

/// The number of frames of `x` (`[batch, frames, c]`) as a `[1]` int64
/// tensor; nodes named `{name}.*`.
fn frames_of(g: &mut Builder, x: &str, name: &str) -> String {
    let shape = g.op(&format!("{name}.shape"), "Shape", &[x], vec![]); // [3]
    let axis0 = g.ints(&format!("{name}.shape_axis"), &[0]);
    let (from, to) = (
        g.ints(&format!("{name}.shape_from"), &[1]),
        g.ints(&format!("{name}.shape_to"), &[2]),
    );
    g.op(
        &format!("{name}.frames"),
        "Slice",
        &[&shape, &from, &to, &axis0],
        vec![],
    )
}

/// `(x - mean) / std` per coefficient: `[batch, kept, 40]`, with the
/// names of the mean and std constants.
fn standardise(g: &mut Builder, w: &Weights, x: &str) -> Result<(String, String, String), String> {
    let mean = w.values("norm.mean", &[N_MFCC])?.to_vec();
    let mean = g.floats("norm.mean", &[N_MFCC], mean);
    let std = w.values("norm.std", &[N_MFCC])?.to_vec();
    let std = g.floats("norm.std", &[N_MFCC], std);
    let x = g.op("norm.centred", "Sub", &[x, &mean], vec![]);
    let x = g.op("norm.scaled", "Div", &[&x, &std], vec![]);
    Ok((x, mean, std))
}

/// The versions of standardised `x` (`[batch, kept, 40]`) a test-time warp
/// hears, as `TestWarp::warped` computes them: `x` itself, then for each
/// matrix `W` `((x * std + mean) W - mean) / std`, stacked along the batch
/// (`[versions * batch, kept, 40]`, version by version). No matrices: `x`.
fn heard_versions(g: &mut Builder, x: &str, mean: &str, std: &str, heard: &[Vec<f32>]) -> String {
    if heard.is_empty() {
        return x.to_string();
    }
    let raw = g.op("heard.raw_scaled", "Mul", &[x, std], vec![]);
    let raw = g.op("heard.raw", "Add", &[&raw, mean], vec![]);
    let mut versions = vec![x.to_string()];
    for (i, m) in heard.iter().enumerate() {
        let m = g.floats(&format!("heard{i}.matrix"), &[N_MFCC, N_MFCC], m.clone());
        let y = g.op(&format!("heard{i}.warped"), "MatMul", &[&raw, &m], vec![]);
        let y = g.op(&format!("heard{i}.centred"), "Sub", &[&y, mean], vec![]);
        versions.push(g.op(&format!("heard{i}.scaled"), "Div", &[&y, std], vec![]));
    }
    let inputs: Vec<&str> = versions.iter().map(String::as_str).collect();
    g.op("heard", "Concat", &inputs, vec![Attr::int("axis", 0)])
}

/// Zero frames after a short input: `[batch, kept, 40]` -> `[batch,
/// window, 40]`.
fn pad(g: &mut Builder, x: &str, window: usize) -> String {
    let frames = frames_of(g, x, "pad"); // [1]
    let size = g.ints("pad.window", &[window as i64]);
    let missing = g.op("pad.missing", "Sub", &[&size, &frames], vec![]); // [1]
    let before = g.ints("pad.before", &[0, 0, 0, 0]);
    let after = g.ints("pad.after", &[0]);
    // [begin b, t, c, end b, t, c] = [0, 0, 0, 0, missing, 0]
    let pads = g.op(
        "pad.pads",
        "Concat",
        &[&before, &missing, &after],
        vec![Attr::int("axis", 0)],
    );
    g.op("padded", "Pad", &[x, &pads], vec![])
}

/// Mean and standard deviation over time, `sqrt(mean((x - mean)^2) +
/// STATS_EPSILON)`, side by side: `[batch, c, t]` -> `[batch, 2c]`.
fn stats_pool(g: &mut Builder, x: &str) -> String {
    let reduce = |keep: i64| vec![Attr::ints("axes", &[2]), Attr::int("keepdims", keep)];
    let mean = g.op("pool.mean", "ReduceMean", &[x], reduce(1)); // [batch, c, 1]
    let centred = g.op("pool.centred", "Sub", &[x, &mean], vec![]);
    let square = g.op("pool.square", "Mul", &[&centred, &centred], vec![]);
    let var = g.op("pool.var", "ReduceMean", &[&square], reduce(0)); // [batch, c]
    let time = g.ints("pool.time_axis", &[2]);
    mean_and_std(g, &mean, &var, &time)
}

/// The pooled `[batch, 2c]` of a `mean` (`[batch, c, 1]`) and a variance
/// (`[batch, c]`): the mean and `sqrt(var + STATS_EPSILON)` side by side,
/// as both poolings end. `time` is the time axis (`[2]`).
fn mean_and_std(g: &mut Builder, mean: &str, var: &str, time: &str) -> String {
    let eps = g.floats("pool.epsilon", &[], vec![STATS_EPSILON as f32]);
    let var = g.op("pool.var_eps", "Add", &[var, &eps], vec![]);
    let std = g.op("pool.std", "Sqrt", &[&var], vec![]);
    let mean = g.op("pool.mean_flat", "Squeeze", &[mean, time], vec![]); // [batch, c]
    g.op("pool", "Concat", &[&mean, &std], vec![Attr::int("axis", 1)])
}

/// Attentive statistics pooling (`models::layers::FrameAttention`): frame
/// weights `softmax_t(v · tanh(W h_t + b))`, then the weighted mean and
/// `sqrt(Σ a_t (h_t - mean)^2 + STATS_EPSILON)` side by side: `[batch, c,
/// t]` -> `[batch, 2c]`.
fn attentive_pool(g: &mut Builder, w: &Weights, x: &str, c: usize) -> Result<String, String> {
    let hidden = match w.get("pool.weight")?.shape.as_slice() {
        [h, i] if *i == c && *h > 0 => *h,
        s => {
            return Err(format!(
                "tensor `pool.weight` has shape {s:?}, expected [hidden, {c}]"
            ))
        }
    };
    // [hidden, c] -> [c, hidden], so frames multiply it from the left.
    let hc = w.values("pool.weight", &[hidden, c])?;
    let ch: Vec<f32> = (0..c * hidden)
        .map(|k| hc[(k % hidden) * c + k / hidden])
        .collect();
    let weight = g.floats("pool.weight_t", &[c, hidden], ch);
    let bias = w.values("pool.bias", &[hidden])?.to_vec();
    let bias = g.floats("pool.bias", &[hidden], bias);
    let score = w.values("pool.score", &[hidden])?.to_vec();
    let score = g.floats("pool.score", &[hidden, 1], score);
    let frames = g.op(
        "pool.frames",
        "Transpose",
        &[x],
        vec![Attr::ints("perm", &[0, 2, 1])],
    ); // [batch, t, c]
    let units = g.op("pool.units", "MatMul", &[&frames, &weight], vec![]);
    let units = g.op("pool.units_bias", "Add", &[&units, &bias], vec![]);
    let units = g.op("pool.tanh", "Tanh", &[&units], vec![]); // [batch, t, hidden]
    let scores = g.op("pool.scores", "MatMul", &[&units, &score], vec![]); // [batch, t, 1]
    let scores = g.op(
        "pool.scores_t",
        "Transpose",
        &[&scores],
        vec![Attr::ints("perm", &[0, 2, 1])],
    ); // [batch, 1, t]
    let a = g.op(
        "pool.weights",
        "Softmax",
        &[&scores],
        vec![Attr::int("axis", 2)],
    );
    let time = g.ints("pool.time_axis", &[2]);
    let keep = |k: i64| vec![Attr::int("keepdims", k)];
    let weighted = g.op("pool.weighted", "Mul", &[x, &a], vec![]);
    let mean = g.op("pool.mean", "ReduceSum", &[&weighted, &time], keep(1)); // [batch, c, 1]
    let centred = g.op("pool.centred", "Sub", &[x, &mean], vec![]);
    let square = g.op("pool.square", "Mul", &[&centred, &centred], vec![]);
    let square = g.op("pool.square_weighted", "Mul", &[&square, &a], vec![]);
    let var = g.op("pool.var", "ReduceSum", &[&square, &time], keep(0)); // [batch, c]
    Ok(mean_and_std(g, &mean, &var, &time))
}

/// One member's network (step 3): `[versions * batch, 40, window]` ->
/// logits `[versions * batch, classes]`.
fn network(g: &mut Builder, w: &Weights, x: &str, classes: usize) -> Result<String, String> {
    let (x, c1) = conv_block(g, w, x, 1, N_MFCC, 2)?; // [versions * batch, 64, window / 2]
    let (x, c2) = conv_block(g, w, &x, 2, c1, 2)?; // [versions * batch, 128, window / 4]
    let (x, c3) = conv_block(g, w, &x, 3, c2, 1)?; // [versions * batch, 128, window / 4]

    // Attentive pooling where the model has its tensors (a si-cnn trained
    // with `attention 0` has none), plain statistics otherwise.
    let x = if w.0.contains_key("pool.weight") {
        attentive_pool(g, w, &x, c3)?
    } else {
        stats_pool(g, &x)
    }; // [versions * batch, 256]
    let (x, d1) = dense(g, w, &x, "dense1", 2 * c3, None)?; // [versions * batch, 64]
    let x = g.op("dense1.relu", "Relu", &[&x], vec![]);
    let (logits, _) = dense(g, w, &x, "dense2", d1, Some(classes))?; // [versions * batch, classes]
    Ok(logits)
}

/// One member's probabilities: softmax of its logits (`[versions * batch,
/// classes]`), with a test-time warp the mean over each clip's versions
/// (as `predict_heard`): `[batch, classes]`, named [`OUTPUT`] when `last`
/// (no step follows).
fn member_probabilities(
    g: &mut Builder,
    logits: &str,
    spec: &Spec,
    classes: usize,
    last: bool,
) -> String {
    let heard = !spec.heard.is_empty();
    // Each step's output is named OUTPUT when no step follows it.
    let name = |last_step: bool, n: &'static str| if last_step { OUTPUT } else { n };
    let p = g.op(
        name(last && !heard, "softmax"),
        "Softmax",
        &[logits],
        vec![Attr::int("axis", -1)],
    );
    if !heard {
        return p;
    }
    let versions = 1 + spec.heard.len() as i64;
    let shape = g.ints("heard.shape", &[versions, -1, classes as i64]);
    let p3 = g.op("heard.by_version", "Reshape", &[&p, &shape], vec![]); // [versions, batch, classes]
    g.op(
        name(last, "heard.mean"),
        "ReduceMean",
        &[&p3],
        vec![Attr::ints("axes", &[0]), Attr::int("keepdims", 0)],
    ) // [batch, classes]
}

/// The temperature, as `Temperature::apply`: `softmax(ln max(p, FLOOR) /
/// T)` of `p` (`[batch, classes]`) into [`OUTPUT`].
fn calibrate(g: &mut Builder, p: &str, temperature: f64) {
    let floor = g.floats("calibration.floor", &[], vec![FLOOR as f32]);
    let p = g.op("calibration.floored", "Max", &[p, &floor], vec![]);
    let logp = g.op("calibration.log", "Log", &[&p], vec![]);
    let t = g.floats("calibration.temperature", &[], vec![temperature as f32]);
    let z = g.op("calibration.scaled", "Div", &[&logp, &t], vec![]);
    g.op(OUTPUT, "Softmax", &[&z], vec![Attr::int("axis", -1)]);
}

/// Block `n`: Conv1D (`conv{n}`), ReLU, max-pool `pool` (1: none), batch
/// norm (`bn{n}`): `[batch, inputs, t]` -> `[batch, filters, t / pool]`.
/// Returns the output and its channels.
fn conv_block(
    g: &mut Builder,
    w: &Weights,
    x: &str,
    n: usize,
    inputs: usize,
    pool: usize,
) -> Result<(String, usize), String> {
    let name = format!("conv{n}.weight");
    let shape = &w.get(&name)?.shape;
    let (kernel, filters) = match shape.as_slice() {
        [k, i, o] if *i == inputs && *k >= 1 => (*k, *o),
        _ => {
            return Err(format!(
                "tensor `{name}` has shape {shape:?}, expected [kernel, {inputs}, filters]"
            ))
        }
    };
    // [kernel, in, out] -> [out, in, kernel]
    let kio = w.values(&name, &[kernel, inputs, filters])?;
    let mut oik = vec![0f32; kio.len()];
    for k in 0..kernel {
        for i in 0..inputs {
            for o in 0..filters {
                oik[(o * inputs + i) * kernel + k] = kio[(k * inputs + i) * filters + o];
            }
        }
    }
    let p = format!("conv{n}");
    let weight = g.floats(&format!("{p}.weight"), &[filters, inputs, kernel], oik);
    let bias = w.values(&format!("{p}.bias"), &[filters])?.to_vec();
    let bias = g.floats(&format!("{p}.bias"), &[filters], bias);
    // "same": (kernel - 1) / 2 zero frames before, the rest after.
    let left = (kernel - 1) / 2;
    let attrs = vec![
        Attr::ints("kernel_shape", &[kernel as i64]),
        Attr::ints("pads", &[left as i64, (kernel - 1 - left) as i64]),
        Attr::ints("strides", &[1]),
    ];
    let y = g.op(&p, "Conv", &[x, &weight, &bias], attrs);
    let mut y = g.op(&format!("{p}.relu"), "Relu", &[&y], vec![]);
    if pool > 1 {
        let size = vec![
            Attr::ints("kernel_shape", &[pool as i64]),
            Attr::ints("strides", &[pool as i64]),
        ];
        y = g.op(&format!("{p}.pool"), "MaxPool", &[&y], size);
    }
    let b = format!("bn{n}");
    let mut params = Vec::new();
    for field in ["scale", "bias", "running_mean", "running_var"] {
        let v = w.values(&format!("{b}.{field}"), &[filters])?.to_vec();
        params.push(g.floats(&format!("{b}.{field}"), &[filters], v));
    }
    let y = g.op(
        &b,
        "BatchNormalization",
        &[&y, &params[0], &params[1], &params[2], &params[3]],
        vec![Attr::float("epsilon", BN_EPSILON as f32)],
    );
    Ok((y, filters))
}

/// Dense layer `name` (weight `[outputs, inputs]`, bias `[outputs]`):
/// `[batch, inputs]` -> `[batch, outputs]`; `outputs` is checked when given.
fn dense(
    g: &mut Builder,
    w: &Weights,
    x: &str,
    name: &str,
    inputs: usize,
    outputs: Option<usize>,
) -> Result<(String, usize), String> {
    let wname = format!("{name}.weight");
    let out = match (w.get(&wname)?.shape.as_slice(), outputs) {
        ([o, _], None) => *o,
        (_, Some(o)) => o,
        (s, None) => {
            return Err(format!(
                "tensor `{wname}` has shape {s:?}, expected [outputs, {inputs}]"
            ))
        }
    };
    let weight = w.values(&wname, &[out, inputs])?.to_vec();
    let weight = g.floats(&wname, &[out, inputs], weight);
    let bias = w.values(&format!("{name}.bias"), &[out])?.to_vec();
    let bias = g.floats(&format!("{name}.bias"), &[out], bias);
    // x · Wᵀ + b
    let y = g.op(
        name,
        "Gemm",
        &[x, &weight, &bias],
        vec![Attr::int("transB", 1)],
    );
    Ok((y, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, shape: &[usize]) -> NamedTensor {
        NamedTensor {
            name: format!("fold1/{name}"),
            shape: shape.to_vec(),
            data: (0..shape.iter().product::<usize>())
                .map(|i| i as f32)
                .collect(),
        }
    }

    fn si_cnn_tensors(kernel: usize, classes: usize) -> Vec<NamedTensor> {
        let mut t = vec![
            tensor("norm.mean", &[40]),
            tensor("norm.std", &[40]),
            tensor("conv1.weight", &[kernel, 40, 64]),
            tensor("conv1.bias", &[64]),
            tensor("conv2.weight", &[kernel, 64, 128]),
            tensor("conv2.bias", &[128]),
            tensor("conv3.weight", &[3, 128, 128]),
            tensor("conv3.bias", &[128]),
            tensor("dense1.weight", &[64, 256]),
            tensor("dense1.bias", &[64]),
            tensor("dense2.weight", &[classes, 64]),
            tensor("dense2.bias", &[classes]),
        ];
        for (n, c) in [(1, 64), (2, 128), (3, 128)] {
            for f in ["scale", "bias", "running_mean", "running_var"] {
                t.push(tensor(&format!("bn{n}.{f}"), &[c]));
            }
        }
        t
    }

    fn spec(crop: Crop, temperature: f64) -> Spec {
        Spec {
            window: 64,
            crop,
            n_mels: 128,
            temperature,
            heard: Vec::new(),
        }
    }

    #[test]
    fn every_node_reads_what_exists_before_it_and_ends_in_the_output() {
        let cases = [
            (Crop::Start, 1.0, 0),
            (Crop::Centre, 1.7, 0),
            (Crop::Start, 1.0, 2),
            (Crop::Centre, 1.7, 2),
            (Crop::Speech, 1.0, 0),
            (Crop::Speech, 1.7, 2),
        ];
        for (crop, t, warps) in cases {
            let w = Weights::with_prefix(&si_cnn_tensors(5, 8), "fold1/");
            let spec = Spec {
                heard: vec![vec![0.5; N_MFCC * N_MFCC]; warps],
                ..spec(crop, t)
            };
            let g = si_cnn(std::slice::from_ref(&w), &spec, 8).unwrap();
            let mut known: Vec<String> = g.initializers.iter().map(|t| t.name.clone()).collect();
            known.push(INPUT.into());
            for n in &g.nodes {
                for i in &n.inputs {
                    assert!(known.contains(i), "{} reads {i} before it exists", n.name);
                }
                known.extend(n.outputs.iter().cloned());
            }
            assert_eq!(g.nodes.last().unwrap().outputs, [OUTPUT]);
            let ops: Vec<&str> = g.nodes.iter().map(|n| n.op).collect();
            assert_eq!(ops.iter().filter(|o| **o == "Conv").count(), 3);
            assert_eq!(ops.iter().filter(|o| **o == "MaxPool").count(), 2);
            assert_eq!(
                ops.iter().filter(|o| **o == "Softmax").count(),
                if t == 1.0 { 1 } else { 2 }
            );
            assert!(ops.contains(&"Shape"));
            // A test-time warp: one matrix product per factor, the
            // versions stacked, and their mean taken after the softmax.
            assert_eq!(ops.iter().filter(|o| **o == "MatMul").count(), warps);
            let reshapes_versions = g
                .nodes
                .iter()
                .any(|n| n.op == "Reshape" && !n.name.starts_with("window"));
            assert_eq!(reshapes_versions, warps > 0);
            // The speech crop: each clip's own start, its frames gathered.
            assert_eq!(ops.contains(&"ReduceMin"), crop == Crop::Speech);
            assert_eq!(ops.contains(&"GatherElements"), crop == Crop::Speech);
            let softmax = ops.iter().position(|o| *o == "Softmax").unwrap();
            let last_mean = ops.iter().rposition(|o| *o == "ReduceMean").unwrap();
            assert_eq!(last_mean > softmax, warps > 0, "{crop:?} {t} {warps}");
        }
    }

    #[test]
    fn a_seed_ensemble_runs_each_member_under_its_own_names_and_averages_them() {
        // Member 1's tensors under `fold1/m1/`, as `fold::member_prefix` names them.
        let mut t = si_cnn_tensors(5, 8);
        let second: Vec<NamedTensor> = si_cnn_tensors(5, 8)
            .into_iter()
            .filter(|t| !t.name.contains("norm."))
            .map(|t| NamedTensor {
                name: t.name.replace("fold1/", "fold1/m1/"),
                ..t
            })
            .collect();
        t.extend(second);
        let members = [
            Weights::with_prefix(&t, "fold1/"),
            Weights::with_prefix(&t, "fold1/m1/"),
        ];
        for temperature in [1.0, 0.6] {
            let spec = Spec {
                heard: vec![vec![0.5; N_MFCC * N_MFCC]; 2],
                ..spec(Crop::Start, temperature)
            };
            let g = si_cnn(&members, &spec, 8).unwrap();
            let mut known: Vec<String> = g.initializers.iter().map(|t| t.name.clone()).collect();
            known.push(INPUT.into());
            for n in &g.nodes {
                for i in &n.inputs {
                    assert!(known.contains(i), "{} reads {i} before it exists", n.name);
                }
                assert!(!known.contains(&n.name), "{} named twice", n.name);
                known.extend(n.outputs.iter().cloned());
            }
            assert_eq!(g.nodes.last().unwrap().outputs, [OUTPUT]);
            let ops: Vec<&str> = g.nodes.iter().map(|n| n.op).collect();
            assert_eq!(ops.iter().filter(|o| **o == "Conv").count(), 6);
            // The window, standardisation and warped versions are shared.
            assert_eq!(ops.iter().filter(|o| **o == "MatMul").count(), 2);
            assert!(g.nodes.iter().any(|n| n.name == "m1/conv1"));
            assert!(g.initializers.iter().any(|t| t.name == "m1/dense2.weight"));
            assert!(!g.initializers.iter().any(|t| t.name.starts_with("m1/norm")));
            // Both members' version means, then their mean.
            let mean = g.nodes.iter().find(|n| n.op == "Mean").unwrap();
            assert_eq!(mean.inputs, ["heard.mean", "m1/heard.mean"]);
            let softmaxes = if temperature == 1.0 { 2 } else { 3 };
            assert_eq!(ops.iter().filter(|o| **o == "Softmax").count(), softmaxes);
        }
        // One member: no `Mean`, nothing scoped.
        let g = si_cnn(&members[..1], &spec(Crop::Start, 1.0), 8).unwrap();
        assert!(!g
            .nodes
            .iter()
            .any(|n| n.op == "Mean" || n.name.contains('/')));
    }

    #[test]
    fn attention_tensors_make_attentive_pooling_stored_channels_first() {
        let mut t = si_cnn_tensors(5, 8);
        t.extend([
            tensor("pool.weight", &[6, 128]),
            tensor("pool.bias", &[6]),
            tensor("pool.score", &[6]),
        ]);
        let g = si_cnn(
            &[Weights::with_prefix(&t, "fold1/")],
            &spec(Crop::Start, 1.0),
            8,
        )
        .unwrap();
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op).collect();
        assert_eq!(ops.iter().filter(|o| **o == "Tanh").count(), 1);
        assert_eq!(ops.iter().filter(|o| **o == "ReduceSum").count(), 2);
        assert_eq!(ops.iter().filter(|o| **o == "Softmax").count(), 2);
        assert!(!ops.contains(&"ReduceMean"), "no plain statistics");
        let wt = g
            .initializers
            .iter()
            .find(|t| t.name == "pool.weight_t")
            .unwrap();
        assert_eq!(wt.dims, [128, 6]);
        let Data::F32(v) = &wt.data else {
            panic!("float weights")
        };
        // [c, h] = source [h, c] = h * 128 + c.
        let (c, h) = (9, 4);
        assert_eq!(v[c * 6 + h], (h * 128 + c) as f32);
        // Without them: plain statistics; with a misshapen one, its name.
        let g = si_cnn(
            &[Weights::with_prefix(&si_cnn_tensors(5, 8), "fold1/")],
            &spec(Crop::Start, 1.0),
            8,
        )
        .unwrap();
        assert!(g.nodes.iter().any(|n| n.op == "ReduceMean"));
        assert!(!g.nodes.iter().any(|n| n.op == "Tanh"));
        t.retain(|t| t.name != "fold1/pool.score");
        t.push(tensor("pool.score", &[5]));
        let err = si_cnn(
            &[Weights::with_prefix(&t, "fold1/")],
            &spec(Crop::Start, 1.0),
            8,
        )
        .unwrap_err();
        assert!(err.contains("pool.score"), "{err}");
    }

    #[test]
    fn filters_are_stored_out_in_kernel_and_same_padding_puts_the_odd_pad_after() {
        let w = Weights::with_prefix(&si_cnn_tensors(4, 3), "fold1/");
        let g = si_cnn(std::slice::from_ref(&w), &spec(Crop::Start, 1.0), 3).unwrap();
        let conv1 = g
            .initializers
            .iter()
            .find(|t| t.name == "conv1.weight")
            .unwrap();
        assert_eq!(conv1.dims, [64, 40, 4]);
        let Data::F32(v) = &conv1.data else {
            panic!("float filters")
        };
        // [o, i, k] = source [k, i, o] = (k * 40 + i) * 64 + o.
        let (o, i, k) = (5, 7, 3);
        assert_eq!(v[(o * 40 + i) * 4 + k], ((k * 40 + i) * 64 + o) as f32);
        let node = g.nodes.iter().find(|n| n.name == "conv1").unwrap();
        assert!(node.attrs.contains(&Attr::ints("pads", &[1, 2])));
    }

    #[test]
    fn a_missing_or_misshapen_tensor_is_named() {
        let mut t = si_cnn_tensors(5, 8);
        t.retain(|t| t.name != "fold1/bn2.running_var");
        let err = si_cnn(
            &[Weights::with_prefix(&t, "fold1/")],
            &spec(Crop::Start, 1.0),
            8,
        )
        .unwrap_err();
        assert!(err.contains("bn2.running_var"), "{err}");
        let err = si_cnn(
            &[Weights::with_prefix(&si_cnn_tensors(5, 8), "fold1/")],
            &spec(Crop::Start, 1.0),
            6,
        )
        .unwrap_err();
        assert!(err.contains("dense2.weight"), "{err}");
    }
}
