#!/usr/bin/env python3
"""Seconds per training epoch: ser (dfdx) vs Keras (TensorFlow CPU), same run.

The paper's CNN (Conv1D 1024/512/256/128, kernel 5, same padding, ReLU,
MaxPool 2 after each; GAP; Dense 64; Dropout 0.2; Dense 14) with batch 30
and its LSTM (70/50/60; Dense 48; Dense 14) with batch 28, on CLIPS random
clips of 130 frames x 40 MFCCs, Adam 1e-3, cross-entropy. Keras gets an
untimed warm-up fit (graph tracing) first; then one timed epoch each.
The dfdx side is `cargo bench -p ser-models --bench epoch -- CLIPS`.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

FRAMES, N_MFCC, CLASSES = 130, 40, 14


def keras_models():
    import keras
    from keras import layers

    cnn = keras.Sequential([keras.Input((FRAMES, N_MFCC))])
    for filters in (1024, 512, 256, 128):
        cnn.add(layers.Conv1D(filters, 5, padding="same", activation="relu"))
        cnn.add(layers.MaxPooling1D(2))
    cnn.add(layers.GlobalAveragePooling1D())
    cnn.add(layers.Dense(64, activation="relu"))
    cnn.add(layers.Dropout(0.2))
    cnn.add(layers.Dense(CLASSES, activation="softmax"))
    lstm = keras.Sequential(
        [
            keras.Input((FRAMES, N_MFCC)),
            layers.LSTM(70, return_sequences=True),
            layers.LSTM(50, return_sequences=True),
            layers.LSTM(60),
            layers.Dense(48, activation="relu"),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    for m in (cnn, lstm):
        m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return {"cnn": (cnn, 30), "lstm": (lstm, 28)}


def keras_epochs(clips):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.standard_normal((clips, FRAMES, N_MFCC), dtype=np.float32)
    y = tf.keras.utils.to_categorical(np.arange(clips) % CLASSES, CLASSES)
    out = {}
    for name, (model, batch) in keras_models().items():
        model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        out[name] = time.perf_counter() - t
    return out, tf.__version__


def ser_epochs(clips):
    cmd = ["cargo", "bench", "-q", "-p", "ser-models", "--bench", "epoch", "--", str(clips)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            out[rec["model"]] = rec["seconds_per_epoch"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=2160)
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ser = ser_epochs(args.clips)
    keras, tf_version = keras_epochs(args.clips)
    print(f"training epoch, {args.clips} clips of {FRAMES} x {N_MFCC}, {os.cpu_count()} cores")
    print(f"{'model':<6} {'ser (dfdx)':>12} {'Keras (TF ' + tf_version + ')':>20} {'ratio ser/Keras':>16}")
    for name in ("cnn", "lstm"):
        r = ser[name] / keras[name]
        print(f"{name:<6} {ser[name]:>10.2f} s {keras[name]:>18.2f} s {r:>15.2f}x")
        print(
            f"       per clip: ser {1e3 * ser[name] / args.clips:.1f} ms, "
            f"Keras {1e3 * keras[name] / args.clips:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
