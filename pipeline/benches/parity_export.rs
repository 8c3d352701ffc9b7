//! The ser side of `make parity-train` (bench/parity_train.py drives it).
//!
//! `cargo bench -p ser-pipeline --bench parity_export -- --store DIR
//! --config TRAIN.json --out DIR`: plans the run the config describes
//! (exactly as `ser train` does), takes its first fold, and writes to
//! `--out`:
//! - `x_train.npy`, `y_train.npy`, `len_train.npy` and the same for
//!   `test`: the standardised examples `[n, frames, 40]`, classes and real
//!   lengths `ser train` feeds the model;
//! - `init.safetensors`: the model's initial weights (ser's names);
//! - `orders.npy` `[epochs, n_train]`: the batch order of every epoch;
//! - `meta.json`: model, classes, epochs, batch size, lr, Adam epsilon;
//! - `ser_history.json`: ser's per-epoch train and test loss / accuracy,
//!   trained here from the same initial weights and orders.

use std::io::Write;
use std::path::{Path, PathBuf};

use models::zoo::encode_safetensors;
use models::EpochOrders;
use pipeline::train::{Readout, TrainPlan, TrainStageConfig};
use store::Store;

/// Writes a little-endian `.npy` file (format 1.0).
fn npy<T: Copy>(
    path: &Path,
    descr: &str,
    shape: &[usize],
    data: &[T],
    bytes: impl Fn(T) -> Vec<u8>,
) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        out.extend(bytes(v));
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&out))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn f32s(path: &Path, shape: &[usize], v: &[f32]) {
    npy(path, "<f4", shape, v, |x| x.to_le_bytes().to_vec());
}

fn i64s(path: &Path, v: &[usize]) {
    npy(path, "<i8", &[v.len()], v, |x| {
        (x as i64).to_le_bytes().to_vec()
    });
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(store), Some(config), Some(out)) = (
        arg(&args, "--store"),
        arg(&args, "--config"),
        arg(&args, "--out"),
    ) else {
        eprintln!("usage: parity_export --store DIR --config TRAIN.json --out DIR");
        std::process::exit(2);
    };
    models::tune_allocator();
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out).expect("output folder");
    let text = std::fs::read_to_string(&config).expect("train config");
    let cfg: TrainStageConfig = serde_json::from_str(&text).expect("train config JSON");
    cfg.validate().expect("valid train config");
    let store = Store::open(&store).expect("store");
    let plan = TrainPlan::new(&store, &cfg, false).expect("plan");
    let fold = &plan.folds[0];
    let data = plan.fold_data(fold).expect("fold data");
    let (epochs, batch) = (plan.config.epochs, plan.config.batch_size);
    let frames = plan.framing.window;
    for (name, d) in [("train", &data.train), ("test", &data.test)] {
        f32s(
            &out.join(format!("x_{name}.npy")),
            &[d.len(), frames, 40],
            &d.x,
        );
        i64s(&out.join(format!("y_{name}.npy")), &d.labels);
        i64s(&out.join(format!("len_{name}.npy")), &d.lengths);
    }
    let seed = cfg.seed.wrapping_add(fold.number as u64 - 1);
    let classes = plan.config.classes.len();
    let attention = plan.config.resolved().attention;
    let mut net =
        models::build(cfg.model, classes, cfg.kernel, attention, seed, cfg.init).expect("model");
    let init = encode_safetensors(&net.weights(""), Default::default()).expect("weights");
    std::fs::write(out.join("init.safetensors"), init).expect("init weights");
    let mut orders = EpochOrders::new(data.train.len(), seed);
    let all: Vec<usize> = (0..epochs)
        .flat_map(|_| orders.next_epoch().to_vec())
        .collect();
    npy(
        &out.join("orders.npy"),
        "<i8",
        &[epochs, data.train.len()],
        &all,
        |x| (x as i64).to_le_bytes().to_vec(),
    );
    let meta = serde_json::json!({
        "run": plan.run(),
        "model": cfg.model.name(),
        "classes": plan.config.classes,
        "epochs": epochs,
        "batch_size": batch,
        "lr": plan.config.resolved().lr,
        "adam_eps": cfg.adam_eps,
        "kernel": cfg.kernel,
        "window": frames,
        "crop": cfg.crop.name(),
        "readout_last_real": cfg.readout == Readout::LastReal,
        "fold": fold.number,
    });
    std::fs::write(out.join("meta.json"), meta.to_string()).expect("meta");
    let tc = pipeline::train::fold::train_config(&plan.config, seed);
    let history = net
        .fit(&data.train, &data.test, &tc, &mut |_| {})
        .expect("training");
    let rows: Vec<serde_json::Value> = history
        .iter()
        .map(|r| {
            serde_json::json!({"epoch": r.epoch, "split": r.split, "loss": r.loss,
                               "accuracy": r.accuracy, "uar": r.uar, "seconds": r.seconds})
        })
        .collect();
    std::fs::write(
        out.join("ser_history.json"),
        serde_json::Value::from(rows).to_string(),
    )
    .expect("history");
    println!("parity_export: {} -> {}", plan.run(), out.display());
}
