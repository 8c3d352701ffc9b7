"""`make bench`: ser's feature build against librosa on the same clips, in
the same run, on this machine. Prints files/s for both, the ratio, the
no-op re-run time and ser's peak RSS.

Usage: python3 features_bench.py --ser PATH/TO/ser --data DIR [--repeat N]
"""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent


def timed(cmd):
    """Runs cmd; returns (seconds, peak RSS in MB of that process)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"{' '.join(map(str, cmd))} failed with {code}: {proc.stderr.read().decode()}")
    return dt, usage.ru_maxrss / 1024


def corpus(data, clips, tmp):
    """`clips` RAVDESS files: the real ones, replicated under new actor
    numbers (same parity, so same gender) when there are fewer, as hard
    links in `tmp`. Both contenders read the same files."""
    real = sorted(pathlib.Path(data).rglob("*.wav"))
    if len(real) >= clips:
        return data, len(real), len(real)
    root = pathlib.Path(tmp) / "corpus"
    actors = sorted({int(f.stem.split("-")[-1]) for f in real})
    step = max(actors) + (max(actors) % 2)  # keep parity
    n, copy = 0, 0
    while n < clips:
        for f in real:
            if n >= clips:
                break
            parts = f.stem.split("-")
            actor = int(parts[-1]) + step * copy
            parts[-1] = f"{actor:02d}"
            dst = root / f"Actor_{actor:02d}" / ("-".join(parts) + ".wav")
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(f, dst)
            except OSError:
                dst.write_bytes(f.read_bytes())
            n += 1
        copy += 1
    return str(root), n, len(real)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ser", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--repeat", type=int, default=3, help="ser runs; the best is reported")
    ap.add_argument("--clips", type=int, default=1440,
                    help="replicate the real clips up to this many (the full RAVDESS has 1440)")
    a = ap.parse_args()
    work = tempfile.TemporaryDirectory()
    data, clips, real = corpus(a.data, a.clips, work.name)

    runs = []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store = pathlib.Path(tmp) / "store"
            base = [a.ser, "--quiet", "--store", str(store)]
            meta_s, _ = timed(base + ["metadata", "--data", data])
            feat_s, rss = timed(base + ["features"])
            noop_s, _ = timed(base + ["features"])
            runs.append((feat_s, meta_s, noop_s, rss))
    feat_s, meta_s, noop_s, rss = min(runs)

    out = subprocess.run([sys.executable, str(HERE / "librosa_features.py"), data],
                         check=True, capture_output=True, text=True).stdout.split()
    n, lib_s = int(out[0]), float(out[1])
    assert n == clips, (n, clips)

    cores = os.cpu_count()
    print(f"bench: {clips} clips ({real} real, replicated under new actor numbers) x 2 variants"
          f" (clean + noisy), 40 MFCC at 22050 Hz, {cores} cores")
    print(f"librosa 0.11 + soxr_hq, 1 process : {lib_s:7.2f} s  {clips / lib_s:8.1f} files/s")
    print(f"ser features ({cores} threads)        : {feat_s:7.2f} s  {clips / feat_s:8.1f} files/s"
          f"  ratio {lib_s / feat_s:.1f}x")
    print(f"ser metadata (parse, headers, sha256): {meta_s:7.2f} s")
    print(f"ser features no-op re-run         : {noop_s:7.3f} s")
    print(f"ser features peak RSS             : {rss:7.1f} MB")


if __name__ == "__main__":
    main()
