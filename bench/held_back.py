#!/usr/bin/env python3
"""A speaker-split run under conditions that neither its training copies
nor `ser robustness` draw from: real lossy codecs (ffmpeg's MP3, Opus,
AAC and GSM), pink noise, a clipping recorder, a phone microphone's
high-pass and a combined laptop recording.

For each fold, its own test clips (speakers the fold's model never heard)
are changed and classified with `ser predict --run RUN --fold K`. Prints
UAR per fold and condition and the mean over folds. Needs ffmpeg (with
libmp3lame, libopus and libgsm), numpy, scipy and soundfile
(bench/requirements.txt).

    python3 bench/held_back.py --ser target/release/ser --store ser-store \
        --run RUN --data RAVDESS
"""
import os
import subprocess
import zlib

import numpy as np
import soundfile as sf
from scipy.signal import butter, fftconvolve, sosfilt

from fold_scoring import load, parsed_conditions, print_table, score_conditions

CONDITIONS = ["clean", "mp3:32", "opus:16", "aac:32", "gsm", "pink:10", "clip:12",
              "highpass:300", "laptop"]

# ffmpeg encoder settings of the codec conditions: (extension, arguments).
CODECS = {
    "mp3": lambda kbps: ("mp3", ["-ac", "1", "-c:a", "libmp3lame", "-b:a", f"{kbps}k"]),
    "opus": lambda kbps: ("opus", ["-ac", "1", "-c:a", "libopus", "-b:a", f"{kbps}k",
                                   "-application", "voip"]),
    "aac": lambda kbps: ("m4a", ["-ac", "1", "-c:a", "aac", "-b:a", f"{kbps}k"]),
    "gsm": lambda _: ("gsm", ["-ac", "1", "-ar", "8000", "-c:a", "libgsm", "-f", "gsm"]),
}


def rms(y):
    return np.sqrt(np.mean(y ** 2) + 1e-30)


def at_level(y, dbfs):
    return y * (10 ** (dbfs / 20) / rms(y))


def pink(n, rng):
    """Noise whose power falls as 1/f."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum))
    spectrum[1:] /= np.sqrt(f[1:])
    spectrum[0] = 0
    return np.fft.irfft(spectrum, n)


def add_at_snr(y, noise, snr):
    return y + noise * (rms(y) / rms(noise) / 10 ** (snr / 20))


def room(y, sr, rt60, rng):
    """A direct path plus Gaussian noise decaying 60 dB over `rt60` s, the
    tail 3 dB below the direct path; back to `y`'s RMS."""
    t = np.arange(int(rt60 * sr)) / sr
    h = rng.standard_normal(len(t)) * np.exp(-6.9078 * t / rt60)
    h *= 10 ** (-3 / 20) / np.sqrt(np.sum(h ** 2))
    h[0] = 1.0
    wet = fftconvolve(y, h)[: len(y)]
    return wet * (rms(y) / rms(wet))


def codec(y, sr, name, kbps, tmp, tag):
    """`y` through ffmpeg's encoder and back: samples and rate."""
    ext, args = CODECS[name](kbps)
    src, enc, dec = (os.path.join(tmp, f"{tag}.{e}") for e in ("in.wav", ext, "out.wav"))
    sf.write(src, np.clip(y, -1, 1), sr, subtype="FLOAT")
    quiet = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*quiet, "-i", src, *args, enc], check=True)
    subprocess.run([*quiet, "-i", enc, "-c:a", "pcm_f32le", dec], check=True)
    z, rate = load(dec)
    for p in (src, enc, dec):
        os.remove(p)
    return z, rate


def apply(condition, y, sr, rng, tmp, tag):
    """`y` (at `sr`) under `condition`: samples and rate."""
    kind, _, value = condition.partition(":")
    if kind == "clean":
        return y, sr
    if kind in CODECS:
        return codec(y, sr, kind, int(value or 0), tmp, tag)
    if kind == "pink":
        return add_at_snr(y, pink(len(y), rng), float(value)), sr
    if kind == "clip":
        # A recorder set 12 dB too hot for a normal level: peaks cut at full scale.
        return np.clip(at_level(y, -20 + float(value)), -1, 1), sr
    if kind == "highpass":
        return sosfilt(butter(4, float(value), "highpass", fs=sr, output="sos"), y), sr
    if kind == "laptop":
        z = room(y, sr, 0.4, rng)
        z = add_at_snr(z, pink(len(z), rng), 20)
        return codec(at_level(z, -26), sr, "aac", 64, tmp, tag)
    raise ValueError(f"unknown condition {condition}")


def main():
    a, classes, folds, chosen, conditions = parsed_conditions(__doc__.splitlines()[0],
                                                              CONDITIONS)

    def make(k, c, f, tmp):
        tag = f"{k}-{c.replace(':', '')}-{os.path.basename(f)[:-4]}"
        rng = np.random.default_rng([a.seed, zlib.crc32(tag.encode())])
        y, sr = load(f)
        z, rate = apply(c, y, sr, rng, tmp, tag)
        out = os.path.join(tmp, f"{tag}.wav")
        sf.write(out, z, rate, subtype="FLOAT")
        return out

    table, _ = score_conditions(a, classes, folds, chosen, conditions, make)
    print_table(table, chosen, conditions)


if __name__ == "__main__":
    main()
