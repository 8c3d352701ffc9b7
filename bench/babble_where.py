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
        --run RUN --data RAVDESS --folds 3,5
"""
import os
import tempfile

import numpy as np
import soundfile as sf

from fold_scoring import (actor_clips, load, other_clips, parsed_run, print_table, run_parser,
                          score)

VARIANTS = ["clean", "all:20", "speech:20", "quiet:20", "all:10", "speech:10", "quiet:10"]


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


def main():
    a, classes, folds, chosen = parsed_run(run_parser(__doc__.splitlines()[0]))
    rng = np.random.default_rng(a.seed)
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in chosen:
            clips = actor_clips(a.data, folds[k])
            pool = [load(f)[0] for f in other_clips(a.data, folds[k])[::6]]
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
                table[(k, v)] = score(a.ser, a.store, a.run, k, classes, files[v])
    print_table(table, chosen, VARIANTS)


if __name__ == "__main__":
    main()
