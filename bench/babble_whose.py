#!/usr/bin/env python3
"""Whose voices make the babble: other people talking, or other people
being emotional.

`ser robustness` mixes its babble from other speakers' RAVDESS clips of
any emotion, so at 5 dB SNR a model hears, under the clip, four actors
who may be shouting in anger or joy. For each fold of a speaker-split
RAVDESS run, its own test clips are classified (`ser predict --run RUN
--fold K`, the fold's model on speakers it never heard) as recorded and
with four-talker babble (each talker at the same RMS, looped from a
random start, as `ser robustness` makes it) at SNR 10 and 5 dB over the
whole clip, made from other speakers' clips of any emotion, of neutral
and calm ones only, or of angry, happy, fearful and surprised ones only.
Prints UAR per fold and variant, their mean, and the share of all clips
predicted as any of those four aroused emotions. Needs numpy and
soundfile (bench/requirements.txt).

    python3 bench/babble_whose.py --ser target/release/ser --store ser-store \
        --run RUN --data RAVDESS
"""
import os
import tempfile

import numpy as np
import soundfile as sf

from babble_where import babble
from fold_scoring import (EMOTIONS, actor_clips, emotion_of, load, other_clips, parsed_run,
                          print_table, run_parser, score_variants)

POOLS = {"any": range(1, 9), "calm": (1, 2), "aroused": (3, 5, 6, 8)}
SNRS = (10, 5)
VARIANTS = ["clean"] + [f"{p}:{s}" for s in SNRS for p in POOLS]
AROUSED = [EMOTIONS[e] for e in POOLS["aroused"]]


def main():
    a, classes, folds, chosen = parsed_run(run_parser(__doc__.splitlines()[0]))
    rng = np.random.default_rng(a.seed)
    table, predicted = {}, {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        for k in chosen:
            others = other_clips(a.data, folds[k])
            pools = {p: [load(f)[0] for f in others if emotion_of(f) in e][::3]
                     for p, e in POOLS.items()}
            files = {v: [] for v in VARIANTS}
            for f in actor_clips(a.data, folds[k]):
                y, sr = load(f)
                for v in VARIANTS:
                    z = y
                    if v != "clean":
                        pool, snr = v.split(":")
                        b = babble(pools[pool], len(y), rng)
                        g = np.sqrt(np.mean(y ** 2) / np.mean(b ** 2) / 10 ** (float(snr) / 10))
                        z = y + g * b
                    out = os.path.join(tmp, f"{k}-{v.replace(':', '')}-{os.path.basename(f)}")
                    sf.write(out, z, sr, subtype="FLOAT")
                    files[v].append(out)
            score_variants(a, classes, k, files, table, predicted)
    print_table(table, chosen, VARIANTS)
    print("aroused" + "".join(
        f"  {100 * np.mean([p in AROUSED for p in predicted[v]]):9.1f}" for v in VARIANTS)
        + "   (% of clips predicted angry, happy, fearful or surprised)")


if __name__ == "__main__":
    main()
