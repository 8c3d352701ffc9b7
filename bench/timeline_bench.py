#!/usr/bin/env python3
"""Peak memory and speed of `ser predict --segment` on an hour of audio.

Builds a throwaway store (the demo corpus, a 2-epoch LSTM), writes one
hour of 16 kHz mono 16-bit audio (the demo clips back to back with 4 s of
silence between them), then runs `ser predict --segment 3 --hop 1.5 --out`
on it and reports wall time, segments per second and peak RSS (the goal:
memory stays flat, under 100 MB, however long the file).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ser", required=True)
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ser-timeline-")
    store, data = os.path.join(tmp, "store"), os.path.join(tmp, "data")
    run([args.ser, "synth", "--out", data, "--actors", "2", "--sample-rate", "16000"])
    run([args.ser, "-q", "--store", store, "metadata", "--data", data])
    run([args.ser, "-q", "--store", store, "features"])
    out = subprocess.run([args.ser, "-q", "--store", store, "train", "--model", "lstm", "--epochs", "2"],
                         check=True, capture_output=True, text=True).stdout
    run_name = out.split("run ")[1].split()[0]
    clips = []
    for root, _, files in os.walk(data):
        for f in sorted(files):
            with wave.open(os.path.join(root, f)) as w:
                clips.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"))
    rate, total = 16000, int(args.minutes * 60 * 16000)
    silence = np.zeros(4 * rate, dtype="<i2")
    long_wav = os.path.join(tmp, "hour.wav")
    written = 0
    with wave.open(long_wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        i = 0
        while written < total:
            for piece in (clips[i % len(clips)], silence):
                piece = piece[: total - written]
                w.writeframes(piece.tobytes())
                written += len(piece)
            i += 1
    csv = os.path.join(tmp, "timeline.csv")
    t = time.perf_counter()
    with open(csv, "w") as out_file:
        child = subprocess.Popen([args.ser, "-q", "--store", store, "predict", "--run", run_name, "--segment", "3",
                                  "--hop", "1.5", "--csv", "--out", os.path.join(tmp, "timeline.parquet"), long_wav],
                                 stdout=out_file, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"ser predict failed with status {status}")
    peak_mb = usage.ru_maxrss / 1024  # this child alone
    segments = sum(1 for _ in open(csv)) - 1
    size_mb = os.path.getsize(long_wav) / 1e6
    print(f"timeline: {args.minutes:.0f} min of 16 kHz audio ({size_mb:.0f} MB WAV), {segments} segments of 3 s every 1.5 s")
    print(f"ser predict --segment: {wall:.1f} s wall, {segments / wall:.0f} segments/s, "
          f"peak RSS {peak_mb:.1f} MB (goal < 100 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
