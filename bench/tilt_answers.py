#!/usr/bin/env python3
"""What a brighter or duller microphone makes a model answer.

Vocal effort brightens speech: on RAVDESS, angry clips' long-term spectrum
falls about 5 dB per octave from 250 Hz to 4 kHz, neutral and calm ones'
about 7.5 (`--slopes` prints it per emotion, and for any other WAV files
given). A
microphone, phone or room that is brighter or duller than RAVDESS's
studio moves every clip the same way. For each fold of a speaker-split
RAVDESS run, its own test clips are classified (`ser predict --run RUN
--fold K`, the fold's model on speakers it never heard) as recorded and
tilted by -6, -3, +3 and +6 dB per octave about 1 kHz (zero phase, RMS
kept: `ser robustness`'s `tilt:DB`). Prints UAR per fold and tilt, their
mean, and the share of all clips predicted as each class. Needs numpy
and soundfile (bench/requirements.txt).

    python3 bench/tilt_answers.py --ser target/release/ser --store ser-store \
        --run RUN --data RAVDESS
    python3 bench/tilt_answers.py --slopes --data RAVDESS [more.wav ...]
"""
import argparse
import glob
import os
import sys
import tempfile

import numpy as np
import soundfile as sf

from fold_scoring import (EMOTIONS, actor_clips, emotion_of, load, parsed_run, print_table,
                          run_parser, score_variants)

TILTS = (-6, -3, 0, 3, 6)


def tilt(y, sr, db_per_octave):
    """`y` tilted by `db_per_octave` about 1 kHz (flat under 50 Hz), its RMS
    kept: `ser robustness`'s `tilt:DB`."""
    spectrum = np.fft.rfft(y)
    f = np.fft.rfftfreq(len(y), 1 / sr)
    gain = db_per_octave * np.log2(np.maximum(f, 50.0) / 1000.0)
    out = np.fft.irfft(spectrum * 10 ** (gain / 20), len(y))
    return out * np.sqrt(np.mean(y ** 2) / max(np.mean(out ** 2), 1e-30))


def slope(path):
    """Long-term spectral slope, dB per octave, of a file's frames within
    30 dB of its loudest, fitted over 250 Hz to 4 kHz."""
    y, sr = load(path)
    n = 2048
    window = np.hanning(n)
    frames = [y[i:i + n] * window for i in range(0, len(y) - n, n // 2)]
    power = np.array([np.abs(np.fft.rfft(f)) ** 2 for f in frames])
    energy = power.sum(axis=1)
    mean = power[energy > energy.max() * 1e-3].mean(axis=0)
    f = np.fft.rfftfreq(n, 1 / sr)
    band = (f >= 250) & (f <= 4000)
    return np.polyfit(np.log2(f[band] / 1000), 10 * np.log10(mean[band] + 1e-20), 1)[0]


def print_slopes(data, extra):
    by = {}
    for path in sorted(glob.glob(f"{data}/Actor_*/*.wav")):
        by.setdefault(EMOTIONS[emotion_of(path)], []).append(slope(path))
    if extra:
        by["(given files)"] = [slope(p) for p in extra]
    for name, values in by.items():
        print(f"{name:14s} {np.mean(values):6.1f} dB per octave (sd {np.std(values):.1f}, "
              f"{len(values)} files)")


def main():
    if "--slopes" in sys.argv:
        ap = argparse.ArgumentParser(description="Long-term spectral slopes")
        ap.add_argument("--slopes", action="store_true")
        ap.add_argument("--data", required=True, help="RAVDESS folder (Actor_NN/*.wav)")
        ap.add_argument("files", nargs="*", help="more audio files to measure")
        a = ap.parse_args()
        print_slopes(a.data, a.files)
        return
    a, classes, folds, chosen = parsed_run(run_parser(__doc__.splitlines()[0]))
    variants = [f"tilt:{t:+d}" if t else "clean" for t in TILTS]
    table, predicted = {}, {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for k in chosen:
            files = {v: [] for v in variants}
            for f in actor_clips(a.data, folds[k]):
                y, sr = load(f)
                for t, v in zip(TILTS, variants):
                    out = os.path.join(tmp, f"{k}-{t}-{os.path.basename(f)}")
                    sf.write(out, tilt(y, sr, t) if t else y, sr, subtype="FLOAT")
                    files[v].append(out)
            score_variants(a, classes, k, files, table, predicted)
    print_table(table, chosen, variants)
    print("% of clips predicted as each class:")
    for c in classes:
        print(f"{c[:9]:>9s} " + "  ".join(
            f"{100 * np.mean([p == c for p in predicted[v]]):9.1f}" for v in variants))


if __name__ == "__main__":
    main()
