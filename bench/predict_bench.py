#!/usr/bin/env python3
"""Latency and memory of one prediction from a model file, load included.

Builds a throwaway model file (`ser model build` on the demo corpus, one
epoch: the network and input are the recommended model's, only its
weights are untrained), then runs `ser predict --model FILE CLIP` on a
4-s clip (a demo clip looped to 4.0 s, unless --clip), REPEAT times as separate processes (each loads the file), and
reports the median wall time and the peak RSS. The same clip through a
one-model file (`--members 1`) and through the run folder the file was
built from (`--run DIR`, every fold's models of a speaker run) is timed
in the same run, as the references. Goal (issue 22):
<= 50 ms and <= 50 MB for the model file.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def timed(cmd, repeat):
    """Median wall seconds over `repeat` runs."""
    walls = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
    return statistics.median(walls)


def peak_rss_mb(cmd):
    """Peak RSS of one run of `cmd`, measured in a fresh child process."""
    probe = ("import resource, subprocess, sys; "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(run([sys.executable, "-c", probe] + cmd)) / 1024


def four_seconds(src, dst):
    """`src` (a WAV) looped to exactly 4.0 s, written to `dst`."""
    with wave.open(src) as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    width = params.sampwidth * params.nchannels
    want = 4 * params.framerate * width
    data = (frames * (want // len(frames) + 1))[:want]
    with wave.open(dst, "wb") as w:
        w.setparams(params)
        w.writeframes(data)
    return dst


def throwaway_models(ser, tmp):
    """Model files of the recommended network, one epoch on a 2-actor demo
    corpus, in `tmp`: as `ser model build` makes them (a seed ensemble of
    three) and with `--members 1`: (store, data folder, the file, the
    one-model file)."""
    store, data = os.path.join(tmp, "store"), os.path.join(tmp, "data")
    model, one = os.path.join(tmp, "demo.ser"), os.path.join(tmp, "one.ser")
    run([ser, "synth", "--out", data, "--actors", "2"])
    for out, more in ((model, []), (one, ["--members", "1"])):
        run([ser, "-q", "--store", store, "model", "build", "--data", data,
             "--out", out, "--epochs", "1", *more])
    return store, data, model, one


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ser", required=True)
    ap.add_argument("--clip", help="a 4-s clip [default: a demo clip]")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ser-predict-")
    store, data, model, one = throwaway_models(args.ser, tmp)
    clip = args.clip or four_seconds(sorted(glob.glob(os.path.join(data, "Actor_01", "*.wav")))[0],
                                     os.path.join(tmp, "four-seconds.wav"))
    speaker_run = sorted(glob.glob(os.path.join(store, "runs", "si-cnn-*-speakers-*")),
                         key=os.path.getmtime)[0]
    ref_wall = timed([args.ser, "predict", "--run", speaker_run, clip], args.repeat)
    one_wall = timed([args.ser, "predict", "--model", one, clip], args.repeat)
    wall = timed([args.ser, "predict", "--model", model, clip], args.repeat)
    peak = peak_rss_mb([args.ser, "predict", "--model", model, clip])
    size_kb = os.path.getsize(model) / 1024
    print(f"predict --model ({size_kb:.0f} KB file, 3 models): {1e3 * wall:.1f} ms median of "
          f"{args.repeat}, peak RSS {peak:.1f} MB")
    print(f"predict --model (--members 1, one model): {1e3 * one_wall:.1f} ms "
          f"(three / one = {wall / one_wall:.2f}x)")
    print(f"predict --run (speaker run, every fold's three models): {1e3 * ref_wall:.1f} ms "
          f"(model file / run = {wall / ref_wall:.2f}x)")


if __name__ == "__main__":
    main()
