#!/usr/bin/env python3
"""Side by side: one fold of a `ser train` config trained by ser and by Keras.

`make parity-train STORE=... MODEL=lstm` (or `python3 bench/parity_train.py
--store DIR --model lstm [--set FLAGS]`): the ser bench binary
`parity_export` plans the run exactly as `ser train` would, writes the
fold's standardised train/test tensors, the model's initial weights and the
batch order of every epoch, and trains ser on them. This script then
builds the same network in Keras 3 (TensorFlow CPU), loads the same initial
weights, feeds the same batches in the same order (shuffle off, one `fit`
per epoch) and prints the two loss / accuracy curves epoch by epoch, then
the final test scores of both.

What can still differ: dropout masks (the CNNs), float summation order,
and Keras' LSTM masking (used when clips are padded and the readout is at
the last real frame) against ser's per-clip lengths.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_safetensors(path):
    """name -> float32 array, from a safetensors file (no extra package)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"])
    return out


def gates_side_by_side(w):
    """ser's [4, A, H] (gate, row, unit) -> Keras' [A, 4H] (gates i, f, c, o)."""
    return np.concatenate([w[g] for g in range(4)], axis=1)


def keras_model(meta, weights):
    import keras
    from keras import layers

    frames, classes, k = meta["window"], len(meta["classes"]), meta["kernel"]
    x = inp = keras.Input((frames, 40))
    model = meta["model"]
    assign = []  # (layer, [arrays]) in Keras' weight order

    def conv(name, filters):
        nonlocal x
        layer = layers.Conv1D(filters, k, padding="same", activation="relu")
        x = layers.MaxPooling1D(2)(layer(x))
        assign.append((layer, [weights[f"{name}.weight"], weights[f"{name}.bias"]]))

    def lstm(name, units, seq):
        nonlocal x
        layer = layers.LSTM(units, return_sequences=seq)
        x = layer(x)
        assign.append(
            (
                layer,
                [
                    gates_side_by_side(weights[f"{name}.w_x"]),
                    gates_side_by_side(weights[f"{name}.w_h"]),
                    weights[f"{name}.bias"].reshape(-1),
                ],
            )
        )

    def dense(name, units, act):
        nonlocal x
        layer = layers.Dense(units, activation=act)
        x = layer(x)
        assign.append((layer, [weights[f"{name}.weight"].T, weights[f"{name}.bias"]]))

    if model == "cnn":
        for i, f in enumerate((1024, 512, 256, 128), 1):
            conv(f"conv{i}", f)
        x = layers.GlobalAveragePooling1D()(x)
        dense("dense1", 64, "relu")
        x = layers.Dropout(0.2)(x)
        dense("dense2", classes, None)
    elif model == "lstm":
        if meta["readout_last_real"]:
            x = layers.Masking(mask_value=0.0)(x)
        lstm("lstm1", 70, True)
        lstm("lstm2", 50, True)
        lstm("lstm3", 60, False)
        dense("dense1", 48, "relu")
        dense("dense2", classes, None)
    else:  # cnn-lstm
        conv("conv1", 128)
        conv("conv2", 128)
        lstm("lstm1", 64, True)
        lstm("lstm2", 64, False)
        dense("dense1", 48, "relu")
        x = layers.Dropout(0.2)(x)
        dense("dense2", classes, None)
    m = keras.Model(inp, x)
    for layer, arrays in assign:
        layer.set_weights([np.asarray(a, dtype=np.float32) for a in arrays])
    m.compile(
        optimizer=keras.optimizers.Adam(meta["lr"], epsilon=meta["adam_eps"]),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="a ser store with features")
    ap.add_argument("--model", default="lstm", choices=["cnn", "lstm", "cnn-lstm"])
    ap.add_argument("--config", help="a ser train config (JSON) [default: the model's defaults]")
    ap.add_argument("--epochs", type=int, help="override the config's epochs")
    ap.add_argument("--out", help="keep the exported tensors here")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = args.out or tempfile.mkdtemp(prefix="ser-parity-")
    cfg = json.load(open(args.config)) if args.config else {}
    cfg["model"] = args.model
    if args.epochs:
        cfg["epochs"] = args.epochs
    cfg_path = os.path.join(out, "train.json")
    os.makedirs(out, exist_ok=True)
    json.dump(cfg, open(cfg_path, "w"))
    cmd = ["cargo", "bench", "-q", "-p", "ser-pipeline", "--bench", "parity_export", "--",
           "--store", args.store, "--config", cfg_path, "--out", out]
    subprocess.run(cmd, check=True, cwd=ROOT)

    meta = json.load(open(os.path.join(out, "meta.json")))
    load = lambda n: np.load(os.path.join(out, n))
    xtr, ytr, xte, yte = load("x_train.npy"), load("y_train.npy"), load("x_test.npy"), load("y_test.npy")
    orders = load("orders.npy")
    classes = len(meta["classes"])
    onehot = lambda y: np.eye(classes, dtype=np.float32)[y]
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(42)
    model = keras_model(meta, read_safetensors(os.path.join(out, "init.safetensors")))
    ser = {(r["epoch"], r["split"]): r for r in json.load(open(os.path.join(out, "ser_history.json")))}
    print(f"parity: {meta['run']} fold {meta['fold']}, {len(ytr)} train / {len(yte)} test examples "
          f"of {meta['window']} frames, crop {meta['crop']}, Keras {keras.__version__} / TF {tf.__version__}")
    print(f"{'epoch':>5} | {'train loss':>10} {'':>6} | {'train acc':>9} {'':>6} | {'test loss':>9} {'':>6} | {'test acc':>8} {'':>6}")
    print(f"{'':>5} | {'ser':>10} {'keras':>6} | {'ser':>9} {'keras':>6} | {'ser':>9} {'keras':>6} | {'ser':>8} {'keras':>6}")
    for e in range(meta["epochs"]):
        o = orders[e]
        h = model.fit(xtr[o], onehot(ytr[o]), batch_size=meta["batch_size"], epochs=1, shuffle=False,
                      verbose=0, validation_data=(xte, onehot(yte))).history
        st, sv = ser[(e + 1, "train")], ser.get((e + 1, "test"), {})
        print(f"{e + 1:>5} | {st['loss']:>10.3f} {h['loss'][0]:>6.3f} | {st['accuracy']:>9.3f} {h['accuracy'][0]:>6.3f} | "
              f"{sv.get('loss', float('nan')):>9.3f} {h['val_loss'][0]:>6.3f} | "
              f"{sv.get('accuracy', float('nan')):>8.3f} {h['val_accuracy'][0]:>6.3f}", flush=True)
    p = model.predict(xte, verbose=0).argmax(1)
    acc = (p == yte).mean()
    recalls = [((p == c) & (yte == c)).sum() / max(1, (yte == c).sum()) for c in range(classes) if (yte == c).any()]
    tr = (model.predict(xtr, verbose=0).argmax(1) == ytr).mean()
    last = ser[(meta["epochs"], "test")]
    print(f"final: ser test acc {last['accuracy']:.3f} UAR {last['uar']:.3f} | "
          f"Keras train acc {tr:.3f}, test acc {acc:.3f} UAR {np.mean(recalls):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
