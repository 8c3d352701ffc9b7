#!/usr/bin/env python3
"""Seconds per training epoch: ser vs Keras (TensorFlow CPU), same run.

The paper's CNN (Conv1D 1024/512/256/128, kernel 5, same padding, ReLU,
MaxPool 2 after each; GAP; Dense 64; Dropout 0.2; Dense 14) with batch 30
and its LSTM (70/50/60; Dense 48; Dense 14) with batch 28, on CLIPS random
clips of 130 frames x 40 MFCCs, Adam 1e-3, cross-entropy, at 1 thread and
at every core. Keras gets an untimed warm-up fit (graph tracing) first,
then one timed epoch each, in a fresh process per thread count (TensorFlow
fixes its thread pools at start-up). The ser side is `cargo bench -p
ser-models --bench epoch -- CLIPS --threads 1,N`. The machine's sgemm peak
is numpy's (OpenBLAS) 4096^3 product, measured here too, so the CNN's
achieved GFLOP/s can be read as a fraction of it.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

FRAMES, N_MFCC, CLASSES = 130, 40, 14
HERE = os.path.dirname(os.path.abspath(__file__))


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


def keras_child(clips, threads):
    """Runs in a fresh process: one timed epoch per model at `threads`."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((clips, FRAMES, N_MFCC), dtype=np.float32)
    y = tf.keras.utils.to_categorical(np.arange(clips) % CLASSES, CLASSES)
    out = {"tf": tf.__version__}
    for name, (model, batch) in keras_models().items():
        model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        out[name] = time.perf_counter() - t
    print(json.dumps(out))


def keras_epochs(clips, threads):
    res = subprocess.run(
        [sys.executable, __file__, "--keras-child", str(threads), "--clips", str(clips)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def ser_epochs(clips, threads):
    cmd = ["cargo", "bench", "-q", "-p", "ser-models", "--bench", "epoch", "--",
           str(clips), "--threads", ",".join(map(str, threads))]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=os.path.dirname(HERE))
    out, sgemm = {}, {}
    for line in res.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            if "sgemm" in rec:
                sgemm[rec["threads"]] = rec["gflops"]
            else:
                out[(rec["model"], rec["threads"])] = rec
    return out, sgemm


def numpy_peak(n=4096):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    t = time.perf_counter()
    reps = 3
    for _ in range(reps):
        a @ a
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=2160)
    ap.add_argument("--keras-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.keras_child:
        keras_child(args.clips, args.keras_child)
        return 0
    cores = os.cpu_count() or 1
    threads = sorted({1, cores})
    ser, sgemm = ser_epochs(args.clips, threads)
    keras = {t: keras_epochs(args.clips, t) for t in threads}
    peak = numpy_peak()
    print(f"training epoch, {args.clips} clips of {FRAMES} x {N_MFCC}, {cores} cores; "
          f"TensorFlow {keras[threads[-1]]['tf']}")
    print(f"sgemm 4096^3: numpy/OpenBLAS {peak:.0f} GFLOP/s (all cores, the peak below); "
          + ", ".join(f"ser's gemm 2048^3 {g:.0f} GFLOP/s at {t} thread{'s' * (t > 1)}" for t, g in sorted(sgemm.items())))
    print(f"{'model':<6} {'threads':>7} {'ser':>9} {'Keras':>9} {'ser/Keras':>10}  notes")
    for name in ("cnn", "lstm"):
        for t in threads:
            s, k = ser[(name, t)]["seconds_per_epoch"], keras[t][name]
            note = f"ser {1e3 * s / args.clips:.1f} ms/clip, Keras {1e3 * k / args.clips:.1f} ms/clip"
            if name == "cnn":
                g = ser[(name, t)]["gflops"]
                note += f"; ser {g:.0f} GFLOP/s = {100 * g / peak:.0f}% of peak"
            print(f"{name:<6} {t:>7} {s:>8.2f}s {k:>8.2f}s {s / k:>9.2f}x  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
