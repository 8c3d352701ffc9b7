#!/usr/bin/env python3
"""What a change of speed costs, part by part: tempo and pitch.

`ser robustness`'s `speed:X` plays a clip X times faster, its pitch and
formants with it. This script splits that into its two parts with
ffmpeg's `atempo` (a time stretch that keeps the pitch): `tempo:X` is the
clip X times faster at its own pitch; `pitch:X` is `speed:X` stretched
back to the clip's own duration (pitch and formants moved, the tempo
kept); `round:X` is `atempo` X and back, what the stretch alone costs.
For each fold of a speaker-split RAVDESS run, its own test clips
(speakers the fold's model never heard) are classified with `ser predict
--run RUN --fold K`. Prints UAR per fold and condition, their mean, and
the share of all clips predicted as an aroused emotion (happy, angry,
fearful, surprised), each class's share too. Needs ffmpeg, numpy and
soundfile (bench/requirements.txt).

    python3 bench/speed_parts.py --ser target/release/ser --store ser-store \
        --run RUN --data RAVDESS
"""
import os
import subprocess

import numpy as np
import soundfile as sf

from fold_scoring import EMOTIONS, load, parsed_conditions, print_table, score_conditions

CONDITIONS = ["clean", "speed:0.9", "speed:1.1", "tempo:0.9", "tempo:1.1", "pitch:0.9",
              "pitch:1.1", "round:0.9", "round:1.1"]

AROUSED = [EMOTIONS[e] for e in (3, 5, 6, 8)]

QUIET = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def atempo(y, sr, x, path):
    """`y` (at `sr`) x times faster at its own pitch: ffmpeg's `atempo`."""
    src, dst = path + ".in.wav", path + ".out.wav"
    sf.write(src, y, sr, subtype="FLOAT")
    subprocess.run([*QUIET, "-i", src, "-filter:a", f"atempo={x}", "-c:a", "pcm_f32le", dst],
                   check=True)
    z, rate = load(dst)
    os.remove(src)
    os.remove(dst)
    return z, rate


def apply(condition, y, sr, path):
    """`y` (at `sr`) under `condition`: samples and rate."""
    kind, _, value = condition.partition(":")
    if kind == "clean":
        return y, sr
    x = float(value)
    faster = int(round(sr * x))
    if kind == "speed":
        # The same samples played at x times the rate, as `speed:X`.
        return y, faster
    if kind == "tempo":
        return atempo(y, sr, x, path)
    if kind == "pitch":
        return atempo(y, faster, 1 / x, path)
    if kind == "round":
        z, rate = atempo(y, sr, x, path)
        return atempo(z, rate, 1 / x, path)
    raise ValueError(f"unknown condition {condition}")


def main():
    a, classes, folds, chosen, conditions = parsed_conditions(__doc__.splitlines()[0],
                                                              CONDITIONS)

    def make(k, c, f, tmp):
        out = os.path.join(tmp, f"{k}-{c.replace(':', '')}-{os.path.basename(f)}")
        y, sr = load(f)
        z, rate = apply(c, y, sr, out)
        sf.write(out, z, rate, subtype="FLOAT")
        return out

    table, predicted = score_conditions(a, classes, folds, chosen, conditions, make)
    print_table(table, chosen, conditions)
    print("% of clips predicted as each class:")
    for c in classes:
        print(f"{c[:9]:>9s} " + "  ".join(
            f"{100 * np.mean([p == c for p in predicted[v]]):9.1f}" for v in conditions))
    print(f"{'aroused':>9s} " + "  ".join(
        f"{100 * np.mean([p in AROUSED for p in predicted[v]]):9.1f}" for v in conditions))


if __name__ == "__main__":
    main()
