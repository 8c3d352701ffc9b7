#!/usr/bin/env python3
"""Where babble hurts a run: in a clip's speech, or in its quiet frames.

For each fold of a speaker-split RAVDESS run, its own test clips are
classified (`ser predict --run RUN --fold K`, the fold's model on speakers
it never heard) as recorded and with four-talker babble (clips of other
speakers, each at the same RMS, looped from a random start, as `ser
robustness` makes it) at SNR 20 and 10 dB over the whole clip, added
everywhere, only in the clip's speech (20 ms frames within 30 dB of its
loudest), or only in its quiet frames. Prints UAR per fold and variant,
and their mean. Needs numpy and soundfile (bench/requirements.txt).

    python3 bench/babble_where.py --ser target/release/ser --store ser-store \
        --run RUN --data ../shared/ravdess --folds 3,5
"""
import argparse
import glob
import json
import os
import subprocess
import tempfile

import numpy as np
import soundfile as sf

VARIANTS = ["clean", "all:20", "speech:20", "quiet:20", "all:10", "speech:10", "quiet:10"]


def load(path):
    y, sr = sf.read(path, dtype="float64")
    return (y if y.ndim == 1 else y.mean(axis=1)), sr


def speech_mask(y, sr):
    """1 on 20 ms frames within 30 dB of the loudest, else 0."""
    n = int(0.02 * sr)
    e = np.array([np.mean(y[i:i + n] ** 2) + 1e-20 for i in range(0, len(y), n)])
    keep = 10 * np.log10(e) > 10 * np.log10(e.max()) - 30
    return np.repeat(keep, n)[: len(y)].astype(float)


def babble(pool, n, rng):
    out = np.zeros(n)
    for _ in range(4):
        c = pool[rng.integers(len(pool))]
        c = c / np.sqrt(np.mean(c ** 2))
        out += np.resize(np.roll(c, -rng.integers(len(c))), n)
    return out


def uar(actual, predicted):
    return np.mean([np.mean(predicted[actual == c] == c) for c in np.unique(actual)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ser", default="ser")
    ap.add_argument("--store", default="ser-store")
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True, help="RAVDESS folder (Actor_NN/*.wav)")
    ap.add_argument("--folds", default=None, help="folds to score, e.g. 3,5 [default: all]")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.store, "runs", a.run, "config.json")))
    classes = cfg["classes"]
    folds = dict(zip(cfg["folds"], cfg["test_actors"]))
    chosen = [int(k) for k in a.folds.split(",")] if a.folds else sorted(folds)
    rng = np.random.default_rng(a.seed)
    names = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fearful",
             7: "disgust", 8: "surprised"}
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in chosen:
            test = folds[k]
            clips = [f for a_ in test for f in sorted(glob.glob(f"{a.data}/Actor_{a_:02d}/*.wav"))]
            others = [f for f in sorted(glob.glob(f"{a.data}/Actor_*/*.wav"))
                      if int(f.split("-")[-1][:2]) not in test][::6]
            pool = [load(f)[0] for f in others]
            files = {v: [] for v in VARIANTS}
            for f in clips:
                y, sr = load(f)
                b = babble(pool, len(y), rng)
                m = speech_mask(y, sr)
                for v in VARIANTS:
                    if v == "clean":
                        z = y
                    else:
                        where, snr = v.split(":")
                        g = np.sqrt(np.mean(y ** 2) / np.mean(b ** 2) / 10 ** (float(snr) / 10))
                        mask = {"all": 1.0, "speech": m, "quiet": 1.0 - m}[where]
                        z = y + g * b * mask
                    out = os.path.join(tmp, f"{k}-{v.replace(':', '')}-{os.path.basename(f)}")
                    sf.write(out, z, sr, subtype="FLOAT")
                    files[v].append(out)
            for v in VARIANTS:
                got = subprocess.run(
                    [a.ser, "-q", "--store", a.store, "predict", "--run", a.run, "--fold", str(k),
                     "--json", *files[v]], capture_output=True, text=True, check=True).stdout
                rows = [json.loads(line) for line in got.splitlines() if line.strip()]
                actual = np.array([classes.index(names[int(os.path.basename(r["file"]).split("-")[-5])])
                                   for r in rows])
                predicted = np.array([classes.index(r["label"]) for r in rows])
                table[(k, v)] = 100 * uar(actual, predicted)
    print("fold  " + "  ".join(f"{v:>9s}" for v in VARIANTS))
    for k in chosen:
        print(f"{k:4d}  " + "  ".join(f"{table[(k, v)]:9.1f}" for v in VARIANTS))
    print("mean  " + "  ".join(f"{np.mean([table[(k, v)] for k in chosen]):9.1f}" for v in VARIANTS))


if __name__ == "__main__":
    main()
